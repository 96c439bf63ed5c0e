//! `steward people orphans|leavers|seats|show EMAIL`: the identity graph across every
//! synced integration (persons joined by normalised email, with the evidence of each join).

use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use serde_json::json;
use steward_products::graph::{self, Graph, GraphError};

use super::UsageError;
use crate::cli::Global;
use crate::context::Paths;
use crate::exit;
use crate::output::{self, print_json};

#[derive(Debug, Subcommand)]
pub enum PeopleCommand {
    /// Active accounts in downstream systems (OneTrust, …) with no active identity-provider (Okta) user.
    Orphans(PeopleArgs),
    /// People deprovisioned or suspended in Okta who are still active in another system.
    Leavers(PeopleArgs),
    /// Licence seats per system and licence status: assigned versus used in the last 30 and 90 days.
    Seats(PeopleArgs),
    /// One person's accounts everywhere, with the evidence of each join.
    Show(ShowArgs),
}

#[derive(Debug, Args)]
pub struct PeopleArgs {
    /// "Now" for the usage windows (RFC 3339); default: the current time.
    #[arg(long, value_name = "TIME")]
    pub now: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The person's email (login, email or second email in any system; case does not matter).
    pub email: String,
    #[command(flatten)]
    pub common: PeopleArgs,
}

fn parse_now(now: &Option<String>) -> anyhow::Result<DateTime<Utc>> {
    match now {
        None => Ok(Utc::now()),
        Some(t) => DateTime::parse_from_rfc3339(t)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| {
                UsageError(format!(
                    "--now: {t:?} is not an RFC 3339 time ({e}); e.g. 2026-11-23T00:00:00Z"
                ))
                .into()
            }),
    }
}

fn note_scope(g: &Graph) {
    if g.integrations.is_empty() {
        println!(
            "No synced integrations yet: add and sync Okta and OneTrust first (`steward integration add`, `steward sync`)."
        );
    } else if !g.has_idp {
        println!(
            "Note: no identity provider (Okta) is synced, so every downstream account counts as having no active Okta user."
        );
    }
}

pub async fn run(global: &Global, cmd: PeopleCommand) -> anyhow::Result<u8> {
    let store = Paths::resolve(global)?.open_store().await?;
    let common = match &cmd {
        PeopleCommand::Orphans(a) | PeopleCommand::Leavers(a) | PeopleCommand::Seats(a) => a,
        PeopleCommand::Show(s) => &s.common,
    };
    let now = parse_now(&common.now)?;
    let json_out = common.json;
    if let PeopleCommand::Show(s) = &cmd {
        let e = graph::normalise(&s.email);
        if !e.contains('@') || e.chars().any(char::is_whitespace) {
            return Err(UsageError(format!("EMAIL: {:?} is not an email address; give the person's email, e.g. ada@example.com", s.email)).into());
        }
    }
    let g = graph::build(&store, now).await?;
    match cmd {
        PeopleCommand::Orphans(_) => {
            let orphans = g.orphans();
            if json_out {
                print_json(&json!({"orphans": orphans, "has_identity_provider": g.has_idp}))?;
                return Ok(exit::OK);
            }
            note_scope(&g);
            let rows: Vec<Vec<String>> = orphans
                .iter()
                .map(|o| {
                    vec![
                        o.person.clone(),
                        o.account.integration.clone(),
                        o.account.account_id.clone(),
                        o.account.status.clone(),
                        o.reason.clone(),
                    ]
                })
                .collect();
            println!("{} orphaned account(s).", rows.len());
            if !rows.is_empty() {
                print!(
                    "{}",
                    output::table(
                        &["PERSON", "INTEGRATION", "ACCOUNT", "STATUS", "WHY"],
                        &rows
                    )
                );
            }
        }
        PeopleCommand::Leavers(_) => {
            let leavers = g.leavers();
            if json_out {
                print_json(&json!({"leavers": leavers}))?;
                return Ok(exit::OK);
            }
            note_scope(&g);
            let rows: Vec<Vec<String>> = leavers
                .iter()
                .map(|l| {
                    vec![
                        l.person.clone(),
                        l.idp_accounts
                            .iter()
                            .map(|a| format!("{} ({})", a.status, a.integration))
                            .collect::<Vec<_>>()
                            .join(", "),
                        l.still_active
                            .iter()
                            .map(|a| format!("{} {}", a.integration, a.account_id))
                            .collect::<Vec<_>>()
                            .join(", "),
                    ]
                })
                .collect();
            println!("{} leaver(s) still active elsewhere.", rows.len());
            if !rows.is_empty() {
                print!(
                    "{}",
                    output::table(&["PERSON", "IN OKTA", "STILL ACTIVE IN"], &rows)
                );
            }
        }
        PeopleCommand::Seats(_) => {
            let seats = g.seats();
            if json_out {
                print_json(&json!({"now": now, "seats": seats}))?;
                return Ok(exit::OK);
            }
            note_scope(&g);
            let rows: Vec<Vec<String>> = seats
                .iter()
                .map(|s| {
                    vec![
                        s.integration.clone(),
                        s.license_status.clone(),
                        s.assigned.to_string(),
                        s.used_30d.to_string(),
                        s.used_90d.to_string(),
                        s.unused_90d.len().to_string(),
                    ]
                })
                .collect();
            if rows.is_empty() {
                println!(
                    "No licence data: no synced integration reports licence status (OneTrust needs the USER scope)."
                );
            } else {
                print!(
                    "{}",
                    output::table(
                        &[
                            "INTEGRATION",
                            "LICENCE",
                            "ASSIGNED",
                            "USED 30D",
                            "USED 90D",
                            "UNUSED 90D"
                        ],
                        &rows
                    )
                );
            }
        }
        PeopleCommand::Show(s) => {
            let person = match g.person(&s.email) {
                Ok(p) => p,
                Err(GraphError::PersonNotFound(e)) => {
                    if json_out {
                        print_json(
                            &json!({"error": "not_found", "message": format!("no account in any integration has the email {e:?}")}),
                        )?;
                    } else {
                        println!(
                            "No account in any synced integration has the email {e:?} (login, email or second email)."
                        );
                    }
                    return Ok(exit::FAILURE);
                }
                Err(e) => return Err(e.into()),
            };
            if json_out {
                let usage: Vec<_> = person
                    .accounts
                    .iter()
                    .map(|a| {
                        let (d30, d90) = g.usage_of(&a.integration, &a.account_id);
                        json!({"integration": a.integration, "account_id": a.account_id, "logins_30d": d30, "logins_90d": d90})
                    })
                    .collect();
                print_json(&json!({"person": person, "usage": usage}))?;
                return Ok(exit::OK);
            }
            println!("{} — {} account(s)", person.email, person.accounts.len());
            let rows: Vec<Vec<String>> = person
                .accounts
                .iter()
                .map(|a| {
                    vec![
                        a.integration.clone(),
                        a.kind.as_str().to_string(),
                        a.account_id.clone(),
                        a.login.clone(),
                        a.status.clone(),
                        a.license_status.clone().unwrap_or_default(),
                        a.last_login
                            .map(|t| t.format("%Y-%m-%d").to_string())
                            .unwrap_or_default(),
                    ]
                })
                .collect();
            print!(
                "{}",
                output::table(
                    &[
                        "INTEGRATION",
                        "KIND",
                        "ACCOUNT",
                        "LOGIN",
                        "STATUS",
                        "LICENCE",
                        "LAST LOGIN"
                    ],
                    &rows
                )
            );
            if !person.evidence.is_empty() {
                println!("\nJoined by:");
                for e in &person.evidence {
                    println!(
                        "  {} {}: {} = {:?}",
                        e.integration, e.account_id, e.field, e.value
                    );
                }
            }
        }
    }
    Ok(exit::OK)
}
