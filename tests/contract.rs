//! The observation contract live sources write to: repeats apply once.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use stackwatch::model::{CfnEvent, Observation, ObservationKind, StoreCaps};
use stackwatch::pipeline::{Change, Pipeline};

fn t(secs: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap() + TimeDelta::seconds(secs)
}

struct Sim {
    p: Pipeline,
    changes: Vec<Change>,
}

impl Sim {
    fn new() -> Self {
        Sim {
            p: Pipeline::new(StoreCaps::default()),
            changes: Vec::new(),
        }
    }
    fn feed(&mut self, secs: i64, kind: impl Into<ObservationKind>) {
        self.p
            .feed(&Observation::new(t(secs), kind), &mut self.changes);
    }
}

#[test]
fn a_repeated_cfn_event_is_one_row_and_one_count() {
    let mut sim = Sim::new();
    let failed = CfnEvent {
        stack: "app".into(),
        stack_id: "arn:aws:cloudformation:eu-west-1:1:stack/app/1".into(),
        event_id: "e-1".into(),
        logical_id: "Bucket".into(),
        physical_id: None,
        resource_type: "AWS::S3::Bucket".into(),
        status: "CREATE_FAILED".into(),
        reason: Some("app-bucket already exists".into()),
        timestamp: t(0),
    };
    sim.feed(1, failed.clone());
    sim.feed(6, failed.clone());
    sim.feed(11, failed);
    let store = &sim.p.store;
    assert_eq!(store.timeline.len(), 1);
    assert_eq!(store.failures.len(), 1);
    assert_eq!(store.repeats, 2);
    let flags = sim.p.detector.open_flags();
    assert!(!flags.is_empty());
    assert!(flags.iter().all(|f| f.count == 1), "{flags:#?}");
}
