//! Writes the two 1M-observation recordings the whole-process replay bench reads
//! (`scripts/bench-replay.py`):
//! - `synthetic N FILE`: the benches' synthetic stream (`benches/common`), N observations;
//! - `tiled-demo N FILE`: the demo's recording tiled until it holds N observations, each copy
//!   shifted later in time (one copy every 17 minutes), with its event ids, task ARNs,
//!   deployment ids and log event ids made distinct, so nothing is a repeat.

#[path = "../benches/common/mod.rs"]
mod common;

use std::io::Write;

use chrono::TimeDelta;
use stackwatch::model::{Observation, ObservationKind};
use stackwatch::session::demo;
use stackwatch::session::recording::RecordingWriter;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [kind, n, path] = args.as_slice() else {
        anyhow::bail!("usage: bench_recordings synthetic|tiled-demo N FILE");
    };
    let n: u64 = n.parse()?;
    let file = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let mut batch = Vec::with_capacity(4096);
    let flush = |writer: &mut RecordingWriter<_>, batch: &mut Vec<Observation>| {
        writer.write_batch(batch.as_slice())?;
        batch.clear();
        anyhow::Ok(())
    };
    match kind.as_str() {
        "synthetic" => common::write_synthetic(std::path::Path::new(path), n)?,
        "tiled-demo" => {
            let (header, observations) = demo::scenario();
            let mut writer = RecordingWriter::new(file, &header)?;
            let mut written = 0u64;
            let mut copy = 0i64;
            'copies: loop {
                let shift = TimeDelta::minutes(17 * copy);
                for obs in &observations {
                    if written == n {
                        break 'copies;
                    }
                    batch.push(tiled(obs, shift, copy));
                    written += 1;
                    if batch.len() == batch.capacity() {
                        flush(&mut writer, &mut batch)?;
                    }
                }
                copy += 1;
            }
            flush(&mut writer, &mut batch)?;
            writer.into_inner().flush()?;
        }
        other => anyhow::bail!("unknown kind {other}: synthetic or tiled-demo"),
    }
    Ok(())
}

/// Copy number `copy` of a demo observation: every time moved by `shift`, every id made its own.
fn tiled(obs: &Observation, shift: TimeDelta, copy: i64) -> Observation {
    let mut obs = obs.clone();
    obs.at += shift;
    let tag = |id: &mut String| id.push_str(&format!("-{copy}"));
    match &mut obs.kind {
        ObservationKind::CfnEvent(e) => {
            e.timestamp += shift;
            tag(&mut e.event_id);
        }
        ObservationKind::EcsService(s) => {
            for d in &mut s.deployments {
                tag(&mut d.id);
                d.created_at += shift;
                d.updated_at = d.updated_at.map(|t| t + shift);
            }
        }
        ObservationKind::EcsServiceEvent(e) => {
            e.created_at += shift;
            tag(&mut e.id);
        }
        ObservationKind::EcsTask(t) => {
            tag(&mut t.task_arn);
            t.created_at = t.created_at.map(|x| x + shift);
            t.started_at = t.started_at.map(|x| x + shift);
            t.stopped_at = t.stopped_at.map(|x| x + shift);
        }
        ObservationKind::EcsTaskGone(t) => tag(&mut t.task_arn),
        ObservationKind::LogEvent(l) => {
            l.timestamp += shift;
            if let Some(id) = &mut l.event_id {
                tag(id);
            }
            // The awslogs stream names the task: keep it pointing at this copy's task.
            tag(&mut l.stream);
        }
        ObservationKind::SourceStatus(s) => s.last_ok = s.last_ok.map(|t| t + shift),
        ObservationKind::LogGap(g) => {
            g.from += shift;
            g.to += shift;
        }
        _ => {}
    }
    obs
}
