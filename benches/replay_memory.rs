//! Peak memory and speed of replaying a 1M-observation recording through the pipeline at
//! `--speed max` (what `stackwatch replay FILE --json` does, minus the printing).
//! Run with `cargo bench --bench replay_memory`; prints peak RSS (VmHWM) and throughput.

mod common;

use std::time::Instant;

use stackwatch::model::StoreCaps;
use stackwatch::session::replay::Replay;

fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` runs this as a quick smoke test.
    let quick = !std::env::args().any(|a| a == "--bench");
    let n: u64 = if quick { 10_000 } else { 1_000_000 };
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("big.jsonl");
    common::write_synthetic(&path, n).unwrap();
    let size_mb = std::fs::metadata(&path).unwrap().len() as f64 / 1e6;
    let before = common::peak_rss_mb().unwrap_or(0.0);
    let started = Instant::now();
    let mut replay = Replay::from_path(&path, StoreCaps::default()).unwrap();
    let pipeline = replay.run_to_end().unwrap();
    let elapsed = started.elapsed();
    assert_eq!(pipeline.store.observations, n);
    println!(
        "replay_memory: {n} observations ({size_mb:.0} MB file) replayed in {:.2} s = {:.0} obs/s; peak RSS {:.1} MB (before replay {:.1} MB); timeline rows kept {}, log lines kept {}",
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64(),
        common::peak_rss_mb().unwrap_or(f64::NAN),
        before,
        pipeline.store.timeline.len(),
        pipeline.store.logs.len(),
    );
}
