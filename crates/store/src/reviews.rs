//! Access reviews: campaign definitions, campaigns, cases (one per graph edge) with their
//! decisions, remediation records and the audit trail.
//!
//! A decision is a conditional update (`WHERE decision IS NULL`): of two reviewers deciding
//! the same case at once exactly one wins, and the case leaves every queue at that moment.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::QueryBuilder;

use crate::{Store, StoreError, in_tx, with_pool};

/// At most 11 binds per case row: 11,000 per statement, under SQLite's 32,766 and PostgreSQL's 65,535.
const CASES_PER_INSERT: usize = 1_000;

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

/// A case to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCase {
    /// `app`, `group` or `role`.
    pub edge: String,
    pub account_id: String,
    pub account_login: String,
    pub target_id: String,
    pub target_label: String,
    pub via_group_id: Option<String>,
    pub via_group_name: Option<String>,
    pub last_used_at: Option<DateTime<Utc>>,
    /// `enrolled`, `not_enrolled` or `unknown`.
    pub mfa: String,
    pub department: Option<String>,
    /// Lower-case emails (or `unassigned`).
    pub reviewers: Vec<String>,
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
        self.reviewers.split(',').filter(|s| !s.is_empty()).collect()
    }
}

/// Why a decision was not recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecideRefusal {
    NotFound,
    AlreadyDecided { by: String, at: DateTime<Utc>, decision: String },
    NotReviewer { reviewers: Vec<String> },
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
const DEFINITION_COLUMNS: &str =
    "id, name, integration_id, scope, reviewer, due_days, recur, remediation, next_start_at, created_at";

/// `%,reviewer,%` with LIKE's wildcards escaped (emails may hold `_`).
fn like_member(reviewer: &str) -> String {
    let escaped = reviewer.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%,{escaped},%")
}

/// The next chunk of cases (with their reviewers as stored) into `buf`.
fn fill(cases: &mut impl Iterator<Item = NewCase>, mut buf: Vec<(NewCase, String)>) -> Vec<(NewCase, String)> {
    buf.clear();
    buf.extend(cases.take(CASES_PER_INSERT).map(|c| {
        let r = reviewers_text(&c.reviewers);
        (c, r)
    }));
    buf
}

/// An emptied buffer, to be filled again.
fn recycle(mut buf: Vec<(NewCase, String)>) -> Vec<(NewCase, String)> {
    buf.clear();
    buf
}

/// One multi-row INSERT of cases. The campaign id and stage are the same in every row:
/// integers written into the statement rather than bound 2 × 1,000 times (the statement is
/// still the same text for every full chunk, so it is prepared once).
fn case_rows_insert<'a, DB: sqlx::Database>(campaign_id: i64, chunk: &'a [(NewCase, String)]) -> QueryBuilder<DB>
where
    &'a str: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    Option<&'a str>: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    Option<DateTime<Utc>>: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    let mut qb = QueryBuilder::new(
        "INSERT INTO review_cases (campaign_id, stage, edge, account_id, account_login, target_id, \
         target_label, via_group_id, via_group_name, last_used_at, mfa, department, reviewers) ",
    );
    qb.push_values(chunk.iter(), |mut b, (c, r)| {
        b.push(campaign_id)
            .push("1")
            .push_bind(c.edge.as_str())
            .push_bind(c.account_id.as_str())
            .push_bind(c.account_login.as_str())
            .push_bind(c.target_id.as_str())
            .push_bind(c.target_label.as_str())
            .push_bind(c.via_group_id.as_deref())
            .push_bind(c.via_group_name.as_deref())
            .push_bind(c.last_used_at)
            .push_bind(c.mfa.as_str())
            .push_bind(c.department.as_deref())
            .push_bind(r.as_str());
    });
    qb
}

fn reviewers_text(list: &[String]) -> String {
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
    pub async fn due_review_definitions(&self, now: DateTime<Utc>) -> Result<Vec<ReviewDefinition>, StoreError> {
        let sql = format!(
            "SELECT {DEFINITION_COLUMNS} FROM review_definitions WHERE next_start_at IS NOT NULL AND next_start_at <= $1 ORDER BY id"
        );
        Ok(with_pool!(self, |pool| {
            sqlx::query_as::<_, ReviewDefinition>(sqlx::AssertSqlSafe(sql.clone())).bind(now).fetch_all(pool).await?
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
        const SQL: &str = "UPDATE review_definitions SET next_start_at = $1 WHERE id = $2 AND next_start_at = $3";
        let n = with_pool!(self, |pool| {
            sqlx::query(SQL).bind(next).bind(id).bind(expected).execute(pool).await?.rows_affected()
        });
        Ok(n == 1)
    }

    pub async fn review_definition(&self, id: i64) -> Result<Option<ReviewDefinition>, StoreError> {
        let sql = format!("SELECT {DEFINITION_COLUMNS} FROM review_definitions WHERE id = $1");
        Ok(with_pool!(self, |pool| {
            sqlx::query_as::<_, ReviewDefinition>(sqlx::AssertSqlSafe(sql.clone())).bind(id).fetch_optional(pool).await?
        }))
    }

    /// Create a campaign with its cases in one transaction (stage 1).
    #[allow(clippy::too_many_arguments)]
    pub async fn create_campaign(
        &self,
        definition: &ReviewDefinition,
        run_id: i64,
        started_at: DateTime<Utc>,
        due_at: DateTime<Utc>,
        cases: &[NewCase],
        actor: &str,
    ) -> Result<Campaign, StoreError> {
        self.create_campaign_from(definition, run_id, started_at, due_at, cases.iter().cloned(), actor).await
    }

    /// [`Store::create_campaign`] from cases made as they are stored: a million cases are
    /// never all in memory, and building the next chunk reuses the memory of the last.
    #[allow(clippy::too_many_arguments)]
    pub async fn create_campaign_from(
        &self,
        definition: &ReviewDefinition,
        run_id: i64,
        started_at: DateTime<Utc>,
        due_at: DateTime<Utc>,
        cases: impl Iterator<Item = NewCase> + Send,
        actor: &str,
    ) -> Result<Campaign, StoreError> {
        let insert = format!(
            "INSERT INTO review_campaigns (definition_id, name, integration_id, run_id, started_at, due_at, stage, \
             status, remediation) VALUES ($1, $2, $3, $4, $5, $6, 1, 'open', $7) RETURNING {CAMPAIGN_COLUMNS}"
        );
        let mut cases = cases;
        let mut spare: Option<Vec<(NewCase, String)>> = Some(Vec::with_capacity(CASES_PER_INSERT));
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
            let mut next = fill(&mut cases, Vec::with_capacity(CASES_PER_INSERT));
            while !next.is_empty() {
                let chunk = std::mem::take(&mut next);
                count += chunk.len();
                let mut qb = case_rows_insert(campaign.id, &chunk);
                // The next chunk is built while this one is written: the statement runs on
                // the driver's own thread (SQLite) or the server (PostgreSQL) once the first
                // poll has sent it, and building the cases is a third of the work.
                let mut write = std::pin::pin!(qb.build().execute(&mut *tx));
                let early = std::future::poll_fn(|cx| std::task::Poll::Ready(write.as_mut().poll(cx))).await;
                let filled = fill(&mut cases, spare.take().unwrap_or_default());
                match early {
                    std::task::Poll::Ready(written) => written?,
                    std::task::Poll::Pending => write.await?,
                };
                next = filled;
                spare = Some(recycle(chunk));
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
            sqlx::query_as::<_, Campaign>(sqlx::AssertSqlSafe(sql.clone())).fetch_all(pool).await?
        }))
    }

    pub async fn campaign(&self, id: i64) -> Result<Option<Campaign>, StoreError> {
        let sql = format!("SELECT {CAMPAIGN_COLUMNS} FROM review_campaigns WHERE id = $1");
        Ok(with_pool!(self, |pool| {
            sqlx::query_as::<_, Campaign>(sqlx::AssertSqlSafe(sql.clone())).bind(id).fetch_optional(pool).await?
        }))
    }

    /// (cases, kept, revoked) of a campaign, counted in SQL.
    pub async fn campaign_counts(&self, campaign_id: i64) -> Result<(u64, u64, u64), StoreError> {
        const SQL: &str = "SELECT COUNT(*), \
             COALESCE(SUM(CASE WHEN decision = 'keep' THEN 1 ELSE 0 END), 0), \
             COALESCE(SUM(CASE WHEN decision = 'revoke' THEN 1 ELSE 0 END), 0) \
             FROM review_cases WHERE campaign_id = $1";
        let (n, k, r) = with_pool!(self, |pool| {
            sqlx::query_as::<_, (i64, i64, i64)>(SQL).bind(campaign_id).fetch_one(pool).await?
        });
        Ok((crate::to_u64(n), crate::to_u64(k), crate::to_u64(r)))
    }

    /// Every case of a campaign, by id.
    pub async fn campaign_cases(&self, campaign_id: i64) -> Result<Vec<Case>, StoreError> {
        let sql = format!("SELECT {CASE_COLUMNS} FROM review_cases WHERE campaign_id = $1 ORDER BY id");
        Ok(with_pool!(self, |pool| {
            sqlx::query_as::<_, Case>(sqlx::AssertSqlSafe(sql.clone())).bind(campaign_id).fetch_all(pool).await?
        }))
    }

    pub async fn review_case(&self, id: i64) -> Result<Option<Case>, StoreError> {
        let sql = format!("SELECT {CASE_COLUMNS} FROM review_cases WHERE id = $1");
        Ok(with_pool!(self, |pool| {
            sqlx::query_as::<_, Case>(sqlx::AssertSqlSafe(sql.clone())).bind(id).fetch_optional(pool).await?
        }))
    }

    /// Undecided cases of open campaigns that `reviewer` (lower-case) may decide.
    pub async fn review_queue(&self, reviewer: &str) -> Result<Vec<Case>, StoreError> {
        let sql = format!(
            "SELECT {CASE_COLUMNS} FROM review_cases WHERE decision IS NULL AND reviewers LIKE $1 ESCAPE '\\' \
             AND campaign_id IN (SELECT id FROM review_campaigns WHERE status = 'open') ORDER BY campaign_id, id"
        );
        let pattern = like_member(reviewer);
        Ok(with_pool!(self, |pool| {
            sqlx::query_as::<_, Case>(sqlx::AssertSqlSafe(sql.clone())).bind(pattern.as_str()).fetch_all(pool).await?
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
            return Ok(Err(DecideRefusal::AlreadyDecided { by: by.clone(), at, decision: d.clone() }));
        }
        if !case.reviewer_list().contains(&reviewer) {
            return Ok(Err(DecideRefusal::NotReviewer {
                reviewers: case.reviewer_list().into_iter().map(str::to_string).collect(),
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
            sqlx::query("UPDATE review_cases SET remediation = $1, remediated_at = $2 WHERE id = $3")
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
            sqlx::query_as::<_, AuditEntry>(SQL).bind(campaign_id).fetch_all(pool).await?
        }))
    }

    /// Note the evidence item a campaign's report became.
    pub async fn set_campaign_evidence(&self, campaign_id: i64, evidence_id: &str) -> Result<(), StoreError> {
        const SQL: &str = "UPDATE review_campaigns SET evidence_id = $1 WHERE id = $2";
        with_pool!(self, |pool| {
            sqlx::query(SQL).bind(evidence_id).bind(campaign_id).execute(pool).await?;
        });
        Ok(())
    }
}
