//! Time and peak memory of `stackwatch report` on a 1M-observation recording: the recording
//! played through the pipeline while the report's facts are gathered, then written as
//! Markdown and as HTML. Run with `cargo bench --bench report`; prints the time of each step
//! and the process's peak RSS (VmHWM).

mod common;

use std::time::Instant;

use stackwatch::detect::Detector;
use stackwatch::report::{self, ReportFormat};

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
        common::peak_rss_mb().unwrap_or(f64::NAN),
        before,
    );
}
