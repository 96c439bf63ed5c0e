//! Okta rate limits: per-bucket, per-minute quotas (endpoint family × method), the token's
//! share, non-aligned windows, warning/violation detection and the concurrency limit.
//!
//! # Buckets
//!
//! Quotas are the last published per-minute defaults (API-NOTES §3, DOCS-OLD
//! `rl-global-mgmt`), columns Integrator Free / Enterprise / Workforce. A request falls in exactly
//! one bucket, the most specific one; bucket names are stable strings (keys of `/__sim/stats`
//! and of rate-limit files):
//!
//! | bucket name                             | requests                                          | Free | Ent. | Workforce |
//! |-----------------------------------------|---------------------------------------------------|------|------|-----------|
//! | `/api/v1/apps`                          | list/create apps, every `/apps/{id}/…` sub-resource | 20 | 100 | 100 |
//! | `/api/v1/apps/{id}`                     | get/update/delete one app                          | 100 | 600 | 500 |
//! | `/api/v1/groups`                        | list/create groups, `/groups/{id}/…` sub-resources¹ | 100 | 600 | 500 |
//! | `/api/v1/groups/{id}`                   | get/update/delete one group                        | 100 | 600 | 1000 |
//! | `GET /api/v1/users`                     | list users, and POST (create) `/users`²            | 100 | 600 | 600 |
//! | `GET /api/v1/users/{id}`                | GET one user by id or login, `/users/me`           | 100 | 1000 | 2000 |
//! | `GET /api/v1/users/{id}/*`              | GET user sub-resources (factors, roles, groups…)³  | 100 | 600 | 600 |
//! | `POST\|PUT\|DELETE /api/v1/users/{id}`  | writes on one user and its sub-resources           | 100 | 600 | 600 |
//! | `/api/v1/logs`                          | System Log                                         | 20 | 50 | 120 |
//! | `/api/v1/events`                        | deprecated Events API                              | 20 | 50 | 100 |
//! | `/api/v1/iam`                           | `/iam/*` (role assignees…)⁴                        | 100 | 600 | 1200 |
//! | `/api/v1/policies`                      | `/policies*`⁴                                      | 100 | 600 | 1200 |
//! | `/api/v1/rate-limit-settings`           | `/rate-limit-settings/*`⁴                          | 100 | 600 | 1200 |
//! | `/api/v1`                               | everything else under `/api` ("most other")        | 100 | 600 | 1200 |
//!
//! ¹ observed: `/groups/{id}/users` reports the `/groups` limit (API-NOTES OBS 2020).
//! ² the published row is "GET/POST `/api/v1/users`": one shared counter.
//! ³ not in the table; observed limits equal the users-list column, but Okta shows them as their
//!   own dashboard rows, so they get their own counter here.
//! ⁴ "most other `/api/v1`" quota, but its own counter (each endpoint family is its own row in
//!   Okta's rate-limit dashboard).
//!
//! The token sees `max(1, round(quota × scale × token_share))` per window (`X-Rate-Limit-Limit`).
//! All tokens share one counter per bucket (simplification: Okta keeps one per token too).
//!
//! # Windows
//!
//! A bucket's window starts at its first request and lasts `RateConfig::window` (60 s); the
//! next request after it ends opens a new one. Only admitted requests use quota; a 429 does not.
//!
//! # Rate-limit file (`--rate-limits PATH`)
//!
//! ```toml
//! concurrency = 75               # optional: simultaneous requests in flight
//! [buckets."GET /api/v1/users"]  # a bucket name from the table above
//! limit = 600                    # the ORG quota per window (the token sees the share × scale)
//! ```
//! Unknown keys, unknown bucket names and non-positive numbers are errors.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Okta org profile; selects the published default quotas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Profile {
    #[default]
    Workforce,
    Enterprise,
    Free,
}

/// Where quotas come from.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum RateLimitMode {
    /// Published defaults for the profile.
    #[default]
    Default,
    /// No rate limiting at all (headers still sent, with a large limit).
    None,
    /// Defaults overridden per bucket by a TOML file.
    File(PathBuf),
}

#[derive(Debug, Clone, PartialEq)]
pub struct RateConfig {
    pub profile: Profile,
    pub mode: RateLimitMode,
    /// Multiplies every quota (for fast benchmarks); any positive number (0.05, 20…).
    pub scale: f64,
    /// Share of each bucket an SSWS token gets (Okta default 0.5).
    pub token_share: f64,
    /// The org's warning threshold, percent (30..=90); the simulator serves the same value at
    /// `/api/v1/rate-limit-settings/warning-threshold`.
    pub warning_threshold: u8,
    /// Window length (60 s like Okta; tests shorten it).
    pub window: Duration,
    /// Concurrency limit override (None = the profile's default, or the file's).
    pub concurrency: Option<u64>,
}

impl Default for RateConfig {
    fn default() -> Self {
        RateConfig {
            profile: Profile::Workforce,
            mode: RateLimitMode::Default,
            scale: 1.0,
            token_share: 0.5,
            warning_threshold: 90,
            window: Duration::from_secs(60),
            concurrency: None,
        }
    }
}

/// A rate-limit occurrence the simulator writes to its System Log.
#[derive(Debug, Clone, PartialEq)]
pub enum RateEvent {
    /// `system.rate.limit.warning`: a bucket's use in a window crossed the warning threshold.
    Warning {
        bucket: String,
        limit: u64,
        used: u64,
    },
    /// `system.rate.limit.violation`: a request was refused with 429.
    Violation { bucket: String, limit: u64 },
    /// `core.concurrency.org.limit.violation`.
    ConcurrencyViolation { limit: u64 },
}

/// One bucket of the published table: name and per-minute org quota per profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BucketDef {
    pub name: &'static str,
    pub free: u64,
    pub enterprise: u64,
    pub workforce: u64,
}

impl BucketDef {
    pub fn quota(&self, profile: Profile) -> u64 {
        match profile {
            Profile::Free => self.free,
            Profile::Enterprise => self.enterprise,
            Profile::Workforce => self.workforce,
        }
    }
}

const fn b(name: &'static str, free: u64, enterprise: u64, workforce: u64) -> BucketDef {
    BucketDef {
        name,
        free,
        enterprise,
        workforce,
    }
}

pub const APPS: &str = "/api/v1/apps";
pub const APP: &str = "/api/v1/apps/{id}";
pub const GROUPS: &str = "/api/v1/groups";
pub const GROUP: &str = "/api/v1/groups/{id}";
pub const USERS: &str = "GET /api/v1/users";
pub const USER_GET: &str = "GET /api/v1/users/{id}";
pub const USER_SUB_GET: &str = "GET /api/v1/users/{id}/*";
pub const USER_WRITE: &str = "POST|PUT|DELETE /api/v1/users/{id}";
pub const LOGS: &str = "/api/v1/logs";
pub const EVENTS: &str = "/api/v1/events";
pub const IAM: &str = "/api/v1/iam";
pub const POLICIES: &str = "/api/v1/policies";
pub const RATE_SETTINGS: &str = "/api/v1/rate-limit-settings";
pub const DEFAULT: &str = "/api/v1";

/// Every bucket, with the published per-minute org quotas.
pub const BUCKETS: &[BucketDef] = &[
    b(APPS, 20, 100, 100),
    b(APP, 100, 600, 500),
    b(GROUPS, 100, 600, 500),
    b(GROUP, 100, 600, 1000),
    b(USERS, 100, 600, 600),
    b(USER_GET, 100, 1000, 2000),
    b(USER_SUB_GET, 100, 600, 600),
    b(USER_WRITE, 100, 600, 600),
    b(LOGS, 20, 50, 120),
    b(EVENTS, 20, 50, 100),
    b(IAM, 100, 600, 1200),
    b(POLICIES, 100, 600, 1200),
    b(RATE_SETTINGS, 100, 600, 1200),
    b(DEFAULT, 100, 600, 1200),
];

/// Published concurrency limits: 75 Workforce/Enterprise, 35 Integrator Free (DOCS rl2-concurrency).
pub fn default_concurrency(profile: Profile) -> u64 {
    match profile {
        Profile::Free => 35,
        Profile::Enterprise | Profile::Workforce => 75,
    }
}

/// `X-Rate-Limit-Limit` in `none` mode: large enough that no client ever paces itself.
pub const UNLIMITED: u64 = 1_000_000;

/// The bucket a request falls in (most specific wins; method matters for `/users`).
pub fn bucket_for(method: &str, path: &str) -> &'static str {
    let rest = path.strip_prefix("/api/v1/").unwrap_or("");
    let segs: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let get = method.eq_ignore_ascii_case("GET") || method.eq_ignore_ascii_case("HEAD");
    match segs.as_slice() {
        ["apps"] => APPS,
        ["apps", _] => APP,
        ["apps", _, _, ..] => APPS,
        ["groups"] => GROUPS,
        ["groups", _] => GROUP,
        ["groups", _, _, ..] => GROUPS,
        ["users"] if get || method.eq_ignore_ascii_case("POST") => USERS,
        ["users"] => DEFAULT,
        ["users", _] if get => USER_GET,
        ["users", _, _, ..] if get => USER_SUB_GET,
        ["users", _, ..] => USER_WRITE,
        ["logs", ..] => LOGS,
        ["events", ..] => EVENTS,
        ["iam", ..] => IAM,
        ["policies", ..] => POLICIES,
        ["rate-limit-settings", ..] => RATE_SETTINGS,
        _ => DEFAULT,
    }
}

/// The quota a token sees for an org quota: `max(1, round(quota × scale × share))`.
pub fn token_limit(quota: u64, scale: f64, share: f64) -> u64 {
    let v = (quota as f64 * scale * share).round();
    if v.is_finite() && v >= 1.0 {
        v as u64
    } else {
        1
    }
}

/// Limits in force, resolved from a `RateConfig` (and its file).
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// False in `none` mode: never refuse, report `UNLIMITED`.
    pub enforced: bool,
    /// Per bucket: the per-window quota the token sees.
    pub buckets: BTreeMap<&'static str, u64>,
    /// Simultaneous requests in flight (None = unlimited).
    pub concurrency: Option<u64>,
    pub warning_threshold: u8,
    pub window: Duration,
}

/// Why a rate-limit file was refused (the message names the field and the fix).
#[derive(Debug, Clone, PartialEq)]
pub struct FileError(pub String);

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RateFile {
    concurrency: Option<i64>,
    #[serde(default)]
    buckets: BTreeMap<String, BucketOverride>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct BucketOverride {
    limit: i64,
}

/// Parsed rate-limit file: org quotas per bucket and an optional concurrency limit.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Overrides {
    pub buckets: BTreeMap<&'static str, u64>,
    pub concurrency: Option<u64>,
}

/// Parse the TOML text of a rate-limit file.
pub fn parse_file(text: &str) -> Result<Overrides, FileError> {
    const EXAMPLE: &str =
        "expected e.g. `concurrency = 75` then `[buckets.\"GET /api/v1/users\"]` / `limit = 600`";
    let f: RateFile = toml::from_str(text)
        .map_err(|e| FileError(format!("{}; {EXAMPLE}", e.to_string().trim_end())))?;
    let mut out = Overrides::default();
    if let Some(c) = f.concurrency {
        if c < 1 {
            return Err(FileError(format!(
                "concurrency = {c}: must be a positive integer, e.g. concurrency = 75"
            )));
        }
        out.concurrency = Some(c as u64);
    }
    for (name, o) in f.buckets {
        let Some(def) = BUCKETS.iter().find(|d| d.name == name) else {
            let names: Vec<String> = BUCKETS.iter().map(|d| format!("{:?}", d.name)).collect();
            return Err(FileError(format!(
                "buckets.{name:?}: unknown bucket; use one of {}",
                names.join(", ")
            )));
        };
        if o.limit < 1 {
            return Err(FileError(format!(
                "buckets.{name:?}.limit = {}: must be a positive integer (requests per window), e.g. limit = 600",
                o.limit
            )));
        }
        out.buckets.insert(def.name, o.limit as u64);
    }
    Ok(out)
}

impl Limits {
    /// Resolve the limits for a config; reads the file in `File` mode.
    pub fn resolve(config: &RateConfig) -> Result<Limits, FileError> {
        let overrides = match &config.mode {
            RateLimitMode::File(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| FileError(format!("cannot read: {e}")))?;
                parse_file(&text)?
            }
            _ => Overrides::default(),
        };
        Ok(Self::with_overrides(config, &overrides))
    }

    pub fn with_overrides(config: &RateConfig, overrides: &Overrides) -> Limits {
        let enforced = config.mode != RateLimitMode::None;
        let buckets = BUCKETS
            .iter()
            .map(|d| {
                let quota = overrides
                    .buckets
                    .get(d.name)
                    .copied()
                    .unwrap_or_else(|| d.quota(config.profile));
                let seen = if enforced {
                    token_limit(quota, config.scale, config.token_share)
                } else {
                    UNLIMITED
                };
                (d.name, seen)
            })
            .collect();
        let concurrency = if enforced {
            Some(
                config
                    .concurrency
                    .or(overrides.concurrency)
                    .unwrap_or_else(|| default_concurrency(config.profile)),
            )
        } else {
            None
        };
        let window = if config.window.is_zero() {
            Duration::from_secs(60)
        } else {
            config.window
        };
        Limits {
            enforced,
            buckets,
            concurrency,
            warning_threshold: config.warning_threshold,
            window,
        }
    }

    pub fn limit(&self, bucket: &str) -> u64 {
        self.buckets.get(bucket).copied().unwrap_or(UNLIMITED)
    }
}

/// Counters of one bucket: the current window and the figures behind `/__sim/stats`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BucketState {
    /// Current window: start and end.
    pub window: Option<(Instant, Instant)>,
    /// Requests admitted in the current window.
    pub admitted: u64,
    warned: bool,
    violated: bool,
    /// Every request, admitted or refused.
    pub requests: u64,
    pub rate_limited: u64,
    pub max_window_requests: u64,
    pub warnings: u64,
    pub violations: u64,
}

/// The outcome of one admission decision.
#[derive(Debug, Clone, PartialEq)]
pub struct Admission {
    pub allowed: bool,
    pub limit: u64,
    pub remaining: u64,
    /// End of the current window (`X-Rate-Limit-Reset`).
    pub reset_at: Instant,
    pub events: Vec<RateEvent>,
}

impl BucketState {
    /// Count one request at `now` against `limit`; pure apart from `self`.
    pub fn admit(&mut self, bucket: &str, now: Instant, limit: u64, limits: &Limits) -> Admission {
        let (_, end) = match self.window {
            Some((start, end)) if now < end => (start, end),
            _ => {
                // A new window opens at this request (windows are not aligned to clock minutes).
                let w = (now, now + limits.window);
                self.window = Some(w);
                self.admitted = 0;
                self.warned = false;
                self.violated = false;
                w
            }
        };
        self.requests += 1;
        let mut events = Vec::new();
        if limits.enforced && self.admitted >= limit {
            self.rate_limited += 1;
            // One violation event per bucket per window: Okta logs the bucket being exceeded,
            // not every refused request.
            if !self.violated {
                self.violated = true;
                self.violations += 1;
                events.push(RateEvent::Violation {
                    bucket: bucket.to_string(),
                    limit,
                });
            }
            return Admission {
                allowed: false,
                limit,
                remaining: 0,
                reset_at: end,
                events,
            };
        }
        self.admitted += 1;
        self.max_window_requests = self.max_window_requests.max(self.admitted);
        if limits.enforced
            && !self.warned
            && self.admitted * 100 >= u64::from(limits.warning_threshold) * limit
        {
            self.warned = true;
            self.warnings += 1;
            events.push(RateEvent::Warning {
                bucket: bucket.to_string(),
                limit,
                used: self.admitted,
            });
        }
        Admission {
            allowed: true,
            limit,
            remaining: limit.saturating_sub(self.admitted),
            reset_at: end,
            events,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_by_path_and_method() {
        assert_eq!(bucket_for("GET", "/api/v1/users"), USERS);
        assert_eq!(bucket_for("POST", "/api/v1/users"), USERS);
        assert_eq!(bucket_for("GET", "/api/v1/users/me"), USER_GET);
        assert_eq!(
            bucket_for("GET", "/api/v1/users/00u1/factors"),
            USER_SUB_GET
        );
        assert_eq!(bucket_for("DELETE", "/api/v1/users/00u1"), USER_WRITE);
        assert_eq!(
            bucket_for("POST", "/api/v1/users/00u1/lifecycle/deactivate"),
            USER_WRITE
        );
        assert_eq!(bucket_for("GET", "/api/v1/apps"), APPS);
        assert_eq!(bucket_for("GET", "/api/v1/apps/0oa1"), APP);
        assert_eq!(bucket_for("GET", "/api/v1/apps/0oa1/users"), APPS);
        assert_eq!(bucket_for("GET", "/api/v1/groups/00g1/users"), GROUPS);
        assert_eq!(bucket_for("GET", "/api/v1/groups/00g1"), GROUP);
        assert_eq!(bucket_for("GET", "/api/v1/iam/assignees/users"), IAM);
        assert_eq!(
            bucket_for("GET", "/api/v1/rate-limit-settings/warning-threshold"),
            RATE_SETTINGS
        );
        assert_eq!(bucket_for("GET", "/api/v1/meta/types/user"), DEFAULT);
        assert_eq!(bucket_for("GET", "/api/v2/whatever"), DEFAULT);
    }

    #[test]
    fn token_share_and_scale() {
        assert_eq!(token_limit(600, 1.0, 0.5), 300);
        assert_eq!(token_limit(100, 0.05, 0.5), 3);
        assert_eq!(token_limit(20, 0.01, 0.5), 1);
        assert_eq!(token_limit(100, 20.0, 0.5), 1000);
        let l = Limits::with_overrides(&RateConfig::default(), &Overrides::default());
        assert_eq!(l.limit(APPS), 50);
        assert_eq!(l.concurrency, Some(75));
    }

    #[test]
    fn window_warning_violation() {
        let cfg = RateConfig {
            window: Duration::from_secs(2),
            ..RateConfig::default()
        };
        let limits = Limits::with_overrides(&cfg, &Overrides::default());
        let mut s = BucketState::default();
        let t0 = Instant::now();
        let mut evs = Vec::new();
        for i in 0..10 {
            let a = s.admit("b", t0 + Duration::from_millis(i), 10, &limits);
            assert!(a.allowed);
            evs.extend(a.events);
        }
        assert_eq!(
            evs,
            vec![RateEvent::Warning {
                bucket: "b".into(),
                limit: 10,
                used: 9
            }]
        );
        let a = s.admit("b", t0 + Duration::from_millis(20), 10, &limits);
        assert!(!a.allowed);
        assert_eq!(a.reset_at, t0 + Duration::from_secs(2));
        assert_eq!(a.events.len(), 1);
        assert!(
            s.admit("b", t0 + Duration::from_millis(30), 10, &limits)
                .events
                .is_empty()
        );
        let a = s.admit("b", t0 + Duration::from_secs(2), 10, &limits);
        assert!(a.allowed);
        assert_eq!(a.remaining, 9);
        assert_eq!(
            (
                s.requests,
                s.rate_limited,
                s.max_window_requests,
                s.warnings,
                s.violations
            ),
            (13, 2, 10, 1, 1)
        );
    }

    #[test]
    fn file_errors_name_the_field() {
        assert!(parse_file("concurrency = 5\n[buckets.\"/api/v1/apps\"]\nlimit = 7\n").is_ok());
        let e = parse_file("[buckets.\"/api/v1/nope\"]\nlimit = 7\n").unwrap_err();
        assert!(
            e.0.contains("/api/v1/nope") && e.0.contains("unknown bucket"),
            "{e:?}"
        );
        let e = parse_file("[buckets.\"/api/v1/apps\"]\nlimit = 0\n").unwrap_err();
        assert!(e.0.contains("limit"), "{e:?}");
        let e = parse_file("[buckets.\"/api/v1/apps\"]\nlimt = 3\n").unwrap_err();
        assert!(e.0.contains("limt"), "{e:?}");
    }
}
