//! Classification: one message through the text rules, as the detector runs them and as
//! `stackwatch explain` does (normalise, then the rules, with the source given or guessed), over
//! the real messages of the known corpus, and for a typical log line no rule matches.
//!
//! The setup prints the accuracy on the known corpus (labels right / lines), with the source
//! given and guessed.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::Value;
use stackwatch::detect::{classify, rule_ids};
use stackwatch::explain::{explain, parse_source};
use stackwatch::model::Source;

/// Real messages labelled with their rule ids.
const CORPUS: &str = include_str!("../tests/data/signals-known.jsonl");

/// What a healthy service logs most of the time: no rule matches it, and it is not a failure.
const NON_MATCHING: &str =
    "2026-11-30T10:00:00.123Z INFO GET /api/orders/4821 200 12ms request_id=7f3c9a1e user=42";

// The same allocator as the binary, so the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// (source, text, label) of every corpus line.
fn corpus() -> Vec<(Source, String, String)> {
    CORPUS
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("a corpus line is JSON");
            let source = parse_source(v["source"].as_str().unwrap()).expect("a known source");
            (
                source,
                v["text"].as_str().unwrap().to_string(),
                v["expect"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn classification(c: &mut Criterion) {
    let corpus = corpus();
    let n = corpus.len();
    let implemented: Vec<&str> = rule_ids().chain(["unknown"]).collect();
    let mut right = [[0usize; 2]; 2];
    let mut lines = [0usize; 2];
    for (s, t, label) in &corpus {
        let known = usize::from(implemented.contains(&label.as_str()));
        lines[known] += 1;
        right[known][0] += usize::from(explain(Some(*s), t).rule == label);
        right[known][1] += usize::from(explain(None, t).rule == label);
    }
    let total = |i: usize| right[0][i] + right[1][i];
    eprintln!(
        "accuracy on the known corpus ({n} lines): {}/{n} labels right with the source given, \
         {}/{n} with it guessed; on the {} lines whose id is implemented {}/{} and {}/{}",
        total(0),
        total(1),
        lines[1],
        right[1][0],
        lines[1],
        right[1][1],
        lines[1],
    );
    assert_eq!(
        classify(Source::Log, NON_MATCHING).map(|c| c.rule),
        None,
        "the non-matching line matches no rule"
    );
    assert_eq!(explain(Some(Source::Log), NON_MATCHING).rule, "unknown");

    let mut group = c.benchmark_group("classify");
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function("corpus/detector", |b| {
        b.iter(|| {
            corpus
                .iter()
                .filter(|(s, t, _)| classify(*s, t).is_some())
                .count()
        })
    });
    group.bench_function("corpus/explain_given", |b| {
        b.iter(|| {
            corpus
                .iter()
                .map(|(s, t, _)| explain(Some(*s), t).rule.len())
                .sum::<usize>()
        })
    });
    group.bench_function("corpus/explain_guessed", |b| {
        b.iter(|| {
            corpus
                .iter()
                .map(|(_, t, _)| explain(None, t).rule.len())
                .sum::<usize>()
        })
    });
    group.throughput(Throughput::Elements(1));
    group.bench_function("non_matching_log/detector", |b| {
        b.iter(|| classify(Source::Log, std::hint::black_box(NON_MATCHING)).is_some())
    });
    group.bench_function("non_matching_log/explain_given", |b| {
        b.iter(|| explain(Some(Source::Log), std::hint::black_box(NON_MATCHING)).rule)
    });
    group.bench_function("non_matching_log/explain_guessed", |b| {
        b.iter(|| explain(None, std::hint::black_box(NON_MATCHING)).rule)
    });
    group.finish();
}

criterion_group!(benches, classification);
criterion_main!(benches);
