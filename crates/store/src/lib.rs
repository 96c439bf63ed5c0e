//! Steward's store: integrations with sealed credentials, sync runs, and the snapshots they
//! publish, on SQLite (default) or PostgreSQL with one SQL text for both.
//!
//! A sync run stages its rows tagged with its run id; only the integration's
//! `current_run_id` is ever read, so a run becomes visible all at once when
//! [`Store::publish_run`] flips that pointer in one transaction, and a failed or killed run
//! is never seen. System Log events are the exception: they are read incrementally, so they
//! live per integration and are carried from snapshot to snapshot (see [`Store::publish_run`]).
//!
//! Backends: an enum of two sqlx pools and the [`with_pool!`]/[`in_tx!`] macros that expand
//! the same block once per pool, so each arm is type-checked against its own driver (sqlx's
//! `Any` driver cannot decode ordinary column types).

use std::str::FromStr as _;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

mod error;
mod evidence;
mod findings;
mod identity;
mod integrations;
mod inventory;
mod jobs;
mod key;
mod requests;
mod review_reminders;
mod reviews;
mod runs;
mod snapshot;
pub mod testing;
mod users;

pub use error::StoreError;
pub use evidence::{
    EvidenceHead, EvidenceItem, EvidenceRedaction, GENESIS_HASH, NewEvidence, REDACTED_KEY,
    entry_digest, evidence_id, redacted_digest,
};
pub use findings::{
    Finding, FindingEvaluation, FindingFilter, FindingsUpdate, KeyList, KindEvaluation, NewFinding,
};
pub use identity::{IdentityPage, IdentityQuery};
pub use integrations::{Integration, NewIntegration};
pub use inventory::{
    Decision, InventoryChange, InventoryFacts, InventoryFilter, InventoryItem, InventorySync,
    Triage,
};
pub use jobs::{Enqueued, Frequency, JobEnd, MAX_ATTEMPTS, SyncJob, SyncSchedule};
pub use key::MasterKey;
pub use requests::{
    EmailHash, Erased, ErasedPeople, Erasure, NewPrivacyRequest, NewReceipt, PrivacyRequest,
    PrivacyRequestEvent, Receipt, RequestKind,
};
pub use review_reminders::{ReviewReminder, ReviewerPending};
pub use reviews::{
    AuditEntry, Campaign, Case, CaseContext, DecideRefusal, NewCase, NewReviewDefinition,
    NewReviewPerson, ReviewDefinition, reviewers_text,
};
pub use runs::{ResourceOutcome, StagedBatch, Staging, SyncRun};
pub use snapshot::{ResourceStatus, decode_record, decode_value};
pub use users::{Session, User};

use key::Sealer;

#[derive(Clone)]
enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Run `$body` with `$pool` bound to whichever pool this store has; the block is compiled
/// once per backend.
macro_rules! with_pool {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.db {
            $crate::Db::Sqlite($pool) => $body,
            $crate::Db::Postgres($pool) => $body,
        }
    };
}

/// Run `$body` inside a write transaction bound to `$tx`, then commit. An early return or
/// `?` drops the transaction, which rolls it back.
///
/// On SQLite the transaction starts `IMMEDIATE`: a deferred one that reads and then writes
/// fails with `SQLITE_BUSY` at once when another connection wrote in between, instead of
/// waiting for the busy timeout.
macro_rules! in_tx {
    ($store:expr, |$tx:ident| $body:expr) => {
        match &$store.db {
            $crate::Db::Sqlite(pool) => {
                let mut $tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                let out = $body;
                $tx.commit().await?;
                out
            }
            $crate::Db::Postgres(pool) => {
                let mut $tx = pool.begin().await?;
                let out = $body;
                $tx.commit().await?;
                out
            }
        }
    };
}

/// SQL (both backends) for a stored record's whole JSON text from its two columns (see
/// `snapshot::encode_record_into`): `data` with `,"raw":` and `raw` put back before its
/// closing brace, or `data` alone when `raw` is NULL. Columns unqualified, so the query's
/// other tables must not have a `data` or `raw` column.
macro_rules! whole_sql {
    () => {
        "CASE WHEN raw IS NULL THEN data ELSE substr(data, 1, length(data) - 1) || ',\"raw\":' || raw || '}' END"
    };
}

pub(crate) use {in_tx, whole_sql, with_pool};

/// A handle on the database; cheap to clone (pools are shared).
#[derive(Clone)]
pub struct Store {
    db: Db,
    /// SQLite: one connection of its own for staging sync runs, so the pages a bulk insert
    /// keeps touching stay in one large page cache (see [`Store::open`]).
    staging: Option<SqlitePool>,
    /// SQLite: a WAL checkpoint is running on a pooled connection (see `runs.rs`).
    checkpointing: std::sync::Arc<std::sync::atomic::AtomicBool>,
    sealer: Sealer,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend())
            .finish_non_exhaustive()
    }
}

/// Page size of a SQLite database Steward creates (see [`Store::open`]).
const PAGE_SIZE: u32 = 16 * 1024;

impl Store {
    /// Open (creating a SQLite file if needed) and migrate the database at `url`:
    /// `sqlite://PATH` (`sqlite:///abs/path.db`) or `postgres://USER@HOST:PORT/DB`.
    pub async fn open(url: &str, key: MasterKey) -> Result<Store, StoreError> {
        let mut staging_pool = None;
        let db = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(url)?;
            let pool = PgPoolOptions::new()
                .max_connections(8)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await?;
            sqlx::migrate!("migrations/postgres").run(&pool).await?;
            Db::Postgres(pool)
        } else if url.starts_with("sqlite:") {
            runs::fix_mmap_threshold();
            let options = SqliteConnectOptions::from_str(url)?
                // 16 KiB pages for a new database (an existing one keeps its own): a synced
                // record is ~1-2 KB, and with 4 KiB pages staging spent far more in page
                // writes and WAL frames. A 1M-record sync (scripts/bench-sync.sh, runs of
                // each size interleaved): 18.4 s -> 16.8 s on average, system time ~6.5 -> ~4.8 s.
                .page_size(PAGE_SIZE)
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                // With WAL, NORMAL cannot corrupt the database; it only may lose the last
                // commits on power loss, which a re-sync restores.
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
                // 8 MiB of page cache per connection (default 2 MiB): readers mostly scan. After a
                // sync, findings read on all four at once, so four 64 MiB caches were a quarter
                // GB of the sync's peak memory; 16 MiB still put it over 300 MB, while 4 MiB
                // cost ~7 s of a 1M-record sync in re-reads (measured with scripts/bench-sync.sh).
                .pragma("cache_size", "-8192")
                // Multi-row INSERTs inside a transaction keep a statement journal; in memory it
                // costs no file writes.
                .pragma("temp_store", "memory")
                // Checkpoint every ~40 MiB of WAL instead of 4 MiB: bulk staging then copies
                // pages back into the database far less often (measured: ~105k → ~140k records/s).
                .pragma(
                    "wal_autocheckpoint",
                    (40 * 1024 * 1024 / PAGE_SIZE).to_string(),
                )
                // Rows a streamed query's worker thread may run ahead of its reader (default 50):
                // snapshot scans stream ~1M rows, and with 50 the two threads woke each other
                // every few rows (context switches were most of a scan's time).
                .row_buffer_size(1024);
            // Staging has a connection of its own with a 64 MiB cache: a snapshot's
            // primary-key index is written in key order, not insert order, and on a pooled
            // connection each batch met a cold cache and read its pages back from the file.
            // `publish_run`/`fail_run` shrink it when a run ends.
            // It never checkpoints itself: its commits would copy WAL pages into the database
            // on the one thread every staged row waits for. Checkpoints run beside it instead,
            // on a pooled connection (`Staging::commit`).
            let staging_options = options
                .clone()
                .pragma("cache_size", "-65536")
                .pragma("wal_autocheckpoint", "0")
                // Few cached statements: sqlx clears a cached statement's bindings only when it
                // runs again, so each multi-row INSERT kept SQLite's copies of up to 2,000
                // records' text, and a batch of another size is another statement. With the
                // default 100, those were ~55 MB of a 1M-record sync's peak (288 -> 231 MB).
                .statement_cache_capacity(4);
            let pool = SqlitePoolOptions::new()
                .max_connections(4)
                .acquire_timeout(Duration::from_secs(30))
                .connect_with(options)
                .await?;
            sqlx::migrate!("migrations/sqlite").run(&pool).await?;
            let staging = SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(0)
                .acquire_timeout(Duration::from_secs(30))
                .connect_lazy_with(staging_options);
            staging_pool = Some(staging);
            Db::Sqlite(pool)
        } else {
            return Err(StoreError::BadUrl {
                url: url.to_string(),
            });
        };
        Ok(Store {
            db,
            staging: staging_pool,
            checkpointing: Default::default(),
            sealer: key.sealer(),
        })
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend(&self) -> &'static str {
        match self.db {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    /// Close the pool (waits for connections to be returned).
    pub async fn close(&self) {
        if let Some(staging) = &self.staging {
            staging.close().await;
        }
        with_pool!(self, |pool| pool.close().await)
    }
}

/// Counts are `u64` in Rust and `BIGINT` in SQL.
pub(crate) fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub(crate) fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}
