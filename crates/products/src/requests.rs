//! Privacy requests (data-subject access and deletion by email), answered live from every
//! connected system through the connectors' action interface, with an audit trail and receipts.
//!
//! Access and deletion never read the snapshot to find the person: the source is asked at
//! request time, so the answer reflects its current state. Every request writes an
//! append-only audit trail (`started`, then `completed`/`refused`/`failed`) and a receipt;
//! neither holds the email in clear (a salted hash, see `steward_store::EmailHash`), and a
//! deletion's audit rows hold no personal data at all (ids and counts only).
//!
//! Decisions: a deletion is refused as a whole when any integration has several matching
//! accounts (nothing is deleted anywhere); no match now plus an earlier `deleted` receipt
//! for the same email is "already deleted"; no match and no receipt is "no account
//! matches" — both succeed with nothing to do.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use steward_connectors::actions::{EraseOutcome, PersonActions, PersonData};
use steward_connectors::{Connector, ConnectorError};
use steward_model::Account;
use steward_store::{
    EmailHash, Erased, Erasure, Integration, NewPrivacyRequest, NewReceipt, RequestKind, Store,
    StoreError,
};

use crate::Clock;
use crate::integrations::{self, IntegrationError};

/// System Log look-back of an access request (Okta keeps 90 days).
const LOG_LOOKBACK_DAYS: i64 = 90;

#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("--email: {reason}")]
    BadEmail { reason: String },
    #[error("no integrations are configured; add one with `steward integration add okta` first")]
    NoIntegrations,
    #[error("integration {integration}: {source}")]
    Connector {
        integration: String,
        source: ConnectorError,
    },
    #[error(
        "integration {integration}: this kind of integration cannot answer privacy requests yet"
    )]
    Unsupported { integration: String },
    #[error(transparent)]
    Integration(#[from] IntegrationError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl RequestError {
    /// True when the caller's input was wrong (the CLI exits 2).
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            RequestError::BadEmail { .. } | RequestError::NoIntegrations
        )
    }
}

/// Check an email address well enough to search by it; returns it trimmed.
pub fn validate_email(input: &str) -> Result<String, RequestError> {
    let bad = |reason: &str| {
        Err(RequestError::BadEmail {
            reason: reason.to_string(),
        })
    };
    let e = input.trim();
    if e.is_empty() {
        return bad(
            "the email is empty; pass the person's address, e.g. --email jane.doe@example.com",
        );
    }
    if e.len() > 254 {
        return bad("the email is longer than 254 characters");
    }
    if e.chars().any(|c| {
        c.is_whitespace()
            || c.is_control()
            || matches!(c, '"' | '\\' | '<' | '>' | ',' | ';' | '(' | ')')
    }) {
        return bad(
            "the email contains spaces, quotes or other characters an address cannot have; pass a single plain address",
        );
    }
    let Some((local, domain)) = e.split_once('@') else {
        return bad("not an email address (no '@'); pass e.g. --email jane.doe@example.com");
    };
    if local.is_empty() || domain.is_empty() || domain.contains('@') {
        return bad("not an email address (expected exactly one '@' with text on both sides)");
    }
    if !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
        || domain.contains("..")
    {
        return bad("the domain part is not a domain name (e.g. example.com)");
    }
    Ok(e.to_string())
}

/// Who asks and for whom.
#[derive(Debug, Clone)]
pub struct RequestInput {
    pub email: String,
    /// The operator (OS user or `--requested-by`), kept in the audit trail.
    pub requested_by: String,
}

/// One integration's answer to an access request.
#[derive(Debug, Clone, Serialize)]
pub struct IntegrationAccess {
    pub integration: String,
    pub kind: String,
    /// Everything known about each matched account (usually one).
    pub accounts: Vec<PersonData>,
    /// API requests this answer took.
    pub api_requests: u64,
}

/// The answer to an access request.
#[derive(Debug, Clone, Serialize)]
pub struct AccessReport {
    pub request_id: i64,
    pub receipt_id: i64,
    pub email: String,
    pub requested_at: DateTime<Utc>,
    pub completed_at: DateTime<Utc>,
    /// System Log events from this instant on were searched.
    pub log_since: DateTime<Utc>,
    pub integrations: Vec<IntegrationAccess>,
}

/// An account that matched, as shown when a deletion is ambiguous.
#[derive(Debug, Clone, Serialize)]
pub struct Candidate {
    pub integration: String,
    pub id: String,
    pub login: String,
    pub email: Option<String>,
    pub second_email: Option<String>,
    pub status: String,
}

/// An app the person was assigned to: a recipient to notify of the erasure.
#[derive(Debug, Clone, Serialize)]
pub struct PlanApp {
    pub app_id: String,
    pub name: String,
    pub label: String,
}

/// What has to happen to erase the person from one integration (and downstream).
#[derive(Debug, Clone, Serialize)]
pub struct ErasurePlan {
    pub account_id: String,
    pub account_status: String,
    /// Apps the person was assigned (recipients to notify).
    pub apps: Vec<PlanApp>,
    pub groups: usize,
    pub steps: Vec<String>,
}

/// How a deletion ended in one integration.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum IntegrationDeletion {
    /// Deleted in the source and erased locally.
    Deleted {
        account_id: String,
        verified: bool,
        plan: ErasurePlan,
        erased: Erased,
    },
    /// `--dry-run`: what would happen.
    WouldDelete { plan: ErasurePlan },
    /// The token's role may not delete: the role needed, and the plan to follow by hand.
    Refused {
        role_needed: String,
        reason: String,
        plan: ErasurePlan,
    },
    /// No account matches in this integration.
    NoMatch,
}

/// The answer to a deletion request.
#[derive(Debug, Clone, Serialize)]
pub struct DeletionReport {
    pub request_id: i64,
    pub receipt_id: i64,
    /// `deleted`, `already_deleted`, `no_match`, `dry_run`, `refused`, `ambiguous`.
    pub outcome: String,
    pub dry_run: bool,
    pub requested_at: DateTime<Utc>,
    pub completed_at: DateTime<Utc>,
    pub integrations: Vec<(String, IntegrationDeletion)>,
    /// When ambiguous: every matching account (nothing was deleted).
    pub candidates: Vec<Candidate>,
    /// When already deleted: the receipt of the earlier deletion.
    pub earlier_receipt_id: Option<i64>,
}

impl DeletionReport {
    /// True when the request was carried out or had nothing to do.
    pub fn succeeded(&self) -> bool {
        matches!(
            self.outcome.as_str(),
            "deleted" | "already_deleted" | "no_match" | "dry_run"
        )
    }
}

struct Source {
    integration: Integration,
    connector: Box<dyn Connector>,
}

async fn sources(store: &Store) -> Result<Vec<Source>, RequestError> {
    let all = store.integrations().await?;
    if all.is_empty() {
        return Err(RequestError::NoIntegrations);
    }
    let mut out = Vec::new();
    for integration in all {
        let connector = integrations::connector(store, &integration).await?;
        out.push(Source {
            integration,
            connector,
        });
    }
    Ok(out)
}

fn actions<'a>(s: &'a Source) -> Result<Box<dyn PersonActions + 'a>, RequestError> {
    let name = || s.integration.name.clone();
    s.connector
        .person_actions()
        .map_err(|source| RequestError::Connector {
            integration: name(),
            source,
        })?
        .ok_or_else(|| RequestError::Unsupported {
            integration: name(),
        })
}

async fn open(
    store: &Store,
    kind: RequestKind,
    input: &RequestInput,
    dry_run: bool,
    now: DateTime<Utc>,
) -> Result<i64, RequestError> {
    Ok(store
        .create_privacy_request(&NewPrivacyRequest {
            kind,
            requested_by: input.requested_by.clone(),
            requested_at: now,
            dry_run,
            subject: EmailHash::new(&input.email),
        })
        .await?)
}

/// Record the failure in the audit trail, then hand the error back.
async fn fail<T>(
    store: &Store,
    request_id: i64,
    clock: &dyn Clock,
    e: RequestError,
) -> Result<T, RequestError> {
    // Connector errors name the endpoint path only (never the query, where the email is).
    let _ = store
        .append_privacy_event(
            request_id,
            clock.now(),
            "failed",
            &json!({"error": e.to_string()}),
        )
        .await;
    Err(e)
}

/// Answer an access request live from every integration.
pub async fn access(
    store: &Store,
    clock: &dyn Clock,
    input: &RequestInput,
) -> Result<AccessReport, RequestError> {
    let email = validate_email(&input.email)?;
    let input = RequestInput {
        email,
        ..input.clone()
    };
    let sources = sources(store).await?;
    let requested_at = clock.now();
    let request_id = open(store, RequestKind::Access, &input, false, requested_at).await?;
    let since = requested_at - Duration::days(LOG_LOOKBACK_DAYS);
    let mut answers = Vec::new();
    for s in &sources {
        match access_one(s, &input.email, since).await {
            Ok(a) => answers.push(a),
            Err(e) => return fail(store, request_id, clock, e).await,
        }
    }
    let completed_at = clock.now();
    let summary: Vec<Value> = answers
        .iter()
        .map(|a| {
            json!({
                "integration": a.integration,
                "accounts": a.accounts.len(),
                "account_ids": a.accounts.iter().map(|p| p.account.id.clone()).collect::<Vec<_>>(),
            })
        })
        .collect();
    let outcome = if answers.iter().any(|a| !a.accounts.is_empty()) {
        "exported"
    } else {
        "no_match"
    };
    let receipt_id = store
        .add_privacy_receipt(&NewReceipt {
            request_id,
            kind: RequestKind::Access,
            email: EmailHash::new(&input.email),
            integrations: Value::Array(summary.clone()),
            outcome: outcome.to_string(),
            requested_at,
            completed_at,
        })
        .await?;
    store
        .append_privacy_event(
            request_id,
            completed_at,
            "completed",
            &json!({"outcome": outcome, "receipt_id": receipt_id, "integrations": summary}),
        )
        .await?;
    Ok(AccessReport {
        request_id,
        receipt_id,
        email: input.email,
        requested_at,
        completed_at,
        log_since: since,
        integrations: answers,
    })
}

async fn access_one(
    s: &Source,
    email: &str,
    since: DateTime<Utc>,
) -> Result<IntegrationAccess, RequestError> {
    let name = s.integration.name.clone();
    let wrap = |source| RequestError::Connector {
        integration: name.clone(),
        source,
    };
    let actions = actions(s)?;
    let found = actions.find_by_email(email).await.map_err(wrap)?;
    let mut accounts = Vec::new();
    for account in &found {
        accounts.push(actions.person_data(account, since).await.map_err(wrap)?);
    }
    Ok(IntegrationAccess {
        integration: s.integration.name.clone(),
        kind: s.integration.kind.as_str().to_string(),
        accounts,
        api_requests: actions.requests(),
    })
}

fn plan_of(
    data: &PersonData,
    erased_in_source: bool,
    kind: steward_model::IntegrationKind,
) -> ErasurePlan {
    let apps: Vec<PlanApp> = data
        .apps
        .items()
        .iter()
        .map(|a| PlanApp {
            app_id: a.app_id.clone(),
            name: a.name.clone(),
            label: a.label.clone(),
        })
        .collect();
    let mut steps = Vec::new();
    if kind == steward_model::IntegrationKind::Onetrust {
        // OneTrust offers no SCIM deletion: deactivation is all a source-side erasure can do.
        if !erased_in_source {
            steps.push(format!("deactivate OneTrust user {} (PATCH /api/scim/v2/Users/{{id}} active:false), then check it reads inactive", data.account.id));
        }
        steps.push(steward_connectors::onetrust::actions::KEEPS_RECORD.to_string());
    } else if !erased_in_source {
        if data.account.status != "DEPROVISIONED" {
            steps.push(format!(
                "deactivate Okta user {} (POST /api/v1/users/{{id}}/lifecycle/deactivate)",
                data.account.id
            ));
        }
        steps.push(format!("delete Okta user {} (DELETE /api/v1/users/{{id}}), then check GET returns 404 E0000007", data.account.id));
    }
    for a in &apps {
        steps.push(format!(
            "notify the owner of app \"{}\" ({}) to erase the person's account there",
            a.label, a.app_id
        ));
    }
    steps.push("erase the person from Steward's snapshots".to_string());
    ErasurePlan {
        account_id: data.account.id.clone(),
        account_status: data.account.status.clone(),
        apps,
        groups: data.groups.items().len(),
        steps,
    }
}

/// The identifiers to scrub from local snapshots.
fn identifiers(account: &Account, email: &str) -> Vec<String> {
    let mut v = vec![account.login.clone(), email.to_string()];
    v.extend(account.email.clone());
    v.extend(account.second_email.clone());
    v.retain(|s| !s.is_empty());
    v
}

/// Erase the person from the integration's local data (snapshots, inventory, evidence) and
/// remember them so later syncs leave them out.
async fn erase_locally(
    store: &Store,
    clock: &dyn Clock,
    s: &Source,
    account: &Account,
    email: &str,
    request_id: i64,
) -> Result<Erased, RequestError> {
    let identifiers = identifiers(account, email);
    Ok(store
        .erase_person(&Erasure {
            integration_id: s.integration.id,
            account_id: &account.id,
            identifiers: &identifiers,
            request_id,
            email,
            at: clock.now(),
        })
        .await?)
}

/// Audit detail of a deletion: ids, counts and outcomes only — no personal data.
fn deletion_audit(report: &DeletionReport) -> Value {
    let per: Vec<Value> = report
        .integrations
        .iter()
        .map(|(name, d)| match d {
            // The deleted account's id is personal data too: it is not kept.
            IntegrationDeletion::Deleted { verified, plan, erased, .. } => json!({
                "integration": name, "outcome": "deleted", "verified": verified,
                "apps_to_notify": plan.apps.iter().map(|a| a.app_id.clone()).collect::<Vec<_>>(),
                "erased": erased,
            }),
            IntegrationDeletion::WouldDelete { plan } => json!({
                "integration": name, "outcome": "would_delete", "account_id": plan.account_id,
                "apps_to_notify": plan.apps.iter().map(|a| a.app_id.clone()).collect::<Vec<_>>(),
            }),
            IntegrationDeletion::Refused { role_needed, plan, .. } => json!({
                "integration": name, "outcome": "refused", "account_id": plan.account_id, "role_needed": role_needed,
                "apps_to_notify": plan.apps.iter().map(|a| a.app_id.clone()).collect::<Vec<_>>(),
            }),
            IntegrationDeletion::NoMatch => json!({"integration": name, "outcome": "no_match"}),
        })
        .collect();
    json!({
        "outcome": report.outcome,
        "receipt_id": report.receipt_id,
        "dry_run": report.dry_run,
        "integrations": per,
        "candidate_ids": report.candidates.iter().map(|c| json!({"integration": c.integration, "id": c.id})).collect::<Vec<_>>(),
        "earlier_receipt_id": report.earlier_receipt_id,
    })
}

/// Delete the person everywhere (or, with `dry_run`, say what would happen).
pub async fn delete(
    store: &Store,
    clock: &dyn Clock,
    input: &RequestInput,
    dry_run: bool,
) -> Result<DeletionReport, RequestError> {
    let email = validate_email(&input.email)?;
    let input = RequestInput {
        email,
        ..input.clone()
    };
    let sources = sources(store).await?;
    let requested_at = clock.now();
    let request_id = open(store, RequestKind::Deletion, &input, dry_run, requested_at).await?;
    match delete_inner(
        store,
        clock,
        &input,
        dry_run,
        &sources,
        request_id,
        requested_at,
    )
    .await
    {
        Ok(r) => Ok(r),
        Err(e) => fail(store, request_id, clock, e).await,
    }
}

async fn delete_inner(
    store: &Store,
    clock: &dyn Clock,
    input: &RequestInput,
    dry_run: bool,
    sources: &[Source],
    request_id: i64,
    requested_at: DateTime<Utc>,
) -> Result<DeletionReport, RequestError> {
    let since = requested_at - Duration::days(LOG_LOOKBACK_DAYS);
    // Phase 1: look everywhere first, so an ambiguity anywhere deletes nothing anywhere.
    let mut handles = Vec::new();
    for s in sources {
        let a = actions(s)?;
        let found =
            a.find_by_email(&input.email)
                .await
                .map_err(|source| RequestError::Connector {
                    integration: s.integration.name.clone(),
                    source,
                })?;
        handles.push((s, a, found));
    }
    let candidates: Vec<Candidate> = handles
        .iter()
        .filter(|(_, _, f)| f.len() > 1)
        .flat_map(|(s, _, f)| {
            f.iter().map(|a| Candidate {
                integration: s.integration.name.clone(),
                id: a.id.clone(),
                login: a.login.clone(),
                email: a.email.clone(),
                second_email: a.second_email.clone(),
                status: a.status.clone(),
            })
        })
        .collect();
    let mut report = DeletionReport {
        request_id,
        receipt_id: 0,
        outcome: String::new(),
        dry_run,
        requested_at,
        completed_at: requested_at,
        integrations: Vec::new(),
        candidates: Vec::new(),
        earlier_receipt_id: None,
    };
    if !candidates.is_empty() {
        report.outcome = "ambiguous".into();
        report.candidates = candidates;
    } else if handles.iter().all(|(_, _, f)| f.is_empty()) {
        report.integrations = handles
            .iter()
            .map(|(s, _, _)| (s.integration.name.clone(), IntegrationDeletion::NoMatch))
            .collect();
        match store.deletion_receipt_for(&input.email).await? {
            Some(r) => {
                report.outcome = "already_deleted".into();
                report.earlier_receipt_id = Some(r.id);
            }
            None => report.outcome = "no_match".into(),
        }
    } else {
        // Phase 2: exactly one account per integration (or none).
        let mut refused = false;
        for (s, a, found) in &handles {
            let name = s.integration.name.clone();
            let wrap = |source| RequestError::Connector {
                integration: name.clone(),
                source,
            };
            let Some(account) = found.first() else {
                report
                    .integrations
                    .push((name.clone(), IntegrationDeletion::NoMatch));
                continue;
            };
            // The live lookup gives the erasure plan its recipients (apps), before
            // deactivation unassigns them.
            let data = a.person_data(account, since).await.map_err(wrap)?;
            if dry_run {
                report.integrations.push((
                    name.clone(),
                    IntegrationDeletion::WouldDelete {
                        plan: plan_of(&data, false, s.integration.kind),
                    },
                ));
                continue;
            }
            match a.erase(account).await.map_err(wrap)? {
                EraseOutcome::Refused {
                    role_needed,
                    reason,
                } => {
                    refused = true;
                    report.integrations.push((
                        name.clone(),
                        IntegrationDeletion::Refused {
                            role_needed,
                            reason,
                            plan: plan_of(&data, false, s.integration.kind),
                        },
                    ));
                }
                EraseOutcome::Deleted { verified, .. } => {
                    let erased =
                        erase_locally(store, clock, s, account, &input.email, request_id).await?;
                    report.integrations.push((
                        name.clone(),
                        IntegrationDeletion::Deleted {
                            account_id: account.id.clone(),
                            verified,
                            plan: plan_of(&data, true, s.integration.kind),
                            erased,
                        },
                    ));
                }
                EraseOutcome::AlreadyGone => {
                    let erased =
                        erase_locally(store, clock, s, account, &input.email, request_id).await?;
                    report.integrations.push((
                        name.clone(),
                        IntegrationDeletion::Deleted {
                            account_id: account.id.clone(),
                            verified: true,
                            plan: plan_of(&data, true, s.integration.kind),
                            erased,
                        },
                    ));
                }
            }
        }
        report.outcome = if refused {
            "refused"
        } else if dry_run {
            "dry_run"
        } else {
            "deleted"
        }
        .into();
    }
    report.completed_at = clock.now();
    let touched: Vec<Value> = report
        .integrations
        .iter()
        .map(|(name, d)| {
            let outcome = match d {
                IntegrationDeletion::Deleted { .. } => "deleted",
                IntegrationDeletion::WouldDelete { .. } => "would_delete",
                IntegrationDeletion::Refused { .. } => "refused",
                IntegrationDeletion::NoMatch => "no_match",
            };
            json!({"integration": name, "outcome": outcome})
        })
        .collect();
    report.receipt_id = store
        .add_privacy_receipt(&NewReceipt {
            request_id,
            kind: RequestKind::Deletion,
            email: EmailHash::new(&input.email),
            integrations: Value::Array(touched),
            outcome: report.outcome.clone(),
            requested_at,
            completed_at: report.completed_at,
        })
        .await?;
    let status = if report.succeeded() {
        "completed"
    } else {
        "refused"
    };
    store
        .append_privacy_event(
            request_id,
            report.completed_at,
            status,
            &deletion_audit(&report),
        )
        .await?;
    Ok(report)
}
