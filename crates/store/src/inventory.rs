//! Inventory items: the data inventory's staging area, decisions, and per-sync changes.
//!
//! One row per (integration, Okta app id) in `inventory_items`; its user-facing id is the row
//! id (shown as `INV-<id>`). [`Store::apply_inventory_sync`] writes what one sync run saw in
//! one transaction: new apps arrive `staged`, known apps get their facts refreshed while the
//! triage decision (accepted / ignored, owner, purpose, data categories, reason) is kept,
//! apps no longer seen are flagged removed (never deleted), and reappearing apps are
//! unflagged. Each such run leaves an `inventory_syncs` row and one `inventory_changes` row
//! per item that was added, removed, reappeared or changed, because the store keeps only the
//! current snapshot and could not otherwise say what changed between two syncs.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use steward_model::Resource;

use crate::{Store, StoreError, in_tx, to_i64, to_u64, whole_sql, with_pool};

/// Where an item stands in triage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Triage {
    Staged,
    Accepted,
    Ignored,
}

impl Triage {
    pub fn as_str(self) -> &'static str {
        match self {
            Triage::Staged => "staged",
            Triage::Accepted => "accepted",
            Triage::Ignored => "ignored",
        }
    }

    pub fn parse(s: &str) -> Option<Triage> {
        match s {
            "staged" => Some(Triage::Staged),
            "accepted" => Some(Triage::Accepted),
            "ignored" => Some(Triage::Ignored),
            _ => None,
        }
    }
}

/// What a sync run saw of one app: the facts an item is refreshed from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InventoryFacts {
    pub app_id: String,
    pub name: String,
    pub label: String,
    pub sign_on_mode: Option<String>,
    /// Okta's status (`ACTIVE`, `INACTIVE`).
    pub okta_status: String,
    pub created: Option<DateTime<Utc>>,
    pub assigned_users: u64,
    pub assigned_groups: u64,
    /// Distinct departments of the assigned users, sorted.
    pub departments: Vec<String>,
    pub last_sso_at: Option<DateTime<Utc>>,
    /// Who can administer the app; `None` when admin roles were not readable.
    pub admins: Option<Vec<String>>,
}

/// One inventory item (a data repository).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InventoryItem {
    pub id: i64,
    pub integration_id: i64,
    #[serde(flatten)]
    pub facts: InventoryFacts,
    pub triage: Triage,
    pub owner: Option<String>,
    pub purpose: Option<String>,
    pub data_categories: Vec<String>,
    pub ignore_reason: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub first_seen_run: i64,
    pub last_seen_run: i64,
    /// The first sync run that no longer saw the app (it is gone from Okta).
    pub removed_run: Option<i64>,
    pub removed_at: Option<DateTime<Utc>>,
}

impl InventoryItem {
    /// The id users type: `INV-42`.
    pub fn display_id(&self) -> String {
        format!("INV-{}", self.id)
    }
}

/// Which items to list.
#[derive(Debug, Clone, Default)]
pub struct InventoryFilter {
    pub integration_id: Option<i64>,
    pub triage: Option<Triage>,
}

/// A triage decision for one or more items.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Accept into the inventory. `None` fields keep what the item already has, so a
    /// re-accept can add a purpose without repeating the owner.
    Accept {
        owner: Option<String>,
        purpose: Option<String>,
        data_categories: Option<Vec<String>>,
    },
    Ignore {
        reason: String,
    },
}

/// What one sync run did to the inventory.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InventorySync {
    pub integration_id: i64,
    pub run_id: i64,
    pub at: DateTime<Utc>,
    pub added: u64,
    pub removed: u64,
    pub reappeared: u64,
    pub changed: u64,
}

/// One item's change in one sync run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InventoryChange {
    pub item_id: i64,
    pub app_id: String,
    pub label: String,
    /// `added`, `removed`, `reappeared` or `changed`.
    pub change: String,
    /// Field name → `{"from": old, "to": new}`; facts only (never `last_sso_at`, which moves
    /// with every sign-in and would drown real changes).
    pub fields: Value,
}

#[derive(sqlx::FromRow)]
struct ItemRow {
    id: i64,
    integration_id: i64,
    app_id: String,
    name: String,
    label: String,
    sign_on_mode: Option<String>,
    okta_status: String,
    created: Option<DateTime<Utc>>,
    assigned_users: i64,
    assigned_groups: i64,
    departments: String,
    last_sso_at: Option<DateTime<Utc>>,
    admins: Option<String>,
    triage: String,
    owner: Option<String>,
    purpose: Option<String>,
    data_categories: String,
    ignore_reason: Option<String>,
    decided_at: Option<DateTime<Utc>>,
    first_seen_run: i64,
    last_seen_run: i64,
    removed_run: Option<i64>,
    removed_at: Option<DateTime<Utc>>,
}

macro_rules! select_items {
    () => {
        "SELECT id, integration_id, app_id, name, label, sign_on_mode, okta_status, created, \
         assigned_users, assigned_groups, departments, last_sso_at, admins, triage, owner, \
         purpose, data_categories, ignore_reason, decided_at, first_seen_run, last_seen_run, \
         removed_run, removed_at FROM inventory_items"
    };
}

fn from_row(row: ItemRow) -> Result<InventoryItem, StoreError> {
    let what = || format!("inventory item {}", row.id);
    let list = |s: &str| {
        serde_json::from_str::<Vec<String>>(s).map_err(|e| StoreError::corrupt(what(), e))
    };
    let triage = Triage::parse(&row.triage)
        .ok_or_else(|| StoreError::corrupt(what(), format!("unknown triage {:?}", row.triage)))?;
    Ok(InventoryItem {
        id: row.id,
        integration_id: row.integration_id,
        facts: InventoryFacts {
            app_id: row.app_id.clone(),
            name: row.name.clone(),
            label: row.label.clone(),
            sign_on_mode: row.sign_on_mode.clone(),
            okta_status: row.okta_status.clone(),
            created: row.created,
            assigned_users: to_u64(row.assigned_users),
            assigned_groups: to_u64(row.assigned_groups),
            departments: list(&row.departments)?,
            last_sso_at: row.last_sso_at,
            admins: row.admins.as_deref().map(list).transpose()?,
        },
        triage,
        owner: row.owner,
        purpose: row.purpose,
        data_categories: list(&row.data_categories)?,
        ignore_reason: row.ignore_reason,
        decided_at: row.decided_at,
        first_seen_run: row.first_seen_run,
        last_seen_run: row.last_seen_run,
        removed_run: row.removed_run,
        removed_at: row.removed_at,
    })
}

fn json_list(list: &[String]) -> String {
    serde_json::to_string(list).unwrap_or_else(|_| "[]".into())
}

/// The fact fields that differ, as `{"field": {"from": old, "to": new}}`.
fn changed_fields(old: &InventoryFacts, new: &InventoryFacts) -> serde_json::Map<String, Value> {
    let mut out = serde_json::Map::new();
    let mut cmp = |field: &str, a: Value, b: Value| {
        if a != b {
            out.insert(field.to_string(), json!({"from": a, "to": b}));
        }
    };
    cmp("name", json!(old.name), json!(new.name));
    cmp("label", json!(old.label), json!(new.label));
    cmp(
        "sign_on_mode",
        json!(old.sign_on_mode),
        json!(new.sign_on_mode),
    );
    cmp(
        "okta_status",
        json!(old.okta_status),
        json!(new.okta_status),
    );
    cmp("created", json!(old.created), json!(new.created));
    cmp(
        "assigned_users",
        json!(old.assigned_users),
        json!(new.assigned_users),
    );
    cmp(
        "assigned_groups",
        json!(old.assigned_groups),
        json!(new.assigned_groups),
    );
    cmp(
        "departments",
        json!(old.departments),
        json!(new.departments),
    );
    cmp("admins", json!(old.admins), json!(new.admins));
    out
}

/// How a record that does not parse as its projection is reported, naming its resource.
pub(crate) fn corrupt_record(resource: Resource) -> impl Fn(serde_json::Error) -> StoreError {
    move |e| StoreError::corrupt(format!("a stored {resource} record"), e)
}

/// What a snapshot scan returns of each record.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Select<'q> {
    /// The whole record, `raw` included.
    Whole,
    /// The record's own fields without its `raw` source object (the `data` column), only of
    /// records whose fields' JSON contains `containing`: a cheap prefilter in SQL that
    /// callers still check field by field. With a filter, rows come in storage order, not
    /// key order (see [`Store::snapshot_pages_keyed`]).
    Head { containing: Option<&'q str> },
}

impl Store {
    /// The records of one resource of the current snapshot, each deserialized into `T`: a
    /// projection of the record's JSON (fields `T` does not name, notably `raw`, are skipped
    /// without being allocated). Streamed in record-key order, so a snapshot of 400k app
    /// assignments is never held as text all at once. Empty before the first sync.
    pub async fn snapshot_projection<T: DeserializeOwned + Send>(
        &self,
        integration_id: i64,
        resource: Resource,
    ) -> Result<Vec<T>, StoreError> {
        let mut out = Vec::new();
        self.snapshot_heads(integration_id, resource, |v| out.push(v))
            .await?;
        Ok(out)
    }

    /// The SQL function that finds a substring: `instr` (SQLite), `strpos` (PostgreSQL).
    pub(crate) fn find_fn(&self) -> &'static str {
        match self.db {
            crate::Db::Sqlite(_) => "instr",
            crate::Db::Postgres(_) => "strpos",
        }
    }

    /// Calls `each` with the stored JSON of every record of one resource of the current
    /// snapshot in key order, streamed (see [`Store::snapshot_projection`]); findings'
    /// `snapshot_heads` reads through the same scan.
    pub(crate) async fn snapshot_pages(
        &self,
        integration_id: i64,
        resource: Resource,
        select: Select<'_>,
        mut each: impl FnMut(&str) -> Result<(), StoreError> + Send,
    ) -> Result<(), StoreError> {
        self.snapshot_pages_keyed(integration_id, resource, select, |_, data| each(data))
            .await
    }

    /// The stored JSON of one record of the current snapshot, by key.
    pub(crate) async fn snapshot_record_data(
        &self,
        integration_id: i64,
        resource: Resource,
        key: &str,
    ) -> Result<String, StoreError> {
        const RECORD: &str = concat!(
            "SELECT ",
            whole_sql!(),
            " FROM records r JOIN integrations i ON i.current_run_id = r.run_id \
             WHERE i.id = $1 AND r.resource = $2 AND r.record_key = $3"
        );
        const LOG: &str = concat!(
            "SELECT ",
            whole_sql!(),
            " FROM log_events WHERE integration_id = $1 AND $2 = 'log_events' AND record_key = $3 \
             AND run_id IN (SELECT id FROM sync_runs WHERE integration_id = $1 AND status = 'succeeded')"
        );
        let sql = if resource == Resource::LogEvents {
            LOG
        } else {
            RECORD
        };
        let data = with_pool!(self, |pool| {
            sqlx::query_scalar::<_, String>(sql)
                .bind(integration_id)
                .bind(resource.as_str())
                .bind(key)
                .fetch_optional(pool)
                .await?
        });
        data.ok_or_else(|| StoreError::not_found(format!("{resource} record {key}")))
    }

    /// [`Store::snapshot_pages`] with each record's key.
    pub(crate) async fn snapshot_pages_keyed(
        &self,
        integration_id: i64,
        resource: Resource,
        select: Select<'_>,
        mut each: impl FnMut(&str, &str) -> Result<(), StoreError> + Send,
    ) -> Result<(), StoreError> {
        const CURRENT: &str = "SELECT current_run_id FROM integrations WHERE id = $1";
        let find = self.find_fn();
        let (data, containing) = match select {
            Select::Whole => (whole_sql!(), None),
            // The (often much larger) `raw` column is not even read.
            Select::Head { containing } => ("data", containing),
        };
        let filter = |n: u8| {
            containing
                .map(|_| format!(" AND {find}(data, ${n}) > 0"))
                .unwrap_or_default()
        };
        // A filtered scan is an aggregate's prefilter (the System Log's SSO events): its rows
        // come in storage order. Key order walked the System Log through its primary-key
        // index, one seek per event into ~600 MB of rows (~0.9 s for 300k events); the run
        // index reads them in insertion order (~0.3 s). `+integration_id` keeps SQLite's
        // planner off the primary key; PostgreSQL reads it as the same column.
        let (order, log_integration) = match containing {
            Some(_) => ("", "+integration_id"),
            None => (" ORDER BY record_key", "integration_id"),
        };
        let records = format!(
            "SELECT record_key, {data} FROM records WHERE run_id = $1 AND resource = $2{}{order}",
            filter(3)
        );
        // As `snapshot_records`: log events are visible once the run that brought them succeeded.
        let log = format!(
            "SELECT record_key, {data} FROM log_events WHERE {log_integration} = $1 \
             AND run_id IN (SELECT id FROM sync_runs WHERE integration_id = $1 AND status = 'succeeded'){}{order}",
            filter(2)
        );
        let current = with_pool!(self, |pool| {
            sqlx::query_scalar::<_, Option<i64>>(CURRENT)
                .bind(integration_id)
                .fetch_optional(pool)
                .await?
        });
        let Some(run_id) = current
            .ok_or_else(|| StoreError::not_found(format!("integration {integration_id}")))?
        else {
            return Ok(());
        };
        // One statement, its rows streamed: keyset pages (`record_key > last LIMIT n`) made
        // PostgreSQL scan and sort the rest of the table for every page once a filter was added.
        with_pool!(self, |pool| {
            let q = match resource {
                Resource::LogEvents => {
                    sqlx::query_as::<_, (String, String)>(sqlx::AssertSqlSafe(log.clone()))
                        .bind(integration_id)
                }
                r => sqlx::query_as::<_, (String, String)>(sqlx::AssertSqlSafe(records.clone()))
                    .bind(run_id)
                    .bind(r.as_str()),
            };
            let q = match containing {
                Some(needle) => q.bind(needle),
                None => q,
            };
            let mut rows = q.fetch(pool);
            while let Some((key, data)) = rows.try_next().await? {
                each(&key, &data)?;
            }
        });
        Ok(())
    }

    /// Items matching `filter`, by id.
    pub async fn inventory_items(
        &self,
        filter: &InventoryFilter,
    ) -> Result<Vec<InventoryItem>, StoreError> {
        const SQL: &str = concat!(
            select_items!(),
            " WHERE ($1 IS NULL OR integration_id = $1) AND ($2 IS NULL OR triage = $2) ORDER BY id"
        );
        let triage = filter.triage.map(Triage::as_str);
        let rows = with_pool!(self, |pool| {
            sqlx::query_as::<_, ItemRow>(SQL)
                .bind(filter.integration_id)
                .bind(triage)
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(from_row).collect()
    }

    /// One page of the items matching `filter` whose name or label contains `q` (ASCII
    /// case-insensitive), by id, with the number of matching items: filtered, counted and
    /// paged in SQL (the inventory page and `GET /api/v1/inventory`).
    pub async fn inventory_page(
        &self,
        filter: &InventoryFilter,
        q: Option<&str>,
        limit: u64,
        offset: u64,
    ) -> Result<(Vec<InventoryItem>, u64), StoreError> {
        const WHERE: &str = " WHERE ($1 IS NULL OR integration_id = $1) AND ($2 IS NULL OR triage = $2) \
             AND ($3 IS NULL OR LOWER(name) LIKE $3 ESCAPE '\\' OR LOWER(label) LIKE $3 ESCAPE '\\')";
        let page_sql = format!("{}{WHERE} ORDER BY id LIMIT $4 OFFSET $5", select_items!());
        let count_sql = format!("SELECT COUNT(*) FROM inventory_items{WHERE}");
        let triage = filter.triage.map(Triage::as_str);
        let pattern = q.map(str::trim).filter(|q| !q.is_empty()).map(|q| {
            let mut p = String::from("%");
            for c in q.to_lowercase().chars() {
                if matches!(c, '%' | '_' | '\\') {
                    p.push('\\');
                }
                p.push(c);
            }
            p.push('%');
            p
        });
        let (rows, total) = with_pool!(self, |pool| {
            let rows = sqlx::query_as::<_, ItemRow>(sqlx::AssertSqlSafe(page_sql))
                .bind(filter.integration_id)
                .bind(triage)
                .bind(pattern.as_deref())
                .bind(to_i64(limit))
                .bind(to_i64(offset))
                .fetch_all(pool)
                .await?;
            let total = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(count_sql))
                .bind(filter.integration_id)
                .bind(triage)
                .bind(pattern.as_deref())
                .fetch_one(pool)
                .await?;
            (rows, total)
        });
        let items = rows
            .into_iter()
            .map(from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((items, to_u64(total)))
    }

    /// One item by id.
    pub async fn inventory_item(&self, id: i64) -> Result<Option<InventoryItem>, StoreError> {
        const SQL: &str = concat!(select_items!(), " WHERE id = $1");
        let row = with_pool!(self, |pool| {
            sqlx::query_as::<_, ItemRow>(SQL)
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        row.map(from_row).transpose()
    }

    /// Apply one decision to every item of `ids` in one transaction: all are changed, or
    /// (when one id does not exist) none, with `NotFound` naming the first missing id.
    pub async fn decide_inventory(
        &self,
        ids: &[i64],
        decision: &Decision,
        now: DateTime<Utc>,
    ) -> Result<Vec<InventoryItem>, StoreError> {
        const EXISTS: &str = "SELECT id FROM inventory_items WHERE id = $1";
        const ACCEPT: &str = "UPDATE inventory_items SET triage = 'accepted', \
             owner = COALESCE($1, owner), purpose = COALESCE($2, purpose), \
             data_categories = COALESCE($3, data_categories), ignore_reason = NULL, decided_at = $4 \
             WHERE id = $5";
        const IGNORE: &str = "UPDATE inventory_items SET triage = 'ignored', ignore_reason = $1, \
             decided_at = $2 WHERE id = $3";
        in_tx!(self, |tx| {
            for &id in ids {
                let exists = sqlx::query_scalar::<_, i64>(EXISTS)
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?;
                if exists.is_none() {
                    return Err(StoreError::not_found(format!("inventory item INV-{id}")));
                }
                match decision {
                    Decision::Accept {
                        owner,
                        purpose,
                        data_categories,
                    } => {
                        sqlx::query(ACCEPT)
                            .bind(owner.as_deref())
                            .bind(purpose.as_deref())
                            .bind(data_categories.as_deref().map(json_list))
                            .bind(now)
                            .bind(id)
                            .execute(&mut *tx)
                            .await?;
                    }
                    Decision::Ignore { reason } => {
                        sqlx::query(IGNORE)
                            .bind(reason.as_str())
                            .bind(now)
                            .bind(id)
                            .execute(&mut *tx)
                            .await?;
                    }
                }
            }
        });
        let mut out = Vec::with_capacity(ids.len());
        for &id in ids {
            if let Some(item) = self.inventory_item(id).await? {
                out.push(item);
            }
        }
        Ok(out)
    }

    /// Write what sync run `run_id` saw (`facts`, one per app) into the inventory, in one
    /// transaction; see the module docs. Applying the same run twice changes nothing more.
    pub async fn apply_inventory_sync(
        &self,
        integration_id: i64,
        run_id: i64,
        facts: &[InventoryFacts],
        now: DateTime<Utc>,
    ) -> Result<InventorySync, StoreError> {
        const EXISTING: &str = concat!(select_items!(), " WHERE integration_id = $1");
        const INSERT: &str = "INSERT INTO inventory_items (integration_id, app_id, name, label, \
             sign_on_mode, okta_status, created, assigned_users, assigned_groups, departments, \
             last_sso_at, admins, triage, data_categories, first_seen_run, last_seen_run) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'staged', '[]', $13, $13) \
             RETURNING id";
        const REFRESH: &str = "UPDATE inventory_items SET name = $1, label = $2, sign_on_mode = $3, \
             okta_status = $4, created = $5, assigned_users = $6, assigned_groups = $7, \
             departments = $8, last_sso_at = $9, admins = $10, last_seen_run = $11, \
             removed_run = NULL, removed_at = NULL WHERE id = $12";
        const REMOVE: &str =
            "UPDATE inventory_items SET removed_run = $1, removed_at = $2 WHERE id = $3";
        const CHANGE: &str = "INSERT INTO inventory_changes (integration_id, run_id, item_id, change, fields) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (integration_id, run_id, item_id) DO NOTHING";
        const SYNC: &str = "INSERT INTO inventory_syncs (integration_id, run_id, at, added, removed, reappeared, changed) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (integration_id, run_id) DO NOTHING";
        let summary = in_tx!(self, |tx| {
            let rows = sqlx::query_as::<_, ItemRow>(EXISTING)
                .bind(integration_id)
                .fetch_all(&mut *tx)
                .await?;
            let mut existing: HashMap<String, InventoryItem> = HashMap::with_capacity(rows.len());
            for row in rows {
                let item = from_row(row)?;
                existing.insert(item.facts.app_id.clone(), item);
            }
            let mut summary = InventorySync {
                integration_id,
                run_id,
                at: now,
                added: 0,
                removed: 0,
                reappeared: 0,
                changed: 0,
            };
            // (item id, change, fields), written after the items.
            let mut changes: Vec<(i64, &'static str, Value)> = Vec::new();
            let mut seen: BTreeMap<&str, ()> = BTreeMap::new();
            for f in facts {
                seen.insert(f.app_id.as_str(), ());
                let departments = json_list(&f.departments);
                let admins = f.admins.as_deref().map(json_list);
                match existing.get(&f.app_id) {
                    None => {
                        let id = sqlx::query_scalar::<_, i64>(INSERT)
                            .bind(integration_id)
                            .bind(f.app_id.as_str())
                            .bind(f.name.as_str())
                            .bind(f.label.as_str())
                            .bind(f.sign_on_mode.as_deref())
                            .bind(f.okta_status.as_str())
                            .bind(f.created)
                            .bind(to_i64(f.assigned_users))
                            .bind(to_i64(f.assigned_groups))
                            .bind(departments.as_str())
                            .bind(f.last_sso_at)
                            .bind(admins.as_deref())
                            .bind(run_id)
                            .fetch_one(&mut *tx)
                            .await?;
                        summary.added += 1;
                        changes.push((id, "added", json!({})));
                    }
                    Some(item) => {
                        let fields = changed_fields(&item.facts, f);
                        if item.removed_run.is_some() {
                            summary.reappeared += 1;
                            changes.push((item.id, "reappeared", Value::Object(fields)));
                        } else if !fields.is_empty() {
                            summary.changed += 1;
                            changes.push((item.id, "changed", Value::Object(fields)));
                        }
                        sqlx::query(REFRESH)
                            .bind(f.name.as_str())
                            .bind(f.label.as_str())
                            .bind(f.sign_on_mode.as_deref())
                            .bind(f.okta_status.as_str())
                            .bind(f.created)
                            .bind(to_i64(f.assigned_users))
                            .bind(to_i64(f.assigned_groups))
                            .bind(departments.as_str())
                            .bind(f.last_sso_at)
                            .bind(admins.as_deref())
                            .bind(run_id)
                            .bind(item.id)
                            .execute(&mut *tx)
                            .await?;
                    }
                }
            }
            for item in existing.values() {
                if seen.contains_key(item.facts.app_id.as_str()) || item.removed_run.is_some() {
                    continue;
                }
                sqlx::query(REMOVE)
                    .bind(run_id)
                    .bind(now)
                    .bind(item.id)
                    .execute(&mut *tx)
                    .await?;
                summary.removed += 1;
                changes.push((item.id, "removed", json!({})));
            }
            for (item_id, change, fields) in &changes {
                sqlx::query(CHANGE)
                    .bind(integration_id)
                    .bind(run_id)
                    .bind(*item_id)
                    .bind(*change)
                    .bind(fields.to_string())
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query(SYNC)
                .bind(integration_id)
                .bind(run_id)
                .bind(now)
                .bind(to_i64(summary.added))
                .bind(to_i64(summary.removed))
                .bind(to_i64(summary.reappeared))
                .bind(to_i64(summary.changed))
                .execute(&mut *tx)
                .await?;
            summary
        });
        Ok(summary)
    }

    /// The latest sync run the inventory was updated from, with what it changed (relative
    /// to the sync before it); `None` before the first.
    pub async fn inventory_changes(
        &self,
        integration_id: i64,
    ) -> Result<Option<(InventorySync, Vec<InventoryChange>)>, StoreError> {
        self.inventory_changes_head(integration_id, u64::MAX).await
    }

    /// [`Store::inventory_changes`] with at most `limit` changes (the counts still cover
    /// them all): a page showing the first 100 of a first sync's 1,000 "added" reads 100.
    pub async fn inventory_changes_head(
        &self,
        integration_id: i64,
        limit: u64,
    ) -> Result<Option<(InventorySync, Vec<InventoryChange>)>, StoreError> {
        const LATEST: &str = "SELECT run_id, at, added, removed, reappeared, changed FROM inventory_syncs \
             WHERE integration_id = $1 ORDER BY run_id DESC LIMIT 1";
        const CHANGES: &str = "SELECT c.item_id, i.app_id, i.label, c.change, c.fields \
             FROM inventory_changes c JOIN inventory_items i ON i.id = c.item_id \
             WHERE c.integration_id = $1 AND c.run_id = $2 ORDER BY c.item_id LIMIT $3";
        type SyncRow = (i64, DateTime<Utc>, i64, i64, i64, i64);
        let latest = with_pool!(self, |pool| {
            sqlx::query_as::<_, SyncRow>(LATEST)
                .bind(integration_id)
                .fetch_optional(pool)
                .await?
        });
        let Some((run_id, at, added, removed, reappeared, changed)) = latest else {
            return Ok(None);
        };
        let rows = with_pool!(self, |pool| {
            sqlx::query_as::<_, (i64, String, String, String, String)>(CHANGES)
                .bind(integration_id)
                .bind(run_id)
                .bind(to_i64(limit))
                .fetch_all(pool)
                .await?
        });
        let changes = rows
            .into_iter()
            .map(|(item_id, app_id, label, change, fields)| {
                let fields = serde_json::from_str(&fields).map_err(|e| {
                    StoreError::corrupt(format!("inventory change of INV-{item_id}"), e)
                })?;
                Ok(InventoryChange {
                    item_id,
                    app_id,
                    label,
                    change,
                    fields,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let sync = InventorySync {
            integration_id,
            run_id,
            at,
            added: to_u64(added),
            removed: to_u64(removed),
            reappeared: to_u64(reappeared),
            changed: to_u64(changed),
        };
        Ok(Some((sync, changes)))
    }
}
