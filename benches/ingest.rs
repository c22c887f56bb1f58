//! Ingest: parse a recording line, apply it to the store, run the text rules on it.

mod common;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use stackwatch::model::{Observation, StoreCaps};
use stackwatch::pipeline::Pipeline;

const N: u64 = 100_000;

fn ingest(c: &mut Criterion) {
    let lines: Vec<String> = (0..N)
        .map(|i| serde_json::to_string(&common::observation(i)).unwrap())
        .collect();
    let parsed: Vec<Observation> = (0..N).map(common::observation).collect();
    let mut group = c.benchmark_group("ingest");
    group.throughput(Throughput::Elements(N));
    group.sample_size(10);
    group.bench_function("parse+store+detect", |b| {
        b.iter(|| {
            let mut pipeline = Pipeline::new(StoreCaps::default());
            let mut changes = Vec::new();
            for line in &lines {
                let obs: Observation = serde_json::from_str(line).unwrap();
                pipeline.feed(&obs, &mut changes);
                changes.clear();
            }
            pipeline.store.observations
        })
    });
    group.bench_function("store+detect", |b| {
        b.iter(|| {
            let mut pipeline = Pipeline::new(StoreCaps::default());
            let mut changes = Vec::new();
            for obs in &parsed {
                pipeline.feed(obs, &mut changes);
                changes.clear();
            }
            pipeline.store.observations
        })
    });
    group.bench_function("parse", |b| {
        b.iter(|| {
            let mut latest = None;
            for line in &lines {
                latest = Some(serde_json::from_str::<Observation>(line).unwrap().at);
            }
            latest
        })
    });
    group.finish();
}

criterion_group!(benches, ingest);
criterion_main!(benches);
