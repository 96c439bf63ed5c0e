//! `steward schedule` and `steward worker`: schedules create jobs, workers run them, and on
//! PostgreSQL two worker processes share the queue, one taking over from the other after it is
//! SIGKILLed mid-sync.

use std::process::{Child, Stdio};
use std::time::Duration;

use crate::common::{Env, assert_snapshot_matches, simulator, text, truth};

fn spawn_worker(env: &Env, id: &str) -> Child {
    let log = std::fs::File::create(env.dir.path().join(format!("worker-{id}.log"))).unwrap();
    env.cmd()
        .args([
            "worker",
            "--worker-id",
            id,
            "--lease",
            "3s",
            "--poll",
            "200ms",
        ])
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap()
}

fn worker_log(env: &Env, id: &str) -> String {
    std::fs::read_to_string(env.dir.path().join(format!("worker-{id}.log"))).unwrap_or_default()
}

/// The newest job of `name` once `done` says so, polling `schedule show --json`.
async fn wait_job(
    env: &Env,
    name: &str,
    what: &str,
    limit: Duration,
    done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = std::time::Instant::now() + limit;
    loop {
        let shown = env.json(&["schedule", "show", name, "--json"]);
        if let Some(job) = shown["jobs"].get(0).filter(|j| done(j)) {
            return job.clone();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}: {shown:#}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schedule_creates_a_job_that_a_worker_runs() {
    let sim = simulator(50, 41, |_| {}).await;
    let env = Env::new().await;
    assert_eq!(env.add("okta", &sim, "SUPER_ADMIN").status.code(), Some(0));
    let bad = env.run(&["schedule", "set", "okta", "--every", "often"], &[]);
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("--every"),
        "{}",
        text(&bad)
    );

    let set = env.json(&["schedule", "set", "okta", "--every", "daily", "--json"]);
    assert_eq!(set["frequency"], "daily");
    assert_eq!(set["enabled"], true);
    let human = env.run(&["schedule", "show"], &[]);
    assert!(
        String::from_utf8_lossy(&human.stdout).contains("okta: daily, next sync due"),
        "{}",
        text(&human)
    );

    // Never synced, so the first daily job is due at once.
    let mut worker = spawn_worker(&env, "solo");
    let job = wait_job(
        &env,
        "okta",
        "the scheduled job to succeed",
        Duration::from_secs(20),
        |j| j["status"] == "succeeded" || j["status"] == "failed",
    )
    .await;
    let _ = worker.kill();
    let _ = worker.wait();
    assert_eq!(
        job["status"],
        "succeeded",
        "{job:#}\n{}",
        worker_log(&env, "solo")
    );
    assert_eq!(job["kind"], "scheduled");
    assert_eq!(job["lease_owner"], "solo");
    assert!(job["run_id"].is_i64(), "{job:#}");
    assert_snapshot_matches(&env, "okta", &truth(&sim).await, &[]);
    // The schedule moved a day ahead.
    let shown = env.json(&["schedule", "show", "okta", "--json"]);
    let next =
        chrono::DateTime::parse_from_rfc3339(shown["next_due_at"].as_str().unwrap()).unwrap();
    assert!(
        next > chrono::Utc::now() + chrono::TimeDelta::hours(23),
        "{shown:#}"
    );
    sim.shutdown().await;
}

/// Two `steward worker` processes on one PostgreSQL: the one running the job is SIGKILLed
/// mid-sync, the other takes the job over after the lease and finishes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_sync_has_its_job_finished_by_the_other() {
    let env = Env::new().await;
    if env.is_sqlite() {
        eprintln!(
            "skipped: two worker processes need PostgreSQL (set TEST_DATABASE_URL); SQLite is single-host"
        );
        return;
    }
    // Slow answers keep the sync going long enough to be killed in the middle.
    let sim = simulator(1500, 42, |c| {
        c.faults.slow = 0.1;
        c.faults.slow_for = Duration::from_millis(400);
    })
    .await;
    assert_eq!(env.add("okta", &sim, "SUPER_ADMIN").status.code(), Some(0));
    let mut workers = vec![
        ("a", spawn_worker(&env, "a")),
        ("b", spawn_worker(&env, "b")),
    ];
    let set = env.run(&["schedule", "set", "okta", "--every", "1h"], &[]);
    assert!(set.status.success(), "{}", text(&set));

    let running = wait_job(
        &env,
        "okta",
        "a worker to claim the job",
        Duration::from_secs(15),
        |j| j["status"] == "running",
    )
    .await;
    let owner = running["lease_owner"].as_str().unwrap().to_string();
    // Kill only once the sync run is visibly staging.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let still = env.json(&["schedule", "show", "okta", "--json"])["jobs"][0].clone();
    assert_eq!(
        still["status"], "running",
        "the sync ended before the kill; make it slower: {still:#}"
    );
    let index = workers.iter().position(|(id, _)| *id == owner).unwrap();
    let (_, mut victim) = workers.remove(index);
    victim.kill().unwrap(); // SIGKILL
    let _ = victim.wait();

    let job = wait_job(
        &env,
        "okta",
        "the other worker to finish the job",
        Duration::from_secs(25),
        |j| j["status"] == "succeeded" || j["status"] == "failed",
    )
    .await;
    let (survivor, mut child) = workers.remove(0);
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(
        job["status"],
        "succeeded",
        "{job:#}\n--- {survivor}\n{}",
        worker_log(&env, survivor)
    );
    assert_eq!(job["lease_owner"], survivor);
    assert_eq!(job["attempts"], 2, "{job:#}");
    assert_eq!(job["id"], running["id"]);
    assert_snapshot_matches(&env, "okta", &truth(&sim).await, &[]);
    // The killed worker's run was abandoned, not published.
    let runs = env.json(&["integration", "show", "okta", "--json"])["runs"].clone();
    let statuses: Vec<&str> = runs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert!(statuses.contains(&"abandoned"), "{runs:#}");
    sim.shutdown().await;
}

/// Two `steward worker` processes on one PostgreSQL, 50 due jobs over 10 integrations: every
/// job runs exactly once (one published sync run each) and runs of one integration never
/// overlap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_worker_processes_run_fifty_due_jobs_exactly_once() {
    let env = Env::new().await;
    if env.is_sqlite() {
        eprintln!(
            "skipped: two worker processes need PostgreSQL (set TEST_DATABASE_URL); SQLite is single-host"
        );
        return;
    }
    let sim = simulator(5, 43, |_| {}).await;
    let names: Vec<String> = (0..10).map(|i| format!("okta-{i}")).collect();
    for name in &names {
        assert_eq!(env.add(name, &sim, "SUPER_ADMIN").status.code(), Some(0));
    }
    // Jobs are queued through the store directly (the CLI has no "queue five syncs").
    let store = steward_store::Store::open(
        &env.database_url,
        steward_store::MasterKey::from_bytes([7; 32]),
    )
    .await
    .unwrap();
    let now = chrono::Utc::now();
    let mut jobs = Vec::new();
    let mut ids = Vec::new();
    for name in &names {
        let id = store.integration_by_name(name).await.unwrap().unwrap().id;
        ids.push(id);
        for k in 0..5 {
            let due = now - chrono::TimeDelta::seconds(60 - k);
            jobs.push(
                store
                    .enqueue_scheduled(id, due, now)
                    .await
                    .unwrap()
                    .unwrap()
                    .id,
            );
        }
    }
    let mut workers = [spawn_worker(&env, "a"), spawn_worker(&env, "b")];
    let deadline = std::time::Instant::now() + Duration::from_secs(25);
    loop {
        let mut open = 0;
        for id in &jobs {
            let job = store.job(*id).await.unwrap().unwrap();
            if job.status == "queued" || job.status == "running" {
                open += 1;
            }
        }
        if open == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{open} jobs still open\n{}",
            worker_log(&env, "a")
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for w in &mut workers {
        let _ = w.kill();
        let _ = w.wait();
    }
    let mut owners = std::collections::BTreeSet::new();
    let mut run_ids = std::collections::BTreeSet::new();
    for id in &jobs {
        let job = store.job(*id).await.unwrap().unwrap();
        assert_eq!(job.status, "succeeded", "{job:?}");
        assert_eq!(job.attempts, 1, "{job:?}");
        owners.extend(job.lease_owner.clone());
        assert!(
            run_ids.insert(job.run_id.unwrap()),
            "two jobs share a run: {job:?}"
        );
    }
    assert_eq!(
        owners.len(),
        2,
        "both workers should have run jobs: {owners:?}"
    );
    for id in ids {
        let mut runs = store.runs(id, 100).await.unwrap();
        assert_eq!(runs.len(), 5, "one run per job: {runs:?}");
        assert!(runs.iter().all(|r| r.status == "succeeded"), "{runs:?}");
        runs.sort_by_key(|r| r.started_at);
        for pair in runs.windows(2) {
            assert!(
                pair[0].finished_at.unwrap() <= pair[1].started_at,
                "runs overlap: {pair:?}"
            );
        }
    }
    sim.shutdown().await;
}
