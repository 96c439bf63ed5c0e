//! The one error type of the HTTP layer. Every failure becomes
//! `{"error": "code", "message": "...", "field": "name" | null}` with a fitting status, so
//! clients (and the future UI) handle one shape; server-side errors are logged, never echoed.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use steward_products::evidence::EvidenceError;
use steward_products::integrations::IntegrationError;
use steward_products::inventory::InventoryError;
use steward_products::requests::RequestError;
use steward_store::StoreError;

/// An API error: status, stable code, human message and the offending input field.
#[derive(Debug, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    /// Seconds for `Retry-After` (rate limiting).
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
            retry_after: None,
        }
    }

    /// Bad input in `field`.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        ApiError {
            field: Some(field.to_string()),
            ..ApiError::new(StatusCode::BAD_REQUEST, "invalid_input", message)
        }
    }

    pub fn with_field(mut self, field: &str) -> Self {
        self.field = Some(field.to_string());
        self
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn unauthenticated() -> Self {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "log in first (POST /api/v1/auth/login)",
        )
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn csrf() -> Self {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "csrf",
            "missing or wrong CSRF token; send the session's token (GET /api/v1/auth/me) in X-CSRF-Token",
        )
        .with_field("X-CSRF-Token")
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::CONFLICT, "conflict", message)
    }

    /// A server-side failure: logged with its cause, answered with a generic message so no
    /// internal detail (SQL, paths) leaks to the client.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "Request failed.");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; see the server log",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error": self.code, "message": self.message, "field": self.field});
        let mut response = (self.status, Json(body)).into_response();
        if let Some(v) = self
            .retry_after
            .and_then(|secs| HeaderValue::from_str(&secs.to_string()).ok())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        response
    }
}

/// The field a serde message names (`missing field `token``, `unknown variant ...` has none).
fn serde_field(message: &str) -> Option<String> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(message[start..start + len].to_string())
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        let message = r.body_text();
        let field = match &r {
            JsonRejection::JsonDataError(_) => {
                serde_field(&message).or_else(|| Some("body".into()))
            }
            _ => Some("body".into()),
        };
        ApiError {
            field,
            ..ApiError::new(StatusCode::BAD_REQUEST, "invalid_input", message)
        }
    }
}

/// serde_urlencoded prefixes a value error with its parameter (`...: page: invalid digit`).
fn query_param(message: &str) -> Option<String> {
    let rest = message.split_once("query string: ")?.1;
    let (name, _) = rest.split_once(": ")?;
    (!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .then(|| name.to_string())
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        let message = r.body_text();
        let field = query_param(&message)
            .or_else(|| serde_field(&message))
            .or_else(|| Some("query".into()));
        ApiError {
            field,
            ..ApiError::new(StatusCode::BAD_REQUEST, "invalid_input", message)
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NameTaken { .. } => ApiError::conflict(e.to_string()).with_field("name"),
            StoreError::NotFound { .. } => ApiError::not_found(e.to_string()),
            StoreError::RunInProgress { .. } => ApiError::conflict(e.to_string()),
            other => ApiError::internal(other),
        }
    }
}

impl From<IntegrationError> for ApiError {
    fn from(e: IntegrationError) -> Self {
        match e {
            IntegrationError::Store(s) => s.into(),
            IntegrationError::Domain(_) => ApiError::invalid("domain", e.to_string()),
            IntegrationError::BadName { .. } => ApiError::invalid(
                "name",
                e.to_string().trim_start_matches("--name: ").to_string(),
            ),
            IntegrationError::EmptyToken => ApiError::invalid(
                "token",
                "the token is empty; paste the API token Okta showed when you created it",
            ),
            IntegrationError::NotFound { name } => {
                ApiError::not_found(format!("integration {name:?} not found"))
            }
            IntegrationError::EmptyClientId => ApiError::invalid(
                "client_id",
                e.to_string()
                    .trim_start_matches("--client-id: ")
                    .to_string(),
            ),
            IntegrationError::Connector(c) => {
                ApiError::new(StatusCode::BAD_GATEWAY, "connector", c.to_string())
            }
        }
    }
}

impl From<InventoryError> for ApiError {
    fn from(e: InventoryError) -> Self {
        match e {
            InventoryError::Store(s) => s.into(),
            InventoryError::UnknownItem { id } => {
                ApiError::not_found(format!("no inventory item {id}")).with_field("ids")
            }
            InventoryError::Invalid(message) => {
                // The library words its messages for CLI flags; map the flag to the JSON field.
                let field = [
                    ("--owner", "owner"),
                    ("--purpose", "purpose"),
                    ("--data-category", "data_categories"),
                    ("--reason", "reason"),
                ]
                .iter()
                .find(|(flag, _)| {
                    message.starts_with(flag) || message.contains(&format!("needs {flag}"))
                })
                .map_or("ids", |(_, f)| f);
                ApiError::invalid(field, message)
            }
        }
    }
}

impl From<RequestError> for ApiError {
    fn from(e: RequestError) -> Self {
        match e {
            RequestError::BadEmail { reason } => ApiError::invalid("email", reason),
            RequestError::NoIntegrations => ApiError::conflict(e.to_string()),
            RequestError::Integration(i) => i.into(),
            RequestError::Store(s) => s.into(),
            RequestError::Connector { .. } => {
                ApiError::new(StatusCode::BAD_GATEWAY, "connector", e.to_string())
            }
            RequestError::Unsupported { .. } => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unsupported",
                e.to_string(),
            ),
        }
    }
}

impl From<EvidenceError> for ApiError {
    fn from(e: EvidenceError) -> Self {
        match e {
            EvidenceError::Store(s) => s.into(),
            EvidenceError::NotFound { id } => {
                ApiError::not_found(format!("evidence item {id} not found"))
            }
        }
    }
}

/// `Json` whose rejection is an [`ApiError`], so malformed bodies get the one error shape.
#[derive(axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// `Query` whose rejection is an [`ApiError`].
#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);
