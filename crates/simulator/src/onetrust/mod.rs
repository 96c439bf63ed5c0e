//! Steward's OneTrust simulator: a seeded OneTrust tenant (SCIM v2/v3, Access Management,
//! audit, OAuth client credentials) served on loopback, whose people overlap the Okta
//! simulator's people when both start with the same seed, user count and `now`.
//!
//! # API
//!
//! ```ignore
//! use steward_simulator::onetrust::{OtSimConfig, OtSimulator, OtKey};
//! let sim = OtSimulator::start(OtSimConfig::new(users, seed, now), "127.0.0.1:0".parse()?).await?;
//! sim.base_url();            // url::Url, http://127.0.0.1:PORT (paths start with /api/...)
//! sim.key(OtKey::Full);      // API key (bearer) with ORGANIZATION + SCIM + USER scopes
//! sim.key(OtKey::NoScim);    // also NoOrganization, NoUser (each lacks one scope), Expired (401)
//! sim.client_credentials();  // (client_id, client_secret) for POST /api/access/v1/oauth/token
//! sim.truth();               // serde_json::Value, format below
//! sim.with_org(|org| ...);   // read the simulated tenant directly (tests)
//! ```
//!
//! # Scopes (from each operation's `security` in OneTrust's OpenAPI files)
//!
//! | endpoints | accepted scopes |
//! |---|---|
//! | `/api/scim/v{2,3}/Users…` | SCIM or USER (the spec also lists INTEGRATION, not modelled) |
//! | `/api/scim/v{2,3}/Groups…`, `/api/scim/v3/{ServiceProviderConfig,Schemas,ResourceTypes}` | SCIM |
//! | `/api/access/v1/external/organizations…` | ORGANIZATION |
//! | `/api/access/v{1,2}/…` (users, user-groups, members, login-history), `/api/audit/v1/…` | USER |
//! | `POST /api/access/v1/oauth/token` | none (client id + secret) |
//!
//! So `NoScim` gets 403 on SCIM Groups and discovery but still reads SCIM Users (USER is
//! accepted there, as the spec says); `NoUser` gets 403 on every `/api/access` path but the
//! organizations and on `/api/audit`; `NoOrganization` only on the organizations. Unknown or
//! expired bearer → 401. Error bodies (GUESS, the specs declare none) are Spring-style:
//! `{"timestamp","status","error","message","path"}`; SCIM content errors (400/404/409/501)
//! use the SCIM error schema.
//!
//! # Endpoints
//!
//! SCIM v2 and v3 `/Users[/{id}]` (GET, POST, PUT, PATCH; no user deletion: v2 DELETE → 501
//! "The Delete User feature is not available at this time", v3 → 405), `/Groups[/{id}]` (v2:
//! organization × role pairs with `orgId:roleId` ids, GET/PUT/PATCH; v3: user groups, also
//! POST/DELETE; group PATCH → 204), v3 discovery; `GET /api/access/v2/users[/{id}[/access-levels]]`,
//! `GET /api/access/v{1,2}/user-groups[/{id}/members]` (v2 also `/{id}`),
//! `GET /api/access/v1/external/organizations`, `GET /api/access/v1/login-history`,
//! `GET /api/audit/v1/users/{userId}/activities`, `POST /api/access/v1/oauth/token`
//! (form-urlencoded or multipart; the token carries the full scopes and does not expire).
//!
//! # Paging
//!
//! SCIM lists: `startIndex` (1-based) and `count` (default 25, silently capped at 25) →
//! `ListResponse`. Access/audit lists: Spring pages, `page` (0-based), `size` (default 20,
//! max 2000; larger → 400), `content`/`totalElements`/`totalPages`/`last`/….
//!
//! # Rate limits and faults
//!
//! 1,000 requests per minute per endpoint (method + path template) and 200,000 per hour per
//! account; past either → 429 with `Retry-After` and `ot-period`, `ot-requests-allowed`,
//! `ot-request-made`, `ot-ratelimit-event-id`. Attempts count (the published sample shows
//! `ot-request-made` above `ot-requests-allowed`), windows are fixed and start at the first
//! request. `OtRateConfig::none()` turns them off. Faults reuse [`crate::FaultSpec`].
//! `GET /__sim/truth`, `GET /__sim/stats` are served without auth or limits.
//!
//! # Truth (`sim.truth()`, `GET /__sim/truth`)
//!
//! ```json
//! {"resources": {"users": {"count": N, "ids": [sorted ids]}, "user_groups": {…},
//!                "memberships": {"count", "ids": ["groupId/userId"]}, "scim_v2_groups": {…},
//!                "organizations": {…}, "access_levels": {"count", "ids": ["userId/orgId/roleId"]},
//!                "login_history": {"count"}, "audit_activities": {"count"}},
//!  "usage": {"active_users", "logged_in_30d", "logged_in_90d", "licence": {"Licensed": n, …}},
//!  "drift": {"okta_people": N,
//!            "leavers_active": [{"okta_id","okta_status","onetrust_id","email"}],
//!            "leavers_inactive": [{"okta_id","okta_status","onetrust_id","email"}],
//!            "okta_only": [{"okta_id","email"}],
//!            "onetrust_only": [{"onetrust_id","email","kind": "contractor"|"orphan"}],
//!            "email_case": [{"okta_id","onetrust_id","okta_email","onetrust_email"}]}}
//! ```
//!
//! Every drift list is sorted by its first id. Drift (deterministic from the seed): Okta people
//! DEPROVISIONED or SUSPENDED are "leavers": ~55% of them still active in OneTrust (~5% of all
//! people), ~25% deactivated, ~20% without an account; ~10% of the other Okta people have no
//! OneTrust account; ~10% of OneTrust accounts of Okta people carry the email in a different
//! case; ~3% of OneTrust accounts belong to no Okta person (external contractors and internal
//! orphans). The "licence" status has no OneTrust field (API-NOTES §2): GUESS, derived as
//! `Unlicensed` (inactive), `External` (internal=false) or `Licensed`.

mod data;
mod http;
mod scim;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;

pub use data::{Activity, Login, Origin, OtGroup, OtOrg, OtOrganization, OtRole, OtUser};

use crate::faults::FaultSpec;

/// The API keys the simulator mints, one per scope set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OtKey {
    /// ORGANIZATION + SCIM + USER.
    Full,
    /// ORGANIZATION + USER.
    NoScim,
    /// SCIM + USER.
    NoOrganization,
    /// ORGANIZATION + SCIM.
    NoUser,
    /// Full scopes, but expired: every call answers 401.
    Expired,
}

impl OtKey {
    pub const ALL: [OtKey; 5] = [
        OtKey::Full,
        OtKey::NoScim,
        OtKey::NoOrganization,
        OtKey::NoUser,
        OtKey::Expired,
    ];

    /// Name in the startup JSON line.
    pub fn as_str(self) -> &'static str {
        match self {
            OtKey::Full => "full",
            OtKey::NoScim => "no_scim",
            OtKey::NoOrganization => "no_organization",
            OtKey::NoUser => "no_user",
            OtKey::Expired => "expired",
        }
    }

    /// Scopes carried (bit set of `SCOPE_*`).
    pub fn scopes(self) -> u8 {
        match self {
            OtKey::Full | OtKey::Expired => SCOPE_ORGANIZATION | SCOPE_SCIM | SCOPE_USER,
            OtKey::NoScim => SCOPE_ORGANIZATION | SCOPE_USER,
            OtKey::NoOrganization => SCOPE_SCIM | SCOPE_USER,
            OtKey::NoUser => SCOPE_ORGANIZATION | SCOPE_SCIM,
        }
    }
}

pub const SCOPE_ORGANIZATION: u8 = 1;
pub const SCOPE_SCIM: u8 = 2;
pub const SCOPE_USER: u8 = 4;

/// Scope names, comma-separated, as in the token response's `ot_scopes`.
pub fn scope_names(scopes: u8) -> String {
    let mut v = Vec::new();
    if scopes & SCOPE_ORGANIZATION != 0 {
        v.push("ORGANIZATION");
    }
    if scopes & SCOPE_SCIM != 0 {
        v.push("SCIM");
    }
    if scopes & SCOPE_USER != 0 {
        v.push("USER");
    }
    v.join(",")
}

/// Rate limits.
#[derive(Debug, Clone, PartialEq)]
pub struct OtRateConfig {
    pub enabled: bool,
    /// Requests per endpoint per minute window (1,000 published).
    pub per_endpoint: u64,
    /// Requests per account per hour window (200,000 published).
    pub per_hour: u64,
    /// Length of the "minute" window (tests may shorten it).
    pub minute: Duration,
    pub hour: Duration,
}

impl Default for OtRateConfig {
    fn default() -> Self {
        OtRateConfig {
            enabled: true,
            per_endpoint: 1000,
            per_hour: 200_000,
            minute: Duration::from_secs(60),
            hour: Duration::from_secs(3600),
        }
    }
}

impl OtRateConfig {
    /// No rate limiting (`--rate-limits none`).
    pub fn none() -> Self {
        OtRateConfig {
            enabled: false,
            ..OtRateConfig::default()
        }
    }
}

/// Everything that shapes a simulated tenant and its server.
#[derive(Debug, Clone)]
pub struct OtSimConfig {
    /// Okta people the tenant overlaps (the Okta simulator's `--users`). After drift the tenant
    /// holds about 0.92 × this many users (20,000 → 18,344 for seed 1).
    pub users: usize,
    pub seed: u64,
    /// Data anchor (the Okta simulator's `--now`).
    pub now: DateTime<Utc>,
    pub rate: OtRateConfig,
    pub faults: FaultSpec,
}

impl OtSimConfig {
    pub fn new(users: usize, seed: u64, now: DateTime<Utc>) -> Self {
        OtSimConfig {
            users,
            seed,
            now,
            rate: OtRateConfig::default(),
            faults: FaultSpec::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OtSimError {
    #[error("binding {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("base URL for {addr}: {source}")]
    Url {
        addr: SocketAddr,
        source: url::ParseError,
    },
}

/// Generate the tenant for a config (pure; deterministic).
pub fn generate(config: &OtSimConfig) -> OtOrg {
    data::generate(config)
}

/// The truth document of a tenant (format in the module docs).
pub fn truth_of(org: &OtOrg) -> Value {
    data::truth(org)
}

/// A OneTrust simulator serving in the background.
pub struct OtSimulator {
    addr: SocketAddr,
    base: url::Url,
    state: Arc<http::OtState>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for OtSimulator {
    // Keys are secrets: never in Debug output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtSimulator")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl OtSimulator {
    /// Generate the tenant, bind, and serve in a background tokio task.
    pub async fn start(config: OtSimConfig, listen: SocketAddr) -> Result<OtSimulator, OtSimError> {
        let cfg = config.clone();
        // Generation is CPU-bound (it includes the Okta org's people): off the async workers.
        let org = match tokio::task::spawn_blocking(move || data::generate(&cfg)).await {
            Ok(org) => org,
            Err(_) => data::generate(&config),
        };
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|source| OtSimError::Bind {
                addr: listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| OtSimError::Bind {
            addr: listen,
            source,
        })?;
        let base = url::Url::parse(&format!("http://{addr}"))
            .map_err(|source| OtSimError::Url { addr, source })?;
        let state = Arc::new(http::OtState::new(org, &config, addr));
        let app = http::router(state.clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serve =
                axum::serve(listener, app.into_make_service()).with_graceful_shutdown(async move {
                    let _ = rx.await;
                });
            if let Err(e) = serve.await {
                tracing::warn!(error = %e, "onetrust simulator stopped");
            }
        });
        Ok(OtSimulator {
            addr,
            base,
            state,
            shutdown: Some(tx),
            task,
        })
    }

    /// `http://127.0.0.1:PORT`
    pub fn base_url(&self) -> url::Url {
        self.base.clone()
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The API key for a scope set.
    pub fn key(&self, key: OtKey) -> String {
        self.state
            .read()
            .keys
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, s)| s.clone())
            .unwrap_or_default()
    }

    /// `(client_id, client_secret)` for `POST /api/access/v1/oauth/token` (full scopes).
    pub fn client_credentials(&self) -> (String, String) {
        let org = self.state.read();
        (org.client_id.clone(), org.client_secret.clone())
    }

    /// Ground truth (format in the module docs).
    pub fn truth(&self) -> Value {
        data::truth(&self.state.read())
    }

    /// The one JSON line `steward simulate onetrust` prints.
    pub fn startup_json(&self) -> Value {
        let keys: serde_json::Map<String, Value> = OtKey::ALL
            .iter()
            .map(|k| (k.as_str().to_string(), Value::String(self.key(*k))))
            .collect();
        let (id, secret) = self.client_credentials();
        let truth = self.truth();
        let counts: serde_json::Map<String, Value> = truth
            .get("resources")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.get("count").cloned().unwrap_or(Value::Null)))
                    .collect()
            })
            .unwrap_or_default();
        let base = self.base_url().as_str().trim_end_matches('/').to_string();
        serde_json::json!({
            "base_url": base,
            "scim_v2_base_url": format!("{base}/api/scim/v2"),
            "scim_v3_base_url": format!("{base}/api/scim/v3"),
            "keys": keys,
            "client_credentials": {"client_id": id, "client_secret": secret},
            "org": counts,
        })
    }

    /// Run `f` with read access to the live tenant.
    pub fn with_org<R>(&self, f: impl FnOnce(&OtOrg) -> R) -> R {
        f(&self.state.read())
    }

    /// Graceful stop.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
    }
}
