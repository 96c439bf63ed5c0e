//! Every endpoint against the simulator, with the bad inputs of each.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Session, TestApp, assert_error, spawn_app};

async fn put(s: &Session, path: &str, body: Value) -> reqwest::Response {
    s.request(Method::PUT, path)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn delete(s: &Session, path: &str) -> reqwest::Response {
    s.request(Method::DELETE, path).send().await.unwrap()
}

async fn json_of(r: reqwest::Response) -> Value {
    let status = r.status();
    let body: Value = r.json().await.unwrap();
    assert!(status.is_success(), "{status}: {body}");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn integrations_connect_test_capabilities_token_and_remove() {
    let app = spawn_app(30).await;
    let admin = app.admin().await;
    let good = |name: &str| {
        json!({"kind": "okta", "name": name, "domain": app.sim.base_url(), "token": app.sim.token("READ_ONLY_ADMIN"),
               "options": {"allow_insecure_loopback": true}})
    };
    // Bad input, each naming its field.
    let mut body = good("okta");
    body["kind"] = json!("ldap");
    assert_error(
        admin.post("/api/v1/integrations", body).await,
        400,
        "invalid_input",
        Some("kind"),
    )
    .await;
    assert_error(
        admin.post("/api/v1/integrations", good("bad name!")).await,
        400,
        "invalid_input",
        Some("name"),
    )
    .await;
    let mut body = good("okta");
    body["domain"] = json!("not a domain");
    assert_error(
        admin.post("/api/v1/integrations", body).await,
        400,
        "invalid_input",
        Some("domain"),
    )
    .await;
    let mut body = good("okta");
    body["token"] = json!("  ");
    assert_error(
        admin.post("/api/v1/integrations", body).await,
        400,
        "invalid_input",
        Some("token"),
    )
    .await;
    let mut body = good("okta");
    body.as_object_mut().unwrap().remove("token");
    assert_error(
        admin.post("/api/v1/integrations", body).await,
        400,
        "invalid_input",
        Some("token"),
    )
    .await;

    assert_eq!(
        admin
            .post("/api/v1/integrations", good("okta"))
            .await
            .status(),
        201
    );
    assert_error(
        admin.post("/api/v1/integrations", good("okta")).await,
        409,
        "conflict",
        Some("name"),
    )
    .await;

    let list = json_of(admin.get("/api/v1/integrations").await).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    let text = list.to_string();
    assert!(
        !text.contains(&app.sim.token("READ_ONLY_ADMIN")),
        "a token was returned"
    );
    let one = json_of(admin.get("/api/v1/integrations/okta").await).await;
    assert_eq!(one["kind"], "okta");
    assert_error(
        admin.get("/api/v1/integrations/nope").await,
        404,
        "not_found",
        None,
    )
    .await;

    // A read-only admin token: reads pass, the deletion permission fails.
    let report = json_of(
        admin
            .post("/api/v1/integrations/okta/test", json!({}))
            .await,
    )
    .await;
    let checks = report["checks"].as_array().unwrap();
    assert!(!checks.is_empty(), "{report}");
    assert!(report["fatal"].is_null(), "{report}");
    let text = report.to_string();
    assert!(
        text.contains("true") && text.contains("false"),
        "expected ✓ and ✗ rows: {report}"
    );
    let after = json_of(admin.get("/api/v1/integrations/okta").await).await;
    assert_eq!(after["connected"], true);

    let caps = json_of(admin.get("/api/v1/integrations/okta/capabilities").await).await;
    assert!(!caps.as_array().unwrap().is_empty());

    assert_error(
        put(
            &admin,
            "/api/v1/integrations/okta/token",
            json!({"token": ""}),
        )
        .await,
        400,
        "invalid_input",
        Some("token"),
    )
    .await;
    let r = put(
        &admin,
        "/api/v1/integrations/okta/token",
        json!({"token": app.sim.token("SUPER_ADMIN")}),
    )
    .await;
    assert_eq!(r.status(), 204);
    assert_eq!(
        delete(&admin, "/api/v1/integrations/okta").await.status(),
        204
    );
    assert_error(
        admin.get("/api/v1/integrations/okta").await,
        404,
        "not_found",
        None,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insecure_simulator_domains_need_the_server_to_allow_them() {
    let app = spawn_app(20).await;
    // A second server on the same store that does not allow http:// integrations.
    let state = steward_server::AppState::new(
        app.store.clone(),
        app.clock.clone(),
        steward_server::ServerConfig::default(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(steward_server::serve(
        listener,
        state,
        std::future::pending(),
    ));
    let admin = Session::login(&base, "alice", crate::helpers::ADMIN_PASSWORD).await;
    let body = json!({"kind": "okta", "name": "okta", "domain": app.sim.base_url(), "token": "x", "options": {"allow_insecure_loopback": true}});
    assert_error(
        admin.post("/api/v1/integrations", body).await,
        400,
        "invalid_input",
        Some("options.allow_insecure_loopback"),
    )
    .await;
}

async fn synced_app() -> (TestApp, Session) {
    let app = spawn_app(60).await;
    let admin = app.admin().await;
    app.add_okta(&admin, "SUPER_ADMIN").await;
    let job = app.sync(&admin).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    (app, admin)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_runs_in_the_background_with_progress_and_refuses_overlap() {
    let (app, admin) = synced_app().await;
    let runs = json_of(admin.get("/api/v1/integrations/okta/runs").await).await;
    assert_eq!(runs[0]["status"], "succeeded");
    let job = json_of(admin.get("/api/v1/sync-runs/1").await).await;
    assert_eq!(job["run_id"], runs[0]["id"]);
    assert_eq!(job["resources"]["users"]["status"], "complete", "{job}");
    assert!(
        job["resources"]["users"]["fetched"].as_u64().unwrap() > 0,
        "{job}"
    );
    assert_error(
        admin.get("/api/v1/sync-runs/99").await,
        404,
        "not_found",
        None,
    )
    .await;
    assert_error(
        admin.get("/api/v1/sync-runs/abc").await,
        400,
        "invalid_input",
        Some("id"),
    )
    .await;
    // While a sync of the integration runs, another is refused.
    let id = app
        .store
        .integration_by_name("okta")
        .await
        .unwrap()
        .unwrap()
        .id;
    let held = app
        .state
        .jobs
        .start(id, "okta", app.clock.now_for_test())
        .unwrap();
    assert_error(
        admin
            .post("/api/v1/integrations/okta/sync", json!({}))
            .await,
        409,
        "conflict",
        None,
    )
    .await;
    app.state
        .jobs
        .finish(held, id, app.clock.now_for_test(), None, Err("test".into()));
    let job = app.sync(&admin).await;
    assert_eq!(job["status"], "succeeded", "{job}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inventory_lists_filters_triages_and_reports_changes() {
    let (_app, admin) = synced_app().await;
    let page = json_of(admin.get("/api/v1/inventory?status=staged").await).await;
    let items = page["items"].as_array().unwrap();
    assert!(items.len() >= 2, "{page}");
    let first = items[0]["display_id"].as_str().unwrap().to_string();
    let second = items[1]["display_id"].as_str().unwrap().to_string();
    let label = items[0]["label"].as_str().unwrap().to_string();
    let found = json_of(
        admin
            .get(&format!("/api/v1/inventory?q={}", label.to_lowercase()))
            .await,
    )
    .await;
    assert!(
        found["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["display_id"] == first.as_str()),
        "{found}"
    );
    // Filtered, counted and paged in SQL: `total` counts every match, LIKE wildcards are literal.
    let all = json_of(admin.get("/api/v1/inventory").await).await;
    let total = all["total"].as_u64().unwrap();
    assert_eq!(
        all["items"].as_array().unwrap().len() as u64,
        total.min(50),
        "{all}"
    );
    let beyond = json_of(
        admin
            .get(&format!("/api/v1/inventory?page={}", total / 50 + 2))
            .await,
    )
    .await;
    assert!(beyond["items"].as_array().unwrap().is_empty(), "{beyond}");
    assert_eq!(beyond["total"], total);
    let upper = json_of(
        admin
            .get(&format!("/api/v1/inventory?q={}", label.to_uppercase()))
            .await,
    )
    .await;
    assert!(
        upper["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["display_id"] == first.as_str()),
        "{upper}"
    );
    let wildcard = json_of(admin.get("/api/v1/inventory?q=%25").await).await;
    assert_eq!(wildcard["total"], 0, "{wildcard}");
    assert_error(
        admin.get("/api/v1/inventory?status=maybe").await,
        400,
        "invalid_input",
        Some("status"),
    )
    .await;
    assert_error(
        admin.get("/api/v1/inventory?page=0").await,
        400,
        "invalid_input",
        Some("page"),
    )
    .await;
    assert_error(
        admin.get("/api/v1/inventory?page=x").await,
        400,
        "invalid_input",
        Some("page"),
    )
    .await;
    assert_error(
        admin.get("/api/v1/inventory?colour=red").await,
        400,
        "invalid_input",
        Some("colour"),
    )
    .await;

    let item = json_of(admin.get(&format!("/api/v1/inventory/{first}")).await).await;
    assert_eq!(item["triage"], "staged");
    assert_error(
        admin.get("/api/v1/inventory/xyz").await,
        400,
        "invalid_input",
        Some("id"),
    )
    .await;
    assert_error(
        admin.get("/api/v1/inventory/INV-99999").await,
        404,
        "not_found",
        None,
    )
    .await;

    let r = admin
        .post(
            "/api/v1/inventory/accept",
            json!({"ids": [first], "owner": "not-an-email"}),
        )
        .await;
    assert_error(r, 400, "invalid_input", Some("owner")).await;
    let r = admin
        .post("/api/v1/inventory/accept", json!({"ids": ["nope"]}))
        .await;
    assert_error(r, 400, "invalid_input", Some("ids")).await;
    let r = admin
        .post(
            "/api/v1/inventory/accept",
            json!({"ids": [], "owner": "a@b.co"}),
        )
        .await;
    assert_error(r, 400, "invalid_input", Some("ids")).await;
    let r = admin
        .post(
            "/api/v1/inventory/accept",
            json!({"ids": [first], "owner": "privacy@example.com", "purpose": "CRM"}),
        )
        .await;
    let out = json_of(r).await;
    assert_eq!(out["accepted"][0]["triage"], "accepted");
    let r = admin
        .post("/api/v1/inventory/ignore", json!({"ids": [second]}))
        .await;
    assert_error(r, 400, "invalid_input", Some("reason")).await;
    let out = json_of(
        admin
            .post(
                "/api/v1/inventory/ignore",
                json!({"ids": [second], "reason": "no personal data"}),
            )
            .await,
    )
    .await;
    assert_eq!(out["ignored"][0]["triage"], "ignored");
    let accepted = json_of(admin.get("/api/v1/inventory?status=accepted").await).await;
    assert_eq!(accepted["total"], 1);

    let changes = json_of(admin.get("/api/v1/inventory/changes").await).await;
    assert_eq!(changes[0]["integration"], "okta");
    assert!(
        changes[0]["sync"]["added"].as_u64().unwrap() > 0,
        "{changes}"
    );
    assert_error(
        admin
            .get("/api/v1/inventory/changes?integration=nope")
            .await,
        404,
        "not_found",
        Some("integration"),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evidence_register_lists_verifies_and_exports() {
    let (_app, admin) = synced_app().await;
    let items = json_of(admin.get("/api/v1/evidence").await).await;
    assert_eq!(items.as_array().unwrap().len(), 2, "{items}");
    let id = items[0]["id"].as_str().unwrap().to_string();
    let one = json_of(admin.get(&format!("/api/v1/evidence/{id}")).await).await;
    assert_eq!(one["id"], id.as_str());
    assert_error(
        admin.get("/api/v1/evidence/EV-999").await,
        404,
        "not_found",
        None,
    )
    .await;
    let v = json_of(admin.get("/api/v1/evidence/verify").await).await;
    assert_eq!(v["intact"], true, "{v}");
    let r = admin.get("/api/v1/evidence/export?format=json").await;
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    assert_eq!(r.headers()["content-type"], "application/json");
    let export = json_of(r).await;
    assert_eq!(export["items"].as_array().unwrap().len(), 2);
    assert!(export["exported_at"].is_string(), "{export}");
    // CSV and HTML: the same rendering as `steward evidence export`, as attachments.
    for (format, content_type) in [
        ("csv", "text/csv; charset=utf-8"),
        ("html", "text/html; charset=utf-8"),
    ] {
        let r = admin
            .get(&format!("/api/v1/evidence/export?format={format}"))
            .await;
        assert_eq!(r.status(), 200, "{format}");
        assert_eq!(r.headers()["content-type"], content_type);
        let disposition = format!("attachment; filename=\"steward-evidence.{format}\"");
        assert_eq!(r.headers()["content-disposition"], disposition.as_str());
        let body = r.text().await.unwrap();
        if format == "csv" {
            assert!(body.starts_with("id,seq,kind,integration,"), "{body}");
            assert_eq!(body.lines().count(), 3, "a header and two items: {body}");
            assert!(body.contains(id.as_str()), "{body}");
        } else {
            assert!(body.starts_with("<!DOCTYPE html>"), "{body}");
            assert!(body.contains(&format!("<section id=\"{id}\">")), "{body}");
            assert!(body.contains("Evidence register intact"), "{body}");
            assert!(
                !body.contains("<script") && !body.contains("src="),
                "self-contained, no scripts"
            );
        }
    }
    assert_error(
        admin.get("/api/v1/evidence/export?format=pdf").await,
        400,
        "invalid_input",
        Some("format"),
    )
    .await;
    assert_error(
        admin.get("/api/v1/evidence/export?format=").await,
        400,
        "invalid_input",
        Some("format"),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identity_search_pages_users_groups_apps_and_admins() {
    let (app, admin) = synced_app().await;
    let users = json_of(admin.get("/api/v1/identity/users").await).await;
    assert_eq!(users["items"].as_array().unwrap().len(), 50);
    assert_eq!(users["has_more"], true);
    assert!(
        users["items"][0].get("raw").is_none(),
        "raw source objects are not served"
    );
    let page2 = json_of(admin.get("/api/v1/identity/users?page=2").await).await;
    assert_ne!(page2["items"][0]["id"], users["items"][0]["id"]);
    let login = users["items"][3]["login"].as_str().unwrap().to_string();
    let found = json_of(
        admin
            .get(&format!(
                "/api/v1/identity/users?q={}",
                login.to_uppercase()
            ))
            .await,
    )
    .await;
    assert!(
        found["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["login"] == login.as_str()),
        "{found}"
    );
    let active = json_of(admin.get("/api/v1/identity/users?status=ACTIVE").await).await;
    assert!(
        active["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["status"] == "ACTIVE")
    );
    let none = json_of(admin.get("/api/v1/identity/users?q=%25%25nobody%25").await).await;
    assert!(
        none["items"].as_array().unwrap().is_empty(),
        "LIKE wildcards are literal: {none}"
    );
    assert_error(
        admin.get("/api/v1/identity/users?page=0").await,
        400,
        "invalid_input",
        Some("page"),
    )
    .await;
    for kind in ["groups", "apps", "admins"] {
        let page = json_of(admin.get(&format!("/api/v1/identity/{kind}")).await).await;
        assert!(
            !page["items"].as_array().unwrap().is_empty(),
            "{kind}: {page}"
        );
    }
    drop(app);
}

fn plain_user(app: &TestApp) -> String {
    app.sim.with_org(|org| {
        (0..org.users.len())
            .find(|&u| {
                let user = &org.users[u];
                !user.deleted
                    && user.status == steward_simulator::org::Status::Active
                    && !org.token_users.contains(&(u as u32))
            })
            .map(|u| org.users[u].email.clone())
            .unwrap()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn privacy_requests_access_and_confirmed_deletion() {
    let (app, admin) = synced_app().await;
    let viewer = app.viewer().await;
    let email = plain_user(&app);
    assert_error(
        viewer
            .post("/api/v1/privacy-requests/access", json!({"email": "nope"}))
            .await,
        400,
        "invalid_input",
        Some("email"),
    )
    .await;
    let report = json_of(
        viewer
            .post("/api/v1/privacy-requests/access", json!({"email": email}))
            .await,
    )
    .await;
    assert_eq!(
        report["integrations"][0]["accounts"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "{report}"
    );

    let r = viewer
        .post(
            "/api/v1/privacy-requests/deletion",
            json!({"email": email, "dry_run": true}),
        )
        .await;
    assert_error(r, 403, "forbidden", None).await;
    let dry = json_of(
        admin
            .post(
                "/api/v1/privacy-requests/deletion",
                json!({"email": email, "dry_run": true}),
            )
            .await,
    )
    .await;
    assert_eq!(dry["outcome"], "dry_run", "{dry}");
    let account = dry["integrations"][0][1]["plan"]["account_id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = admin
        .post("/api/v1/privacy-requests/deletion", json!({"email": email}))
        .await;
    assert_error(r, 400, "invalid_input", Some("confirm_account_id")).await;
    let r = admin
        .post(
            "/api/v1/privacy-requests/deletion",
            json!({"email": email, "confirm_account_id": "00uWRONG"}),
        )
        .await;
    assert_error(r, 400, "invalid_input", Some("confirm_account_id")).await;
    let done = json_of(
        admin
            .post(
                "/api/v1/privacy-requests/deletion",
                json!({"email": email, "confirm_account_id": account}),
            )
            .await,
    )
    .await;
    assert_eq!(done["outcome"], "deleted", "{done}");
    let all = json_of(viewer.get("/api/v1/privacy-requests").await).await;
    assert!(all.as_array().unwrap().len() >= 3, "{all}");
    assert!(
        !all.to_string().contains(&email),
        "the email is never stored in clear"
    );
}
