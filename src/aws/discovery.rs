//! What the watch covers, and how it grows: the stack's resources name ECS clusters, services,
//! target groups and log groups; a service names its load balancers' target groups; a task
//! definition names its awslogs group and stream prefix. Sources add what they find here and
//! read what the others found; each set is bounded by what the watched stacks and clusters
//! hold, not by time.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::model::Watching;

/// An ECS service to watch: its cluster and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServiceRef {
    pub cluster: String,
    pub service: String,
}

/// Where a task definition's containers send their logs (awslogs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    pub group: String,
    pub stream_prefix: Option<String>,
}

#[derive(Debug, Default)]
pub struct Discovered {
    /// Clusters whose every service is watched (`--cluster C` alone).
    pub clusters: BTreeSet<String>,
    pub services: BTreeSet<ServiceRef>,
    pub target_groups: BTreeSet<String>,
    /// Log group → how it was found ("stack resource AppLogs", "task definition app:7").
    pub log_groups: BTreeMap<String, String>,
    /// What was added since the sources last told the loop (drained on every poll).
    announcements: Vec<Watching>,
}

/// Shared by the sources. A plain mutex: each holds it for a few set operations.
#[derive(Debug, Clone, Default)]
pub struct Discovery(Arc<Mutex<Discovered>>);

impl Discovery {
    pub fn lock(&self) -> MutexGuard<'_, Discovered> {
        // A source that panicked while holding it left whole sets behind: still usable.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Adds a service; true when it is new.
    pub fn add_service(&self, cluster: &str, service: &str, via: &str) -> bool {
        let service = ServiceRef {
            cluster: cluster_name(cluster).to_string(),
            service: service_name(service).to_string(),
        };
        let id = format!("{}/{}", service.cluster, service.service);
        let mut found = self.lock();
        let new = found.services.insert(service);
        found.announce(new, "ecs", "service", id, via)
    }

    pub fn add_cluster(&self, cluster: &str, via: &str) -> bool {
        let name = cluster_name(cluster).to_string();
        let mut found = self.lock();
        let new = found.clusters.insert(name.clone());
        found.announce(new, "ecs", "cluster", name, via)
    }

    pub fn add_target_group(&self, arn: &str, via: &str) -> bool {
        let mut found = self.lock();
        let new = found.target_groups.insert(arn.to_string());
        found.announce(new, "elb", "target_group", arn.to_string(), via)
    }

    pub fn add_log_group(&self, group: &str, via: &str) -> bool {
        let mut found = self.lock();
        if found.log_groups.contains_key(group) {
            return false;
        }
        found.log_groups.insert(group.to_string(), via.to_string());
        found.announce(true, "logs", "log_group", group.to_string(), via)
    }

    /// What the watch took on since the last call, for `watching` observations.
    pub fn take_announcements(&self) -> Vec<Watching> {
        std::mem::take(&mut self.lock().announcements)
    }

    pub fn services(&self) -> Vec<ServiceRef> {
        self.lock().services.iter().cloned().collect()
    }

    pub fn clusters(&self) -> Vec<String> {
        self.lock().clusters.iter().cloned().collect()
    }

    pub fn target_groups(&self) -> Vec<String> {
        self.lock().target_groups.iter().cloned().collect()
    }

    pub fn log_groups(&self) -> Vec<String> {
        self.lock().log_groups.keys().cloned().collect()
    }
}

impl Discovered {
    fn announce(&mut self, new: bool, source: &str, what: &str, id: String, via: &str) -> bool {
        if new {
            self.announcements.push(Watching {
                source: source.to_string(),
                what: what.to_string(),
                id,
                via: (!via.is_empty()).then(|| via.to_string()),
            });
        }
        new
    }
}

/// `arn:aws:ecs:REGION:ACCOUNT:cluster/NAME` → `NAME`; a name stays a name.
pub fn cluster_name(arn_or_name: &str) -> &str {
    arn_or_name
        .rsplit_once(":cluster/")
        .map_or(arn_or_name, |(_, name)| name)
}

/// `arn:aws:ecs:…:service/CLUSTER/NAME` (or the old `service/NAME`) → `NAME`.
pub fn service_name(arn_or_name: &str) -> &str {
    match arn_or_name.rsplit_once(":service/") {
        Some((_, rest)) => rest.rsplit('/').next().unwrap_or(rest),
        None => arn_or_name,
    }
}

/// The cluster named in a new-style service ARN (`service/CLUSTER/NAME`).
pub fn service_cluster(arn: &str) -> Option<&str> {
    let (_, rest) = arn.rsplit_once(":service/")?;
    let (cluster, _) = rest.split_once('/')?;
    Some(cluster)
}

/// The region and account in an ARN: `arn:aws:SERVICE:REGION:ACCOUNT:…`.
pub fn region_and_account(arn: &str) -> Option<(&str, &str)> {
    let mut parts = arn.split(':');
    let (_, _, _) = (parts.next()?, parts.next()?, parts.next()?);
    let region = parts.next()?;
    let account = parts.next()?;
    (!region.is_empty() && !account.is_empty()).then_some((region, account))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_out_of_arns() {
        assert_eq!(
            cluster_name("arn:aws:ecs:eu-west-1:123456789012:cluster/prod"),
            "prod"
        );
        assert_eq!(cluster_name("prod"), "prod");
        let svc = "arn:aws:ecs:eu-west-1:123456789012:service/prod/payments-api";
        assert_eq!(service_name(svc), "payments-api");
        assert_eq!(service_cluster(svc), Some("prod"));
        assert_eq!(
            service_name("arn:aws:ecs:eu-west-1:1:service/old-style"),
            "old-style"
        );
        assert_eq!(
            region_and_account("arn:aws:cloudformation:eu-west-1:123456789012:stack/app/x"),
            Some(("eu-west-1", "123456789012"))
        );
        assert_eq!(region_and_account("not an arn"), None);
    }

    #[test]
    fn each_thing_is_added_once() {
        let d = Discovery::default();
        assert!(d.add_service("arn:aws:ecs:r:1:cluster/prod", "api", "stack resource Api"));
        assert!(!d.add_service("prod", "arn:aws:ecs:r:1:service/prod/api", ""));
        assert!(d.add_log_group("/ecs/api", "task definition api:1"));
        assert!(!d.add_log_group("/ecs/api", "stack resource Logs"));
        assert_eq!(d.services().len(), 1);
        let told = d.take_announcements();
        assert_eq!(told.len(), 2, "each new thing once: {told:?}");
        assert_eq!(told[0].id, "prod/api");
        assert_eq!(told[0].via.as_deref(), Some("stack resource Api"));
        assert!(d.take_announcements().is_empty(), "drained");
    }
}
