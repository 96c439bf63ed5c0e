//! The Okta HTTP client: SSWS auth, Link paging (same origin only), retries with jittered
//! backoff, error classification, and every request admitted by the rate governor.
//!
//! The token is a `SecretString`: it is exposed only while building the `Authorization`
//! header and never appears in Debug output, logs or errors.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, HeaderValue, USER_AGENT};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use serde_json::value::RawValue;
use url::Url;

use super::governor::{Governor, RateHeaders, bucket_of};
use crate::{ConnectorError, IntegrationDomain, without_url};

/// Attempts per request for transient failures (5xx, resets, truncated or broken bodies).
pub const MAX_ATTEMPTS: u32 = 6;
/// 429s are waited out, not failures; this only stops a server that never recovers.
const MAX_RATE_LIMITED: u32 = 50;

/// One page of an answer.
#[derive(Debug)]
pub struct Page {
    pub body: Value,
    /// `Link rel="next"`, already checked to be same-origin.
    pub next: Option<Url>,
}

/// Backoff timing: base delay doubled per attempt, jittered by an injectable RNG.
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

pub struct OktaClient {
    http: reqwest::Client,
    domain: IntegrationDomain,
    token: SecretString,
    pub governor: Arc<Governor>,
    rng: Mutex<StdRng>,
    backoff: Backoff,
}

impl std::fmt::Debug for OktaClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OktaClient")
            .field("domain", &self.domain.as_str())
            .field("token", &"[REDACTED]")
            .finish()
    }
}

/// Okta's error body fields we branch on.
fn error_code(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| {
            v.get("errorCode")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_default()
}

fn error_summary(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| {
            v.get("errorSummary")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_else(|| body.chars().take(200).collect())
}

/// The fix for a 403 on an endpoint: which role to grant (API-NOTES §4).
pub fn permission_fix(path: &str) -> String {
    if path.contains("/roles") || path.contains("/iam/") {
        "reading admin role assignments needs SUPER_ADMIN (or a custom role with \"View roles, resources, and admin assignments\"); \
         grant it to the token's admin or accept that roles are not synced (E0000006 = the admin's role lacks this permission)"
            .into()
    } else {
        "grant the token's admin the READ_ONLY_ADMIN role (E0000006 = the admin's role lacks this permission)".into()
    }
}

fn header_min_u64(h: &HeaderMap, name: &str) -> Option<u64> {
    // Several values may appear; the minimum is the binding one (okta-sdk-python).
    h.get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|s| s.split(','))
        .filter_map(|s| s.trim().parse::<u64>().ok())
        .min()
}

pub fn rate_headers(h: &HeaderMap) -> RateHeaders {
    RateHeaders {
        limit: header_min_u64(h, "x-rate-limit-limit"),
        remaining: header_min_u64(h, "x-rate-limit-remaining"),
        reset: header_min_u64(h, "x-rate-limit-reset").and_then(|r| i64::try_from(r).ok()),
        date_ms: h
            .get(reqwest::header::DATE)
            .and_then(|v| v.to_str().ok())
            .and_then(|s| httpdate::parse_http_date(s).ok())
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .and_then(|d| i64::try_from(d.as_millis()).ok()),
    }
}

/// The `rel="next"` target of Link headers (several lines or one comma-joined value).
pub fn next_link(h: &HeaderMap) -> Option<String> {
    for v in h.get_all(reqwest::header::LINK) {
        let Ok(s) = v.to_str() else { continue };
        let mut rest = s;
        while let Some(open) = rest.find('<') {
            let after = &rest[open + 1..];
            let Some(close) = after.find('>') else { break };
            let target = &after[..close];
            let tail = &after[close + 1..];
            let params_end = tail.find('<').unwrap_or(tail.len());
            let params = &tail[..params_end];
            let is_next = params.split(';').any(|p| {
                let p = p.trim().trim_end_matches(',').trim();
                p.eq_ignore_ascii_case("rel=\"next\"") || p.eq_ignore_ascii_case("rel=next")
            });
            if is_next {
                return Some(target.to_string());
            }
            rest = tail;
        }
    }
    None
}

enum Attempt {
    /// A success answer, not yet parsed (the caller's parser decides whether it is whole).
    Done {
        bytes: bytes::Bytes,
        next: Option<Url>,
        request_id: Option<String>,
    },
    /// Transient: retry after backoff. Carries the failed response's request id.
    Retry {
        last: String,
        request_id: Option<String>,
    },
    /// 429: wait, then retry without counting an attempt.
    RateLimited {
        wait: Duration,
        request_id: Option<String>,
    },
    Fatal(ConnectorError),
}

/// An attempt that must be tried again.
enum Failed {
    Retry {
        last: String,
        request_id: Option<String>,
    },
    RateLimited {
        wait: Duration,
        request_id: Option<String>,
    },
}

impl OktaClient {
    pub fn new(
        domain: IntegrationDomain,
        token: SecretString,
        governor: Arc<Governor>,
        seed: u64,
    ) -> Result<Self, ConnectorError> {
        let loopback = matches!(domain.url().host(), Some(url::Host::Ipv4(ip)) if ip.is_loopback())
            || matches!(domain.url().host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback())
            || domain.url().host_str() == Some("localhost");
        let mut builder = reqwest::Client::builder();
        if loopback {
            // A local simulator: never route the token through a configured proxy.
            builder = builder.no_proxy();
        }
        let http = builder
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            // Redirects could carry the token elsewhere: never follow them.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ConnectorError::Http(format!("building the HTTP client: {e}")))?;
        Ok(OktaClient {
            http,
            domain,
            token,
            governor,
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
            backoff: Backoff::default(),
        })
    }

    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    pub fn domain(&self) -> &IntegrationDomain {
        &self.domain
    }

    /// Absolute URL for a path + query on the domain (`/api/v1/users?limit=200`).
    pub fn url(&self, path_and_query: &str) -> Result<Url, ConnectorError> {
        self.domain
            .url()
            .join(path_and_query)
            .map_err(|e| ConnectorError::Http(format!("bad request path {path_and_query}: {e}")))
    }

    /// Follow-up URL from a response (`Link` or body `_links.next`): same origin only.
    pub fn checked_next(&self, endpoint: &str, href: &str) -> Result<Url, ConnectorError> {
        let url =
            Url::parse(href)
                .or_else(|_| self.url(href))
                .map_err(|_| ConnectorError::Decode {
                    endpoint: endpoint.to_string(),
                    reason: format!("unparseable next link {href:?}"),
                })?;
        if !self.domain.same_origin(&url) {
            return Err(ConnectorError::CrossOrigin {
                endpoint: endpoint.to_string(),
                origin: url.origin().ascii_serialization(),
            });
        }
        Ok(url)
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

    /// GET a path on the domain.
    pub async fn get(&self, path_and_query: &str) -> Result<Page, ConnectorError> {
        let url = self.url(path_and_query)?;
        self.get_url(url).await
    }

    /// GET an absolute URL (must be on the domain), with retries and rate governance.
    pub async fn get_url(&self, url: Url) -> Result<Page, ConnectorError> {
        let (body, next) = self
            .fetch(url, |bytes| {
                if bytes.is_empty() {
                    Ok(Value::Null)
                } else {
                    serde_json::from_slice(bytes)
                }
            })
            .await?;
        Ok(Page { body, next })
    }

    /// GET one page of a list and map each item, straight from its JSON text, with `f` (see
    /// `wire`'s text readers); returns the mapped items and the next page. An answer that is
    /// valid JSON but not a list has no items (as an empty page).
    pub async fn get_items<T>(
        &self,
        url: Url,
        mut f: impl FnMut(&RawValue) -> Option<T>,
    ) -> Result<(Vec<T>, Option<Url>), ConnectorError> {
        self.fetch(url, |bytes| {
            Ok(page_items(bytes)?.into_iter().filter_map(&mut f).collect())
        })
        .await
    }

    /// The request loop: admitted by the governor, retried on transient failures and on a
    /// body `parse` refuses (a truncated answer), waited out on 429.
    async fn fetch<T>(
        &self,
        url: Url,
        mut parse: impl FnMut(&[u8]) -> Result<T, serde_json::Error>,
    ) -> Result<(T, Option<Url>), ConnectorError> {
        let endpoint = url.path().to_string();
        if !self.domain.same_origin(&url) {
            return Err(ConnectorError::CrossOrigin {
                endpoint,
                origin: url.origin().ascii_serialization(),
            });
        }
        let bucket = bucket_of("GET", url.path());
        let mut attempts = 0u32;
        let mut limited = 0u32;
        let mut retry_for: Option<String> = None;
        let mut retry_count = 0u32;
        loop {
            let ticket = self.governor.admit(&bucket).await;
            let outcome = self
                .attempt(&url, &endpoint, &bucket, retry_for.as_deref(), retry_count)
                .await;
            drop(ticket);
            // A body the parser refuses is retried like any other transient failure.
            let failed = match outcome {
                Attempt::Done {
                    bytes,
                    next,
                    request_id,
                } => match parse(&bytes) {
                    Ok(body) => return Ok((body, next)),
                    Err(e) => Failed::Retry {
                        last: format!("broken JSON: {e}"),
                        request_id,
                    },
                },
                Attempt::Retry { last, request_id } => Failed::Retry { last, request_id },
                Attempt::RateLimited { wait, request_id } => {
                    Failed::RateLimited { wait, request_id }
                }
                Attempt::Fatal(e) => return Err(e),
            };
            match failed {
                Failed::Retry { last, request_id } => {
                    attempts += 1;
                    if attempts >= MAX_ATTEMPTS {
                        return Err(ConnectorError::GaveUp {
                            endpoint,
                            attempts,
                            last,
                        });
                    }
                    self.governor
                        .retries
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    tracing::debug!(%endpoint, attempt = attempts, reason = %last, "Retrying.");
                    retry_for = request_id.or(retry_for);
                    retry_count += 1;
                    tokio::time::sleep(self.jitter(attempts - 1)).await;
                }
                Failed::RateLimited { wait, request_id } => {
                    limited += 1;
                    if limited > MAX_RATE_LIMITED {
                        return Err(ConnectorError::GaveUp {
                            endpoint,
                            attempts: limited,
                            last: "429 rate limited".into(),
                        });
                    }
                    self.governor
                        .rate_limited
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    self.governor
                        .retries
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    retry_for = request_id.or(retry_for);
                    retry_count += 1;
                    tracing::debug!(%endpoint, wait_ms = wait.as_millis() as u64, "Rate limited; waiting for the reset.");
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    /// A request to the integration's own origin on the shared HTTP client (no proxy for
    /// loopback, no redirects), with the SSWS token (marked sensitive) and the common headers.
    pub fn request(
        &self,
        method: reqwest::Method,
        url: Url,
    ) -> Result<reqwest::RequestBuilder, ConnectorError> {
        let mut auth = HeaderValue::from_str(&format!("SSWS {}", self.token.expose_secret()))
            .map_err(|_| {
                ConnectorError::Http(
                    "the API token contains characters that cannot be sent in a header".into(),
                )
            })?;
        auth.set_sensitive(true);
        Ok(self
            .http
            .request(method, url)
            .header(AUTHORIZATION, auth)
            .header(ACCEPT, "application/json")
            .header(USER_AGENT, concat!("steward/", env!("CARGO_PKG_VERSION"))))
    }

    async fn attempt(
        &self,
        url: &Url,
        endpoint: &str,
        bucket: &str,
        retry_for: Option<&str>,
        retry_count: u32,
    ) -> Attempt {
        let mut req = match self.request(reqwest::Method::GET, url.clone()) {
            Ok(req) => req,
            Err(e) => return Attempt::Fatal(e),
        };
        if let Some(id) = retry_for {
            req = req
                .header("X-Okta-Retry-For", id)
                .header("X-Okta-Retry-Count", retry_count.to_string());
        }
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                self.governor.no_answer(bucket);
                // Connection refused/reset, timeouts: transient. The error text holds no token.
                let host = url.host_str().unwrap_or_default();
                return Attempt::Retry {
                    last: format!("network error talking to {host}: {}", without_url(&e)),
                    request_id: None,
                };
            }
        };
        let status = resp.status();
        let headers = resp.headers().clone();
        let rh = rate_headers(&headers);
        self.governor.observe(bucket, &rh, status.as_u16());
        let request_id = headers
            .get("x-okta-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let bytes = match resp.bytes().await {
            Ok(b) => b,
            Err(e) => {
                return Attempt::Retry {
                    last: format!("answer cut off: {}", without_url(&e)),
                    request_id,
                };
            }
        };
        // Only error answers are read as text (a success body is parsed from the bytes; a
        // UTF-8 pass over every page cost ~1% of a large sync).
        let text = if status.is_success() {
            std::borrow::Cow::Borrowed("")
        } else {
            String::from_utf8_lossy(&bytes)
        };
        match status {
            s if s.is_success() => {
                let next = match next_link(&headers) {
                    Some(href) => match self.checked_next(endpoint, &href) {
                        Ok(u) => Some(u),
                        Err(e) => return Attempt::Fatal(e),
                    },
                    None => None,
                };
                Attempt::Done {
                    bytes,
                    next,
                    request_id,
                }
            }
            StatusCode::TOO_MANY_REQUESTS => {
                if rh.limit == Some(0) {
                    // Concurrency limit, not the bucket: fewer requests in flight, short wait.
                    self.governor.lower_cap();
                    let wait = self
                        .governor
                        .wait_for_reset(&rh)
                        .min(Duration::from_secs(2))
                        .max(Duration::from_millis(200));
                    Attempt::RateLimited { wait, request_id }
                } else {
                    Attempt::RateLimited {
                        wait: self
                            .governor
                            .wait_for_reset(&rh)
                            .min(Duration::from_secs(90)),
                        request_id,
                    }
                }
            }
            StatusCode::UNAUTHORIZED => {
                let code = error_code(&text);
                if code == "E0000015" {
                    Attempt::Fatal(ConnectorError::MissingPermission {
                        endpoint: endpoint.to_string(),
                        status: 401,
                        code,
                        fix:
                            "this feature is not enabled for the org (E0000015); it cannot be read"
                                .into(),
                    })
                } else {
                    Attempt::Fatal(ConnectorError::TokenRejected {
                        code: if code.is_empty() {
                            "E0000011".into()
                        } else {
                            code
                        },
                    })
                }
            }
            StatusCode::FORBIDDEN => Attempt::Fatal(ConnectorError::MissingPermission {
                endpoint: endpoint.to_string(),
                status: 403,
                code: error_code(&text),
                fix: permission_fix(endpoint),
            }),
            StatusCode::NOT_FOUND => Attempt::Fatal(ConnectorError::NotFound {
                endpoint: endpoint.to_string(),
                code: error_code(&text),
            }),
            s if s.is_server_error() => Attempt::Retry {
                last: format!("{} {}", s.as_u16(), error_summary(&text)),
                request_id,
            },
            s => Attempt::Fatal(ConnectorError::Unexpected {
                endpoint: endpoint.to_string(),
                status: s.as_u16(),
                body: text.chars().take(300).collect(),
            }),
        }
    }
}

/// The items of a list answer, each its own JSON text borrowed from the body. The whole
/// body is checked (a truncated answer is refused); a valid answer that is not a list (or
/// an empty body) has no items.
fn page_items(bytes: &[u8]) -> Result<Vec<&RawValue>, serde_json::Error> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Vec::new());
    }
    match serde_json::from_slice::<Vec<&RawValue>>(bytes) {
        Ok(items) => Ok(items),
        Err(e) => match serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
            Ok(_) => Ok(Vec::new()),
            Err(_) => Err(e),
        },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn page_items_are_the_list_items_and_a_cut_answer_is_refused() {
        let items = page_items(br#" [{"id":"a","x":[1,2]}, {"id":"b"}] "#).unwrap();
        assert_eq!(
            items.iter().map(|i| i.get()).collect::<Vec<_>>(),
            [r#"{"id":"a","x":[1,2]}"#, r#"{"id":"b"}"#]
        );
        assert!(page_items(b"").unwrap().is_empty());
        assert!(
            page_items(br#"{"errorCode":"E0000001"}"#)
                .unwrap()
                .is_empty()
        );
        assert!(page_items(br#"[{"id":"a"},{"id":"#).is_err());
        assert!(page_items(br#"[{"id":"a"}"#).is_err());
    }

    #[test]
    fn link_header_forms() {
        let mut h = HeaderMap::new();
        h.append(
            "link",
            HeaderValue::from_static("<https://a.okta.com/api/v1/users?limit=2>; rel=\"self\""),
        );
        h.append(
            "link",
            HeaderValue::from_static(
                "<https://a.okta.com/api/v1/users?after=x&limit=2>; rel=\"next\"",
            ),
        );
        assert_eq!(
            next_link(&h).unwrap(),
            "https://a.okta.com/api/v1/users?after=x&limit=2"
        );
        let mut h = HeaderMap::new();
        h.append(
            "link",
            HeaderValue::from_static("<https://a.okta.com/api/v1/apps?limit=2>; rel=\"self\", <https://a.okta.com/api/v1/apps?after=0oa&limit=2>; rel=\"next\""),
        );
        assert_eq!(
            next_link(&h).unwrap(),
            "https://a.okta.com/api/v1/apps?after=0oa&limit=2"
        );
        let mut h = HeaderMap::new();
        h.append(
            "link",
            HeaderValue::from_static("<https://a.okta.com/api/v1/apps?limit=2>; rel=\"self\""),
        );
        assert!(next_link(&h).is_none());
    }

    #[test]
    fn rate_headers_take_minimum() {
        let mut h = HeaderMap::new();
        h.append("x-rate-limit-limit", HeaderValue::from_static("600"));
        h.append("x-rate-limit-limit", HeaderValue::from_static("300"));
        h.append(
            "x-rate-limit-remaining",
            HeaderValue::from_static("299, 100"),
        );
        h.append(
            "date",
            HeaderValue::from_static("Mon, 23 Nov 2026 14:00:00 GMT"),
        );
        let r = rate_headers(&h);
        assert_eq!(r.limit, Some(300));
        assert_eq!(r.remaining, Some(100));
        assert!(r.date_ms.is_some());
        assert!(r.reset.is_none());
    }

    #[test]
    fn debug_hides_token() {
        let d = IntegrationDomain::parse_okta("acme.okta.com", crate::DomainOptions::default())
            .unwrap();
        let c = OktaClient::new(
            d,
            SecretString::from("00supersecret"),
            Arc::new(Governor::new(4, 90)),
            1,
        )
        .unwrap();
        assert!(!format!("{c:?}").contains("supersecret"));
    }
}
