//! Data inventory: every app a sync sees becomes an inventory item in a staging area, where a
//! privacy team accepts (with owner, purpose, data categories) or ignores it.
//!
//! Design:
//! - An item is keyed by (integration, Okta app id) and has a short id users type, `INV-42`
//!   (the store's row id; a bare `42` is accepted too).
//! - [`after_sync`] runs after every published sync run. It reads the snapshot once
//!   (apps, app users, app groups, users, groups, System Log, admin roles), aggregates in
//!   memory in one pass over each resource, and hands one fact row per app to
//!   [`Store::apply_inventory_sync`], which upserts in one transaction: new apps are
//!   `staged`, decisions survive, apps gone from Okta are flagged removed (never dropped),
//!   reappearing ones are unflagged, and a per-run change record is kept for `changes`.
//! - Facts: assigned users are the app's app-user records (direct and through groups, as
//!   Okta lists them); departments are the distinct `profile.department` of those users;
//!   last SSO is the latest `user.authentication.sso` System Log event targeting the app;
//!   admins are holders of `SUPER_ADMIN`, `ORG_ADMIN` and `APP_ADMIN` role assignments (users
//!   by login, groups as `group:NAME`). Okta may scope `APP_ADMIN` to some apps; the snapshot
//!   does not carry those targets, so it is counted for every app. When admin roles were not
//!   readable, admins are `None` ("unknown"), never an empty list.
//! - When the apps resource itself was not readable nothing is updated: flagging every app
//!   removed because of a missing permission would be wrong.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};
use steward_model::{Record, Resource};
use steward_store::{
    Decision, Integration, InventoryChange, InventoryFacts, InventoryFilter, InventoryItem,
    InventorySync, Store, StoreError, Triage,
};

use crate::Clock;

#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Bad input from the user: the message names the flag and the fix.
    #[error("{0}")]
    Invalid(String),
    #[error("no inventory item {id}; list them with `steward inventory list`")]
    UnknownItem { id: String },
}

impl InventoryError {
    /// True for errors caused by the caller's input (the CLI exits 2).
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            InventoryError::Invalid(_)
                | InventoryError::UnknownItem { .. }
                | InventoryError::Store(StoreError::NotFound { .. })
        )
    }
}

/// The fields of a user record the inventory needs.
#[derive(serde::Deserialize)]
struct UserRow {
    id: String,
    login: String,
    department: Option<String>,
}

#[derive(serde::Deserialize)]
struct LogRow {
    event_type: String,
    published: DateTime<Utc>,
    target_ids: Vec<String>,
}

/// Role types whose holders can manage apps.
const APP_MANAGING_ROLES: [&str; 3] = ["SUPER_ADMIN", "ORG_ADMIN", "APP_ADMIN"];
const SSO_EVENT: &str = "user.authentication.sso";
/// How a successful-SSO System Log event's type appears in its stored JSON.
pub(crate) const SSO_NEEDLE: &str = "\"event_type\":\"user.authentication.sso\"";

/// Update the inventory from the snapshot `run_id` just published.
pub async fn after_sync(
    store: &Store,
    integration: &Integration,
    run_id: i64,
    clock: &dyn Clock,
) -> Result<(), InventoryError> {
    // The System Log is the longest read (every event's fields are scanned for sign-ins), so
    // it starts first, beside all the others on a pooled connection of its own, and on a
    // task of its own: its 100k events are decoded on another thread than the rest of the
    // products' work. What it found is dropped when the snapshot's System Log was not
    // readable.
    let mut scan = crate::sync::AbortOnDrop(tokio::spawn({
        let (store, id) = (store.clone(), integration.id);
        async move { last_sign_ins(&store, id).await }
    }));
    let scanned = async {
        match (&mut scan.0).await {
            Ok(found) => found,
            Err(e) => Err(InventoryError::Store(StoreError::Corrupt {
                what: "the System Log's sign-ins".into(),
                reason: format!("their scan stopped: {e}"),
            })),
        }
    };
    let (status, last_sso) = futures::try_join!(
        async { Ok(store.resource_status(integration.id).await?) },
        scanned,
    )?;
    let readable: HashSet<Resource> = status
        .iter()
        .filter(|s| s.readable)
        .map(|s| s.resource)
        .collect();
    if !readable.contains(&Resource::Apps) {
        tracing::warn!(
            run_id,
            "Apps were not readable in this sync; the inventory is left as it was."
        );
        return Ok(());
    }
    let last_sso = if readable.contains(&Resource::LogEvents) {
        last_sso
    } else {
        HashMap::new()
    };
    let facts = collect_facts(store, integration.id, &readable, &last_sso).await?;
    let summary = store
        .apply_inventory_sync(integration.id, run_id, &facts, clock.now())
        .await?;
    tracing::info!(
        run_id,
        added = summary.added,
        removed = summary.removed,
        changed = summary.changed,
        "Inventory updated."
    );
    Ok(())
}

/// The latest successful sign-in to each target of the System Log's SSO events (apps, and
/// the users signing in, which no fact reads).
async fn last_sign_ins(
    store: &Store,
    integration_id: i64,
) -> Result<HashMap<String, DateTime<Utc>>, InventoryError> {
    let mut last: HashMap<String, DateTime<Utc>> = HashMap::new();
    store
        // Only sign-ins to apps count; the rest are left in the database.
        .snapshot_heads_containing(
            integration_id,
            Resource::LogEvents,
            SSO_NEEDLE,
            |e: LogRow| {
                if e.event_type != SSO_EVENT {
                    return;
                }
                for target in e.target_ids {
                    let at = last.entry(target).or_insert(e.published);
                    *at = (*at).max(e.published);
                }
            },
        )
        .await?;
    Ok(last)
}

/// One pass over each resource of the current snapshot, aggregated per app; `last_sso` is
/// each app's last sign-in (see [`last_sign_ins`]).
async fn collect_facts(
    store: &Store,
    integration_id: i64,
    readable: &HashSet<Resource>,
    last_sso: &HashMap<String, DateTime<Utc>>,
) -> Result<Vec<InventoryFacts>, InventoryError> {
    // Small resources are read whole; the large ones (users, assignments) only as the few
    // fields or keys needed, which skips every record's `raw` source object.
    let read = |r: Resource| async move {
        if readable.contains(&r) {
            store.snapshot_records(integration_id, r).await
        } else {
            Ok(Vec::new())
        }
    };
    async fn projected<T: serde::de::DeserializeOwned + Send>(
        store: &Store,
        integration_id: i64,
        readable: &HashSet<Resource>,
        r: Resource,
    ) -> Result<Vec<T>, StoreError> {
        if readable.contains(&r) {
            store.snapshot_projection(integration_id, r).await
        } else {
            Ok(Vec::new())
        }
    }

    // Users: department and login by id (the login names admins).
    let mut department: HashMap<String, String> = HashMap::new();
    let mut login: HashMap<String, String> = HashMap::new();
    for u in projected::<UserRow>(store, integration_id, readable, Resource::Users).await? {
        if let Some(d) = u.department.filter(|d| !d.trim().is_empty()) {
            department.insert(u.id.clone(), d);
        }
        login.insert(u.id, u.login);
    }

    // Admins, the same for every app (see the module docs).
    let admins = if readable.contains(&Resource::RoleAssignments) {
        let mut group_name: HashMap<String, String> = HashMap::new();
        for record in read(Resource::Groups).await? {
            if let Record::Group(g) = record {
                group_name.insert(g.id, g.name);
            }
        }
        let mut set = BTreeSet::new();
        for record in read(Resource::RoleAssignments).await? {
            if let Record::RoleAssignment(r) = record {
                if !APP_MANAGING_ROLES.contains(&r.role_type.as_str()) {
                    continue;
                }
                let who = match r.principal_kind {
                    steward_model::PrincipalKind::Account => login
                        .get(&r.principal_id)
                        .cloned()
                        .unwrap_or(r.principal_id),
                    steward_model::PrincipalKind::Group => format!(
                        "group:{}",
                        group_name
                            .get(&r.principal_id)
                            .cloned()
                            .unwrap_or(r.principal_id)
                    ),
                };
                set.insert(format!("{who} ({})", r.role_type));
            }
        }
        Some(set.into_iter().collect::<Vec<_>>())
    } else {
        None
    };

    #[derive(Default)]
    struct Agg {
        users: u64,
        groups: u64,
        departments: BTreeSet<String>,
    }
    let apps: Vec<steward_model::App> = read(Resource::Apps)
        .await?
        .into_iter()
        .filter_map(|r| match r {
            Record::App(app) => Some(app),
            _ => None,
        })
        .collect();
    let mut agg: HashMap<String, Agg> = apps
        .iter()
        .map(|a| (a.id.clone(), Agg::default()))
        .collect();
    // The two large resources are aggregated as they are read, never held whole.
    // Assignments are counted from their keys (`app/account`, `app/group`), read from the
    // primary-key index without touching a record: 400k app users in one statement.
    if readable.contains(&Resource::AppUsers) {
        store
            .snapshot_keys(integration_id, Resource::AppUsers, |key| {
                let Some((app_id, account_id)) = key.split_once('/') else {
                    return;
                };
                let Some(a) = agg.get_mut(app_id) else { return };
                a.users += 1;
                if let Some(d) = department.get(account_id)
                    && !a.departments.contains(d)
                {
                    a.departments.insert(d.clone());
                }
            })
            .await?;
    }
    if readable.contains(&Resource::AppGroups) {
        store
            .snapshot_keys(integration_id, Resource::AppGroups, |key| {
                if let Some((app_id, _)) = key.split_once('/')
                    && let Some(a) = agg.get_mut(app_id)
                {
                    a.groups += 1;
                }
            })
            .await?;
    }
    let mut facts = Vec::with_capacity(apps.len());
    for app in apps {
        let a = agg.remove(&app.id).unwrap_or_default();
        let last_sso_at = last_sso.get(&app.id).copied();
        facts.push(InventoryFacts {
            app_id: app.id,
            name: app.name,
            label: app.label,
            sign_on_mode: app.sign_on_mode,
            okta_status: app.status,
            created: app.created,
            assigned_users: a.users,
            assigned_groups: a.groups,
            departments: a.departments.into_iter().collect(),
            last_sso_at,
            admins: admins.clone(),
        });
    }
    Ok(facts)
}

/// Parse an item id as users type it: `INV-42`, `inv-42` or `42`.
pub fn parse_id(s: &str) -> Result<i64, InventoryError> {
    let t = s.trim();
    let digits = t
        .strip_prefix("INV-")
        .or_else(|| t.strip_prefix("inv-"))
        .unwrap_or(t);
    digits.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| {
        InventoryError::Invalid(format!(
            "{s:?} is not an inventory item id; use the ID column of `steward inventory list` (e.g. INV-12)"
        ))
    })
}

/// Check an owner email address: one `@`, a non-empty local part, a dotted domain, no spaces.
pub fn validate_email(flag: &str, email: &str) -> Result<String, InventoryError> {
    let e = email.trim();
    let ok = match e.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !e.chars().any(|c| c.is_whitespace() || c.is_control())
        }
        None => false,
    };
    if ok {
        Ok(e.to_string())
    } else {
        Err(InventoryError::Invalid(format!(
            "{flag} {email:?} is not an email address; give one like privacy@example.com"
        )))
    }
}

/// A bulk triage request: ids to accept and ids to ignore, checked before anything changes.
#[derive(Debug, Clone, Default)]
pub struct TriageRequest {
    pub accept: Vec<i64>,
    pub ignore: Vec<i64>,
    pub owner: Option<String>,
    pub purpose: Option<String>,
    pub data_categories: Vec<String>,
    pub reason: Option<String>,
}

/// What a triage request changed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TriageOutcome {
    pub accepted: Vec<InventoryItem>,
    pub ignored: Vec<InventoryItem>,
}

/// Validate and apply a triage request: every id must exist and appear once in one list;
/// nothing changes unless everything is valid.
pub async fn triage(
    store: &Store,
    request: &TriageRequest,
    clock: &dyn Clock,
) -> Result<TriageOutcome, InventoryError> {
    if request.accept.is_empty() && request.ignore.is_empty() {
        return Err(InventoryError::Invalid(
            "no inventory item given; pass item ids (e.g. INV-12) or --all-staged".into(),
        ));
    }
    let accept: BTreeSet<i64> = request.accept.iter().copied().collect();
    let ignore: BTreeSet<i64> = request.ignore.iter().copied().collect();
    if let Some(id) = accept.intersection(&ignore).next() {
        return Err(InventoryError::Invalid(format!(
            "INV-{id} is both accepted and ignored in one call; pick one (--accept or --ignore)"
        )));
    }
    let owner = request
        .owner
        .as_deref()
        .map(|o| validate_email("--owner", o))
        .transpose()?;
    let purpose = match request.purpose.as_deref().map(str::trim) {
        Some("") => {
            return Err(InventoryError::Invalid(
                "--purpose is empty; describe what the app is used for, or leave the flag out"
                    .into(),
            ));
        }
        p => p.map(str::to_string),
    };
    let mut categories: Vec<String> = Vec::new();
    for c in &request.data_categories {
        let c = c.trim();
        if c.is_empty() {
            return Err(InventoryError::Invalid(
                "--data-category is empty; give a category such as contact or financial".into(),
            ));
        }
        if !categories.iter().any(|x| x == c) {
            categories.push(c.to_string());
        }
    }
    let reason = request
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    if !ignore.is_empty() && reason.is_none() {
        return Err(InventoryError::Invalid(
            "ignoring needs --reason TEXT (why this app holds no personal data, or is out of scope)".into(),
        ));
    }
    if ignore.is_empty() && reason.is_some() {
        return Err(InventoryError::Invalid(
            "--reason is only for ignored items; drop it, or ignore items with --ignore".into(),
        ));
    }
    if accept.is_empty() && (owner.is_some() || purpose.is_some() || !categories.is_empty()) {
        return Err(InventoryError::Invalid(
            "--owner, --purpose and --data-category describe accepted items; accept some ids too"
                .into(),
        ));
    }
    for &id in accept.iter().chain(ignore.iter()) {
        if store.inventory_item(id).await?.is_none() {
            return Err(InventoryError::UnknownItem {
                id: format!("INV-{id}"),
            });
        }
    }
    // Both decisions in sequence; each is one transaction and every id was checked above,
    // so the second can only fail on a database error.
    let now = clock.now();
    let accept: Vec<i64> = accept.into_iter().collect();
    let ignore: Vec<i64> = ignore.into_iter().collect();
    let accepted = if accept.is_empty() {
        Vec::new()
    } else {
        let decision = Decision::Accept {
            owner,
            purpose,
            data_categories: if categories.is_empty() {
                None
            } else {
                Some(categories)
            },
        };
        store.decide_inventory(&accept, &decision, now).await?
    };
    let ignored = match reason {
        Some(reason) if !ignore.is_empty() => {
            let decision = Decision::Ignore {
                reason: reason.to_string(),
            };
            store.decide_inventory(&ignore, &decision, now).await?
        }
        _ => Vec::new(),
    };
    Ok(TriageOutcome { accepted, ignored })
}

/// Items matching the filter.
pub async fn list(
    store: &Store,
    filter: &InventoryFilter,
) -> Result<Vec<InventoryItem>, InventoryError> {
    Ok(store.inventory_items(filter).await?)
}

/// Ids of every staged item (for `--all-staged`).
pub async fn staged_ids(
    store: &Store,
    integration_id: Option<i64>,
) -> Result<Vec<i64>, InventoryError> {
    let filter = InventoryFilter {
        integration_id,
        triage: Some(Triage::Staged),
    };
    Ok(store
        .inventory_items(&filter)
        .await?
        .into_iter()
        .map(|i| i.id)
        .collect())
}

/// One item by the id a user typed.
pub async fn show(store: &Store, id: &str) -> Result<InventoryItem, InventoryError> {
    let n = parse_id(id)?;
    store
        .inventory_item(n)
        .await?
        .ok_or_else(|| InventoryError::UnknownItem {
            id: format!("INV-{n}"),
        })
}

/// What the latest sync changed in the inventory of one integration.
pub async fn changes(
    store: &Store,
    integration_id: i64,
) -> Result<Option<(InventorySync, Vec<InventoryChange>)>, InventoryError> {
    Ok(store.inventory_changes(integration_id).await?)
}
