//! Peak memory and speed of replaying a 1M-observation recording through the pipeline at
//! `--speed max` (what `stackwatch replay FILE --json` does, minus the printing).
//! Run with `cargo bench --bench replay_memory`; prints peak RSS (VmHWM) and throughput.

mod common;

use std::io::Write;
use std::time::Instant;

use stackwatch::model::StoreCaps;
use stackwatch::session::recording::{Header, RecordingWriter};
use stackwatch::session::replay::Replay;

fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` runs this as a quick smoke test.
    let quick = !std::env::args().any(|a| a == "--bench");
    let n: u64 = if quick { 10_000 } else { 1_000_000 };
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("big.jsonl");
    {
        let header = Header::new(vec!["bench".into()], common::start());
        let file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        let mut writer = RecordingWriter::new(file, &header).unwrap();
        let mut batch = Vec::with_capacity(1000);
        for i in 0..n {
            batch.push(common::observation(i));
            if batch.len() == 1000 {
                writer.write_batch(&batch).unwrap();
                batch.clear();
            }
        }
        writer.write_batch(&batch).unwrap();
        writer.into_inner().flush().unwrap();
    }
    let size_mb = std::fs::metadata(&path).unwrap().len() as f64 / 1e6;
    let before = peak_rss_mb().unwrap_or(0.0);
    let started = Instant::now();
    let mut replay = Replay::from_path(&path, StoreCaps::default()).unwrap();
    let pipeline = replay.run_to_end().unwrap();
    let elapsed = started.elapsed();
    assert_eq!(pipeline.store.observations, n);
    println!(
        "replay_memory: {n} observations ({size_mb:.0} MB file) replayed in {:.2} s = {:.0} obs/s; peak RSS {:.1} MB (before replay {:.1} MB); timeline rows kept {}, log lines kept {}",
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64(),
        peak_rss_mb().unwrap_or(f64::NAN),
        before,
        pipeline.store.timeline.len(),
        pipeline.store.logs.len(),
    );
}
