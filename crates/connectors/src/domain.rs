//! Integration domains: parse and normalise the base URL a credential may be sent to.
//! STUB: the connector engineer implements validation.

/// A validated integration base URL (scheme + host [+ port for loopback]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegrationDomain {
    url: url::Url,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    #[error("domain: {0}")]
    Invalid(String),
}

impl IntegrationDomain {
    pub fn url(&self) -> &url::Url {
        &self.url
    }
}
