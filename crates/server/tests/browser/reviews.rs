//! Access reviews end to end (issue 7's acceptance): log in → create a campaign over one app
//! with a reviewer email → open the reviewer's queue → keep one case (from the keyboard: type
//! a comment, Tab to Keep, Enter) and revoke another → the decided rows disappear → a case
//! decided elsewhere answers "already decided by X" and is gone on refresh → the report shows
//! the decisions → remediation of the read-only campaign is a remediation list.

use fantoccini::Locator;
use serde_json::{Value, json};

use crate::harness::{ADMIN_PASSWORD, ADMIN_USER, Harness, REVIEWER_PASSWORD, REVIEWER_USER};

// The harness has a reviewer account with this email, so the campaign's cases are theirs.
const REVIEWER: &str = REVIEWER_USER;
const TAB: &str = "\u{E004}";
const ENTER: &str = "\u{E007}";

/// Connect the simulator with a READ_ONLY_ADMIN token and sync it, through the API; returns
/// the API client and its CSRF token (to decide a case "elsewhere" later).
async fn connect_and_sync(h: &Harness) -> (reqwest::Client, String) {
    let admin = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let me: Value = admin
        .post(h.url("/api/v1/auth/login"))
        .json(&json!({"username": ADMIN_USER, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let csrf = me["csrf_token"].as_str().unwrap().to_string();
    let r = admin
        .post(h.url("/api/v1/integrations"))
        .header("x-csrf-token", &csrf)
        .json(&json!({"kind": "okta", "name": "okta", "domain": h.sim.base_url(), "token": h.sim.token("READ_ONLY_ADMIN"),
                      "options": {"allow_insecure_loopback": true}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let r = admin
        .post(h.url("/api/v1/integrations/okta/sync"))
        .header("x-csrf-token", &csrf)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
    let id = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    for _ in 0..600 {
        let job: Value = admin
            .get(h.url(&format!("/api/v1/sync-runs/{id}")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if job["status"] != "running" {
            assert_eq!(job["status"], "succeeded", "{job}");
            return (admin, csrf);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the sync did not finish");
}

async fn case_ids(h: &Harness, css: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for row in h.all(css).await {
        ids.push(row.attr("data-case-id").await.unwrap().unwrap_or_default());
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_creates_a_campaign_decides_from_the_queue_and_sees_the_report() {
    let mut h = Harness::start(40, 30).await;
    // The smallest app with a few users keeps the queue (and its screenshot) readable.
    let (app_id, app_label) = h.sim.with_org(|org| {
        let app = org
            .apps
            .iter()
            .filter(|a| !a.deleted && a.users.len() >= 3)
            .min_by_key(|a| a.users.len())
            .expect("an app with users");
        (app.id.clone(), app.label.clone())
    });
    let (api, csrf) = connect_and_sync(&h).await;
    h.login(ADMIN_USER, ADMIN_PASSWORD).await;

    // Access reviews → New campaign: one app, one reviewer, the default due date.
    h.click("#nav-reviews").await;
    h.wait("#new-campaign").await;
    h.fill("#campaign-name", "Q4 review of one app").await;
    h.fill("#campaign-scope", &format!("apps:{app_id}")).await;
    h.fill("#campaign-reviewer", REVIEWER).await;
    assert!(
        !h.wait("#campaign-due")
            .await
            .prop("value")
            .await
            .unwrap()
            .unwrap_or_default()
            .is_empty(),
        "no default due date"
    );
    h.shot_of("reviews-new-campaign", "#new-campaign").await;
    h.click("#create-campaign").await;

    // The campaign page: one case per assignment of the app, none decided.
    h.wait("#cases-table [data-case-id]").await;
    let url = h.client.current_url().await.unwrap();
    let campaign = url
        .path()
        .strip_prefix("/reviews/")
        .unwrap_or_else(|| panic!("not on a campaign page: {url}"))
        .to_string();
    let all = case_ids(&h, "#cases-table [data-case-id]").await;
    assert!(all.len() >= 2, "{}", h.body_text().await);
    assert_eq!(
        h.all("#cases-table [data-decision=\"not decided\"]")
            .await
            .len(),
        all.len()
    );
    assert!(
        h.wait("#cases-table")
            .await
            .text()
            .await
            .unwrap()
            .contains(&app_label)
    );
    h.shot("review-campaign").await;

    // The reviewer's queue, from the campaign's "Reviewer queues".
    h.click("a[href=\"/reviews/queue?reviewer=reviewer%40example.com\"]")
        .await;
    h.wait("#queue-table [data-case-id]").await;
    let queued = case_ids(&h, "#queue-table [data-case-id]").await;
    // The campaign page shows its first page of cases; the queue holds them all, same order.
    assert!(
        queued.len() >= all.len() && queued[..all.len()] == all[..],
        "queue {queued:?} vs campaign {all:?}"
    );
    // Select all ticks every row; once more clears them.
    h.click("#select-all-cases").await;
    for b in h.all("#queue-table input[name=\"case\"]").await {
        assert!(
            b.is_selected().await.unwrap(),
            "select-all left a row unticked"
        );
    }
    h.click("#select-all-cases").await;
    for b in h.all("#queue-table input[name=\"case\"]").await {
        assert!(
            !b.is_selected().await.unwrap(),
            "select-all (again) left a row ticked"
        );
    }
    h.shot("review-queue").await;

    // Keep the first case from the keyboard: comment, Tab to Keep, Enter.
    let (keep, revoke) = (queued[0].clone(), queued[1].clone());
    let comment = h.wait(&format!("#comment-{keep}")).await;
    comment.send_keys("still needed").await.unwrap();
    comment.send_keys(TAB).await.unwrap();
    let focused = h.client.active_element().await.unwrap();
    let class = focused.attr("class").await.unwrap().unwrap_or_default();
    assert!(
        class.split_whitespace().any(|c| c == "decide-keep"),
        "Tab from the comment went to {class:?}, not Keep"
    );
    focused.send_keys(ENTER).await.unwrap();
    h.wait_gone(&format!("#queue-table [data-case-id=\"{keep}\"]"))
        .await;

    // Revoke the second with a click.
    let row = h
        .wait(&format!("#queue-table [data-case-id=\"{revoke}\"]"))
        .await;
    row.find(Locator::Css(".decide-revoke"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    h.wait_gone(&format!("#queue-table [data-case-id=\"{revoke}\"]"))
        .await;
    assert_eq!(
        case_ids(&h, "#queue-table [data-case-id]").await,
        queued[2..].to_vec()
    );
    assert_eq!(
        h.wait("#queue-count").await.text().await.unwrap(),
        (queued.len() - 2).to_string()
    );
    h.shot("review-queue-decided").await;

    // Someone else decides the next case (through the API) while this page is open: Revoke
    // on the stale row says who was first instead of overwriting the decision.
    let other = queued[2].clone();
    let r = api
        .post(h.url(&format!("/api/v1/review-cases/{other}/decision")))
        .header("x-csrf-token", &csrf)
        .json(&json!({"decision": "keep", "reviewer": REVIEWER, "comment": "decided elsewhere"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let row = h
        .wait(&format!("#queue-table [data-case-id=\"{other}\"]"))
        .await;
    row.find(Locator::Css(".decide-revoke"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let stale = h
        .wait(&format!("#queue-table [data-stale-case-id=\"{other}\"]"))
        .await;
    let text = stale.text().await.unwrap();
    assert!(
        text.contains(&format!("already decided by {REVIEWER}")),
        "{text}"
    );
    h.shot_of("review-queue-stale", "#queue-table").await;
    // A refresh agrees: decided cases have left the queue for good.
    h.click("#refresh-queue").await;
    h.wait("#queue-table").await;
    assert_eq!(
        case_ids(&h, "#queue-table [data-case-id]").await,
        queued[3..].to_vec()
    );

    // The report shows both decisions, who made them and the comment.
    h.goto(&format!("/reviews/{campaign}")).await;
    h.click("#open-report").await;
    let report = h.wait("#review-report").await;
    h.wait(&format!(
        "#report-table [data-case-id=\"{keep}\"][data-decision=\"keep\"]"
    ))
    .await;
    h.wait(&format!(
        "#report-table [data-case-id=\"{revoke}\"][data-decision=\"revoke\"]"
    ))
    .await;
    let text = report.text().await.unwrap();
    assert!(
        text.contains(&format!(
            "{} cases: 2 kept, 1 revoked, {} not decided",
            queued.len(),
            queued.len() - 3
        )),
        "{text}"
    );
    assert!(
        text.contains("still needed") && text.contains(REVIEWER),
        "{text}"
    );
    h.wait("#download-csv").await;
    h.shot("review-report").await;

    // Remediation: the campaign is report-only, so the revoke becomes a remediation list.
    h.goto(&format!("/reviews/{campaign}")).await;
    h.click("#remediate").await;
    h.wait(&format!(
        "#remediation-results [data-case-id=\"{revoke}\"][data-remediation=\"manual\"]"
    ))
    .await;
    h.shot_of("review-remediation", "#remediation-results")
        .await;

    // The campaigns list with its progress.
    h.click("#nav-reviews").await;
    h.wait(&format!(
        "#campaigns-table [data-campaign-id=\"{campaign}\"]"
    ))
    .await;
    h.shot("reviews-campaigns").await;

    h.close().await;
}

/// Sign out through the header's "Log out" button; back on the login form.
async fn log_out(h: &Harness) {
    h.click("#logout").await;
    h.wait("#login-username").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reviewer_signs_in_and_decides_their_own_cases() {
    let mut h = Harness::start(40, 40).await;
    let app_id = h.sim.with_org(|org| {
        let app = org
            .apps
            .iter()
            .filter(|a| !a.deleted && a.users.len() >= 3)
            .min_by_key(|a| a.users.len())
            .expect("an app with users");
        app.id.clone()
    });
    connect_and_sync(&h).await;

    // The admin creates a campaign whose reviewer is the reviewer account's email.
    h.login(ADMIN_USER, ADMIN_PASSWORD).await;
    h.click("#nav-reviews").await;
    h.fill("#campaign-name", "Q4 access review").await;
    h.fill("#campaign-scope", &format!("apps:{app_id}")).await;
    h.fill("#campaign-reviewer", REVIEWER).await;
    h.click("#create-campaign").await;
    h.wait("#cases-table [data-case-id]").await;
    let url = h.client.current_url().await.unwrap();
    let campaign = url
        .path()
        .strip_prefix("/reviews/")
        .unwrap_or_else(|| panic!("not on a campaign page: {url}"))
        .to_string();
    let all = case_ids(&h, "#cases-table [data-case-id]").await;
    assert!(all.len() >= 2, "{}", h.body_text().await);
    log_out(&h).await;

    // The reviewer signs in with their email and lands on their own queue.
    h.fill("#login-username", REVIEWER_USER).await;
    h.fill("#login-password", REVIEWER_PASSWORD).await;
    h.click("#login-submit").await;
    h.wait("#nav-my-reviews").await;
    assert_eq!(
        h.client.current_url().await.unwrap().path(),
        "/reviews/queue"
    );
    let mut nav = Vec::new();
    for link in h.all("nav.side a").await {
        nav.push((
            link.attr("id").await.unwrap().unwrap_or_default(),
            link.text().await.unwrap(),
        ));
    }
    assert_eq!(
        nav,
        vec![("nav-my-reviews".to_string(), "My reviews".to_string())]
    );
    assert_eq!(
        h.wait("main h1").await.text().await.unwrap(),
        format!("My reviews: {REVIEWER}")
    );
    // No reviewer picker: a reviewer's queue is always their own.
    assert!(
        !h.exists("#queue-reviewer").await,
        "{}",
        h.body_text().await
    );
    h.wait("#queue-table [data-case-id]").await;
    let queued = case_ids(&h, "#queue-table [data-case-id]").await;
    assert!(
        queued.len() >= all.len() && queued[..all.len()] == all[..],
        "queue {queued:?} vs campaign {all:?}"
    );
    assert_eq!(
        h.wait("#queue-count").await.text().await.unwrap(),
        queued.len().to_string()
    );
    h.shot("reviews-reviewer-queue").await;

    // Keep one case and revoke another, each with a comment, clicking the row's buttons;
    // htmx swaps each decided row out of the table.
    let (keep, revoke) = (queued[0].clone(), queued[1].clone());
    for (case, comment, button) in [
        (&keep, "needed for payroll", ".decide-keep"),
        (&revoke, "left the team", ".decide-revoke"),
    ] {
        h.fill(&format!("#comment-{case}"), comment).await;
        let row = h
            .wait(&format!("#queue-table [data-case-id=\"{case}\"]"))
            .await;
        row.find(Locator::Css(button))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        h.wait_gone(&format!("#queue-table [data-case-id=\"{case}\"]"))
            .await;
    }
    assert_eq!(
        case_ids(&h, "#queue-table [data-case-id]").await,
        queued[2..].to_vec()
    );
    assert_eq!(
        h.wait("#queue-count").await.text().await.unwrap(),
        (queued.len() - 2).to_string()
    );
    // Reloading agrees: the decided cases have left the queue for good.
    h.click("#nav-my-reviews").await;
    h.wait("#queue-table").await;
    assert_eq!(
        case_ids(&h, "#queue-table [data-case-id]").await,
        queued[2..].to_vec()
    );

    // The reviewer's view of the report: their decisions, no downloads.
    h.goto(&format!("/reviews/{campaign}/report")).await;
    h.wait("#report-own-cases").await;
    h.wait(&format!(
        "#report-table [data-case-id=\"{keep}\"][data-decision=\"keep\"]"
    ))
    .await;
    h.wait(&format!(
        "#report-table [data-case-id=\"{revoke}\"][data-decision=\"revoke\"]"
    ))
    .await;
    assert!(!h.exists("#download-csv").await);
    log_out(&h).await;

    // The admin's report attributes both decisions, with their comments, to the reviewer.
    h.login(ADMIN_USER, ADMIN_PASSWORD).await;
    h.goto(&format!("/reviews/{campaign}")).await;
    h.click("#open-report").await;
    let counts = h.wait("#report-counts").await.text().await.unwrap();
    assert_eq!(
        counts,
        format!(
            "{} cases: 1 kept, 1 revoked, {} not decided",
            queued.len(),
            queued.len() - 2
        )
    );
    for (case, decision, comment) in [
        (&keep, "keep", "needed for payroll"),
        (&revoke, "revoke", "left the team"),
    ] {
        let row = h
            .wait(&format!(
                "#report-table [data-case-id=\"{case}\"][data-decision=\"{decision}\"]"
            ))
            .await;
        let cell = row
            .find(Locator::Css("td.decision"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            cell.starts_with(&format!("{decision}\nby {REVIEWER}\n")),
            "case {case}: {cell:?}"
        );
        let cells = row.find_all(Locator::Css("td")).await.unwrap();
        assert_eq!(
            cells.last().unwrap().text().await.unwrap(),
            comment,
            "case {case}"
        );
    }
    assert_eq!(
        h.all("#report-table [data-decision=\"not decided\"]")
            .await
            .len(),
        h.all("#report-table [data-case-id]").await.len() - 2
    );

    h.close().await;
}
