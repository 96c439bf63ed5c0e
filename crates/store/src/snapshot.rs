//! Reading the current snapshot: per-resource status, digests, records and cursors.

use std::collections::BTreeMap;
use std::ops::Range;

use serde::Serialize;
use steward_model::{Digest, Record, Resource, truth_digest};

use crate::{Store, StoreError, to_u64, with_pool};

/// How a resource stands in the current snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResourceStatus {
    pub resource: Resource,
    pub readable: bool,
    /// Records held (0 when not readable).
    pub count: u64,
    /// Why it could not be read (the source's refusal and what to grant).
    pub reason: Option<String>,
}

const CURRENT: &str = "SELECT current_run_id FROM integrations WHERE id = $1";
const OUTCOMES: &str =
    "SELECT resource, outcome, reason FROM run_resources WHERE run_id = $1 AND outcome IS NOT NULL";
/// Log events are visible once the run that brought them succeeded (a running run's are
/// not yet; failed and abandoned runs' were purged).
const VISIBLE_LOG_KEYS: &str = "SELECT record_key FROM log_events WHERE integration_id = $1 \
     AND run_id IN (SELECT id FROM sync_runs WHERE integration_id = $1 AND status = 'succeeded')";

impl Store {
    /// The run whose data is current; `NotFound` when the integration does not exist.
    async fn current_run(&self, integration_id: i64) -> Result<Option<i64>, StoreError> {
        let current = with_pool!(self, |pool| {
            sqlx::query_scalar::<_, Option<i64>>(CURRENT)
                .bind(integration_id)
                .fetch_optional(pool)
                .await?
        });
        current.ok_or_else(|| StoreError::not_found(format!("integration {integration_id}")))
    }

    /// Outcome per resource of the current run: `Ok(())` readable, `Err(reason)` not.
    async fn outcomes(
        &self,
        run_id: i64,
    ) -> Result<BTreeMap<Resource, Result<(), String>>, StoreError> {
        let rows = with_pool!(self, |pool| {
            sqlx::query_as::<_, (String, String, Option<String>)>(OUTCOMES)
                .bind(run_id)
                .fetch_all(pool)
                .await?
        });
        let mut out = BTreeMap::new();
        for (resource, outcome, reason) in rows {
            let resource = parse_resource(&resource)?;
            let state = if outcome == "complete" {
                Ok(())
            } else {
                Err(reason.unwrap_or_default())
            };
            out.insert(resource, state);
        }
        Ok(out)
    }

    /// Every resource the current snapshot knows about, in `Resource` order; empty before
    /// the first successful sync.
    pub async fn resource_status(
        &self,
        integration_id: i64,
    ) -> Result<Vec<ResourceStatus>, StoreError> {
        const COUNTS: &str =
            "SELECT resource, COUNT(*) FROM records WHERE run_id = $1 GROUP BY resource";
        // A log event's run is always one of its own integration's runs (staging takes the
        // integration from the run), so filtering on the run alone is the same set and is
        // answered from the `log_events_by_run` index without reading 300k event rows.
        const LOG_COUNT: &str = "SELECT COUNT(*) FROM log_events WHERE \
             run_id IN (SELECT id FROM sync_runs WHERE integration_id = $1 AND status = 'succeeded')";
        let Some(run_id) = self.current_run(integration_id).await? else {
            return Ok(Vec::new());
        };
        let outcomes = self.outcomes(run_id).await?;
        let (counts, log_count) = with_pool!(self, |pool| {
            let counts = sqlx::query_as::<_, (String, i64)>(COUNTS)
                .bind(run_id)
                .fetch_all(pool)
                .await?;
            let log = sqlx::query_scalar::<_, i64>(LOG_COUNT)
                .bind(integration_id)
                .fetch_one(pool)
                .await?;
            (counts, log)
        });
        let counts: BTreeMap<String, i64> = counts.into_iter().collect();
        Ok(outcomes
            .into_iter()
            .map(|(resource, state)| match state {
                Ok(()) => {
                    let count = match resource {
                        Resource::LogEvents => log_count,
                        r => counts.get(r.as_str()).copied().unwrap_or(0),
                    };
                    ResourceStatus {
                        resource,
                        readable: true,
                        count: to_u64(count),
                        reason: None,
                    }
                }
                Err(reason) => ResourceStatus {
                    resource,
                    readable: false,
                    count: 0,
                    reason: Some(reason),
                },
            })
            .collect())
    }

    /// [`truth_digest`] of every readable resource of the current snapshot; unreadable
    /// resources are left out.
    pub async fn snapshot_digests(
        &self,
        integration_id: i64,
    ) -> Result<BTreeMap<Resource, Digest>, StoreError> {
        const KEYS: &str = "SELECT resource, record_key FROM records WHERE run_id = $1";
        let Some(run_id) = self.current_run(integration_id).await? else {
            return Ok(BTreeMap::new());
        };
        let outcomes = self.outcomes(run_id).await?;
        let (keys, log_keys) = with_pool!(self, |pool| {
            let keys = sqlx::query_as::<_, (String, String)>(KEYS)
                .bind(run_id)
                .fetch_all(pool)
                .await?;
            let log = if matches!(outcomes.get(&Resource::LogEvents), Some(Ok(()))) {
                sqlx::query_scalar::<_, String>(VISIBLE_LOG_KEYS)
                    .bind(integration_id)
                    .fetch_all(pool)
                    .await?
            } else {
                Vec::new()
            };
            (keys, log)
        });
        let mut by_resource: BTreeMap<Resource, Vec<String>> = outcomes
            .iter()
            .filter(|(_, state)| state.is_ok())
            .map(|(r, _)| (*r, Vec::new()))
            .collect();
        for (resource, key) in keys {
            if let Some(list) = by_resource.get_mut(&parse_resource(&resource)?) {
                list.push(key);
            }
        }
        if let Some(list) = by_resource.get_mut(&Resource::LogEvents) {
            *list = log_keys;
        }
        Ok(by_resource
            .into_iter()
            .map(|(r, keys)| (r, truth_digest(keys)))
            .collect())
    }

    /// The records of one resource in the current snapshot, ordered by truth key.
    pub async fn snapshot_records(
        &self,
        integration_id: i64,
        resource: Resource,
    ) -> Result<Vec<Record>, StoreError> {
        // The same scan as every other snapshot reader (streamed, log events as visible).
        let mut out = Vec::new();
        self.snapshot_pages(
            integration_id,
            resource,
            crate::inventory::Select::Whole,
            |data| {
                out.push(
                    serde_json::from_str::<Record>(data)
                        .map_err(crate::inventory::corrupt_record(resource))?,
                );
                Ok(())
            },
        )
        .await?;
        Ok(out)
    }

    /// Cursors saved by the current snapshot's run, for the next run to resume from.
    pub async fn cursors(
        &self,
        integration_id: i64,
    ) -> Result<BTreeMap<Resource, String>, StoreError> {
        const SQL: &str = "SELECT resource, cursor_value FROM run_resources WHERE run_id = $1 AND cursor_value IS NOT NULL";
        let Some(run_id) = self.current_run(integration_id).await? else {
            return Ok(BTreeMap::new());
        };
        let rows = with_pool!(self, |pool| {
            sqlx::query_as::<_, (String, String)>(SQL)
                .bind(run_id)
                .fetch_all(pool)
                .await?
        });
        rows.into_iter()
            .map(|(r, c)| Ok((parse_resource(&r)?, c)))
            .collect()
    }
}

/// Where a record's two stored parts sit in a staging buffer: `data` (its own fields) and
/// `raw` (its source object's text; `None` when it stays inside `data`).
#[derive(Debug)]
pub(crate) struct Encoded {
    pub data: Range<usize>,
    pub raw: Option<Range<usize>>,
}

/// The marker before a record's source object in its JSON, which serde writes last.
const RAW_MARKER: &[u8] = b",\"raw\":";

/// Append the stored form of a record to `out`: its JSON text, split in two columns.
/// `records.data` / `log_events.data` hold the record's own fields and `raw` its source
/// object, so the many readers of the fields never read (SQLite: never page in) the source
/// objects, which are most of the bytes. Written once and split in place: the comma of
/// `,"raw":` becomes the fields' closing brace. Put back together by [`whole_sql!`].
pub(crate) fn encode_record_into(
    record: &Record,
    out: &mut Vec<u8>,
) -> Result<Encoded, StoreError> {
    let start = out.len();
    serde_json::to_writer(&mut *out, record)
        .map_err(|e| StoreError::corrupt(format!("a {} record", record.resource()), e))?;
    let end = out.len();
    // The tail is exactly `,"raw":` + the source text + `}` (a `Raw` is written verbatim);
    // anything else (never seen) is stored whole in `data`.
    if let Some(raw) = record.raw() {
        let raw = raw.as_str().as_bytes();
        let raw_start = end.saturating_sub(raw.len() + 1);
        let cut = raw_start.saturating_sub(RAW_MARKER.len());
        if cut > start
            && out.get(raw_start..end - 1) == Some(raw)
            && out.get(cut..raw_start) == Some(RAW_MARKER)
            && out.last() == Some(&b'}')
        {
            out[cut] = b'}';
            return Ok(Encoded {
                data: start..cut + 1,
                raw: Some(raw_start..end - 1),
            });
        }
    }
    Ok(Encoded {
        data: start..end,
        raw: None,
    })
}

/// Turn a stored record (as [`whole_sql!`] reads it) back into its [`Record`]. Every
/// reader of whole records goes through this (or [`decode_value`]) so the stored encoding
/// can change in one place.
pub fn decode_record(data: &str) -> Result<Record, StoreError> {
    serde_json::from_str::<Record>(data).map_err(|e| StoreError::corrupt("a stored record", e))
}

/// A stored record (as [`whole_sql!`] reads it) as JSON (the record's own fields plus
/// `raw`), for readers that project or search it.
pub fn decode_value(data: &str) -> Result<serde_json::Value, StoreError> {
    serde_json::from_str(data).map_err(|e| StoreError::corrupt("a stored record", e))
}

fn parse_resource(s: &str) -> Result<Resource, StoreError> {
    Resource::parse(s)
        .ok_or_else(|| StoreError::corrupt("run resources", format!("unknown resource {s:?}")))
}
