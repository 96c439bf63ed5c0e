//! Connectors: the code for one kind of source system each.
//!
//! A connector declares a capability table, runs a connection test that reports each
//! permission separately, and streams identity-graph records into a channel during a sync.
//! It never touches the store (the sync orchestrator in `steward-products` does), so a
//! connector can be tested against the simulator alone.

pub mod actions;
pub mod domain;
pub mod okta;
pub mod onetrust;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use steward_model::{Capability, ConnectionReport, IntegrationKind, Record, Resource};
use tokio::sync::mpsc;

pub use domain::{DomainError, DomainOptions, IntegrationDomain};

/// Everything a sync sends to its consumer, in order per resource.
#[derive(Debug)]
pub enum SyncEvent {
    /// A batch of records of one resource (typically one page).
    Batch {
        resource: Resource,
        records: Vec<Record>,
    },
    /// The resource finished: `count` records were sent in total.
    Done { resource: Resource, count: u64 },
    /// The token may not read this resource; it is recorded as "not readable", never as empty.
    Unreadable { resource: Resource, reason: String },
    /// Cursor to resume from on the next run (the System Log `next` link).
    Cursor { resource: Resource, cursor: String },
}

/// What the caller controls about one sync run.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// "Now", from the caller's clock (the System Log look-back starts 90 days before it).
    pub now: DateTime<Utc>,
    /// Per-resource cursors saved by the previous successful run.
    pub cursors: BTreeMap<Resource, String>,
    /// Global cap on requests in flight (default 10).
    pub max_in_flight: usize,
    /// Also read per-user audit activities where the connector offers them (OneTrust);
    /// off by default because it costs one request per user.
    pub audit_activities: bool,
}

impl SyncOptions {
    pub fn new(now: DateTime<Utc>) -> Self {
        SyncOptions {
            now,
            cursors: BTreeMap::new(),
            max_in_flight: 10,
            audit_activities: false,
        }
    }
}

/// Rate-limit figures of one bucket over a sync.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BucketReport {
    pub requests: u64,
    pub rate_limited: u64,
    /// Quota the token sees (`X-Rate-Limit-Limit`), last seen.
    pub limit: Option<u64>,
    /// Lowest `X-Rate-Limit-Remaining` seen.
    pub min_remaining: Option<u64>,
}

/// Summary of one sync run's traffic.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SyncReport {
    pub requests: u64,
    pub retries: u64,
    pub rate_limited: u64,
    /// Warning threshold the run paced itself under (percent), when read.
    pub warning_threshold: Option<u8>,
    pub buckets: BTreeMap<String, BucketReport>,
    /// Things the run had to assume (e.g. the warning threshold was unreadable).
    #[serde(default)]
    pub notes: Vec<String>,
}

/// Errors at the connector boundary.
#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    #[error(
        "the API token was rejected (401 {code}): Okta API tokens expire after 30 days without use, \
         and are revoked when their admin is deactivated; create a new token and replace it with \
         `steward integration set-token`"
    )]
    TokenRejected { code: String },
    #[error("{endpoint}: the token's admin role may not do this ({status} {code}): {fix}")]
    MissingPermission {
        endpoint: String,
        status: u16,
        code: String,
        fix: String,
    },
    #[error("{endpoint}: not found (404 {code})")]
    NotFound { endpoint: String, code: String },
    #[error("{endpoint}: gave up after {attempts} attempts: {last}")]
    GaveUp {
        endpoint: String,
        attempts: u32,
        last: String,
    },
    #[error("{endpoint}: unexpected answer {status}: {body}")]
    Unexpected {
        endpoint: String,
        status: u16,
        body: String,
    },
    #[error("{endpoint}: could not decode the answer: {reason}")]
    Decode { endpoint: String, reason: String },
    #[error(
        "{endpoint}: refusing to follow a link to {origin}: the token is only sent to the integration's domain"
    )]
    CrossOrigin { endpoint: String, origin: String },
    #[error("{0}")]
    Http(String),
    /// A non-Okta source refused the credential itself (401); `fix` says what to do.
    #[error("the credential was rejected ({status}): {fix}")]
    CredentialRejected { status: u16, fix: String },
    #[error("the sync was stopped: its consumer went away")]
    ConsumerGone,
}

/// A reqwest error as text without its URL (shorter messages, and a URL's path may be a
/// secret, such as a webhook's), with its source chain. Both clients and the review
/// reminders' webhook use it.
pub fn without_url(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    if let Some(u) = e.url() {
        s = s.replace(&format!(" ({u})"), "").replace(u.as_str(), "");
    }
    let mut src: Option<&dyn std::error::Error> = std::error::Error::source(e);
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

/// The common interface of every connector kind.
#[async_trait::async_trait]
pub trait Connector: Send + Sync {
    fn kind(&self) -> IntegrationKind;
    /// What this connector reads and needs; static data.
    fn capabilities(&self) -> &'static [Capability];
    /// Check each capability separately against the live source.
    async fn test_connection(&self) -> ConnectionReport;
    /// Read everything, sending records to `out`. Returns the traffic report.
    async fn sync(
        &self,
        options: SyncOptions,
        out: mpsc::Sender<SyncEvent>,
    ) -> Result<SyncReport, ConnectorError>;
    /// Live per-person operations (privacy requests), when this kind of source offers them.
    fn person_actions(
        &self,
    ) -> Result<Option<Box<dyn actions::PersonActions + '_>>, ConnectorError> {
        Ok(None)
    }
    /// Remediation writes (access reviews), when the connector offers them.
    fn remediation_actions(
        &self,
    ) -> Result<Option<Box<dyn actions::RemediationActions + '_>>, ConnectorError> {
        Ok(None)
    }
}

/// Build a connector for an integration. `allow_insecure_loopback` permits `http://` on
/// loopback hosts (the simulator); the token is only ever sent to `domain`.
pub fn connector_for(
    kind: IntegrationKind,
    domain: IntegrationDomain,
    token: SecretString,
) -> Result<Box<dyn Connector>, ConnectorError> {
    match kind {
        IntegrationKind::Okta => Ok(Box::new(okta::OktaConnector::new(domain, token)?)),
        IntegrationKind::Onetrust => Ok(Box::new(onetrust::OneTrustConnector::new(domain, token)?)),
    }
}
