//! Integrations: add one (validated domain, sealed token), build its connector, run and
//! record its connection test.

use secrecy::SecretString;
use serde_json::json;
use steward_connectors::{Connector, ConnectorError, DomainError, DomainOptions, IntegrationDomain};
use steward_model::{ConnectionReport, IntegrationKind};
use steward_store::{Integration, NewIntegration, Store, StoreError};

use crate::Clock;

/// Errors when adding or using an integration.
#[derive(Debug, thiserror::Error)]
pub enum IntegrationError {
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Connector(#[from] ConnectorError),
    #[error("integration {name:?} not found; `steward integration list` shows the configured ones")]
    NotFound { name: String },
    #[error("--name: {reason}")]
    BadName { reason: String },
    #[error("--token: the token is empty; paste the API token Okta showed when you created it")]
    EmptyToken,
}

/// What an admin asks for when connecting a system.
#[derive(Debug, Clone)]
pub struct AddIntegration {
    pub name: String,
    pub kind: IntegrationKind,
    pub domain: String,
    pub options: DomainOptions,
}

/// Names are used on the command line and in URLs: keep them simple.
pub fn validate_name(name: &str) -> Result<(), IntegrationError> {
    let bad = |reason: &str| Err(IntegrationError::BadName { reason: reason.to_string() });
    if name.is_empty() {
        return bad("the name is empty; use something like \"okta-prod\"");
    }
    if name.len() > 64 {
        return bad("the name is longer than 64 characters");
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')) {
        return bad("use only letters, digits, '-', '_' and '.' (e.g. \"okta-prod\")");
    }
    Ok(())
}

/// Validate everything, then store the integration with its token sealed.
pub async fn add(
    store: &Store,
    request: &AddIntegration,
    token: &SecretString,
    clock: &dyn Clock,
) -> Result<Integration, IntegrationError> {
    use secrecy::ExposeSecret;
    validate_name(&request.name)?;
    let domain = parse_domain(request.kind, &request.domain, request.options)?;
    if token.expose_secret().trim().is_empty() {
        return Err(IntegrationError::EmptyToken);
    }
    let new = NewIntegration {
        name: request.name.clone(),
        kind: request.kind,
        base_url: domain.as_str().to_string(),
        settings: json!({
            "custom_domain": request.options.custom_domain,
            "allow_insecure_loopback": request.options.allow_insecure_loopback,
        }),
    };
    Ok(store.create_integration(&new, token, clock.now()).await?)
}

fn parse_domain(
    kind: IntegrationKind,
    input: &str,
    options: DomainOptions,
) -> Result<IntegrationDomain, IntegrationError> {
    match kind {
        IntegrationKind::Okta => Ok(IntegrationDomain::parse_okta(input, options)?),
        IntegrationKind::Onetrust => Err(IntegrationError::Connector(ConnectorError::Http(
            "the OneTrust connector is not available yet".to_string(),
        ))),
    }
}

/// The domain options an integration was saved with.
pub fn domain_options(integration: &Integration) -> DomainOptions {
    let flag = |k: &str| integration.settings.get(k).and_then(|v| v.as_bool()).unwrap_or(false);
    DomainOptions {
        custom_domain: flag("custom_domain"),
        allow_insecure_loopback: flag("allow_insecure_loopback"),
    }
}

/// Look an integration up by name, with the error the CLI shows when it is missing.
pub async fn by_name(store: &Store, name: &str) -> Result<Integration, IntegrationError> {
    store
        .integration_by_name(name)
        .await?
        .ok_or_else(|| IntegrationError::NotFound { name: name.to_string() })
}

/// Build the connector for a stored integration (unseals its token).
pub async fn connector(
    store: &Store,
    integration: &Integration,
) -> Result<Box<dyn Connector>, IntegrationError> {
    // Re-validate the stored domain: the token is only ever sent to this origin.
    let domain = parse_domain(integration.kind, &integration.base_url, domain_options(integration))?;
    let token = store.credential(integration.id).await?;
    Ok(steward_connectors::connector_for(integration.kind, domain, token)?)
}

/// Run the connection test and remember its result.
pub async fn test(
    store: &Store,
    integration: &Integration,
    clock: &dyn Clock,
) -> Result<ConnectionReport, IntegrationError> {
    let connector = connector(store, integration).await?;
    let report = connector.test_connection().await;
    store.record_connection_test(integration.id, &report, clock.now()).await?;
    Ok(report)
}
