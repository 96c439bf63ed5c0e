//! The HTTP side: routing of `/api/v1/*`, token auth and the role permission matrix, Okta
//! paging (`limit`, opaque `after`, `Link` headers), errors, writes, and the `/__sim/*`
//! control endpoints.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, delete, get, post};
use axum::{Json, Router};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Value, json};

use crate::org::{self, App, AppUser, GroupType, Holder, LogEvent, Ms, Org, Scope, Status, Target};
use crate::query::{self, Expr, Op};
use crate::render;
use crate::traffic::Traffic;

/// Shared server state.
pub struct AppState {
    pub org: RwLock<Org>,
    pub legacy_org: bool,
    /// `SimConfig::now`: the simulated clock starts here and advances with wall time.
    pub anchor: Ms,
    pub started: Instant,
    pub counter: AtomicU64,
    pub seed: u64,
}

impl AppState {
    pub fn read(&self) -> RwLockReadGuard<'_, Org> {
        self.org.read().unwrap_or_else(|e| e.into_inner())
    }
    pub fn write(&self) -> RwLockWriteGuard<'_, Org> {
        self.org.write().unwrap_or_else(|e| e.into_inner())
    }
    /// The simulated "now" in ms: the data anchor plus the time the server has been up.
    pub fn sim_now(&self) -> Ms {
        self.anchor + self.started.elapsed().as_millis() as i64
    }
    fn next_token(&self, len: usize) -> String {
        const A: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let mut x = self.seed
            ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ (self.started.elapsed().as_nanos() as u64);
        let mut s = String::with_capacity(len);
        for _ in 0..len {
            // splitmix64 step per character
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            s.push(A[(z % 62) as usize] as char);
        }
        s
    }
    pub fn request_id(&self) -> String {
        self.next_token(27)
    }
}

// ---------------------------------------------------------------------------------------
// Errors

pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    summary: String,
    causes: Vec<String>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, summary: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            summary: summary.into(),
            causes: Vec::new(),
        }
    }
    fn cause(mut self, c: impl Into<String>) -> Self {
        self.causes.push(c.into());
        self
    }
    fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "E0000011",
            "Invalid token provided",
        )
    }
    fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "E0000006",
            "You do not have permission to perform the requested action",
        )
    }
    fn not_found(id: &str, kind: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "E0000007",
            format!("Not found: Resource not found: {id} ({kind})"),
        )
    }
    fn no_path() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "E0000008",
            "The requested path was not found",
        )
    }
    fn bad_cursor() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "E0000029",
            "Invalid paging request.",
        )
        .cause("Invalid cursor.")
    }
    fn bad_search(why: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "E0000031",
            "Invalid search criteria.",
        )
        .cause(why.to_string())
    }
    fn validation(what: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "E0000001",
            format!("Api validation failed: {what}"),
        )
        .cause(format!("{what}: invalid value"))
    }
    fn method() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "E0000022",
            "The endpoint does not support the provided HTTP method",
        )
    }
    fn render(self, error_id: String) -> Response {
        let body = json!({
            "errorCode": self.code,
            "errorSummary": self.summary,
            "errorLink": self.code,
            "errorId": format!("oae{error_id}"),
            "errorCauses": self.causes.iter().map(|c| json!({"errorSummary": c})).collect::<Vec<_>>(),
        });
        json_response(self.status, body.to_string(), Vec::new())
    }
}

fn json_response(status: StatusCode, body: String, links: Vec<String>) -> Response {
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    for l in links {
        if let Ok(v) = HeaderValue::from_str(&l) {
            h.append(header::LINK, v);
        }
    }
    resp
}

// ---------------------------------------------------------------------------------------
// Auth and permissions

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Super,
    OrgAdmin,
    AppAdmin,
    ReadOnly,
    NoAdmin,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Perm {
    Me,
    Users,
    Roles,
    Factors,
    Groups,
    Apps,
    Policies,
    Logs,
    Settings,
    WriteUser,
    WriteAppUser,
    WriteGroupMember,
}

fn allowed(role: Role, p: Perm) -> bool {
    use Perm::*;
    match role {
        Role::Super => true,
        Role::OrgAdmin => p != Roles,
        Role::AppAdmin => matches!(p, Me | Users | Groups | Apps | Settings | WriteAppUser),
        Role::ReadOnly => !matches!(p, Roles | WriteUser | WriteAppUser | WriteGroupMember),
        Role::NoAdmin => p == Me,
    }
}

fn authenticate(org: &Org, headers: &HeaderMap) -> Result<(Role, usize), ApiError> {
    let raw = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(ApiError::unauthorized)?;
    let token = raw
        .strip_prefix("SSWS")
        .ok_or_else(ApiError::unauthorized)?
        .trim();
    let i = org
        .tokens
        .iter()
        .position(|t| t == token)
        .ok_or_else(ApiError::unauthorized)?;
    let role = match i {
        0 => Role::Super,
        1 => Role::OrgAdmin,
        2 => Role::AppAdmin,
        3 => Role::ReadOnly,
        4 => Role::NoAdmin,
        _ => return Err(ApiError::unauthorized()),
    };
    Ok((role, org.token_users[i] as usize))
}

// ---------------------------------------------------------------------------------------
// Request context: base URL, query parameters, links

const QUERY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

struct Ctx {
    base: String,
    path: String,
    params: Vec<(String, String)>,
}

impl Ctx {
    fn new(headers: &HeaderMap, uri: &axum::http::Uri) -> Ctx {
        let host = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("127.0.0.1");
        let proto = headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .map(|p| p.split(',').next().unwrap_or("http").trim().to_string())
            .filter(|p| p == "http" || p == "https")
            .unwrap_or_else(|| "http".into());
        let params = uri
            .query()
            .map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default();
        Ctx {
            base: format!("{proto}://{host}"),
            path: uri.path().to_string(),
            params,
        }
    }
    fn get(&self, k: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    }
    fn limit(&self, default: usize, max: usize) -> Result<usize, ApiError> {
        match self.get("limit") {
            None => Ok(default),
            Some(s) => match s.trim().parse::<i64>() {
                Ok(n) if n <= 0 => Ok(default.min(max)),
                Ok(n) => Ok((n as usize).min(max)),
                Err(_) => Err(ApiError::validation("limit")),
            },
        }
    }
    fn url(&self, params: &[(String, String)]) -> String {
        let mut s = format!("{}{}", self.base, self.path);
        for (i, (k, v)) in params.iter().enumerate() {
            s.push(if i == 0 { '?' } else { '&' });
            s.push_str(&utf8_percent_encode(k, QUERY).to_string());
            s.push('=');
            s.push_str(&utf8_percent_encode(v, QUERY).to_string());
        }
        s
    }
    /// The `self` URL: the request's parameters with the effective limit.
    fn self_url(&self, limit: Option<usize>) -> String {
        let mut p: Vec<(String, String)> = self
            .params
            .iter()
            .filter(|(k, _)| k != "limit")
            .cloned()
            .collect();
        if let Some(l) = limit {
            p.push(("limit".into(), l.to_string()));
        }
        self.url(&p)
    }
    fn next_url(&self, cursor: &str, limit: Option<usize>) -> String {
        let mut p: Vec<(String, String)> = vec![("after".into(), cursor.to_string())];
        p.extend(
            self.params
                .iter()
                .filter(|(k, _)| k != "after" && k != "limit")
                .cloned(),
        );
        if let Some(l) = limit {
            p.push(("limit".into(), l.to_string()));
        }
        self.url(&p)
    }
    fn links(&self, limit: usize, next: Option<&str>) -> Vec<String> {
        let mut v = vec![format!("<{}>; rel=\"self\"", self.self_url(Some(limit)))];
        if let Some(c) = next {
            v.push(format!("<{}>; rel=\"next\"", self.next_url(c, Some(limit))));
        }
        v
    }
}

fn valid_id(s: &str) -> bool {
    s.len() == 20 && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Okta cursors are opaque; ours are the last item's id (users: `0` + id, as recorded).
fn parse_cursor(after: Option<&str>) -> Result<Option<String>, ApiError> {
    match after {
        None => Ok(None),
        Some(a) => {
            let id = if a.len() == 21 {
                a.strip_prefix('0').unwrap_or(a)
            } else {
                a
            };
            if valid_id(id) {
                Ok(Some(id.to_string()))
            } else {
                Err(ApiError::bad_cursor())
            }
        }
    }
}

/// Page over `items` (sorted by id) from after `after`: indices of up to `limit` kept items,
/// and the cursor id for the next page if more kept items follow.
fn page<'a, T>(
    items: &'a [T],
    id_of: impl Fn(&'a T) -> &'a str,
    after: Option<&str>,
    limit: usize,
    keep: impl Fn(&'a T) -> bool,
) -> (Vec<usize>, Option<String>) {
    let start = match after {
        Some(a) => {
            let (mut lo, mut hi) = (0, items.len());
            while lo < hi {
                let mid = (lo + hi) / 2;
                if id_of(&items[mid]) <= a {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            lo
        }
        None => 0,
    };
    let mut out = Vec::with_capacity(limit.min(1024));
    let mut next = None;
    for (i, t) in items.iter().enumerate().skip(start) {
        if !keep(t) {
            continue;
        }
        if out.len() == limit {
            next = out.last().map(|&j: &usize| id_of(&items[j]).to_string());
            break;
        }
        out.push(i);
    }
    (out, next)
}

fn array_of(values: impl Iterator<Item = Value>) -> String {
    Value::Array(values.collect()).to_string()
}

/// A JSON array of items each written by `write` (the hot paths' struct renderers, which
/// build no `Value`).
fn array_with<T>(items: impl Iterator<Item = T>, mut write: impl FnMut(&mut Vec<u8>, T)) -> String {
    let mut out = Vec::with_capacity(64 * 1024);
    out.push(b'[');
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write(&mut out, item);
    }
    out.push(b']');
    // serde_json writes UTF-8.
    String::from_utf8(out).unwrap_or_default()
}

// ---------------------------------------------------------------------------------------
// Attribute access for filter/search

fn user_attr(org: &Org, u: &org::User, attr: &str) -> Option<String> {
    Some(match attr {
        "id" => u.id.clone(),
        "status" => u.status.as_str().to_string(),
        "created" => render::ts(u.created),
        "lastUpdated" => render::ts(u.last_updated),
        "activated" => render::ts(u.activated?),
        "statusChanged" => render::ts(u.status_changed?),
        "lastLogin" => render::ts(u.last_login?),
        "passwordChanged" => render::ts(u.password_changed?),
        "type.id" => "otyc04qb2rUDcq2YA1d7".into(),
        "profile.firstName" => u.first.clone(),
        "profile.lastName" => u.last.clone(),
        "profile.login" => u.login.clone(),
        "profile.email" => u.email.clone(),
        "profile.secondEmail" => u.second_email.clone()?,
        "profile.mobilePhone" => u.mobile_phone.clone()?,
        "profile.department" => {
            org::DEPARTMENTS[u.department as usize % org::DEPARTMENTS.len()].to_string()
        }
        "profile.title" => u.title.to_string(),
        "profile.employeeNumber" => u.employee_number.to_string(),
        "profile.manager" => org.users.get(u.manager? as usize)?.login.clone(),
        "profile.managerId" => org.users.get(u.manager? as usize)?.id.clone(),
        _ => return None,
    })
}

fn parse_checked(s: &str, ok: &dyn Fn(&str, Op) -> bool) -> Result<Expr, ApiError> {
    let e = query::parse(s).map_err(|e| ApiError::bad_search(&e.0))?;
    let mut bad = None;
    e.visit(&mut |a, op| {
        if !ok(a, op) && bad.is_none() {
            bad = Some(format!("Unsupported attribute or operator: {a}"));
        }
    });
    match bad {
        Some(b) => Err(ApiError::bad_search(&b)),
        None => Ok(e),
    }
}

// ---------------------------------------------------------------------------------------
// Router

pub fn router(state: Arc<AppState>, traffic: Arc<Traffic>) -> Router {
    let api = Router::new()
        .route("/api/{*rest}", any(api_handler))
        .with_state(state.clone())
        .layer(axum::middleware::from_fn_with_state(
            traffic.clone(),
            crate::traffic::layer,
        ));
    let control = Router::new()
        .route("/__sim/truth", get(truth_handler))
        .route("/__sim/apps", post(add_app_handler))
        .route("/__sim/apps/{id}", delete(remove_app_handler))
        .route(
            "/__sim/users/{id}/second-email",
            post(set_second_email_handler),
        )
        .with_state(state.clone())
        .route(
            "/__sim/stats",
            get(move || {
                let t = traffic.clone();
                async move { Json(t.stats_json()) }
            }),
        );
    api.merge(control)
        .fallback(|| async { ApiError::no_path().render("0".repeat(22)) })
        .layer(axum::middleware::from_fn_with_state(state, common_headers))
}

/// `X-Okta-Request-Id` and `Date` on every response.
async fn common_headers(
    State(state): State<Arc<AppState>>,
    req: Request,
    next: axum::middleware::Next,
) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    if !h.contains_key("x-okta-request-id")
        && let Ok(v) = HeaderValue::from_str(&state.request_id())
    {
        h.insert("x-okta-request-id", v);
    }
    if !h.contains_key(header::DATE)
        && let Ok(v) = HeaderValue::from_str(&httpdate::fmt_http_date(std::time::SystemTime::now()))
    {
        h.insert(header::DATE, v);
    }
    resp
}

async fn truth_handler(State(state): State<Arc<AppState>>) -> Response {
    let t = crate::truth_of(&state.read());
    json_response(
        StatusCode::OK,
        serde_json::to_string(&t).unwrap_or_default(),
        Vec::new(),
    )
}

async fn add_app_handler(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    uri: axum::http::Uri,
    body: axum::body::Bytes,
) -> Response {
    let ctx = Ctx::new(&headers, &uri);
    let v: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(_) => {
            return ApiError::new(
                StatusCode::BAD_REQUEST,
                "E0000003",
                "The request body was not well-formed.",
            )
            .render(state.next_token(22));
        }
    };
    let label = v
        .get("label")
        .and_then(Value::as_str)
        .unwrap_or("New App")
        .to_string();
    let mode: &'static str = match v
        .get("signOnMode")
        .and_then(Value::as_str)
        .unwrap_or("SAML_2_0")
    {
        "OPENID_CONNECT" => "OPENID_CONNECT",
        "BOOKMARK" => "BOOKMARK",
        "AUTO_LOGIN" => "AUTO_LOGIN",
        "BROWSER_PLUGIN" => "BROWSER_PLUGIN",
        "SAML_2_0" => "SAML_2_0",
        _ => return ApiError::validation("signOnMode").render(state.next_token(22)),
    };
    let now = state.sim_now();
    let mut org = state.write();
    let id = org.mint_id("0oa");
    let name = label
        .to_ascii_lowercase()
        .replace(|c: char| !c.is_ascii_alphanumeric(), "_");
    let app = App {
        id,
        name,
        label,
        sign_on_mode: mode,
        active: true,
        created: now,
        last_updated: now,
        deleted: false,
        users: Vec::new(),
        groups: Vec::new(),
    };
    let admin = org::user_target(&org.users[0]);
    let t = org::app_target(&app);
    push_event(
        &mut org,
        now,
        &admin,
        "application.lifecycle.create",
        "Create application",
        Some("app.generic.config.app_created"),
        vec![t],
    );
    let policy = org
        .policies
        .iter()
        .find(|p| p.policy_type == "ACCESS_POLICY")
        .map(|p| p.id.clone())
        .unwrap_or_default();
    let v = render::app(&app, &ctx.base, &policy);
    org.apps.push(app);
    json_response(StatusCode::OK, v.to_string(), Vec::new())
}

async fn remove_app_handler(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Response {
    let now = state.sim_now();
    let mut org = state.write();
    let Some(a) = org.find_app(&id) else {
        return ApiError::not_found(&id, "AppInstance").render(state.next_token(22));
    };
    org.apps[a].deleted = true;
    org.apps[a].users.clear();
    org.apps[a].groups.clear();
    let admin = org::user_target(&org.users[0]);
    let t = org::app_target(&org.apps[a]);
    push_event(
        &mut org,
        now,
        &admin,
        "application.lifecycle.delete",
        "Delete application",
        Some("app.generic.config.app_deleted"),
        vec![t],
    );
    StatusCode::NO_CONTENT.into_response()
}

/// Test hook: set (or, with an empty body, clear) a user's `secondEmail`, e.g. to make two
/// accounts share an email address. Body: the address as plain text.
async fn set_second_email_handler(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let mut org = state.write();
    let Some(u) = org.find_user(&id) else {
        return ApiError::not_found(&id, "User").render(state.next_token(22));
    };
    let email = String::from_utf8_lossy(&body).trim().to_string();
    org.users[u].second_email = (!email.is_empty()).then_some(email);
    org.refresh_user(u);
    StatusCode::NO_CONTENT.into_response()
}

fn push_event(
    org: &mut Org,
    now: Ms,
    actor: &Target,
    t: &'static str,
    msg: &'static str,
    legacy: Option<&'static str>,
    targets: Vec<Target>,
) {
    let published = (now / 1000 * 1000).max(org.logs.last().map(|e| e.published).unwrap_or(0));
    let mut rng = org.id_rng.clone();
    let e = org::admin_event(&mut rng, published, actor, t, msg, legacy, targets);
    org.id_rng = rng;
    append_event(org, e);
}

/// Append a run-time event after every existing one: events in the same second are ordered by
/// uuid, so the new uuid's first segment is bumped past the last event's when needed.
pub fn append_event(org: &mut Org, mut e: LogEvent) {
    if let Some(last) = org.logs.last() {
        if last.published > e.published {
            e.published = last.published;
        }
        if last.published == e.published && last.uuid >= e.uuid {
            let first = u32::from_str_radix(&last.uuid[..8], 16)
                .unwrap_or(0)
                .saturating_add(1);
            e.uuid = format!("{first:08x}{}", &e.uuid[8..]);
        }
    }
    insert_event(org, e);
}

pub fn insert_event(org: &mut Org, e: LogEvent) {
    let pos = org
        .logs
        .partition_point(|x| (x.published, x.uuid.as_str()) <= (e.published, e.uuid.as_str()));
    org.log_json.insert(pos, org::render_log_event(&e));
    org.logs.insert(pos, e);
}

async fn api_handler(
    State(state): State<Arc<AppState>>,
    method: Method,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    match handle(&state, &method, &headers, &uri) {
        Ok(r) => r,
        Err(e) => e.render(state.next_token(22)),
    }
}

fn handle(
    state: &AppState,
    method: &Method,
    headers: &HeaderMap,
    uri: &axum::http::Uri,
) -> Result<Response, ApiError> {
    let ctx = Ctx::new(headers, uri);
    let segs: Vec<String> = ctx
        .path
        .trim_start_matches('/')
        .split('/')
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let rest = match segs.as_slice() {
        ["api", "v1", rest @ ..] if !rest.is_empty() => rest,
        _ => return Err(ApiError::no_path()),
    };
    let is_get = method == Method::GET;
    if *method != Method::GET && *method != Method::POST && *method != Method::DELETE {
        return Err(ApiError::method());
    }
    // Writes take the write lock; everything else a read lock.
    let write_route = matches!(
        (method.as_str(), rest),
        ("POST", ["users", _, "lifecycle", "deactivate"])
            | ("DELETE", ["users", _])
            | ("DELETE", ["apps", _, "users", _])
            | ("DELETE", ["groups", _, "users", _])
    );
    if write_route {
        return handle_write(state, method, headers, rest);
    }
    if !is_get {
        return Err(ApiError::method());
    }
    let org = state.read();
    let (role, me) = authenticate(&org, headers)?;
    let need = |p: Perm| {
        if allowed(role, p) {
            Ok(())
        } else {
            Err(ApiError::forbidden())
        }
    };
    match rest {
        ["users"] => {
            need(Perm::Users)?;
            list_users(&org, &ctx)
        }
        ["users", "me"] => {
            need(Perm::Me)?;
            one_user(&org, &ctx, me)
        }
        ["users", id] => {
            need(Perm::Users)?;
            let u = org
                .find_user(id)
                .ok_or_else(|| ApiError::not_found(id, "User"))?;
            one_user(&org, &ctx, u)
        }
        ["users", id, sub] => {
            let u = if *id == "me" {
                Some(me)
            } else {
                org.find_user(id)
            };
            let perm = match *sub {
                "roles" => Perm::Roles,
                "factors" => Perm::Factors,
                "groups" | "appLinks" => Perm::Users,
                _ => return Err(ApiError::no_path()),
            };
            need(perm)?;
            let u = u.ok_or_else(|| ApiError::not_found(id, "User"))?;
            match *sub {
                "roles" => {
                    let v = org.user_roles(u).into_iter().map(|r| {
                        let mut v = render::role(&org, r, &ctx.base);
                        if let Holder::Group(_) = r.holder {
                            v["assignmentType"] = json!("GROUP");
                        }
                        v
                    });
                    Ok(json_response(StatusCode::OK, array_of(v), Vec::new()))
                }
                "factors" => {
                    let user = &org.users[u];
                    let v = user
                        .factors
                        .iter()
                        .map(|f| render::factor(user, f, &ctx.base));
                    Ok(json_response(StatusCode::OK, array_of(v), Vec::new()))
                }
                "groups" => {
                    let mut gs = vec![org.everyone as usize];
                    gs.extend(org.user_groups[u].iter().map(|&g| g as usize));
                    let v = gs
                        .into_iter()
                        .map(|g| render::group(&org.groups[g], &ctx.base));
                    Ok(json_response(
                        StatusCode::OK,
                        array_of(v),
                        vec![format!("<{}>; rel=\"self\"", ctx.self_url(Some(200)))],
                    ))
                }
                _ => {
                    let user = &org.users[u];
                    let v = org
                        .apps
                        .iter()
                        .filter(|a| {
                            !a.deleted
                                && a.active
                                && a.users
                                    .binary_search_by_key(&(u as u32), |au| au.user)
                                    .is_ok()
                        })
                        .map(|a| render::app_link(a, user, &ctx.base));
                    Ok(json_response(StatusCode::OK, array_of(v), Vec::new()))
                }
            }
        }
        ["groups"] => {
            need(Perm::Groups)?;
            list_groups(&org, &ctx)
        }
        ["groups", id] => {
            need(Perm::Groups)?;
            let g = org
                .find_group(id)
                .ok_or_else(|| ApiError::not_found(id, "UserGroup"))?;
            Ok(json_response(
                StatusCode::OK,
                render::group(&org.groups[g], &ctx.base).to_string(),
                Vec::new(),
            ))
        }
        ["groups", id, "users"] => {
            need(Perm::Groups)?;
            let g = org
                .find_group(id)
                .ok_or_else(|| ApiError::not_found(id, "UserGroup"))?;
            let limit = ctx.limit(1000, 1000)?;
            let after = parse_cursor(ctx.get("after"))?;
            let members = org.group_members(g);
            let (idx, next) = page(
                &members,
                |&m| org.users[m as usize].id.as_str(),
                after.as_deref(),
                limit,
                |_| true,
            );
            let mut out = String::with_capacity(idx.len() * 900 + 2);
            out.push('[');
            for (k, i) in idx.iter().enumerate() {
                if k > 0 {
                    out.push(',');
                }
                render::user_cached_into(&mut out, &org, members[*i] as usize, &ctx.base);
            }
            out.push(']');
            Ok(json_response(
                StatusCode::OK,
                out,
                ctx.links(limit, next.as_deref()),
            ))
        }
        ["groups", id, "roles"] => {
            need(Perm::Roles)?;
            let g = org
                .find_group(id)
                .ok_or_else(|| ApiError::not_found(id, "UserGroup"))?;
            let v = org
                .roles
                .iter()
                .filter(|r| r.holder == Holder::Group(g as u32))
                .map(|r| render::role(&org, r, &ctx.base));
            Ok(json_response(StatusCode::OK, array_of(v), Vec::new()))
        }
        ["apps"] => {
            need(Perm::Apps)?;
            list_apps(&org, &ctx)
        }
        ["apps", id] => {
            need(Perm::Apps)?;
            let a = org
                .find_app(id)
                .ok_or_else(|| ApiError::not_found(id, "AppInstance"))?;
            Ok(json_response(
                StatusCode::OK,
                render::app(&org.apps[a], &ctx.base, &access_policy(&org)).to_string(),
                Vec::new(),
            ))
        }
        ["apps", id, "users"] => {
            need(Perm::Apps)?;
            let a = org
                .find_app(id)
                .ok_or_else(|| ApiError::not_found(id, "AppInstance"))?;
            let app = &org.apps[a];
            let limit = ctx.limit(50, 500)?;
            let after = parse_cursor(ctx.get("after"))?;
            let q = ctx.get("q").map(str::to_lowercase);
            let expand_user = ctx.get("expand") == Some("user");
            let (idx, next) = page(
                &app.users,
                |au| org.users[au.user as usize].id.as_str(),
                after.as_deref(),
                limit,
                |au| {
                    q.as_deref().is_none_or(|q| {
                        let u = &org.users[au.user as usize];
                        [&u.first, &u.last, &u.email, &u.login]
                            .iter()
                            .any(|s| s.to_lowercase().starts_with(q))
                    })
                },
            );
            let body = if expand_user {
                array_of(idx.iter().map(|&i| {
                    let au: &AppUser = &app.users[i];
                    let mut v = render::app_user(&org, app, au, &ctx.base);
                    v["_embedded"] = json!({"user": render::user_value(&org, &org.users[au.user as usize], &ctx.base)});
                    v
                }))
            } else {
                array_with(idx.iter(), |out, &i| {
                    render::app_user_into(out, &org, app, &app.users[i], &ctx.base)
                })
            };
            Ok(json_response(
                StatusCode::OK,
                body,
                ctx.links(limit, next.as_deref()),
            ))
        }
        ["apps", id, "groups"] => {
            need(Perm::Apps)?;
            let a = org
                .find_app(id)
                .ok_or_else(|| ApiError::not_found(id, "AppInstance"))?;
            let app = &org.apps[a];
            let limit = ctx.limit(20, 200)?;
            let after = parse_cursor(ctx.get("after"))?;
            let (idx, next) = page(
                &app.groups,
                |ag| org.groups[ag.group as usize].id.as_str(),
                after.as_deref(),
                limit,
                |_| true,
            );
            let v = idx
                .iter()
                .map(|&i| render::app_group(&org, app, &app.groups[i], &ctx.base));
            Ok(json_response(
                StatusCode::OK,
                array_of(v),
                ctx.links(limit, next.as_deref()),
            ))
        }
        ["iam", "assignees", "users"] => {
            if state.legacy_org {
                return Err(ApiError::no_path());
            }
            need(Perm::Roles)?;
            let limit = ctx.limit(100, 100)?;
            let after = parse_cursor(ctx.get("after"))?;
            let holders = role_holders(&org);
            let start = after
                .as_deref()
                .map(|a| holders.partition_point(|&u| org.users[u].id.as_str() <= a))
                .unwrap_or(0);
            let chosen: Vec<usize> = holders[start..].iter().take(limit).copied().collect();
            let more = holders.len() > start + chosen.len();
            let mut body = json!({"value": chosen.iter().map(|&u| render::assignee(&org, u, &ctx.base)).collect::<Vec<_>>()});
            if more && let Some(&last) = chosen.last() {
                body["_links"] =
                    json!({"next": {"href": ctx.next_url(&org.users[last].id, Some(limit))}});
            }
            Ok(json_response(StatusCode::OK, body.to_string(), Vec::new()))
        }
        ["policies"] => {
            need(Perm::Policies)?;
            let t = ctx
                .get("type")
                .ok_or_else(|| ApiError::validation("type"))?;
            const TYPES: [&str; 12] = [
                "ACCESS_POLICY",
                "ENTITY_RISK",
                "IDP_DISCOVERY",
                "MFA_ENROLL",
                "OKTA_SIGN_ON",
                "PASSWORD",
                "POST_AUTH_SESSION",
                "PROFILE_ENROLLMENT",
                "DEVICE_SIGNAL_COLLECTION",
                "SESSION_VIOLATION_DETECTION",
                "CLIENT_UPDATE",
                "IDENTITY_CLAIM_SOURCING",
            ];
            if !TYPES.contains(&t) {
                return Err(ApiError::validation("type"));
            }
            let v = org
                .policies
                .iter()
                .filter(|p| p.policy_type == t)
                .map(|p| render::policy(&org, p, &ctx.base));
            Ok(json_response(
                StatusCode::OK,
                array_of(v),
                vec![format!("<{}>; rel=\"self\"", ctx.self_url(None))],
            ))
        }
        ["policies", id] => {
            need(Perm::Policies)?;
            let p = org
                .find_policy(id)
                .ok_or_else(|| ApiError::not_found(id, "Policy"))?;
            Ok(json_response(
                StatusCode::OK,
                render::policy(&org, &org.policies[p], &ctx.base).to_string(),
                Vec::new(),
            ))
        }
        ["policies", id, "rules"] => {
            need(Perm::Policies)?;
            let p = org
                .find_policy(id)
                .ok_or_else(|| ApiError::not_found(id, "Policy"))?;
            let pol = &org.policies[p];
            let v = pol.rules.iter().map(|r| render::rule(pol, r, &ctx.base));
            Ok(json_response(StatusCode::OK, array_of(v), Vec::new()))
        }
        ["logs"] => {
            need(Perm::Logs)?;
            logs(&org, &ctx, state.sim_now())
        }
        ["rate-limit-settings", "warning-threshold"] => {
            need(Perm::Settings)?;
            Ok(json_response(
                StatusCode::OK,
                json!({"warningThreshold": org.warning_threshold}).to_string(),
                Vec::new(),
            ))
        }
        ["rate-limit-settings", "admin-notifications"] => {
            need(Perm::Settings)?;
            Ok(json_response(
                StatusCode::OK,
                json!({"notificationsEnabled": org.notifications_enabled}).to_string(),
                Vec::new(),
            ))
        }
        _ => Err(ApiError::no_path()),
    }
}

/// Users holding any admin role (directly or through a group), in id order.
fn role_holders(org: &Org) -> Vec<usize> {
    let mut v: Vec<usize> = Vec::new();
    for r in &org.roles {
        match r.holder {
            Holder::User(u) => v.push(u as usize),
            Holder::Group(g) => {
                v.extend(org.groups[g as usize].members.iter().map(|&u| u as usize))
            }
        }
    }
    v.retain(|&u| !org.users[u].deleted && org.users[u].status.is_enrolled());
    v.sort_unstable();
    v.dedup();
    v
}

fn access_policy(org: &Org) -> String {
    org.policies
        .iter()
        .find(|p| p.policy_type == "ACCESS_POLICY")
        .map(|p| p.id.clone())
        .unwrap_or_default()
}

/// A single user: like the list entry, plus the richer `_links` Okta returns on a GET by id
/// (schema, lifecycle operations for the status, self, type).
fn one_user(org: &Org, ctx: &Ctx, u: usize) -> Result<Response, ApiError> {
    let user = &org.users[u];
    let mut v = render::user_value(org, user, &ctx.base);
    let base = &ctx.base;
    let id = &user.id;
    let mut links = serde_json::Map::new();
    links.insert(
        "schema".into(),
        json!({"href": format!("{base}/api/v1/meta/schemas/user/oscc04qb2rUDcq2YA1d7")}),
    );
    match user.status {
        Status::Staged | Status::Provisioned | Status::Deprovisioned => {
            links.insert("activate".into(), json!({"href": format!("{base}/api/v1/users/{id}/lifecycle/activate"), "method": "POST"}));
        }
        Status::Suspended => {
            links.insert("unsuspend".into(), json!({"href": format!("{base}/api/v1/users/{id}/lifecycle/unsuspend"), "method": "POST"}));
        }
        _ => {
            links.insert("suspend".into(), json!({"href": format!("{base}/api/v1/users/{id}/lifecycle/suspend"), "method": "POST"}));
        }
    }
    links.insert(
        "self".into(),
        json!({"href": format!("{base}/api/v1/users/{id}")}),
    );
    if user.status == Status::Deprovisioned {
        links.insert("resetFactors".into(), json!({"href": format!("{base}/api/v1/users/{id}/lifecycle/reset_factors"), "method": "POST"}));
    }
    links.insert(
        "type".into(),
        json!({"href": format!("{base}/api/v1/meta/types/user/otyc04qb2rUDcq2YA1d7")}),
    );
    if user.status == Status::Deprovisioned {
        links.insert(
            "delete".into(),
            json!({"href": format!("{base}/api/v1/users/{id}"), "method": "DELETE"}),
        );
    } else {
        links.insert("deactivate".into(), json!({"href": format!("{base}/api/v1/users/{id}/lifecycle/deactivate"), "method": "POST"}));
    }
    v["_links"] = Value::Object(links);
    Ok(json_response(StatusCode::OK, v.to_string(), Vec::new()))
}

fn list_users(org: &Org, ctx: &Ctx) -> Result<Response, ApiError> {
    let search = ctx.get("search");
    let filter = ctx.get("filter");
    let q = ctx.get("q");
    if let Some(q) = q.filter(|_| search.is_none() && filter.is_none()) {
        // `q`: prefix match, omits DEPROVISIONED, no paging.
        let limit = ctx.limit(10, 200)?;
        let q = q.to_lowercase();
        let mut out = String::from("[");
        let mut n = 0;
        for u in org.users.iter() {
            if n == limit {
                break;
            }
            if u.deleted || u.status == Status::Deprovisioned {
                continue;
            }
            if [&u.first, &u.last, &u.email, &u.login]
                .iter()
                .any(|s| s.to_lowercase().starts_with(&q))
            {
                if n > 0 {
                    out.push(',');
                }
                render::user_into(&mut out, org, u, &ctx.base);
                n += 1;
            }
        }
        out.push(']');
        return Ok(json_response(
            StatusCode::OK,
            out,
            vec![format!("<{}>; rel=\"self\"", ctx.self_url(Some(limit)))],
        ));
    }
    let limit = ctx.limit(200, 200)?;
    let after = parse_cursor(ctx.get("after"))?;
    let expr = match (search, filter) {
        (Some(s), _) => Some(parse_checked(s, &|a, op| {
            (a.starts_with("profile.")
                || [
                    "id",
                    "status",
                    "created",
                    "lastUpdated",
                    "activated",
                    "statusChanged",
                    "lastLogin",
                    "passwordChanged",
                    "type.id",
                ]
                .contains(&a))
                && op != Op::Ew
        })?),
        (None, Some(f)) => Some(parse_checked(f, &|a, op| match a {
            "status" | "id" | "profile.login" | "profile.email" | "profile.firstName"
            | "profile.lastName" => op == Op::Eq,
            "lastUpdated" => matches!(op, Op::Eq | Op::Gt | Op::Ge | Op::Lt | Op::Le),
            _ => false,
        })?),
        _ => None,
    };
    // Fast path for the privacy lookups (`profile.email eq "x"` and friends): no allocation.
    let exact: Option<(&str, &str)> = match &expr {
        Some(Expr::Cmp {
            attr,
            op: Op::Eq,
            value: Some(v),
        }) if matches!(
            attr.as_str(),
            "id" | "profile.email" | "profile.login" | "profile.secondEmail"
        ) =>
        {
            Some((attr.as_str(), v.as_str()))
        }
        _ => None,
    };
    let (idx, next) = page(
        &org.users,
        |u| u.id.as_str(),
        after.as_deref(),
        limit,
        |u| {
            if u.deleted {
                return false;
            }
            if let Some((attr, v)) = exact {
                return match attr {
                    "id" => u.id == v,
                    "profile.email" => u.email.eq_ignore_ascii_case(v),
                    "profile.login" => u.login.eq_ignore_ascii_case(v),
                    _ => u
                        .second_email
                        .as_deref()
                        .is_some_and(|s| s.eq_ignore_ascii_case(v)),
                };
            }
            match &expr {
                None => u.status != Status::Deprovisioned,
                Some(e) => e.eval(&|a| user_attr(org, u, a)),
            }
        },
    );
    let mut out = String::with_capacity(idx.len() * 900 + 2);
    out.push('[');
    for (k, &i) in idx.iter().enumerate() {
        if k > 0 {
            out.push(',');
        }
        render::user_cached_into(&mut out, org, i, &ctx.base);
    }
    out.push(']');
    let next = next.map(|id| format!("0{id}"));
    Ok(json_response(
        StatusCode::OK,
        out,
        ctx.links(limit, next.as_deref()),
    ))
}

fn group_attr(g: &org::Group, a: &str) -> Option<String> {
    Some(match a {
        "id" => g.id.clone(),
        "type" => g.kind.as_str().to_string(),
        "created" => render::ts(g.created),
        "lastUpdated" => render::ts(g.last_updated),
        "lastMembershipUpdated" => render::ts(g.last_membership_updated),
        "profile.name" => g.name.clone(),
        "profile.description" => g.description.clone(),
        _ => return None,
    })
}

fn list_groups(org: &Org, ctx: &Ctx) -> Result<Response, ApiError> {
    if let Some(q) = ctx
        .get("q")
        .filter(|_| ctx.get("search").is_none() && ctx.get("filter").is_none())
    {
        let limit = ctx.limit(300, 10000)?;
        let q = q.to_lowercase();
        let v = org
            .groups
            .iter()
            .filter(|g| g.name.to_lowercase().starts_with(&q))
            .take(limit)
            .map(|g| render::group(g, &ctx.base));
        return Ok(json_response(
            StatusCode::OK,
            array_of(v),
            vec![format!("<{}>; rel=\"self\"", ctx.self_url(Some(limit)))],
        ));
    }
    let limit = ctx.limit(10000, 10000)?;
    let after = parse_cursor(ctx.get("after"))?;
    let expr = match (ctx.get("search"), ctx.get("filter")) {
        (Some(s), _) => Some(parse_checked(s, &|a, _| {
            group_attr(&org.groups[0], a).is_some()
        })?),
        (None, Some(f)) => Some(parse_checked(f, &|a, op| match a {
            "id" | "type" => op == Op::Eq,
            "lastUpdated" | "lastMembershipUpdated" => {
                matches!(op, Op::Eq | Op::Gt | Op::Ge | Op::Lt | Op::Le)
            }
            _ => false,
        })?),
        _ => None,
    };
    let (idx, next) = page(
        &org.groups,
        |g| g.id.as_str(),
        after.as_deref(),
        limit,
        |g| expr.as_ref().is_none_or(|e| e.eval(&|a| group_attr(g, a))),
    );
    let v = idx
        .iter()
        .map(|&i| render::group(&org.groups[i], &ctx.base));
    Ok(json_response(
        StatusCode::OK,
        array_of(v),
        ctx.links(limit, next.as_deref()),
    ))
}

fn list_apps(org: &Org, ctx: &Ctx) -> Result<Response, ApiError> {
    let limit = ctx.limit(20, 200)?;
    let after = parse_cursor(ctx.get("after"))?;
    let expr = match ctx.get("filter") {
        Some(f) => Some(parse_checked(f, &|a, op| {
            matches!(a, "id" | "status" | "name" | "user.id" | "group.id") && op == Op::Eq
        })?),
        None => None,
    };
    let q = ctx.get("q").map(str::to_lowercase);
    let (idx, next) = page(
        &org.apps,
        |a| a.id.as_str(),
        after.as_deref(),
        limit,
        |app| {
            if app.deleted {
                return false;
            }
            if let Some(q) = &q
                && !(app.label.to_lowercase().starts_with(q)
                    || app.name.to_lowercase().starts_with(q))
            {
                return false;
            }
            expr.as_ref().is_none_or(|e| {
                e.eval(&|a| match a {
                    "id" => Some(app.id.clone()),
                    "status" => Some(if app.active { "ACTIVE" } else { "INACTIVE" }.to_string()),
                    "name" => Some(app.name.clone()),
                    "user.id" => None,
                    "group.id" => None,
                    _ => None,
                }) || app_matches_principal(org, app, e)
            })
        },
    );
    let policy = access_policy(org);
    // `expand=user/{userId}`: each app carries that user's app user in `_embedded.user`
    // (real Okta, used with `filter=user.id eq "…"`).
    let embed_user = ctx
        .get("expand")
        .and_then(|e| e.strip_prefix("user/"))
        .and_then(|id| org.find_user(id));
    let v = idx.iter().map(|&i| {
        let app = &org.apps[i];
        let mut v = render::app(app, &ctx.base, &policy);
        if let Some(u) = embed_user
            && let Ok(pos) = app.users.binary_search_by_key(&(u as u32), |au| au.user)
        {
            v["_embedded"] =
                json!({"user": render::app_user(org, app, &app.users[pos], &ctx.base)});
        }
        v
    });
    Ok(json_response(
        StatusCode::OK,
        array_of(v),
        ctx.links(limit, next.as_deref()),
    ))
}

/// `filter=user.id eq "…"` / `group.id eq "…"`: apps assigned to that principal.
fn app_matches_principal(org: &Org, app: &App, e: &Expr) -> bool {
    if let Expr::Cmp {
        attr,
        value: Some(v),
        ..
    } = e
    {
        match attr.as_str() {
            "user.id" => {
                return org.find_user(v).is_some_and(|u| {
                    app.users
                        .binary_search_by_key(&(u as u32), |au| au.user)
                        .is_ok()
                });
            }
            "group.id" => {
                return org
                    .find_group(v)
                    .is_some_and(|g| app.groups.iter().any(|ag| ag.group as usize == g));
            }
            _ => {}
        }
    }
    false
}

// ---------------------------------------------------------------------------------------
// System Log

fn parse_time(s: &str) -> Option<Ms> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.timestamp_millis())
}

fn log_cursor(e: &LogEvent) -> String {
    format!("{}_{}", e.published, e.uuid)
}

fn logs(org: &Org, ctx: &Ctx, now: Ms) -> Result<Response, ApiError> {
    let limit = match ctx.get("limit") {
        None => 100,
        Some(s) => s
            .trim()
            .parse::<i64>()
            .map_err(|_| ApiError::validation("limit"))?
            .clamp(0, 1000) as usize,
    };
    let until = match ctx.get("until") {
        Some(s) => Some(parse_time(s).ok_or_else(|| ApiError::validation("until"))?),
        None => None,
    };
    let since = match ctx.get("since") {
        Some(s) => parse_time(s).ok_or_else(|| ApiError::validation("since"))?,
        // With an `after` cursor the cursor alone bounds the start (next links drop `since`).
        None if ctx.get("after").is_some() => Ms::MIN,
        None => until.unwrap_or(now) - 7 * org::DAY_MS,
    };
    let descending = match ctx.get("sortOrder") {
        None | Some("ASCENDING") => false,
        Some("DESCENDING") => true,
        Some(_) => return Err(ApiError::validation("sortOrder")),
    };
    let after: Option<(Ms, String)> = match ctx.get("after") {
        None => None,
        Some(a) => {
            let (ms, uuid) = a.split_once('_').ok_or_else(ApiError::bad_cursor)?;
            let ms: Ms = ms.parse().map_err(|_| ApiError::bad_cursor())?;
            if uuid.len() != 36 {
                return Err(ApiError::bad_cursor());
            }
            Some((ms, uuid.to_string()))
        }
    };
    let filter = match ctx.get("filter") {
        Some(f) => Some(parse_checked(f, &|a, _| a != "published")?),
        None => None,
    };
    let q: Vec<String> = ctx
        .get("q")
        .map(|q| q.split_whitespace().map(str::to_lowercase).collect())
        .unwrap_or_default();
    let keep = |e: &LogEvent| -> bool {
        if e.published <= since || until.is_some_and(|u| e.published > u) || e.published > now {
            return false;
        }
        if let Some(f) = &filter {
            let ok = f.eval(&|a| {
                Some(match a {
                    "eventType" => e.event_type.to_string(),
                    "uuid" => e.uuid.clone(),
                    "severity" => e.severity.to_string(),
                    "displayMessage" => e.display_message.to_string(),
                    "outcome.result" => e.result.to_string(),
                    "actor.id" => e.actor.id.clone(),
                    "actor.alternateId" => e.actor.alternate_id.clone(),
                    "actor.type" => e.actor.kind.to_string(),
                    "target.id" => e
                        .targets
                        .iter()
                        .map(|t| t.id.as_str())
                        .find(|_| true)?
                        .to_string(),
                    "legacyEventType" => e.legacy_event_type?.to_string(),
                    "client.ipAddress" => e.ip.to_string(),
                    "transaction.id" => e.transaction_id.clone(),
                    _ => return None,
                })
            });
            // target.id must match any target, not just the first.
            let ok = ok
                || matches!(f, Expr::Cmp { attr, op: Op::Eq, value: Some(v) } if attr == "target.id" && e.targets.iter().any(|t| &t.id == v));
            if !ok {
                return false;
            }
        }
        if !q.is_empty() {
            let hay = format!(
                "{} {} {} {} {}",
                e.event_type,
                e.display_message,
                e.actor.alternate_id,
                e.actor.display_name,
                e.targets
                    .iter()
                    .map(|t| format!("{} {} {}", t.id, t.alternate_id, t.display_name))
                    .collect::<Vec<_>>()
                    .join(" ")
            )
            .to_lowercase();
            if !q.iter().all(|w| hay.contains(w.as_str())) {
                return false;
            }
        }
        true
    };
    // Indices into `org.logs` (and `org.log_json`).
    let mut out: Vec<usize> = Vec::new();
    let mut more = false;
    if !descending {
        let start = match &after {
            Some((ms, uuid)) => org
                .logs
                .partition_point(|e| (e.published, e.uuid.as_str()) <= (*ms, uuid.as_str())),
            None => org.logs.partition_point(|e| e.published <= since),
        };
        for (i, e) in org.logs.iter().enumerate().skip(start) {
            if until.is_some_and(|u| e.published > u) || e.published > now {
                break;
            }
            if !keep(e) {
                continue;
            }
            if out.len() == limit {
                more = true;
                break;
            }
            out.push(i);
        }
    } else {
        let end = match &after {
            Some((ms, uuid)) => org
                .logs
                .partition_point(|e| (e.published, e.uuid.as_str()) < (*ms, uuid.as_str())),
            None => org.logs.len(),
        };
        for (i, e) in org.logs[..end].iter().enumerate().rev() {
            if e.published <= since {
                break;
            }
            if !keep(e) {
                continue;
            }
            if out.len() == limit {
                more = true;
                break;
            }
            out.push(i);
        }
    }
    let polling = until.is_none() && !descending;
    let self_url = ctx.url(&ctx.params);
    let mut links = vec![format!("<{self_url}>; rel=\"self\"")];
    if polling {
        // Polling: `next` is always there; on an empty page it equals `self`.
        let next = match out.last().map(|&i| &org.logs[i]) {
            Some(e) => {
                let mut p: Vec<(String, String)> = ctx
                    .params
                    .iter()
                    .filter(|(k, _)| k != "after" && k != "since")
                    .cloned()
                    .collect();
                p.push(("after".into(), log_cursor(e)));
                ctx.url(&p)
            }
            None => self_url.clone(),
        };
        links.push(format!("<{next}>; rel=\"next\""));
    } else if more && let Some(e) = out.last().map(|&i| &org.logs[i]) {
        let mut p: Vec<(String, String)> = ctx
            .params
            .iter()
            .filter(|(k, _)| k != "after")
            .cloned()
            .collect();
        p.push(("after".into(), log_cursor(e)));
        links.push(format!("<{}>; rel=\"next\"", ctx.url(&p)));
    }
    let body = array_with(out.into_iter(), |o, i| {
        render::log_event_cached_into(o, org, i)
    });
    Ok(json_response(StatusCode::OK, body, links))
}

// ---------------------------------------------------------------------------------------
// Writes

fn handle_write(
    state: &AppState,
    method: &Method,
    headers: &HeaderMap,
    rest: &[&str],
) -> Result<Response, ApiError> {
    let now = state.sim_now();
    let mut org = state.write();
    let (role, me) = authenticate(&org, headers)?;
    let actor = org::user_target(&org.users[me]);
    match (method.as_str(), rest) {
        ("POST", ["users", id, "lifecycle", "deactivate"]) => {
            if !allowed(role, Perm::WriteUser) {
                return Err(ApiError::forbidden());
            }
            let u = org
                .find_user(id)
                .ok_or_else(|| ApiError::not_found(id, "User"))?;
            if org.users[u].status != Status::Deprovisioned {
                deactivate(&mut org, u, now, &actor);
            }
            Ok(json_response(StatusCode::OK, "{}".into(), Vec::new()))
        }
        ("DELETE", ["users", id]) => {
            if !allowed(role, Perm::WriteUser) {
                return Err(ApiError::forbidden());
            }
            let u = org
                .find_user(id)
                .ok_or_else(|| ApiError::not_found(id, "User"))?;
            if org.users[u].status != Status::Deprovisioned {
                deactivate(&mut org, u, now, &actor);
            } else {
                delete_user(&mut org, u, now, &actor);
            }
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        ("DELETE", ["apps", app_id, "users", user_id]) => {
            if !allowed(role, Perm::WriteAppUser) {
                return Err(ApiError::forbidden());
            }
            let a = org
                .find_app(app_id)
                .ok_or_else(|| ApiError::not_found(app_id, "AppInstance"))?;
            let u = org
                .find_user(user_id)
                .ok_or_else(|| ApiError::not_found(user_id, "User"))?;
            let pos = org.apps[a]
                .users
                .binary_search_by_key(&(u as u32), |au| au.user)
                .map_err(|_| ApiError::not_found(user_id, "AppUser"))?;
            org.apps[a].users.remove(pos);
            let targets = vec![
                org::app_target(&org.apps[a]),
                org::user_target(&org.users[u]),
            ];
            push_event(
                &mut org,
                now,
                &actor,
                "application.user_membership.remove",
                "Remove user from application membership",
                Some("app.generic.unauth_app_access_attempt"),
                targets,
            );
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        ("DELETE", ["groups", group_id, "users", user_id]) => {
            if !allowed(role, Perm::WriteGroupMember) {
                return Err(ApiError::forbidden());
            }
            let g = org
                .find_group(group_id)
                .ok_or_else(|| ApiError::not_found(group_id, "UserGroup"))?;
            let u = org
                .find_user(user_id)
                .ok_or_else(|| ApiError::not_found(user_id, "User"))?;
            if org.groups[g].kind != GroupType::OktaGroup {
                return Err(ApiError::forbidden());
            }
            let pos = org.groups[g]
                .members
                .binary_search(&(u as u32))
                .map_err(|_| ApiError::not_found(user_id, "User"))?;
            org.groups[g].members.remove(pos);
            org.user_groups[u].retain(|&x| x as usize != g);
            org.groups[g].last_membership_updated = now;
            drop_group_scope(&mut org, u, g);
            let targets = vec![org::user_target(&org.users[u]), group_target(&org, g)];
            push_event(
                &mut org,
                now,
                &actor,
                "group.user_membership.remove",
                "Remove user from group membership",
                Some("core.user_group_member.user_remove"),
                targets,
            );
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        _ => Err(ApiError::no_path()),
    }
}

fn group_target(org: &Org, g: usize) -> Target {
    Target {
        id: org.groups[g].id.clone(),
        kind: "UserGroup",
        alternate_id: "unknown".into(),
        display_name: org.groups[g].name.clone(),
    }
}

/// After leaving group `g`, GROUP-scope app assignments that came only from `g` go away.
fn drop_group_scope(org: &mut Org, u: usize, g: usize) {
    let user_groups = org.user_groups[u].clone();
    for app in org.apps.iter_mut() {
        if !app.groups.iter().any(|ag| ag.group as usize == g) {
            continue;
        }
        let still = app.groups.iter().any(|ag| user_groups.contains(&ag.group));
        if still {
            continue;
        }
        if let Ok(pos) = app.users.binary_search_by_key(&(u as u32), |au| au.user)
            && app.users[pos].scope == Scope::Group
        {
            app.users.remove(pos);
        }
    }
}

/// Deactivation: status → DEPROVISIONED, factors reset, direct admin roles revoked and every
/// app assignment deprovisioned (what Okta does; group memberships stay).
fn deactivate(org: &mut Org, u: usize, now: Ms, actor: &Target) {
    let user = &mut org.users[u];
    user.status = Status::Deprovisioned;
    user.status_changed = Some(now);
    user.last_updated = now;
    user.factors.clear();
    org.roles.retain(|r| r.holder != Holder::User(u as u32));
    for app in org.apps.iter_mut() {
        if let Ok(pos) = app.users.binary_search_by_key(&(u as u32), |au| au.user) {
            app.users.remove(pos);
        }
    }
    org.refresh_user(u);
    let t = org::user_target(&org.users[u]);
    push_event(
        org,
        now,
        actor,
        "user.lifecycle.deactivate",
        "Deactivate Okta user",
        Some("core.user.config.user_deactivated"),
        vec![t],
    );
}

fn delete_user(org: &mut Org, u: usize, now: Ms, actor: &Target) {
    let t = org::user_target(&org.users[u]);
    push_event(
        org,
        now,
        actor,
        "user.lifecycle.delete.initiated",
        "Delete Okta user",
        None,
        vec![t.clone()],
    );
    let groups = std::mem::take(&mut org.user_groups[u]);
    for g in groups {
        let members = &mut org.groups[g as usize].members;
        if let Ok(pos) = members.binary_search(&(u as u32)) {
            members.remove(pos);
        }
        org.groups[g as usize].last_membership_updated = now;
    }
    org.users[u].deleted = true;
    org.users[u].last_updated = now;
    push_event(
        org,
        now,
        actor,
        "user.lifecycle.delete.completed",
        "Delete Okta user",
        None,
        vec![t],
    );
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod privacy_lookup_tests {
    //! What privacy requests rely on: `apps?filter=user.id eq&expand=user/{id}` embeds the app
    //! user, `search` with `or` over login/email/secondEmail ignores case and includes
    //! DEPROVISIONED users, and the test hook that sets a secondEmail.

    use serde_json::Value;

    use crate::{SimConfig, Simulator};

    #[tokio::test]
    async fn expand_user_search_or_and_second_email_hook() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-01T00:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let mut config = SimConfig::new(120, 3, now);
        config.rate.mode = crate::RateLimitMode::None;
        let sim = Simulator::start(config, "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        let token = sim.token("SUPER_ADMIN");
        let get = |path: String| {
            let req = http
                .get(format!("{}{path}", sim.base_url()))
                .header("Authorization", format!("SSWS {token}"));
            async move { req.send().await.unwrap().json::<Value>().await.unwrap() }
        };
        let (uid, email, deprov_login) = sim.with_org(|org| {
            let u = org.apps.iter().find_map(|a| a.users.first()).unwrap().user as usize;
            let d = org
                .users
                .iter()
                .find(|u| u.status == crate::org::Status::Deprovisioned)
                .unwrap();
            (
                org.users[u].id.clone(),
                org.users[u].email.clone(),
                d.login.clone(),
            )
        });
        let apps = get(format!(
            "/api/v1/apps?filter=user.id%20eq%20%22{uid}%22&expand=user%2F{uid}"
        ))
        .await;
        let apps = apps.as_array().unwrap();
        assert!(!apps.is_empty());
        assert!(
            apps.iter()
                .all(|a| a["_embedded"]["user"]["id"] == uid.as_str()),
            "{apps:?}"
        );
        let search = |v: &str| {
            let expr = format!(
                "profile.login eq \"{v}\" or profile.email eq \"{v}\" or profile.secondEmail eq \"{v}\""
            );
            let q: String =
                percent_encoding::utf8_percent_encode(&expr, percent_encoding::NON_ALPHANUMERIC)
                    .to_string();
            get(format!("/api/v1/users?search={q}"))
        };
        let found = search(&email.to_uppercase()).await;
        assert!(
            found
                .as_array()
                .unwrap()
                .iter()
                .any(|u| u["id"] == uid.as_str())
        );
        let found = search(&deprov_login).await;
        assert_eq!(
            found.as_array().unwrap().len(),
            1,
            "DEPROVISIONED users are searchable"
        );
        // The hook: another user's secondEmail becomes this email; the search then finds both.
        let other = sim.with_org(|org| {
            org.users
                .iter()
                .find(|u| u.id != uid && !u.deleted)
                .unwrap()
                .id
                .clone()
        });
        let resp = http
            .post(format!(
                "{}/__sim/users/{other}/second-email",
                sim.base_url()
            ))
            .body(email.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 204);
        assert_eq!(search(&email).await.as_array().unwrap().len(), 2);
        sim.shutdown().await;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod log_json_tests {
    //! `Org::log_json` stays each event's own rendering, in `logs` order, through inserts.

    use crate::org::{self, Org};

    fn assert_in_step(org: &Org) {
        assert_eq!(org.log_json.len(), org.logs.len());
        for (e, json) in org.logs.iter().zip(&org.log_json) {
            assert_eq!(*json, org::render_log_event(e), "event {}", e.uuid);
        }
    }

    #[test]
    fn rendered_events_follow_inserts_at_the_end_and_in_the_middle() {
        let mut org = org::generate(&crate::SimConfig {
            users: 200,
            ..crate::SimConfig::default()
        });
        assert!(org.logs.len() > 10);
        assert_in_step(&org);
        let actor = org::user_target(&org.users[0]);
        let mut rng = org.id_rng.clone();
        let mid = org.logs[org.logs.len() / 2].published;
        let early = org::admin_event(
            &mut rng,
            mid,
            &actor,
            "user.lifecycle.suspend",
            "Suspend Okta user",
            None,
            vec![],
        );
        let late_at = org.logs.last().unwrap().published + 1000;
        let late = org::admin_event(
            &mut rng,
            late_at,
            &actor,
            "user.lifecycle.suspend",
            "Suspend Okta user",
            None,
            vec![],
        );
        let (early_uuid, late_uuid) = (early.uuid.clone(), late.uuid.clone());
        super::insert_event(&mut org, early);
        super::append_event(&mut org, late);
        assert_in_step(&org);
        let at = |uuid: &str| org.logs.iter().position(|e| e.uuid == uuid).unwrap();
        assert!(at(&early_uuid) < org.logs.len() - 1);
        assert_eq!(at(&late_uuid), org.logs.len() - 1);
        assert!(org.log_json[at(&early_uuid)].contains(&early_uuid));
    }
}
