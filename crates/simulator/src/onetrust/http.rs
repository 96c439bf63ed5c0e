//! The HTTP side of the OneTrust simulator: routing, bearer auth and scopes, per-endpoint
//! rate limits with OneTrust's `ot-*` 429 headers, faults, Spring-style pages, and the
//! Access Management / audit / OAuth handlers (SCIM lives in `scim.rs`).

// Handlers return ready `Response`s as their error type: they are the cold path and are
// returned to axum as they are, so boxing them would only add noise.
#![allow(clippy::result_large_err, clippy::type_complexity)]

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use axum::routing::{any, get};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{Value, json};

use super::data::{OtOrg, USER_AGENTS};
use super::{OtRateConfig, OtSimConfig, SCOPE_ORGANIZATION, SCOPE_SCIM, SCOPE_USER, scope_names};
use crate::faults::{Fault, FaultSpec};
use crate::org::{DAY_MS, Ms};

/// Shared server state.
pub struct OtState {
    pub org: RwLock<OtOrg>,
    pub addr: SocketAddr,
    pub anchor: Ms,
    pub started: Instant,
    pub seed: u64,
    pub rate: OtRateConfig,
    pub faults: FaultSpec,
    /// bearer → (scopes, expired)
    pub keys: HashMap<String, (u8, bool)>,
    /// Tokens minted by the token endpoint: token → scopes.
    pub minted: Mutex<HashMap<String, u8>>,
    counter: AtomicU64,
    buckets: Mutex<BTreeMap<String, Bucket>>,
    hour: Mutex<Bucket>,
    faults_seen: Mutex<BTreeMap<&'static str, u64>>,
}

#[derive(Debug, Default, Clone)]
struct Bucket {
    window_start: Option<Instant>,
    made: u64,
    requests: u64,
    rate_limited: u64,
    max_window_requests: u64,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl OtState {
    pub fn new(org: OtOrg, config: &OtSimConfig, addr: SocketAddr) -> Self {
        let keys = org
            .keys
            .iter()
            .map(|(k, s)| (s.clone(), (k.scopes(), *k == super::OtKey::Expired)))
            .collect();
        OtState {
            anchor: org.now,
            org: RwLock::new(org),
            addr,
            started: Instant::now(),
            seed: config.seed,
            rate: config.rate.clone(),
            faults: config.faults.clone(),
            keys,
            minted: Mutex::new(HashMap::new()),
            counter: AtomicU64::new(0),
            buckets: Mutex::new(BTreeMap::new()),
            hour: Mutex::new(Bucket::default()),
            faults_seen: Mutex::new(
                ["http500", "reset", "slow", "truncate", "bad_json"]
                    .iter()
                    .map(|k| (*k, 0))
                    .collect(),
            ),
        }
    }
    pub fn read(&self) -> RwLockReadGuard<'_, OtOrg> {
        self.org.read().unwrap_or_else(|e| e.into_inner())
    }
    pub fn write(&self) -> RwLockWriteGuard<'_, OtOrg> {
        self.org.write().unwrap_or_else(|e| e.into_inner())
    }
    /// Simulated now: the data anchor plus the time the server has been up.
    pub fn sim_now(&self) -> Ms {
        self.anchor + self.started.elapsed().as_millis() as i64
    }
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }
    fn next(&self) -> u64 {
        self.counter.fetch_add(1, Ordering::SeqCst)
    }
    /// A deterministic UUID for request number `n` (rate-limit event ids).
    fn event_id(&self, n: u64) -> String {
        let mut x = self.seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x0E7_0429;
        let mut parts = [0u64; 2];
        for p in parts.iter_mut() {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            *p = z ^ (z >> 31);
        }
        let h = format!("{:016x}{:016x}", parts[0], parts[1]);
        format!(
            "{}-{}-4{}-a{}-{}",
            &h[0..8],
            &h[8..12],
            &h[13..16],
            &h[17..20],
            &h[20..32]
        )
    }

    fn stats_json(&self) -> Value {
        let buckets: serde_json::Map<String, Value> = lock(&self.buckets)
            .iter()
            .map(|(k, b)| {
                (
                    k.clone(),
                    json!({"requests": b.requests, "rate_limited": b.rate_limited, "limit": self.rate.per_endpoint,
                           "max_window_requests": b.max_window_requests,
                           "max_window_share": (b.max_window_requests as f64 / self.rate.per_endpoint.max(1) as f64 * 10_000.0).round() / 10_000.0}),
                )
            })
            .collect();
        let hour = lock(&self.hour).clone();
        let faults: serde_json::Map<String, Value> = lock(&self.faults_seen)
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        json!({
            "buckets": buckets,
            "account_hour": {"requests": hour.requests, "limit": self.rate.per_hour, "max_window_requests": hour.max_window_requests},
            "rate_limits": self.rate.enabled,
            "faults": faults,
        })
    }

    /// Count an attempt in a fixed window; `Some((retry_after, made))` when past `limit`.
    fn admit(b: &mut Bucket, now: Instant, window: Duration, limit: u64) -> Option<(u64, u64)> {
        let start = match b.window_start {
            Some(s) if now < s + window => s,
            _ => {
                b.window_start = Some(now);
                b.made = 0;
                now
            }
        };
        b.made += 1;
        b.requests += 1;
        b.max_window_requests = b.max_window_requests.max(b.made.min(limit));
        if b.made > limit {
            b.rate_limited += 1;
            let left = (start + window).saturating_duration_since(now);
            let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
            Some((secs.max(1), b.made))
        } else {
            None
        }
    }
}

/// Spring-style error body (GUESS: the specs declare none).
pub fn spring_error(status: StatusCode, message: &str, path: &str, now: Ms) -> Response {
    let body = json!({
        "timestamp": iso(now),
        "status": status.as_u16(),
        "error": status.canonical_reason().unwrap_or(""),
        "message": message,
        "path": path,
    });
    json_response(status, "application/json", body.to_string())
}

pub fn json_response(status: StatusCode, content_type: &'static str, body: String) -> Response {
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

pub fn ok_json(v: &Value) -> Response {
    json_response(StatusCode::OK, "application/json", v.to_string())
}

/// `2026-11-01T00:00:00.000Z`
pub fn iso(ms: Ms) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}

/// The route table: (method, path) → endpoint template (the rate-limit bucket) and scope.
pub fn endpoint(method: &Method, path: &str) -> Option<(String, u8)> {
    let segs: Vec<&str> = path
        .trim_start_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let any_scim_user = SCOPE_SCIM | SCOPE_USER;
    let (template, scope): (String, u8) = match segs.as_slice() {
        ["api", "scim", v @ ("v2" | "v3"), "Users"] => {
            (format!("/api/scim/{v}/Users"), any_scim_user)
        }
        ["api", "scim", v @ ("v2" | "v3"), "Users", _] => {
            (format!("/api/scim/{v}/Users/{{id}}"), any_scim_user)
        }
        ["api", "scim", v @ ("v2" | "v3"), "Groups"] => {
            (format!("/api/scim/{v}/Groups"), SCOPE_SCIM)
        }
        ["api", "scim", v @ ("v2" | "v3"), "Groups", _] => {
            (format!("/api/scim/{v}/Groups/{{groupId}}"), SCOPE_SCIM)
        }
        [
            "api",
            "scim",
            "v3",
            d @ ("ServiceProviderConfig" | "Schemas" | "ResourceTypes"),
        ] => (format!("/api/scim/v3/{d}"), SCOPE_SCIM),
        ["api", "scim", "v3", d @ ("Schemas" | "ResourceTypes"), _] => {
            (format!("/api/scim/v3/{d}/{{name}}"), SCOPE_SCIM)
        }
        ["api", "access", "v1", "oauth", "token"] => ("/api/access/v1/oauth/token".into(), 0),
        ["api", "access", "v1", "external", "organizations"] => (
            "/api/access/v1/external/organizations".into(),
            SCOPE_ORGANIZATION,
        ),
        ["api", "access", "v1", "external", "organizations", _] => (
            "/api/access/v1/external/organizations/{externalId}".into(),
            SCOPE_ORGANIZATION,
        ),
        ["api", "access", "v1", "login-history"] => {
            ("/api/access/v1/login-history".into(), SCOPE_USER)
        }
        ["api", "access", v @ ("v1" | "v2"), "user-groups"] => {
            (format!("/api/access/{v}/user-groups"), SCOPE_USER)
        }
        ["api", "access", v @ ("v1" | "v2"), "user-groups", _] => {
            (format!("/api/access/{v}/user-groups/{{id}}"), SCOPE_USER)
        }
        [
            "api",
            "access",
            v @ ("v1" | "v2"),
            "user-groups",
            _,
            "members",
        ] => (
            format!("/api/access/{v}/user-groups/{{id}}/members"),
            SCOPE_USER,
        ),
        ["api", "access", "v2", "users"] => ("/api/access/v2/users".into(), SCOPE_USER),
        ["api", "access", "v2", "users", _] => ("/api/access/v2/users/{userId}".into(), SCOPE_USER),
        ["api", "access", "v2", "users", _, "access-levels"] => (
            "/api/access/v2/users/{userId}/access-levels".into(),
            SCOPE_USER,
        ),
        ["api", "audit", "v1", "users", _, "activities"] => {
            ("/api/audit/v1/users/{userId}/activities".into(), SCOPE_USER)
        }
        _ => return None,
    };
    Some((format!("{} {template}", method.as_str()), scope))
}

pub fn router(state: Arc<OtState>) -> Router {
    Router::new()
        .route("/api/{*rest}", any(api))
        .route("/__sim/truth", get(truth_handler))
        .route("/__sim/stats", get(stats_handler))
        .with_state(state)
}

async fn truth_handler(State(st): State<Arc<OtState>>) -> Response {
    ok_json(&super::data::truth(&st.read()))
}

async fn stats_handler(State(st): State<Arc<OtState>>) -> Response {
    ok_json(&st.stats_json())
}

/// A body that yields `prefix`, then fails, so the client sees a dropped connection.
fn failing_body(prefix: Bytes) -> Body {
    use futures::StreamExt;
    let err = || {
        std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "simulated fault: connection dropped",
        )
    };
    if prefix.is_empty() {
        return Body::from_stream(futures::stream::iter([Err::<Bytes, _>(err())]));
    }
    let head = futures::stream::iter([Ok::<Bytes, std::io::Error>(prefix)]);
    let tail = futures::stream::once(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        Err::<Bytes, _>(err())
    });
    Body::from_stream(head.chain(tail))
}

/// Every `/api` request: rate limits, faults, auth + scope, then the handler.
async fn api(State(st): State<Arc<OtState>>, req: Request) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let n = st.next();
    let now = st.sim_now();
    let route = endpoint(&method, &path);
    let bucket = route
        .as_ref()
        .map(|(b, _)| b.clone())
        .unwrap_or_else(|| "other".into());

    // (1) Rate limits: the per-endpoint minute rule, then the account's hour rule.
    if st.rate.enabled {
        let at = Instant::now();
        let minute = {
            let mut buckets = lock(&st.buckets);
            OtState::admit(
                buckets.entry(bucket.clone()).or_default(),
                at,
                st.rate.minute,
                st.rate.per_endpoint,
            )
        };
        let hour = OtState::admit(&mut lock(&st.hour), at, st.rate.hour, st.rate.per_hour);
        let hit = match (minute, hour) {
            (_, Some((retry, made))) => Some((retry, made, "HOUR", st.rate.per_hour)),
            (Some((retry, made)), None) => Some((retry, made, "MINUTE", st.rate.per_endpoint)),
            _ => None,
        };
        if let Some((retry, made, period, allowed)) = hit {
            let mut resp = spring_error(
                StatusCode::TOO_MANY_REQUESTS,
                "Too Many Requests",
                &path,
                now,
            );
            let h = resp.headers_mut();
            h.insert(header::RETRY_AFTER, HeaderValue::from(retry));
            h.insert("ot-period", HeaderValue::from_static(period));
            h.insert("ot-requests-allowed", HeaderValue::from(allowed));
            h.insert("ot-request-made", HeaderValue::from(made));
            if let Ok(v) = HeaderValue::from_str(&st.event_id(n)) {
                h.insert("ot-ratelimit-event-id", v);
            }
            return resp;
        }
    } else {
        let mut buckets = lock(&st.buckets);
        let b = buckets.entry(bucket.clone()).or_default();
        b.requests += 1;
        lock(&st.hour).requests += 1;
    }

    // (2) Faults, deterministic per (seed, request number).
    let decision = st.faults.decide(st.seed, n);
    if decision.slow {
        *lock(&st.faults_seen).entry("slow").or_insert(0) += 1;
        tokio::time::sleep(st.faults.slow_for).await;
    }
    if let Some(f) = decision.fault {
        *lock(&st.faults_seen).entry(f.as_str()).or_insert(0) += 1;
    }
    match decision.fault {
        Some(Fault::Http500) => {
            return spring_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal Server Error",
                &path,
                now,
            );
        }
        Some(Fault::Reset) => {
            let mut r = Response::new(failing_body(Bytes::new()));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            r.headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from(64u64));
            return r;
        }
        _ => {}
    }

    let resp = handle(&st, req, route, &method, &path, &query, now).await;

    match decision.fault {
        Some(Fault::Truncate) => {
            let (mut parts, body) = resp.into_parts();
            let full = axum::body::to_bytes(body, usize::MAX)
                .await
                .unwrap_or_default();
            parts
                .headers
                .insert(header::CONTENT_LENGTH, HeaderValue::from(full.len() as u64));
            let half = full.slice(..full.len() / 2);
            Response::from_parts(parts, failing_body(half))
        }
        Some(Fault::BadJson) => {
            let (mut parts, body) = resp.into_parts();
            let full = axum::body::to_bytes(body, usize::MAX)
                .await
                .unwrap_or_default();
            let mut broken = full.slice(..full.len() / 2).to_vec();
            broken.extend_from_slice(b"\x01{{");
            parts.status = StatusCode::OK;
            parts.headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            parts.headers.insert(
                header::CONTENT_LENGTH,
                HeaderValue::from(broken.len() as u64),
            );
            Response::from_parts(parts, Body::from(broken))
        }
        _ => resp,
    }
}

/// Parsed query string (last value wins).
pub fn query_map(q: &str) -> HashMap<String, String> {
    url::form_urlencoded::parse(q.as_bytes())
        .into_owned()
        .collect()
}

async fn handle(
    st: &Arc<OtState>,
    req: Request,
    route: Option<(String, u8)>,
    method: &Method,
    path: &str,
    query: &str,
    now: Ms,
) -> Response {
    let Some((_, scope)) = route else {
        if path.starts_with("/api/scim/") {
            return super::scim::scim_error(
                StatusCode::NOT_FOUND,
                None,
                &format!("{path} is not a OneTrust SCIM endpoint"),
            );
        }
        return spring_error(StatusCode::NOT_FOUND, "No static resource found", path, now);
    };
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let auth = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = axum::body::to_bytes(req.into_body(), 16 * 1024 * 1024)
        .await
        .unwrap_or_default();
    if scope == 0 {
        return token(st, method, &content_type, &body, path, now);
    }
    // Auth: `Authorization: Bearer <key or token>`.
    let bearer = auth
        .as_deref()
        .and_then(|a| {
            a.strip_prefix("Bearer ")
                .or_else(|| a.strip_prefix("bearer "))
        })
        .map(str::trim);
    let granted = match bearer {
        None => None,
        Some(b) => match st.keys.get(b) {
            Some((_, true)) => None,
            Some((s, false)) => Some(*s),
            None => lock(&st.minted).get(b).copied(),
        },
    };
    let Some(granted) = granted else {
        let mut r = spring_error(
            StatusCode::UNAUTHORIZED,
            "Full authentication is required to access this resource",
            path,
            now,
        );
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer error=\"invalid_token\""),
        );
        return r;
    };
    if granted & scope == 0 {
        let need = scope_names(scope).replace(',', " or ");
        return spring_error(
            StatusCode::FORBIDDEN,
            &format!("Access is denied: this endpoint needs the {need} scope"),
            path,
            now,
        );
    }
    let q = query_map(query);
    let segs: Vec<&str> = path
        .trim_start_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    if segs.get(1) == Some(&"scim") {
        return super::scim::handle(st, method, &segs, &q, &body, now);
    }
    match (method.as_str(), &segs[1..]) {
        ("GET", ["access", "v1", "external", "organizations"]) => organizations(st),
        ("GET", ["access", "v2", "users"]) => users_v2(st, &q, path, now),
        ("GET", ["access", "v2", "users", id]) => {
            let org = st.read();
            match org.find_user(id) {
                Some(u) => ok_json(&user_v2_json(&org, u)),
                None => spring_error(StatusCode::NOT_FOUND, "User not found", path, now),
            }
        }
        ("GET", ["access", v @ ("v1" | "v2"), "user-groups"]) => {
            user_groups(st, *v == "v2", &q, path, now)
        }
        ("GET", ["access", "v2", "user-groups", id]) => {
            let org = st.read();
            match org.find_group(id) {
                Some(g) => ok_json(&group_json(&org, g, true)),
                None => spring_error(StatusCode::NOT_FOUND, "User group not found", path, now),
            }
        }
        ("GET", ["access", "v1" | "v2", "user-groups", id, "members"]) => {
            members(st, id, &q, path, now)
        }
        ("GET", ["access", "v2", "users", id, "access-levels"]) => {
            let org = st.read();
            match org.find_user(id) {
                Some(u) => ok_json(&user_v2_json(&org, u)["accessLevels"]),
                None => spring_error(StatusCode::NOT_FOUND, "User not found", path, now),
            }
        }
        ("GET", ["access", "v1", "login-history"]) => login_history(st, &q, path, now),
        ("GET", ["audit", "v1", "users", id, "activities"]) => activities(st, id, &q, path, now),
        _ => spring_error(
            StatusCode::METHOD_NOT_ALLOWED,
            &format!("Request method '{method}' is not supported by the simulator"),
            path,
            now,
        ),
    }
}

/// `page`/`size` with OneTrust's limits; Err = 400 response.
fn paging(
    q: &HashMap<String, String>,
    max: usize,
    path: &str,
    now: Ms,
) -> Result<(usize, usize), Response> {
    let page = match q.get("page") {
        None => 0,
        Some(p) => p.parse::<usize>().map_err(|_| {
            spring_error(
                StatusCode::BAD_REQUEST,
                "page must be a non-negative integer",
                path,
                now,
            )
        })?,
    };
    let size = match q.get("size") {
        None => 20,
        Some(s) => match s.parse::<usize>() {
            Ok(s) if (1..=max).contains(&s) => s,
            _ => {
                return Err(spring_error(
                    StatusCode::BAD_REQUEST,
                    &format!("size must be between 1 and {max}"),
                    path,
                    now,
                ));
            }
        },
    };
    Ok((page, size))
}

/// A Spring Data page of `items` (already sorted), page `page` of `size`.
pub fn spring_page(
    items: Vec<Value>,
    total: usize,
    page: usize,
    size: usize,
    sorted: bool,
) -> Value {
    let total_pages = total.div_ceil(size);
    let n = items.len();
    let sort = json!({"empty": !sorted, "sorted": sorted, "unsorted": !sorted});
    json!({
        "content": items,
        "pageable": {"sort": sort, "offset": page * size, "pageNumber": page, "pageSize": size, "paged": true, "unpaged": false},
        "totalPages": total_pages,
        "totalElements": total,
        "last": page + 1 >= total_pages,
        "size": size,
        "number": page,
        "sort": sort,
        "numberOfElements": n,
        "first": page == 0,
        "empty": n == 0,
    })
}

fn slice<T: Clone>(v: &[T], page: usize, size: usize) -> Vec<T> {
    v.iter()
        .skip(page.saturating_mul(size))
        .take(size)
        .cloned()
        .collect()
}

fn organizations(st: &OtState) -> Response {
    let org = st.read();
    fn node(org: &OtOrg, i: usize) -> Value {
        let o = &org.organizations[i];
        let parent = o.parent.map(|p| &org.organizations[p]);
        let children: Vec<Value> = (0..org.organizations.len())
            .filter(|&c| org.organizations[c].parent == Some(i))
            .map(|c| node(org, c))
            .collect();
        json!({
            "organizationId": o.id,
            "externalId": o.external_id,
            "parentOrganizationId": parent.map(|p| p.id.clone()),
            "parentExternalId": parent.map(|p| p.external_id.clone()),
            "name": o.name,
            "defaultApprover": o.default_approver,
            "defaultLanguageCode": "en-us",
            "description": o.description,
            "children": children,
        })
    }
    ok_json(&node(&org, 0))
}

pub fn user_v2_json(org: &OtOrg, i: usize) -> Value {
    let u = &org.users[i];
    let levels: Vec<Value> = u
        .access_levels
        .iter()
        .map(|&(o, r)| {
            let o = &org.organizations[o as usize];
            let r = &org.roles[r as usize];
            json!({"organizationId": o.id, "organizationName": o.name, "roleId": r.id, "roleName": r.name})
        })
        .collect();
    let default = u
        .access_levels
        .first()
        .map(|&(o, _)| &org.organizations[o as usize]);
    json!({
        "userId": u.id,
        "firstName": u.first,
        "lastName": u.last,
        "fullName": u.full_name(),
        "email": u.email,
        "accessLevels": levels,
        "emailConfirmed": u.email_confirmed,
        "active": u.active,
        "internal": u.internal,
        "externalId": u.external_id,
        "expirationDateTime": u.expiration.map(iso),
        "disabledDateTime": u.disabled.map(iso),
        "createdDate": iso(u.created),
        "lastModifiedDate": iso(u.last_modified),
        "lastLoginDate": u.last_login.map(iso),
        "disabledBy": u.disabled.map(|_| "Privacy Admin"),
        "defaultOrganizationName": default.map(|o| o.name.clone()),
        "defaultOrganizationId": default.map(|o| o.id.clone()),
    })
}

/// `sort=property,asc|desc` → (property, descending).
fn sort_param(q: &HashMap<String, String>, default: &str) -> (String, bool) {
    let s = q.get("sort").map(String::as_str).unwrap_or(default);
    let (p, d) = s.split_once(',').unwrap_or((s, "asc"));
    (
        p.trim().to_ascii_lowercase(),
        d.trim().eq_ignore_ascii_case("desc"),
    )
}

fn users_v2(st: &OtState, q: &HashMap<String, String>, path: &str, now: Ms) -> Response {
    let (page, size) = match paging(q, 2000, path, now) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let org = st.read();
    let (prop, desc) = sort_param(q, "name,asc");
    let mut order: Vec<usize> = (0..org.users.len()).collect();
    let key = |i: &usize| -> String {
        let u = &org.users[*i];
        match prop.as_str() {
            "email" => u.email.to_ascii_lowercase(),
            "organizationname" => u
                .access_levels
                .first()
                .map(|&(o, _)| org.organizations[o as usize].name.clone())
                .unwrap_or_default(),
            _ => u.full_name().to_ascii_lowercase(),
        }
    };
    // Ties break on the id so pages are stable.
    order.sort_by_cached_key(|i| (key(i), org.users[*i].id.clone()));
    if desc {
        order.reverse();
    }
    let items: Vec<Value> = slice(&order, page, size)
        .into_iter()
        .map(|i| user_v2_json(&org, i))
        .collect();
    ok_json(&spring_page(items, order.len(), page, size, true))
}

/// v1 names the id `userGroupId`, v2 `id`.
fn group_json(org: &OtOrg, g: usize, v2: bool) -> Value {
    let g = &org.groups[g];
    json!({
        if v2 { "id" } else { "userGroupId" }: g.id,
        "name": g.name,
        "description": g.description,
        "createdBy": g.created_by,
        "createdDate": iso(g.created),
        "lastModifiedBy": g.created_by,
        "lastModifiedDate": iso(g.last_modified),
    })
}

/// The `filters` parameter: v1 `name:X`; v2 `name==X`, `name=~=%x%`, `name=sw=X%`, `name=ew=%x`.
fn name_matches(filter: Option<&String>, name: &str) -> Result<bool, ()> {
    let Some(f) = filter.map(|f| f.trim()).filter(|f| !f.is_empty()) else {
        return Ok(true);
    };
    let lower = name.to_lowercase();
    let arg = |p: &str| f[p.len()..].trim_matches('%').to_lowercase();
    if let Some(x) = f.strip_prefix("name:") {
        Ok(name == x)
    } else if let Some(x) = f.strip_prefix("name==") {
        Ok(name == x)
    } else if f.starts_with("name=~=") {
        Ok(lower.contains(&arg("name=~=")))
    } else if f.starts_with("name=sw=") {
        Ok(lower.starts_with(&arg("name=sw=")))
    } else if f.starts_with("name=ew=") {
        Ok(lower.ends_with(&arg("name=ew=")))
    } else {
        Err(())
    }
}

fn user_groups(
    st: &OtState,
    v2: bool,
    q: &HashMap<String, String>,
    path: &str,
    now: Ms,
) -> Response {
    let (page, size) = match paging(q, 2000, path, now) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let org = st.read();
    if name_matches(q.get("filters"), "").is_err() {
        return spring_error(
            StatusCode::BAD_REQUEST,
            "filters: use name:X (v1) or name==X, name=~=%x%, name=sw=X%, name=ew=%x (v2)",
            path,
            now,
        );
    }
    let mut order: Vec<usize> = (0..org.groups.len())
        .filter(|&g| !org.groups[g].deleted)
        .filter(|&g| name_matches(q.get("filters"), &org.groups[g].name).unwrap_or(false))
        .collect();
    let (_, desc) = sort_param(q, "name,asc");
    order.sort_by(|a, b| {
        org.groups[*a]
            .name
            .cmp(&org.groups[*b].name)
            .then(org.groups[*a].id.cmp(&org.groups[*b].id))
    });
    if desc {
        order.reverse();
    }
    let items = slice(&order, page, size)
        .into_iter()
        .map(|g| group_json(&org, g, v2))
        .collect();
    ok_json(&spring_page(items, order.len(), page, size, true))
}

fn members(st: &OtState, id: &str, q: &HashMap<String, String>, path: &str, now: Ms) -> Response {
    let (page, size) = match paging(q, 2000, path, now) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let org = st.read();
    let Some(g) = org.find_group(id) else {
        return spring_error(StatusCode::NOT_FOUND, "User group not found", path, now);
    };
    let grp = &org.groups[g];
    let mut order: Vec<u32> = grp.members.clone();
    order.sort_by_cached_key(|&m| {
        (
            org.users[m as usize].full_name(),
            org.users[m as usize].id.clone(),
        )
    });
    let (_, desc) = sort_param(q, "fullName,asc");
    if desc {
        order.reverse();
    }
    let items = slice(&order, page, size)
        .into_iter()
        .map(|m| {
            let u = &org.users[m as usize];
            json!({"fullName": u.full_name(), "email": u.email, "memberId": u.id, "enabled": u.active, "internal": u.internal,
                   "createdBy": grp.created_by, "createdDate": iso(grp.created.max(u.created))})
        })
        .collect();
    ok_json(&spring_page(items, order.len(), page, size, true))
}

fn parse_date(s: &str) -> Option<Ms> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_millis());
    }
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S")
        .ok()
        .map(|t| t.and_utc().timestamp_millis())
}

fn login_history(st: &OtState, q: &HashMap<String, String>, path: &str, now: Ms) -> Response {
    let (page, size) = match paging(q, 2000, path, now) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let org = st.read();
    let user = match q.get("userId") {
        None => None,
        Some(id) => match org.find_user(id) {
            Some(u) => Some(u as u32),
            None => return spring_error(StatusCode::BAD_REQUEST, "Invalid userId", path, now),
        },
    };
    let date = |k: &str| -> Result<Option<Ms>, Response> {
        match q.get(k) {
            None => Ok(None),
            Some(s) => parse_date(s).map(Some).ok_or_else(|| {
                spring_error(
                    StatusCode::BAD_REQUEST,
                    &format!("{k} must look like YYYY-MM-DDTHH:MM:SSZ"),
                    path,
                    now,
                )
            }),
        }
    };
    let (start, end) = match (date("startDate"), date("endDate")) {
        (Ok(s), Ok(e)) => (s, e),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    // Window rules from the spec: no dates → 7 days (all users) or 365 days (one user);
    // a range reaching past 365 days → 400.
    let (from, to) = match (start, end) {
        (None, None) => (now - if user.is_some() { 365 } else { 7 } * DAY_MS, now),
        (s, e) => (s.unwrap_or(now - 365 * DAY_MS), e.unwrap_or(now)),
    };
    if from < now - 365 * DAY_MS - DAY_MS || from > to {
        return spring_error(
            StatusCode::BAD_REQUEST,
            "The date range must lie within the last 365 days",
            path,
            now,
        );
    }
    // Newest first (GUESS: the spec does not say).
    let rows: Vec<usize> = (0..org.logins.len())
        .rev()
        .filter(|&i| {
            let l = &org.logins[i];
            l.at >= from && l.at <= to && user.is_none_or(|u| u == l.user)
        })
        .collect();
    let items = slice(&rows, page, size)
        .into_iter()
        .map(|i| {
            let l = &org.logins[i];
            let u = &org.users[l.user as usize];
            json!({"userName": u.email, "ipAddress": l.ip, "userAgentString": USER_AGENTS[l.agent as usize % USER_AGENTS.len()],
                   "createDT": iso(l.at), "status": if l.success { "Success" } else { "Failure" }, "userId": u.id})
        })
        .collect();
    ok_json(&spring_page(items, rows.len(), page, size, false))
}

fn activities(
    st: &OtState,
    id: &str,
    q: &HashMap<String, String>,
    path: &str,
    now: Ms,
) -> Response {
    let (page, size) = match paging(q, 2000, path, now) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let org = st.read();
    let Some(u) = org.find_user(id) else {
        return spring_error(StatusCode::NOT_FOUND, "User not found", path, now);
    };
    let user = &org.users[u];
    let all = &org.activities[u];
    let items = slice(all, page, size)
        .into_iter()
        .map(|a| {
            json!({"name": user.full_name(), "email": user.email, "event": a.event, "fieldName": a.field, "oldValue": a.old,
                   "newValue": a.new, "method": a.method, "updatedBy": a.updated_by, "date": iso(a.date)})
        })
        .collect();
    ok_json(&spring_page(items, all.len(), page, size, false))
}

/// Form fields from `application/x-www-form-urlencoded` or `multipart/form-data`.
fn form_fields(content_type: &str, body: &[u8]) -> HashMap<String, String> {
    if let Some(boundary) = content_type
        .split(';')
        .map(str::trim)
        .find_map(|p| p.strip_prefix("boundary="))
    {
        let boundary = format!("--{}", boundary.trim_matches('"'));
        let text = String::from_utf8_lossy(body);
        let mut out = HashMap::new();
        for part in text.split(boundary.as_str()) {
            let Some((head, value)) = part.split_once("\r\n\r\n") else {
                continue;
            };
            let Some(name) = head
                .split("name=\"")
                .nth(1)
                .and_then(|r| r.split('"').next())
            else {
                continue;
            };
            out.insert(name.to_string(), value.trim_end_matches("\r\n").to_string());
        }
        return out;
    }
    url::form_urlencoded::parse(body).into_owned().collect()
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    json_response(
        status,
        "application/json",
        json!({"error": error, "error_description": description}).to_string(),
    )
}

fn b64(v: &Value) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
}

/// `POST /api/access/v1/oauth/token` (client_credentials).
fn token(
    st: &OtState,
    method: &Method,
    content_type: &str,
    body: &[u8],
    path: &str,
    now: Ms,
) -> Response {
    if method != Method::POST {
        return spring_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "Request method not supported",
            path,
            now,
        );
    }
    let f = form_fields(content_type, body);
    if f.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "Invalid grant_type",
        );
    }
    let mut org = st.write();
    let ok = f.get("client_id") == Some(&org.client_id)
        && f.get("client_secret") == Some(&org.client_secret);
    if !ok {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Invalid client credentials",
        );
    }
    let scopes = super::OtKey::Full.scopes();
    let jti = org.mint_uuid();
    let session = org.mint_uuid();
    let guid = org.mint_uuid();
    let tenant = org.tenant_guid.clone();
    let org_group = org
        .organizations
        .first()
        .map(|o| o.id.clone())
        .unwrap_or_default();
    let user_name = format!("{}@api.onetrust.com", tenant.replace('-', ""));
    let expires_in: i64 = 31_535_999;
    let claims = json!({"role": "Api Key User", "user_name": user_name, "languageId": 1, "sessionId": session, "tenantGuid": tenant,
        "client_id": org.client_id, "orgGroupId": org_group, "orgGroupGuid": org_group, "ot-scopes": scope_names(scopes),
        "scope": ["read"], "tenantId": 36, "guid": guid, "exp": now / 1000 + expires_in, "jti": jti, "email": user_name});
    // A JWT-shaped token; the signature is not verifiable (the simulator only looks it up).
    let access_token = format!(
        "{}.{}.{}",
        b64(&json!({"alg": "RS256", "typ": "JWT"})),
        b64(&claims),
        jti.replace('-', "")
    );
    drop(org);
    lock(&st.minted).insert(access_token.clone(), scopes);
    ok_json(&json!({
        "access_token": access_token, "token_type": "bearer", "expires_in": expires_in, "scope": "read",
        "ot_scopes": scope_names(scopes), "tenantGuid": tenant, "tenantId": 36, "orgGroupId": org_group, "orgGroupGuid": org_group,
        "user_name": user_name, "email": user_name, "jti": jti, "guid": guid, "sessionId": session, "languageId": 1, "role": "Api Key User",
    }))
}
