//! The OpenAPI document, generated from the handlers' `#[utoipa::path]` attributes and
//! served at `/api/openapi.json`.

use axum::Json;
use utoipa::OpenApi;

use crate::{api, auth};

#[derive(OpenApi)]
#[openapi(
    info(title = "Steward API", description = "Integrations, syncs, inventory, privacy requests, evidence and identity search. \
        Log in with POST /api/v1/auth/login (session cookie); send X-CSRF-Token on every write. \
        Errors: {\"error\": code, \"message\": text, \"field\": name | null}."),
    paths(
        auth::login, auth::logout, auth::me,
        api::list_integrations, api::create_integration, api::get_integration, api::delete_integration,
        api::replace_token, api::test_integration, api::capabilities, api::start_sync, api::list_runs,
        api::get_sync_run,
        api::list_inventory, api::get_inventory_item, api::accept_inventory, api::ignore_inventory,
        api::inventory_changes,
        api::access_request, api::deletion_request, api::list_privacy_requests,
        api::list_evidence, api::get_evidence, api::verify_evidence, api::export_evidence,
        api::identity_users, api::identity_groups, api::identity_apps, api::identity_admins,
    ),
    tags((name = "auth"), (name = "integrations"), (name = "sync"), (name = "inventory"),
         (name = "privacy-requests"), (name = "evidence"), (name = "identity"))
)]
pub struct ApiDoc;

/// `GET /api/openapi.json` (public: it describes the API, it holds no data).
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
