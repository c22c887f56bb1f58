//! What a flag is about, typed. The detector sets it where it builds the flag; the panes use it
//! to find the resource, service or target group a flag names, never the display text.

use std::fmt;

use super::text_rules::tg_name;
use crate::model::{ResourceKey, ResourceState};

/// The thing a flag is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Subject {
    /// A CloudFormation resource, by its stack path and logical id.
    Resource(ResourceKey),
    /// A CloudFormation stack itself (its own event rows and status), by its stack path:
    /// `payments` for the root, `payments/Storage` for a nested one.
    Stack(String),
    /// An ECS service, by name: tasks (`service:NAME`) and service events name it so.
    Service(String),
    /// ECS tasks that belong to no service, by task definition family.
    TaskFamily(String),
    /// An ELB target group, by ARN.
    TargetGroup(String),
    /// A CloudWatch Logs group, by name.
    LogGroup(String),
}

impl Subject {
    /// Whether this is the CloudFormation resource `r`, or the thing `r` created: a nested
    /// stack is its `AWS::CloudFormation::Stack` row in the parent, an ECS service or a target
    /// group the resource whose physical id names it.
    pub fn names_resource(&self, r: &ResourceState) -> bool {
        match self {
            Subject::Resource(key) => r.key == *key,
            Subject::Stack(path) => r.child_stack_path().as_deref() == Some(path.as_str()),
            Subject::Service(name) => r.ecs_service() == Some(name.as_str()),
            Subject::TargetGroup(arn) => r.physical_id.as_deref() == Some(arn.as_str()),
            Subject::TaskFamily(_) | Subject::LogGroup(_) => false,
        }
    }
}

/// The display text flags carry as `resource` (headless output, the flags strip):
/// `payments/ApiService`, `payments/Storage`, `service payments-api`, `task family migrate`,
/// `tg payments-tg`, `/ecs/payments-api`.
impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::Resource(key) => write!(f, "{}/{}", key.stack, key.logical_id),
            Subject::Stack(path) => f.write_str(path),
            Subject::Service(name) => write!(f, "service {name}"),
            Subject::TaskFamily(family) => write!(f, "task family {family}"),
            Subject::TargetGroup(arn) => write!(f, "tg {}", tg_name(arn)),
            Subject::LogGroup(group) => f.write_str(group),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;

    fn resource(stack: &str, logical: &str, rtype: &str, physical: Option<&str>) -> ResourceState {
        let at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        ResourceState {
            key: key(stack, logical),
            resource_type: rtype.into(),
            physical_id: physical.map(str::to_string),
            status: "CREATE_IN_PROGRESS".into(),
            reason: None,
            status_since: at,
            started_at: Some(at),
            finished_at: None,
            signal: None,
            signals_received: 0,
        }
    }

    fn key(stack: &str, logical: &str) -> ResourceKey {
        ResourceKey {
            stack: stack.into(),
            logical_id: logical.into(),
        }
    }

    #[test]
    fn a_resource_subject_names_only_that_stack_and_logical_id() {
        let r = resource("app/Nested", "Bucket", "AWS::S3::Bucket", Some("bucket-1"));
        assert!(Subject::Resource(key("app/Nested", "Bucket")).names_resource(&r));
        // The same logical id in another stack is another resource.
        assert!(!Subject::Resource(key("app", "Bucket")).names_resource(&r));
        assert!(!Subject::Resource(key("other/Nested", "Bucket")).names_resource(&r));
    }

    #[test]
    fn a_stack_subject_names_its_row_in_the_parent() {
        let row = resource("app", "Nested", "AWS::CloudFormation::Stack", None);
        assert!(Subject::Stack("app/Nested".into()).names_resource(&row));
        assert!(!Subject::Stack("app".into()).names_resource(&row));
        assert!(!Subject::Stack("other/Nested".into()).names_resource(&row));
        let not_a_stack = resource("app", "Nested", "AWS::S3::Bucket", None);
        assert!(!Subject::Stack("app/Nested".into()).names_resource(&not_a_stack));
    }

    #[test]
    fn services_and_target_groups_match_the_physical_id() {
        let svc = resource(
            "app",
            "ApiService",
            "AWS::ECS::Service",
            Some("arn:aws:ecs:eu-west-1:1:service/prod/payments-api"),
        );
        assert!(Subject::Service("payments-api".into()).names_resource(&svc));
        assert!(!Subject::Service("payments".into()).names_resource(&svc));
        assert!(!Subject::Service("api".into()).names_resource(&svc));
        let tg_arn = "arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/api-tg/abc";
        let tg = resource(
            "app",
            "TargetGroup",
            "AWS::ElasticLoadBalancingV2::TargetGroup",
            Some(tg_arn),
        );
        assert!(Subject::TargetGroup(tg_arn.into()).names_resource(&tg));
        assert!(
            !Subject::TargetGroup(
                "arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/api/abc".into()
            )
            .names_resource(&tg)
        );
        // Log groups and task families are no CloudFormation resource row.
        let logs = resource("app", "Logs", "AWS::Logs::LogGroup", Some("/ecs/api"));
        assert!(!Subject::LogGroup("/ecs/api".into()).names_resource(&logs));
    }

    #[test]
    fn display_is_the_flag_resource_text() {
        let shown = [
            Subject::Resource(key("payments/Storage", "FileSystem")),
            Subject::Stack("payments/Storage".into()),
            Subject::Service("payments-api".into()),
            Subject::TaskFamily("migrate".into()),
            Subject::TargetGroup(
                "arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/payments-tg/abc".into(),
            ),
            Subject::LogGroup("/ecs/payments-api".into()),
        ]
        .map(|s| s.to_string());
        assert_eq!(
            shown,
            [
                "payments/Storage/FileSystem",
                "payments/Storage",
                "service payments-api",
                "task family migrate",
                "tg payments-tg",
                "/ecs/payments-api",
            ]
        );
    }
}
