//! The server-rendered web UI (askama templates + vendored htmx) on the same router, the same
//! sessions/CSRF/roles (`crate::auth`) and the same product functions as the JSON API.
//!
//! Stable element hooks for the browser tests (keep them; the e2e suite depends on them):
//!
//! - login: `#login-username`, `#login-password`, `#login-submit`
//! - nav: `#nav-integrations`, `#nav-inventory`, `#nav-privacy-requests`, `#nav-evidence`,
//!   `#nav-identity`, `#nav-findings`, `#nav-people`, `#nav-reviews`; a reviewer's nav has
//!   only `#nav-my-reviews`
//! - integrations: `#connect-okta` (tile link), `.status-connected` on a connected integration
//! - connect form: `#integration-name`, `#integration-domain`, `#integration-token`,
//!   `#integration-allow-insecure`, `#test-connection`, `#save-integration`, `#test-results`
//!   (a table; each row `class="check ok"` or `class="check fail"` with
//!   `data-capability="<capability id>"`)
//! - integration page: `#sync-now`, `#sync-progress` (`data-state="running|succeeded|failed"`,
//!   `idle` before any sync of this server process)
//! - inventory: `#staging-table` (rows `data-item-id`), `.accept-item` buttons
//! - privacy requests: `#request-email`, `#start-access-request`, `#download-export`
//! - evidence: `#evidence-table` (rows `data-verified="true|false"`), `#evidence-verify-status`
//! - findings: `#findings-table` (rows `data-kind`), `#findings-new`, `#findings-resolved`
//! - people: `#orphans-table`, `#leavers-table`, `#seats-table`, `#person-accounts`
//! - access reviews (nav `#nav-reviews`): `#new-campaign` form with `#campaign-name`,
//!   `#campaign-scope`, `#campaign-reviewer`, `#campaign-due`, `#create-campaign`;
//!   `#campaigns-table` (rows `data-campaign-id`); queue `#queue-table` (rows `data-case-id`)
//!   with `.decide-keep` / `.decide-revoke` per row, `#select-all-cases`, `#bulk-keep`,
//!   `#bulk-revoke`; a refused decision becomes a row `data-stale-case-id`; `#remediate`,
//!   `#remediation-results`; report `#review-report` (rows `data-decision`)
//!
//! Security: the CSP is `default-src 'self'`, so there is no inline script or style anywhere;
//! htmx's inline indicator style is disabled by a `<meta name="htmx-config">` and lives in
//! `app.css`. Every form carries the session's CSRF token as `csrf_token`, and htmx requests
//! send it as `X-CSRF-Token` (from `hx-headers` on `<body>`); [`UiForm`] checks either.
//! Admin-only actions are hidden from viewers and refused by the handlers ([`UiForm::admin`]).
//!
//! Reviewers (role `reviewer`) see only their own review queue: [`UiUser`] and [`UiForm`]
//! refuse them (403), so every page is closed to them unless its handler takes
//! [`UiAnyUser`] / [`UiAnyForm`] and applies the reviewer rule itself.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;

use crate::AppState;
use crate::auth::{Authed, CSRF_HEADER, REVIEWER_ONLY};
use crate::error::ApiError;

mod evidence;
mod findings;
mod identity;
mod integrations;
mod inventory;
mod login;
mod people;
mod requests;
mod reviews;

/// The largest form body the UI accepts.
const MAX_FORM_BYTES: usize = 1 << 20;

/// Rows per page in the UI's tables.
pub(crate) const PAGE_SIZE: u64 = 50;

/// Every UI route.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/static/htmx.min.js", get(htmx_js))
        .route("/static/app.css", get(app_css))
        // Browsers ask for it on every page; an empty answer keeps the console clean.
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
        .merge(login::routes())
        .merge(integrations::routes())
        .merge(inventory::routes())
        .merge(requests::routes())
        .merge(evidence::routes())
        .merge(identity::routes())
        .merge(findings::routes())
        .merge(people::routes())
        .merge(reviews::routes())
}

/// Where `/` and a login without a destination land: a reviewer's queue, or the integrations.
pub fn landing(authed: &Authed) -> &'static str {
    if authed.is_reviewer() {
        "/reviews/queue"
    } else {
        "/integrations"
    }
}

async fn home(
    axum::extract::State(state): axum::extract::State<AppState>,
    headers: HeaderMap,
) -> Redirect {
    match Authed::from_session(&headers, &state).await {
        Ok(a) => Redirect::to(landing(&a)),
        Err(_) => Redirect::to("/integrations"),
    }
}

const LONG_CACHE: &str = "public, max-age=31536000, immutable";

async fn htmx_js() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, LONG_CACHE),
        ],
        include_str!("../../static/htmx.min.js"),
    )
        .into_response()
}

async fn app_css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, LONG_CACHE),
        ],
        include_str!("../../static/app.css"),
    )
        .into_response()
}

/// What the shared layout (`base.html`) needs: who is logged in, their CSRF token, the
/// active nav entry.
#[derive(Debug, Clone)]
pub struct Layout {
    pub title: String,
    /// `None` on the login page: no nav, no logout.
    pub user: Option<String>,
    pub role: String,
    pub is_admin: bool,
    /// A reviewer's nav has only "My reviews".
    pub is_reviewer: bool,
    pub csrf: String,
    /// The nav entry to mark current (`integrations`, `inventory`, ...).
    pub nav: &'static str,
}

impl Layout {
    pub fn new(authed: &Authed, title: impl Into<String>, nav: &'static str) -> Layout {
        Layout {
            title: title.into(),
            user: Some(authed.user.name.clone()),
            role: authed.user.role.clone(),
            is_admin: authed.is_admin(),
            is_reviewer: authed.is_reviewer(),
            csrf: authed.csrf_token.clone(),
            nav,
        }
    }

    pub fn anonymous(title: impl Into<String>) -> Layout {
        Layout {
            title: title.into(),
            user: None,
            role: String::new(),
            is_admin: false,
            is_reviewer: false,
            csrf: String::new(),
            nav: "",
        }
    }

    /// `aria-current="page"` for the active nav entry (askama renders the returned text).
    pub fn current(&self, nav: &str) -> &'static str {
        if self.nav == nav { "page" } else { "false" }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    layout: Layout,
    status: u16,
    reason: String,
    message: String,
}

/// A UI failure: a redirect to the login page, or an HTML error page.
#[derive(Debug)]
pub enum UiError {
    /// No (valid) session: go log in, then come back to `next`.
    Login {
        next: String,
    },
    /// The same for an htmx request: the browser's XHR would follow a redirect silently and
    /// swap the login page into a fragment, so answer with `HX-Redirect` instead.
    LoginHx {
        next: String,
    },
    Page {
        status: StatusCode,
        message: String,
    },
}

impl UiError {
    pub fn forbidden() -> UiError {
        UiError::Page {
            status: StatusCode::FORBIDDEN,
            message: "This needs the admin role; viewers can only read.".into(),
        }
    }

    /// A reviewer outside their own queue.
    pub fn reviewer_only() -> UiError {
        let mut message = REVIEWER_ONLY.to_string();
        if let Some(first) = message.get_mut(..1) {
            first.make_ascii_uppercase();
        }
        UiError::Page {
            status: StatusCode::FORBIDDEN,
            message: format!("{message}."),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> UiError {
        UiError::Page {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    pub fn not_found(message: impl Into<String>) -> UiError {
        UiError::Page {
            status: StatusCode::NOT_FOUND,
            message: message.into(),
        }
    }
}

impl From<ApiError> for UiError {
    fn from(e: ApiError) -> Self {
        match e.code {
            "unauthenticated" => UiError::Login { next: "/integrations".into() },
            "csrf" => UiError::Page {
                status: StatusCode::FORBIDDEN,
                message: "The form's security token is missing or out of date; reload the page and try again.".into(),
            },
            _ => {
                let message = match &e.field {
                    Some(f) => format!("{} (field: {f})", e.message),
                    None => e.message,
                };
                UiError::Page { status: e.status, message }
            }
        }
    }
}

macro_rules! from_product_error {
    ($($t:ty),*) => {$(
        impl From<$t> for UiError {
            fn from(e: $t) -> Self {
                UiError::from(ApiError::from(e))
            }
        }
    )*};
}
from_product_error!(
    steward_store::StoreError,
    steward_products::integrations::IntegrationError,
    steward_products::inventory::InventoryError,
    steward_products::requests::RequestError,
    steward_products::evidence::EvidenceError
);

impl From<askama::Error> for UiError {
    fn from(e: askama::Error) -> Self {
        UiError::from(ApiError::internal(e))
    }
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        match self {
            UiError::Login { next } => Redirect::to(&login_url(&next)).into_response(),
            UiError::LoginHx { next } => match header::HeaderValue::from_str(&login_url(&next)) {
                Ok(v) => (
                    StatusCode::OK,
                    [(header::HeaderName::from_static("hx-redirect"), v)],
                )
                    .into_response(),
                Err(_) => StatusCode::UNAUTHORIZED.into_response(),
            },
            UiError::Page { status, message } => {
                let page = ErrorPage {
                    layout: Layout::anonymous(status.canonical_reason().unwrap_or("Error")),
                    status: status.as_u16(),
                    reason: status.canonical_reason().unwrap_or("Error").to_string(),
                    message,
                };
                match page.render() {
                    Ok(html) => (status, Html(html)).into_response(),
                    Err(_) => (status, "error").into_response(),
                }
            }
        }
    }
}

fn login_url(next: &str) -> String {
    format!(
        "/login?next={}",
        url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
    )
}

/// Render a template as an HTML response.
pub fn render<T: Template>(t: &T) -> Result<Response, UiError> {
    Ok(Html(t.render()?).into_response())
}

/// Render with a status (e.g. 400 for a form with field errors).
pub fn render_status<T: Template>(status: StatusCode, t: &T) -> Result<Response, UiError> {
    Ok((status, Html(t.render()?)).into_response())
}

/// Where an anonymous request should come back to after logging in.
fn next_of(parts: &Parts) -> String {
    // An htmx fragment URL is useless as a landing page: go back to the page it came from.
    if parts.headers.contains_key("hx-request")
        && let Some(path) = parts
            .headers
            .get("hx-current-url")
            .and_then(|v| v.to_str().ok())
            .and_then(|u| url::Url::parse(u).ok())
            .map(|u| match u.query() {
                Some(q) => format!("{}?{q}", u.path()),
                None => u.path().to_string(),
            })
    {
        return path;
    }
    if parts.method == axum::http::Method::GET {
        parts
            .uri
            .path_and_query()
            .map_or_else(|| "/".to_string(), |p| p.as_str().to_string())
    } else {
        "/integrations".to_string()
    }
}

/// The logged-in admin or viewer of a UI page (GET); without a session, a redirect to the
/// login page; a reviewer gets 403 (see [`UiAnyUser`]).
pub struct UiUser(pub Authed);

impl FromRequestParts<AppState> for UiUser {
    type Rejection = UiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let UiAnyUser(authed) = UiAnyUser::from_request_parts(parts, state).await?;
        if !authed.is_staff() {
            return Err(UiError::reviewer_only());
        }
        Ok(UiUser(authed))
    }
}

/// The logged-in user of any role, reviewers included: for the pages a reviewer may open,
/// whose handlers apply the reviewer rule themselves.
pub struct UiAnyUser(pub Authed);

impl FromRequestParts<AppState> for UiAnyUser {
    type Rejection = UiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match Authed::from_session(&parts.headers, state).await {
            Ok(a) => Ok(UiAnyUser(a)),
            Err(e) if e.code == "unauthenticated" => {
                let next = next_of(parts);
                if parts.headers.contains_key("hx-request") {
                    Err(UiError::LoginHx { next })
                } else {
                    Err(UiError::Login { next })
                }
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// A UI form post: the session, CSRF checked (the `csrf_token` field or the `X-CSRF-Token`
/// header htmx sends), and the decoded fields in order (repeated names, like bulk checkboxes,
/// stay repeated).
pub struct UiForm {
    pub authed: Authed,
    pub fields: Vec<(String, String)>,
}

impl UiForm {
    /// The first value of `name`, trimmed of nothing (tokens and passwords are taken as sent).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The value of `name`, or empty.
    pub fn text(&self, name: &str) -> String {
        self.get(name).unwrap_or_default().to_string()
    }

    /// Every value of `name`.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.fields
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// A checkbox: present and not "false".
    pub fn checked(&self, name: &str) -> bool {
        self.get(name).is_some_and(|v| v != "false" && v != "off")
    }

    /// Refuse unless the user is an admin.
    pub fn admin(&self) -> Result<(), UiError> {
        if self.authed.is_admin() {
            Ok(())
        } else {
            Err(UiError::forbidden())
        }
    }

    /// Who a review decision is recorded as: an admin acts for the reviewer `asked` (the
    /// queue they opened); a reviewer is always themselves and may not ask for anyone else;
    /// a viewer may not decide.
    pub fn decider(&self, asked: &str) -> Result<String, UiError> {
        let asked = asked.trim().to_ascii_lowercase();
        if self.authed.is_reviewer() {
            let me = self.authed.reviewer_email();
            if !asked.is_empty() && asked != me {
                return Err(UiError::Page {
                    status: StatusCode::FORBIDDEN,
                    message: format!(
                        "reviewer: you decide as {me}; reviewers cannot decide another reviewer's cases."
                    ),
                });
            }
            return Ok(me);
        }
        self.admin()?;
        if asked.is_empty() {
            return Err(UiError::bad_request(
                "reviewer: missing; open the queue with ?reviewer=EMAIL",
            ));
        }
        Ok(asked)
    }
}

/// A form post from a user of any role, reviewers included (CSRF checked): for the forms a
/// reviewer may send, whose handlers apply the reviewer rule themselves.
pub struct UiAnyForm(pub UiForm);

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

/// Admins and viewers only; a reviewer gets 403 (see [`UiAnyForm`]).
impl FromRequest<AppState> for UiForm {
    type Rejection = UiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let UiAnyForm(form) = UiAnyForm::from_request(req, state).await?;
        if !form.authed.is_staff() {
            return Err(UiError::reviewer_only());
        }
        Ok(form)
    }
}

impl FromRequest<AppState> for UiAnyForm {
    type Rejection = UiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let UiAnyUser(authed) = UiAnyUser::from_request_parts(&mut parts, state).await?;
        let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
            .await
            .map_err(|_| UiError::bad_request("the form is too large"))?;
        let fields: Vec<(String, String)> = if is_form(&parts.headers) || bytes.is_empty() {
            parse_form(&bytes)
        } else {
            return Err(UiError::bad_request(
                "send the form as application/x-www-form-urlencoded",
            ));
        };
        let header_ok = parts
            .headers
            .get(CSRF_HEADER)
            .is_some_and(|v| authed.csrf_matches(v.as_bytes()));
        let field_ok = fields
            .iter()
            .any(|(k, v)| k == "csrf_token" && authed.csrf_matches(v.as_bytes()));
        if !header_ok && !field_ok {
            return Err(ApiError::csrf().into());
        }
        Ok(UiAnyForm(UiForm { authed, fields }))
    }
}

fn parse_form(bytes: &Bytes) -> Vec<(String, String)> {
    url::form_urlencoded::parse(bytes)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The query string of a GET as pairs (filters, paging).
pub fn query_pairs(parts: &axum::http::Uri) -> Vec<(String, String)> {
    parts
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// `1`-based page number from a query value; bad input is a 400 naming the parameter.
pub fn parse_page(value: Option<&str>) -> Result<u64, UiError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(1),
        Some(v) => match v.parse::<u64>() {
            Ok(n) if n >= 1 => Ok(n),
            _ => Err(UiError::bad_request(format!(
                "page: {v:?} is not a page number; pages start at 1"
            ))),
        },
    }
}

/// Percent-encode a query value.
pub fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A timestamp as the UI shows it.
pub fn when(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// An optional timestamp, or "never".
pub fn when_opt(t: Option<&chrono::DateTime<chrono::Utc>>) -> String {
    t.map_or_else(|| "never".to_string(), when)
}
