//! A synthetic observation stream for benches: the mix a busy failing deploy produces, mostly
//! log lines, with task churn, stack events, target flaps and service events.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use stackwatch::model::{
    CfnEvent, EcsContainer, EcsServiceEvent, EcsTask, LogEvent, Observation, TargetHealth,
};

/// Writes a recording of the first `n` observations of the stream to `path`.
// Each bench binary uses a part of this module.
#[allow(dead_code)]
pub fn write_synthetic(path: &std::path::Path, n: u64) -> std::io::Result<()> {
    use stackwatch::session::recording::{Header, RecordingWriter};
    use std::io::Write;
    let header = Header::new(vec!["bench".into()], start());
    let file = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let mut writer = RecordingWriter::new(file, &header)?;
    let mut batch = Vec::with_capacity(4096);
    for i in 0..n {
        batch.push(observation(i));
        if batch.len() == batch.capacity() {
            writer.write_batch(&batch)?;
            batch.clear();
        }
    }
    writer.write_batch(&batch)?;
    writer.into_inner().flush()
}

/// This process's peak RSS in MB (`VmHWM`), where /proc has it.
#[allow(dead_code)]
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

pub fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap()
}

/// The `i`th observation of the stream; 10 per virtual second.
pub fn observation(i: u64) -> Observation {
    let at = start() + TimeDelta::milliseconds(i as i64 * 100);
    let task = format!("{:032x}", i / 50);
    match i % 20 {
        0 => Observation::new(
            at,
            CfnEvent {
                stack: if i.is_multiple_of(40) {
                    "bench"
                } else {
                    "bench/Nested"
                }
                .into(),
                stack_id: "arn:aws:cloudformation:eu-west-1:123456789012:stack/bench/1".into(),
                event_id: format!("ev-{i}"),
                logical_id: format!("Resource{}", i % 300),
                physical_id: Some(format!("phys-{}", i % 300)),
                resource_type: "AWS::EC2::SecurityGroup".into(),
                status: if i.is_multiple_of(60) {
                    "CREATE_IN_PROGRESS"
                } else {
                    "CREATE_COMPLETE"
                }
                .into(),
                reason: Some("Resource creation Initiated".into()),
                timestamp: at,
            },
        ),
        1 | 2 => Observation::new(
            at,
            EcsTask {
                cluster: "bench-cluster".into(),
                task_arn: format!("arn:aws:ecs:eu-west-1:123456789012:task/bench-cluster/{task}"),
                group: Some("service:api".into()),
                task_definition: "api:42".into(),
                last_status: if i % 20 == 1 { "RUNNING" } else { "STOPPED" }.into(),
                desired_status: "STOPPED".into(),
                stop_code: Some("EssentialContainerExited".into()),
                stopped_reason: Some("Essential container in task exited".into()),
                containers: vec![EcsContainer {
                    name: "api".into(),
                    last_status: "STOPPED".into(),
                    exit_code: Some(1),
                    reason: None,
                }],
                created_at: Some(at),
                started_at: Some(at),
                stopped_at: Some(at),
                private_ip: None,
            },
        ),
        3 => Observation::new(
            at,
            TargetHealth {
                target_group:
                    "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/api-tg/abc"
                        .into(),
                target_id: format!("10.0.{}.{}", (i / 20) % 4, (i / 80) % 250),
                port: Some(3000),
                state: if i % 40 == 3 { "unhealthy" } else { "initial" }.into(),
                reason: Some("Target.FailedHealthChecks".into()),
                description: Some("Health checks failed".into()),
            },
        ),
        4 => Observation::new(
            at,
            EcsServiceEvent {
                cluster: "bench-cluster".into(),
                service: "api".into(),
                id: format!("svc-ev-{i}"),
                created_at: at,
                message: format!("(service api) has started 1 tasks: (task {task})."),
            },
        ),
        _ => Observation::new(
            at,
            LogEvent {
                group: "/ecs/api".into(),
                stream: format!("ecs/api/{task}"),
                timestamp: at,
                message: if i.is_multiple_of(7) {
                    "Error [ERR_MODULE_NOT_FOUND]: Cannot find package 'express' imported from /app/server.js".into()
                } else {
                    format!("GET /health 200 {}ms request_id={i:x}", i % 17)
                },
                event_id: Some(i.to_string()),
            },
        ),
    }
}

// The same allocator as the binary, so the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
