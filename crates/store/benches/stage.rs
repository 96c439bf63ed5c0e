//! Staging throughput on SQLite: `cargo bench -p steward-store` prints records/s for 500k
//! small records staged in batches of 2,000 (the orchestrator's batch size), then published.

use std::time::{Duration, Instant};

use secrecy::SecretString;
use serde_json::json;
use steward_model::{IntegrationKind, Membership, Record, Resource};
use steward_store::{MasterKey, NewIntegration, ResourceOutcome, Store};

const TOTAL: usize = 500_000;
const BATCH: usize = 2_000;

fn main() {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => panic!("runtime: {e}"),
    };
    rt.block_on(run());
}

async fn run() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let store = Store::open(&url, MasterKey::from_bytes([9; 32]))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let now = chrono::Utc::now();
    let new = NewIntegration {
        name: "bench".into(),
        kind: IntegrationKind::Okta,
        base_url: "https://bench.okta.com".into(),
        settings: json!({}),
    };
    let integration = store
        .create_integration(&new, &SecretString::from("t"), now)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let run = store
        .begin_run(integration.id, now, Duration::from_secs(60))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let batches: Vec<Vec<Record>> = (0..TOTAL / BATCH)
        .map(|b| {
            (0..BATCH)
                .map(|i| {
                    Record::Membership(Membership {
                        group_id: format!("00g{:04}", i % 300),
                        account_id: format!("00u{b:05}{i:05}"),
                    })
                })
                .collect()
        })
        .collect();
    // The floor: what serialising alone costs.
    let started = Instant::now();
    let bytes: usize = batches
        .iter()
        .flatten()
        .map(|r| r.truth_key().len() + serde_json::to_string(r).map_or(0, |s| s.len()))
        .sum();
    println!(
        "serialising alone: {:.2}s ({bytes} bytes)",
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    for batch in &batches {
        store
            .stage(run, batch)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let staged = started.elapsed();
    store
        .mark_resource(
            run,
            Resource::Memberships,
            &ResourceOutcome::Complete {
                count: TOTAL as u64,
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    store
        .publish_run(run, &json!({}), chrono::Utc::now())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let total = started.elapsed();
    println!(
        "staged {TOTAL} records in {:.2}s: {:.0} records/s (with publish: {:.2}s, {:.0} records/s)",
        staged.as_secs_f64(),
        TOTAL as f64 / staged.as_secs_f64(),
        total.as_secs_f64(),
        TOTAL as f64 / total.as_secs_f64()
    );
}
