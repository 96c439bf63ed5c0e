//! Privacy requests: the list, a new access request (per-integration results and a Download of
//! the JSON export the CLI writes), and a deletion (admin only) in three steps: dry run, a
//! confirmation that names each account and needs the email or account id typed, the receipt.
//!
//! The access export is personal data and is not stored (the store keeps only a salted hash
//! of the subject): the result page's download is held in memory for its user for
//! [`EXPORT_TTL_MINUTES`], then forgotten.

use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde_json::Value;
use steward_model::Resource;
use steward_products::requests::{
    self, AccessReport, DeletionReport, IntegrationDeletion, RequestInput,
};
use steward_store::IdentityQuery;

use super::{Layout, UiError, UiForm, UiUser, render, render_status, when};
use crate::AppState;
use crate::auth::random_hex;
use crate::error::ApiError;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/privacy-requests", get(list))
        .route("/privacy-requests/access", post(access))
        .route("/privacy-requests/exports/{key}", get(download))
        .route(
            "/privacy-requests/delete",
            get(delete_form).post(delete_plan),
        )
        .route("/privacy-requests/delete/confirm", post(delete_confirm))
}

/// How long an access export stays downloadable.
const EXPORT_TTL_MINUTES: i64 = 15;
/// At most this many exports are held; the oldest go first.
const MAX_EXPORTS: usize = 100;

struct HeldExport {
    user_id: i64,
    expires: DateTime<Utc>,
    file_name: String,
    bytes: Vec<u8>,
}

fn exports() -> &'static Mutex<BTreeMap<String, HeldExport>> {
    static EXPORTS: OnceLock<Mutex<BTreeMap<String, HeldExport>>> = OnceLock::new();
    EXPORTS.get_or_init(|| Mutex::new(BTreeMap::new()))
}

fn hold_export(user_id: i64, now: DateTime<Utc>, file_name: String, bytes: Vec<u8>) -> String {
    let key = random_hex(16);
    let mut map = exports().lock().unwrap_or_else(|p| p.into_inner());
    map.retain(|_, e| e.expires > now);
    while map.len() >= MAX_EXPORTS {
        let oldest = map
            .iter()
            .min_by_key(|(_, e)| e.expires)
            .map(|(k, _)| k.clone());
        match oldest {
            Some(k) => map.remove(&k),
            None => break,
        };
    }
    map.insert(
        key.clone(),
        HeldExport {
            user_id,
            expires: now + chrono::Duration::minutes(EXPORT_TTL_MINUTES),
            file_name,
            bytes,
        },
    );
    key
}

// ---------------------------------------------------------------- list

struct RequestRow {
    id: i64,
    kind: String,
    requested_by: String,
    requested_at: String,
    dry_run: bool,
    status: String,
    updated_at: String,
}

#[derive(Template)]
#[template(path = "requests.html")]
struct ListPage {
    layout: Layout,
    rows: Vec<RequestRow>,
    email: String,
    error: Option<String>,
}

async fn render_list(
    state: &AppState,
    authed: &crate::auth::Authed,
    email: String,
    error: Option<String>,
) -> Result<Response, UiError> {
    let mut all = state.store.privacy_requests().await?;
    all.sort_by_key(|r| std::cmp::Reverse(r.id));
    let rows = all
        .into_iter()
        .take(200)
        .map(|r| RequestRow {
            id: r.id,
            kind: serde_json::to_value(r.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            requested_by: r.requested_by,
            requested_at: when(&r.requested_at),
            dry_run: r.dry_run,
            status: r.status,
            updated_at: when(&r.updated_at),
        })
        .collect();
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    render_status(
        status,
        &ListPage {
            layout: Layout::new(authed, "Privacy requests", "privacy-requests"),
            rows,
            email,
            error,
        },
    )
}

async fn list(State(state): State<AppState>, UiUser(authed): UiUser) -> Result<Response, UiError> {
    render_list(&state, &authed, String::new(), None).await
}

/// A product error as a message for the form, or a server error page.
fn form_error(e: requests::RequestError) -> Result<String, UiError> {
    let api = ApiError::from(e);
    if api.status.is_server_error() && api.code != "connector" {
        return Err(api.into());
    }
    Ok(match &api.field {
        Some(f) => format!("{f}: {}", api.message),
        None => api.message,
    })
}

// ---------------------------------------------------------------- access

struct AccountView {
    id: String,
    login: String,
    status: String,
    groups: String,
    apps: String,
    factors: String,
    roles: String,
    log_events: String,
}

struct IntegrationResult {
    integration: String,
    kind: String,
    accounts: Vec<AccountView>,
    api_requests: u64,
}

#[derive(Template)]
#[template(path = "access_result.html")]
struct AccessPage {
    layout: Layout,
    request_id: i64,
    receipt_id: i64,
    completed_at: String,
    results: Vec<IntegrationResult>,
    download: String,
}

fn part_text<T>(p: &steward_connectors::actions::Part<T>) -> String {
    match p {
        steward_connectors::actions::Part::Read { items } => items.len().to_string(),
        steward_connectors::actions::Part::NotReadable { reason } => {
            format!("not readable: {reason}")
        }
    }
}

fn access_view(r: &AccessReport) -> Vec<IntegrationResult> {
    r.integrations
        .iter()
        .map(|i| IntegrationResult {
            integration: i.integration.clone(),
            kind: i.kind.clone(),
            api_requests: i.api_requests,
            accounts: i
                .accounts
                .iter()
                .map(|p| AccountView {
                    id: p.account.id.clone(),
                    login: p.account.login.clone(),
                    status: p.account.status.clone(),
                    groups: part_text(&p.groups),
                    apps: part_text(&p.apps),
                    factors: part_text(&p.factors),
                    roles: part_text(&p.roles),
                    log_events: part_text(&p.log_events),
                })
                .collect(),
        })
        .collect()
}

async fn access(State(state): State<AppState>, form: UiForm) -> Result<Response, UiError> {
    let email = form.text("email").trim().to_string();
    let input = RequestInput {
        email: email.clone(),
        requested_by: format!("web:{}", form.authed.user.name),
    };
    let report = match requests::access(&state.store, state.clock.as_ref(), &input).await {
        Ok(r) => r,
        Err(e) => {
            let message = form_error(e)?;
            return render_list(&state, &form.authed, email, Some(message)).await;
        }
    };
    let bytes = serde_json::to_vec_pretty(&report).map_err(ApiError::internal)?;
    let file_name = format!("steward-access-request-{}.json", report.request_id);
    let key = hold_export(form.authed.user.id, state.clock.now(), file_name, bytes);
    render(&AccessPage {
        layout: Layout::new(
            &form.authed,
            format!("Access request {}", report.request_id),
            "privacy-requests",
        ),
        request_id: report.request_id,
        receipt_id: report.receipt_id,
        completed_at: when(&report.completed_at),
        results: access_view(&report),
        download: format!("/privacy-requests/exports/{key}"),
    })
}

async fn download(
    State(state): State<AppState>,
    UiUser(authed): UiUser,
    Path(key): Path<String>,
) -> Result<Response, UiError> {
    let now = state.clock.now();
    let map = exports().lock().unwrap_or_else(|p| p.into_inner());
    let held = map
        .get(&key)
        .filter(|e| e.expires > now && e.user_id == authed.user.id)
        .ok_or_else(|| {
            UiError::not_found(
                "this export has expired or is not yours; run the access request again",
            )
        })?;
    let disposition = format!("attachment; filename=\"{}\"", held.file_name);
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        held.bytes.clone(),
    )
        .into_response())
}

// ---------------------------------------------------------------- deletion

#[derive(Template)]
#[template(path = "delete_form.html")]
struct DeleteForm {
    layout: Layout,
    email: String,
    error: Option<String>,
}

/// An account a deletion would remove, named in full.
struct PlannedAccount {
    integration: String,
    account_id: String,
    login: String,
    status: String,
    apps: String,
    groups: usize,
    steps: Vec<String>,
}

struct OtherOutcome {
    integration: String,
    text: String,
}

#[derive(Template)]
#[template(path = "delete_confirm.html")]
struct ConfirmPage {
    layout: Layout,
    email: String,
    accounts: Vec<PlannedAccount>,
    others: Vec<OtherOutcome>,
    outcome: String,
    candidates: Vec<(String, String, String)>,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "delete_receipt.html")]
struct ReceiptPage {
    layout: Layout,
    request_id: i64,
    receipt_id: i64,
    outcome: String,
    completed_at: String,
    others: Vec<OtherOutcome>,
}

async fn delete_form(UiUser(authed): UiUser) -> Result<Response, UiError> {
    if !authed.is_admin() {
        return Err(UiError::forbidden());
    }
    render(&DeleteForm {
        layout: Layout::new(&authed, "New deletion request", "privacy-requests"),
        email: String::new(),
        error: None,
    })
}

/// The account's login, from the synced users (the plan names the id only).
async fn login_of(state: &AppState, account_id: &str) -> String {
    let q = IdentityQuery {
        q: Some(account_id.to_string()),
        status: None,
        limit: 5,
        offset: 0,
    };
    let page = state.store.identity_page(Resource::Users, &q).await;
    page.ok()
        .and_then(|p| {
            p.items
                .into_iter()
                .find(|v| v.get("id").and_then(Value::as_str) == Some(account_id))
                .and_then(|v| {
                    v.get("login")
                        .or_else(|| v.get("profile").and_then(|p| p.get("login")))
                        .and_then(Value::as_str)
                        .map(str::to_string)
                })
        })
        .unwrap_or_else(|| "(not in the last sync)".to_string())
}

fn outcome_text(d: &IntegrationDeletion) -> String {
    match d {
        IntegrationDeletion::Deleted {
            account_id,
            verified,
            erased,
            ..
        } => format!(
            "deleted account {account_id}{}; erased {} records, {} log events locally",
            if *verified { " (verified gone)" } else { "" },
            erased.records,
            erased.log_events
        ),
        IntegrationDeletion::WouldDelete { plan } => {
            format!("would delete account {}", plan.account_id)
        }
        IntegrationDeletion::Refused {
            role_needed,
            reason,
            plan,
        } => {
            format!(
                "refused: {reason} (needs {role_needed}); account {} must be deleted by hand",
                plan.account_id
            )
        }
        IntegrationDeletion::NoMatch => "no matching account".to_string(),
    }
}

async fn confirm_page(
    state: &AppState,
    authed: &crate::auth::Authed,
    email: String,
    plan: &DeletionReport,
    error: Option<String>,
) -> Result<Response, UiError> {
    let mut accounts = Vec::new();
    let mut others = Vec::new();
    for (integration, d) in &plan.integrations {
        match d {
            IntegrationDeletion::WouldDelete { plan: p }
            | IntegrationDeletion::Refused { plan: p, .. } => {
                accounts.push(PlannedAccount {
                    integration: integration.clone(),
                    account_id: p.account_id.clone(),
                    login: login_of(state, &p.account_id).await,
                    status: p.account_status.clone(),
                    apps: p
                        .apps
                        .iter()
                        .map(|a| a.label.clone())
                        .collect::<Vec<_>>()
                        .join(", "),
                    groups: p.groups,
                    steps: p.steps.clone(),
                });
                if matches!(d, IntegrationDeletion::Refused { .. }) {
                    others.push(OtherOutcome {
                        integration: integration.clone(),
                        text: outcome_text(d),
                    });
                }
            }
            other => others.push(OtherOutcome {
                integration: integration.clone(),
                text: outcome_text(other),
            }),
        }
    }
    let candidates = plan
        .candidates
        .iter()
        .map(|c| (c.integration.clone(), c.id.clone(), c.login.clone()))
        .collect();
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    render_status(
        status,
        &ConfirmPage {
            layout: Layout::new(authed, "Confirm deletion", "privacy-requests"),
            email,
            accounts,
            others,
            outcome: plan.outcome.clone(),
            candidates,
            error,
        },
    )
}

/// Step 1 → 2: the dry run, then the confirmation page naming each account.
async fn delete_plan(State(state): State<AppState>, form: UiForm) -> Result<Response, UiError> {
    form.admin()?;
    let email = form.text("email").trim().to_string();
    let input = RequestInput {
        email: email.clone(),
        requested_by: format!("web:{}", form.authed.user.name),
    };
    match requests::delete(&state.store, state.clock.as_ref(), &input, true).await {
        Ok(plan) => confirm_page(&state, &form.authed, email, &plan, None).await,
        Err(e) => {
            let message = form_error(e)?;
            render_status(
                StatusCode::BAD_REQUEST,
                &DeleteForm {
                    layout: Layout::new(&form.authed, "New deletion request", "privacy-requests"),
                    email,
                    error: Some(message),
                },
            )
        }
    }
}

/// Step 2 → 3: the typed confirmation must be the email or an account id the plan names;
/// the plan is recomputed live so the confirmation matches the source as it is now.
async fn delete_confirm(State(state): State<AppState>, form: UiForm) -> Result<Response, UiError> {
    form.admin()?;
    let email = form.text("email").trim().to_string();
    let typed = form.text("confirm").trim().to_string();
    let input = RequestInput {
        email: email.clone(),
        requested_by: format!("web:{}", form.authed.user.name),
    };
    let plan = match requests::delete(&state.store, state.clock.as_ref(), &input, true).await {
        Ok(p) => p,
        Err(e) => return Err(UiError::bad_request(form_error(e)?)),
    };
    let accounts: Vec<String> = plan
        .integrations
        .iter()
        .filter_map(|(_, d)| match d {
            IntegrationDeletion::WouldDelete { plan } => Some(plan.account_id.clone()),
            _ => None,
        })
        .collect();
    let confirmed =
        !typed.is_empty() && (typed.eq_ignore_ascii_case(&email) || accounts.contains(&typed));
    if !confirmed {
        let error = if typed.is_empty() {
            "confirm: type the person's email or the account id to confirm the deletion".to_string()
        } else {
            format!(
                "confirm: {typed:?} is neither the email nor an account id this deletion would remove"
            )
        };
        return confirm_page(&state, &form.authed, email, &plan, Some(error)).await;
    }
    let report = match requests::delete(&state.store, state.clock.as_ref(), &input, false).await {
        Ok(r) => r,
        Err(e) => return Err(UiError::bad_request(form_error(e)?)),
    };
    render(&ReceiptPage {
        layout: Layout::new(&form.authed, "Deletion receipt", "privacy-requests"),
        request_id: report.request_id,
        receipt_id: report.receipt_id,
        outcome: report.outcome.clone(),
        completed_at: when(&report.completed_at),
        others: report
            .integrations
            .iter()
            .map(|(i, d)| OtherOutcome {
                integration: i.clone(),
                text: outcome_text(d),
            })
            .collect(),
    })
}
