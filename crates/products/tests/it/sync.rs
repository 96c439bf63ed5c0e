//! Sync orchestration against the simulator: faults either end in exact truth or in a failed
//! run that leaves the previous snapshot intact. Its helpers (`now`, `sim`, `add`, ...) are
//! shared with the other modules.

use std::collections::BTreeMap;

use secrecy::SecretString;
use steward_connectors::DomainOptions;
use steward_model::{IntegrationKind, Resource};
use steward_products::integrations::{self, AddIntegration};
use steward_products::sync::{self, NoProgress, SyncError, SyncSettings};
use steward_products::{FixedClock, SystemClock};
use steward_simulator::{FaultSpec, RateLimitMode, RunningSimulator, SimConfig, Simulator};
use steward_store::Store;

/// The simulated org's "now"; syncs run with the same fixed clock so the System Log window
/// (90 days before now) covers exactly what the simulator holds.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339("2026-11-01T00:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc)
}

pub async fn sim(users: usize, seed: u64, faults: &str) -> RunningSimulator {
    let mut config = SimConfig::new(users, seed, now());
    config.rate.mode = RateLimitMode::None;
    if !faults.is_empty() {
        config.faults = faults.parse::<FaultSpec>().unwrap();
    }
    Simulator::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

pub fn truth_of(sim: &RunningSimulator) -> BTreeMap<Resource, steward_model::Digest> {
    sim.truth()
        .resources
        .into_iter()
        .filter_map(|(k, v)| Resource::parse(&k).map(|r| (r, v)))
        .collect()
}

pub async fn add(store: &Store, sim: &RunningSimulator) -> steward_store::Integration {
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
        store,
        &request,
        &SecretString::from(sim.token("SUPER_ADMIN")),
        &SystemClock,
    )
    .await
    .unwrap()
}

pub fn connector_for(sim: &RunningSimulator) -> Box<dyn steward_connectors::Connector> {
    let domain = steward_connectors::IntegrationDomain::parse_okta(
        &sim.base_url(),
        DomainOptions {
            custom_domain: false,
            allow_insecure_loopback: true,
        },
    )
    .unwrap();
    steward_connectors::connector_for(
        IntegrationKind::Okta,
        domain,
        SecretString::from(sim.token("SUPER_ADMIN")),
    )
    .unwrap()
}

#[tokio::test]
async fn light_faults_are_retried_to_exact_truth() {
    let sim = sim(120, 31, "http500=0.02,reset=0.01,truncate=0.01").await;
    let (store, _dir) = steward_store::testing::test_store().await;
    let integration = add(&store, &sim).await;
    let connector = connector_for(&sim);
    let outcome = sync::run(
        &store,
        &integration,
        connector.as_ref(),
        &FixedClock(now()),
        &NoProgress,
        SyncSettings::default(),
    )
    .await
    .unwrap();
    assert!(
        outcome.report.retries > 0,
        "no fault was hit, the test proves nothing: {:?}",
        outcome.report
    );
    assert_eq!(
        store.snapshot_digests(integration.id).await.unwrap(),
        truth_of(&sim)
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn heavy_faults_fail_the_run_and_keep_the_previous_snapshot() {
    // The same seed and "now" give the same org: a healthy simulator fills the first
    // snapshot, a faulty twin then breaks the second run.
    let healthy = sim(100, 32, "").await;
    let faulty = sim(100, 32, "http500=0.6,reset=0.1,truncate=0.1").await;
    let (store, _dir) = steward_store::testing::test_store().await;
    let integration = add(&store, &healthy).await;

    let first = sync::run(
        &store,
        &integration,
        connector_for(&healthy).as_ref(),
        &FixedClock(now()),
        &NoProgress,
        SyncSettings::default(),
    )
    .await
    .unwrap();
    let before = store.snapshot_digests(integration.id).await.unwrap();
    assert_eq!(before, truth_of(&healthy));

    let failed = sync::run(
        &store,
        &integration,
        connector_for(&faulty).as_ref(),
        &FixedClock(now()),
        &NoProgress,
        SyncSettings::default(),
    )
    .await;
    let Err(SyncError::Failed { run_id, reason }) = failed else {
        panic!("expected a failed run, got {failed:?}")
    };
    assert_ne!(run_id, first.run_id);
    assert!(!reason.is_empty());
    assert_eq!(
        store.snapshot_digests(integration.id).await.unwrap(),
        before,
        "the failed run changed the snapshot"
    );
    let runs = store.runs(integration.id, 10).await.unwrap();
    assert!(
        runs.iter()
            .any(|r| r.id == run_id && r.status == "failed" && r.error.is_some()),
        "{runs:?}"
    );
    let current = store.integration(integration.id).await.unwrap().unwrap();
    assert_eq!(current.current_run_id, Some(first.run_id));
    healthy.shutdown().await;
    faulty.shutdown().await;
}
