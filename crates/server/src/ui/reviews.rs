//! Access reviews in the web UI: campaigns with their progress and the "New campaign" form
//! (admins), a campaign's cases with the reviewer's context, a reviewer's queue (keyboard
//! friendly: Keep / Revoke per row, a comment, select-all and bulk decisions; htmx removes a
//! decided row, and a decision someone else made first shows "already decided by X"), the
//! report view with its CSV/JSON/HTML downloads, and remediation of revokes (admins).
//!
//! Thin views over `steward_products::reviews`, the functions the CLI and the API call.
//! Creating and remediating need the admin role (viewers read only). Deciding needs the
//! admin role, when an admin acts for the reviewer whose queue is open, or the reviewer role:
//! a reviewer signs in as the email their cases name, sees only their own queue (asking for
//! another is 403), decides as themselves, and may read the report of a campaign they review
//! (their own cases only); every other page refuses them.

use std::collections::BTreeMap;

use askama::Template;
use axum::Router;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Duration, Utc};
use serde_json::Value;
use steward_products::reviews::{
    self, CampaignView, CreateReview, Remediation, ReportFormat, ReviewError,
};
use steward_store::{Case, InventoryFilter};

use super::{
    Layout, PAGE_SIZE, UiAnyForm, UiAnyUser, UiError, UiForm, UiUser, enc, parse_page, query_pairs,
    render, render_status, when, when_opt,
};
use crate::AppState;
use crate::error::ApiError;

/// Most rows a queue page shows at once; decided rows leave, so the next ones appear on refresh.
const QUEUE_LIMIT: usize = 200;

/// Most cases the report page lists; the downloads hold every case.
const REPORT_LIMIT: usize = 1000;

/// Select-all for the queue, served from `'self'` because the CSP forbids inline script.
const REVIEWS_JS: &str = r#"// Select-all for the review queue (bulk Keep / Revoke).
document.addEventListener('change', function (e) {
  var t = e.target;
  if (t && t.id === 'select-all-cases') {
    document.querySelectorAll('#queue-table input[name="case"]').forEach(function (b) { b.checked = t.checked; });
  }
});
"#;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/static/reviews.js", get(reviews_js))
        .route("/reviews", get(list).post(create))
        .route("/reviews/queue", get(queue))
        .route("/reviews/queue/decide", post(bulk_decide))
        .route("/reviews/cases/{id}/{decision}", post(decide_one))
        .route("/reviews/{id}", get(detail))
        .route("/reviews/{id}/report", get(report))
        .route("/reviews/{id}/report/download", get(download))
        .route("/reviews/{id}/remediate", post(remediate))
}

async fn reviews_js() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        REVIEWS_JS,
    )
        .into_response()
}

impl From<ReviewError> for UiError {
    fn from(e: ReviewError) -> Self {
        UiError::from(ApiError::from(e))
    }
}

fn is_htmx(headers: &HeaderMap) -> bool {
    headers.contains_key("hx-request")
}

// ---------------------------------------------------------------- campaigns

struct CampaignRow {
    id: i64,
    name: String,
    integration: String,
    scope: String,
    reviewer: String,
    started: String,
    due: String,
    overdue: bool,
    recur: String,
    status: String,
    remediation: bool,
    cases: u64,
    kept: u64,
    revoked: u64,
    not_decided: u64,
    /// Decided share, 0–100.
    percent: u64,
}

/// `now` is the server's clock: overdue is judged against it, not the machine's wall clock.
fn campaign_row(
    v: &CampaignView,
    names: &BTreeMap<i64, String>,
    now: DateTime<Utc>,
) -> CampaignRow {
    let decided = v.kept + v.revoked;
    CampaignRow {
        id: v.campaign.id,
        name: v.campaign.name.clone(),
        integration: names
            .get(&v.campaign.integration_id)
            .cloned()
            .unwrap_or_else(|| format!("#{}", v.campaign.integration_id)),
        scope: v.scope.clone(),
        reviewer: v.reviewer.clone(),
        started: when(&v.campaign.started_at),
        due: v.campaign.due_at.format("%Y-%m-%d").to_string(),
        overdue: v.campaign.status == "open" && v.campaign.due_at < now,
        recur: v.recur.clone().unwrap_or_default(),
        status: v.campaign.status.clone(),
        remediation: v.campaign.remediation,
        cases: v.cases,
        kept: v.kept,
        revoked: v.revoked,
        not_decided: v.not_decided,
        percent: (decided * 100).checked_div(v.cases).unwrap_or(100),
    }
}

/// What the "New campaign" form holds (kept on a refusal).
#[derive(Default)]
struct NewForm {
    name: String,
    integration: String,
    scope: String,
    reviewer: String,
    due: String,
    recur: bool,
    remediation: bool,
}

#[derive(Template)]
#[template(path = "reviews.html")]
struct ListPage {
    layout: Layout,
    campaigns: Vec<CampaignRow>,
    integrations: Vec<String>,
    /// Apps to pick from for `apps:ID`: (app id, label).
    apps: Vec<(String, String)>,
    form: NewForm,
    error: Option<String>,
}

async fn names(state: &AppState) -> Result<BTreeMap<i64, String>, UiError> {
    Ok(state
        .store
        .integrations()
        .await?
        .into_iter()
        .map(|i| (i.id, i.name))
        .collect())
}

async fn render_list(
    state: &AppState,
    layout: Layout,
    form: NewForm,
    error: Option<String>,
) -> Result<Response, UiError> {
    let names = names(state).await?;
    let campaigns = reviews::list(&state.store, state.clock.as_ref())
        .await?
        .iter()
        .rev()
        .map(|v| campaign_row(v, &names, state.clock.now()))
        .collect();
    let apps = steward_products::inventory::list(
        &state.store,
        &InventoryFilter {
            integration_id: None,
            triage: None,
        },
    )
    .await?
    .into_iter()
    .filter(|i| i.removed_run.is_none())
    .map(|i| (i.facts.app_id, i.facts.label))
    .collect();
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let page = ListPage {
        layout,
        campaigns,
        integrations: names.into_values().collect(),
        apps,
        form,
        error,
    };
    render_status(status, &page)
}

async fn list(State(state): State<AppState>, UiUser(authed): UiUser) -> Result<Response, UiError> {
    let form = NewForm {
        due: (state.clock.now() + Duration::days(14))
            .format("%Y-%m-%d")
            .to_string(),
        scope: "all".into(),
        ..NewForm::default()
    };
    render_list(
        &state,
        Layout::new(&authed, "Access reviews", "reviews"),
        form,
        None,
    )
    .await
}

/// The "New campaign" form (admin, CSRF): the product validates every field.
async fn create(State(state): State<AppState>, form: UiForm) -> Result<Response, UiError> {
    form.admin()?;
    let values = NewForm {
        name: form.text("name"),
        integration: form.text("integration"),
        scope: form.text("scope"),
        reviewer: form.text("reviewer"),
        due: form.text("due"),
        recur: form.checked("recur"),
        remediation: form.checked("remediation"),
    };
    let mut integration = values.integration.trim().to_string();
    if integration.is_empty() {
        // With a single integration there is nothing to choose.
        let all = state.store.integrations().await?;
        if let [only] = all.as_slice() {
            integration = only.name.clone();
        }
    }
    let req = CreateReview {
        name: values.name.clone(),
        integration,
        scope: values.scope.clone(),
        reviewer: values.reviewer.clone(),
        due: values.due.clone(),
        recur: values.recur.then(|| "quarterly".to_string()),
        remediation: values.remediation,
    };
    let layout = Layout::new(&form.authed, "Access reviews", "reviews");
    match reviews::create(&state.store, &req, state.clock.as_ref()).await {
        Ok(v) => Ok(Redirect::to(&format!("/reviews/{}", v.campaign.id)).into_response()),
        Err(ReviewError::Store(e)) => Err(e.into()),
        Err(e) => render_list(&state, layout, values, Some(e.to_string())).await,
    }
}

// ---------------------------------------------------------------- one campaign

struct CaseRow {
    id: i64,
    edge: String,
    account: String,
    access: String,
    granted: String,
    last_used: String,
    mfa: String,
    department: String,
    reviewers: String,
    decision: String,
    comment: String,
    decided_by: String,
    decided_at: String,
    remediation: String,
}

fn case_row(c: &Case) -> CaseRow {
    let remediation = c
        .remediation
        .as_deref()
        .and_then(|r| serde_json::from_str::<Value>(r).ok())
        .and_then(|v| v.get("status").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_default();
    CaseRow {
        id: c.id,
        edge: match c.edge.as_str() {
            "app" => "app assignment".into(),
            "group" => "group membership".into(),
            "role" => "admin role".into(),
            other => other.to_string(),
        },
        account: c.account_login.clone(),
        access: c.target_label.clone(),
        granted: match (&c.via_group_name, &c.via_group_id) {
            (Some(n), _) => format!("through group {n}"),
            (None, Some(g)) => format!("through group {g}"),
            (None, None) => "direct".into(),
        },
        last_used: when_opt(c.last_used_at.as_ref()),
        mfa: c.mfa.replace('_', " "),
        department: c.department.clone().unwrap_or_default(),
        reviewers: c.reviewer_list().join(", "),
        decision: c.decision.clone().unwrap_or_else(|| "not decided".into()),
        comment: c.comment.clone().unwrap_or_default(),
        decided_by: c.decided_by.clone().unwrap_or_default(),
        decided_at: c.decided_at.as_ref().map(when).unwrap_or_default(),
        remediation,
    }
}

struct RemediationRow {
    case: i64,
    account: String,
    target: String,
    status: String,
    verified: bool,
    detail: String,
}

fn remediation_row(r: &Remediation) -> RemediationRow {
    RemediationRow {
        case: r.case,
        account: r.account.clone(),
        target: r.target.clone(),
        status: r.status.clone(),
        verified: r
            .detail
            .get("verified")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        detail: serde_json::to_string_pretty(&r.detail).unwrap_or_default(),
    }
}

#[derive(Template)]
#[template(path = "review.html")]
struct DetailPage {
    layout: Layout,
    c: CampaignRow,
    evidence_id: String,
    /// Reviewers with undecided cases here, and how many.
    queues: Vec<(String, usize)>,
    filter: String,
    rows: Vec<CaseRow>,
    page: u64,
    pages: u64,
    total: usize,
    revokes: usize,
    remediated: Option<Vec<RemediationRow>>,
    /// The campaign's reminders log (see `steward_products::reminders`), oldest first.
    reminders: Vec<ReminderRow>,
}

/// One reminder sent, as the campaign page shows it.
struct ReminderRow {
    reviewer: String,
    kind: String,
    pending: u64,
    at: String,
    /// Where it went, `recorded` when only recorded, or empty when it failed.
    delivered: String,
    error: String,
}

fn parse_id(raw: &str, what: &str) -> Result<i64, UiError> {
    raw.trim()
        .parse::<i64>()
        .map_err(|_| UiError::bad_request(format!("{what}: {raw:?} is not a number")))
}

async fn render_detail(
    state: &AppState,
    layout: Layout,
    id: i64,
    filter: String,
    page: u64,
    remediated: Option<Vec<RemediationRow>>,
) -> Result<Response, UiError> {
    let (v, cases) = reviews::show(&state.store, id, state.clock.as_ref()).await?;
    let names = names(state).await?;
    let mut queues: BTreeMap<String, usize> = BTreeMap::new();
    for c in cases.iter().filter(|c| c.decision.is_none()) {
        for r in c.reviewer_list() {
            *queues.entry(r.to_string()).or_default() += 1;
        }
    }
    let revokes = cases
        .iter()
        .filter(|c| c.decision.as_deref() == Some("revoke"))
        .count();
    let wanted: Vec<&Case> = cases
        .iter()
        .filter(|c| match filter.as_str() {
            "keep" | "revoke" => c.decision.as_deref() == Some(filter.as_str()),
            "not_decided" => c.decision.is_none(),
            _ => true,
        })
        .collect();
    let total = wanted.len();
    let pages = (total as u64).div_ceil(PAGE_SIZE).max(1);
    let page = page.min(pages);
    let skip = usize::try_from((page - 1) * PAGE_SIZE).unwrap_or(usize::MAX);
    let rows = wanted
        .iter()
        .skip(skip)
        .take(PAGE_SIZE as usize)
        .map(|c| case_row(c))
        .collect();
    let d = DetailPage {
        layout,
        evidence_id: v.campaign.evidence_id.clone().unwrap_or_default(),
        c: campaign_row(&v, &names, state.clock.now()),
        queues: queues.into_iter().collect(),
        filter,
        rows,
        page,
        pages,
        total,
        revokes,
        remediated,
        reminders: state
            .store
            .review_reminders(Some(id))
            .await?
            .into_iter()
            .map(|r| ReminderRow {
                delivered: match (&r.delivered_to, &r.error) {
                    (_, Some(_)) => String::new(),
                    (Some(to), None) => to.clone(),
                    (None, None) => "recorded".into(),
                },
                error: r.error.unwrap_or_default(),
                at: when(&r.at),
                reviewer: r.reviewer,
                kind: r.kind.replace('_', " "),
                pending: r.pending,
            })
            .collect(),
    };
    render(&d)
}

async fn detail(
    State(state): State<AppState>,
    UiUser(authed): UiUser,
    Path(id): Path<String>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, UiError> {
    let id = parse_id(&id, "campaign")?;
    let q = query_pairs(&uri);
    let get = |k: &str| {
        q.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim().to_string())
    };
    let filter = get("decision").unwrap_or_default();
    if !matches!(filter.as_str(), "" | "keep" | "revoke" | "not_decided") {
        return Err(UiError::bad_request(format!(
            "decision: {filter:?} is not a filter; use keep, revoke or not_decided"
        )));
    }
    let page = parse_page(get("page").as_deref())?;
    render_detail(
        &state,
        Layout::new(&authed, "Access review", "reviews"),
        id,
        filter,
        page,
        None,
    )
    .await
}

/// Act on the campaign's revokes (admin, CSRF) and show the outcome per case.
async fn remediate(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: UiForm,
) -> Result<Response, UiError> {
    form.admin()?;
    let id = parse_id(&id, "campaign")?;
    let (v, _) = reviews::show(&state.store, id, state.clock.as_ref()).await?;
    let integration = state
        .store
        .integration(v.campaign.integration_id)
        .await?
        .ok_or_else(|| UiError::not_found("the campaign's integration was removed"))?;
    // Report-only campaigns never touch the source, so they need no connector.
    let connector = if v.campaign.remediation {
        Some(steward_products::integrations::connector(&state.store, &integration).await?)
    } else {
        None
    };
    let done =
        reviews::remediate(&state.store, id, connector.as_deref(), state.clock.as_ref()).await?;
    let rows = done.iter().map(remediation_row).collect();
    render_detail(
        &state,
        Layout::new(&form.authed, "Access review", "reviews"),
        id,
        String::new(),
        1,
        Some(rows),
    )
    .await
}

// ---------------------------------------------------------------- the reviewer's queue

struct QueueRow {
    id: i64,
    campaign_id: i64,
    campaign: String,
    account: String,
    access: String,
    edge: String,
    granted: String,
    last_used: String,
    mfa: String,
    department: String,
}

#[derive(Template)]
#[template(path = "review_queue.html")]
struct QueuePage {
    layout: Layout,
    reviewer: String,
    /// Admins (for the open queue's reviewer) and reviewers (for themselves) decide.
    can_decide: bool,
    rows: Vec<QueueRow>,
    total: usize,
    notices: Vec<String>,
    problems: Vec<String>,
}

#[derive(Template)]
#[template(path = "review_queue_stale.html")]
struct StaleRow {
    id: i64,
    message: String,
}

async fn render_queue(
    state: &AppState,
    layout: Layout,
    reviewer: String,
    notices: Vec<String>,
    problems: Vec<String>,
    status: StatusCode,
) -> Result<Response, UiError> {
    let (cases, names) = if reviewer.is_empty() {
        (Vec::new(), BTreeMap::new())
    } else {
        let names: BTreeMap<i64, String> = reviews::list(&state.store, state.clock.as_ref())
            .await?
            .into_iter()
            .map(|v| (v.campaign.id, v.campaign.name))
            .collect();
        (reviews::queue(&state.store, &reviewer).await?, names)
    };
    let total = cases.len();
    let rows = cases
        .iter()
        .take(QUEUE_LIMIT)
        .map(|c| {
            let r = case_row(c);
            QueueRow {
                id: c.id,
                campaign_id: c.campaign_id,
                campaign: names
                    .get(&c.campaign_id)
                    .cloned()
                    .unwrap_or_else(|| format!("#{}", c.campaign_id)),
                account: r.account,
                access: r.access,
                edge: r.edge,
                granted: r.granted,
                last_used: r.last_used,
                mfa: r.mfa,
                department: r.department,
            }
        })
        .collect();
    let can_decide = layout.is_admin || layout.is_reviewer;
    let page = QueuePage {
        layout,
        reviewer,
        can_decide,
        rows,
        total,
        notices,
        problems,
    };
    render_status(status, &page)
}

async fn queue(
    State(state): State<AppState>,
    UiAnyUser(authed): UiAnyUser,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, UiError> {
    let q = query_pairs(&uri);
    let mut reviewer = q
        .iter()
        .find(|(k, _)| k == "reviewer")
        .map(|(_, v)| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    if authed.is_reviewer() {
        let me = authed.reviewer_email();
        if !reviewer.is_empty() && reviewer != me {
            return Err(UiError::Page {
                status: StatusCode::FORBIDDEN,
                message: format!(
                    "reviewer: you can open only your own queue ({me}); ask an admin to look at {reviewer}'s."
                ),
            });
        }
        reviewer = me;
    } else if !authed.is_staff() {
        return Err(UiError::reviewer_only());
    }
    if !reviewer.is_empty()
        && reviewer != reviews::UNASSIGNED
        && reviews::Reviewer::parse(&reviewer).is_err()
    {
        return Err(UiError::bad_request(format!(
            "reviewer: {reviewer:?} is not an email"
        )));
    }
    let done = q
        .iter()
        .find(|(k, _)| k == "decided")
        .map(|(_, v)| format!("Case {v} decided; it has left every queue."))
        .into_iter()
        .collect();
    render_queue(
        &state,
        Layout::new(&authed, "Review queue", "reviews"),
        reviewer,
        done,
        Vec::new(),
        StatusCode::OK,
    )
    .await
}

/// A refusal a reviewer should read in place (someone else was first, the campaign closed,
/// the case is not theirs); anything else is an error page.
fn refusal_text(e: &ReviewError) -> Option<String> {
    match e {
        ReviewError::AlreadyDecided {
            case,
            by,
            at,
            decision,
        } => Some(format!(
            "Case {case} was already decided by {by} ({decision}, {}); it has left your queue.",
            when(at)
        )),
        ReviewError::NotReviewer { .. } | ReviewError::Closed(_) | ReviewError::NoCase(_) => {
            Some(e.to_string())
        }
        _ => None,
    }
}

/// Keep or revoke one case from the queue (an admin for the queue's reviewer, or a reviewer
/// for themselves; CSRF). htmx gets an empty answer (the row disappears) or a row saying who
/// decided first; a plain form post goes back to the queue.
async fn decide_one(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((id, decision)): Path<(String, String)>,
    UiAnyForm(form): UiAnyForm,
) -> Result<Response, UiError> {
    let reviewer = form.decider(&form.text("reviewer"))?;
    let id = parse_id(&id, "case")?;
    let comment = form
        .get(&format!("comment-{id}"))
        .or(form.get("comment"))
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_string);
    let result = reviews::decide(
        &state.store,
        id,
        &reviewer,
        &decision,
        comment.as_deref(),
        state.clock.as_ref(),
    )
    .await;
    let htmx = is_htmx(&headers);
    match result {
        // No main content, so htmx removes the row; the count beside the heading is
        // updated out of band.
        Ok(_) if htmx => {
            let left = reviews::queue(&state.store, &reviewer).await?.len();
            Ok(Html(format!(
                "<span id=\"queue-count\" hx-swap-oob=\"true\">{left}</span>"
            ))
            .into_response())
        }
        Ok(_) => Ok(Redirect::to(&format!(
            "/reviews/queue?reviewer={}&decided={id}",
            enc(&reviewer)
        ))
        .into_response()),
        Err(e) => match refusal_text(&e) {
            Some(message) if htmx => render(&StaleRow { id, message }),
            Some(message) => {
                let layout = Layout::new(&form.authed, "Review queue", "reviews");
                render_queue(
                    &state,
                    layout,
                    reviewer,
                    Vec::new(),
                    vec![message],
                    StatusCode::CONFLICT,
                )
                .await
            }
            None => Err(e.into()),
        },
    }
}

/// Bulk Keep / Revoke of the ticked cases (an admin, or the reviewer themselves; CSRF); each
/// case is decided on its own, so the ones someone else decided first are reported and the
/// rest go through.
async fn bulk_decide(
    State(state): State<AppState>,
    UiAnyForm(form): UiAnyForm,
) -> Result<Response, UiError> {
    let reviewer = form.decider(&form.text("reviewer"))?;
    let layout = Layout::new(&form.authed, "Review queue", "reviews");
    let decision = form.text("decision");
    if !matches!(decision.as_str(), "keep" | "revoke") {
        let e = format!(
            "decision: {decision:?} is not a decision; use Keep selected or Revoke selected"
        );
        return render_queue(
            &state,
            layout,
            reviewer,
            Vec::new(),
            vec![e],
            StatusCode::BAD_REQUEST,
        )
        .await;
    }
    let ids: Vec<i64> = match form
        .all("case")
        .iter()
        .map(|v| parse_id(v, "case"))
        .collect()
    {
        Ok(ids) => ids,
        Err(_) => {
            return Err(UiError::bad_request(
                "case: every selected case must be a number",
            ));
        }
    };
    if ids.is_empty() {
        let e = "case: no case selected; tick the cases (or Select all) first".to_string();
        return render_queue(
            &state,
            layout,
            reviewer,
            Vec::new(),
            vec![e],
            StatusCode::BAD_REQUEST,
        )
        .await;
    }
    let comment = form
        .get("bulk-comment")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_string);
    let (mut decided, mut problems) = (0usize, Vec::new());
    for id in ids {
        match reviews::decide(
            &state.store,
            id,
            &reviewer,
            &decision,
            comment.as_deref(),
            state.clock.as_ref(),
        )
        .await
        {
            Ok(_) => decided += 1,
            Err(e) => match refusal_text(&e) {
                Some(m) => problems.push(m),
                None => return Err(e.into()),
            },
        }
    }
    let verb = if decision == "keep" {
        "Kept"
    } else {
        "Revoked"
    };
    let notices = vec![format!("{verb} {decided} case(s).")];
    render_queue(&state, layout, reviewer, notices, problems, StatusCode::OK).await
}

// ---------------------------------------------------------------- report

#[derive(Template)]
#[template(path = "review_report.html")]
struct ReportPage {
    layout: Layout,
    c: CampaignRow,
    evidence_id: String,
    rows: Vec<CaseRow>,
    total: usize,
}

/// The report as a page, from the campaign's cases; the downloads (which also add the report
/// to the evidence register) are the product's own renderings. A reviewer sees the report of
/// a campaign they review, listing only their own cases (other reviewers' people are not
/// theirs to see), and no downloads.
async fn report(
    State(state): State<AppState>,
    UiAnyUser(authed): UiAnyUser,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    let id = parse_id(&id, "campaign")?;
    let (v, mut cases) = reviews::show(&state.store, id, state.clock.as_ref()).await?;
    if authed.is_reviewer() {
        let me = authed.reviewer_email();
        cases.retain(|c| c.reviewer_list().contains(&me.as_str()));
        // Not found rather than forbidden: a reviewer cannot tell others' campaigns exist.
        if cases.is_empty() {
            return Err(UiError::not_found(format!(
                "you review no case of campaign {id}"
            )));
        }
    } else if !authed.is_staff() {
        return Err(UiError::reviewer_only());
    }
    let names = names(&state).await?;
    let page = ReportPage {
        layout: Layout::new(&authed, "Access review report", "reviews"),
        evidence_id: v.campaign.evidence_id.clone().unwrap_or_default(),
        c: campaign_row(&v, &names, state.clock.now()),
        rows: cases.iter().take(REPORT_LIMIT).map(case_row).collect(),
        total: cases.len(),
    };
    render(&page)
}

async fn download(
    State(state): State<AppState>,
    UiUser(_): UiUser,
    Path(id): Path<String>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, UiError> {
    let id = parse_id(&id, "campaign")?;
    let q = query_pairs(&uri);
    let raw = q
        .iter()
        .find(|(k, _)| k == "format")
        .map(|(_, v)| v.as_str())
        .unwrap_or("html");
    let format = ReportFormat::parse(raw)?;
    let (body, _) = reviews::report(&state.store, id, format, state.clock.as_ref()).await?;
    let (content_type, ext) = match format {
        ReportFormat::Json => ("application/json", "json"),
        ReportFormat::Csv => ("text/csv; charset=utf-8", "csv"),
        ReportFormat::Html => ("text/html; charset=utf-8", "html"),
    };
    let disposition = format!("attachment; filename=\"access-review-{id}.{ext}\"");
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}
