//! What can go wrong talking to AWS, typed so a source can show it as health and pick its
//! pace: throttled, access denied, expired credentials, not found, or a passing fault.

use std::error::Error;
use std::fmt::Debug;
use std::path::PathBuf;

use aws_credential_types::provider::error::CredentialsError;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::model::{Profile, SourceState};

/// Longest error detail kept: AWS messages can quote whole policies.
const DETAIL_MAX: usize = 300;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SourceError {
    #[error("throttled by AWS ({0})")]
    Throttled(String),
    #[error("access denied: {0}")]
    AccessDenied(String),
    #[error(
        "the credentials of profile {profile} have expired: {}",
        profile.fix()
    )]
    CredentialsExpired { profile: Profile },
    #[error(
        "no credentials found for profile {profile} ({detail}): run `aws sso login --profile {profile}` or `aws configure --profile {profile}`, or pass --profile"
    )]
    NoCredentials { profile: String, detail: String },
    /// Nothing in the chain had credentials and the profile it read is in no file: usually a
    /// typo in --profile or AWS_PROFILE, or a machine never set up.
    #[error(
        "no credentials: profile {profile} is not defined in {files} and AWS_ACCESS_KEY_ID is not set: run `aws configure --profile {profile}` (or `aws configure sso --profile {profile}`), or pass --profile with a profile that exists"
    )]
    ProfileNotDefined { profile: String, files: String },
    #[error("no region is set for profile {profile}: pass --region or set AWS_REGION")]
    NoRegion { profile: String },
    #[error("{0}")]
    NotFound(String),
    /// The endpoint refused, timed out or went away: worth retrying.
    #[error("cannot reach AWS: {0}")]
    Unreachable(String),
    #[error("{0}")]
    Other(String),
}

impl SourceError {
    /// How the source's health reads while this error lasts.
    pub fn health(&self) -> SourceState {
        match self {
            SourceError::Throttled(_) => SourceState::Throttled,
            SourceError::AccessDenied(_) => SourceState::AccessDenied,
            SourceError::CredentialsExpired { .. }
            | SourceError::NoCredentials { .. }
            | SourceError::ProfileNotDefined { .. } => SourceState::CredentialsExpired,
            SourceError::NoRegion { .. }
            | SourceError::NotFound(_)
            | SourceError::Unreachable(_)
            | SourceError::Other(_) => SourceState::Unavailable,
        }
    }
}

/// Error codes of throttling, in every protocol the four services speak.
const THROTTLING: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "ThrottledException",
    "SlowDown",
];
const ACCESS_DENIED: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "UnrecognizedClientException",
];
const EXPIRED: &[&str] = &[
    "ExpiredToken",
    "ExpiredTokenException",
    "RequestExpired",
    "InvalidClientTokenId",
];

/// True when AWS refused a call's credentials themselves (expired, or keys it does not know,
/// as after a rotation): reading them again from the user's setup may fix it.
pub fn rejects_credentials(code: &str) -> bool {
    EXPIRED
        .iter()
        .chain(&["UnrecognizedClientException"])
        .any(|c| c.eq_ignore_ascii_case(code))
}
const NOT_FOUND: &[&str] = &[
    "ResourceNotFoundException",
    "ClusterNotFoundException",
    "ServiceNotFoundException",
    "TargetGroupNotFound",
    "LoadBalancerNotFound",
    "StackNotFound",
];

/// Classifies a failed call.
pub fn classify<E, R>(err: &SdkError<E, R>, profile: &Profile) -> SourceError
where
    E: ProvideErrorMetadata + Error + 'static,
    R: Debug,
{
    let text = detail(&DisplayErrorContext(err).to_string());
    match err {
        SdkError::ServiceError(service) => {
            let e = service.err();
            let code = e.code().unwrap_or_default();
            let message = detail(e.message().unwrap_or(code));
            if THROTTLING.iter().any(|c| c.eq_ignore_ascii_case(code)) {
                SourceError::Throttled(message)
            } else if ACCESS_DENIED.iter().any(|c| c.eq_ignore_ascii_case(code)) {
                SourceError::AccessDenied(message)
            } else if EXPIRED.iter().any(|c| c.eq_ignore_ascii_case(code)) {
                SourceError::CredentialsExpired {
                    profile: profile.clone(),
                }
            } else if NOT_FOUND.iter().any(|c| c.eq_ignore_ascii_case(code))
                || (code == "ValidationError" && message.contains("does not exist"))
            {
                SourceError::NotFound(message)
            } else {
                SourceError::Other(format!("{code}: {message}"))
            }
        }
        SdkError::TimeoutError(_) => SourceError::Unreachable("the call timed out".to_string()),
        SdkError::DispatchFailure(_) => {
            credentials_or(&text, profile, || SourceError::Unreachable(text.clone()))
        }
        SdkError::ResponseError(_) => SourceError::Unreachable(text.clone()),
        _ => credentials_or(&text, profile, || SourceError::Other(text.clone())),
    }
}

/// Failures to resolve credentials surface as construction or dispatch failures; their text
/// is all there is to tell them by.
fn credentials_or(
    text: &str,
    profile: &Profile,
    other: impl FnOnce() -> SourceError,
) -> SourceError {
    let lower = text.to_ascii_lowercase();
    let about_login =
        lower.contains("credential") || lower.contains("token") || lower.contains("sso");
    if about_login && (lower.contains("expired") || lower.contains("refresh failed")) {
        SourceError::CredentialsExpired {
            profile: profile.clone(),
        }
    } else if about_login
        && (lower.contains("no credentials")
            || lower.contains("not loaded")
            || lower.contains("could not load"))
    {
        SourceError::NoCredentials {
            profile: profile.name.clone(),
            detail: text.to_string(),
        }
    } else {
        other()
    }
}

/// The credentials chain's own failure, before any call.
pub fn from_credentials(
    err: &CredentialsError,
    profile: &Profile,
    files: &ProfileFiles,
) -> SourceError {
    let name = &profile.name;
    if let CredentialsError::CredentialsNotLoaded(_) = err {
        // No provider had any: say where that was looked for, not the chain's multi-line
        // report of every provider it tried.
        return if files.define(name) {
            SourceError::NoCredentials {
                profile: name.clone(),
                detail: format!(
                    "none in the environment, in the profile in {}, or from instance metadata",
                    files.describe()
                ),
            }
        } else {
            SourceError::ProfileNotDefined {
                profile: name.clone(),
                files: files.describe(),
            }
        };
    }
    let text = detail(&DisplayErrorContext(err).to_string());
    match credentials_or(&text, profile, || SourceError::Other(text.clone())) {
        SourceError::Other(detail) => SourceError::NoCredentials {
            profile: name.clone(),
            detail,
        },
        classified => classified,
    }
}

/// The shared config and credentials files, where aws-config reads profiles.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileFiles {
    pub config: PathBuf,
    pub credentials: PathBuf,
}

impl ProfileFiles {
    /// `AWS_CONFIG_FILE` and `AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/config` and
    /// `~/.aws/credentials`, as aws-config finds them.
    pub fn locate() -> ProfileFiles {
        let home = directories::BaseDirs::new()
            .map(|d| d.home_dir().to_path_buf())
            .unwrap_or_default();
        let file = |var: &str, name: &str| {
            std::env::var_os(var)
                .filter(|v| !v.is_empty())
                .map_or_else(|| home.join(".aws").join(name), PathBuf::from)
        };
        ProfileFiles {
            config: file("AWS_CONFIG_FILE", "config"),
            credentials: file("AWS_SHARED_CREDENTIALS_FILE", "credentials"),
        }
    }

    /// True when either file has a section for `profile` (`[profile NAME]` in the config
    /// file, `[NAME]` in the credentials file and for `default`). Unreadable files define none.
    pub fn define(&self, profile: &str) -> bool {
        [&self.config, &self.credentials]
            .iter()
            .any(|path| std::fs::read_to_string(path).is_ok_and(|text| defines(&text, profile)))
    }

    /// True when the profile signs in through IAM Identity Center: its section in the config
    /// file names an `sso_session` or an `sso_start_url`.
    pub fn signs_in_with_sso(&self, profile: &str) -> bool {
        std::fs::read_to_string(&self.config).is_ok_and(|text| uses_sso(&text, profile))
    }

    /// The files for a message: one path when both are the same.
    pub fn describe(&self) -> String {
        if self.config == self.credentials {
            self.config.display().to_string()
        } else {
            format!(
                "{} or {}",
                self.config.display(),
                self.credentials.display()
            )
        }
    }
}

/// True when an INI profile file has a section for `profile`.
fn defines(text: &str, profile: &str) -> bool {
    text.lines()
        .any(|line| section_of(line).is_some_and(|s| names(s, profile)))
}

/// True when the section for `profile` in a config file has an SSO key.
fn uses_sso(text: &str, profile: &str) -> bool {
    let mut inside = false;
    for line in text.lines() {
        if let Some(section) = section_of(line) {
            inside = names(section, profile);
        } else if inside {
            let key = line.split('=').next().unwrap_or_default().trim();
            if key == "sso_session" || key == "sso_start_url" {
                return true;
            }
        }
    }
    false
}

/// The name inside a `[section]` line.
fn section_of(line: &str) -> Option<&str> {
    line.trim()
        .strip_prefix('[')
        .and_then(|l| l.split(']').next())
        .map(str::trim)
}

/// True when a section (`NAME` or `profile NAME`) is the profile's.
fn names(section: &str, profile: &str) -> bool {
    section == profile
        || section
            .strip_prefix("profile")
            .is_some_and(|name| name.starts_with(char::is_whitespace) && name.trim() == profile)
}

/// Error text from AWS, cleaned for a terminal and capped.
fn detail(text: &str) -> String {
    let clean = crate::sanitize::line(text);
    crate::model::byte_prefix(&clean, DETAIL_MAX).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Login;

    fn sso(name: &str) -> Profile {
        Profile {
            name: name.into(),
            login: Login::Sso,
        }
    }

    #[test]
    fn health_follows_the_error() {
        assert_eq!(
            SourceError::Throttled("Rate exceeded".into()).health(),
            SourceState::Throttled
        );
        let expired = SourceError::CredentialsExpired {
            profile: sso("dev"),
        };
        assert_eq!(expired.health(), SourceState::CredentialsExpired);
        assert!(expired.to_string().contains("aws sso login --profile dev"));
        let keys = SourceError::CredentialsExpired {
            profile: Profile {
                name: "ci".into(),
                login: Login::Keys,
            },
        };
        let text = keys.to_string();
        assert!(
            text.contains("refresh the credentials of profile ci"),
            "{text}"
        );
        assert!(!text.contains("sso login"), "{text}");
        let env = SourceError::CredentialsExpired {
            profile: Profile {
                name: "default".into(),
                login: Login::Environment,
            },
        };
        let text = env.to_string();
        assert!(
            text.contains("AWS_ACCESS_KEY_ID") && text.contains("start it again"),
            "{text}"
        );
    }

    #[test]
    fn a_profile_is_defined_by_its_section_in_either_file() {
        let config = "[default]\nregion = eu-west-1\n\n[profile  dev ]\nsso_session = x\n";
        assert!(defines(config, "default"));
        assert!(defines(config, "dev"));
        assert!(!defines(config, "prod"));
        assert!(!defines("[profiledev]\n", "dev"));
        assert!(defines("  [prod] ; keys\naws_access_key_id = A\n", "prod"));
        assert!(!defines("", "default"));
    }

    #[test]
    fn a_profile_signs_in_with_sso_when_its_own_section_says_so() {
        let config = "[profile keys]\nregion = eu-west-1\n[profile dev]\nsso_session = corp\n\
                      [sso-session corp]\nsso_start_url = https://x\n[profile old]\n\
                      sso_start_url = https://y\n";
        assert!(uses_sso(config, "dev"));
        assert!(uses_sso(config, "old"));
        assert!(!uses_sso(config, "keys"));
        assert!(!uses_sso(config, "corp"), "a session is not a profile");
    }

    #[test]
    fn codes_that_reject_the_credentials_themselves() {
        for code in [
            "ExpiredToken",
            "ExpiredTokenException",
            "RequestExpired",
            "InvalidClientTokenId",
            "UnrecognizedClientException",
        ] {
            assert!(rejects_credentials(code), "{code}");
        }
        for code in ["Throttling", "AccessDenied", "ValidationError", ""] {
            assert!(!rejects_credentials(code), "{code}");
        }
    }

    #[test]
    fn no_credentials_anywhere_names_the_profile_the_files_and_the_fix() {
        let dir = std::env::temp_dir().join(format!("stackwatch-profiles-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("config");
        std::fs::write(&config, "[profile dev]\nregion = eu-west-1\n").unwrap();
        let files = ProfileFiles {
            config: config.clone(),
            credentials: dir.join("missing"),
        };
        let not_loaded = CredentialsError::not_loaded("no credentials found in chain");
        let e = from_credentials(&not_loaded, &sso("nobody"), &files);
        assert!(matches!(e, SourceError::ProfileNotDefined { .. }), "{e:?}");
        let text = e.to_string();
        assert!(text.contains("profile nobody is not defined in"), "{text}");
        assert!(text.contains(&config.display().to_string()), "{text}");
        assert!(text.contains("aws configure --profile nobody"), "{text}");
        let e = from_credentials(&not_loaded, &sso("dev"), &files);
        assert!(matches!(e, SourceError::NoCredentials { .. }), "{e:?}");
        assert!(e.to_string().contains("aws sso login --profile dev"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn login_failures_are_told_apart_by_their_text() {
        let other = || SourceError::Other("x".into());
        let p = &sso("p");
        assert!(matches!(
            credentials_or("the SSO session has expired or is invalid", p, other),
            SourceError::CredentialsExpired { .. }
        ));
        assert!(matches!(
            credentials_or(
                "failed to construct request: no credentials in the chain (CredentialsNotLoaded)",
                p,
                other
            ),
            SourceError::NoCredentials { .. }
        ));
        assert!(matches!(
            credentials_or("connection refused", p, other),
            SourceError::Other(_)
        ));
    }
}
