//! Live per-person operations on OneTrust (privacy requests): find by email over SCIM
//! filters, the person's account, groups, organisations, access levels and login history,
//! and "erase" — which in OneTrust can only deactivate (SCIM deletion is not available), so
//! the outcome says plainly that OneTrust keeps the record.

use std::sync::atomic::Ordering;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use steward_model::Account;

use super::OneTrustConnector;
use super::client::OtClient;
use super::scim::{self, ScimReader, enc};
use super::sync::{self, SCIM_BASE, spring_all};
use crate::ConnectorError;
use crate::actions::{
    EraseOutcome, Part, PersonActions, PersonData, PersonGroup, PersonRole, account_matches,
};

/// What a OneTrust "deletion" did, in words the privacy-request record shows.
pub const KEEPS_RECORD: &str = "deactivated, not deleted: SCIM deletion is not available in OneTrust, so the user was \
     deprovisioned with PATCH active:false (verified inactive); OneTrust keeps the user record";

pub struct OneTrustActions {
    client: OtClient,
}

impl OneTrustActions {
    pub fn new(c: &OneTrustConnector) -> Result<Self, ConnectorError> {
        Ok(OneTrustActions {
            client: c.client(2)?,
        })
    }

    /// The access-management view of a user (roles, licence, last login), when readable.
    async fn access_user(&self, id: &str) -> Result<Value, ConnectorError> {
        self.client
            .get(&format!("/api/access/v2/users/{}", enc(id)))
            .await
    }
}

fn not_readable<T>(e: &ConnectorError) -> Part<T> {
    Part::NotReadable {
        reason: e.to_string(),
    }
}

#[async_trait::async_trait]
impl PersonActions for OneTrustActions {
    async fn find_by_email(&self, email: &str) -> Result<Vec<Account>, ConnectorError> {
        let reader = ScimReader::new(&self.client, SCIM_BASE);
        let found = reader.find_by_email(email).await?;
        let mut out = Vec::new();
        for u in found.into_iter().filter_map(scim::account) {
            if !account_matches(&u, email) {
                continue;
            }
            let mut u = u;
            if let Ok(v) = self.access_user(&u.id).await {
                sync::merge_access(&mut u, &v);
            }
            out.push(u);
        }
        Ok(out)
    }

    async fn person_data(
        &self,
        account: &Account,
        since: DateTime<Utc>,
    ) -> Result<PersonData, ConnectorError> {
        let id = enc(&account.id);
        let scim_user = self.client.get(&format!("{SCIM_BASE}/Users/{id}")).await?;
        let mut fresh = scim::account(scim_user.clone()).unwrap_or_else(|| account.clone());
        // Groups: SCIM `groups` of the user, plus the organisations of its access levels.
        let mut groups: Vec<PersonGroup> = scim_user
            .get("groups")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|g| {
                        Some(PersonGroup {
                            id: g.get("value").and_then(Value::as_str)?.to_string(),
                            name: g
                                .get("display")
                                .and_then(Value::as_str)
                                .unwrap_or_default()
                                .to_string(),
                            group_type: "SCIM_GROUP".into(),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        let roles = match self.access_user(&account.id).await {
            Ok(v) => {
                sync::merge_access(&mut fresh, &v);
                let levels = sync::access_levels(&v);
                for l in &levels {
                    let raw = l.raw.to_value();
                    if let Some(org) = raw.get("organizationId").and_then(Value::as_str)
                        && !groups.iter().any(|g| g.id == org)
                    {
                        groups.push(PersonGroup {
                            id: org.to_string(),
                            name: raw
                                .get("organizationName")
                                .and_then(Value::as_str)
                                .unwrap_or_default()
                                .to_string(),
                            group_type: "ORGANIZATION".into(),
                        });
                    }
                }
                Part::Read {
                    items: levels
                        .into_iter()
                        .map(|r| PersonRole {
                            id: r.id,
                            role_type: r.role_type,
                            label: r.label,
                            assignment_type: Some("USER".into()),
                        })
                        .collect(),
                }
            }
            Err(
                e @ (ConnectorError::MissingPermission { .. } | ConnectorError::NotFound { .. }),
            ) => not_readable(&e),
            Err(e) => return Err(e),
        };
        // No endDate: the window runs to the tenant's "now" (spec: a missing end means now).
        let start = since.format("%Y-%m-%dT%H:%M:%SZ");
        let logins = spring_all(
            &self.client,
            &format!("/api/access/v1/login-history?userId={id}&startDate={start}"),
            2,
        )
        .await;
        let log_events = match logins {
            Ok(items) => {
                let mut ev = sync::login_events(items);
                ev.retain(|e| {
                    e.actor_id.as_deref() == Some(account.id.as_str()) || e.actor_id.is_none()
                });
                ev.sort_by_key(|e| e.published);
                Part::Read { items: ev }
            }
            Err(
                e @ (ConnectorError::MissingPermission { .. } | ConnectorError::NotFound { .. }),
            ) => not_readable(&e),
            Err(e) => return Err(e),
        };
        Ok(PersonData {
            account: fresh,
            groups: Part::Read { items: groups },
            // OneTrust has no app assignments or MFA factors in these APIs.
            apps: Part::Read { items: Vec::new() },
            factors: Part::Read { items: Vec::new() },
            roles,
            log_events,
        })
    }

    async fn erase(&self, account: &Account) -> Result<EraseOutcome, ConnectorError> {
        let path = format!("{SCIM_BASE}/Users/{}", enc(&account.id));
        let patch = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "active", "value": false}],
        });
        match self
            .client
            .send(reqwest::Method::PATCH, &path, Some(&patch))
            .await
        {
            Ok(_) => {}
            Err(ConnectorError::NotFound { .. }) => return Ok(EraseOutcome::AlreadyGone),
            Err(ConnectorError::MissingPermission { code, .. }) => {
                return Ok(EraseOutcome::Refused {
                    role_needed: format!("{code} scope"),
                    reason: format!(
                        "OneTrust refused the deactivation: {}",
                        super::client::scope_fix(&code)
                    ),
                });
            }
            Err(e) => return Err(e),
        }
        // Read back: the user must now be inactive (it still exists: OneTrust keeps it).
        let back = self.client.get(&path).await?;
        let inactive = back.get("active").and_then(Value::as_bool) == Some(false);
        Ok(EraseOutcome::Deleted {
            verified: inactive,
            code: Some(KEEPS_RECORD.to_string()),
        })
    }

    fn requests(&self) -> u64 {
        self.client.requests.load(Ordering::Relaxed)
    }
}
