//! Integrations (a connected source system) and their sealed credentials.

use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::Serialize;
use serde_json::Value;
use steward_model::IntegrationKind;

use crate::error::is_unique_violation;
use crate::{Store, StoreError, in_tx, with_pool};

/// What is needed to create an integration (its token is passed separately, as a secret).
#[derive(Debug, Clone, PartialEq)]
pub struct NewIntegration {
    pub name: String,
    pub kind: IntegrationKind,
    pub base_url: String,
    pub settings: Value,
}

/// A stored integration. It never holds the credential: see [`Store::credential`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Integration {
    pub id: i64,
    pub name: String,
    pub kind: IntegrationKind,
    pub base_url: String,
    pub settings: Value,
    pub created_at: DateTime<Utc>,
    /// The run whose data is the current snapshot; `None` before the first successful sync.
    pub current_run_id: Option<i64>,
    /// The last connection test report (a `ConnectionReport` as JSON).
    pub last_test: Option<Value>,
    pub last_test_at: Option<DateTime<Utc>>,
    /// `running`, `succeeded` or `failed`: how the latest sync run stands.
    pub last_sync_status: Option<String>,
    pub last_sync_at: Option<DateTime<Utc>>,
}

type IntegrationRow = (
    i64,
    String,
    String,
    String,
    String,
    DateTime<Utc>,
    Option<i64>,
    Option<String>,
    Option<DateTime<Utc>>,
    Option<String>,
    Option<DateTime<Utc>>,
);

macro_rules! select_integrations {
    () => {
        "SELECT id, name, kind, base_url, settings, created_at, current_run_id, last_test, \
         last_test_at, last_sync_status, last_sync_at FROM integrations"
    };
}

fn from_row(row: IntegrationRow) -> Result<Integration, StoreError> {
    let (
        id,
        name,
        kind,
        base_url,
        settings,
        created_at,
        current_run_id,
        last_test,
        last_test_at,
        last_sync_status,
        last_sync_at,
    ) = row;
    let what = || format!("integration {id}");
    let kind = IntegrationKind::parse(&kind)
        .ok_or_else(|| StoreError::corrupt(what(), format!("unknown kind {kind:?}")))?;
    let settings = serde_json::from_str(&settings).map_err(|e| StoreError::corrupt(what(), e))?;
    let last_test = last_test
        .map(|t| serde_json::from_str(&t))
        .transpose()
        .map_err(|e| StoreError::corrupt(what(), e))?;
    Ok(Integration {
        id,
        name,
        kind,
        base_url,
        settings,
        created_at,
        current_run_id,
        last_test,
        last_test_at,
        last_sync_status,
        last_sync_at,
    })
}

impl Store {
    /// Create an integration and seal its token. `NameTaken` when the name is in use.
    pub async fn create_integration(
        &self,
        new: &NewIntegration,
        token: &SecretString,
        now: DateTime<Utc>,
    ) -> Result<Integration, StoreError> {
        const INSERT: &str = "INSERT INTO integrations (name, kind, base_url, settings, created_at) \
                              VALUES ($1, $2, $3, $4, $5) RETURNING id";
        const CREDENTIAL: &str =
            "INSERT INTO credentials (integration_id, sealed, updated_at) VALUES ($1, $2, $3)";
        let settings = new.settings.to_string();
        let id = in_tx!(self, |tx| {
            let inserted = sqlx::query_scalar::<_, i64>(INSERT)
                .bind(new.name.as_str())
                .bind(new.kind.as_str())
                .bind(new.base_url.as_str())
                .bind(settings.as_str())
                .bind(now)
                .fetch_one(&mut *tx)
                .await;
            let id = match inserted {
                Ok(id) => id,
                Err(e) if is_unique_violation(&e) => {
                    return Err(StoreError::NameTaken {
                        name: new.name.clone(),
                    });
                }
                Err(e) => return Err(e.into()),
            };
            // The AAD binds the sealed token to this id, so it is sealed after the insert.
            let sealed = self.sealer.seal(id, token)?;
            sqlx::query(CREDENTIAL)
                .bind(id)
                .bind(sealed)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            id
        });
        self.integration(id)
            .await?
            .ok_or_else(|| StoreError::not_found(format!("integration {id}")))
    }

    pub async fn integration(&self, id: i64) -> Result<Option<Integration>, StoreError> {
        const SQL: &str = concat!(select_integrations!(), " WHERE id = $1");
        let row = with_pool!(self, |pool| {
            sqlx::query_as::<_, IntegrationRow>(SQL)
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        row.map(from_row).transpose()
    }

    pub async fn integration_by_name(&self, name: &str) -> Result<Option<Integration>, StoreError> {
        const SQL: &str = concat!(select_integrations!(), " WHERE name = $1");
        let row = with_pool!(self, |pool| {
            sqlx::query_as::<_, IntegrationRow>(SQL)
                .bind(name)
                .fetch_optional(pool)
                .await?
        });
        row.map(from_row).transpose()
    }

    /// Every integration, by name.
    pub async fn integrations(&self) -> Result<Vec<Integration>, StoreError> {
        const SQL: &str = concat!(select_integrations!(), " ORDER BY name");
        let rows = with_pool!(self, |pool| sqlx::query_as::<_, IntegrationRow>(SQL)
            .fetch_all(pool)
            .await?);
        rows.into_iter().map(from_row).collect()
    }

    /// Remove an integration and everything of it: runs, snapshot rows, log events and the
    /// sealed credential.
    pub async fn remove_integration(&self, id: i64) -> Result<(), StoreError> {
        const DELETES: [&str; 5] = [
            "DELETE FROM records WHERE run_id IN (SELECT id FROM sync_runs WHERE integration_id = $1)",
            "DELETE FROM log_events WHERE integration_id = $1",
            "DELETE FROM run_resources WHERE run_id IN (SELECT id FROM sync_runs WHERE integration_id = $1)",
            "DELETE FROM sync_runs WHERE integration_id = $1",
            "DELETE FROM credentials WHERE integration_id = $1",
        ];
        const INTEGRATION: &str = "DELETE FROM integrations WHERE id = $1";
        in_tx!(self, |tx| {
            for sql in DELETES {
                sqlx::query(sql).bind(id).execute(&mut *tx).await?;
            }
            let done = sqlx::query(INTEGRATION).bind(id).execute(&mut *tx).await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::not_found(format!("integration {id}")));
            }
        });
        tracing::info!(integration_id = id, "Removed integration and its data.");
        Ok(())
    }

    /// Open the integration's sealed token.
    pub async fn credential(&self, id: i64) -> Result<SecretString, StoreError> {
        const SQL: &str = "SELECT sealed FROM credentials WHERE integration_id = $1";
        let sealed = with_pool!(self, |pool| {
            sqlx::query_scalar::<_, Vec<u8>>(SQL)
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        let sealed = sealed.ok_or_else(|| StoreError::Credential {
            integration_id: id,
            reason: "no credential is stored; set one with `steward integration set-token`".into(),
        })?;
        self.sealer.open(id, &sealed)
    }

    /// Seal and store a new token for the integration.
    pub async fn replace_credential(
        &self,
        id: i64,
        token: &SecretString,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        const EXISTS: &str = "SELECT id FROM integrations WHERE id = $1";
        const UPSERT: &str = "INSERT INTO credentials (integration_id, sealed, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (integration_id) DO UPDATE SET sealed = excluded.sealed, updated_at = excluded.updated_at";
        let sealed = self.sealer.seal(id, token)?;
        in_tx!(self, |tx| {
            let exists = sqlx::query_scalar::<_, i64>(EXISTS)
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
            if exists.is_none() {
                return Err(StoreError::not_found(format!("integration {id}")));
            }
            sqlx::query(UPSERT)
                .bind(id)
                .bind(sealed)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        });
        Ok(())
    }

    /// Remember the latest connection test report.
    pub async fn record_connection_test<T: Serialize + ?Sized>(
        &self,
        id: i64,
        report: &T,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        const SQL: &str = "UPDATE integrations SET last_test = $1, last_test_at = $2 WHERE id = $3";
        let report = serde_json::to_string(report)
            .map_err(|e| StoreError::corrupt("connection test report", e))?;
        let done = with_pool!(self, |pool| {
            sqlx::query(SQL)
                .bind(report.as_str())
                .bind(now)
                .bind(id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        if done == 0 {
            return Err(StoreError::not_found(format!("integration {id}")));
        }
        Ok(())
    }
}
