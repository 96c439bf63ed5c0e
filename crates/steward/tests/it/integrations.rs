//! `steward integration add|test|list|show|remove` against the simulator, per token role.

use crate::common::{Env, simulator, text};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_admin_passes_required_checks_and_marks_admin_roles_optional() {
    let sim = simulator(60, 3, |_| {}).await;
    let env = Env::new().await;
    let out = env.add("okta", &sim, "READ_ONLY_ADMIN");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("All required checks passed."), "{stdout}");
    let report = env.json(&["integration", "test", "okta", "--json"]);
    let checks = report["checks"].as_array().unwrap();
    let by_id = |id: &str| {
        checks
            .iter()
            .find(|c| c["capability"] == id)
            .unwrap_or_else(|| panic!("no {id}: {report:#}"))
    };
    for c in checks.iter().filter(|c| c["required"] == true) {
        assert_eq!(c["outcome"]["status"], "ok", "{c}");
    }
    let roles = checks
        .iter()
        .find(|c| c["required"] == false && c["outcome"]["status"] == "denied")
        .unwrap_or_else(|| panic!("READ_ONLY_ADMIN should be denied admin-role data: {report:#}"));
    assert_eq!(roles["outcome"]["code"], "E0000006");
    assert!(
        roles["outcome"]["fix"]
            .as_str()
            .unwrap()
            .contains("SUPER_ADMIN"),
        "{roles}"
    );
    let _ = by_id;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_admin_token_fails_with_a_clear_message() {
    let sim = simulator(40, 3, |_| {}).await;
    let env = Env::new().await;
    let out = env.add("okta", &sim, "NO_ADMIN");
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("✗"), "{stdout}");
    assert!(stdout.contains("E0000006"), "{stdout}");
    assert!(stdout.contains("A required check failed"), "{stdout}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_token_explains_the_30_day_expiry() {
    let sim = simulator(40, 3, |_| {}).await;
    let env = Env::new().await;
    let out = env.add("okta", &sim, "EXPIRED");
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("30 days"), "{stdout}");
    let sync = env.run(&["sync", "okta"], &[]);
    assert_eq!(sync.status.code(), Some(4), "{}", text(&sync));
    assert!(
        String::from_utf8_lossy(&sync.stderr).contains("30 days"),
        "{}",
        text(&sync)
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_domains_are_refused_with_the_fix_and_nothing_is_stored() {
    let env = Env::new().await;
    for (domain, needle) in [
        ("http://acme.okta.com", "http"),
        ("https://acme-admin.okta.com", "acme.okta.com"),
        ("https://acme.okta.com/app/x", "path"),
        ("https://10.0.0.1", "IP"),
        ("https://evil.example.com", "--custom-domain"),
    ] {
        let out = env.run(
            &[
                "integration",
                "add",
                "okta",
                "--name",
                "x",
                "--domain",
                domain,
                "--token-env",
                "T",
            ],
            &[("T", "00abc")],
        );
        assert_eq!(out.status.code(), Some(2), "{domain}: {}", text(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("--domain"), "{domain}: {stderr}");
        assert!(stderr.contains(needle), "{domain}: {stderr}");
    }
    let list = env.json(&["integration", "list", "--json"]);
    assert_eq!(list.as_array().unwrap().len(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_show_remove_and_duplicate_names() {
    let sim = simulator(40, 3, |_| {}).await;
    let env = Env::new().await;
    assert_eq!(
        env.add("okta", &sim, "READ_ONLY_ADMIN").status.code(),
        Some(0)
    );
    let dup = env.add("okta", &sim, "READ_ONLY_ADMIN");
    assert_eq!(dup.status.code(), Some(2), "{}", text(&dup));
    let list = env.json(&["integration", "list", "--json"]);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["connected"], true);
    let shown = env.json(&["integration", "show", "okta", "--json"]);
    assert!(
        shown["capabilities"].as_array().unwrap().len() >= 9,
        "{shown:#}"
    );
    let refused = env.run(&["integration", "remove", "okta"], &[]);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    let removed = env.run(&["integration", "remove", "okta", "--yes"], &[]);
    assert!(removed.status.success(), "{}", text(&removed));
    assert_eq!(
        env.json(&["integration", "list", "--json"])
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let missing = env.run(&["sync", "okta"], &[]);
    assert_eq!(missing.status.code(), Some(2), "{}", text(&missing));
    sim.shutdown().await;
}
