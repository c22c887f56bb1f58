//! Hand-written deserialisation of [`Observation`]: `kind` picks the payload type, then `data`
//! is parsed straight into it. When a writer put `data` before `kind`, the payload is buffered
//! and parsed once the kind is known, so key order never matters for correctness.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};

use super::{
    CfnEvent, CfnResource, CfnStack, EcsService, EcsServiceEvent, EcsTask, LogEvent, Observation,
    ObservationKind, SourceStatus, TargetHealth,
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
);

/// `at`, read with the fast RFC 3339 path.
struct At(chrono::DateTime<chrono::Utc>);

impl<'de> Deserialize<'de> for At {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        super::time::utc(deserializer).map(At)
    }
}

impl<'de> Deserialize<'de> for Observation {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ObservationVisitor)
    }
}

struct ObservationVisitor;

impl<'de> Visitor<'de> for ObservationVisitor {
    type Value = Observation;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an observation object with \"at\", \"kind\" and \"data\"")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Observation, A::Error> {
        let mut at = None;
        let mut kind = None;
        let mut data = None;
        let mut data_before_kind: Option<serde_json::Value> = None;
        while let Some(field) = map.next_key::<Field>()? {
            match field {
                Field::At => at = Some(map.next_value::<At>()?.0),
                Field::Kind => kind = Some(map.next_value::<Kind>()?),
                Field::Data => match kind {
                    Some(k) => data = Some(next_payload(k, &mut map)?),
                    None => data_before_kind = Some(map.next_value()?),
                },
                Field::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let at = at.ok_or_else(|| de::Error::missing_field("at"))?;
        let kind = kind.ok_or_else(|| de::Error::missing_field("kind"))?;
        let kind = match (data, data_before_kind) {
            (Some(data), _) => data,
            (None, Some(value)) => buffered_payload(kind, value).map_err(de::Error::custom)?,
            (None, None) => return Err(de::Error::missing_field("data")),
        };
        Ok(Observation { at, kind })
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
    fn missing_and_unknown_parts_are_errors() {
        for bad in [
            r#"{"kind":"log_event","data":{}}"#,
            r#"{"at":"2026-11-23T09:00:00Z","data":{}}"#,
            r#"{"at":"2026-11-23T09:00:00Z","kind":"log_event"}"#,
            r#"{"at":"2026-11-23T09:00:00Z","kind":"martian","data":{}}"#,
            r#"{"at":"yesterday","kind":"log_event","data":{}}"#,
            r#"[]"#,
        ] {
            assert!(serde_json::from_str::<Observation>(bad).is_err(), "{bad}");
        }
    }
}
