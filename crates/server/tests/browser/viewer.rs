//! A viewer reads everything but is offered no admin action.

use serde_json::json;

use crate::harness::{ADMIN_PASSWORD, ADMIN_USER, Harness, VIEWER_PASSWORD, VIEWER_USER};

/// Elements only an admin may be offered.
const ADMIN_ONLY: &[&str] = &[
    "#connect-okta",
    "#sync-now",
    "#save-frequency",
    "#retest",
    "#replace-token",
    "#remove-integration",
    ".accept-item",
    ".ignore-item",
    "#accept-selected",
    "#new-deletion-request",
];

async fn assert_no_admin_controls(h: &Harness, page: &str) {
    for css in ADMIN_ONLY {
        assert!(
            !h.exists(css).await,
            "a viewer sees {css} on the {page} page:\n{}",
            h.body_text().await
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewer_sees_no_admin_buttons() {
    let mut h = Harness::start(100, 20).await;
    // An admin connects and syncs through the API, so the viewer has something to look at.
    let admin = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let me: serde_json::Value = admin
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
    // The connection test is what makes it "Connected".
    let r = admin
        .post(h.url("/api/v1/integrations/okta/test"))
        .header("x-csrf-token", &csrf)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let r = admin
        .post(h.url("/api/v1/integrations/okta/sync"))
        .header("x-csrf-token", &csrf)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
    let job: serde_json::Value = r.json().await.unwrap();
    let id = job["id"].as_i64().unwrap();
    let mut finished = false;
    for _ in 0..600 {
        let job: serde_json::Value = admin
            .get(h.url(&format!("/api/v1/sync-runs/{id}")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if job["status"] != "running" {
            assert_eq!(job["status"], "succeeded", "{job}");
            finished = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(finished, "the sync did not finish");

    h.login(VIEWER_USER, VIEWER_PASSWORD).await;
    h.click("#nav-integrations").await;
    h.wait(".status-connected").await;
    assert_no_admin_controls(&h, "integrations").await;
    h.shot("viewer-integrations").await;

    // The integration page: status, capabilities and runs, but no Sync now, token or removal.
    h.click("[data-integration=\"okta\"] a").await;
    h.wait("#sync-progress").await;
    assert_no_admin_controls(&h, "integration").await;
    h.shot("viewer-integration").await;

    h.click("#nav-inventory").await;
    h.wait("#staging-table [data-item-id]").await;
    assert_no_admin_controls(&h, "inventory").await;
    h.shot("viewer-inventory").await;

    h.click("#nav-privacy-requests").await;
    h.wait("#start-access-request").await;
    assert_no_admin_controls(&h, "privacy requests").await;
    h.shot("viewer-privacy-requests").await;

    h.click("#nav-evidence").await;
    h.wait("#evidence-table").await;
    assert_no_admin_controls(&h, "evidence").await;
    h.shot("viewer-evidence").await;

    h.close().await;
}
