//! The Okta connector. STUB: the connector engineer implements it.

use secrecy::SecretString;
use steward_model::{Capability, ConnectionReport, IntegrationKind};
use tokio::sync::mpsc;

use crate::{Connector, ConnectorError, IntegrationDomain, SyncEvent, SyncOptions, SyncReport};

pub struct OktaConnector {
    #[allow(dead_code)]
    domain: IntegrationDomain,
    #[allow(dead_code)]
    token: SecretString,
}

impl OktaConnector {
    pub fn new(domain: IntegrationDomain, token: SecretString) -> Result<Self, ConnectorError> {
        Ok(OktaConnector { domain, token })
    }
}

#[async_trait::async_trait]
impl Connector for OktaConnector {
    fn kind(&self) -> IntegrationKind {
        IntegrationKind::Okta
    }
    fn capabilities(&self) -> &'static [Capability] {
        &[]
    }
    async fn test_connection(&self) -> ConnectionReport {
        ConnectionReport::default()
    }
    async fn sync(&self, _o: SyncOptions, _out: mpsc::Sender<SyncEvent>) -> Result<SyncReport, ConnectorError> {
        Err(ConnectorError::Http("not implemented".into()))
    }
}
