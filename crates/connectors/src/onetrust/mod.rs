//! The OneTrust connector: capability table, connection test (each scope reported
//! separately, with the fix) and sync over OneTrust's SCIM and Access Management APIs.
//!
//! Credentials: an API key (Global Settings → Access Management → Client Credentials → API
//! Keys; it is the bearer token) or OAuth client credentials, sealed as
//! `{"client_id","client_secret"}` (see [`client::Auth`]). Scopes: ORGANIZATION and SCIM are
//! required, USER adds access levels, licence status, last login, user groups and usage.
//! SCIM deletion is not available in OneTrust: deprovisioning is `PATCH active:false`.

pub mod actions;
pub mod client;
pub mod scim;
pub mod sync;

use secrecy::SecretString;
use serde_json::Value;
use steward_model::{
    Capability, CheckOutcome, ConnectionReport, IntegrationKind, PermissionCheck, Resource,
};
use tokio::sync::mpsc;

use crate::{Connector, ConnectorError, IntegrationDomain, SyncEvent, SyncOptions, SyncReport};
use client::{Auth, Backoff, OtClient, Pacing, scope_fix};

/// Seed of the retry jitter unless a test injects one.
const DEFAULT_SEED: u64 = 0x07_5EED;

pub const CAPABILITIES: &[Capability] = &[
    Capability {
        id: "scim_users",
        name: "Read users (names, emails, status) over SCIM",
        resources: &[Resource::Users],
        required: true,
        needs: "SCIM scope (USER is also accepted on SCIM Users)",
        endpoint: "GET /api/scim/v2/Users",
    },
    Capability {
        id: "scim_groups",
        name: "Read SCIM groups and their members",
        resources: &[Resource::Groups, Resource::Memberships],
        required: true,
        needs: "SCIM scope",
        endpoint: "GET /api/scim/v2/Groups",
    },
    Capability {
        id: "organizations",
        name: "Read the organisation tree",
        resources: &[Resource::Groups],
        required: true,
        needs: "ORGANIZATION scope",
        endpoint: "GET /api/access/v1/external/organizations",
    },
    Capability {
        id: "access_users",
        name: "Read access levels (roles), licence status and last login",
        resources: &[Resource::Users, Resource::RoleAssignments],
        required: false,
        needs: "USER scope",
        endpoint: "GET /api/access/v2/users",
    },
    Capability {
        id: "user_groups",
        name: "Read user groups and their members",
        resources: &[Resource::Groups, Resource::Memberships],
        required: false,
        needs: "USER scope",
        endpoint: "GET /api/access/v1/user-groups",
    },
    Capability {
        id: "login_history",
        name: "Read login history (usage over the last 90 days)",
        resources: &[Resource::LogEvents],
        required: false,
        needs: "USER scope",
        endpoint: "GET /api/access/v1/login-history",
    },
    Capability {
        id: "audit_activities",
        name: "Read per-user audit activities (only when asked: one request per user)",
        resources: &[Resource::LogEvents],
        required: false,
        needs: "USER scope",
        endpoint: "GET /api/audit/v1/users/{userId}/activities",
    },
    Capability {
        id: "deprovision_users",
        name: "Deprovision users (privacy deletion): SCIM deletion is not available in OneTrust, \
               so deprovisioning is PATCH active:false and OneTrust keeps the record",
        resources: &[],
        required: false,
        needs: "SCIM scope",
        endpoint: "PATCH /api/scim/v2/Users/{id}",
    },
];

pub struct OneTrustConnector {
    domain: IntegrationDomain,
    secret: SecretString,
    seed: u64,
    backoff: Backoff,
    pacing: Pacing,
}

impl std::fmt::Debug for OneTrustConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OneTrustConnector")
            .field("domain", &self.domain.as_str())
            .field("credential", &"[REDACTED]")
            .finish()
    }
}

impl OneTrustConnector {
    /// `secret` is an API key or sealed client credentials ([`Auth::from_secret`]).
    pub fn new(domain: IntegrationDomain, secret: SecretString) -> Result<Self, ConnectorError> {
        Ok(OneTrustConnector {
            domain,
            secret,
            seed: DEFAULT_SEED,
            backoff: Backoff::default(),
            pacing: Pacing::default(),
        })
    }

    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Pace below OneTrust's per-endpoint limit (default 1,000 per minute).
    pub fn with_pacing(mut self, pacing: Pacing) -> Self {
        self.pacing = pacing;
        self
    }

    pub fn client(&self, max_in_flight: usize) -> Result<OtClient, ConnectorError> {
        Ok(OtClient::new(
            self.domain.clone(),
            Auth::from_secret(self.secret.clone()),
            max_in_flight,
            self.seed,
        )?
        .with_backoff(self.backoff)
        .with_pacing(self.pacing))
    }

    pub fn domain(&self) -> &IntegrationDomain {
        &self.domain
    }
}

fn cap(id: &str) -> &'static Capability {
    CAPABILITIES
        .iter()
        .find(|c| c.id == id)
        .unwrap_or(&CAPABILITIES[0])
}

/// The outcome of one probe; a rejected credential is fatal for the whole test.
fn outcome(
    c: &Capability,
    r: Result<Value, ConnectorError>,
    fatal: &mut Option<String>,
) -> CheckOutcome {
    match r {
        Ok(_) => CheckOutcome::Ok,
        Err(ConnectorError::MissingPermission { status, code, .. }) => CheckOutcome::Denied {
            http_status: status,
            code: Some(code.clone()),
            reason: format!(
                "OneTrust refused {} ({status}): the credential lacks the {code} scope",
                c.endpoint
            ),
            fix: scope_fix(&code),
        },
        Err(e @ ConnectorError::CredentialRejected { .. }) => {
            let s = e.to_string();
            fatal.get_or_insert(s.clone());
            CheckOutcome::Error { reason: s }
        }
        Err(ConnectorError::NotFound { endpoint, .. }) => CheckOutcome::Error {
            reason: format!("{endpoint} is not served by this tenant (404)"),
        },
        Err(e) => CheckOutcome::Error {
            reason: e.to_string(),
        },
    }
}

/// Run the connection test: one probe per capability, each scope's refusal reported with
/// its fix; the scopes that worked are listed as the report's roles.
pub async fn test_connection(client: &OtClient) -> ConnectionReport {
    let mut report = ConnectionReport::default();
    let mut fatal = None;
    let probes: [(&str, String); 7] = [
        (
            "scim_users",
            format!("{}/Users?startIndex=1&count=1", sync::SCIM_BASE),
        ),
        (
            "scim_groups",
            format!("{}/Groups?startIndex=1&count=1", sync::SCIM_BASE),
        ),
        (
            "organizations",
            "/api/access/v1/external/organizations".into(),
        ),
        ("access_users", "/api/access/v2/users?page=0&size=1".into()),
        (
            "user_groups",
            "/api/access/v1/user-groups?page=0&size=1".into(),
        ),
        (
            "login_history",
            "/api/access/v1/login-history?page=0&size=1".into(),
        ),
        ("audit_activities", String::new()),
    ];
    let mut first_user: Option<String> = None;
    for (id, path) in probes {
        let c = cap(id);
        let r = if id == "audit_activities" {
            match &first_user {
                Some(u) => {
                    client
                        .get(&format!("/api/audit/v1/users/{u}/activities?page=0&size=1"))
                        .await
                }
                None => {
                    // Without a readable user there is nothing to ask about: the verdict is the
                    // user list's (the same USER scope).
                    let prior = report.checks.iter().find(|k| k.capability == "access_users").map(|k| match &k.outcome {
                        CheckOutcome::Denied { http_status, code, fix, .. } => CheckOutcome::Denied {
                            http_status: *http_status,
                            code: code.clone(),
                            reason: "not checked: it needs the USER scope, which GET /api/access/v2/users was refused".into(),
                            fix: fix.clone(),
                        },
                        CheckOutcome::Ok => CheckOutcome::Fallback { reason: "the tenant has no user to check audit activities with".into() },
                        other => other.clone(),
                    });
                    report.checks.push(PermissionCheck {
                        capability: c.id.into(),
                        name: c.name.into(),
                        required: c.required,
                        endpoint: c.endpoint.into(),
                        outcome: prior.unwrap_or(CheckOutcome::Error {
                            reason: "no user to check audit activities with".into(),
                        }),
                    });
                    continue;
                }
            }
        } else {
            client.get(&path).await
        };
        if id == "access_users"
            && let Ok(v) = &r
        {
            first_user = v
                .pointer("/content/0/userId")
                .or_else(|| v.pointer("/content/0/id"))
                .and_then(Value::as_str)
                .map(str::to_string);
        }
        if matches!(
            r,
            Err(ConnectorError::GaveUp { .. } | ConnectorError::Http(_))
        ) && report.checks.is_empty()
        {
            let host = client
                .domain()
                .url()
                .host_str()
                .unwrap_or_default()
                .to_string();
            if let Err(e) = r {
                report.fatal = Some(format!(
                    "could not reach {host}: {e}; check the domain and the network (proxy, firewall)"
                ));
            }
            return report;
        }
        let o = outcome(c, r, &mut fatal);
        report.checks.push(PermissionCheck {
            capability: c.id.into(),
            name: c.name.into(),
            required: c.required,
            endpoint: c.endpoint.into(),
            outcome: o,
        });
        if fatal.is_some() {
            break;
        }
    }
    if let Some(f) = fatal {
        report.fatal = Some(f);
        return report;
    }
    report.checks.push(PermissionCheck {
        capability: "deprovision_users".into(),
        name: cap("deprovision_users").name.into(),
        required: false,
        endpoint: cap("deprovision_users").endpoint.into(),
        outcome: CheckOutcome::Fallback {
            reason: "SCIM deletion is not available in OneTrust: a privacy deletion deactivates the user (PATCH active:false); OneTrust keeps the record".into(),
        },
    });
    // Scopes proven by the probes.
    let passed = |id: &str| {
        report
            .checks
            .iter()
            .any(|k| k.capability == id && k.passed())
    };
    let mut scopes = Vec::new();
    if passed("scim_groups") {
        scopes.push("SCIM".to_string());
    }
    if passed("organizations") {
        scopes.push("ORGANIZATION".to_string());
    }
    if passed("access_users") {
        scopes.push("USER".to_string());
    }
    report.roles = scopes;
    if let Ok(Some(info)) = client.token_info.lock().map(|i| i.clone()) {
        report.principal = info
            .get("orgGroupId")
            .or_else(|| info.get("orgGroupGuid"))
            .map(|o| {
                format!(
                    "client credentials of organisation group {}",
                    o.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| o.to_string())
                )
            });
    }
    if report.principal.is_none() {
        report.principal =
            Some("API key (acts for the organisation group it was created in)".into());
    }
    for scope in ["SCIM", "ORGANIZATION", "USER"] {
        if !report.roles.iter().any(|r| r == scope) {
            let what = if scope == "USER" {
                "access levels, licence status, last login, user groups and usage are not synced"
            } else {
                "the sync cannot run until it is granted"
            };
            report.warnings.push(format!(
                "the {scope} scope is missing: {what}; {}",
                scope_fix(scope)
            ));
        }
    }
    report
}

#[async_trait::async_trait]
impl Connector for OneTrustConnector {
    fn kind(&self) -> IntegrationKind {
        IntegrationKind::Onetrust
    }
    fn capabilities(&self) -> &'static [Capability] {
        CAPABILITIES
    }
    async fn test_connection(&self) -> ConnectionReport {
        match self.client(2) {
            Ok(c) => test_connection(&c).await,
            Err(e) => ConnectionReport {
                fatal: Some(e.to_string()),
                ..ConnectionReport::default()
            },
        }
    }
    async fn sync(
        &self,
        options: SyncOptions,
        out: mpsc::Sender<SyncEvent>,
    ) -> Result<SyncReport, ConnectorError> {
        let client = self.client(options.max_in_flight)?;
        let notes = sync::SyncRun {
            client: &client,
            options,
        }
        .run(out)
        .await?;
        Ok(SyncReport {
            requests: client.requests.load(std::sync::atomic::Ordering::Relaxed),
            retries: client.retries.load(std::sync::atomic::Ordering::Relaxed),
            rate_limited: client
                .rate_limited
                .load(std::sync::atomic::Ordering::Relaxed),
            warning_threshold: None,
            buckets: client.bucket_reports(),
            notes,
        })
    }
    fn person_actions(
        &self,
    ) -> Result<Option<Box<dyn crate::actions::PersonActions + '_>>, ConnectorError> {
        Ok(Some(Box::new(actions::OneTrustActions::new(self)?)))
    }
}
