//! Access-review benchmark: the 100,000-user snapshot of the findings benchmark (1,000,000 app
//! assignments) is published, then a campaign over every app assignment
//! (`--scope apps:<every app>`, reviewer by email) is created and timed: building the cases
//! from the snapshot and storing them. Goal: < 5 s. Run with
//! `cargo bench -p steward-products --bench reviews` (SQLite in a tempdir, or PostgreSQL with
//! `TEST_DATABASE_URL`); `REVIEWS_BENCH_USERS` overrides the org size.

#[allow(dead_code)]
#[path = "findings.rs"]
mod data;

use std::time::Instant;

use chrono::{TimeZone, Utc};
use secrecy::SecretString;
use serde_json::json;
use steward_model::{IntegrationKind, Record};
use steward_products::reviews::{self, CreateReview};
use steward_products::{FixedClock, inventory};
use steward_store::NewIntegration;

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

async fn bench() {
    let users: usize = std::env::var("REVIEWS_BENCH_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let (store, _dir) = steward_store::testing::test_store().await;
    let now = Utc
        .with_ymd_and_hms(2026, 11, 1, 0, 0, 0)
        .single()
        .unwrap_or_default();
    let new = NewIntegration {
        name: "bench".into(),
        kind: IntegrationKind::Okta,
        base_url: "https://bench.okta.com".into(),
        settings: json!({}),
    };
    let integration = store
        .create_integration(&new, &SecretString::from("token".to_string()), now)
        .await
        .unwrap_or_else(|e| panic!("creating the integration: {e}"));
    let snapshot = data::snapshot(users, now);
    let apps: Vec<String> = snapshot
        .iter()
        .flat_map(|(_, r)| r.iter())
        .filter_map(|r| match r {
            Record::App(a) => Some(a.id.clone()),
            _ => None,
        })
        .collect();
    let assignments = snapshot
        .iter()
        .flat_map(|(_, r)| r.iter())
        .filter(|r| matches!(r, Record::AppUser(_)))
        .count();
    let run = data::publish(&store, integration.id, now, &snapshot).await;
    let clock = FixedClock(now);
    inventory::after_sync(&store, &integration, run, &clock)
        .await
        .unwrap_or_else(|e| panic!("inventory: {e}"));
    let req = CreateReview {
        name: "Every app assignment".into(),
        integration: "bench".into(),
        scope: format!("apps:{}", apps.join(",")),
        reviewer: "reviewer@acme.example".into(),
        due: "2026-12-31".into(),
        recur: None,
        remediation: false,
    };
    let t = Instant::now();
    let v = reviews::create(&store, &req, &clock)
        .await
        .unwrap_or_else(|e| panic!("create: {e}"));
    let ms = t.elapsed().as_millis();
    println!(
        "review campaign over all app assignments, {users}-user org ({}): {} cases (of {assignments} assignments) in {ms} ms; goal < 5000 ms",
        store.backend(),
        v.cases
    );
}
