//! `steward inventory list|show|accept|ignore|triage|changes`: the data inventory's staging
//! area. Ids are `INV-<n>` (a bare `<n>` works too). Every bad input (malformed email,
//! unknown id, conflicting flags) exits 2 before anything changes.

use clap::{Args, Subcommand, ValueEnum};
use serde_json::json;
use steward_products::SystemClock;
use steward_products::integrations;
use steward_products::inventory::{self, InventoryError, TriageOutcome, TriageRequest};
use steward_store::{InventoryFilter, InventoryItem, Store, Triage};

use super::UsageError;
use crate::cli::Global;
use crate::context::Paths;
use crate::exit;
use crate::output::{self, print_json};

#[derive(Debug, Subcommand)]
pub enum InventoryCommand {
    /// List inventory items (the staging area and the decided ones).
    List(ListArgs),
    /// Show one item with every fact and decision.
    Show(ShowArgs),
    /// Accept items into the data inventory, with owner, purpose and data categories.
    Accept(AcceptArgs),
    /// Ignore items (not a data repository, or out of scope), with a reason.
    Ignore(IgnoreArgs),
    /// Accept some items and ignore others in one all-or-nothing call.
    Triage(TriageArgs),
    /// What the latest sync changed: apps added, removed, reappeared or changed.
    Changes(ChangesArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum StatusArg {
    Staged,
    Accepted,
    Ignored,
}

impl From<StatusArg> for Triage {
    fn from(s: StatusArg) -> Triage {
        match s {
            StatusArg::Staged => Triage::Staged,
            StatusArg::Accepted => Triage::Accepted,
            StatusArg::Ignored => Triage::Ignored,
        }
    }
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only items in this triage status.
    #[arg(long, value_enum)]
    pub status: Option<StatusArg>,
    /// Only items of this integration.
    #[arg(long)]
    pub integration: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// Print CSV (RFC 4180 quoting) instead of a table.
    #[arg(long)]
    pub csv: bool,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Item id (INV-12 or 12).
    pub id: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct AcceptArgs {
    /// Item ids (INV-12 or 12).
    #[arg(required_unless_present = "all_staged", conflicts_with = "all_staged")]
    pub ids: Vec<String>,
    /// Accept every staged item (of --integration, if given).
    #[arg(long)]
    pub all_staged: bool,
    /// With --all-staged: only this integration's items.
    #[arg(long, requires = "all_staged")]
    pub integration: Option<String>,
    /// Who answers for the data in this app (an email address).
    #[arg(long)]
    pub owner: Option<String>,
    /// What the app is used for.
    #[arg(long)]
    pub purpose: Option<String>,
    /// A category of personal data it holds (repeat for several).
    #[arg(long = "data-category", value_name = "CAT")]
    pub data_categories: Vec<String>,
    /// Print the accepted items as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct IgnoreArgs {
    /// Item ids (INV-12 or 12).
    #[arg(required_unless_present = "all_staged", conflicts_with = "all_staged")]
    pub ids: Vec<String>,
    /// Ignore every staged item (of --integration, if given).
    #[arg(long)]
    pub all_staged: bool,
    /// With --all-staged: only this integration's items.
    #[arg(long, requires = "all_staged")]
    pub integration: Option<String>,
    /// Why (kept with the decision).
    #[arg(long, required = true)]
    pub reason: String,
    /// Print the ignored items as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct TriageArgs {
    /// Items to accept.
    #[arg(long, value_name = "ID", num_args = 1..)]
    pub accept: Vec<String>,
    /// Items to ignore (needs --reason).
    #[arg(long, value_name = "ID", num_args = 1..)]
    pub ignore: Vec<String>,
    /// Owner of the accepted items (an email address).
    #[arg(long)]
    pub owner: Option<String>,
    /// Purpose of the accepted items.
    #[arg(long)]
    pub purpose: Option<String>,
    /// Data category of the accepted items (repeat for several).
    #[arg(long = "data-category", value_name = "CAT")]
    pub data_categories: Vec<String>,
    /// Why the ignored items are ignored.
    #[arg(long)]
    pub reason: Option<String>,
    /// Print the decided items as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ChangesArgs {
    /// Only this integration (default: every integration).
    #[arg(long)]
    pub integration: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Bad input becomes a `UsageError` (exit 2); everything else stays a failure (exit 1).
fn usage(e: InventoryError) -> anyhow::Error {
    if e.is_bad_input() {
        UsageError(e.to_string()).into()
    } else {
        e.into()
    }
}

fn parse_ids(ids: &[String]) -> anyhow::Result<Vec<i64>> {
    ids.iter()
        .map(|s| inventory::parse_id(s).map_err(usage))
        .collect()
}

async fn integration_id(store: &Store, name: Option<&str>) -> anyhow::Result<Option<i64>> {
    match name {
        Some(n) => Ok(Some(integrations::by_name(store, n).await?.id)),
        None => Ok(None),
    }
}

pub async fn run(global: &Global, cmd: InventoryCommand) -> anyhow::Result<u8> {
    let store = Paths::resolve(global)?.open_store().await?;
    match cmd {
        InventoryCommand::List(args) => {
            let filter = InventoryFilter {
                integration_id: integration_id(&store, args.integration.as_deref()).await?,
                triage: args.status.map(Triage::from),
            };
            let items = inventory::list(&store, &filter).await.map_err(usage)?;
            if args.json {
                print_json(&items.iter().map(item_json).collect::<Vec<_>>())?;
            } else if args.csv {
                print!("{}", csv(&items));
            } else if items.is_empty() {
                println!(
                    "No inventory items. They appear after `steward sync` (or change --status)."
                );
            } else {
                print!("{}", table(&items));
            }
            Ok(exit::OK)
        }
        InventoryCommand::Show(args) => {
            let item = inventory::show(&store, &args.id).await.map_err(usage)?;
            if args.json {
                print_json(&item_json(&item))?;
            } else {
                print!("{}", details(&item));
            }
            Ok(exit::OK)
        }
        InventoryCommand::Accept(args) => {
            let accept = if args.all_staged {
                let id = integration_id(&store, args.integration.as_deref()).await?;
                inventory::staged_ids(&store, id).await.map_err(usage)?
            } else {
                parse_ids(&args.ids)?
            };
            let request = TriageRequest {
                accept,
                owner: args.owner,
                purpose: args.purpose,
                data_categories: args.data_categories,
                ..TriageRequest::default()
            };
            decide(&store, &request, args.all_staged, args.json).await
        }
        InventoryCommand::Ignore(args) => {
            let ignore = if args.all_staged {
                let id = integration_id(&store, args.integration.as_deref()).await?;
                inventory::staged_ids(&store, id).await.map_err(usage)?
            } else {
                parse_ids(&args.ids)?
            };
            let request = TriageRequest {
                ignore,
                reason: Some(args.reason),
                ..TriageRequest::default()
            };
            decide(&store, &request, args.all_staged, args.json).await
        }
        InventoryCommand::Triage(args) => {
            let request = TriageRequest {
                accept: parse_ids(&args.accept)?,
                ignore: parse_ids(&args.ignore)?,
                owner: args.owner,
                purpose: args.purpose,
                data_categories: args.data_categories,
                reason: args.reason,
            };
            decide(&store, &request, false, args.json).await
        }
        InventoryCommand::Changes(args) => {
            let targets = match args.integration.as_deref() {
                Some(n) => vec![integrations::by_name(&store, n).await?],
                None => store.integrations().await?,
            };
            let mut all = Vec::new();
            for integration in &targets {
                let changes = inventory::changes(&store, integration.id)
                    .await
                    .map_err(usage)?;
                all.push((integration, changes));
            }
            if args.json {
                let out: Vec<_> = all
                    .iter()
                    .map(|(i, c)| match c {
                        Some((sync, changes)) => json!({
                            "integration": i.name, "sync": sync, "changes": changes,
                        }),
                        None => json!({"integration": i.name, "sync": null, "changes": []}),
                    })
                    .collect();
                print_json(&out)?;
            } else {
                for (i, c) in &all {
                    print!("{}", changes_text(&i.name, c.as_ref()));
                }
                if all.is_empty() {
                    println!("No integrations yet.");
                }
            }
            Ok(exit::OK)
        }
    }
}

async fn decide(
    store: &Store,
    request: &TriageRequest,
    all_staged: bool,
    json_out: bool,
) -> anyhow::Result<u8> {
    if all_staged && request.accept.is_empty() && request.ignore.is_empty() {
        if json_out {
            print_json(&json!({"accepted": [], "ignored": []}))?;
        } else {
            println!("No staged items; nothing changed.");
        }
        return Ok(exit::OK);
    }
    let outcome: TriageOutcome = inventory::triage(store, request, &SystemClock)
        .await
        .map_err(usage)?;
    if json_out {
        print_json(&json!({
            "accepted": outcome.accepted.iter().map(item_json).collect::<Vec<_>>(),
            "ignored": outcome.ignored.iter().map(item_json).collect::<Vec<_>>(),
        }))?;
    } else {
        for item in &outcome.accepted {
            println!("Accepted {} ({}).", item.display_id(), item.facts.label);
        }
        for item in &outcome.ignored {
            println!("Ignored {} ({}).", item.display_id(), item.facts.label);
        }
    }
    Ok(exit::OK)
}

/// An item as JSON: the store's fields plus the typed id and the removal flag.
fn item_json(item: &InventoryItem) -> serde_json::Value {
    let mut v = serde_json::to_value(item).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        o.insert("display_id".into(), json!(item.display_id()));
        o.insert("removed".into(), json!(item.removed_run.is_some()));
    }
    v
}

fn flags(item: &InventoryItem) -> String {
    let mut f = Vec::new();
    if let Some(run) = item.removed_run {
        f.push(format!("gone from Okta since sync run {run}"));
    }
    if item.facts.admins.is_none() {
        f.push("admins unknown".to_string());
    }
    f.join("; ")
}

fn date(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| "never".into())
}

fn table(items: &[InventoryItem]) -> String {
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|i| {
            vec![
                i.display_id(),
                i.facts.label.clone(),
                i.facts.sign_on_mode.clone().unwrap_or_default(),
                i.facts.okta_status.clone(),
                i.facts.assigned_users.to_string(),
                i.facts.assigned_groups.to_string(),
                date(i.facts.last_sso_at),
                i.triage.as_str().to_string(),
                flags(i),
            ]
        })
        .collect();
    output::table(
        &[
            "ID", "NAME", "MODE", "STATUS", "USERS", "GROUPS", "LAST SSO", "TRIAGE", "FLAGS",
        ],
        &rows,
    )
}

/// One CSV field, quoted when it holds a comma, quote, or line break (RFC 4180).
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn csv(items: &[InventoryItem]) -> String {
    let mut out = String::from(
        "id,app_id,name,label,sign_on_mode,okta_status,created,assigned_users,assigned_groups,\
         departments,last_sso_at,admins,triage,owner,purpose,data_categories,ignore_reason,removed_run\r\n",
    );
    for i in items {
        let f = &i.facts;
        let cells = [
            i.display_id(),
            f.app_id.clone(),
            f.name.clone(),
            f.label.clone(),
            f.sign_on_mode.clone().unwrap_or_default(),
            f.okta_status.clone(),
            f.created.map(|t| t.to_rfc3339()).unwrap_or_default(),
            f.assigned_users.to_string(),
            f.assigned_groups.to_string(),
            f.departments.join("; "),
            f.last_sso_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
            f.admins
                .as_ref()
                .map(|a| a.join("; "))
                .unwrap_or_else(|| "unknown".into()),
            i.triage.as_str().to_string(),
            i.owner.clone().unwrap_or_default(),
            i.purpose.clone().unwrap_or_default(),
            i.data_categories.join("; "),
            i.ignore_reason.clone().unwrap_or_default(),
            i.removed_run.map(|r| r.to_string()).unwrap_or_default(),
        ];
        let line: Vec<String> = cells.iter().map(|c| csv_field(c)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

fn details(i: &InventoryItem) -> String {
    let f = &i.facts;
    let ts =
        |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let none = || "-".to_string();
    let admins = match &f.admins {
        Some(a) if a.is_empty() => "none found".to_string(),
        Some(a) => a.join(", "),
        None => "unknown (admin role assignments were not readable)".to_string(),
    };
    let removed = match i.removed_run {
        Some(run) => format!("yes: gone from Okta since sync run {run}"),
        None => "no".to_string(),
    };
    let lines = [
        ("ID", i.display_id()),
        ("Okta app id", f.app_id.clone()),
        ("Name", f.name.clone()),
        ("Label", f.label.clone()),
        ("Sign-on mode", f.sign_on_mode.clone().unwrap_or_else(none)),
        ("Okta status", f.okta_status.clone()),
        ("Created", f.created.map(ts).unwrap_or_else(none)),
        ("Assigned users", f.assigned_users.to_string()),
        ("Assigned groups", f.assigned_groups.to_string()),
        (
            "Departments",
            if f.departments.is_empty() {
                none()
            } else {
                f.departments.join(", ")
            },
        ),
        (
            "Last SSO",
            f.last_sso_at
                .map(ts)
                .unwrap_or_else(|| "never (in the System Log window)".into()),
        ),
        ("Admins", admins),
        ("Triage", i.triage.as_str().to_string()),
        ("Owner", i.owner.clone().unwrap_or_else(none)),
        ("Purpose", i.purpose.clone().unwrap_or_else(none)),
        (
            "Data categories",
            if i.data_categories.is_empty() {
                none()
            } else {
                i.data_categories.join(", ")
            },
        ),
        (
            "Ignore reason",
            i.ignore_reason.clone().unwrap_or_else(none),
        ),
        ("Decided at", i.decided_at.map(ts).unwrap_or_else(none)),
        ("First seen", format!("sync run {}", i.first_seen_run)),
        ("Last seen", format!("sync run {}", i.last_seen_run)),
        ("Removed", removed),
    ];
    lines
        .iter()
        .map(|(k, v)| format!("{k:<16} {v}\n"))
        .collect()
}

fn changes_text(
    name: &str,
    changes: Option<&(
        steward_store::InventorySync,
        Vec<steward_store::InventoryChange>,
    )>,
) -> String {
    let Some((sync, list)) = changes else {
        return format!("{name}: no sync has updated the inventory yet.\n");
    };
    let mut out = format!(
        "{name}: sync run {} ({}): {} added, {} removed, {} reappeared, {} changed\n",
        sync.run_id,
        sync.at.format("%Y-%m-%d %H:%M UTC"),
        sync.added,
        sync.removed,
        sync.reappeared,
        sync.changed
    );
    for c in list {
        let fields = c
            .fields
            .as_object()
            .map(|o| {
                o.iter()
                    .map(|(k, v)| format!("{k}: {} → {}", v["from"], v["to"]))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        let sep = if fields.is_empty() { "" } else { " — " };
        out.push_str(&format!(
            "  {:<10} INV-{} {}{sep}{fields}\n",
            c.change, c.item_id, c.label
        ));
    }
    out
}
