//! Privacy access request benchmark: ONE `requests::access` against a 100,000-user simulated
//! org with the default rate limits, counting the API calls it made (from `/__sim/stats`
//! before and after) and its wall time. Org generation is excluded.
//! Goal: at most 10 calls plus System Log pages, under 2 s.
//! Run with `cargo bench -p steward-products --bench request_access`.

use std::time::Instant;

use secrecy::SecretString;
use steward_connectors::DomainOptions;
use steward_model::IntegrationKind;
use steward_products::integrations::{self, AddIntegration};
use steward_products::requests::{self, RequestInput};
use steward_products::{FixedClock, SystemClock};
use steward_simulator::{SimConfig, Simulator};

const USERS: usize = 100_000;

fn main() {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start a runtime: {e}");
            std::process::exit(1);
        }
    };
    rt.block_on(bench());
}

async fn total_requests(base: &str) -> u64 {
    let stats: serde_json::Value = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap_or_else(|e| panic!("client: {e}"))
        .get(format!("{base}/__sim/stats"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("stats: {e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("stats JSON: {e}"));
    stats["buckets"]
        .as_object()
        .map(|b| b.values().filter_map(|v| v["requests"].as_u64()).sum())
        .unwrap_or(0)
}

async fn bench() {
    let now = chrono::Utc::now();
    let generation = Instant::now();
    // Default rate limits: the request must fit the real budget, not an unlimited one.
    let sim = Simulator::start(
        SimConfig::new(USERS, 7, now),
        "127.0.0.1:0".parse().unwrap_or_else(|e| panic!("{e}")),
    )
    .await
    .unwrap_or_else(|e| panic!("starting the simulator: {e}"));
    eprintln!(
        "generated {USERS} users in {:.1?} (excluded)",
        generation.elapsed()
    );
    // The busiest non-token user in the System Log: the most log pages to read.
    let email = sim.with_org(|org| {
        let mut counts = std::collections::HashMap::<&str, usize>::new();
        for e in &org.logs {
            *counts.entry(e.actor.id.as_str()).or_default() += 1;
            for t in &e.targets {
                *counts.entry(t.id.as_str()).or_default() += 1;
            }
        }
        let tokens: Vec<&str> = org
            .token_users
            .iter()
            .map(|&u| org.users[u as usize].id.as_str())
            .collect();
        org.users
            .iter()
            .filter(|u| !u.deleted && !tokens.contains(&u.id.as_str()))
            .max_by_key(|u| counts.get(u.id.as_str()).copied().unwrap_or(0))
            .map(|u| u.email.clone())
            .unwrap_or_default()
    });
    let (store, _dir) = steward_store::testing::test_store().await;
    let request = AddIntegration {
        name: "okta".into(),
        kind: IntegrationKind::Okta,
        domain: sim.base_url(),
        options: DomainOptions {
            custom_domain: false,
            allow_insecure_loopback: true,
        },
    };
    integrations::add(
        &store,
        &request,
        &SecretString::from(sim.token("SUPER_ADMIN")),
        &SystemClock,
    )
    .await
    .unwrap_or_else(|e| panic!("adding the integration: {e}"));
    let before = total_requests(&sim.base_url()).await;
    let started = Instant::now();
    let report = requests::access(
        &store,
        &FixedClock(now),
        &RequestInput {
            email,
            requested_by: "bench".into(),
        },
    )
    .await
    .unwrap_or_else(|e| panic!("access request: {e}"));
    let wall = started.elapsed();
    let calls = total_requests(&sim.base_url()).await - before;
    let okta = &report.integrations[0];
    let (groups, apps, logs) = okta
        .accounts
        .first()
        .map(|p| {
            (
                p.groups.items().len(),
                p.apps.items().len(),
                p.log_events.items().len(),
            )
        })
        .unwrap_or_default();
    println!(
        "request_access: {USERS} users, default rate limits: {calls} API calls (connector counted {}), {:.0} ms wall; \
         matched {} account(s): {groups} groups, {apps} apps, {logs} log events",
        okta.api_requests,
        wall.as_secs_f64() * 1000.0,
        okta.accounts.len()
    );
    sim.shutdown().await;
}
