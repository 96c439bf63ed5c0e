//! `steward sync` against the simulator: exact truth, permissions, fallbacks, incremental
//! System Log, rate governance, and crash safety.

use std::time::Duration;

use crate::common::{Env, assert_snapshot_matches, simulator, stats, text, truth};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn super_admin_sync_equals_the_simulator_truth() {
    let sim = simulator(150, 11, |_| {}).await;
    let env = Env::new().await;
    assert_eq!(env.add("okta", &sim, "SUPER_ADMIN").status.code(), Some(0));
    let out = env.run(&["sync", "okta", "--json"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let run: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(run["report"]["rate_limited"], 0);
    assert_snapshot_matches(&env, "okta", &truth(&sim).await, &[]);
    let status = env.json(&["status", "--json"]);
    assert_eq!(
        status["integrations"][0]["integration"]["last_sync_status"], "succeeded",
        "{status:#}"
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_admin_sync_marks_admin_roles_not_readable_and_the_rest_exact() {
    let sim = simulator(90, 12, |_| {}).await;
    let env = Env::new().await;
    assert_eq!(
        env.add("okta", &sim, "READ_ONLY_ADMIN").status.code(),
        Some(0)
    );
    let out = env.run(&["sync", "okta"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("not readable"),
        "{}",
        text(&out)
    );
    assert_snapshot_matches(&env, "okta", &truth(&sim).await, &["role_assignments"]);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_org_falls_back_to_per_user_role_reads() {
    let sim = simulator(70, 13, |c| c.legacy_org = true).await;
    let env = Env::new().await;
    let added = env.add("okta", &sim, "SUPER_ADMIN");
    assert_eq!(added.status.code(), Some(0), "{}", text(&added));
    assert!(
        String::from_utf8_lossy(&added.stdout).contains("fallback"),
        "{}",
        text(&added)
    );
    let out = env.run(&["sync", "okta"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert_snapshot_matches(&env, "okta", &truth(&sim).await, &[]);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_sync_reads_the_system_log_incrementally() {
    let sim = simulator(80, 14, |_| {}).await;
    let env = Env::new().await;
    assert_eq!(env.add("okta", &sim, "SUPER_ADMIN").status.code(), Some(0));
    let first = env.json(&["sync", "okta", "--json"]);
    let first_logs = first["resources"]["log_events"]["count"].as_u64().unwrap();
    assert!(first_logs > 100, "{first:#}");

    // A write in Okta adds System Log events and changes an app assignment.
    let app_users = sim_get(&sim, "/api/v1/apps?limit=1").await;
    let app_id = app_users[0]["id"].as_str().unwrap().to_string();
    let users = sim_get(&sim, &format!("/api/v1/apps/{app_id}/users?limit=1")).await;
    let user_id = users[0]["id"].as_str().unwrap().to_string();
    let resp = reqwest::Client::new()
        .delete(format!(
            "{}/api/v1/apps/{app_id}/users/{user_id}",
            sim.base_url()
        ))
        .header(
            "Authorization",
            format!("SSWS {}", sim.token("SUPER_ADMIN")),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 204);

    let second = env.json(&["sync", "okta", "--json"]);
    let second_logs = second["resources"]["log_events"]["count"].as_u64().unwrap();
    assert!(
        second_logs >= 1 && second_logs < 10,
        "second run re-read the log: {second_logs}"
    );
    assert_snapshot_matches(&env, "okta", &truth(&sim).await, &[]);
    sim.shutdown().await;
}

async fn sim_get(sim: &steward_simulator::RunningSimulator, path: &str) -> serde_json::Value {
    reqwest::Client::new()
        .get(format!("{}{path}", sim.base_url()))
        .header(
            "Authorization",
            format!("SSWS {}", sim.token("SUPER_ADMIN")),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Under Okta's default workforce quotas the sync paces itself: no 429, and no bucket's use
/// in any window reaches the org's warning threshold (so Okta never e-mails the admins).
/// The apps bucket (50 requests/min for the token) must be spread over two windows here.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_limits_no_429_and_never_past_the_warning_threshold() {
    let sim = simulator(100, 15, |c| {
        c.rate.mode = steward_simulator::RateLimitMode::Default;
        c.apps = Some(30);
    })
    .await;
    let env = Env::new().await;
    assert_eq!(env.add("okta", &sim, "SUPER_ADMIN").status.code(), Some(0));
    let out = env.run(&["sync", "okta", "--json"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let stats = stats(&sim).await;
    let buckets = stats["buckets"].as_object().unwrap();
    assert!(!buckets.is_empty(), "{stats:#}");
    for (name, b) in buckets {
        assert_eq!(b["rate_limited"], 0, "{name}: {b}");
        assert_eq!(b["warnings"], 0, "{name}: {b}");
        assert!(
            b["max_window_share"].as_f64().unwrap() < 0.9,
            "{name} reached the threshold: {b}"
        );
    }
    assert_snapshot_matches(&env, "okta", &truth(&sim).await, &[]);
    sim.shutdown().await;
}

/// SIGKILL mid-sync: no partial snapshot becomes visible, the previous one stays, and the
/// next run (after the dead run's heartbeat goes stale) succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_sync_leaves_the_previous_snapshot_and_the_next_run_succeeds() {
    // Some slow answers keep the run going long enough to be killed in the middle.
    let sim = simulator(1500, 16, |c| {
        c.faults.slow = 0.05;
        c.faults.slow_for = Duration::from_millis(400);
    })
    .await;
    let env = Env::new().await;
    assert_eq!(env.add("okta", &sim, "SUPER_ADMIN").status.code(), Some(0));
    let first = env.run(&["sync", "okta"], &[]);
    assert!(first.status.success(), "{}", text(&first));
    let before = env.json(&["integration", "show", "okta", "--json"])["snapshot"].clone();

    let mut child = env.cmd().args(["sync", "okta"]).spawn().unwrap();
    // Kill only once the run is visibly under way (staging records).
    let mut running = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let runs = env.json(&["integration", "show", "okta", "--json"])["runs"].clone();
        if runs[0]["status"] == "running" {
            running = true;
            break;
        }
    }
    assert!(running, "the second sync never showed as running");
    tokio::time::sleep(Duration::from_millis(700)).await;
    child.kill().unwrap(); // SIGKILL
    let _ = child.wait();

    let after_kill = env.json(&["integration", "show", "okta", "--json"]);
    assert_eq!(
        after_kill["snapshot"], before,
        "the killed run changed the snapshot"
    );

    tokio::time::sleep(Duration::from_secs(3)).await; // STEWARD_STALE_RUN_SECS=2
    let next = env.run(&["sync", "okta"], &[]);
    assert!(next.status.success(), "{}", text(&next));
    assert_snapshot_matches(&env, "okta", &truth(&sim).await, &[]);
    let runs = env.json(&["integration", "show", "okta", "--json"])["runs"].clone();
    let statuses: Vec<&str> = runs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert!(
        statuses.contains(&"abandoned") || statuses.contains(&"failed"),
        "{runs:#}"
    );
    sim.shutdown().await;
}
