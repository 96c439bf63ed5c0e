//! Sync schedules and sync jobs: the queue that workers (in `steward worker` and `steward
//! serve`) claim from with a lease.
//!
//! - A schedule (`sync_schedules`) says how often an integration syncs; when it is due,
//!   [`Store::enqueue_due_schedules`] creates one `scheduled` job and advances it. A compare-and-
//!   set on `next_due_at` plus a unique `(integration_id, kind, due_at)` make that idempotent
//!   across workers.
//! - [`Store::claim_due_job`] atomically takes one queued, due job (or a running job whose lease
//!   expired: its worker died) for an integration with no other running job. On PostgreSQL the
//!   candidate row is locked with `FOR UPDATE SKIP LOCKED`, so concurrent workers pick
//!   different rows without waiting; on SQLite the statement runs inside `BEGIN IMMEDIATE`,
//!   which serialises writers. The partial unique index `sync_jobs_one_running` is the last
//!   word: two workers racing for two jobs of one integration cannot both win.
//! - The holder renews its lease ([`Store::renew_lease`]) and ends the job with
//!   [`Store::finish_job`]; both refuse with [`StoreError::LeaseLost`] once another worker took
//!   the job over.
//!
//! Timestamps on SQLite are RFC 3339 text in UTC (`+00:00`, 0/3/6/9 fraction digits); those sort
//! lexicographically in time order, so `<=` in SQL compares instants on both backends.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use crate::error::is_unique_violation;
use crate::{Store, StoreError, in_tx, with_pool};

/// How often an integration syncs on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub enum Frequency {
    Hourly,
    Daily,
    Weekly,
    /// Only when someone asks (Sync now, `steward sync`).
    Manual,
    /// Every N minutes (N ≥ 1).
    EveryMinutes(u32),
}

/// The longest custom interval: four weeks.
const MAX_MINUTES: u32 = 4 * 7 * 24 * 60;

impl Frequency {
    /// Parse `hourly`, `daily`, `weekly`, `manual`, `30m` or `2h`.
    pub fn parse(input: &str) -> Result<Frequency, String> {
        let s = input.trim().to_ascii_lowercase();
        let bad = || {
            format!(
                "{input:?} is not a frequency: use hourly, daily, weekly, manual, or an interval like 30m or 2h"
            )
        };
        let minutes = match s.as_str() {
            "hourly" => return Ok(Frequency::Hourly),
            "daily" => return Ok(Frequency::Daily),
            "weekly" => return Ok(Frequency::Weekly),
            "manual" => return Ok(Frequency::Manual),
            _ => {
                if let Some(n) = s.strip_suffix('m') {
                    n.parse::<u32>().map_err(|_| bad())?
                } else if let Some(n) = s.strip_suffix('h') {
                    n.parse::<u32>()
                        .map_err(|_| bad())?
                        .checked_mul(60)
                        .ok_or_else(bad)?
                } else {
                    return Err(bad());
                }
            }
        };
        if minutes == 0 || minutes > MAX_MINUTES {
            return Err(format!(
                "{input:?}: the interval must be between 1 minute and 4 weeks"
            ));
        }
        Ok(Frequency::EveryMinutes(minutes))
    }

    /// The stored (and displayed) form: `hourly`, ..., or `30m`.
    pub fn as_string(&self) -> String {
        match self {
            Frequency::Hourly => "hourly".into(),
            Frequency::Daily => "daily".into(),
            Frequency::Weekly => "weekly".into(),
            Frequency::Manual => "manual".into(),
            Frequency::EveryMinutes(n) => format!("{n}m"),
        }
    }

    /// Time between scheduled syncs; `None` for manual.
    pub fn interval(&self) -> Option<TimeDelta> {
        match self {
            Frequency::Hourly => Some(TimeDelta::hours(1)),
            Frequency::Daily => Some(TimeDelta::days(1)),
            Frequency::Weekly => Some(TimeDelta::weeks(1)),
            Frequency::Manual => None,
            Frequency::EveryMinutes(n) => Some(TimeDelta::minutes(i64::from(*n))),
        }
    }
}

impl From<Frequency> for String {
    fn from(f: Frequency) -> String {
        f.as_string()
    }
}

impl std::fmt::Display for Frequency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.as_string())
    }
}

/// An integration's sync schedule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SyncSchedule {
    pub integration_id: i64,
    pub frequency: Frequency,
    /// When the next scheduled job is due; `None` for manual.
    pub next_due_at: Option<DateTime<Utc>>,
    /// A disabled schedule keeps its frequency but creates no jobs.
    pub enabled: bool,
    pub updated_at: DateTime<Utc>,
}

/// One sync job as recorded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SyncJob {
    pub id: i64,
    pub integration_id: i64,
    /// `scheduled` or `manual`.
    pub kind: String,
    pub due_at: DateTime<Utc>,
    /// `queued`, `running`, `succeeded` or `failed`.
    pub status: String,
    /// The worker holding (or that last held) the job.
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<DateTime<Utc>>,
    /// Claims so far: more than 1 means a worker died and another took the job over.
    pub attempts: u32,
    /// The sync run the job's last attempt produced, when it got that far.
    pub run_id: Option<i64>,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// What [`Store::enqueue_manual`] did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Enqueued {
    pub job: SyncJob,
    /// `false` when an already queued job of the integration was returned instead (merged).
    pub created: bool,
}

/// How a job ended.
#[derive(Debug, Clone, PartialEq)]
pub enum JobEnd {
    Succeeded { run_id: Option<i64> },
    Failed { run_id: Option<i64>, error: String },
}

/// A job whose worker died this many times is failed instead of taken over again: something
/// in it (a huge org, a crash) kills workers.
pub const MAX_ATTEMPTS: u32 = 5;

const JOB_COLUMNS: &str = "id, integration_id, kind, due_at, status, lease_owner, lease_expires_at, \
     attempts, run_id, error, created_at, started_at, finished_at";

type JobRow = (
    i64,
    i64,
    String,
    DateTime<Utc>,
    String,
    Option<String>,
    Option<DateTime<Utc>>,
    i32,
    Option<i64>,
    Option<String>,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
);

fn job_from(row: JobRow) -> SyncJob {
    let (
        id,
        integration_id,
        kind,
        due_at,
        status,
        lease_owner,
        lease_expires_at,
        attempts,
        run_id,
        error,
        created_at,
        started_at,
        finished_at,
    ) = row;
    SyncJob {
        id,
        integration_id,
        kind,
        due_at,
        status,
        lease_owner,
        lease_expires_at,
        attempts: u32::try_from(attempts).unwrap_or(0),
        run_id,
        error,
        created_at,
        started_at,
        finished_at,
    }
}

type ScheduleRow = (i64, String, Option<DateTime<Utc>>, bool, DateTime<Utc>);

fn schedule_from(row: ScheduleRow) -> Result<SyncSchedule, StoreError> {
    let (integration_id, frequency, next_due_at, enabled, updated_at) = row;
    let frequency = Frequency::parse(&frequency).map_err(|e| {
        StoreError::corrupt(format!("the schedule of integration {integration_id}"), e)
    })?;
    Ok(SyncSchedule {
        integration_id,
        frequency,
        next_due_at,
        enabled,
        updated_at,
    })
}

fn plus(at: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    TimeDelta::from_std(d)
        .ok()
        .and_then(|d| at.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Whole seconds: schedule times are compared for equality (compare-and-set), so keep them
/// free of sub-microsecond digits that a backend would round.
fn whole_seconds(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(at.timestamp(), 0).unwrap_or(at)
}

/// The first `due + k * interval` (k ≥ 1) after `now`: missed slots are skipped, not piled up.
fn next_after(due: DateTime<Utc>, interval: TimeDelta, now: DateTime<Utc>) -> DateTime<Utc> {
    let step = interval.num_seconds().max(1);
    let behind = (now - due).num_seconds().max(0);
    let k = behind / step + 1;
    due + TimeDelta::seconds(step.saturating_mul(k))
}

/// The claim statement; `$lock` is `FOR UPDATE SKIP LOCKED` on PostgreSQL and empty on SQLite
/// (whose `BEGIN IMMEDIATE` already excludes other writers).
macro_rules! claim_sql {
    ($lock:literal) => {
        concat!(
            "UPDATE sync_jobs SET status = 'running', lease_owner = $1, lease_expires_at = $3, \
             attempts = attempts + 1, started_at = COALESCE(started_at, $2), error = NULL \
             WHERE id = (SELECT j.id FROM sync_jobs j \
               WHERE ((j.status = 'queued' AND j.due_at <= $2) \
                   OR (j.status = 'running' AND j.lease_expires_at <= $2)) \
                 AND NOT EXISTS (SELECT 1 FROM sync_jobs o WHERE o.integration_id = j.integration_id \
                                 AND o.id <> j.id AND o.status = 'running') \
               ORDER BY j.due_at, j.id LIMIT 1 ",
            $lock,
            ") RETURNING id, integration_id, kind, due_at, status, lease_owner, lease_expires_at, \
             attempts, run_id, error, created_at, started_at, finished_at"
        )
    };
}

/// Insert a queued job through `$executor`; `None` when `(integration_id, kind, due_at)`
/// already exists. A macro, not a function: the executor is a pool or a transaction of
/// either backend.
macro_rules! insert_job {
    ($executor:expr, $integration_id:expr, $kind:expr, $due_at:expr, $now:expr) => {{
        let sql = sqlx::AssertSqlSafe(format!(
            "INSERT INTO sync_jobs (integration_id, kind, due_at, status, attempts, created_at) \
             VALUES ($1, $2, $3, 'queued', 0, $4) \
             ON CONFLICT (integration_id, kind, due_at) DO NOTHING RETURNING {JOB_COLUMNS}"
        ));
        sqlx::query_as::<_, JobRow>(sql)
            .bind($integration_id)
            .bind($kind)
            .bind($due_at)
            .bind($now)
            .fetch_optional($executor)
            .await
            .map(|row| row.map(job_from))
    }};
}

impl Store {
    /// Set an integration's schedule. The first scheduled job is due one interval after its
    /// last sync, or now when it never synced (or that moment has passed).
    pub async fn set_schedule(
        &self,
        integration_id: i64,
        frequency: Frequency,
        enabled: bool,
        now: DateTime<Utc>,
    ) -> Result<SyncSchedule, StoreError> {
        let integration = self
            .integration(integration_id)
            .await?
            .ok_or_else(|| StoreError::not_found(format!("integration {integration_id}")))?;
        let now = whole_seconds(now);
        let next_due_at = frequency.interval().map(|interval| {
            let after_last = integration
                .last_sync_at
                .map(|at| whole_seconds(at) + interval);
            after_last.filter(|at| *at > now).unwrap_or(now)
        });
        const SQL: &str = "INSERT INTO sync_schedules (integration_id, frequency, next_due_at, enabled, updated_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (integration_id) DO UPDATE SET \
             frequency = excluded.frequency, next_due_at = excluded.next_due_at, \
             enabled = excluded.enabled, updated_at = excluded.updated_at";
        with_pool!(self, |pool| sqlx::query(SQL)
            .bind(integration_id)
            .bind(frequency.as_string())
            .bind(next_due_at)
            .bind(enabled)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(SyncSchedule {
            integration_id,
            frequency,
            next_due_at,
            enabled,
            updated_at: now,
        })
    }

    /// The integration's schedule, if one was set.
    pub async fn schedule(&self, integration_id: i64) -> Result<Option<SyncSchedule>, StoreError> {
        const SQL: &str = "SELECT integration_id, frequency, next_due_at, enabled, updated_at \
                           FROM sync_schedules WHERE integration_id = $1";
        let row = with_pool!(self, |pool| sqlx::query_as::<_, ScheduleRow>(SQL)
            .bind(integration_id)
            .fetch_optional(pool)
            .await?);
        row.map(schedule_from).transpose()
    }

    /// Create the jobs of every enabled schedule due at `now` and advance each schedule past
    /// `now`; returns the jobs created. Idempotent: concurrent callers advance a schedule once
    /// (compare-and-set on `next_due_at`) and a unique `(integration_id, kind, due_at)` stops a
    /// duplicate job. A schedule whose previous job is still queued gets no second one (slow
    /// workers do not pile up a backlog).
    pub async fn enqueue_due_schedules(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<SyncJob>, StoreError> {
        const DUE: &str = "SELECT integration_id, frequency, next_due_at, enabled, updated_at FROM sync_schedules \
                           WHERE enabled = $1 AND next_due_at IS NOT NULL AND next_due_at <= $2 \
                           ORDER BY next_due_at";
        const ADVANCE: &str = "UPDATE sync_schedules SET next_due_at = $3 WHERE integration_id = $1 AND next_due_at = $2";
        const QUEUED: &str =
            "SELECT id FROM sync_jobs WHERE integration_id = $1 AND status = 'queued' LIMIT 1";
        let due = with_pool!(self, |pool| sqlx::query_as::<_, ScheduleRow>(DUE)
            .bind(true)
            .bind(now)
            .fetch_all(pool)
            .await?);
        let mut created = Vec::new();
        for row in due {
            let schedule = schedule_from(row)?;
            let (Some(interval), Some(due_at)) =
                (schedule.frequency.interval(), schedule.next_due_at)
            else {
                continue;
            };
            let next = next_after(due_at, interval, now);
            let integration_id = schedule.integration_id;
            let job = in_tx!(self, |tx| {
                let advanced = sqlx::query(ADVANCE)
                    .bind(integration_id)
                    .bind(due_at)
                    .bind(next)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                let queued = sqlx::query_scalar::<_, i64>(QUEUED)
                    .bind(integration_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                if advanced == 1 && queued.is_none() {
                    insert_job!(&mut *tx, integration_id, "scheduled", due_at, now)?
                } else {
                    None
                }
            });
            created.extend(job);
        }
        Ok(created)
    }

    /// Queue a scheduled job due at `due_at` (what a due schedule creates); `None` when that
    /// job already exists.
    pub async fn enqueue_scheduled(
        &self,
        integration_id: i64,
        due_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Option<SyncJob>, StoreError> {
        Ok(in_tx!(self, |tx| insert_job!(
            &mut *tx,
            integration_id,
            "scheduled",
            due_at,
            now
        )?))
    }

    /// "Sync now": queue a manual job due `now`. When a job of the integration is already
    /// queued and due, that job is returned instead (merged: it syncs just as soon). A running
    /// job does not merge, its data may predate the request; the new job waits until it ends,
    /// since jobs of one integration never overlap.
    pub async fn enqueue_manual(
        &self,
        integration_id: i64,
        now: DateTime<Utc>,
    ) -> Result<Enqueued, StoreError> {
        // Two tries: a concurrent "Sync now" may insert between our check and insert, and the
        // unique index on queued manual jobs then refuses ours; the second look finds it.
        for _ in 0..2 {
            let queued_sql = sqlx::AssertSqlSafe(format!(
                "SELECT {JOB_COLUMNS} FROM sync_jobs WHERE integration_id = $1 AND status = 'queued' \
                 AND due_at <= $2 ORDER BY due_at, id LIMIT 1"
            ));
            let existing = with_pool!(self, |pool| sqlx::query_as::<_, JobRow>(queued_sql)
                .bind(integration_id)
                .bind(now)
                .fetch_optional(pool)
                .await?);
            if let Some(row) = existing {
                return Ok(Enqueued {
                    job: job_from(row),
                    created: false,
                });
            }
            let inserted = with_pool!(self, |pool| insert_job!(
                pool,
                integration_id,
                "manual",
                now,
                now
            ));
            match inserted {
                Ok(Some(job)) => return Ok(Enqueued { job, created: true }),
                Ok(None) => continue,
                Err(e) if is_unique_violation(&e) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::corrupt(
            format!("the manual sync job of integration {integration_id}"),
            "it could neither be queued nor found",
        ))
    }

    /// Claim one due job for `worker_id` until `now + lease`: a queued job due by `now`, or a
    /// running job whose lease expired (its worker died: taken over, `attempts` + 1), of an
    /// integration with no other running job. `None` when nothing is claimable.
    pub async fn claim_due_job(
        &self,
        worker_id: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Option<SyncJob>, StoreError> {
        const GIVE_UP: &str = "UPDATE sync_jobs SET status = 'failed', finished_at = $1, lease_expires_at = NULL, \
             error = 'its worker stopped (lease expired) on every attempt; giving up' \
             WHERE status = 'running' AND lease_expires_at <= $1 AND attempts >= $2";
        let expires = plus(now, lease);
        with_pool!(self, |pool| sqlx::query(GIVE_UP)
            .bind(now)
            .bind(i32::try_from(MAX_ATTEMPTS).unwrap_or(i32::MAX))
            .execute(pool)
            .await?
            .rows_affected());
        // A lost race on PostgreSQL (two workers, two jobs of one integration) surfaces as a
        // unique violation of `sync_jobs_one_running`; the next try sees the winner's job.
        for _ in 0..5 {
            let claimed = match &self.db {
                crate::Db::Postgres(pool) => {
                    sqlx::query_as::<_, JobRow>(claim_sql!("FOR UPDATE SKIP LOCKED"))
                        .bind(worker_id)
                        .bind(now)
                        .bind(expires)
                        .fetch_optional(pool)
                        .await
                }
                crate::Db::Sqlite(pool) => {
                    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                    let row = sqlx::query_as::<_, JobRow>(claim_sql!(""))
                        .bind(worker_id)
                        .bind(now)
                        .bind(expires)
                        .fetch_optional(&mut *tx)
                        .await;
                    if row.is_ok() {
                        tx.commit().await?;
                    }
                    row
                }
            };
            match claimed {
                Ok(row) => return Ok(row.map(job_from)),
                Err(e) if is_unique_violation(&e) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Ok(None)
    }

    /// Extend the lease of a job this worker holds to `now + lease`.
    pub async fn renew_lease(
        &self,
        job_id: i64,
        worker_id: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<(), StoreError> {
        const SQL: &str = "UPDATE sync_jobs SET lease_expires_at = $3 \
                           WHERE id = $1 AND lease_owner = $2 AND status = 'running'";
        let done = with_pool!(self, |pool| sqlx::query(SQL)
            .bind(job_id)
            .bind(worker_id)
            .bind(plus(now, lease))
            .execute(pool)
            .await?
            .rows_affected());
        if done == 0 {
            return Err(StoreError::LeaseLost {
                job_id,
                worker_id: worker_id.to_string(),
            });
        }
        Ok(())
    }

    /// Record how a job this worker holds ended.
    pub async fn finish_job(
        &self,
        job_id: i64,
        worker_id: &str,
        end: &JobEnd,
        now: DateTime<Utc>,
    ) -> Result<SyncJob, StoreError> {
        let (status, run_id, error) = match end {
            JobEnd::Succeeded { run_id } => ("succeeded", *run_id, None),
            JobEnd::Failed { run_id, error } => ("failed", *run_id, Some(error.as_str())),
        };
        let sql = sqlx::AssertSqlSafe(format!(
            "UPDATE sync_jobs SET status = $3, run_id = $4, error = $5, finished_at = $6, lease_expires_at = NULL \
             WHERE id = $1 AND lease_owner = $2 AND status = 'running' RETURNING {JOB_COLUMNS}"
        ));
        let row = with_pool!(self, |pool| sqlx::query_as::<_, JobRow>(sql)
            .bind(job_id)
            .bind(worker_id)
            .bind(status)
            .bind(run_id)
            .bind(error)
            .bind(now)
            .fetch_optional(pool)
            .await?);
        row.map(job_from).ok_or_else(|| StoreError::LeaseLost {
            job_id,
            worker_id: worker_id.to_string(),
        })
    }

    /// Give a job back to the queue (its worker is shutting down), so another worker claims
    /// it at once instead of after the lease.
    pub async fn release_job(&self, job_id: i64, worker_id: &str) -> Result<(), StoreError> {
        const SQL: &str = "UPDATE sync_jobs SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL \
                           WHERE id = $1 AND lease_owner = $2 AND status = 'running'";
        with_pool!(self, |pool| sqlx::query(SQL)
            .bind(job_id)
            .bind(worker_id)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(())
    }

    /// One job.
    pub async fn job(&self, job_id: i64) -> Result<Option<SyncJob>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {JOB_COLUMNS} FROM sync_jobs WHERE id = $1"));
        let row = with_pool!(self, |pool| sqlx::query_as::<_, JobRow>(sql)
            .bind(job_id)
            .fetch_optional(pool)
            .await?);
        Ok(row.map(job_from))
    }

    /// The integration's latest jobs, newest first.
    pub async fn jobs(&self, integration_id: i64, limit: u32) -> Result<Vec<SyncJob>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {JOB_COLUMNS} FROM sync_jobs WHERE integration_id = $1 ORDER BY id DESC LIMIT $2"
        ));
        let rows = with_pool!(self, |pool| sqlx::query_as::<_, JobRow>(sql)
            .bind(integration_id)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?);
        Ok(rows.into_iter().map(job_from).collect())
    }
}
