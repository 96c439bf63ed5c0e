//! Access-review reminders: who has how many undecided cases in which open campaign, and
//! the log of reminders sent (one per campaign, reviewer and kind).
//!
//! A reminder is claimed (inserted) before it is delivered: the unique key on
//! (campaign, reviewer, kind) lets exactly one of several workers win, so a reviewer is never
//! reminded twice of the same thing, at the price of a lost reminder if the winner dies
//! between the claim and the delivery (its row then shows neither a destination nor an error).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{Store, StoreError, with_pool};

/// A reviewer's undecided cases in one open campaign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReviewerPending {
    pub campaign_id: i64,
    /// Lower-case email, as stored in the cases (may be `unassigned`).
    pub reviewer: String,
    pub pending: u64,
}

/// One reminder sent (or claimed and being delivered).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReviewReminder {
    pub id: i64,
    pub campaign_id: i64,
    pub reviewer: String,
    /// `due_soon`, `due_tomorrow` or `overdue`.
    pub kind: String,
    /// The reviewer's undecided cases when it was sent.
    pub pending: u64,
    pub at: DateTime<Utc>,
    /// Where it went (a webhook's origin); `None` when only recorded, or not delivered.
    pub delivered_to: Option<String>,
    /// Why delivery failed.
    pub error: Option<String>,
}

#[derive(sqlx::FromRow)]
struct ReminderRow {
    id: i64,
    campaign_id: i64,
    reviewer: String,
    kind: String,
    pending: i64,
    at: DateTime<Utc>,
    delivered_to: Option<String>,
    error: Option<String>,
}

impl From<ReminderRow> for ReviewReminder {
    fn from(r: ReminderRow) -> Self {
        ReviewReminder {
            id: r.id,
            campaign_id: r.campaign_id,
            reviewer: r.reviewer,
            kind: r.kind,
            pending: crate::to_u64(r.pending),
            at: r.at,
            delivered_to: r.delivered_to,
            error: r.error,
        }
    }
}

const REMINDER_COLUMNS: &str = "id, campaign_id, reviewer, kind, pending, at, delivered_to, error";

/// Sum per-reviewer counts from `(campaign, ",a@x,b@y,", undecided)` groups: a case with two
/// reviewers is pending for both.
fn per_reviewer(groups: Vec<(i64, String, i64)>) -> Vec<ReviewerPending> {
    let mut sums: BTreeMap<(i64, String), u64> = BTreeMap::new();
    for (campaign_id, reviewers, n) in groups {
        for reviewer in reviewers.split(',').filter(|s| !s.is_empty()) {
            *sums.entry((campaign_id, reviewer.to_string())).or_default() += crate::to_u64(n);
        }
    }
    sums.into_iter()
        .map(|((campaign_id, reviewer), pending)| ReviewerPending {
            campaign_id,
            reviewer,
            pending,
        })
        .collect()
}

impl Store {
    /// Undecided cases per reviewer of every open campaign, by campaign then reviewer.
    /// Reviewers with nothing undecided are absent.
    ///
    /// Cases are grouped by their stored reviewer list in SQL (a campaign has few distinct
    /// lists), and the lists are split here: splitting a delimited string differs per backend.
    pub async fn review_pending_by_reviewer(&self) -> Result<Vec<ReviewerPending>, StoreError> {
        const SQL: &str = "SELECT campaign_id, reviewers, COUNT(*) FROM review_cases \
             WHERE decision IS NULL AND campaign_id IN (SELECT id FROM review_campaigns WHERE status = 'open') \
             GROUP BY campaign_id, reviewers";
        let groups = with_pool!(self, |pool| {
            sqlx::query_as::<_, (i64, String, i64)>(SQL)
                .fetch_all(pool)
                .await?
        });
        Ok(per_reviewer(groups))
    }

    /// (campaign, reviewer, kind) of every reminder of the open campaigns: what not to send again.
    pub async fn review_reminder_keys(
        &self,
    ) -> Result<BTreeSet<(i64, String, String)>, StoreError> {
        const SQL: &str = "SELECT campaign_id, reviewer, kind FROM review_reminders \
             WHERE campaign_id IN (SELECT id FROM review_campaigns WHERE status = 'open')";
        let rows = with_pool!(self, |pool| {
            sqlx::query_as::<_, (i64, String, String)>(SQL)
                .fetch_all(pool)
                .await?
        });
        Ok(rows.into_iter().collect())
    }

    /// Record a reminder before delivering it. `None` when that reminder exists already
    /// (another worker, or an earlier tick, sent it).
    pub async fn claim_review_reminder(
        &self,
        campaign_id: i64,
        reviewer: &str,
        kind: &str,
        pending: u64,
        at: DateTime<Utc>,
    ) -> Result<Option<ReviewReminder>, StoreError> {
        let sql = format!(
            "INSERT INTO review_reminders (campaign_id, reviewer, kind, pending, at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (campaign_id, reviewer, kind) DO NOTHING RETURNING {REMINDER_COLUMNS}"
        );
        let row = with_pool!(self, |pool| {
            sqlx::query_as::<_, ReminderRow>(sqlx::AssertSqlSafe(sql.clone()))
                .bind(campaign_id)
                .bind(reviewer)
                .bind(kind)
                .bind(crate::to_i64(pending))
                .bind(at)
                .fetch_optional(pool)
                .await?
        });
        Ok(row.map(ReviewReminder::from))
    }

    /// Note how a claimed reminder's delivery went.
    pub async fn finish_review_reminder(
        &self,
        id: i64,
        delivered_to: Option<&str>,
        error: Option<&str>,
    ) -> Result<ReviewReminder, StoreError> {
        let sql = format!(
            "UPDATE review_reminders SET delivered_to = $1, error = $2 WHERE id = $3 RETURNING {REMINDER_COLUMNS}"
        );
        let row = with_pool!(self, |pool| {
            sqlx::query_as::<_, ReminderRow>(sqlx::AssertSqlSafe(sql.clone()))
                .bind(delivered_to)
                .bind(error)
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        row.map(ReviewReminder::from)
            .ok_or_else(|| StoreError::NotFound {
                what: format!("review reminder {id}"),
            })
    }

    /// The reminders log, oldest first: of one campaign, or of all.
    pub async fn review_reminders(
        &self,
        campaign_id: Option<i64>,
    ) -> Result<Vec<ReviewReminder>, StoreError> {
        let sql = format!(
            "SELECT {REMINDER_COLUMNS} FROM review_reminders WHERE ($1 IS NULL OR campaign_id = $1) ORDER BY id"
        );
        let rows = with_pool!(self, |pool| {
            sqlx::query_as::<_, ReminderRow>(sqlx::AssertSqlSafe(sql.clone()))
                .bind(campaign_id)
                .fetch_all(pool)
                .await?
        });
        Ok(rows.into_iter().map(ReviewReminder::from).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_case_with_two_reviewers_is_pending_for_both() {
        let got = per_reviewer(vec![
            (1, ",a@x,b@y,".into(), 2),
            (1, ",b@y,".into(), 3),
            (2, ",a@x,".into(), 1),
        ]);
        let want = vec![
            ReviewerPending {
                campaign_id: 1,
                reviewer: "a@x".into(),
                pending: 2,
            },
            ReviewerPending {
                campaign_id: 1,
                reviewer: "b@y".into(),
                pending: 5,
            },
            ReviewerPending {
                campaign_id: 2,
                reviewer: "a@x".into(),
                pending: 1,
            },
        ];
        assert_eq!(got, want);
    }
}
