//! The OneTrust HTTP client: bearer auth with an API key or an OAuth client-credentials
//! token, per-endpoint pacing under OneTrust's 1,000 requests/minute rule, `Retry-After`
//! on 429, jittered retries on 5xx / resets / truncated bodies.
//!
//! OneTrust sends no "remaining" header (API-NOTES §1), so the client can only pace itself:
//! each endpoint family (ids replaced by `{id}`) admits at most `limit` requests in any
//! rolling `window`, which also bounds every fixed minute the server may count in. Secrets
//! (API key, client secret, access token) are `SecretString`s: exposed only while building
//! a header or the token form, never in Debug output, logs or errors.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue, USER_AGENT};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use tokio::sync::Semaphore;
use url::Url;

use crate::{BucketReport, ConnectorError, IntegrationDomain, without_url};

/// Attempts per request for transient failures (5xx, resets, truncated or broken bodies).
pub const MAX_ATTEMPTS: u32 = 6;
/// 429s are waited out, not failures; this only stops a server that never recovers.
const MAX_RATE_LIMITED: u32 = 50;
/// Where API keys are made (the fix for every scope problem).
pub const KEY_PLACE: &str = "Global Settings → Access Management → Client Credentials → API Keys";

/// How the connector authenticates.
pub enum Auth {
    /// An API key: it is the bearer access token itself.
    ApiKey(SecretString),
    /// OAuth 2.0 client credentials, exchanged at `POST /api/access/v1/oauth/token`.
    ClientCredentials {
        client_id: String,
        client_secret: SecretString,
    },
}

impl Auth {
    /// Read the sealed credential: client credentials are stored as the JSON object
    /// `{"client_id": …, "client_secret": …}`, anything else is an API key.
    pub fn from_secret(secret: SecretString) -> Auth {
        let text = secret.expose_secret().trim();
        if text.starts_with('{')
            && let Ok(v) = serde_json::from_str::<Value>(text)
            && let (Some(id), Some(sec)) = (
                v.get("client_id").and_then(Value::as_str),
                v.get("client_secret").and_then(Value::as_str),
            )
        {
            return Auth::ClientCredentials {
                client_id: id.to_string(),
                client_secret: SecretString::from(sec.to_string()),
            };
        }
        Auth::ApiKey(secret)
    }

    /// The sealed form of client credentials (see [`Auth::from_secret`]).
    pub fn seal_client_credentials(client_id: &str, client_secret: &SecretString) -> SecretString {
        SecretString::from(
            serde_json::json!({"client_id": client_id, "client_secret": client_secret.expose_secret()}).to_string(),
        )
    }
}

/// Pacing: at most `limit` requests per endpoint family in any rolling `window`.
#[derive(Debug, Clone, Copy)]
pub struct Pacing {
    pub limit: usize,
    pub window: Duration,
}

impl Default for Pacing {
    /// 1,000/minute per endpoint (S7), with half a second of slack for clock skew.
    fn default() -> Self {
        Pacing {
            limit: 1000,
            window: Duration::from_millis(60_500),
        }
    }
}

/// Backoff timing: base delay doubled per attempt, jittered by a seeded RNG.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: Duration::from_millis(100),
            max: Duration::from_secs(5),
        }
    }
}

/// The OneTrust scope an endpoint needs (per-operation `security` in the OpenAPI files).
pub fn scope_of(path: &str) -> &'static str {
    if path.contains("/external/organizations") {
        "ORGANIZATION"
    } else if path.contains("/scim/") || path.starts_with("/v2/") {
        "SCIM"
    } else {
        "USER"
    }
}

/// What to do about a missing scope.
pub fn scope_fix(scope: &str) -> String {
    format!(
        "generate an API key under {KEY_PLACE} with the {scope} scope (or add {scope} to the client credentials) and replace the credential with `steward integration set-token`"
    )
}

/// Endpoint family: ids (uuids, numbers, long opaque segments) replaced by `{id}`.
pub fn bucket_of(method: &str, path: &str) -> String {
    let family: Vec<String> = path
        .split('/')
        .map(|seg| {
            let idish = seg.len() >= 16 && seg.chars().any(|c| c.is_ascii_digit())
                || (!seg.is_empty() && seg.chars().all(|c| c.is_ascii_digit()));
            if idish {
                "{id}".to_string()
            } else {
                seg.to_string()
            }
        })
        .collect();
    format!("{method} {}", family.join("/"))
}

#[derive(Default)]
struct Buckets {
    sent: HashMap<String, VecDeque<Instant>>,
    /// Per-endpoint quotas learnt from 429s (`ot-requests-allowed` with `ot-period: MINUTE`)
    /// when the tenant is stricter than the published 1,000/minute.
    limits: HashMap<String, usize>,
    reports: BTreeMap<String, BucketReport>,
}

pub struct OtClient {
    http: reqwest::Client,
    domain: IntegrationDomain,
    auth: Auth,
    /// Access token from the client-credentials grant, with when it stops being used.
    token: tokio::sync::Mutex<Option<(SecretString, Instant)>>,
    pacing: Pacing,
    backoff: Backoff,
    rng: Mutex<StdRng>,
    buckets: Mutex<Buckets>,
    in_flight: Semaphore,
    pub requests: AtomicU64,
    pub retries: AtomicU64,
    pub rate_limited: AtomicU64,
    /// `orgGroupId` / `tenantGuid` from the token answer (who the credential belongs to).
    pub token_info: Mutex<Option<Value>>,
}

impl std::fmt::Debug for OtClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtClient")
            .field("domain", &self.domain.as_str())
            .field("credential", &"[REDACTED]")
            .finish()
    }
}

enum Attempt {
    Done(Value),
    Retry(String),
    /// Wait, and the per-minute quota the answer's `ot-*` headers stated (if any).
    RateLimited(Duration, Option<usize>),
    Unauthorized(String),
    Fatal(ConnectorError),
}

/// A short reason from an error body: `message`, `error_description`, `error`, SCIM `detail`,
/// or the raw text (OneTrust declares no error schema).
fn error_text(body: &str) -> String {
    if let Ok(v) = serde_json::from_str::<Value>(body) {
        for k in ["message", "error_description", "detail", "error"] {
            if let Some(s) = v.get(k).and_then(Value::as_str) {
                return s.to_string();
            }
        }
    }
    body.chars().take(200).collect()
}

fn is_loopback(domain: &IntegrationDomain) -> bool {
    match domain.url().host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    }
}

impl OtClient {
    pub fn new(
        domain: IntegrationDomain,
        auth: Auth,
        max_in_flight: usize,
        seed: u64,
    ) -> Result<Self, ConnectorError> {
        let mut builder = reqwest::Client::builder();
        if is_loopback(&domain) {
            // A local simulator: never route the credential through a configured proxy.
            builder = builder.no_proxy();
        }
        let http = builder
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            // Redirects could carry the credential elsewhere: never follow them.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ConnectorError::Http(format!("building the HTTP client: {e}")))?;
        Ok(OtClient {
            http,
            domain,
            auth,
            token: tokio::sync::Mutex::new(None),
            pacing: Pacing::default(),
            backoff: Backoff::default(),
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
            buckets: Mutex::new(Buckets::default()),
            in_flight: Semaphore::new(max_in_flight.max(1)),
            requests: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            rate_limited: AtomicU64::new(0),
            token_info: Mutex::new(None),
        })
    }

    pub fn with_pacing(mut self, pacing: Pacing) -> Self {
        self.pacing = pacing;
        self
    }

    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    pub fn domain(&self) -> &IntegrationDomain {
        &self.domain
    }

    pub fn bucket_reports(&self) -> BTreeMap<String, BucketReport> {
        self.buckets
            .lock()
            .map(|b| b.reports.clone())
            .unwrap_or_default()
    }

    fn note(&self, bucket: &str, limited: bool) {
        if let Ok(mut b) = self.buckets.lock() {
            let limit = b.limits.get(bucket).copied().unwrap_or(self.pacing.limit);
            let r = b.reports.entry(bucket.to_string()).or_default();
            r.requests += 1;
            if limited {
                r.rate_limited += 1;
            }
            r.limit = Some(limit as u64);
        }
    }

    /// A 429 said the endpoint's per-minute quota is `allowed`: pace under it from now on.
    fn learn_limit(&self, bucket: &str, allowed: usize) {
        if let Ok(mut b) = self.buckets.lock()
            && allowed > 0
            && allowed < self.pacing.limit
        {
            tracing::info!(%bucket, allowed, "OneTrust's per-minute quota for this endpoint is lower than published; pacing under it.");
            b.limits.insert(bucket.to_string(), allowed);
        }
    }

    /// Wait until the endpoint family may send another request, then count it.
    async fn admit(&self, bucket: &str) {
        loop {
            let wait = {
                let Ok(mut b) = self.buckets.lock() else {
                    return;
                };
                let now = Instant::now();
                let limit = b.limits.get(bucket).copied().unwrap_or(self.pacing.limit);
                let q = b.sent.entry(bucket.to_string()).or_default();
                while q
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= self.pacing.window)
                {
                    q.pop_front();
                }
                if q.len() < limit {
                    q.push_back(now);
                    return;
                }
                q.front()
                    .map(|t| self.pacing.window.saturating_sub(now.duration_since(*t)))
                    .unwrap_or_default()
            };
            tokio::time::sleep(wait.max(Duration::from_millis(1))).await;
        }
    }

    fn jitter(&self, attempt: u32) -> Duration {
        let exp = self
            .backoff
            .base
            .saturating_mul(1u32 << attempt.min(16))
            .min(self.backoff.max);
        let f: f64 = self
            .rng
            .lock()
            .map(|mut r| r.gen_range(0.5..1.0))
            .unwrap_or(0.75);
        exp.mul_f64(f)
    }

    pub fn url(&self, path_and_query: &str) -> Result<Url, ConnectorError> {
        self.domain
            .url()
            .join(path_and_query)
            .map_err(|e| ConnectorError::Http(format!("bad request path {path_and_query}: {e}")))
    }

    /// The bearer token: the API key, or a (cached) client-credentials access token.
    async fn bearer(&self, refresh: bool) -> Result<SecretString, ConnectorError> {
        match &self.auth {
            Auth::ApiKey(k) => Ok(k.clone()),
            Auth::ClientCredentials {
                client_id,
                client_secret,
            } => {
                let mut guard = self.token.lock().await;
                if !refresh
                    && let Some((t, until)) = guard.as_ref()
                    && Instant::now() < *until
                {
                    return Ok(t.clone());
                }
                let (token, ttl) = self.fetch_token(client_id, client_secret).await?;
                *guard = Some((token.clone(), Instant::now() + ttl));
                Ok(token)
            }
        }
    }

    async fn fetch_token(
        &self,
        client_id: &str,
        client_secret: &SecretString,
    ) -> Result<(SecretString, Duration), ConnectorError> {
        const PATH: &str = "/api/access/v1/oauth/token";
        let url = self.url(PATH)?;
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "client_credentials")
            .append_pair("client_id", client_id)
            .append_pair("client_secret", client_secret.expose_secret())
            .finish();
        let mut attempts = 0u32;
        loop {
            self.admit(&bucket_of("POST", PATH)).await;
            self.requests.fetch_add(1, Ordering::Relaxed);
            self.note(&bucket_of("POST", PATH), false);
            let sent = self
                .http
                .post(url.clone())
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(ACCEPT, "application/json")
                .body(form.clone())
                .send()
                .await;
            let retry = match sent {
                Err(e) => format!("network error: {}", without_url(&e)),
                Ok(resp) => {
                    let status = resp.status();
                    let retry_after = retry_after(resp.headers());
                    let text = resp.text().await.unwrap_or_default();
                    match status {
                        s if s.is_success() => {
                            let v: Value = serde_json::from_str(&text).map_err(|e| {
                                ConnectorError::Decode {
                                    endpoint: PATH.into(),
                                    reason: e.to_string(),
                                }
                            })?;
                            let token =
                                v.get("access_token")
                                    .and_then(Value::as_str)
                                    .ok_or_else(|| ConnectorError::Decode {
                                        endpoint: PATH.into(),
                                        reason: "no access_token in the answer".into(),
                                    })?;
                            let ttl = v.get("expires_in").and_then(Value::as_u64).unwrap_or(3600);
                            // Renew a minute early so a token never expires mid-request.
                            let ttl = Duration::from_secs(ttl.saturating_sub(60).max(1));
                            let mut info = serde_json::Map::new();
                            for k in [
                                "orgGroupId",
                                "orgGroupGuid",
                                "tenantGuid",
                                "tenantId",
                                "scope",
                                "ot_scopes",
                                "user_name",
                                "email",
                            ] {
                                if let Some(x) = v.get(k) {
                                    info.insert(k.to_string(), x.clone());
                                }
                            }
                            if let Ok(mut i) = self.token_info.lock() {
                                *i = Some(Value::Object(info));
                            }
                            return Ok((SecretString::from(token.to_string()), ttl));
                        }
                        StatusCode::BAD_REQUEST
                        | StatusCode::UNAUTHORIZED
                        | StatusCode::FORBIDDEN => {
                            return Err(ConnectorError::CredentialRejected {
                                status: status.as_u16(),
                                fix: format!(
                                    "OneTrust refused the client credentials ({}); check the client id and secret under {KEY_PLACE} → Client Credentials, or use an API key",
                                    error_text(&text)
                                ),
                            });
                        }
                        StatusCode::TOO_MANY_REQUESTS => {
                            self.rate_limited.fetch_add(1, Ordering::Relaxed);
                            tokio::time::sleep(retry_after.unwrap_or(Duration::from_secs(1))).await;
                            continue;
                        }
                        s => format!("{} {}", s.as_u16(), error_text(&text)),
                    }
                }
            };
            attempts += 1;
            if attempts >= MAX_ATTEMPTS {
                return Err(ConnectorError::GaveUp {
                    endpoint: PATH.into(),
                    attempts,
                    last: retry,
                });
            }
            self.retries.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(self.jitter(attempts - 1)).await;
        }
    }

    /// GET a path (with query) on the domain, as JSON.
    pub async fn get(&self, path_and_query: &str) -> Result<Value, ConnectorError> {
        self.send(reqwest::Method::GET, path_and_query, None).await
    }

    /// Send a request with retries, pacing and `Retry-After`; `Value::Null` for empty answers
    /// (SCIM PATCH may answer 204).
    pub async fn send(
        &self,
        method: reqwest::Method,
        path_and_query: &str,
        body: Option<&Value>,
    ) -> Result<Value, ConnectorError> {
        let url = self.url(path_and_query)?;
        let endpoint = url.path().to_string();
        if !self.domain.same_origin(&url) {
            return Err(ConnectorError::CrossOrigin {
                endpoint,
                origin: url.origin().ascii_serialization(),
            });
        }
        let bucket = bucket_of(method.as_str(), &endpoint);
        let mut attempts = 0u32;
        let mut limited = 0u32;
        let mut refreshed = false;
        let mut refresh = false;
        loop {
            let token = self.bearer(refresh).await?;
            refresh = false;
            self.admit(&bucket).await;
            let outcome = {
                let _permit = self.in_flight.acquire().await;
                self.attempt(&method, &url, &endpoint, &token, body).await
            };
            self.requests.fetch_add(1, Ordering::Relaxed);
            self.note(&bucket, matches!(outcome, Attempt::RateLimited(..)));
            match outcome {
                Attempt::Done(v) => return Ok(v),
                Attempt::Fatal(e) => return Err(e),
                Attempt::Unauthorized(reason) => {
                    // An expired client-credentials token: get a new one once.
                    if matches!(self.auth, Auth::ClientCredentials { .. }) && !refreshed {
                        refreshed = true;
                        refresh = true;
                        continue;
                    }
                    return Err(ConnectorError::CredentialRejected {
                        status: 401,
                        fix: format!(
                            "OneTrust rejected the credential ({reason}): the API key may be expired or revoked; generate a new one under {KEY_PLACE} and replace it with `steward integration set-token`"
                        ),
                    });
                }
                Attempt::Retry(last) => {
                    attempts += 1;
                    if attempts >= MAX_ATTEMPTS {
                        return Err(ConnectorError::GaveUp {
                            endpoint,
                            attempts,
                            last,
                        });
                    }
                    self.retries.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(%endpoint, attempt = attempts, reason = %last, "Retrying.");
                    tokio::time::sleep(self.jitter(attempts - 1)).await;
                }
                Attempt::RateLimited(wait, allowed) => {
                    if let Some(n) = allowed {
                        self.learn_limit(&bucket, n);
                    }
                    limited += 1;
                    if limited > MAX_RATE_LIMITED {
                        return Err(ConnectorError::GaveUp {
                            endpoint,
                            attempts: limited,
                            last: "429 rate limited".into(),
                        });
                    }
                    self.rate_limited.fetch_add(1, Ordering::Relaxed);
                    self.retries.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(%endpoint, wait_ms = wait.as_millis() as u64, "Rate limited; waiting for Retry-After.");
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    async fn attempt(
        &self,
        method: &reqwest::Method,
        url: &Url,
        endpoint: &str,
        token: &SecretString,
        body: Option<&Value>,
    ) -> Attempt {
        let mut auth = match HeaderValue::from_str(&format!("Bearer {}", token.expose_secret())) {
            Ok(h) => h,
            Err(_) => {
                return Attempt::Fatal(ConnectorError::Http(
                    "the credential contains characters that cannot be sent in a header".into(),
                ));
            }
        };
        auth.set_sensitive(true);
        let mut req = self
            .http
            .request(method.clone(), url.clone())
            .header(AUTHORIZATION, auth)
            .header(ACCEPT, "application/json, application/scim+json")
            .header(USER_AGENT, concat!("steward/", env!("CARGO_PKG_VERSION")));
        if let Some(b) = body {
            req = req
                .header(CONTENT_TYPE, "application/scim+json")
                .body(b.to_string());
        }
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                return Attempt::Retry(format!(
                    "network error talking to {}: {}",
                    url.host_str().unwrap_or_default(),
                    without_url(&e)
                ));
            }
        };
        let status = resp.status();
        let wait = retry_after(resp.headers());
        let minute_quota = minute_quota(resp.headers());
        let bytes = match resp.bytes().await {
            Ok(b) => b,
            Err(e) => return Attempt::Retry(format!("answer cut off: {}", without_url(&e))),
        };
        let text = String::from_utf8_lossy(&bytes);
        match status {
            s if s.is_success() => {
                if bytes.is_empty() {
                    return Attempt::Done(Value::Null);
                }
                match serde_json::from_slice(&bytes) {
                    Ok(v) => Attempt::Done(v),
                    Err(e) => Attempt::Retry(format!("broken JSON: {e}")),
                }
            }
            // No Retry-After: wait a second and try again (still not a lost record).
            StatusCode::TOO_MANY_REQUESTS => Attempt::RateLimited(
                wait.unwrap_or(Duration::from_secs(1))
                    .min(Duration::from_secs(3600)),
                minute_quota,
            ),
            StatusCode::UNAUTHORIZED => Attempt::Unauthorized(error_text(&text)),
            StatusCode::FORBIDDEN => {
                let scope = scope_of(endpoint);
                Attempt::Fatal(ConnectorError::MissingPermission {
                    endpoint: endpoint.to_string(),
                    status: 403,
                    code: scope.to_string(),
                    fix: format!(
                        "the credential lacks the {scope} scope ({}); {}",
                        error_text(&text),
                        scope_fix(scope)
                    ),
                })
            }
            StatusCode::NOT_FOUND => Attempt::Fatal(ConnectorError::NotFound {
                endpoint: endpoint.to_string(),
                code: error_text(&text),
            }),
            s if s.is_server_error() => {
                Attempt::Retry(format!("{} {}", s.as_u16(), error_text(&text)))
            }
            s => Attempt::Fatal(ConnectorError::Unexpected {
                endpoint: endpoint.to_string(),
                status: s.as_u16(),
                body: text.chars().take(300).collect(),
            }),
        }
    }
}

/// `ot-requests-allowed` when `ot-period` is `MINUTE` (the per-endpoint quota); the hourly
/// quota is account-wide and only waited out.
fn minute_quota(h: &reqwest::header::HeaderMap) -> Option<usize> {
    let period = h.get("ot-period")?.to_str().ok()?;
    if !period.trim().eq_ignore_ascii_case("MINUTE") {
        return None;
    }
    h.get("ot-requests-allowed")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// `Retry-After` in seconds (or an HTTP date), as a wait.
fn retry_after(h: &reqwest::header::HeaderMap) -> Option<Duration> {
    let v = h
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .to_string();
    if let Ok(secs) = v.parse::<f64>() {
        return Some(Duration::from_secs_f64(secs.max(0.0)));
    }
    let at = httpdate::parse_http_date(&v).ok()?;
    Some(
        at.duration_since(std::time::SystemTime::now())
            .unwrap_or_default(),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn buckets_replace_ids() {
        assert_eq!(
            bucket_of("GET", "/api/scim/v2/Users"),
            "GET /api/scim/v2/Users"
        );
        assert_eq!(
            bucket_of(
                "GET",
                "/api/access/v1/user-groups/5f8a1b2c-1111-2222-3333-444455556666/members"
            ),
            "GET /api/access/v1/user-groups/{id}/members"
        );
        assert_eq!(
            bucket_of("GET", "/api/audit/v1/users/12345/activities"),
            "GET /api/audit/v1/users/{id}/activities"
        );
    }

    #[test]
    fn minute_quota_only_from_minute_periods() {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert("ot-period", HeaderValue::from_static("MINUTE"));
        h.insert("ot-requests-allowed", HeaderValue::from_static("300"));
        assert_eq!(minute_quota(&h), Some(300));
        h.insert("ot-period", HeaderValue::from_static("HOUR"));
        assert_eq!(minute_quota(&h), None);
        h.insert("retry-after", HeaderValue::from_static("55"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(55)));
    }

    #[test]
    fn scopes_by_path() {
        assert_eq!(scope_of("/api/scim/v2/Users"), "SCIM");
        assert_eq!(
            scope_of("/api/access/v1/external/organizations"),
            "ORGANIZATION"
        );
        assert_eq!(scope_of("/api/access/v2/users"), "USER");
        assert_eq!(scope_of("/api/access/v1/login-history"), "USER");
    }

    #[test]
    fn client_credentials_round_trip_and_debug_hides_secrets() {
        let sealed = Auth::seal_client_credentials("cid", &SecretString::from("s3cr3t"));
        match Auth::from_secret(sealed) {
            Auth::ClientCredentials {
                client_id,
                client_secret,
            } => {
                assert_eq!(client_id, "cid");
                assert_eq!(client_secret.expose_secret(), "s3cr3t");
            }
            Auth::ApiKey(_) => panic!("expected client credentials"),
        }
        assert!(matches!(
            Auth::from_secret(SecretString::from("opaque-key")),
            Auth::ApiKey(_)
        ));
        let d = IntegrationDomain::parse_onetrust(
            "acme.my.onetrust.com",
            crate::DomainOptions::default(),
        )
        .unwrap();
        let c = OtClient::new(d, Auth::ApiKey(SecretString::from("supersecretkey")), 2, 1).unwrap();
        assert!(!format!("{c:?}").contains("supersecret"));
    }
}
