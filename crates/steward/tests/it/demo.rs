//! `steward demo` runs the whole job and proves it against the simulator's truth.

use crate::common::text;

#[test]
fn demo_with_a_super_admin_token_syncs_everything_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_steward"))
        .args(["--data-dir"])
        .arg(dir.path())
        .args([
            "demo",
            "--users",
            "120",
            "--role",
            "SUPER_ADMIN",
            "--json",
            "--rate-scale",
            "100",
        ])
        .env("CI", "1")
        .env_remove("STEWARD_DATABASE_URL")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["all_match"], true, "{v:#}");
    let checks = v["truth_check"].as_object().unwrap();
    for resource in [
        "users",
        "groups",
        "memberships",
        "apps",
        "app_users",
        "app_groups",
        "role_assignments",
        "factors",
        "policies",
        "policy_rules",
        "log_events",
        "settings",
    ] {
        assert_eq!(checks[resource]["status"], "match", "{resource}: {v:#}");
        assert!(
            checks[resource]["truth"]["count"].as_u64().unwrap() > 0,
            "{resource} is empty in the org"
        );
    }
    assert_eq!(v["connection_test"]["fatal"], serde_json::Value::Null);
}

#[test]
fn demo_defaults_to_least_privilege_and_states_the_gap() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_steward"))
        .args(["--data-dir"])
        .arg(dir.path())
        .args(["demo", "--users", "80", "--rate-scale", "100"])
        .env("CI", "1")
        .env_remove("STEWARD_DATABASE_URL")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stdout.contains("equals the simulator's truth"),
        "{}",
        text(&out)
    );
    assert!(
        stdout.contains("not readable with this token"),
        "{}",
        text(&out)
    );
    assert!(stderr.contains("READ_ONLY_ADMIN"), "{}", text(&out));
}
