//! `steward review` end to end: create, queue, decide (the loser of a race is told who
//! decided), report into the evidence register, report-only remediation, bad input exits 2.

use crate::common::{Env, simulator, text};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_queue_decide_report_and_remediate() {
    let sim = simulator(100, 71, |_| {}).await;
    let env = Env::new().await;
    assert_eq!(env.add("okta", &sim, "SUPER_ADMIN").status.code(), Some(0));
    let out = env.run(&["sync", "okta"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let due = (chrono::Utc::now() + chrono::Duration::days(30))
        .format("%Y-%m-%d")
        .to_string();
    let created = env.json(&[
        "review",
        "create",
        "--name",
        "Q4 admins",
        "--scope",
        "admins",
        "--reviewer",
        "alice@acme.example,bob@acme.example",
        "--due",
        &due,
        "--recur",
        "quarterly",
        "--json",
    ]);
    let id = created["id"].as_i64().unwrap().to_string();
    assert!(created["cases"].as_u64().unwrap() > 0, "{created:#}");

    let queue = env.json(&[
        "review",
        "queue",
        "--reviewer",
        "bob@acme.example",
        "--json",
    ]);
    let case = queue[0]["id"].as_i64().unwrap().to_string();
    let ok = env.run(
        &[
            "review",
            "decide",
            &case,
            "revoke",
            "--reviewer",
            "alice@acme.example",
            "--comment",
            "not needed",
        ],
        &[],
    );
    assert!(ok.status.success(), "{}", text(&ok));
    let late = env.run(
        &[
            "review",
            "decide",
            &case,
            "keep",
            "--reviewer",
            "bob@acme.example",
        ],
        &[],
    );
    assert_eq!(late.status.code(), Some(2), "{}", text(&late));
    assert!(text(&late).contains("already decided") && text(&late).contains("alice@acme.example"));
    let after = env.json(&[
        "review",
        "queue",
        "--reviewer",
        "bob@acme.example",
        "--json",
    ]);
    assert_eq!(
        after.as_array().unwrap().len(),
        queue.as_array().unwrap().len() - 1
    );

    let report = env.run(&["review", "report", &id, "--format", "csv"], &[]);
    assert!(
        report.status.success() && String::from_utf8_lossy(&report.stdout).contains("not needed"),
        "{}",
        text(&report)
    );
    let evidence = env.json(&["evidence", "list", "--json"]);
    assert!(
        evidence
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "access_review_report")
    );

    // Report-only (the default): the revoke becomes a remediation list entry, nothing is written.
    let rem = env.json(&["review", "remediate", &id, "--json"]);
    assert!(
        matches!(rem[0]["status"].as_str(), Some("manual" | "proposed")),
        "{rem:#}"
    );
    let list = env.json(&["review", "list", "--json"]);
    assert_eq!(list[0]["revoked"], 1);

    let bad = env.run(
        &[
            "review",
            "create",
            "--name",
            "x",
            "--scope",
            "apps:",
            "--reviewer",
            "owner",
            "--due",
            &due,
        ],
        &[],
    );
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
    assert!(text(&bad).contains("--scope"));
    sim.shutdown().await;
}
