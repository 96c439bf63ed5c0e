//! Identity-security findings: open findings grouped by kind with their evidence, what the
//! last sync added and resolved, each kind's evaluation state (or why it was not evaluated),
//! and the thresholds (admin-editable). Thin views over `steward_products::findings`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use askama::Template;
use axum::Router;
use axum::extract::{OriginalUri, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use steward_products::findings::{self, FindingsError, Kind, THRESHOLD_KEYS};
use steward_store::Finding;

use super::{Layout, UiError, UiForm, UiUser, enc, query_pairs, render, when};
use crate::AppState;
use crate::error::ApiError;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/findings", get(page))
        .route("/findings/thresholds", post(save_thresholds))
}

impl From<FindingsError> for UiError {
    fn from(e: FindingsError) -> Self {
        UiError::from(ApiError::from(e))
    }
}

/// The title of a stored kind name (an unknown one, e.g. from a newer version, as is).
fn kind_title(kind: &str) -> String {
    Kind::parse(kind).map_or_else(|| kind.to_string(), |k| k.title().to_string())
}

struct Row {
    id: i64,
    kind: String,
    integration: String,
    subject: String,
    severity: String,
    detail: String,
    first_seen: String,
    resolved: String,
    is_new: bool,
    /// The records behind the finding, pretty JSON.
    evidence: String,
}

fn row(f: &Finding, names: &HashMap<i64, String>, new_ids: &BTreeSet<i64>) -> Row {
    Row {
        id: f.id,
        kind: f.kind.clone(),
        integration: names
            .get(&f.integration_id)
            .cloned()
            .unwrap_or_else(|| format!("#{}", f.integration_id)),
        subject: f.subject.clone(),
        severity: f.severity.clone(),
        detail: f.detail.clone(),
        first_seen: when(&f.first_seen_at),
        resolved: f.resolved_at.as_ref().map(when).unwrap_or_default(),
        is_new: new_ids.contains(&f.id),
        evidence: serde_json::to_string_pretty(&f.evidence).unwrap_or_default(),
    }
}

/// One kind's open findings.
struct Group {
    kind: String,
    title: String,
    rows: Vec<Row>,
}

struct Evaluation {
    integration: String,
    kind: String,
    title: String,
    evaluated: bool,
    reason: String,
    open: u64,
    at: String,
}

struct KindOption {
    value: String,
    title: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "findings.html")]
struct Page {
    layout: Layout,
    kinds: Vec<KindOption>,
    filter: String,
    total: usize,
    counts: Vec<(String, String, u64)>,
    groups: Vec<Group>,
    new: Vec<Row>,
    resolved: Vec<Row>,
    evaluations: Vec<Evaluation>,
    thresholds: Vec<(&'static str, &'static str, i64)>,
    saved: bool,
    any_integration: bool,
}

/// Human labels of the threshold keys (same order as [`THRESHOLD_KEYS`]).
fn threshold_label(key: &str) -> &'static str {
    match key {
        "super_admin_max" => "Most Super Administrators allowed",
        "inactive_days" => "Days without sign-in before an account is dormant",
        _ => "Days without SSO use before an app is unused",
    }
}

async fn page(
    State(state): State<AppState>,
    UiUser(authed): UiUser,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, UiError> {
    let q = query_pairs(&uri);
    let get = |k: &str| {
        q.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let filter = get("kind");
    let saved = get("saved").is_some();
    let integrations = state.store.integrations().await?;
    let names: HashMap<i64, String> = integrations
        .iter()
        .map(|i| (i.id, i.name.clone()))
        .collect();
    // The product validates the kind (a 400 naming `kind` for an unknown one).
    let open = findings::list(&state.store, filter.as_deref(), false).await?;
    let (new, resolved) = findings::changes(&state.store).await?;
    let evaluations = findings::evaluations(&state.store).await?;
    let limits = findings::thresholds(&state.store).await?;
    let wanted = |kind: &str| filter.as_deref().is_none_or(|k| k == kind);
    let new_ids: BTreeSet<i64> = new.iter().map(|f| f.id).collect();

    let mut by_kind: BTreeMap<String, Vec<Row>> = BTreeMap::new();
    for f in &open {
        by_kind
            .entry(f.kind.clone())
            .or_default()
            .push(row(f, &names, &new_ids));
    }
    // Kinds in the product's order (severity first), unknown ones after.
    let order = |k: &str| {
        Kind::parse(k)
            .and_then(|k| Kind::ALL.iter().position(|x| *x == k))
            .unwrap_or(usize::MAX)
    };
    let mut groups: Vec<Group> = by_kind
        .into_iter()
        .map(|(kind, rows)| Group {
            title: kind_title(&kind),
            kind,
            rows,
        })
        .collect();
    groups.sort_by_key(|g| order(&g.kind));
    let counts = groups
        .iter()
        .map(|g| (g.kind.clone(), g.title.clone(), g.rows.len() as u64))
        .collect();

    let page = Page {
        layout: Layout::new(&authed, "Findings", "findings"),
        kinds: Kind::ALL
            .iter()
            .map(|k| KindOption {
                value: k.as_str().to_string(),
                title: k.title().to_string(),
                selected: filter.as_deref() == Some(k.as_str()),
            })
            .collect(),
        filter: filter.clone().unwrap_or_default(),
        total: open.len(),
        counts,
        groups,
        new: new
            .iter()
            .filter(|f| wanted(&f.kind))
            .map(|f| row(f, &names, &new_ids))
            .collect(),
        resolved: resolved
            .iter()
            .filter(|f| wanted(&f.kind))
            .map(|f| row(f, &names, &new_ids))
            .collect(),
        evaluations: evaluations
            .iter()
            .filter(|e| wanted(&e.kind))
            .map(|e| Evaluation {
                integration: names
                    .get(&e.integration_id)
                    .cloned()
                    .unwrap_or_else(|| format!("#{}", e.integration_id)),
                kind: e.kind.clone(),
                title: kind_title(&e.kind),
                evaluated: e.evaluated,
                reason: e.reason.clone().unwrap_or_default(),
                open: e.open_count,
                at: when(&e.evaluated_at),
            })
            .collect(),
        thresholds: THRESHOLD_KEYS
            .iter()
            .map(|k| {
                let v = match *k {
                    "super_admin_max" => limits.super_admin_max,
                    "inactive_days" => limits.inactive_days,
                    _ => limits.unused_app_days,
                };
                (*k, threshold_label(k), v)
            })
            .collect(),
        saved,
        any_integration: !integrations.is_empty(),
    };
    render(&page)
}

/// Save the thresholds form (admin, CSRF); they apply from the next sync.
async fn save_thresholds(State(state): State<AppState>, form: UiForm) -> Result<Response, UiError> {
    form.admin()?;
    // Parse every field first; the product checks the ranges. If one is refused, the ones
    // already set are put back, so a bad form leaves every value as it was.
    let mut values = Vec::new();
    for key in THRESHOLD_KEYS {
        let Some(raw) = form.get(key).map(str::trim).filter(|v| !v.is_empty()) else {
            continue;
        };
        let v: i64 = raw.parse().map_err(|_| {
            UiError::bad_request(format!(
                "{key}: {raw:?} is not a whole number; enter a number such as 90 (field: {key})"
            ))
        })?;
        values.push((key, v));
    }
    let before = findings::thresholds(&state.store).await?;
    let mut done = Vec::new();
    for (key, v) in values {
        if let Err(e) = findings::set_threshold(&state.store, key, v, state.clock.as_ref()).await {
            for k in done {
                let old = match k {
                    "super_admin_max" => before.super_admin_max,
                    "inactive_days" => before.inactive_days,
                    _ => before.unused_app_days,
                };
                findings::set_threshold(&state.store, k, old, state.clock.as_ref()).await?;
            }
            return Err(e.into());
        }
        done.push(key);
    }
    let back = match form.get("kind").filter(|k| !k.is_empty()) {
        Some(k) => format!("/findings?saved=1&kind={}", enc(k)),
        None => "/findings?saved=1".to_string(),
    };
    Ok(Redirect::to(&back).into_response())
}
