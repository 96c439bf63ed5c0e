//! Shared helpers: start a simulator, build a connector for a role, run a sync and collect it.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use secrecy::SecretString;
use steward_connectors::okta::OktaConnector;
use steward_connectors::okta::client::Backoff;
use steward_connectors::{
    Connector, ConnectorError, DomainOptions, IntegrationDomain, SyncEvent, SyncOptions, SyncReport,
};
use steward_model::{Record, Resource, truth_digest};
use steward_simulator::{RateLimitMode, RunningSimulator, SimConfig, Simulator};

pub fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-01T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

pub fn config(users: usize, seed: u64) -> SimConfig {
    let mut c = SimConfig::new(users, seed, now());
    c.rate.mode = RateLimitMode::None;
    c
}

pub async fn start_with(config: SimConfig) -> RunningSimulator {
    Simulator::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

pub fn loopback() -> DomainOptions {
    DomainOptions {
        custom_domain: false,
        allow_insecure_loopback: true,
    }
}

pub fn connector_for_token(base: &str, token: &str) -> OktaConnector {
    let domain = IntegrationDomain::parse_okta(base, loopback()).unwrap();
    OktaConnector::new(domain, SecretString::from(token.to_string()))
        .unwrap()
        .with_seed(7)
        .with_backoff(Backoff {
            base: Duration::from_millis(5),
            max: Duration::from_millis(50),
        })
}

pub fn connector(sim: &RunningSimulator, role: &str) -> OktaConnector {
    connector_for_token(&sim.base_url(), &sim.token(role))
}

/// Everything one sync sent, per resource.
#[derive(Debug, Default)]
pub struct Collected {
    pub records: BTreeMap<Resource, Vec<Record>>,
    pub batches: BTreeMap<Resource, usize>,
    pub done: BTreeMap<Resource, u64>,
    pub dones: BTreeMap<Resource, usize>,
    pub unreadable: BTreeMap<Resource, String>,
    pub cursors: BTreeMap<Resource, String>,
}

impl Collected {
    pub fn keys(&self, r: Resource) -> Vec<String> {
        self.records
            .get(&r)
            .map(|v| v.iter().map(Record::truth_key).collect())
            .unwrap_or_default()
    }
}

pub async fn run_sync(
    c: &OktaConnector,
    options: SyncOptions,
) -> (Result<SyncReport, ConnectorError>, Collected) {
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    let collect = async move {
        let mut got = Collected::default();
        while let Some(ev) = rx.recv().await {
            match ev {
                SyncEvent::Batch { resource, records } => {
                    *got.batches.entry(resource).or_default() += 1;
                    got.records.entry(resource).or_default().extend(records);
                }
                SyncEvent::Done { resource, count } => {
                    got.done.insert(resource, count);
                    *got.dones.entry(resource).or_default() += 1;
                }
                SyncEvent::Unreadable { resource, reason } => {
                    got.unreadable.insert(resource, reason);
                }
                SyncEvent::Cursor { resource, cursor } => {
                    got.cursors.insert(resource, cursor);
                }
            }
        }
        got
    };
    let (report, got) = tokio::join!(c.sync(options, tx), collect);
    (report, got)
}

/// Assert a resource's records digest equals the simulator's truth.
pub fn assert_truth(sim: &RunningSimulator, got: &Collected, r: Resource) {
    let truth = sim.truth();
    let want = &truth.resources[r.as_str()];
    let have = truth_digest(got.keys(r));
    assert_eq!(have.count, want.count, "{r}: count");
    assert_eq!(have.digest, want.digest, "{r}: digest");
    assert_eq!(got.done.get(&r), Some(&want.count), "{r}: Done count");
    assert_eq!(got.dones.get(&r), Some(&1), "{r}: exactly one Done");
    assert!(
        !got.unreadable.contains_key(&r),
        "{r}: unexpectedly unreadable"
    );
}
