//! Text rules: one table entry per rule id (catalogue §1–§4, §8, §9). A message is matched against
//! the rules of its source, compiled once (on first use of that source) into a `RegexSet`; the
//! first matching entry wins, so the table runs from specific to generic. Each rule's own regex
//! is compiled when it first matches, for the captures its summary fills in.
//!
//! Adding a rule: one `rule(id, sources, severity, pattern, summary, next_step)` entry at the
//! right place in `RULES`, plus a case in `detect::tests`, the id in `tests/data/rule-ids.txt`
//! and a labelled example in `tests/data` (then regenerate `docs/rules.md`). Patterns are ASCII;
//! error names are matched with `(?i)` (the newer console lowercases them). Write a pattern for
//! the family, not one message: `\s+` where a console may wrap, room for a prefix before an
//! anchored reason, and `.unless(…)` for the near misses that must stay quiet.
//!
//! Wrappers are peeled first: `Resource handler returned message: "…"` and CLI errors
//! `An error occurred (X) when calling the Y operation: …` are classified by the message inside,
//! then, if nothing matched, as a whole (so `HandlerErrorCode: …` and `cfn.handler_error` still
//! apply).

use std::sync::{LazyLock, OnceLock};

use regex::{Captures, Regex, RegexBuilder};

use crate::model::{Severity, Source};

/// What one message means.
#[derive(Debug, Clone, PartialEq)]
pub struct Classification {
    pub rule: &'static str,
    pub severity: Severity,
    pub summary: String,
    pub next_step: String,
}

/// Builds the one-line summary from the captures and the (unwrapped) message.
type Summary = fn(&Captures, &str) -> String;

/// One text rule.
pub(crate) struct TextRule {
    pub id: &'static str,
    /// Bit set of the sources whose messages it applies to.
    sources: u8,
    pub severity: Severity,
    pattern: &'static str,
    /// A pattern that, when it also matches, takes the message away from this rule (it goes on
    /// to the next matching one): the wording that makes a near miss informational, as in
    /// `REDIS_URL not set, using the in-memory cache`. Empty: none.
    unless: &'static str,
    summary: Summary,
    pub next_step: &'static str,
}

const CFN: u8 = 1;
const TASK: u8 = 1 << 1;
const SVC: u8 = 1 << 2;
const ELB: u8 = 1 << 3;
const LOG: u8 = 1 << 4;
const API: u8 = 1 << 5;
/// API errors can be pasted from anywhere but a log line (log rules are for logs only, and
/// log lines mentioning `AccessDenied` are the app's business).
const NOT_LOG: u8 = CFN | TASK | SVC | ELB | API;

use Severity::{Error, Fatal, Info, Warn};

const fn rule(
    id: &'static str,
    sources: u8,
    severity: Severity,
    pattern: &'static str,
    summary: Summary,
    next_step: &'static str,
) -> TextRule {
    TextRule {
        id,
        sources,
        severity,
        pattern,
        unless: "",
        summary,
        next_step,
    }
}

impl TextRule {
    /// The same rule, vetoed when `pattern` matches too.
    const fn unless(self, pattern: &'static str) -> Self {
        TextRule {
            unless: pattern,
            ..self
        }
    }
}

/// A log line its own logger marks as progress (`INFO …`, `"level":"info"`), near its start: the
/// line is not a failure, whatever words follow (issue 12: a log line fails by its level).
macro_rules! quiet_level {
    () => {
        r#"(?i)^[^\n]{0,48}?\b(?:info|debug|trace)\b|"level"\s*:\s*"(?:info|debug|trace)""#
    };
}

/// What a log pipeline puts before a line a runtime wrote at its start: a timestamp, a compose
/// service column (`web.1  | `), or both. Rules anchored at a line's start allow it.
macro_rules! line_prefix {
    () => {
        r"(?:[\w.-]+\s*\|\s*|\d{2,4}[-/:.]\d[\d/:.,TZ+-]*(?:\s+\d\d:\d\d[\d:.,Z+-]*)?\s+){0,2}"
    };
}

/// Network causes shared by the secrets / registry-auth / image-pull families.
macro_rules! net_cause {
    () => {
        r"(?P<cause>RequestCanceled|context deadline exceeded|RequestError|send request failed|i/o timeout|connection timed out|Client\.Timeout exceeded|request canceled while waiting for connection|context canceled|connection reset by peer|no such host|TLS handshake timeout|connection refused|connection issue between the task and)"
    };
}

/// The table. Order matters within a source: first match wins.
pub(crate) static RULES: &[TextRule] = &[
    // ---------------------------------------------------------------- CloudFormation
    rule(
        "cfn.in_progress_info",
        CFN,
        Info,
        r"(?i)^\s*(?:Hook invocations? (?:complete|completed|in progress|succeeded|initiated)\.?\s*|Eventual consistency check (?:initiated|complete)\.?\s*)*(?P<what>Resource (?:creation|update|deletion) Initiated|Eventual consistency check initiated|User Initiated|Transformation succeeded)\.?\s*$|^\s*(?P<hook>Hook invocations? (?:complete|completed|in progress|succeeded|initiated))\.?\s*$|(?:Stack:?\s*(?P<arn>\S+) )?is in (?P<state>[A-Z_]*_IN_PROGRESS) state and can ?not be updated",
        |c, _| match c.name("state") {
            Some(state) => format!(
                "stack {} is busy ({}) and cannot be updated yet: wait for it to finish, or delete it",
                arn_stack_name(g(c, "arn")),
                state.as_str()
            ),
            None => format!("progress: {}", first(c, &["what", "hook"])),
        },
        "nothing to do; stackwatch times the phase",
    ),
    rule(
        "cfn.signal_received_info",
        CFN,
        Info,
        r"Received SUCCESS signal with UniqueId (?P<id>\S+)",
        |c, _| format!("signal received from {}", g(c, "id")),
        "nothing to do",
    ),
    rule(
        "cfn.signal_failure",
        CFN,
        Error,
        r"Received FAILURE signal with UniqueId (?P<id>\S+)",
        |c, _| {
            format!(
                "{} sent a FAILURE signal: cfn-init or UserData failed",
                g(c, "id")
            )
        },
        "read /var/log/cfn-init.log and /var/log/cloud-init-output.log on that instance (SSM or the console output)",
    ),
    rule(
        "cfn.signal_timeout",
        CFN,
        Error,
        r"Failed to receive (?P<n>\d+) resource signal|Received (?P<got>\d+) SUCCESS signal\(s\) out of (?P<of>\d+)|MinSuccessfulInstancesPercent requirement|WaitCondition timed out|Received (?P<got2>\d+) conditions? when expecting (?P<of2>\d+)",
        |c, _| match (c.name("n"), first(c, &["got", "got2"])) {
            (Some(n), _) => format!(
                "{} resource signal(s) never arrived before the timeout",
                n.as_str()
            ),
            (_, got) if !got.is_empty() => format!(
                "only {got} of {} signals arrived before the timeout",
                first(c, &["of", "of2"])
            ),
            _ => "too few instances signalled success".to_string(),
        },
        "the instance never ran cfn-signal in time: check /var/log/cloud-init-output.log and cfn-init.log, its route to the CloudFormation endpoint (NAT / VPC endpoint), or raise the Timeout",
    ),
    rule(
        "cfn.cascade_cancelled",
        CFN,
        Info,
        r"(?i)^\s*(?:Hook invocations? (?:complete|completed|in progress|succeeded|initiated)\.?\s*)?Resource (?P<op>creation|update|deletion) cancelled",
        |c, _| {
            format!(
                "{} cancelled because another resource failed (not the root cause)",
                g(c, "op")
            )
        },
        "look for the earliest failure that is not a cancellation",
    ),
    rule(
        "cfn.nested_stack_failed",
        CFN,
        Error,
        r"Embedded stack (?P<arn>arn:aws[-a-z]*:cloudformation:\S+?) was not successfully (?P<op>created|updated|deleted)(?:[.:]\s*(?P<rest>.*))?",
        |c, _| {
            let name = c.name("arn").map_or("", |m| arn_stack_name(m.as_str()));
            match c
                .name("rest")
                .map(|m| m.as_str().trim())
                .filter(|s| !s.is_empty())
            {
                Some(rest) => format!(
                    "nested stack {name} was not {}: {}",
                    g(c, "op"),
                    short(rest, 160)
                ),
                None => format!("nested stack {name} was not {}", g(c, "op")),
            }
        },
        "the real cause is in the nested stack's own events (stackwatch follows them into cfn.root_cause)",
    ),
    rule(
        "cfn.resources_failed_summary",
        CFN,
        Error,
        r"The following resource\(s\) failed to (?P<op>create|update|delete): \[(?P<ids>[^\]]*)\]?",
        |c, _| format!("failed to {}: {}", g(c, "op"), short(g(c, "ids"), 160)),
        "drill into each listed resource; the earliest one is usually the cause",
    ),
    rule(
        "cfn.stack_timeout",
        CFN,
        Error,
        r"Stack (?P<op>creation|update) time exceeded the specified timeout",
        |c, _| format!("stack {} ran out of its TimeoutInMinutes", g(c, "op")),
        "find the resource still in progress at the deadline (its stall flag); fix it or raise TimeoutInMinutes",
    ),
    rule(
        "cfn.stack_rollback_complete_blocked",
        CFN,
        Fatal,
        r"(?:Stack:?\s*(?P<arn>\S+) )?is in ROLLBACK_COMPLETE state and can ?not",
        |c, _| {
            format!(
                "stack {} is in ROLLBACK_COMPLETE and cannot be updated",
                arn_stack_name(g(c, "arn"))
            )
        },
        "only a delete is possible: delete the stack, then create it again",
    ),
    rule(
        "cfn.stack_update_rollback_failed",
        CFN,
        Fatal,
        r"(?:Stack:?\s*(?P<arn>\S+) )?is in UPDATE_ROLLBACK_FAILED state",
        |c, _| {
            format!(
                "stack {} is stuck in UPDATE_ROLLBACK_FAILED",
                arn_stack_name(g(c, "arn"))
            )
        },
        "fix the cause, then run continue-update-rollback (with --resources-to-skip if needed)",
    ),
    rule(
        "cfn.custom_resource_failed",
        CFN,
        Error,
        r"(?s)Received response status \[FAILED\] from custom resource\.\s*Message returned:\s*(?P<msg>.*)",
        |c, _| format!("custom resource failed: {}", short(g(c, "msg"), 160)),
        "open the custom resource Lambda's log group (/aws/lambda/<function>) at the event time and fix the error it names",
    ),
    rule(
        "cfn.custom_resource_timeout",
        CFN,
        Error,
        r"Custom Resource failed to stabilize in expected time|CloudFormation did not receive a response from your Custom Resource",
        |_, _| "custom resource never answered CloudFormation in time".to_string(),
        "check the Lambda's log group; make sure it sends cfn-response on every code path, exceptions included",
    ),
    rule(
        "cfn.template_invalid",
        CFN,
        Error,
        // As CreateStack / UpdateStack / CreateChangeSet reject it, however the CLI, an SDK's
        // JSON error, CDK or Serverless prints it (catalogue §9.1).
        r#"(?i:\bTemplate\s+(?:format\s+|validation\s+)?error)\b\s*:?\s*(?P<msg>[^"\n]*)|(?i:Unresolved\s+resource\s+dependencies)\s+\[(?P<deps>[^\]]*)\]|Invalid\s+template\s+(?:resource\s+|parameter\s+)?propert(?:y|ies)\b[^"\n]*|\bTransform\s+\S+\s+failed\s+with:?[^"\n]*|'null'\s+values\s+are\s+not\s+allowed\s+in\s+templates"#,
        |c, t| match UNRESOLVED.captures(t).and_then(|c| c.name("deps")) {
            Some(deps) => format!(
                "template refers to {} that it does not declare (a Ref, GetAtt or ${{}} in Fn::Sub)",
                short(&deps.as_str().split_whitespace().collect::<Vec<_>>().join(" "), 120)
            ),
            None => format!(
                "CloudFormation rejected the template: {}",
                short(&g(c, "msg").if_empty(g(c, 0)), 160)
            ),
        },
        "fix the named reference: declare the parameter or resource, or escape shell variables inside Fn::Sub as ${!VAR}; run cdk synth / aws cloudformation validate-template before deploying",
    ),
    rule(
        "cfn.ecs_circuit_breaker",
        CFN,
        Error,
        r"(?i)ECS Deployment Circuit Breaker was triggered",
        |_, _| "ECS deployment circuit breaker triggered: the new tasks kept failing".to_string(),
        "read the stopped tasks' reasons and the service events for the new task definition",
    ),
    rule(
        "cfn.ecs_service_not_stabilized",
        CFN,
        Error,
        r"Service (?:arn:aws[-a-z]*:ecs:\S*/)?(?P<svc>[^/\s]+?)\.? did not stabilize|type 'AWS::ECS::Service' with identifier '(?:[^']*/)?(?P<svc2>[^'/]+)' did not stabilize",
        |c, _| {
            format!(
                "ECS service {} did not stabilize (CloudFormation gave up waiting)",
                first(c, &["svc", "svc2"])
            )
        },
        "enable the deployment circuit breaker; inspect the service's stopped tasks and events",
    ),
    rule(
        "cfn.not_stabilized",
        CFN,
        Error,
        r"(?i)did not stabilize|failed to stabilize|Exceeded attempts to wait|HandlerErrorCode: NotStabilized",
        |_, t| format!("resource never reached its target state: {}", short(t, 140)),
        "check the resource in its own console or CloudTrail; retry if the fault is on AWS's side",
    ),
    rule(
        "cfn.handler_timeout",
        CFN,
        Error,
        r"Resource timed out waiting for (?P<what>completion|creation of physical resource)",
        |c, _| format!("resource handler timed out waiting for {}", g(c, "what")),
        "check the resource in its own console or CloudTrail; long-running types may need a service role",
    ),
    rule(
        "cfn.hook_failed",
        CFN,
        Error,
        r"(?s)Hook failed with message:\s*(?P<msg>.*)|The following hook\(s\) failed",
        |c, _| {
            format!(
                "a CloudFormation hook rejected the resource: {}",
                short(g(c, "msg"), 160)
            )
        },
        "read the hook's result (GetHookResult) and fix the template or request an exemption",
    ),
    rule(
        "cfn.delete_failed_not_empty",
        CFN,
        Error,
        r"The bucket you tried to delete is not empty|BucketNotEmpty|RepositoryNotEmptyException|still contains images",
        |_, t| {
            let what = if t.contains("ECR") || t.contains("images") {
                "ECR repository"
            } else {
                "S3 bucket"
            };
            format!("{what} is not empty, so it cannot be deleted")
        },
        "empty it, set autoDeleteObjects/emptyOnDelete, or keep it with DeletionPolicy: Retain",
    ),
    rule(
        "cfn.delete_failed_dependency",
        CFN,
        Error,
        r"(?P<res>\S+)?\s+(?:has dependencies and cannot be deleted|has a dependent object|cannot be deleted as it is in use by|has some mapped public address|is currently attached to)|DependencyViolation|VolumeInUse",
        |c, _| match c.name("res") {
            Some(r) => format!(
                "{} is still in use by another resource (ENI, security group rule…)",
                r.as_str().trim_matches('\'')
            ),
            None => "resource is still in use by another resource (ENI, security group rule…)"
                .to_string(),
        },
        "find the ENIs or security group rules that reference it (Lambda/ECS/ELB ENIs take a while to go); retry or retain it",
    ),
    rule(
        "cfn.already_exists",
        CFN,
        Error,
        r"(?i)(?P<name>\S+)? already exists|HandlerErrorCode: AlreadyExists",
        |c, _| {
            format!(
                "{} already exists (name collision or a resource left behind)",
                c.name("name")
                    .map_or("resource", |m| m.as_str().trim_matches(['\'', '"']))
            )
        },
        "pick another name or delete/import the resource left behind by an earlier stack",
    ),
    rule(
        "cfn.access_denied",
        CFN,
        Error,
        r"(?i)(?P<action>not authorized to perform:? \S+)|AccessDenied|Access Denied|UnauthorizedOperation|HandlerErrorCode: AccessDenied",
        |c, t| match c.name("action") {
            Some(a) => format!("permission denied: {}", short(a.as_str(), 120)),
            None => format!("permission denied: {}", short(t, 120)),
        },
        "grant the missing permission to the role CloudFormation uses (the stack's service role or your credentials); CloudTrail shows the denied call",
    ),
    rule(
        "cfn.acm_dns_validation_pending",
        CFN,
        Info,
        r"Content of DNS Record is: \{Name: (?P<name>\S+?),\s*Type: CNAME,\s*Value: (?P<value>\S+?)\}",
        |c, _| {
            format!(
                "certificate waits for DNS validation: CNAME {} → {}",
                g(c, "name"),
                g(c, "value")
            )
        },
        "create that CNAME record (and check the domain's NS delegation)",
    ),
    rule(
        "cfn.internal_failure",
        CFN,
        Error,
        r"(?i)^\s*Internal Failure\.?\s*$",
        |_, _| "CloudFormation reported an opaque Internal Failure".to_string(),
        "check CloudTrail for the failing API call (errorCode) around the event time",
    ),
    rule(
        "cfn.handler_error",
        CFN,
        Error,
        r#"(?s)Resource handler returned message:\s*"?(?P<msg>.*?)"?\s*(?:\(RequestToken: [^)]*?HandlerErrorCode: (?P<code>\w+)\)|$)"#,
        |c, _| match c.name("code") {
            Some(code) => format!(
                "resource provider failed ({}): {}",
                code.as_str(),
                short(g(c, "msg"), 160)
            ),
            None => format!("resource provider failed: {}", short(g(c, "msg"), 160)),
        },
        "read the message: AccessDenied → IAM, AlreadyExists → name collision, ServiceLimitExceeded → quota, InvalidRequest → template property",
    ),
    // ---------------------------------------------------------------- ECS tasks
    rule(
        "ecs.user_initiated",
        TASK,
        Info,
        r"(?i)^\s*(?:task )?stopped by user|^\s*user initiated",
        |_, _| "stopped by a user".to_string(),
        "nothing to do",
    ),
    rule(
        "ecs.scaling_replacement",
        TASK,
        Info,
        r"(?i)Scaling activity initiated by \(?(?:deployment )?(?P<dep>[^)\s]+)",
        |c, _| format!("replaced by {}", g(c, "dep")),
        "nothing to do: a normal replacement",
    ),
    rule(
        "ecs.spot_interruption",
        TASK,
        Warn,
        r"(?i)Your Spot Task was interrupted",
        |_, _| "Spot capacity was reclaimed".to_string(),
        "retry; not an app failure. Keep an on-demand base in the capacity provider strategy",
    ),
    rule(
        "ecs.host_terminated",
        TASK,
        Warn,
        r"(?i)Host EC2 \(instance (?P<instance>i-\w+)\) (?P<what>stopped|terminated)|Container instance deregistration forced by user|performing maintenance on the underlying infrastructure",
        |c, t| match c.name("instance") {
            Some(i) => format!("host {} {}", i.as_str(), g(c, "what")),
            None if t.contains("maintenance") => {
                "AWS retired the task's host for maintenance".to_string()
            }
            None => "container instance deregistered by force".to_string(),
        },
        "check the Auto Scaling group's activity history; not an app failure",
    ),
    rule(
        "ecs.svc_rollback",
        TASK | SVC,
        Error,
        r"(?i)rolling back to deployment(?:Id)? (?P<dep>[\w/-]+)",
        |c, t| format!("{}rolling back to {}", svc_prefix(t), g(c, "dep")),
        "the deploy failed even if the service ends healthy: read the failed tasks' stopped reasons",
    ),
    rule(
        "ecs.circuit_breaker_failed",
        TASK | SVC,
        Error,
        r"(?i)ECS deployment circuit breaker:?\s*(?P<why>[^.]*)",
        |c, _| format!("ECS deployment circuit breaker: {}", g(c, "why")),
        "read the stopped reasons of the new deployment's tasks",
    ),
    rule(
        "ecs.logger_access_denied",
        TASK,
        Error,
        r"(?is)(?:logger args|logging driver|log stream|log group).*(?:AccessDenied|not authorized to perform)",
        |_, _| "the role cannot create the CloudWatch log stream or group".to_string(),
        "grant logs:CreateLogStream (and logs:CreateLogGroup with awslogs-create-group=true) to the execution role",
    ),
    rule(
        "ecs.log_group_missing",
        TASK,
        Error,
        r"(?i)log group does not exist|ResourceNotFoundException.{0,80}log group",
        |_, _| "the awslogs log group does not exist".to_string(),
        "create the log group, or set awslogs-create-group=true and allow logs:CreateLogGroup",
    ),
    rule(
        "ecs.logger_args_network",
        TASK,
        Error,
        r"(?i)failed to validate logger args|failed to initialize logging driver|failed to create Cloudwatch log stream",
        |_, t| {
            format!(
                "the log driver could not reach CloudWatch Logs ({})",
                short(tail(t), 80)
            )
        },
        "give the task a route to CloudWatch Logs: a logs VPC endpoint or NAT, and egress 443",
    ),
    rule(
        "ecs.registry_auth_network",
        TASK,
        Error,
        concat!(
            r"(?is)(?:unable to (?:retrieve|get) (?:ecr )?registry auth|cannot pull registry auth).*?",
            net_cause!()
        ),
        |c, _| {
            format!(
                "task cannot reach the registry auth endpoint ({})",
                g(c, "cause")
            )
        },
        "private subnets need a NAT gateway or VPC endpoints (ecr.api, ecr.dkr, s3, secretsmanager); check egress 443 or assignPublicIp",
    ),
    rule(
        "ecs.secrets_network",
        // A service event says it too when a task cannot be placed (EC2 launch type).
        TASK | SVC,
        Error,
        concat!(
            r"(?is)(?:unable to pull secrets|unable to retrieve secrets?|failed to fetch secret|unable to fetch secret|fetching secret data from).*?",
            net_cause!()
        ),
        |c, t| {
            format!(
                "task cannot reach {} to fetch its secrets ({})",
                secret_backend(t),
                g(c, "cause")
            )
        },
        "private subnets need a NAT gateway or VPC endpoints (secretsmanager, ssm, kms); check the security group's egress 443, or assignPublicIp in public subnets",
    ),
    rule(
        "ecs.secrets_access_denied",
        TASK | SVC,
        Error,
        r"(?is)(?:unable to pull secrets|unable to retrieve secrets?|failed to fetch secret|unable to get registry auth|fetching secret data from).*?(?P<cause>AccessDenied\w*|is not authorized to perform|Access to KMS is not allowed|does(?:n't| not) have (?:the )?(?:required )?permissions?)",
        |c, t| {
            format!(
                "execution role may not read its secrets from {} ({})",
                secret_backend(t),
                g(c, "cause")
            )
        },
        "grant the execution role (not the task role) secretsmanager:GetSecretValue / ssm:GetParameters and kms:Decrypt on the key",
    ),
    rule(
        "ecs.registry_auth_secret",
        TASK,
        Error,
        r"(?i)unable to (?:get|retrieve) (?:ecr )?registry auth",
        |_, _| "task could not get the private registry credentials".to_string(),
        "check repositoryCredentials: the secret exists, holds username/password, and the execution role may read it",
    ),
    rule(
        "ecs.secrets_not_found",
        TASK | SVC,
        Error,
        // After the network and access-denied secret rules: the role reached the store, but a
        // `valueFrom` does not resolve (older agents say `Fetching secret data from …`).
        r"(?is)(?:unable\s+to\s+pull\s+secrets|unable\s+to\s+retrieve\s+secrets?|failed\s+to\s+fetch\s+secret|unable\s+to\s+fetch\s+secret|fetching\s+secret\s+data\s+from).*?(?P<cause>did\s+not\s+contain\s+json\s+key(?:\s+(?P<key>[\w.-]*\w))?|invalid\s*(?:ssm\s+)?parameters?|ParameterNotFound|ResourceNotFoundException|can'?t\s+find\s+the\s+specified\s+secret|looking\s+for\s+beginning\s+of\s+(?:value|object\s+key\s+string))",
        |c, t| {
            let cause = g(c, "cause").to_ascii_lowercase();
            let backend = secret_backend(&t.to_ascii_lowercase());
            if cause.contains("json key") {
                format!(
                    "secret from {backend} has no JSON key{}",
                    opt(" ", g(c, "key"), "")
                )
            } else if cause.contains("looking for beginning") {
                format!("secret from {backend} is not valid JSON, so its key cannot be read")
            } else {
                format!("a secret the task definition references does not exist in {backend}")
            }
        },
        "check each secrets[].valueFrom exists in the task's Region and account (aws ssm get-parameters / aws secretsmanager describe-secret); for …:json-key:: check the key (case-sensitive) and that the secret is JSON; then force a new deployment",
    ),
    rule(
        "ecs.efs_dns",
        TASK,
        Error,
        r#"(?is)EFS.*?(?:Failed to resolve|could not resolve|Name or service not known)\s*\\?"?(?P<host>fs-[\w.-]*)?"#,
        |c, _| {
            format!(
                "EFS mount target name does not resolve{}",
                opt(" (", g(c, "host"), ")")
            )
        },
        "enable DNS hostnames and DNS resolution on the VPC, and create a mount target in each of the task's AZs",
    ),
    rule(
        "ecs.efs_mount_path",
        TASK,
        Error,
        r"(?is)EFS.*?(?:reason given by server: No such file or directory|access point.*?(?:not found|does not exist)|No such file or directory)",
        |_, t| {
            format!(
                "EFS path to mount does not exist{}",
                opt(" (", efs_path(t), ")")
            )
        },
        "create the directory on the file system or use an access point that creates it",
    ),
    rule(
        "ecs.efs_mount_network",
        TASK,
        Error,
        r"(?is)(?:EFS utils|mount\.nfs4?|EFS volume|failed to mount local volume|VolumeDriver\.Mount|CannotCreateVolumeError).*?(?P<cause>Connection reset by peer|Connection timed out|connection refused|Failed to initialize TLS tunnel|timed out|timeout|port 2049|No route to host|Network is unreachable)",
        |c, t| {
            format!(
                "EFS mount{} failed: NFS port 2049 unreachable ({})",
                opt(" of ", fs_id(t), ""),
                g(c, "cause")
            )
        },
        "allow TCP 2049 from the task's security group to the mount targets' security group, and check a mount target exists in the task's AZ",
    ),
    rule(
        "ecs.image_platform_mismatch",
        TASK,
        Error,
        r"(?i)does not contain descriptor matching platform '?(?P<platform>[\w/]*)|no matching manifest for (?P<platform2>\w+/\w+)",
        |c, _| {
            format!(
                "image has no build for the task's platform{}",
                opt(" ", first(c, &["platform", "platform2"]), "")
            )
        },
        "build with --platform linux/amd64 (or a multi-arch image), or set runtimePlatform to ARM64",
    ),
    rule(
        "ecs.invalid_image_reference",
        TASK,
        Error,
        r#"(?i)failed to normali[sz]e image reference(?: \\?"(?P<image>[^"\\]*))?|invalid reference format"#,
        |c, _| format!("image URI is malformed{}", opt(" (", g(c, "image"), ")")),
        "fix the task definition's image URI; check the build variable that produces it",
    ),
    rule(
        "ecs.image_pull_network",
        TASK,
        Error,
        concat!(
            r"(?is)(?:CannotPull(?:ECR)?Container(?:Auth)?Error|pull image|pulling image|failed to resolve ref).*?",
            net_cause!()
        ),
        |c, t| {
            format!(
                "cannot reach the registry to pull {} ({})",
                image_in(t),
                g(c, "cause")
            )
        },
        "private subnets need a NAT gateway or ECR VPC endpoints (ecr.api, ecr.dkr and the S3 gateway); public subnets need assignPublicIp",
    ),
    rule(
        "ecs.image_pull_forbidden",
        TASK,
        Error,
        r"(?is)(?:CannotPull(?:ECR)?Container(?:Auth)?Error|pull image|failed to resolve ref).*?(?P<cause>403 Forbidden|401 Unauthorized|AccessDenied\w*|no basic auth credentials|is not authorized to perform|unauthorized: authentication required)",
        |c, t| format!("not allowed to pull {} ({})", image_in(t), g(c, "cause")),
        "give the execution role ECR pull rights (AmazonECSTaskExecutionRolePolicy) or fix the repository policy for cross-account pulls",
    ),
    rule(
        "ecs.image_not_found",
        TASK,
        Error,
        r"(?is)(?:CannotPullContainerError|pull image|failed to resolve ref).*?(?:manifest for \S+ not found|manifest unknown|repository \S+ not found|not found|does not exist|pull access denied|Check whether the image exists)",
        |_, t| format!("image {} not found", image_in(t)),
        "check the image URI and tag exist in that account and region (was it pushed? was the tag overwritten?)",
    ),
    rule(
        "ecs.image_pull_failed",
        TASK,
        Error,
        r"(?i)CannotPull(?:ECR)?Container(?:Auth)?Error|toomanyrequests|no space left on device|pull image manifest has been retried|failed to copy: httpReaderSeeker",
        |_, t| format!("image pull failed: {}", short(tail(t), 120)),
        "mirror public images to ECR (rate limits), authenticate, or free disk on EC2 hosts",
    ),
    rule(
        "ecs.oom_at_start",
        TASK,
        Error,
        r"(?i)container init was OOM-killed",
        |_, _| "container was OOM-killed while starting (memory limit too low)".to_string(),
        "raise the container or task memory",
    ),
    rule(
        "ecs.cannot_start_entrypoint",
        TASK,
        Error,
        r"(?is)CannotStartContainerError.*?(?P<cause>executable file not found in \$PATH|no such file or dir\w*|exec format error|permission denied)",
        |c, t| {
            format!(
                "container command cannot start{}: {}",
                opt(" ", exec_target(t), ""),
                g(c, "cause")
            )
        },
        "fix the task definition's command/entryPoint (array form) or the image's PATH",
    ),
    rule(
        "ecs.oom",
        TASK,
        Error,
        r"(?i)Container killed due to memory usage|^\s*OutOfMemoryError",
        |_, _| "container was killed for using more memory than its limit".to_string(),
        "raise memory; set the runtime heap (-Xmx, --max-old-space-size) below the limit",
    ),
    rule(
        "ecs.eni_provisioning_failed",
        TASK,
        Error,
        r"(?i)Timeout waiting for network interface provisioning|Unexpected EC2 error while attempting to (?:Create|attach|tag) (?:the )?network interface|failed to configure ENI|InsufficientFreeAddressesInSubnet",
        |_, _| "task could not get its network interface".to_string(),
        "check free IPs in the task's subnets, the ENI quota and tag policies; retry",
    ),
    rule(
        "ecs.task_failed_elb_hc",
        TASK,
        Error,
        r"(?i)Task failed ELB health checks in \(?(?:target-group |elb )?(?P<tg>[^)\s]+)",
        |c, _| {
            format!(
                "task failed the load balancer health checks of tg {}",
                tg_name(g(c, "tg"))
            )
        },
        "see the target health reason (timeout vs wrong code): check the health check path/port, the ALB→task security group, and healthCheckGracePeriodSeconds",
    ),
    rule(
        "ecs.task_failed_container_hc",
        TASK,
        Error,
        r"(?i)failed container health checks",
        |_, _| "task failed its container health check".to_string(),
        "run the healthCheck command inside the image; lengthen startPeriod",
    ),
    rule(
        "ecs.essential_exited",
        TASK,
        Error,
        r"(?i)Essential container in task exited",
        |_, _| "essential container exited".to_string(),
        "read the container's exit code and its last log lines",
    ),
    rule(
        "ecs.resource_init_other",
        TASK,
        Error,
        r"(?is)\b(?P<err>ResourceInitializationError|CannotStartContainerError|CannotCreateContainerError|CannotInspectContainerError|CannotCreateVolumeError|DockerTimeoutError)\b:?\s*(?P<detail>.*)",
        |c, _| format!("task setup failed: {}", short(g(c, "detail"), 160)),
        "read the full reason: the task failed before the app ran",
    ),
    // ---------------------------------------------------------------- ECS service events
    rule(
        "ecs.svc_steady_state",
        SVC,
        Info,
        r"has reached a steady state",
        |_, t| format!("{}reached a steady state", svc_prefix(t)),
        "nothing to do",
    ),
    rule(
        "ecs.svc_deployment_completed",
        SVC,
        Info,
        r"(?i)deployment completed|ECS deployment \S+ completed",
        |_, t| format!("{}deployment completed", svc_prefix(t)),
        "nothing to do",
    ),
    rule(
        "ecs.rollout_in_progress",
        SVC,
        Info,
        r"(?i)ECS deployment (?P<dep>\S+) in progress",
        |c, _| format!("deployment {} in progress", g(c, "dep")),
        "nothing to do",
    ),
    rule(
        "ecs.svc_deployment_failed_alarm",
        SVC,
        Error,
        r"(?i)deployment failed: alarm detected",
        |_, t| {
            format!(
                "{}deployment failed: a CloudWatch alarm fired",
                svc_prefix(t)
            )
        },
        "read the alarm that fired; the deployment rolls back",
    ),
    rule(
        "ecs.svc_deployment_failed",
        SVC,
        Error,
        r"(?i)deployment failed:?\s*(?P<why>[^.]*)",
        |c, t| format!("{}deployment failed: {}", svc_prefix(t), g(c, "why")),
        "read the stopped reasons of the deployment's tasks",
    ),
    rule(
        "ecs.svc_info_started_tasks",
        SVC,
        Info,
        r"has started (?P<n>\d+) tasks?",
        |c, t| format!("{}started {} task(s)", svc_prefix(t), g(c, "n")),
        "nothing to do",
    ),
    rule(
        "ecs.svc_info_stopped_tasks",
        SVC,
        Info,
        r"has stopped (?P<n>\d+) running tasks?",
        |c, t| format!("{}stopped {} running task(s)", svc_prefix(t), g(c, "n")),
        "if it repeats with starts, look at the stopped reasons (crash loop)",
    ),
    rule(
        "ecs.svc_info_deregistered",
        SVC,
        Info,
        r"deregistered (?P<n>\d+) targets?",
        |c, t| format!("{}deregistered {} target(s)", svc_prefix(t), g(c, "n")),
        "nothing to do",
    ),
    rule(
        "ecs.svc_info_registered",
        SVC,
        Info,
        r"registered (?P<n>\d+) targets?",
        |c, t| format!("{}registered {} target(s)", svc_prefix(t), g(c, "n")),
        "nothing to do",
    ),
    rule(
        "ecs.svc_info_draining",
        SVC,
        Info,
        r"has begun draining connections on (?P<n>\d+) tasks?",
        |c, t| {
            format!(
                "{}draining connections on {} task(s)",
                svc_prefix(t),
                g(c, "n")
            )
        },
        "nothing to do; a long drain is the target group's deregistration delay",
    ),
    rule(
        "ecs.svc_target_unhealthy_codes",
        SVC,
        Error,
        r"(?i)(?:port (?P<port>\d+)\)?\s+)?is unhealthy in \(?(?:target-group )?(?P<tg>[^)\s]+)\)?.*?Health checks failed with these codes: \[(?P<codes>[^\]]*)\]",
        |c, t| {
            format!(
                "{}target{} answers health checks with HTTP {}{}",
                svc_prefix(t),
                opt(" on port ", g(c, "port"), ""),
                g(c, "codes"),
                opt(" (tg ", tg_name(g(c, "tg")), ")")
            )
        },
        "404 → fix the health check path; 30x → the path redirects; 5xx → the app or a dependency fails, read the logs",
    ),
    rule(
        "ecs.svc_target_unhealthy_timeout",
        SVC,
        Error,
        r"(?i)(?:port (?P<port>\d+)\)?\s+)?is unhealthy in \(?(?:target-group )?(?P<tg>[^)\s]+)\)?.*?(?:Request timed out|timed out)",
        |c, t| {
            format!(
                "{}health checks time out{}{}",
                svc_prefix(t),
                opt(" on port ", g(c, "port"), ""),
                opt(" (tg ", tg_name(g(c, "tg")), ")")
            )
        },
        "allow the ALB's security group to the task port; make the app listen on 0.0.0.0 and that port",
    ),
    rule(
        "ecs.svc_target_unhealthy",
        SVC,
        Error,
        r"(?i)(?:port (?P<port>\d+)\)?\s+)?is unhealthy in \(?(?:target-group )?(?P<tg>[^)\s]+)\)?(?:.*?\(reason (?P<reason>[^)]*))?",
        |c, t| {
            format!(
                "{}target{} unhealthy{}{}",
                svc_prefix(t),
                opt(" on port ", g(c, "port"), ""),
                opt(" in tg ", tg_name(g(c, "tg")), ""),
                opt(": ", g(c, "reason"), "")
            )
        },
        "check the app listens on the health check port, the protocol (HTTP vs HTTPS), and the target health reason",
    ),
    rule(
        "ecs.svc_container_hc_failed",
        SVC,
        Error,
        r"(?i)\(?task (?P<task>[^)\s]+)\)? failed container health checks",
        |c, t| {
            format!(
                "{}task {} failed its container health check",
                svc_prefix(t),
                g(c, "task")
            )
        },
        "run the healthCheck command inside the image; lengthen startPeriod",
    ),
    rule(
        "ecs.svc_task_start_impaired",
        SVC,
        Error,
        r"(?i)is unable to consistently start",
        |_, t| {
            format!(
                "{}cannot start tasks consistently; ECS backs off between attempts",
                svc_prefix(t)
            )
        },
        "fix the stopped tasks' reason; a new task definition resets the back-off",
    ),
    rule(
        "ecs.svc_placement_port_in_use",
        SVC,
        Error,
        r"(?i)is already using a port(?: required)?",
        |_, t| {
            format!(
                "{}cannot place a task: the host port is taken",
                svc_prefix(t)
            )
        },
        "use dynamic host ports (hostPort 0) or add container instances",
    ),
    rule(
        "ecs.svc_placement_missing_attribute",
        SVC,
        Error,
        r"(?i)is missing an attribute(?: required)?",
        |_, t| {
            format!(
                "{}cannot place a task: no instance has a required attribute",
                svc_prefix(t)
            )
        },
        "check placement constraints, the instance type/AMI and the subnets' AZs",
    ),
    rule(
        "ecs.svc_placement_resources",
        SVC,
        Error,
        r#"(?i)has insufficient (?P<what>CPU units|CPU|memory|GPU)|encountered error "AGENT""#,
        |c, t| {
            format!(
                "{}cannot place a task: not enough {} on the cluster",
                svc_prefix(t),
                c.name("what").map_or("agent capacity", |m| m.as_str())
            )
        },
        "scale the cluster (or its capacity provider) or lower the task's cpu/memory",
    ),
    rule(
        "ecs.svc_placement_no_instances",
        SVC,
        Error,
        r"(?i)No Container Instances were found(?: in your (?P<where>cluster|capacity provider))?",
        |c, t| {
            format!(
                "{}cannot place a task: no container instances{}",
                svc_prefix(t),
                opt(" in the ", g(c, "where"), "")
            )
        },
        "check the Auto Scaling group's activity (quotas, AMI, instance type availability)",
    ),
    rule(
        "ecs.svc_capacity_unavailable",
        SVC,
        Warn,
        r"(?i)Capacity is unavailable at this time",
        |_, t| format!("{}no Fargate capacity in the AZ right now", svc_prefix(t)),
        "add subnets in more AZs, or fall back to on-demand",
    ),
    rule(
        "ecs.svc_quota_tasks",
        SVC,
        Error,
        r"(?i)reached the limit on the number of (?P<what>tasks|vCPUs)|configuration is above your limit",
        |c, t| {
            format!(
                "{}account quota reached{}",
                svc_prefix(t),
                opt(" (", g(c, "what"), ")")
            )
        },
        "request a Service Quotas increase",
    ),
    rule(
        "ecs.svc_deployment_config_deadlock",
        SVC,
        Error,
        r"(?i)unable to stop or start tasks during a deployment",
        |_, t| {
            format!(
                "{}deployment cannot progress with its minimumHealthyPercent/maximumPercent",
                svc_prefix(t)
            )
        },
        "adjust minimumHealthyPercent or maximumPercent",
    ),
    rule(
        "ecs.svc_throttled",
        SVC,
        Warn,
        r"(?i)operations are being throttled(?: on (?P<on>[\w ]+?))?\. Will try again later",
        |c, t| {
            format!(
                "{}ECS calls are throttled{}",
                svc_prefix(t),
                opt(" on ", g(c, "on"), "")
            )
        },
        "usually many services deploying at once; it recovers by itself",
    ),
    // ---------------------------------------------------------------- ELB target health
    rule(
        "elb.registration_in_progress",
        ELB,
        Info,
        r"Elb\.RegistrationInProgress|Target registration is in progress",
        |_, _| "target registration in progress".to_string(),
        "wait",
    ),
    rule(
        "elb.initial_health_checking",
        ELB,
        Info,
        r"Elb\.InitialHealthChecking|Initial health checks in progress",
        |_, _| "initial health checks in progress".to_string(),
        "wait; if it takes long the app is slow to start: raise healthCheckGracePeriodSeconds",
    ),
    rule(
        "elb.response_code_mismatch",
        ELB,
        Error,
        r"Target\.ResponseCodeMismatch|Health checks failed with these codes: \[(?P<codes>[^\]]*)\]?",
        |c, _| {
            format!(
                "health check got HTTP {}",
                opt("", g(c, "codes"), "").if_empty("an unexpected code")
            )
        },
        "404 → fix HealthCheckPath; 30x → the path redirects (set the path or widen the matcher); 5xx → the app fails, read its logs; 401/403 → auth on the health path",
    ),
    rule(
        "elb.target_timeout",
        ELB,
        Error,
        r"Target\.Timeout|Request timed out|Connection to target timed out",
        |_, _| "health check timed out".to_string(),
        "allow the ALB's security group to the target port; make the app listen on 0.0.0.0 and the right port",
    ),
    rule(
        "elb.internal_error",
        ELB,
        Warn,
        r"Elb\.InternalError|failed due to an internal error",
        |_, _| "health checks failed inside the load balancer".to_string(),
        "retry; check the AWS Health dashboard",
    ),
    rule(
        "elb.failed_health_checks",
        ELB,
        Error,
        r"Target\.FailedHealthChecks|Health checks failed",
        |_, _| "health checks fail (connection refused or bad response)".to_string(),
        "the app crashed or is not listening on the health check port; check HTTP vs HTTPS",
    ),
    rule(
        "elb.not_registered",
        ELB,
        Info,
        r"Target\.NotRegistered|Target is not registered",
        |_, _| "target is not registered (normal for old tasks)".to_string(),
        "ignore for stopped tasks; otherwise check the service's load balancer config",
    ),
    rule(
        "elb.not_in_use",
        ELB,
        Error,
        r"Target\.NotInUse|not configured to receive traffic|Availability Zone that is not enabled",
        |_, _| "target group gets no traffic (no listener rule, or AZ not enabled)".to_string(),
        "attach the target group to a listener rule, or enable the task's AZ on the load balancer",
    ),
    rule(
        "elb.deregistration_in_progress",
        ELB,
        Info,
        r"Target\.DeregistrationInProgress|Target deregistration is in progress",
        |_, _| "target draining".to_string(),
        "nothing to do; lower deregistration_delay to speed deploys",
    ),
    rule(
        "elb.invalid_state",
        ELB,
        Warn,
        r"Target\.InvalidState|Target is in the (?:stopped|terminated)|Target is in an invalid state",
        |_, _| "target is stopped or terminated".to_string(),
        "nothing to do unless the instance should be running",
    ),
    rule(
        "elb.ip_unusable",
        ELB,
        Error,
        r"Target\.IpUnusable|cannot be used as a target",
        |_, _| "target IP belongs to a load balancer".to_string(),
        "register the right target IPs",
    ),
    rule(
        "elb.health_check_disabled",
        ELB,
        Info,
        r"Target\.HealthCheckDisabled|Health checks are (?:disabled|not enabled)",
        |_, _| "health checks are disabled".to_string(),
        "nothing to do",
    ),
    // ---------------------------------------------------------------- application logs
    rule(
        "log.node_module_not_found",
        LOG,
        Error,
        r"Cannot find (?P<kind>package|module) '(?P<module>[^']+)'(?: imported from (?P<from>\S+))?|ERR_MODULE_NOT_FOUND|MODULE_NOT_FOUND",
        |_, t| match NODE_MODULE.captures(t) {
            Some(c) => format!(
                "Node cannot find {} '{}'{}",
                g(&c, "kind"),
                g(&c, "module"),
                opt(" imported from ", g(&c, "from"), "")
            ),
            None => "Node cannot find a module".to_string(),
        },
        "install dependencies in the image (npm ci --omit=dev) and check the Dockerfile copies node_modules / the build output",
    ),
    rule(
        "log.process_killed",
        LOG,
        Error,
        concat!(
            r"(?m)^\s*",
            line_prefix!(),
            r"Killed\s*$|killed by signal 9|signal 9 \(SIGKILL\)|WorkerLostError",
        ),
        |_, _| "a process was killed (SIGKILL), usually for memory".to_string(),
        "check the task's memory and the container's stop reason (OutOfMemoryError, exit 137); raise memory or lower concurrency",
    ),
    rule(
        "log.oom_runtime",
        LOG,
        Error,
        r"JavaScript heap out of memory|Reached heap limit|java\.lang\.OutOfMemoryError|OutOfMemoryError: (?:Java heap space|Metaspace|GC overhead)|(?m)^\s*MemoryError\b",
        |_, t| {
            format!(
                "runtime ran out of heap: {}",
                short(
                    first_line_with(t, &["heap", "OutOfMemory", "MemoryError"]),
                    120
                )
            )
        },
        "raise --max-old-space-size / -Xmx and the task memory together",
    ),
    rule(
        "log.addr_in_use",
        LOG,
        Error,
        r"(?i)EADDRINUSE|address already in use|\[Errno (?:98|48)\]|\bport \d+ (?:is|was) (?:already )?in use|is in use by another program|Only one usage of each socket address",
        |_, t| {
            format!(
                "port already in use: {}",
                short(first_line_with(t, &["EADDRINUSE", "in use", "ddress", "socket"]), 120)
            )
        },
        "two processes or containers bind the same port (awsvpc containers share one network interface)",
    ),
    rule(
        "log.db_auth_failed",
        LOG,
        Error,
        r#"(?i)password authentication failed for user "?(?P<user>[^"\s]+)|Access denied for user '(?P<user2>[^']+)'|Login failed for user '?(?P<user3>[^'.\s]+)|SCRAM authentication failed"#,
        |c, _| {
            format!(
                "database rejected the credentials{}",
                opt(" of user ", first(c, &["user", "user2", "user3"]), "")
            )
        },
        "check the DB user/password secret the task receives and that it matches the database",
    ),
    rule(
        "log.dns_not_found",
        LOG,
        Error,
        r"(?i)getaddrinfo (?:ENOTFOUND|EAI_AGAIN) (?P<host>\S+)|Name or service not known|nodename nor servname provided|no such host|Temporary failure in name resolution|UnknownHostException:? (?P<host2>\S+)?",
        |c, _| {
            format!(
                "host name does not resolve{}",
                opt(": ", first(c, &["host", "host2"]), "")
            )
        },
        "check the host name in the task's environment and the VPC's DNS (private hosted zones, DNS resolution)",
    ),
    rule(
        "log.tls_self_signed",
        LOG,
        Error,
        r"(?i)self[- ]signed certificate|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT",
        |_, _| "TLS: self-signed certificate in the chain".to_string(),
        "bundle the CA (e.g. the RDS global-bundle.pem) or set NODE_EXTRA_CA_CERTS; don't disable verification in prod",
    ),
    rule(
        "log.tls_untrusted_java",
        LOG,
        Error,
        r"PKIX path building failed|unable to find valid certification path",
        |_, _| "Java TLS: certificate chain not trusted (PKIX)".to_string(),
        "import the CA into the JVM trust store (or the RDS CA bundle)",
    ),
    rule(
        "log.tls_untrusted",
        LOG,
        Error,
        r"(?i)unable to get local issuer certificate|UNABLE_TO_GET_ISSUER_CERT_LOCALLY|unable to verify the first certificate|UNABLE_TO_VERIFY_LEAF_SIGNATURE|certificate has expired|CERT_HAS_EXPIRED|certificate signed by unknown authority|CERTIFICATE_VERIFY_FAILED",
        |_, _| {
            "TLS verification failed: CA bundle missing, proxy or expired certificate".to_string()
        },
        "install ca-certificates in the image, set NODE_EXTRA_CA_CERTS or the RDS CA bundle",
    ),
    rule(
        "log.econnrefused",
        LOG,
        Error,
        r"ECONNREFUSED(?: (?P<addr>[\w.:\[\]-]+))?|connect ECONNREFUSED (?P<addr2>\S+)|(?i:connection refused)|Can't reach database server at `(?P<addr3>[^`]*`:`[^`]*)`",
        |c, _| {
            format!(
                "connection refused{}",
                opt(" by ", &first(c, &["addr2", "addr", "addr3"]).replace("`:`", ":"), "")
            )
        },
        "check the dependency's host/port in the task's environment (127.0.0.1 is the task itself) and the security groups",
    ),
    rule(
        "log.exec_format_error",
        LOG,
        Error,
        r"exec format error",
        |_, t| {
            format!(
                "binary built for another CPU architecture{}",
                opt(" (", exec_path(t), ")")
            )
        },
        "build with --platform linux/amd64, or set the task's runtimePlatform cpuArchitecture to ARM64",
    ),
    rule(
        "log.bash_unbound_variable",
        LOG,
        Error,
        r": line (?P<line>\d+): (?P<var>[A-Za-z_][A-Za-z0-9_]*|\$\d+): unbound variable",
        |c, _| {
            format!(
                "required variable {} is not set (shell line {})",
                g(c, "var"),
                g(c, "line")
            )
        },
        "add the variable to the task definition's environment or secrets (or default it with ${VAR:-…})",
    ),
    rule(
        "log.missing_env_var",
        LOG,
        Error,
        // A program (or a script's `${X:?}`) saying a required setting is absent, in the
        // wordings of the common frameworks (catalogue §9.1). After the shell's own
        // `unbound variable`; before the generic traceback, Java and panic rules.
        concat!(
            r#"(?i:environment\s+variables?\s+(?:with\s+name\s+)?["'`]?(?P<v1>[\w.-]+)["'`]?\s+(?:is\s+|was\s+)?(?:missing|not\s+(?:set|found|defined|provided)|required|empty|must\s+be\s+set))"#,
            r#"|["'`]?\b(?P<v11>[A-Za-z][\w.-]*)["'`]?\s+(?i:env(?:ironment)?\s+var(?:iable)?\s+(?:is\s+|was\s+)?(?:missing|not\s+(?:set|found|defined|provided)|required|empty|must\s+be\s+set))"#,
            r#"|(?i:environment\s+variables?\s+not\s+found|could\s+not\s+fetch\s+environment\s+variable\s+["'`]?(?P<v12>[\w.-]+))"#,
            r"|(?i:\bmissing\s+(?:required\s+)?(?:environment\s+variables?|env(?:ironment)?\s+vars?)\b)",
            r"|(?i:\bmissing\s+(?:required\s+)?config(?:uration)?(?:\s*[:=\[(]|\s+(?:keys?|values?|variables?|settings?|options?|parameters?)\b))",
            r"|(?i:\binvalid\s+environment\s+variables|environment\s+variables\s+(?:has|have)\s+failed|are\s+not\s+present\s+in\s+the\s+environment)",
            r"|\bMissingEnvVarsError\b|\bUndefinedValueError\b|System\.EnvError",
            r"|\bSet\s+the\s+(?P<v2>[A-Za-z_]\w*)\s+environment\s+variable",
            r"|\bThe\s+(?P<v3>[A-Z][A-Z0-9_]*)\s+setting\s+must\s+not\s+be\s+empty",
            r#"|\$?\b(?P<v4>[A-Z][A-Z0-9]*_[A-Z0-9_]*[A-Z0-9])\b["'`]?:?\s+(?:is\s+not\s+set|is\s+not\s+defined|is\s+required|is\s+missing|is\s+empty|must\s+be\s+set|not\s+set\b|not\s+found\.\s+Declare|missing\b)"#,
            r"|\bMissing\s+\$?(?P<v5>[A-Z][A-Z0-9]*_[A-Z0-9_]*[A-Z0-9])\b",
            r"|\b(?P<v6>\w+):\s+parameter\s+(?:null\s+or\s+)?not\s+set",
            r"|\b\d+\s+validation\s+errors?\s+for\s+\w*Settings\b",
            r#"|Could\s+not\s+resolve\s+placeholder\s+['"]?\$?\{?(?P<v7>[\w.-]+)"#,
            r"|Missing\s+[`'](?:secret_token[`']\s+and\s+[`'])?secret_key_base[`']\s+for\s+'\w+'\s+environment",
            r"|No\s+application\s+encryption\s+key\s+has\s+been\s+specified",
            r"|required\s+key\s+(?P<v8>\S+)\s+missing\s+value",
            r"|(?i:database\s+is\s+uninitialized\s+and\s+(?:superuser\s+)?password\s+(?:option\s+)?is\s+not\s+specified)",
            r"|(?i:setting\s+for\s+'(?P<v9>[^']+)'\s+is\s+missing)",
            r"|\bNotPresent\b",
            r#"|(?i:\bplease\s+(?:define|set|provide|add)\s+(?:the\s+)?["'`]?(?P<v13>[\w.-]+)["'`]?\s+env(?:ironment)?\s+var(?:iable)?)"#,
            r"|\$(?P<v14>[A-Z][A-Z0-9_]*)\b:?\s+(?:is\s+not\s+set|is\s+not\s+defined|is\s+required|is\s+missing|is\s+empty|must\s+be\s+set|not\s+set\b)",
            r#"|\bkey\s+not\s+found:\s+"(?P<v15>[A-Z][A-Z0-9]*_[A-Z0-9_]*[A-Z0-9])""#,
            r"|'url'\s+attribute\s+is\s+not\s+specified\s+and\s+no\s+embedded\s+datasource",
            // A traceback through `os.environ[...]` ending in `KeyError: 'NAME'`.
            r#"|(?s:(?:\benviron\[|os\.py"?,\s+line\s+\d+,\s+in\s+__getitem__|environ/environ\.py).*\bKeyError:\s+['"](?P<v10>[^'"]+))"#,
        ),
        |c, t| match env_var_name(c, t) {
            _ if t.contains("application encryption key") => {
                "APP_KEY is not set (Laravel has no application encryption key)".to_string()
            }
            _ if t.contains("secret_key_base") => {
                "SECRET_KEY_BASE is not set (Rails has no secret_key_base)".to_string()
            }
            Some(name) => format!("required setting {name} is missing"),
            None if t.contains("validation error") => format!(
                "settings failed their startup validation: {}",
                short(first_line_with(t, &["validation error"]).rsplit("| ").next().unwrap_or(""), 100)
            ),
            None => format!(
                "a required environment variable or setting is missing: {}",
                short(first_line_with(t, &["nvironment", "ettings", "issing", "placeholder", "NotPresent", "not set", "not specified", "KeyError", "Invalid"]), 120)
            ),
        },
        "compare the name with the container's environment, secrets and environmentFiles in the task definition the deployment uses; add it and force a new deployment (running tasks never see new values). Names read at build time (next build, Vite) must be passed as build args",
    )
    .unless(concat!(
        quiet_level!(),
        // ... and for a missing setting, a warning: the app goes on without it.
        r#"|(?i)^[^\n]{0,48}?\bwarn(?:ing)?\b|"level"\s*:\s*"warn(?:ing)?""#,
        r"|(?i)\b(?:checking|check|looking|scanning)\s+(?:for\s+)?missing\b|\b(?:no|0)\s+missing\b|\b(?:using\s+(?:the\s+|a\s+)?defaults?|defaulting\s+to|defaults?\s+to|falling\s+back|fall\s+back|will\s+be\s+generated)\b|\b(?:not\s+set|missing|not\s+(?:found|defined|provided))\b[^\n]{0,12}?[,;(-]\s*(?:using|defaulting|falling|skipping|ignoring|disabling|continuing)\b",
    )),
    rule(
        "log.aws_access_denied",
        LOG,
        Error,
        // The app's own AWS call (SDK or CLI): any SDK's error code or the IAM sentence.
        concat!(
            r#"(?i:\bAccessDeniedException\b|\bAccessDenied(?:\)|:|\]|</Code>|")|(?:Error\s+Code|Code|api\s+error):\s*AccessDenied\b|\bUnauthorizedOperation\b)|"#,
        r"(?i:is\s+not\s+authorized\s+to\s+perform:?\s+(?P<action>[a-z0-9-]+:\w+))|An\s+error\s+occurred\s+\(403\)\s+when\s+calling\s+the\s+\w+\s+operation:\s*Forbidden|Access\s+Denied\s+\(Service:\s*[^;,)]+[;,]\s*Status\s+Code:\s*403",
        ),
        |_, t| match (AWS_ACTION.captures(t), AWS_CALL.captures(t)) {
            (Some(a), _) => format!("the app's AWS call was refused: {}", short(g(&a, "action"), 80)),
            (None, Some(call)) => format!(
                "the app's AWS call {} was refused ({})",
                g(&call, "op"),
                g(&call, "code")
            ),
            (None, None) => format!(
                "the app's AWS call was refused: {}",
                short(first_line_with(t, &["ccessDenied", "Unauthorized", "Forbidden"]), 120)
            ),
        },
        "grant the action to the task role (taskRoleArn, not the execution role; on EC2 the instance profile) or fix the bucket/KMS policy; if the principal is not the task role, static keys in the environment win over it",
    )
    // Progress lines, and application-level and filesystem denials with the same class name.
    .unless(concat!(
        quiet_level!(),
        r"|(?i)security[.\\](?:\w+[.\\])*AccessDeniedException|java\.nio\.file\.AccessDeniedException",
    )),
    rule(
        "log.build_output_missing",
        LOG,
        Error,
        concat!(
            r"Could\s+not\s+find\s+a\s+production\s+build(?:\s+in\s+the\s+'(?P<dir>[^']+)')?",
            r"|Could\s+not\s+find\s+the\s+build\s+directory:?\s+(?P<dir2>[^\s,]+)",
            r"|\bhas\s+not\s+been\s+built\s+yet",
            r"|\bVite\s+manifest\s+not\s+found\s+at:?\s+(?P<dir3>\S+)",
            r"|Missing\s+staticfiles\s+manifest\s+entry\s+for\s+'(?P<dir4>[^']+)'",
            r"|(?i:Webpacker\s+can't\s+find\s+\S+\s+in\s+(?P<dir5>\S+))",
            r#"|\bis\s+not\s+present\s+in\s+the\s+asset\s+pipeline|Unable\s+to\s+locate\s+Mix\s+file|Could\s+not\s+find\s+static\s+manifest\s+at\s+"?(?P<dir7>[^"\s]+)"#,
            r"|(?i:does\s+not\s+exist\.?\s+did\s+you\s+(?:forget\s+to\s+)?(?:build|run\s+(?:the\s+)?build)\b)",
            r"|(?:ENOENT:\s+no\s+such\s+file\s+or\s+directory,\s+(?:stat|open|scandir|lstat)|No\s+such\s+file\s+or\s+directory:)\s+'(?P<dir6>[^']*/(?:dist|build|\.next|\.output|out)(?:/[^']*)?/(?:index\.html|BUILD_ID|[\w.-]*manifest[\w.-]*\.json)|[^']*/(?:dist|build|\.next|\.output|out)/?)'",
        ),
        |c, _| {
            let what = first(c, &["dir", "dir2", "dir3", "dir4", "dir5", "dir6", "dir7"]);
            format!(
                "the build output is not in the image{}",
                opt(" (", what.trim_end_matches(['.', ',']), ")")
            )
        },
        "run the build in the image (next build, vite build, collectstatic) and copy its output to the path the server reads; check .dockerignore and the final stage's COPY --from",
    )
    .unless(quiet_level!()),
    rule(
        "log.command_not_found",
        LOG,
        Error,
        r#"(?m)(?:^|: )(?P<cmd>[^\s:]*[A-Za-z_][^\s:]*): (?:[Cc]ommand )?not found\s*$|exec (?P<cmd2>\S+): no such file or directory|\bmake(?:\[\d+\])?: (?P<cmd3>[^\s:*]+): No such file or directory|executable file not found in \$PATH|exec user process caused:? "?no such file or directory"#,
        |c, _| {
            format!(
                "command not found{}",
                opt(": ", first(c, &["cmd", "cmd2", "cmd3"]), "")
            )
        },
        "check the image's PATH and the Dockerfile stage that installs it; for a file that exists, check CRLF line endings",
    ),
    rule(
        "log.permission_denied",
        LOG,
        Error,
        r"EACCES|Permission denied|Read-only file system|EROFS|java\.nio\.file\.AccessDeniedException",
        |_, t| {
            format!(
                "permission denied: {}",
                short(
                    first_line_with(t, &["EACCES", "ermission denied", "Read-only", "EROFS"]),
                    120
                )
            )
        },
        "check readonlyRootFilesystem, the image's USER and the volume's ownership",
    ),
    rule(
        "log.go_panic",
        LOG,
        Error,
        concat!(
            r"(?m)^\s*",
            line_prefix!(),
            r"(?:panic: (?P<msg>.+)|\[signal SIG(?:SEGV|BUS)|goroutine \d+ \[running\]:|fatal error: (?P<fatal>.+))",
        ),
        |c, t| {
            format!(
                "Go panic: {}",
                short(&first(c, &["msg", "fatal"]).if_empty(t), 140)
            )
        },
        "read the panic line and the first stack frame",
    ),
    rule(
        "log.rust_panic",
        LOG,
        Error,
        r"thread '(?P<thread>[^']+)'(?: \(\d+\))? panicked at (?P<at>.*)",
        |c, _| {
            format!(
                "Rust panic in thread '{}' at {}",
                g(c, "thread"),
                short(g(c, "at"), 140)
            )
        },
        "read the panic message (often unwrap() on bad config); set RUST_BACKTRACE=1",
    ),
    rule(
        "log.java_exception",
        LOG,
        Error,
        r#"Exception in thread "(?P<thread>[^"]+)" (?P<ex>[\w.$]+)|(?m)^\s*Caused by: (?P<cause>[\w.$]+)|APPLICATION FAILED TO START|Application run failed|(?m)^\s*(?P<fqn>(?:java|javax|jakarta|org|com|io|net)\.[\w.$]+(?:Exception|Error))\b"#,
        |c, _| match first(c, &["cause", "ex", "fqn"]) {
            "" => "Java application failed to start".to_string(),
            ex => format!("Java exception {ex}"),
        },
        "the root cause is the last `Caused by:` line",
    ),
    rule(
        "log.python_traceback",
        LOG,
        Error,
        concat!(
            r"(?m)^",
            line_prefix!(),
            r"(?:Traceback \(most recent call last\):|(?P<err>\w+(?:\.\w+)*(?:Error|Exception)): (?P<msg>.*))",
        ),
        // The exception is the traceback's last `Name: message` line.
        |_, t| match EXCEPTION_LINE.captures_iter(t).last() {
            Some(c) => format!("uncaught {}: {}", g(&c, "err"), short(g(&c, "msg"), 140)),
            None => "uncaught Python exception (traceback)".to_string(),
        },
        "read the traceback's last line",
    ),
    // ---------------------------------------------------------------- API / CLI errors
    rule(
        "api.throttling",
        NOT_LOG,
        Warn,
        r"\(Throttling\)|(?m)^Throttling\b|Throttl(?:ing|ed)Exception|TooManyRequestsException|RequestLimitExceeded|Rate exceeded",
        |_, _| "AWS API throttled the calls (Rate exceeded)".to_string(),
        "back off; look for parallel CI jobs polling the same account",
    ),
    rule(
        "api.waiter_failed",
        NOT_LOG,
        Error,
        r#"Waiter (?P<w>\w+) failed: Waiter encountered a terminal failure state|"state"\s*:\s*"FAILURE""#,
        |c, _| format!("waiter {} hit a failure state", g(c, "w")),
        "read the stack's root cause or the task's stopped reason",
    ),
    rule(
        "api.waiter_timeout",
        NOT_LOG,
        Warn,
        r#"Waiter (?P<w>\w+) failed: Max attempts exceeded|Resource is not in the state (?P<state>\w+)|Max attempts exceeded|"state"\s*:\s*"TIMEOUT"|Waiter has timed out"#,
        |c, _| {
            format!(
                "client waiter gave up{}",
                opt(" waiting for ", first(c, &["state", "w"]), "")
            )
        },
        "a client-side timeout, not an AWS failure: check the resource itself",
    ),
    rule(
        "api.invalid_target",
        NOT_LOG,
        Info,
        r"InvalidTarget|The specified target does not exist",
        |_, _| "target is gone".to_string(),
        "nothing to do for stopped tasks",
    ),
    rule(
        "api.expired_token",
        NOT_LOG,
        Fatal,
        r"ExpiredToken|security token included in the request is expired|The provided token has expired|RequestExpired|(?i:SSO session associated with this profile has expired)|Token has expired and refresh failed",
        |_, _| "AWS credentials expired".to_string(),
        "refresh the credentials (aws sso login, or a new session) and restart",
    ),
    rule(
        "api.invalid_credentials",
        NOT_LOG,
        Fatal,
        r"The security token included in the request is invalid|InvalidClientTokenId|UnrecognizedClientException|The AWS Access Key Id you provided does not exist|SignatureDoesNotMatch",
        |_, _| "AWS credentials are invalid".to_string(),
        "check the profile (aws sts get-caller-identity --profile X); replace the keys",
    ),
    rule(
        "api.access_denied",
        NOT_LOG,
        Error,
        r"AccessDenied|Access Denied|is not authorized to perform|UnauthorizedOperation",
        |_, t| format!("access denied: {}", short(t, 120)),
        "grant the missing permission to the credentials stackwatch or your tool uses",
    ),
];

/// Longest text classified: enough for a multi-line stack trace, bounded for huge lines.
pub(super) const MAX_TEXT: usize = 32 * 1024;

struct SourceRules {
    /// ASCII-mode byte set: several times cheaper to build than a Unicode one, and rule ids
    /// are ASCII words. The matched rule is confirmed by its own (Unicode) regex.
    set: regex::bytes::RegexSet,
    /// Index into `RULES` of each pattern of `set`.
    rules: Vec<usize>,
}

/// Each rule's own regex, compiled the first time the rule matches (for captures).
static REGEXES: LazyLock<Vec<OnceLock<Regex>>> =
    LazyLock::new(|| RULES.iter().map(|_| OnceLock::new()).collect());

fn regex(index: usize) -> &'static Regex {
    REGEXES[index].get_or_init(|| {
        let rule = &RULES[index];
        RegexBuilder::new(rule.pattern)
            .size_limit(1 << 24)
            .build()
            .unwrap_or_else(|e| panic!("rule {}: {e}", rule.id))
    })
}

/// Each rule's veto (`unless`), compiled the first time the rule matches; `None` when it has none.
static VETOES: LazyLock<Vec<OnceLock<Option<Regex>>>> =
    LazyLock::new(|| RULES.iter().map(|_| OnceLock::new()).collect());

/// Whether rule `index` matches `text` and its veto does not.
fn applies(index: usize, text: &str) -> bool {
    if !regex(index).is_match(text) {
        return false;
    }
    let veto = VETOES[index].get_or_init(|| {
        let rule = &RULES[index];
        (!rule.unless.is_empty()).then(|| {
            Regex::new(rule.unless).unwrap_or_else(|e| panic!("rule {} unless: {e}", rule.id))
        })
    });
    veto.as_ref().is_none_or(|v| !v.is_match(text))
}

/// Sets are built per source on first use, so a session pays only for the sources it sees.
static BY_SOURCE: [LazyLock<SourceRules>; 6] = [
    LazyLock::new(|| source_rules(CFN)),
    LazyLock::new(|| source_rules(TASK)),
    LazyLock::new(|| source_rules(SVC)),
    LazyLock::new(|| source_rules(ELB)),
    LazyLock::new(|| source_rules(LOG)),
    LazyLock::new(|| source_rules(API)),
];

fn source_rules(bit: u8) -> SourceRules {
    let mut rules: Vec<usize> = (0..RULES.len())
        .filter(|&i| RULES[i].sources & bit != 0)
        .collect();
    if bit == API {
        // A pasted CLI error may carry a CloudFormation or ECS message: after the API rules,
        // try those too.
        rules.extend((0..RULES.len()).filter(|&i| RULES[i].sources & (API | LOG) == 0));
    }
    let set = regex::bytes::RegexSetBuilder::new(rules.iter().map(|&i| RULES[i].pattern))
        .unicode(false)
        .size_limit(1 << 26)
        .build()
        .expect("rule patterns compile");
    SourceRules { set, rules }
}

/// The patterns of the rules that read `source`'s messages, in table order.
pub(super) fn patterns_of(source: Source) -> impl Iterator<Item = &'static str> {
    let rules = source_slot(source).map_or(&[][..], |slot| &BY_SOURCE[slot].rules[..]);
    rules.iter().map(|&i| RULES[i].pattern)
}

fn source_slot(source: Source) -> Option<usize> {
    match source {
        Source::Cfn => Some(0),
        Source::EcsTask => Some(1),
        Source::EcsService => Some(2),
        Source::Elb => Some(3),
        Source::Log => Some(4),
        Source::Api => Some(5),
        Source::Stackwatch => None,
    }
}

/// Classifies one message of `source`. `None` when no rule matches (later `unknown`).
///
/// ```
/// use stackwatch::detect::classify;
/// use stackwatch::model::{Severity, Source};
///
/// let c = classify(
///     Source::EcsTask,
///     "CannotPullContainerError: pull image manifest has been retried 5 time(s): \
///      failed to resolve ref 123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:v2: not found",
/// )
/// .unwrap();
/// assert_eq!(c.rule, "ecs.image_not_found");
/// assert_eq!(c.severity, Severity::Error);
/// assert!(classify(Source::Log, "GET /health 200 3ms").is_none());
/// ```
pub fn classify(source: Source, text: &str) -> Option<Classification> {
    classify_ranked(source, text).map(|(_, c)| c)
}

/// Like [`classify`], with the rule's position in the table (lower = more specific).
pub(crate) fn classify_ranked(source: Source, text: &str) -> Option<(usize, Classification)> {
    let (index, candidate) = find(source, text)?;
    let rule = &RULES[index];
    let caps = regex(index).captures(candidate)?;
    Some((
        index,
        Classification {
            rule: rule.id,
            severity: rule.severity,
            summary: (rule.summary)(&caps, candidate),
            next_step: rule.next_step.to_string(),
        },
    ))
}

/// The id of the first matching rule, without building a summary.
pub fn rule_of(source: Source, text: &str) -> Option<&'static str> {
    find(source, text).map(|(i, _)| RULES[i].id)
}

/// The first matching rule itself.
pub(crate) fn match_rule(source: Source, text: &str) -> Option<&'static TextRule> {
    find(source, text).map(|(i, _)| &RULES[i])
}

/// Every text rule id, in table order.
pub fn rule_ids() -> impl Iterator<Item = &'static str> {
    RULES.iter().map(|r| r.id)
}

/// A text rule as the rules document (and `explain`) shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct TextRuleInfo {
    pub id: &'static str,
    /// The sources whose messages it applies to.
    pub sources: Vec<Source>,
    pub severity: Severity,
    pub next_step: &'static str,
}

/// Every text rule, in table order (most specific first within a source).
pub fn text_rules() -> impl Iterator<Item = TextRuleInfo> {
    RULES.iter().map(|r| TextRuleInfo {
        id: r.id,
        sources: SOURCE_BITS
            .iter()
            .filter(|(bit, _)| r.sources & bit != 0)
            .map(|&(_, source)| source)
            .collect(),
        severity: r.severity,
        next_step: r.next_step,
    })
}

const SOURCE_BITS: [(u8, Source); 6] = [
    (CFN, Source::Cfn),
    (TASK, Source::EcsTask),
    (SVC, Source::EcsService),
    (ELB, Source::Elb),
    (LOG, Source::Log),
    (API, Source::Api),
];

/// The rule that matches first and the text it matched (the unwrapped message, or the whole).
/// Allocation-free when nothing matches.
fn find(source: Source, text: &str) -> Option<(usize, &str)> {
    let compiled = &*BY_SOURCE[source_slot(source)?];
    let text = bounded(text);
    // Log lines are the app's own words: no tool wrappers to peel (and it keeps the common
    // no-match path to one set scan).
    let inner = if source == Source::Log {
        None
    } else {
        unwrap(text)
    };
    let innermost = inner.and_then(unwrap);
    for candidate in [innermost, inner, Some(text)].into_iter().flatten() {
        if !compiled.set.is_match(candidate.as_bytes()) {
            continue;
        }
        let matched = compiled.set.matches(candidate.as_bytes());
        // Table order; the ASCII set and the Unicode regex can disagree on non-ASCII text.
        if let Some(index) = matched
            .iter()
            .map(|k| compiled.rules[k])
            .find(|&i| applies(i, candidate))
        {
            return Some((index, candidate));
        }
    }
    None
}

/// The message inside a tool's wrapper, if there is one.
fn unwrap(text: &str) -> Option<&str> {
    if !WRAPPER.is_match(text) {
        return None;
    }
    const HANDLER: &str = "Resource handler returned message:";
    const CLI: &str = "An error occurred (";
    const SERVERLESS: &str = "An error occurred: ";
    let inner = if let Some(pos) = text.find(HANDLER) {
        let rest = text[pos + HANDLER.len()..].trim_start();
        let rest = rest.strip_prefix('"').unwrap_or(rest);
        let end = rest.rfind("(RequestToken").unwrap_or(rest.len());
        rest[..end].trim_end().trim_end_matches('"').trim_end()
    } else if let Some(pos) = text.find(CLI) {
        let rest = &text[pos + CLI.len()..];
        let op = rest.find(" operation")?;
        let rest = &rest[op..];
        let colon = rest.find(": ")?;
        &rest[colon + 2..]
    } else if let Some(pos) = text.find(SERVERLESS) {
        // Serverless Framework: `An error occurred: LogicalId - message`.
        let rest = &text[pos + SERVERLESS.len()..];
        match rest.find(" - ") {
            Some(dash) => &rest[dash + 3..],
            None => rest,
        }
    } else {
        return None;
    };
    let inner = inner.trim();
    (!inner.is_empty() && inner.len() < text.len()).then_some(inner)
}

fn bounded(text: &str) -> &str {
    crate::model::byte_prefix(text, MAX_TEXT)
}

// ---------------------------------------------------------------- summary helpers

/// A capture group by name or index, or "".
fn g<'h>(c: &Captures<'h>, name: impl CapName) -> &'h str {
    name.get(c).map_or("", |m| m.as_str())
}

trait CapName {
    fn get<'h>(self, c: &Captures<'h>) -> Option<regex::Match<'h>>;
}
impl CapName for &str {
    fn get<'h>(self, c: &Captures<'h>) -> Option<regex::Match<'h>> {
        c.name(self)
    }
}
impl CapName for usize {
    fn get<'h>(self, c: &Captures<'h>) -> Option<regex::Match<'h>> {
        c.get(self)
    }
}

/// The first named group that matched.
fn first<'h>(c: &Captures<'h>, names: &[&str]) -> &'h str {
    names
        .iter()
        .find_map(|n| c.name(n))
        .map_or("", |m| m.as_str())
}

/// `pre + value + post`, or "" when value is empty.
fn opt(pre: &str, value: &str, post: &str) -> String {
    if value.is_empty() {
        String::new()
    } else {
        format!("{pre}{value}{post}")
    }
}

trait IfEmpty {
    fn if_empty(self, other: &str) -> String;
}
impl IfEmpty for String {
    fn if_empty(self, other: &str) -> String {
        if self.is_empty() {
            other.to_string()
        } else {
            self
        }
    }
}
impl IfEmpty for &str {
    fn if_empty(self, other: &str) -> String {
        if self.is_empty() { other } else { self }.to_string()
    }
}

/// One line, at most `max` characters.
pub(crate) fn short(s: &str, max: usize) -> String {
    let line = s
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let mut out: String = line.chars().take(max).collect();
    if line.chars().nth(max).is_some() {
        out.push('…');
    }
    out
}

/// The text after the last `: `, where error chains put the innermost cause.
fn tail(s: &str) -> &str {
    let s = s.trim().trim_end_matches('.');
    s.rsplit(": ").find(|p| !p.trim().is_empty()).unwrap_or(s)
}

fn first_line_with<'a>(text: &'a str, words: &[&str]) -> &'a str {
    text.lines()
        .find(|l| words.iter().any(|w| l.contains(w)))
        .unwrap_or(text)
}

/// `tg-name` from a target group ARN (`…:targetgroup/NAME/ID`), else the text itself.
pub(crate) fn tg_name(s: &str) -> &str {
    match s.find("targetgroup/") {
        Some(pos) => s[pos + "targetgroup/".len()..]
            .split('/')
            .next()
            .unwrap_or(s),
        None => s.trim_end_matches([')', '.']),
    }
}

/// The stack name from a stack ARN (`…:stack/NAME/ID`).
fn arn_stack_name(arn: &str) -> &str {
    match arn.find(":stack/") {
        Some(pos) => arn[pos + ":stack/".len()..]
            .split('/')
            .next()
            .unwrap_or(arn),
        None => arn,
    }
}

static SVC_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\(?service (?P<s>[^)\s]+)\)?").expect("valid"));

/// `service NAME ` when the event names it (`(service X)` or `service X`).
fn svc_prefix(text: &str) -> String {
    match SVC_NAME.captures(text).and_then(|c| c.name("s")) {
        Some(s) if s.as_str() != "..." => format!("service {} ", s.as_str()),
        _ => String::new(),
    }
}

fn secret_backend(text: &str) -> &'static str {
    if text.contains("from asm")
        || text.contains("secretsmanager")
        || text.contains("secrets manager")
    {
        "Secrets Manager"
    } else if text.contains("from ssm") || text.contains(":ssm:") || text.contains("parameter") {
        "SSM Parameter Store"
    } else if text.contains("ecr registry auth") {
        "ECR"
    } else {
        "Secrets Manager"
    }
}

static EXCEPTION_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?m)^",
        line_prefix!(),
        r"(?P<err>\w+(?:\.\w+)*(?:Error|Exception)): (?P<msg>.*)"
    ))
    .expect("valid")
});

/// A quick check before the wrappers are looked for one by one.
static WRAPPER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"Resource handler returned message:|An error occurred").expect("valid")
});

static NODE_MODULE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"Cannot find (?P<kind>package|module) '(?P<module>[^']+)'(?: imported from (?P<from>\S+))?")
        .expect("valid")
});

static IMAGE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?:manifest for|repository|failed to resolve ref) \\?"?(?P<i>[\w.][\w.\-/:@*]*[\w*])"#,
    )
    .expect("valid")
});

fn image_in(text: &str) -> String {
    match IMAGE.captures(text).and_then(|c| c.name("i")) {
        Some(m) => short(m.as_str(), 100),
        None => "the image".to_string(),
    }
}

static EXEC_TARGET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"exec: \\?"(?P<e>[^"\\]+)|stat (?P<s>/\S+?)(?:\.\.\.|:|\s|$)"#).expect("valid")
});

fn exec_target(text: &str) -> &str {
    EXEC_TARGET
        .captures(text)
        .and_then(|c| c.name("e").or(c.name("s")))
        .map_or("", |m| m.as_str())
}

static EXEC_PATH: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"exec (?P<p>/\S+): exec format error").expect("valid"));

fn exec_path(text: &str) -> &str {
    EXEC_PATH
        .captures(text)
        .and_then(|c| c.name("p"))
        .map_or("", |m| m.as_str())
}

static UNRESOLVED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"Unresolved\s+resource\s+dependencies\s+\[(?P<deps>[^\]]*)\]").expect("valid")
});

static AWS_CALL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\((?P<code>\w+)\) when calling the (?P<op>\w+) operation").expect("valid")
});

static AWS_ACTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)not\s+authorized\s+to\s+perform:?\s+(?P<action>[a-z0-9-]+:\w+)")
        .expect("valid")
});

/// The variable or key a `log.missing_env_var` message names, when it names one that looks
/// like a setting (not a word the wording captured, as in `environment variables are missing`).
fn env_var_name<'h>(c: &Captures<'h>, text: &'h str) -> Option<&'h str> {
    let names = [
        "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12", "v13", "v14",
        "v15",
    ];
    let looks_like_name = |n: &&str| {
        n.len() > 1
            && (n.contains(['_', '.']) || n.chars().any(|ch| ch.is_ascii_uppercase()))
            && !n.eq_ignore_ascii_case("environment")
    };
    if let Some(name) = names
        .iter()
        .filter_map(|n| c.name(n))
        .map(|m| m.as_str().trim_end_matches(['.', ',', ':']))
        .find(looks_like_name)
    {
        return Some(name);
    }
    // Lists (`DATABASE_URL: [ 'Required' ]`, `You must specify POSTGRES_PASSWORD`): the first
    // upper-case name with an underscore.
    ENV_NAME
        .find_iter(text)
        .map(|m| m.as_str())
        .find(|n| !n.starts_with("RUST_BACKTRACE"))
}

static ENV_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b[A-Z][A-Z0-9]*_[A-Z0-9_]*[A-Z0-9]\b").expect("valid"));

static FS_ID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\bfs-[0-9a-f]{8,17}\b").expect("valid"));

fn fs_id(text: &str) -> &str {
    FS_ID.find(text).map_or("", |m| m.as_str())
}

static EFS_PATH: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"efs\.[^\s:]*:(?P<p>/[^\s']*)").expect("valid"));

fn efs_path(text: &str) -> &str {
    EFS_PATH
        .captures(text)
        .and_then(|c| c.name("p"))
        .map_or("", |m| m.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_compiles_in_both_modes() {
        for (i, rule) in RULES.iter().enumerate() {
            assert!(
                rule.pattern.is_ascii(),
                "{}: the sets run in ASCII mode",
                rule.id
            );
            assert!(
                rule.id.contains('.') && !rule.next_step.is_empty(),
                "{}",
                rule.id
            );
            let _ = regex(i);
            assert!(rule.unless.is_ascii(), "{}", rule.id);
            let _ = applies(i, "");
        }
        for sources in &BY_SOURCE {
            assert!(!sources.rules.is_empty());
        }
    }
}
