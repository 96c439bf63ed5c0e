//! `steward request access|delete|list` end to end: summaries and exports, deletion with a
//! write-capable and a read-only token, idempotency, dry runs, and bad input (exit 2,
//! nothing changed).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use steward_simulator::RunningSimulator;
use steward_simulator::org::{Holder, Status};

use crate::common::{Env, contains, read_all, simulator, text};

/// (id, email, login) of an active, non-admin, non-manager user with factors, an app
/// assignment and System Log events.
fn person(sim: &RunningSimulator) -> (String, String, String) {
    sim.with_org(|org| {
        let u = (0..org.users.len())
            .find(|&u| {
                let user = &org.users[u];
                !user.deleted
                    && user.status == Status::Active
                    && !user.factors.is_empty()
                    && !org.token_users.contains(&(u as u32))
                    && org
                        .apps
                        .iter()
                        .any(|a| !a.deleted && a.users.iter().any(|au| au.user as usize == u))
                    && org
                        .logs
                        .iter()
                        .any(|e| e.actor.id == user.id || e.targets.iter().any(|t| t.id == user.id))
                    && !org.roles.iter().any(|r| match r.holder {
                        Holder::User(x) => x as usize == u,
                        Holder::Group(g) => org.user_groups[u].contains(&g),
                    })
                    && !org.users.iter().any(|x| x.manager == Some(u as u32))
            })
            .expect("no suitable user");
        let user = &org.users[u];
        (user.id.clone(), user.email.clone(), user.login.clone())
    })
}

fn in_sim(sim: &RunningSimulator, id: &str) -> bool {
    sim.with_org(|org| org.find_user(id).is_some())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_prints_a_summary_and_writes_the_export() {
    let sim = simulator(200, 61, |_| {}).await;
    let env = Env::new().await;
    assert!(env.add("okta", &sim, "SUPER_ADMIN").status.success());
    let (id, email, _) = person(&sim);
    let out_file = env.dir.path().join("export.json");
    let out = env.run(
        &[
            "request",
            "access",
            "--email",
            &email.to_uppercase(),
            "--out",
            out_file.to_str().unwrap(),
        ],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "1 matching account",
        &id,
        "groups:",
        "apps:",
        "factor types:",
        "admin roles:",
        "System Log events",
        "Full export written",
    ] {
        assert!(stdout.contains(needle), "{needle:?} missing:\n{stdout}");
    }
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&out_file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let export: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&out_file).unwrap()).unwrap();
    let p = &export["integrations"][0]["accounts"][0];
    assert_eq!(p["account"]["id"], id.as_str());
    for part in ["groups", "apps", "factors", "log_events"] {
        assert_eq!(p[part]["status"], "read", "{part}: {}", p[part]);
        assert!(
            !p[part]["items"].as_array().unwrap().is_empty(),
            "{part} empty"
        );
    }
    assert_eq!(p["roles"]["status"], "read");
    // --json prints the same export; the audit trail lists both requests.
    let json = env.json(&["request", "access", "--email", &email, "--json"]);
    assert_eq!(
        json["integrations"][0]["accounts"][0]["account"]["id"],
        id.as_str()
    );
    let list = env.json(&["request", "list", "--json"]);
    assert_eq!(list["requests"].as_array().unwrap().len(), 2);
    assert!(
        !list
            .to_string()
            .to_lowercase()
            .contains(&email.to_lowercase()),
        "email in clear in the audit trail"
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_erases_everywhere_and_repeats_as_already_deleted() {
    let sim = simulator(200, 62, |_| {}).await;
    let env = Env::new().await;
    assert!(env.add("okta", &sim, "SUPER_ADMIN").status.success());
    let out = env.run(&["sync", "okta"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let (id, email, _) = person(&sim);
    let out = env.run(&["request", "delete", "--email", &email, "--yes"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("Deleted.")
            && stdout.contains("404 E0000007")
            && stdout.contains("Receipt:"),
        "{stdout}"
    );
    assert!(!in_sim(&sim, &id));
    if env.is_sqlite() {
        let bytes = read_all(&env.sqlite_files()).to_ascii_lowercase();
        assert!(
            !contains(&bytes, &id.to_ascii_lowercase()),
            "user id left in the SQLite files"
        );
        assert!(
            !contains(&bytes, &email.to_ascii_lowercase()),
            "email left in the SQLite files"
        );
    }
    let again = env.run(&["request", "delete", "--email", &email, "--yes"], &[]);
    assert!(again.status.success(), "{}", text(&again));
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("already deleted"),
        "{}",
        text(&again)
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_an_admin_keeps_evidence_verifiable_and_a_resync_does_not_bring_them_back() {
    let sim = simulator(250, 50, |_| {}).await;
    let env = Env::new().await;
    assert!(env.add("okta", &sim, "SUPER_ADMIN").status.success());
    let out = env.run(&["sync", "okta"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    // An app-managing admin: the admin review and the inventory both name them.
    let (id, email, login) = sim.with_org(|org| {
        let u = (0..org.users.len())
            .find(|&u| {
                !org.users[u].deleted
                    && org.users[u].status == Status::Active
                    && !org.token_users.contains(&(u as u32))
                    && org.roles.iter().any(|r| {
                        r.holder == Holder::User(u as u32)
                            && ["SUPER_ADMIN", "ORG_ADMIN", "APP_ADMIN"].contains(&r.role_type)
                    })
            })
            .expect("no app-managing admin");
        let user = &org.users[u];
        (user.id.clone(), user.email.clone(), user.login.clone())
    });
    let review = env.json(&["evidence", "show", "EV-2", "--json"]);
    assert!(
        review.to_string().contains(&login),
        "the admin review names them"
    );
    let out = env.run(&["request", "delete", "--email", &email, "--yes"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let verify = env.run(&["evidence", "verify"], &[]);
    assert_eq!(verify.status.code(), Some(0), "{}", text(&verify));
    assert!(
        String::from_utf8_lossy(&verify.stdout).contains("redacted after erasures"),
        "{}",
        text(&verify)
    );
    let out = env.run(&["sync", "okta"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(env.run(&["evidence", "verify"], &[]).status.code(), Some(0));
    if env.is_sqlite() {
        let bytes = read_all(&env.sqlite_files()).to_ascii_lowercase();
        for needle in [&id, &email, &login] {
            assert!(
                !contains(&bytes, &needle.to_ascii_lowercase()),
                "{needle} left in the SQLite files after a resync"
            );
        }
    }
    // Forge a redaction: replace an entry by its digest without a redaction record.
    let mfa = env.json(&["evidence", "show", "EV-1", "--json"]);
    let mut sources = mfa["sources"].clone();
    let entry = sources["policies"][0].clone();
    assert!(!entry.is_null(), "{mfa:#}");
    sources["policies"][0] = serde_json::json!({"redacted": steward_store::entry_digest(&entry)});
    let sql = format!(
        "UPDATE evidence_items SET sources = '{}' WHERE seq = 1",
        sources.to_string().replace('\'', "''")
    );
    crate::evidence::tamper(&env, &[sql.as_str()])
        .await
        .unwrap();
    let out = env.run(&["evidence", "verify", "--json"], &[]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["broken"]["kind"], "edited", "{v:#}");
    assert!(
        v["broken"]["detail"]
            .as_str()
            .unwrap()
            .contains("without a redaction record"),
        "{v:#}"
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_with_read_only_is_refused_with_the_role_and_a_plan() {
    let sim = simulator(150, 63, |_| {}).await;
    let env = Env::new().await;
    assert!(env.add("okta", &sim, "READ_ONLY_ADMIN").status.success());
    let (id, email, _) = person(&sim);
    let out = env.run(&["request", "delete", "--email", &email, "--yes"], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("SUPER_ADMIN or ORG_ADMIN") && stdout.contains("notify the owner of app"),
        "{stdout}"
    );
    assert!(in_sim(&sim, &id));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_and_dry_run_change_nothing() {
    let sim = simulator(150, 64, |_| {}).await;
    let env = Env::new().await;
    assert!(env.add("okta", &sim, "SUPER_ADMIN").status.success());
    let (id, email, _) = person(&sim);
    let cases: [(&[&str], &str); 4] = [
        (
            &["request", "delete", "--email", &email, "--dry-run", "--yes"],
            "--dry-run",
        ),
        (
            &["request", "delete", "--email", "not-an-email", "--yes"],
            "--email",
        ),
        (&["request", "access", "--email", "a@b"], "--email"),
        // Not a terminal, no --yes.
        (
            &["request", "delete", "--email", &email],
            "pass --yes to confirm",
        ),
    ];
    for (args, needle) in cases {
        let out = env.run(args, &[]);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(needle),
            "{args:?}: {}",
            text(&out)
        );
    }
    assert!(in_sim(&sim, &id));
    let list = env.json(&["request", "list", "--json"]);
    assert!(
        list["requests"].as_array().unwrap().is_empty(),
        "bad input recorded a request: {list}"
    );
    let out = env.run(&["request", "delete", "--email", &email, "--dry-run"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Dry run"),
        "{}",
        text(&out)
    );
    assert!(in_sim(&sim, &id));
    assert_eq!(
        sim.with_org(|o| o.users[o.find_user(&id).unwrap()].status),
        Status::Active
    );
    sim.shutdown().await;
}
