//! Steward's Okta simulator: a seeded, faithful Okta Management API served on loopback.
//!
//! `steward simulate okta`, `steward demo`, every test and every benchmark run against it.
//! It must behave like Okta (shapes, paging, rate limits, permissions, errors, quirks), not
//! like what Steward's own client happens to expect.

pub mod faults;
pub mod onetrust;
pub mod org;
mod parse;
pub mod query;
pub mod rate;
pub mod render;
pub mod server;
pub mod traffic;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Weak};
use std::time::Instant;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use steward_model::{Digest, Resource, truth_digest};

pub use faults::FaultSpec;
pub use org::Org;
pub use parse::{ParseError, default_now, parse_profile, parse_rate_limit_mode};
pub use rate::{Profile, RateConfig, RateLimitMode};

use crate::org::{Holder, TOKEN_ROLES};
pub use crate::rate::RateEvent;
use crate::server::AppState;

/// Everything that shapes a simulated org and its server.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Number of users (default 1000).
    pub users: usize,
    /// Seed for every random choice (default 1).
    pub seed: u64,
    pub profile: Profile,
    /// `rate.profile` mirrors `profile`; `rate.scale` = `--rate-scale`; `rate.mode` = `--rate-limits`.
    pub rate: RateConfig,
    pub faults: FaultSpec,
    /// `/iam/assignees/users` answers 404 like orgs older than release 2023.05.0.
    pub legacy_org: bool,
    /// Data anchor: created/lastLogin/System Log are generated relative to it.
    pub now: DateTime<Utc>,
    /// None = derived from users (users/25 + department and role groups).
    pub groups: Option<usize>,
    /// None = derived (40 + users/100, capped at 1000).
    pub apps: Option<usize>,
    /// None = derived (10 per user).
    pub app_assignments: Option<usize>,
}

impl SimConfig {
    pub fn new(users: usize, seed: u64, now: DateTime<Utc>) -> Self {
        SimConfig {
            users,
            seed,
            profile: Profile::default(),
            rate: RateConfig::default(),
            faults: FaultSpec::default(),
            legacy_org: false,
            now,
            groups: None,
            apps: None,
            app_assignments: None,
        }
    }
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig::new(1000, 1, default_now())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("binding {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Traffic(#[from] traffic::TrafficError),
}

/// Ground truth: count and digest per resource (`Resource::as_str()` keys).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Truth {
    pub resources: BTreeMap<String, Digest>,
}

/// Generate the org for a config (pure; deterministic for the same config).
pub fn generate(config: &SimConfig) -> Org {
    org::generate(config)
}

/// The truth keys of every resource, exactly as `steward_model::Record::truth_key` builds them.
pub fn truth_keys(org: &Org) -> BTreeMap<Resource, Vec<String>> {
    let mut m: BTreeMap<Resource, Vec<String>> = BTreeMap::new();
    let live_users = || org.users.iter().enumerate().filter(|(_, u)| !u.deleted);
    m.insert(
        Resource::Users,
        live_users().map(|(_, u)| u.id.clone()).collect(),
    );
    m.insert(
        Resource::Groups,
        org.groups.iter().map(|g| g.id.clone()).collect(),
    );
    let mut memberships = Vec::new();
    for (gi, g) in org.groups.iter().enumerate() {
        for u in org.group_members(gi) {
            memberships.push(format!("{}/{}", g.id, org.users[u as usize].id));
        }
    }
    m.insert(Resource::Memberships, memberships);
    let apps = || org.apps.iter().filter(|a| !a.deleted);
    m.insert(Resource::Apps, apps().map(|a| a.id.clone()).collect());
    m.insert(
        Resource::AppUsers,
        apps()
            .flat_map(|a| {
                a.users
                    .iter()
                    .map(move |au| format!("{}/{}", a.id, org.users[au.user as usize].id))
            })
            .collect(),
    );
    m.insert(
        Resource::AppGroups,
        apps()
            .flat_map(|a| {
                a.groups
                    .iter()
                    .map(move |ag| format!("{}/{}", a.id, org.groups[ag.group as usize].id))
            })
            .collect(),
    );
    m.insert(
        Resource::RoleAssignments,
        org.roles
            .iter()
            .map(|r| match r.holder {
                Holder::User(u) => format!("account/{}/{}", org.users[u as usize].id, r.id),
                Holder::Group(g) => format!("group/{}/{}", org.groups[g as usize].id, r.id),
            })
            .collect(),
    );
    m.insert(
        Resource::Factors,
        live_users()
            .flat_map(|(_, u)| u.factors.iter().map(move |f| format!("{}/{}", u.id, f.id)))
            .collect(),
    );
    m.insert(
        Resource::Policies,
        org.policies.iter().map(|p| p.id.clone()).collect(),
    );
    m.insert(
        Resource::PolicyRules,
        org.policies
            .iter()
            .flat_map(|p| p.rules.iter().map(move |r| format!("{}/{}", p.id, r.id)))
            .collect(),
    );
    m.insert(
        Resource::LogEvents,
        org.logs.iter().map(|e| e.uuid.clone()).collect(),
    );
    m.insert(
        Resource::Settings,
        vec!["warningThreshold".into(), "notificationsEnabled".into()],
    );
    m
}

pub(crate) fn truth_of(org: &Org) -> Truth {
    Truth {
        resources: truth_keys(org)
            .into_iter()
            .map(|(r, keys)| (r.as_str().to_string(), truth_digest(keys)))
            .collect(),
    }
}

pub struct Simulator;

impl Simulator {
    /// Generate the org, bind, and serve in a background tokio task.
    pub async fn start(
        config: SimConfig,
        listen: SocketAddr,
    ) -> Result<RunningSimulator, SimError> {
        let cfg = config.clone();
        // Generation is CPU-bound (seconds at 100k users): keep it off the async workers.
        let org = match tokio::task::spawn_blocking(move || org::generate(&cfg)).await {
            Ok(org) => org,
            Err(_) => org::generate(&config),
        };
        let state = Arc::new(AppState {
            org: std::sync::RwLock::new(org),
            legacy_org: config.legacy_org,
            anchor: config.now.timestamp_millis(),
            started: Instant::now(),
            counter: AtomicU64::new(0),
            seed: config.seed,
        });
        let weak: Weak<AppState> = Arc::downgrade(&state);
        let sink: traffic::EventSink = Arc::new(move |ev: RateEvent| {
            if let Some(state) = weak.upgrade() {
                record_rate_event(&state, ev);
            }
        });
        let traffic = Arc::new(traffic::Traffic::new(
            config.rate.clone(),
            config.faults.clone(),
            config.seed,
            sink,
        )?);
        let app = server::router(state.clone(), traffic);
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|source| SimError::Bind {
                addr: listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| SimError::Bind {
            addr: listen,
            source,
        })?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serve =
                axum::serve(listener, app.into_make_service()).with_graceful_shutdown(async move {
                    let _ = rx.await;
                });
            if let Err(e) = serve.await {
                tracing::warn!(error = %e, "simulator server stopped");
            }
        });
        Ok(RunningSimulator {
            addr,
            state,
            shutdown: Some(tx),
            task,
        })
    }
}

/// Append a rate event to the System Log the way Okta records it (event types from the
/// rl2-monitor docs; debugData keys as in the recorded per-token violation).
fn record_rate_event(state: &AppState, ev: RateEvent) {
    let now = state.sim_now();
    let mut org = state.write();
    let (event_type, msg, bucket, limit, used) = match &ev {
        RateEvent::Warning {
            bucket,
            limit,
            used,
        } => (
            "system.rate.limit.warning",
            "Rate limit warning",
            bucket.clone(),
            *limit,
            Some(*used),
        ),
        RateEvent::Violation { bucket, limit } => (
            "system.rate.limit.violation",
            "Rate limit violation",
            bucket.clone(),
            *limit,
            None,
        ),
        RateEvent::ConcurrencyViolation { limit } => (
            "core.concurrency.org.limit.violation",
            "Concurrency limit violation",
            "concurrency".to_string(),
            *limit,
            None,
        ),
    };
    let actor = org::Target {
        id: org.org_id.clone(),
        kind: "PublicClientApp",
        alternate_id: "Okta".into(),
        display_name: "Okta".into(),
    };
    let target = org::Target {
        id: bucket.clone(),
        kind: "Bucket UUID",
        alternate_id: bucket.clone(),
        display_name: bucket.clone(),
    };
    let published = now / 1000 * 1000;
    let mut rng = org.id_rng.clone();
    let mut e = org::admin_event(
        &mut rng,
        published,
        &actor,
        event_type,
        msg,
        None,
        vec![target],
    );
    org.id_rng = rng;
    e.severity = "WARN";
    e.debug
        .push(("operationRateLimitType", "web_request".into()));
    e.debug
        .push(("operationRateLimitThreshold", limit.to_string()));
    e.debug
        .push(("operationRateLimitTimeUnit", "MINUTES".into()));
    e.debug.push(("operationRateLimitTimeSpan", "1".into()));
    e.debug.push(("requestUri", bucket));
    if let Some(used) = used {
        e.debug.push(("operationRateLimitUsed", used.to_string()));
    }
    server::append_event(&mut org, e);
}

/// A simulator serving in the background.
pub struct RunningSimulator {
    addr: SocketAddr,
    state: Arc<AppState>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for RunningSimulator {
    // Tokens are secrets: never in Debug output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningSimulator")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl RunningSimulator {
    /// `http://127.0.0.1:PORT`
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The API token for a role: SUPER_ADMIN, ORG_ADMIN, APP_ADMIN, READ_ONLY_ADMIN, NO_ADMIN,
    /// EXPIRED. Unknown roles get a token that is rejected with 401.
    pub fn token(&self, role: &str) -> String {
        let org = self.state.read();
        TOKEN_ROLES
            .iter()
            .position(|r| r.eq_ignore_ascii_case(role))
            .and_then(|i| org.tokens.get(i).cloned())
            .unwrap_or_else(|| "00invalid-token-for-unknown-role".into())
    }

    /// Id of the user a role's token acts as (`/users/me`).
    pub fn token_user_id(&self, role: &str) -> Option<String> {
        let org = self.state.read();
        let i = TOKEN_ROLES
            .iter()
            .position(|r| r.eq_ignore_ascii_case(role))?;
        Some(org.users[org.token_users[i] as usize].id.clone())
    }

    /// The one JSON line `steward simulate okta` prints.
    pub fn startup_json(&self) -> Value {
        let truth = self.truth();
        let tokens: serde_json::Map<String, Value> = TOKEN_ROLES
            .iter()
            .map(|r| (r.to_string(), Value::String(self.token(r))))
            .collect();
        let counts: serde_json::Map<String, Value> = truth
            .resources
            .iter()
            .map(|(k, d)| (k.clone(), json!(d.count)))
            .collect();
        json!({"base_url": self.base_url(), "tokens": tokens, "org": counts})
    }

    pub fn truth(&self) -> Truth {
        truth_of(&self.state.read())
    }

    /// Run `f` with read access to the live org (tests and benchmarks).
    pub fn with_org<R>(&self, f: impl FnOnce(&Org) -> R) -> R {
        f(&self.state.read())
    }

    /// Record a rate event in the System Log, as the traffic layer does (for tests).
    pub fn record_rate_event(&self, ev: RateEvent) {
        record_rate_event(&self.state, ev);
    }

    /// Graceful stop: stop accepting, finish in-flight requests.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
    }
}
