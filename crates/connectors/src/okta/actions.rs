//! Okta's person actions: live lookup by email, everything known about one user, and
//! erasure (deactivate → delete → verify 404 E0000007), API-NOTES §4 and §6.
//!
//! Reads go through the connector's [`OktaClient`] (retries, rate governor). Writes are sent
//! once (plus 429 waits): a blind retry of a lifecycle call could double-apply, so a network
//! error surfaces to the caller, and a repeated request is idempotent at the product level.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::StatusCode;
use reqwest::header::CONTENT_LENGTH;
use serde_json::Value;
use steward_model::Account;

use super::OktaConnector;
use super::client::{OktaClient, rate_headers};
use super::governor::bucket_of;
use super::wire;
use crate::ConnectorError;
use crate::actions::{
    EraseOutcome, Part, PersonActions, PersonApp, PersonData, PersonFactor, PersonGroup,
    PersonRole, RemediationActions, RemovalOutcome, account_matches,
};

/// Who may deactivate and delete users (API-NOTES §4: READ_ONLY_ADMIN cannot write).
pub const ROLE_TO_DELETE: &str = "SUPER_ADMIN or ORG_ADMIN (the okta.users.manage permission)";
/// 429s on a write are waited out this many times at most.
const MAX_WRITE_RATE_LIMITED: u32 = 10;

fn enc(s: &str) -> String {
    utf8_percent_encode(s, NON_ALPHANUMERIC).to_string()
}

/// A string literal inside an Okta filter expression.
fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn items(body: Value) -> Vec<Value> {
    match body {
        Value::Array(v) => v,
        _ => Vec::new(),
    }
}

fn str_at(v: &Value, ptr: &str) -> Option<String> {
    v.pointer(ptr).and_then(Value::as_str).map(str::to_string)
}

/// A 403 (or a disabled feature) makes one part unreadable; anything else is an error.
fn part<T>(r: Result<Vec<T>, ConnectorError>) -> Result<Part<T>, ConnectorError> {
    match r {
        Ok(items) => Ok(Part::Read { items }),
        Err(ConnectorError::MissingPermission {
            status, code, fix, ..
        }) => Ok(Part::NotReadable {
            reason: format!("not readable ({status} {code}): {fix}"),
        }),
        Err(e) => Err(e),
    }
}

/// Person actions over one client (one rate governor for the whole request).
pub struct OktaActions {
    client: OktaClient,
    requests: AtomicU64,
}

impl OktaActions {
    pub fn new(connector: &OktaConnector) -> Result<Self, ConnectorError> {
        Ok(OktaActions {
            client: connector.client(4, 90)?,
            requests: AtomicU64::new(0),
        })
    }

    async fn get_all(&self, path: &str) -> Result<Vec<Value>, ConnectorError> {
        let mut out = Vec::new();
        let mut next = Some(self.client.url(path)?);
        while let Some(u) = next.take() {
            self.requests.fetch_add(1, Ordering::Relaxed);
            let page = self.client.get_url(u).await?;
            out.extend(items(page.body));
            next = page.next;
        }
        Ok(out)
    }

    /// One write (POST with an empty body, or DELETE); returns the status.
    async fn write(&self, method: reqwest::Method, path: &str) -> Result<(), ConnectorError> {
        let url = self.client.url(path)?;
        let endpoint = url.path().to_string();
        let bucket = bucket_of(method.as_str(), url.path());
        let mut limited = 0u32;
        loop {
            let request = self.client.request(method.clone(), url.clone())?;
            let ticket = self.client.governor.admit(&bucket).await;
            self.requests.fetch_add(1, Ordering::Relaxed);
            // Okta wants `Content-Length: 0` on body-less POSTs (API-NOTES §14).
            let sent = request.header(CONTENT_LENGTH, "0").send().await;
            let resp = match sent {
                Ok(r) => r,
                Err(e) => {
                    self.client.governor.no_answer(&bucket);
                    drop(ticket);
                    return Err(ConnectorError::Http(format!(
                        "{method} {endpoint}: no answer: {}",
                        e.without_url()
                    )));
                }
            };
            let status = resp.status();
            let rh = rate_headers(resp.headers());
            self.client.governor.observe(&bucket, &rh, status.as_u16());
            drop(ticket);
            let text = resp.text().await.unwrap_or_default();
            let code = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| str_at(&v, "/errorCode"))
                .unwrap_or_default();
            match status {
                s if s.is_success() => return Ok(()),
                StatusCode::TOO_MANY_REQUESTS if limited < MAX_WRITE_RATE_LIMITED => {
                    limited += 1;
                    tokio::time::sleep(
                        self.client
                            .governor
                            .wait_for_reset(&rh)
                            .min(Duration::from_secs(90)),
                    )
                    .await;
                }
                StatusCode::UNAUTHORIZED => return Err(ConnectorError::TokenRejected { code }),
                StatusCode::FORBIDDEN => {
                    return Err(ConnectorError::MissingPermission {
                        endpoint,
                        status: 403,
                        code,
                        fix: format!("deleting users needs {ROLE_TO_DELETE}"),
                    });
                }
                StatusCode::NOT_FOUND => return Err(ConnectorError::NotFound { endpoint, code }),
                s => {
                    return Err(ConnectorError::Unexpected {
                        endpoint,
                        status: s.as_u16(),
                        body: text.chars().take(300).collect(),
                    });
                }
            }
        }
    }
}

#[async_trait::async_trait]
impl PersonActions for OktaActions {
    async fn find_by_email(&self, email: &str) -> Result<Vec<Account>, ConnectorError> {
        // `search` (not `filter`) includes DEPROVISIONED users and matches case-insensitively;
        // the client-side check keeps only exact matches on the three identifiers.
        let q = quoted(email);
        let expr =
            format!("profile.login eq {q} or profile.email eq {q} or profile.secondEmail eq {q}");
        let found = self
            .get_all(&format!("/api/v1/users?search={}&limit=200", enc(&expr)))
            .await?;
        Ok(found
            .iter()
            .filter_map(wire::account)
            .filter(|a| account_matches(a, email))
            .collect())
    }

    async fn person_data(
        &self,
        account: &Account,
        since: DateTime<Utc>,
    ) -> Result<PersonData, ConnectorError> {
        let id = enc(&account.id);
        let since = enc(&since.to_rfc3339_opts(SecondsFormat::Millis, true));
        let groups_path = format!("/api/v1/users/{id}/groups");
        let apps_path = format!(
            "/api/v1/apps?filter={}&expand={}&limit=200",
            enc(&format!("user.id eq {}", quoted(&account.id))),
            enc(&format!("user/{}", account.id))
        );
        let factors_path = format!("/api/v1/users/{id}/factors");
        let roles_path = format!("/api/v1/users/{id}/roles");
        let actor_path = format!(
            "/api/v1/logs?since={since}&limit=1000&sortOrder=ASCENDING&filter={}",
            enc(&format!("actor.id eq {}", quoted(&account.id)))
        );
        let target_path = format!(
            "/api/v1/logs?since={since}&limit=1000&sortOrder=ASCENDING&filter={}",
            enc(&format!("target.id eq {}", quoted(&account.id)))
        );
        let (groups, apps, factors, roles, actor, target) = futures::join!(
            self.get_all(&groups_path),
            self.get_all(&apps_path),
            self.get_all(&factors_path),
            self.get_all(&roles_path),
            self.logs(&actor_path),
            self.logs(&target_path),
        );
        let groups = part(groups.map(|gs| {
            gs.iter()
                .filter_map(wire::group)
                .map(|g| PersonGroup {
                    id: g.id,
                    name: g.name,
                    group_type: g.group_type,
                })
                .collect()
        }))?;
        let apps = part(apps.map(|apps| {
            apps.iter()
                .filter_map(|a| {
                    let app = wire::app(a)?;
                    let au = a.pointer("/_embedded/user").cloned().unwrap_or(Value::Null);
                    Some(PersonApp {
                        app_id: app.id,
                        name: app.name,
                        label: app.label,
                        scope: str_at(&au, "/scope"),
                        status: str_at(&au, "/status"),
                        profile: au.get("profile").cloned().unwrap_or(Value::Null),
                        user_name: str_at(&au, "/credentials/userName"),
                    })
                })
                .collect()
        }))?;
        // Only type, provider and status: factor profiles hold phone numbers and credential ids.
        let factors = part(factors.map(|fs| {
            fs.iter()
                .filter_map(|f| wire::factor(&account.id, f))
                .map(|f| PersonFactor {
                    id: f.id,
                    factor_type: f.factor_type,
                    provider: f.provider,
                    status: f.status,
                })
                .collect()
        }))?;
        let roles = part(roles.map(|rs| {
            rs.iter()
                .map(|r| PersonRole {
                    id: str_at(r, "/id").unwrap_or_default(),
                    role_type: str_at(r, "/type").unwrap_or_default(),
                    label: str_at(r, "/label").unwrap_or_default(),
                    assignment_type: str_at(r, "/assignmentType"),
                })
                .collect()
        }))?;
        let log_events = match (actor, target) {
            (Ok(mut a), Ok(t)) => {
                // An event can name the person as actor and target: keep it once.
                let seen: std::collections::HashSet<String> =
                    a.iter().map(|e| e.id.clone()).collect();
                a.extend(t.into_iter().filter(|e| !seen.contains(&e.id)));
                a.sort_by(|x, y| (x.published, &x.id).cmp(&(y.published, &y.id)));
                Part::Read { items: a }
            }
            (Err(e), _) | (_, Err(e)) => part(Err(e))?,
        };
        Ok(PersonData {
            account: account.clone(),
            groups,
            apps,
            factors,
            roles,
            log_events,
        })
    }

    async fn erase(&self, account: &Account) -> Result<EraseOutcome, ConnectorError> {
        let id = enc(&account.id);
        let refused = |e: ConnectorError| match e {
            ConnectorError::MissingPermission { status, code, .. } => Ok(EraseOutcome::Refused {
                role_needed: ROLE_TO_DELETE.to_string(),
                reason: format!(
                    "Okta refused the deletion ({status} {code}): the token's admin role may not write users"
                ),
            }),
            ConnectorError::NotFound { .. } => Ok(EraseOutcome::AlreadyGone),
            e => Err(e),
        };
        if account.status != "DEPROVISIONED"
            && let Err(e) = self
                .write(
                    reqwest::Method::POST,
                    &format!("/api/v1/users/{id}/lifecycle/deactivate"),
                )
                .await
        {
            return refused(e);
        }
        if let Err(e) = self
            .write(reqwest::Method::DELETE, &format!("/api/v1/users/{id}"))
            .await
        {
            return refused(e);
        }
        self.requests.fetch_add(1, Ordering::Relaxed);
        match self.client.get(&format!("/api/v1/users/{id}")).await {
            Err(ConnectorError::NotFound { code, .. }) => Ok(EraseOutcome::Deleted {
                verified: code == "E0000007",
                code: Some(code),
            }),
            Ok(_) => Ok(EraseOutcome::Deleted {
                verified: false,
                code: None,
            }),
            Err(e) => Err(e),
        }
    }

    fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
}

impl OktaActions {
    async fn logs(&self, path: &str) -> Result<Vec<steward_model::LogEvent>, ConnectorError> {
        // A bounded read: `until` is absent, so Okta keeps handing out a `next` link even on
        // the last page (polling); stop at the first short page instead.
        let mut out = Vec::new();
        let mut next = Some(self.client.url(path)?);
        while let Some(u) = next.take() {
            self.requests.fetch_add(1, Ordering::Relaxed);
            let page = self.client.get_url(u).await?;
            let batch = items(page.body);
            let full = batch.len() >= 1000;
            out.extend(batch.iter().filter_map(wire::log_event));
            if full {
                next = page.next;
            }
        }
        Ok(out)
    }
}

/// Who may remove app assignments and group memberships (API-NOTES §4).
pub const ROLE_TO_REMEDIATE: &str =
    "SUPER_ADMIN or ORG_ADMIN (okta.apps.manage / okta.groups.manage)";

impl OktaActions {
    fn refused(e: ConnectorError) -> Result<RemovalOutcome, ConnectorError> {
        match e {
            ConnectorError::MissingPermission { status, code, .. } => Ok(RemovalOutcome::Refused {
                role_needed: ROLE_TO_REMEDIATE.to_string(),
                reason: format!(
                    "Okta refused the change ({status} {code}): the token's admin role may not write"
                ),
            }),
            ConnectorError::NotFound { .. } => Ok(RemovalOutcome::AlreadyAbsent),
            e => Err(e),
        }
    }
}

#[async_trait::async_trait]
impl RemediationActions for OktaActions {
    async fn remove_app_assignment(
        &self,
        app_id: &str,
        account_id: &str,
    ) -> Result<RemovalOutcome, ConnectorError> {
        let (app, user) = (enc(app_id), enc(account_id));
        if let Err(e) = self
            .write(
                reqwest::Method::DELETE,
                &format!("/api/v1/apps/{app}/users/{user}"),
            )
            .await
        {
            return Self::refused(e);
        }
        // Verify with a re-read of the app's users.
        let users = self
            .get_all(&format!("/api/v1/apps/{app}/users?limit=500"))
            .await?;
        let still = users
            .iter()
            .any(|u| u.get("id").and_then(Value::as_str) == Some(account_id));
        Ok(RemovalOutcome::Removed { verified: !still })
    }

    async fn remove_group_membership(
        &self,
        group_id: &str,
        account_id: &str,
    ) -> Result<RemovalOutcome, ConnectorError> {
        let (group, user) = (enc(group_id), enc(account_id));
        if let Err(e) = self
            .write(
                reqwest::Method::DELETE,
                &format!("/api/v1/groups/{group}/users/{user}"),
            )
            .await
        {
            return Self::refused(e);
        }
        let groups = self
            .get_all(&format!("/api/v1/users/{user}/groups"))
            .await?;
        let still = groups
            .iter()
            .any(|g| g.get("id").and_then(Value::as_str) == Some(group_id));
        Ok(RemovalOutcome::Removed { verified: !still })
    }
}
