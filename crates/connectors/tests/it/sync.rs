//! Full and incremental syncs against the simulator: digests equal the simulator's truth.

use steward_connectors::SyncOptions;
use steward_model::Resource;

use crate::common::*;

#[tokio::test]
async fn super_admin_full_sync_matches_truth() {
    let sim = start_with(config(300, 1)).await;
    let c = connector(&sim, "SUPER_ADMIN");
    let (report, got) = run_sync(&c, SyncOptions::new(now())).await;
    let report = report.unwrap();
    for r in Resource::ALL {
        assert_truth(&sim, &got, r);
    }
    assert_eq!(report.warning_threshold, Some(90));
    assert!(report.requests > 0);
    assert_eq!(report.rate_limited, 0);
    assert!(got.cursors.contains_key(&Resource::LogEvents));
    // Records keep their source object.
    let users = &got.records[&Resource::Users];
    assert!(
        users.iter().all(
            |r| matches!(r, steward_model::Record::Account(a) if a.raw.get("profile").is_some())
        )
    );
}

#[tokio::test]
async fn read_only_admin_gets_everything_but_roles() {
    let sim = start_with(config(300, 2)).await;
    let c = connector(&sim, "READ_ONLY_ADMIN");
    let (report, got) = run_sync(&c, SyncOptions::new(now())).await;
    report.unwrap();
    for r in Resource::ALL {
        if r == Resource::RoleAssignments {
            let reason = &got.unreadable[&r];
            assert!(reason.contains("SUPER_ADMIN"), "{reason}");
            assert!(!got.done.contains_key(&r));
        } else {
            assert_truth(&sim, &got, r);
        }
    }
}

#[tokio::test]
async fn legacy_org_falls_back_to_per_user_roles() {
    let mut cfg = config(120, 3);
    cfg.legacy_org = true;
    let sim = start_with(cfg).await;
    let c = connector(&sim, "SUPER_ADMIN");
    let (report, got) = run_sync(&c, SyncOptions::new(now())).await;
    report.unwrap();
    assert_truth(&sim, &got, Resource::RoleAssignments);
}

#[tokio::test]
async fn app_admin_marks_unreadable_resources_and_goes_on() {
    let sim = start_with(config(100, 4)).await;
    let c = connector(&sim, "APP_ADMIN");
    let (report, got) = run_sync(&c, SyncOptions::new(now())).await;
    report.unwrap();
    for r in [
        Resource::Users,
        Resource::Groups,
        Resource::Apps,
        Resource::AppUsers,
        Resource::AppGroups,
        Resource::Memberships,
    ] {
        assert_truth(&sim, &got, r);
    }
    for r in [
        Resource::Factors,
        Resource::Policies,
        Resource::PolicyRules,
        Resource::LogEvents,
        Resource::RoleAssignments,
    ] {
        assert!(
            got.unreadable.get(&r).is_some_and(|s| !s.is_empty()),
            "{r} should be unreadable"
        );
    }
}

#[tokio::test]
async fn log_cursor_resumes_with_only_new_events() {
    let sim = start_with(config(80, 5)).await;
    let c = connector(&sim, "READ_ONLY_ADMIN");
    let (report, first) = run_sync(&c, SyncOptions::new(now())).await;
    report.unwrap();
    assert_truth(&sim, &first, Resource::LogEvents);
    let cursor = first.cursors[&Resource::LogEvents].clone();
    assert!(cursor.starts_with("/api/v1/logs?"), "{cursor}");

    // A write between syncs makes new events.
    let victim = sim
        .with_org(|o| {
            o.users
                .iter()
                .find(|u| u.status.is_enrolled() && !u.deleted)
                .map(|u| u.id.clone())
        })
        .unwrap();
    let resp = reqwest::Client::new()
        .post(format!(
            "{}/api/v1/users/{victim}/lifecycle/deactivate",
            sim.base_url()
        ))
        .header(
            "Authorization",
            format!("SSWS {}", sim.token("SUPER_ADMIN")),
        )
        .header("Content-Length", "0")
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());

    let mut options = SyncOptions::new(now());
    options.cursors.insert(Resource::LogEvents, cursor);
    let (report, second) = run_sync(&c, options).await;
    report.unwrap();
    let before: std::collections::HashSet<String> =
        first.keys(Resource::LogEvents).into_iter().collect();
    let new = second.keys(Resource::LogEvents);
    assert!(!new.is_empty(), "the deactivation must show up");
    assert!(
        new.iter().all(|k| !before.contains(k)),
        "only new events on resume"
    );
    let events = &second.records[&Resource::LogEvents];
    assert!(events.iter().any(|r| matches!(r, steward_model::Record::LogEvent(e) if e.event_type == "user.lifecycle.deactivate")));
    // The rest of the second sync is still exact (the user is now DEPROVISIONED).
    for r in [Resource::Users, Resource::Factors, Resource::AppUsers] {
        assert_truth(&sim, &second, r);
    }
}
