//! What can go wrong talking to AWS, typed so a source can show it as health and pick its
//! pace: throttled, access denied, expired credentials, not found, or a passing fault.

use std::error::Error;
use std::fmt::Debug;

use aws_credential_types::provider::error::CredentialsError;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::model::SourceState;

/// Longest error detail kept: AWS messages can quote whole policies.
const DETAIL_MAX: usize = 300;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SourceError {
    #[error("throttled by AWS ({0})")]
    Throttled(String),
    #[error("access denied: {0}")]
    AccessDenied(String),
    #[error(
        "the credentials of profile {profile} have expired: run `aws sso login --profile {profile}` (or refresh them) and stackwatch resumes by itself"
    )]
    CredentialsExpired { profile: String },
    #[error(
        "no credentials found for profile {profile} ({detail}): run `aws sso login --profile {profile}`, `aws configure`, or pass --profile"
    )]
    NoCredentials { profile: String, detail: String },
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
            SourceError::CredentialsExpired { .. } | SourceError::NoCredentials { .. } => {
                SourceState::CredentialsExpired
            }
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
const NOT_FOUND: &[&str] = &[
    "ResourceNotFoundException",
    "ClusterNotFoundException",
    "ServiceNotFoundException",
    "TargetGroupNotFound",
    "LoadBalancerNotFound",
    "StackNotFound",
];

/// Classifies a failed call.
pub fn classify<E, R>(err: &SdkError<E, R>, profile: &str) -> SourceError
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
                    profile: profile.to_string(),
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
fn credentials_or(text: &str, profile: &str, other: impl FnOnce() -> SourceError) -> SourceError {
    let lower = text.to_ascii_lowercase();
    let about_login =
        lower.contains("credential") || lower.contains("token") || lower.contains("sso");
    if about_login && (lower.contains("expired") || lower.contains("refresh failed")) {
        SourceError::CredentialsExpired {
            profile: profile.to_string(),
        }
    } else if about_login
        && (lower.contains("no credentials")
            || lower.contains("not loaded")
            || lower.contains("could not load"))
    {
        SourceError::NoCredentials {
            profile: profile.to_string(),
            detail: text.to_string(),
        }
    } else {
        other()
    }
}

/// The credentials chain's own failure, before any call.
pub fn from_credentials(err: &CredentialsError, profile: &str) -> SourceError {
    let text = detail(&DisplayErrorContext(err).to_string());
    match credentials_or(&text, profile, || SourceError::Other(text.clone())) {
        SourceError::Other(detail) => SourceError::NoCredentials {
            profile: profile.to_string(),
            detail,
        },
        classified => classified,
    }
}

/// Error text from AWS, cleaned for a terminal and capped.
fn detail(text: &str) -> String {
    let clean = crate::sanitize::line(text);
    crate::model::byte_prefix(&clean, DETAIL_MAX).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_follows_the_error() {
        assert_eq!(
            SourceError::Throttled("Rate exceeded".into()).health(),
            SourceState::Throttled
        );
        let expired = SourceError::CredentialsExpired {
            profile: "dev".into(),
        };
        assert_eq!(expired.health(), SourceState::CredentialsExpired);
        assert!(expired.to_string().contains("aws sso login --profile dev"));
    }

    #[test]
    fn login_failures_are_told_apart_by_their_text() {
        let other = || SourceError::Other("x".into());
        assert!(matches!(
            credentials_or("the SSO session has expired or is invalid", "p", other),
            SourceError::CredentialsExpired { .. }
        ));
        assert!(matches!(
            credentials_or(
                "failed to construct request: no credentials in the chain (CredentialsNotLoaded)",
                "p",
                other
            ),
            SourceError::NoCredentials { .. }
        ));
        assert!(matches!(
            credentials_or("connection refused", "p", other),
            SourceError::Other(_)
        ));
    }
}
