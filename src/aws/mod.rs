//! Live AWS: the user's own configuration, one client per service, typed source errors, and
//! the sources themselves, each an async task that sends normalised observations into one
//! bounded channel. No source touches the store or the screen.

pub mod budget;
pub mod cfn;
pub mod credentials;
pub mod discovery;
pub mod ecs;
pub mod elb;
pub mod error;
pub mod logs;
pub mod source;
pub mod watch;

use std::time::Duration;

use aws_config::identity::IdentityCache;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::ProvideCredentials;

pub use error::SourceError;

use crate::model::{Login, Profile};

/// Every call gives up after this long: a live session must never hang on the network.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(20);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Where and as whom to talk to AWS: the standard chain, or what the user named.
#[derive(Debug, Clone, Default)]
pub struct AwsTarget {
    pub profile: Option<String>,
    pub region: Option<String>,
    /// moto, LocalStack; `AWS_ENDPOINT_URL` is honoured by aws-config itself.
    pub endpoint_url: Option<String>,
}

/// The clients every source shares (they are cheap handles over one connection pool).
#[derive(Clone)]
pub struct Clients {
    pub cfn: aws_sdk_cloudformation::Client,
    pub ecs: aws_sdk_ecs::Client,
    pub elb: aws_sdk_elasticloadbalancingv2::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub region: String,
    /// The profile the user named, or the one the environment selects, for messages.
    pub profile: Profile,
}

impl AwsTarget {
    /// Loads the user's configuration and checks that credentials resolve, so a missing or
    /// expired login is one clear line before the screen opens.
    pub async fn connect(&self) -> Result<Clients, SourceError> {
        // Our provider caches and renews the credentials itself: no SDK cache in between that
        // would keep signing with keys AWS has rejected.
        let credentials = credentials::RenewableCredentials::new(
            self.profile.clone(),
            self.region.clone().map(Region::new),
        );
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .credentials_provider(credentials.clone())
            .identity_cache(IdentityCache::no_cache())
            // stackwatch decides how long to wait and shows it; the SDK does not retry.
            .retry_config(RetryConfig::disabled())
            .timeout_config(
                TimeoutConfig::builder()
                    .operation_timeout(OPERATION_TIMEOUT)
                    .connect_timeout(CONNECT_TIMEOUT)
                    .build(),
            );
        if let Some(profile) = &self.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(region) = &self.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(url) = &self.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        let config = loader.load().await;
        let files = error::ProfileFiles::locate();
        let name = self.profile_name();
        // The environment's keys come first in the chain, whatever the profile says.
        let login = if std::env::var_os("AWS_ACCESS_KEY_ID").is_some_and(|v| !v.is_empty()) {
            Login::Environment
        } else if files.signs_in_with_sso(&name) {
            Login::Sso
        } else {
            Login::Keys
        };
        let profile = Profile { name, login };
        let Some(region) = config.region().map(|r| r.to_string()) else {
            // A profile that does not exist has no region either: its name is what to fix.
            if !files.define(&profile.name) && !credentials_in_env() {
                return Err(SourceError::ProfileNotDefined {
                    profile: profile.name,
                    files: files.describe(),
                });
            }
            return Err(SourceError::NoRegion {
                profile: profile.name,
            });
        };
        check_credentials(&config, &profile).await?;
        let loopback = config
            .endpoint_url()
            .is_some_and(|u| u.contains("127.0.0.1") || u.contains("localhost"));
        // Each client tells the provider when AWS rejects what it signed with.
        macro_rules! watched {
            ($sdk:ident, $client:expr) => {
                $sdk::Client::from_conf(
                    $client
                        .config()
                        .to_builder()
                        .interceptor(credentials.watch())
                        .build(),
                )
            };
        }
        use {
            aws_sdk_cloudformation as cfn, aws_sdk_cloudwatchlogs as cwl, aws_sdk_ecs as ecs,
            aws_sdk_elasticloadbalancingv2 as elb,
        };
        Ok(Clients {
            cfn: watched!(cfn, cfn::Client::new(&config)),
            ecs: watched!(ecs, ecs::Client::new(&config)),
            elb: watched!(elb, elb::Client::new(&config)),
            logs: watched!(cwl, logs::client(&config, loopback)),
            region,
            profile,
        })
    }

    fn profile_name(&self) -> String {
        self.profile
            .clone()
            .or_else(|| std::env::var("AWS_PROFILE").ok())
            .unwrap_or_else(|| "default".to_string())
    }
}

/// The environment names a credential source of its own (keys, a web identity token, a
/// container endpoint): then no profile is needed.
fn credentials_in_env() -> bool {
    [
        "AWS_ACCESS_KEY_ID",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ]
    .iter()
    .any(|var| std::env::var_os(var).is_some_and(|v| !v.is_empty()))
}

async fn check_credentials(config: &SdkConfig, profile: &Profile) -> Result<(), SourceError> {
    let Some(provider) = config.credentials_provider() else {
        return Err(SourceError::NoCredentials {
            profile: profile.name.clone(),
            detail: "no credentials provider is configured".to_string(),
        });
    };
    match tokio::time::timeout(OPERATION_TIMEOUT, provider.provide_credentials()).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(error::from_credentials(
            &e,
            profile,
            &error::ProfileFiles::locate(),
        )),
        Err(_) => Err(SourceError::NoCredentials {
            profile: profile.name.clone(),
            detail: "loading credentials timed out".to_string(),
        }),
    }
}
