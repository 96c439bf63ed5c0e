//! Identity-security endpoints: findings (and their thresholds) and access reviews. Thin
//! handlers over `steward_products::findings` and `::reviews`, the functions the CLI calls.
//!
//! Reviewers (role `reviewer`) reach only the review queue and decisions, and only their own:
//! the queue is theirs whatever `reviewer` asks for, and they decide as themselves.

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{Value, json};
use steward_products::findings::{self, FindingsError};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::auth::{Admin, AnyRole, Authed};
use crate::error::{ApiError, ApiJson, ApiQuery};

impl From<FindingsError> for ApiError {
    fn from(e: FindingsError) -> Self {
        match e {
            FindingsError::Store(s) => s.into(),
            FindingsError::InventoryNotUpdated => ApiError::internal(e),
            FindingsError::UnknownKind { .. } => ApiError::invalid("kind", e.to_string()),
            FindingsError::UnknownThreshold { ref key }
            | FindingsError::BadThreshold { ref key, .. } => {
                let field = key.clone();
                ApiError::invalid(&field, e.to_string())
            }
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct FindingsQuery {
    /// Only this kind (`admin_without_mfa`, `super_admin_concentration`, `leaver_with_access`,
    /// `dormant_with_access`, `unused_app`, `admin_role_via_group`, `leaver_account`, `orphan_account`).
    pub kind: Option<String>,
    /// `true`: include resolved findings (history).
    pub all: Option<bool>,
}

/// Open findings (or all with `all=true`), each kind's evaluation state (or why it was not
/// evaluated), and what the last sync added and resolved.
#[utoipa::path(get, path = "/api/v1/findings", tag = "findings", params(FindingsQuery),
    responses((status = 200, description = "findings"), (status = 400, description = "unknown kind")))]
pub async fn list_findings(
    State(state): State<AppState>,
    _: Authed,
    ApiQuery(q): ApiQuery<FindingsQuery>,
) -> Result<Json<Value>, ApiError> {
    let items = findings::list(&state.store, q.kind.as_deref(), q.all.unwrap_or(false)).await?;
    let evaluations = findings::evaluations(&state.store).await?;
    let (new, resolved) = findings::changes(&state.store).await?;
    let new_ids: BTreeSet<i64> = new.iter().map(|f| f.id).collect();
    let wanted = |kind: &str| q.kind.as_deref().is_none_or(|k| k == kind);
    let view: Vec<Value> = items
        .iter()
        .map(|f| {
            let mut v = serde_json::to_value(f).unwrap_or_default();
            v["new"] = json!(new_ids.contains(&f.id));
            v
        })
        .collect();
    Ok(Json(json!({
        "findings": view,
        "evaluations": evaluations.iter().filter(|e| wanted(&e.kind)).collect::<Vec<_>>(),
        "new_at_last_sync": new.iter().filter(|f| wanted(&f.kind)).map(|f| f.id).collect::<Vec<_>>(),
        "resolved_at_last_sync": resolved.iter().filter(|f| wanted(&f.kind)).collect::<Vec<_>>(),
    })))
}

/// One finding with the records behind it.
#[utoipa::path(get, path = "/api/v1/findings/{id}", tag = "findings", params(("id" = i64, Path)),
    responses((status = 200, description = "the finding"), (status = 404, description = "no such finding")))]
pub async fn get_finding(
    State(state): State<AppState>,
    _: Authed,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    let f = state
        .store
        .finding(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("finding {id} not found")))?;
    Ok(Json(serde_json::to_value(f).map_err(ApiError::internal)?))
}

/// The thresholds findings are computed with.
#[utoipa::path(get, path = "/api/v1/findings/config", tag = "findings", responses((status = 200, description = "thresholds")))]
pub async fn get_findings_config(
    State(state): State<AppState>,
    _: Authed,
) -> Result<Json<Value>, ApiError> {
    let t = findings::thresholds(&state.store).await?;
    Ok(Json(serde_json::to_value(t).map_err(ApiError::internal)?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FindingsConfig {
    pub super_admin_max: Option<i64>,
    pub inactive_days: Option<i64>,
    pub unused_app_days: Option<i64>,
}

/// Change thresholds (admin); they apply from the next sync.
#[utoipa::path(put, path = "/api/v1/findings/config", tag = "findings", request_body = FindingsConfig,
    responses((status = 200, description = "thresholds"), (status = 400, description = "out of range")))]
pub async fn put_findings_config(
    State(state): State<AppState>,
    _: Admin,
    ApiJson(body): ApiJson<FindingsConfig>,
) -> Result<Json<Value>, ApiError> {
    let mut t = findings::thresholds(&state.store).await?;
    for (key, value) in [
        ("super_admin_max", body.super_admin_max),
        ("inactive_days", body.inactive_days),
        ("unused_app_days", body.unused_app_days),
    ] {
        if let Some(v) = value {
            t = findings::set_threshold(&state.store, key, v, state.clock.as_ref()).await?;
        }
    }
    Ok(Json(serde_json::to_value(t).map_err(ApiError::internal)?))
}

// ---------------------------------------------------------------- access reviews

use steward_products::reviews::{self, CreateReview, ReportFormat, ReviewError};

impl From<ReviewError> for ApiError {
    fn from(e: ReviewError) -> Self {
        let msg = e.to_string();
        match e {
            ReviewError::Store(s) => s.into(),
            ReviewError::Connector(_) => ApiError::internal(msg),
            ReviewError::BadScope(_) => ApiError::invalid("scope", msg),
            ReviewError::BadReviewer(_) => ApiError::invalid("reviewer", msg),
            ReviewError::BadDue(_) => ApiError::invalid("due", msg),
            ReviewError::BadRecur(_) => ApiError::invalid("recur", msg),
            ReviewError::EmptyName => ApiError::invalid("name", msg),
            ReviewError::NoIntegration(_) => ApiError::invalid("integration", msg),
            ReviewError::NoSnapshot(_) => ApiError::conflict(msg),
            ReviewError::NoCampaign(_) | ReviewError::NoCase(_) => ApiError::not_found(msg),
            ReviewError::AlreadyDecided { .. } | ReviewError::Closed(_) => ApiError::conflict(msg),
            ReviewError::NotReviewer { .. } => ApiError::forbidden(msg),
            ReviewError::BadDecision(_) => ApiError::invalid("decision", msg),
            ReviewError::BadFormat(_) => ApiError::invalid("format", msg),
        }
    }
}

/// Campaigns with their progress.
#[utoipa::path(get, path = "/api/v1/reviews", tag = "reviews", responses((status = 200, description = "campaigns")))]
pub async fn list_reviews(
    State(state): State<AppState>,
    _: Authed,
) -> Result<Json<Value>, ApiError> {
    let all = reviews::list(&state.store, state.clock.as_ref()).await?;
    Ok(Json(serde_json::to_value(all).map_err(ApiError::internal)?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateReviewBody {
    pub name: String,
    /// Integration name.
    pub integration: String,
    /// `apps:ID,…`, `groups:ID,…`, `admins` or `all`.
    pub scope: String,
    /// `owner`, `manager` or emails (comma-separated).
    pub reviewer: String,
    /// `YYYY-MM-DD`.
    pub due: String,
    /// `quarterly`.
    pub recur: Option<String>,
    #[serde(default)]
    pub remediation: bool,
}

/// Create a campaign (admin) from the integration's current snapshot.
#[utoipa::path(post, path = "/api/v1/reviews", tag = "reviews", request_body = CreateReviewBody,
    responses((status = 201, description = "the campaign"), (status = 400, description = "bad input")))]
pub async fn create_review(
    State(state): State<AppState>,
    _: Admin,
    ApiJson(b): ApiJson<CreateReviewBody>,
) -> Result<(axum::http::StatusCode, Json<Value>), ApiError> {
    let req = CreateReview {
        name: b.name,
        integration: b.integration,
        scope: b.scope,
        reviewer: b.reviewer,
        due: b.due,
        recur: b.recur,
        remediation: b.remediation,
    };
    let v = reviews::create(&state.store, &req, state.clock.as_ref()).await?;
    Ok((
        axum::http::StatusCode::CREATED,
        Json(serde_json::to_value(v).map_err(ApiError::internal)?),
    ))
}

/// One campaign with its cases.
#[utoipa::path(get, path = "/api/v1/reviews/{id}", tag = "reviews", params(("id" = i64, Path)),
    responses((status = 200, description = "the campaign"), (status = 404, description = "no such campaign")))]
pub async fn get_review(
    State(state): State<AppState>,
    _: Authed,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    let (v, cases) = reviews::show(&state.store, id, state.clock.as_ref()).await?;
    Ok(Json(json!({"campaign": v, "cases": cases})))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct QueueQuery {
    /// Reviewer email (default: the logged-in user's name).
    pub reviewer: Option<String>,
}

/// A reviewer's undecided cases; a user with the reviewer role sees only their own.
#[utoipa::path(get, path = "/api/v1/reviews/queue", tag = "reviews", params(QueueQuery),
    responses((status = 200, description = "cases"), (status = 403, description = "a reviewer asked for another reviewer's queue")))]
pub async fn review_queue(
    State(state): State<AppState>,
    AnyRole(who): AnyRole,
    ApiQuery(q): ApiQuery<QueueQuery>,
) -> Result<Json<Value>, ApiError> {
    let reviewer = match q.reviewer {
        Some(r) if who.is_reviewer() && !r.trim().eq_ignore_ascii_case(&who.reviewer_email()) => {
            return Err(ApiError::forbidden(format!(
                "reviewers see only their own queue; leave out reviewer or use {}",
                who.reviewer_email()
            ))
            .with_field("reviewer"));
        }
        Some(r) => r,
        None => who.user.name.clone(),
    };
    let cases = reviews::queue(&state.store, &reviewer).await?;
    Ok(Json(json!({"reviewer": reviewer, "cases": cases})))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    /// `keep` or `revoke`.
    pub decision: String,
    pub comment: Option<String>,
    /// Decide as this reviewer (admins only; default: the logged-in user's name).
    /// Viewers read only and cannot decide.
    pub reviewer: Option<String>,
}

/// Decide a case (admins for anyone, reviewers as themselves); 409 when another reviewer
/// decided it first.
#[utoipa::path(post, path = "/api/v1/review-cases/{id}/decision", tag = "reviews", params(("id" = i64, Path)), request_body = DecisionBody,
    responses((status = 200, description = "the case"), (status = 403, description = "not this user's case to decide"),
              (status = 409, description = "already decided")))]
pub async fn decide_case(
    State(state): State<AppState>,
    AnyRole(who): AnyRole,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<DecisionBody>,
) -> Result<Json<Value>, ApiError> {
    if !who.is_admin() && !who.is_reviewer() {
        return Err(ApiError::forbidden(
            "deciding needs the admin or reviewer role; viewers can only read",
        ));
    }
    let reviewer = match b.reviewer {
        Some(r) if who.is_admin() || r.trim().eq_ignore_ascii_case(&who.reviewer_email()) => r,
        Some(_) => {
            return Err(
                ApiError::forbidden("only admins may decide as another reviewer")
                    .with_field("reviewer"),
            );
        }
        None => who.user.name.clone(),
    };
    let c = reviews::decide(
        &state.store,
        id,
        &reviewer,
        &b.decision,
        b.comment.as_deref(),
        state.clock.as_ref(),
    )
    .await?;
    Ok(Json(serde_json::to_value(c).map_err(ApiError::internal)?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// `json` (default), `csv` or `html`.
    pub format: Option<String>,
}

/// The campaign report; each call adds it to the evidence register.
#[utoipa::path(get, path = "/api/v1/reviews/{id}/report", tag = "reviews", params(("id" = i64, Path), ReportQuery),
    responses((status = 200, description = "the report"), (status = 400, description = "unsupported format")))]
pub async fn review_report(
    State(state): State<AppState>,
    _: Authed,
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse as _;
    let format = ReportFormat::parse(q.format.as_deref().unwrap_or("json"))?;
    let (body, _) = reviews::report(&state.store, id, format, state.clock.as_ref()).await?;
    let content_type = match format {
        ReportFormat::Json => "application/json",
        ReportFormat::Csv => "text/csv; charset=utf-8",
        ReportFormat::Html => "text/html; charset=utf-8",
    };
    Ok(([(axum::http::header::CONTENT_TYPE, content_type)], body).into_response())
}

/// Act on revoke decisions (admin): removes access when the campaign has remediation enabled
/// and the token can write; otherwise returns the remediation list.
#[utoipa::path(post, path = "/api/v1/reviews/{id}/remediate", tag = "reviews", params(("id" = i64, Path)),
    responses((status = 200, description = "what was done or proposed")))]
pub async fn remediate_review(
    State(state): State<AppState>,
    _: Admin,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    let (v, _) = reviews::show(&state.store, id, state.clock.as_ref()).await?;
    let integration = state
        .store
        .integration(v.campaign.integration_id)
        .await?
        .ok_or_else(|| ApiError::not_found("the campaign's integration was removed"))?;
    let connector = if v.campaign.remediation {
        Some(steward_products::integrations::connector(&state.store, &integration).await?)
    } else {
        None
    };
    let done =
        reviews::remediate(&state.store, id, connector.as_deref(), state.clock.as_ref()).await?;
    Ok(Json(
        serde_json::to_value(done).map_err(ApiError::internal)?,
    ))
}
