//! The evidence register: append-only evidence items in one global SHA-256 hash chain.
//!
//! Each item's `hash` covers a canonical serialization of everything it states (including
//! its `seq` and the previous item's hash), so editing, removing or reordering rows in the
//! database breaks the chain where it happened. The `evidence_head` row remembers the last
//! item appended, so removing trailing items is detected too.
//!
//! Entries that may hold personal data — each element of every `sources` list (raw API
//! records) and of `summary.admins` — enter the hash as their own SHA-256 digest, not as
//! clear content. After an erasure such an entry can therefore be replaced by
//! `{"redacted": "<its digest>"}` without changing the item's hash; each replacement is
//! recorded (append-only) in `evidence_redactions`, and `verify` accepts a placeholder only
//! with its record. Any other change still changes the hash.

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
            "summary": digested(&self.summary, &self.sources, "summary"),
            "sources": digested(&self.summary, &self.sources, "sources"),
            "prev_hash": self.prev_hash,
        });
        let mut canonical = String::new();
        canonical_json(&body, &mut canonical);
        hex::encode(Sha256::digest(canonical.as_bytes()))
    }
}

impl EvidenceItem {
    /// JSON pointers (`/summary/admins/0`, `/sources/users/3`) of the entries that may hold
    /// personal data, i.e. those hashed by digest.
    pub fn personal_entries(&self) -> Vec<String> {
        personal_entries(&self.summary, &self.sources)
    }

    /// The entries already replaced by their digest: `(pointer, digest)`.
    pub fn redacted_entries(&self) -> Vec<(String, String)> {
        self.personal_entries()
            .into_iter()
            .filter_map(|p| {
                let d = self.entry(&p).and_then(redacted_digest)?.to_string();
                Some((p, d))
            })
            .collect()
    }

    /// Replace every personal entry whose content mentions one of `needles` (compared
    /// lowercased) by its digest placeholder; returns `(pointer, digest)` of each. The hash
    /// is unchanged by construction.
    pub fn redact_matching(&mut self, needles: &[String]) -> Vec<(String, String)> {
        let needles: Vec<String> = needles.iter().map(|n| n.to_lowercase()).collect();
        let mut done = Vec::new();
        for pointer in self.personal_entries() {
            let Some(entry) = self.entry(&pointer) else {
                continue;
            };
            if redacted_digest(entry).is_some() {
                continue;
            }
            let text = entry.to_string().to_lowercase();
            if !needles.iter().any(|n| text.contains(n.as_str())) {
                continue;
            }
            let digest = entry_digest(entry);
            let placeholder = serde_json::json!({ REDACTED_KEY: digest });
            let (root, rest) = split_root(&pointer);
            let target = if root == "summary" {
                &mut self.summary
            } else {
                &mut self.sources
            };
            if let Some(slot) = target.pointer_mut(rest) {
                *slot = placeholder;
                done.push((pointer, digest));
            }
        }
        done
    }

    fn entry(&self, pointer: &str) -> Option<&Value> {
        let (root, rest) = split_root(pointer);
        match root {
            "summary" => self.summary.pointer(rest),
            "sources" => self.sources.pointer(rest),
            _ => None,
        }
    }
}

/// The key of the placeholder that replaces a redacted entry: `{"redacted": "<digest>"}`.
pub const REDACTED_KEY: &str = "redacted";

/// The digest a placeholder stands for, when `entry` is one.
pub fn redacted_digest(entry: &Value) -> Option<&str> {
    match entry {
        Value::Object(m) if m.len() == 1 => m.get(REDACTED_KEY)?.as_str(),
        _ => None,
    }
}

/// Hex SHA-256 of an entry's canonical JSON; a placeholder stands for the digest it holds.
pub fn entry_digest(entry: &Value) -> String {
    if let Some(d) = redacted_digest(entry) {
        return d.to_string();
    }
    let mut canonical = String::new();
    canonical_json(entry, &mut canonical);
    hex::encode(Sha256::digest(canonical.as_bytes()))
}

/// `/summary/admins/0` -> (`summary`, `/admins/0`).
fn split_root(pointer: &str) -> (&str, &str) {
    let trimmed = pointer.strip_prefix('/').unwrap_or(pointer);
    match trimmed.find('/') {
        Some(i) => (&trimmed[..i], &trimmed[i..]),
        None => (trimmed, ""),
    }
}

fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn personal_entries(summary: &Value, sources: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(admins) = summary.get("admins").and_then(Value::as_array) {
        out.extend((0..admins.len()).map(|i| format!("/summary/admins/{i}")));
    }
    if let Some(map) = sources.as_object() {
        for (k, v) in map {
            if let Some(list) = v.as_array() {
                let k = escape_pointer(k);
                out.extend((0..list.len()).map(|i| format!("/sources/{k}/{i}")));
            }
        }
    }
    out
}

/// `summary` or `sources` as hashed: personal entries replaced by their digest string.
fn digested(summary: &Value, sources: &Value, root: &str) -> Value {
    let mut view = if root == "summary" {
        summary.clone()
    } else {
        sources.clone()
    };
    for pointer in personal_entries(summary, sources) {
        let (r, rest) = split_root(&pointer);
        if r != root {
            continue;
        }
        if let Some(slot) = view.pointer_mut(rest) {
            *slot = Value::String(entry_digest(slot));
        }
    }
    view
}

/// A recorded redaction: which entry of which item was replaced by its digest, for which
/// deletion request, when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EvidenceRedaction {
    pub item_id: String,
    /// JSON pointer of the entry in the item.
    pub entry: String,
    pub digest: String,
    pub request_id: i64,
    pub redacted_at: DateTime<Utc>,
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

pub(crate) type Row = (
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

pub(crate) const COLUMNS: &str = "seq, item_id, kind, integration_id, integration_name, run_id, collected_at, \
     controls, status, reason, summary, sources, prev_hash, hash";

pub(crate) fn from_row(row: Row) -> Result<EvidenceItem, StoreError> {
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

    /// Every recorded redaction that belongs to a deletion request, oldest first.
    pub async fn evidence_redactions(&self) -> Result<Vec<EvidenceRedaction>, StoreError> {
        // A row naming no deletion request is not a redaction Steward made: it is ignored,
        // so `verify` reports the placeholder it would excuse as an edit.
        const SQL: &str = "SELECT r.item_id, r.entry, r.digest, r.request_id, r.redacted_at \
             FROM evidence_redactions r JOIN privacy_requests p ON p.id = r.request_id \
             WHERE p.kind = 'deletion' ORDER BY r.id";
        let rows = with_pool!(self, |pool| {
            sqlx::query_as::<_, (String, String, String, i64, DateTime<Utc>)>(SQL)
                .fetch_all(pool)
                .await?
        });
        Ok(rows
            .into_iter()
            .map(
                |(item_id, entry, digest, request_id, redacted_at)| EvidenceRedaction {
                    item_id,
                    entry,
                    digest,
                    request_id,
                    redacted_at,
                },
            )
            .collect())
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    fn item() -> EvidenceItem {
        let mut i = EvidenceItem {
            seq: 1,
            id: evidence_id(1),
            kind: "admin_access_review".into(),
            integration_id: 1,
            integration_name: "okta".into(),
            run_id: 1,
            collected_at: "2026-11-01T00:00:00.000000Z".into(),
            controls: json!([]),
            status: "evidenced".into(),
            reason: None,
            summary: json!({"admin_count": 2, "admins": [
                {"user_id": "00u1", "login": "jane@example.com"},
                {"user_id": "00u2", "login": "joe@example.com"},
            ]}),
            sources: json!({"users": [{"id": "00u1", "profile": {"login": "JANE@example.com"}}, {"id": "00u2"}], "groups": []}),
            prev_hash: GENESIS_HASH.into(),
            hash: String::new(),
        };
        i.hash = i.compute_hash();
        i
    }

    #[test]
    fn redaction_keeps_the_hash_and_any_other_change_breaks_it() {
        let original = item();
        let mut redacted = original.clone();
        let done = redacted.redact_matching(&["jane@example.com".into(), "00u1".into()]);
        assert_eq!(
            done.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>(),
            ["/summary/admins/0", "/sources/users/0"]
        );
        assert!(
            !redacted.summary.to_string().contains("jane")
                && !redacted.sources.to_string().to_lowercase().contains("jane")
        );
        assert_eq!(redacted.compute_hash(), original.hash);
        assert_eq!(redacted.redacted_entries(), done);
        // Redacting again changes nothing.
        assert!(
            redacted
                .clone()
                .redact_matching(&["00u1".into()])
                .is_empty()
        );

        let mut edited = redacted.clone();
        edited.summary["admin_count"] = json!(1);
        assert_ne!(edited.compute_hash(), original.hash);
        let mut wrong_digest = redacted.clone();
        wrong_digest.summary["admins"][0] = json!({REDACTED_KEY: "00"});
        assert_ne!(wrong_digest.compute_hash(), original.hash);
        let mut dropped = redacted.clone();
        dropped.sources["users"].as_array_mut().unwrap().remove(0);
        assert_ne!(dropped.compute_hash(), original.hash);
        let mut moved = original.clone();
        moved.sources["users"].as_array_mut().unwrap().swap(0, 1);
        assert_ne!(moved.compute_hash(), original.hash);
    }
}
