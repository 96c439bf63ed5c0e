//! `steward findings [--kind K] [--all] [--json]`, `steward findings show ID` and
//! `steward findings config`: identity-security findings computed at every sync.

use std::collections::BTreeSet;

use clap::{Args, Subcommand};
use serde_json::json;
use steward_products::SystemClock;
use steward_products::findings::{self, FindingsError, Kind};
use steward_store::Finding;

use super::UsageError;
use crate::cli::Global;
use crate::context::Paths;
use crate::exit;
use crate::output::{self, print_json};

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct FindingsArgs {
    #[command(subcommand)]
    pub command: Option<FindingsCommand>,
    #[command(flatten)]
    pub list: ListArgs,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only this kind: admin_without_mfa, super_admin_concentration, leaver_with_access,
    /// dormant_with_access, unused_app, admin_role_via_group, leaver_account, orphan_account.
    #[arg(long, value_name = "KIND")]
    pub kind: Option<String>,
    /// Include resolved findings (history), not only open ones.
    #[arg(long)]
    pub all: bool,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum FindingsCommand {
    /// Show one finding with the records behind it.
    Show(ShowArgs),
    /// Show or set the thresholds (they apply from the next sync).
    Config(ConfigArgs),
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Finding id (as in `steward findings`).
    pub id: i64,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// More Super Administrators than this is a finding (default 3).
    #[arg(long, value_name = "N")]
    pub super_admin_max: Option<i64>,
    /// No sign-in for this many days makes an account dormant (default 90).
    #[arg(long, value_name = "DAYS")]
    pub inactive_days: Option<i64>,
    /// No SSO use for this many days makes an app unused (default 90).
    #[arg(long, value_name = "DAYS")]
    pub unused_app_days: Option<i64>,
    #[arg(long)]
    pub json: bool,
}

fn usage(e: FindingsError) -> anyhow::Error {
    match e {
        FindingsError::Store(_) | FindingsError::InventoryNotUpdated => anyhow::Error::new(e),
        other => anyhow::Error::new(UsageError(other.to_string())),
    }
}

pub async fn run(global: &Global, args: FindingsArgs) -> anyhow::Result<u8> {
    let store = Paths::resolve(global)?.open_store().await?;
    match args.command {
        None => list(&store, args.list).await,
        Some(FindingsCommand::Show(a)) => {
            let Some(f) = store.finding(a.id).await? else {
                return Err(UsageError(format!(
                    "finding {} not found; list the ids with `steward findings --all`",
                    a.id
                ))
                .into());
            };
            if a.json {
                print_json(&f)?;
            } else {
                println!(
                    "Finding {} [{}] {} — {}",
                    f.id, f.severity, f.kind, f.subject
                );
                println!("{}", f.detail);
                println!(
                    "First seen at run {} ({}), last seen at run {}{}",
                    f.first_seen_run,
                    f.first_seen_at.to_rfc3339(),
                    f.last_seen_run,
                    match f.resolved_run {
                        Some(r) => format!(", resolved at run {r}"),
                        None => String::new(),
                    }
                );
                println!("Evidence:\n{}", serde_json::to_string_pretty(&f.evidence)?);
            }
            Ok(exit::OK)
        }
        Some(FindingsCommand::Config(a)) => {
            let mut t = findings::thresholds(&store).await?;
            for (key, value) in [
                ("super_admin_max", a.super_admin_max),
                ("inactive_days", a.inactive_days),
                ("unused_app_days", a.unused_app_days),
            ] {
                if let Some(v) = value {
                    t = findings::set_threshold(&store, key, v, &SystemClock)
                        .await
                        .map_err(|e| match e {
                            FindingsError::BadThreshold { .. } => anyhow::Error::new(UsageError(
                                format!("--{}: {e}", key.replace('_', "-")),
                            )),
                            other => usage(other),
                        })?;
                }
            }
            if a.json {
                print_json(&t)?;
            } else {
                println!("super_admin_max  {}", t.super_admin_max);
                println!("inactive_days    {}", t.inactive_days);
                println!("unused_app_days  {}", t.unused_app_days);
                println!("(applied at the next `steward sync`)");
            }
            Ok(exit::OK)
        }
    }
}

async fn list(store: &steward_store::Store, args: ListArgs) -> anyhow::Result<u8> {
    let items = findings::list(store, args.kind.as_deref(), args.all)
        .await
        .map_err(usage)?;
    let evaluations = findings::evaluations(store).await?;
    let (new, resolved) = findings::changes(store).await?;
    let new_ids: BTreeSet<i64> = new.iter().map(|f| f.id).collect();
    let wanted = |kind: &str| args.kind.as_deref().is_none_or(|k| k == kind);
    if args.json {
        let view = |f: &Finding| {
            let mut v = serde_json::to_value(f).unwrap_or_default();
            v["new"] = json!(new_ids.contains(&f.id));
            v
        };
        print_json(&json!({
            "findings": items.iter().map(view).collect::<Vec<_>>(),
            "evaluations": evaluations.iter().filter(|e| wanted(&e.kind)).collect::<Vec<_>>(),
            "new_at_last_sync": new.iter().filter(|f| wanted(&f.kind)).map(|f| f.id).collect::<Vec<_>>(),
            "resolved_at_last_sync": resolved.iter().filter(|f| wanted(&f.kind)).collect::<Vec<_>>(),
        }))?;
        return Ok(exit::OK);
    }
    if evaluations.is_empty() {
        println!("No findings yet: they are computed at every `steward sync`.");
        return Ok(exit::OK);
    }
    for e in evaluations.iter().filter(|e| wanted(&e.kind)) {
        let title = Kind::parse(&e.kind).map(Kind::title).unwrap_or("");
        let state = if e.evaluated {
            format!("{} open", e.open_count)
        } else {
            "not evaluated".to_string()
        };
        println!("{:<26} {:<14} {title}", e.kind, state);
        if let Some(reason) = &e.reason {
            println!("    {reason}");
        }
    }
    println!();
    if items.is_empty() {
        println!("No {} findings.", if args.all { "" } else { "open" });
    } else {
        let rows: Vec<Vec<String>> = items
            .iter()
            .map(|f| {
                vec![
                    f.id.to_string(),
                    f.severity.clone(),
                    f.kind.clone(),
                    f.subject.clone(),
                    match (f.resolved_run, new_ids.contains(&f.id)) {
                        (Some(r), _) => format!("resolved (run {r})"),
                        (None, true) => "new".into(),
                        (None, false) => format!("open since run {}", f.first_seen_run),
                    },
                    f.detail.clone(),
                ]
            })
            .collect();
        print!(
            "{}",
            output::table(
                &["ID", "SEVERITY", "KIND", "SUBJECT", "STATE", "DETAIL"],
                &rows
            )
        );
    }
    if !resolved.is_empty() {
        println!(
            "{} finding(s) resolved at the last sync.",
            resolved.iter().filter(|f| wanted(&f.kind)).count()
        );
    }
    Ok(exit::OK)
}
