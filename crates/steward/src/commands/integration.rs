//! `steward integration add|test|list|show|remove|set-token`.

use std::io::IsTerminal;

use anyhow::Context as _;
use serde_json::json;
use steward_model::{ConnectionReport, IntegrationKind};
use steward_products::SystemClock;
use steward_products::integrations::{self, AddIntegration};
use steward_store::{Integration, Store};

use super::{UsageError, token};
use crate::cli::{AddKind, Global, IntegrationCommand, NameJson};
use crate::context::Paths;
use crate::exit;
use crate::output::{self, print_json};

pub async fn run(global: &Global, cmd: IntegrationCommand) -> anyhow::Result<u8> {
    let store = Paths::resolve(global)?.open_store().await?;
    match cmd {
        IntegrationCommand::Add(kind) => {
            let mut extra = serde_json::Value::Null;
            let (request, secret, json_out, no_test) = match kind {
                AddKind::Okta(args) => {
                    let secret = token::read(&args.token)?;
                    let request = AddIntegration {
                        name: args.name.clone(),
                        kind: IntegrationKind::Okta,
                        domain: args.domain.clone(),
                        options: steward_connectors::DomainOptions {
                            custom_domain: args.custom_domain,
                            allow_insecure_loopback: args.allow_insecure_loopback,
                        },
                    };
                    (request, secret, args.json, args.no_test)
                }
                AddKind::Onetrust(args) => {
                    let secret = onetrust_secret(&args)?;
                    if args.audit_activities {
                        extra = json!({"audit_activities": true});
                    }
                    let request = AddIntegration {
                        name: args.name.clone(),
                        kind: IntegrationKind::Onetrust,
                        domain: args.domain.clone(),
                        options: steward_connectors::DomainOptions {
                            custom_domain: args.custom_domain,
                            allow_insecure_loopback: args.allow_insecure_loopback,
                        },
                    };
                    (request, secret, args.json, args.no_test)
                }
            };
            let integration =
                integrations::add_with_settings(&store, &request, &secret, &SystemClock, extra)
                    .await?;
            if !json_out {
                println!(
                    "Added integration {} ({}).",
                    integration.name, integration.base_url
                );
            }
            if no_test {
                if json_out {
                    print_json(&integration_json(&integration))?;
                }
                return Ok(exit::OK);
            }
            let report = integrations::test(&store, &integration, &SystemClock).await?;
            if json_out {
                print_json(&json!({
                    "integration": integration_json(&integration),
                    "connection_test": report,
                }))?;
            } else {
                print!("{}", output::connection_report(&report));
            }
            Ok(check_code(&report))
        }
        IntegrationCommand::Test(NameJson { name, json }) => {
            let integration = integrations::by_name(&store, &name).await?;
            let report = integrations::test(&store, &integration, &SystemClock).await?;
            if json {
                print_json(&report)?;
            } else {
                print!("{}", output::connection_report(&report));
            }
            Ok(check_code(&report))
        }
        IntegrationCommand::List(flag) => {
            let all = store.integrations().await?;
            if flag.json {
                print_json(&all.iter().map(integration_json).collect::<Vec<_>>())?;
            } else if all.is_empty() {
                println!("No integrations yet. Add one with `steward integration add okta`.");
            } else {
                let rows = all
                    .iter()
                    .map(|i| {
                        vec![
                            i.name.clone(),
                            i.kind.as_str().to_string(),
                            i.base_url.clone(),
                            test_status(i),
                            i.last_sync_status
                                .clone()
                                .unwrap_or_else(|| "never synced".into()),
                        ]
                    })
                    .collect::<Vec<_>>();
                print!(
                    "{}",
                    output::table(&["NAME", "KIND", "DOMAIN", "TEST", "LAST SYNC"], &rows)
                );
            }
            Ok(exit::OK)
        }
        IntegrationCommand::Show(NameJson { name, json }) => show(&store, &name, json).await,
        IntegrationCommand::Remove(args) => {
            let integration = integrations::by_name(&store, &args.name).await?;
            if !args.yes {
                if !std::io::stdin().is_terminal() {
                    return Err(UsageError(format!(
                        "removing {} deletes everything synced from it; add --yes to confirm",
                        args.name
                    ))
                    .into());
                }
                eprint!(
                    "Remove {} and everything synced from it? Type its name to confirm: ",
                    args.name
                );
                let mut answer = String::new();
                std::io::stdin()
                    .read_line(&mut answer)
                    .context("reading the confirmation")?;
                if answer.trim() != args.name {
                    eprintln!("Not removed.");
                    return Ok(exit::USAGE);
                }
            }
            store.remove_integration(integration.id).await?;
            println!("Removed integration {}.", args.name);
            Ok(exit::OK)
        }
        IntegrationCommand::SetToken(args) => {
            let integration = integrations::by_name(&store, &args.name).await?;
            let secret = token::read(&args.token)?;
            store
                .replace_credential(integration.id, &secret, chrono::Utc::now())
                .await?;
            println!(
                "Token of {} replaced. Run `steward integration test {}` to check it.",
                args.name, args.name
            );
            Ok(exit::OK)
        }
    }
}

/// The OneTrust credential: an API key (--token-env/--token-file/prompt) or client
/// credentials (--client-id + --client-secret-env), sealed the same way.
fn onetrust_secret(args: &crate::cli::AddOnetrustArgs) -> anyhow::Result<secrecy::SecretString> {
    match (&args.client_id, &args.client_secret_env) {
        (Some(id), Some(var)) => {
            let secret = std::env::var(var)
                .map_err(|_| UsageError(format!("--client-secret-env: the environment variable {var} is not set")))?;
            if id.trim().is_empty() {
                return Err(UsageError("--client-id: the client id is empty".into()).into());
            }
            if secret.trim().is_empty() {
                return Err(UsageError(format!("--client-secret-env: the environment variable {var} is empty")).into());
            }
            Ok(integrations::onetrust_client_credentials(id, &secrecy::SecretString::from(secret.trim().to_string()))?)
        }
        (Some(_), None) => Err(UsageError(
            "--client-id needs --client-secret-env VAR (the OAuth client secret); or give an API key with --token-env".into(),
        )
        .into()),
        _ => token::read(&args.token),
    }
}

fn check_code(report: &ConnectionReport) -> u8 {
    if report.required_ok() {
        exit::OK
    } else {
        exit::CHECK_FAILED
    }
}

fn test_status(i: &Integration) -> String {
    match &i.last_test {
        None => "not tested".to_string(),
        Some(v) => match serde_json::from_value::<ConnectionReport>(v.clone()) {
            Ok(r) if r.required_ok() => "✓ connected".to_string(),
            Ok(_) => "✗ failing".to_string(),
            Err(_) => "unknown".to_string(),
        },
    }
}

/// What the CLI and API show of an integration: never its credential.
pub fn integration_json(i: &Integration) -> serde_json::Value {
    json!({
        "id": i.id,
        "name": i.name,
        "kind": i.kind,
        "domain": i.base_url,
        "settings": i.settings,
        "created_at": i.created_at,
        "current_run_id": i.current_run_id,
        "last_test_at": i.last_test_at,
        "connected": i.last_test.as_ref()
            .and_then(|v| serde_json::from_value::<ConnectionReport>(v.clone()).ok())
            .map(|r| r.required_ok()),
        "last_sync_status": i.last_sync_status,
        "last_sync_at": i.last_sync_at,
    })
}

async fn show(store: &Store, name: &str, json: bool) -> anyhow::Result<u8> {
    let integration = integrations::by_name(store, name).await?;
    let connector = integrations::connector(store, &integration).await?;
    let capabilities = connector.capabilities();
    let runs = store.runs(integration.id, 10).await?;
    let resources = store.resource_status(integration.id).await?;
    let digests = store.snapshot_digests(integration.id).await?;
    if json {
        print_json(&json!({
            "integration": integration_json(&integration),
            "capabilities": capabilities,
            "last_test": integration.last_test,
            "snapshot": resources.iter().map(|r| json!({
                "resource": r.resource, "readable": r.readable, "count": r.count, "reason": r.reason,
                "digest": digests.get(&r.resource).map(|d| d.digest.clone()),
            })).collect::<Vec<_>>(),
            "runs": runs.iter().map(|r| json!({
                "id": r.id, "status": r.status, "started_at": r.started_at, "finished_at": r.finished_at,
                "duration_ms": r.duration_ms, "error": r.error, "counts": r.counts, "report": r.report,
            })).collect::<Vec<_>>(),
        }))?;
        return Ok(exit::OK);
    }
    println!(
        "{} ({}), {}",
        integration.name,
        integration.kind.as_str(),
        integration.base_url
    );
    println!(
        "Created {}; {}.",
        integration.created_at.format("%Y-%m-%d %H:%M UTC"),
        test_status(&integration)
    );
    println!("\nIntegration capabilities:");
    let rows = capabilities
        .iter()
        .map(|c| {
            vec![
                c.name.to_string(),
                if c.required { "required" } else { "optional" }.to_string(),
                c.needs.to_string(),
                c.endpoint.to_string(),
            ]
        })
        .collect::<Vec<_>>();
    print!(
        "{}",
        output::table(&["CAPABILITY", "", "NEEDS", "ENDPOINT"], &rows)
    );
    if let Some(report) = integration
        .last_test
        .as_ref()
        .and_then(|v| serde_json::from_value::<ConnectionReport>(v.clone()).ok())
    {
        println!("\nLast connection test:");
        print!("{}", output::connection_report(&report));
    }
    if !resources.is_empty() {
        println!("\nCurrent snapshot:");
        let rows = resources
            .iter()
            .map(|r| {
                vec![
                    r.resource.label().to_string(),
                    if r.readable {
                        r.count.to_string()
                    } else {
                        "—".to_string()
                    },
                    r.reason
                        .clone()
                        .map(|x| format!("not readable: {x}"))
                        .unwrap_or_default(),
                ]
            })
            .collect::<Vec<_>>();
        print!("{}", output::table(&["RESOURCE", "COUNT", ""], &rows));
    }
    if !runs.is_empty() {
        println!("\nSync runs:");
        let rows = runs
            .iter()
            .map(|r| {
                vec![
                    r.id.to_string(),
                    r.status.clone(),
                    r.started_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                    r.duration_ms
                        .map(|d| format!("{:.1}s", d as f64 / 1000.0))
                        .unwrap_or_default(),
                    r.counts.values().sum::<u64>().to_string(),
                    r.report
                        .get("requests")
                        .map(|v| v.to_string())
                        .unwrap_or_default(),
                    r.report
                        .get("rate_limited")
                        .map(|v| v.to_string())
                        .unwrap_or_default(),
                    r.error.clone().unwrap_or_default(),
                ]
            })
            .collect::<Vec<_>>();
        print!(
            "{}",
            output::table(
                &[
                    "RUN", "STATUS", "STARTED", "TOOK", "RECORDS", "REQUESTS", "429s", "ERROR"
                ],
                &rows
            )
        );
    }
    Ok(exit::OK)
}
