//! Access control: argon2id passwords, server-side sessions, CSRF, roles, login rate limit.
//!
//! - A session id is 32 random bytes (hex) sent only as an `HttpOnly; SameSite=Strict`
//!   cookie (`Secure` when the public URL is https or the proxy says `X-Forwarded-Proto:
//!   https`); the store keeps its SHA-256 only.
//! - Every state-changing request (anything but GET/HEAD/OPTIONS) must carry the session's
//!   CSRF token in `X-CSRF-Token`. SameSite=Strict already stops cross-site cookies; the
//!   token is the second, independent line (older browsers, same-site subdomains).
//! - Roles: `admin` does everything; `viewer` reads. `reviewer` (a user named by the email
//!   access-review cases list) sees and decides only their own review queue: the [`Authed`]
//!   extractor refuses reviewers, so every endpoint is closed to them unless its handler
//!   opts in with [`AnyRole`] and applies the reviewer rule itself. No endpoint ever returns
//!   a token.
//! - Login failures are counted per user name and per client IP in memory on the injected
//!   clock: 5 failures in 15 minutes answer 429 with `Retry-After` until the window passes.
//! - There are no API tokens (`Authorization: Bearer`) yet: scripts use the CLI on the host.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Mutex;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::Json;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use steward_store::{Store, StoreError, User};
use utoipa::ToSchema;

use crate::AppState;
use crate::error::{ApiError, ApiJson};

pub const SESSION_COOKIE: &str = "steward_session";
pub const CSRF_HEADER: &str = "x-csrf-token";
pub const ROLE_ADMIN: &str = "admin";
pub const ROLE_VIEWER: &str = "viewer";
pub const ROLE_REVIEWER: &str = "reviewer";

/// Why a reviewer is refused: said the same way by the API and the UI.
pub const REVIEWER_ONLY: &str =
    "reviewers can only open their own review queue (/reviews/queue) and decide its cases";

/// Errors of the password and user helpers the CLI shares with the server.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("role must be \"admin\", \"viewer\" or \"reviewer\", not {0:?}")]
    BadRole(String),
    #[error("user name: {0}")]
    BadName(String),
    #[error("password: {0}")]
    BadPassword(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Hash a password with argon2id (the crate's default parameters, OWASP's minimum).
pub fn hash_password(password: &str) -> Result<String, AuthError> {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AuthError::Hash(e.to_string()))
}

/// True when `password` matches the PHC string `hash`.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A random secret as hex (session ids, CSRF tokens, generated passwords).
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    hex::encode(buf)
}

pub fn validate_role(role: &str) -> Result<(), AuthError> {
    match role {
        ROLE_ADMIN | ROLE_VIEWER | ROLE_REVIEWER => Ok(()),
        other => Err(AuthError::BadRole(other.to_string())),
    }
}

pub fn validate_user_name(name: &str) -> Result<(), AuthError> {
    if name.is_empty() || name.len() > 64 {
        return Err(AuthError::BadName("use 1 to 64 characters".into()));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'))
    {
        return Err(AuthError::BadName(
            "use only letters, digits, '-', '_', '.' and '@'".into(),
        ));
    }
    Ok(())
}

/// The name rule of `role` on top of [`validate_user_name`]: a reviewer's user name is the
/// email their review cases name, because that is how their queue and decisions are found.
pub fn validate_user_name_for_role(name: &str, role: &str) -> Result<(), AuthError> {
    validate_user_name(name)?;
    if role == ROLE_REVIEWER && !is_email(name) {
        return Err(AuthError::BadName(format!(
            "{name:?} is not an email; a reviewer signs in as the email their review cases name, \
             e.g. `steward user add alice@acme.example --role reviewer`"
        )));
    }
    Ok(())
}

/// `local@domain.tld`: one `@`, both sides non-empty, a dot inside the domain.
fn is_email(name: &str) -> bool {
    match name.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        }
        None => false,
    }
}

pub fn validate_password(password: &str) -> Result<(), AuthError> {
    if password.chars().count() < 12 {
        return Err(AuthError::BadPassword("use at least 12 characters".into()));
    }
    Ok(())
}

/// Create a user with a hashed password (CLI `user add` and the first-run admin).
pub async fn create_user(
    store: &Store,
    name: &str,
    role: &str,
    password: &str,
    now: DateTime<Utc>,
) -> Result<User, AuthError> {
    validate_role(role)?;
    validate_user_name_for_role(name, role)?;
    validate_password(password)?;
    let hash = hash_password(password)?;
    Ok(store.create_user(name, role, &hash, now).await?)
}

/// On first run (no users at all), create `admin` with a generated password and return it.
pub async fn ensure_first_admin(
    store: &Store,
    now: DateTime<Utc>,
) -> Result<Option<String>, AuthError> {
    if store.user_count().await? > 0 {
        return Ok(None);
    }
    let password = random_hex(12);
    create_user(store, "admin", ROLE_ADMIN, &password, now).await?;
    Ok(Some(password))
}

fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// Compare without an early exit, so timing does not reveal how much of a token matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The logged-in user of a request. Extracting it enforces authentication, and CSRF on
/// state-changing methods.
#[derive(Debug, Clone)]
pub struct Authed {
    pub user: User,
    pub csrf_token: String,
    session_hash: String,
}

impl Authed {
    pub fn is_admin(&self) -> bool {
        self.user.role == ROLE_ADMIN
    }

    pub fn is_reviewer(&self) -> bool {
        self.user.role == ROLE_REVIEWER
    }

    /// Admins and viewers: the roles that may read beyond a review queue. Anything else
    /// (reviewers, a role this build does not know) is refused by default.
    pub fn is_staff(&self) -> bool {
        matches!(self.user.role.as_str(), ROLE_ADMIN | ROLE_VIEWER)
    }

    /// The reviewer this user is, as review cases spell it (lower case).
    pub fn reviewer_email(&self) -> String {
        self.user.name.trim().to_ascii_lowercase()
    }

    /// The session (any role), CSRF checked on state-changing methods.
    async fn from_parts_any_role(parts: &Parts, state: &AppState) -> Result<Authed, ApiError> {
        let authed = Authed::from_session(&parts.headers, state).await?;
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if !safe {
            let sent = parts
                .headers
                .get(CSRF_HEADER)
                .map(|v| v.as_bytes())
                .unwrap_or_default();
            if !authed.csrf_matches(sent) {
                return Err(ApiError::csrf());
            }
        }
        Ok(authed)
    }
}

/// Extracting `Authed` admits admins and viewers only: an endpoint opens to reviewers by
/// taking [`AnyRole`] instead, so a new endpoint is closed to them unless it says otherwise.
impl FromRequestParts<AppState> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let authed = Authed::from_parts_any_role(parts, state).await?;
        if !authed.is_staff() {
            return Err(ApiError::forbidden(REVIEWER_ONLY));
        }
        Ok(authed)
    }
}

/// A logged-in user of any role, reviewers included (CSRF checked on writes). Handlers that
/// take it must apply the reviewer rule themselves (their own queue and cases only).
#[derive(Debug, Clone)]
pub struct AnyRole(pub Authed);

impl FromRequestParts<AppState> for AnyRole {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(AnyRole(Authed::from_parts_any_role(parts, state).await?))
    }
}

impl Authed {
    /// The session's user from the cookie alone, without the CSRF check: for the web UI,
    /// whose form posts carry the token in a form field that only the body reveals (the UI
    /// checks it with [`Authed::csrf_matches`] before acting).
    pub async fn from_session(headers: &HeaderMap, state: &AppState) -> Result<Authed, ApiError> {
        let id = cookie_value(headers, SESSION_COOKIE).ok_or_else(ApiError::unauthenticated)?;
        let session_hash = sha256_hex(id);
        let session = state
            .store
            .session(&session_hash, state.clock.now())
            .await?
            .ok_or_else(ApiError::unauthenticated)?;
        Ok(Authed {
            user: session.user,
            csrf_token: session.csrf_token,
            session_hash,
        })
    }

    /// True when `sent` is this session's CSRF token (constant time).
    pub fn csrf_matches(&self, sent: &[u8]) -> bool {
        constant_time_eq(sent, self.csrf_token.as_bytes())
    }
}

/// An [`Authed`] user with the `admin` role.
#[derive(Debug, Clone)]
pub struct Admin(pub Authed);

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let authed = Authed::from_request_parts(parts, state).await?;
        if !authed.is_admin() {
            return Err(ApiError::forbidden(
                "this needs the admin role; viewers can only read",
            ));
        }
        Ok(Admin(authed))
    }
}

/// Failed logins per key (`user:NAME`, `ip:ADDR`) within the window.
#[derive(Debug)]
pub struct LoginLimiter {
    pub max_failures: usize,
    pub window: Duration,
    failures: Mutex<BTreeMap<String, VecDeque<DateTime<Utc>>>>,
}

impl Default for LoginLimiter {
    fn default() -> Self {
        LoginLimiter {
            max_failures: 5,
            window: Duration::minutes(15),
            failures: Mutex::new(BTreeMap::new()),
        }
    }
}

impl LoginLimiter {
    /// Seconds until the first of `keys` may try again, when any is locked out.
    fn retry_after(&self, keys: &[String], now: DateTime<Utc>) -> Option<u64> {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        keys.iter()
            .filter_map(|k| {
                let q = map.get_mut(k)?;
                while q.front().is_some_and(|t| *t + self.window <= now) {
                    q.pop_front();
                }
                if q.len() >= self.max_failures {
                    q.front()
                        .map(|t| (*t + self.window - now).num_seconds().max(1) as u64)
                } else {
                    None
                }
            })
            .max()
    }

    fn fail(&self, keys: &[String], now: DateTime<Utc>) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        for k in keys {
            map.entry(k.clone()).or_default().push_back(now);
        }
    }

    fn succeed(&self, user_key: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(user_key);
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

/// Who is logged in, and the CSRF token to send with writes.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub name: String,
    pub role: String,
    pub csrf_token: String,
}

/// A throwaway hash verified for unknown users, so a login takes as long whether or not the
/// name exists.
fn dummy_hash() -> String {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY
        .get_or_init(|| hash_password(&random_hex(16)).unwrap_or_default())
        .clone()
}

/// The client's address as the listener saw it (no proxy headers: they can be forged).
pub struct ClientIp(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip().to_string())
                .unwrap_or_else(|| "unknown".into()),
        ))
    }
}

fn secure_cookie(state: &AppState, headers: &HeaderMap) -> bool {
    state
        .config
        .public_url
        .as_ref()
        .is_some_and(|u| u.scheme() == "https")
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

fn session_cookie(value: &str, max_age: i64, secure: bool) -> Result<HeaderValue, ApiError> {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    ))
    .map_err(ApiError::internal)
}

/// Log in with user name and password; sets the session cookie.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = Me), (status = 401, description = "wrong user name or password"),
              (status = 429, description = "too many failures; see Retry-After")))]
pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<LoginRequest>,
) -> Result<Response, ApiError> {
    let (cookie, me) = start_session(&state, &headers, &ip, body).await?;
    Ok(([(header::SET_COOKIE, cookie)], Json(me)).into_response())
}

/// Check the credentials (rate limited) and open a session: the `Set-Cookie` value and who
/// logged in. Shared by the API's and the web UI's login.
pub async fn start_session(
    state: &AppState,
    headers: &HeaderMap,
    ip: &str,
    body: LoginRequest,
) -> Result<(HeaderValue, Me), ApiError> {
    if body.username.trim().is_empty() {
        return Err(ApiError::invalid("username", "the user name is empty"));
    }
    if body.password.is_empty() {
        return Err(ApiError::invalid("password", "the password is empty"));
    }
    let now = state.clock.now();
    let user_key = format!("user:{}", body.username);
    let keys = [user_key.clone(), format!("ip:{ip}")];
    if let Some(secs) = state.limiter.retry_after(&keys, now) {
        let mut e = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("too many failed logins; try again in {secs} s"),
        );
        e.retry_after = Some(secs);
        return Err(e);
    }
    let found = state.store.password_hash(&body.username).await?;
    let (user, hash) = match found {
        Some((user, hash)) => (Some(user), hash),
        None => (
            None,
            tokio::task::spawn_blocking(dummy_hash)
                .await
                .map_err(ApiError::internal)?,
        ),
    };
    let password = body.password;
    // argon2 is deliberately slow (tens of ms): keep it off the async workers.
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .map_err(ApiError::internal)?;
    let Some(user) = user.filter(|_| ok) else {
        state.limiter.fail(&keys, now);
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "bad_credentials",
            "wrong user name or password",
        ));
    };
    state.limiter.succeed(&user_key);
    let id = random_hex(32);
    let csrf_token = random_hex(32);
    let ttl = state.config.session_ttl;
    state
        .store
        .create_session(&sha256_hex(&id), user.id, &csrf_token, now, now + ttl)
        .await?;
    let cookie = session_cookie(&id, ttl.num_seconds(), secure_cookie(state, headers))?;
    let me = Me {
        name: user.name,
        role: user.role,
        csrf_token,
    };
    Ok((cookie, me))
}

/// End the session and clear the cookie.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", responses((status = 204)))]
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    AnyRole(authed): AnyRole,
) -> Result<Response, ApiError> {
    let cookie = end_session(&state, &headers, &authed).await?;
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response())
}

/// Delete the session; returns the `Set-Cookie` value that clears the cookie.
pub async fn end_session(
    state: &AppState,
    headers: &HeaderMap,
    authed: &Authed,
) -> Result<HeaderValue, ApiError> {
    state
        .store
        .delete_session(&authed.session_hash, state.clock.now())
        .await?;
    session_cookie("", 0, secure_cookie(state, headers))
}

/// The logged-in user and the session's CSRF token.
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth", responses((status = 200, body = Me), (status = 401)))]
pub async fn me(AnyRole(authed): AnyRole) -> Json<Me> {
    Json(Me {
        name: authed.user.name,
        role: authed.user.role,
        csrf_token: authed.csrf_token,
    })
}
