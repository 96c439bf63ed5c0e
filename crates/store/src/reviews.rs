//! Access reviews: campaign definitions, campaigns, cases (one per graph edge) with their
//! decisions, remediation records and the audit trail.
//!
//! A decision is a conditional update (`WHERE decision IS NULL`): of two reviewers deciding
//! the same case at once exactly one wins, and the case leaves every queue at that moment.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::{Store, StoreError, in_tx, with_pool};

/// Rows per bulk INSERT: each statement takes its rows as one JSON array (a single bound
/// value, unpacked by `json_each` / `json_array_elements`), so a million cases cost fifty
/// statements rather than eleven million bound values.
const ROWS_PER_INSERT: usize = 20_000;

type FastSet<T> = std::collections::HashSet<T, foldhash::fast::RandomState>;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewReviewDefinition {
    pub name: String,
    pub integration_id: i64,
    pub scope: String,
    pub reviewer: String,
    pub due_days: i64,
    pub recur: Option<String>,
    pub remediation: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct ReviewDefinition {
    pub id: i64,
    pub name: String,
    pub integration_id: i64,
    pub scope: String,
    pub reviewer: String,
    pub due_days: i64,
    pub recur: Option<String>,
    pub remediation: bool,
    pub next_start_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Campaign {
    pub id: i64,
    pub definition_id: i64,
    pub name: String,
    pub integration_id: i64,
    pub run_id: i64,
    pub started_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub stage: i64,
    pub status: String,
    pub remediation: bool,
    pub closed_at: Option<DateTime<Utc>>,
    pub evidence_id: Option<String>,
}

/// A case to create: one edge of the graph, borrowed from what the campaign is built from.
/// Who the person is and what the target is called come once per campaign
/// ([`NewReviewPerson`], labels), not on every case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewCase<'a> {
    /// `app`, `group` or `role`.
    pub edge: &'a str,
    pub account_id: &'a str,
    pub target_id: &'a str,
    /// The group the access comes through; `None` when granted directly.
    pub via_group_id: Option<&'a str>,
    pub last_used_at: Option<DateTime<Utc>>,
    /// As stored: `,a@x,b@y,` (see [`reviewers_text`]).
    pub reviewers: &'a str,
}

/// A person's context on the cases of one campaign, as it was when the campaign started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewReviewPerson<'a> {
    pub account_id: &'a str,
    pub login: &'a str,
    pub department: Option<&'a str>,
    /// `enrolled`, `not_enrolled` or `unknown`.
    pub mfa: &'a str,
}

/// What reviewers see next to a campaign's cases, for the accounts and ids its cases mention:
/// each person once, and the label of each target and via-group id (ids without a known
/// label show as themselves).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseContext<'a> {
    pub people: Vec<NewReviewPerson<'a>>,
    pub labels: Vec<(&'a str, &'a str)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Case {
    pub id: i64,
    pub campaign_id: i64,
    pub stage: i64,
    pub edge: String,
    pub account_id: String,
    pub account_login: String,
    pub target_id: String,
    pub target_label: String,
    pub via_group_id: Option<String>,
    pub via_group_name: Option<String>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub mfa: String,
    pub department: Option<String>,
    /// `,a@x,b@y,` as stored; see [`Case::reviewer_list`].
    pub reviewers: String,
    pub decision: Option<String>,
    pub comment: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub remediation: Option<String>,
    pub remediated_at: Option<DateTime<Utc>>,
}

impl Case {
    pub fn reviewer_list(&self) -> Vec<&str> {
        self.reviewers
            .split(',')
            .filter(|s| !s.is_empty())
            .collect()
    }
}

/// Why a decision was not recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecideRefusal {
    NotFound,
    AlreadyDecided {
        by: String,
        at: DateTime<Utc>,
        decision: String,
    },
    NotReviewer {
        reviewers: Vec<String>,
    },
    Closed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct AuditEntry {
    pub id: i64,
    pub campaign_id: i64,
    pub case_id: Option<i64>,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub detail: String,
}

const CASE_COLUMNS: &str = "id, campaign_id, stage, edge, account_id, account_login, target_id, target_label, \
     via_group_id, via_group_name, last_used_at, mfa, department, reviewers, decision, comment, decided_by, \
     decided_at, remediation, remediated_at";
const CAMPAIGN_COLUMNS: &str = "id, definition_id, name, integration_id, run_id, started_at, due_at, stage, \
     status, remediation, closed_at, evidence_id";
const DEFINITION_COLUMNS: &str = "id, name, integration_id, scope, reviewer, due_days, recur, remediation, next_start_at, created_at";

/// `%,reviewer,%` with LIKE's wildcards escaped (emails may hold `_`).
fn like_member(reviewer: &str) -> String {
    let escaped = reviewer
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%,{escaped},%")
}

/// Serialise up to [`ROWS_PER_INSERT`] rows of `rows` as one JSON array into `buf` (cleared
/// first); returns how many.
fn fill_json<T: Serialize>(
    rows: &mut impl Iterator<Item = T>,
    buf: &mut Vec<u8>,
) -> Result<usize, StoreError> {
    buf.clear();
    buf.push(b'[');
    let mut n = 0;
    for row in rows.by_ref().take(ROWS_PER_INSERT) {
        if n > 0 {
            buf.push(b',');
        }
        serde_json::to_writer(&mut *buf, &row)
            .map_err(|e| StoreError::corrupt("a review row", e))?;
        n += 1;
    }
    buf.push(b']');
    Ok(n)
}

/// The encoded JSON array as the text bound to the statement (serde_json writes UTF-8).
fn json_text(buf: &[u8]) -> Result<String, StoreError> {
    String::from_utf8(buf.to_vec()).map_err(|e| StoreError::corrupt("a review row", e))
}

/// Reviewers as stored on a case: `,a@x,b@y,`, so `LIKE '%,a@x,%'` finds a reviewer's cases.
pub fn reviewers_text(list: &[String]) -> String {
    format!(",{},", list.join(","))
}

impl Store {
    pub async fn create_review_definition(
        &self,
        d: &NewReviewDefinition,
        next_start_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<ReviewDefinition, StoreError> {
        let sql = format!(
            "INSERT INTO review_definitions (name, integration_id, scope, reviewer, due_days, recur, remediation, \
             next_start_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {DEFINITION_COLUMNS}"
        );
        let row = with_pool!(self, |pool| {
            sqlx::query_as::<_, ReviewDefinition>(sqlx::AssertSqlSafe(sql.clone()))
                .bind(d.name.as_str())
                .bind(d.integration_id)
                .bind(d.scope.as_str())
                .bind(d.reviewer.as_str())
                .bind(d.due_days)
                .bind(d.recur.as_deref())
                .bind(d.remediation)
                .bind(next_start_at)
                .bind(now)
                .fetch_one(pool)
                .await?
        });
        Ok(row)
    }

    /// Recurring definitions whose next campaign is due at `now`.
    pub async fn due_review_definitions(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<ReviewDefinition>, StoreError> {
        let sql = format!(
            "SELECT {DEFINITION_COLUMNS} FROM review_definitions WHERE next_start_at IS NOT NULL AND next_start_at <= $1 ORDER BY id"
        );
        Ok(with_pool!(self, |pool| {
            sqlx::query_as::<_, ReviewDefinition>(sqlx::AssertSqlSafe(sql.clone()))
                .bind(now)
                .fetch_all(pool)
                .await?
        }))
    }

    /// Move a recurring definition's next start, only if it still is `expected` (so two
    /// workers never start the same campaign twice). True when this caller won.
    pub async fn advance_review_definition(
        &self,
        id: i64,
        expected: DateTime<Utc>,
        next: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        const SQL: &str =
            "UPDATE review_definitions SET next_start_at = $1 WHERE id = $2 AND next_start_at = $3";
        let n = with_pool!(self, |pool| {
            sqlx::query(SQL)
                .bind(next)
                .bind(id)
                .bind(expected)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(n == 1)
    }

    pub async fn review_definition(&self, id: i64) -> Result<Option<ReviewDefinition>, StoreError> {
        let sql = format!("SELECT {DEFINITION_COLUMNS} FROM review_definitions WHERE id = $1");
        Ok(with_pool!(self, |pool| {
            sqlx::query_as::<_, ReviewDefinition>(sqlx::AssertSqlSafe(sql.clone()))
                .bind(id)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// Store a new campaign (stage 1, open) with its cases, in one transaction: a campaign is
    /// never seen half-created. Cases are written as they are made (a million are never all in
    /// memory); `context` is then asked for the people and labels of the account ids and
    /// target/via-group ids they mentioned (each once, sorted), so nothing walks the cases twice.
    #[allow(clippy::too_many_arguments)]
    pub async fn create_campaign_from<'a, C, F>(
        &self,
        definition: &ReviewDefinition,
        run_id: i64,
        started_at: DateTime<Utc>,
        due_at: DateTime<Utc>,
        cases: C,
        context: F,
        actor: &str,
    ) -> Result<Campaign, StoreError>
    where
        C: Iterator<Item = NewCase<'a>> + Send,
        F: FnOnce(&[&'a str], &[&'a str]) -> CaseContext<'a> + Send,
    {
        let insert = format!(
            "INSERT INTO review_campaigns (definition_id, name, integration_id, run_id, started_at, due_at, stage, \
             status, remediation) VALUES ($1, $2, $3, $4, $5, $6, 1, 'open', $7) RETURNING {CAMPAIGN_COLUMNS}"
        );
        // Rows arrive as JSON arrays; `$2` is the campaign id. SQLite's `->>` with an integer
        // takes that array element; PostgreSQL keeps the array order with ORDINALITY so case ids
        // follow the order the cases were made in.
        let (people_sql, labels_sql, cases_sql) = match &self.db {
            crate::Db::Sqlite(_) => (
                "INSERT INTO review_people (campaign_id, account_id, login, department, mfa) \
                 SELECT $2, value->>0, value->>1, value->>2, value->>3 FROM jsonb_each($1)",
                "INSERT INTO review_labels (campaign_id, id, label) SELECT $2, value->>0, value->>1 FROM jsonb_each($1)",
                "INSERT INTO review_cases (campaign_id, stage, edge, account_id, target_id, via_group_id, last_used_at, reviewers) \
                 SELECT $2, 1, value->>0, value->>1, value->>2, value->>3, value->>4, value->>5 FROM jsonb_each($1)",
            ),
            crate::Db::Postgres(_) => (
                "INSERT INTO review_people (campaign_id, account_id, login, department, mfa) \
                 SELECT $2, e->>0, e->>1, e->>2, e->>3 FROM jsonb_array_elements($1::jsonb) AS e",
                "INSERT INTO review_labels (campaign_id, id, label) \
                 SELECT $2, e->>0, e->>1 FROM jsonb_array_elements($1::jsonb) AS e",
                "INSERT INTO review_cases (campaign_id, stage, edge, account_id, target_id, via_group_id, last_used_at, reviewers) \
                 SELECT $2, 1, e->>0, e->>1, e->>2, e->>3, (e->>4)::timestamptz, e->>5 \
                 FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS x(e, n) ORDER BY n",
            ),
        };
        // What the cases mention: a fast hash (ids we made, no flooding risk), a million inserts.
        let mut accounts: FastSet<&'a str> = FastSet::default();
        let mut ids: FastSet<&'a str> = FastSet::default();
        // Rows as JSON arrays, positional to match the SQL above.
        let mut cases = cases.map(|c| {
            accounts.insert(c.account_id);
            ids.insert(c.target_id);
            if let Some(g) = c.via_group_id {
                ids.insert(g);
            }
            let last = c
                .last_used_at
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false));
            (
                c.edge,
                c.account_id,
                c.target_id,
                c.via_group_id,
                last,
                c.reviewers,
            )
        });
        let campaign = in_tx!(self, |tx| {
            let campaign = sqlx::query_as::<_, Campaign>(sqlx::AssertSqlSafe(insert.clone()))
                .bind(definition.id)
                .bind(definition.name.as_str())
                .bind(definition.integration_id)
                .bind(run_id)
                .bind(started_at)
                .bind(due_at)
                .bind(definition.remediation)
                .fetch_one(&mut *tx)
                .await?;
            let mut count = 0usize;
            let mut next = Vec::new();
            let mut n = fill_json(&mut cases, &mut next)?;
            while n > 0 {
                count += n;
                let text = json_text(&next)?;
                let mut write = std::pin::pin!(
                    sqlx::query(cases_sql)
                        .bind(text)
                        .bind(campaign.id)
                        .execute(&mut *tx)
                );
                // Encode the next array while this statement runs.
                let early =
                    std::future::poll_fn(|cx| std::task::Poll::Ready(write.as_mut().poll(cx)))
                        .await;
                n = fill_json(&mut cases, &mut next)?;
                match early {
                    std::task::Poll::Ready(written) => written?,
                    std::task::Poll::Pending => write.await?,
                };
            }
            drop(cases);
            let mut accounts: Vec<&str> = accounts.drain().collect();
            accounts.sort_unstable();
            let mut ids: Vec<&str> = ids.drain().collect();
            ids.sort_unstable();
            let CaseContext { people, labels } = context(&accounts, &ids);
            let mut people = people
                .into_iter()
                .map(|p| (p.account_id, p.login, p.department, p.mfa));
            let mut labels = labels.into_iter();
            let mut buf = Vec::new();
            while fill_json(&mut people, &mut buf)? > 0 {
                sqlx::query(people_sql)
                    .bind(json_text(&buf)?)
                    .bind(campaign.id)
                    .execute(&mut *tx)
                    .await?;
            }
            while fill_json(&mut labels, &mut buf)? > 0 {
                sqlx::query(labels_sql)
                    .bind(json_text(&buf)?)
                    .bind(campaign.id)
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query(
                "INSERT INTO review_audit (campaign_id, case_id, at, actor, action, detail) VALUES ($1, NULL, $2, $3, 'created', $4)",
            )
            .bind(campaign.id)
            .bind(started_at)
            .bind(actor)
            .bind(format!("{{\"cases\": {count}}}"))
            .execute(&mut *tx)
            .await?;
            campaign
        });
        Ok(campaign)
    }

    pub async fn campaigns(&self) -> Result<Vec<Campaign>, StoreError> {
        let sql = format!("SELECT {CAMPAIGN_COLUMNS} FROM review_campaigns ORDER BY id");
        Ok(with_pool!(self, |pool| {
            sqlx::query_as::<_, Campaign>(sqlx::AssertSqlSafe(sql.clone()))
                .fetch_all(pool)
                .await?
        }))
    }

    pub async fn campaign(&self, id: i64) -> Result<Option<Campaign>, StoreError> {
        let sql = format!("SELECT {CAMPAIGN_COLUMNS} FROM review_campaigns WHERE id = $1");
        Ok(with_pool!(self, |pool| {
            sqlx::query_as::<_, Campaign>(sqlx::AssertSqlSafe(sql.clone()))
                .bind(id)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// (cases, kept, revoked) of a campaign, counted in SQL.
    pub async fn campaign_counts(&self, campaign_id: i64) -> Result<(u64, u64, u64), StoreError> {
        const SQL: &str = "SELECT COUNT(*), \
             COALESCE(SUM(CASE WHEN decision = 'keep' THEN 1 ELSE 0 END), 0), \
             COALESCE(SUM(CASE WHEN decision = 'revoke' THEN 1 ELSE 0 END), 0) \
             FROM review_cases WHERE campaign_id = $1";
        let (n, k, r) = with_pool!(self, |pool| {
            sqlx::query_as::<_, (i64, i64, i64)>(SQL)
                .bind(campaign_id)
                .fetch_one(pool)
                .await?
        });
        Ok((crate::to_u64(n), crate::to_u64(k), crate::to_u64(r)))
    }

    /// Every case of a campaign, by id.
    pub async fn campaign_cases(&self, campaign_id: i64) -> Result<Vec<Case>, StoreError> {
        let sql = format!(
            "SELECT {CASE_COLUMNS} FROM review_case_details WHERE campaign_id = $1 ORDER BY id"
        );
        Ok(with_pool!(self, |pool| {
            sqlx::query_as::<_, Case>(sqlx::AssertSqlSafe(sql.clone()))
                .bind(campaign_id)
                .fetch_all(pool)
                .await?
        }))
    }

    pub async fn review_case(&self, id: i64) -> Result<Option<Case>, StoreError> {
        let sql = format!("SELECT {CASE_COLUMNS} FROM review_case_details WHERE id = $1");
        Ok(with_pool!(self, |pool| {
            sqlx::query_as::<_, Case>(sqlx::AssertSqlSafe(sql.clone()))
                .bind(id)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// Undecided cases of open campaigns that `reviewer` (lower-case) may decide.
    pub async fn review_queue(&self, reviewer: &str) -> Result<Vec<Case>, StoreError> {
        let sql = format!(
            "SELECT {CASE_COLUMNS} FROM review_case_details WHERE decision IS NULL AND reviewers LIKE $1 ESCAPE '\\' \
             AND campaign_id IN (SELECT id FROM review_campaigns WHERE status = 'open') ORDER BY campaign_id, id"
        );
        let pattern = like_member(reviewer);
        Ok(with_pool!(self, |pool| {
            sqlx::query_as::<_, Case>(sqlx::AssertSqlSafe(sql.clone()))
                .bind(pattern.as_str())
                .fetch_all(pool)
                .await?
        }))
    }

    /// Record a decision unless the case was decided already (first decision wins).
    pub async fn decide_case(
        &self,
        case_id: i64,
        reviewer: &str,
        decision: &str,
        comment: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Result<Case, DecideRefusal>, StoreError> {
        const SQL: &str = "UPDATE review_cases SET decision = $1, comment = $2, decided_by = $3, decided_at = $4 \
             WHERE id = $5 AND decision IS NULL AND reviewers LIKE $6 ESCAPE '\\' \
             AND campaign_id IN (SELECT id FROM review_campaigns WHERE status = 'open')";
        let pattern = like_member(reviewer);
        let won = in_tx!(self, |tx| {
            let n = sqlx::query(SQL)
                .bind(decision)
                .bind(comment)
                .bind(reviewer)
                .bind(now)
                .bind(case_id)
                .bind(pattern.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if n == 1 {
                sqlx::query(
                    "INSERT INTO review_audit (campaign_id, case_id, at, actor, action, detail) \
                     SELECT campaign_id, id, $1, $2, 'decided', $3 FROM review_cases WHERE id = $4",
                )
                .bind(now)
                .bind(reviewer)
                .bind(serde_json::json!({"decision": decision, "comment": comment}).to_string())
                .bind(case_id)
                .execute(&mut *tx)
                .await?;
            }
            n == 1
        });
        let Some(case) = self.review_case(case_id).await? else {
            return Ok(Err(DecideRefusal::NotFound));
        };
        if won {
            return Ok(Ok(case));
        }
        if let (Some(by), Some(at), Some(d)) = (&case.decided_by, case.decided_at, &case.decision) {
            return Ok(Err(DecideRefusal::AlreadyDecided {
                by: by.clone(),
                at,
                decision: d.clone(),
            }));
        }
        if !case.reviewer_list().contains(&reviewer) {
            return Ok(Err(DecideRefusal::NotReviewer {
                reviewers: case
                    .reviewer_list()
                    .into_iter()
                    .map(str::to_string)
                    .collect(),
            }));
        }
        Ok(Err(DecideRefusal::Closed))
    }

    /// Record what remediation did for a case (and audit it).
    pub async fn record_remediation(
        &self,
        case: &Case,
        actor: &str,
        remediation: &Value,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let text = remediation.to_string();
        in_tx!(self, |tx| {
            sqlx::query(
                "UPDATE review_cases SET remediation = $1, remediated_at = $2 WHERE id = $3",
            )
            .bind(text.as_str())
            .bind(now)
            .bind(case.id)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO review_audit (campaign_id, case_id, at, actor, action, detail) VALUES ($1, $2, $3, $4, 'remediated', $5)",
            )
            .bind(case.campaign_id)
            .bind(case.id)
            .bind(now)
            .bind(actor)
            .bind(text.as_str())
            .execute(&mut *tx)
            .await?;
        });
        Ok(())
    }

    /// Append an audit entry.
    pub async fn audit_review(
        &self,
        campaign_id: i64,
        case_id: Option<i64>,
        actor: &str,
        action: &str,
        detail: &Value,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        const SQL: &str = "INSERT INTO review_audit (campaign_id, case_id, at, actor, action, detail) VALUES ($1, $2, $3, $4, $5, $6)";
        let detail = detail.to_string();
        with_pool!(self, |pool| {
            sqlx::query(SQL)
                .bind(campaign_id)
                .bind(case_id)
                .bind(now)
                .bind(actor)
                .bind(action)
                .bind(detail.as_str())
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    pub async fn review_audit(&self, campaign_id: i64) -> Result<Vec<AuditEntry>, StoreError> {
        const SQL: &str = "SELECT id, campaign_id, case_id, at, actor, action, detail FROM review_audit WHERE campaign_id = $1 ORDER BY id";
        Ok(with_pool!(self, |pool| {
            sqlx::query_as::<_, AuditEntry>(SQL)
                .bind(campaign_id)
                .fetch_all(pool)
                .await?
        }))
    }

    /// Note the evidence item a campaign's report became.
    pub async fn set_campaign_evidence(
        &self,
        campaign_id: i64,
        evidence_id: &str,
    ) -> Result<(), StoreError> {
        const SQL: &str = "UPDATE review_campaigns SET evidence_id = $1 WHERE id = $2";
        with_pool!(self, |pool| {
            sqlx::query(SQL)
                .bind(evidence_id)
                .bind(campaign_id)
                .execute(pool)
                .await?;
        });
        Ok(())
    }
}
