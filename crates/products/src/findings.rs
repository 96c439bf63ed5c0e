//! Identity-security findings, computed from every published snapshot: admins without an
//! enrolled MFA factor, SUPER_ADMIN concentration, deprovisioned or suspended users who still
//! hold access, dormant accounts that still hold access, apps without SSO use, and admin
//! roles granted through groups. Each finding carries the records behind it.
//!
//! A kind whose resources the token could not read is "not evaluated" with the source's
//! reason, and its earlier findings stay open (they are neither confirmed nor resolved).
//! New and resolved findings between syncs come from the store's history (first seen run,
//! resolved run).
//!
//! The cross-system identity graph adds two kinds, recorded on the downstream (OneTrust)
//! integration whose accounts they name ([`compute_graph`]): leavers (the identity-provider
//! user is DEPROVISIONED or SUSPENDED, the account still active) and orphans (an active
//! account no identity-provider user has). They are recomputed after the downstream
//! integration's sync and after every identity-provider sync, so they are right whichever
//! synced last; with no identity provider synced they are "not evaluated".

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use steward_model::{Account, IntegrationKind, PrincipalKind, Record, Resource};
use steward_store::{
    Finding, FindingEvaluation, FindingFilter, FindingsUpdate, Integration, KeyList,
    KindEvaluation, NewFinding, ResourceStatus, Store,
};

use crate::Clock;
use crate::graph::{AccountRef, Graph, Person};

#[derive(Debug, thiserror::Error)]
pub enum FindingsError {
    #[error(transparent)]
    Store(#[from] steward_store::StoreError),
    #[error("unknown finding kind {kind:?} for --kind; use one of: {known}")]
    UnknownKind { kind: String, known: String },
    #[error(
        "unknown finding threshold {key:?}; use one of: super_admin_max, inactive_days, unused_app_days"
    )]
    UnknownThreshold { key: String },
    #[error("threshold {key} must be {rule}, got {value}")]
    BadThreshold {
        key: String,
        value: i64,
        rule: &'static str,
    },
    #[error("the data inventory was not updated with this run, so unused apps were not evaluated")]
    InventoryNotUpdated,
}

/// The kinds of finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    AdminWithoutMfa,
    SuperAdminConcentration,
    LeaverWithAccess,
    DormantWithAccess,
    UnusedApp,
    AdminRoleViaGroup,
    /// From the identity graph: a downstream (OneTrust) person who left in the identity provider.
    LeaverAccount,
    /// From the identity graph: a downstream (OneTrust) account no identity-provider user has.
    OrphanAccount,
}

impl Kind {
    pub const OKTA: [Kind; 6] = [
        Kind::AdminWithoutMfa,
        Kind::SuperAdminConcentration,
        Kind::LeaverWithAccess,
        Kind::DormantWithAccess,
        Kind::UnusedApp,
        Kind::AdminRoleViaGroup,
    ];

    /// Kinds from the cross-system identity graph, recorded on the downstream integration
    /// whose accounts they name.
    pub const GRAPH: [Kind; 2] = [Kind::LeaverAccount, Kind::OrphanAccount];

    /// Every kind, in listing order.
    pub const ALL: [Kind; 8] = [
        Kind::AdminWithoutMfa,
        Kind::SuperAdminConcentration,
        Kind::LeaverWithAccess,
        Kind::DormantWithAccess,
        Kind::UnusedApp,
        Kind::AdminRoleViaGroup,
        Kind::LeaverAccount,
        Kind::OrphanAccount,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::AdminWithoutMfa => "admin_without_mfa",
            Kind::SuperAdminConcentration => "super_admin_concentration",
            Kind::LeaverWithAccess => "leaver_with_access",
            Kind::DormantWithAccess => "dormant_with_access",
            Kind::UnusedApp => "unused_app",
            Kind::AdminRoleViaGroup => "admin_role_via_group",
            Kind::LeaverAccount => "leaver_account",
            Kind::OrphanAccount => "orphan_account",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// What the kind means, for listings.
    pub fn title(self) -> &'static str {
        match self {
            Kind::AdminWithoutMfa => "Admin without an enrolled MFA factor",
            Kind::SuperAdminConcentration => "Too many Super Administrators",
            Kind::LeaverWithAccess => "Deprovisioned or suspended user still holding access",
            Kind::DormantWithAccess => "No sign-in for N days but still holding access",
            Kind::UnusedApp => "App with no SSO use in N days",
            Kind::AdminRoleViaGroup => "Admin role granted through a group",
            Kind::LeaverAccount => {
                "Left in the identity provider but still active in another system"
            }
            Kind::OrphanAccount => "Active account no identity-provider user has",
        }
    }

    pub fn severity(self) -> &'static str {
        match self {
            Kind::AdminWithoutMfa | Kind::LeaverWithAccess | Kind::LeaverAccount => "high",
            Kind::SuperAdminConcentration
            | Kind::DormantWithAccess
            | Kind::AdminRoleViaGroup
            | Kind::OrphanAccount => "medium",
            Kind::UnusedApp => "low",
        }
    }

    /// Resources the kind cannot be evaluated without.
    pub fn needs(self) -> &'static [Resource] {
        match self {
            Kind::AdminWithoutMfa => &[
                Resource::RoleAssignments,
                Resource::Memberships,
                Resource::Factors,
                Resource::Users,
            ],
            Kind::SuperAdminConcentration => &[
                Resource::RoleAssignments,
                Resource::Memberships,
                Resource::Users,
            ],
            Kind::LeaverWithAccess | Kind::DormantWithAccess => {
                &[Resource::Users, Resource::AppUsers]
            }
            Kind::UnusedApp => &[Resource::Apps, Resource::LogEvents],
            Kind::AdminRoleViaGroup => &[
                Resource::RoleAssignments,
                Resource::Groups,
                Resource::Memberships,
            ],
            // The downstream integration's users; the identity provider's users are checked
            // separately (they belong to another integration).
            Kind::LeaverAccount | Kind::OrphanAccount => &[Resource::Users],
        }
    }
}

/// The finding kinds recorded on an integration of `kind`. A downstream system (OneTrust) holds
/// the identity-graph kinds about its own accounts; they are also recomputed after every
/// identity-provider sync, since a leaver is made in the identity provider.
pub fn kinds_for(kind: IntegrationKind) -> &'static [Kind] {
    match kind {
        IntegrationKind::Okta => &Kind::OKTA,
        IntegrationKind::Onetrust => &Kind::GRAPH,
    }
}

/// Thresholds the findings are computed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Thresholds {
    /// More Super Administrators than this is a finding.
    pub super_admin_max: i64,
    /// No sign-in for this many days (or never, for an account this old) is dormant.
    pub inactive_days: i64,
    /// No SSO event for this many days makes an app unused.
    pub unused_app_days: i64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            super_admin_max: 3,
            inactive_days: 90,
            unused_app_days: 90,
        }
    }
}

pub const THRESHOLD_KEYS: [&str; 3] = ["super_admin_max", "inactive_days", "unused_app_days"];

/// The stored thresholds, defaults where unset.
pub async fn thresholds(store: &Store) -> Result<Thresholds, FindingsError> {
    let set = store.finding_settings().await?;
    let d = Thresholds::default();
    Ok(Thresholds {
        super_admin_max: set
            .get("super_admin_max")
            .copied()
            .unwrap_or(d.super_admin_max),
        inactive_days: set.get("inactive_days").copied().unwrap_or(d.inactive_days),
        unused_app_days: set
            .get("unused_app_days")
            .copied()
            .unwrap_or(d.unused_app_days),
    })
}

/// Set one threshold; applies from the next sync (or `recompute`).
pub async fn set_threshold(
    store: &Store,
    key: &str,
    value: i64,
    clock: &dyn Clock,
) -> Result<Thresholds, FindingsError> {
    if !THRESHOLD_KEYS.contains(&key) {
        return Err(FindingsError::UnknownThreshold {
            key: key.to_string(),
        });
    }
    let (ok, rule) = match key {
        "super_admin_max" => (value >= 0, "0 or more"),
        _ => ((1..=3650).contains(&value), "between 1 and 3650 days"),
    };
    if !ok {
        return Err(FindingsError::BadThreshold {
            key: key.to_string(),
            value,
            rule,
        });
    }
    store.set_finding_setting(key, value, clock.now()).await?;
    thresholds(store).await
}

/// Everything one evaluation produced.
#[derive(Debug, Clone, Serialize)]
pub struct Computed {
    pub evaluations: Vec<KindEvaluation>,
    pub findings: Vec<NewFinding>,
}

/// Compute the findings of the integration's current snapshot and record them at `run_id`.
pub async fn after_sync(
    store: &Store,
    integration: &Integration,
    run_id: i64,
    clock: &dyn Clock,
) -> Result<FindingsUpdate, FindingsError> {
    after_sync_beside_inventory(store, integration, run_id, clock, std::future::ready(true)).await
}

/// [`after_sync`] started together with the same run's inventory update: everything is read
/// at once with it, and the inventory items (unused-app findings read their last sign-in)
/// only once `inventory_updated` resolves, `true` when that update succeeded.
pub async fn after_sync_beside_inventory(
    store: &Store,
    integration: &Integration,
    run_id: i64,
    clock: &dyn Clock,
    inventory_updated: impl Future<Output = bool> + Send,
) -> Result<FindingsUpdate, FindingsError> {
    let limits = thresholds(store).await?;
    let now = clock.now();
    let computed = compute(store, integration, limits, now, inventory_updated).await?;
    let update = store
        .apply_findings(
            integration.id,
            run_id,
            now,
            &computed.evaluations,
            &computed.findings,
        )
        .await?;
    if integration.kind == IntegrationKind::Okta {
        // A new identity-provider snapshot changes who is an orphan or a leaver in every
        // downstream system: their findings move with this run, whichever syncs last.
        graph_after_idp_sync(store, run_id, now).await?;
    }
    Ok(update)
}

/// Open findings (or all, with history) matching `kind`.
pub async fn list(
    store: &Store,
    kind: Option<&str>,
    include_resolved: bool,
) -> Result<Vec<Finding>, FindingsError> {
    if let Some(k) = kind
        && Kind::parse(k).is_none()
    {
        return Err(FindingsError::UnknownKind {
            kind: k.to_string(),
            known: Kind::ALL
                .iter()
                .map(|k| k.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    Ok(store
        .findings(&FindingFilter {
            integration_id: None,
            kind: kind.map(str::to_string),
            include_resolved,
        })
        .await?)
}

/// Each kind's state at each integration's latest run (evaluated or why not).
pub async fn evaluations(store: &Store) -> Result<Vec<FindingEvaluation>, FindingsError> {
    Ok(store.finding_evaluations().await?)
}

/// Findings new at, and resolved at, each integration's latest evaluated run.
pub async fn changes(store: &Store) -> Result<(Vec<Finding>, Vec<Finding>), FindingsError> {
    let runs: BTreeSet<i64> = store
        .finding_evaluations()
        .await?
        .into_iter()
        .map(|e| e.run_id)
        .collect();
    let (mut new, mut resolved) = (Vec::new(), Vec::new());
    for run in runs {
        let (n, r) = store.finding_changes(run).await?;
        new.extend(n);
        resolved.extend(r);
    }
    Ok((new, resolved))
}

// --- projections: only the fields findings need (raw source objects are skipped) --------

#[derive(Deserialize)]
struct UserRow {
    id: String,
    login: String,
    status: String,
    department: Option<String>,
    created: Option<DateTime<Utc>>,
    last_login: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
struct AppRow {
    id: String,
    label: String,
}

/// A role an account holds.
#[derive(Debug, Clone, Serialize)]
struct Held {
    assignment_id: String,
    role_type: String,
    label: String,
    /// `None` when direct.
    group_id: Option<String>,
}

/// Statuses that cannot sign in yet or any more; Okta gives them no admin roles.
fn can_hold_roles(status: &str) -> bool {
    !matches!(status, "STAGED" | "PROVISIONED" | "DEPROVISIONED")
}

/// One finding of `kind`; its evidence is serialised at once, so only the compact JSON is
/// kept (see `NewFinding::evidence`).
fn new_finding(
    kind: Kind,
    subject_key: String,
    subject: String,
    detail: String,
    evidence: Value,
) -> NewFinding {
    NewFinding {
        kind: kind.as_str().to_string(),
        subject_key,
        subject,
        severity: kind.severity().to_string(),
        detail,
        evidence: evidence.to_string(),
    }
}

/// Compute (without storing) every finding kind of the integration's current snapshot.
async fn compute(
    store: &Store,
    integration: &Integration,
    limits: Thresholds,
    now: DateTime<Utc>,
    inventory_updated: impl Future<Output = bool> + Send,
) -> Result<Computed, FindingsError> {
    if integration.kind != IntegrationKind::Okta {
        return compute_graph(store, integration.id).await;
    }
    let id = integration.id;
    let status: BTreeMap<Resource, ResourceStatus> = store
        .resource_status(id)
        .await?
        .into_iter()
        .map(|s| (s.resource, s))
        .collect();
    let readable = |r: Resource| -> Result<(), String> {
        match status.get(&r) {
            Some(s) if s.readable => Ok(()),
            Some(s) => Err(format!(
                "{} could not be read: {}",
                r.label(),
                s.reason.clone().unwrap_or_else(|| "no reason given".into())
            )),
            None => Err(format!("{} were not part of the snapshot", r.label())),
        }
    };
    let ok = |r: Resource| readable(r).is_ok();
    let gap = |kind: Kind| -> Option<String> {
        let reasons: Vec<String> = kind
            .needs()
            .iter()
            .filter_map(|r| readable(*r).err())
            .collect();
        (!reasons.is_empty()).then(|| format!("not evaluated: {}", reasons.join("; ")))
    };

    // Which kinds will be evaluated decides what is read; everything independent of other
    // reads is read at once (each read runs on its own pooled connection), since the time
    // goes to the database driver, not to computing.
    let leaver_wanted =
        gap(Kind::LeaverWithAccess).is_none() || gap(Kind::DormantWithAccess).is_none();
    let mfa_wanted = gap(Kind::AdminWithoutMfa).is_none();
    let (users, roles, membership_keys, app_user_keys, factor_keys, labels) = futures::try_join!(
        // Users (small projection) for everything that names a person.
        async {
            let mut users: HashMap<String, UserRow> = HashMap::new();
            if ok(Resource::Users) {
                store
                    .snapshot_heads(id, Resource::Users, |u: UserRow| {
                        users.insert(u.id.clone(), u);
                    })
                    .await?;
            }
            Ok::<_, FindingsError>(users)
        },
        async {
            let mut roles: Vec<steward_model::RoleAssignment> = Vec::new();
            if ok(Resource::RoleAssignments) {
                for r in store
                    .snapshot_records(id, Resource::RoleAssignments)
                    .await?
                {
                    if let Record::RoleAssignment(a) = r {
                        roles.push(a);
                    }
                }
            }
            Ok(roles)
        },
        // Membership keys are `group/account`: no record needs reading.
        key_list(
            store,
            id,
            Resource::Memberships,
            ok(Resource::Memberships) && ok(Resource::RoleAssignments)
        ),
        // App-user keys are `app/account`: a million assignments are walked from the index.
        key_list(store, id, Resource::AppUsers, leaver_wanted),
        // Factor keys are `account/factor`.
        key_list(store, id, Resource::Factors, mfa_wanted),
        app_labels(store, id, leaver_wanted && ok(Resource::Apps)),
    )?;

    // Role assignments and the members of role-holding groups.
    let role_groups: BTreeSet<String> = roles
        .iter()
        .filter(|a| a.principal_kind == PrincipalKind::Group)
        .map(|a| a.principal_id.clone())
        .collect();
    let mut members: BTreeMap<String, Vec<String>> = BTreeMap::new();
    if !role_groups.is_empty() {
        for key in membership_keys.iter() {
            if let Some((group, account)) = key.split_once('/')
                && role_groups.contains(group)
            {
                members
                    .entry(group.to_string())
                    .or_default()
                    .push(account.to_string());
            }
        }
    }
    let mut group_names: BTreeMap<String, String> = BTreeMap::new();
    if !role_groups.is_empty() && ok(Resource::Groups) {
        let keys: Vec<String> = role_groups.iter().cloned().collect();
        for r in store
            .snapshot_records_by_keys(id, Resource::Groups, &keys)
            .await?
        {
            if let Record::Group(g) = r {
                group_names.insert(g.id, g.name);
            }
        }
    }
    // account → roles held (direct, and through groups for accounts that can hold roles).
    let mut held: BTreeMap<String, Vec<Held>> = BTreeMap::new();
    for a in &roles {
        let h = |group_id: Option<String>| Held {
            assignment_id: a.id.clone(),
            role_type: a.role_type.clone(),
            label: a.label.clone(),
            group_id,
        };
        match a.principal_kind {
            PrincipalKind::Account => held
                .entry(a.principal_id.clone())
                .or_default()
                .push(h(None)),
            PrincipalKind::Group => {
                for account in members.get(&a.principal_id).into_iter().flatten() {
                    let enrolled = users.get(account).is_none_or(|u| can_hold_roles(&u.status));
                    if enrolled {
                        held.entry(account.clone())
                            .or_default()
                            .push(h(Some(a.principal_id.clone())));
                    }
                }
            }
        }
    }
    let login_of = |account: &str| {
        users
            .get(account)
            .map(|u| u.login.clone())
            .unwrap_or_else(|| account.to_string())
    };
    let person = |account: &str| match users.get(account) {
        Some(u) => {
            json!({"id": u.id, "login": u.login, "status": u.status, "department": u.department,
                          "last_login": u.last_login, "created": u.created})
        }
        None => json!({"id": account}),
    };

    let mut evaluations = Vec::new();
    let mut findings = Vec::new();
    let mut evaluate = |kind: Kind, extra_gap: Option<String>| -> bool {
        let reason = gap(kind);
        evaluations.push(KindEvaluation {
            kind: kind.as_str().to_string(),
            evaluated: reason.is_none(),
            reason: reason.or(extra_gap),
        });
        evaluations.last().is_some_and(|e| e.evaluated)
    };
    let new = new_finding;

    // --- admins without an enrolled MFA factor --------------------------------------------
    if evaluate(Kind::AdminWithoutMfa, None) {
        // Factor keys are `account/factor`: read only the admins' factors.
        let keys: Vec<String> = factor_keys
            .iter()
            .filter(|key| {
                key.split_once('/')
                    .is_some_and(|(account, _)| held.contains_key(account))
            })
            .map(str::to_string)
            .collect();
        let mut factors: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for r in store
            .snapshot_records_by_keys(id, Resource::Factors, &keys)
            .await?
        {
            if let Record::Factor(f) = r {
                factors
                    .entry(f.account_id)
                    .or_default()
                    .push(json!({"id": f.id, "factor_type": f.factor_type, "status": f.status}));
            }
        }
        for (account, roles) in &held {
            let enrolled = factors
                .get(account)
                .is_some_and(|fs| fs.iter().any(|f| f["status"] == "ACTIVE"));
            if enrolled {
                continue;
            }
            let list: Vec<&str> = roles.iter().map(|r| r.role_type.as_str()).collect();
            findings.push(new(
                Kind::AdminWithoutMfa,
                account.clone(),
                login_of(account),
                format!("{} holds {} without an enrolled MFA factor", login_of(account), list.join(", ")),
                json!({"account": person(account), "roles": roles, "factors": factors.get(account).cloned().unwrap_or_default()}),
            ));
        }
    }

    // --- SUPER_ADMIN concentration --------------------------------------------------------
    if evaluate(Kind::SuperAdminConcentration, None) {
        let supers: Vec<(&String, &Vec<Held>)> = held
            .iter()
            .filter(|(_, roles)| roles.iter().any(|r| r.role_type == "SUPER_ADMIN"))
            .collect();
        if supers.len() as i64 > limits.super_admin_max {
            let list: Vec<Value> = supers
                .iter()
                .map(|(account, roles)| {
                    let via: Vec<&Held> = roles
                        .iter()
                        .filter(|r| r.role_type == "SUPER_ADMIN")
                        .collect();
                    json!({"account": person(account), "super_admin": via})
                })
                .collect();
            findings.push(new(
                Kind::SuperAdminConcentration,
                "SUPER_ADMIN".into(),
                "Super Administrators".into(),
                format!(
                    "{} accounts hold SUPER_ADMIN, more than the configured maximum of {}",
                    supers.len(),
                    limits.super_admin_max
                ),
                json!({"count": supers.len(), "max": limits.super_admin_max, "super_admins": list}),
            ));
        }
    }

    // --- leavers and dormant accounts still holding access -------------------------------
    let roles_gap = readable(Resource::RoleAssignments).err().map(|r| {
        format!("partially evaluated (app assignments only; admin roles not checked): {r}")
    });
    let leaver_ok = evaluate(Kind::LeaverWithAccess, roles_gap.clone());
    let dormant_ok = evaluate(Kind::DormantWithAccess, roles_gap);
    if leaver_ok || dormant_ok {
        let dormant_before = now - Duration::days(limits.inactive_days);
        // account → why it is a candidate.
        let mut candidates: HashMap<&str, Kind> = HashMap::new();
        for u in users.values() {
            let leaver = matches!(u.status.as_str(), "DEPROVISIONED" | "SUSPENDED");
            if leaver {
                if leaver_ok {
                    candidates.insert(u.id.as_str(), Kind::LeaverWithAccess);
                }
            } else if dormant_ok {
                // Never signed in: dormant once the account itself is older than the window.
                let reference = u.last_login.or(u.created);
                if reference.is_some_and(|t| t < dormant_before) {
                    candidates.insert(u.id.as_str(), Kind::DormantWithAccess);
                }
            }
        }
        let mut apps_of: HashMap<&str, Vec<&str>> = HashMap::new();
        for key in app_user_keys.iter() {
            if let Some((app, account)) = key.split_once('/')
                && candidates.contains_key(account)
            {
                apps_of.entry(account).or_default().push(app);
            }
        }
        let mut ordered: Vec<(&&str, &Kind)> = candidates.iter().collect();
        ordered.sort();
        for (account, kind) in ordered {
            let apps = apps_of.get(*account).map(Vec::as_slice).unwrap_or_default();
            let admin = held.get(*account).map(Vec::as_slice).unwrap_or_default();
            if apps.is_empty() && admin.is_empty() {
                continue;
            }
            let Some(u) = users.get(*account) else {
                continue;
            };
            let app_list: Vec<Value> = apps
                .iter()
                .map(|app| json!({"app_id": app, "label": labels.get(*app)}))
                .collect();
            let holds = match (apps.len(), admin.len()) {
                (a, 0) => format!("{a} app assignment(s)"),
                (0, r) => format!("{r} admin role(s)"),
                (a, r) => format!("{a} app assignment(s) and {r} admin role(s)"),
            };
            let detail = match kind {
                Kind::LeaverWithAccess => {
                    format!("{} is {} but still holds {holds}", u.login, u.status)
                }
                _ => match u.last_login {
                    Some(t) => format!(
                        "{} has not signed in since {} (over {} days) but still holds {holds}",
                        u.login,
                        t.format("%Y-%m-%d"),
                        limits.inactive_days
                    ),
                    None => format!(
                        "{} has never signed in (account over {} days old) but still holds {holds}",
                        u.login, limits.inactive_days
                    ),
                },
            };
            findings.push(new(
                *kind,
                (*account).to_string(),
                u.login.clone(),
                detail,
                json!({"account": person(account), "app_assignments": app_list, "admin_roles": admin}),
            ));
        }
    }

    // --- apps without SSO use -------------------------------------------------------------
    if evaluate(Kind::UnusedApp, None) {
        // The data inventory (updated from this very snapshot beside findings) already
        // aggregates each app's last SSO event and assignment counts from the System Log.
        // The kinds above were computed while it was being updated; its items are read now.
        if !inventory_updated.await {
            return Err(FindingsError::InventoryNotUpdated);
        }
        let inventory = store
            .inventory_items(&steward_store::InventoryFilter {
                integration_id: Some(id),
                triage: None,
            })
            .await?;
        let since = now - Duration::days(limits.unused_app_days);
        let mut items: Vec<_> = inventory
            .into_iter()
            .filter(|i| i.removed_run.is_none())
            .collect();
        items.sort_by(|a, b| a.facts.app_id.cmp(&b.facts.app_id));
        for item in items {
            let f = &item.facts;
            if f.last_sso_at.is_some_and(|t| t >= since) {
                continue;
            }
            findings.push(new(
                Kind::UnusedApp,
                f.app_id.clone(),
                f.label.clone(),
                format!(
                    "{} ({}) has had no SSO sign-in in {} days; {} user and {} group assignment(s)",
                    f.label, f.okta_status, limits.unused_app_days, f.assigned_users, f.assigned_groups
                ),
                json!({"app": {"id": f.app_id, "label": f.label, "name": f.name, "status": f.okta_status,
                               "sign_on_mode": f.sign_on_mode},
                       "last_sso": f.last_sso_at, "assigned_users": f.assigned_users,
                       "assigned_groups": f.assigned_groups, "days": limits.unused_app_days,
                       "inventory_item": item.id}),
            ));
        }
    }

    // --- admin roles granted through groups -----------------------------------------------
    if evaluate(Kind::AdminRoleViaGroup, None) {
        for a in roles
            .iter()
            .filter(|a| a.principal_kind == PrincipalKind::Group)
        {
            let group = group_names
                .get(&a.principal_id)
                .cloned()
                .unwrap_or_else(|| a.principal_id.clone());
            let list: Vec<Value> = members
                .get(&a.principal_id)
                .into_iter()
                .flatten()
                .map(|m| person(m))
                .collect();
            findings.push(new(
                Kind::AdminRoleViaGroup,
                format!("{}/{}", a.principal_id, a.id),
                format!("{group}: {}", a.role_type),
                format!(
                    "group {group} grants {} ({}) to its {} member(s); membership changes silently change who is an admin",
                    a.role_type,
                    a.label,
                    list.len()
                ),
                json!({"group": {"id": a.principal_id, "name": group_names.get(&a.principal_id)},
                       "role": {"id": a.id, "role_type": a.role_type, "label": a.label, "status": a.status},
                       "members": list}),
            ));
        }
    }

    Ok(Computed {
        evaluations,
        findings,
    })
}

/// The keys of one resource of the current snapshot, or none when not `wanted`.
async fn key_list(
    store: &Store,
    id: i64,
    resource: Resource,
    wanted: bool,
) -> Result<KeyList, FindingsError> {
    if !wanted {
        return Ok(KeyList::default());
    }
    Ok(store.snapshot_key_list(id, resource).await?)
}

async fn app_labels(
    store: &Store,
    id: i64,
    readable: bool,
) -> Result<HashMap<String, String>, FindingsError> {
    if !readable {
        return Ok(HashMap::new());
    }
    let mut labels = HashMap::new();
    store
        .snapshot_heads(id, Resource::Apps, |a: AppRow| {
            labels.insert(a.id, a.label);
        })
        .await?;
    Ok(labels)
}

// --- identity-graph kinds: leavers and orphans of downstream systems -----------------------

/// The fields of an account the identity graph joins and reports (raw source objects are
/// skipped).
#[derive(Deserialize)]
struct AccountRow {
    id: String,
    login: String,
    email: Option<String>,
    second_email: Option<String>,
    display_name: Option<String>,
    status: String,
    last_login: Option<DateTime<Utc>>,
    license_status: Option<String>,
}

impl AccountRow {
    fn into_account(self) -> Account {
        Account {
            id: self.id,
            login: self.login,
            email: self.email,
            second_email: self.second_email,
            first_name: None,
            last_name: None,
            display_name: self.display_name,
            status: self.status,
            department: None,
            title: None,
            manager: None,
            employee_number: None,
            created: None,
            last_login: self.last_login,
            last_updated: None,
            license_status: self.license_status,
            raw: steward_model::Raw::null(),
        }
    }
}

fn empty() -> Computed {
    Computed {
        evaluations: Vec::new(),
        findings: Vec::new(),
    }
}

/// Compute (without storing) the identity-graph kinds of one downstream integration: its
/// active accounts whose person left the identity provider, and those no identity-provider
/// user has. Judged against every integration's current snapshot.
pub async fn compute_graph(store: &Store, integration_id: i64) -> Result<Computed, FindingsError> {
    let synced = synced_integrations(store).await?;
    let mut per = graph_findings(store, &synced, &[integration_id]).await?;
    Ok(per.remove(&integration_id).unwrap_or_else(empty))
}

/// After an identity-provider sync at `run_id`: recompute and record the identity-graph kinds
/// of every synced downstream integration at that run (so they are "new" or "resolved" at the
/// sync that changed them). Nothing is read when no downstream integration exists.
async fn graph_after_idp_sync(
    store: &Store,
    run_id: i64,
    now: DateTime<Utc>,
) -> Result<(), FindingsError> {
    let synced = synced_integrations(store).await?;
    let targets: Vec<i64> = synced
        .iter()
        .filter(|i| {
            i.kind != IntegrationKind::Okta && kinds_for(i.kind).contains(&Kind::OrphanAccount)
        })
        .map(|i| i.id)
        .collect();
    if targets.is_empty() {
        return Ok(());
    }
    for (id, computed) in graph_findings(store, &synced, &targets).await? {
        store
            .apply_findings(id, run_id, now, &computed.evaluations, &computed.findings)
            .await?;
    }
    Ok(())
}

/// Integrations with a published snapshot, read fresh (the caller's copy of the syncing
/// integration predates its own publish).
async fn synced_integrations(store: &Store) -> Result<Vec<Integration>, FindingsError> {
    Ok(store
        .integrations()
        .await?
        .into_iter()
        .filter(|i| i.current_run_id.is_some())
        .collect())
}

/// The identity-graph kinds of each of `targets`, from one graph of every readable snapshot.
async fn graph_findings(
    store: &Store,
    synced: &[Integration],
    targets: &[i64],
) -> Result<BTreeMap<i64, Computed>, FindingsError> {
    // Why each synced integration's users are unusable, if they are.
    let mut users_gap: HashMap<i64, Option<String>> = HashMap::new();
    for i in synced {
        let status = store.resource_status(i.id).await?;
        let gap = match status.iter().find(|s| s.resource == Resource::Users) {
            Some(s) if s.readable => None,
            Some(s) => Some(format!(
                "users of {} could not be read: {}",
                i.name,
                s.reason.clone().unwrap_or_else(|| "no reason given".into())
            )),
            None => Some(format!("users of {} were not part of the snapshot", i.name)),
        };
        users_gap.insert(i.id, gap);
    }
    // Without a complete identity provider every downstream account would look orphaned:
    // not evaluated, rather than a flood of false findings.
    let idp: Vec<&Integration> = synced
        .iter()
        .filter(|i| i.kind == IntegrationKind::Okta)
        .collect();
    let idp_gap = if idp.is_empty() {
        Some(
            "no identity-provider (Okta) integration has been synced; orphans and leavers are judged against its users"
                .to_string(),
        )
    } else {
        let reasons: Vec<String> = idp
            .iter()
            .filter_map(|i| users_gap.get(&i.id).cloned().flatten())
            .collect();
        (!reasons.is_empty()).then(|| reasons.join("; "))
    };
    let gaps: BTreeMap<i64, Option<String>> = targets
        .iter()
        .map(|id| {
            let own = match synced.iter().find(|i| i.id == *id) {
                Some(i) => users_gap.get(&i.id).cloned().flatten(),
                None => Some("the integration has no published snapshot".to_string()),
            };
            let reasons: Vec<String> = own.into_iter().chain(idp_gap.clone()).collect();
            (
                *id,
                (!reasons.is_empty()).then(|| format!("not evaluated: {}", reasons.join("; "))),
            )
        })
        .collect();

    let mut found: HashMap<i64, Vec<NewFinding>> = HashMap::new();
    if gaps.values().any(Option::is_none) {
        let mut accounts = Vec::new();
        let mut joined = Vec::new();
        for i in synced
            .iter()
            .filter(|i| users_gap.get(&i.id).is_some_and(Option::is_none))
        {
            joined.push((i.name.clone(), i.kind));
            store
                .snapshot_heads(i.id, Resource::Users, |a: AccountRow| {
                    accounts.push((i.name.clone(), i.kind, a.into_account()));
                })
                .await?;
        }
        let g = Graph::of_accounts(accounts, joined);
        for i in synced
            .iter()
            .filter(|i| gaps.get(&i.id).is_some_and(Option::is_none))
        {
            found.insert(i.id, graph_kind_findings(&g, &i.name));
        }
    }
    Ok(gaps
        .into_iter()
        .map(|(id, gap)| {
            let evaluations = Kind::GRAPH
                .iter()
                .map(|k| KindEvaluation {
                    kind: k.as_str().to_string(),
                    evaluated: gap.is_none(),
                    reason: gap.clone(),
                })
                .collect();
            (
                id,
                Computed {
                    evaluations,
                    findings: found.remove(&id).unwrap_or_default(),
                },
            )
        })
        .collect())
}

/// Leaver and orphan findings about the accounts of the integration named `integration`.
/// Every leaver's account is also an orphan in the graph's sense (no active identity-provider
/// user); it is reported once, as the more specific leaver, so orphans here are the accounts
/// no identity-provider user has at all. Keyed by the downstream account id, stable between
/// syncs.
fn graph_kind_findings(g: &Graph, integration: &str) -> Vec<NewFinding> {
    let new = new_finding;
    let mut findings = Vec::new();
    let mut leaver_accounts: HashSet<String> = HashSet::new();
    for l in g.leavers() {
        let idp_status: Vec<String> = l
            .idp_accounts
            .iter()
            .map(|a| format!("{} in {}", a.status, a.integration))
            .collect();
        for a in l
            .still_active
            .iter()
            .filter(|a| a.integration == integration)
        {
            leaver_accounts.insert(a.account_id.clone());
            findings.push(new(
                Kind::LeaverAccount,
                a.account_id.clone(),
                a.login.clone(),
                format!(
                    "{} is {} but the {integration} account {} ({}) is still active",
                    l.person,
                    idp_status.join(", "),
                    a.login,
                    a.status
                ),
                json!({"person": l.person, "account": a, "idp_accounts": l.idp_accounts,
                       "still_active": l.still_active, "join_evidence": l.evidence}),
            ));
        }
    }
    let people: HashMap<&str, &Person> = g.people.iter().map(|p| (p.email.as_str(), p)).collect();
    for o in g.orphans() {
        if o.account.integration != integration || leaver_accounts.contains(&o.account.account_id) {
            continue;
        }
        let person = people.get(o.person.as_str());
        let others: Vec<&AccountRef> = person
            .into_iter()
            .flat_map(|p| p.accounts.iter())
            .filter(|a| {
                !(a.integration == o.account.integration && a.account_id == o.account.account_id)
            })
            .collect();
        findings.push(new(
            Kind::OrphanAccount,
            o.account.account_id.clone(),
            o.account.login.clone(),
            format!(
                "{} is active in {integration} ({}) but {}",
                o.account.login, o.account.status, o.reason
            ),
            json!({"person": o.person, "account": o.account, "reason": o.reason,
                   "identifiers": person.map(|p| &p.identifiers), "other_accounts": others,
                   "join_evidence": person.map(|p| &p.evidence)}),
        ));
    }
    findings
}

/// Kinds that appear in `findings`, counted.
pub fn count_by_kind(findings: &[Finding]) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for f in findings {
        *out.entry(f.kind.clone()).or_default() += 1;
    }
    out
}

/// Account ids named in `findings` of `kind` (for tests and reviews).
pub fn subjects(findings: &[Finding], kind: Kind) -> HashSet<String> {
    findings
        .iter()
        .filter(|f| f.kind == kind.as_str())
        .map(|f| f.subject_key.clone())
        .collect()
}
