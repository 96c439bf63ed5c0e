//! `steward status`: every integration, its connection state and its current snapshot.

use serde_json::json;

use super::integration::integration_json;
use crate::cli::{Global, JsonFlag};
use crate::context::Paths;
use crate::exit;
use crate::output::{self, print_json};

pub async fn run(global: &Global, flag: JsonFlag) -> anyhow::Result<u8> {
    let paths = Paths::resolve(global)?;
    let store = paths.open_store().await?;
    let all = store.integrations().await?;
    let mut entries = Vec::new();
    for i in &all {
        let resources = store.resource_status(i.id).await?;
        entries.push((i, resources));
    }
    if flag.json {
        print_json(&json!({
            "database": store.backend(),
            "integrations": entries.iter().map(|(i, res)| json!({
                "integration": integration_json(i),
                "snapshot": res.iter().map(|r| json!({
                    "resource": r.resource, "readable": r.readable, "count": r.count, "reason": r.reason,
                })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        }))?;
        return Ok(exit::OK);
    }
    println!(
        "Database: {} ({})",
        store.backend(),
        crate::context::redact_url(&paths.database_url)
    );
    if all.is_empty() {
        println!(
            "No integrations yet. Add one with `steward integration add okta`, or try `steward demo`."
        );
    }
    for (i, resources) in entries {
        println!(
            "\n{} ({}) {} — last sync: {}",
            i.name,
            i.kind.as_str(),
            i.base_url,
            match (&i.last_sync_status, &i.last_sync_at) {
                (Some(s), Some(at)) => format!("{s} at {}", at.format("%Y-%m-%d %H:%M UTC")),
                _ => "never".to_string(),
            }
        );
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
        if !rows.is_empty() {
            print!("{}", output::table(&["RESOURCE", "COUNT", ""], &rows));
        }
    }
    Ok(exit::OK)
}
