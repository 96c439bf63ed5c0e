//! Identity search over the current snapshots: users, groups, apps and admin role
//! assignments, one page at a time.
//!
//! Searching reads the narrow `identity_search` table (migration 0008), not the records:
//! one row per record with its status and a lower-cased search text (login, emails, names,
//! display name, department, ids), written by [`Store::index_identity`] from the decoded
//! records of a run before that run is published, so a snapshot and its index become
//! current together. A page of keys is selected there in SQL, in `(run, record key)` order,
//! then only the page's records are read from `records`.
//!
//! Matching is a case-insensitive substring of the search text. SQLite: a trigram FTS5
//! index finds a rare term's rows, a common or short term is matched while scanning the
//! resource's rowid range in order (see [`sqlite_page`]). PostgreSQL: a pg_trgm GIN index,
//! each search planned with its term. Rows whose record is deleted (an old snapshot dropped on
//! publish, an integration removed, a person erased) are deleted with it by triggers, so they
//! never appear. There is no exact total: `has_more` says whether another page follows.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;
use sqlx::QueryBuilder;
use steward_model::{Record, Resource};

use sqlx::{Postgres, Sqlite, SqlitePool};

use crate::{Db, Store, StoreError, in_tx, to_i64, with_pool};

/// One page request.
#[derive(Debug, Clone, Default)]
pub struct IdentityQuery {
    /// Case-insensitive text in the login, emails, names, display name, department or id
    /// (groups: name, description; apps: name, label; admins: role, label, the admin's login).
    pub q: Option<String>,
    /// Exact source status (`ACTIVE`, `SUSPENDED`, ...).
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

/// The resources the search covers.
const INDEXED: [Resource; 4] = [
    Resource::Users,
    Resource::Groups,
    Resource::Apps,
    Resource::RoleAssignments,
];

/// Bits of a SQLite sort id below the resource: a run holds at most 2^28 records of one
/// resource.
const RANK_BITS: u32 = 28;

/// SQLite's `identity_search.id`: run id << 32 | resource << 28 | rank of the record key
/// among the run's records of that resource, so rowid order is `(run, resource, record key)`
/// and one resource of one run is one rowid range.
fn sort_id(run_id: i64, resource_index: usize, rank: usize) -> Option<i64> {
    let rank = i64::try_from(rank).ok().filter(|r| *r < 1 << RANK_BITS)?;
    let run = run_id
        .checked_mul(1 << 32)
        .filter(|_| (0..1 << 31).contains(&run_id))?;
    Some(run | (i64::try_from(resource_index).ok()? << RANK_BITS) | rank)
}

/// The rowid range of one resource across runs `first..=last` (SQLite).
fn sort_range(first_run: i64, last_run: i64, resource_index: usize) -> Option<(i64, i64)> {
    let lo = sort_id(first_run, resource_index, 0)?;
    let hi = sort_id(last_run, resource_index, (1 << RANK_BITS) - 1)?;
    Some((lo, hi))
}

/// Above this many trigram hits a term is common: scanning in order finds a page sooner than
/// fetching and sorting every hit (SQLite).
const FTS_MAX_HITS: i64 = 2000;

/// Separates fields in the search text, so a term cannot match across two fields.
const SEP: char = '\u{1f}';

/// Rows per multi-row INSERT (6 binds each): well under both backends' bind limits.
const ROWS_PER_INSERT: usize = 2000;

/// Records read per query while indexing.
const READ_PAGE: u64 = 5000;

/// PostgreSQL: a term with at most this many hits is looked up through the trigram index and
/// ordered in memory; more hits and the ordered scan finds a page sooner.
const PG_RARE_HITS: u64 = 2_000;

/// A search term in the forms the queries need.
struct Term<'q> {
    /// Lower-cased, for the trigram index.
    lower: String,
    /// `%lower%`, its LIKE wildcards escaped: the substring match itself.
    like: String,
    /// As typed (trimmed): a whole id, matched against the record keys as the source
    /// spells them (ids are case-sensitive).
    key: &'q str,
}

impl<'q> Term<'q> {
    fn new(q: &'q str) -> Term<'q> {
        let lower = q.to_lowercase();
        let like = format!("%{}%", like_escape(&lower));
        Term {
            lower,
            like,
            key: q,
        }
    }
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

/// One `identity_search` row.
#[derive(Debug)]
struct SearchRow {
    /// SQLite's sort position (see [`sort_id`]); PostgreSQL orders by the key itself.
    id: i64,
    resource: &'static str,
    key: String,
    status: String,
    text: String,
}

/// Lower-cased, non-empty fields joined by [`SEP`], without a field that another one
/// contains (an email equal to the login, a first name within the full name): every term
/// found in it is found in the other, so searches find the same rows, and the trigram index
/// has that much less to write (~30% of indexing 50k users).
fn search_text<'a>(fields: impl IntoIterator<Item = Option<&'a str>>) -> String {
    let mut seen: Vec<String> = Vec::new();
    for f in fields.into_iter().flatten() {
        let f = f.trim().to_lowercase();
        if !f.is_empty() && !seen.contains(&f) {
            seen.push(f);
        }
    }
    let kept: Vec<&str> = seen
        .iter()
        .filter(|f| !seen.iter().any(|g| g != *f && g.contains(f.as_str())))
        .map(String::as_str)
        .collect();
    kept.join(&SEP.to_string())
}

/// The search row of a decoded record; `None` for resources the search does not cover.
/// `logins` maps account ids to their login, so an admin is found by the admin's login.
/// A user's, group's or app's own id is left out: it is the record's key, which a search
/// matches whole (see [`Store::identity_page`]). Its trigrams, unique to each record, were
/// most of the trigram index's terms and half of the time a sync spent writing it.
fn search_row(record: &Record, key: String, logins: &HashMap<String, String>) -> Option<SearchRow> {
    let (status, text) = match record {
        Record::Account(a) => {
            let full_name = match (a.first_name.as_deref(), a.last_name.as_deref()) {
                (Some(f), Some(l)) => Some(format!("{f} {l}")),
                _ => None,
            };
            let text = search_text([
                Some(a.login.as_str()),
                a.email.as_deref(),
                a.second_email.as_deref(),
                full_name.as_deref(),
                a.first_name.as_deref(),
                a.last_name.as_deref(),
                a.display_name.as_deref(),
                a.department.as_deref(),
            ]);
            (a.status.clone(), text)
        }
        Record::Group(g) => (
            String::new(),
            search_text([Some(g.name.as_str()), g.description.as_deref()]),
        ),
        Record::App(a) => (
            a.status.clone(),
            search_text([Some(a.label.as_str()), Some(a.name.as_str())]),
        ),
        Record::RoleAssignment(r) => {
            let text = search_text([
                Some(r.role_type.as_str()),
                Some(r.label.as_str()),
                logins.get(&r.principal_id).map(String::as_str),
                Some(r.principal_id.as_str()),
                Some(r.id.as_str()),
            ]);
            (r.status.clone().unwrap_or_default(), text)
        }
        _ => return None,
    };
    Some(SearchRow {
        id: 0,
        resource: record.resource().as_str(),
        key,
        status,
        text,
    })
}

/// Decode one stored record through the store's one decoder (never parsed in SQL), naming
/// the resource when it fails.
fn decode(resource: &str, data: &str) -> Result<Record, StoreError> {
    crate::snapshot::decode_record(data)
        .map_err(|e| StoreError::corrupt(format!("a stored {resource} record"), e))
}

impl Store {
    /// Write the search rows of a run's users, groups, apps and admin role assignments
    /// (replacing any the run already has). Call it after staging and before
    /// [`Store::publish_run`], so the index turns current with its snapshot. Returns the
    /// rows written.
    pub async fn index_identity(&self, run_id: i64) -> Result<u64, StoreError> {
        const CLEAR: &str = "DELETE FROM identity_search WHERE run_id = $1";
        // Admin rows name the admin's login: role assignments come after users in INDEXED.
        let mut logins: HashMap<String, String> = HashMap::new();
        let mut written = 0u64;
        let sqlite = self.backend() == "sqlite";
        in_tx!(self, |tx| {
            sqlx::query(CLEAR).bind(run_id).execute(&mut *tx).await?;
            for (resource_index, resource) in INDEXED.iter().enumerate() {
                // Keyset pages in key order, so each record's rank in its resource (its sort
                // id) is its place in the pages: SQLite serves them in byte order, the order
                // searches page in. PostgreSQL orders by the key itself and takes no id.
                let mut rank = 0;
                let mut page = self.identity_page_of(run_id, *resource, "").await?;
                loop {
                    let full = page.len() as u64 == READ_PAGE;
                    let after = page.last().map(|(key, _)| key.clone()).unwrap_or_default();
                    let mut rows = Vec::with_capacity(page.len());
                    for (key, data) in page {
                        let record = decode(resource.as_str(), &data)?;
                        if let Record::Account(a) = &record {
                            logins.insert(a.id.clone(), a.login.clone());
                        }
                        let Some(mut row) = search_row(&record, key, &logins) else {
                            continue;
                        };
                        row.id = sort_id(run_id, resource_index, rank).ok_or_else(|| {
                            StoreError::corrupt(
                                "identity search",
                                format!(
                                    "run {run_id} or its {resource} records exceed the index's id space"
                                ),
                            )
                        })?;
                        rank += 1;
                        rows.push(row);
                    }
                    // The next page is read (on a pooled connection, beside this writer)
                    // while this one is written: reading and decoding were a third of the
                    // time indexing took.
                    let next = async {
                        if full {
                            self.identity_page_of(run_id, *resource, &after)
                                .await
                                .map(Some)
                        } else {
                            Ok(None)
                        }
                    };
                    let insert = async {
                        for chunk in rows.chunks(ROWS_PER_INSERT) {
                            let mut qb = QueryBuilder::new(if sqlite {
                                "INSERT INTO identity_search (id, resource, run_id, record_key, status, search_text) "
                            } else {
                                "INSERT INTO identity_search (resource, run_id, record_key, status, search_text) "
                            });
                            qb.push_values(chunk, |mut b, row| {
                                if sqlite {
                                    b.push_bind(row.id);
                                }
                                b.push_bind(row.resource)
                                    .push_bind(run_id)
                                    .push_bind(row.key.as_str())
                                    .push_bind(row.status.as_str())
                                    .push_bind(row.text.as_str());
                            });
                            qb.build().execute(&mut *tx).await?;
                        }
                        Ok::<_, StoreError>(())
                    };
                    let ((), next) = futures::try_join!(insert, next)?;
                    written += rows.len() as u64;
                    match next {
                        Some(next) => page = next,
                        None => break,
                    }
                }
            }
        });
        if let Db::Postgres(pool) = &self.db {
            // Fresh statistics for planning searches, and a visibility map so deep pages are
            // index-only scans of the primary key (100,000 heap fetches otherwise). Outside
            // the transaction: VACUUM cannot run in one.
            sqlx::query("VACUUM (ANALYZE) identity_search")
                .execute(pool)
                .await?;
        }
        Ok(written)
    }

    /// One keyset page of a run's records of one resource after `after`, as `(key, data)`.
    /// Searches never look inside `raw`: only the records' own fields are read, so the source
    /// objects are never copied out or parsed.
    async fn identity_page_of(
        &self,
        run_id: i64,
        resource: Resource,
        after: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        const RECORDS: &str = "SELECT record_key, data FROM records \
             WHERE run_id = $1 AND resource = $2 AND record_key > $3 ORDER BY record_key LIMIT $4";
        Ok(with_pool!(self, |pool| {
            sqlx::query_as::<_, (String, String)>(RECORDS)
                .bind(run_id)
                .bind(resource.as_str())
                .bind(after)
                .bind(to_i64(READ_PAGE))
                .fetch_all(pool)
                .await?
        }))
    }

    /// A page of one resource across every integration's current snapshot, in
    /// `(run_id, record_key)` order.
    pub async fn identity_page(
        &self,
        resource: Resource,
        query: &IdentityQuery,
    ) -> Result<IdentityPage, StoreError> {
        if !INDEXED.contains(&resource) {
            return Ok(IdentityPage {
                items: Vec::new(),
                has_more: false,
            });
        }
        let term = query
            .q
            .as_deref()
            .map(str::trim)
            .filter(|q| !q.is_empty())
            .map(Term::new);
        let status = query
            .status
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        let limit = query.limit.clamp(1, 500);
        let (fetch, offset) = (to_i64(limit + 1), to_i64(query.offset));
        let keys = match &self.db {
            Db::Sqlite(pool) => {
                sqlite_page(pool, resource, term.as_ref(), status, fetch, offset).await?
            }
            Db::Postgres(pool) => {
                // One SQL text per filter combination rather than `($2 = '' OR ...)`, so each
                // plan can use the trigram index and skips the filters not asked for. Not a
                // named prepared statement (`persistent(false)`): each search is planned with
                // its actual term (a generic plan cannot know whether the trigram index or the
                // ordered scan that stops after one page is cheaper).
                // With one current run (the usual case) the run is a bound constant: the
                // planner then reads the primary key in order and stops after the page, where
                // a join on the current runs made it sort the whole resource for deep pages.
                const CURRENT: &str =
                    "SELECT current_run_id FROM integrations WHERE current_run_id IS NOT NULL";
                let runs = sqlx::query_scalar::<_, i64>(CURRENT)
                    .fetch_all(pool)
                    .await?;
                if runs.is_empty() {
                    return Ok(IdentityPage {
                        items: Vec::new(),
                        has_more: false,
                    });
                }
                let filtered = |ordered: bool| {
                    let mut qb = QueryBuilder::<Postgres>::new(
                        "SELECT run_id, record_key FROM identity_search WHERE resource = ",
                    );
                    qb.push_bind(resource.as_str());
                    match runs.as_slice() {
                        [run] => {
                            qb.push(" AND run_id = ").push_bind(*run);
                        }
                        _ => {
                            qb.push(" AND run_id IN (").push(CURRENT).push(")");
                        }
                    }
                    if let Some(term) = &term {
                        qb.push(" AND (search_text LIKE ")
                            .push_bind(term.like.clone())
                            .push(" ESCAPE '\\'");
                        // The rare-term lookup reads the trigram index alone (below).
                        if ordered {
                            qb.push(" OR (record_key = ")
                                .push_bind(term.key.to_string())
                                .push(" AND search_text <> '')");
                        }
                        qb.push(")");
                    }
                    if let Some(s) = status {
                        qb.push(" AND status = ").push_bind(s.to_string());
                    }
                    if ordered {
                        qb.push(" ORDER BY run_id, record_key LIMIT ")
                            .push_bind(fetch);
                        qb.push(" OFFSET ").push_bind(offset);
                    } else {
                        qb.push(" LIMIT ").push_bind(to_i64(PG_RARE_HITS + 1));
                    }
                    qb
                };
                // Rare terms through the trigram index, ordered here: the planner's estimate
                // for `LIKE '%term%'` is often 10× too high, and it then prefers the ordered
                // primary-key scan, which reads tens of thousands of rows to find a rare term.
                // With plain index scans off for this transaction only the GIN bitmap (or a
                // sequential scan that stops at the cap) remains; common terms hit the cap and
                // fall through to the ordered scan, which stops after one page.
                let rare = match &term {
                    Some(t) if t.lower.chars().count() >= 3 => {
                        let mut tx = pool.begin().await?;
                        sqlx::query("SET LOCAL enable_indexscan = off")
                            .execute(&mut *tx)
                            .await?;
                        sqlx::query("SET LOCAL enable_indexonlyscan = off")
                            .execute(&mut *tx)
                            .await?;
                        let mut hits = filtered(false)
                            .build_query_as::<(i64, String)>()
                            .persistent(false)
                            .fetch_all(&mut *tx)
                            .await?;
                        tx.commit().await?;
                        // A record whose whole id is the term (ids are not in the text).
                        let mut exact = QueryBuilder::<Postgres>::new(
                            "SELECT run_id, record_key FROM identity_search WHERE resource = ",
                        );
                        exact
                            .push_bind(resource.as_str())
                            .push(" AND run_id IN (")
                            .push(CURRENT)
                            .push(") AND record_key = ")
                            .push_bind(t.key.to_string())
                            .push(" AND search_text <> ''");
                        if let Some(s) = status {
                            exact.push(" AND status = ").push_bind(s.to_string());
                        }
                        hits.extend(
                            exact
                                .build_query_as::<(i64, String)>()
                                .fetch_all(pool)
                                .await?,
                        );
                        (hits.len() as u64 <= PG_RARE_HITS).then(|| {
                            hits.sort();
                            hits.dedup();
                            let skip = usize::try_from(offset).unwrap_or(usize::MAX);
                            let take = usize::try_from(fetch).unwrap_or(usize::MAX);
                            hits.into_iter().skip(skip).take(take).collect::<Vec<_>>()
                        })
                    }
                    _ => None,
                };
                match rare {
                    Some(keys) => keys,
                    None => {
                        filtered(true)
                            .build_query_as::<(i64, String)>()
                            .persistent(false)
                            .fetch_all(pool)
                            .await?
                    }
                }
            }
        };
        let has_more = keys.len() as u64 > limit;
        let keys = &keys[..keys.len().min(usize::try_from(limit).unwrap_or(usize::MAX))];
        let mut data = self.records_by_key(resource, keys).await?;
        let items = keys
            .iter()
            .filter_map(|k| data.remove(k))
            .map(|d| {
                let mut v: Value = crate::snapshot::decode_value(&d)
                    .map_err(|e| StoreError::corrupt(format!("a stored {resource} record"), e))?;
                if let Some(o) = v.as_object_mut() {
                    o.remove("raw");
                }
                Ok(v)
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(IdentityPage { items, has_more })
    }

    /// The stored data of the given `(run_id, record_key)` records of one resource.
    async fn records_by_key(
        &self,
        resource: Resource,
        keys: &[(i64, String)],
    ) -> Result<BTreeMap<(i64, String), String>, StoreError> {
        let mut by_run: BTreeMap<i64, Vec<&str>> = BTreeMap::new();
        for (run, key) in keys {
            by_run.entry(*run).or_default().push(key);
        }
        let mut out = BTreeMap::new();
        for (run, keys) in by_run {
            let rows = with_pool!(self, |pool| {
                let mut qb = QueryBuilder::new(concat!(
                    "SELECT record_key, ",
                    crate::whole_sql!(),
                    " FROM records WHERE run_id = "
                ));
                qb.push_bind(run)
                    .push(" AND resource = ")
                    .push_bind(resource.as_str())
                    .push(" AND record_key IN (");
                let mut list = qb.separated(", ");
                for k in &keys {
                    list.push_bind(*k);
                }
                qb.push(")");
                qb.build_query_as::<(String, String)>()
                    .persistent(false)
                    .fetch_all(pool)
                    .await?
            });
            out.extend(rows.into_iter().map(|(k, d)| ((run, k), d)));
        }
        Ok(out)
    }
}

/// One page of `(run_id, record_key)` on SQLite.
///
/// Terms of three characters or more are first counted in the trigram index (up to
/// [`FTS_MAX_HITS`]): a rare term's hits are fetched by rowid and sorted; a common term (or a
/// shorter one) is matched while scanning the resource's rowid range in order, which finds a
/// page after a few rows. Either way `LIKE` confirms each hit, so both give the same rows.
async fn sqlite_page(
    pool: &SqlitePool,
    resource: Resource,
    term: Option<&Term<'_>>,
    status: Option<&str>,
    fetch: i64,
    offset: i64,
) -> Result<Vec<(i64, String)>, StoreError> {
    const CURRENT: &str = "SELECT current_run_id FROM integrations WHERE current_run_id IS NOT NULL ORDER BY current_run_id";
    const HITS: &str = "SELECT COUNT(*) FROM (SELECT rowid FROM identity_fts WHERE identity_fts MATCH $1 LIMIT $2)";
    let runs = sqlx::query_scalar::<_, i64>(CURRENT)
        .fetch_all(pool)
        .await?;
    let (Some(first), Some(last)) = (runs.first(), runs.last()) else {
        return Ok(Vec::new());
    };
    let resource_index = INDEXED.iter().position(|r| *r == resource).unwrap_or(0);
    let (lo, hi) = sort_range(*first, *last, resource_index).ok_or_else(|| {
        StoreError::corrupt(
            "identity search",
            format!("run {last} exceeds the index's id space"),
        )
    })?;
    let phrase = match term {
        Some(t) if t.lower.chars().count() >= 3 => {
            // An FTS5 string: the whole term as one phrase, which the trigram tokenizer
            // matches as a substring.
            let phrase = format!("\"{}\"", t.lower.replace('"', "\"\""));
            let hits = sqlx::query_scalar::<_, i64>(HITS)
                .bind(phrase.as_str())
                .bind(FTS_MAX_HITS + 1)
                .fetch_one(pool)
                .await?;
            (hits <= FTS_MAX_HITS).then_some(phrase)
        }
        _ => None,
    };
    let mut qb =
        QueryBuilder::<Sqlite>::new("SELECT run_id, record_key FROM identity_search WHERE ");
    match &phrase {
        // `+` keeps the planner off the rowid range and the status index: the few hits drive.
        Some(phrase) => {
            qb.push("id IN (SELECT rowid FROM identity_fts WHERE identity_fts MATCH ")
                .push_bind(phrase.as_str());
            // And the record whose whole id (its key) is the term: ids are not in the text.
            qb.push(" UNION ALL SELECT id FROM identity_search WHERE resource = ")
                .push_bind(resource.as_str())
                .push(" AND run_id IN (")
                .push(CURRENT)
                .push(") AND record_key = ")
                .push_bind(term.map(|t| t.key).unwrap_or_default());
            qb.push(") AND +id BETWEEN ")
                .push_bind(lo)
                .push(" AND ")
                .push_bind(hi);
            if let Some(s) = status {
                qb.push(" AND +status = ").push_bind(s);
            }
        }
        None => {
            qb.push("id BETWEEN ")
                .push_bind(lo)
                .push(" AND ")
                .push_bind(hi);
            if let Some(s) = status {
                qb.push(" AND status = ").push_bind(s);
            }
        }
    }
    // `+`: never the (resource, run_id, record_key) index, which would sort a whole resource.
    qb.push(" AND +resource = ").push_bind(resource.as_str());
    qb.push(" AND +run_id IN (SELECT current_run_id FROM integrations WHERE current_run_id IS NOT NULL)");
    if let Some(term) = term {
        qb.push(" AND (search_text LIKE ")
            .push_bind(term.like.as_str())
            .push(" ESCAPE '\\' OR (record_key = ")
            .push_bind(term.key)
            .push(" AND search_text <> ''))");
    }
    qb.push(" ORDER BY id LIMIT ")
        .push_bind(fetch)
        .push(" OFFSET ")
        .push_bind(offset);
    Ok(qb.build_query_as::<(i64, String)>().fetch_all(pool).await?)
}
