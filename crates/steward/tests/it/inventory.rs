//! `steward inventory` end to end against the simulator: staging, decisions surviving a
//! re-sync, new and removed apps, `changes`, CSV, and bad input (exit 2, nothing changed).

// Test helpers panic on failure by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::{Env, simulator, text};

fn items(env: &Env, args: &[&str]) -> Vec<serde_json::Value> {
    let mut all = vec!["inventory", "list", "--json"];
    all.extend_from_slice(args);
    env.json(&all).as_array().unwrap().clone()
}

fn synced(env: &Env) {
    let out = env.run(&["sync", "okta"], &[]);
    assert!(out.status.success(), "{}", text(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staged_apps_are_triaged_and_decisions_survive_resyncs_with_new_and_removed_apps() {
    let sim = simulator(120, 51, |_| {}).await;
    let env = Env::new().await;
    assert_eq!(env.add("okta", &sim, "SUPER_ADMIN").status.code(), Some(0));
    synced(&env);

    let staged = items(&env, &[]);
    let live = sim.with_org(|o| o.apps.iter().filter(|a| !a.deleted).count());
    assert_eq!(staged.len(), live);
    assert!(staged.iter().all(|i| i["triage"] == "staged"), "{staged:?}");
    let id = |i: usize| staged[i]["display_id"].as_str().unwrap().to_string();
    let (a, b, gone) = (id(0), id(1), id(2));
    let gone_app = staged[2]["app_id"].as_str().unwrap().to_string();

    let out = env.run(
        &[
            "inventory",
            "accept",
            &a,
            "--owner",
            "dpo@example.com",
            "--purpose",
            "CRM, sales",
            "--data-category",
            "contact",
            "--data-category",
            "financial",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = env.run(
        &["inventory", "ignore", &b, "--reason", "bookmark, no data"],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // Okta changes: one app added, one removed.
    let http = reqwest::Client::new();
    let created: serde_json::Value = http
        .post(format!("{}/__sim/apps", sim.base_url()))
        .json(&serde_json::json!({"label": "Data Lake", "signOnMode": "SAML_2_0"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let new_app = created["id"].as_str().unwrap().to_string();
    let deleted = http
        .delete(format!("{}/__sim/apps/{gone_app}", sim.base_url()))
        .send()
        .await
        .unwrap();
    assert!(deleted.status().is_success());
    synced(&env);

    let accepted = items(&env, &["--status", "accepted"]);
    assert_eq!(accepted.len(), 1);
    assert_eq!(accepted[0]["display_id"], a.as_str());
    assert_eq!(accepted[0]["owner"], "dpo@example.com");
    assert_eq!(accepted[0]["purpose"], "CRM, sales");
    assert_eq!(
        accepted[0]["data_categories"],
        serde_json::json!(["contact", "financial"])
    );
    let ignored = items(&env, &["--status", "ignored"]);
    assert_eq!(ignored.len(), 1);
    assert_eq!(ignored[0]["ignore_reason"], "bookmark, no data");
    let staged_now = items(&env, &["--status", "staged"]);
    assert!(
        staged_now.iter().any(|i| i["app_id"] == new_app.as_str()),
        "new app not staged"
    );

    let shown = env.json(&["inventory", "show", &gone, "--json"]);
    assert_eq!(shown["removed"], true, "{shown:#}");
    let table = env.run(&["inventory", "list"], &[]);
    assert!(
        String::from_utf8_lossy(&table.stdout).contains("gone from Okta since sync run"),
        "{}",
        text(&table)
    );

    let changes = env.json(&["inventory", "changes", "--json"]);
    assert_eq!(changes[0]["sync"]["added"], 1, "{changes:#}");
    assert_eq!(changes[0]["sync"]["removed"], 1, "{changes:#}");
    let kinds: Vec<&str> = changes[0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["change"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"added") && kinds.contains(&"removed"),
        "{kinds:?}"
    );

    // CSV: a header and one line per item; the comma in the purpose is quoted.
    let csv = env.run(&["inventory", "list", "--csv"], &[]);
    assert!(csv.status.success(), "{}", text(&csv));
    let body = String::from_utf8_lossy(&csv.stdout);
    assert_eq!(body.lines().count(), live + 1 + 1, "{body}");
    assert!(body.contains("\"CRM, sales\""), "{body}");

    // Bulk: accept every staged item at once.
    let out = env.run(
        &[
            "inventory",
            "accept",
            "--all-staged",
            "--owner",
            "it@example.com",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(items(&env, &["--status", "staged"]).is_empty());
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_exits_2_and_changes_nothing() {
    let sim = simulator(100, 52, |_| {}).await;
    let env = Env::new().await;
    assert_eq!(env.add("okta", &sim, "SUPER_ADMIN").status.code(), Some(0));
    synced(&env);
    let before = items(&env, &[]);
    let a = before[0]["display_id"].as_str().unwrap().to_string();
    let b = before[1]["display_id"].as_str().unwrap().to_string();

    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["inventory", "accept", &a, "--owner", "not-an-email"],
            "--owner",
        ),
        (vec!["inventory", "accept", &a, "INV-999999"], "INV-999999"),
        (vec!["inventory", "accept", "INV-abc"], "INV-abc"),
        (
            vec!["inventory", "ignore", &b, "INV-999999", "--reason", "x"],
            "INV-999999",
        ),
        (
            vec![
                "inventory",
                "list",
                "--status",
                "staged",
                "--status",
                "accepted",
            ],
            "--status",
        ),
        (vec!["inventory", "list", "--json", "--csv"], "--csv"),
        (
            vec![
                "inventory",
                "triage",
                "--accept",
                &a,
                "--ignore",
                &a,
                "--reason",
                "x",
            ],
            "both",
        ),
        (vec!["inventory", "ignore", &b], "--reason"),
        (vec!["inventory", "show", "INV-999999"], "INV-999999"),
        (
            vec!["inventory", "accept", &a, "--all-staged"],
            "--all-staged",
        ),
    ];
    for (args, mention) in &cases {
        let out = env.run(args, &[]);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(mention),
            "{args:?} should name {mention}: {err}"
        );
    }
    assert_eq!(
        items(&env, &[]),
        before,
        "a refused command changed the inventory"
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_are_unknown_when_admin_roles_are_not_readable() {
    let sim = simulator(80, 53, |_| {}).await;
    let env = Env::new().await;
    assert_eq!(
        env.add("okta", &sim, "READ_ONLY_ADMIN").status.code(),
        Some(0)
    );
    synced(&env);
    let all = items(&env, &[]);
    assert!(!all.is_empty());
    assert!(all.iter().all(|i| i["admins"].is_null()), "{all:?}");
    let table = env.run(&["inventory", "list"], &[]);
    assert!(
        String::from_utf8_lossy(&table.stdout).contains("admins unknown"),
        "{}",
        text(&table)
    );
    sim.shutdown().await;
}
