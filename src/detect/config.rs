//! Thresholds of the state rules. `Default` holds the documented values (catalogue §1.7); a
//! TOML config file may override any of them (missing keys keep their default):
//!
//! ```toml
//! crash_loop_stops = 5
//! log_quiet_s = 600
//!
//! [[stall_thresholds]]
//! resource_type = "AWS::ECS::Service"
//! warn_s = 1200
//! alarm_s = 2400
//! typical = "usually 5–15 min"
//! ```
//!
//! A `stall_thresholds` list given in the file replaces the default list. In the user's config
//! file (docs/config.md, read by `crate::config`) these keys sit under `[detect]`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::state_rules::in_progress_since;
use crate::model::ResourceState;

/// How long a resource type may stay `*_IN_PROGRESS` before it is flagged.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StallThreshold {
    /// An exact CloudFormation type, such as `AWS::ECS::Service`.
    pub resource_type: String,
    /// Warn after this many seconds.
    #[serde(deserialize_with = "seconds")]
    pub warn_s: i64,
    /// Escalate to error after this many seconds.
    #[serde(deserialize_with = "seconds")]
    pub alarm_s: i64,
    /// What is normal, shown in the summary ("usually 2–10 min").
    #[serde(default)]
    pub typical: String,
}

impl StallThreshold {
    fn new(resource_type: &str, warn_min: i64, alarm_min: i64, typical: &str) -> Self {
        StallThreshold {
            resource_type: resource_type.to_string(),
            warn_s: warn_min * 60,
            alarm_s: alarm_min * 60,
            typical: typical.to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct DetectConfig {
    /// Per-type stall thresholds; types not listed use `stall_default`.
    pub stall_thresholds: Vec<StallThreshold>,
    pub stall_default: StallThreshold,
    /// `stall.signal_countdown`: warn / error once this share of the signal timeout has passed.
    pub signal_warn_ratio: f64,
    pub signal_error_ratio: f64,
    /// `ecs.crash_loop`: this many stops of started tasks of one service within the window.
    pub crash_loop_stops: usize,
    #[serde(deserialize_with = "seconds")]
    pub crash_loop_window_s: i64,
    /// `ecs.not_converging`: a deployment's running < desired for this long.
    #[serde(deserialize_with = "seconds")]
    pub not_converging_s: i64,
    /// A replacement task must stay RUNNING this long before task-start flags resolve: long
    /// enough to outlive a crash at start-up or a first round of failed ELB health checks.
    #[serde(deserialize_with = "seconds")]
    pub task_stable_s: i64,
    /// `stall.resource`: an `AWS::ECS::Service` in progress this long while its tasks fail is
    /// an error at once, whatever its type's thresholds say.
    #[serde(deserialize_with = "seconds")]
    pub ecs_failing_stall_s: i64,
    /// Log flags resolve after this long without a new matching line.
    #[serde(deserialize_with = "seconds")]
    pub log_quiet_s: i64,
    /// API flags (throttling and the like) resolve after this long without a repeat.
    #[serde(deserialize_with = "seconds")]
    pub api_quiet_s: i64,
    /// `elb.no_healthy_targets`: grace once a target is unhealthy, and a longer one while all
    /// targets are still in their initial health checks (2.5 min is normal with defaults).
    #[serde(deserialize_with = "seconds")]
    pub no_healthy_grace_s: i64,
    #[serde(deserialize_with = "seconds")]
    pub no_healthy_initial_grace_s: i64,
    /// Resolved flags kept for the report.
    pub resolved_cap: usize,
}

impl Default for DetectConfig {
    fn default() -> Self {
        DetectConfig {
            stall_thresholds: vec![
                StallThreshold::new("AWS::ECS::Service", 15, 30, "usually 2–10 min"),
                StallThreshold::new("AWS::CloudFront::Distribution", 30, 90, "usually 5–35 min"),
                StallThreshold::new(
                    "AWS::CertificateManager::Certificate",
                    30,
                    120,
                    "minutes once the DNS record exists",
                ),
                StallThreshold::new("AWS::RDS::DBInstance", 30, 60, "usually 5–20 min"),
                StallThreshold::new("AWS::RDS::DBCluster", 30, 60, "usually 5–15 min"),
                StallThreshold::new(
                    "AWS::ElasticLoadBalancingV2::LoadBalancer",
                    10,
                    20,
                    "usually 2–5 min",
                ),
                StallThreshold::new("AWS::EC2::NatGateway", 10, 20, "usually 1–5 min"),
                StallThreshold::new(
                    "AWS::OpenSearchService::Domain",
                    45,
                    90,
                    "usually 15–30 min",
                ),
                StallThreshold::new("AWS::Elasticsearch::Domain", 45, 90, "usually 15–30 min"),
            ],
            stall_default: StallThreshold::new("*", 5, 15, "usually under 2 min"),
            signal_warn_ratio: 0.5,
            signal_error_ratio: 0.8,
            crash_loop_stops: 3,
            crash_loop_window_s: 600,
            not_converging_s: 600,
            task_stable_s: 120,
            ecs_failing_stall_s: 60,
            log_quiet_s: 300,
            api_quiet_s: 300,
            no_healthy_grace_s: 60,
            no_healthy_initial_grace_s: 300,
            resolved_cap: 500,
        }
    }
}

/// A duration in the config: whole seconds (`600`) or a humantime duration such as `"10m"` or
/// `"1h 30m"`, as `--timeout` takes. `config --print` writes seconds.
fn seconds<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    struct Seconds;
    impl serde::de::Visitor<'_> for Seconds {
        type Value = i64;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("seconds (600) or a duration such as \"10m\" or \"1h 30m\"")
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<i64, E> {
            if v < 0 {
                return Err(E::custom(format!("{v}: a duration cannot be negative")));
            }
            Ok(v)
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<i64, E> {
            i64::try_from(v).map_err(|_| E::custom(format!("{v}: too long a duration")))
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<i64, E> {
            let d = humantime::parse_duration(v.trim()).map_err(|e| {
                E::custom(format!(
                    "{v:?} is not a duration ({e}): write \"10m\", \"90s\" or seconds"
                ))
            })?;
            i64::try_from(d.as_secs()).map_err(|_| E::custom(format!("{v:?}: too long a duration")))
        }
    }
    d.deserialize_any(Seconds)
}

impl DetectConfig {
    /// Reads a TOML config; keys it does not set keep their defaults.
    pub fn from_toml(text: &str) -> Result<Self, toml::de::Error> {
        toml::from_str(text)
    }

    pub fn stall_threshold(&self, resource_type: &str) -> &StallThreshold {
        self.stall_thresholds
            .iter()
            .find(|t| t.resource_type == resource_type)
            .unwrap_or(&self.stall_default)
    }

    /// Whether `r` has been in progress for at least its type's warn threshold at `now`, timed
    /// as `stall.resource` times it: the Resources pane marks such a resource slow, so the pane
    /// and the flag agree.
    pub fn past_stall_warning(&self, r: &ResourceState, now: DateTime<Utc>) -> bool {
        r.is_in_progress()
            && now
                .signed_duration_since(in_progress_since(r))
                .num_seconds()
                >= self.stall_threshold(&r.resource_type).warn_s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_overrides_only_what_it_sets() {
        let config = DetectConfig::from_toml(
            "crash_loop_stops = 5\n[[stall_thresholds]]\nresource_type = \"AWS::ECS::Service\"\nwarn_s = 60\nalarm_s = 120\n",
        )
        .unwrap();
        assert_eq!(config.crash_loop_stops, 5);
        assert_eq!(config.log_quiet_s, DetectConfig::default().log_quiet_s);
        assert_eq!(config.stall_threshold("AWS::ECS::Service").warn_s, 60);
        assert_eq!(config.stall_threshold("AWS::S3::Bucket").warn_s, 300);
        assert!(DetectConfig::from_toml("no_such_key = 1").is_err());
        let config =
            DetectConfig::from_toml("log_quiet_s = \"10m\"\napi_quiet_s = \"1h 30m\"\n").unwrap();
        assert_eq!((config.log_quiet_s, config.api_quiet_s), (600, 5400));
        assert!(DetectConfig::from_toml("log_quiet_s = \"soon\"").is_err());
        assert!(DetectConfig::from_toml("log_quiet_s = -1").is_err());
    }
}
