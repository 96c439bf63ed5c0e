//! Test support for this crate and its dependents: a fresh, migrated store per test.
//!
//! With `TEST_DATABASE_URL` set (a PostgreSQL URL whose user may `CREATE DATABASE`) every
//! call creates a uniquely named database on that server; otherwise a SQLite file in a
//! temporary directory. Panics on failure: this is only for tests.

use sqlx::Connection as _;

use crate::{MasterKey, Store};

/// Keeps the temporary directory of a SQLite test store alive; drop it after the store.
#[derive(Debug)]
pub struct TempDirGuard {
    dir: Option<tempfile::TempDir>,
}

impl TempDirGuard {
    /// The temporary directory (SQLite only).
    pub fn path(&self) -> Option<&std::path::Path> {
        self.dir.as_ref().map(|d| d.path())
    }
}

/// The master key test stores use.
pub fn test_key() -> MasterKey {
    MasterKey::from_bytes([0x5a; 32])
}

/// A fresh store: PostgreSQL when `TEST_DATABASE_URL` is set, else SQLite in a tempdir.
pub async fn test_store() -> (Store, TempDirGuard) {
    let (store, _url, guard) = test_store_with_url().await;
    (store, guard)
}

/// [`test_store`] plus its URL, to open more handles (separate pools, like separate
/// processes) on the same database.
pub async fn test_store_with_url() -> (Store, String, TempDirGuard) {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => {
            let url = fresh_postgres_database(url.trim()).await;
            let store = Store::open(&url, test_key())
                .await
                .unwrap_or_else(|e| panic!("opening the test database: {e}"));
            (store, url, TempDirGuard { dir: None })
        }
        _ => {
            let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("creating a tempdir: {e}"));
            let url = format!("sqlite://{}", dir.path().join("steward.db").display());
            let store = Store::open(&url, test_key())
                .await
                .unwrap_or_else(|e| panic!("opening the test database {url}: {e}"));
            (store, url, TempDirGuard { dir: Some(dir) })
        }
    }
}

/// Create `steward_t_<uuid>` on the server of `url` and return its URL.
async fn fresh_postgres_database(url: &str) -> String {
    let name = format!("steward_t_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(url)
        .await
        .unwrap_or_else(|e| panic!("connecting to TEST_DATABASE_URL: {e}"));
    // The name is generated above (hex only), so formatting it into SQL is safe.
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
    let _ = conn.close().await;
    let mut parsed =
        url::Url::parse(url).unwrap_or_else(|e| panic!("TEST_DATABASE_URL is not a URL: {e}"));
    parsed.set_path(&format!("/{name}"));
    parsed.to_string()
}
