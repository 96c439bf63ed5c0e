//! `steward schedule set|show` (how often each integration syncs, and its recent sync jobs)
//! and `steward worker` (the loop that runs due jobs; `steward serve` embeds the same one).

use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Subcommand};
use serde_json::json;
use steward_products::integrations;
use steward_products::scheduler::{self, WorkerSettings};
use steward_products::{Clock, SystemClock};
use steward_store::{Frequency, Integration, Store, SyncJob, SyncSchedule};

use super::UsageError;
use crate::cli::Global;
use crate::context::Paths;
use crate::exit;
use crate::output::{self, print_json};

#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// Set how often an integration syncs (a `steward worker` or `steward serve` runs the jobs).
    Set(SetArgs),
    /// Show schedules and recent sync jobs (all integrations without NAME).
    Show(ShowArgs),
}

#[derive(Debug, Args)]
pub struct SetArgs {
    /// Integration name.
    pub name: String,
    /// hourly, daily, weekly, manual (only Sync now / `steward sync`), or an interval like 30m or 2h.
    #[arg(long, value_name = "FREQUENCY")]
    pub every: String,
    /// Keep the frequency but create no scheduled jobs until set again without --disable.
    #[arg(long)]
    pub disable: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Integration name (default: all).
    pub name: Option<String>,
    /// Recent jobs shown per integration.
    #[arg(long, default_value_t = 5)]
    pub jobs: u32,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// Lease of a claimed job (e.g. 60s, 2m): a job whose worker died is taken over after it.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub lease: Duration,
    /// Pause between looks at the queue when idle (e.g. 5s, 500ms).
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub poll: Duration,
    /// This worker's name in `schedule show` (default: host:pid:random).
    #[arg(long)]
    pub worker_id: Option<String>,
    /// Most requests in flight at once per sync.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=75))]
    pub max_in_flight: u16,
}

pub async fn run(global: &Global, cmd: ScheduleCommand) -> anyhow::Result<u8> {
    let store = Paths::resolve(global)?.open_store().await?;
    match cmd {
        ScheduleCommand::Set(args) => set(&store, args).await,
        ScheduleCommand::Show(args) => show(&store, args).await,
    }
}

async fn set(store: &Store, args: SetArgs) -> anyhow::Result<u8> {
    let frequency =
        Frequency::parse(&args.every).map_err(|e| UsageError(format!("--every: {e}")))?;
    let integration = integrations::by_name(store, &args.name).await?;
    let schedule = store
        .set_schedule(integration.id, frequency, !args.disable, SystemClock.now())
        .await?;
    if args.json {
        print_json(&schedule_json(&integration, Some(&schedule), &[]))?;
    } else {
        println!("{}: {}", integration.name, describe(Some(&schedule)));
    }
    Ok(exit::OK)
}

async fn show(store: &Store, args: ShowArgs) -> anyhow::Result<u8> {
    let all: Vec<Integration> = match &args.name {
        Some(name) => vec![integrations::by_name(store, name).await?],
        None => store.integrations().await?,
    };
    let mut entries = Vec::new();
    for i in all {
        let schedule = store.schedule(i.id).await?;
        let jobs = store.jobs(i.id, args.jobs).await?;
        entries.push((i, schedule, jobs));
    }
    if args.json {
        let list: Vec<_> = entries
            .iter()
            .map(|(i, s, j)| schedule_json(i, s.as_ref(), j))
            .collect();
        if args.name.is_some() {
            print_json(&list.first())?;
        } else {
            print_json(&json!({ "schedules": list }))?;
        }
        return Ok(exit::OK);
    }
    if entries.is_empty() {
        println!("No integrations yet. Add one with `steward integration add okta`.");
    }
    for (i, schedule, jobs) in &entries {
        println!("{}: {}", i.name, describe(schedule.as_ref()));
        if !jobs.is_empty() {
            let rows: Vec<Vec<String>> = jobs.iter().map(job_row).collect();
            print!(
                "{}",
                output::table(
                    &[
                        "JOB", "KIND", "DUE", "STATUS", "WORKER", "ATTEMPTS", "RUN", "ERROR"
                    ],
                    &rows
                )
            );
        }
    }
    Ok(exit::OK)
}

fn describe(schedule: Option<&SyncSchedule>) -> String {
    match schedule {
        None => "manual (no schedule set; `steward schedule set NAME --every daily`)".to_string(),
        Some(s) if !s.enabled => format!("{} (disabled)", s.frequency),
        Some(s) => match s.next_due_at {
            Some(at) => format!(
                "{}, next sync due {}",
                s.frequency,
                at.format("%Y-%m-%d %H:%M:%S UTC")
            ),
            None => s.frequency.to_string(),
        },
    }
}

fn job_row(job: &SyncJob) -> Vec<String> {
    vec![
        job.id.to_string(),
        job.kind.clone(),
        job.due_at.format("%Y-%m-%d %H:%M:%S").to_string(),
        job.status.clone(),
        job.lease_owner.clone().unwrap_or_default(),
        job.attempts.to_string(),
        job.run_id.map(|r| r.to_string()).unwrap_or_default(),
        job.error.clone().unwrap_or_default(),
    ]
}

fn schedule_json(
    integration: &Integration,
    schedule: Option<&SyncSchedule>,
    jobs: &[SyncJob],
) -> serde_json::Value {
    json!({
        "integration": integration.name,
        "frequency": schedule.map(|s| s.frequency.to_string()).unwrap_or_else(|| "manual".into()),
        "enabled": schedule.map(|s| s.enabled).unwrap_or(false),
        "next_due_at": schedule.and_then(|s| s.next_due_at),
        "jobs": jobs,
    })
}

/// `steward worker`: run due sync jobs in the foreground until Ctrl-C or SIGTERM.
pub async fn worker(global: &Global, args: WorkerArgs) -> anyhow::Result<u8> {
    let store = Paths::resolve(global)?.open_store().await?;
    let mut settings = WorkerSettings {
        lease: args.lease,
        poll: args.poll,
        sync: super::sync::settings(usize::from(args.max_in_flight)),
        ..WorkerSettings::default()
    };
    if let Some(id) = args.worker_id {
        settings.worker_id = id;
    }
    eprintln!(
        "Worker {} running sync jobs from {} (lease {:?}, poll {:?}); Ctrl-C stops it.",
        settings.worker_id,
        store.backend(),
        settings.lease,
        settings.poll
    );
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    scheduler::run_worker(
        store.clone(),
        clock,
        settings,
        super::simulate::shutdown_signal(),
    )
    .await;
    store.close().await;
    Ok(exit::OK)
}

/// `500ms`, `2s`, `1m`, `1h`, or plain seconds.
fn parse_duration(input: &str) -> Result<Duration, String> {
    let s = input.trim();
    let bad = || format!("{input:?} is not a duration: use e.g. 500ms, 2s, 1m");
    let (number, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: u64 = number.parse().map_err(|_| bad())?;
    let d = match unit {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n.saturating_mul(60)),
        "h" => Duration::from_secs(n.saturating_mul(3600)),
        _ => return Err(bad()),
    };
    if d < Duration::from_millis(100) {
        return Err(format!("{input:?} is too short (at least 100ms)"));
    }
    Ok(d)
}
