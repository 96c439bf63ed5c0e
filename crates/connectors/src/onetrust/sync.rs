//! The OneTrust sync: users (SCIM names/emails/status merged with `/api/access/v2/users` for
//! access levels, licence status and last login), access levels as role assignments, user
//! groups + members, SCIM groups + members, the organisation tree (as `ORGANIZATION` groups),
//! login history of the last 90 days and, when asked, per-user audit activities (both as log
//! events).
//!
//! Each part is read separately; a part the credential may not read (403: missing scope)
//! is noted, and a resource none of whose parts could be read is `Unreadable` with the
//! reason and the fix — never empty.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration as ChronoDuration, Utc};
use futures::StreamExt;
use serde_json::Value;
use steward_model::{
    Account, Group, LogEvent, Membership, PrincipalKind, Record, Resource, RoleAssignment,
};
use tokio::sync::mpsc;

use super::client::OtClient;
use super::scim::{self, ScimReader};
use crate::{ConnectorError, SyncEvent, SyncOptions};

/// Spring page size asked for (the documented maximum).
pub const PAGE_SIZE: usize = 2000;
/// Records per `Batch` event.
const FLUSH_AT: usize = 500;
/// Login history look-back.
pub const USAGE_DAYS: i64 = 90;

/// The SCIM base the connector reads (legacy v2 carries names, emails and status; v3 is the
/// same for users).
pub const SCIM_BASE: &str = "/api/scim/v2";

fn str_of(v: &Value, k: &str) -> Option<String> {
    v.get(k)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn ts_of(v: &Value, k: &str) -> Option<DateTime<Utc>> {
    let t = v.get(k).and_then(Value::as_str)?;
    DateTime::parse_from_rfc3339(t)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|n| n.and_utc())
        })
}

/// Every item of a Spring-paged list: page 0 first (it tells `totalPages`), the rest
/// concurrently. `path` already holds its other query parameters.
pub async fn spring_all(
    client: &OtClient,
    path: &str,
    concurrency: usize,
) -> Result<Vec<Value>, ConnectorError> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let page = |n: usize| async move {
        client
            .get(&format!("{path}{sep}page={n}&size={PAGE_SIZE}"))
            .await
    };
    let mut first = page(0).await?;
    let pages = first.get("totalPages").and_then(Value::as_u64).unwrap_or(1) as usize;
    let mut out = take_content(&mut first);
    if pages > 1 {
        let mut rest = futures::stream::iter((1..pages).map(page)).buffered(concurrency.max(1));
        while let Some(p) = rest.next().await {
            out.extend(take_content(&mut p?));
        }
    }
    Ok(out)
}

fn take_content(page: &mut Value) -> Vec<Value> {
    match page {
        Value::Array(v) => std::mem::take(v),
        _ => match page.get_mut("content").map(Value::take) {
            Some(Value::Array(v)) => v,
            _ => Vec::new(),
        },
    }
}

/// Licence status (no OneTrust field, API-NOTES §2; GUESS as Torii maps it): `Unlicensed`
/// when inactive, `External` for non-internal users, else `Licensed`.
pub fn licence_of(access_user: &Value) -> String {
    let active = access_user
        .get("active")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let internal = access_user
        .get("internal")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    if !active {
        "Unlicensed".into()
    } else if !internal {
        "External".into()
    } else {
        "Licensed".into()
    }
}

/// An access-management user as an account (when SCIM did not list it).
pub fn access_account(v: &Value) -> Option<Account> {
    let id = str_of(v, "userId").or_else(|| str_of(v, "id"))?;
    let active = v.get("active").and_then(Value::as_bool).unwrap_or(true);
    let email = str_of(v, "email");
    Some(Account {
        id,
        login: email.clone().unwrap_or_default(),
        email,
        second_email: None,
        first_name: str_of(v, "firstName"),
        last_name: str_of(v, "lastName"),
        display_name: str_of(v, "fullName"),
        status: if active {
            "ACTIVE".into()
        } else {
            "INACTIVE".into()
        },
        department: None,
        title: None,
        manager: None,
        employee_number: None,
        created: ts_of(v, "createdDate"),
        last_login: ts_of(v, "lastLoginDate"),
        last_updated: ts_of(v, "lastModifiedDate"),
        license_status: Some(licence_of(v)),
        raw: serde_json::json!({ "access": v }).into(),
    })
}

/// Fill an account from SCIM with the access-management view of the same user.
pub fn merge_access(a: &mut Account, v: &Value) {
    a.license_status = Some(licence_of(v));
    a.last_login = ts_of(v, "lastLoginDate").or(a.last_login);
    a.created = a.created.or_else(|| ts_of(v, "createdDate"));
    a.first_name = a.first_name.take().or_else(|| str_of(v, "firstName"));
    a.last_name = a.last_name.take().or_else(|| str_of(v, "lastName"));
    a.display_name = a.display_name.take().or_else(|| str_of(v, "fullName"));
    if a.email.is_none() {
        a.email = str_of(v, "email");
    } else if let Some(e) = str_of(v, "email")
        && a.email
            .as_deref()
            .is_some_and(|x| !x.eq_ignore_ascii_case(&e))
        && a.second_email.is_none()
    {
        a.second_email = Some(e);
    }
    // The access view's `active` wins: it is what OneTrust enforces at sign-in.
    if let Some(active) = v.get("active").and_then(Value::as_bool) {
        a.status = if active {
            "ACTIVE".into()
        } else {
            "INACTIVE".into()
        };
    }
    if let Value::Object(mut m) = a.raw.to_value() {
        m.insert("access".into(), v.clone());
        a.raw = Value::Object(m).into();
    }
}

/// Access levels (role in an organisation) of an access-management user.
pub fn access_levels(v: &Value) -> Vec<RoleAssignment> {
    let Some(uid) = str_of(v, "userId").or_else(|| str_of(v, "id")) else {
        return Vec::new();
    };
    v.get("accessLevels")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|l| {
                    let org = str_of(l, "organizationId")?;
                    let role = str_of(l, "roleId")?;
                    let role_name = str_of(l, "roleName").unwrap_or_else(|| role.clone());
                    let org_name = str_of(l, "organizationName").unwrap_or_else(|| org.clone());
                    Some(RoleAssignment {
                        principal_kind: PrincipalKind::Account,
                        principal_id: uid.clone(),
                        id: format!("{org}/{role}"),
                        role_type: role_name.clone(),
                        label: format!("{role_name} in {org_name}"),
                        status: None,
                        raw: l.clone().into(),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The organisation tree flattened (children removed from each node's `raw`).
pub fn organizations(root: Value) -> Vec<Group> {
    let mut out = Vec::new();
    let mut stack = match root {
        Value::Array(v) => v,
        other => vec![other],
    };
    while let Some(mut node) = stack.pop() {
        if let Some(Value::Array(children)) = node.get_mut("children").map(Value::take) {
            stack.extend(children);
        }
        if let Value::Object(m) = &mut node {
            m.remove("children");
        }
        let Some(id) = str_of(&node, "organizationId") else {
            continue;
        };
        out.push(Group {
            id,
            name: str_of(&node, "name").unwrap_or_default(),
            description: str_of(&node, "description"),
            group_type: "ORGANIZATION".into(),
            raw: node.into(),
        });
    }
    out
}

/// Login-history entries as log events (ids made stable from user, time and occurrence:
/// the API gives entries no id).
pub fn login_events(items: Vec<Value>) -> Vec<LogEvent> {
    let mut seen: HashMap<String, u32> = HashMap::new();
    items
        .into_iter()
        .filter_map(|v| {
            let published = ts_of(&v, "createDT")?;
            let user = str_of(&v, "userId");
            let base = format!(
                "login/{}/{}",
                user.clone().unwrap_or_default(),
                published.timestamp_millis()
            );
            let n = seen.entry(base.clone()).or_insert(0);
            *n += 1;
            let id = if *n == 1 { base } else { format!("{base}/{n}") };
            let ok = str_of(&v, "status").is_some_and(|s| s.eq_ignore_ascii_case("success"));
            Some(LogEvent {
                id,
                published,
                event_type: "onetrust.login".into(),
                actor_id: user.clone(),
                actor_alternate_id: str_of(&v, "userName"),
                target_ids: user.into_iter().collect(),
                outcome: Some(if ok {
                    "SUCCESS".into()
                } else {
                    "FAILURE".into()
                }),
                raw: v.into(),
            })
        })
        .collect()
}

/// Audit activities of one user as log events.
pub fn audit_events(user_id: &str, items: Vec<Value>) -> Vec<LogEvent> {
    let mut seen: HashMap<String, u32> = HashMap::new();
    items
        .into_iter()
        .filter_map(|v| {
            let published = ts_of(&v, "date")?;
            let base = format!("audit/{user_id}/{}", published.timestamp_millis());
            let n = seen.entry(base.clone()).or_insert(0);
            *n += 1;
            Some(LogEvent {
                id: format!("{base}/{n}"),
                published,
                event_type: format!(
                    "onetrust.audit.{}",
                    str_of(&v, "event").unwrap_or_else(|| "activity".into())
                ),
                actor_id: None,
                actor_alternate_id: str_of(&v, "updatedBy"),
                target_ids: vec![user_id.to_string()],
                outcome: None,
                raw: v.into(),
            })
        })
        .collect()
}

/// One part's result: records, or the reason it could not be read.
type Part<T> = Result<T, String>;

/// A refusal (missing scope, absent endpoint) becomes a part's reason; anything else stops
/// the sync.
fn part<T>(r: Result<T, ConnectorError>) -> Result<Part<T>, ConnectorError> {
    match r {
        Ok(v) => Ok(Ok(v)),
        // The fix already names the missing scope and where to add it (Okta's wording of
        // this error speaks of admin roles, which OneTrust keys do not have).
        Err(ConnectorError::MissingPermission { endpoint, fix, .. }) => {
            Ok(Err(format!("{endpoint}: {fix}")))
        }
        Err(e @ ConnectorError::NotFound { .. }) => Ok(Err(e.to_string())),
        Err(e) => Err(e),
    }
}

struct Out {
    tx: mpsc::Sender<SyncEvent>,
}

impl Out {
    async fn send(&self, ev: SyncEvent) -> Result<(), ConnectorError> {
        self.tx
            .send(ev)
            .await
            .map_err(|_| ConnectorError::ConsumerGone)
    }

    /// Send a resource's records (in batches) and its `Done`.
    async fn resource(
        &self,
        resource: Resource,
        records: Vec<Record>,
    ) -> Result<(), ConnectorError> {
        let count = records.len() as u64;
        let mut it = records.into_iter().peekable();
        while it.peek().is_some() {
            let batch: Vec<Record> = it.by_ref().take(FLUSH_AT).collect();
            self.send(SyncEvent::Batch {
                resource,
                records: batch,
            })
            .await?;
        }
        self.send(SyncEvent::Done { resource, count }).await
    }

    /// Send what the readable parts gave, or `Unreadable` when no part was readable.
    async fn parts(
        &self,
        resource: Resource,
        parts: Vec<Part<Vec<Record>>>,
        notes: &mut Vec<String>,
    ) -> Result<(), ConnectorError> {
        let reasons: Vec<String> = parts
            .iter()
            .filter_map(|p| p.as_ref().err().cloned())
            .collect();
        if parts.iter().all(Result::is_err) {
            return self
                .send(SyncEvent::Unreadable {
                    resource,
                    reason: reasons.join("; "),
                })
                .await;
        }
        for r in &reasons {
            notes.push(format!("{resource}: partly read, {r}"));
        }
        let records = parts.into_iter().filter_map(Result::ok).flatten().collect();
        self.resource(resource, records).await
    }
}

pub struct SyncRun<'a> {
    pub client: &'a OtClient,
    pub options: SyncOptions,
}

impl SyncRun<'_> {
    pub async fn run(self, tx: mpsc::Sender<SyncEvent>) -> Result<Vec<String>, ConnectorError> {
        let out = Out { tx };
        let c = self.client;
        let conc = self.options.max_in_flight.clamp(1, 8);
        let mut notes = Vec::new();
        let mut reader = ScimReader::new(c, SCIM_BASE);
        reader.concurrency = conc;

        // The parts are independent: read them concurrently (each endpoint is paced apart).
        let now = self.options.now;
        let start = (now - ChronoDuration::days(USAGE_DAYS))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        let end = now.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let login_path = format!("/api/access/v1/login-history?startDate={start}&endDate={end}");
        let (scim_users, access_users, scim_groups, user_groups, orgs, logins) = tokio::join!(
            reader.list("Users", ""),
            spring_all(c, "/api/access/v2/users", conc),
            reader.list("Groups", ""),
            spring_all(c, "/api/access/v1/user-groups", conc),
            c.get("/api/access/v1/external/organizations"),
            spring_all(c, &login_path, conc),
        );
        let (scim_users, access_users, scim_groups, user_groups, orgs, logins) = (
            part(scim_users)?,
            part(access_users)?,
            part(scim_groups)?,
            part(user_groups)?,
            part(orgs)?,
            part(logins)?,
        );

        // Users: SCIM accounts, completed (or replaced) by the access-management view.
        let mut accounts: BTreeMap<String, Account> = BTreeMap::new();
        if let Ok(users) = &scim_users {
            for u in users.iter().cloned().filter_map(scim::account) {
                accounts.insert(u.id.clone(), u);
            }
        }
        let mut roles = Vec::new();
        if let Ok(users) = &access_users {
            let by_email: HashMap<String, String> = accounts
                .values()
                .filter_map(|a| {
                    a.email
                        .as_ref()
                        .map(|e| (e.trim().to_lowercase(), a.id.clone()))
                })
                .collect();
            for v in users {
                let id = str_of(v, "userId")
                    .or_else(|| str_of(v, "id"))
                    .unwrap_or_default();
                let key = if accounts.contains_key(&id) {
                    Some(id)
                } else {
                    str_of(v, "email").and_then(|e| by_email.get(&e.trim().to_lowercase()).cloned())
                };
                match key.and_then(|k| accounts.get_mut(&k)) {
                    Some(a) => merge_access(a, v),
                    None => {
                        if let Some(a) = access_account(v) {
                            accounts.insert(a.id.clone(), a);
                        }
                    }
                }
                roles.extend(access_levels(v).into_iter().map(Record::RoleAssignment));
            }
        }
        let user_ids: Vec<String> = accounts.keys().cloned().collect();
        let users_part: Vec<Part<Vec<Record>>> = match (&scim_users, &access_users) {
            (Err(a), Err(b)) => vec![Err(format!("{a}; {b}"))],
            (Err(a), Ok(_)) => vec![
                Ok(accounts.into_values().map(Record::Account).collect()),
                Err(a.clone()),
            ],
            (Ok(_), Err(b)) => {
                notes.push(format!(
                    "users: licence status, access levels and last login not read ({b})"
                ));
                vec![Ok(accounts.into_values().map(Record::Account).collect())]
            }
            (Ok(_), Ok(_)) => vec![Ok(accounts.into_values().map(Record::Account).collect())],
        };
        out.parts(Resource::Users, users_part, &mut notes).await?;
        let roles_part = match &access_users {
            Ok(_) => Ok(roles),
            Err(e) => Err(e.clone()),
        };
        out.parts(Resource::RoleAssignments, vec![roles_part], &mut notes)
            .await?;

        // Groups and memberships: SCIM groups, user groups (members read per group), orgs.
        let mut scim_group_records = Vec::new();
        let mut scim_members = Vec::new();
        let scim_groups = scim_groups.map(|gs| {
            for g in gs {
                if let Some((g, ms)) = scim::group(g, "SCIM_GROUP") {
                    scim_group_records.push(Record::Group(g));
                    scim_members.extend(ms.into_iter().map(Record::Membership));
                }
            }
        });
        let (ug_records, ug_members) = match user_groups {
            Ok(groups) => {
                let mut recs = Vec::new();
                let mut ids = Vec::new();
                for g in groups {
                    let Some(id) = str_of(&g, "userGroupId").or_else(|| str_of(&g, "id")) else {
                        continue;
                    };
                    ids.push(id.clone());
                    recs.push(Record::Group(Group {
                        id,
                        name: str_of(&g, "name").unwrap_or_default(),
                        description: str_of(&g, "description"),
                        group_type: "USER_GROUP".into(),
                        raw: g.into(),
                    }));
                }
                let mut members = Vec::new();
                let mut stream = futures::stream::iter(ids.into_iter().map(|gid| async move {
                    let r = spring_all(c, &format!("/api/access/v1/user-groups/{gid}/members"), 1)
                        .await;
                    (gid, r)
                }))
                .buffered(conc);
                let mut member_err = None;
                while let Some((gid, r)) = stream.next().await {
                    match part(r)? {
                        Ok(ms) => members.extend(ms.iter().filter_map(|m| {
                            let uid = str_of(m, "memberId").or_else(|| str_of(m, "userId"))?;
                            Some(Record::Membership(Membership {
                                group_id: gid.clone(),
                                account_id: uid,
                            }))
                        })),
                        Err(e) => member_err = Some(e),
                    }
                }
                (Ok(recs), member_err.map_or(Ok(members), Err))
            }
            Err(e) => (Err(e.clone()), Err(e)),
        };
        let orgs = orgs.map(|root| {
            organizations(root)
                .into_iter()
                .map(Record::Group)
                .collect::<Vec<_>>()
        });
        let scim_part = |r: &Result<(), String>, recs: Vec<Record>| match r {
            Ok(()) => Ok(recs),
            Err(e) => Err(e.clone()),
        };
        out.parts(
            Resource::Groups,
            vec![
                scim_part(&scim_groups, scim_group_records),
                ug_records,
                orgs,
            ],
            &mut notes,
        )
        .await?;
        out.parts(
            Resource::Memberships,
            vec![scim_part(&scim_groups, scim_members), ug_members],
            &mut notes,
        )
        .await?;

        // Usage: login history; audit activities only when asked (one request per user).
        let mut log_parts = vec![logins.map(|items| {
            login_events(items)
                .into_iter()
                .map(Record::LogEvent)
                .collect()
        })];
        if self.options.audit_activities {
            let mut audit = Vec::new();
            let mut refused = None;
            let mut stream = futures::stream::iter(user_ids.into_iter().map(|uid| async move {
                let r = spring_all(c, &format!("/api/audit/v1/users/{uid}/activities"), 1).await;
                (uid, r)
            }))
            .buffered(conc);
            while let Some((uid, r)) = stream.next().await {
                match part(r)? {
                    Ok(items) => {
                        audit.extend(audit_events(&uid, items).into_iter().map(Record::LogEvent))
                    }
                    Err(e) => {
                        refused = Some(e);
                        break;
                    }
                }
            }
            log_parts.push(refused.map_or(Ok(audit), Err));
        }
        out.parts(Resource::LogEvents, log_parts, &mut notes)
            .await?;
        Ok(notes)
    }
}
