//! Access reviews on the certification model: a definition (scope, reviewer, deadline,
//! recurrence) starts campaigns; each campaign holds one case per graph edge (person → app
//! assignment, group membership or admin role) with the context a reviewer needs; reviewers
//! decide keep or revoke with a comment (undecided cases are "not decided"); the report
//! becomes an evidence item; remediation of revokes is report-only unless enabled.
//!
//! Cases come from the integration's current snapshot. A decision is a conditional update,
//! so a case decided by one reviewer leaves every other reviewer's queue at once.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;

use chrono::{DateTime, Duration, Months, NaiveDate, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use steward_connectors::Connector;
use steward_connectors::actions::RemovalOutcome;
use steward_model::{PrincipalKind, Record, Resource};
use steward_store::{
    Campaign, Case, CaseContext, DecideRefusal, KeyList, NewCase, NewEvidence, NewReviewDefinition,
    NewReviewPerson, ReviewDefinition, Store,
};

use crate::Clock;

#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error(transparent)]
    Store(#[from] steward_store::StoreError),
    #[error("--scope {0:?} is not valid; use apps:ID[,ID…], groups:ID[,ID…], admins or all")]
    BadScope(String),
    #[error(
        "--reviewer {0:?} is not valid; use owner, manager or one or more emails (comma-separated)"
    )]
    BadReviewer(String),
    #[error("--due {0:?} is not a date; use YYYY-MM-DD, in the future")]
    BadDue(String),
    #[error("--recur {0:?} is not supported; use quarterly")]
    BadRecur(String),
    #[error("--name must not be empty")]
    EmptyName,
    #[error("integration {0:?} not found; list them with `steward integration list`")]
    NoIntegration(String),
    #[error("integration {0:?} has no synced snapshot yet; run `steward sync {0}` first")]
    NoSnapshot(String),
    #[error("campaign {0} not found; list them with `steward review list`")]
    NoCampaign(i64),
    #[error("case {0} not found; see your queue with `steward review queue --reviewer EMAIL`")]
    NoCase(i64),
    #[error(
        "case {case} was already decided ({decision}) by {by} at {at}; it has left every queue"
    )]
    AlreadyDecided {
        case: i64,
        by: String,
        at: DateTime<Utc>,
        decision: String,
    },
    #[error("case {case} is not in {reviewer}'s queue; its reviewers are: {reviewers}")]
    NotReviewer {
        case: i64,
        reviewer: String,
        reviewers: String,
    },
    #[error("case {0} belongs to a closed campaign")]
    Closed(i64),
    #[error("decision {0:?} is not valid; use keep or revoke")]
    BadDecision(String),
    #[error("report format {0:?} is not supported; use csv, json or html")]
    BadFormat(String),
    #[error("remediation failed: {0}")]
    Connector(String),
}

/// What a campaign covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Scope {
    Apps(Vec<String>),
    Groups(Vec<String>),
    Admins,
    All,
}

impl Scope {
    pub fn parse(s: &str) -> Result<Scope, ReviewError> {
        let bad = || ReviewError::BadScope(s.to_string());
        let list = |rest: &str| -> Result<Vec<String>, ReviewError> {
            let ids: Vec<String> = rest
                .split(',')
                .map(str::trim)
                .filter(|x| !x.is_empty())
                .map(str::to_string)
                .collect();
            if ids.is_empty() { Err(bad()) } else { Ok(ids) }
        };
        match s.trim() {
            "admins" => Ok(Scope::Admins),
            "all" => Ok(Scope::All),
            t => match t.split_once(':') {
                Some(("apps", rest)) => Ok(Scope::Apps(list(rest)?)),
                Some(("groups", rest)) => Ok(Scope::Groups(list(rest)?)),
                _ => Err(bad()),
            },
        }
    }

    pub fn as_text(&self) -> String {
        match self {
            Scope::Apps(ids) => format!("apps:{}", ids.join(",")),
            Scope::Groups(ids) => format!("groups:{}", ids.join(",")),
            Scope::Admins => "admins".into(),
            Scope::All => "all".into(),
        }
    }
}

/// Who reviews.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reviewer {
    /// The app's owner from the data inventory.
    Owner,
    /// The person's manager.
    Manager,
    Emails(Vec<String>),
}

pub const UNASSIGNED: &str = "unassigned";

impl Reviewer {
    pub fn parse(s: &str) -> Result<Reviewer, ReviewError> {
        match s.trim() {
            "owner" => Ok(Reviewer::Owner),
            "manager" => Ok(Reviewer::Manager),
            t => {
                let emails: Vec<String> = t
                    .split(',')
                    .map(|e| e.trim().to_ascii_lowercase())
                    .filter(|e| !e.is_empty())
                    .collect();
                if emails.is_empty()
                    || emails
                        .iter()
                        .any(|e| !e.contains('@') || e.contains(char::is_whitespace))
                {
                    return Err(ReviewError::BadReviewer(s.to_string()));
                }
                Ok(Reviewer::Emails(emails))
            }
        }
    }
}

/// `steward review create`.
#[derive(Debug, Clone)]
pub struct CreateReview {
    pub name: String,
    pub integration: String,
    pub scope: String,
    pub reviewer: String,
    /// `YYYY-MM-DD`.
    pub due: String,
    pub recur: Option<String>,
    pub remediation: bool,
}

/// A campaign with its case counts.
#[derive(Debug, Clone, Serialize)]
pub struct CampaignView {
    #[serde(flatten)]
    pub campaign: Campaign,
    pub scope: String,
    pub reviewer: String,
    pub recur: Option<String>,
    pub cases: u64,
    pub kept: u64,
    pub revoked: u64,
    pub not_decided: u64,
    pub overdue: bool,
}

fn parse_due(s: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, ReviewError> {
    let d = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| ReviewError::BadDue(s.to_string()))?;
    let at = d
        .and_hms_opt(23, 59, 59)
        .map(|t| t.and_utc())
        .ok_or_else(|| ReviewError::BadDue(s.to_string()))?;
    if at <= now {
        return Err(ReviewError::BadDue(s.to_string()));
    }
    Ok(at)
}

/// Validate, store the definition and start its first campaign.
pub async fn create(
    store: &Store,
    req: &CreateReview,
    clock: &dyn Clock,
) -> Result<CampaignView, ReviewError> {
    let now = clock.now();
    if req.name.trim().is_empty() {
        return Err(ReviewError::EmptyName);
    }
    let scope = Scope::parse(&req.scope)?;
    Reviewer::parse(&req.reviewer)?;
    let due = parse_due(&req.due, now)?;
    let recur = match req.recur.as_deref().map(str::trim) {
        None => None,
        Some("quarterly") => Some("quarterly".to_string()),
        Some(other) => return Err(ReviewError::BadRecur(other.to_string())),
    };
    let integration = store
        .integration_by_name(&req.integration)
        .await?
        .ok_or_else(|| ReviewError::NoIntegration(req.integration.clone()))?;
    let due_days = (due - now).num_days().max(1);
    let next = recur
        .as_ref()
        .and_then(|_| now.checked_add_months(Months::new(3)));
    let definition = store
        .create_review_definition(
            &NewReviewDefinition {
                name: req.name.trim().to_string(),
                integration_id: integration.id,
                scope: scope.as_text(),
                reviewer: req.reviewer.trim().to_string(),
                due_days,
                recur,
                remediation: req.remediation,
            },
            next,
            now,
        )
        .await?;
    let campaign = start(store, &definition, now, due).await?;
    view(store, campaign, now).await
}

/// Start a campaign of `definition` from the integration's current snapshot.
pub async fn start(
    store: &Store,
    definition: &ReviewDefinition,
    now: DateTime<Utc>,
    due: DateTime<Utc>,
) -> Result<Campaign, ReviewError> {
    let integration = store
        .integration(definition.integration_id)
        .await?
        .ok_or_else(|| ReviewError::NoIntegration(definition.integration_id.to_string()))?;
    let run_id = integration
        .current_run_id
        .ok_or_else(|| ReviewError::NoSnapshot(integration.name.clone()))?;
    let scope = Scope::parse(&definition.scope)?;
    let reviewer = Reviewer::parse(&definition.reviewer)?;
    let sources = load(store, integration.id, &scope).await?;
    let index = Index::new(&sources, &scope, &reviewer);
    let cases = index.cases(&sources, &scope);
    Ok(store
        .create_campaign_from(
            definition,
            run_id,
            now,
            due,
            cases,
            |accounts, ids| index.context(&sources, accounts, ids),
            "steward",
        )
        .await?)
}

/// Start the next campaign of every recurring definition that is due; returns them. Safe
/// to call from several workers: each definition's start is claimed by one.
pub async fn start_due(store: &Store, clock: &dyn Clock) -> Result<Vec<Campaign>, ReviewError> {
    let now = clock.now();
    let mut started = Vec::new();
    for d in store.due_review_definitions(now).await? {
        let Some(at) = d.next_start_at else { continue };
        let next = at
            .checked_add_months(Months::new(3))
            .unwrap_or(at + Duration::days(91));
        if !store.advance_review_definition(d.id, at, next).await? {
            continue;
        }
        let due = now + Duration::days(d.due_days);
        started.push(start(store, &d, now, due).await?);
    }
    Ok(started)
}

#[derive(serde::Deserialize)]
struct UserRow {
    id: String,
    login: String,
    department: Option<String>,
    manager: Option<String>,
    last_login: Option<DateTime<Utc>>,
}

#[derive(serde::Deserialize)]
struct NamedRow {
    id: String,
    name: String,
}

#[derive(serde::Deserialize)]
struct AppRow {
    id: String,
    label: String,
}

#[derive(serde::Deserialize)]
struct LogRow {
    event_type: String,
    published: DateTime<Utc>,
    #[serde(default)]
    target_ids: Vec<String>,
}

/// Everything a campaign's cases are built from, read from the current snapshot.
struct Sources {
    factors_readable: bool,
    users: HashMap<String, UserRow>,
    app_labels: HashMap<String, String>,
    group_names: HashMap<String, String>,
    /// `account/factor`.
    factor_keys: KeyList,
    /// `group/account`.
    membership_keys: KeyList,
    /// `app/group`.
    app_group_keys: KeyList,
    /// `app/account`; empty unless the scope covers apps.
    app_user_keys: KeyList,
    /// Successful SSO events: (when, targets).
    sso_events: Vec<(DateTime<Utc>, Vec<String>)>,
    roles: Vec<steward_model::RoleAssignment>,
    /// App id → owner (lower-case) from the data inventory.
    owners: HashMap<String, String>,
}

async fn key_list(
    store: &Store,
    id: i64,
    resource: Resource,
    wanted: bool,
) -> Result<KeyList, ReviewError> {
    if !wanted {
        return Ok(KeyList::default());
    }
    Ok(store.snapshot_key_list(id, resource).await?)
}

/// Read the sources; the reads are independent and each runs on its own pooled connection,
/// at once, since most of the time goes to the database driver.
async fn load(store: &Store, id: i64, scope: &Scope) -> Result<Sources, ReviewError> {
    let status: BTreeMap<Resource, bool> = store
        .resource_status(id)
        .await?
        .into_iter()
        .map(|s| (s.resource, s.readable))
        .collect();
    let ok = |r: Resource| status.get(&r).copied().unwrap_or(false);
    let apps_in_scope = matches!(scope, Scope::All | Scope::Apps(_));
    let (
        users,
        app_labels,
        group_names,
        factor_keys,
        membership_keys,
        app_group_keys,
        app_user_keys,
    ) = futures::try_join!(
        async {
            let mut users: HashMap<String, UserRow> = HashMap::new();
            store
                .snapshot_heads(id, Resource::Users, |u: UserRow| {
                    users.insert(u.id.clone(), u);
                })
                .await?;
            Ok::<_, ReviewError>(users)
        },
        async {
            let mut labels: HashMap<String, String> = HashMap::new();
            store
                .snapshot_heads(id, Resource::Apps, |a: AppRow| {
                    labels.insert(a.id, a.label);
                })
                .await?;
            Ok(labels)
        },
        async {
            let mut names: HashMap<String, String> = HashMap::new();
            store
                .snapshot_heads(id, Resource::Groups, |g: NamedRow| {
                    names.insert(g.id, g.name);
                })
                .await?;
            Ok(names)
        },
        // MFA: an account with any enrolled factor (factor keys are `account/factor`).
        key_list(store, id, Resource::Factors, ok(Resource::Factors)),
        key_list(store, id, Resource::Memberships, true),
        key_list(store, id, Resource::AppGroups, true),
        key_list(store, id, Resource::AppUsers, apps_in_scope),
    )?;
    let (sso_events, roles, owners) = futures::try_join!(
        async {
            let mut events: Vec<(DateTime<Utc>, Vec<String>)> = Vec::new();
            if apps_in_scope && ok(Resource::LogEvents) {
                // Only SSO events are read out of the database (the stored field, exactly as
                // serialised); the event type is still checked below.
                store
                    .snapshot_heads_containing(
                        id,
                        Resource::LogEvents,
                        crate::inventory::SSO_NEEDLE,
                        |e: LogRow| {
                            if e.event_type == "user.authentication.sso" {
                                events.push((e.published, e.target_ids));
                            }
                        },
                    )
                    .await?;
            }
            Ok::<_, ReviewError>(events)
        },
        async {
            let mut roles: Vec<steward_model::RoleAssignment> = Vec::new();
            if matches!(scope, Scope::Admins | Scope::All) && ok(Resource::RoleAssignments) {
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
        async {
            let owners: HashMap<String, String> = store
                .inventory_items(&steward_store::InventoryFilter {
                    integration_id: Some(id),
                    triage: None,
                })
                .await?
                .into_iter()
                .filter_map(|i| i.owner.map(|o| (i.facts.app_id, o.to_ascii_lowercase())))
                .collect();
            Ok(owners)
        },
    )?;
    Ok(Sources {
        factors_readable: ok(Resource::Factors),
        users,
        app_labels,
        group_names,
        factor_keys,
        membership_keys,
        app_group_keys,
        app_user_keys,
        sso_events,
        roles,
        owners,
    })
}

/// Hash maps and sets for the campaign index: a million lookups per campaign, keyed by
/// short ids we made ourselves, so a fast non-cryptographic hash (no flooding risk).
type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
type FastSet<T> = std::collections::HashSet<T, foldhash::fast::RandomState>;

/// Lookups over [`Sources`], borrowing their strings.
struct Index<'a> {
    with_factor: FastSet<&'a str>,
    /// Account → the groups it is in.
    groups_of: FastMap<&'a str, Vec<&'a str>>,
    /// App → the groups assigned to it.
    app_groups: FastMap<&'a str, FastSet<&'a str>>,
    /// In-scope app assignments (app, account), in key order.
    app_edges: Vec<(&'a str, &'a str)>,
    /// App → account → last SSO use, from the System Log.
    last_sso: FastMap<&'a str, FastMap<&'a str, DateTime<Utc>>>,
    /// Who decides each case, as stored (`,a@x,`): made once per reviewer set, not per case.
    reviewers: ReviewerTexts<'a>,
    /// Admin role assignment id → "ROLE_TYPE (label)".
    role_labels: FastMap<&'a str, String>,
}

/// The stored reviewer text of each case, precomputed for the campaign's reviewer rule.
enum ReviewerTexts<'a> {
    /// The same emails on every case.
    Fixed(String),
    /// The app's owner (app cases); `unassigned` for the rest.
    ByApp {
        by_app: FastMap<&'a str, String>,
        unassigned: String,
    },
    /// The person's manager.
    ByAccount {
        by_account: FastMap<&'a str, String>,
        unassigned: String,
    },
}

impl<'a> ReviewerTexts<'a> {
    fn new(s: &'a Sources, reviewer: &Reviewer, apps: &FastSet<&'a str>) -> ReviewerTexts<'a> {
        let unassigned = steward_store::reviewers_text(&[UNASSIGNED.to_string()]);
        match reviewer {
            Reviewer::Emails(e) => ReviewerTexts::Fixed(steward_store::reviewers_text(e)),
            Reviewer::Owner => ReviewerTexts::ByApp {
                by_app: apps
                    .iter()
                    .filter_map(|a| {
                        s.owners
                            .get(*a)
                            .map(|o| (*a, steward_store::reviewers_text(std::slice::from_ref(o))))
                    })
                    .collect(),
                unassigned,
            },
            Reviewer::Manager => ReviewerTexts::ByAccount {
                by_account: s
                    .users
                    .iter()
                    .filter_map(|(id, u)| {
                        // The manager field may hold a login or a user id.
                        let m = u.manager.as_deref()?;
                        let m = s.users.get(m).map(|u| u.login.as_str()).unwrap_or(m);
                        Some((
                            id.as_str(),
                            steward_store::reviewers_text(&[m.to_ascii_lowercase()]),
                        ))
                    })
                    .collect(),
                unassigned,
            },
        }
    }

    fn of(&self, account: &str, app: Option<&str>) -> &str {
        match self {
            ReviewerTexts::Fixed(t) => t,
            ReviewerTexts::ByApp { by_app, unassigned } => {
                app.and_then(|a| by_app.get(a)).unwrap_or(unassigned)
            }
            ReviewerTexts::ByAccount {
                by_account,
                unassigned,
            } => by_account.get(account).unwrap_or(unassigned),
        }
    }
}

impl<'a> Index<'a> {
    fn new(s: &'a Sources, scope: &Scope, reviewer: &Reviewer) -> Index<'a> {
        let with_factor: FastSet<&str> = s
            .factor_keys
            .iter()
            .filter_map(|k| k.split_once('/').map(|(a, _)| a))
            .collect();
        let mut groups_of: FastMap<&str, Vec<&str>> = FastMap::default();
        for k in s.membership_keys.iter() {
            if let Some((g, a)) = k.split_once('/') {
                groups_of.entry(a).or_default().push(g);
            }
        }
        let mut app_groups: FastMap<&str, FastSet<&str>> = FastMap::default();
        for k in s.app_group_keys.iter() {
            if let Some((app, g)) = k.split_once('/') {
                app_groups.entry(app).or_default().insert(g);
            }
        }
        let want_apps: Option<FastSet<&str>> = match scope {
            Scope::Apps(ids) => Some(ids.iter().map(String::as_str).collect()),
            _ => None,
        };
        let app_edges: Vec<(&str, &str)> = s
            .app_user_keys
            .iter()
            .filter_map(|k| k.split_once('/'))
            .filter(|(app, _)| {
                matches!(scope, Scope::All) || want_apps.as_ref().is_some_and(|w| w.contains(app))
            })
            .collect();
        let apps: FastSet<&str> = app_edges.iter().map(|(a, _)| *a).collect();
        // Last SSO use per (app, account): the event's first target that is an app with
        // in-scope assignments is the app; its other targets are the people.
        let mut last_sso: FastMap<&str, FastMap<&str, DateTime<Utc>>> = FastMap::default();
        for (published, targets) in &s.sso_events {
            let Some(app) = targets.iter().find(|t| apps.contains(t.as_str())) else {
                continue;
            };
            let per_app = last_sso.entry(app.as_str()).or_default();
            for t in targets.iter().filter(|t| *t != app) {
                let slot = per_app.entry(t.as_str()).or_insert(*published);
                if *slot < *published {
                    *slot = *published;
                }
            }
        }
        let reviewers = ReviewerTexts::new(s, reviewer, &apps);
        let role_labels = s
            .roles
            .iter()
            .map(|r| (r.id.as_str(), format!("{} ({})", r.role_type, r.label)))
            .collect();
        Index {
            with_factor,
            groups_of,
            app_groups,
            app_edges,
            last_sso,
            reviewers,
            role_labels,
        }
    }

    /// What a reviewer sees next to every case, for the accounts and ids the campaign's
    /// cases mention: who each person is (login, department, MFA status now) and what each
    /// app, group or admin role is called.
    fn context<'b>(
        &'b self,
        s: &'b Sources,
        accounts: &[&'b str],
        ids: &[&'b str],
    ) -> CaseContext<'b> {
        let people = accounts
            .iter()
            .map(|&a| {
                let u = s.users.get(a);
                NewReviewPerson {
                    account_id: a,
                    login: u.map(|u| u.login.as_str()).unwrap_or(a),
                    department: u.and_then(|u| u.department.as_deref()),
                    mfa: if !s.factors_readable {
                        "unknown"
                    } else if self.with_factor.contains(a) {
                        "enrolled"
                    } else {
                        "not_enrolled"
                    },
                }
            })
            .collect();
        // Okta ids are unique across kinds (0oa… apps, 00g… groups, role assignment ids).
        let labels = ids
            .iter()
            .filter_map(|&id| {
                let label = s
                    .app_labels
                    .get(id)
                    .or_else(|| s.group_names.get(id))
                    .or_else(|| self.role_labels.get(id))?;
                Some((id, label.as_str()))
            })
            .collect();
        CaseContext { people, labels }
    }

    /// The campaign's cases, made lazily so they are stored as they are made: app
    /// assignments, then group memberships, then admin roles.
    fn cases(
        &'a self,
        s: &'a Sources,
        scope: &'a Scope,
    ) -> impl Iterator<Item = NewCase<'a>> + Send + 'a {
        let app_cases = self.app_edges.iter().map(move |&(app, account)| NewCase {
            edge: "app",
            account_id: account,
            target_id: app,
            // Granted through a group when the person is in a group assigned to the app.
            via_group_id: match (self.app_groups.get(app), self.groups_of.get(account)) {
                (Some(assigned), Some(mine)) => {
                    mine.iter().find(|g| assigned.contains(*g)).copied()
                }
                _ => None,
            },
            last_used_at: self.last_sso.get(app).and_then(|m| m.get(account)).copied(),
            reviewers: self.reviewers.of(account, Some(app)),
        });
        let want_groups: Option<FastSet<&str>> = match scope {
            Scope::Groups(ids) => Some(ids.iter().map(String::as_str).collect()),
            _ => None,
        };
        let last_login = move |account: &str| s.users.get(account).and_then(|u| u.last_login);
        let group_cases = s
            .membership_keys
            .iter()
            .filter_map(|k| k.split_once('/'))
            .filter(move |(g, _)| {
                matches!(scope, Scope::All) || want_groups.as_ref().is_some_and(|w| w.contains(g))
            })
            .filter(move |(g, _)| s.group_names.get(*g).is_none_or(|n| n != "Everyone"))
            .map(move |(group, account)| NewCase {
                edge: "group",
                account_id: account,
                target_id: group,
                via_group_id: None,
                last_used_at: last_login(account),
                reviewers: self.reviewers.of(account, None),
            });
        let role_cases = s.roles.iter().flat_map(move |r| {
            let case = move |account: &'a str, via: Option<&'a str>| NewCase {
                edge: "role",
                account_id: account,
                target_id: r.id.as_str(),
                via_group_id: via,
                last_used_at: last_login(account),
                reviewers: self.reviewers.of(account, None),
            };
            match r.principal_kind {
                PrincipalKind::Account => vec![case(r.principal_id.as_str(), None)],
                PrincipalKind::Group => {
                    let mut members: Vec<&str> = self
                        .groups_of
                        .iter()
                        .filter(|(_, gs)| gs.iter().any(|x| *x == r.principal_id))
                        .map(|(a, _)| *a)
                        .collect();
                    members.sort_unstable();
                    members
                        .into_iter()
                        .map(|account| case(account, Some(r.principal_id.as_str())))
                        .collect()
                }
            }
        });
        app_cases.chain(group_cases).chain(role_cases)
    }
}

/// `now` judges `overdue`: the caller's clock, never the machine's wall clock.
async fn view(
    store: &Store,
    campaign: Campaign,
    now: DateTime<Utc>,
) -> Result<CampaignView, ReviewError> {
    let def = store.review_definition(campaign.definition_id).await?;
    let (cases, kept, revoked) = store.campaign_counts(campaign.id).await?;
    Ok(CampaignView {
        scope: def.as_ref().map(|d| d.scope.clone()).unwrap_or_default(),
        reviewer: def.as_ref().map(|d| d.reviewer.clone()).unwrap_or_default(),
        recur: def.and_then(|d| d.recur),
        cases,
        kept,
        revoked,
        not_decided: cases.saturating_sub(kept + revoked),
        overdue: campaign.status == "open" && campaign.due_at < now,
        campaign,
    })
}

pub async fn list(store: &Store, clock: &dyn Clock) -> Result<Vec<CampaignView>, ReviewError> {
    let now = clock.now();
    let mut out = Vec::new();
    for c in store.campaigns().await? {
        out.push(view(store, c, now).await?);
    }
    Ok(out)
}

pub async fn show(
    store: &Store,
    id: i64,
    clock: &dyn Clock,
) -> Result<(CampaignView, Vec<Case>), ReviewError> {
    let c = store
        .campaign(id)
        .await?
        .ok_or(ReviewError::NoCampaign(id))?;
    let cases = store.campaign_cases(id).await?;
    Ok((view(store, c, clock.now()).await?, cases))
}

pub async fn queue(store: &Store, reviewer: &str) -> Result<Vec<Case>, ReviewError> {
    Ok(store
        .review_queue(&reviewer.trim().to_ascii_lowercase())
        .await?)
}

/// Decide a case as `reviewer`: `keep` or `revoke`, with an optional comment.
pub async fn decide(
    store: &Store,
    case_id: i64,
    reviewer: &str,
    decision: &str,
    comment: Option<&str>,
    clock: &dyn Clock,
) -> Result<Case, ReviewError> {
    let decision = match decision.trim() {
        "keep" => "keep",
        "revoke" => "revoke",
        other => return Err(ReviewError::BadDecision(other.to_string())),
    };
    let reviewer = reviewer.trim().to_ascii_lowercase();
    match store
        .decide_case(case_id, &reviewer, decision, comment, clock.now())
        .await?
    {
        Ok(c) => Ok(c),
        Err(DecideRefusal::NotFound) => Err(ReviewError::NoCase(case_id)),
        Err(DecideRefusal::AlreadyDecided { by, at, decision }) => {
            Err(ReviewError::AlreadyDecided {
                case: case_id,
                by,
                at,
                decision,
            })
        }
        Err(DecideRefusal::NotReviewer { reviewers }) => Err(ReviewError::NotReviewer {
            case: case_id,
            reviewer,
            reviewers: reviewers.join(", "),
        }),
        Err(DecideRefusal::Closed) => Err(ReviewError::Closed(case_id)),
    }
}

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    Csv,
    Json,
    Html,
}

impl ReportFormat {
    pub fn parse(s: &str) -> Result<ReportFormat, ReviewError> {
        match s {
            "csv" => Ok(ReportFormat::Csv),
            "json" => Ok(ReportFormat::Json),
            "html" => Ok(ReportFormat::Html),
            other => Err(ReviewError::BadFormat(other.to_string())),
        }
    }
}

pub const KIND_REVIEW: &str = "access_review_report";

/// Controls a campaign report supports.
pub fn review_controls() -> Value {
    json!([
        {"framework": "SOC 2", "control": "CC6.2", "title": "Registration and authorization of users; removal when no longer needed"},
        {"framework": "SOC 2", "control": "CC6.3", "title": "Role-based access: authorize, modify or remove access"},
        {"framework": "ISO 27001:2022", "control": "A.5.18", "title": "Access rights"},
    ])
}

fn decision_text(c: &Case) -> &str {
    c.decision.as_deref().unwrap_or("not_decided")
}

fn case_json(c: &Case) -> Value {
    json!({
        "case": c.id, "edge": c.edge, "account_id": c.account_id, "account": c.account_login,
        "target_id": c.target_id, "target": c.target_label,
        "granted": match &c.via_group_id { Some(g) => json!({"through_group": g, "group_name": c.via_group_name}), None => json!("direct") },
        "last_used_at": c.last_used_at, "mfa": c.mfa, "department": c.department,
        "reviewers": c.reviewer_list(), "decision": decision_text(c), "comment": c.comment,
        "decided_by": c.decided_by, "decided_at": c.decided_at,
        "remediation": c.remediation.as_deref().and_then(|r| serde_json::from_str::<Value>(r).ok()),
    })
}

fn csv_field(s: &str) -> String {
    // Cells starting with a formula character are neutralised for spreadsheets.
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The campaign report, rendered; also appended to the evidence register (once per call).
pub async fn report(
    store: &Store,
    id: i64,
    format: ReportFormat,
    clock: &dyn Clock,
) -> Result<(String, String), ReviewError> {
    let (v, cases) = show(store, id, clock).await?;
    let integration = store.integration(v.campaign.integration_id).await?;
    let summary = json!({
        "campaign": v.campaign.id, "name": v.campaign.name, "scope": v.scope, "reviewer": v.reviewer,
        "started_at": v.campaign.started_at, "due_at": v.campaign.due_at, "status": v.campaign.status,
        "remediation": if v.campaign.remediation { "enabled" } else { "report_only" },
        "cases": v.cases, "kept": v.kept, "revoked": v.revoked, "not_decided": v.not_decided,
    });
    let rows: Vec<Value> = cases.iter().map(case_json).collect();
    let audit = store.review_audit(id).await?;
    let now = clock.now();
    let evidence = NewEvidence {
        kind: KIND_REVIEW.into(),
        integration_id: v.campaign.integration_id,
        integration_name: integration.map(|i| i.name).unwrap_or_default(),
        run_id: v.campaign.run_id,
        collected_at: now,
        controls: review_controls(),
        status: if v.not_decided == 0 {
            "evidenced".into()
        } else {
            "partially_evidenced".into()
        },
        reason: (v.not_decided > 0).then(|| format!("{} case(s) not decided", v.not_decided)),
        summary: summary.clone(),
        sources: json!({"cases": rows, "audit": audit}),
    };
    let appended = store.append_evidence(&[evidence]).await?;
    let evidence_id = appended_id(&appended);
    if let Some(eid) = &evidence_id {
        store.set_campaign_evidence(id, eid).await?;
    }
    store
        .audit_review(
            id,
            None,
            "steward",
            "reported",
            &json!({"evidence_id": evidence_id}),
            now,
        )
        .await?;
    let body = match format {
        ReportFormat::Json => {
            serde_json::to_string_pretty(&json!({"summary": summary, "evidence_id": evidence_id, "controls": review_controls(), "cases": rows}))
                .unwrap_or_default()
                + "\n"
        }
        ReportFormat::Csv => {
            let mut out = String::from("case,edge,account,target,granted,last_used_at,mfa,department,decision,comment,decided_by,decided_at\n");
            for c in &cases {
                let granted = c.via_group_name.clone().or(c.via_group_id.clone()).map(|g| format!("group {g}")).unwrap_or_else(|| "direct".into());
                let cells = [
                    c.id.to_string(), c.edge.clone(), c.account_login.clone(), c.target_label.clone(), granted,
                    c.last_used_at.map(|t| t.to_rfc3339()).unwrap_or_default(), c.mfa.clone(),
                    c.department.clone().unwrap_or_default(), decision_text(c).to_string(), c.comment.clone().unwrap_or_default(),
                    c.decided_by.clone().unwrap_or_default(), c.decided_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
                ];
                let line: Vec<String> = cells.iter().map(|s| csv_field(s)).collect();
                out.push_str(&line.join(","));
                out.push('\n');
            }
            out
        }
        ReportFormat::Html => {
            let mut out = String::new();
            let _ = write!(
                out,
                "<!doctype html><html><head><meta charset=\"utf-8\"><title>Access review {}</title></head><body>\
                 <h1>Access review: {}</h1><p>Evidence for SOC 2 CC6.2, CC6.3 and ISO 27001:2022 A.5.18 ({}).</p>\
                 <p>{} cases: {} kept, {} revoked, {} not decided. Due {}.</p><table border=\"1\"><tr><th>Case</th><th>Account</th>\
                 <th>Access</th><th>Granted</th><th>Last used</th><th>MFA</th><th>Decision</th><th>By</th><th>Comment</th></tr>",
                v.campaign.id,
                html_escape(&v.campaign.name),
                html_escape(evidence_id.as_deref().unwrap_or("")),
                v.cases, v.kept, v.revoked, v.not_decided, v.campaign.due_at.format("%Y-%m-%d"),
            );
            for c in &cases {
                let granted = c.via_group_name.clone().map(|g| format!("through group {g}")).unwrap_or_else(|| "direct".into());
                let _ = write!(
                    out,
                    "<tr><td>{}</td><td>{}</td><td>{} {}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    c.id,
                    html_escape(&c.account_login),
                    html_escape(&c.edge),
                    html_escape(&c.target_label),
                    html_escape(&granted),
                    c.last_used_at.map(|t| t.format("%Y-%m-%d").to_string()).unwrap_or_else(|| "never".into()),
                    html_escape(&c.mfa),
                    html_escape(decision_text(c)),
                    html_escape(c.decided_by.as_deref().unwrap_or("")),
                    html_escape(c.comment.as_deref().unwrap_or("")),
                );
            }
            out.push_str("</table></body></html>\n");
            out
        }
    };
    Ok((body, evidence_id.unwrap_or_default()))
}

fn appended_id<T: Serialize>(appended: &T) -> Option<String> {
    let v = serde_json::to_value(appended).ok()?;
    let first = match &v {
        Value::Array(a) => a.first().cloned()?,
        other => other.clone(),
    };
    first.get("id").and_then(Value::as_str).map(str::to_string)
}

/// One remediation result.
#[derive(Debug, Clone, Serialize)]
pub struct Remediation {
    pub case: i64,
    pub account: String,
    pub target: String,
    /// `removed`, `already_absent`, `proposed` (group change / role), `manual` (report-only
    /// or a token that may not write), `failed`.
    pub status: String,
    pub detail: Value,
}

/// Act on the campaign's revoke decisions. Report-only campaigns (and tokens that may not
/// write) produce a remediation list; access granted through a group is never removed
/// directly: the case proposes the group change.
pub async fn remediate(
    store: &Store,
    id: i64,
    connector: Option<&dyn Connector>,
    clock: &dyn Clock,
) -> Result<Vec<Remediation>, ReviewError> {
    let (v, cases) = show(store, id, clock).await?;
    let actions = match (v.campaign.remediation, connector) {
        (true, Some(c)) => c
            .remediation_actions()
            .map_err(|e| ReviewError::Connector(e.to_string()))?,
        _ => None,
    };
    let mut out = Vec::new();
    let done: BTreeSet<i64> = cases
        .iter()
        .filter(|c| c.remediated_at.is_some())
        .map(|c| c.id)
        .collect();
    for c in cases
        .iter()
        .filter(|c| c.decision.as_deref() == Some("revoke") && !done.contains(&c.id))
    {
        let change = match (c.edge.as_str(), &c.via_group_id) {
            ("app", None) => {
                json!({"action": "remove_app_assignment", "app_id": c.target_id, "account_id": c.account_id})
            }
            ("group", _) => {
                json!({"action": "remove_group_membership", "group_id": c.target_id, "account_id": c.account_id})
            }
            (_, Some(g)) => {
                json!({"action": "remove_group_membership", "group_id": g, "group_name": c.via_group_name,
                                   "account_id": c.account_id, "because": format!("{} is granted through this group", c.target_label)})
            }
            _ => {
                json!({"action": "revoke_admin_role", "role_assignment_id": c.target_id, "account_id": c.account_id})
            }
        };
        let proposal_only = c.via_group_id.is_some() || c.edge == "role";
        let (status, detail) = match (&actions, proposal_only) {
            (_, true) => (
                "proposed",
                json!({"proposed_change": change, "reason": "access granted through a group or an admin role: review the group (or role) instead of removing it here"}),
            ),
            (None, _) => (
                "manual",
                json!({"change": change, "reason": if v.campaign.remediation { "no connector that can write" } else { "report-only campaign" }}),
            ),
            (Some(a), false) => {
                let result = if c.edge == "app" {
                    a.remove_app_assignment(&c.target_id, &c.account_id).await
                } else {
                    a.remove_group_membership(&c.target_id, &c.account_id).await
                };
                match result {
                    Ok(RemovalOutcome::Removed { verified }) => {
                        ("removed", json!({"change": change, "verified": verified}))
                    }
                    Ok(RemovalOutcome::AlreadyAbsent) => (
                        "already_absent",
                        json!({"change": change, "verified": true}),
                    ),
                    Ok(RemovalOutcome::Refused {
                        role_needed,
                        reason,
                    }) => (
                        "manual",
                        json!({"change": change, "reason": reason, "role_needed": role_needed}),
                    ),
                    Err(e) => ("failed", json!({"change": change, "error": e.to_string()})),
                }
            }
        };
        let record = json!({"status": status, "detail": detail});
        // Failures are retried next time; everything else is final and recorded on the case.
        if status == "failed" {
            store
                .audit_review(
                    id,
                    Some(c.id),
                    "steward",
                    "remediation_failed",
                    &record,
                    clock.now(),
                )
                .await?;
        } else {
            store
                .record_remediation(c, "steward", &record, clock.now())
                .await?;
        }
        out.push(Remediation {
            case: c.id,
            account: c.account_login.clone(),
            target: c.target_label.clone(),
            status: status.into(),
            detail,
        });
    }
    Ok(out)
}
