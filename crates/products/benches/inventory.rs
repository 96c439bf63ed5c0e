//! Inventory listing benchmark: 5,000 items filled straight through the store API, then
//! `inventory::list` timed with `Instant` over several iterations; prints the median.
//! Goal: < 100 ms. Run with `cargo bench -p steward-products --bench inventory`
//! (SQLite in a tempdir, or PostgreSQL with `TEST_DATABASE_URL`).

use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use secrecy::SecretString;
use steward_model::IntegrationKind;
use steward_products::inventory;
use steward_store::{InventoryFacts, InventoryFilter, NewIntegration};

const ITEMS: usize = 5_000;
const ITERATIONS: usize = 15;

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
    let (store, _dir) = steward_store::testing::test_store().await;
    let now = Utc
        .with_ymd_and_hms(2026, 11, 1, 0, 0, 0)
        .single()
        .unwrap_or_default();
    let new = NewIntegration {
        name: "bench".into(),
        kind: IntegrationKind::Okta,
        base_url: "https://bench.okta.com".into(),
        settings: serde_json::json!({}),
    };
    let integration = store
        .create_integration(&new, &SecretString::from("token".to_string()), now)
        .await
        .unwrap_or_else(|e| panic!("creating the integration: {e}"));
    let departments: Vec<String> = ["Engineering", "Finance", "Legal", "Marketing", "Sales"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let facts: Vec<InventoryFacts> = (0..ITEMS)
        .map(|i| InventoryFacts {
            app_id: format!("0oa{i:017}"),
            name: format!("app_{i}"),
            label: format!("App {i}, \"bench\""),
            sign_on_mode: Some("SAML_2_0".into()),
            okta_status: "ACTIVE".into(),
            created: Some(now),
            assigned_users: (i * 7 % 900) as u64,
            assigned_groups: (i % 5) as u64,
            departments: departments.clone(),
            last_sso_at: Some(now),
            admins: Some(vec!["admin@example.com (SUPER_ADMIN)".into()]),
        })
        .collect();
    let fill = Instant::now();
    store
        .apply_inventory_sync(integration.id, 1, &facts, now)
        .await
        .unwrap_or_else(|e| panic!("filling the inventory: {e}"));
    println!(
        "filled {ITEMS} items on {} in {:?}",
        store.backend(),
        fill.elapsed()
    );

    let filter = InventoryFilter::default();
    let mut times: Vec<Duration> = Vec::with_capacity(ITERATIONS);
    for _ in 0..ITERATIONS {
        let t = Instant::now();
        let items = inventory::list(&store, &filter)
            .await
            .unwrap_or_else(|e| panic!("listing: {e}"));
        times.push(t.elapsed());
        assert_eq!(items.len(), ITEMS);
    }
    times.sort();
    let median = times[times.len() / 2];
    println!(
        "inventory list of {ITEMS} items ({}): median {:.1} ms over {ITERATIONS} runs (min {:.1} ms, max {:.1} ms; goal < 100 ms)",
        store.backend(),
        median.as_secs_f64() * 1e3,
        times[0].as_secs_f64() * 1e3,
        times[times.len() - 1].as_secs_f64() * 1e3,
    );
    store.close().await;
}
