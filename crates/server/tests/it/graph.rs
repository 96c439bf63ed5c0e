//! The identity-graph API (`/api/v1/graph/...`) and OneTrust integrations over the API, on a
//! seeded pair of simulators (Okta + OneTrust, same seed and users).

use std::collections::BTreeSet;

use serde_json::{Value, json};
use steward_simulator::onetrust::{OtRateConfig, OtSimConfig, OtSimulator};

use crate::helpers::{Session, TestApp, assert_error, sim_now, spawn_app};

const USERS: usize = 150;

async fn sync_named(app: &TestApp, admin: &Session, name: &str) {
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
    let _ = app;
    panic!("sync of {name} did not finish");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graph_views_over_the_api() {
    let app = spawn_app(USERS).await;
    // spawn_app's Okta simulator uses seed 7 at sim_now(): the OneTrust tenant overlaps it.
    let mut c = OtSimConfig::new(USERS, 7, sim_now());
    c.rate = OtRateConfig::none();
    let ot = OtSimulator::start(c, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let admin = app.admin().await;
    app.add_okta(&admin, "SUPER_ADMIN").await;
    sync_named(&app, &admin, "okta").await;

    // OneTrust over the API: bad combinations are refused with the field.
    let base = json!({"kind": "onetrust", "name": "onetrust", "domain": ot.base_url().as_str(), "options": {"allow_insecure_loopback": true}});
    let mut half = base.clone();
    half["client_id"] = json!("abc");
    assert_error(
        admin.post("/api/v1/integrations", half).await,
        400,
        "invalid_input",
        Some("client_secret"),
    )
    .await;
    let mut bad = base.clone();
    bad["domain"] = json!("acme.okta.com");
    bad["token"] = json!("k");
    assert_error(
        admin.post("/api/v1/integrations", bad).await,
        400,
        "invalid_input",
        Some("domain"),
    )
    .await;
    let (id, secret) = ot.client_credentials();
    let mut cc = base.clone();
    cc["client_id"] = json!(id);
    cc["client_secret"] = json!(secret);
    let r = admin.post("/api/v1/integrations", cc).await;
    assert_eq!(r.status(), 201);
    let body = r.text().await.unwrap();
    assert!(!body.contains(&secret), "{body}");
    assert!(body.contains("client_credentials"), "{body}");
    sync_named(&app, &admin, "onetrust").await;

    let truth = ot.truth();
    let drift = &truth["drift"];
    let viewer = app.viewer().await;
    let leavers: Value = viewer
        .get("/api/v1/graph/leavers")
        .await
        .json()
        .await
        .unwrap();
    let got: BTreeSet<String> = leavers["leavers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["person"].as_str().unwrap().to_string())
        .collect();
    let want: BTreeSet<String> = drift["leavers_active"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["email"].as_str().unwrap().to_lowercase())
        .collect();
    assert_eq!(got, want);

    let orphans: Value = viewer
        .get("/api/v1/graph/orphans")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(orphans["has_identity_provider"], true);
    let got: BTreeSet<String> = orphans["orphans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["account"]["account_id"].as_str().unwrap().to_string())
        .collect();
    assert!(want.len() <= got.len() && !got.is_empty());

    let seats: Value = viewer
        .get("/api/v1/graph/seats?now=2026-11-01T00:00:00Z")
        .await
        .json()
        .await
        .unwrap();
    let used: u64 = seats["seats"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["used_90d"].as_u64().unwrap())
        .sum();
    assert_eq!(used, truth["usage"]["logged_in_90d"].as_u64().unwrap());
    assert_error(
        viewer.get("/api/v1/graph/seats?now=yesterday").await,
        400,
        "invalid_input",
        Some("now"),
    )
    .await;

    let email = want.iter().next().cloned().expect("a leaver");
    let r = viewer
        .get(&format!("/api/v1/graph/people/{}", email.to_uppercase()))
        .await;
    assert_eq!(r.status(), 200);
    let person: Value = r.json().await.unwrap();
    assert_eq!(
        person["person"]["accounts"].as_array().unwrap().len(),
        2,
        "{person}"
    );
    assert_error(
        viewer.get("/api/v1/graph/people/not-an-email").await,
        400,
        "invalid_input",
        Some("email"),
    )
    .await;
    let r = viewer
        .get("/api/v1/graph/people/nobody@nowhere.example")
        .await;
    assert_eq!(r.status(), 404);
    // Anonymous callers get nothing.
    assert_eq!(
        Session::anonymous(&app.base)
            .get("/api/v1/graph/orphans")
            .await
            .status(),
        401
    );
}
