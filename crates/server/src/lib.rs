//! Steward's HTTP server: the JSON API under `/api/v1` on the same product functions the CLI
//! uses, with sessions, roles and CSRF (`auth`), one error shape (`error`), background syncs
//! with in-memory progress (`jobs`) and the OpenAPI document generated from the handlers
//! (`openapi`, served at `/api/openapi.json`).
//!
//! The router is built by [`router`] so tests run it in-process on `127.0.0.1:0`; the
//! server-rendered web UI (`ui`) is merged into the same router, on the same sessions, CSRF
//! token and roles.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderName, HeaderValue};
use axum::response::Response;
use steward_products::Clock;
use steward_products::sync::SyncSettings;
use steward_store::Store;

pub mod api;
pub mod auth;
pub mod error;
pub mod jobs;
pub mod openapi;
pub mod security;
pub mod ui;

pub use error::ApiError;

/// How the server is configured.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The URL users reach the server at; `https` makes cookies `Secure`.
    pub public_url: Option<url::Url>,
    pub session_ttl: chrono::Duration,
    /// Allow integrations on `http://` loopback hosts (the simulator; demo and tests only).
    pub allow_insecure_loopback: bool,
    pub sync: SyncSettings,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            public_url: None,
            session_ttl: chrono::Duration::hours(12),
            allow_insecure_loopback: false,
            sync: SyncSettings::default(),
        }
    }
}

/// What every handler shares; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub config: Arc<ServerConfig>,
    pub limiter: Arc<auth::LoginLimiter>,
    pub jobs: Arc<jobs::SyncJobs>,
}

impl AppState {
    pub fn new(store: Store, clock: Arc<dyn Clock>, config: ServerConfig) -> Self {
        AppState {
            store,
            clock,
            config: Arc::new(config),
            limiter: Arc::new(auth::LoginLimiter::default()),
            jobs: Arc::new(jobs::SyncJobs::default()),
        }
    }
}

/// Headers on every response, errors included. The CSP allows nothing from other origins
/// and no inline script, which the server-rendered UI must respect too.
async fn security_headers(mut response: Response) -> Response {
    const HEADERS: [(&str, &str); 5] = [
        (
            "content-security-policy",
            "default-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
        ),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("x-frame-options", "DENY"),
        ("cache-control", "no-store"),
    ];
    let headers = response.headers_mut();
    for (name, value) in HEADERS {
        // A handler may set its own caching (the UI's static files are cached for long).
        if name == "cache-control" && headers.contains_key(name) {
            continue;
        }
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    response
}

/// The whole application: API, OpenAPI document, security headers.
pub fn router(state: AppState) -> Router {
    Router::new()
        .nest("/api/v1", api::routes())
        .route("/api/openapi.json", axum::routing::get(openapi::document))
        .merge(ui::routes())
        .fallback(|| async { ApiError::not_found("no such route") })
        .layer(axum::middleware::map_response(security_headers))
        .with_state(state)
}

/// Serve until `shutdown` resolves. Client addresses are kept for the login rate limit.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
