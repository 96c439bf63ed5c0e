//! Syncs started from the API: run in the background, their progress kept in memory.
//!
//! A job gets a server-local id at once (the store's run id exists only once the
//! orchestrator has begun the run); `GET /api/v1/sync-runs/{id}` reports the job, and the
//! store run id once known. One job per integration at a time in this process; the store's
//! unique "one running run" index refuses overlaps with other processes (the CLI, another
//! server), which then shows as a failed job naming the running run.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde::Serialize;
use steward_model::Resource;
use steward_products::sync::SyncProgress;
use utoipa::ToSchema;

/// Progress of one resource.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct ResourceProgress {
    /// Records fetched so far.
    pub fetched: u64,
    /// `running`, `complete` or `not_readable`.
    pub status: String,
    pub count: Option<u64>,
    pub reason: Option<String>,
}

/// A sync job as the API reports it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SyncJob {
    pub id: i64,
    pub integration: String,
    /// `running`, `succeeded` or `failed`.
    pub status: String,
    /// The store's sync run id, once the run has ended.
    pub run_id: Option<i64>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub records: u64,
    pub error: Option<String>,
    pub resources: BTreeMap<String, ResourceProgress>,
}

/// All jobs of this process (a server restart forgets them; the store keeps the runs).
#[derive(Debug, Default)]
pub struct SyncJobs {
    next: AtomicI64,
    jobs: Mutex<BTreeMap<i64, SyncJob>>,
    running: Mutex<BTreeSet<i64>>,
}

impl SyncJobs {
    /// Register a job for the integration; `None` when one is already running here.
    pub fn start(&self, integration_id: i64, integration: &str, now: DateTime<Utc>) -> Option<i64> {
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        if !running.insert(integration_id) {
            return None;
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let job = SyncJob {
            id,
            integration: integration.to_string(),
            status: "running".into(),
            run_id: None,
            started_at: now,
            finished_at: None,
            records: 0,
            error: None,
            resources: BTreeMap::new(),
        };
        self.jobs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, job);
        Some(id)
    }

    pub fn get(&self, id: i64) -> Option<SyncJob> {
        self.jobs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
            .cloned()
    }

    /// The newest job of the integration (by name) started in this process, if any: the web
    /// UI shows it when the integration page is reloaded during a sync.
    pub fn latest_for(&self, integration: &str) -> Option<SyncJob> {
        let jobs = self.jobs.lock().unwrap_or_else(|p| p.into_inner());
        jobs.values()
            .rev()
            .find(|j| j.integration == integration)
            .cloned()
    }

    fn update(&self, id: i64, f: impl FnOnce(&mut SyncJob)) {
        if let Some(job) = self
            .jobs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_mut(&id)
        {
            f(job);
        }
    }

    /// Record how the job ended and free its integration.
    pub fn finish(
        &self,
        id: i64,
        integration_id: i64,
        now: DateTime<Utc>,
        run_id: Option<i64>,
        result: Result<u64, String>,
    ) {
        self.update(id, |job| {
            job.finished_at = Some(now);
            job.run_id = run_id;
            match result {
                Ok(records) => {
                    job.status = "succeeded".into();
                    job.records = records;
                }
                Err(e) => {
                    job.status = "failed".into();
                    job.error = Some(e);
                }
            }
        });
        self.running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&integration_id);
    }
}

/// A [`SyncProgress`] sink writing into one job.
pub struct JobProgress {
    pub jobs: Arc<SyncJobs>,
    pub id: i64,
}

impl SyncProgress for JobProgress {
    fn fetched(&self, resource: Resource, total: u64) {
        self.jobs.update(self.id, |job| {
            let r = job
                .resources
                .entry(resource.as_str().to_string())
                .or_default();
            r.fetched = total;
            r.status = "running".into();
            job.records = job.resources.values().map(|r| r.fetched).sum();
        });
    }

    fn done(&self, resource: Resource, count: u64) {
        self.jobs.update(self.id, |job| {
            let r = job
                .resources
                .entry(resource.as_str().to_string())
                .or_default();
            r.status = "complete".into();
            r.count = Some(count);
        });
    }

    fn unreadable(&self, resource: Resource, reason: &str) {
        self.jobs.update(self.id, |job| {
            let r = job
                .resources
                .entry(resource.as_str().to_string())
                .or_default();
            r.status = "not_readable".into();
            r.reason = Some(reason.to_string());
        });
    }
}
