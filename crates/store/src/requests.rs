//! Privacy requests: the append-only audit trail (requests + their events), receipts, and
//! erasing one person's data from the local snapshots.
//!
//! The person's email is never stored in clear. Each request and each receipt keeps
//! `sha256(salt ‖ lowercase email)` with its own random 16-byte salt beside it: the same
//! address cannot be linked across rows without knowing it, yet a later request for the same
//! address can recognise a receipt (it recomputes the hash with that receipt's salt).
//!
//! Erasure reaches every table that can hold the person: snapshots and System Log events,
//! inventory admins and change history, and evidence items (personal entries replaced by
//! their digest, see `evidence`). The person's identifiers are then kept, sealed with the
//! store's key, in `erased_subjects`, and [`Store::stage`] drops or redacts what later
//! syncs read back about them (Okta keeps their deactivation and deletion events).

use std::borrow::Cow;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use steward_model::{PrincipalKind, Record};

use crate::evidence::{
    COLUMNS as EVIDENCE_COLUMNS, Row as EvidenceRow, from_row as evidence_from_row,
};
use crate::{Db, Store, StoreError, in_tx, with_pool};

/// Access (export) or deletion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RequestKind {
    Access,
    Deletion,
}

impl RequestKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestKind::Access => "access",
            RequestKind::Deletion => "deletion",
        }
    }
    fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "access" => Ok(RequestKind::Access),
            "deletion" => Ok(RequestKind::Deletion),
            other => Err(StoreError::corrupt(
                "privacy requests",
                format!("unknown kind {other:?}"),
            )),
        }
    }
}

/// A salted hash of an email address (lowercased first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EmailHash {
    /// Hex sha256(salt ‖ lowercase email).
    pub hash: String,
    /// Hex of the 16 random salt bytes.
    pub salt: String,
}

impl EmailHash {
    /// Hash `email` with a fresh random salt.
    pub fn new(email: &str) -> EmailHash {
        let mut salt = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut salt);
        let salt = hex::encode(salt);
        EmailHash {
            hash: Self::with_salt(email, &salt),
            salt,
        }
    }

    /// The hash of `email` under a known (hex) salt.
    pub fn with_salt(email: &str, salt: &str) -> String {
        let mut h = Sha256::new();
        h.update(salt.as_bytes());
        h.update(email.trim().to_lowercase().as_bytes());
        hex::encode(h.finalize())
    }

    /// True when this hash was made from `email`.
    pub fn matches(&self, email: &str) -> bool {
        Self::with_salt(email, &self.salt) == self.hash
    }
}

/// A request as it is opened.
#[derive(Debug, Clone)]
pub struct NewPrivacyRequest {
    pub kind: RequestKind,
    pub requested_by: String,
    pub requested_at: DateTime<Utc>,
    pub dry_run: bool,
    pub subject: EmailHash,
}

/// A stored request with its latest status.
#[derive(Debug, Clone, Serialize)]
pub struct PrivacyRequest {
    pub id: i64,
    pub kind: RequestKind,
    pub requested_by: String,
    pub requested_at: DateTime<Utc>,
    pub dry_run: bool,
    pub subject: EmailHash,
    /// Status of the latest event (`started`, `completed`, `refused`, `failed`, ...).
    pub status: String,
    /// When the latest event was written.
    pub updated_at: DateTime<Utc>,
    /// Detail of the latest event.
    pub detail: Value,
}

/// One step of a request.
#[derive(Debug, Clone, Serialize)]
pub struct PrivacyRequestEvent {
    pub at: DateTime<Utc>,
    pub status: String,
    pub detail: Value,
}

/// What a receipt records.
#[derive(Debug, Clone)]
pub struct NewReceipt {
    pub request_id: i64,
    pub kind: RequestKind,
    pub email: EmailHash,
    /// `[{ "integration": name, "outcome": ... }]`
    pub integrations: Value,
    /// `deleted`, `already_deleted`, `refused`, `ambiguous`, `no_match`, `exported`, `dry_run`, ...
    pub outcome: String,
    pub requested_at: DateTime<Utc>,
    pub completed_at: DateTime<Utc>,
}

/// A stored receipt.
#[derive(Debug, Clone, Serialize)]
pub struct Receipt {
    pub id: i64,
    pub request_id: i64,
    pub kind: RequestKind,
    pub email: EmailHash,
    pub integrations: Value,
    pub outcome: String,
    pub requested_at: DateTime<Utc>,
    pub completed_at: DateTime<Utc>,
}

/// What erasing one person removed from the local store.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Erased {
    /// Snapshot records of the person (account, memberships, app users, factors, roles).
    pub records: u64,
    /// System Log events where they are actor or target.
    pub log_events: u64,
    /// Other records that mentioned them (e.g. as someone's manager), redacted in place.
    pub redacted: u64,
    /// Evidence entries (raw sources, admin lines) replaced by their digest.
    pub evidence_entries: u64,
    /// Inventory rows (app admins, change history) where they were named.
    pub inventory: u64,
}

/// One person to erase from one integration's local data.
#[derive(Debug, Clone)]
pub struct Erasure<'a> {
    pub integration_id: i64,
    pub account_id: &'a str,
    /// Login, emails: every string that names them.
    pub identifiers: &'a [String],
    /// The deletion request this erasure answers (recorded with each evidence redaction).
    pub request_id: i64,
    /// The requested email, kept only as a salted hash in `erased_subjects`.
    pub email: &'a str,
    pub at: DateTime<Utc>,
}

/// The sealed content of an `erased_subjects` row.
#[derive(Debug, Serialize, Deserialize)]
struct SealedSubject {
    account_id: String,
    /// Already expanded (as given and lowercased, at least 3 characters).
    identifiers: Vec<String>,
}

fn subject_aad(integration_id: i64) -> String {
    format!("integration:{integration_id}:erased")
}

/// The statements that take one person out of snapshot rows, for a scope of rows: `$1` is
/// what the scope names (an integration's runs, or one run), `$2` the account id or one
/// identifier.
struct Unpublish {
    /// Their own records (`$2`: the account id): account, memberships, app users, factors
    /// and direct role assignments.
    own: String,
    /// System Log events naming them anywhere (`$2`: an identifier).
    logs: String,
    /// Every other record naming them gets `[erased]` in its own fields and its source
    /// object (`raw`, NULL-safe: NULL stays NULL) (`$2`: an identifier).
    redact: String,
}

impl Unpublish {
    /// `records_scope` and `log_scope`: conditions on `records` and `log_events` rows.
    fn sql(records_scope: &str, log_scope: &str) -> Unpublish {
        Unpublish {
            own: format!(
                "DELETE FROM records WHERE {records_scope} AND ((resource = 'users' AND record_key = $2) \
                 OR (resource IN ('memberships', 'app_users') AND record_key LIKE '%/' || $2) \
                 OR (resource = 'factors' AND record_key LIKE $2 || '/%') \
                 OR (resource = 'role_assignments' AND record_key LIKE 'account/' || $2 || '/%'))"
            ),
            logs: format!(
                "DELETE FROM log_events WHERE {log_scope} \
                 AND (data <> REPLACE(data, $2, '') OR raw <> REPLACE(raw, $2, ''))"
            ),
            redact: format!(
                "UPDATE records SET data = REPLACE(data, $2, '[erased]'), raw = REPLACE(raw, $2, '[erased]') \
                 WHERE {records_scope} AND (data <> REPLACE(data, $2, '') OR raw <> REPLACE(raw, $2, ''))"
            ),
        }
    }
}

/// The strings that name the person: the account id, then each identifier as given and
/// lowercased.
fn needles(account_id: &str, identifiers: &[String]) -> Vec<String> {
    let mut ids: Vec<String> = vec![account_id.to_string()];
    for s in identifiers {
        for v in [s.clone(), s.to_lowercase()] {
            // Very short strings would redact unrelated text.
            if v.len() >= 3 && !ids.contains(&v) {
                ids.push(v);
            }
        }
    }
    ids
}

/// ASCII-case-insensitive replacement (identifiers are logins, emails and ids).
fn replace_ci(hay: &str, needle: &str, with: &str) -> String {
    if needle.is_empty() {
        return hay.to_string();
    }
    let lower = hay.to_ascii_lowercase();
    let n = needle.to_ascii_lowercase();
    let mut out = String::with_capacity(hay.len());
    let mut last = 0;
    for (i, _) in lower.match_indices(n.as_str()) {
        if i < last {
            continue;
        }
        out.push_str(&hay[last..i]);
        out.push_str(with);
        last = i + n.len();
    }
    out.push_str(&hay[last..]);
    out
}

/// Is `record` the erased account's own (account, membership, app user, factor, direct
/// role) or a log event (any event naming them goes, as in [`Store::erase_person`])?
fn owned_by(record: &Record, account_id: &str) -> bool {
    match record {
        Record::Account(a) => a.id == account_id,
        Record::Membership(m) => m.account_id == account_id,
        Record::AppUser(a) => a.account_id == account_id,
        Record::Factor(f) => f.account_id == account_id,
        Record::RoleAssignment(r) => {
            r.principal_kind == PrincipalKind::Account && r.principal_id == account_id
        }
        Record::LogEvent(_) => true,
        _ => false,
    }
}

type RequestRow = (
    i64,
    String,
    String,
    DateTime<Utc>,
    bool,
    String,
    String,
    Option<String>,
    Option<DateTime<Utc>>,
    Option<String>,
);
type ReceiptRow = (
    i64,
    i64,
    String,
    String,
    String,
    String,
    String,
    DateTime<Utc>,
    DateTime<Utc>,
);

fn json(s: &str, what: &str) -> Result<Value, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::corrupt(what.to_string(), e))
}

fn receipt_from(row: ReceiptRow) -> Result<Receipt, StoreError> {
    let (id, request_id, kind, hash, salt, integrations, outcome, requested_at, completed_at) = row;
    Ok(Receipt {
        id,
        request_id,
        kind: RequestKind::parse(&kind)?,
        email: EmailHash { hash, salt },
        integrations: json(&integrations, "privacy receipt")?,
        outcome,
        requested_at,
        completed_at,
    })
}

const RECEIPT_COLUMNS: &str = "SELECT id, request_id, kind, email_hash, salt, integrations, outcome, requested_at, completed_at FROM privacy_receipts";

/// Run the [`Unpublish`] statements `$sql` in `$tx` for one person, in the scope that `$scope`
/// binds as `$1`: their own records by `$account_id`, then the log events and other records
/// naming each of `$ids`. Evaluates to `(records deleted, log events deleted, records
/// redacted)`. Compiled once per backend, like the transactions it runs in.
macro_rules! unpublish {
    ($tx:ident, $sql:expr, $scope:expr, $account_id:expr, $ids:expr) => {{
        let sql: &Unpublish = $sql;
        let own = sqlx::query(sqlx::AssertSqlSafe(sql.own.clone()))
            .bind($scope)
            .bind($account_id)
            .execute(&mut *$tx)
            .await?
            .rows_affected();
        let (mut logs, mut redacted) = (0, 0);
        for id in $ids {
            logs += sqlx::query(sqlx::AssertSqlSafe(sql.logs.clone()))
                .bind($scope)
                .bind(id)
                .execute(&mut *$tx)
                .await?
                .rows_affected();
            redacted += sqlx::query(sqlx::AssertSqlSafe(sql.redact.clone()))
                .bind($scope)
                .bind(id)
                .execute(&mut *$tx)
                .await?
                .rows_affected();
        }
        (own, logs, redacted)
    }};
}

/// Records of the integration's runs (every run, not only the current one).
const IN_RUNS: &str = "run_id IN (SELECT id FROM sync_runs WHERE integration_id = $1)";

impl Store {
    /// Open a request (its first audit row); returns its id.
    pub async fn create_privacy_request(&self, r: &NewPrivacyRequest) -> Result<i64, StoreError> {
        const SQL: &str = "INSERT INTO privacy_requests (kind, requested_by, requested_at, dry_run, subject_hash, subject_salt) \
                           VALUES ($1, $2, $3, $4, $5, $6) RETURNING id";
        const EVENT: &str = "INSERT INTO privacy_request_events (request_id, at, status, detail) VALUES ($1, $2, 'started', '{}')";
        Ok(in_tx!(self, |tx| {
            let id = sqlx::query_scalar::<_, i64>(SQL)
                .bind(r.kind.as_str())
                .bind(&r.requested_by)
                .bind(r.requested_at)
                .bind(r.dry_run)
                .bind(&r.subject.hash)
                .bind(&r.subject.salt)
                .fetch_one(&mut *tx)
                .await?;
            sqlx::query(EVENT)
                .bind(id)
                .bind(r.requested_at)
                .execute(&mut *tx)
                .await?;
            id
        }))
    }

    /// Append a step to a request's audit trail (never changes earlier rows).
    pub async fn append_privacy_event(
        &self,
        request_id: i64,
        at: DateTime<Utc>,
        status: &str,
        detail: &Value,
    ) -> Result<(), StoreError> {
        const SQL: &str = "INSERT INTO privacy_request_events (request_id, at, status, detail) VALUES ($1, $2, $3, $4)";
        let detail = detail.to_string();
        with_pool!(self, |pool| {
            sqlx::query(SQL)
                .bind(request_id)
                .bind(at)
                .bind(status)
                .bind(&detail)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Every request, newest first, with its latest status.
    pub async fn privacy_requests(&self) -> Result<Vec<PrivacyRequest>, StoreError> {
        const SQL: &str = "SELECT r.id, r.kind, r.requested_by, r.requested_at, r.dry_run, r.subject_hash, r.subject_salt, \
             e.status, e.at, e.detail FROM privacy_requests r \
             LEFT JOIN privacy_request_events e ON e.id = \
               (SELECT MAX(x.id) FROM privacy_request_events x WHERE x.request_id = r.id) \
             ORDER BY r.id DESC";
        let rows = with_pool!(self, |pool| sqlx::query_as::<_, RequestRow>(SQL)
            .fetch_all(pool)
            .await?);
        rows.into_iter()
            .map(
                |(id, kind, by, at, dry_run, hash, salt, status, updated, detail)| {
                    Ok(PrivacyRequest {
                        id,
                        kind: RequestKind::parse(&kind)?,
                        requested_by: by,
                        requested_at: at,
                        dry_run,
                        subject: EmailHash { hash, salt },
                        status: status.unwrap_or_else(|| "started".into()),
                        updated_at: updated.unwrap_or(at),
                        detail: detail
                            .map(|d| json(&d, "privacy request event"))
                            .transpose()?
                            .unwrap_or(Value::Null),
                    })
                },
            )
            .collect()
    }

    /// The audit trail of one request, oldest first.
    pub async fn privacy_request_events(
        &self,
        request_id: i64,
    ) -> Result<Vec<PrivacyRequestEvent>, StoreError> {
        const SQL: &str = "SELECT at, status, detail FROM privacy_request_events WHERE request_id = $1 ORDER BY id";
        let rows = with_pool!(self, |pool| {
            sqlx::query_as::<_, (DateTime<Utc>, String, String)>(SQL)
                .bind(request_id)
                .fetch_all(pool)
                .await?
        });
        rows.into_iter()
            .map(|(at, status, detail)| {
                Ok(PrivacyRequestEvent {
                    at,
                    status,
                    detail: json(&detail, "privacy request event")?,
                })
            })
            .collect()
    }

    /// Keep a receipt; returns its id.
    pub async fn add_privacy_receipt(&self, r: &NewReceipt) -> Result<i64, StoreError> {
        const SQL: &str = "INSERT INTO privacy_receipts (request_id, kind, email_hash, salt, integrations, outcome, requested_at, completed_at) \
                           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id";
        let integrations = r.integrations.to_string();
        Ok(with_pool!(self, |pool| {
            sqlx::query_scalar::<_, i64>(SQL)
                .bind(r.request_id)
                .bind(r.kind.as_str())
                .bind(&r.email.hash)
                .bind(&r.email.salt)
                .bind(&integrations)
                .bind(&r.outcome)
                .bind(r.requested_at)
                .bind(r.completed_at)
                .fetch_one(pool)
                .await?
        }))
    }

    /// Every receipt, newest first.
    pub async fn privacy_receipts(&self) -> Result<Vec<Receipt>, StoreError> {
        let sql = format!("{RECEIPT_COLUMNS} ORDER BY id DESC");
        let rows = with_pool!(self, |pool| {
            sqlx::query_as::<_, ReceiptRow>(sqlx::AssertSqlSafe(sql.clone()))
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(receipt_from).collect()
    }

    /// The latest deletion receipt with outcome `deleted` for `email` (recognised by
    /// recomputing each receipt's salted hash), if any.
    pub async fn deletion_receipt_for(&self, email: &str) -> Result<Option<Receipt>, StoreError> {
        let sql = format!(
            "{RECEIPT_COLUMNS} WHERE kind = 'deletion' AND outcome = 'deleted' ORDER BY id DESC"
        );
        let rows = with_pool!(self, |pool| {
            sqlx::query_as::<_, ReceiptRow>(sqlx::AssertSqlSafe(sql.clone()))
                .fetch_all(pool)
                .await?
        });
        for row in rows {
            let r = receipt_from(row)?;
            if r.email.matches(email) {
                return Ok(Some(r));
            }
        }
        Ok(None)
    }

    /// Remove one person from every snapshot of an integration, in one transaction: their
    /// account record, memberships, app users, factors and direct role assignments, System
    /// Log events naming them (any of `identifiers` — id, login, emails — anywhere in the
    /// event), and any other record that mentions an identifier has it replaced by
    /// `[erased]` (inventory admins, owners and change history too). Evidence entries naming
    /// them are replaced by their digest, each recorded in `evidence_redactions` for
    /// `e.request_id`, so the chain still verifies. Their identifiers are sealed into
    /// `erased_subjects` so later syncs leave them out. On SQLite the deleted bytes are overwritten (`secure_delete`) and the WAL
    /// checkpointed, and the file is rebuilt (`VACUUM`, seconds on a large store), so the data
    /// is gone from the files, not only from the tables.
    pub async fn erase_person(&self, e: &Erasure<'_>) -> Result<Erased, StoreError> {
        let (integration_id, account_id) = (e.integration_id, e.account_id);
        let unpublish = Unpublish::sql(IN_RUNS, "integration_id = $1");
        // An app's admins are listed by login; the change history repeats old and new lists.
        const INVENTORY: [&str; 3] = [
            "UPDATE inventory_items SET admins = REPLACE(admins, $2, '[erased]') \
             WHERE integration_id = $1 AND admins <> REPLACE(admins, $2, '')",
            "UPDATE inventory_items SET owner = REPLACE(owner, $2, '[erased]') \
             WHERE integration_id = $1 AND owner <> REPLACE(owner, $2, '')",
            "UPDATE inventory_changes SET fields = REPLACE(fields, $2, '[erased]') \
             WHERE integration_id = $1 AND fields <> REPLACE(fields, $2, '')",
        ];
        let evidence_sql = format!(
            "SELECT {EVIDENCE_COLUMNS} FROM evidence_items WHERE integration_id = $1 ORDER BY seq"
        );
        const EVIDENCE_SET: &str =
            "UPDATE evidence_items SET summary = $2, sources = $3 WHERE seq = $1";
        const REDACTION: &str = "INSERT INTO evidence_redactions (item_id, entry, digest, request_id, redacted_at) \
             VALUES ($1, $2, $3, $4, $5)";
        const SUBJECT: &str = "INSERT INTO erased_subjects (integration_id, request_id, subject_hash, subject_salt, \
             sealed_identifiers, erased_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id";
        // Runs staging now may still write batches encoded before this erasure: they erase
        // the subject again before they are published (see `Store::erase_late`).
        const LATE: &str = "UPDATE sync_runs SET late_erasures = COALESCE(late_erasures || ',', '') || $2 \
             WHERE integration_id = $1 AND status = 'running'";
        let ids = needles(account_id, e.identifiers);
        let subject = EmailHash::new(e.email);
        let sealed_subject = serde_json::to_vec(&SealedSubject {
            account_id: account_id.to_string(),
            identifiers: ids.clone(),
        })
        .ok()
        .and_then(|plain| self.sealer.seal_bytes(&subject_aad(integration_id), &plain))
        .ok_or_else(|| StoreError::corrupt("erased subject", "sealing failed"))?;
        let mut erased = Erased::default();
        macro_rules! steps {
            ($tx:ident) => {{
                let (records, log_events, redacted) =
                    unpublish!($tx, &unpublish, integration_id, account_id, &ids);
                erased.records += records;
                erased.log_events += log_events;
                erased.redacted += redacted;
                for id in &ids {
                    for sql in INVENTORY {
                        erased.inventory += sqlx::query(sql)
                            .bind(integration_id)
                            .bind(id)
                            .execute(&mut *$tx)
                            .await?
                            .rows_affected();
                    }
                }
                let rows =
                    sqlx::query_as::<_, EvidenceRow>(sqlx::AssertSqlSafe(evidence_sql.clone()))
                        .bind(integration_id)
                        .fetch_all(&mut *$tx)
                        .await?;
                for row in rows {
                    let mut item = evidence_from_row(row)?;
                    let done = item.redact_matching(&ids);
                    if done.is_empty() {
                        continue;
                    }
                    sqlx::query(EVIDENCE_SET)
                        .bind(item.seq)
                        .bind(item.summary.to_string())
                        .bind(item.sources.to_string())
                        .execute(&mut *$tx)
                        .await?;
                    for (entry, digest) in &done {
                        sqlx::query(REDACTION)
                            .bind(&item.id)
                            .bind(entry)
                            .bind(digest)
                            .bind(e.request_id)
                            .bind(e.at)
                            .execute(&mut *$tx)
                            .await?;
                    }
                    erased.evidence_entries += done.len() as u64;
                }
                let subject_id = sqlx::query_scalar::<_, i64>(SUBJECT)
                    .bind(integration_id)
                    .bind(e.request_id)
                    .bind(&subject.hash)
                    .bind(&subject.salt)
                    .bind(&sealed_subject)
                    .bind(e.at)
                    .fetch_one(&mut *$tx)
                    .await?;
                sqlx::query(LATE)
                    .bind(integration_id)
                    .bind(subject_id.to_string())
                    .execute(&mut *$tx)
                    .await?;
            }};
        }
        match &self.db {
            Db::Sqlite(pool) => {
                let mut conn = pool.acquire().await?;
                // Zero freed space so the erased bytes do not linger in free pages.
                sqlx::query("PRAGMA secure_delete = ON")
                    .execute(&mut *conn)
                    .await?;
                {
                    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
                    steps!(tx);
                    tx.commit().await?;
                }
                // Pages freed earlier (e.g. by sync staging, without secure_delete) may still
                // hold old copies of the person's rows: rebuild the file from live rows only,
                // then drop the old page images the WAL still holds.
                sqlx::query("VACUUM").execute(&mut *conn).await?;
                sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                    .execute(&mut *conn)
                    .await?;
            }
            Db::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                steps!(tx);
                tx.commit().await?;
            }
        }
        Ok(erased)
    }

    /// Erase from a run what it staged about people erased while it was staging (noted on
    /// the run by [`Store::erase_person`]): a batch is encoded, leaving erased people out,
    /// before it is written, so a person erased in between can be in it. Called by
    /// [`Store::publish_run`] once every batch is written; a person erased after that point
    /// is erased from the run's rows by `erase_person` itself. Nothing to do, one indexed read,
    /// when nobody was erased during the run.
    pub(crate) async fn erase_late(&self, run_id: i64) -> Result<(), StoreError> {
        const LATE: &str = "SELECT integration_id, late_erasures FROM sync_runs WHERE id = $1";
        const SUBJECTS: &str =
            "SELECT id, sealed_identifiers FROM erased_subjects WHERE integration_id = $1";
        let late = with_pool!(self, |pool| {
            sqlx::query_as::<_, (i64, Option<String>)>(LATE)
                .bind(run_id)
                .fetch_optional(pool)
                .await?
        });
        let Some((integration_id, Some(late))) = late else {
            return Ok(());
        };
        let late: Vec<i64> = late.split(',').filter_map(|id| id.parse().ok()).collect();
        let rows = with_pool!(self, |pool| {
            sqlx::query_as::<_, (i64, Vec<u8>)>(SUBJECTS)
                .bind(integration_id)
                .fetch_all(pool)
                .await?
        });
        let mut subjects = Vec::new();
        for (_, sealed) in rows.into_iter().filter(|(id, _)| late.contains(id)) {
            // Failing the publish beats publishing an erased person.
            subjects.push(self.open_subject(integration_id, &sealed)?);
        }
        let sql = Unpublish::sql("run_id = $1", "run_id = $1");
        macro_rules! steps {
            ($tx:ident) => {{
                for subject in &subjects {
                    unpublish!($tx, &sql, run_id, &subject.account_id, &subject.identifiers);
                }
            }};
        }
        match &self.db {
            Db::Sqlite(pool) => {
                let mut conn = pool.acquire().await?;
                // As in `erase_person`: the deleted bytes are zeroed, not left in free pages.
                sqlx::query("PRAGMA secure_delete = ON")
                    .execute(&mut *conn)
                    .await?;
                {
                    let mut tx =
                        sqlx::Connection::begin_with(&mut *conn, "BEGIN IMMEDIATE").await?;
                    steps!(tx);
                    tx.commit().await?;
                }
                sqlx::query("PRAGMA secure_delete = OFF")
                    .execute(&mut *conn)
                    .await?;
            }
            Db::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                steps!(tx);
                tx.commit().await?;
            }
        }
        tracing::info!(
            run_id,
            people = subjects.len(),
            "People erased while the run was staging were erased from it."
        );
        Ok(())
    }

    /// The identifiers sealed in an `erased_subjects` row; failing beats silently bringing
    /// an erased person back.
    fn open_subject(
        &self,
        integration_id: i64,
        sealed: &[u8],
    ) -> Result<SealedSubject, StoreError> {
        self.sealer
            .open_bytes(&subject_aad(integration_id), sealed)
            .and_then(|plain| serde_json::from_slice::<SealedSubject>(&plain).ok())
            .ok_or_else(|| {
                StoreError::corrupt(
                    "erased subjects",
                    "a row cannot be opened with this master key; restore the key it was sealed with",
                )
            })
    }

    /// The people erased from the run's integration, read once when its staging begins
    /// (one indexed query). A person erased later, while the run is running, is noted on the
    /// run and erased from it before it is published ([`Store::erase_late`]).
    pub async fn erased_people(&self, run_id: i64) -> Result<ErasedPeople, StoreError> {
        const SQL: &str = "SELECT s.integration_id, s.sealed_identifiers FROM erased_subjects s \
             JOIN sync_runs r ON r.integration_id = s.integration_id WHERE r.id = $1 ORDER BY s.id";
        let rows = with_pool!(self, |pool| {
            sqlx::query_as::<_, (i64, Vec<u8>)>(SQL)
                .bind(run_id)
                .fetch_all(pool)
                .await?
        });
        let mut subjects = Vec::with_capacity(rows.len());
        for (integration_id, sealed) in rows {
            // Failing the sync beats silently bringing an erased person back.
            subjects.push(self.open_subject(integration_id, &sealed)?);
        }
        Ok(ErasedPeople {
            subjects: Arc::new(subjects),
        })
    }
}

/// People erased from an integration (see [`Store::erased_people`]), to leave out of what a
/// sync stages. Cheap to clone; its `Debug` shows how many, never who.
#[derive(Clone, Default)]
pub struct ErasedPeople {
    subjects: Arc<Vec<SealedSubject>>,
}

impl std::fmt::Debug for ErasedPeople {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ErasedPeople")
            .field("count", &self.subjects.len())
            .finish()
    }
}

impl ErasedPeople {
    /// `records` without what they say about these people: their own records and any log
    /// event naming them are dropped, other records naming them are redacted to `[erased]`
    /// (as [`Store::erase_person`] does). Borrowed as is when nobody was erased.
    pub(crate) fn apply<'r>(&self, records: &'r [Record]) -> Result<Cow<'r, [Record]>, StoreError> {
        let subjects = &self.subjects;
        if subjects.is_empty() || records.is_empty() {
            return Ok(Cow::Borrowed(records));
        }
        let mut out = Vec::with_capacity(records.len());
        'records: for record in records {
            let text = serde_json::to_string(record)
                .map_err(|e| StoreError::corrupt(format!("a {} record", record.resource()), e))?;
            let lower = text.to_ascii_lowercase();
            let mut redacted: Option<String> = None;
            for s in subjects.iter() {
                let named = s
                    .identifiers
                    .iter()
                    .any(|id| lower.contains(&id.to_ascii_lowercase()));
                if !named {
                    continue;
                }
                if owned_by(record, &s.account_id) {
                    continue 'records;
                }
                let mut t = redacted.take().unwrap_or_else(|| text.clone());
                for id in &s.identifiers {
                    t = replace_ci(&t, id, "[erased]");
                }
                redacted = Some(t);
            }
            match redacted {
                None => out.push(record.clone()),
                // A record that no longer parses once redacted is dropped rather than kept.
                Some(t) => out.extend(serde_json::from_str::<Record>(&t).ok()),
            }
        }
        Ok(Cow::Owned(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_ci_ignores_ascii_case() {
        assert_eq!(
            replace_ci("a Jane@X.com b jane@x.com", "jane@x.com", "[erased]"),
            "a [erased] b [erased]"
        );
        assert_eq!(replace_ci("nothing", "jane", "[erased]"), "nothing");
        assert_eq!(
            needles("00u1", &["Jane@X.com".into(), "ab".into()]),
            ["00u1", "Jane@X.com", "jane@x.com"]
        );
    }
}
