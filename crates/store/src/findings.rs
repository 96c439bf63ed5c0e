//! Identity-security findings: what each sync run found, kept with its history (the run that
//! first saw a finding and the run that no longer did), per-kind evaluation state, and the
//! thresholds the findings are computed with.
//!
//! A finding is open while `resolved_run` is NULL; at most one open row exists per
//! (integration, kind, subject). A kind that could not be evaluated at a run (its resource
//! was unreadable) leaves its open findings as they were: absence of evidence is not a fix.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::QueryBuilder;

use crate::{Store, StoreError, in_tx, to_u64, with_pool};

/// Rows per multi-row statement (10 binds each, well under both backends' limits).
const ROWS_PER_STATEMENT: usize = 500;

/// One finding computed from a snapshot.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewFinding {
    pub kind: String,
    /// Stable within the kind: account id, app id, `account/role`, ...
    pub subject_key: String,
    /// Human label: login, app label, ...
    pub subject: String,
    /// `high`, `medium` or `low`.
    pub severity: String,
    pub detail: String,
    /// The records behind the finding, as compact JSON: kept serialised because a sync can
    /// find tens of thousands (every dormant account with its apps), and as JSON trees they
    /// were the largest allocation of the whole sync.
    pub evidence: String,
}

/// Whether one finding kind could be evaluated at a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KindEvaluation {
    pub kind: String,
    pub evaluated: bool,
    /// Why not ("not evaluated: admin role assignments could not be read: ...").
    pub reason: Option<String>,
}

/// A stored finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub id: i64,
    pub integration_id: i64,
    pub kind: String,
    pub subject_key: String,
    pub subject: String,
    pub severity: String,
    pub detail: String,
    pub evidence: Value,
    pub first_seen_run: i64,
    pub first_seen_at: DateTime<Utc>,
    pub last_seen_run: i64,
    pub resolved_run: Option<i64>,
    pub resolved_at: Option<DateTime<Utc>>,
}

/// A kind's state at an integration's latest evaluated run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FindingEvaluation {
    pub integration_id: i64,
    pub kind: String,
    pub run_id: i64,
    pub evaluated_at: DateTime<Utc>,
    pub evaluated: bool,
    pub reason: Option<String>,
    pub open_count: u64,
}

/// What applying one run's findings changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FindingsUpdate {
    pub integration_id: i64,
    pub run_id: i64,
    pub new: u64,
    pub resolved: u64,
    pub open: u64,
}

/// Which findings to list.
#[derive(Debug, Clone, Default)]
pub struct FindingFilter {
    pub integration_id: Option<i64>,
    pub kind: Option<String>,
    /// Include resolved findings (history), not only open ones.
    pub include_resolved: bool,
}

#[derive(sqlx::FromRow)]
struct FindingRow {
    id: i64,
    integration_id: i64,
    kind: String,
    subject_key: String,
    subject: String,
    severity: String,
    detail: String,
    evidence: String,
    first_seen_run: i64,
    first_seen_at: DateTime<Utc>,
    last_seen_run: i64,
    resolved_run: Option<i64>,
    resolved_at: Option<DateTime<Utc>>,
}

fn from_row(row: FindingRow) -> Result<Finding, StoreError> {
    let evidence = serde_json::from_str(&row.evidence)
        .map_err(|e| StoreError::corrupt(format!("evidence of finding {}", row.id), e))?;
    Ok(Finding {
        id: row.id,
        integration_id: row.integration_id,
        kind: row.kind,
        subject_key: row.subject_key,
        subject: row.subject,
        severity: row.severity,
        detail: row.detail,
        evidence,
        first_seen_run: row.first_seen_run,
        first_seen_at: row.first_seen_at,
        last_seen_run: row.last_seen_run,
        resolved_run: row.resolved_run,
        resolved_at: row.resolved_at,
    })
}

const SELECT: &str = "SELECT id, integration_id, kind, subject_key, subject, severity, detail, evidence, \
     first_seen_run, first_seen_at, last_seen_run, resolved_run, resolved_at FROM findings";

impl Store {
    /// Record the findings sync run `run_id` computed, in one transaction: new ones are
    /// inserted, ones still present are refreshed, and open ones of an evaluated kind that
    /// are no longer found are resolved at this run. Kinds not evaluated keep their open
    /// findings untouched.
    pub async fn apply_findings(
        &self,
        integration_id: i64,
        run_id: i64,
        now: DateTime<Utc>,
        evaluations: &[KindEvaluation],
        found: &[NewFinding],
    ) -> Result<FindingsUpdate, StoreError> {
        const OPEN: &str = "SELECT id, kind, subject_key, detail, evidence FROM findings \
             WHERE integration_id = $1 AND resolved_run IS NULL";
        const TOUCH: &str = "UPDATE findings SET last_seen_run = $1 \
             WHERE integration_id = $2 AND kind = $3 AND resolved_run IS NULL";
        const REFRESH: &str = "UPDATE findings SET subject = $1, severity = $2, detail = $3, evidence = $4 WHERE id = $5";
        const EVALUATION: &str = "INSERT INTO finding_evaluations \
             (integration_id, kind, run_id, evaluated_at, evaluated, reason, open_count) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (integration_id, kind) DO UPDATE SET \
             run_id = excluded.run_id, evaluated_at = excluded.evaluated_at, \
             evaluated = excluded.evaluated, reason = excluded.reason, open_count = excluded.open_count";
        let evaluated: BTreeSet<&str> = evaluations
            .iter()
            .filter(|e| e.evaluated)
            .map(|e| e.kind.as_str())
            .collect();
        // Serialise before taking the write lock.
        let mut wanted: HashMap<(&str, &str), (&NewFinding, &String)> =
            HashMap::with_capacity(found.len());
        for f in found.iter().filter(|f| evaluated.contains(f.kind.as_str())) {
            wanted.insert((f.kind.as_str(), f.subject_key.as_str()), (f, &f.evidence));
        }
        let update = in_tx!(self, |tx| {
            let open = sqlx::query_as::<_, (i64, String, String, String, String)>(OPEN)
                .bind(integration_id)
                .fetch_all(&mut *tx)
                .await?;
            let mut resolve: Vec<i64> = Vec::new();
            let mut refresh: Vec<(i64, &NewFinding, &str)> = Vec::new();
            let mut still: BTreeSet<(&str, &str)> = BTreeSet::new();
            let mut open_by_kind: BTreeMap<String, u64> = BTreeMap::new();
            for (id, kind, key, detail, evidence) in &open {
                if !evaluated.contains(kind.as_str()) {
                    *open_by_kind.entry(kind.clone()).or_default() += 1;
                    continue;
                }
                match wanted.get_key_value(&(kind.as_str(), key.as_str())) {
                    Some((k, (f, new_evidence))) => {
                        still.insert(*k);
                        if *detail != f.detail || evidence != *new_evidence {
                            refresh.push((*id, f, new_evidence.as_str()));
                        }
                    }
                    None => resolve.push(*id),
                }
            }
            for kind in &evaluated {
                sqlx::query(TOUCH)
                    .bind(run_id)
                    .bind(integration_id)
                    .bind(*kind)
                    .execute(&mut *tx)
                    .await?;
            }
            for (id, f, evidence) in &refresh {
                sqlx::query(REFRESH)
                    .bind(f.subject.as_str())
                    .bind(f.severity.as_str())
                    .bind(f.detail.as_str())
                    .bind(*evidence)
                    .bind(*id)
                    .execute(&mut *tx)
                    .await?;
            }
            for chunk in resolve.chunks(ROWS_PER_STATEMENT) {
                let mut qb = QueryBuilder::new("UPDATE findings SET resolved_run = ");
                qb.push_bind(run_id)
                    .push(", resolved_at = ")
                    .push_bind(now)
                    .push(" WHERE id IN (");
                let mut ids = qb.separated(", ");
                for id in chunk {
                    ids.push_bind(*id);
                }
                qb.push(")");
                qb.build().execute(&mut *tx).await?;
            }
            let mut new_rows: Vec<(&NewFinding, &str)> = wanted
                .iter()
                .filter(|(k, _)| !still.contains(*k))
                .map(|(_, (f, e))| (*f, e.as_str()))
                .collect();
            // Insert in a stable order so ids follow (kind, subject).
            new_rows
                .sort_by(|a, b| (&a.0.kind, &a.0.subject_key).cmp(&(&b.0.kind, &b.0.subject_key)));
            for chunk in new_rows.chunks(ROWS_PER_STATEMENT) {
                let mut qb = QueryBuilder::new(
                    "INSERT INTO findings (integration_id, kind, subject_key, subject, severity, detail, \
                     evidence, first_seen_run, first_seen_at, last_seen_run) ",
                );
                qb.push_values(chunk, |mut b, (f, evidence)| {
                    b.push_bind(integration_id)
                        .push_bind(f.kind.as_str())
                        .push_bind(f.subject_key.as_str())
                        .push_bind(f.subject.as_str())
                        .push_bind(f.severity.as_str())
                        .push_bind(f.detail.as_str())
                        .push_bind(*evidence)
                        .push_bind(run_id)
                        .push_bind(now)
                        .push_bind(run_id);
                });
                qb.build().execute(&mut *tx).await?;
            }
            for (kind, _) in wanted.keys() {
                *open_by_kind.entry((*kind).to_string()).or_default() += 1;
            }
            for e in evaluations {
                let count = open_by_kind.get(&e.kind).copied().unwrap_or(0);
                sqlx::query(EVALUATION)
                    .bind(integration_id)
                    .bind(e.kind.as_str())
                    .bind(run_id)
                    .bind(now)
                    .bind(e.evaluated)
                    .bind(e.reason.as_deref())
                    .bind(crate::to_i64(count))
                    .execute(&mut *tx)
                    .await?;
            }
            FindingsUpdate {
                integration_id,
                run_id,
                new: new_rows.len() as u64,
                resolved: resolve.len() as u64,
                open: open_by_kind.values().sum(),
            }
        });
        Ok(update)
    }

    /// Findings matching `filter`, open ones first, then by kind and subject.
    pub async fn findings(&self, filter: &FindingFilter) -> Result<Vec<Finding>, StoreError> {
        let rows = with_pool!(self, |pool| {
            let mut qb = QueryBuilder::new(SELECT);
            qb.push(" WHERE 1 = 1");
            if let Some(id) = filter.integration_id {
                qb.push(" AND integration_id = ").push_bind(id);
            }
            if let Some(kind) = &filter.kind {
                qb.push(" AND kind = ").push_bind(kind.clone());
            }
            if !filter.include_resolved {
                qb.push(" AND resolved_run IS NULL");
            }
            qb.push(
                " ORDER BY CASE WHEN resolved_run IS NULL THEN 0 ELSE 1 END, kind, subject_key, id",
            );
            qb.build_query_as::<FindingRow>().fetch_all(pool).await?
        });
        rows.into_iter().map(from_row).collect()
    }

    /// One finding by id.
    pub async fn finding(&self, id: i64) -> Result<Option<Finding>, StoreError> {
        const SQL: &str = concat!(
            "SELECT id, integration_id, kind, subject_key, subject, severity, detail, evidence, ",
            "first_seen_run, first_seen_at, last_seen_run, resolved_run, resolved_at FROM findings WHERE id = $1"
        );
        let row = with_pool!(self, |pool| {
            sqlx::query_as::<_, FindingRow>(SQL)
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        row.map(from_row).transpose()
    }

    /// Findings first seen, or resolved, at `run_id`.
    pub async fn finding_changes(
        &self,
        run_id: i64,
    ) -> Result<(Vec<Finding>, Vec<Finding>), StoreError> {
        const NEW: &str = concat!(
            "SELECT id, integration_id, kind, subject_key, subject, severity, detail, evidence, ",
            "first_seen_run, first_seen_at, last_seen_run, resolved_run, resolved_at FROM findings ",
            "WHERE first_seen_run = $1 ORDER BY kind, subject_key, id"
        );
        const RESOLVED: &str = concat!(
            "SELECT id, integration_id, kind, subject_key, subject, severity, detail, evidence, ",
            "first_seen_run, first_seen_at, last_seen_run, resolved_run, resolved_at FROM findings ",
            "WHERE resolved_run = $1 ORDER BY kind, subject_key, id"
        );
        let (new, resolved) = with_pool!(self, |pool| {
            let new = sqlx::query_as::<_, FindingRow>(NEW)
                .bind(run_id)
                .fetch_all(pool)
                .await?;
            let resolved = sqlx::query_as::<_, FindingRow>(RESOLVED)
                .bind(run_id)
                .fetch_all(pool)
                .await?;
            (new, resolved)
        });
        Ok((
            new.into_iter().map(from_row).collect::<Result<_, _>>()?,
            resolved
                .into_iter()
                .map(from_row)
                .collect::<Result<_, _>>()?,
        ))
    }

    /// Every kind's state at each integration's latest evaluated run.
    pub async fn finding_evaluations(&self) -> Result<Vec<FindingEvaluation>, StoreError> {
        const SQL: &str = "SELECT integration_id, kind, run_id, evaluated_at, evaluated, reason, open_count \
             FROM finding_evaluations ORDER BY integration_id, kind";
        let rows = with_pool!(self, |pool| {
            sqlx::query_as::<_, (i64, String, i64, DateTime<Utc>, bool, Option<String>, i64)>(SQL)
                .fetch_all(pool)
                .await?
        });
        Ok(rows
            .into_iter()
            .map(
                |(integration_id, kind, run_id, evaluated_at, evaluated, reason, open)| {
                    FindingEvaluation {
                        integration_id,
                        kind,
                        run_id,
                        evaluated_at,
                        evaluated,
                        reason,
                        open_count: to_u64(open),
                    }
                },
            )
            .collect())
    }

    /// Stored finding thresholds (only those set).
    pub async fn finding_settings(&self) -> Result<BTreeMap<String, i64>, StoreError> {
        const SQL: &str = "SELECT key, value FROM finding_settings";
        let rows = with_pool!(self, |pool| {
            sqlx::query_as::<_, (String, i64)>(SQL)
                .fetch_all(pool)
                .await?
        });
        Ok(rows.into_iter().collect())
    }

    /// Set one finding threshold.
    pub async fn set_finding_setting(
        &self,
        key: &str,
        value: i64,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        const SQL: &str = "INSERT INTO finding_settings (key, value, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at";
        with_pool!(self, |pool| {
            sqlx::query(SQL)
                .bind(key)
                .bind(value)
                .bind(now)
                .execute(pool)
                .await?;
        });
        Ok(())
    }
}

/// Record keys of one resource, held as the few strings the database joined them into.
#[derive(Debug, Clone, Default)]
pub struct KeyList {
    pages: Vec<String>,
}

impl KeyList {
    /// Every key, borrowed from the list.
    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        self.pages
            .iter()
            .flat_map(|page| page.split(KEY_SEP))
            .filter(|k| !k.is_empty())
    }
}

/// Joins the keys of a page; the ASCII unit separator, which no source id contains.
const KEY_SEP: char = '\u{1f}';

/// Keys joined per statement: one string of a million keys (~40 MB) took twice that again
/// in SQLite while it grew, beside the driver's copy; pages of 50,000 are ~2 MB each.
const KEY_PAGE: i64 = 50_000;

impl Store {
    /// Calls `f` with each record of one resource of the current snapshot as the projection
    /// `T` of its own fields (not `raw`), page by page. Findings and reviews scan millions of
    /// app assignments; only the records' own fields are read (`data`, not `raw`: a System
    /// Log event's source object is most of its size), which is several times faster than
    /// reading and parsing whole records.
    pub async fn snapshot_heads<T: serde::de::DeserializeOwned + Send>(
        &self,
        integration_id: i64,
        resource: steward_model::Resource,
        mut f: impl FnMut(T) + Send,
    ) -> Result<(), StoreError> {
        self.heads_keyed(integration_id, resource, None, |_, v| f(v))
            .await
    }

    /// [`Store::snapshot_heads`] of only the records whose own fields' JSON contains `needle`
    /// (e.g. `"event_type":"user.authentication.sso"`): a prefilter in SQL, so callers still
    /// check the fields they care about. Records come in storage order, not key order: this
    /// feeds aggregates (each app's last sign-in), and the System Log is read fastest as stored.
    pub async fn snapshot_heads_containing<T: serde::de::DeserializeOwned + Send>(
        &self,
        integration_id: i64,
        resource: steward_model::Resource,
        needle: &str,
        mut f: impl FnMut(T) + Send,
    ) -> Result<(), StoreError> {
        self.heads_keyed(integration_id, resource, Some(needle), |_, v| f(v))
            .await
    }

    /// [`Store::snapshot_heads`] (or `_containing`) with each record's key.
    pub(crate) async fn heads_keyed<T: serde::de::DeserializeOwned + Send>(
        &self,
        integration_id: i64,
        resource: steward_model::Resource,
        containing: Option<&str>,
        mut f: impl FnMut(&str, T) + Send,
    ) -> Result<(), StoreError> {
        // A head that does not parse is read again whole, after the scan: a record stored
        // before `raw` had its own column was split by migration 0013 at the first `,"raw":`,
        // which a field holding an object with its own "raw" key would have moved.
        let mut cut: Vec<String> = Vec::new();
        let select = crate::inventory::Select::Head { containing };
        self.snapshot_pages_keyed(integration_id, resource, select, |key, head| {
            match serde_json::from_str::<T>(head) {
                Ok(v) => f(key, v),
                Err(_) => cut.push(key.to_string()),
            }
            Ok(())
        })
        .await?;
        for key in cut {
            let data = self
                .snapshot_record_data(integration_id, resource, &key)
                .await?;
            let v = T::deserialize(crate::snapshot::decode_value(&data)?)
                .map_err(crate::inventory::corrupt_record(resource))?;
            f(&key, v);
        }
        Ok(())
    }
}

impl Store {
    /// Calls `f` with the record key of every record of one resource of the current snapshot.
    /// Keys are truth keys (`app/account` for app users, `group/account` for memberships,
    /// `account/factor` for factors), answered from the primary-key index without reading any
    /// record data (log events aside): the cheapest way to walk a million assignments.
    pub async fn snapshot_keys(
        &self,
        integration_id: i64,
        resource: steward_model::Resource,
        mut f: impl FnMut(&str) + Send,
    ) -> Result<(), StoreError> {
        self.key_pages(integration_id, resource, |page| {
            page.split(KEY_SEP)
                .filter(|k| !k.is_empty())
                .for_each(&mut f);
        })
        .await
    }

    /// The record keys of one resource of the current snapshot, in no particular order, as
    /// one [`KeyList`]. The database joins them into a few values: fetched row by row, a
    /// million keys cost a second in per-row driver overhead (sqlx's SQLite worker hands
    /// each row over a channel); joined, about a tenth of that.
    pub async fn snapshot_key_list(
        &self,
        integration_id: i64,
        resource: steward_model::Resource,
    ) -> Result<KeyList, StoreError> {
        let mut list = KeyList::default();
        self.key_pages(integration_id, resource, |page| list.pages.push(page))
            .await?;
        Ok(list)
    }

    /// Calls `each` with the record keys of one resource of the current snapshot joined by
    /// [`KEY_SEP`], [`KEY_PAGE`] keys at a time (keyset pages of the primary key).
    async fn key_pages(
        &self,
        integration_id: i64,
        resource: steward_model::Resource,
        mut each: impl FnMut(String) + Send,
    ) -> Result<(), StoreError> {
        const RECORDS: &str = " FROM records r JOIN integrations i ON r.run_id = i.current_run_id \
             WHERE i.id = $1 AND r.resource = $2";
        // As everywhere: log events are visible once the run that brought them succeeded.
        const LOG: &str = " FROM log_events r WHERE r.integration_id = $1 AND $2 = 'log_events' \
             AND r.run_id IN (SELECT id FROM sync_runs WHERE integration_id = $1 AND status = 'succeeded')";
        let from = if resource == steward_model::Resource::LogEvents {
            LOG
        } else {
            RECORDS
        };
        let join = match &self.db {
            crate::Db::Sqlite(_) => "group_concat(record_key, char(31))",
            crate::Db::Postgres(_) => "string_agg(record_key, chr(31))",
        };
        let sql = format!(
            "SELECT {join}, max(record_key), count(*) FROM (SELECT r.record_key{from} \
             AND r.record_key > $3 ORDER BY r.record_key LIMIT $4) page"
        );
        let mut after = String::new();
        loop {
            let (joined, last, count) = with_pool!(self, |pool| {
                sqlx::query_as::<_, (Option<String>, Option<String>, i64)>(sqlx::AssertSqlSafe(
                    sql.clone(),
                ))
                .bind(integration_id)
                .bind(resource.as_str())
                .bind(after.as_str())
                .bind(KEY_PAGE)
                .fetch_one(pool)
                .await?
            });
            if let Some(joined) = joined {
                each(joined);
            }
            match last {
                Some(last) if count == KEY_PAGE => after = last,
                _ => return Ok(()),
            }
        }
    }

    /// The whole records of one resource of the current snapshot whose key passes `keep`,
    /// in key (byte) order. Only the keys are walked (see [`Store::snapshot_key_list`]) and
    /// only the kept records read: evidence picks the few admins among 50k users, their
    /// factors and their groups' memberships this way, where reading every record's fields to
    /// choose cost ~0.9 s of a 1M-record sync.
    pub async fn snapshot_records_where_key(
        &self,
        integration_id: i64,
        resource: steward_model::Resource,
        mut keep: impl FnMut(&str) -> bool + Send,
    ) -> Result<Vec<steward_model::Record>, StoreError> {
        let kept: Vec<String> = self
            .snapshot_key_list(integration_id, resource)
            .await?
            .iter()
            .filter(|k| keep(k))
            .map(str::to_string)
            .collect();
        self.snapshot_records_by_keys(integration_id, resource, &kept)
            .await
    }

    /// The records of one resource of the current snapshot with these record keys, in key
    /// (byte) order.
    pub async fn snapshot_records_by_keys(
        &self,
        integration_id: i64,
        resource: steward_model::Resource,
        keys: &[String],
    ) -> Result<Vec<steward_model::Record>, StoreError> {
        let mut out: Vec<(String, steward_model::Record)> = Vec::with_capacity(keys.len());
        if resource == steward_model::Resource::LogEvents {
            // Log events live in their own table, which `snapshot_record_data` reads.
            for key in keys {
                let data = self
                    .snapshot_record_data(integration_id, resource, key)
                    .await?;
                out.push((key.clone(), crate::snapshot::decode_record(&data)?));
            }
            return Ok(sorted_by_key(out));
        }
        for chunk in keys.chunks(ROWS_PER_STATEMENT) {
            let rows = with_pool!(self, |pool| {
                let mut qb = QueryBuilder::new(concat!(
                    "SELECT r.record_key, ",
                    crate::whole_sql!(),
                    " FROM records r JOIN integrations i ON r.run_id = i.current_run_id WHERE i.id = "
                ));
                qb.push_bind(integration_id)
                    .push(" AND r.resource = ")
                    .push_bind(resource.as_str());
                qb.push(" AND r.record_key IN (");
                let mut sep = qb.separated(", ");
                for k in chunk {
                    sep.push_bind(k.as_str());
                }
                qb.push(")");
                qb.build_query_as::<(String, String)>()
                    .fetch_all(pool)
                    .await?
            });
            for (key, data) in rows {
                out.push((key, crate::snapshot::decode_record(&data)?));
            }
        }
        Ok(sorted_by_key(out))
    }
}

/// The records in key (byte) order: SQLite's BINARY collation, whatever the backend.
fn sorted_by_key(mut keyed: Vec<(String, steward_model::Record)>) -> Vec<steward_model::Record> {
    keyed.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    keyed.into_iter().map(|(_, record)| record).collect()
}
