//! Login and logout pages: the same credential check, rate limit and session as the API
//! (`auth::start_session`), as an HTML form.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::{Layout, UiAnyForm, UiError, render, render_status};
use crate::AppState;
use crate::auth::{self, Authed, ClientIp, LoginRequest};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_page).post(login_submit))
        .route("/logout", post(logout))
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    layout: Layout,
    next: String,
    username: String,
    error: Option<String>,
    field: Option<String>,
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

/// Only local paths: an open redirect would let a phishing link bounce through the login.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.starts_with("/\\")
                && !n.starts_with("/login") =>
        {
            n.to_string()
        }
        _ => "/integrations".to_string(),
    }
}

async fn login_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<NextQuery>,
) -> Result<Response, UiError> {
    let next = safe_next(q.next.as_deref());
    // Already logged in: go straight on.
    if let Ok(authed) = Authed::from_session(&headers, &state).await {
        return Ok(Redirect::to(&land(&authed.user.role, next)).into_response());
    }
    render(&LoginPage {
        layout: Layout::anonymous("Log in"),
        next,
        username: String::new(),
        error: None,
        field: None,
    })
}

async fn login_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    ClientIp(ip): ClientIp,
    body: axum::body::Bytes,
) -> Result<Response, UiError> {
    let fields: Vec<(String, String)> = url::form_urlencoded::parse(&body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let get = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let username = get("username");
    let next = safe_next(Some(get("next").as_str()).filter(|n| !n.is_empty()));
    let request = LoginRequest {
        username: username.clone(),
        password: get("password"),
    };
    match auth::start_session(&state, &headers, &ip, request).await {
        Ok((cookie, me)) => Ok((
            [(header::SET_COOKIE, cookie)],
            Redirect::to(&land(&me.role, next)),
        )
            .into_response()),
        Err(e) => {
            let status = e.status;
            if status.is_server_error() {
                return Err(e.into());
            }
            let mut response = render_status(
                status,
                &LoginPage {
                    layout: Layout::anonymous("Log in"),
                    next,
                    username,
                    error: Some(e.message.clone()),
                    field: e.field.clone(),
                },
            )?;
            if let Some(secs) = e
                .retry_after
                .and_then(|s| header::HeaderValue::from_str(&s.to_string()).ok())
            {
                response.headers_mut().insert(header::RETRY_AFTER, secs);
            }
            Ok(response)
        }
    }
}

/// A reviewer may open only their queue and the reports of their campaigns: any other
/// destination (the default one included) becomes their queue.
fn land(role: &str, next: String) -> String {
    let reviewer_page = next.starts_with("/reviews/queue")
        || (next.starts_with("/reviews/") && next.ends_with("/report"));
    if role == auth::ROLE_REVIEWER && !reviewer_page {
        return "/reviews/queue".to_string();
    }
    next
}

async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    UiAnyForm(form): UiAnyForm,
) -> Result<Response, UiError> {
    let cookie = auth::end_session(&state, &headers, &form.authed).await?;
    Ok((
        StatusCode::SEE_OTHER,
        [
            (header::SET_COOKIE, cookie),
            (
                header::LOCATION,
                "/login"
                    .parse()
                    .map_err(|_| UiError::bad_request("location"))?,
            ),
        ],
    )
        .into_response())
}
