//! The JSON API under `/api/v1`: thin handlers over `steward_products` (the functions the
//! CLI calls), so the server and the CLI cannot drift apart.
//!
//! Reads need a session (any role); writes need the CSRF token too, and changing
//! integrations, starting syncs, triage and deletions need the `admin` role. No response
//! ever carries a credential: tokens are write-only (replace, never read).

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::{Value, json};
use steward_connectors::DomainOptions;
use steward_model::{IntegrationKind, Resource};
use steward_products::{evidence, integrations, inventory, requests, sync};
use steward_store::{IdentityQuery, InventoryFilter, Triage};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::auth::{self, Admin, Authed};
use crate::error::{ApiError, ApiJson, ApiQuery};
use crate::jobs::JobProgress;

/// Every route (method, path under `/api/v1`): the OpenAPI test checks each is documented.
pub const ROUTES: &[(&str, &str)] = &[
    ("post", "/auth/login"),
    ("post", "/auth/logout"),
    ("get", "/auth/me"),
    ("get", "/integrations"),
    ("post", "/integrations"),
    ("get", "/integrations/{name}"),
    ("delete", "/integrations/{name}"),
    ("put", "/integrations/{name}/token"),
    ("post", "/integrations/{name}/test"),
    ("get", "/integrations/{name}/capabilities"),
    ("post", "/integrations/{name}/sync"),
    ("get", "/integrations/{name}/runs"),
    ("get", "/sync-runs/{id}"),
    ("get", "/inventory"),
    ("get", "/inventory/changes"),
    ("post", "/inventory/accept"),
    ("post", "/inventory/ignore"),
    ("get", "/inventory/{id}"),
    ("post", "/privacy-requests/access"),
    ("post", "/privacy-requests/deletion"),
    ("get", "/privacy-requests"),
    ("get", "/evidence"),
    ("get", "/evidence/verify"),
    ("get", "/evidence/export"),
    ("get", "/evidence/{id}"),
    ("get", "/findings"),
    ("get", "/findings/config"),
    ("put", "/findings/config"),
    ("get", "/findings/{id}"),
    ("get", "/reviews"),
    ("post", "/reviews"),
    ("get", "/reviews/queue"),
    ("get", "/reviews/{id}"),
    ("get", "/reviews/{id}/report"),
    ("post", "/reviews/{id}/remediate"),
    ("post", "/review-cases/{id}/decision"),
    ("get", "/identity/users"),
    ("get", "/identity/groups"),
    ("get", "/identity/apps"),
    ("get", "/identity/admins"),
    ("get", "/graph/orphans"),
    ("get", "/graph/leavers"),
    ("get", "/graph/seats"),
    ("get", "/graph/people/{email}"),
];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/auth/login", post(auth::login))
        .route("/auth/logout", post(auth::logout))
        .route("/auth/me", get(auth::me))
        .route(
            "/integrations",
            get(list_integrations).post(create_integration),
        )
        .route(
            "/integrations/{name}",
            get(get_integration).delete(delete_integration),
        )
        .route("/integrations/{name}/token", put(replace_token))
        .route("/integrations/{name}/test", post(test_integration))
        .route("/integrations/{name}/capabilities", get(capabilities))
        .route("/integrations/{name}/sync", post(start_sync))
        .route("/integrations/{name}/runs", get(list_runs))
        .route("/sync-runs/{id}", get(get_sync_run))
        .route("/inventory", get(list_inventory))
        .route("/inventory/changes", get(inventory_changes))
        .route("/inventory/accept", post(accept_inventory))
        .route("/inventory/ignore", post(ignore_inventory))
        .route("/inventory/{id}", get(get_inventory_item))
        .route("/privacy-requests/access", post(access_request))
        .route("/privacy-requests/deletion", post(deletion_request))
        .route("/privacy-requests", get(list_privacy_requests))
        .route("/evidence", get(list_evidence))
        .route("/evidence/verify", get(verify_evidence))
        .route("/evidence/export", get(export_evidence))
        .route("/evidence/{id}", get(get_evidence))
        .route("/findings", get(crate::security::list_findings))
        .route(
            "/findings/config",
            get(crate::security::get_findings_config).put(crate::security::put_findings_config),
        )
        .route("/findings/{id}", get(crate::security::get_finding))
        .route(
            "/reviews",
            get(crate::security::list_reviews).post(crate::security::create_review),
        )
        .route("/reviews/queue", get(crate::security::review_queue))
        .route("/reviews/{id}", get(crate::security::get_review))
        .route("/reviews/{id}/report", get(crate::security::review_report))
        .route(
            "/reviews/{id}/remediate",
            post(crate::security::remediate_review),
        )
        .route(
            "/review-cases/{id}/decision",
            post(crate::security::decide_case),
        )
        .route("/identity/users", get(identity_users))
        .route("/identity/groups", get(identity_groups))
        .route("/identity/apps", get(identity_apps))
        .route("/identity/admins", get(identity_admins))
        .route("/graph/orphans", get(graph_orphans))
        .route("/graph/leavers", get(graph_leavers))
        .route("/graph/seats", get(graph_seats))
        .route("/graph/people/{email}", get(graph_person))
}

const PAGE_SIZE: u64 = 50;

// ---------------------------------------------------------------- integrations

/// Domain options of a new integration.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IntegrationOptions {
    /// The org uses a customised domain (any https host).
    #[serde(default)]
    pub custom_domain: bool,
    /// `http://` on loopback (the simulator); only when the server allows it.
    #[serde(default)]
    pub allow_insecure_loopback: bool,
}

/// A new integration: the "API Key" connect form.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateIntegration {
    /// `okta` or `onetrust`.
    pub kind: String,
    pub name: String,
    /// e.g. `acme.okta.com`, `acme.my.onetrust.com`.
    pub domain: String,
    /// The API token (Okta) or API key (OneTrust); stored sealed and never returned.
    #[serde(default)]
    pub token: String,
    /// OneTrust OAuth client id (instead of an API key, with `client_secret`).
    #[serde(default)]
    pub client_id: Option<String>,
    /// OneTrust OAuth client secret; stored sealed and never returned.
    #[serde(default)]
    pub client_secret: Option<String>,
    #[serde(default)]
    pub options: IntegrationOptions,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ReplaceToken {
    pub token: String,
}

/// An integration as the API shows it (never with its credential).
fn integration_json(i: &steward_store::Integration) -> Value {
    json!({
        "id": i.id,
        "name": i.name,
        "kind": i.kind.as_str(),
        "domain": i.base_url,
        "settings": i.settings,
        "created_at": i.created_at,
        "current_run_id": i.current_run_id,
        "last_test": i.last_test,
        "last_test_at": i.last_test_at,
        "last_sync_status": i.last_sync_status,
        "last_sync_at": i.last_sync_at,
        "connected": i.last_test.as_ref().is_some_and(|t| t.get("fatal").is_some_and(Value::is_null)),
    })
}

/// Every integration.
#[utoipa::path(get, path = "/api/v1/integrations", tag = "integrations", responses((status = 200, description = "integrations by name")))]
pub async fn list_integrations(
    State(state): State<AppState>,
    _: Authed,
) -> Result<Json<Value>, ApiError> {
    let all = state.store.integrations().await?;
    Ok(Json(Value::Array(
        all.iter().map(integration_json).collect(),
    )))
}

/// Add an integration (admin): validated domain, token sealed at rest.
#[utoipa::path(post, path = "/api/v1/integrations", tag = "integrations", request_body = CreateIntegration,
    responses((status = 201, description = "created"), (status = 400, description = "bad input, `field` names it"), (status = 409, description = "name taken")))]
pub async fn create_integration(
    State(state): State<AppState>,
    _: Admin,
    ApiJson(body): ApiJson<CreateIntegration>,
) -> Result<Response, ApiError> {
    let kind = match IntegrationKind::parse(&body.kind) {
        Some(k) => k,
        None => {
            return Err(ApiError::invalid(
                "kind",
                format!(
                    "unsupported kind {:?}; use \"okta\" or \"onetrust\"",
                    body.kind
                ),
            ));
        }
    };
    let client_credentials = match (kind, &body.client_id, &body.client_secret) {
        (IntegrationKind::Onetrust, Some(id), Some(secret)) => Some(
            integrations::onetrust_client_credentials(id, &SecretString::from(secret.clone()))?,
        ),
        (_, Some(_), None) => {
            return Err(ApiError::invalid(
                "client_secret",
                "client_id needs client_secret (or give an API key as token)",
            ));
        }
        (_, None, Some(_)) => {
            return Err(ApiError::invalid(
                "client_id",
                "client_secret needs client_id (or give an API key as token)",
            ));
        }
        (IntegrationKind::Okta, Some(_), Some(_)) => {
            return Err(ApiError::invalid(
                "client_id",
                "Okta integrations use an API token; give it as token",
            ));
        }
        _ => None,
    };
    if body.options.allow_insecure_loopback && !state.config.allow_insecure_loopback {
        return Err(ApiError::invalid(
            "options.allow_insecure_loopback",
            "this server does not allow http:// integrations; use the https domain of the org",
        ));
    }
    let request = integrations::AddIntegration {
        name: body.name,
        kind,
        domain: body.domain,
        options: DomainOptions {
            custom_domain: body.options.custom_domain,
            allow_insecure_loopback: body.options.allow_insecure_loopback,
        },
    };
    let token = client_credentials.unwrap_or_else(|| SecretString::from(body.token));
    let created = integrations::add(&state.store, &request, &token, state.clock.as_ref()).await?;
    Ok((StatusCode::CREATED, Json(integration_json(&created))).into_response())
}

/// One integration.
#[utoipa::path(get, path = "/api/v1/integrations/{name}", tag = "integrations", params(("name" = String, Path)),
    responses((status = 200, description = "the integration"), (status = 404, description = "no such integration")))]
pub async fn get_integration(
    State(state): State<AppState>,
    _: Authed,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let i = integrations::by_name(&state.store, &name).await?;
    Ok(Json(integration_json(&i)))
}

/// Remove an integration and all its data (admin).
#[utoipa::path(delete, path = "/api/v1/integrations/{name}", tag = "integrations", params(("name" = String, Path)),
    responses((status = 204), (status = 404, description = "no such integration")))]
pub async fn delete_integration(
    State(state): State<AppState>,
    _: Admin,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    let i = integrations::by_name(&state.store, &name).await?;
    state.store.remove_integration(i.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Replace the integration's token (admin). Tokens are never returned, only replaced.
#[utoipa::path(put, path = "/api/v1/integrations/{name}/token", tag = "integrations", params(("name" = String, Path)),
    request_body = ReplaceToken, responses((status = 204), (status = 400, description = "empty token")))]
pub async fn replace_token(
    State(state): State<AppState>,
    _: Admin,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<ReplaceToken>,
) -> Result<StatusCode, ApiError> {
    if body.token.trim().is_empty() {
        return Err(ApiError::invalid(
            "token",
            "the token is empty; paste the new API token",
        ));
    }
    let i = integrations::by_name(&state.store, &name).await?;
    state
        .store
        .replace_credential(i.id, &SecretString::from(body.token), state.clock.now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Run the connection test (admin): one ✓/✗ row per permission.
#[utoipa::path(post, path = "/api/v1/integrations/{name}/test", tag = "integrations", params(("name" = String, Path)),
    responses((status = 200, description = "the connection report")))]
pub async fn test_integration(
    State(state): State<AppState>,
    _: Admin,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let i = integrations::by_name(&state.store, &name).await?;
    let report = integrations::test(&state.store, &i, state.clock.as_ref()).await?;
    Ok(Json(
        serde_json::to_value(&report).map_err(ApiError::internal)?,
    ))
}

/// The connector's capability table.
#[utoipa::path(get, path = "/api/v1/integrations/{name}/capabilities", tag = "integrations", params(("name" = String, Path)),
    responses((status = 200, description = "capabilities")))]
pub async fn capabilities(
    State(state): State<AppState>,
    _: Authed,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let i = integrations::by_name(&state.store, &name).await?;
    let connector = integrations::connector(&state.store, &i).await?;
    Ok(Json(
        serde_json::to_value(connector.capabilities()).map_err(ApiError::internal)?,
    ))
}

/// Start a sync in the background (admin); poll `/sync-runs/{id}`. 409 while one runs.
#[utoipa::path(post, path = "/api/v1/integrations/{name}/sync", tag = "sync", params(("name" = String, Path)),
    responses((status = 202, description = "started; body is the sync job"), (status = 409, description = "a sync of this integration is running")))]
pub async fn start_sync(
    State(state): State<AppState>,
    _: Admin,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let job = launch_sync(&state, &name).await?;
    Ok((StatusCode::ACCEPTED, Json(job)).into_response())
}

/// Start a background sync of the integration and return its job (the API's and the web
/// UI's "Sync now"). 409 while one of this integration runs here.
pub async fn launch_sync(state: &AppState, name: &str) -> Result<crate::jobs::SyncJob, ApiError> {
    let integration = integrations::by_name(&state.store, name).await?;
    if integration.last_sync_status.as_deref() == Some("running") {
        // Another process may be syncing; the orchestrator decides (stale runs are taken
        // over), so this is only checked for our own jobs below.
        tracing::debug!(integration = %name, "Integration reports a running sync.");
    }
    let connector = integrations::connector(&state.store, &integration).await?;
    let Some(id) = state
        .jobs
        .start(integration.id, &integration.name, state.clock.now())
    else {
        return Err(ApiError::conflict(format!(
            "a sync of {name:?} is already running"
        )));
    };
    let job_state = state.clone();
    tokio::spawn(async move {
        let s = job_state;
        let progress = JobProgress {
            jobs: Arc::clone(&s.jobs),
            id,
        };
        let outcome = sync::run(
            &s.store,
            &integration,
            connector.as_ref(),
            s.clock.as_ref(),
            &progress,
            s.config.sync,
        )
        .await;
        let (run_id, result) = match outcome {
            Ok(o) => (Some(o.run_id), Ok(o.records)),
            Err(sync::SyncError::Failed { run_id, reason }) => (Some(run_id), Err(reason)),
            Err(sync::SyncError::AfterPublish {
                run_id,
                product,
                reason,
            }) => (
                Some(run_id),
                Err(format!("published, but {product} failed: {reason}")),
            ),
            Err(e) => (None, Err(e.to_string())),
        };
        s.jobs
            .finish(id, integration.id, s.clock.now(), run_id, result);
    });
    state
        .jobs
        .get(id)
        .ok_or_else(|| ApiError::internal("a job vanished"))
}

/// A sync job started here: status and progress per resource.
#[utoipa::path(get, path = "/api/v1/sync-runs/{id}", tag = "sync", params(("id" = i64, Path)),
    responses((status = 200, body = crate::jobs::SyncJob), (status = 404, description = "unknown job")))]
pub async fn get_sync_run(
    State(state): State<AppState>,
    _: Authed,
    Path(id): Path<String>,
) -> Result<Json<crate::jobs::SyncJob>, ApiError> {
    let n: i64 = id
        .parse()
        .map_err(|_| ApiError::invalid("id", format!("{id:?} is not a sync run id")))?;
    state
        .jobs
        .get(n)
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no sync run {n} on this server")))
}

/// Recent sync runs of the integration (newest first), from the store.
#[utoipa::path(get, path = "/api/v1/integrations/{name}/runs", tag = "sync", params(("name" = String, Path)),
    responses((status = 200, description = "runs")))]
pub async fn list_runs(
    State(state): State<AppState>,
    _: Authed,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let i = integrations::by_name(&state.store, &name).await?;
    let runs = state.store.runs(i.id, 50).await?;
    Ok(Json(
        serde_json::to_value(runs).map_err(ApiError::internal)?,
    ))
}

// ---------------------------------------------------------------- inventory

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct InventoryQuery {
    /// `staged`, `accepted` or `ignored`.
    pub status: Option<String>,
    /// Text in the app's name or label.
    pub q: Option<String>,
    /// 1-based page of 50.
    pub page: Option<u64>,
    /// Only this integration (name).
    pub integration: Option<String>,
}

/// Inventory items with filters and paging.
#[utoipa::path(get, path = "/api/v1/inventory", tag = "inventory", params(InventoryQuery),
    responses((status = 200, description = "a page of items")))]
pub async fn list_inventory(
    State(state): State<AppState>,
    _: Authed,
    ApiQuery(query): ApiQuery<InventoryQuery>,
) -> Result<Json<Value>, ApiError> {
    let triage = match query.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(Triage::parse(s).ok_or_else(|| {
            ApiError::invalid(
                "status",
                format!("{s:?} is not a status; use staged, accepted or ignored"),
            )
        })?),
    };
    let integration_id = match query.integration.as_deref() {
        Some(name) => Some(
            integrations::by_name(&state.store, name)
                .await
                .map_err(|e| ApiError::from(e).with_field("integration"))?
                .id,
        ),
        None => None,
    };
    let page = query.page.unwrap_or(1);
    if page == 0 {
        return Err(ApiError::invalid("page", "pages start at 1"));
    }
    // Filtered, counted and paged in SQL: a page reads 50 items, not the whole inventory.
    let filter = InventoryFilter {
        integration_id,
        triage,
    };
    let (items, total) = state
        .store
        .inventory_page(
            &filter,
            query.q.as_deref(),
            PAGE_SIZE,
            (page - 1).saturating_mul(PAGE_SIZE),
        )
        .await?;
    let rows: Vec<Value> = items
        .iter()
        .map(|i| {
            let mut v = serde_json::to_value(i).unwrap_or(Value::Null);
            if let Some(o) = v.as_object_mut() {
                o.insert("display_id".into(), Value::String(i.display_id()));
            }
            v
        })
        .collect();
    Ok(Json(
        json!({"items": rows, "page": page, "page_size": PAGE_SIZE, "total": total}),
    ))
}

/// One inventory item (`INV-12` or `12`).
#[utoipa::path(get, path = "/api/v1/inventory/{id}", tag = "inventory", params(("id" = String, Path)),
    responses((status = 200, description = "the item"), (status = 404, description = "no such item")))]
pub async fn get_inventory_item(
    State(state): State<AppState>,
    _: Authed,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    inventory::parse_id(&id).map_err(|e| ApiError::invalid("id", e.to_string()))?;
    let item = inventory::show(&state.store, &id).await?;
    Ok(Json(
        serde_json::to_value(item).map_err(ApiError::internal)?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptItems {
    /// Item ids (`INV-12` or `12`).
    #[serde(default)]
    pub ids: Vec<String>,
    /// Accept every staged item instead of listing ids.
    #[serde(default)]
    pub all_staged: bool,
    pub owner: Option<String>,
    pub purpose: Option<String>,
    #[serde(default)]
    pub data_categories: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IgnoreItems {
    #[serde(default)]
    pub ids: Vec<String>,
    #[serde(default)]
    pub all_staged: bool,
    /// Why the app holds no personal data or is out of scope.
    pub reason: Option<String>,
}

async fn item_ids(
    state: &AppState,
    ids: &[String],
    all_staged: bool,
) -> Result<Vec<i64>, ApiError> {
    let mut out = ids
        .iter()
        .map(|s| inventory::parse_id(s).map_err(|e| ApiError::invalid("ids", e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    if all_staged {
        out.extend(inventory::staged_ids(&state.store, None).await?);
    }
    Ok(out)
}

/// Accept items into the inventory (admin), with owner, purpose, data categories.
#[utoipa::path(post, path = "/api/v1/inventory/accept", tag = "inventory", request_body = AcceptItems,
    responses((status = 200, description = "what changed"), (status = 400, description = "bad input")))]
pub async fn accept_inventory(
    State(state): State<AppState>,
    _: Admin,
    ApiJson(body): ApiJson<AcceptItems>,
) -> Result<Json<Value>, ApiError> {
    let request = inventory::TriageRequest {
        accept: item_ids(&state, &body.ids, body.all_staged).await?,
        owner: body.owner,
        purpose: body.purpose,
        data_categories: body.data_categories,
        ..Default::default()
    };
    let outcome = inventory::triage(&state.store, &request, state.clock.as_ref()).await?;
    Ok(Json(
        serde_json::to_value(outcome).map_err(ApiError::internal)?,
    ))
}

/// Ignore items (admin), with a reason.
#[utoipa::path(post, path = "/api/v1/inventory/ignore", tag = "inventory", request_body = IgnoreItems,
    responses((status = 200, description = "what changed"), (status = 400, description = "bad input")))]
pub async fn ignore_inventory(
    State(state): State<AppState>,
    _: Admin,
    ApiJson(body): ApiJson<IgnoreItems>,
) -> Result<Json<Value>, ApiError> {
    let request = inventory::TriageRequest {
        ignore: item_ids(&state, &body.ids, body.all_staged).await?,
        reason: body.reason,
        ..Default::default()
    };
    let outcome = inventory::triage(&state.store, &request, state.clock.as_ref()).await?;
    Ok(Json(
        serde_json::to_value(outcome).map_err(ApiError::internal)?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ChangesQuery {
    /// Only this integration (name); default: every integration.
    pub integration: Option<String>,
}

/// What the latest sync of each integration changed in the inventory.
#[utoipa::path(get, path = "/api/v1/inventory/changes", tag = "inventory", params(ChangesQuery),
    responses((status = 200, description = "per integration: the sync and its changes")))]
pub async fn inventory_changes(
    State(state): State<AppState>,
    _: Authed,
    ApiQuery(query): ApiQuery<ChangesQuery>,
) -> Result<Json<Value>, ApiError> {
    let list = match query.integration.as_deref() {
        Some(name) => vec![
            integrations::by_name(&state.store, name)
                .await
                .map_err(|e| ApiError::from(e).with_field("integration"))?,
        ],
        None => state.store.integrations().await?,
    };
    let mut out = Vec::new();
    for i in list {
        let changes = inventory::changes(&state.store, i.id).await?;
        let (sync, changes) = match changes {
            Some((s, c)) => (
                serde_json::to_value(s).map_err(ApiError::internal)?,
                serde_json::to_value(c).map_err(ApiError::internal)?,
            ),
            None => (Value::Null, json!([])),
        };
        out.push(json!({"integration": i.name, "sync": sync, "changes": changes}));
    }
    Ok(Json(Value::Array(out)))
}

// ---------------------------------------------------------------- privacy requests

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccessRequestBody {
    pub email: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeletionRequestBody {
    pub email: String,
    /// Say what would happen, change nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// Required unless `dry_run`: the id of the account to delete, as a dry run names it,
    /// so a deletion is never a guess.
    pub confirm_account_id: Option<String>,
}

/// Answer an access request live from every integration.
#[utoipa::path(post, path = "/api/v1/privacy-requests/access", tag = "privacy-requests", request_body = AccessRequestBody,
    responses((status = 200, description = "the access report"), (status = 400, description = "bad email")))]
pub async fn access_request(
    State(state): State<AppState>,
    authed: Authed,
    ApiJson(body): ApiJson<AccessRequestBody>,
) -> Result<Json<Value>, ApiError> {
    let input = requests::RequestInput {
        email: body.email,
        requested_by: format!("web:{}", authed.user.name),
    };
    let report = requests::access(&state.store, state.clock.as_ref(), &input).await?;
    Ok(Json(
        serde_json::to_value(report).map_err(ApiError::internal)?,
    ))
}

fn planned_accounts(report: &requests::DeletionReport) -> Vec<String> {
    report
        .integrations
        .iter()
        .filter_map(|(_, d)| match d {
            requests::IntegrationDeletion::WouldDelete { plan } => Some(plan.account_id.clone()),
            _ => None,
        })
        .collect()
}

/// Delete a person everywhere (admin). Without `dry_run`, `confirm_account_id` must name
/// the account the dry run found.
#[utoipa::path(post, path = "/api/v1/privacy-requests/deletion", tag = "privacy-requests", request_body = DeletionRequestBody,
    responses((status = 200, description = "the deletion report"), (status = 400, description = "bad email or confirmation")))]
pub async fn deletion_request(
    State(state): State<AppState>,
    Admin(authed): Admin,
    ApiJson(body): ApiJson<DeletionRequestBody>,
) -> Result<Json<Value>, ApiError> {
    let input = requests::RequestInput {
        email: body.email,
        requested_by: format!("web:{}", authed.user.name),
    };
    requests::validate_email(&input.email)?;
    if !body.dry_run {
        let confirm = body
            .confirm_account_id
            .as_deref()
            .map(str::trim)
            .unwrap_or_default();
        if confirm.is_empty() {
            return Err(ApiError::invalid(
                "confirm_account_id",
                "a deletion needs confirm_account_id: run it with dry_run first and give the account id it names",
            ));
        }
        // The plan is recomputed live, so the confirmation is checked against the source as
        // it is now, not as it was at the dry run.
        let plan = requests::delete(&state.store, state.clock.as_ref(), &input, true).await?;
        let accounts = planned_accounts(&plan);
        if !accounts.is_empty() && !accounts.iter().any(|a| a == confirm) {
            return Err(ApiError::invalid(
                "confirm_account_id",
                format!(
                    "{confirm:?} is not the account this deletion would remove ({})",
                    accounts.join(", ")
                ),
            ));
        }
    }
    let report = requests::delete(&state.store, state.clock.as_ref(), &input, body.dry_run).await?;
    Ok(Json(
        serde_json::to_value(report).map_err(ApiError::internal)?,
    ))
}

/// Every privacy request (no email in clear: subjects are salted hashes).
#[utoipa::path(get, path = "/api/v1/privacy-requests", tag = "privacy-requests", responses((status = 200, description = "requests")))]
pub async fn list_privacy_requests(
    State(state): State<AppState>,
    _: Authed,
) -> Result<Json<Value>, ApiError> {
    let all = state.store.privacy_requests().await?;
    Ok(Json(serde_json::to_value(all).map_err(ApiError::internal)?))
}

// ---------------------------------------------------------------- evidence

/// The evidence register in chain order.
#[utoipa::path(get, path = "/api/v1/evidence", tag = "evidence", responses((status = 200, description = "items")))]
pub async fn list_evidence(
    State(state): State<AppState>,
    _: Authed,
) -> Result<Json<Value>, ApiError> {
    let items = evidence::list(&state.store).await?;
    Ok(Json(
        serde_json::to_value(items).map_err(ApiError::internal)?,
    ))
}

/// One evidence item (`EV-3` or `3`).
#[utoipa::path(get, path = "/api/v1/evidence/{id}", tag = "evidence", params(("id" = String, Path)),
    responses((status = 200, description = "the item"), (status = 404, description = "no such item")))]
pub async fn get_evidence(
    State(state): State<AppState>,
    _: Authed,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let item = evidence::show(&state.store, &id).await?;
    Ok(Json(
        serde_json::to_value(item).map_err(ApiError::internal)?,
    ))
}

/// Verify the hash chain.
#[utoipa::path(get, path = "/api/v1/evidence/verify", tag = "evidence", responses((status = 200, description = "verification")))]
pub async fn verify_evidence(
    State(state): State<AppState>,
    _: Authed,
) -> Result<Json<Value>, ApiError> {
    let v = evidence::verify(&state.store).await?;
    Ok(Json(serde_json::to_value(v).map_err(ApiError::internal)?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// `json` (default), `csv` or `html`.
    pub format: Option<String>,
}

/// Export the register with its verification, as a download (JSON, CSV or a
/// self-contained HTML page).
#[utoipa::path(get, path = "/api/v1/evidence/export", tag = "evidence", params(ExportQuery),
    responses((status = 200, description = "the export, as an attachment"), (status = 400, description = "unsupported format")))]
pub async fn export_evidence(
    State(state): State<AppState>,
    _: Authed,
    ApiQuery(query): ApiQuery<ExportQuery>,
) -> Result<Response, ApiError> {
    let asked = query.format.as_deref().unwrap_or("json");
    let format = evidence::ExportFormat::parse(asked).ok_or_else(|| {
        ApiError::invalid(
            "format",
            format!("{asked:?} is not supported; use json, csv or html"),
        )
    })?;
    let export = evidence::export(&state.store, format, state.clock.as_ref()).await?;
    let disposition = format!("attachment; filename=\"{}\"", format.file_name());
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                format.content_type().to_string(),
            ),
            (axum::http::header::CONTENT_DISPOSITION, disposition),
        ],
        export.body,
    )
        .into_response())
}

// ---------------------------------------------------------------- identity

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct IdentitySearch {
    /// Text anywhere in the record (login, name, email, ...), case-insensitive.
    pub q: Option<String>,
    /// Source status, e.g. `ACTIVE` (users).
    pub status: Option<String>,
    /// 1-based page of 50.
    pub page: Option<u64>,
}

async fn identity(
    state: &AppState,
    resource: Resource,
    query: IdentitySearch,
) -> Result<Json<Value>, ApiError> {
    let page = query.page.unwrap_or(1);
    if page == 0 {
        return Err(ApiError::invalid("page", "pages start at 1"));
    }
    if query.q.as_ref().is_some_and(|q| q.len() > 200) {
        return Err(ApiError::invalid(
            "q",
            "the search text is longer than 200 characters",
        ));
    }
    let q = IdentityQuery {
        q: query.q,
        status: query.status,
        limit: PAGE_SIZE,
        offset: (page - 1).saturating_mul(PAGE_SIZE),
    };
    let result = state.store.identity_page(resource, &q).await?;
    Ok(Json(
        json!({"items": result.items, "page": page, "page_size": PAGE_SIZE, "has_more": result.has_more}),
    ))
}

/// Users (accounts) of the current snapshots.
#[utoipa::path(get, path = "/api/v1/identity/users", tag = "identity", params(IdentitySearch), responses((status = 200, description = "a page")))]
pub async fn identity_users(
    State(state): State<AppState>,
    _: Authed,
    ApiQuery(q): ApiQuery<IdentitySearch>,
) -> Result<Json<Value>, ApiError> {
    identity(&state, Resource::Users, q).await
}

/// Groups of the current snapshots.
#[utoipa::path(get, path = "/api/v1/identity/groups", tag = "identity", params(IdentitySearch), responses((status = 200, description = "a page")))]
pub async fn identity_groups(
    State(state): State<AppState>,
    _: Authed,
    ApiQuery(q): ApiQuery<IdentitySearch>,
) -> Result<Json<Value>, ApiError> {
    identity(&state, Resource::Groups, q).await
}

/// Apps of the current snapshots.
#[utoipa::path(get, path = "/api/v1/identity/apps", tag = "identity", params(IdentitySearch), responses((status = 200, description = "a page")))]
pub async fn identity_apps(
    State(state): State<AppState>,
    _: Authed,
    ApiQuery(q): ApiQuery<IdentitySearch>,
) -> Result<Json<Value>, ApiError> {
    identity(&state, Resource::Apps, q).await
}

/// Admin role assignments of the current snapshots.
#[utoipa::path(get, path = "/api/v1/identity/admins", tag = "identity", params(IdentitySearch), responses((status = 200, description = "a page")))]
pub async fn identity_admins(
    State(state): State<AppState>,
    _: Authed,
    ApiQuery(q): ApiQuery<IdentitySearch>,
) -> Result<Json<Value>, ApiError> {
    identity(&state, Resource::RoleAssignments, q).await
}

// ---------------------------------------------------------------- identity graph

/// Everything the graph views read: optional "now" for the usage windows.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct GraphQuery {
    /// "Now" for the 30/90-day usage windows (RFC 3339); default: the server clock.
    pub now: Option<String>,
}

async fn graph_of(
    state: &AppState,
    q: &GraphQuery,
) -> Result<steward_products::graph::Graph, ApiError> {
    let now = match &q.now {
        None => state.clock.now(),
        Some(t) => chrono::DateTime::parse_from_rfc3339(t)
            .map(|t| t.with_timezone(&chrono::Utc))
            .map_err(|e| {
                ApiError::invalid("now", format!("{t:?} is not an RFC 3339 time ({e})"))
            })?,
    };
    steward_products::graph::build(&state.store, now)
        .await
        .map_err(graph_error)
}

fn graph_error(e: steward_products::graph::GraphError) -> ApiError {
    use steward_products::graph::GraphError;
    match e {
        GraphError::Store(s) => s.into(),
        GraphError::BadEmail(_) => ApiError::invalid(
            "email",
            e.to_string().trim_start_matches("EMAIL: ").to_string(),
        ),
        GraphError::PersonNotFound(_) => ApiError::not_found(e.to_string()),
    }
}

/// Active downstream accounts with no active identity-provider (Okta) user.
#[utoipa::path(get, path = "/api/v1/graph/orphans", tag = "graph", params(GraphQuery), responses((status = 200, description = "orphans")))]
pub async fn graph_orphans(
    State(state): State<AppState>,
    _: Authed,
    ApiQuery(q): ApiQuery<GraphQuery>,
) -> Result<Json<Value>, ApiError> {
    let g = graph_of(&state, &q).await?;
    Ok(Json(
        json!({"orphans": g.orphans(), "has_identity_provider": g.has_idp}),
    ))
}

/// People deprovisioned or suspended in Okta who are still active in another system.
#[utoipa::path(get, path = "/api/v1/graph/leavers", tag = "graph", params(GraphQuery), responses((status = 200, description = "leavers")))]
pub async fn graph_leavers(
    State(state): State<AppState>,
    _: Authed,
    ApiQuery(q): ApiQuery<GraphQuery>,
) -> Result<Json<Value>, ApiError> {
    let g = graph_of(&state, &q).await?;
    Ok(Json(json!({"leavers": g.leavers()})))
}

/// Licence seats per system and licence status: assigned versus used in 30 and 90 days.
#[utoipa::path(get, path = "/api/v1/graph/seats", tag = "graph", params(GraphQuery), responses((status = 200, description = "seats")))]
pub async fn graph_seats(
    State(state): State<AppState>,
    _: Authed,
    ApiQuery(q): ApiQuery<GraphQuery>,
) -> Result<Json<Value>, ApiError> {
    let g = graph_of(&state, &q).await?;
    Ok(Json(json!({"seats": g.seats()})))
}

/// One person's accounts everywhere, with the evidence of each join.
#[utoipa::path(get, path = "/api/v1/graph/people/{email}", tag = "graph", params(("email" = String, Path), GraphQuery),
    responses((status = 200, description = "the person"), (status = 400, description = "not an email"), (status = 404, description = "no such person")))]
pub async fn graph_person(
    State(state): State<AppState>,
    _: Authed,
    Path(email): Path<String>,
    ApiQuery(q): ApiQuery<GraphQuery>,
) -> Result<Json<Value>, ApiError> {
    let n = steward_products::graph::normalise(&email);
    if !n.contains('@') || n.chars().any(char::is_whitespace) {
        return Err(graph_error(steward_products::graph::GraphError::BadEmail(
            email,
        )));
    }
    let g = graph_of(&state, &q).await?;
    let person = g.person(&email).map_err(graph_error)?;
    let usage: Vec<Value> = person
        .accounts
        .iter()
        .map(|a| {
            let (d30, d90) = g.usage_of(&a.integration, &a.account_id);
            json!({"integration": a.integration, "account_id": a.account_id, "logins_30d": d30, "logins_90d": d90})
        })
        .collect();
    Ok(Json(json!({"person": person, "usage": usage})))
}
