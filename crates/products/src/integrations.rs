//! Integrations: add one (validated domain, sealed token), build its connector, run and
//! record its connection test.

use secrecy::SecretString;
use serde_json::json;
use steward_connectors::{
    Connector, ConnectorError, DomainError, DomainOptions, IntegrationDomain,
};
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
    #[error(
        "--token: the token is empty; paste the API token (Okta) or API key (OneTrust) shown when you created it"
    )]
    EmptyToken,
    #[error(
        "--client-id: the client id is empty; copy it from OneTrust's Global Settings → Access Management → Client Credentials"
    )]
    EmptyClientId,
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
    let bad = |reason: &str| {
        Err(IntegrationError::BadName {
            reason: reason.to_string(),
        })
    };
    if name.is_empty() {
        return bad("the name is empty; use something like \"okta-prod\"");
    }
    if name.len() > 64 {
        return bad("the name is longer than 64 characters");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
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
    add_with_settings(store, request, token, clock, serde_json::Value::Null).await
}

/// As [`add`], with extra settings merged in (e.g. `{"audit_activities": true}`: OneTrust
/// syncs then also read per-user audit activities).
pub async fn add_with_settings(
    store: &Store,
    request: &AddIntegration,
    token: &SecretString,
    clock: &dyn Clock,
    extra: serde_json::Value,
) -> Result<Integration, IntegrationError> {
    use secrecy::ExposeSecret;
    validate_name(&request.name)?;
    let domain = parse_domain(request.kind, &request.domain, request.options)?;
    if token.expose_secret().trim().is_empty() {
        return Err(IntegrationError::EmptyToken);
    }
    let mut settings = json!({
        "custom_domain": request.options.custom_domain,
        "allow_insecure_loopback": request.options.allow_insecure_loopback,
    });
    if request.kind == IntegrationKind::Onetrust {
        // Which kind of credential is sealed (never the secret itself).
        settings["auth"] =
            match steward_connectors::onetrust::client::Auth::from_secret(token.clone()) {
                steward_connectors::onetrust::client::Auth::ApiKey(_) => json!("api_key"),
                steward_connectors::onetrust::client::Auth::ClientCredentials {
                    client_id, ..
                } => {
                    settings["client_id"] = json!(client_id);
                    json!("client_credentials")
                }
            };
    }
    if let (Some(obj), serde_json::Value::Object(more)) = (settings.as_object_mut(), extra) {
        obj.extend(more);
    }
    let new = NewIntegration {
        name: request.name.clone(),
        kind: request.kind,
        base_url: domain.as_str().to_string(),
        settings,
    };
    Ok(store.create_integration(&new, token, clock.now()).await?)
}

fn parse_domain(
    kind: IntegrationKind,
    input: &str,
    options: DomainOptions,
) -> Result<IntegrationDomain, IntegrationError> {
    Ok(IntegrationDomain::parse_for(kind, input, options)?)
}

/// The credential to seal for OneTrust OAuth client credentials (the connector exchanges
/// them for access tokens at `POST /api/access/v1/oauth/token`).
pub fn onetrust_client_credentials(
    client_id: &str,
    client_secret: &SecretString,
) -> Result<SecretString, IntegrationError> {
    use secrecy::ExposeSecret;
    if client_id.trim().is_empty() {
        return Err(IntegrationError::EmptyClientId);
    }
    if client_secret.expose_secret().trim().is_empty() {
        return Err(IntegrationError::EmptyToken);
    }
    Ok(
        steward_connectors::onetrust::client::Auth::seal_client_credentials(
            client_id.trim(),
            client_secret,
        ),
    )
}

/// Run the connection test of an integration before it is saved (the UI's "Test connection"
/// on the connect form): the same validation as [`add`], nothing stored.
pub async fn test_candidate(
    request: &AddIntegration,
    token: &SecretString,
) -> Result<ConnectionReport, IntegrationError> {
    use secrecy::ExposeSecret;
    validate_name(&request.name)?;
    let domain = parse_domain(request.kind, &request.domain, request.options)?;
    if token.expose_secret().trim().is_empty() {
        return Err(IntegrationError::EmptyToken);
    }
    let connector = steward_connectors::connector_for(request.kind, domain, token.clone())?;
    Ok(connector.test_connection().await)
}

/// The domain options an integration was saved with.
pub fn domain_options(integration: &Integration) -> DomainOptions {
    let flag = |k: &str| {
        integration
            .settings
            .get(k)
            .and_then(|v| v.as_bool())
            .unwrap_or(false)
    };
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
        .ok_or_else(|| IntegrationError::NotFound {
            name: name.to_string(),
        })
}

/// Build the connector for a stored integration (unseals its token).
pub async fn connector(
    store: &Store,
    integration: &Integration,
) -> Result<Box<dyn Connector>, IntegrationError> {
    // Re-validate the stored domain: the token is only ever sent to this origin.
    let domain = parse_domain(
        integration.kind,
        &integration.base_url,
        domain_options(integration),
    )?;
    let token = store.credential(integration.id).await?;
    Ok(steward_connectors::connector_for(
        integration.kind,
        domain,
        token,
    )?)
}

/// Run the connection test and remember its result.
pub async fn test(
    store: &Store,
    integration: &Integration,
    clock: &dyn Clock,
) -> Result<ConnectionReport, IntegrationError> {
    let connector = connector(store, integration).await?;
    let report = connector.test_connection().await;
    store
        .record_connection_test(integration.id, &report, clock.now())
        .await?;
    Ok(report)
}
