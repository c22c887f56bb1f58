//! Time and peak memory of `stackwatch report` on a 1M-observation recording: the recording
//! played through the pipeline while the report's facts are gathered, then written as
//! Markdown and as HTML. Run with `cargo bench --bench report`; prints the time of each step
//! and the process's peak RSS (VmHWM).

mod common;

use std::io::Write;
use std::time::Instant;

use stackwatch::detect::Detector;
use stackwatch::report::{self, ReportFormat};
use stackwatch::session::recording::{Header, RecordingWriter};

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
    let gathered = report::from_path(&path, Detector::new(), false).unwrap();
    let gather_s = started.elapsed().as_secs_f64();
    assert_eq!(gathered.observations, n);
    let written = Instant::now();
    let md = report::render(&gathered, ReportFormat::Markdown);
    let html = report::render(&gathered, ReportFormat::Html);
    let write_s = written.elapsed().as_secs_f64();
    println!(
        "report: {n} observations ({size_mb:.0} MB file) gathered in {gather_s:.2} s ({:.0} obs/s), written as Markdown ({} KB) and HTML ({} KB) in {write_s:.3} s; peak RSS {:.1} MB (before {:.1} MB)",
        n as f64 / gather_s,
        md.len() / 1024,
        html.len() / 1024,
        peak_rss_mb().unwrap_or(f64::NAN),
        before,
    );
}
