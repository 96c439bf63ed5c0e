//! `steward request access|delete|list`: privacy requests by email, answered live from every
//! integration, with an append-only audit trail and a receipt per request.

use std::fmt::Write as _;
use std::io::{IsTerminal, Write as _};
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use serde_json::json;
use steward_products::SystemClock;
use steward_products::requests::{
    self, AccessReport, DeletionReport, IntegrationDeletion, RequestError, RequestInput,
};

use super::UsageError;
use crate::cli::{Global, JsonFlag};
use crate::context::Paths;
use crate::exit;
use crate::output::{print_json, table};

#[derive(Debug, Subcommand)]
pub enum RequestCommand {
    /// Access request: export everything every connected system knows about the person now.
    Access(AccessArgs),
    /// Deletion request: delete the person's account in each system and erase local data.
    Delete(DeleteArgs),
    /// The audit trail: every request with its latest status and receipt.
    List(JsonFlag),
}

#[derive(Debug, Args)]
pub struct AccessArgs {
    /// The person's email; matched exactly (ignoring case) on login, email and secondEmail.
    #[arg(long)]
    pub email: String,
    /// Write the full JSON export to this file (created 0600); a summary goes to stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print the full JSON export on stdout instead of the summary.
    #[arg(long)]
    pub json: bool,
    /// Who asks, for the audit trail (default: the OS user).
    #[arg(long)]
    pub requested_by: Option<String>,
}

#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// The person's email; exactly one account per system must match.
    #[arg(long)]
    pub email: String,
    /// Show what would be deleted and the erasure plan; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Confirm the deletion without a prompt (required when not on a terminal).
    #[arg(long)]
    pub yes: bool,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
    /// Who asks, for the audit trail (default: the OS user).
    #[arg(long)]
    pub requested_by: Option<String>,
}

fn requested_by(flag: &Option<String>) -> anyhow::Result<String> {
    if let Some(who) = flag {
        let who = who.trim();
        if who.is_empty() {
            return Err(UsageError(
                "--requested-by: empty; pass a name or leave the flag out to use the OS user"
                    .into(),
            )
            .into());
        }
        return Ok(who.to_string());
    }
    Ok(["USER", "LOGNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "unknown".to_string()))
}

/// Input errors exit 2; anything else is a failure.
fn map_err(e: RequestError) -> anyhow::Error {
    if e.is_usage() {
        UsageError(e.to_string()).into()
    } else {
        e.into()
    }
}

pub async fn run(global: &Global, cmd: RequestCommand) -> anyhow::Result<u8> {
    match cmd {
        RequestCommand::Access(args) => {
            // Validate before touching anything.
            let email = requests::validate_email(&args.email).map_err(map_err)?;
            let who = requested_by(&args.requested_by)?;
            let store = Paths::resolve(global)?.open_store().await?;
            let report = requests::access(
                &store,
                &SystemClock,
                &RequestInput {
                    email,
                    requested_by: who,
                },
            )
            .await
            .map_err(map_err)?;
            if let Some(path) = &args.out {
                write_private(path, &serde_json::to_vec_pretty(&report)?)
                    .with_context(|| format!("--out: cannot write {}", path.display()))?;
            }
            if args.json {
                print_json(&report)?;
            } else {
                print!("{}", access_summary(&report, args.out.as_deref()));
            }
            Ok(exit::OK)
        }
        RequestCommand::Delete(args) => {
            if args.dry_run && args.yes {
                return Err(UsageError(
                    "--dry-run and --yes conflict: --dry-run changes nothing, --yes confirms a real deletion; pass one of them".into(),
                )
                .into());
            }
            let email = requests::validate_email(&args.email).map_err(map_err)?;
            let who = requested_by(&args.requested_by)?;
            if !args.dry_run && !args.yes {
                if !std::io::stdin().is_terminal() {
                    return Err(UsageError(
                        "deleting a person cannot be undone: pass --yes to confirm (or --dry-run to see what would happen)".into(),
                    )
                    .into());
                }
                eprint!(
                    "Delete every account matching {email} in every integration and erase it from Steward? Type \"delete\" to confirm: "
                );
                let _ = std::io::stderr().flush();
                let mut answer = String::new();
                std::io::stdin()
                    .read_line(&mut answer)
                    .context("reading the confirmation")?;
                if answer.trim() != "delete" {
                    eprintln!("Not confirmed; nothing was changed.");
                    return Ok(exit::USAGE);
                }
            }
            let store = Paths::resolve(global)?.open_store().await?;
            let report = requests::delete(
                &store,
                &SystemClock,
                &RequestInput {
                    email,
                    requested_by: who,
                },
                args.dry_run,
            )
            .await
            .map_err(map_err)?;
            if args.json {
                print_json(&report)?;
            } else {
                print!("{}", deletion_summary(&report));
            }
            Ok(if report.succeeded() {
                exit::OK
            } else {
                exit::FAILURE
            })
        }
        RequestCommand::List(flag) => {
            let store = Paths::resolve(global)?.open_store().await?;
            let all = store.privacy_requests().await?;
            let receipts = store.privacy_receipts().await?;
            if flag.json {
                print_json(&json!({"requests": all, "receipts": receipts}))?;
            } else if all.is_empty() {
                println!("No privacy requests yet.");
            } else {
                let rows: Vec<Vec<String>> = all
                    .iter()
                    .map(|r| {
                        let receipt = receipts.iter().find(|x| x.request_id == r.id);
                        vec![
                            r.id.to_string(),
                            r.kind.as_str().to_string(),
                            r.requested_by.clone(),
                            r.requested_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                            if r.dry_run {
                                "yes".into()
                            } else {
                                String::new()
                            },
                            r.status.clone(),
                            receipt
                                .map(|x| format!("{} ({})", x.id, x.outcome))
                                .unwrap_or_default(),
                        ]
                    })
                    .collect();
                print!(
                    "{}",
                    table(
                        &[
                            "ID",
                            "KIND",
                            "BY",
                            "REQUESTED (UTC)",
                            "DRY RUN",
                            "STATUS",
                            "RECEIPT"
                        ],
                        &rows
                    )
                );
            }
            Ok(exit::OK)
        }
    }
}

fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    // The export is personal data: readable by the operator only.
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)?;
    f.write_all(b"\n")
}

fn access_summary(r: &AccessReport, out: Option<&std::path::Path>) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Access request {} for {} (receipt {}), answered live at {}.",
        r.request_id,
        r.email,
        r.receipt_id,
        r.completed_at.format("%Y-%m-%d %H:%M:%S UTC")
    );
    for i in &r.integrations {
        let n = i.accounts.len();
        let _ = writeln!(
            s,
            "\n{} ({}): {} matching account{} ({} API requests)",
            i.integration,
            i.kind,
            n,
            if n == 1 { "" } else { "s" },
            i.api_requests
        );
        for p in &i.accounts {
            let a = &p.account;
            let profile = a
                .raw
                .get("profile")
                .and_then(|v| v.as_object().map(|m| m.len()))
                .unwrap_or(0);
            let _ = writeln!(
                s,
                "  account {}  login {}  status {}",
                a.id, a.login, a.status
            );
            let _ = writeln!(s, "    profile attributes: {profile}");
            let part = |readable: bool, reason: Option<&str>, text: String| -> String {
                if readable {
                    text
                } else {
                    format!("not readable: {}", reason.unwrap_or(""))
                }
            };
            let groups = p.groups.items();
            let _ = writeln!(
                s,
                "    groups: {}",
                part(
                    p.groups.is_readable(),
                    reason_of(&p.groups).as_deref(),
                    format!(
                        "{} ({})",
                        groups.len(),
                        groups
                            .iter()
                            .map(|g| g.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                )
            );
            let apps = p.apps.items();
            let _ = writeln!(
                s,
                "    apps: {}",
                part(
                    p.apps.is_readable(),
                    reason_of(&p.apps).as_deref(),
                    format!(
                        "{} ({}), with app-user profile data",
                        apps.len(),
                        apps.iter()
                            .map(|a| a.label.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                )
            );
            let factors = p.factors.items();
            let _ = writeln!(
                s,
                "    factor types: {}",
                part(
                    p.factors.is_readable(),
                    reason_of(&p.factors).as_deref(),
                    if factors.is_empty() {
                        "none".into()
                    } else {
                        factors
                            .iter()
                            .map(|f| f.factor_type.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                )
            );
            let roles = p.roles.items();
            let _ = writeln!(
                s,
                "    admin roles: {}",
                part(
                    p.roles.is_readable(),
                    reason_of(&p.roles).as_deref(),
                    if roles.is_empty() {
                        "none".into()
                    } else {
                        roles
                            .iter()
                            .map(|r| r.role_type.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                )
            );
            let _ = writeln!(
                s,
                "    System Log events (as actor or target, since {}): {}",
                r.log_since.format("%Y-%m-%d"),
                part(
                    p.log_events.is_readable(),
                    reason_of(&p.log_events).as_deref(),
                    p.log_events.items().len().to_string()
                )
            );
        }
    }
    match out {
        Some(path) => {
            let _ = writeln!(s, "\nFull export written to {}.", path.display());
        }
        None => {
            let _ = writeln!(
                s,
                "\nThe full export (every attribute): add --out FILE or --json."
            );
        }
    }
    s
}

fn reason_of<T>(p: &steward_connectors::actions::Part<T>) -> Option<String> {
    match p {
        steward_connectors::actions::Part::NotReadable { reason } => Some(reason.clone()),
        steward_connectors::actions::Part::Read { .. } => None,
    }
}

fn deletion_summary(r: &DeletionReport) -> String {
    let mut s = String::new();
    let head = match r.outcome.as_str() {
        "deleted" => "Deleted.",
        "already_deleted" => {
            "already deleted: no account matches any more, and an earlier deletion receipt exists for this email."
        }
        "no_match" => "No account matches this email in any integration; nothing to do.",
        "dry_run" => "Dry run: nothing was changed. This is what a deletion would do.",
        "refused" => {
            "Refused: the token may not delete users in at least one integration; follow the erasure plan below."
        }
        "ambiguous" => "Refused: more than one account matches; nothing was deleted. Candidates:",
        other => other,
    };
    let _ = writeln!(s, "Deletion request {}: {head}", r.request_id);
    if !r.candidates.is_empty() {
        let rows: Vec<Vec<String>> = r
            .candidates
            .iter()
            .map(|c| {
                vec![
                    c.integration.clone(),
                    c.id.clone(),
                    c.login.clone(),
                    c.email.clone().unwrap_or_default(),
                    c.second_email.clone().unwrap_or_default(),
                    c.status.clone(),
                ]
            })
            .collect();
        s.push_str(&table(
            &[
                "INTEGRATION",
                "ID",
                "LOGIN",
                "EMAIL",
                "SECOND EMAIL",
                "STATUS",
            ],
            &rows,
        ));
        let _ = writeln!(
            s,
            "Resolve the duplicate (e.g. change the other account's address in Okta), then retry."
        );
    }
    if let Some(id) = r.earlier_receipt_id {
        let _ = writeln!(s, "Earlier deletion receipt: {id}");
    }
    for (name, d) in &r.integrations {
        match d {
            IntegrationDeletion::Deleted {
                account_id,
                verified,
                plan,
                erased,
            } => {
                let _ = writeln!(
                    s,
                    "{name}: deleted account {account_id} ({}); erased locally: {} records, {} log events, {} mentions redacted",
                    if *verified {
                        "verified: GET returns 404 E0000007"
                    } else {
                        "NOT verified"
                    },
                    erased.records,
                    erased.log_events,
                    erased.redacted
                );
                plan_lines(&mut s, plan, "apps to notify");
            }
            IntegrationDeletion::WouldDelete { plan } => {
                let _ = writeln!(
                    s,
                    "{name}: would delete account {} ({})",
                    plan.account_id, plan.account_status
                );
                for step in &plan.steps {
                    let _ = writeln!(s, "  - {step}");
                }
            }
            IntegrationDeletion::Refused {
                role_needed,
                reason,
                plan,
            } => {
                let _ = writeln!(s, "{name}: refused — {reason}. Role needed: {role_needed}.");
                let _ = writeln!(s, "  Erasure plan for account {}:", plan.account_id);
                for step in &plan.steps {
                    let _ = writeln!(s, "  - {step}");
                }
            }
            IntegrationDeletion::NoMatch => {
                let _ = writeln!(s, "{name}: no matching account");
            }
        }
    }
    let _ = writeln!(s, "Receipt: {}", r.receipt_id);
    s
}

fn plan_lines(s: &mut String, plan: &requests::ErasurePlan, what: &str) {
    if plan.apps.is_empty() {
        return;
    }
    let _ = writeln!(
        s,
        "  {what}: {}",
        plan.apps
            .iter()
            .map(|a| format!("{} ({})", a.label, a.app_id))
            .collect::<Vec<_>>()
            .join(", ")
    );
}
