//! Rate governance: per-bucket pacing under the org's warning threshold, a global in-flight
//! cap, and the per-bucket figures of the sync report.
//!
//! Buckets (API-NOTES §3, "most specific wins"; the same families as the simulator's
//! `rate::bucket_for`; names are stable report keys, all prefixed with `GET ` since the sync
//! only reads):
//!
//! | request                                   | bucket                               |
//! |-------------------------------------------|--------------------------------------|
//! | /api/v1/apps, /api/v1/apps/{id}/…         | `GET /api/v1/apps`                   |
//! | /api/v1/apps/{id}                         | `GET /api/v1/apps/{id}`              |
//! | /api/v1/groups, /api/v1/groups/{id}/…     | `GET /api/v1/groups`                 |
//! | /api/v1/groups/{id}                       | `GET /api/v1/groups/{id}`            |
//! | /api/v1/users                             | `GET /api/v1/users`                  |
//! | /api/v1/users/{id or me}                  | `GET /api/v1/users/{id}`             |
//! | /api/v1/users/{id}/… (roles, factors)     | `GET /api/v1/users/{id}/*`           |
//! | /api/v1/logs                              | `GET /api/v1/logs`                   |
//! | /api/v1/iam/…                             | `GET /api/v1/iam`                    |
//! | /api/v1/policies…                         | `GET /api/v1/policies`               |
//! | /api/v1/rate-limit-settings/…             | `GET /api/v1/rate-limit-settings`    |
//! | anything else                             | `GET /api/v1` (most other)           |
//!
//! Pacing: a bucket's window is learnt from `X-Rate-Limit-Reset` (converted to the local clock
//! with the `Date` offset); within a window the governor admits at most
//! `ceil(limit × threshold / 100) − 1` requests (used = max(our count, limit − remaining)), then
//! waits for the window to end. Unknown limits (no headers) are not paced.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

use crate::BucketReport;

/// Slack added after a window's reset before sending again: Reset has one-second
/// resolution and the Date offset is estimated from below.
const RESET_MARGIN: Duration = Duration::from_millis(250);

/// The bucket a request falls in (see the module table).
pub fn bucket_of(method: &str, path: &str) -> String {
    let segs: Vec<&str> = path
        .trim_start_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let rest: &[&str] = match segs.as_slice() {
        ["api", "v1", rest @ ..] => rest,
        _ => &[],
    };
    let family = match rest {
        ["apps"] => "/api/v1/apps",
        ["apps", _] => "/api/v1/apps/{id}",
        ["apps", _, _, ..] => "/api/v1/apps",
        ["groups"] => "/api/v1/groups",
        ["groups", _] => "/api/v1/groups/{id}",
        ["groups", _, _, ..] => "/api/v1/groups",
        ["users"] => "/api/v1/users",
        ["users", _] => "/api/v1/users/{id}",
        ["users", _, _, ..] => "/api/v1/users/{id}/*",
        ["logs", ..] => "/api/v1/logs",
        ["iam", ..] => "/api/v1/iam",
        ["policies", ..] => "/api/v1/policies",
        ["rate-limit-settings", ..] => "/api/v1/rate-limit-settings",
        _ => "/api/v1",
    };
    format!("{method} {family}")
}

/// What a response said about its bucket.
#[derive(Debug, Clone, Copy, Default)]
pub struct RateHeaders {
    pub limit: Option<u64>,
    pub remaining: Option<u64>,
    /// Window end, server epoch seconds.
    pub reset: Option<i64>,
    /// Server `Date`, epoch milliseconds.
    pub date_ms: Option<i64>,
}

#[derive(Debug, Default)]
struct BucketState {
    limit: Option<u64>,
    /// Requests counted in the current window (ours, or the server's when higher).
    used: u64,
    /// Local end of the current window, when known.
    window_end: Option<Instant>,
    /// Server reset (epoch s) of the current window.
    window_reset: Option<i64>,
    /// Reset of the window before: late answers from it must not touch the new one.
    prev_reset: Option<i64>,
    /// A request went out with no limit known yet; wait for its answer before the next.
    probing: bool,
    /// Responses carried no rate-limit headers: do not pace.
    unpaced: bool,
    /// Admitted requests not answered yet.
    in_flight: u64,
    report: BucketReport,
}

/// Shared pacing state of one sync.
pub struct Governor {
    threshold: AtomicU64,
    buckets: Mutex<HashMap<String, BucketState>>,
    changed: Notify,
    sem: Arc<Semaphore>,
    cap: AtomicUsize,
    /// max over responses of (server Date − local receive time), ms; None before any.
    offset_ms: Mutex<Option<i64>>,
    pub requests: AtomicU64,
    pub retries: AtomicU64,
    pub rate_limited: AtomicU64,
}

impl std::fmt::Debug for Governor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Governor")
            .field("cap", &self.cap.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// Permission to send one request; dropping it frees the in-flight slot.
pub struct Ticket {
    _permit: Option<OwnedSemaphorePermit>,
}

fn now_epoch_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl Governor {
    pub fn new(max_in_flight: usize, threshold: u8) -> Self {
        let cap = max_in_flight.max(1);
        Governor {
            threshold: AtomicU64::new(u64::from(threshold)),
            buckets: Mutex::new(HashMap::new()),
            changed: Notify::new(),
            sem: Arc::new(Semaphore::new(cap)),
            cap: AtomicUsize::new(cap),
            offset_ms: Mutex::new(None),
            requests: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            rate_limited: AtomicU64::new(0),
        }
    }

    pub fn set_threshold(&self, threshold: u8) {
        self.threshold
            .store(u64::from(threshold.clamp(1, 100)), Ordering::Relaxed);
    }

    pub fn threshold(&self) -> u8 {
        u8::try_from(self.threshold.load(Ordering::Relaxed)).unwrap_or(90)
    }

    /// Requests allowed per window for a limit: stay strictly under the warning threshold.
    pub fn budget(limit: u64, threshold: u64) -> u64 {
        (limit * threshold).div_ceil(100).saturating_sub(1).max(1)
    }

    pub fn in_flight_cap(&self) -> usize {
        self.cap.load(Ordering::Relaxed)
    }

    /// Wait until `bucket` may send, then take an in-flight slot.
    pub async fn admit(&self, bucket: &str) -> Ticket {
        loop {
            let wait = {
                let mut map = self.lock();
                let st = map.entry(bucket.to_string()).or_default();
                let now = Instant::now();
                if st.window_end.is_some_and(|end| now >= end) {
                    // The window is over; the next one starts with our next request.
                    st.window_end = None;
                    st.prev_reset = st.window_reset.take().or(st.prev_reset);
                    st.used = 0;
                }
                if st.unpaced {
                    None
                } else if let Some(limit) = st.limit {
                    let budget = Self::budget(limit, self.threshold.load(Ordering::Relaxed));
                    if st.used < budget {
                        st.used += 1;
                        None
                    } else {
                        Some(st.window_end.map(|end| end.saturating_duration_since(now)))
                    }
                } else if !st.probing {
                    st.probing = true;
                    st.used += 1;
                    None
                } else {
                    Some(None)
                }
            };
            match wait {
                None => {
                    if let Some(st) = self.lock().get_mut(bucket) {
                        st.in_flight += 1;
                    }
                    break;
                }
                Some(Some(d)) => tokio::time::sleep(d.max(Duration::from_millis(1))).await,
                // Window end not known yet: wait for an answer (or poll briefly).
                Some(None) => {
                    let _ =
                        tokio::time::timeout(Duration::from_millis(50), self.changed.notified())
                            .await;
                }
            }
        }
        let permit = self.sem.clone().acquire_owned().await.ok();
        self.requests.fetch_add(1, Ordering::Relaxed);
        Ticket { _permit: permit }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, BucketState>> {
        self.buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Convert a server epoch-second instant to the local monotonic clock.
    fn local_instant(&self, server_epoch_s: i64) -> Instant {
        let offset = self.offset_ms.lock().map(|o| o.unwrap_or(0)).unwrap_or(0);
        let local_ms = server_epoch_s * 1000 - offset;
        let delta = local_ms - now_epoch_ms();
        let base = Instant::now();
        if delta <= 0 {
            base + RESET_MARGIN
        } else {
            base + Duration::from_millis(delta as u64) + RESET_MARGIN
        }
    }

    /// Record a response's rate-limit headers (any status).
    pub fn observe(&self, bucket: &str, h: &RateHeaders, status: u16) {
        if let Some(date) = h.date_ms {
            // Date has one-second resolution (floor) and arrives after it was stamped, so
            // each sample is ≤ the true offset; the max is the tightest safe estimate.
            let sample = date - now_epoch_ms();
            if let Ok(mut o) = self.offset_ms.lock() {
                *o = Some(o.map_or(sample, |prev| prev.max(sample)));
            }
        }
        let end = h.reset.map(|r| self.local_instant(r));
        let mut map = self.lock();
        let st = map.entry(bucket.to_string()).or_default();
        st.probing = false;
        st.in_flight = st.in_flight.saturating_sub(1);
        st.report.requests += 1;
        if status == 429 {
            st.report.rate_limited += 1;
        }
        match (h.limit, h.remaining) {
            (Some(0), _) => {} // concurrency 429: says nothing about the bucket
            (Some(limit), remaining) => {
                st.unpaced = false;
                st.limit = Some(limit);
                st.report.limit = Some(limit);
                if let Some(r) = remaining {
                    st.report.min_remaining = Some(st.report.min_remaining.map_or(r, |m| m.min(r)));
                }
                let server_used = remaining.map(|r| limit.saturating_sub(r));
                let stale = matches!((st.prev_reset, h.reset), (Some(p), Some(r)) if r <= p);
                let same_window = !stale
                    && match (st.window_reset, h.reset) {
                        (Some(a), Some(b)) => a == b,
                        (None, _) => true,
                        _ => false,
                    };
                let newer =
                    !stale && matches!((st.window_reset, h.reset), (Some(a), Some(b)) if b > a);
                if same_window || newer {
                    if newer {
                        // The server opened a window before we expected: our requests still
                        // in flight may land in it, so count them.
                        st.used = st.in_flight;
                    }
                    if let Some(r) = h.reset {
                        st.window_reset = Some(r);
                        st.window_end = end;
                    }
                    if let Some(u) = server_used {
                        st.used = st.used.max(u);
                    }
                    if status == 429 {
                        // Exhausted until the reset.
                        st.used = u64::MAX / 2;
                    }
                }
            }
            (None, _) => {
                if st.limit.is_none() {
                    st.unpaced = true;
                }
            }
        }
        drop(map);
        self.changed.notify_waiters();
    }

    /// A request got no answer at all (connection error): let the next one probe.
    pub fn no_answer(&self, bucket: &str) {
        if let Some(st) = self.lock().get_mut(bucket) {
            st.probing = false;
            st.in_flight = st.in_flight.saturating_sub(1);
        }
        self.changed.notify_waiters();
    }

    /// A concurrency 429: halve the in-flight cap (min 1).
    pub fn lower_cap(&self) {
        let cur = self.cap.load(Ordering::Relaxed);
        let new = (cur / 2).max(1);
        if new < cur
            && self
                .cap
                .compare_exchange(cur, new, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            let sem = self.sem.clone();
            let take = u32::try_from(cur - new).unwrap_or(u32::MAX);
            tokio::spawn(async move {
                if let Ok(p) = sem.acquire_many_owned(take).await {
                    p.forget();
                }
            });
        }
    }

    /// Local wait until a server reset (for 429s): reset − Date + margin.
    pub fn wait_for_reset(&self, h: &RateHeaders) -> Duration {
        match (h.reset, h.date_ms) {
            (Some(r), Some(d)) => {
                let ms = (r * 1000 - d).max(0) as u64;
                Duration::from_millis(ms) + RESET_MARGIN
            }
            (Some(r), None) => self
                .local_instant(r)
                .saturating_duration_since(Instant::now()),
            _ => Duration::from_secs(1),
        }
    }

    pub fn bucket_reports(&self) -> std::collections::BTreeMap<String, BucketReport> {
        self.lock()
            .iter()
            .map(|(k, v)| (k.clone(), v.report.clone()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets() {
        assert_eq!(bucket_of("GET", "/api/v1/users"), "GET /api/v1/users");
        assert_eq!(
            bucket_of("GET", "/api/v1/users/me"),
            "GET /api/v1/users/{id}"
        );
        assert_eq!(
            bucket_of("GET", "/api/v1/users/00u1/roles"),
            "GET /api/v1/users/{id}/*"
        );
        assert_eq!(
            bucket_of("GET", "/api/v1/groups/00g1/users"),
            "GET /api/v1/groups"
        );
        assert_eq!(
            bucket_of("GET", "/api/v1/policies/00p1/rules"),
            "GET /api/v1/policies"
        );
        assert_eq!(
            bucket_of("GET", "/api/v1/apps/0oa1/users"),
            "GET /api/v1/apps"
        );
        assert_eq!(
            bucket_of("GET", "/api/v1/apps/0oa1"),
            "GET /api/v1/apps/{id}"
        );
        assert_eq!(bucket_of("GET", "/api/v1/logs"), "GET /api/v1/logs");
        assert_eq!(
            bucket_of("GET", "/api/v1/iam/assignees/users"),
            "GET /api/v1/iam"
        );
        assert_eq!(bucket_of("GET", "/api/v1/meta/schemas"), "GET /api/v1");
    }

    #[test]
    fn budget_stays_under_threshold() {
        assert_eq!(Governor::budget(300, 90), 269);
        assert_eq!(Governor::budget(50, 90), 44);
        assert_eq!(Governor::budget(10, 90), 8);
        assert_eq!(Governor::budget(1, 90), 1);
    }
}

#[cfg(test)]
mod pacing_tests {
    use super::*;

    fn headers(limit: u64, remaining: u64, reset_in_s: i64) -> RateHeaders {
        let now = chrono::Utc::now().timestamp_millis();
        RateHeaders {
            limit: Some(limit),
            remaining: Some(remaining),
            reset: Some(now / 1000 + reset_in_s),
            date_ms: Some(now / 1000 * 1000),
        }
    }

    #[tokio::test]
    async fn admits_the_budget_then_waits_for_the_reset() {
        let g = Governor::new(10, 90);
        let b = "GET /api/v1/users";
        // Probe, then the answer: limit 10 → budget 8 per window.
        drop(g.admit(b).await);
        g.observe(b, &headers(10, 9, 2), 200);
        let t0 = Instant::now();
        for _ in 0..7 {
            drop(g.admit(b).await);
        }
        assert!(
            t0.elapsed() < Duration::from_millis(100),
            "the budget is admitted at once"
        );
        // The 9th request of the window waits for the reset (≥ 1 s away).
        drop(g.admit(b).await);
        assert!(
            t0.elapsed() >= Duration::from_millis(900),
            "{:?}",
            t0.elapsed()
        );
        let rep = g.bucket_reports();
        assert_eq!(rep[b].limit, Some(10));
        assert_eq!(rep[b].min_remaining, Some(9));
    }

    #[tokio::test]
    async fn no_headers_means_no_pacing() {
        let g = Governor::new(4, 90);
        let b = "GET /api/v1";
        drop(g.admit(b).await);
        g.observe(b, &RateHeaders::default(), 200);
        let t0 = Instant::now();
        for _ in 0..100 {
            drop(g.admit(b).await);
        }
        assert!(t0.elapsed() < Duration::from_millis(100));
    }

    #[tokio::test]
    async fn concurrency_429_halves_the_cap() {
        let g = Governor::new(10, 90);
        g.lower_cap();
        assert_eq!(g.in_flight_cap(), 5);
        g.lower_cap();
        g.lower_cap();
        g.lower_cap();
        assert_eq!(g.in_flight_cap(), 1);
        g.lower_cap();
        assert_eq!(g.in_flight_cap(), 1);
    }
}
