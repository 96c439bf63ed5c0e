//! The scheduler: two workers on separate store handles (separate pools, as separate
//! processes would have) claim jobs with leases. On SQLite and, with `TEST_DATABASE_URL`, on
//! PostgreSQL.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use secrecy::SecretString;
use steward_model::IntegrationKind;
use steward_products::scheduler::{self, JobReport, JobRunner, WorkerSettings};
use steward_products::sync::SyncSettings;
use steward_products::{Clock, SystemClock};
use steward_store::{Frequency, JobEnd, MasterKey, NewIntegration, Store, SyncJob};

async fn integration(store: &Store, name: &str) -> i64 {
    let new = NewIntegration {
        name: name.into(),
        kind: IntegrationKind::Okta,
        base_url: "https://example.okta.com".into(),
        settings: serde_json::json!({}),
    };
    store
        .create_integration(&new, &SecretString::from("t0ken"), Utc::now())
        .await
        .unwrap()
        .id
}

async fn second_handle(url: &str) -> Store {
    Store::open(url, MasterKey::from_bytes([0x5a; 32]))
        .await
        .unwrap()
}

/// Counts executions per job and the most jobs of one integration in flight at once.
#[derive(Default)]
struct Ledger {
    runs: HashMap<i64, u32>,
    in_flight: HashMap<i64, u32>,
    max_in_flight: u32,
}

/// A fake job: records itself in the ledger, takes `work`, and blocks forever when `hang`
/// (a worker "killed" mid-job).
#[derive(Clone)]
struct FakeRunner {
    ledger: Arc<Mutex<Ledger>>,
    work: Duration,
    hang: bool,
    started: Arc<tokio::sync::Notify>,
}

impl FakeRunner {
    fn new(ledger: &Arc<Mutex<Ledger>>, work: Duration) -> FakeRunner {
        FakeRunner {
            ledger: ledger.clone(),
            work,
            hang: false,
            started: Arc::new(tokio::sync::Notify::new()),
        }
    }
}

impl JobRunner for FakeRunner {
    async fn run(
        &self,
        _store: &Store,
        job: &SyncJob,
        _clock: &dyn Clock,
        _settings: SyncSettings,
    ) -> JobReport {
        {
            let mut l = self.ledger.lock().unwrap();
            *l.runs.entry(job.id).or_default() += 1;
            let n = l.in_flight.entry(job.integration_id).or_default();
            *n += 1;
            let n = *n;
            l.max_in_flight = l.max_in_flight.max(n);
        }
        self.started.notify_one();
        if self.hang {
            std::future::pending::<()>().await;
        }
        tokio::time::sleep(self.work).await;
        *self
            .ledger
            .lock()
            .unwrap()
            .in_flight
            .entry(job.integration_id)
            .or_default() -= 1;
        JobReport {
            run_id: None,
            error: None,
        }
    }
}

fn settings(id: &str, lease: Duration) -> WorkerSettings {
    WorkerSettings {
        worker_id: id.to_string(),
        lease,
        poll: Duration::from_millis(50),
        ..WorkerSettings::default()
    }
}

fn spawn_worker(
    store: Store,
    settings: WorkerSettings,
    runner: FakeRunner,
) -> (
    tokio::task::JoinHandle<()>,
    tokio::sync::oneshot::Sender<()>,
) {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let handle = tokio::spawn(scheduler::run_worker_with(
        store,
        clock,
        settings,
        runner,
        async move {
            let _ = stopped.await;
        },
    ));
    (handle, stop)
}

async fn wait_for(what: &str, limit: Duration, mut check: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + limit;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_run_fifty_due_jobs_exactly_once_without_overlap() {
    let (a, url, _dir) = steward_store::testing::test_store_with_url().await;
    let b = second_handle(&url).await;
    let now = Utc::now();
    let mut jobs = Vec::new();
    for i in 0..10 {
        let id = integration(&a, &format!("okta-{i}")).await;
        for k in 0..5 {
            let due = now - TimeDelta::seconds(60 - k);
            jobs.push(a.enqueue_scheduled(id, due, now).await.unwrap().unwrap().id);
        }
    }
    assert_eq!(jobs.len(), 50);
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let (wa, stop_a) = spawn_worker(
        a.clone(),
        settings("a", Duration::from_secs(2)),
        FakeRunner::new(&ledger, Duration::from_millis(20)),
    );
    let (wb, stop_b) = spawn_worker(
        b.clone(),
        settings("b", Duration::from_secs(2)),
        FakeRunner::new(&ledger, Duration::from_millis(20)),
    );
    wait_for(
        "all 50 jobs to finish",
        Duration::from_secs(25),
        async || {
            let mut done = 0;
            for id in &jobs {
                if a.job(*id).await.unwrap().unwrap().status == "succeeded" {
                    done += 1;
                }
            }
            done == jobs.len()
        },
    )
    .await;
    let _ = (stop_a.send(()), stop_b.send(()));
    let _ = (wa.await, wb.await);
    {
        let l = ledger.lock().unwrap();
        for id in &jobs {
            assert_eq!(
                l.runs.get(id),
                Some(&1),
                "job {id} ran {:?} times",
                l.runs.get(id)
            );
        }
        assert_eq!(
            l.max_in_flight, 1,
            "two jobs of one integration ran at the same time"
        );
    }
    let mut owners = std::collections::BTreeSet::new();
    for id in &jobs {
        let job = a.job(*id).await.unwrap().unwrap();
        assert_eq!(job.attempts, 1, "{job:?}");
        owners.extend(job.lease_owner);
    }
    assert_eq!(
        owners.len(),
        2,
        "both workers should have taken jobs: {owners:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_workers_job_is_taken_over_after_the_lease() {
    let (a, url, _dir) = steward_store::testing::test_store_with_url().await;
    let b = second_handle(&url).await;
    let id = integration(&a, "okta").await;
    let job = a.enqueue_manual(id, Utc::now()).await.unwrap().job;
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let lease = Duration::from_millis(1500);
    let mut hanging = FakeRunner::new(&ledger, Duration::ZERO);
    hanging.hang = true;
    let started = hanging.started.clone();
    let (wa, _stop_a) = spawn_worker(a.clone(), settings("a", lease), hanging);
    tokio::time::timeout(Duration::from_secs(10), started.notified())
        .await
        .unwrap();
    assert_eq!(
        a.job(job.id).await.unwrap().unwrap().lease_owner.as_deref(),
        Some("a")
    );
    let (wb, stop_b) = spawn_worker(
        b.clone(),
        settings("b", lease),
        FakeRunner::new(&ledger, Duration::from_millis(10)),
    );
    // Worker a renews its lease while alive: b must not take the job yet.
    tokio::time::sleep(lease * 2).await;
    assert_eq!(
        a.job(job.id).await.unwrap().unwrap().lease_owner.as_deref(),
        Some("a")
    );
    let killed_at = tokio::time::Instant::now();
    wa.abort(); // the worker dies mid-job: no more renewals, no finish
    wait_for(
        "worker b to finish the job",
        Duration::from_secs(10),
        async || a.job(job.id).await.unwrap().unwrap().status == "succeeded",
    )
    .await;
    assert!(
        killed_at.elapsed() >= lease / 2,
        "taken over before the lease could expire"
    );
    let done = a.job(job.id).await.unwrap().unwrap();
    assert_eq!(done.lease_owner.as_deref(), Some("b"));
    assert_eq!(done.attempts, 2);
    assert_eq!(ledger.lock().unwrap().runs.get(&job.id), Some(&2));
    let _ = stop_b.send(());
    let _ = wb.await;
    // The dead worker can no longer touch the job.
    assert!(
        a.finish_job(job.id, "a", &JobEnd::Succeeded { run_id: None }, Utc::now())
            .await
            .is_err()
    );
}

#[tokio::test]
async fn manual_and_scheduled_syncs_of_one_integration_never_overlap() {
    let (a, url, _dir) = steward_store::testing::test_store_with_url().await;
    let b = second_handle(&url).await;
    let id = integration(&a, "okta").await;
    let other = integration(&a, "okta-2").await;
    let now = Utc::now();
    let lease = Duration::from_secs(30);
    let scheduled = a
        .enqueue_scheduled(id, now - TimeDelta::seconds(5), now)
        .await
        .unwrap()
        .unwrap();
    // "Sync now" while the scheduled job is queued and due: merged into it.
    let merged = a.enqueue_manual(id, now).await.unwrap();
    assert!(!merged.created);
    assert_eq!(merged.job.id, scheduled.id);
    let claimed = a.claim_due_job("a", now, lease).await.unwrap().unwrap();
    assert_eq!(claimed.id, scheduled.id);
    // While it runs, "Sync now" queues a manual job (twice: still one job)...
    let manual = b.enqueue_manual(id, now).await.unwrap();
    assert!(manual.created);
    assert_eq!(manual.job.kind, "manual");
    assert_eq!(
        b.enqueue_manual(id, now).await.unwrap().job.id,
        manual.job.id
    );
    let other_job = b.enqueue_manual(other, now).await.unwrap().job;
    // ...that no worker can claim until the scheduled one ends; other integrations go on.
    let next = b.claim_due_job("b", now, lease).await.unwrap().unwrap();
    assert_eq!(next.id, other_job.id);
    assert!(b.claim_due_job("b", now, lease).await.unwrap().is_none());
    a.finish_job(claimed.id, "a", &JobEnd::Succeeded { run_id: None }, now)
        .await
        .unwrap();
    let after = b.claim_due_job("b", now, lease).await.unwrap().unwrap();
    assert_eq!(after.id, manual.job.id);
}

#[tokio::test]
async fn schedules_enqueue_idempotently() {
    let (a, url, _dir) = steward_store::testing::test_store_with_url().await;
    let b = second_handle(&url).await;
    let id = integration(&a, "okta").await;
    let t0 = Utc::now();
    let schedule = a
        .set_schedule(id, Frequency::Hourly, true, t0)
        .await
        .unwrap();
    let due = schedule.next_due_at.unwrap();
    assert!(
        due <= t0,
        "a never-synced integration is due at once: {schedule:?}"
    );
    let at = t0 + TimeDelta::seconds(1);
    let (x, y) = tokio::join!(a.enqueue_due_schedules(at), b.enqueue_due_schedules(at));
    let created = x.unwrap().len() + y.unwrap().len();
    assert_eq!(
        created, 1,
        "two workers created {created} jobs for one due schedule"
    );
    assert!(a.enqueue_due_schedules(at).await.unwrap().is_empty());
    let next = a.schedule(id).await.unwrap().unwrap().next_due_at.unwrap();
    assert_eq!(next, due + TimeDelta::hours(1));
    // Due again while the first job is still queued: no backlog piles up.
    let later = next + TimeDelta::seconds(1);
    assert!(a.enqueue_due_schedules(later).await.unwrap().is_empty());
    assert_eq!(a.jobs(id, 10).await.unwrap().len(), 1);
    // Once it ran, the next slot creates the next job; a manual schedule creates none.
    let job = a
        .claim_due_job("a", later, Duration::from_secs(30))
        .await
        .unwrap()
        .unwrap();
    a.finish_job(job.id, "a", &JobEnd::Succeeded { run_id: None }, later)
        .await
        .unwrap();
    let much_later = later + TimeDelta::hours(1);
    assert_eq!(a.enqueue_due_schedules(much_later).await.unwrap().len(), 1);
    a.set_schedule(id, Frequency::Manual, true, much_later)
        .await
        .unwrap();
    assert!(
        a.enqueue_due_schedules(much_later + TimeDelta::days(2))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        Frequency::parse("30m").unwrap(),
        Frequency::EveryMinutes(30)
    );
    assert_eq!(Frequency::parse("2h").unwrap().to_string(), "120m");
    assert!(Frequency::parse("0m").is_err() && Frequency::parse("often").is_err());
}
