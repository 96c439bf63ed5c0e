//! The shapes the orchestrator and the CLI use: futures are `Send` (the heartbeat runs in a
//! spawned task), errors and types line up with their call sites.

use std::collections::BTreeMap;

use serde_json::json;
use steward_model::{ConnectionReport, Resource};
use steward_store::{ResourceOutcome, Store, testing::test_store};

use crate::support::{add, group, t};

fn assert_send<T: Send>(_: &T) {}

#[tokio::test]
async fn futures_are_send_and_the_store_is_shared_across_tasks() {
    let (store, _dir) = test_store().await;
    let a = add(&store, "a").await;
    let run = store
        .begin_run(a.id, t(0), std::time::Duration::from_secs(60))
        .await
        .unwrap();
    let clone: Store = store.clone();
    let beat = tokio::spawn(async move { clone.heartbeat(run, t(1)).await });
    beat.await.unwrap().unwrap();
    let clone = store.clone();
    let staged = tokio::spawn(async move {
        clone.stage(run, &[group("00g1")]).await?;
        clone
            .mark_resource(
                run,
                Resource::Groups,
                &ResourceOutcome::Complete { count: 1 },
            )
            .await?;
        clone.stage_cursor(run, Resource::Groups, "x").await?;
        clone.publish_run(run, &serde_json::Value::Null, t(2)).await
    });
    staged.await.unwrap().unwrap();
    let f = store.snapshot_digests(a.id);
    assert_send(&f);
    let digests: BTreeMap<Resource, steward_model::Digest> = f.await.unwrap();
    assert_eq!(digests.len(), 1);
    store
        .record_connection_test(a.id, &ConnectionReport::default(), t(3))
        .await
        .unwrap();
    let runs = store.runs(a.id, 10).await.unwrap();
    assert_eq!(runs[0].report.get("requests"), None);
    assert!(runs[0].counts.values().sum::<u64>() == 1);
    let j = serde_json::to_value(&runs[0]).unwrap();
    assert_eq!(j["status"], json!("succeeded"));
    let i = serde_json::to_value(store.integration(a.id).await.unwrap().unwrap()).unwrap();
    assert_eq!(i["kind"], json!("okta"));
    assert!(!i.to_string().contains("token"));
    assert!(store.backend() == "sqlite" || store.backend() == "postgres");
}

#[tokio::test]
async fn bad_urls_are_refused_with_the_accepted_forms() {
    let err = Store::open("mysql://x", steward_store::MasterKey::from_bytes([0; 32]))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("sqlite://"), "{err}");
}

/// Both backends must run the same migrations, so the file names must match one to one.
#[test]
fn migrations_have_the_same_names_on_both_backends() {
    let names = |backend: &str| {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(backend);
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    assert!(!names("sqlite").is_empty());
    assert_eq!(names("sqlite"), names("postgres"));
}
