//! Connection tests per token role.

use steward_connectors::Connector;
use steward_model::CheckOutcome;

use crate::common::*;

#[tokio::test]
async fn super_admin_passes_with_privilege_warning() {
    let sim = start_with(config(50, 1)).await;
    let r = connector(&sim, "SUPER_ADMIN").test_connection().await;
    assert!(r.fatal.is_none(), "{r:?}");
    assert!(r.required_ok(), "{r:?}");
    assert!(r.principal.is_some());
    assert!(
        r.roles.contains(&"SUPER_ADMIN".to_string()),
        "{:?}",
        r.roles
    );
    assert!(
        r.warnings.iter().any(|w| w.contains("READ_ONLY_ADMIN")),
        "{:?}",
        r.warnings
    );
    assert!(
        r.checks.iter().all(|c| c.outcome == CheckOutcome::Ok),
        "{:?}",
        r.checks
    );
}

#[tokio::test]
async fn read_only_admin_passes_but_roles_denied() {
    let sim = start_with(config(50, 1)).await;
    let r = connector(&sim, "READ_ONLY_ADMIN").test_connection().await;
    assert!(r.required_ok(), "{r:?}");
    let roles = r
        .checks
        .iter()
        .find(|c| c.capability == "list_admin_roles")
        .unwrap();
    assert!(!roles.required);
    match &roles.outcome {
        CheckOutcome::Denied {
            http_status,
            code,
            fix,
            ..
        } => {
            assert_eq!(*http_status, 403);
            assert_eq!(code.as_deref(), Some("E0000006"));
            assert!(fix.contains("SUPER_ADMIN"), "{fix}");
        }
        o => panic!("{o:?}"),
    }
    assert!(
        r.warnings
            .iter()
            .all(|w| !w.contains("suggest READ_ONLY_ADMIN"))
    );
}

#[tokio::test]
async fn no_admin_fails_clearly() {
    let sim = start_with(config(50, 1)).await;
    let r = connector(&sim, "NO_ADMIN").test_connection().await;
    assert!(!r.required_ok());
    let denied: Vec<_> = r
        .checks
        .iter()
        .filter(|c| c.required && !c.passed())
        .collect();
    assert!(!denied.is_empty());
    for c in denied {
        match &c.outcome {
            CheckOutcome::Denied { fix, .. } => assert!(fix.contains("READ_ONLY_ADMIN"), "{fix}"),
            o => panic!("{o:?}"),
        }
    }
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("required permissions"))
    );
}

#[tokio::test]
async fn expired_token_is_fatal_with_explanation() {
    let sim = start_with(config(50, 1)).await;
    let r = connector(&sim, "EXPIRED").test_connection().await;
    let fatal = r.fatal.unwrap();
    assert!(
        fatal.contains("30 days") && fatal.contains("E0000011"),
        "{fatal}"
    );
    // A sync stops at once with TokenRejected.
    let (report, got) = run_sync(
        &connector(&sim, "EXPIRED"),
        steward_connectors::SyncOptions::new(now()),
    )
    .await;
    assert!(
        matches!(
            report,
            Err(steward_connectors::ConnectorError::TokenRejected { .. })
        ),
        "{report:?}"
    );
    assert!(got.done.is_empty());
}

#[tokio::test]
async fn legacy_org_roles_fall_back() {
    let mut cfg = config(50, 1);
    cfg.legacy_org = true;
    let sim = start_with(cfg).await;
    let r = connector(&sim, "SUPER_ADMIN").test_connection().await;
    let roles = r
        .checks
        .iter()
        .find(|c| c.capability == "list_admin_roles")
        .unwrap();
    assert!(
        matches!(&roles.outcome, CheckOutcome::Fallback { reason } if reason.contains("/users/{id}/roles")),
        "{roles:?}"
    );
}

#[tokio::test]
async fn unreachable_host_is_fatal_naming_it() {
    // A port nothing listens on.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    let r = connector_for_token(&format!("http://{addr}"), "00tok")
        .test_connection()
        .await;
    let fatal = r.fatal.unwrap();
    assert!(fatal.contains("127.0.0.1"), "{fatal}");
}
