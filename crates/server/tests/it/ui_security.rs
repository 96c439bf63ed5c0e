//! The findings and people pages of the web UI: they render for each role, anonymous visitors
//! go to the login page, viewers cannot change thresholds, and after syncing a seeded Okta +
//! OneTrust pair the pages list exactly what `findings::list` and `graph::build` return.

use std::collections::BTreeSet;

use reqwest::{Client, StatusCode, redirect};
use serde_json::{Value, json};
use steward_products::Clock;
use steward_products::{findings, graph};
use steward_simulator::onetrust::{OtRateConfig, OtSimConfig, OtSimulator};

use crate::helpers::{ADMIN_PASSWORD, Session, TestApp, VIEWER_PASSWORD, sim_now, spawn_app};

const USERS: usize = 150;

/// A browser-like client (cookies, no automatic redirects) logged in through the API, which
/// sets the same session cookie the pages read.
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

    /// A form post with the CSRF token in the form (`with_csrf`) or without it.
    async fn post(&self, path: &str, pairs: &[(&str, &str)], with_csrf: bool) -> reqwest::Response {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs {
            s.append_pair(k, v);
        }
        if with_csrf {
            s.append_pair("csrf_token", &self.csrf);
        }
        self.client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(s.finish())
            .send()
            .await
            .unwrap()
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

async fn sync_named(admin: &Session, name: &str) {
    let r = admin
        .post(&format!("/api/v1/integrations/{name}/sync"), json!({}))
        .await;
    assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
    let id = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    for _ in 0..600 {
        let job: Value = admin
            .get(&format!("/api/v1/sync-runs/{id}"))
            .await
            .json()
            .await
            .unwrap();
        if job["status"] != "running" {
            assert_eq!(job["status"], "succeeded", "{job}");
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("sync of {name} did not finish");
}

/// Okta synced with a super-admin token; with `onetrust`, a seeded OneTrust tenant too.
async fn synced(onetrust: bool) -> (TestApp, Option<OtSimulator>) {
    let app = spawn_app(USERS).await;
    let admin = app.admin().await;
    app.add_okta(&admin, "SUPER_ADMIN").await;
    sync_named(&admin, "okta").await;
    if !onetrust {
        return (app, None);
    }
    // spawn_app's Okta simulator uses seed 7 at sim_now(): the OneTrust tenant overlaps it.
    let mut c = OtSimConfig::new(USERS, 7, sim_now());
    c.rate = OtRateConfig::none();
    let ot = OtSimulator::start(c, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let (id, secret) = ot.client_credentials();
    let r = admin
        .post(
            "/api/v1/integrations",
            json!({"kind": "onetrust", "name": "onetrust", "domain": ot.base_url().as_str(), "client_id": id,
                   "client_secret": secret, "options": {"allow_insecure_loopback": true}}),
        )
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    sync_named(&admin, "onetrust").await;
    (app, Some(ot))
}

#[tokio::test]
async fn pages_render_for_both_roles_and_anonymous_visitors_log_in() {
    let app = spawn_app(20).await;
    let anon = Client::builder()
        .redirect(redirect::Policy::none())
        .build()
        .unwrap();
    for path in [
        "/findings",
        "/people",
        "/people?tab=seats",
        "/people/ada@example.com",
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
        let html = b.page("/findings").await;
        for id in [
            "nav-findings",
            "nav-people",
            "findings-table",
            "findings-new",
            "findings-resolved",
        ] {
            assert!(html.contains(&format!("id=\"{id}\"")), "#{id} missing");
        }
        assert!(html.contains("No integration is connected yet"));
        let people = b.page("/people").await;
        assert!(people.contains("id=\"people-notice\""), "{people}");
        assert!(
            !people.contains("id=\"orphans-table\""),
            "no empty tables without two systems"
        );
    }
    // Admins get the thresholds form, viewers read the values.
    let html = admin.page("/findings").await;
    assert!(html.contains("id=\"findings-thresholds\"") && html.contains("name=\"inactive_days\""));
    let html = viewer.page("/findings").await;
    assert!(!html.contains("id=\"findings-thresholds\""));
    assert!(
        html.contains("data-threshold=\"inactive_days\">90<"),
        "{html}"
    );
    // Bad input names the parameter.
    let r = admin.get("/findings?kind=bogus").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("kind"));
    let r = admin.get("/people?tab=bogus").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = admin.get("/people/not-an-email").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("email"));
    assert_eq!(
        admin.get("/people/nobody@nowhere.example").await.status(),
        StatusCode::NOT_FOUND
    );
    let r = admin.get("/people/find?email=Ada%2Bx%40example.com").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/people/Ada%2Bx%40example.com");
}

#[tokio::test]
async fn thresholds_are_admin_only_and_checked() {
    let app = spawn_app(20).await;
    let admin = Browser::login(&app.base, "alice", ADMIN_PASSWORD).await;
    let viewer = Browser::login(&app.base, "victor", VIEWER_PASSWORD).await;
    let r = viewer
        .post("/findings/thresholds", &[("inactive_days", "30")], true)
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = admin
        .post("/findings/thresholds", &[("inactive_days", "30")], false)
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "no CSRF token");
    assert_eq!(
        findings::thresholds(&app.store)
            .await
            .unwrap()
            .inactive_days,
        90
    );

    // One bad field: a 400 naming it, and nothing changes (not even the good field before it).
    let r = admin
        .post(
            "/findings/thresholds",
            &[("super_admin_max", "5"), ("inactive_days", "0")],
            true,
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("inactive_days"));
    let r = admin
        .post(
            "/findings/thresholds",
            &[("unused_app_days", "ninety")],
            true,
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let t = findings::thresholds(&app.store).await.unwrap();
    assert_eq!(
        (t.super_admin_max, t.inactive_days, t.unused_app_days),
        (3, 90, 90)
    );

    let r = admin
        .post(
            "/findings/thresholds",
            &[
                ("super_admin_max", "5"),
                ("inactive_days", "30"),
                ("kind", "unused_app"),
            ],
            true,
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/findings?saved=1&kind=unused_app");
    let t = findings::thresholds(&app.store).await.unwrap();
    assert_eq!(
        (t.super_admin_max, t.inactive_days, t.unused_app_days),
        (5, 30, 90)
    );
    let html = viewer.page("/findings").await;
    assert!(html.contains("data-threshold=\"inactive_days\">30<"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn findings_page_lists_what_the_product_returns() {
    let (app, _) = synced(false).await;
    let viewer = Browser::login(&app.base, "victor", VIEWER_PASSWORD).await;
    let open = findings::list(&app.store, None, false).await.unwrap();
    assert!(!open.is_empty(), "the seeded org has findings");
    let html = viewer.page("/findings").await;
    let table = section(&html, "findings-table", "</table>");
    for f in &open {
        let tag = format!("<tr data-kind=\"{}\" data-finding-id=\"{}\">", f.kind, f.id);
        assert!(
            table.contains(&tag),
            "finding {} ({}) missing",
            f.id,
            f.kind
        );
    }
    assert_eq!(table.matches("<tr data-kind=").count(), open.len());
    assert!(table.contains("<details><summary>Evidence</summary>"));
    // Every finding is new at the first sync; none resolved.
    let (new, resolved) = findings::changes(&app.store).await.unwrap();
    let panel = section(&html, "findings-new", "</section>");
    assert_eq!(panel.matches("<li data-kind=").count(), new.len());
    assert!(resolved.is_empty());
    assert!(section(&html, "findings-resolved", "</section>").contains("Nothing resolved"));
    // Each evaluated kind is listed with its state.
    for e in findings::evaluations(&app.store).await.unwrap() {
        assert!(
            html.contains(&format!(
                "<tr data-kind=\"{}\" data-evaluated=\"{}\">",
                e.kind, e.evaluated
            )),
            "{}",
            e.kind
        );
    }

    // The kind filter shows only that kind.
    let kind = open[0].kind.clone();
    let want = findings::list(&app.store, Some(&kind), false)
        .await
        .unwrap();
    let html = viewer.page(&format!("/findings?kind={kind}")).await;
    let table = section(&html, "findings-table", "</table>");
    assert_eq!(table.matches("<tr data-kind=").count(), want.len());
    assert_eq!(
        table.matches(&format!("<tr data-kind=\"{kind}\"")).count(),
        want.len()
    );

    // Only Okta is connected: the people views say they need a second system.
    let people = viewer.page("/people?tab=leavers").await;
    assert!(people.contains("No OneTrust integration"), "{people}");
    assert!(!people.contains("id=\"leavers-table\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_pages_list_what_the_graph_returns() {
    let (app, _ot) = synced(true).await;
    let viewer = Browser::login(&app.base, "victor", VIEWER_PASSWORD).await;
    let g = graph::build(&app.store, app.clock.now()).await.unwrap();

    let html = viewer.page("/people").await;
    assert!(
        !html.contains("id=\"people-notice\""),
        "two systems are connected"
    );
    let table = section(&html, "orphans-table", "</table>");
    let orphans = g.orphans();
    assert!(!orphans.is_empty());
    for o in &orphans {
        assert!(
            table.contains(&format!("data-account-id=\"{}\"", o.account.account_id)),
            "orphan {}",
            o.account.account_id
        );
    }
    assert_eq!(table.matches("<tr data-person=").count(), orphans.len());

    let html = viewer.page("/people?tab=leavers").await;
    let table = section(&html, "leavers-table", "</table>");
    let leavers = g.leavers();
    assert!(!leavers.is_empty());
    let got: BTreeSet<&str> = table
        .split("<tr data-person=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .collect();
    let want: BTreeSet<&str> = leavers.iter().map(|l| l.person.as_str()).collect();
    assert_eq!(got, want);

    let html = viewer.page("/people?tab=seats").await;
    let table = section(&html, "seats-table", "</table>");
    assert_eq!(
        table.matches("<tr data-integration=").count(),
        g.seats().len()
    );

    // One leaver's page: every account everywhere, and which field joined them.
    let leaver = &leavers[0];
    let html = viewer
        .page(&format!("/people/{}", leaver.person.to_uppercase()))
        .await;
    let table = section(&html, "person-accounts", "</table>");
    let person = g.person(&leaver.person).unwrap();
    for a in &person.accounts {
        assert!(
            table.contains(&format!("data-account-id=\"{}\"", a.account_id)),
            "account {}",
            a.account_id
        );
    }
    assert!(person.accounts.len() >= 2);
    let evidence = section(&html, "person-evidence", "</table>");
    for e in &person.evidence {
        assert!(evidence.contains(&format!("<code>{}</code>", e.field)));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kinds_the_token_cannot_evaluate_are_stated_plainly() {
    let app = spawn_app(USERS).await;
    let admin = app.admin().await;
    app.add_okta(&admin, "READ_ONLY_ADMIN").await;
    sync_named(&admin, "okta").await;
    let viewer = Browser::login(&app.base, "victor", VIEWER_PASSWORD).await;
    let html = viewer.page("/findings").await;
    let table = section(&html, "findings-evaluations", "</table>");
    let evals = findings::evaluations(&app.store).await.unwrap();
    let not: Vec<_> = evals.iter().filter(|e| !e.evaluated).collect();
    assert!(
        !not.is_empty(),
        "a read-only token cannot read admin role assignments"
    );
    for e in not {
        let tag = format!("<tr data-kind=\"{}\" data-evaluated=\"false\">", e.kind);
        let start = table
            .find(&tag)
            .unwrap_or_else(|| panic!("{} not listed as not evaluated", e.kind));
        let row = &table[start..start + table[start..].find("</tr>").unwrap()];
        assert!(row.contains("not evaluated: "), "{row}");
        assert!(!row.contains("not evaluated: not evaluated"), "{row}");
    }
}
