//! Hand-written deserialisation of [`Observation`]: `kind` picks the payload type, then `data`
//! is parsed straight into it. When a writer put `data` before `kind`, the payload is buffered
//! and parsed once the kind is known, so key order never matters for correctness.
//!
//! Forward compatibility: a reader of a major version skips what a later minor version added.
//! Unknown fields inside a known payload are ignored (no payload denies unknown fields), and a
//! line whose `kind` is a well-formed name this version does not know reads as
//! [`ObservationLine::UnknownKind`], for the reader to skip and count. A `kind` that is not a
//! snake_case name is garbage, an error like any other.

use std::fmt;

use serde::Deserialize;
use serde::de::value::StrDeserializer;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};

use super::{
    CfnEvent, CfnResource, CfnStack, EcsService, EcsServiceEvent, EcsServiceGone, EcsTask,
    EcsTaskGone, LogEvent, LogGap, Note, Observation, ObservationKind, SourceStatus, TargetGone,
    TargetHealth, Watching,
};

#[derive(Deserialize, Clone, Copy)]
#[serde(field_identifier, rename_all = "snake_case")]
enum Field {
    At,
    Kind,
    Data,
    #[serde(other)]
    Other,
}

/// Declares the kind tags once and derives both ways of reading a payload from them.
macro_rules! kinds {
    ($($tag:ident => $ty:ident),* $(,)?) => {
        #[derive(Deserialize, Clone, Copy)]
        #[serde(rename_all = "snake_case")]
        enum Kind { $($tag),* }

        /// Reads the next map value as the payload of `kind`.
        fn next_payload<'de, A: MapAccess<'de>>(
            kind: Kind,
            map: &mut A,
        ) -> Result<ObservationKind, A::Error> {
            Ok(match kind {
                $(Kind::$tag => ObservationKind::$ty(map.next_value::<$ty>()?),)*
            })
        }

        /// Parses a buffered payload of `kind`.
        fn buffered_payload(
            kind: Kind,
            value: serde_json::Value,
        ) -> Result<ObservationKind, serde_json::Error> {
            Ok(match kind {
                $(Kind::$tag => ObservationKind::$ty(serde_json::from_value::<$ty>(value)?),)*
            })
        }
    };
}

kinds!(
    CfnStack => CfnStack,
    CfnEvent => CfnEvent,
    CfnResource => CfnResource,
    EcsService => EcsService,
    EcsServiceEvent => EcsServiceEvent,
    EcsTask => EcsTask,
    TargetHealth => TargetHealth,
    LogEvent => LogEvent,
    SourceStatus => SourceStatus,
    EcsTaskGone => EcsTaskGone,
    EcsServiceGone => EcsServiceGone,
    TargetGone => TargetGone,
    Watching => Watching,
    LogGap => LogGap,
    Note => Note,
);

/// One observation line of a recording, as a reader of this version sees it.
// Known is nearly every line: boxing it would cost an allocation per line read.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum ObservationLine {
    Known(Observation),
    /// A well-formed observation of a kind a later minor version added: skip it.
    UnknownKind {
        at: chrono::DateTime<chrono::Utc>,
        kind: String,
    },
}

/// The `kind` value: one this version reads, or a name it does not know.
enum KindTag {
    Known(Kind),
    Unknown(String),
}

/// Kind names are snake_case (`ecs_task_gone`); anything else is not a kind a writer made.
fn is_kind_name(text: &str) -> bool {
    let mut bytes = text.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_lowercase())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl<'de> Deserialize<'de> for KindTag {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TagVisitor;
        impl Visitor<'_> for TagVisitor {
            type Value = KindTag;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an observation kind")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<KindTag, E> {
                // The derived reader of `Kind` matches the names; it only fails on the rare
                // unknown one, so the common path costs what it did before.
                match Kind::deserialize(StrDeserializer::<E>::new(text)) {
                    Ok(kind) => Ok(KindTag::Known(kind)),
                    Err(_) if is_kind_name(text) => Ok(KindTag::Unknown(text.to_string())),
                    Err(_) => Err(E::custom(format!(
                        "`kind` is not an observation kind name: {text:?}"
                    ))),
                }
            }
        }
        deserializer.deserialize_str(TagVisitor)
    }
}

/// `at`, read with the fast RFC 3339 path.
struct At(chrono::DateTime<chrono::Utc>);

impl<'de> Deserialize<'de> for At {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        super::time::utc(deserializer).map(At)
    }
}

/// Strict: a kind this version does not know is an error. Readers of recordings use
/// [`ObservationLine`], which skips it.
impl<'de> Deserialize<'de> for Observation {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match deserializer.deserialize_map(ObservationVisitor)? {
            ObservationLine::Known(obs) => Ok(obs),
            ObservationLine::UnknownKind { kind, .. } => Err(de::Error::custom(format!(
                "unknown observation kind `{kind}`"
            ))),
        }
    }
}

impl<'de> Deserialize<'de> for ObservationLine {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ObservationVisitor)
    }
}

struct ObservationVisitor;

impl<'de> Visitor<'de> for ObservationVisitor {
    type Value = ObservationLine;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an observation object with \"at\", \"kind\" and \"data\"")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ObservationLine, A::Error> {
        let mut at = None;
        let mut kind = None;
        let mut data = None;
        let mut has_data = false;
        let mut data_before_kind: Option<serde_json::Value> = None;
        while let Some(field) = map.next_key::<Field>()? {
            match field {
                Field::At => at = Some(map.next_value::<At>()?.0),
                Field::Kind => kind = Some(map.next_value::<KindTag>()?),
                Field::Data => {
                    has_data = true;
                    match &kind {
                        Some(KindTag::Known(k)) => data = Some(next_payload(*k, &mut map)?),
                        Some(KindTag::Unknown(_)) => {
                            map.next_value::<IgnoredAny>()?;
                        }
                        None => data_before_kind = Some(map.next_value()?),
                    }
                }
                Field::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let at = at.ok_or_else(|| de::Error::missing_field("at"))?;
        let kind = kind.ok_or_else(|| de::Error::missing_field("kind"))?;
        if !has_data {
            return Err(de::Error::missing_field("data"));
        }
        let kind = match (kind, data, data_before_kind) {
            (KindTag::Unknown(kind), _, _) => return Ok(ObservationLine::UnknownKind { at, kind }),
            (KindTag::Known(_), Some(data), _) => data,
            (KindTag::Known(k), None, Some(value)) => {
                buffered_payload(k, value).map_err(de::Error::custom)?
            }
            (KindTag::Known(_), None, None) => return Err(de::Error::missing_field("data")),
        };
        Ok(ObservationLine::Known(Observation { at, kind }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_order_does_not_matter() {
        let a: Observation = serde_json::from_str(
            r#"{"at":"2026-11-23T09:00:00Z","kind":"log_event","data":{"group":"g","stream":"s","timestamp":"2026-11-23T09:00:00Z","message":"m"}}"#,
        )
        .unwrap();
        let b: Observation = serde_json::from_str(
            r#"{"data":{"group":"g","stream":"s","timestamp":"2026-11-23T09:00:00Z","message":"m"},"extra":[1],"kind":"log_event","at":"2026-11-23T09:00:00Z"}"#,
        )
        .unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn missing_and_malformed_parts_are_errors() {
        for bad in [
            r#"{"kind":"log_event","data":{}}"#,
            r#"{"at":"2026-11-23T09:00:00Z","data":{}}"#,
            r#"{"at":"2026-11-23T09:00:00Z","kind":"log_event"}"#,
            r#"{"at":"2026-11-23T09:00:00Z","kind":"martian"}"#,
            r#"{"at":"yesterday","kind":"log_event","data":{}}"#,
            r#"{"at":"yesterday","kind":"martian","data":{}}"#,
            r#"{"at":"2026-11-23T09:00:00Z","kind":"Martian","data":{}}"#,
            r#"{"at":"2026-11-23T09:00:00Z","kind":"","data":{}}"#,
            r#"{"at":"2026-11-23T09:00:00Z","kind":"\u001b[2J","data":{}}"#,
            r#"{"at":"2026-11-23T09:00:00Z","kind":7,"data":{}}"#,
            r#"[]"#,
        ] {
            assert!(
                serde_json::from_str::<ObservationLine>(bad).is_err(),
                "{bad}"
            );
            assert!(serde_json::from_str::<Observation>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_unknown_kind_reads_as_one_to_skip_in_either_key_order() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-23T09:00:00Z")
            .unwrap()
            .to_utc();
        for line in [
            r#"{"at":"2026-11-23T09:00:00Z","kind":"martian_v2","data":{"x":[1,{"y":null}]}}"#,
            r#"{"data":{"x":[1]},"kind":"martian_v2","at":"2026-11-23T09:00:00Z"}"#,
            r#"{"at":"2026-11-23T09:00:00Z","kind":"martian_v2","data":"any json"}"#,
        ] {
            let read: ObservationLine = serde_json::from_str(line).unwrap();
            assert_eq!(
                read,
                ObservationLine::UnknownKind {
                    at,
                    kind: "martian_v2".into()
                },
                "{line}"
            );
            // The strict reader names it.
            let err = serde_json::from_str::<Observation>(line).unwrap_err();
            assert!(err.to_string().contains("martian_v2"), "{err}");
        }
    }

    #[test]
    fn unknown_fields_inside_known_kinds_are_ignored() {
        let plain: Observation = serde_json::from_str(
            r#"{"at":"2026-11-23T09:00:00Z","kind":"source_status","data":{"name":"ecs","state":"ok"}}"#,
        )
        .unwrap();
        let extended: Observation = serde_json::from_str(
            r#"{"at":"2026-11-23T09:00:00Z","kind":"source_status","data":{"name":"ecs","new":{"a":1},"state":"ok","later":[]}}"#,
        )
        .unwrap();
        assert_eq!(plain, extended);
        let buffered: Observation = serde_json::from_str(
            r#"{"data":{"name":"ecs","new":1,"state":"ok"},"kind":"source_status","at":"2026-11-23T09:00:00Z"}"#,
        )
        .unwrap();
        assert_eq!(plain, buffered);
    }

    #[test]
    fn every_kind_this_version_writes_it_reads() {
        use super::super::SourceState;
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-23T09:00:00Z")
            .unwrap()
            .to_utc();
        let kinds: Vec<ObservationKind> = vec![
            Note {
                text: "restarted the service".into(),
                author: Some("ana".into()),
            }
            .into(),
            Note {
                text: "no author".into(),
                author: None,
            }
            .into(),
            EcsTaskGone {
                cluster: "c".into(),
                task_arn: "arn:task/c/1".into(),
            }
            .into(),
            EcsServiceGone {
                cluster: "c".into(),
                service: "api".into(),
            }
            .into(),
            TargetGone {
                target_group: "arn:tg".into(),
                target_id: "10.0.0.1".into(),
                port: Some(80),
            }
            .into(),
            Watching {
                source: "logs".into(),
                what: "log_group".into(),
                id: "/ecs/app".into(),
                via: Some("task definition app:7".into()),
            }
            .into(),
            SourceStatus {
                name: "ecs".into(),
                state: SourceState::Ok,
                calls_per_min: 1.0,
                throttled: 0,
                stale_s: 3,
                last_ok: Some(at),
                paced: false,
            }
            .into(),
        ];
        for kind in kinds {
            let obs = Observation::new(at, kind);
            let line = serde_json::to_string(&obs).unwrap();
            assert_eq!(serde_json::from_str::<Observation>(&line).unwrap(), obs);
            assert_eq!(
                serde_json::from_str::<ObservationLine>(&line).unwrap(),
                ObservationLine::Known(obs)
            );
        }
    }
}
