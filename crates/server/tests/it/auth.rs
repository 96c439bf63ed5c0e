//! Authentication, roles, CSRF, rate limiting, headers and the OpenAPI document.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{ADMIN_PASSWORD, Session, assert_error, spawn_app};

/// A concrete path for a route template.
fn concrete(path: &str) -> String {
    path.replace("{name}", "okta").replace("{id}", "1")
}

fn method(m: &str) -> Method {
    Method::from_bytes(m.to_ascii_uppercase().as_bytes()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_requests_get_401_on_every_route_but_login() {
    let app = spawn_app(20).await;
    let anon = Session::anonymous(&app.base);
    for (m, path) in steward_server::api::ROUTES {
        if *path == "/auth/login" {
            continue;
        }
        let r = anon
            .request(method(m), &format!("/api/v1{}", concrete(path)))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{m} {path}");
        assert_error(r, 401, "unauthenticated", None).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewers_are_refused_every_write_and_admins_pass_the_role_check() {
    let app = spawn_app(20).await;
    let viewer = app.viewer().await;
    let admin = app.admin().await;
    let writes = [
        ("post", "/integrations"),
        ("delete", "/integrations/okta"),
        ("put", "/integrations/okta/token"),
        ("post", "/integrations/okta/test"),
        ("post", "/integrations/okta/sync"),
        ("post", "/inventory/accept"),
        ("post", "/inventory/ignore"),
        ("post", "/privacy-requests/deletion"),
    ];
    for (m, path) in writes {
        let url = format!("/api/v1{path}");
        let r = viewer
            .request(method(m), &url)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_error(r, 403, "forbidden", None).await;
        // The admin gets past authorisation: whatever comes back is not 401/403.
        let r = admin
            .request(method(m), &url)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert!(
            ![401, 403].contains(&r.status().as_u16()),
            "admin {m} {path}: {}",
            r.status()
        );
    }
    // Reads are fine for viewers.
    for path in [
        "/integrations",
        "/inventory",
        "/evidence",
        "/privacy-requests",
        "/identity/users",
        "/auth/me",
    ] {
        let r = viewer.get(&format!("/api/v1{path}")).await;
        assert_eq!(r.status(), 200, "viewer GET {path}");
    }
    let me: Value = viewer.get("/api/v1/auth/me").await.json().await.unwrap();
    assert_eq!(me["role"], "viewer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_without_the_right_csrf_token_are_refused() {
    let app = spawn_app(20).await;
    let mut admin = app.admin().await;
    let token = admin.csrf.take();
    let body = json!({"kind": "okta", "name": "x", "domain": app.sim.base_url(), "token": "t", "options": {"allow_insecure_loopback": true}});
    let r = admin.post("/api/v1/integrations", body.clone()).await;
    assert_error(r, 403, "csrf", Some("X-CSRF-Token")).await;
    admin.csrf = Some("0".repeat(64));
    let r = admin.post("/api/v1/integrations", body.clone()).await;
    assert_error(r, 403, "csrf", Some("X-CSRF-Token")).await;
    let r = admin.post("/api/v1/auth/logout", json!({})).await;
    assert_error(r, 403, "csrf", Some("X-CSRF-Token")).await;
    // Reads need no token; with the right token the write goes through.
    assert_eq!(admin.get("/api/v1/integrations").await.status(), 200);
    admin.csrf = token;
    assert_eq!(admin.post("/api/v1/integrations", body).await.status(), 201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_logout_and_session_cookie_attributes() {
    let app = spawn_app(20).await;
    let anon = Session::anonymous(&app.base);
    let r = anon
        .post(
            "/api/v1/auth/login",
            json!({"username": "alice", "password": "wrong-password-1"}),
        )
        .await;
    assert_error(r, 401, "bad_credentials", None).await;
    let r = anon
        .post("/api/v1/auth/login", json!({"username": "alice"}))
        .await;
    assert_error(r, 400, "invalid_input", Some("password")).await;
    let r = anon
        .post(
            "/api/v1/auth/login",
            json!({"username": "", "password": "x"}),
        )
        .await;
    assert_error(r, 400, "invalid_input", Some("username")).await;
    let r = anon
        .request(Method::POST, "/api/v1/auth/login")
        .body("{not json")
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_error(r, 400, "invalid_input", Some("body")).await;

    let r = anon
        .post(
            "/api/v1/auth/login",
            json!({"username": "alice", "password": ADMIN_PASSWORD}),
        )
        .await;
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.starts_with("steward_session="), "{cookie}");
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attr), "{cookie} lacks {attr}");
    }
    assert!(
        !cookie.contains("Secure"),
        "plain http, no Secure: {cookie}"
    );
    let me: Value = r.json().await.unwrap();
    assert_eq!(me["name"], "alice");
    assert_eq!(me["role"], "admin");
    assert_eq!(me["csrf_token"].as_str().unwrap().len(), 64);
    // Behind an https proxy the cookie is Secure.
    let r = Session::anonymous(&app.base)
        .request(Method::POST, "/api/v1/auth/login")
        .header("x-forwarded-proto", "https")
        .json(&json!({"username": "alice", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert!(
        r.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("; Secure")
    );

    let admin = app.admin().await;
    let r = admin.post("/api/v1/auth/logout", json!({})).await;
    assert_eq!(r.status(), 204);
    assert_error(
        admin.get("/api/v1/auth/me").await,
        401,
        "unauthenticated",
        None,
    )
    .await;
    // The session id is stored only as its hash: a raw id never appears in the table.
    let users = app.store.users().await.unwrap();
    assert_eq!(users.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_login_failures_are_rate_limited_until_the_window_passes() {
    let app = spawn_app(20).await;
    let anon = Session::anonymous(&app.base);
    for _ in 0..5 {
        let r = anon
            .post(
                "/api/v1/auth/login",
                json!({"username": "alice", "password": "wrong-password-1"}),
            )
            .await;
        assert_eq!(r.status(), 401);
    }
    // Even the right password is refused while locked out.
    let r = anon
        .post(
            "/api/v1/auth/login",
            json!({"username": "alice", "password": ADMIN_PASSWORD}),
        )
        .await;
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 0 && retry <= 15 * 60, "{retry}");
    assert_error(r, 429, "rate_limited", None).await;
    // The same IP is limited for other names too (per-IP counter).
    let r = anon
        .post(
            "/api/v1/auth/login",
            json!({"username": "victor", "password": "wrong-password-1"}),
        )
        .await;
    assert_eq!(r.status(), 429);
    app.clock.advance(chrono::Duration::minutes(16));
    let r = anon
        .post(
            "/api/v1/auth/login",
            json!({"username": "alice", "password": ADMIN_PASSWORD}),
        )
        .await;
    assert_eq!(r.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_carries_the_security_headers() {
    let app = spawn_app(20).await;
    let anon = Session::anonymous(&app.base);
    let admin = app.admin().await;
    let responses = vec![
        anon.get("/api/v1/integrations").await,
        anon.get("/nope").await,
        anon.get("/api/openapi.json").await,
        admin.get("/api/v1/integrations").await,
    ];
    for r in responses {
        let h = r.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.starts_with("default-src 'self'"), "{csp}");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["referrer-policy"], "no-referrer");
        assert_eq!(h["x-frame-options"], "DENY");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_lists_every_route() {
    let app = spawn_app(20).await;
    let doc: Value = Session::anonymous(&app.base)
        .get("/api/openapi.json")
        .await
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for (m, path) in steward_server::api::ROUTES {
        let full = format!("/api/v1{path}");
        let item = paths
            .get(&full)
            .unwrap_or_else(|| panic!("{full} is not documented"));
        assert!(item.get(*m).is_some(), "{m} {full} is not documented");
    }
    let documented: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
    assert_eq!(
        documented,
        steward_server::api::ROUTES.len(),
        "documented operations that are not routes"
    );
}
