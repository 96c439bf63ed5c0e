//! The access-review pages of the web UI over a synced simulator: they render for each role,
//! anonymous visitors go to the login page, every change needs the CSRF token and the admin
//! role, a campaign is created through the form, cases are decided from the queue (one at a
//! time with htmx, or in bulk), a case decided by one reviewer leaves the other's queue and a
//! stale decision says who was first, and the report shows the decisions.

use reqwest::{Client, StatusCode, redirect};
use serde_json::{Value, json};
use steward_products::reviews;
use steward_store::InventoryFilter;

use crate::helpers::{ADMIN_PASSWORD, TestApp, VIEWER_PASSWORD, spawn_app};

const USERS: usize = 60;
const R1: &str = "r1@example.com";
const R2: &str = "r2@example.com";

/// A browser-like client (cookies, no automatic redirects) logged in through the API.
struct Browser {
    client: Client,
    base: String,
    csrf: String,
}

impl Browser {
    async fn login(base: &str, user: &str, password: &str) -> Browser {
        let client = Client::builder()
            .cookie_store(true)
            .redirect(redirect::Policy::none())
            .build()
            .unwrap();
        let r = client
            .post(format!("{base}/api/v1/auth/login"))
            .json(&json!({"username": user, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let me: Value = r.json().await.unwrap();
        Browser {
            client,
            base: base.to_string(),
            csrf: me["csrf_token"].as_str().unwrap().to_string(),
        }
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

    /// A form post, with the CSRF token in the form (`with_csrf`) or without it; `htmx` adds
    /// the header htmx sends.
    async fn post_as(
        &self,
        path: &str,
        pairs: &[(&str, &str)],
        with_csrf: bool,
        htmx: bool,
    ) -> reqwest::Response {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs {
            s.append_pair(k, v);
        }
        if with_csrf {
            s.append_pair("csrf_token", &self.csrf);
        }
        let mut rb = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded");
        if htmx {
            rb = rb.header("hx-request", "true");
        }
        rb.body(s.finish()).send().await.unwrap()
    }

    async fn post(&self, path: &str, pairs: &[(&str, &str)], with_csrf: bool) -> reqwest::Response {
        self.post_as(path, pairs, with_csrf, false).await
    }
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

/// Every `data-case-id` in `html`, in order.
fn case_ids(html: &str) -> Vec<i64> {
    html.split("data-case-id=\"")
        .skip(1)
        .map(|s| s[..s.find('"').unwrap()].parse().unwrap())
        .collect()
}

async fn synced() -> TestApp {
    let app = spawn_app(USERS).await;
    let admin = app.admin().await;
    app.add_okta(&admin, "SUPER_ADMIN").await;
    let job = app.sync(&admin).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    app
}

/// Create a campaign through the form; returns its id.
async fn create(b: &Browser, name: &str, scope: &str, reviewer: &str) -> i64 {
    let r = b
        .post(
            "/reviews",
            &[
                ("name", name),
                ("integration", "okta"),
                ("scope", scope),
                ("reviewer", reviewer),
                ("due", "2026-12-15"),
            ],
            true,
        )
        .await;
    let status = r.status();
    let location = r
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string());
    assert_eq!(status, StatusCode::SEE_OTHER, "{}", r.text().await.unwrap());
    let location = location.unwrap();
    location.strip_prefix("/reviews/").unwrap().parse().unwrap()
}

#[tokio::test]
async fn anonymous_visitors_log_in_and_changes_need_csrf_and_admin() {
    let app = spawn_app(20).await;
    let anon = Client::builder()
        .redirect(redirect::Policy::none())
        .build()
        .unwrap();
    for path in [
        "/reviews",
        "/reviews/queue?reviewer=r1%40example.com",
        "/reviews/1",
        "/reviews/1/report",
    ] {
        let r = anon
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{path}");
        assert!(
            r.headers()["location"]
                .to_str()
                .unwrap()
                .starts_with("/login?next="),
            "{path}"
        );
    }
    let admin = Browser::login(&app.base, "alice", ADMIN_PASSWORD).await;
    let viewer = Browser::login(&app.base, "victor", VIEWER_PASSWORD).await;
    for b in [&admin, &viewer] {
        let html = b.page("/reviews").await;
        assert!(html.contains("id=\"nav-reviews\"") && html.contains("id=\"campaigns-table\""));
        let html = b.page("/reviews/queue").await;
        assert!(html.contains("Enter a reviewer's email"));
    }
    assert!(admin.page("/reviews").await.contains("id=\"new-campaign\""));
    assert!(
        !viewer
            .page("/reviews")
            .await
            .contains("id=\"new-campaign\"")
    );
    let form = [
        ("name", "Q4"),
        ("integration", "okta"),
        ("scope", "all"),
        ("reviewer", R1),
        ("due", "2026-12-15"),
    ];
    assert_eq!(
        viewer.post("/reviews", &form, true).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        admin.post("/reviews", &form, false).await.status(),
        StatusCode::FORBIDDEN,
        "no CSRF token"
    );
    for path in [
        "/reviews/cases/1/keep",
        "/reviews/queue/decide",
        "/reviews/1/remediate",
    ] {
        let r = viewer
            .post(
                path,
                &[("reviewer", R1), ("decision", "keep"), ("case", "1")],
                true,
            )
            .await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "viewer POST {path}");
        let r = admin
            .post(
                path,
                &[("reviewer", R1), ("decision", "keep"), ("case", "1")],
                false,
            )
            .await;
        assert_eq!(
            r.status(),
            StatusCode::FORBIDDEN,
            "admin POST {path} without CSRF"
        );
    }
    assert!(
        reviews::list(&app.store, app.clock.as_ref())
            .await
            .unwrap()
            .is_empty()
    );
    // Bad input names the field; unknown campaigns are 404.
    let r = admin
        .post(
            "/reviews",
            &[
                ("name", "Q4"),
                ("integration", "okta"),
                ("scope", "everything"),
                ("reviewer", R1),
                ("due", "2026-12-15"),
            ],
            true,
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("--scope") && html.contains("value=\"everything\""),
        "the form keeps what was typed: {html}"
    );
    assert_eq!(
        admin.get("/reviews/999").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        admin.get("/reviews/abc").await.status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        admin
            .get("/reviews/queue?reviewer=not%20an%20email")
            .await
            .status(),
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn campaign_from_the_form_decided_from_the_queue_with_concurrent_reviewers_and_reported() {
    let app = synced().await;
    let admin = Browser::login(&app.base, "alice", ADMIN_PASSWORD).await;
    let viewer = Browser::login(&app.base, "victor", VIEWER_PASSWORD).await;

    // One app's assignments, reviewed by two reviewers.
    let items = steward_products::inventory::list(
        &app.store,
        &InventoryFilter {
            integration_id: None,
            triage: None,
        },
    )
    .await
    .unwrap();
    let app_item = items
        .iter()
        .filter(|i| i.facts.assigned_users >= 3)
        .max_by_key(|i| i.facts.assigned_users)
        .expect("an app with users");
    let scope = format!("apps:{}", app_item.facts.app_id);
    assert!(
        admin
            .page("/reviews")
            .await
            .contains(&format!("value=\"{scope}\"")),
        "the scope picker offers the app"
    );
    let id = create(&admin, "Q4 app review", &scope, &format!("{R1},{R2}")).await;
    let (view, cases) = reviews::show(&app.store, id, app.clock.as_ref())
        .await
        .unwrap();
    assert!(cases.len() >= 3, "{} cases", cases.len());
    assert!(
        cases
            .iter()
            .all(|c| c.edge == "app" && c.target_id == app_item.facts.app_id)
    );

    // The list and the campaign page, for both roles.
    for b in [&admin, &viewer] {
        let html = b.page("/reviews").await;
        let table = section(&html, "campaigns-table", "</table>");
        assert!(
            table.contains(&format!("data-campaign-id=\"{id}\""))
                && table.contains("Q4 app review")
                && table.contains(&scope)
        );
        assert!(table.contains(&format!("{} cases", view.cases)));
        let html = b.page(&format!("/reviews/{id}")).await;
        let shown = case_ids(section(&html, "cases-table", "</table>"));
        assert_eq!(shown, cases.iter().map(|c| c.id).collect::<Vec<_>>());
        assert!(html.contains(&format!("<td>{}", cases[0].account_login)));
        assert!(html.contains("/reviews/queue?reviewer=r1%40example.com"));
        assert_eq!(html.contains("id=\"remediate\""), b.csrf == admin.csrf);
    }

    // Both queues list every case; the viewer reads it without buttons.
    let q1 = admin.page(&format!("/reviews/queue?reviewer={R1}")).await;
    let q2 = admin.page(&format!("/reviews/queue?reviewer={R2}")).await;
    let want: Vec<i64> = reviews::queue(&app.store, R1)
        .await
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(case_ids(section(&q1, "queue-table", "</table>")), want);
    assert_eq!(case_ids(section(&q2, "queue-table", "</table>")), want);
    assert!(
        q1.contains("class=\"decide-keep")
            && q1.contains("id=\"bulk-revoke\"")
            && q1.contains("id=\"select-all-cases\"")
    );
    let vq = viewer.page(&format!("/reviews/queue?reviewer={R1}")).await;
    assert_eq!(case_ids(section(&vq, "queue-table", "</table>")), want);
    assert!(!vq.contains("decide-keep") && !vq.contains("bulk-keep"));

    // r1 keeps the first case (htmx): an empty answer, so the row disappears.
    let first = want[0].to_string();
    let r = admin
        .post_as(
            &format!("/reviews/cases/{first}/keep"),
            &[
                ("reviewer", R1),
                (&format!("comment-{first}"), "needed for payroll"),
            ],
            true,
            true,
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    // Nothing but the queue's new count (out of band): the row itself disappears.
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
        (Some("keep"), Some(R1), Some("needed for payroll"))
    );
    // It has left r2's queue too, and r2's stale decision says who was first.
    let q2 = admin.page(&format!("/reviews/queue?reviewer={R2}")).await;
    assert!(!case_ids(section(&q2, "queue-table", "</table>")).contains(&want[0]));
    let r = admin
        .post_as(
            &format!("/reviews/cases/{first}/revoke"),
            &[("reviewer", R2)],
            true,
            true,
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let row = r.text().await.unwrap();
    assert!(
        row.contains(&format!("data-stale-case-id=\"{first}\""))
            && row.contains("already decided by r1@example.com"),
        "{row}"
    );
    // Without htmx the same refusal is a 409 page naming the first reviewer.
    let r = admin
        .post(
            &format!("/reviews/cases/{first}/revoke"),
            &[("reviewer", R2)],
            true,
        )
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("already decided by r1@example.com")
    );
    assert_eq!(
        app.store
            .review_case(want[0])
            .await
            .unwrap()
            .unwrap()
            .decision
            .as_deref(),
        Some("keep")
    );

    // r2 revokes the second case with a plain form post: back to the queue.
    let second = want[1].to_string();
    let r = admin
        .post(
            &format!("/reviews/cases/{second}/revoke"),
            &[("reviewer", R2)],
            true,
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        r.headers()["location"],
        format!("/reviews/queue?reviewer=r2%40example.com&decided={second}")
    );

    // Bulk: keep the rest except the last, including an already-decided one.
    let rest: Vec<String> = want[2..want.len() - 1].iter().map(i64::to_string).collect();
    let mut pairs: Vec<(&str, &str)> = vec![
        ("reviewer", R1),
        ("decision", "keep"),
        ("bulk-comment", "bulk"),
        ("case", &second),
    ];
    pairs.extend(rest.iter().map(|c| ("case", c.as_str())));
    let r = admin.post("/reviews/queue/decide", &pairs, true).await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(
        html.contains(&format!("Kept {} case(s).", rest.len())),
        "{html}"
    );
    assert!(
        html.contains(&format!(
            "Case {second} was already decided by r2@example.com"
        )),
        "{html}"
    );
    assert_eq!(
        case_ids(section(&html, "queue-table", "</table>")),
        vec![*want.last().unwrap()]
    );
    let r = admin
        .post(
            "/reviews/queue/decide",
            &[("reviewer", R1), ("decision", "keep")],
            true,
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "nothing selected");

    // The report shows every decision and who made it; downloads are the product's renderings.
    let (view, cases) = reviews::show(&app.store, id, app.clock.as_ref())
        .await
        .unwrap();
    assert_eq!(
        (view.kept as usize, view.revoked, view.not_decided),
        (want.len() - 2, 1, 1)
    );
    for b in [&admin, &viewer] {
        let html = b.page(&format!("/reviews/{id}/report")).await;
        let report = section(&html, "review-report", "</section>");
        assert!(
            report.contains(&format!(
                "{} cases: {} kept, 1 revoked, 1 not decided",
                cases.len(),
                cases.len() - 2
            )),
            "{report}"
        );
        assert!(report.contains(&format!("data-case-id=\"{first}\" data-decision=\"keep\"")));
        assert!(report.contains(&format!(
            "data-case-id=\"{second}\" data-decision=\"revoke\""
        )));
        assert!(report.contains("needed for payroll") && report.contains(R2));
    }
    let r = viewer
        .get(&format!("/reviews/{id}/report/download?format=csv"))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains(&format!("access-review-{id}.csv"))
    );
    let csv = r.text().await.unwrap();
    assert!(csv.starts_with("case,edge,account") && csv.contains("needed for payroll"));
    let r = admin
        .get(&format!("/reviews/{id}/report/download?format=json"))
        .await;
    let json: Value = r.json().await.unwrap();
    assert_eq!(json["summary"]["revoked"], 1);
    assert_eq!(
        admin
            .get(&format!("/reviews/{id}/report/download?format=pdf"))
            .await
            .status(),
        StatusCode::BAD_REQUEST
    );
    // The download added the report to the evidence register, which the page links.
    let html = admin.page(&format!("/reviews/{id}/report")).await;
    let evidence = reviews::show(&app.store, id, app.clock.as_ref())
        .await
        .unwrap()
        .0
        .campaign
        .evidence_id
        .expect("evidence id");
    assert!(html.contains(&format!("href=\"/evidence/{evidence}\"")));

    // Remediation of a report-only campaign: the revoke becomes a remediation list.
    let r = admin
        .post(&format!("/reviews/{id}/remediate"), &[], true)
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    let results = section(&html, "remediation-results", "</section>");
    assert!(
        results.contains(&format!(
            "data-case-id=\"{second}\" data-remediation=\"manual\""
        )),
        "{results}"
    );
    assert!(results.contains("remediation list") && results.contains("report-only campaign"));
}
