//! `steward evidence list|show|verify|export`: the hash-chained evidence register.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Subcommand, ValueEnum};
use serde_json::{Value, json};
use steward_products::evidence::{self, EvidenceError, Verification};
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
            let items = evidence::list(&store).await?;
            let v = evidence::verify(&store).await?;
            let body = match args.format {
                ExportFormat::Json => {
                    serde_json::to_string_pretty(&json!({"verification": v, "items": items}))?
                        + "\n"
                }
                ExportFormat::Csv => to_csv(&items),
                ExportFormat::Html => to_html(&items, &v),
            };
            match &args.out {
                Some(path) => {
                    std::fs::write(path, body)
                        .with_context(|| format!("writing the export to {}", path.display()))?;
                    eprintln!(
                        "Wrote {} evidence items to {}.",
                        items.len(),
                        path.display()
                    );
                }
                None => print!("{body}"),
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

fn num(v: &Value) -> String {
    match v {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => "?".into(),
    }
}

/// One line saying what the item found.
fn headline(i: &EvidenceItem) -> String {
    let s = &i.summary;
    if i.status == evidence::NOT_EVIDENCED {
        return format!(
            "not evidenced: {}",
            i.reason.as_deref().unwrap_or("no reason recorded")
        );
    }
    let mut line = match i.kind.as_str() {
        evidence::KIND_MFA => format!(
            "{} MFA enrolment policies, {} sign-on/access policies, {} of {} active rules require MFA",
            num(&s["mfa_enrollment_policies"]["count"]),
            num(&s["sign_on_policies"]["count"]),
            num(&s["rules_requiring_mfa"]),
            num(&s["active_rules"]),
        ),
        evidence::KIND_ADMIN => format!(
            "{} admins ({} direct and {} group role assignments), {} without MFA",
            num(&s["admin_count"]),
            num(&s["direct_assignments"]),
            num(&s["group_assignments"]),
            num(&s["admins_without_mfa"]),
        ),
        _ => String::new(),
    };
    if let Some(reason) = &i.reason {
        let _ = write!(line, "; not evidenced: {reason}");
    }
    line
}

fn controls_text(i: &EvidenceItem) -> String {
    i.controls
        .as_array()
        .map(|cs| {
            cs.iter()
                .map(|c| format!("{} {}", num(&c["framework"]), num(&c["control"])))
                .collect::<Vec<_>>()
                .join("; ")
        })
        .unwrap_or_default()
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
                            .unwrap_or(if a.get(steward_store::REDACTED_KEY).is_some() { "[erased]" } else { "?" })
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

fn mfa_text(v: &Value) -> String {
    match v {
        Value::Bool(true) => "enrolled".into(),
        Value::Bool(false) => "none".into(),
        other => num(other),
    }
}

fn roles_text(v: &Value) -> String {
    v.as_array()
        .into_iter()
        .flatten()
        .map(
            |r| match r["group_name"].as_str().or(r["group_id"].as_str()) {
                Some(g) => format!("{} (via {g})", num(&r["role_type"])),
                None => num(&r["role_type"]),
            },
        )
        .collect::<Vec<_>>()
        .join(", ")
}

fn verify_text(v: &Verification) -> String {
    match &v.broken {
        None => format!(
            "Evidence register intact: {} items, chain head at position {} ({}){}.",
            v.items,
            v.head_seq,
            v.head_hash,
            if v.redacted_entries > 0 {
                format!("; {} entries redacted after erasures, each recorded", v.redacted_entries)
            } else {
                String::new()
            }
        ),
        Some(b) => format!(
            "Evidence register BROKEN at {} ({}): {}",
            b.item
                .clone()
                .unwrap_or_else(|| format!("position {}", b.seq)),
            serde_json::to_value(b.kind)
                .ok()
                .as_ref()
                .map(num)
                .unwrap_or_default(),
            b.detail
        ),
    }
}

/// One CSV field: quoted when needed, and a leading `= + - @` defused so spreadsheets do
/// not run it as a formula.
fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

fn to_csv(items: &[EvidenceItem]) -> String {
    let mut out = String::from(
        "id,seq,kind,integration,integration_id,run_id,collected_at,status,reason,controls,summary,prev_hash,hash\n",
    );
    for i in items {
        let fields = [
            i.id.clone(),
            i.seq.to_string(),
            i.kind.clone(),
            i.integration_name.clone(),
            i.integration_id.to_string(),
            i.run_id.to_string(),
            i.collected_at.clone(),
            i.status.clone(),
            i.reason.clone().unwrap_or_default(),
            controls_text(i),
            headline(i),
            i.prev_hash.clone(),
            i.hash.clone(),
        ];
        out.push_str(
            &fields
                .iter()
                .map(|f| csv_field(f))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push('\n');
    }
    out
}

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn html_table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = String::from("<table><thead><tr>");
    for h in headers {
        let _ = write!(out, "<th>{}</th>", esc(h));
    }
    out.push_str("</tr></thead><tbody>");
    for row in rows {
        out.push_str("<tr>");
        for c in row {
            let _ = write!(out, "<td>{}</td>", esc(c));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
    out
}

fn to_html(items: &[EvidenceItem], v: &Verification) -> String {
    let mut out = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Steward evidence register</title>\
         <style>body{font-family:sans-serif;margin:2em;max-width:80em}table{border-collapse:collapse;margin:.5em 0}\
         td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left;vertical-align:top}\
         .evidenced{color:#060}.partially_evidenced{color:#a60}.not_evidenced{color:#b00}\
         pre{background:#f6f6f6;padding:.5em;overflow:auto;max-height:30em}section{border-top:2px solid #333;margin-top:2em}</style>\
         </head><body>\n<h1>Steward evidence register</h1>\n",
    );
    let _ = writeln!(
        out,
        "<p><strong>Chain verification:</strong> {}</p>",
        esc(&verify_text(v))
    );
    let index: Vec<Vec<String>> = items
        .iter()
        .map(|i| {
            vec![
                i.id.clone(),
                i.kind.clone(),
                i.integration_name.clone(),
                i.collected_at.clone(),
                i.status.clone(),
                headline(i),
            ]
        })
        .collect();
    out.push_str(&html_table(
        &[
            "ID",
            "Kind",
            "Integration",
            "Collected",
            "Status",
            "Summary",
        ],
        &index,
    ));
    for i in items {
        let _ = write!(
            out,
            "\n<section id=\"{id}\"><h2>{id}: {kind}</h2><p>Integration {name} (id {iid}), sync run {run}, collected {at}.</p>\
             <p>Status: <strong class=\"{status}\">{status}</strong></p>",
            id = esc(&i.id),
            kind = esc(&i.kind),
            name = esc(&i.integration_name),
            iid = i.integration_id,
            run = i.run_id,
            at = esc(&i.collected_at),
            status = esc(&i.status),
        );
        if let Some(reason) = &i.reason {
            let _ = write!(
                out,
                "<p><strong>Not evidenced:</strong> {}</p>",
                esc(reason)
            );
        }
        let controls: Vec<Vec<String>> = i
            .controls
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| vec![num(&c["framework"]), num(&c["control"]), num(&c["title"])])
            .collect();
        out.push_str(&html_table(&["Framework", "Control", "Title"], &controls));
        let _ = write!(out, "<p>{}</p>", esc(&headline(i)));
        if i.kind == evidence::KIND_ADMIN {
            let rows: Vec<Vec<String>> = i.summary["admins"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|a| {
                    vec![
                        num(&a["user_id"]),
                        a["login"].as_str().unwrap_or("").to_string(),
                        num(&a["status"]),
                        a["last_login"].as_str().unwrap_or("never").to_string(),
                        mfa_text(&a["mfa_enrolled"]),
                        roles_text(&a["roles"]),
                    ]
                })
                .collect();
            if !rows.is_empty() {
                out.push_str(&html_table(
                    &["User id", "Login", "Status", "Last login", "MFA", "Roles"],
                    &rows,
                ));
            }
        }
        let pretty = |v: &Value| serde_json::to_string_pretty(v).unwrap_or_default();
        let _ = write!(
            out,
            "<details><summary>Summary (JSON)</summary><pre>{}</pre></details>\
             <details><summary>Raw source records</summary><pre>{}</pre></details>\
             <p><small>prev_hash {} · hash {}</small></p></section>",
            esc(&pretty(&i.summary)),
            esc(&pretty(&i.sources)),
            esc(&i.prev_hash),
            esc(&i.hash),
        );
    }
    out.push_str("\n</body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_and_csv_escape_values() {
        assert_eq!(
            esc("<script>\"x\"&'"),
            "&lt;script&gt;&quot;x&quot;&amp;&#39;"
        );
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("=cmd()"), "'=cmd()");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
