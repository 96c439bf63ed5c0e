//! Sync run lifecycle: staging, publishing, failing, abandoning, log carry-forward, digests.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::json;
use steward_model::{Record, Resource, truth_digest};
use steward_store::{ResourceOutcome, StoreError, testing::test_store};

use crate::support::{add, event, group, membership, setting, t};

const STALE: Duration = Duration::from_secs(60);

fn complete(count: u64) -> ResourceOutcome {
    ResourceOutcome::Complete { count }
}

#[tokio::test]
async fn publish_makes_the_run_current_and_drops_older_runs() {
    let (store, _dir) = test_store().await;
    let a = add(&store, "a").await;
    assert!(store.snapshot_digests(a.id).await.unwrap().is_empty());
    assert!(store.resource_status(a.id).await.unwrap().is_empty());

    let run1 = store.begin_run(a.id, t(10), STALE).await.unwrap();
    // The same record twice is one record: truth is a set.
    store
        .stage(run1, &[group("00g1"), group("00g2"), group("00g1")])
        .await
        .unwrap();
    store
        .stage(run1, &[membership("00g1", "00u1")])
        .await
        .unwrap();
    store
        .mark_resource(run1, Resource::Groups, &complete(3))
        .await
        .unwrap();
    store
        .mark_resource(run1, Resource::Memberships, &complete(1))
        .await
        .unwrap();
    store
        .mark_resource(run1, Resource::Settings, &complete(0))
        .await
        .unwrap();
    // Staged but unpublished rows are invisible.
    assert!(store.snapshot_digests(a.id).await.unwrap().is_empty());
    assert!(
        store
            .snapshot_records(a.id, Resource::Groups)
            .await
            .unwrap()
            .is_empty()
    );
    let running = store.integration(a.id).await.unwrap().unwrap();
    assert_eq!(running.last_sync_status.as_deref(), Some("running"));
    assert_eq!(running.current_run_id, None);

    store
        .publish_run(run1, &json!({"requests": 7}), t(12))
        .await
        .unwrap();
    let digests = store.snapshot_digests(a.id).await.unwrap();
    let expected: BTreeMap<_, _> = [
        (Resource::Groups, truth_digest(["00g1", "00g2"])),
        (Resource::Memberships, truth_digest(["00g1/00u1"])),
        (Resource::Settings, truth_digest(Vec::<String>::new())),
    ]
    .into();
    assert_eq!(digests, expected);
    let groups = store
        .snapshot_records(a.id, Resource::Groups)
        .await
        .unwrap();
    assert_eq!(groups, vec![group("00g1"), group("00g2")]);
    let a_now = store.integration(a.id).await.unwrap().unwrap();
    assert_eq!(a_now.current_run_id, Some(run1));
    assert_eq!(a_now.last_sync_status.as_deref(), Some("succeeded"));
    assert_eq!(a_now.last_sync_at, Some(t(12)));

    let runs = store.runs(a.id, 10).await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].status, "succeeded");
    assert_eq!(runs[0].duration_ms, Some(2000));
    assert_eq!(runs[0].report, json!({"requests": 7}));
    assert_eq!(runs[0].counts.get("groups"), Some(&3));
    assert_eq!(runs[0].counts.values().sum::<u64>(), 4);

    // A second run replaces the snapshot; the first run's rows are deleted.
    let run2 = store.begin_run(a.id, t(20), STALE).await.unwrap();
    store.stage(run2, &[group("00g3")]).await.unwrap();
    store
        .mark_resource(run2, Resource::Groups, &complete(1))
        .await
        .unwrap();
    store.publish_run(run2, &json!({}), t(21)).await.unwrap();
    assert_eq!(
        store.snapshot_digests(a.id).await.unwrap(),
        [(Resource::Groups, truth_digest(["00g3"]))].into()
    );
    assert_eq!(store.run_rows(run1).await.unwrap(), 0);
    let ids: Vec<i64> = store
        .runs(a.id, 10)
        .await
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids, [run2, run1]);
    assert_eq!(store.runs(a.id, 1).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_failed_run_keeps_the_previous_snapshot() {
    let (store, _dir) = test_store().await;
    let a = add(&store, "a").await;
    let run1 = store.begin_run(a.id, t(0), STALE).await.unwrap();
    store.stage(run1, &[group("00g1")]).await.unwrap();
    store
        .mark_resource(run1, Resource::Groups, &complete(1))
        .await
        .unwrap();
    store.publish_run(run1, &json!({}), t(1)).await.unwrap();
    let before = store.snapshot_digests(a.id).await.unwrap();
    let status_before = store.resource_status(a.id).await.unwrap();

    let run2 = store.begin_run(a.id, t(10), STALE).await.unwrap();
    store
        .stage(run2, &[group("00g7"), group("00g8")])
        .await
        .unwrap();
    store
        .mark_resource(run2, Resource::Groups, &complete(2))
        .await
        .unwrap();
    store
        .fail_run(
            run2,
            "HTTP 500 after 5 retries",
            &json!({"retries": 5}),
            t(15),
        )
        .await
        .unwrap();

    assert_eq!(store.snapshot_digests(a.id).await.unwrap(), before);
    assert_eq!(store.resource_status(a.id).await.unwrap(), status_before);
    assert_eq!(store.run_rows(run2).await.unwrap(), 0);
    let a_now = store.integration(a.id).await.unwrap().unwrap();
    assert_eq!(a_now.current_run_id, Some(run1));
    assert_eq!(a_now.last_sync_status.as_deref(), Some("failed"));
    let runs = store.runs(a.id, 10).await.unwrap();
    assert_eq!(runs[0].id, run2);
    assert_eq!(runs[0].status, "failed");
    assert_eq!(runs[0].error.as_deref(), Some("HTTP 500 after 5 retries"));
    assert_eq!(runs[0].duration_ms, Some(5000));
    // A finished run cannot be written to any more.
    let err = store.stage(run2, &[group("00g9")]).await.unwrap_err();
    assert!(matches!(err, StoreError::RunNotRunning { .. }), "{err}");
    assert!(matches!(
        store.publish_run(run2, &json!({}), t(16)).await,
        Err(StoreError::RunNotRunning { .. })
    ));
}

#[tokio::test]
async fn a_live_run_refuses_a_second_and_a_stale_one_is_abandoned() {
    let (store, _dir) = test_store().await;
    let a = add(&store, "a").await;
    let b = add(&store, "b").await;
    let run1 = store.begin_run(a.id, t(0), STALE).await.unwrap();
    store
        .stage(run1, &[group("00g1"), event("ev-1")])
        .await
        .unwrap();
    store.heartbeat(run1, t(30)).await.unwrap();

    // Another integration is independent.
    store.begin_run(b.id, t(31), STALE).await.unwrap();

    let err = store.begin_run(a.id, t(60), STALE).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::RunInProgress { run_id, .. } if *run_id == run1),
        "{err}"
    );
    assert!(err.to_string().contains("already syncing"), "{err}");

    // 61 s after the last heartbeat the process is presumed dead.
    let run2 = store.begin_run(a.id, t(91), STALE).await.unwrap();
    assert_ne!(run1, run2);
    assert_eq!(
        store.run_rows(run1).await.unwrap(),
        0,
        "the abandoned run's rows were not purged"
    );
    let runs = store.runs(a.id, 10).await.unwrap();
    let old = runs.iter().find(|r| r.id == run1).unwrap();
    assert_eq!(old.status, "abandoned");
    assert!(
        old.error
            .as_deref()
            .unwrap_or_default()
            .contains("heartbeat")
    );
    assert!(matches!(
        store.heartbeat(run1, t(92)).await,
        Err(StoreError::RunNotRunning { .. })
    ));
    assert!(matches!(
        store.stage(run1, &[group("x")]).await,
        Err(StoreError::RunNotRunning { .. })
    ));

    // The new run works normally, and the abandoned one left nothing behind.
    store.stage(run2, &[group("00g2")]).await.unwrap();
    store
        .mark_resource(run2, Resource::Groups, &complete(1))
        .await
        .unwrap();
    store.publish_run(run2, &json!({}), t(95)).await.unwrap();
    assert_eq!(
        store.snapshot_digests(a.id).await.unwrap(),
        [(Resource::Groups, truth_digest(["00g2"]))].into()
    );
    assert!(matches!(
        store.begin_run(999, t(0), STALE).await,
        Err(StoreError::NotFound { .. })
    ));
}

#[tokio::test]
async fn unreadable_resources_are_reported_with_their_reason() {
    let (store, _dir) = test_store().await;
    let a = add(&store, "a").await;
    let run = store.begin_run(a.id, t(0), STALE).await.unwrap();
    store
        .stage(run, &[group("00g1"), setting("rate_limit_warning")])
        .await
        .unwrap();
    store
        .mark_resource(run, Resource::Groups, &complete(1))
        .await
        .unwrap();
    store
        .mark_resource(run, Resource::Settings, &complete(1))
        .await
        .unwrap();
    let reason = "403 E0000006: grant the Read-only Administrator role";
    store
        .mark_resource(
            run,
            Resource::RoleAssignments,
            &ResourceOutcome::Unreadable {
                reason: reason.into(),
            },
        )
        .await
        .unwrap();
    store.publish_run(run, &json!({}), t(1)).await.unwrap();
    let status = store.resource_status(a.id).await.unwrap();
    let by: BTreeMap<_, _> = status.iter().map(|s| (s.resource, s)).collect();
    assert_eq!(status.len(), 3);
    assert!(by[&Resource::Groups].readable);
    assert_eq!(by[&Resource::Groups].count, 1);
    let roles = by[&Resource::RoleAssignments];
    assert!(!roles.readable);
    assert_eq!(roles.reason.as_deref(), Some(reason));
    let digests = store.snapshot_digests(a.id).await.unwrap();
    assert!(!digests.contains_key(&Resource::RoleAssignments));
    assert_eq!(
        digests[&Resource::Settings],
        truth_digest(["rate_limit_warning"])
    );
    assert_eq!(store.runs(a.id, 1).await.unwrap()[0].counts.len(), 2);
}

async fn log_run(
    store: &steward_store::Store,
    id: i64,
    at: i64,
    events: &[&str],
    cursor: Option<&str>,
) -> i64 {
    let run = store.begin_run(id, t(at), STALE).await.unwrap();
    let records: Vec<Record> = events.iter().map(|e| event(e)).collect();
    store.stage(run, &records).await.unwrap();
    if let Some(c) = cursor {
        store
            .stage_cursor(run, Resource::LogEvents, c)
            .await
            .unwrap();
    }
    store
        .mark_resource(run, Resource::LogEvents, &complete(events.len() as u64))
        .await
        .unwrap();
    run
}

#[tokio::test]
async fn log_events_are_carried_forward_and_deduplicated() {
    let (store, _dir) = test_store().await;
    let a = add(&store, "a").await;
    assert!(store.cursors(a.id).await.unwrap().is_empty());

    // First run: full window, saves a cursor.
    let run1 = log_run(&store, a.id, 0, &["e1", "e2", "e2"], Some("c2")).await;
    store.publish_run(run1, &json!({}), t(1)).await.unwrap();
    assert_eq!(
        store.cursors(a.id).await.unwrap(),
        [(Resource::LogEvents, "c2".to_string())].into()
    );

    // Second run resumes from the cursor: one overlap (e2) and one new event.
    let run2 = log_run(&store, a.id, 10, &["e2", "e3"], Some("c3")).await;
    // Until published, the new event is invisible.
    assert_eq!(
        store.snapshot_digests(a.id).await.unwrap()[&Resource::LogEvents],
        truth_digest(["e1", "e2"])
    );
    store.publish_run(run2, &json!({}), t(11)).await.unwrap();
    assert_eq!(
        store.snapshot_digests(a.id).await.unwrap()[&Resource::LogEvents],
        truth_digest(["e1", "e2", "e3"])
    );
    let status = store.resource_status(a.id).await.unwrap();
    assert_eq!(status[0].count, 3);
    assert_eq!(
        store
            .snapshot_records(a.id, Resource::LogEvents)
            .await
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        store.cursors(a.id).await.unwrap()[&Resource::LogEvents],
        "c3"
    );

    // A failed run's events vanish; the carried ones stay.
    let run3 = log_run(&store, a.id, 20, &["e4"], Some("c4")).await;
    store
        .fail_run(run3, "boom", &json!({}), t(21))
        .await
        .unwrap();
    assert_eq!(
        store.snapshot_digests(a.id).await.unwrap()[&Resource::LogEvents],
        truth_digest(["e1", "e2", "e3"])
    );
    assert_eq!(
        store.cursors(a.id).await.unwrap()[&Resource::LogEvents],
        "c3"
    );

    // Nothing new and no new cursor: events and the old cursor are carried.
    let run4 = log_run(&store, a.id, 30, &[], None).await;
    store.publish_run(run4, &json!({}), t(31)).await.unwrap();
    assert_eq!(
        store.snapshot_digests(a.id).await.unwrap()[&Resource::LogEvents],
        truth_digest(["e1", "e2", "e3"])
    );
    assert_eq!(
        store.cursors(a.id).await.unwrap()[&Resource::LogEvents],
        "c3"
    );
}

#[tokio::test]
async fn a_full_log_read_replaces_older_events() {
    let (store, _dir) = test_store().await;
    let a = add(&store, "a").await;
    // No cursor saved: the next run reads the whole window again, which is the truth.
    let run1 = log_run(&store, a.id, 0, &["e1", "e2"], None).await;
    store.publish_run(run1, &json!({}), t(1)).await.unwrap();
    let run2 = log_run(&store, a.id, 10, &["e2", "e3"], None).await;
    store.publish_run(run2, &json!({}), t(11)).await.unwrap();
    assert_eq!(
        store.snapshot_digests(a.id).await.unwrap()[&Resource::LogEvents],
        truth_digest(["e2", "e3"])
    );
}

#[tokio::test]
async fn bulk_staging_of_200k_records() {
    let (store, _dir) = test_store().await;
    let a = add(&store, "a").await;
    let run = store.begin_run(a.id, t(0), STALE).await.unwrap();
    let mut keys = Vec::with_capacity(200_000);
    for batch in 0..100 {
        let records: Vec<Record> = (0..2000)
            .map(|i| membership(&format!("00g{}", i % 50), &format!("00u{batch}_{i}")))
            .collect();
        keys.extend(records.iter().map(Record::truth_key));
        store.stage(run, &records).await.unwrap();
    }
    store
        .mark_resource(run, Resource::Memberships, &complete(200_000))
        .await
        .unwrap();
    store.publish_run(run, &json!({}), t(1)).await.unwrap();
    let digests = store.snapshot_digests(a.id).await.unwrap();
    assert_eq!(digests[&Resource::Memberships], truth_digest(keys));
    assert_eq!(digests[&Resource::Memberships].count, 200_000);
    assert_eq!(store.resource_status(a.id).await.unwrap()[0].count, 200_000);
}

#[tokio::test]
async fn concurrent_begins_let_exactly_one_run_start() {
    let (store, _dir) = test_store().await;
    let a = add(&store, "a").await;
    let (s1, s2) = (store.clone(), store.clone());
    let (r1, r2) = tokio::join!(
        tokio::spawn(async move { s1.begin_run(a.id, t(0), STALE).await }),
        tokio::spawn(async move { s2.begin_run(a.id, t(0), STALE).await }),
    );
    let results = [r1.unwrap(), r2.unwrap()];
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    assert!(
        results
            .iter()
            .any(|r| matches!(r, Err(StoreError::RunInProgress { .. }))),
        "{results:?}"
    );
}

#[tokio::test]
async fn large_batches_with_duplicate_log_events_are_chunked() {
    let (store, _dir) = test_store().await;
    let a = add(&store, "a").await;
    let run = store.begin_run(a.id, t(0), STALE).await.unwrap();
    // More rows than one INSERT holds, and the same event repeated across chunk borders.
    let mut records: Vec<Record> = (0..2500)
        .map(|i| event(&format!("ev-{}", i % 1700)))
        .collect();
    records.extend((0..2500).map(|i| group(&format!("00g{}", i % 1800))));
    store.stage(run, &records).await.unwrap();
    store.stage(run, &records[..10]).await.unwrap();
    store
        .mark_resource(run, Resource::LogEvents, &complete(2500))
        .await
        .unwrap();
    store
        .mark_resource(run, Resource::Groups, &complete(2500))
        .await
        .unwrap();
    store.publish_run(run, &json!({}), t(1)).await.unwrap();
    let digests = store.snapshot_digests(a.id).await.unwrap();
    assert_eq!(
        digests[&Resource::LogEvents],
        truth_digest((0..1700).map(|i| format!("ev-{i}")))
    );
    assert_eq!(
        digests[&Resource::Groups],
        truth_digest((0..1800).map(|i| format!("00g{i}")))
    );
}

/// Records of every shape the two-column encoding must survive: non-ASCII text (SQL
/// `substr`/`length` count characters), a source object that itself holds `,"raw":` and a
/// `raw` key, a null source object, a record without one (a setting whose value has a `raw`
/// key), and a System Log event.
fn odd_records() -> Vec<Record> {
    let mut zoe = group("00gÜ");
    if let Record::Group(g) = &mut zoe {
        g.name = "Zoë’s ✓ team 👩‍💻".into();
        g.description = Some(r#"quote " and ,"raw": in a field"#.into());
        g.raw = steward_model::raw_json!({"id": "00gÜ", "raw": {"raw": ",\"raw\":"}, "ü": "✓"});
    }
    let mut bare = group("00g-null");
    if let Record::Group(g) = &mut bare {
        g.raw = steward_model::Raw::null();
    }
    let mut ev = event("ev-ü");
    if let Record::LogEvent(e) = &mut ev {
        e.raw = steward_model::raw_json!({"uuid": "ev-ü", "debugContext": {"raw": "✓"}});
    }
    let setting = Record::Setting(steward_model::Setting {
        key: "odd".into(),
        value: json!({"y": "✓", "raw": {"x": 1}}),
    });
    vec![zoe, bare, group("00g-plain"), ev, setting]
}

async fn stage_and_publish(store: &steward_store::Store, records: &[Record]) -> i64 {
    let a = add(store, "a").await;
    let run = store.begin_run(a.id, t(0), STALE).await.unwrap();
    store.stage(run, records).await.unwrap();
    for (resource, n) in [
        (Resource::Groups, 3),
        (Resource::LogEvents, 1),
        (Resource::Settings, 1),
    ] {
        store
            .mark_resource(run, resource, &complete(n))
            .await
            .unwrap();
    }
    store.publish_run(run, &json!({}), t(1)).await.unwrap();
    a.id
}

/// `split`: whether rows are in the two-column form; a row stored whole also carries `raw`
/// in its head, which projections ignore.
async fn assert_reads_back(store: &steward_store::Store, id: i64, records: &[Record], split: bool) {
    for resource in [Resource::Groups, Resource::LogEvents, Resource::Settings] {
        let mut want: Vec<Record> = records
            .iter()
            .filter(|r| r.resource() == resource)
            .cloned()
            .collect();
        want.sort_by_key(Record::truth_key);
        let got = store.snapshot_records(id, resource).await.unwrap();
        assert_eq!(got, want, "{resource}");
        // Record by record too (findings read their evidence this way), in key order
        // whatever order the keys are asked in.
        let mut keys: Vec<String> = want.iter().map(Record::truth_key).collect();
        keys.reverse();
        let by_key = store
            .snapshot_records_by_keys(id, resource, &keys)
            .await
            .unwrap();
        assert_eq!(by_key, want, "{resource} by key");
        // Picked by their keys, read whole (evidence reads the few admins this way).
        let picked = store
            .snapshot_records_where_key(id, resource, |key| !key.contains("plain"))
            .await
            .unwrap();
        let want_picked: Vec<Record> = want
            .iter()
            .filter(|r| !r.truth_key().contains("plain"))
            .cloned()
            .collect();
        assert!(want_picked.len() < want.len() || resource != Resource::Groups);
        assert_eq!(picked, want_picked, "{resource} picked by key");
        // A head is the record's own fields: every one but `raw`.
        let mut heads: Vec<serde_json::Value> =
            store.snapshot_projection(id, resource).await.unwrap();
        if !split && resource != Resource::Settings {
            for h in &mut heads {
                assert!(h.as_object_mut().unwrap().remove("raw").is_some());
            }
        }
        let mut want_heads: Vec<serde_json::Value> = want
            .iter()
            .map(|r| {
                let mut v = serde_json::to_value(r).unwrap();
                v.as_object_mut().unwrap().remove("raw");
                v
            })
            .collect();
        if resource == Resource::Settings {
            want_heads = want
                .iter()
                .map(|r| serde_json::to_value(r).unwrap())
                .collect();
        }
        assert_eq!(heads, want_heads, "{resource} heads");
    }
}

#[tokio::test]
async fn source_objects_are_stored_apart_and_records_read_back_whole() {
    let (store, _dir) = test_store().await;
    let records = odd_records();
    let id = stage_and_publish(&store, &records).await;
    assert_reads_back(&store, id, &records, true).await;
}

/// Migration 0013 splits records stored in one column: rows are put back to that form (the
/// whole JSON in `data`, `raw` NULL), read back as they are, then split by the migration's
/// own statements and read back again.
#[tokio::test]
async fn migration_0013_splits_records_stored_in_one_column() {
    let (store, url, _dir) = steward_store::testing::test_store_with_url().await;
    let records = odd_records();
    let id = stage_and_publish(&store, &records).await;
    let backend = if url.starts_with("sqlite") {
        "sqlite"
    } else {
        "postgres"
    };
    let migration = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(backend)
            .join("0013_record_raw.sql"),
    )
    .unwrap();
    let splits: Vec<String> = migration
        .lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n")
        .split(';')
        .map(str::trim)
        .filter(|s| s.starts_with("UPDATE records") || s.starts_with("UPDATE log_events"))
        .map(str::to_string)
        .collect();
    assert_eq!(splits.len(), 2, "{splits:?}");
    const JOIN: &str = "SET data = CASE WHEN raw IS NULL THEN data ELSE substr(data, 1, length(data) - 1) || ',\"raw\":' || raw || '}' END, raw = NULL";
    let mut statements = vec![
        format!("UPDATE records {JOIN}"),
        format!("UPDATE log_events {JOIN}"),
    ];
    let count_split = "SELECT (SELECT COUNT(*) FROM records WHERE raw IS NOT NULL) + (SELECT COUNT(*) FROM log_events WHERE raw IS NOT NULL)";
    use sqlx::Connection as _;
    macro_rules! run {
        ($conn:expr) => {{
            let mut conn = $conn;
            for s in statements.drain(..) {
                sqlx::query(sqlx::AssertSqlSafe(s))
                    .execute(&mut conn)
                    .await
                    .unwrap();
            }
            sqlx::query_scalar::<_, i64>(count_split)
                .fetch_one(&mut conn)
                .await
                .unwrap()
        }};
    }
    let joined = if backend == "sqlite" {
        run!(sqlx::SqliteConnection::connect(&url).await.unwrap())
    } else {
        run!(sqlx::PgConnection::connect(&url).await.unwrap())
    };
    assert_eq!(joined, 0, "every row is in the one-column form");
    assert_reads_back(&store, id, &records, false).await;

    statements = splits;
    let split = if backend == "sqlite" {
        run!(sqlx::SqliteConnection::connect(&url).await.unwrap())
    } else {
        run!(sqlx::PgConnection::connect(&url).await.unwrap())
    };
    // Every record but the setting has a source object, the null one included.
    assert_eq!(split, 4);
    assert_reads_back(&store, id, &records, true).await;
}
