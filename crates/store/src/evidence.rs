//! The evidence register: append-only evidence items in one global SHA-256 hash chain.
//!
//! Each item's `hash` covers a canonical serialization of everything it states (including
//! its `seq` and the previous item's hash), so editing, removing or reordering rows in the
//! database breaks the chain where it happened. The `evidence_head` row remembers the last
//! item appended, so removing trailing items is detected too.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::{Store, StoreError, in_tx, with_pool};

/// `prev_hash` of the first item.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// An evidence item to append; the store assigns `seq`, id, `prev_hash` and `hash`.
#[derive(Debug, Clone)]
pub struct NewEvidence {
    pub kind: String,
    pub integration_id: i64,
    pub integration_name: String,
    pub run_id: i64,
    pub collected_at: DateTime<Utc>,
    pub controls: Value,
    pub status: String,
    pub reason: Option<String>,
    pub summary: Value,
    pub sources: Value,
}

/// One stored evidence item, as read back (possibly tampered with: see [`EvidenceItem::compute_hash`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvidenceItem {
    pub seq: i64,
    /// `EV-<seq>` when written.
    pub id: String,
    pub kind: String,
    pub integration_id: i64,
    pub integration_name: String,
    pub run_id: i64,
    /// RFC 3339, microseconds, UTC; kept as text so the hashed bytes survive the database.
    pub collected_at: String,
    pub controls: Value,
    pub status: String,
    pub reason: Option<String>,
    pub summary: Value,
    pub sources: Value,
    pub prev_hash: String,
    pub hash: String,
}

/// The chain's head: the last item appended (seq 0 and the genesis hash when empty).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EvidenceHead {
    pub last_seq: i64,
    pub last_hash: String,
}

impl EvidenceItem {
    /// Hex SHA-256 over the canonical JSON (keys sorted at every level, no whitespace) of
    /// every field but `hash` itself.
    pub fn compute_hash(&self) -> String {
        self.compute_hash_as(self.seq, &self.id)
    }

    /// The hash this item would have at another position (used to tell "reordered" from
    /// "edited").
    pub fn compute_hash_as(&self, seq: i64, id: &str) -> String {
        let body = serde_json::json!({
            "seq": seq,
            "id": id,
            "kind": self.kind,
            "integration_id": self.integration_id,
            "integration_name": self.integration_name,
            "run_id": self.run_id,
            "collected_at": self.collected_at,
            "controls": self.controls,
            "status": self.status,
            "reason": self.reason,
            "summary": self.summary,
            "sources": self.sources,
            "prev_hash": self.prev_hash,
        });
        let mut canonical = String::new();
        canonical_json(&body, &mut canonical);
        hex::encode(Sha256::digest(canonical.as_bytes()))
    }
}

/// The id of the item at `seq`.
pub fn evidence_id(seq: i64) -> String {
    format!("EV-{seq}")
}

/// Serialize with object keys in bytewise order at every level, whatever order the map
/// keeps (serde_json preserves insertion order in this workspace).
fn canonical_json(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String((*k).clone()).to_string());
                out.push(':');
                if let Some(v) = map.get(*k) {
                    canonical_json(v, out);
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical_json(v, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

type Row = (
    i64,
    String,
    String,
    i64,
    String,
    i64,
    String,
    String,
    String,
    Option<String>,
    String,
    String,
    String,
    String,
);

const COLUMNS: &str = "seq, item_id, kind, integration_id, integration_name, run_id, collected_at, \
     controls, status, reason, summary, sources, prev_hash, hash";

fn from_row(row: Row) -> Result<EvidenceItem, StoreError> {
    let (
        seq,
        id,
        kind,
        integration_id,
        integration_name,
        run_id,
        collected_at,
        controls,
        status,
        reason,
        summary,
        sources,
        prev_hash,
        hash,
    ) = row;
    let parse = |what: &str, text: &str| {
        serde_json::from_str::<Value>(text)
            .map_err(|e| StoreError::corrupt(format!("evidence item {seq} {what}"), e))
    };
    Ok(EvidenceItem {
        seq,
        id,
        kind,
        integration_id,
        integration_name,
        run_id,
        collected_at,
        controls: parse("controls", &controls)?,
        status,
        reason,
        summary: parse("summary", &summary)?,
        sources: parse("sources", &sources)?,
        prev_hash,
        hash,
    })
}

impl Store {
    /// Append `items` to the chain in one transaction, in order; returns them as stored.
    pub async fn append_evidence(
        &self,
        items: &[NewEvidence],
    ) -> Result<Vec<EvidenceItem>, StoreError> {
        // Touching the head row first takes its write lock on PostgreSQL (SQLite's IMMEDIATE
        // transaction already serialises writers), so concurrent syncs extend one chain.
        const LOCK: &str = "UPDATE evidence_head SET last_seq = last_seq WHERE id = 1";
        const HEAD: &str = "SELECT last_seq, last_hash FROM evidence_head WHERE id = 1";
        const INSERT: &str = "INSERT INTO evidence_items (seq, item_id, kind, integration_id, \
             integration_name, run_id, collected_at, controls, status, reason, summary, sources, \
             prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)";
        const SET_HEAD: &str =
            "UPDATE evidence_head SET last_seq = $1, last_hash = $2 WHERE id = 1";
        let stored = in_tx!(self, |tx| {
            sqlx::query(LOCK).execute(&mut *tx).await?;
            let (mut seq, mut prev) = sqlx::query_as::<_, (i64, String)>(HEAD)
                .fetch_optional(&mut *tx)
                .await?
                .unwrap_or((0, GENESIS_HASH.to_string()));
            let mut stored = Vec::with_capacity(items.len());
            for new in items {
                seq += 1;
                let mut item = EvidenceItem {
                    seq,
                    id: evidence_id(seq),
                    kind: new.kind.clone(),
                    integration_id: new.integration_id,
                    integration_name: new.integration_name.clone(),
                    run_id: new.run_id,
                    collected_at: new
                        .collected_at
                        .to_rfc3339_opts(SecondsFormat::Micros, true),
                    controls: new.controls.clone(),
                    status: new.status.clone(),
                    reason: new.reason.clone(),
                    summary: new.summary.clone(),
                    sources: new.sources.clone(),
                    prev_hash: prev.clone(),
                    hash: String::new(),
                };
                item.hash = item.compute_hash();
                sqlx::query(INSERT)
                    .bind(item.seq)
                    .bind(&item.id)
                    .bind(&item.kind)
                    .bind(item.integration_id)
                    .bind(&item.integration_name)
                    .bind(item.run_id)
                    .bind(&item.collected_at)
                    .bind(item.controls.to_string())
                    .bind(&item.status)
                    .bind(&item.reason)
                    .bind(item.summary.to_string())
                    .bind(item.sources.to_string())
                    .bind(&item.prev_hash)
                    .bind(&item.hash)
                    .execute(&mut *tx)
                    .await?;
                prev = item.hash.clone();
                stored.push(item);
            }
            sqlx::query(SET_HEAD)
                .bind(seq)
                .bind(&prev)
                .execute(&mut *tx)
                .await?;
            stored
        });
        Ok(stored)
    }

    /// Every evidence item in chain order (by `seq`).
    pub async fn evidence_items(&self) -> Result<Vec<EvidenceItem>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM evidence_items ORDER BY seq");
        let rows = with_pool!(self, |pool| {
            sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(sql.clone()))
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(from_row).collect()
    }

    /// One evidence item by its id (`EV-12`); `None` when there is none.
    pub async fn evidence_item(&self, id: &str) -> Result<Option<EvidenceItem>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM evidence_items WHERE item_id = $1 ORDER BY seq");
        let row = with_pool!(self, |pool| {
            sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(sql.clone()))
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        row.map(from_row).transpose()
    }

    /// The chain's head as recorded at the last append.
    pub async fn evidence_head(&self) -> Result<EvidenceHead, StoreError> {
        const HEAD: &str = "SELECT last_seq, last_hash FROM evidence_head WHERE id = 1";
        let head = with_pool!(self, |pool| {
            sqlx::query_as::<_, (i64, String)>(HEAD)
                .fetch_optional(pool)
                .await?
        });
        let (last_seq, last_hash) = head.unwrap_or((0, GENESIS_HASH.to_string()));
        Ok(EvidenceHead {
            last_seq,
            last_hash,
        })
    }
}
