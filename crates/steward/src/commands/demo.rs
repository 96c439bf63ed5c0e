//! `steward demo`: the whole job on embedded defaults. Starts the Okta simulator in-process,
//! opens a fresh SQLite store, adds and tests an integration, syncs it, and proves every
//! synced resource equals the simulator's ground truth.

use std::collections::BTreeMap;

use anyhow::Context as _;
use secrecy::SecretString;
use serde_json::json;
use steward_model::{IntegrationKind, Resource};
use steward_products::SystemClock;
use steward_products::integrations::{self, AddIntegration};
use steward_products::sync::{self, ResourceResult};
use steward_simulator::{SimConfig, Simulator};

use crate::cli::{DemoArgs, Global};
use crate::context::Paths;
use crate::exit;
use crate::output::{self, print_json};
use crate::progress::TerminalProgress;

pub async fn run(global: &Global, args: DemoArgs) -> anyhow::Result<u8> {
    let data_dir = match &global.data_dir {
        Some(d) => d.clone(),
        None => {
            let dir = std::env::temp_dir().join(format!("steward-demo-{}", std::process::id()));
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            dir
        }
    };
    let paths = match &global.database_url {
        Some(url) => Paths {
            database_url: url.clone(),
            ..Paths::with_data_dir(&data_dir)
        },
        None => Paths::with_data_dir(&data_dir),
    };
    let say = |line: &str| {
        if !args.json {
            eprintln!("{line}");
        }
    };

    // The simulator's clock must agree with ours: the first sync reads the System Log of the
    // 90 days before *our* now.
    let mut config = SimConfig::new(args.users, args.seed, chrono::Utc::now());
    config.rate.scale = args.rate_scale;
    let sim = Simulator::start(config, "127.0.0.1:0".parse()?)
        .await
        .context("starting the simulator")?;
    say(&format!(
        "Okta simulator: {} ({} users, seed {})",
        sim.base_url(),
        args.users,
        args.seed
    ));

    let store = paths.open_store().await?;
    say(&format!(
        "Store: {} in {}",
        store.backend(),
        data_dir.display()
    ));
    let request = AddIntegration {
        name: format!("demo-okta-{}", args.seed),
        kind: IntegrationKind::Okta,
        domain: sim.base_url(),
        options: steward_connectors::DomainOptions {
            custom_domain: false,
            allow_insecure_loopback: true,
        },
    };
    let integration = match integrations::by_name(&store, &request.name).await {
        Ok(existing) => {
            store.remove_integration(existing.id).await?;
            integrations::add(
                &store,
                &request,
                &SecretString::from(sim.token(args.role.as_str())),
                &SystemClock,
            )
            .await?
        }
        Err(_) => {
            integrations::add(
                &store,
                &request,
                &SecretString::from(sim.token(args.role.as_str())),
                &SystemClock,
            )
            .await?
        }
    };
    say(&format!(
        "\nIntegration {} added with a {} token. Connection test:",
        integration.name,
        args.role.as_str()
    ));
    let report = integrations::test(&store, &integration, &SystemClock).await?;
    if !args.json {
        eprint!("{}", output::connection_report(&report));
    }
    if !report.required_ok() {
        sim.shutdown().await;
        return Ok(exit::CHECK_FAILED);
    }

    say("\nSyncing…");
    let connector = integrations::connector(&store, &integration).await?;
    let progress = TerminalProgress::new(args.json);
    let outcome = sync::run(
        &store,
        &integration,
        connector.as_ref(),
        &SystemClock,
        &progress,
        super::sync::settings(10),
    )
    .await;
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => {
            sim.shutdown().await;
            return Err(e.into());
        }
    };
    if !args.json {
        eprint!("{}", super::sync::summary(&outcome));
    }

    // Prove nothing was lost: every readable resource equals the simulator's truth.
    let truth = sim.truth();
    let synced = store.snapshot_digests(integration.id).await?;
    let mut checks = BTreeMap::new();
    let mut all_match = true;
    for (resource, result) in &outcome.resources {
        let expected = truth.resources.get(resource.as_str());
        let got = synced.get(resource);
        let entry = match result {
            ResourceResult::NotReadable { reason } => {
                json!({"status": "not_readable", "reason": reason})
            }
            ResourceResult::Complete { .. } => {
                // Log events keep arriving (the demo's own sync adds none, but writes would).
                let matches = expected.is_some() && expected == got;
                all_match &= matches;
                json!({"status": if matches {"match"} else {"mismatch"}, "synced": got, "truth": expected})
            }
        };
        checks.insert(resource.as_str(), entry);
    }

    if args.json {
        print_json(&json!({
            "data_dir": data_dir,
            "integration": integration.name,
            "role": args.role.as_str(),
            "connection_test": report,
            "sync": outcome,
            "truth_check": checks,
            "all_match": all_match,
        }))?;
    } else {
        let rows = checks
            .iter()
            .map(|(r, v)| {
                let label = Resource::parse(r).map(Resource::label).unwrap_or(r);
                let status = v.get("status").and_then(|s| s.as_str()).unwrap_or("");
                let mark = match status {
                    "match" => "✓ equals the simulator's truth (count and digest)".to_string(),
                    "not_readable" => format!(
                        "— not readable with this token: {}",
                        v.get("reason").and_then(|s| s.as_str()).unwrap_or("")
                    ),
                    _ => "✗ differs from the simulator's truth".to_string(),
                };
                vec![label.to_string(), mark]
            })
            .collect::<Vec<_>>();
        println!(
            "\n{}",
            output::table(&["RESOURCE", "CHECK"], &rows).trim_end()
        );
        println!(
            "\nDemo data kept in {} — try: steward --data-dir {} status",
            data_dir.display(),
            data_dir.display()
        );
    }
    if args.serve {
        // The simulator stays up while serving, so the API can test and sync against it.
        if let Err(e) = serve(&store, args.listen).await {
            sim.shutdown().await;
            return Err(e);
        }
    }
    sim.shutdown().await;
    Ok(if all_match { exit::OK } else { exit::FAILURE })
}

/// `--serve`: the API against the demo store (whose integration is the loopback simulator,
/// so `http://` integrations are allowed here) until Ctrl-C.
async fn serve(store: &steward_store::Store, listen: std::net::SocketAddr) -> anyhow::Result<()> {
    use std::sync::Arc;
    let clock: Arc<dyn steward_products::Clock> = Arc::new(SystemClock);
    let password = steward_server::auth::ensure_first_admin(store, clock.now()).await?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("listening on {listen}"))?;
    let url = format!("http://{}", listener.local_addr()?);
    println!(
        "\nServing the web UI on {url} (JSON API under {url}/api/v1, OpenAPI: {url}/api/openapi.json); Ctrl-C stops it."
    );
    match password {
        Some(p) => println!("Log in as \"admin\" with password {p} (shown only this once)."),
        None => println!("Log in with an existing user (`steward user list`)."),
    }
    let config = steward_server::ServerConfig {
        allow_insecure_loopback: true,
        ..Default::default()
    };
    let state = steward_server::AppState::new(store.clone(), clock, config);
    steward_server::serve(listener, state, super::simulate::shutdown_signal())
        .await
        .context("serving HTTP")?;
    Ok(())
}
