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
        crate::security::list_findings, crate::security::get_finding, crate::security::get_findings_config,
        crate::security::put_findings_config,
        crate::security::list_reviews, crate::security::create_review, crate::security::get_review,
        crate::security::review_queue, crate::security::decide_case, crate::security::review_report,
        crate::security::remediate_review,
        api::identity_users, api::identity_groups, api::identity_apps, api::identity_admins,
        api::graph_orphans, api::graph_leavers, api::graph_seats, api::graph_person,
    ),
    tags((name = "auth"), (name = "integrations"), (name = "sync"), (name = "inventory"),
         (name = "privacy-requests"), (name = "evidence"), (name = "findings"), (name = "reviews"), (name = "identity"), (name = "graph"))
)]
pub struct ApiDoc;

/// `GET /api/openapi.json` (public: it describes the API, it holds no data).
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
