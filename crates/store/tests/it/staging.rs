//! Staging a run through `Staging`: what it holds until a commit, the commits it makes by
//! itself, and a person erased while a run stages.

use std::time::Duration;

use serde_json::json;
use steward_model::{Group, LogEvent, Record, Resource};
use steward_store::testing::test_store;
use steward_store::{
    EmailHash, Erasure, NewPrivacyRequest, RequestKind, ResourceOutcome, StagedBatch, Store,
};

use crate::support::{add, group, membership, t};

const STALE: Duration = Duration::from_secs(60);

/// Serialised as a sync does: erased people read once for the run.
async fn encode(store: &Store, run: i64, records: Vec<Record>) -> StagedBatch {
    let erased = store.erased_people(run).await.unwrap();
    StagedBatch::new(&records, &erased).unwrap()
}

fn complete(count: u64) -> ResourceOutcome {
    ResourceOutcome::Complete { count }
}

#[tokio::test]
async fn what_staging_wrote_is_kept_only_once_committed() {
    let (store, _dir) = test_store().await;
    let a = add(&store, "a").await;
    let run = store.begin_run(a.id, t(10), STALE).await.unwrap();
    let batch = encode(&store, run, vec![group("00g1"), group("00g2")]).await;

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
    // Rows alone decide here, however slow the machine.
    let mut staging = store.begin_staging(run).max_open(Duration::from_secs(3600));
    // 30 batches of 1,000: more than one transaction's worth of rows (24,000), never committed
    // by the caller. The write lock is held for a bounded number of rows, not for the run.
    for b in 0..30 {
        let records = (0..1000)
            .map(|i| group(&format!("00g{b:02}{i:04}")))
            .collect();
        let batch = encode(&store, run, records).await;
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
    let batch = encode(&store, run, vec![group("00g1")]).await;
    store
        .fail_run(run, "test", &json!({}), t(11))
        .await
        .unwrap();
    let mut staging = store.begin_staging(run);
    let err = staging.write(&batch).await.unwrap_err();
    assert!(err.to_string().contains("failed"), "{err}");
    assert_eq!(store.run_rows(run).await.unwrap(), 0);
}

async fn erase(store: &Store, integration_id: i64, account_id: &str, email: &str) {
    let request_id = store
        .create_privacy_request(&NewPrivacyRequest {
            kind: RequestKind::Deletion,
            requested_by: "test".into(),
            requested_at: t(11),
            dry_run: false,
            subject: EmailHash::new(email),
        })
        .await
        .unwrap();
    store
        .erase_person(&Erasure {
            integration_id,
            account_id,
            identifiers: &[email.to_string()],
            request_id,
            email,
            at: t(11),
        })
        .await
        .unwrap();
}

/// A batch is encoded (and erased people left out) before it is written. A person erased in
/// between is in that batch: the run must still not publish them.
#[tokio::test]
async fn a_person_erased_while_the_run_stages_is_not_published_with_it() {
    let (store, _dir) = test_store().await;
    let a = add(&store, "a").await;
    let run = store.begin_run(a.id, t(10), STALE).await.unwrap();
    let owned = Record::Group(Group {
        id: "00g2".into(),
        name: "Owned".into(),
        description: Some("Owner: pat@example.com".into()),
        group_type: "OKTA_GROUP".into(),
        raw: steward_model::raw_json!({"id": "00g2", "owner": "pat@example.com"}),
    });
    let login = Record::LogEvent(LogEvent {
        id: "ev-pat".into(),
        published: t(0),
        event_type: "user.session.start".into(),
        actor_id: Some("00u9".into()),
        actor_alternate_id: Some("pat@example.com".into()),
        target_ids: vec![],
        outcome: Some("SUCCESS".into()),
        raw: steward_model::raw_json!({"uuid": "ev-pat"}),
    });
    let encoded_before = encode(
        &store,
        run,
        vec![
            group("00g1"),
            owned,
            membership("00g1", "00u1"),
            membership("00g1", "00u9"),
            login,
        ],
    )
    .await;

    erase(&store, a.id, "00u9", "pat@example.com").await;

    let mut staging = store.begin_staging(run);
    staging.write(&encoded_before).await.unwrap();
    staging.commit().await.unwrap();
    drop(staging);
    for (resource, n) in [
        (Resource::Groups, 2),
        (Resource::Memberships, 2),
        (Resource::LogEvents, 1),
    ] {
        store
            .mark_resource(run, resource, &complete(n))
            .await
            .unwrap();
    }
    store.publish_run(run, &json!({}), t(12)).await.unwrap();

    let memberships = store
        .snapshot_records(a.id, Resource::Memberships)
        .await
        .unwrap();
    assert_eq!(memberships, vec![membership("00g1", "00u1")]);
    let groups = serde_json::to_string(
        &store
            .snapshot_records(a.id, Resource::Groups)
            .await
            .unwrap(),
    )
    .unwrap();
    assert!(!groups.contains("pat@example.com"), "{groups}");
    assert!(groups.contains("Owner: [erased]"), "{groups}");
    assert!(
        store
            .snapshot_records(a.id, Resource::LogEvents)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_staging_transaction_open_too_long_commits_at_its_next_write() {
    let (store, _dir) = test_store().await;
    let a = add(&store, "a").await;
    let run = store.begin_run(a.id, t(10), STALE).await.unwrap();
    let mut staging = store
        .begin_staging(run)
        .max_open(Duration::from_millis(200));
    // A paced sync: few rows, slowly. The write lock must not be held for the whole run.
    staging
        .write(&encode(&store, run, vec![group("00g1")]).await)
        .await
        .unwrap();
    assert_eq!(staging.commits(), 0);
    tokio::time::sleep(Duration::from_millis(300)).await;
    staging
        .write(&encode(&store, run, vec![group("00g2")]).await)
        .await
        .unwrap();
    assert_eq!(staging.commits(), 1);
    drop(staging);
    assert_eq!(store.run_rows(run).await.unwrap(), 2);
}
