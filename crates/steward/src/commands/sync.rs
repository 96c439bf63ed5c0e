//! `steward sync NAME`: one sync run, staged and published atomically.

use serde_json::json;
use steward_products::SystemClock;
use steward_products::integrations;
use steward_products::sync::{self, ResourceResult, SyncError, SyncSettings};

use crate::cli::{Global, SyncArgs};
use crate::context::Paths;
use crate::exit;
use crate::output::{self, print_json};
use crate::progress::TerminalProgress;

pub async fn run(global: &Global, args: SyncArgs) -> anyhow::Result<u8> {
    let store = Paths::resolve(global)?.open_store().await?;
    let integration = integrations::by_name(&store, &args.name).await?;
    let connector = integrations::connector(&store, &integration).await?;
    let progress = TerminalProgress::new(args.json);
    if !args.json {
        eprintln!("Syncing {} ({})…", integration.name, integration.base_url);
    }
    let outcome = sync::run(
        &store,
        &integration,
        connector.as_ref(),
        &SystemClock,
        &progress,
        settings(usize::from(args.max_in_flight)),
    )
    .await;
    match outcome {
        Ok(outcome) => {
            if args.json {
                print_json(&outcome)?;
            } else {
                print!("{}", summary(&outcome));
            }
            Ok(exit::OK)
        }
        Err(SyncError::Failed { run_id, reason }) => {
            if args.json {
                print_json(&json!({"run_id": run_id, "status": "failed", "error": reason}))?;
            }
            eprintln!("error: sync run {run_id} failed; the previous snapshot is kept: {reason}");
            Ok(exit::SYNC_FAILED)
        }
        Err(e) => Err(e.into()),
    }
}

/// Sync settings from flags and the environment (`STEWARD_STALE_RUN_SECS`: after how many
/// seconds without a heartbeat a run counts as dead and is cleaned up; default 60).
pub fn settings(max_in_flight: usize) -> SyncSettings {
    let mut settings = SyncSettings {
        max_in_flight,
        ..SyncSettings::default()
    };
    if let Some(secs) = std::env::var("STEWARD_STALE_RUN_SECS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        settings.stale_after = std::time::Duration::from_secs(secs.max(1));
    }
    settings
}

/// The human summary of a successful run.
pub fn summary(outcome: &sync::SyncOutcome) -> String {
    let rows = outcome
        .resources
        .iter()
        .map(|(resource, result)| match result {
            ResourceResult::Complete { count } => {
                vec![
                    resource.label().to_string(),
                    count.to_string(),
                    String::new(),
                ]
            }
            ResourceResult::NotReadable { reason } => {
                vec![
                    resource.label().to_string(),
                    "—".to_string(),
                    format!("not readable: {reason}"),
                ]
            }
        })
        .collect::<Vec<_>>();
    let mut out = output::table(&["RESOURCE", "RECORDS", ""], &rows);
    out.push_str(&format!(
        "Run {} published: {} records in {:.1}s, {} requests, {} retries, {} rate-limited.\n",
        outcome.run_id,
        outcome.records,
        outcome.duration_ms as f64 / 1000.0,
        outcome.report.requests,
        outcome.report.retries,
        outcome.report.rate_limited,
    ));
    out
}
