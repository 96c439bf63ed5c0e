//! Identity search over the current snapshots: users, groups, apps and admin role
//! assignments, one page at a time.
//!
//! Paging happens in SQL (`LIMIT`/`OFFSET` over `(run_id, resource, record_key)`, the
//! records table's primary key), so a page of 100,000 users reads only the rows it returns
//! plus the skipped ones, never the whole resource into memory. The search term and status
//! are matched against the stored record text; the scan stays inside the primary-key range
//! of one resource of the current runs.

use serde_json::Value;
use steward_model::Resource;

use crate::{Store, StoreError, with_pool};

/// One page request.
#[derive(Debug, Clone, Default)]
pub struct IdentityQuery {
    /// Case-insensitive text anywhere in the record (login, name, email, ...).
    pub q: Option<String>,
    /// Exact source status (`ACTIVE`, `SUSPENDED`, ...), users only.
    pub status: Option<String>,
    pub limit: u64,
    pub offset: u64,
}

/// One page of records (each the stored record JSON without its `raw` source object).
#[derive(Debug, Clone)]
pub struct IdentityPage {
    pub items: Vec<Value>,
    /// True when there are more rows after this page.
    pub has_more: bool,
}

/// `%`, `_` and `\` are LIKE wildcards; escape them so a search is literal.
fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl Store {
    /// A page of one resource across every integration's current snapshot.
    pub async fn identity_page(&self, resource: Resource, query: &IdentityQuery) -> Result<IdentityPage, StoreError> {
        // Case-insensitive without lowering every row (that allocation dominated the scan):
        // SQLite's LIKE already ignores ASCII case, PostgreSQL has ILIKE. The status is
        // matched as its JSON member text.
        const SQLITE: &str = "SELECT data FROM records \
             WHERE run_id IN (SELECT current_run_id FROM integrations WHERE current_run_id IS NOT NULL) \
               AND resource = $1 \
               AND ($2 = '' OR data LIKE $2 ESCAPE '\\') \
               AND ($3 = '' OR data LIKE $3 ESCAPE '\\') \
             ORDER BY run_id, record_key LIMIT $4 OFFSET $5";
        const POSTGRES: &str = "SELECT data FROM records \
             WHERE run_id IN (SELECT current_run_id FROM integrations WHERE current_run_id IS NOT NULL) \
               AND resource = $1 \
               AND ($2 = '' OR data ILIKE $2 ESCAPE '\\') \
               AND ($3 = '' OR data LIKE $3 ESCAPE '\\') \
             ORDER BY run_id, record_key LIMIT $4 OFFSET $5";
        let sql = if self.backend() == "sqlite" { SQLITE } else { POSTGRES };
        let q = match query.q.as_deref().map(str::trim) {
            Some(q) if !q.is_empty() => format!("%{}%", like_escape(&q.to_lowercase())),
            _ => String::new(),
        };
        let status = match query.status.as_deref().map(str::trim) {
            Some(s) if !s.is_empty() => {
                let member = serde_json::to_string(s).unwrap_or_default();
                format!("%\"status\":{}%", like_escape(&member))
            }
            _ => String::new(),
        };
        let limit = query.limit.clamp(1, 500);
        let rows = with_pool!(self, |pool| sqlx::query_scalar::<_, String>(sql)
            .bind(resource.as_str())
            .bind(q.as_str())
            .bind(status.as_str())
            .bind(crate::to_i64(limit + 1))
            .bind(crate::to_i64(query.offset))
            .fetch_all(pool)
            .await?);
        let has_more = rows.len() as u64 > limit;
        let items = rows
            .iter()
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .map(|data| {
                let mut v: Value = serde_json::from_str(data)
                    .map_err(|e| StoreError::corrupt(format!("a stored {resource} record"), e))?;
                if let Some(o) = v.as_object_mut() {
                    o.remove("raw");
                }
                Ok(v)
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(IdentityPage { items, has_more })
    }
}
