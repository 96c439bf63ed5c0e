//! The web UI: pages render for each role, anonymous visitors go to the login page, forms
//! need the CSRF token, viewers cannot act, the connect form names bad fields, and the whole
//! connect → save → sync → staging-area path against the in-process simulator.

use reqwest::{Client, StatusCode, redirect};

use crate::helpers::{ADMIN_PASSWORD, TestApp, VIEWER_PASSWORD, spawn_app};

/// `application/x-www-form-urlencoded` of the pairs.
fn form_body(pairs: &[(&str, &str)]) -> String {
    fn enc(s: &str) -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    }
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// A browser-like client: cookies, no automatic redirects (tests look at them).
struct Browser {
    client: Client,
    base: String,
    csrf: String,
}

impl Browser {
    fn anonymous(base: &str) -> Browser {
        let client = Client::builder()
            .cookie_store(true)
            .redirect(redirect::Policy::none())
            .build()
            .unwrap();
        Browser {
            client,
            base: base.to_string(),
            csrf: String::new(),
        }
    }

    /// Log in through the HTML form, then read the CSRF token from a page.
    async fn login(base: &str, user: &str, password: &str) -> Browser {
        let mut b = Browser::anonymous(base);
        let r = b
            .post_form(
                "/login",
                &[
                    ("username", user),
                    ("password", password),
                    ("next", "/integrations"),
                ],
            )
            .await;
        assert_eq!(
            r.status(),
            StatusCode::SEE_OTHER,
            "{}",
            r.text().await.unwrap()
        );
        assert_eq!(r.headers()["location"], "/integrations");
        let page = b.page("/integrations").await;
        let marker = "name=\"csrf_token\" value=\"";
        let start = page.find(marker).expect("a csrf_token field") + marker.len();
        b.csrf = page[start..start + 64].to_string();
        b
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
    }

    /// GET a page, asserting 200, returning its HTML.
    async fn page(&self, path: &str) -> String {
        let r = self.get(path).await;
        let status = r.status();
        let text = r.text().await.unwrap();
        assert_eq!(status, StatusCode::OK, "GET {path}: {text}");
        text
    }

    async fn post_form(&self, path: &str, pairs: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form_body(pairs))
            .send()
            .await
            .unwrap()
    }

    /// A form post with the session's CSRF token in the form.
    async fn submit(&self, path: &str, pairs: &[(&str, &str)]) -> reqwest::Response {
        let mut all = pairs.to_vec();
        all.push(("csrf_token", &self.csrf));
        self.post_form(path, &all).await
    }

    /// An htmx post: CSRF in the header, as `hx-headers` sends it.
    async fn htmx(&self, path: &str, pairs: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("hx-request", "true")
            .header("x-csrf-token", &self.csrf)
            .body(form_body(pairs))
            .send()
            .await
            .unwrap()
    }
}

async fn admin(app: &TestApp) -> Browser {
    Browser::login(&app.base, "alice", ADMIN_PASSWORD).await
}

async fn viewer(app: &TestApp) -> Browser {
    Browser::login(&app.base, "victor", VIEWER_PASSWORD).await
}

/// Connect the simulator through the UI's form as integration "okta" with the token of `role`.
async fn connect(app: &TestApp, b: &Browser, role: &str) -> reqwest::Response {
    let domain = app.sim.base_url();
    let token = app.sim.token(role);
    b.submit(
        "/integrations/new",
        &[
            ("kind", "okta"),
            ("name", "okta"),
            ("domain", &domain),
            ("token", &token),
            ("allow_insecure_loopback", "true"),
        ],
    )
    .await
}

/// Wait for a sync started from the UI, through the progress fragment.
async fn wait_for_sync(b: &Browser, fragment: &str) -> String {
    let marker = "hx-get=\"";
    let mut html = fragment.to_string();
    for _ in 0..400 {
        if !html.contains("data-state=\"running\"") {
            return html;
        }
        let start = html.find(marker).expect("a running fragment polls") + marker.len();
        let url = html[start..].split('"').next().unwrap().to_string();
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        html = b.page(&url).await;
    }
    panic!("sync did not finish: {html}");
}

#[tokio::test]
async fn login_page_renders_and_anonymous_pages_redirect() {
    let app = spawn_app(100).await;
    let anon = Browser::anonymous(&app.base);
    let html = anon.page("/login").await;
    for id in ["login-username", "login-password", "login-submit"] {
        assert!(html.contains(&format!("id=\"{id}\"")), "{id} missing");
    }
    assert!(html.contains("<label for=\"login-username\""));
    for path in [
        "/integrations",
        "/inventory",
        "/privacy-requests",
        "/evidence",
        "/identity/users",
        "/integrations/new?kind=okta",
    ] {
        let r = anon.get(path).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{path}");
        let location = r.headers()["location"].to_str().unwrap().to_string();
        assert!(location.starts_with("/login?next="), "{path} → {location}");
    }
    let r = anon.get("/").await;
    assert_eq!(r.headers()["location"], "/integrations");
    // Static files: right types, long cache, and the CSP stays on.
    let r = anon.get("/static/htmx.min.js").await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(
        r.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age=31536000")
    );
    let r = anon.get("/static/app.css").await;
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    let r = anon.get("/login").await;
    assert!(
        r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'self'")
    );
}

#[tokio::test]
async fn login_errors_are_inline_and_rate_limited() {
    let app = spawn_app(100).await;
    let anon = Browser::anonymous(&app.base);
    // An open redirect is refused: `next` must be a local path.
    let r = Browser::anonymous(&app.base)
        .post_form(
            "/login",
            &[
                ("username", "victor"),
                ("password", VIEWER_PASSWORD),
                ("next", "//evil.example/"),
            ],
        )
        .await;
    assert_eq!(r.headers()["location"], "/integrations");
    let r = anon
        .post_form(
            "/login",
            &[("username", "alice"), ("password", "wrong-password-1")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let html = r.text().await.unwrap();
    assert!(html.contains("wrong user name or password"), "{html}");
    assert!(html.contains("value=\"alice\""), "the user name is kept");
    for _ in 0..5 {
        anon.post_form(
            "/login",
            &[("username", "alice"), ("password", "wrong-password-1")],
        )
        .await;
    }
    let r = anon
        .post_form(
            "/login",
            &[("username", "alice"), ("password", ADMIN_PASSWORD)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.text().await.unwrap().contains("too many failed logins"));
}

#[tokio::test]
async fn logout_ends_the_session() {
    let app = spawn_app(100).await;
    let b = admin(&app).await;
    let r = b.post_form("/logout", &[]).await;
    assert_eq!(
        r.status(),
        StatusCode::FORBIDDEN,
        "logout needs the CSRF token"
    );
    let r = b.submit("/logout", &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(b.get("/integrations").await.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn connect_form_names_bad_fields_and_viewers_cannot_connect() {
    let app = spawn_app(100).await;
    let b = admin(&app).await;
    let html = b.page("/integrations").await;
    assert!(html.contains("id=\"connect-okta\""));
    assert!(html.contains("id=\"connect-onetrust\""));
    let html = b.page("/integrations/new?kind=okta").await;
    for id in [
        "integration-name",
        "integration-domain",
        "integration-token",
        "integration-allow-insecure",
        "test-connection",
        "save-integration",
    ] {
        assert!(html.contains(&format!("id=\"{id}\"")), "{id} missing");
        assert!(
            html.contains(&format!("for=\"{id}\""))
                || id.ends_with("connection")
                || id.starts_with("save"),
            "label for {id}"
        );
    }
    let r = b
        .submit(
            "/integrations/new",
            &[
                ("kind", "okta"),
                ("name", "bad name!"),
                ("domain", ""),
                ("token", ""),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"name-error\""), "{html}");
    assert!(html.contains("id=\"domain-error\""), "{html}");
    assert!(html.contains("id=\"token-error\""), "{html}");
    let r = b
        .htmx(
            "/integrations/new/test",
            &[
                ("kind", "okta"),
                ("name", "okta"),
                ("domain", "not a domain"),
                ("token", "x"),
            ],
        )
        .await;
    let html = r.text().await.unwrap();
    assert!(html.contains("data-field=\"domain\""), "{html}");
    // Missing CSRF is refused.
    let r = b
        .post_form("/integrations/new", &[("kind", "okta"), ("name", "x")])
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // A viewer sees no connect button, and the handlers refuse.
    let v = viewer(&app).await;
    let html = v.page("/integrations").await;
    assert!(!html.contains("id=\"connect-okta\""));
    assert_eq!(
        v.get("/integrations/new?kind=okta").await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        connect(&app, &v, "super_admin").await.status(),
        StatusCode::FORBIDDEN
    );
    assert!(app.store.integrations().await.unwrap().is_empty());
}

#[tokio::test]
async fn test_connection_shows_rows_and_a_failing_token_is_not_saved() {
    let app = spawn_app(100).await;
    let b = admin(&app).await;
    let domain = app.sim.base_url();
    let token = app.sim.token("read_only_admin");
    let r = b
        .htmx(
            "/integrations/new/test",
            &[
                ("kind", "okta"),
                ("name", "okta"),
                ("domain", &domain),
                ("token", &token),
                ("allow_insecure_loopback", "true"),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"test-results\""), "{html}");
    assert!(html.contains("class=\"check ok\""), "{html}");
    assert!(!html.contains(&token), "the token is never rendered");
    // A token without the needed permissions fails a required check and is not saved.
    let bad = app.sim.token("no_admin");
    let r = b
        .submit(
            "/integrations/new",
            &[
                ("kind", "okta"),
                ("name", "okta"),
                ("domain", &domain),
                ("token", &bad),
                ("allow_insecure_loopback", "true"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let html = r.text().await.unwrap();
    assert!(!html.contains(&bad));
    assert!(app.store.integrations().await.unwrap().is_empty(), "{html}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_save_sync_and_see_the_staging_area() {
    let app = spawn_app(150).await;
    let b = admin(&app).await;
    let token = app.sim.token("super_admin");
    let r = connect(&app, &b, "super_admin").await;
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "{}",
        r.text().await.unwrap()
    );
    assert_eq!(r.headers()["location"], "/integrations/okta");
    let html = b.page("/integrations").await;
    assert!(html.contains("status-connected"), "{html}");
    let html = b.page("/integrations/okta").await;
    assert!(html.contains("Integration capabilities"));
    assert!(html.contains("id=\"sync-now\""));
    assert!(!html.contains(&token));
    let r = b.htmx("/integrations/okta/sync", &[]).await;
    assert_eq!(r.status(), 200);
    let html = wait_for_sync(&b, &r.text().await.unwrap()).await;
    assert!(html.contains("data-state=\"succeeded\""), "{html}");
    let html = b.page("/inventory").await;
    assert!(html.contains("id=\"staging-table\""), "{html}");
    assert!(html.contains("data-item-id="), "{html}");
    // Every page renders for both roles, and none shows the token.
    let v = viewer(&app).await;
    for who in [&b, &v] {
        for path in [
            "/integrations",
            "/integrations/okta",
            "/inventory",
            "/inventory?tab=all",
            "/privacy-requests",
            "/evidence",
            "/identity/users",
            "/identity/groups",
            "/identity/apps",
            "/identity/admins",
        ] {
            let html = who.page(path).await;
            assert!(!html.contains(&token), "{path} shows the token");
        }
    }
    let html = v.page("/integrations/okta").await;
    assert!(!html.contains("id=\"sync-now\""), "viewers get no Sync now");
    // Without JavaScript, Sync now posts the form and comes back to the page with the job.
    let r = b.submit("/integrations/okta/sync", &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html = b.page("/integrations/okta").await;
    let start = html
        .find("<div id=\"sync-progress\"")
        .expect("the progress block");
    let fragment = &html[start..];
    assert!(
        !fragment.starts_with("<div id=\"sync-progress\" data-state=\"idle\""),
        "{fragment}"
    );
    let done = wait_for_sync(&b, fragment).await;
    assert!(done.contains("data-state=\"succeeded\""), "{done}");
    assert_eq!(
        v.htmx("/integrations/okta/sync", &[]).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        v.submit("/integrations/okta/remove", &[("confirm", "okta")])
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
}

/// Admin and viewer sessions on an app whose simulator is connected and synced through the UI.
async fn synced_app() -> (TestApp, Browser, Browser) {
    let app = spawn_app(150).await;
    let b = admin(&app).await;
    let r = connect(&app, &b, "super_admin").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = b.htmx("/integrations/okta/sync", &[]).await;
    let html = wait_for_sync(&b, &r.text().await.unwrap()).await;
    assert!(html.contains("data-state=\"succeeded\""), "{html}");
    let v = viewer(&app).await;
    (app, b, v)
}

/// The first `data-item-id` of the staging table.
fn first_item(html: &str) -> String {
    let marker = "data-item-id=\"";
    let start = html.find(marker).expect("an item row") + marker.len();
    html[start..].split('"').next().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staging_area_accepts_and_ignores_single_and_bulk() {
    let (_app, b, v) = synced_app().await;
    let html = b.page("/inventory").await;
    assert!(html.contains("class=\"small accept-item\""), "{html}");
    assert!(html.contains("Changes since last sync"));
    let id = first_item(&html);
    // A viewer sees no accept buttons, and the handler refuses.
    let vhtml = v.page("/inventory").await;
    assert!(!vhtml.contains("accept-item"));
    assert_eq!(
        v.submit(
            "/inventory/triage",
            &[("accept_one", &id), ("back", "tab=staging")]
        )
        .await
        .status(),
        StatusCode::FORBIDDEN
    );
    // Without the CSRF token, refused.
    assert_eq!(
        b.post_form("/inventory/triage", &[("accept_one", &id)])
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    // Accept one.
    let r = b
        .submit(
            "/inventory/triage",
            &[("accept_one", &id), ("back", "tab=staging&page=1")],
        )
        .await;
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "{}",
        r.text().await.unwrap()
    );
    let location = r.headers()["location"].to_str().unwrap().to_string();
    let html = b.page(&location).await;
    assert!(html.contains("Accepted 1 item"), "{html}");
    assert!(
        !html.contains(&format!("data-item-id=\"{id}\"")),
        "accepted items leave the staging area"
    );
    let detail = b.page(&format!("/inventory/{id}")).await;
    assert!(
        detail.contains("Who uses the app") && detail.contains("accepted"),
        "{detail}"
    );
    // Ignoring needs a reason: the error names it and nothing changes.
    let second = first_item(&html);
    let r = b
        .submit(
            "/inventory/triage",
            &[
                ("action", "ignore"),
                ("ids", &second),
                ("back", "tab=staging"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("reason"));
    // Bulk ignore with a reason.
    let html = b.page("/inventory").await;
    let third = {
        let rest = &html[html.find(&format!("data-item-id=\"{second}\"")).unwrap() + 10..];
        first_item(rest)
    };
    let r = b
        .submit(
            "/inventory/triage",
            &[
                ("action", "ignore"),
                ("ids", &second),
                ("ids", &third),
                ("reason", "no personal data"),
                ("back", "tab=staging"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html = b.page("/inventory?tab=all&status=ignored").await;
    assert!(
        html.contains(&format!("data-item-id=\"{second}\""))
            && html.contains(&format!("data-item-id=\"{third}\"")),
        "{html}"
    );
    // Bad filters are 400s naming the parameter.
    let r = b.get("/inventory?tab=all&status=bogus").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("status"));
    assert_eq!(
        b.get("/inventory?page=0").await.status(),
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_request_downloads_the_export_and_deletion_needs_confirmation() {
    let (app, b, v) = synced_app().await;
    let email = plain_user(&app);
    let html = b.page("/privacy-requests").await;
    assert!(html.contains("id=\"request-email\"") && html.contains("id=\"start-access-request\""));
    // A bad email is named inline.
    let r = b
        .submit("/privacy-requests/access", &[("email", "not-an-email")])
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("email"));
    // A viewer may run an access request (read) and download it.
    let r = v
        .submit("/privacy-requests/access", &[("email", &email)])
        .await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"download-export\""), "{html}");
    let marker = "href=\"/privacy-requests/exports/";
    let start = html.find(marker).unwrap() + 6;
    let href = html[start..].split('"').next().unwrap().to_string();
    let r = v.get(&href).await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let export: serde_json::Value = r.json().await.unwrap();
    assert!(export["integrations"].is_array(), "{export}");
    // Nobody else can fetch it.
    assert_eq!(b.get(&href).await.status(), StatusCode::NOT_FOUND);
    // Deletion: viewers are refused; admins get a dry run naming the account, then must type
    // the email or account id.
    assert_eq!(
        v.get("/privacy-requests/delete").await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        v.submit("/privacy-requests/delete", &[("email", &email)])
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        v.submit(
            "/privacy-requests/delete/confirm",
            &[("email", &email), ("confirm", &email)]
        )
        .await
        .status(),
        StatusCode::FORBIDDEN
    );
    let r = b
        .submit("/privacy-requests/delete", &[("email", &email)])
        .await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("data-account-id=\""), "{html}");
    assert!(html.contains("id=\"delete-confirm\""), "{html}");
    let r = b
        .submit(
            "/privacy-requests/delete/confirm",
            &[("email", &email), ("confirm", "someone-else@example.com")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("confirm"));
    let r = b
        .submit(
            "/privacy-requests/delete/confirm",
            &[("email", &email), ("confirm", &email)],
        )
        .await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"deletion-receipt\""), "{html}");
    let html = b.page("/privacy-requests").await;
    assert!(html.contains("data-request-id="));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evidence_register_shows_verified_items_and_identity_searches() {
    let (_app, b, v) = synced_app().await;
    for who in [&b, &v] {
        let html = who.page("/evidence").await;
        assert!(html.contains("id=\"evidence-verify-status\""), "{html}");
        assert!(html.contains("Chain verified"), "{html}");
        assert!(
            html.matches("data-verified=\"true\"").count() >= 2,
            "{html}"
        );
        assert!(!html.contains("data-verified=\"false\""));
        assert!(
            html.contains("ISO 27001") || html.contains("SOC 2"),
            "{html}"
        );
    }
    for format in ["json", "csv", "html"] {
        let html = b.page("/evidence").await;
        let href = format!("/api/v1/evidence/export?format={format}");
        assert!(html.contains(&href), "{format}");
        let r = v.get(&href).await;
        assert_eq!(r.status(), 200, "{format}");
        assert!(
            r.headers()["content-disposition"]
                .to_str()
                .unwrap()
                .starts_with("attachment")
        );
    }
    let html = b.page("/evidence/EV-1").await;
    assert!(html.contains("Mapped controls"));
    assert_eq!(
        b.get("/evidence/EV-999").await.status(),
        StatusCode::NOT_FOUND
    );
    // Identity: full page, then the htmx fragment of a search.
    let html = b.page("/identity/users").await;
    assert!(html.contains("id=\"identity-search\"") && html.contains("keyup changed delay:300ms"));
    assert!(html.contains("<th scope=\"col\">Login</th>"));
    let r = b
        .client
        .get(format!("{}/identity/users?q=zzzz-no-such-user", b.base))
        .header("hx-request", "true")
        .header("hx-target", "identity-results")
        .send()
        .await
        .unwrap();
    let html = r.text().await.unwrap();
    assert!(html.starts_with("<div id=\"identity-results\""), "{html}");
    assert!(html.contains("No matches"));
    let html = b.page("/identity/admins").await;
    let body = &html[html.find("<tbody>").expect("admin rows")..];
    assert!(body.contains("@"), "admins are named by login: {body}");
    assert_eq!(
        b.get("/identity/nope").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        b.get("/identity/users?page=x").await.status(),
        StatusCode::BAD_REQUEST
    );
}

/// An active user no token acts as (safe to delete).
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

#[tokio::test]
async fn onetrust_form_and_htmx_session_expiry() {
    let app = spawn_app(100).await;
    let b = admin(&app).await;
    let html = b.page("/integrations/new?kind=onetrust").await;
    assert!(
        html.contains("Connect OneTrust") && html.contains("id=\"integration-client-id\""),
        "{html}"
    );
    let r = b
        .submit(
            "/integrations/new",
            &[
                ("kind", "onetrust"),
                ("name", "ot"),
                ("domain", "acme.my.onetrust.com"),
                ("auth_method", "client_credentials"),
                ("client_id", ""),
                ("token", "secret"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"client_id-error\""), "{html}");
    assert!(
        !html.contains("value=\"secret\""),
        "secrets are never rendered back"
    );
    assert_eq!(
        b.get("/integrations/new?kind=nope").await.status(),
        StatusCode::BAD_REQUEST
    );
    // An htmx request without a session is told to navigate to the login page.
    let anon = Browser::anonymous(&app.base);
    let r = anon
        .client
        .get(format!("{}/identity/users?q=x", app.base))
        .header("hx-request", "true")
        .header("hx-current-url", format!("{}/identity/users", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["hx-redirect"],
        "/login?next=%2Fidentity%2Fusers"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frequency_token_replacement_and_removal_are_admin_only() {
    let app = spawn_app(100).await;
    let b = admin(&app).await;
    let v = viewer(&app).await;
    assert_eq!(
        connect(&app, &b, "super_admin").await.status(),
        StatusCode::SEE_OTHER
    );
    // Sync frequency.
    assert_eq!(
        v.submit("/integrations/okta/schedule", &[("frequency", "daily")])
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let r = b
        .submit(
            "/integrations/okta/schedule",
            &[("frequency", "fortnightly")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("frequency"));
    assert_eq!(
        b.submit("/integrations/okta/schedule", &[("frequency", "6h")])
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    let html = b.page("/integrations/okta").await;
    assert!(html.contains("<option value=\"6h\" selected>"), "{html}");
    assert!(v.page("/integrations/okta").await.contains("Every 6 hours"));
    // Replace the token: admin only, never rendered.
    let new_token = app.sim.token("read_only_admin");
    assert_eq!(
        v.submit("/integrations/okta/token", &[("token", &new_token)])
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        b.submit("/integrations/okta/token", &[("token", " ")])
            .await
            .status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        b.submit("/integrations/okta/token", &[("token", &new_token)])
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    let html = b.page("/integrations/okta").await;
    assert!(!html.contains(&new_token));
    assert!(
        html.contains("status-connected"),
        "the new token was tested: {html}"
    );
    // Remove: admin only, and the name must be typed.
    assert_eq!(
        v.submit("/integrations/okta/remove", &[("confirm", "okta")])
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        b.submit("/integrations/okta/remove", &[("confirm", "")])
            .await
            .status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(app.store.integrations().await.unwrap().len(), 1);
    assert_eq!(
        b.submit("/integrations/okta/remove", &[("confirm", "okta")])
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    assert!(app.store.integrations().await.unwrap().is_empty());
    assert_eq!(
        b.get("/integrations/okta").await.status(),
        StatusCode::NOT_FOUND
    );
}
