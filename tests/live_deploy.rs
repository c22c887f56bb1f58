//! Whole deploys played live: `stackwatch watch --json` polls moto while the test plays a
//! deploy step by step through the scenario driver, as the demo tells it: the stack starts,
//! its tasks cannot mount EFS, cannot read their secrets, cannot pull their image, then run
//! and crash (`Cannot find module 'express'`) behind unhealthy targets, the service fails and
//! the stack rolls back. Every step must show as an `event` line, every failure as its flag
//! within a poll or so, and the recording must replay to the same flags. A healthy deploy
//! flags nothing; no credentials is one clear line and exit 3.

#[path = "support/moto.rs"]
mod moto;
#[path = "support/watching.rs"]
mod watching;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use moto::Moto;
use serde_json::{Value, json};
use watching::{Watching, flag, is, text};

/// Real wording (tests/data/signals-known.jsonl).
const EFS_REASON: &str = "ResourceInitializationError: failed to invoke EFS utils commands to set up EFS volumes: stderr: mount.nfs4: Connection reset by peer : unsuccessful EFS utils command execution; code: 32";
const SECRETS_REASON: &str = "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secret from asm: service call has been retried 5 time(s): failed to fetch secret arn:aws:secretsmanager:us-east-1:123456789012:secret:DBPasswordSecret-AbCdEf from secrets manager: RequestCanceled: request context canceled caused by: context deadline exceeded. Please check your task network configuration.";
const PULL_REASON: &str = "CannotPullContainerError: Error response from daemon: manifest for public.ecr.aws/nginx/nginx:1.27-missing not found";
const CIRCUIT_BREAKER_REASON: &str = "Resource handler returned message: \"Error occurred during operation 'ECS Deployment Circuit Breaker was triggered'.\" (RequestToken: f64cd8d2-688e-c32b-16e4-e2f891081a59, HandlerErrorCode: GeneralServiceException)";
const START_IMPAIRED: &str = "is unable to consistently start tasks successfully. For more information, see the Troubleshooting section.";

/// A step should show, and a failure flag, within one poll of its source (3–5 s); this is the
/// bound the test holds them to, with room for a loaded machine.
const FLAG_WITHIN: Duration = Duration::from_secs(15);

/// The deploy under test: the driver, the ids `/setup` gave, and the watch.
struct Deploy {
    moto: Moto,
    stack: String,
    cluster: String,
    service: String,
    target_group: String,
    log_group: String,
    watching: Watching,
    /// Failure → how long its flag took, in play order.
    latencies: Vec<(String, Duration)>,
    /// Source → the longest a step took to show as its `event` line.
    slowest_event: BTreeMap<String, Duration>,
}

impl Deploy {
    /// Sets up `stack` in progress and starts `watch --json ARGS` on it.
    fn start(stack: &str, args: &[&str]) -> Deploy {
        let moto = Moto::start();
        let setup = moto.step("/setup", &json!({ "stack": stack }).to_string());
        let setup: Value = serde_json::from_str(&setup).unwrap();
        let mut watch_args = vec!["--stack", stack];
        watch_args.extend_from_slice(args);
        let mut watching = Watching::start(&moto, &watch_args);
        watching.expect("the stack's User Initiated event", |l| {
            is(l, "event", "cfn") && text(l, "message").contains("User Initiated")
        });
        Deploy {
            stack: stack.to_string(),
            cluster: text(&setup, "cluster_name"),
            service: text(&setup, "service_name"),
            target_group: text(&setup, "target_group_arn"),
            log_group: text(&setup, "log_group_name"),
            moto,
            watching,
            latencies: Vec::new(),
            slowest_event: BTreeMap::new(),
        }
    }

    /// Waits for the `event` line of a step played at `since`, and notes how long it took.
    fn shows(&mut self, since: Instant, what: &str, wanted: impl Fn(&Value) -> bool) {
        let line = self.watching.expect_line(what, wanted);
        let took = line.at.saturating_duration_since(since);
        let slowest = self
            .slowest_event
            .entry(text(&line.value, "source"))
            .or_default();
        *slowest = (*slowest).max(took);
    }

    fn step(&self, path: &str, body: Value) -> Value {
        serde_json::from_str(&self.moto.step(path, &body.to_string())).unwrap()
    }

    /// A resource event of the root stack, and its `event` line.
    fn resource(&mut self, logical_id: &str, status: &str, reason: Option<&str>) -> Instant {
        let mut body = json!({"stack": self.stack, "logical_id": logical_id, "status": status});
        if let Some(reason) = reason {
            body["reason"] = reason.into();
        }
        let at = Instant::now();
        self.step("/cfn/event", body);
        let message = with_reason(status, reason);
        self.shows(at, &format!("the event {logical_id} {message}"), |l| {
            cfn_event(l, logical_id, &message)
        });
        at
    }

    /// The stack's own status and event, and its `event` line.
    fn stack_status(&mut self, status: &str, reason: Option<&str>) -> Instant {
        let at = Instant::now();
        self.step(
            "/cfn/stack-status",
            json!({"stack": self.stack, "status": status, "reason": reason, "event": true}),
        );
        let stack = self.stack.clone();
        let message = with_reason(status, reason);
        self.shows(at, &format!("the stack event {message}"), |l| {
            cfn_event(l, &stack, &message)
        });
        at
    }

    /// A task of the service, `last_status` as given; waits for its `event` line. Returns the
    /// task id and its private IP.
    fn run_task(&mut self, last_status: &str) -> (String, String) {
        let at = Instant::now();
        let task = self.step(
            "/ecs/run-task",
            json!({"cluster": self.cluster, "service": self.service,
                   "last_status": last_status, "register": false}),
        );
        let id = text(&task, "task_id");
        self.shows(at, &format!("the task {id} {last_status}"), |l| {
            is(l, "event", "ecs-task")
                && text(l, "resource").ends_with(&id)
                && text(l, "message") == last_status
        });
        (id, text(&task, "private_ip"))
    }

    /// Stops a task as ECS reports it; waits for its `STOPPED` event line.
    fn stop_task(&mut self, id: &str, body: Value) -> Instant {
        let mut body = body;
        body["cluster"] = self.cluster.clone().into();
        body["task"] = id.into();
        let at = Instant::now();
        self.step("/ecs/stop-task", body);
        self.shows(at, &format!("the task {id} STOPPED"), |l| {
            is(l, "event", "ecs-task")
                && text(l, "resource").ends_with(id)
                && text(l, "message").starts_with("STOPPED")
        });
        at
    }

    /// A target's health; waits for its `event` line.
    fn target(
        &mut self,
        ip: &str,
        state: &str,
        reason: Option<&str>,
        desc: Option<&str>,
    ) -> Instant {
        let at = Instant::now();
        self.step(
            "/elb/target-health",
            json!({"target_group_arn": self.target_group, "target_id": ip, "port": 80,
                   "state": state, "reason": reason, "description": desc}),
        );
        self.shows(at, &format!("the target {ip} {state}"), |l| {
            is(l, "event", "elb")
                && text(l, "resource").contains(ip)
                && text(l, "message").starts_with(state)
        });
        at
    }

    /// A service event; waits for its `event` line.
    fn service_event(&mut self, message: &str) -> Instant {
        let at = Instant::now();
        self.step(
            "/ecs/service-event",
            json!({"cluster": self.cluster, "service": self.service, "message": message}),
        );
        self.shows(at, &format!("the service event {message:?}"), |l| {
            is(l, "event", "ecs-service") && text(l, "message") == message
        });
        at
    }

    /// Log lines in a task's stream (`web/web/<task id>`); waits for the last one's line.
    fn logs(&mut self, task_id: &str, lines: &[&str]) -> Instant {
        let at = Instant::now();
        self.step(
            "/logs/put",
            json!({"group": self.log_group, "stream": format!("web/web/{task_id}"),
                   "lines": lines}),
        );
        let last = lines.last().copied().unwrap_or_default();
        self.shows(at, &format!("the log line {last:?}"), |l| {
            is(l, "event", "log") && text(l, "message") == last
        });
        at
    }

    /// Waits for the flag `rule` and notes how long after `since` it came.
    fn flagged(&mut self, failure: &str, since: Instant, rule: &str) -> Value {
        let line = self
            .watching
            .expect_line(&format!("the flag {rule}"), |l| flag(l, rule));
        let took = line.at.saturating_duration_since(since);
        eprintln!("latency: {failure} → {rule}: {:.1} s", took.as_secs_f64());
        self.latencies.push((failure.to_string(), took));
        line.value
    }
}

/// A CloudFormation event's line (it has the event's id: a stack's status row has none).
fn cfn_event(line: &Value, logical_id: &str, message: &str) -> bool {
    is(line, "event", "cfn")
        && line["id"].is_string()
        && text(line, "resource") == logical_id
        && text(line, "message") == message
}

/// How the timeline words a status and its reason.
fn with_reason(status: &str, reason: Option<&str>) -> String {
    match reason {
        Some(reason) => format!("{status}: {reason}"),
        None => status.to_string(),
    }
}

/// The (rule, resource) of every `flag` line.
fn flag_set(lines: &[Value]) -> BTreeSet<(String, String)> {
    lines
        .iter()
        .filter(|l| l["type"] == "flag")
        .map(|l| (text(l, "rule"), text(l, "resource")))
        .collect()
}

fn temp_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("stackwatch-live-deploy")
        .tempdir()
        .unwrap()
}

/// Plays the failing deploy against a live watch recording to `record`; returns the watch's
/// exit code and lines.
fn play_failing_deploy(record: &std::path::Path) -> (i32, Vec<Value>) {
    let record = record.to_str().unwrap();
    let mut d = Deploy::start("shop", &["--until", "complete", "--record", record]);

    // The stack creates its resources, in dependency order.
    for logical in [
        "LogGroup",
        "Cluster",
        "ServiceSecurityGroup",
        "TaskDefinition",
        "LoadBalancer",
        "TargetGroup",
        "Listener",
    ] {
        d.resource(logical, "CREATE_IN_PROGRESS", None);
        d.resource(
            logical,
            "CREATE_IN_PROGRESS",
            Some("Resource creation Initiated"),
        );
        d.resource(logical, "CREATE_COMPLETE", None);
    }
    d.resource("Config", "CREATE_IN_PROGRESS", None);
    d.resource("Service", "CREATE_IN_PROGRESS", None);
    d.resource(
        "Service",
        "CREATE_IN_PROGRESS",
        Some("Resource creation Initiated"),
    );

    // Act 1: the first tasks never start. EFS cannot be mounted (NFS blocked)…
    let (efs_task, _) = d.run_task("PENDING");
    let at = d.stop_task(
        &efs_task,
        json!({"stop_code": "TaskFailedToStart", "stopped_reason": EFS_REASON}),
    );
    let f = d.flagged("EFS mount", at, "ecs.efs_mount_network");
    assert_eq!(text(&f, "resource"), format!("service {}", d.service));
    assert_eq!(f["severity"], "error");
    // …the secrets cannot be fetched…
    let (secrets_task, _) = d.run_task("PENDING");
    let at = d.stop_task(
        &secrets_task,
        json!({"stop_code": "TaskFailedToStart", "stopped_reason": SECRETS_REASON}),
    );
    d.flagged("secrets", at, "ecs.secrets_network");
    // …and the image tag was never pushed.
    let (pull_task, _) = d.run_task("PENDING");
    let at = d.stop_task(
        &pull_task,
        json!({"stop_code": "TaskFailedToStart", "stopped_reason": PULL_REASON,
               "container_reason": PULL_REASON}),
    );
    d.flagged("image pull", at, "ecs.image_not_found");
    let message = format!("(service {}) {START_IMPAIRED}", d.service);
    let at = d.service_event(&message);
    d.flagged("start impaired", at, "ecs.svc_task_start_impaired");

    // Act 2: a task runs, registers, fails its health checks and crashes.
    let (task, ip) = d.run_task("RUNNING");
    d.target(
        &ip,
        "initial",
        Some("Elb.RegistrationInProgress"),
        Some("Target registration is in progress"),
    );
    let at = d.target(
        &ip,
        "unhealthy",
        Some("Target.ResponseCodeMismatch"),
        Some("Health checks failed with these codes: [502]"),
    );
    let f = d.flagged("unhealthy target", at, "elb.response_code_mismatch");
    assert_eq!(text(&f, "resource"), "tg shop-tg");
    let at = d.logs(
        &task,
        &[
            "> shop@1.4.2 start",
            "> node server.js",
            "node:internal/modules/cjs/loader:1228",
            "  throw err;",
            "  ^",
            "Error: Cannot find module 'express'",
            "Require stack:",
            "- /app/server.js",
        ],
    );
    let f = d.flagged("crash in the logs", at, "log.node_module_not_found");
    assert_eq!(text(&f, "resource"), d.log_group);
    let at = d.stop_task(
        &task,
        json!({"stop_code": "EssentialContainerExited",
               "stopped_reason": "Essential container in task exited", "exit_code": 1,
               "deregister": true}),
    );
    d.flagged("container exit", at, "ecs.essential_exited");

    // The circuit breaker trips; CloudFormation fails the service and rolls back.
    d.step(
        "/ecs/deployment",
        json!({"cluster": d.cluster, "service": d.service, "rollout_state": "FAILED",
               "rollout_state_reason": "ECS deployment circuit breaker: tasks failed to start.",
               "running": 0, "failed": 4}),
    );
    let at = Instant::now();
    d.watching.expect("the deployment FAILED event", |l| {
        is(l, "event", "ecs-service") && text(l, "message").contains("FAILED")
    });
    let f = d.flagged("rollout FAILED", at, "deploy.rolled_back");
    assert_eq!(text(&f, "resource"), format!("service {}", d.service));
    let at = d.resource("Service", "CREATE_FAILED", Some(CIRCUIT_BREAKER_REASON));
    d.flagged("service CREATE_FAILED", at, "cfn.ecs_circuit_breaker");
    let root = d.flagged("service CREATE_FAILED", at, "cfn.root_cause");
    assert_eq!(text(&root, "resource"), "shop/Service", "{root}");
    assert!(
        text(&root, "summary").contains("Circuit Breaker"),
        "the root cause is the service's own failure: {root}"
    );
    d.resource(
        "Config",
        "CREATE_FAILED",
        Some("Resource creation cancelled"),
    );
    d.stack_status(
        "ROLLBACK_IN_PROGRESS",
        Some("The following resource(s) failed to create: [Config, Service]. Rollback requested by user."),
    );
    for logical in [
        "Service",
        "Config",
        "Listener",
        "TargetGroup",
        "LoadBalancer",
        "TaskDefinition",
        "ServiceSecurityGroup",
        "Cluster",
        "LogGroup",
    ] {
        d.resource(logical, "DELETE_IN_PROGRESS", None);
        d.resource(logical, "DELETE_COMPLETE", None);
    }
    let at = d.stack_status("ROLLBACK_COMPLETE", None);
    let rolled_back = d.watching.expect_line("the stack's rollback flag", |l| {
        flag(l, "deploy.rolled_back") && text(l, "resource") == "shop"
    });
    let took = rolled_back.at.saturating_duration_since(at);
    eprintln!(
        "latency: ROLLBACK_COMPLETE → deploy.rolled_back: {:.1} s",
        took.as_secs_f64()
    );
    d.latencies.push(("ROLLBACK_COMPLETE".into(), took));

    for (source, took) in &d.slowest_event {
        eprintln!(
            "slowest step to show as an event line: {source}: {:.1} s",
            took.as_secs_f64()
        );
        assert!(
            *took <= FLAG_WITHIN,
            "a {source} step took {took:?} to show (more than {FLAG_WITHIN:?})"
        );
    }
    for (failure, took) in &d.latencies {
        assert!(
            *took <= FLAG_WITHIN,
            "{failure} took {took:?} to flag (more than {FLAG_WITHIN:?})"
        );
    }
    let Deploy { watching, .. } = d;
    watching.finish()
}

/// The failing deploy as the live watch saw it.
struct Played {
    code: i32,
    lines: Vec<Value>,
    record: PathBuf,
}

/// The failing deploy, played once for the tests that read it (about two minutes).
fn failing_deploy() -> &'static Played {
    static PLAYED: OnceLock<Played> = OnceLock::new();
    PLAYED.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("live_deploy");
        std::fs::create_dir_all(&dir).unwrap();
        let record = dir.join("shop.jsonl");
        let _ = std::fs::remove_file(&record);
        let (code, lines) = play_failing_deploy(&record);
        Played {
            code,
            lines,
            record,
        }
    })
}

#[test]
fn a_failing_deploy_played_step_by_step_flags_each_failure_and_exits_one() {
    let Played {
        code,
        lines,
        record,
    } = failing_deploy();
    let summary = lines.last().expect("a summary line");
    assert_eq!(summary["type"], "summary", "{summary}");
    assert_eq!(summary["outcome"], "failed", "{summary}");
    assert!(
        summary["root_cause"]
            .as_str()
            .is_some_and(|r| r.contains("shop/Service")),
        "{summary}"
    );
    assert_eq!(*code, 1, "{summary}");
    let flags = flag_set(lines);
    for rule in [
        "ecs.efs_mount_network",
        "ecs.secrets_network",
        "ecs.image_not_found",
        "ecs.svc_task_start_impaired",
        "elb.response_code_mismatch",
        "log.node_module_not_found",
        "ecs.essential_exited",
        "cfn.ecs_circuit_breaker",
        "cfn.root_cause",
        "deploy.rolled_back",
    ] {
        assert!(
            flags.iter().any(|(r, _)| r == rule),
            "no {rule} flag in {flags:?}"
        );
    }
    // The cascade is not a flag of its own: cfn.root_cause looks past it.
    assert!(
        !flags.iter().any(|(_, resource)| resource == "shop/Config"),
        "{flags:?}"
    );
    assert!(record.exists(), "the recording was written");
}

#[test]
fn the_recording_of_a_failing_deploy_replays_to_the_same_flags() {
    let live = failing_deploy();
    assert_eq!(live.code, 1);

    let mut replay = std::process::Command::new(env!("CARGO_BIN_EXE_stackwatch"));
    replay
        .args(["replay", "--json"])
        .arg(&live.record)
        .env("STACKWATCH_STATE_DIR", watching::state_dir())
        .env("NO_COLOR", "1");
    let (code, lines) = Watching::spawn(replay).finish();
    assert_eq!(code, 1, "{:?}", lines.last());
    let summary = lines.last().expect("a summary line");
    assert_eq!(summary["outcome"], "failed", "{summary}");
    assert_eq!(
        flag_set(&lines),
        flag_set(&live.lines),
        "the replay flags what the live run flagged"
    );
}

#[test]
fn a_healthy_deploy_exits_zero_and_flags_nothing() {
    let mut d = Deploy::start("calm", &["--until", "complete", "--no-record"]);
    for logical in [
        "LogGroup",
        "Cluster",
        "ServiceSecurityGroup",
        "TaskDefinition",
        "LoadBalancer",
        "TargetGroup",
        "Listener",
        "Config",
    ] {
        d.resource(logical, "CREATE_IN_PROGRESS", None);
        d.resource(logical, "CREATE_COMPLETE", None);
    }
    d.resource("Service", "CREATE_IN_PROGRESS", None);
    let mut tasks = Vec::new();
    for _ in 0..2 {
        let (task, ip) = d.run_task("RUNNING");
        d.target(
            &ip,
            "initial",
            Some("Elb.InitialHealthChecking"),
            Some("Initial health checks in progress"),
        );
        d.logs(&task, &["> calm@1.0.0 start", "listening on 0.0.0.0:80"]);
        tasks.push((task, ip));
    }
    for (_, ip) in &tasks {
        d.target(ip, "healthy", None, None);
    }
    let deployment = d.step(
        "/ecs/deployment",
        json!({"cluster": d.cluster, "service": d.service, "rollout_state": "COMPLETED",
               "rollout_state_reason": "ECS deployment completed.", "running": 2,
               "desired": 2}),
    );
    let id = text(&deployment["deployment"], "id");
    d.service_event(&format!(
        "(service {}) (deployment {id}) deployment completed.",
        d.service
    ));
    d.service_event(&format!(
        "(service {}) has reached a steady state.",
        d.service
    ));
    d.resource("Service", "CREATE_COMPLETE", None);
    d.stack_status("CREATE_COMPLETE", None);

    let Deploy { watching, .. } = d;
    let (code, lines) = watching.finish();
    let summary = lines.last().expect("a summary line");
    assert_eq!(summary["outcome"], "complete", "{summary}");
    assert_eq!(code, 0, "{summary}");
    let raised: Vec<&Value> = lines
        .iter()
        .filter(|l| l["type"] == "flag" && l["severity"] != "info")
        .collect();
    assert!(raised.is_empty(), "a healthy deploy flagged: {raised:?}");
    assert_eq!(summary["open_flags"], json!([]), "{summary}");
}

#[test]
fn no_credentials_exits_three_naming_the_profile_and_the_fix() {
    let dir = temp_dir();
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "").unwrap();
    let run = |profile: Option<&str>, region: bool| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_stackwatch"));
        cmd.args(["watch", "--stack", "x", "--no-record"]);
        for var in [
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_PROFILE",
            "AWS_DEFAULT_PROFILE",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            "AWS_ROLE_ARN",
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "AWS_ENDPOINT_URL",
        ] {
            cmd.env_remove(var);
        }
        cmd.env("AWS_CONFIG_FILE", &empty)
            .env("AWS_SHARED_CREDENTIALS_FILE", &empty)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("STACKWATCH_STATE_DIR", dir.path().join("state"));
        if region {
            cmd.env("AWS_REGION", "us-east-1");
        } else {
            cmd.env_remove("AWS_REGION")
                .env_remove("AWS_DEFAULT_REGION");
        }
        if let Some(profile) = profile {
            cmd.env("AWS_PROFILE", profile);
        }
        let out = cmd.output().expect("runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).trim_end().to_string(),
        )
    };
    // A profile that does not exist has no region either: the profile is what to fix.
    for (profile, name, region) in [
        (Some("nobody"), "nobody", true),
        (Some("nobody"), "nobody", false),
        (None, "default", true),
    ] {
        let (code, err) = run(profile, region);
        eprintln!("{err}");
        assert_eq!(code, Some(3), "{err}");
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(err.starts_with("stackwatch: error: "), "{err}");
        assert!(err.contains(&format!("profile {name}")), "{err}");
        assert!(
            err.contains(&format!("aws configure --profile {name}")),
            "names the fix: {err}"
        );
        assert!(
            err.contains(&empty.display().to_string()),
            "names where it looked: {err}"
        );
        assert!(!err.contains('⏎'), "no multi-line chain dump: {err}");
        assert!(err.len() < 400, "short enough to read: {err}");
    }
}
