//! `steward review create|list|show|queue|decide|report|remediate|start-due|remind|reminders`:
//! access-review campaigns over the synced identity graph, and their deadline reminders.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use serde_json::json;
use steward_products::SystemClock;
use steward_products::integrations;
use steward_products::reminders::{self, ConfiguredSink, Reminder};
use steward_products::reviews::{self, CreateReview, ReportFormat, ReviewError};
use steward_store::Case;

use super::UsageError;
use crate::cli::{Global, JsonFlag};
use crate::context::Paths;
use crate::exit;
use crate::output::{self, print_json};

#[derive(Debug, Subcommand)]
pub enum ReviewCommand {
    /// Create a campaign (and its definition) from the current snapshot.
    Create(CreateArgs),
    /// List campaigns with their progress.
    List(JsonFlag),
    /// Show one campaign and its cases.
    Show(IdArgs),
    /// A reviewer's undecided cases.
    Queue(QueueArgs),
    /// Decide one case: keep or revoke.
    Decide(DecideArgs),
    /// The campaign report (CSV, JSON or HTML); also added to the evidence register.
    Report(ReportArgs),
    /// Act on revoke decisions (or list what to change, for report-only campaigns).
    Remediate(IdArgs),
    /// Start the next campaign of every recurring definition that is due.
    StartDue(JsonFlag),
    /// Send the deadline reminders due now (recorded; POSTed to STEWARD_REMINDER_WEBHOOK when set) and print them.
    Remind(JsonFlag),
    /// The reminders log: every reminder sent, of one campaign or of all.
    Reminders(RemindersArgs),
}

#[derive(Debug, Args)]
pub struct RemindersArgs {
    /// Campaign id (default: all campaigns).
    pub campaign: Option<i64>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    #[arg(long)]
    pub name: String,
    /// apps:ID[,ID…] | groups:ID[,ID…] | admins | all
    #[arg(long)]
    pub scope: String,
    /// owner | manager | EMAIL[,EMAIL…]
    #[arg(long)]
    pub reviewer: String,
    /// Deadline, YYYY-MM-DD.
    #[arg(long)]
    pub due: String,
    /// Start a new campaign every quarter.
    #[arg(long, value_name = "quarterly")]
    pub recur: Option<String>,
    /// Integration to review (default: the only one).
    #[arg(long)]
    pub integration: Option<String>,
    /// Let `remediate` remove revoked access in the source (default: report-only).
    #[arg(long)]
    pub remediation: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct IdArgs {
    pub id: i64,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct QueueArgs {
    #[arg(long)]
    pub reviewer: String,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DecideArgs {
    /// Case id (from the queue).
    pub case: i64,
    /// keep | revoke
    pub decision: String,
    /// Who decides (must be one of the case's reviewers).
    #[arg(long)]
    pub reviewer: String,
    #[arg(long)]
    pub comment: Option<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    pub id: i64,
    /// csv | json | html
    #[arg(long)]
    pub format: String,
    /// Write to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

fn usage(e: ReviewError) -> anyhow::Error {
    match e {
        ReviewError::Store(_) | ReviewError::Connector(_) => anyhow::Error::new(e),
        other => anyhow::Error::new(UsageError(other.to_string())),
    }
}

fn reminder_rows(reminders: &[Reminder]) -> String {
    let rows: Vec<Vec<String>> = reminders
        .iter()
        .map(|r| {
            let delivery = match (&r.delivered_to, &r.error) {
                (_, Some(e)) => format!("failed: {e}"),
                (Some(to), None) => to.clone(),
                (None, None) => "recorded".into(),
            };
            vec![
                r.campaign_id.to_string(),
                r.reviewer.clone(),
                r.kind.clone(),
                r.pending.to_string(),
                r.at.format("%Y-%m-%d %H:%M").to_string(),
                delivery,
            ]
        })
        .collect();
    output::table(
        &["CAMPAIGN", "REVIEWER", "KIND", "PENDING", "AT", "DELIVERY"],
        &rows,
    )
}

fn case_rows(cases: &[Case]) -> String {
    let rows: Vec<Vec<String>> = cases
        .iter()
        .map(|c| {
            vec![
                c.id.to_string(),
                c.account_login.clone(),
                format!("{} {}", c.edge, c.target_label),
                c.via_group_name
                    .clone()
                    .or(c.via_group_id.clone())
                    .map(|g| format!("group {g}"))
                    .unwrap_or_else(|| "direct".into()),
                c.last_used_at
                    .map(|t| t.format("%Y-%m-%d").to_string())
                    .unwrap_or_else(|| "never".into()),
                c.mfa.clone(),
                c.department.clone().unwrap_or_default(),
                c.decision.clone().unwrap_or_else(|| "not decided".into()),
            ]
        })
        .collect();
    output::table(
        &[
            "CASE",
            "ACCOUNT",
            "ACCESS",
            "GRANTED",
            "LAST USED",
            "MFA",
            "DEPARTMENT",
            "DECISION",
        ],
        &rows,
    )
}

pub async fn run(global: &Global, cmd: ReviewCommand) -> anyhow::Result<u8> {
    let store = Paths::resolve(global)?.open_store().await?;
    let clock = SystemClock;
    match cmd {
        ReviewCommand::Create(a) => {
            let integration =
                match a.integration {
                    Some(n) => n,
                    None => {
                        let all = store.integrations().await?;
                        match all.as_slice() {
                            [one] => one.name.clone(),
                            [] => return Err(UsageError(
                                "no integration yet; add one with `steward integration add okta`"
                                    .into(),
                            )
                            .into()),
                            _ => {
                                return Err(UsageError(
                                    "several integrations: name one with --integration".into(),
                                )
                                .into());
                            }
                        }
                    }
                };
            let req = CreateReview {
                name: a.name,
                integration,
                scope: a.scope,
                reviewer: a.reviewer,
                due: a.due,
                recur: a.recur,
                remediation: a.remediation,
            };
            let v = reviews::create(&store, &req, &clock).await.map_err(usage)?;
            if a.json {
                print_json(&v)?;
            } else {
                println!(
                    "Campaign {} \"{}\" started: {} cases, due {}{}.",
                    v.campaign.id,
                    v.campaign.name,
                    v.cases,
                    v.campaign.due_at.format("%Y-%m-%d"),
                    if v.recur.is_some() {
                        ", recurs quarterly"
                    } else {
                        ""
                    }
                );
            }
        }
        ReviewCommand::List(f) => {
            let all = reviews::list(&store, &clock).await.map_err(usage)?;
            if f.json {
                print_json(&all)?;
            } else if all.is_empty() {
                println!("No campaigns yet: start one with `steward review create`.");
            } else {
                let rows: Vec<Vec<String>> = all
                    .iter()
                    .map(|v| {
                        vec![
                            v.campaign.id.to_string(),
                            v.campaign.name.clone(),
                            v.scope.clone(),
                            v.campaign.status.clone(),
                            v.campaign.due_at.format("%Y-%m-%d").to_string(),
                            format!("{}/{}", v.cases - v.not_decided, v.cases),
                            format!("{} kept, {} revoked", v.kept, v.revoked),
                        ]
                    })
                    .collect();
                print!(
                    "{}",
                    output::table(
                        &["ID", "NAME", "SCOPE", "STATUS", "DUE", "DECIDED", "OUTCOME"],
                        &rows
                    )
                );
            }
        }
        ReviewCommand::Show(a) => {
            let (v, cases) = reviews::show(&store, a.id, &clock).await.map_err(usage)?;
            if a.json {
                print_json(&json!({"campaign": v, "cases": cases}))?;
            } else {
                println!(
                    "Campaign {} \"{}\" ({}), scope {}, reviewer {}, due {}: {} kept, {} revoked, {} not decided.",
                    v.campaign.id,
                    v.campaign.name,
                    v.campaign.status,
                    v.scope,
                    v.reviewer,
                    v.campaign.due_at.format("%Y-%m-%d"),
                    v.kept,
                    v.revoked,
                    v.not_decided
                );
                print!("{}", case_rows(&cases));
            }
        }
        ReviewCommand::Queue(a) => {
            let cases = reviews::queue(&store, &a.reviewer).await.map_err(usage)?;
            if a.json {
                print_json(&cases)?;
            } else if cases.is_empty() {
                println!("Nothing to review for {}.", a.reviewer);
            } else {
                print!("{}", case_rows(&cases));
            }
        }
        ReviewCommand::Decide(a) => {
            let c = reviews::decide(
                &store,
                a.case,
                &a.reviewer,
                &a.decision,
                a.comment.as_deref(),
                &clock,
            )
            .await
            .map_err(usage)?;
            if a.json {
                print_json(&c)?;
            } else {
                println!(
                    "Case {} decided: {}.",
                    c.id,
                    c.decision.as_deref().unwrap_or("")
                );
            }
        }
        ReviewCommand::Report(a) => {
            let format =
                ReportFormat::parse(&a.format).map_err(|e| UsageError(format!("--format: {e}")))?;
            let (body, evidence_id) = reviews::report(&store, a.id, format, &clock)
                .await
                .map_err(usage)?;
            match &a.out {
                Some(path) => {
                    std::fs::write(path, body)
                        .with_context(|| format!("writing the report to {}", path.display()))?;
                    eprintln!(
                        "Wrote the report to {} (evidence item {evidence_id}).",
                        path.display()
                    );
                }
                None => print!("{body}"),
            }
        }
        ReviewCommand::Remediate(a) => {
            let (v, _) = reviews::show(&store, a.id, &clock).await.map_err(usage)?;
            let integration = store
                .integration(v.campaign.integration_id)
                .await?
                .context("the campaign's integration was removed")?;
            let connector = if v.campaign.remediation {
                Some(integrations::connector(&store, &integration).await?)
            } else {
                None
            };
            let done = reviews::remediate(&store, a.id, connector.as_deref(), &clock)
                .await
                .map_err(usage)?;
            if a.json {
                print_json(&done)?;
            } else if done.is_empty() {
                println!("No revoke decisions left to remediate.");
            } else {
                let rows: Vec<Vec<String>> = done
                    .iter()
                    .map(|r| {
                        vec![
                            r.case.to_string(),
                            r.account.clone(),
                            r.target.clone(),
                            r.status.clone(),
                            r.detail.to_string(),
                        ]
                    })
                    .collect();
                print!(
                    "{}",
                    output::table(&["CASE", "ACCOUNT", "ACCESS", "STATUS", "DETAIL"], &rows)
                );
            }
        }
        ReviewCommand::StartDue(f) => {
            let started = reviews::start_due(&store, &clock).await.map_err(usage)?;
            if f.json {
                print_json(&started)?;
            } else {
                println!("{} campaign(s) started.", started.len());
            }
        }
        ReviewCommand::Remind(f) => {
            let sink = ConfiguredSink::from_env();
            if let ConfiguredSink::Invalid(reason) = &sink {
                return Err(UsageError(reason.clone()).into());
            }
            let sent = reminders::send_due(&store, &clock, &sink).await?;
            if f.json {
                print_json(&sent)?;
            } else if sent.is_empty() {
                println!("No reminders due now.");
            } else {
                print!("{}", reminder_rows(&sent));
            }
        }
        ReviewCommand::Reminders(a) => {
            if let Some(id) = a.campaign
                && store.campaign(id).await?.is_none()
            {
                return Err(usage(ReviewError::NoCampaign(id)));
            }
            let log = reminders::log(&store, a.campaign).await?;
            if a.json {
                print_json(&log)?;
            } else if log.is_empty() {
                println!("No reminders sent yet.");
            } else {
                print!("{}", reminder_rows(&log));
            }
        }
    }
    Ok(exit::OK)
}
