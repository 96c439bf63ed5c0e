//! The traffic layer in front of `/api/*`: concurrency limit, rate-limit admission and
//! headers, fault injection, and the counters behind `/__sim/stats`.
//!
//! Wiring (in `server::router`):
//!
//! ```ignore
//! let traffic = Arc::new(Traffic::new(rate_config, fault_spec, seed, on_event)?);
//! Router::new().nest("/api", api_routes)
//!     .layer(axum::middleware::from_fn_with_state(traffic.clone(), traffic::layer));
//! // GET /__sim/stats => Json(traffic.stats_json())
//! ```
//!
//! Order per request: (1) concurrency: past the limit → 429 with `X-Rate-Limit-Limit: 0`,
//! nothing else counted; (2) rate admission in the request's bucket: past the quota → 429
//! E0000047, which does not use quota; (3) faults, drawn for every request that got this far
//! and was admitted — a faulted request has used quota, as on Okta, where a 500 or a dropped
//! connection still counted; (4) the handler. Every `/api` response that has headers carries
//! `X-Rate-Limit-Limit/Remaining/Reset`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use serde_json::json;

use crate::faults::{Fault, FaultSpec};
use crate::rate::{Admission, BucketState, Limits, RateConfig, RateEvent};

/// Called for every rate event; the core appends it to the System Log.
pub type EventSink = Arc<dyn Fn(RateEvent) + Send + Sync>;

/// Shared state of the traffic layer.
pub struct Traffic {
    pub config: RateConfig,
    pub faults: FaultSpec,
    pub seed: u64,
    pub on_event: EventSink,
    limits: Limits,
    buckets: Mutex<BTreeMap<&'static str, BucketState>>,
    in_flight: AtomicU64,
    max_in_flight: AtomicU64,
    concurrency_rejections: AtomicU64,
    /// When the last concurrency violation was logged (one event per window at most).
    last_concurrency_event: Mutex<Option<Instant>>,
    /// Request number for fault decisions (arrival order).
    counter: AtomicU64,
    fault_counts: Mutex<BTreeMap<&'static str, u64>>,
    /// Maps `Instant`s to epoch seconds for `X-Rate-Limit-Reset`.
    clock_base: (Instant, SystemTime),
}

impl std::fmt::Debug for Traffic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Traffic")
            .field("limits", &self.limits)
            .field("faults", &self.faults)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TrafficError {
    #[error("rate-limit file {path}: {reason}")]
    RateFile { path: String, reason: String },
}

const FAULT_KEYS: [&str; 5] = ["http500", "reset", "slow", "truncate", "bad_json"];

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Decrements the in-flight count when the request is done (or dropped by the client).
struct InFlight(Arc<Traffic>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Traffic {
    pub fn new(
        config: RateConfig,
        faults: FaultSpec,
        seed: u64,
        on_event: EventSink,
    ) -> Result<Self, TrafficError> {
        let limits = Limits::resolve(&config).map_err(|e| TrafficError::RateFile {
            path: match &config.mode {
                crate::rate::RateLimitMode::File(p) => p.display().to_string(),
                _ => String::new(),
            },
            reason: e.0,
        })?;
        Ok(Self::with_limits(config, limits, faults, seed, on_event))
    }

    fn with_limits(
        config: RateConfig,
        limits: Limits,
        faults: FaultSpec,
        seed: u64,
        on_event: EventSink,
    ) -> Self {
        Traffic {
            config,
            faults,
            seed,
            on_event,
            limits,
            buckets: Mutex::new(BTreeMap::new()),
            in_flight: AtomicU64::new(0),
            max_in_flight: AtomicU64::new(0),
            concurrency_rejections: AtomicU64::new(0),
            last_concurrency_event: Mutex::new(None),
            counter: AtomicU64::new(0),
            fault_counts: Mutex::new(FAULT_KEYS.iter().map(|k| (*k, 0)).collect()),
            clock_base: (Instant::now(), SystemTime::now()),
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// JSON for `GET /__sim/stats`.
    pub fn stats_json(&self) -> serde_json::Value {
        let buckets: serde_json::Map<String, serde_json::Value> = lock(&self.buckets)
            .iter()
            .filter(|(_, s)| s.requests > 0)
            .map(|(name, s)| {
                let limit = self.limits.limit(name);
                let share = if limit == 0 {
                    0.0
                } else {
                    s.max_window_requests as f64 / limit as f64
                };
                let share = (share * 10_000.0).round() / 10_000.0;
                (
                    name.to_string(),
                    json!({
                        "requests": s.requests,
                        "rate_limited": s.rate_limited,
                        "limit": limit,
                        "max_window_requests": s.max_window_requests,
                        "max_window_share": share,
                        "warnings": s.warnings,
                        "violations": s.violations,
                    }),
                )
            })
            .collect();
        let faults: serde_json::Map<String, serde_json::Value> = lock(&self.fault_counts)
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        json!({
            "buckets": buckets,
            "max_in_flight": self.max_in_flight.load(Ordering::SeqCst),
            "concurrency_rejections": self.concurrency_rejections.load(Ordering::SeqCst),
            "faults": faults,
        })
    }

    /// Epoch seconds of an instant, rounded up so a client that waits until then is past it.
    fn epoch_secs(&self, at: Instant) -> u64 {
        let (base_i, base_s) = self.clock_base;
        let wall = base_s + at.saturating_duration_since(base_i);
        let d = wall.duration_since(UNIX_EPOCH).unwrap_or_default();
        d.as_secs() + u64::from(d.subsec_nanos() > 0)
    }

    fn admit(&self, bucket: &'static str, now: Instant) -> Admission {
        let limit = self.limits.limit(bucket);
        let mut buckets = lock(&self.buckets);
        buckets
            .entry(bucket)
            .or_default()
            .admit(bucket, now, limit, &self.limits)
    }

    fn count_fault(&self, key: &'static str) {
        *lock(&self.fault_counts).entry(key).or_insert(0) += 1;
    }

    /// Log a concurrency violation at most once per window.
    fn concurrency_event_due(&self, now: Instant) -> bool {
        let mut last = lock(&self.last_concurrency_event);
        match *last {
            Some(t) if now < t + self.limits.window => false,
            _ => {
                *last = Some(now);
                true
            }
        }
    }

    fn emit(&self, events: Vec<RateEvent>) {
        for ev in events {
            (self.on_event)(ev);
        }
    }

    fn error_id(&self, n: u64) -> String {
        const A: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-";
        let mut x = self.seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5EED_0047;
        (0..22)
            .map(|_| {
                x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
                let mut z = x;
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                z ^= z >> 31;
                A[(z % 64) as usize] as char
            })
            .collect()
    }
}

/// Okta's error body with `Content-Type: application/json`.
fn okta_error(status: StatusCode, code: &str, summary: &str, error_id: &str) -> Response {
    let body = json!({
        "errorCode": code,
        "errorSummary": summary,
        "errorLink": code,
        "errorId": format!("oae{error_id}"),
        "errorCauses": [],
    });
    let mut resp = Response::new(Body::from(body.to_string()));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

fn too_many(error_id: &str) -> Response {
    okta_error(
        StatusCode::TOO_MANY_REQUESTS,
        "E0000047",
        "API call exceeded rate limit due to too many requests.",
        error_id,
    )
}

fn set_rate_headers(resp: &mut Response, limit: u64, remaining: u64, reset: u64) {
    let h = resp.headers_mut();
    h.insert("x-rate-limit-limit", HeaderValue::from(limit));
    h.insert("x-rate-limit-remaining", HeaderValue::from(remaining));
    h.insert("x-rate-limit-reset", HeaderValue::from(reset));
}

/// A body that yields `prefix`, then fails: hyper then aborts the connection, so the client
/// sees a transport error instead of a complete response. With no prefix the failure comes
/// before hyper has flushed the head (a dropped connection, no response at all); with one, a
/// short pause lets the head and the prefix reach the client first (a cut-off body).
fn failing_body(prefix: Bytes) -> Body {
    use futures::StreamExt;
    let err = || {
        std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "simulated fault: connection dropped",
        )
    };
    if prefix.is_empty() {
        return Body::from_stream(futures::stream::iter([Err::<Bytes, _>(err())]));
    }
    let head = futures::stream::iter([Ok::<Bytes, std::io::Error>(prefix)]);
    let tail = futures::stream::once(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        Err::<Bytes, _>(err())
    });
    Body::from_stream(head.chain(tail))
}

/// axum middleware (use with `axum::middleware::from_fn_with_state`).
pub async fn layer(
    axum::extract::State(traffic): axum::extract::State<Arc<Traffic>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let t = traffic;
    let now = Instant::now();
    let bucket = crate::rate::bucket_for(request.method().as_str(), request.uri().path());

    // (1) Concurrency.
    let in_flight = t.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    let guard = InFlight(t.clone());
    t.max_in_flight.fetch_max(in_flight, Ordering::SeqCst);
    let n = t.counter.fetch_add(1, Ordering::SeqCst);
    if let Some(limit) = t.limits.concurrency
        && in_flight > limit
    {
        drop(guard);
        t.concurrency_rejections.fetch_add(1, Ordering::SeqCst);
        if t.concurrency_event_due(now) {
            t.emit(vec![RateEvent::ConcurrencyViolation { limit }]);
        }
        let mut resp = too_many(&t.error_id(n));
        // Okta reports Limit 0 and an *estimated* reset for concurrency 429s.
        set_rate_headers(&mut resp, 0, 0, t.epoch_secs(now + Duration::from_secs(1)));
        return resp;
    }

    // (2) Rate admission.
    let adm = t.admit(bucket, now);
    let events = adm.events.clone();
    t.emit(events);
    let reset = t.epoch_secs(adm.reset_at);
    if !adm.allowed {
        let mut resp = too_many(&t.error_id(n));
        set_rate_headers(&mut resp, adm.limit, 0, reset);
        return resp;
    }

    // (3) Faults.
    let decision = t.faults.decide(t.seed, n);
    if decision.slow {
        t.count_fault("slow");
        tokio::time::sleep(t.faults.slow_for).await;
    }
    if let Some(f) = decision.fault {
        t.count_fault(f.as_str());
    }
    let mut resp = match decision.fault {
        Some(Fault::Http500) => okta_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "E0000009",
            "Internal Server Error",
            &t.error_id(n),
        ),
        Some(Fault::Reset) => {
            let mut r = Response::new(failing_body(Bytes::new()));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            r.headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from(64u64));
            r
        }
        Some(Fault::Truncate) => {
            let (mut parts, body) = next.run(request).await.into_parts();
            let full = axum::body::to_bytes(body, usize::MAX)
                .await
                .unwrap_or_default();
            parts
                .headers
                .insert(header::CONTENT_LENGTH, HeaderValue::from(full.len() as u64));
            let half = full.slice(..full.len() / 2);
            Response::from_parts(parts, failing_body(half))
        }
        Some(Fault::BadJson) => {
            let (mut parts, body) = next.run(request).await.into_parts();
            let full = axum::body::to_bytes(body, usize::MAX)
                .await
                .unwrap_or_default();
            // Half the real answer, then a control character and a stray brace: no JSON
            // parser accepts U+0001 outside or inside a string.
            let mut broken = full.slice(..full.len() / 2).to_vec();
            broken.extend_from_slice(b"\x01{{");
            parts.status = StatusCode::OK;
            parts.headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            parts.headers.insert(
                header::CONTENT_LENGTH,
                HeaderValue::from(broken.len() as u64),
            );
            Response::from_parts(parts, Body::from(broken))
        }
        None => next.run(request).await,
    };
    set_rate_headers(&mut resp, adm.limit, adm.remaining, reset);
    drop(guard);
    resp
}
