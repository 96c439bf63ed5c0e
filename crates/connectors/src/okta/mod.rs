//! The Okta connector: capability table, connection test and sync over the Management API
//! with an SSWS token.

pub mod actions;
pub mod check;
pub mod client;
pub mod governor;
pub mod sync;
pub mod wire;

use std::sync::Arc;

use secrecy::SecretString;
use steward_model::{Capability, ConnectionReport, IntegrationKind};
use tokio::sync::mpsc;

use crate::{Connector, ConnectorError, IntegrationDomain, SyncEvent, SyncOptions, SyncReport};
use client::{Backoff, OktaClient};
use governor::Governor;

/// Seed of the retry jitter unless a test injects one.
const DEFAULT_SEED: u64 = 0x5EED;

pub struct OktaConnector {
    domain: IntegrationDomain,
    token: SecretString,
    seed: u64,
    backoff: Backoff,
}

impl std::fmt::Debug for OktaConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OktaConnector")
            .field("domain", &self.domain.as_str())
            .field("token", &"[REDACTED]")
            .finish()
    }
}

impl OktaConnector {
    pub fn new(domain: IntegrationDomain, token: SecretString) -> Result<Self, ConnectorError> {
        Ok(OktaConnector {
            domain,
            token,
            seed: DEFAULT_SEED,
            backoff: Backoff::default(),
        })
    }

    /// Seed the retry jitter (deterministic tests).
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    fn client(&self, max_in_flight: usize, threshold: u8) -> Result<OktaClient, ConnectorError> {
        let governor = Arc::new(Governor::new(max_in_flight, threshold));
        Ok(
            OktaClient::new(self.domain.clone(), self.token.clone(), governor, self.seed)?
                .with_backoff(self.backoff),
        )
    }
}

#[async_trait::async_trait]
impl Connector for OktaConnector {
    fn kind(&self) -> IntegrationKind {
        IntegrationKind::Okta
    }
    fn capabilities(&self) -> &'static [Capability] {
        check::CAPABILITIES
    }
    async fn test_connection(&self) -> ConnectionReport {
        match self.client(4, 90) {
            Ok(c) => check::test_connection(&c).await,
            Err(e) => ConnectionReport {
                fatal: Some(e.to_string()),
                ..ConnectionReport::default()
            },
        }
    }
    async fn sync(
        &self,
        options: SyncOptions,
        out: mpsc::Sender<SyncEvent>,
    ) -> Result<SyncReport, ConnectorError> {
        let client = Arc::new(self.client(options.max_in_flight, 90)?);
        sync::SyncRun { client, options }.run(out).await
    }
    fn person_actions(
        &self,
    ) -> Result<Option<Box<dyn crate::actions::PersonActions + '_>>, ConnectorError> {
        Ok(Some(Box::new(actions::OktaActions::new(self)?)))
    }
    fn remediation_actions(
        &self,
    ) -> Result<Option<Box<dyn crate::actions::RemediationActions + '_>>, ConnectorError> {
        Ok(Some(Box::new(actions::OktaActions::new(self)?)))
    }
}
