//! Staging a run through `Staging`: what it holds until a commit, and the commits it
//! makes by itself.

use std::time::Duration;

use serde_json::json;
use steward_store::testing::test_store;

use crate::support::{add, group, t};

const STALE: Duration = Duration::from_secs(60);

#[tokio::test]
async fn what_staging_wrote_is_kept_only_once_committed() {
    let (store, _dir) = test_store().await;
    let a = add(&store, "a").await;
    let run = store.begin_run(a.id, t(10), STALE).await.unwrap();
    let batch = store
        .encode_batch(run, vec![group("00g1"), group("00g2")])
        .await
        .unwrap();

    // Dropped before a commit: rolled back.
    let mut staging = store.begin_staging(run);
    staging.write(&batch).await.unwrap();
    drop(staging);
    assert_eq!(store.run_rows(run).await.unwrap(), 0);

    let mut staging = store.begin_staging(run);
    staging.write(&batch).await.unwrap();
    staging.commit().await.unwrap();
    assert_eq!(staging.commits(), 1);
    // Nothing written since: no second commit.
    staging.commit().await.unwrap();
    assert_eq!(staging.commits(), 1);
    drop(staging);
    assert_eq!(store.run_rows(run).await.unwrap(), 2);
}

#[tokio::test]
async fn a_long_staging_transaction_commits_by_itself() {
    let (store, _dir) = test_store().await;
    let a = add(&store, "a").await;
    let run = store.begin_run(a.id, t(10), STALE).await.unwrap();
    let mut staging = store.begin_staging(run);
    // 30 batches of 1,000: more than one transaction's worth of rows (24,000), never committed
    // by the caller. The write lock is held for a bounded number of rows, not for the run.
    for b in 0..30 {
        let records = (0..1000)
            .map(|i| group(&format!("00g{b:02}{i:04}")))
            .collect();
        let batch = store.encode_batch(run, records).await.unwrap();
        staging.write(&batch).await.unwrap();
    }
    assert_eq!(staging.commits(), 1);
    drop(staging);
    // The commit kept 24,000 rows; the 6,000 after it were rolled back with the drop.
    assert_eq!(store.run_rows(run).await.unwrap(), 24_000);
}

#[tokio::test]
async fn staging_is_refused_once_the_run_ended() {
    let (store, _dir) = test_store().await;
    let a = add(&store, "a").await;
    let run = store.begin_run(a.id, t(10), STALE).await.unwrap();
    let batch = store.encode_batch(run, vec![group("00g1")]).await.unwrap();
    store
        .fail_run(run, "test", &json!({}), t(11))
        .await
        .unwrap();
    let mut staging = store.begin_staging(run);
    let err = staging.write(&batch).await.unwrap_err();
    assert!(err.to_string().contains("failed"), "{err}");
    assert_eq!(store.run_rows(run).await.unwrap(), 0);
}
