//! Sync runs: begin (refusing a live concurrent run, abandoning a dead one), heartbeat,
//! stage records, mark resources, and publish or fail atomically.

use std::collections::BTreeMap;
use std::ops::Range;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::QueryBuilder;
use steward_model::{Record, Resource};

use crate::error::is_unique_violation;
use crate::requests::ErasedPeople;
use crate::snapshot::Encoded;
use crate::{Store, StoreError, in_tx, to_i64, to_u64, with_pool};

/// How one resource ended in a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ResourceOutcome {
    Complete { count: u64 },
    Unreadable { reason: String },
}

/// One sync run as recorded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SyncRun {
    pub id: i64,
    pub integration_id: i64,
    /// `running`, `succeeded`, `failed` or `abandoned` (its process died).
    pub status: String,
    pub started_at: DateTime<Utc>,
    pub heartbeat_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub duration_ms: Option<u64>,
    pub error: Option<String>,
    /// Records per completed resource, as the connector counted them.
    pub counts: BTreeMap<String, u64>,
    /// The connector's sync report (requests, retries, ...); `null` while running.
    pub report: Value,
}

const RUNNING: &str = "running";

/// Integration and status of a run, checked before every write to it.
const RUN_STATE: &str = "SELECT integration_id, status, started_at FROM sync_runs WHERE id = $1";
type RunState = (i64, String, DateTime<Utc>);

/// The run's integration id and start, when the run exists and is still running.
fn running(run_id: i64, state: Option<RunState>) -> Result<(i64, DateTime<Utc>), StoreError> {
    match state {
        None => Err(StoreError::not_found(format!("sync run {run_id}"))),
        Some((integration_id, status, started_at)) if status == RUNNING => {
            Ok((integration_id, started_at))
        }
        Some((_, status, _)) => Err(StoreError::RunNotRunning { run_id, status }),
    }
}

/// Rows per multi-row INSERT (5 or 6 binds each, so at most 12,000 binds): under SQLite's
/// 32766 and PostgreSQL's 65535 bind parameters. At least the orchestrator's batch (1,000
/// records), so an encoded batch is one statement per table.
const ROWS_PER_INSERT: usize = 2000;

/// Records serialised for staging (see [`StagedBatch::new`]); opaque.
#[derive(Debug, Default)]
pub struct StagedBatch {
    /// Every row's stored data, back to back: one allocation per batch instead of one
    /// growing `String` per record (reallocation was ~3% of a large sync).
    data: String,
    /// `(resource, truth key, its columns in `data`)` of snapshot records.
    rows: Vec<(&'static str, String, Encoded)>,
    /// `(truth key, its columns in `data`)` of System Log events, unique by key.
    log_rows: Vec<(String, Encoded)>,
}

impl StagedBatch {
    /// Serialise records for [`Staging::write`]: leaves out what they say about `erased`
    /// people (see `requests.rs`) and dedups System Log events by key. CPU only: it touches
    /// no database, so it runs on any thread while another batch is being written (inside
    /// an open staging transaction too).
    pub fn new(records: &[Record], erased: &ErasedPeople) -> Result<StagedBatch, StoreError> {
        // Erased people must not come back with the next sync.
        Self::encode(&erased.apply(records)?)
    }

    fn encode(records: &[Record]) -> Result<StagedBatch, StoreError> {
        let mut rows = Vec::with_capacity(records.len());
        let mut log_rows = Vec::new();
        let mut log_keys = std::collections::HashSet::new();
        let mut data = Vec::with_capacity(records.len() * 1024);
        for record in records {
            let encoded = crate::snapshot::encode_record_into(record, &mut data)?;
            match record.resource() {
                // PostgreSQL refuses an upsert that touches one row twice, so dedup here.
                Resource::LogEvents => {
                    let key = record.truth_key();
                    if log_keys.insert(key.clone()) {
                        log_rows.push((key, encoded));
                    }
                }
                resource => rows.push((resource.as_str(), record.truth_key(), encoded)),
            }
        }
        // JSON text is UTF-8, and every range ends at an ASCII character of it.
        let data =
            String::from_utf8(data).map_err(|e| StoreError::corrupt("a staging batch", e))?;
        Ok(StagedBatch {
            data,
            rows,
            log_rows,
        })
    }

    fn text(&self, range: &Range<usize>) -> &str {
        self.data.get(range.clone()).unwrap_or_default()
    }

    fn raw(&self, e: &Encoded) -> Option<&str> {
        e.raw.as_ref().map(|r| self.text(r))
    }

    /// Rows it holds.
    pub fn len(&self) -> usize {
        self.rows.len() + self.log_rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Store {
    /// Start a sync run of the integration and return its id.
    ///
    /// Refused with `RunInProgress` while another run's heartbeat is newer than
    /// `now - stale_after`. A running run with an older heartbeat belonged to a process that
    /// died: it is marked `abandoned` and its staged rows are purged.
    pub async fn begin_run(
        &self,
        integration_id: i64,
        now: DateTime<Utc>,
        stale_after: Duration,
    ) -> Result<i64, StoreError> {
        const EXISTS: &str = "SELECT id FROM integrations WHERE id = $1";
        const LIVE: &str = "SELECT id, heartbeat_at FROM sync_runs WHERE integration_id = $1 AND status = 'running'";
        const ABANDON: &str =
            "UPDATE sync_runs SET status = 'abandoned', finished_at = $2, error = $3 WHERE id = $1";
        const PURGE_RECORDS: &str = "DELETE FROM records WHERE run_id = $1";
        const PURGE_LOG: &str = "DELETE FROM log_events WHERE run_id = $1";
        const INSERT: &str = "INSERT INTO sync_runs (integration_id, status, started_at, heartbeat_at) \
                              VALUES ($1, 'running', $2, $2) RETURNING id";
        const LAST_SYNC: &str =
            "UPDATE integrations SET last_sync_status = 'running', last_sync_at = $2 WHERE id = $1";
        let stale_after_secs = stale_after.as_secs();
        let cutoff = chrono::TimeDelta::from_std(stale_after)
            .ok()
            .and_then(|d| now.checked_sub_signed(d))
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        let run_id = in_tx!(self, |tx| {
            let exists = sqlx::query_scalar::<_, i64>(EXISTS)
                .bind(integration_id)
                .fetch_optional(&mut *tx)
                .await?;
            if exists.is_none() {
                return Err(StoreError::not_found(format!(
                    "integration {integration_id}"
                )));
            }
            let live = sqlx::query_as::<_, (i64, DateTime<Utc>)>(LIVE)
                .bind(integration_id)
                .fetch_all(&mut *tx)
                .await?;
            for (run_id, heartbeat_at) in live {
                if heartbeat_at > cutoff {
                    return Err(StoreError::RunInProgress {
                        integration_id,
                        run_id,
                        heartbeat_at,
                        stale_after_secs,
                    });
                }
                tracing::warn!(run_id, %heartbeat_at, "Abandoning a sync run whose process stopped; purging its rows.");
                let error = format!(
                    "abandoned: its process stopped sending heartbeats (last at {heartbeat_at})"
                );
                sqlx::query(ABANDON)
                    .bind(run_id)
                    .bind(now)
                    .bind(error)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(PURGE_RECORDS)
                    .bind(run_id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(PURGE_LOG)
                    .bind(run_id)
                    .execute(&mut *tx)
                    .await?;
            }
            let inserted = sqlx::query_scalar::<_, i64>(INSERT)
                .bind(integration_id)
                .bind(now)
                .fetch_one(&mut *tx)
                .await;
            let run_id = match inserted {
                Ok(id) => id,
                // Another process began a run between our check and insert (PostgreSQL).
                Err(e) if is_unique_violation(&e) => {
                    return Err(StoreError::RunInProgress {
                        integration_id,
                        run_id: 0,
                        heartbeat_at: now,
                        stale_after_secs,
                    });
                }
                Err(e) => return Err(e.into()),
            };
            sqlx::query(LAST_SYNC)
                .bind(integration_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            run_id
        });
        Ok(run_id)
    }

    /// Prove the run's process is alive.
    pub async fn heartbeat(&self, run_id: i64, now: DateTime<Utc>) -> Result<(), StoreError> {
        const SQL: &str =
            "UPDATE sync_runs SET heartbeat_at = $2 WHERE id = $1 AND status = 'running'";
        let done = with_pool!(self, |pool| sqlx::query(SQL)
            .bind(run_id)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected());
        if done == 0 {
            let state = with_pool!(self, |pool| {
                sqlx::query_as::<_, RunState>(RUN_STATE)
                    .bind(run_id)
                    .fetch_optional(pool)
                    .await?
            });
            running(run_id, state)?;
        }
        Ok(())
    }

    /// Stage records into the run (invisible until it is published). A record whose truth
    /// key is already staged in this run is ignored: truth is a set.
    ///
    /// The same as [`Store::erased_people`], [`StagedBatch::new`], then [`Staging::write`]
    /// and [`Staging::commit`]; a bulk sync calls those itself, so batches are serialised on
    /// other threads while one is written, and many batches share a commit.
    pub async fn stage(&self, run_id: i64, records: &[Record]) -> Result<(), StoreError> {
        if records.is_empty() {
            return Ok(());
        }
        let batch = StagedBatch::new(records, &self.erased_people(run_id).await?)?;
        let mut staging = self.begin_staging(run_id);
        staging.write(&batch).await?;
        staging.commit().await
    }

    /// A writer of encoded batches into the run (see [`Staging`]). It touches the database
    /// only when it writes.
    pub fn begin_staging(&self, run_id: i64) -> Staging {
        Staging {
            store: self.clone(),
            run_id,
            open: None,
            max_open: MAX_OPEN,
            commits: 0,
        }
    }

    /// Start a passive WAL checkpoint on a pooled connection unless one is running: the
    /// staging connection never checkpoints (see [`Store::open`]), so the copying of staged
    /// pages into the database runs on another thread while the next batch is written.
    fn checkpoint_beside(&self) {
        use std::sync::atomic::Ordering;
        let crate::Db::Sqlite(pool) = &self.db else {
            return;
        };
        if self.checkpointing.swap(true, Ordering::AcqRel) {
            return;
        }
        let (pool, flag) = (pool.clone(), self.checkpointing.clone());
        tokio::spawn(async move {
            if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .execute(&pool)
                .await
            {
                tracing::debug!(error = %e, "A passive checkpoint failed; the next one retries.");
            }
            flag.store(false, Ordering::Release);
        });
    }

    /// Give back the staging connection's page cache (it is only warm while a run is being
    /// staged) and checkpoint the WAL into the database. Publishing and failing a run do it.
    /// On PostgreSQL it only trims the C heap.
    pub async fn release_staging_cache(&self) {
        use std::sync::atomic::Ordering;
        self.shrink_staging_cache().await;
        let (Some(_), crate::Db::Sqlite(pool)) = (&self.staging, &self.db) else {
            return;
        };
        // What the run left in the WAL goes into the database now and the WAL starts over:
        // the products read the new snapshot next, and reads of pages still in a run-sized
        // WAL were measured ~50% slower. A checkpoint still running beside the
        // staging (`checkpoint_beside`) would make this one give up at once (SQLite does not
        // wait for another checkpointer), leaving a WAL as large as the run: wait for it.
        // (At most ~10 s: a checkpoint's flag is always cleared, but never hang on it.)
        for _ in 0..2000 {
            if !self.checkpointing.swap(true, Ordering::AcqRel) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        match sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(TRUNCATE)")
            .fetch_one(pool)
            .await
        {
            Ok((0, _, _)) => {}
            Ok(_) => tracing::debug!("The WAL could not be checkpointed whole after the run."),
            Err(e) => tracing::debug!(error = %e, "Could not checkpoint after the run."),
        }
        self.checkpointing.store(false, Ordering::Release);
        return_freed_heap();
    }

    /// [`Store::release_staging_cache`] without the checkpoint: the sync calls it as soon as
    /// every record is staged (the cache was otherwise held through the identity index, the
    /// sync's peak of memory). The checkpoint waits for the publish: until then the
    /// checkpoints beside the staging copy the WAL while the index is written, so the
    /// publish's has little left (waiting for it before the index was ~0.4 s of a
    /// 1M-record sync, at the publish ~0.2 s).
    pub async fn shrink_staging_cache(&self) {
        if let Some(staging) = &self.staging
            && staging.size() > 0
            && let Err(e) = sqlx::query("PRAGMA shrink_memory").execute(staging).await
        {
            tracing::debug!(error = %e, "Could not shrink the staging connection's cache.");
        }
        return_freed_heap();
    }

    /// Record how a resource ended in the run.
    pub async fn mark_resource(
        &self,
        run_id: i64,
        resource: Resource,
        outcome: &ResourceOutcome,
    ) -> Result<(), StoreError> {
        const SQL: &str = "INSERT INTO run_resources (run_id, resource, outcome, record_count, reason) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (run_id, resource) DO UPDATE SET \
             outcome = excluded.outcome, record_count = excluded.record_count, reason = excluded.reason";
        let (kind, count, reason) = match outcome {
            ResourceOutcome::Complete { count } => ("complete", to_i64(*count), None),
            ResourceOutcome::Unreadable { reason } => ("unreadable", 0, Some(reason.as_str())),
        };
        in_tx!(self, |tx| {
            let state = sqlx::query_as::<_, RunState>(RUN_STATE)
                .bind(run_id)
                .fetch_optional(&mut *tx)
                .await?;
            running(run_id, state)?;
            sqlx::query(SQL)
                .bind(run_id)
                .bind(resource.as_str())
                .bind(kind)
                .bind(count)
                .bind(reason)
                .execute(&mut *tx)
                .await?;
        });
        Ok(())
    }

    /// Save the cursor the next run resumes the resource from (the System Log `next` link).
    pub async fn stage_cursor(
        &self,
        run_id: i64,
        resource: Resource,
        cursor: &str,
    ) -> Result<(), StoreError> {
        const SQL: &str = "INSERT INTO run_resources (run_id, resource, cursor_value) VALUES ($1, $2, $3) \
             ON CONFLICT (run_id, resource) DO UPDATE SET cursor_value = excluded.cursor_value";
        in_tx!(self, |tx| {
            let state = sqlx::query_as::<_, RunState>(RUN_STATE)
                .bind(run_id)
                .fetch_optional(&mut *tx)
                .await?;
            running(run_id, state)?;
            sqlx::query(SQL)
                .bind(run_id)
                .bind(resource.as_str())
                .bind(cursor)
                .execute(&mut *tx)
                .await?;
        });
        Ok(())
    }

    /// Make the run the integration's current snapshot, in one transaction, and delete the
    /// rows of older runs.
    ///
    /// System Log events: when the previous snapshot held a log cursor, this run read the
    /// log incrementally from it, so the events already held stay (carried forward, deduped
    /// by uuid) and the old cursor is kept if this run found nothing new. Without one, this
    /// run read the whole window and its events replace the older ones.
    pub async fn publish_run<T: Serialize + ?Sized>(
        &self,
        run_id: i64,
        report: &T,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        const CURRENT: &str = "SELECT current_run_id FROM integrations WHERE id = $1";
        const LOG_STATE: &str = "SELECT outcome, cursor_value FROM run_resources WHERE run_id = $1 AND resource = 'log_events'";
        const KEEP_CURSOR: &str = "UPDATE run_resources SET cursor_value = $2 WHERE run_id = $1 AND resource = 'log_events'";
        const REPLACE_LOG: &str =
            "DELETE FROM log_events WHERE integration_id = $1 AND last_seen_run_id <> $2";
        const SUCCEED: &str = "UPDATE sync_runs SET status = 'succeeded', finished_at = $2, heartbeat_at = $2, \
             duration_ms = $3, report = $4 WHERE id = $1";
        const FLIP: &str = "UPDATE integrations SET current_run_id = $2, last_sync_status = 'succeeded', \
             last_sync_at = $3 WHERE id = $1";
        const DROP_OLD: &str = "DELETE FROM records WHERE run_id IN (SELECT id FROM sync_runs \
             WHERE integration_id = $1 AND id <> $2 AND status <> 'running')";
        let report =
            serde_json::to_string(report).map_err(|e| StoreError::corrupt("sync report", e))?;
        // Every batch is written by now (publishing is the end of staging).
        self.erase_late(run_id).await?;
        in_tx!(self, |tx| {
            let state = sqlx::query_as::<_, RunState>(RUN_STATE)
                .bind(run_id)
                .fetch_optional(&mut *tx)
                .await?;
            let (integration_id, started_at) = running(run_id, state)?;
            let previous = sqlx::query_scalar::<_, Option<i64>>(CURRENT)
                .bind(integration_id)
                .fetch_one(&mut *tx)
                .await?;
            let mine = sqlx::query_as::<_, (Option<String>, Option<String>)>(LOG_STATE)
                .bind(run_id)
                .fetch_optional(&mut *tx)
                .await?;
            let previous_cursor = match previous {
                Some(prev) => sqlx::query_as::<_, (Option<String>, Option<String>)>(LOG_STATE)
                    .bind(prev)
                    .fetch_optional(&mut *tx)
                    .await?
                    .and_then(|(_, cursor)| cursor),
                None => None,
            };
            if let Some((Some(outcome), my_cursor)) = mine
                && outcome == "complete"
            {
                match previous_cursor {
                    Some(cursor) => {
                        if my_cursor.is_none() {
                            sqlx::query(KEEP_CURSOR)
                                .bind(run_id)
                                .bind(cursor)
                                .execute(&mut *tx)
                                .await?;
                        }
                    }
                    // Before the integration's first published run every stored event is
                    // this run's (failed runs purge theirs), so there is nothing to replace,
                    // and the scan of a first sync's whole log is skipped.
                    None if previous.is_none() => {}
                    None => {
                        sqlx::query(REPLACE_LOG)
                            .bind(integration_id)
                            .bind(run_id)
                            .execute(&mut *tx)
                            .await?;
                    }
                }
            }
            let duration_ms = (now - started_at).num_milliseconds().max(0);
            sqlx::query(SUCCEED)
                .bind(run_id)
                .bind(now)
                .bind(duration_ms)
                .bind(report.as_str())
                .execute(&mut *tx)
                .await?;
            sqlx::query(FLIP)
                .bind(integration_id)
                .bind(run_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            sqlx::query(DROP_OLD)
                .bind(integration_id)
                .bind(run_id)
                .execute(&mut *tx)
                .await?;
        });
        self.release_staging_cache().await;
        Ok(())
    }

    /// Mark the run failed and purge what it staged; the previous snapshot stays current.
    pub async fn fail_run<T: Serialize + ?Sized>(
        &self,
        run_id: i64,
        error: &str,
        report: &T,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        const FAIL: &str = "UPDATE sync_runs SET status = 'failed', finished_at = $2, heartbeat_at = $2, \
             duration_ms = $3, error = $4, report = $5 WHERE id = $1";
        const PURGE_RECORDS: &str = "DELETE FROM records WHERE run_id = $1";
        const PURGE_LOG: &str = "DELETE FROM log_events WHERE run_id = $1";
        const LAST_SYNC: &str =
            "UPDATE integrations SET last_sync_status = 'failed', last_sync_at = $2 WHERE id = $1";
        let report =
            serde_json::to_string(report).map_err(|e| StoreError::corrupt("sync report", e))?;
        in_tx!(self, |tx| {
            let state = sqlx::query_as::<_, RunState>(RUN_STATE)
                .bind(run_id)
                .fetch_optional(&mut *tx)
                .await?;
            let (integration_id, started_at) = running(run_id, state)?;
            let duration_ms = (now - started_at).num_milliseconds().max(0);
            sqlx::query(FAIL)
                .bind(run_id)
                .bind(now)
                .bind(duration_ms)
                .bind(error)
                .bind(report.as_str())
                .execute(&mut *tx)
                .await?;
            sqlx::query(PURGE_RECORDS)
                .bind(run_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query(PURGE_LOG)
                .bind(run_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query(LAST_SYNC)
                .bind(integration_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        });
        self.release_staging_cache().await;
        Ok(())
    }

    /// Rows a run holds in the snapshot tables (records and log events it brought); 0 once
    /// a failed or abandoned run is purged. For diagnostics and tests.
    pub async fn run_rows(&self, run_id: i64) -> Result<u64, StoreError> {
        const SQL: &str = "SELECT (SELECT COUNT(*) FROM records WHERE run_id = $1) \
             + (SELECT COUNT(*) FROM log_events WHERE run_id = $1)";
        let n = with_pool!(self, |pool| sqlx::query_scalar::<_, i64>(SQL)
            .bind(run_id)
            .fetch_one(pool)
            .await?);
        Ok(to_u64(n))
    }

    /// The integration's runs, newest first.
    pub async fn runs(
        &self,
        integration_id: i64,
        limit: usize,
    ) -> Result<Vec<SyncRun>, StoreError> {
        const RUNS: &str = "SELECT id, integration_id, status, started_at, heartbeat_at, finished_at, duration_ms, \
             error, report FROM sync_runs WHERE integration_id = $1 ORDER BY id DESC LIMIT $2";
        const COUNTS: &str = "SELECT run_id, resource, record_count FROM run_resources WHERE outcome = 'complete' \
             AND run_id IN (SELECT id FROM sync_runs WHERE integration_id = $1 ORDER BY id DESC LIMIT $2)";
        type Row = (
            i64,
            i64,
            String,
            DateTime<Utc>,
            DateTime<Utc>,
            Option<DateTime<Utc>>,
            Option<i64>,
            Option<String>,
            Option<String>,
        );
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let (rows, counts) = with_pool!(self, |pool| {
            let rows = sqlx::query_as::<_, Row>(RUNS)
                .bind(integration_id)
                .bind(limit)
                .fetch_all(pool)
                .await?;
            let counts = sqlx::query_as::<_, (i64, String, i64)>(COUNTS)
                .bind(integration_id)
                .bind(limit)
                .fetch_all(pool)
                .await?;
            (rows, counts)
        });
        let mut by_run: BTreeMap<i64, BTreeMap<String, u64>> = BTreeMap::new();
        for (run_id, resource, count) in counts {
            by_run
                .entry(run_id)
                .or_default()
                .insert(resource, to_u64(count));
        }
        rows.into_iter()
            .map(
                |(
                    id,
                    integration_id,
                    status,
                    started_at,
                    heartbeat_at,
                    finished_at,
                    duration_ms,
                    error,
                    report,
                )| {
                    let report = match report {
                        Some(r) => serde_json::from_str(&r)
                            .map_err(|e| StoreError::corrupt(format!("report of run {id}"), e))?,
                        None => Value::Null,
                    };
                    Ok(SyncRun {
                        id,
                        integration_id,
                        status,
                        started_at,
                        heartbeat_at,
                        finished_at,
                        duration_ms: duration_ms.map(to_u64),
                        error,
                        counts: by_run.remove(&id).unwrap_or_default(),
                        report,
                    })
                },
            )
            .collect()
    }
}

/// Rows a staging transaction takes before it commits by itself (see [`Staging`]).
/// A 1M-record sync (scripts/bench-sync.sh, "disk writes") wrote 3.6-3.7 GB with ~6,000
/// rows per commit and 2.75-2.8 GB with ~24,000 (bytes passed to write(): 3.75 -> 2.81 GB);
/// beyond that the dirty pages outgrow the staging connection's 64 MiB cache, SQLite spills
/// them to the WAL mid-transaction, and the gain flattens (48,000: 2.5 GB, 96,000: 2.5 GB).
/// In a quiet period, interleaved: 10.8-11.1 s a sync against 11.4-12.4 s.
const ROWS_PER_COMMIT: usize = 24_000;

/// How long a staging transaction stays open before it commits by itself at its next write
/// (see [`Staging`]): on SQLite it holds the write lock, which a heartbeat, another sync's
/// outcome or an admin's change waits for. A paced sync brings rows slowly but steadily, so
/// without this bound one transaction could hold the lock for many seconds (a paced 1M-record
/// sync with a 1 s bound: 46 commits in 61 s of staging, no heartbeat late). An unpaced one
/// keeps a transaction open ~0.17 s for its 24,000 rows (44 commits in 7.5 s), so the bound
/// rarely cuts a commit short there.
const MAX_OPEN: Duration = Duration::from_millis(500);

/// Writes encoded batches into a sync run, holding one transaction open across batches
/// until [`Staging::commit`], or until it has taken [`ROWS_PER_COMMIT`] rows or been open
/// for [`MAX_OPEN`].
///
/// Why: each commit writes every page it dirtied to the WAL, and the snapshot's key index
/// (record and System Log keys arrive in random order) is dirtied all over by every batch;
/// fewer commits write those pages fewer times. What waits for the commit is SQLite's
/// bounded page cache, not serialised batches in memory.
///
/// On SQLite the open transaction holds the write lock, so a caller commits before it
/// writes anything else to the store (a resource's outcome) and before it waits for more
/// records, where the lock would otherwise be held for nothing; nothing it waits for inside
/// the transaction may need the store (encoding, [`StagedBatch::new`], does not). Dropped
/// uncommitted, it rolls back what it wrote since the last commit.
pub struct Staging {
    store: Store,
    run_id: i64,
    /// The transaction written since the last commit, if any.
    open: Option<OpenStaging>,
    /// [`MAX_OPEN`] unless set with [`Staging::max_open`].
    max_open: Duration,
    /// Commits so far, for diagnostics.
    commits: u64,
}

/// An open staging transaction: everything about it goes with it when it commits or is
/// dropped.
struct OpenStaging {
    tx: StagingTx,
    /// The run's integration, read when the transaction began.
    integration_id: i64,
    since: std::time::Instant,
    /// Rows written in it.
    rows: usize,
}

enum StagingTx {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

impl std::fmt::Debug for Staging {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Staging")
            .field("run_id", &self.run_id)
            .field("open", &self.open.is_some())
            .field("rows", &self.open.as_ref().map_or(0, |o| o.rows))
            .field("commits", &self.commits)
            .finish()
    }
}

impl Staging {
    /// Write one encoded batch into the run; refused unless the run is still running.
    /// Commits by itself once the transaction holds [`ROWS_PER_COMMIT`] rows or has been
    /// open for [`MAX_OPEN`]. After an error, what was written since the last commit is
    /// rolled back.
    pub async fn write(&mut self, batch: &StagedBatch) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        if let Err(e) = self.write_rows(batch).await {
            // Dropping the transaction rolls it back.
            self.open = None;
            return Err(e);
        }
        let due = self
            .open
            .as_ref()
            .is_some_and(|o| o.rows >= ROWS_PER_COMMIT || o.since.elapsed() >= self.max_open);
        if due {
            self.commit().await?;
        }
        Ok(())
    }

    /// Commit what was written since the last commit (nothing to do when nothing was).
    pub async fn commit(&mut self) -> Result<(), StoreError> {
        let Some(open) = self.open.take() else {
            return Ok(());
        };
        match open.tx {
            StagingTx::Sqlite(tx) => {
                tx.commit().await?;
                self.store.checkpoint_beside();
            }
            StagingTx::Postgres(tx) => tx.commit().await?,
        }
        self.commits += 1;
        Ok(())
    }

    /// Commit by itself at the first write after the transaction has been open for `d`
    /// instead of [`MAX_OPEN`].
    pub fn max_open(mut self, d: Duration) -> Staging {
        self.max_open = d;
        self
    }

    /// Commits made so far.
    pub fn commits(&self) -> u64 {
        self.commits
    }

    /// Begin the transaction: on SQLite's own staging connection (its page cache stays
    /// warm between batches), `IMMEDIATE` so it waits for the write lock up front.
    async fn begin(&self) -> Result<OpenStaging, StoreError> {
        let run_id = self.run_id;
        macro_rules! integration_of_running {
            ($tx:ident) => {{
                let state = sqlx::query_as::<_, RunState>(RUN_STATE)
                    .bind(run_id)
                    .fetch_optional(&mut *$tx)
                    .await?;
                running(run_id, state)?.0
            }};
        }
        let (tx, integration_id) = match (&self.store.staging, &self.store.db) {
            (Some(pool), _) | (None, crate::Db::Sqlite(pool)) => {
                let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                let integration_id = integration_of_running!(tx);
                (StagingTx::Sqlite(tx), integration_id)
            }
            (None, crate::Db::Postgres(pool)) => {
                let mut tx = pool.begin().await?;
                let integration_id = integration_of_running!(tx);
                (StagingTx::Postgres(tx), integration_id)
            }
        };
        Ok(OpenStaging {
            tx,
            integration_id,
            since: std::time::Instant::now(),
            rows: 0,
        })
    }

    async fn write_rows(&mut self, batch: &StagedBatch) -> Result<(), StoreError> {
        let run_id = self.run_id;
        let open = match self.open.take() {
            Some(open) => open,
            None => self.begin().await?,
        };
        // The same rows on every backend; `$tx` is the transaction to write in. `$or_ignore`
        // (SQLite): `INSERT OR IGNORE` instead of `ON CONFLICT`. A multi-row statement that
        // may abort half-way (a NOT NULL check under `ON CONFLICT`) makes SQLite copy every
        // page it first touches into a statement journal, so it can undo just that
        // statement; with every conflict ignored nothing can abort, and the journal (a copy
        // of each 16 KiB page) is never kept: staging 500,000 records
        // (`cargo bench -p steward-store`) took 5.95 s instead of 6.78 s.
        macro_rules! write {
            ($tx:ident, $integration_id:expr, $or_ignore:expr) => {{
                let integration_id: i64 = $integration_id;
                // An event already held keeps the run that brought it (so purging this run
                // cannot remove it) and only notes that this run saw it too: in the upsert, or
                // under `$or_ignore` in a second statement below.
                let (verb, records_tail, log_tail) = if $or_ignore {
                    ("INSERT OR IGNORE INTO", "", "")
                } else {
                    (
                        "INSERT INTO",
                        " ON CONFLICT DO NOTHING",
                        " ON CONFLICT (integration_id, record_key) DO UPDATE SET last_seen_run_id = excluded.last_seen_run_id",
                    )
                };
                for chunk in batch.rows.chunks(ROWS_PER_INSERT) {
                    let mut qb = QueryBuilder::new(verb);
                    qb.push(" records (run_id, resource, record_key, data, raw) ");
                    qb.push_values(chunk, |mut b, (resource, key, e)| {
                        b.push_bind(run_id)
                            .push_bind(*resource)
                            .push_bind(key.as_str())
                            .push_bind(batch.text(&e.data))
                            .push_bind(batch.raw(e));
                    });
                    qb.push(records_tail);
                    qb.build().execute(&mut *$tx).await?;
                }
                for chunk in batch.log_rows.chunks(ROWS_PER_INSERT) {
                    let mut qb = QueryBuilder::new(verb);
                    qb.push(
                        " log_events (integration_id, record_key, run_id, last_seen_run_id, data, raw) ",
                    );
                    qb.push_values(chunk, |mut b, (key, e)| {
                        b.push_bind(integration_id)
                            .push_bind(key.as_str())
                            .push_bind(run_id)
                            .push_bind(run_id)
                            .push_bind(batch.text(&e.data))
                            .push_bind(batch.raw(e));
                    });
                    qb.push(log_tail);
                    let inserted = qb.build().execute(&mut *$tx).await?.rows_affected();
                    // Ignored rows were already held: note the sighting in a second
                    // statement (only when some were; on a first sync none are).
                    if $or_ignore && inserted < chunk.len() as u64 {
                        let mut qb = QueryBuilder::new(
                            "UPDATE OR IGNORE log_events SET last_seen_run_id = ",
                        );
                        qb.push_bind(run_id)
                            .push(" WHERE integration_id = ")
                            .push_bind(integration_id)
                            .push(" AND last_seen_run_id <> ")
                            .push_bind(run_id)
                            .push(" AND record_key IN (");
                        let mut keys = qb.separated(", ");
                        for (key, _) in chunk {
                            keys.push_bind(key.as_str());
                        }
                        qb.push(")");
                        qb.build().execute(&mut *$tx).await?;
                    }
                }
            }};
        }
        let open = self.open.insert(open);
        match &mut open.tx {
            StagingTx::Sqlite(tx) => {
                let conn = &mut **tx;
                write!(conn, open.integration_id, true)
            }
            StagingTx::Postgres(tx) => {
                let conn = &mut **tx;
                write!(conn, open.integration_id, false)
            }
        }
        open.rows += batch.len();
        Ok(())
    }
}

/// Hand memory that C code freed back to the operating system. SQLite allocates its page
/// cache with the C allocator (glibc), and glibc keeps freed small blocks in the process
/// heap: without this, the staging connection's 64 MiB cache stayed in the process's
/// resident memory after `shrink_memory` and added to the peak of everything after staging.
#[allow(unsafe_code)] // the one FFI call of the store, audited above
fn return_freed_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free heap pages; it takes no pointers and is
    // thread-safe (it holds the arena locks).
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Keep glibc from raising its mmap threshold. SQLite's large one-off buffers (a
/// `group_concat` of 400k record keys is ~17 MB) are mmapped and go back to the system when
/// freed; but glibc raises the threshold to the size of each mmapped block freed, after which
/// such buffers came from the heap and stayed resident: +30 MB at the peak of a 1M-record
/// sync. Called once when a SQLite store opens.
#[allow(unsafe_code)] // one FFI call, audited above
pub(crate) fn fix_mmap_threshold() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        // SAFETY: mallopt only changes allocator tuning; it takes no pointers. 1 MiB is
        // within glibc's allowed range for M_MMAP_THRESHOLD.
        ONCE.call_once(|| unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
        });
    }
}
