//! Scheduled syncs: a worker loop that turns due schedules into jobs, claims one job at a
//! time with a lease, runs it, and records how it ended.
//!
//! Several workers (processes, or `steward serve` replicas on one PostgreSQL) can run against
//! one store: the store's claim is atomic, so a job runs once; a worker renews its lease every
//! `lease / 3` while the job runs, and when a worker dies its lease expires and another worker
//! takes the job over. Jobs of one integration never overlap (the store refuses to claim a
//! job while another of the same integration is running).
//!
//! A dead worker leaves its sync run `running` in `sync_runs`. The taking-over worker's
//! `begin_run` abandons that run only once its heartbeat is older than
//! `SyncSettings::stale_after`, so the worker clamps `stale_after` to at most half the lease:
//! by the time a lease expired (≥ `lease` after the last renewal, and the dead worker's last
//! heartbeat was at most `lease / 3` after that renewal) the run is stale. The real runner
//! also waits out a `RunInProgress` for up to `stale_after` plus a margin, which covers a run
//! released by a worker that shut down (its lease never expired, so the run may still look
//! live for a moment).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use steward_store::{JobEnd, Store, StoreError, SyncJob};

use crate::Clock;
use crate::sync::{self, NoProgress, SyncError, SyncSettings};

/// How a worker behaves; [`WorkerSettings::default`] suits production.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// Names this worker in `sync_jobs.lease_owner`; unique per process.
    pub worker_id: String,
    /// How long a claim lasts without renewal. A dead worker's job is taken over after this.
    pub lease: Duration,
    /// Sleep between looks at the queue when there is nothing to do.
    pub poll: Duration,
    /// Settings of the sync runs; `stale_after` is clamped to `lease / 2` (see the module docs).
    pub sync: SyncSettings,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        WorkerSettings {
            worker_id: default_worker_id(),
            lease: Duration::from_secs(60),
            poll: Duration::from_secs(5),
            sync: SyncSettings::default(),
        }
    }
}

impl WorkerSettings {
    /// The sync settings the worker actually uses: `stale_after` at most half the lease, and
    /// at least one second (heartbeats come every second).
    pub fn effective_sync(&self) -> SyncSettings {
        let cap = (self.lease / 2).max(Duration::from_secs(1));
        SyncSettings {
            stale_after: self.sync.stale_after.min(cap),
            ..self.sync
        }
    }
}

/// `host:pid:nanos`: readable in `schedule show`, unique across restarts.
pub fn default_worker_id() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_string())
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{host}:{}:{nanos:08x}", std::process::id())
}

/// How a job's work ended (the worker records it with `finish_job`).
#[derive(Debug, Clone, PartialEq)]
pub struct JobReport {
    /// The sync run the job produced, when it got that far.
    pub run_id: Option<i64>,
    /// `None` when the job succeeded.
    pub error: Option<String>,
}

/// What a worker does with a claimed job. [`SyncRunner`] syncs; tests plug in fakes.
pub trait JobRunner: Send + Sync {
    fn run<'a>(
        &'a self,
        store: &'a Store,
        job: &'a SyncJob,
        clock: &'a dyn Clock,
        settings: SyncSettings,
    ) -> impl Future<Output = JobReport> + Send + 'a;
}

/// The real runner: builds the integration's connector and runs [`sync::run`].
#[derive(Debug, Clone, Copy, Default)]
pub struct SyncRunner;

impl JobRunner for SyncRunner {
    async fn run(
        &self,
        store: &Store,
        job: &SyncJob,
        clock: &dyn Clock,
        settings: SyncSettings,
    ) -> JobReport {
        let failed = |error: String| JobReport {
            run_id: None,
            error: Some(error),
        };
        let integration = match store.integration(job.integration_id).await {
            Ok(Some(i)) => i,
            Ok(None) => {
                return failed(format!(
                    "integration {} no longer exists",
                    job.integration_id
                ));
            }
            Err(e) => return failed(e.to_string()),
        };
        let connector = match crate::integrations::connector(store, &integration).await {
            Ok(c) => c,
            Err(e) => return failed(e.to_string()),
        };
        // A run left by a worker that died or shut down is abandoned by `begin_run` once
        // its heartbeat is `stale_after` old; until then, wait rather than fail the job.
        let patience = settings.stale_after + Duration::from_secs(3);
        let started = tokio::time::Instant::now();
        loop {
            let outcome = sync::run(
                store,
                &integration,
                connector.as_ref(),
                clock,
                &NoProgress,
                settings,
            )
            .await;
            return match outcome {
                Ok(outcome) => JobReport {
                    run_id: Some(outcome.run_id),
                    error: None,
                },
                Err(SyncError::Store(StoreError::RunInProgress { .. }))
                    if started.elapsed() < patience =>
                {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    continue;
                }
                Err(SyncError::Failed { run_id, reason }) => JobReport {
                    run_id: Some(run_id),
                    error: Some(reason),
                },
                Err(e @ SyncError::AfterPublish { run_id, .. }) => JobReport {
                    run_id: Some(run_id),
                    error: Some(e.to_string()),
                },
                Err(e) => failed(e.to_string()),
            };
        }
    }
}

/// Run the scheduling worker with the real [`SyncRunner`] until `shutdown` completes.
///
/// Each turn: create the jobs of due schedules, claim one job, run it while renewing the
/// lease, record the outcome; sleep `settings.poll` when there was nothing to claim. On
/// shutdown a job in progress is cancelled and handed back to the queue.
pub async fn run_worker(
    store: Store,
    clock: Arc<dyn Clock>,
    settings: WorkerSettings,
    shutdown: impl Future<Output = ()> + Send,
) {
    run_worker_with(store, clock, settings, SyncRunner, shutdown).await
}

/// [`run_worker`] with any [`JobRunner`] (tests count executions with a fake).
pub async fn run_worker_with<R: JobRunner>(
    store: Store,
    clock: Arc<dyn Clock>,
    settings: WorkerSettings,
    runner: R,
    shutdown: impl Future<Output = ()> + Send,
) {
    let mut shutdown = std::pin::pin!(shutdown);
    let worker = settings.worker_id.as_str();
    tracing::info!(
        worker,
        lease_secs = settings.lease.as_secs_f64(),
        "Sync worker started."
    );
    loop {
        match turn(
            &store,
            clock.as_ref(),
            &settings,
            &runner,
            shutdown.as_mut(),
        )
        .await
        {
            Turn::Worked => continue,
            Turn::Idle => {}
            Turn::Shutdown => break,
        }
        tokio::select! {
            _ = tokio::time::sleep(settings.poll) => {}
            _ = shutdown.as_mut() => break,
        }
    }
    tracing::info!(worker, "Sync worker stopped.");
}

enum Turn {
    Worked,
    Idle,
    Shutdown,
}

async fn turn<R: JobRunner>(
    store: &Store,
    clock: &dyn Clock,
    settings: &WorkerSettings,
    runner: &R,
    mut shutdown: std::pin::Pin<&mut (impl Future<Output = ()> + Send)>,
) -> Turn {
    let worker = settings.worker_id.as_str();
    // Errors here are logged and retried next turn: a database blip must not end the worker.
    if let Err(e) = store.enqueue_due_schedules(clock.now()).await {
        tracing::warn!(error = %e, "Could not enqueue due scheduled syncs.");
    }
    // Recurring access reviews start their next campaign here too (claimed once across workers).
    match crate::reviews::start_due(store, clock).await {
        Ok(started) if !started.is_empty() => tracing::info!(
            campaigns = started.len(),
            "Recurring access reviews started."
        ),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "Could not start due access reviews."),
    }
    // Reviewers are reminded of deadlines here (each reminder claimed once across workers).
    match crate::reminders::send_due(store, clock, crate::reminders::ConfiguredSink::process())
        .await
    {
        Ok(sent) if !sent.is_empty() => {
            tracing::info!(reminders = sent.len(), "Access-review reminders sent.")
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "Could not send access-review reminders."),
    }
    let job = match store
        .claim_due_job(worker, clock.now(), settings.lease)
        .await
    {
        Ok(Some(job)) => job,
        Ok(None) => return Turn::Idle,
        Err(e) => {
            tracing::warn!(error = %e, "Could not claim a sync job.");
            return Turn::Idle;
        }
    };
    tracing::info!(job_id = job.id, integration_id = job.integration_id, kind = %job.kind, attempt = job.attempts, "Sync job claimed.");
    let work = runner.run(store, &job, clock, settings.effective_sync());
    tokio::select! {
        report = work => {
            let end = match report.error {
                None => JobEnd::Succeeded { run_id: report.run_id },
                Some(error) => JobEnd::Failed { run_id: report.run_id, error },
            };
            match store.finish_job(job.id, worker, &end, clock.now()).await {
                Ok(done) => tracing::info!(job_id = job.id, status = %done.status, "Sync job finished."),
                Err(e) => tracing::warn!(job_id = job.id, error = %e, "Could not record the end of a sync job."),
            }
            Turn::Worked
        }
        () = keep_lease(store, &job, clock, settings) => {
            // Another worker owns the job now; dropping `work` cancels our copy of it.
            tracing::warn!(job_id = job.id, "Lost the lease of a sync job; another worker took it over.");
            Turn::Worked
        }
        _ = shutdown.as_mut() => {
            if let Err(e) = store.release_job(job.id, worker).await {
                tracing::warn!(job_id = job.id, error = %e, "Could not hand a sync job back; it is taken over after its lease.");
            }
            Turn::Shutdown
        }
    }
}

/// Renew the job's lease every `lease / 3`; returns only when the lease is lost.
async fn keep_lease(store: &Store, job: &SyncJob, clock: &dyn Clock, settings: &WorkerSettings) {
    let every = (settings.lease / 3).max(Duration::from_millis(50));
    loop {
        tokio::time::sleep(every).await;
        match store
            .renew_lease(job.id, &settings.worker_id, clock.now(), settings.lease)
            .await
        {
            Ok(()) => {}
            Err(StoreError::LeaseLost { .. }) => return,
            // Keep trying: if the database stays away past the lease, the next renewal after
            // it is back reports the loss.
            Err(e) => {
                tracing::warn!(job_id = job.id, error = %e, "Could not renew a sync job's lease.")
            }
        }
    }
}
