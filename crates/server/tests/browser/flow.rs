//! The admin's whole flow: log in → connect Okta → test connection → save → sync now →
//! staging area → accept → access request and its download → evidence register.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use fantoccini::Locator;
use serde_json::Value;

use crate::harness::{ADMIN_PASSWORD, ADMIN_USER, Harness};

/// What a READ_ONLY_ADMIN token may do (crates/connectors/src/okta/check.rs and the CLI's
/// `read_only_admin_passes_required_checks_and_marks_admin_roles_optional`): every required
/// check and the optional reads pass; only admin role assignments are refused (E0000006).
const READ_ONLY_ADMIN_OK: &[&str] = &[
    "rate_limit_settings",
    "list_apps",
    "list_app_users",
    "list_users",
    "list_groups",
    "list_policies",
    "list_factors",
    "read_system_log",
];
const READ_ONLY_ADMIN_FAIL: &[&str] = &["list_admin_roles"];

/// Sync progress may take this long on a loaded 2-core CI machine.
const SYNC_TIMEOUT: Duration = Duration::from_secs(60);

fn classes(class: &str) -> BTreeSet<&str> {
    class.split_whitespace().collect()
}

/// The (ok, fail) capability ids of the rows in `#test-results`.
async fn test_result_rows(h: &Harness) -> (BTreeSet<String>, BTreeSet<String>) {
    h.wait("#test-results .check[data-capability]").await;
    let (mut ok, mut fail) = (BTreeSet::new(), BTreeSet::new());
    for row in h.all("#test-results .check[data-capability]").await {
        let capability = row
            .attr("data-capability")
            .await
            .unwrap()
            .unwrap_or_default();
        let class = row.attr("class").await.unwrap().unwrap_or_default();
        let set = classes(&class);
        match (set.contains("ok"), set.contains("fail")) {
            (true, false) => ok.insert(capability),
            (false, true) => fail.insert(capability),
            _ => panic!("row {capability} has class {class:?}: expected exactly one of ok/fail"),
        };
    }
    (ok, fail)
}

/// Poll `#sync-progress[data-state]` until it leaves `running` (htmx may swap the element).
async fn wait_for_sync(h: &Harness) -> String {
    let deadline = Instant::now() + SYNC_TIMEOUT;
    loop {
        let state = match h.client.find(Locator::Css("#sync-progress")).await {
            Ok(e) => e
                .attr("data-state")
                .await
                .ok()
                .flatten()
                .unwrap_or_default(),
            Err(_) => String::new(),
        };
        if state == "succeeded" || state == "failed" {
            return state;
        }
        assert!(
            Instant::now() < deadline,
            "sync still {state:?} after {SYNC_TIMEOUT:?}:\n{}",
            h.body_text().await
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_connects_okta_syncs_triages_runs_an_access_request_and_sees_verified_evidence() {
    let mut h = Harness::start(200, 0).await;
    let (app_labels, person) = h.sim.with_org(|org| {
        let labels: BTreeSet<String> = org
            .apps
            .iter()
            .filter(|a| !a.deleted)
            .map(|a| a.label.clone())
            .collect();
        let user = org
            .users
            .iter()
            .find(|u| !u.deleted && u.status.is_enrolled() && u.email.contains('@'))
            .unwrap();
        (
            labels,
            (user.email.clone(), user.login.clone(), user.id.clone()),
        )
    });
    let (email, login, okta_id) = person;

    // Log in: anonymous visitors land on the login page.
    h.goto("/").await;
    h.wait("#login-username").await;
    h.shot("login").await;
    h.fill("#login-username", ADMIN_USER).await;
    h.fill("#login-password", ADMIN_PASSWORD).await;
    h.click("#login-submit").await;

    // Integrations → the Okta tile → the connect form.
    h.click("#nav-integrations").await;
    h.wait("#connect-okta").await;
    h.shot("integrations-empty").await;
    h.click("#connect-okta").await;
    h.fill("#integration-name", "okta").await;
    h.fill("#integration-domain", &h.sim.base_url()).await;
    h.fill("#integration-token", &h.sim.token("READ_ONLY_ADMIN"))
        .await;
    let insecure = h.wait("#integration-allow-insecure").await;
    if !insecure.is_selected().await.unwrap() {
        insecure.click().await.unwrap();
    }
    h.shot("connect-okta-form").await;

    // Test connection: ✓ for what the role may read, ✗ for admin role assignments.
    h.click("#test-connection").await;
    let (ok, fail) = test_result_rows(&h).await;
    let want_ok: BTreeSet<String> = READ_ONLY_ADMIN_OK.iter().map(|s| s.to_string()).collect();
    let want_fail: BTreeSet<String> = READ_ONLY_ADMIN_FAIL.iter().map(|s| s.to_string()).collect();
    assert_eq!(
        (&ok, &fail),
        (&want_ok, &want_fail),
        "test connection rows (ok, fail) for a READ_ONLY_ADMIN token"
    );
    let token = h.sim.token("READ_ONLY_ADMIN");
    assert!(
        !h.client.source().await.unwrap().contains(&token),
        "the token was rendered back into the page"
    );
    h.shot_of("test-connection-results", "#test-area").await;

    // Save → green check.
    h.click("#save-integration").await;
    h.wait(".status-connected").await;
    assert!(
        !h.client.source().await.unwrap().contains(&token),
        "the token was rendered back after saving"
    );
    h.shot("integration-connected").await;

    // Sync now and wait for it to finish.
    h.click("#sync-now").await;
    h.wait("#sync-progress").await;
    let state = wait_for_sync(&h).await;
    assert_eq!(
        state,
        "succeeded",
        "sync ended {state}:\n{}",
        h.body_text().await
    );
    h.shot("sync-succeeded").await;

    // Data Inventory: the staging area lists exactly the simulator's apps.
    h.click("#nav-inventory").await;
    h.wait("#staging-table [data-item-id]").await;
    let rows = h.all("#staging-table [data-item-id]").await;
    let table = h.wait("#staging-table").await.text().await.unwrap();
    let truth_apps = h.sim.truth().resources["apps"].count;
    assert_eq!(
        app_labels.len() as u64,
        truth_apps,
        "app labels are not unique in the simulated org"
    );
    assert_eq!(
        rows.len() as u64,
        truth_apps,
        "staged items vs the simulator's apps:\n{table}"
    );
    for label in &app_labels {
        assert!(
            table.contains(label.as_str()),
            "app {label:?} is not in the staging area:\n{table}"
        );
    }
    h.shot("inventory-staging").await;

    // Accept the first one: it leaves the staging area.
    let first = rows[0].attr("data-item-id").await.unwrap().unwrap();
    let accept = rows[0].find(Locator::Css(".accept-item")).await.unwrap();
    accept.click().await.unwrap();
    h.wait_gone(&format!("#staging-table [data-item-id=\"{first}\"]"))
        .await;
    assert_eq!(
        h.all("#staging-table [data-item-id]").await.len(),
        app_labels.len() - 1
    );
    h.shot("inventory-accepted").await;

    // Privacy requests: an access request finds the person's Okta account.
    h.click("#nav-privacy-requests").await;
    h.fill("#request-email", &email).await;
    h.shot("privacy-requests").await;
    h.click("#start-access-request").await;
    let download = h.wait("#download-export").await;
    let page = h.body_text().await;
    assert!(
        page.contains(&login) && page.contains(&okta_id),
        "the access request does not show Okta account {okta_id} ({login}) for {email}:\n{page}"
    );
    assert!(
        page.contains("okta"),
        "the access request names no integration:\n{page}"
    );
    h.shot("privacy-access-request").await;

    // Download the export with the browser's session cookie: JSON naming the person.
    let href = download
        .attr("href")
        .await
        .unwrap()
        .expect("#download-export has no href");
    let url = h.client.current_url().await.unwrap().join(&href).unwrap();
    let response = reqwest::Client::new()
        .get(url.as_str())
        .header(
            "cookie",
            format!(
                "{}={}",
                steward_server::auth::SESSION_COOKIE,
                h.session_cookie().await
            ),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "downloading {url}");
    let body = response.text().await.unwrap();
    let export: Value = serde_json::from_str(&body)
        .unwrap_or_else(|e| panic!("the export is not JSON ({e}):\n{body}"));
    let text = export.to_string();
    assert!(
        text.contains(&email),
        "the export does not contain {email}:\n{body}"
    );
    assert!(
        text.contains(&okta_id),
        "the export does not contain the Okta account {okta_id}:\n{body}"
    );

    // Evidence register: two items (MFA, admin review), both verified.
    h.click("#nav-evidence").await;
    h.wait("#evidence-table [data-verified]").await;
    let items = h.all("#evidence-table [data-verified]").await;
    assert_eq!(items.len(), 2, "{}", h.body_text().await);
    for item in &items {
        assert_eq!(
            item.attr("data-verified").await.unwrap().as_deref(),
            Some("true"),
            "{}",
            item.text().await.unwrap()
        );
    }
    h.wait("#evidence-verify-status").await;
    h.shot("evidence-register").await;

    // Identity views, for the README gallery.
    h.click("#nav-identity").await;
    h.wait("#identity-results").await;
    h.shot("identity").await;

    h.close().await;
}
