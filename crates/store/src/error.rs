//! The store's error type: every message names the thing and, where there is one, the fix.

use std::path::PathBuf;

/// Errors from the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("an integration named {name:?} already exists; pick another --name or remove it first")]
    NameTaken { name: String },
    #[error("{what} not found")]
    NotFound { what: String },
    #[error(
        "integration {integration_id} is already syncing (run {run_id}, last heartbeat {heartbeat_at}); \
         wait for it to finish, or retry after it has been silent for {stale_after_secs}s"
    )]
    RunInProgress {
        integration_id: i64,
        run_id: i64,
        heartbeat_at: chrono::DateTime<chrono::Utc>,
        stale_after_secs: u64,
    },
    #[error("sync run {run_id} is {status}, not running; it can no longer be changed")]
    RunNotRunning { run_id: i64, status: String },
    #[error(
        "sync job {job_id} is no longer held by worker {worker_id:?}: its lease expired and another worker took it over"
    )]
    LeaseLost { job_id: i64, worker_id: String },
    #[error("credential of integration {integration_id}: {reason}")]
    Credential { integration_id: i64, reason: String },
    #[error("master key file {}: {reason}", path.display())]
    Key { path: PathBuf, reason: String },
    #[error("unsupported database URL {url:?}: use sqlite://PATH or postgres://USER@HOST/DB")]
    BadUrl { url: String },
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is corrupt ({what}): {reason}")]
    Corrupt { what: String, reason: String },
}

impl StoreError {
    pub(crate) fn not_found(what: impl Into<String>) -> Self {
        StoreError::NotFound { what: what.into() }
    }

    pub(crate) fn corrupt(what: impl Into<String>, reason: impl std::fmt::Display) -> Self {
        StoreError::Corrupt {
            what: what.into(),
            reason: reason.to_string(),
        }
    }
}

/// True when the database refused a row because of a UNIQUE constraint.
pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}
