//! Secrets masked out of free text before a recording is shared: `watch --redact` and
//! `stackwatch redact IN OUT`.
//!
//! What is masked, and how it reads afterwards (the kind stays recognisable, the value goes):
//!
//! | what | before | after |
//! |---|---|---|
//! | AWS access key id (`AKIA`, `ASIA`, `AIDA`, `AROA`, … + 16) | `AKIAIOSFODNN7EXAMPLE` | `AKIA[redacted]` |
//! | a value after a secret's name (`=` or `:`) | `AWS_SECRET_ACCESS_KEY=wJal…` | `AWS_SECRET_ACCESS_KEY=[redacted]` |
//! | … JSON or quoted | `"SessionToken": "FwoG…"` | `"SessionToken": "[redacted]"` |
//! | a URL's password | `postgres://app:hunter2@db:5432` | `postgres://app:[redacted]@db:5432` |
//! | a bearer token | `Authorization: Bearer abc.123` | `Authorization: Bearer [redacted]` |
//! | a JWT | `eyJhbGci….eyJzdWIi….sig` | `eyJ[redacted]` |
//!
//! Secret names, matched case-insensitively, alone or as the last part of a longer name
//! (`DB_PASSWORD`, `spring.datasource.password`, `x-api-key`): the AWS secret key
//! (`aws_secret_access_key`, `SecretAccessKey`, `secret_key`, …), session tokens
//! (`aws_session_token`, `SessionToken`, `X-Amz-Security-Token`, `security_token`),
//! `password`, `passwd`, `api_key`, `apikey`, `token`, `access_token`, `refresh_token`,
//! `id_token`, `auth_token`, `client_secret`. A `:` counts as the separator only after a closing
//! quote or before a space (`"password": "x"`, `password: x`), so ARNs such as
//! `…:secret:app/token:password::` are left alone.
//!
//! Ordinary text is never changed: ARNs, task ids, UUIDs, git shas, image URIs, timestamps.
//! Pure: no I/O; the regexes are compiled once and run in linear time (the `regex` crate).

#![deny(clippy::disallowed_methods)]

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::{Captures, Regex};

use crate::model::{Observation, ObservationKind};
use crate::session::recording::Header;

/// What a masked value is replaced with.
pub const MASK: &str = "[redacted]";

/// Free text with every secret it holds masked; borrowed when there was none.
///
/// ```
/// use stackwatch::redact::redact;
/// assert_eq!(redact("key AKIAIOSFODNN7EXAMPLE"), "key AKIA[redacted]");
/// assert_eq!(redact("DB_PASSWORD=hunter2 ok"), "DB_PASSWORD=[redacted] ok");
/// assert_eq!(redact("task 0f6c0b3e9d8e4f0b9c1a2b3c4d5e6f70 stopped"), "task 0f6c0b3e9d8e4f0b9c1a2b3c4d5e6f70 stopped");
/// ```
pub fn redact(text: &str) -> Cow<'_, str> {
    redact_counted(text).0
}

/// [`redact`], and how many values were masked.
pub fn redact_counted(text: &str) -> (Cow<'_, str>, usize) {
    let mut out = Cow::Borrowed(text);
    let mut masked = 0;
    for rule in RULES.iter() {
        let before = masked;
        let next = match rule.apply(&out, &mut masked) {
            Cow::Owned(s) if masked > before => Some(s),
            _ => None,
        };
        if let Some(s) = next {
            out = Cow::Owned(s);
        }
    }
    (out, masked)
}

/// Masks secrets in every free-text field of an observation (reasons, messages, log lines,
/// descriptions, how a thing was found); ids, names, statuses and times are left alone.
/// Returns how many values were masked.
pub fn redact_observation(obs: &mut Observation) -> usize {
    let mut n = 0;
    let mut text = |field: &mut String| {
        let (redacted, masked) = redact_counted(field);
        if let Cow::Owned(s) = redacted {
            *field = s;
        }
        n += masked;
    };
    match &mut obs.kind {
        ObservationKind::CfnStack(s) => s.reason.iter_mut().for_each(&mut text),
        ObservationKind::CfnEvent(e) => e.reason.iter_mut().for_each(&mut text),
        ObservationKind::CfnResource(_) => {}
        ObservationKind::EcsService(s) => s
            .deployments
            .iter_mut()
            .filter_map(|d| d.rollout_state_reason.as_mut())
            .for_each(&mut text),
        ObservationKind::EcsServiceEvent(e) => text(&mut e.message),
        ObservationKind::EcsTask(t) => {
            t.stopped_reason.iter_mut().for_each(&mut text);
            t.containers
                .iter_mut()
                .filter_map(|c| c.reason.as_mut())
                .for_each(&mut text);
        }
        ObservationKind::TargetHealth(t) => {
            t.reason.iter_mut().for_each(&mut text);
            t.description.iter_mut().for_each(&mut text);
        }
        ObservationKind::LogEvent(e) => text(&mut e.message),
        ObservationKind::LogGap(g) => text(&mut g.reason),
        ObservationKind::Watching(w) => w.via.iter_mut().for_each(&mut text),
        // People paste secrets into notes too.
        ObservationKind::Note(note) => text(&mut note.text),
        ObservationKind::SourceStatus(_)
        | ObservationKind::EcsTaskGone(_)
        | ObservationKind::EcsServiceGone(_)
        | ObservationKind::TargetGone(_) => {}
    }
    n
}

/// Masks secrets in a header's command line (`--endpoint-url http://u:pw@host`); every other
/// header field is kept. Returns how many values were masked.
pub fn redact_header(header: &mut Header) -> usize {
    let mut n = 0;
    for arg in &mut header.args {
        let (redacted, masked) = redact_counted(arg);
        if let Cow::Owned(s) = redacted {
            *arg = s;
        }
        n += masked;
    }
    n
}

/// One kind of secret: a pattern and how a match is rewritten (`None`: leave it, it is
/// already masked or not a secret after all).
struct Rule {
    re: Regex,
    rewrite: fn(&Captures) -> Option<String>,
}

impl Rule {
    fn apply<'t>(&self, text: &'t str, masked: &mut usize) -> Cow<'t, str> {
        if !self.re.is_match(text) {
            return Cow::Borrowed(text);
        }
        self.re
            .replace_all(text, |caps: &Captures| match (self.rewrite)(caps) {
                Some(s) => {
                    *masked += 1;
                    s
                }
                None => caps[0].to_string(),
            })
    }
}

/// Secret names, as a regex alternation (case-insensitive).
const SECRET_NAMES: &str = "aws_secret_access_key|secret_access_key|secretaccesskey|aws_secret_key|secret_key|secretkey\
|aws_session_token|session_token|sessiontoken|x-amz-security-token|security_token|securitytoken\
|password|passwd|api_key|api-key|apikey|client_secret|clientsecret\
|access_token|accesstoken|refresh_token|refreshtoken|id_token|auth_token|authtoken|token";

static RULES: LazyLock<[Rule; 5]> = LazyLock::new(|| {
    let re = |p: &str| Regex::new(p).expect("a valid built-in pattern");
    [
        // NAME=value, NAME: value, "NAME": "value", 'NAME' = 'value'. The name may end a longer
        // one (DB_PASSWORD): words joined by `_`, `-` or `.` before it.
        Rule {
            re: re(&format!(
                r#"(?i)(?P<key>\b(?:[a-z0-9]+[_.-])*(?:{SECRET_NAMES}))(?P<sep>\s*=\s*|["']\s*[:=]\s*|\s*:\s+)(?:"(?P<dq>(?:[^"\\\n]|\\.)*)"|'(?P<sq>[^'\n]*)'|(?P<bare>\[redacted\]|[^\s"'&,;<>)\]}}]+))"#
            )),
            rewrite: |c| {
                let (open, value, close) = if let Some(v) = c.name("dq") {
                    ("\"", v.as_str(), "\"")
                } else if let Some(v) = c.name("sq") {
                    ("'", v.as_str(), "'")
                } else {
                    ("", c.name("bare").map_or("", |v| v.as_str()), "")
                };
                if value.is_empty() || value == MASK {
                    return None;
                }
                Some(format!("{}{}{open}{MASK}{close}", &c["key"], &c["sep"]))
            },
        },
        // scheme://user:PASSWORD@host
        Rule {
            re: re(r"(?i)(?P<pre>\b[a-z][a-z0-9+.-]*://[^\s:/?#@]+:)(?P<pw>[^\s/?#]+)@"),
            rewrite: |c| {
                if &c["pw"] == MASK {
                    return None;
                }
                Some(format!("{}{MASK}@", &c["pre"]))
            },
        },
        // Authorization: Bearer/Basic/Token X, or bearer X. A token has a digit in it, so
        // "bearer authentication failed" is left alone.
        Rule {
            re: re(
                r"(?i)(?P<pre>\bauthorization\s*[:=]\s*(?:bearer|basic|token)\s+|\bbearer\s+)(?P<tok>[a-z0-9._~+/-]+=*)",
            ),
            rewrite: |c| {
                let tok = &c["tok"];
                if tok.len() < 8 || !tok.bytes().any(|b| b.is_ascii_digit()) {
                    return None;
                }
                Some(format!("{}{MASK}", &c["pre"]))
            },
        },
        // A JWT: three base64url segments, the header a JSON object (`eyJ` is `{"`).
        Rule {
            re: re(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"),
            rewrite: |_| Some(format!("eyJ{MASK}")),
        },
        // AWS access key ids: a four-letter kind, then 16 uppercase letters and digits.
        Rule {
            re: re(
                r"\b(?P<kind>AKIA|ASIA|AIDA|AROA|AIPA|ANPA|ANVA|AGPA|ABIA|ACCA|APKA|ASCA)[A-Z0-9]{16}\b",
            ),
            rewrite: |c| Some(format!("{}{MASK}", &c["kind"])),
        },
    ]
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_key_ids_keep_their_kind() {
        assert_eq!(
            redact("creds AKIAIOSFODNN7EXAMPLE and ASIAY34FZKBOKMUTVV7A."),
            "creds AKIA[redacted] and ASIA[redacted]."
        );
        assert_eq!(
            redact("\"AccessKeyId\": \"AROAEXAMPLEID1234567\""),
            "\"AccessKeyId\": \"AROA[redacted]\""
        );
        // Not 16 after the kind, or part of a longer word: left alone.
        assert_eq!(redact("AKIASHORT"), "AKIASHORT");
        assert_eq!(redact("XAKIAIOSFODNN7EXAMPLE1"), "XAKIAIOSFODNN7EXAMPLE1");
    }

    #[test]
    fn secret_keys_next_to_their_name_are_masked() {
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        for (input, want) in [
            (
                format!("aws_secret_access_key = {secret}"),
                "aws_secret_access_key = [redacted]".to_string(),
            ),
            (
                format!("AWS_SECRET_ACCESS_KEY={secret} aws s3 ls"),
                "AWS_SECRET_ACCESS_KEY=[redacted] aws s3 ls".to_string(),
            ),
            (
                format!("{{\"SecretAccessKey\": \"{secret}\", \"x\": 1}}"),
                "{\"SecretAccessKey\": \"[redacted]\", \"x\": 1}".to_string(),
            ),
            (
                format!("secret_key: {secret}"),
                "secret_key: [redacted]".to_string(),
            ),
            (
                format!("SECRETACCESSKEY='{secret}'"),
                "SECRETACCESSKEY='[redacted]'".to_string(),
            ),
        ] {
            assert_eq!(redact(&input), want, "{input}");
            assert!(!redact(&input).contains(secret));
        }
    }

    #[test]
    fn session_tokens_are_masked_in_env_json_and_urls() {
        assert_eq!(
            redact("AWS_SESSION_TOKEN=FwoGZXIvYXdzEJr//////////wEaDM+abc== next"),
            "AWS_SESSION_TOKEN=[redacted] next"
        );
        assert_eq!(
            redact(r#"{"SessionToken":"IQoJb3JpZ2luX2VjEJr\"x"}"#),
            r#"{"SessionToken":"[redacted]"}"#
        );
        assert_eq!(
            redact(
                "GET https://b.s3.amazonaws.com/k?X-Amz-Security-Token=IQoJb3%2Fabc&X-Amz-Date=20261130T000000Z"
            ),
            "GET https://b.s3.amazonaws.com/k?X-Amz-Security-Token=[redacted]&X-Amz-Date=20261130T000000Z"
        );
        assert_eq!(
            redact("aws_session_token = abc123"),
            "aws_session_token = [redacted]"
        );
    }

    #[test]
    fn url_passwords_keep_the_user_and_host() {
        assert_eq!(
            redact("connect postgres://app:hunter2@db.internal:5432/app failed"),
            "connect postgres://app:[redacted]@db.internal:5432/app failed"
        );
        assert_eq!(
            redact("redis://default:p@ss@cache:6379"),
            "redis://default:[redacted]@cache:6379"
        );
        // A port is not a password; no user info, nothing to mask.
        for ok in [
            "http://localhost:8080/path@v2",
            "https://example.com:443/a?b=c",
            "mailto:someone@example.com",
        ] {
            assert_eq!(redact(ok), ok);
        }
    }

    #[test]
    fn bearer_tokens_and_key_value_secrets_are_masked() {
        assert_eq!(
            redact("Authorization: Bearer abcDEF123456.xyz"),
            "Authorization: Bearer [redacted]"
        );
        assert_eq!(
            redact("sent bearer 9f8e7d6c5b4a then"),
            "sent bearer [redacted] then"
        );
        assert_eq!(
            redact("authorization=Basic dXNlcjpwYXNzd29yZA=="),
            "authorization=Basic [redacted]"
        );
        assert_eq!(
            redact("password=hunter2&user=bob"),
            "password=[redacted]&user=bob"
        );
        assert_eq!(
            redact(r#"{"password": "correct horse battery staple", "user": "bob"}"#),
            r#"{"password": "[redacted]", "user": "bob"}"#
        );
        assert_eq!(redact("passwd: s3cret"), "passwd: [redacted]");
        assert_eq!(
            redact("api_key=abc123 apikey=def"),
            "api_key=[redacted] apikey=[redacted]"
        );
        assert_eq!(redact("X-API-KEY: k-123"), "X-API-KEY: [redacted]");
        assert_eq!(redact("?token=abc123&x=1"), "?token=[redacted]&x=1");
        assert_eq!(
            redact("MYSQL_ROOT_PASSWORD=root spring.datasource.password=pw"),
            "MYSQL_ROOT_PASSWORD=[redacted] spring.datasource.password=[redacted]"
        );
    }

    #[test]
    fn jwts_are_masked() {
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
        assert_eq!(
            redact(&format!("cookie session={jwt}; Path=/")),
            "cookie session=eyJ[redacted]; Path=/"
        );
        assert_eq!(redact(&format!("id {jwt} ok")), "id eyJ[redacted] ok");
        // The header alone is not a token.
        assert_eq!(redact("eyJhbGciOiJIUzI1NiJ9"), "eyJhbGciOiJIUzI1NiJ9");
    }

    #[test]
    fn ordinary_text_is_not_changed() {
        for ok in [
            "arn:aws:ecs:eu-west-1:123456789012:task/payments-prod-cluster/0f6c0b3e9d8e4f0b9c1a2b3c4d5e6f70",
            "arn:aws:iam::123456789012:role/service-role/AROA-like-name",
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db/password-AbCdEf",
            "arn:aws:ssm:eu-west-1:123456789012:parameter/prod/api/token",
            "valueFrom arn:aws:secretsmanager:eu-west-1:1:secret:app/token:password::",
            "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/api-tg/73e2d6bc24d8a067",
            "0f6c0b3e9d8e4f0b9c1a2b3c4d5e6f70",
            "3f2504e0-4f89-11d3-9a0c-0305e82c3301",
            "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3",
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/payments-api:1.4.2-a94a8fe",
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/payments-api@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            "2026-11-30T13:43:33.123Z",
            "Resource handler returned message: \"Invalid request provided: The security token included in the request is expired\"",
            "Bearer authentication failed",
            "The password is too short",
            "ClientRequestToken: Console-CreateStack-7f0c0bb5-aaaa-bbbb-cccc-0123456789ab",
            "NextToken=abc",
            "ResourceInitializationError: unable to pull secrets or registry auth",
            "CannotPullContainerError: pull image manifest has been retried 5 time(s)",
            "(service api) has reached a steady state.",
            "Task failed ELB health checks in (target-group arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/api/1234567890abcdef)",
            "",
        ] {
            assert!(matches!(redact(ok), Cow::Borrowed(_)), "changed: {ok}");
        }
    }

    #[test]
    fn redacting_twice_changes_nothing_more() {
        let text = "AKIAIOSFODNN7EXAMPLE password=x postgres://u:p@h Bearer abc12345 \
                    eyJhbGciOi.eyJzdWIi.c2ln \"token\": \"t\"";
        let (once, n) = redact_counted(text);
        assert_eq!(n, 6, "{once}");
        let (twice, m) = redact_counted(&once);
        assert_eq!(m, 0);
        assert_eq!(once, twice);
        assert!(matches!(twice, Cow::Borrowed(_)));
    }

    #[test]
    fn hostile_input_neither_panics_nor_hangs() {
        let long = |s: &str, n: usize| s.repeat(n);
        for input in [
            long("password=", 20_000),
            long("a:", 50_000) + "@",
            format!("x://{}", long("u:", 40_000)),
            long("eyJ", 30_000),
            long("eyJaaaa.", 20_000),
            long("AKIA", 30_000),
            long("Bearer ", 20_000),
            long("\"password\": \"\\", 10_000),
            long("é🔑\u{202e}\x1b[2J", 10_000),
            format!("password=\"{}", long("\\\"", 30_000)),
        ] {
            // Linear time by construction (the `regex` crate): this finishes, and masks at most
            // what is there.
            let (out, _) = redact_counted(&input);
            assert!(out.len() <= input.len() * 3);
        }
        // Multi-byte text around a secret is kept whole.
        assert_eq!(redact("clé password=été ✓"), "clé password=[redacted] ✓");
    }

    #[test]
    fn every_free_text_field_is_redacted_and_ids_are_kept() {
        use crate::model::*;
        use chrono::TimeZone;
        let at = chrono::Utc.with_ymd_and_hms(2026, 11, 30, 0, 0, 0).unwrap();
        let secret = "password=hunter2";
        let arn = "arn:aws:ecs:eu-west-1:123456789012:task/c/0f6c0b3e9d8e4f0b9c1a2b3c4d5e6f70";
        let mut all = vec![
            Observation::new(
                at,
                CfnEvent {
                    stack: "s".into(),
                    stack_id: "arn:aws:cloudformation:eu-west-1:1:stack/s/1".into(),
                    event_id: "e".into(),
                    logical_id: "L".into(),
                    physical_id: None,
                    resource_type: "AWS::ECS::Service".into(),
                    status: "CREATE_FAILED".into(),
                    reason: Some(secret.into()),
                    timestamp: at,
                },
            ),
            Observation::new(
                at,
                CfnStack {
                    stack: "s".into(),
                    name: "s".into(),
                    stack_id: None,
                    status: "ROLLBACK_IN_PROGRESS".into(),
                    reason: Some(secret.into()),
                },
            ),
            Observation::new(
                at,
                EcsTask {
                    cluster: "c".into(),
                    task_arn: arn.into(),
                    group: Some("service:api".into()),
                    task_definition: "api:7".into(),
                    last_status: "STOPPED".into(),
                    desired_status: "STOPPED".into(),
                    stop_code: None,
                    stopped_reason: Some(secret.into()),
                    containers: vec![EcsContainer {
                        name: "app".into(),
                        last_status: "STOPPED".into(),
                        exit_code: Some(1),
                        reason: Some(secret.into()),
                    }],
                    created_at: None,
                    started_at: None,
                    stopped_at: None,
                    private_ip: None,
                },
            ),
            Observation::new(
                at,
                EcsServiceEvent {
                    cluster: "c".into(),
                    service: "api".into(),
                    id: "1".into(),
                    created_at: at,
                    message: secret.into(),
                },
            ),
            Observation::new(
                at,
                EcsService {
                    cluster: "c".into(),
                    service: "api".into(),
                    arn: None,
                    status: "ACTIVE".into(),
                    desired: 1,
                    running: 0,
                    pending: 0,
                    task_definition: None,
                    deployments: vec![EcsDeployment {
                        id: "ecs-svc/1".into(),
                        status: "PRIMARY".into(),
                        task_definition: "api:7".into(),
                        desired: 1,
                        running: 0,
                        pending: 0,
                        failed_tasks: 1,
                        rollout_state: Some("FAILED".into()),
                        rollout_state_reason: Some(secret.into()),
                        created_at: at,
                        updated_at: None,
                    }],
                },
            ),
            Observation::new(
                at,
                TargetHealth {
                    target_group: "arn:tg".into(),
                    target_id: "10.0.0.1".into(),
                    port: Some(80),
                    state: "unhealthy".into(),
                    reason: Some("Target.Timeout".into()),
                    description: Some(secret.into()),
                },
            ),
            Observation::new(
                at,
                LogEvent {
                    group: "/ecs/api".into(),
                    stream: "ecs/app/0f6c".into(),
                    timestamp: at,
                    message: secret.into(),
                    event_id: None,
                },
            ),
            Observation::new(
                at,
                LogGap {
                    group: "/ecs/api".into(),
                    from: at,
                    to: at,
                    reason: secret.into(),
                },
            ),
            Observation::new(
                at,
                Watching {
                    source: "logs".into(),
                    what: "log_group".into(),
                    id: "/ecs/api".into(),
                    via: Some(secret.into()),
                },
            ),
        ];
        let n: usize = all.iter_mut().map(redact_observation).sum();
        assert_eq!(n, 10);
        let json = serde_json::to_string(&all).unwrap();
        assert!(!json.contains("hunter2"), "{json}");
        assert!(json.contains(arn));
        assert!(json.contains("Target.Timeout"));
    }
}
