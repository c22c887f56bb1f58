//! Credentials that are read again after AWS rejects them.
//!
//! The SDK's identity cache keeps what it believes valid (profile keys without an expiry for
//! ever), and the profile provider keeps the files it parsed, so a plain retry after
//! ExpiredToken resends the same dead credentials. Here one shared provider owns the caching
//! instead: it wraps the default chain for the user's profile, and when a client's
//! [`ExpiryWatch`] interceptor sees AWS reject the credentials (or resolving them fails), it
//! builds a fresh chain on the next call, which reads the files and the SSO token cache again.
//! After `aws sso login` or new keys, the sources carry on by themselves.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use aws_config::default_provider::credentials::DefaultCredentialsChain;
use aws_config::provider_config::ProviderConfig;
use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{self, ProvideCredentials, future};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::AfterDeserializationInterceptorContextRef;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::Headers;
use aws_smithy_types::config_bag::ConfigBag;

use super::error::rejects_credentials;

/// At most one fresh chain this often, however many calls fail: each failing source asks, and
/// a login that has not happened yet gains nothing from being read again sooner.
const REBUILD_GAP: Duration = Duration::from_secs(10);
/// Credentials this close to their expiry are resolved again (from the same chain).
const EXPIRY_MARGIN: Duration = Duration::from_secs(60);
/// Resolving may call SSO or STS: it gives up after this long, like every call.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(20);

/// The credentials provider every client shares. Cheap to clone.
#[derive(Debug, Clone)]
pub struct RenewableCredentials {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    profile: Option<String>,
    region: Option<Region>,
    /// One resolution at a time: sources that call together wait for the same answer.
    current: tokio::sync::Mutex<Current>,
    /// Locked only briefly and never across an await: the interceptor's hook is synchronous.
    rebuild: Mutex<Rebuild>,
}

#[derive(Debug, Default)]
struct Current {
    chain: Option<Arc<DefaultCredentialsChain>>,
    cached: Option<Credentials>,
}

impl RenewableCredentials {
    /// The default chain for `profile` (else the environment's), in `region` (else the
    /// profile's). Nothing is read until the first call.
    pub fn new(profile: Option<String>, region: Option<Region>) -> Self {
        RenewableCredentials {
            inner: Arc::new(Inner {
                profile,
                region,
                current: tokio::sync::Mutex::new(Current::default()),
                rebuild: Mutex::new(Rebuild::new(REBUILD_GAP)),
            }),
        }
    }

    /// AWS rejected the credentials: the next call reads them afresh (rate-limited).
    pub fn invalidate(&self) {
        self.rebuild().want();
    }

    fn rebuild(&self) -> std::sync::MutexGuard<'_, Rebuild> {
        // A panic elsewhere while holding it leaves plain data: go on with it.
        self.inner
            .rebuild
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    async fn resolve(&self) -> provider::Result {
        let mut current = self.inner.current.lock().await;
        if self.rebuild().take(Instant::now()) {
            tracing::info!("reading the credentials again with a fresh provider chain");
            *current = Current::default();
        }
        if let Some(credentials) = &current.cached
            && fresh(credentials, SystemTime::now())
        {
            return Ok(credentials.clone());
        }
        let answer = tokio::time::timeout(RESOLVE_TIMEOUT, async {
            let chain = match &current.chain {
                Some(chain) => chain.clone(),
                None => {
                    let chain = Arc::new(self.chain().await);
                    current.chain = Some(chain.clone());
                    chain
                }
            };
            chain.provide_credentials().await
        })
        .await
        .unwrap_or_else(|_| Err(CredentialsError::provider_timed_out(RESOLVE_TIMEOUT)));
        match answer {
            Ok(credentials) => {
                current.cached = Some(credentials.clone());
                Ok(credentials)
            }
            Err(e) => {
                // Perhaps the login is being renewed right now: look again on a later call.
                current.cached = None;
                self.invalidate();
                Err(e)
            }
        }
    }

    /// What `aws_config::defaults` builds, for the same profile and region; a new
    /// `ProviderConfig` parses the profile files again.
    async fn chain(&self) -> DefaultCredentialsChain {
        let config = ProviderConfig::default()
            .with_behavior_version(Some(BehaviorVersion::latest()))
            .with_region(self.inner.region.clone());
        let mut builder = DefaultCredentialsChain::builder().configure(config);
        if let Some(profile) = &self.inner.profile {
            builder = builder.profile_name(profile);
        }
        if let Some(region) = &self.inner.region {
            builder = builder.region(region.clone());
        }
        builder.build().await
    }

    /// The interceptor that reports rejected credentials to this provider.
    pub fn watch(&self) -> ExpiryWatch {
        ExpiryWatch {
            credentials: self.clone(),
        }
    }
}

impl ProvideCredentials for RenewableCredentials {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(self.resolve())
    }
}

/// True when credentials are good for more than [`EXPIRY_MARGIN`] (keys without an expiry
/// always are, until AWS says otherwise).
fn fresh(credentials: &Credentials, now: SystemTime) -> bool {
    credentials.expiry().is_none_or(|at| {
        at.duration_since(now)
            .is_ok_and(|left| left > EXPIRY_MARGIN)
    })
}

/// Whether a fresh chain is due: wanted since the last one, and not sooner than `gap` after it.
#[derive(Debug)]
struct Rebuild {
    gap: Duration,
    wanted: bool,
    last: Option<Instant>,
}

impl Rebuild {
    fn new(gap: Duration) -> Self {
        Rebuild {
            gap,
            wanted: false,
            last: None,
        }
    }

    fn want(&mut self) {
        self.wanted = true;
    }

    /// True (once) when a rebuild is wanted and allowed at `now`. A wish made too soon is
    /// kept, so the next call after the gap still rebuilds.
    fn take(&mut self, now: Instant) -> bool {
        let allowed = self
            .last
            .is_none_or(|last| now.saturating_duration_since(last) >= self.gap);
        if self.wanted && allowed {
            self.wanted = false;
            self.last = Some(now);
            return true;
        }
        false
    }
}

/// On every client: when AWS answers that the credentials are expired or unknown, the shared
/// provider reads them again. The sources see the failure as usual (their health says
/// `credentials_expired`) and need no part in renewing.
#[derive(Debug)]
pub struct ExpiryWatch {
    credentials: RenewableCredentials,
}

impl Intercept for ExpiryWatch {
    fn name(&self) -> &'static str {
        "stackwatch-expiry-watch"
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let response = context.response();
        if !(400..500).contains(&response.status().as_u16()) {
            return Ok(());
        }
        // The body is in memory by now (the deserializer read it); a streamed one is skipped.
        let code = error_code(
            response.headers(),
            response.body().bytes().unwrap_or_default(),
        );
        if let Some(code) = code
            && rejects_credentials(&code)
        {
            tracing::warn!(%code, "AWS rejected the credentials");
            self.credentials.invalidate();
        }
        Ok(())
    }
}

/// The error code of a failed AWS response, in both protocols the four services speak:
/// awsJson's `x-amzn-errortype` header or `__type`/`code` field (without a `namespace#` prefix
/// or a `:` suffix), awsQuery's `<Code>` element.
fn error_code(headers: &Headers, body: &[u8]) -> Option<String> {
    let from_json = || {
        let value: serde_json::Value = serde_json::from_slice(body).ok()?;
        let code = value.get("code").or_else(|| value.get("__type"))?;
        code.as_str().map(str::to_string)
    };
    let from_xml = || {
        let text = std::str::from_utf8(body).ok()?;
        let start = text.find("<Code>")? + "<Code>".len();
        let len = text[start..].find("</Code>")?;
        Some(text[start..start + len].trim().to_string())
    };
    let code = headers
        .get("x-amzn-errortype")
        .map(str::to_string)
        .or_else(from_json)
        .or_else(from_xml)?;
    let code = code.split(':').next().unwrap_or_default();
    let code = code.rsplit('#').next().unwrap_or_default();
    (!code.is_empty()).then(|| code.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rebuilds_at_most_once_per_gap_and_keeps_a_wish_made_too_soon() {
        let gap = Duration::from_secs(10);
        let mut rebuild = Rebuild::new(gap);
        let t0 = Instant::now();
        assert!(!rebuild.take(t0), "nothing wanted");
        rebuild.want();
        assert!(rebuild.take(t0));
        assert!(!rebuild.take(t0), "taken once");
        // Every source fails within the gap: none of them rebuilds again.
        for s in 1..10 {
            rebuild.want();
            assert!(!rebuild.take(t0 + Duration::from_secs(s)));
        }
        // The wish waits for the gap to pass, then is taken once.
        assert!(rebuild.take(t0 + gap));
        assert!(!rebuild.take(t0 + gap * 3), "not wanted since");
    }

    #[test]
    fn error_codes_of_both_protocols() {
        let none = Headers::new();
        let json = br#"{"__type":"ExpiredTokenException","message":"The security token included in the request is expired"}"#;
        assert_eq!(
            error_code(&none, json).as_deref(),
            Some("ExpiredTokenException")
        );
        let namespaced = br#"{"__type":"com.amazonaws.logs#UnrecognizedClientException"}"#;
        assert_eq!(
            error_code(&none, namespaced).as_deref(),
            Some("UnrecognizedClientException")
        );
        let xml = b"<ErrorResponse><Error><Type>Sender</Type><Code>ExpiredToken</Code>\
                    <Message>The security token included in the request is expired</Message>\
                    </Error></ErrorResponse>";
        assert_eq!(error_code(&none, xml).as_deref(), Some("ExpiredToken"));
        let mut headers = Headers::new();
        headers.insert("x-amzn-errortype", "ExpiredTokenException:http://internal/");
        assert_eq!(
            error_code(&headers, b"{}").as_deref(),
            Some("ExpiredTokenException")
        );
        assert_eq!(error_code(&none, b"<html>500</html>"), None);
        assert_eq!(error_code(&none, b""), None);
    }

    #[test]
    fn credentials_near_their_expiry_are_not_fresh() {
        let now = SystemTime::now();
        let keys = Credentials::new("AKIA", "secret", None, None, "test");
        assert!(fresh(&keys, now));
        let session = |left| Credentials::new("ASIA", "s", Some("t".into()), Some(now + left), "t");
        assert!(fresh(&session(Duration::from_secs(3600)), now));
        assert!(!fresh(&session(Duration::from_secs(30)), now));
        assert!(!fresh(
            &Credentials::new("ASIA", "s", None, Some(now - Duration::from_secs(1)), "t"),
            now
        ));
    }
}
