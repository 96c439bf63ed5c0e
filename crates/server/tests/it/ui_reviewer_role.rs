//! The `reviewer` role: a reviewer signs in (web form) as the email their cases name, lands on
//! their own queue, sees only their cases, cannot open another reviewer's queue, decides as
//! themselves (the case leaves every other queue), reads the report of a campaign they review
//! (their cases only), and is refused everything else in the UI and the API. Viewers cannot
//! decide through the API either.

use reqwest::{Client, Method, StatusCode, redirect};
use serde_json::{Value, json};
use steward_products::reviews;
use steward_store::InventoryFilter;

use crate::helpers::{Session, TestApp, assert_error, spawn_app};

const R1: &str = "r1@example.com";
const R2: &str = "r2@example.com";
const REVIEWER_PASSWORD: &str = "reviewer-password-123";

/// A browser (cookies, no automatic redirects) logged in through the HTML login form.
struct Browser {
    client: Client,
    base: String,
    csrf: String,
}

impl Browser {
    /// Log in with the form (no `next`: the role's landing page); returns the browser and
    /// where the login sent it.
    async fn login(base: &str, user: &str, next: Option<&str>) -> (Browser, String) {
        let client = Client::builder()
            .cookie_store(true)
            .redirect(redirect::Policy::none())
            .build()
            .unwrap();
        let mut form = vec![("username", user), ("password", REVIEWER_PASSWORD)];
        if let Some(n) = next {
            form.push(("next", n));
        }
        let r = client
            .post(format!("{base}/login"))
            .header("content-type", FORM)
            .body(form_body(&form))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "login {user}");
        let location = r.headers()["location"].to_str().unwrap().to_string();
        // The session's CSRF token, from the API like a script would read it.
        let me: Value = client
            .get(format!("{base}/api/v1/auth/me"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(me["name"], user);
        assert_eq!(me["role"], "reviewer");
        let csrf = me["csrf_token"].as_str().unwrap().to_string();
        (
            Browser {
                client,
                base: base.to_string(),
                csrf,
            },
            location,
        )
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
    }

    async fn page(&self, path: &str) -> String {
        let r = self.get(path).await;
        let status = r.status();
        let text = r.text().await.unwrap();
        assert_eq!(status, StatusCode::OK, "GET {path}: {text}");
        text
    }

    /// A form post with the CSRF token; `htmx` adds the header htmx sends.
    async fn post(&self, path: &str, pairs: &[(&str, &str)], htmx: bool) -> reqwest::Response {
        let mut pairs: Vec<(&str, &str)> = pairs.to_vec();
        pairs.push(("csrf_token", &self.csrf));
        let mut rb = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", FORM)
            .body(form_body(&pairs));
        if htmx {
            rb = rb.header("hx-request", "true");
        }
        rb.send().await.unwrap()
    }

    /// The same session as an API client.
    fn api(&self) -> Session {
        Session {
            client: self.client.clone(),
            base: self.base.clone(),
            csrf: Some(self.csrf.clone()),
        }
    }
}

const FORM: &str = "application/x-www-form-urlencoded";

fn form_body(pairs: &[(&str, &str)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

/// Every `data-case-id` in `html`, in order.
fn case_ids(html: &str) -> Vec<i64> {
    html.split("data-case-id=\"")
        .skip(1)
        .map(|s| s[..s.find('"').unwrap()].parse().unwrap())
        .collect()
}

/// The HTML of the element with `id` up to the first `end` after it.
fn section<'a>(html: &'a str, id: &str, end: &str) -> &'a str {
    let marker = format!("id=\"{id}\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no #{id} in {html}"));
    let rest = &html[start..];
    &rest[..rest.find(end).unwrap_or(rest.len())]
}

/// A synced app with reviewer users r1 and r2, a campaign both review (`both`) and one only
/// r2 reviews (`r2_only`).
async fn setup() -> (TestApp, Session, i64, i64) {
    let app = spawn_app(60).await;
    let admin = app.admin().await;
    app.add_okta(&admin, "SUPER_ADMIN").await;
    let job = app.sync(&admin).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    for r in [R1, R2] {
        steward_server::auth::create_user(
            &app.store,
            r,
            "reviewer",
            REVIEWER_PASSWORD,
            app.clock.now_for_test(),
        )
        .await
        .unwrap();
    }
    let mut items = steward_products::inventory::list(
        &app.store,
        &InventoryFilter {
            integration_id: None,
            triage: None,
        },
    )
    .await
    .unwrap();
    items.retain(|i| i.facts.assigned_users >= 2);
    items.sort_by_key(|i| std::cmp::Reverse(i.facts.assigned_users));
    assert!(items.len() >= 2, "two apps with users");
    let mut ids = Vec::new();
    for (name, item, reviewer) in [
        ("Both", &items[0], format!("{R1},{R2}")),
        ("R2 only", &items[1], R2.to_string()),
    ] {
        let body = json!({"name": name, "integration": "okta", "scope": format!("apps:{}", item.facts.app_id),
                          "reviewer": reviewer, "due": "2026-12-15"});
        let r = admin.post("/api/v1/reviews", body).await;
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
        let v: Value = r.json().await.unwrap();
        ids.push(v["id"].as_i64().unwrap());
    }
    (app, admin, ids[0], ids[1])
}

async fn queue_ids(app: &TestApp, reviewer: &str) -> Vec<i64> {
    reviews::queue(&app.store, reviewer)
        .await
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reviewer_sees_and_decides_only_their_own_queue() {
    let (app, admin, both, r2_only) = setup().await;
    let (_, r2_cases) = reviews::show(&app.store, r2_only, app.clock.as_ref())
        .await
        .unwrap();
    let r2_only_case = r2_cases[0].id;

    // Logging in lands on the queue, whatever the default destination would be.
    let (r1, landed) = Browser::login(&app.base, R1, None).await;
    assert_eq!(landed, "/reviews/queue");
    for next in ["/integrations", "/reviews/1"] {
        let (_, landed) = Browser::login(&app.base, R1, Some(next)).await;
        assert_eq!(landed, "/reviews/queue", "next={next}");
    }
    let (_, landed) = Browser::login(&app.base, R1, Some("/reviews/1/report")).await;
    assert_eq!(landed, "/reviews/1/report");
    let r = r1.get("/").await;
    assert_eq!(r.headers()["location"], "/reviews/queue");

    // Their queue: exactly their cases, with Keep / Revoke, and a nav of "My reviews" only.
    let want = queue_ids(&app, R1).await;
    assert!(want.len() >= 2, "{want:?}");
    assert!(!want.contains(&r2_only_case));
    let html = r1.page("/reviews/queue").await;
    assert_eq!(case_ids(section(&html, "queue-table", "</table>")), want);
    assert!(html.contains("My reviews: r1@example.com"), "{html}");
    assert!(html.contains("id=\"nav-my-reviews\""));
    for hidden in [
        "nav-integrations",
        "nav-reviews\"",
        "nav-evidence",
        "nav-people",
        "nav-findings",
        "queue-reviewer",
    ] {
        assert!(
            !html.contains(&format!("id=\"{hidden}")),
            "{hidden} shown to a reviewer"
        );
    }
    assert!(html.contains("class=\"decide-keep") && html.contains("id=\"bulk-revoke\""));
    // Asking for their own queue by name is the same page; anyone else's is 403.
    assert_eq!(
        case_ids(section(
            &r1.page("/reviews/queue?reviewer=R1%40example.com").await,
            "queue-table",
            "</table>"
        )),
        want
    );
    let r = r1.get("/reviews/queue?reviewer=r2%40example.com").await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("you can open only your own queue (r1@example.com)")
    );

    // Deciding (htmx) records r1 as the decider; the case leaves r2's queue.
    let first = want[0].to_string();
    let r = r1
        .post(
            &format!("/reviews/cases/{first}/keep"),
            &[(&format!("comment-{first}"), "still on the team")],
            true,
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.text().await.unwrap(),
        format!(
            "<span id=\"queue-count\" hx-swap-oob=\"true\">{}</span>",
            want.len() - 1
        )
    );
    let c = app.store.review_case(want[0]).await.unwrap().unwrap();
    assert_eq!(
        (
            c.decision.as_deref(),
            c.decided_by.as_deref(),
            c.comment.as_deref()
        ),
        (Some("keep"), Some(R1), Some("still on the team"))
    );
    assert!(!queue_ids(&app, R2).await.contains(&want[0]));
    let (r2, _) = Browser::login(&app.base, R2, None).await;
    let q2 = r2.page("/reviews/queue").await;
    let shown = case_ids(section(&q2, "queue-table", "</table>"));
    assert!(
        !shown.contains(&want[0]) && shown.contains(&r2_only_case) && shown.contains(&want[1]),
        "{shown:?}"
    );

    // r1 cannot decide as r2, nor a case only r2 reviews.
    let second = want[1].to_string();
    let r = r1
        .post(
            &format!("/reviews/cases/{second}/revoke"),
            &[("reviewer", R2)],
            false,
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("you decide as r1@example.com")
    );
    let r = r1
        .post(
            "/reviews/queue/decide",
            &[("reviewer", R2), ("decision", "keep"), ("case", &second)],
            false,
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = r1
        .post(&format!("/reviews/cases/{r2_only_case}/revoke"), &[], false)
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert!(
        app.store
            .review_case(r2_only_case)
            .await
            .unwrap()
            .unwrap()
            .decision
            .is_none()
    );
    assert!(
        app.store
            .review_case(want[1])
            .await
            .unwrap()
            .unwrap()
            .decision
            .is_none()
    );

    // Bulk, without naming a reviewer: decided as r1.
    let r = r1
        .post(
            "/reviews/queue/decide",
            &[
                ("decision", "revoke"),
                ("bulk-comment", "left"),
                ("case", &second),
            ],
            false,
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("Revoked 1 case(s)."));
    let c = app.store.review_case(want[1]).await.unwrap().unwrap();
    assert_eq!(
        (
            c.decision.as_deref(),
            c.decided_by.as_deref(),
            c.comment.as_deref()
        ),
        (Some("revoke"), Some(R1), Some("left"))
    );

    // The report of a campaign they review lists their cases only, without downloads; the
    // campaign they do not review is not found.
    let html = r1.page(&format!("/reviews/{both}/report")).await;
    let mine = queue_ids(&app, R1).await.len() + 2;
    assert_eq!(
        case_ids(section(&html, "report-table", "</table>")).len(),
        mine
    );
    assert!(html.contains(&format!("data-case-id=\"{first}\" data-decision=\"keep\"")));
    assert!(!html.contains("id=\"report-downloads\"") && html.contains("id=\"report-own-cases\""));
    assert_eq!(
        r1.get(&format!("/reviews/{r2_only}/report")).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        r1.get(&format!("/reviews/{both}/report/download?format=csv"))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );

    // Everything else is refused.
    for path in [
        "/integrations",
        "/integrations/okta",
        "/inventory",
        "/privacy-requests",
        "/evidence",
        "/identity/users",
        "/findings",
        "/people",
        "/reviews",
        &format!("/reviews/{both}"),
    ] {
        let r = r1.get(path).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "GET {path}");
        assert!(
            r.text()
                .await
                .unwrap()
                .contains("Reviewers can only open their own review queue"),
            "GET {path}"
        );
    }
    let form = [
        ("name", "Mine"),
        ("integration", "okta"),
        ("scope", "all"),
        ("reviewer", R1),
        ("due", "2026-12-15"),
    ];
    assert_eq!(
        r1.post("/reviews", &form, false).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        r1.post(&format!("/reviews/{both}/remediate"), &[], false)
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        r1.post("/integrations/okta/sync", &[], false)
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        reviews::list(&app.store, app.clock.as_ref())
            .await
            .unwrap()
            .len(),
        2,
        "no campaign was created"
    );

    // Admins still act for any reviewer.
    let third = queue_ids(&app, R2).await[0];
    let r = admin
        .post(
            &format!("/api/v1/review-cases/{third}/decision"),
            json!({"decision": "keep", "reviewer": R2}),
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());

    // Logging out works for a reviewer too.
    let r = r1.post("/logout", &[], false).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        r1.get("/reviews/queue").await.status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_gives_a_reviewer_their_queue_and_decisions_and_nothing_else() {
    let (app, _admin, _, _) = setup().await;
    let (r1, _) = Browser::login(&app.base, R1, None).await;
    let api = r1.api();
    let want = queue_ids(&app, R1).await;

    let q: Value = api.get("/api/v1/reviews/queue").await.json().await.unwrap();
    assert_eq!(q["reviewer"], R1);
    let got: Vec<i64> = q["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert_eq!(got, want);
    let r = api
        .get("/api/v1/reviews/queue?reviewer=r2%40example.com")
        .await;
    assert_error(r, 403, "forbidden", Some("reviewer")).await;

    let r = api
        .post(
            &format!("/api/v1/review-cases/{}/decision", want[0]),
            json!({"decision": "keep", "reviewer": R2}),
        )
        .await;
    assert_error(r, 403, "forbidden", Some("reviewer")).await;
    let r = api
        .post(
            &format!("/api/v1/review-cases/{}/decision", want[0]),
            json!({"decision": "revoke", "comment": "gone"}),
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let c: Value = r.json().await.unwrap();
    assert_eq!(
        (c["decision"].as_str(), c["decided_by"].as_str()),
        (Some("revoke"), Some(R1))
    );
    assert!(
        !queue_ids(&app, R2).await.contains(&want[0]),
        "the case left r2's queue"
    );

    // Every other route of the API is refused (the path's resource need not exist: the
    // role check comes first).
    let open = [
        "/auth/login",
        "/auth/logout",
        "/auth/me",
        "/reviews/queue",
        "/review-cases/{id}/decision",
    ];
    for (m, path) in steward_server::api::ROUTES {
        if open.contains(path) {
            continue;
        }
        let concrete = path
            .replace("{name}", "okta")
            .replace("{id}", "1")
            .replace("{email}", "a%40b.example");
        let method = Method::from_bytes(m.to_ascii_uppercase().as_bytes()).unwrap();
        let r = api
            .request(method, &format!("/api/v1{concrete}"))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        let body = assert_error(r, 403, "forbidden", None).await;
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains("reviewers can only open their own review queue"),
            "{m} {path}: {body}"
        );
    }

    // Viewers read queues but do not decide.
    let viewer = app.viewer().await;
    let q: Value = viewer
        .get("/api/v1/reviews/queue?reviewer=r2%40example.com")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(q["reviewer"], R2);
    let r = viewer
        .post(
            &format!("/api/v1/review-cases/{}/decision", want[1]),
            json!({"decision": "keep"}),
        )
        .await;
    assert_error(r, 403, "forbidden", None).await;

    // A reviewer's account must be an email; the role list names all three.
    let e = steward_server::auth::create_user(
        &app.store,
        "bob",
        "reviewer",
        REVIEWER_PASSWORD,
        app.clock.now_for_test(),
    )
    .await
    .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("user name: \"bob\" is not an email"),
        "{e}"
    );
    let e = steward_server::auth::validate_role("auditor").unwrap_err();
    assert_eq!(
        e.to_string(),
        "role must be \"admin\", \"viewer\" or \"reviewer\", not \"auditor\""
    );
}
