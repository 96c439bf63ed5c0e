//! `steward evidence list|show|verify|export`: the hash-chained evidence register.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Subcommand, ValueEnum};
use serde_json::{Value, json};
use steward_products::SystemClock;
use steward_products::evidence::{
    self, EvidenceError, headline, mfa_text, num, roles_text, verify_text,
};
use steward_store::EvidenceItem;

use super::UsageError;
use crate::cli::{Global, JsonFlag};
use crate::context::Paths;
use crate::exit;
use crate::output::{self, print_json};

#[derive(Debug, Subcommand)]
pub enum EvidenceCommand {
    /// List the evidence items, oldest first.
    List(JsonFlag),
    /// Show one evidence item with its controls, summary and the raw records it came from.
    Show(ShowArgs),
    /// Recompute the hash chain; exit 0 when intact, 3 when an item was edited, removed or reordered.
    Verify(JsonFlag),
    /// Export the whole register (with the verification result) as JSON, CSV or HTML.
    Export(ExportArgs),
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Evidence item id, e.g. EV-12 (as in `steward evidence list`).
    pub id: String,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Output format.
    #[arg(long, value_enum)]
    pub format: ExportFormat,
    /// Write to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    Json,
    Csv,
    Html,
}

pub async fn run(global: &Global, cmd: EvidenceCommand) -> anyhow::Result<u8> {
    let store = Paths::resolve(global)?.open_store().await?;
    match cmd {
        EvidenceCommand::List(flag) => {
            let items = evidence::list(&store).await?;
            if flag.json {
                print_json(&items.iter().map(list_json).collect::<Vec<_>>())?;
            } else if items.is_empty() {
                println!(
                    "No evidence yet: every `steward sync` adds an MFA policy summary and an admin access review."
                );
            } else {
                let rows = items
                    .iter()
                    .map(|i| {
                        vec![
                            i.id.clone(),
                            i.kind.clone(),
                            i.integration_name.clone(),
                            i.run_id.to_string(),
                            i.collected_at.clone(),
                            i.status.clone(),
                            headline(i),
                        ]
                    })
                    .collect::<Vec<_>>();
                print!(
                    "{}",
                    output::table(
                        &[
                            "ID",
                            "KIND",
                            "INTEGRATION",
                            "RUN",
                            "COLLECTED",
                            "STATUS",
                            "SUMMARY"
                        ],
                        &rows
                    )
                );
            }
            Ok(exit::OK)
        }
        EvidenceCommand::Show(args) => {
            let item = evidence::show(&store, &args.id).await.map_err(usage)?;
            if args.json {
                print_json(&item)?;
            } else {
                print!("{}", show_text(&item));
            }
            Ok(exit::OK)
        }
        EvidenceCommand::Verify(flag) => {
            let v = evidence::verify(&store).await?;
            if flag.json {
                print_json(&v)?;
            } else {
                println!("{}", verify_text(&v));
            }
            Ok(if v.intact {
                exit::OK
            } else {
                exit::CHECK_FAILED
            })
        }
        EvidenceCommand::Export(args) => {
            let format = match args.format {
                ExportFormat::Json => evidence::ExportFormat::Json,
                ExportFormat::Csv => evidence::ExportFormat::Csv,
                ExportFormat::Html => evidence::ExportFormat::Html,
            };
            let export = evidence::export(&store, format, &SystemClock).await?;
            match &args.out {
                Some(path) => {
                    std::fs::write(path, &export.body)
                        .with_context(|| format!("writing the export to {}", path.display()))?;
                    eprintln!(
                        "Wrote {} evidence items to {}.",
                        export.items,
                        path.display()
                    );
                }
                None => {
                    let mut stdout = std::io::stdout().lock();
                    stdout
                        .write_all(&export.body)
                        .context("writing the export to stdout")?;
                    stdout.flush().context("writing the export to stdout")?;
                }
            }
            Ok(exit::OK)
        }
    }
}

/// Unknown ids are bad input (exit 2), not a failure.
fn usage(e: EvidenceError) -> anyhow::Error {
    match e {
        EvidenceError::NotFound { .. } => UsageError(e.to_string()).into(),
        other => other.into(),
    }
}

fn list_json(i: &EvidenceItem) -> Value {
    json!({
        "id": i.id,
        "seq": i.seq,
        "kind": i.kind,
        "integration_id": i.integration_id,
        "integration": i.integration_name,
        "run_id": i.run_id,
        "collected_at": i.collected_at,
        "status": i.status,
        "reason": i.reason,
        "controls": i.controls,
        "headline": headline(i),
        "hash": i.hash,
    })
}

fn show_text(i: &EvidenceItem) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{} ({})", i.id, i.kind);
    let _ = writeln!(
        out,
        "Integration:  {} (id {}), sync run {}",
        i.integration_name, i.integration_id, i.run_id
    );
    let _ = writeln!(out, "Collected at: {}", i.collected_at);
    let _ = writeln!(out, "Status:       {}", i.status);
    if let Some(reason) = &i.reason {
        let _ = writeln!(out, "Not evidenced: {reason}");
    }
    let _ = writeln!(out, "Controls:");
    for c in i.controls.as_array().into_iter().flatten() {
        let _ = writeln!(
            out,
            "  {} {} {}",
            num(&c["framework"]),
            num(&c["control"]),
            num(&c["title"])
        );
    }
    let _ = writeln!(out, "Summary:      {}", headline(i));
    match i.kind.as_str() {
        evidence::KIND_ADMIN if i.summary["admins"].is_array() => {
            let rows: Vec<Vec<String>> = i.summary["admins"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|a| {
                    vec![
                        a["login"]
                            .as_str()
                            .or(a["user_id"].as_str())
                            // A redacted entry (the person was erased) holds only its digest.
                            .unwrap_or(if a.get(steward_store::REDACTED_KEY).is_some() {
                                "[erased]"
                            } else {
                                "?"
                            })
                            .to_string(),
                        num(&a["status"]),
                        a["last_login"].as_str().unwrap_or("never").to_string(),
                        mfa_text(&a["mfa_enrolled"]),
                        roles_text(&a["roles"]),
                    ]
                })
                .collect();
            out.push_str(&output::table(
                &["USER", "STATUS", "LAST LOGIN", "MFA", "ROLES"],
                &rows,
            ));
        }
        evidence::KIND_MFA if i.summary["sign_on_policies"].is_object() => {
            let mut rows = Vec::new();
            for key in ["mfa_enrollment_policies", "sign_on_policies"] {
                for p in i.summary[key]["items"].as_array().into_iter().flatten() {
                    let rules = match &p["rules"] {
                        Value::Array(rs) => format!(
                            "{} of {} require MFA",
                            num(&p["rules_requiring_mfa"]),
                            rs.len()
                        ),
                        Value::Null => "-".into(),
                        other => num(other),
                    };
                    rows.push(vec![
                        num(&p["type"]),
                        num(&p["name"]),
                        num(&p["status"]),
                        rules,
                    ]);
                }
            }
            out.push_str(&output::table(
                &["TYPE", "POLICY", "STATUS", "RULES"],
                &rows,
            ));
        }
        _ => {}
    }
    let _ = writeln!(out, "Hash:         {}", i.hash);
    let _ = writeln!(out, "Previous:     {}", i.prev_hash);
    let _ = writeln!(
        out,
        "(raw source records: `steward evidence show {} --json`)",
        i.id
    );
    out
}
