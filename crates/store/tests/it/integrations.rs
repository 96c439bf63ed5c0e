//! Integrations and their sealed credentials.

use secrecy::{ExposeSecret as _, SecretString};
use serde_json::json;
use steward_model::IntegrationKind;
use steward_store::{NewIntegration, StoreError, testing::test_store};

use crate::support::{add, group, t};

#[tokio::test]
async fn create_find_list_duplicate_and_remove() {
    let (store, _dir) = test_store().await;
    let a = add(&store, "okta-prod").await;
    assert_eq!(a.name, "okta-prod");
    assert_eq!(a.kind, IntegrationKind::Okta);
    assert_eq!(a.settings, json!({"custom_domain": false}));
    assert_eq!(a.created_at, t(0));
    assert_eq!(a.current_run_id, None);
    assert_eq!(a.last_sync_status, None);
    let b = add(&store, "okta-dev").await;

    let dup = NewIntegration {
        name: "okta-prod".into(),
        kind: IntegrationKind::Okta,
        base_url: "https://other.okta.com".into(),
        settings: json!({}),
    };
    let err = store
        .create_integration(&dup, &SecretString::from("x"), t(1))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::NameTaken { name } if name == "okta-prod"),
        "{err}"
    );
    assert!(err.to_string().contains("okta-prod"));

    assert_eq!(
        store.integration_by_name("okta-prod").await.unwrap(),
        Some(a.clone())
    );
    assert_eq!(store.integration(b.id).await.unwrap(), Some(b.clone()));
    let names: Vec<_> = store
        .integrations()
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.name)
        .collect();
    assert_eq!(names, ["okta-dev", "okta-prod"]);

    // Removing takes the snapshot and the credential with it.
    let run = store
        .begin_run(a.id, t(2), std::time::Duration::from_secs(60))
        .await
        .unwrap();
    store.stage(run, &[group("00g1")]).await.unwrap();
    store.publish_run(run, &json!({}), t(3)).await.unwrap();
    store.remove_integration(a.id).await.unwrap();
    assert_eq!(store.integration_by_name("okta-prod").await.unwrap(), None);
    assert_eq!(store.run_rows(run).await.unwrap(), 0);
    assert!(matches!(
        store.credential(a.id).await,
        Err(StoreError::Credential { .. })
    ));
    assert!(matches!(
        store.remove_integration(a.id).await,
        Err(StoreError::NotFound { .. })
    ));
    // The name is free again.
    add(&store, "okta-prod").await;
    assert_eq!(
        store.credential(b.id).await.unwrap().expose_secret(),
        "token-of-okta-dev"
    );
}

#[tokio::test]
async fn credentials_round_trip_and_are_replaced() {
    let (store, _dir) = test_store().await;
    let a = add(&store, "a").await;
    assert_eq!(
        store.credential(a.id).await.unwrap().expose_secret(),
        "token-of-a"
    );
    store
        .replace_credential(a.id, &SecretString::from("new-token"), t(5))
        .await
        .unwrap();
    assert_eq!(
        store.credential(a.id).await.unwrap().expose_secret(),
        "new-token"
    );
    assert!(matches!(
        store
            .replace_credential(999, &SecretString::from("x"), t(5))
            .await,
        Err(StoreError::NotFound { .. })
    ));
}

#[tokio::test]
async fn connection_test_reports_are_kept() {
    let (store, _dir) = test_store().await;
    let a = add(&store, "a").await;
    let report = steward_model::ConnectionReport {
        principal: Some("admin@example.com".into()),
        ..Default::default()
    };
    store
        .record_connection_test(a.id, &report, t(9))
        .await
        .unwrap();
    let a = store.integration(a.id).await.unwrap().unwrap();
    assert_eq!(a.last_test_at, Some(t(9)));
    let back: steward_model::ConnectionReport =
        serde_json::from_value(a.last_test.unwrap()).unwrap();
    assert_eq!(back, report);
}

/// The token never reaches the database file in clear, and the wrong master key cannot open it.
#[tokio::test]
async fn tokens_are_sealed_at_rest() {
    if std::env::var("TEST_DATABASE_URL").is_ok_and(|v| !v.is_empty()) {
        return; // The file check is SQLite's; sealing itself is backend-independent.
    }
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("s.db").display());
    let key = steward_store::MasterKey::from_bytes([1; 32]);
    let store = steward_store::Store::open(&url, key).await.unwrap();
    let token = "00SECRET-okta-token-Zq9xK2v";
    let new = NewIntegration {
        name: "a".into(),
        kind: IntegrationKind::Okta,
        base_url: "https://example.okta.com".into(),
        settings: json!({}),
    };
    let a = store
        .create_integration(&new, &SecretString::from(token), t(0))
        .await
        .unwrap();
    assert!(!format!("{store:?} {a:?}").contains(token));
    store.close().await;
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    assert!(bytes.len() > 1000);
    assert!(
        !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
        "token found in clear"
    );

    let wrong = steward_store::Store::open(&url, steward_store::MasterKey::from_bytes([2; 32]))
        .await
        .unwrap();
    let err = wrong.credential(a.id).await.unwrap_err();
    assert!(matches!(err, StoreError::Credential { .. }), "{err}");
    assert!(err.to_string().contains("master key"), "{err}");
    let right = steward_store::Store::open(&url, steward_store::MasterKey::from_bytes([1; 32]))
        .await
        .unwrap();
    assert_eq!(right.credential(a.id).await.unwrap().expose_secret(), token);
}
