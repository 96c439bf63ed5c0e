//! `steward findings` end to end: every kind evaluated after a sync, filters, thresholds,
//! one finding's evidence, bad input exits 2, and a read-only token states the gap.

use std::collections::BTreeSet;

use steward_simulator::org::Holder;

use crate::common::{Env, simulator, text};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn findings_after_sync_with_filters_thresholds_and_evidence() {
    let sim = simulator(150, 61, |_| {}).await;
    let env = Env::new().await;
    assert_eq!(env.add("okta", &sim, "SUPER_ADMIN").status.code(), Some(0));
    // Before any sync: a clear message, not an error.
    let empty = env.run(&["findings"], &[]);
    assert!(empty.status.success(), "{}", text(&empty));

    let cfg = env.run(&["findings", "config", "--super-admin-max", "0"], &[]);
    assert!(cfg.status.success(), "{}", text(&cfg));
    let out = env.run(&["sync", "okta"], &[]);
    assert!(out.status.success(), "{}", text(&out));

    let all = env.json(&["findings", "--json"]);
    let evals = all["evaluations"].as_array().unwrap();
    assert_eq!(evals.len(), 6, "{all:#}");
    assert!(evals.iter().all(|e| e["evaluated"] == true), "{evals:?}");
    // First sync: every finding is new.
    let findings = all["findings"].as_array().unwrap();
    assert!(findings.iter().all(|f| f["new"] == true));
    assert!(
        findings
            .iter()
            .any(|f| f["kind"] == "super_admin_concentration")
    );

    let via_group = env.json(&["findings", "--kind", "admin_role_via_group", "--json"]);
    let got: BTreeSet<String> = via_group["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["subject_key"].as_str().unwrap().to_string())
        .collect();
    let want: BTreeSet<String> = sim.with_org(|org| {
        org.roles
            .iter()
            .filter_map(|r| match r.holder {
                Holder::Group(g) => Some(format!("{}/{}", org.groups[g as usize].id, r.id)),
                Holder::User(_) => None,
            })
            .collect()
    });
    assert_eq!(got, want);

    let id = via_group["findings"][0]["id"].as_i64().unwrap().to_string();
    let one = env.json(&["findings", "show", &id, "--json"]);
    assert!(
        !one["evidence"]["members"].as_array().unwrap().is_empty(),
        "{one:#}"
    );
    let table = env.run(&["findings"], &[]);
    assert!(
        table.status.success()
            && String::from_utf8_lossy(&table.stdout).contains("admin_role_via_group")
    );

    // A second sync: nothing new, the same findings stay open.
    let out = env.run(&["sync", "okta"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let again = env.json(&["findings", "--json"]);
    assert_eq!(again["findings"].as_array().unwrap().len(), findings.len());
    assert!(
        again["new_at_last_sync"].as_array().unwrap().is_empty(),
        "{again:#}"
    );

    // Bad input exits 2 and names the flag.
    let bad = env.run(&["findings", "--kind", "bogus"], &[]);
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
    assert!(text(&bad).contains("--kind"));
    let bad = env.run(&["findings", "config", "--inactive-days", "0"], &[]);
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
    assert!(text(&bad).contains("--inactive-days"));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_token_says_which_kinds_were_not_evaluated() {
    let sim = simulator(100, 62, |_| {}).await;
    let env = Env::new().await;
    assert_eq!(
        env.add("okta", &sim, "READ_ONLY_ADMIN").status.code(),
        Some(0)
    );
    let out = env.run(&["sync", "okta"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let table = env.run(&["findings"], &[]);
    let shown = String::from_utf8_lossy(&table.stdout).into_owned();
    assert!(
        shown.contains("not evaluated: admin role assignments could not be read"),
        "{shown}"
    );
    let all = env.json(&["findings", "--json"]);
    let not: Vec<&str> = all["evaluations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["evaluated"] == false)
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        not,
        [
            "admin_role_via_group",
            "admin_without_mfa",
            "super_admin_concentration"
        ]
    );
    sim.shutdown().await;
}
