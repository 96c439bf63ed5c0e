//! The evidence register: items with their mapped controls (ISO 27001:2022, SOC 2), the hash
//! chain's verify status, item detail, and export links.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use serde_json::Value;
use steward_products::evidence;
use steward_store::EvidenceItem;

use super::{Layout, UiError, UiUser, render};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/evidence", get(list))
        .route("/evidence/{id}", get(detail))
}

struct ItemRow {
    id: String,
    kind: String,
    integration: String,
    collected_at: String,
    controls: Vec<String>,
    status: String,
    reason: String,
    verified: bool,
}

/// `ISO 27001:2022 A.5.17 Authentication information`, one line per mapped control.
fn controls(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|c| {
                    let s = |k: &str| {
                        c.get(k)
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string()
                    };
                    format!("{} {} {}", s("framework"), s("control"), s("title"))
                        .trim()
                        .to_string()
                })
                .collect()
        })
        .unwrap_or_default()
}

fn row(i: &EvidenceItem, verified: bool) -> ItemRow {
    ItemRow {
        id: i.id.clone(),
        kind: i.kind.clone(),
        integration: i.integration_name.clone(),
        collected_at: i.collected_at.clone(),
        controls: controls(&i.controls),
        status: i.status.clone(),
        reason: i.reason.clone().unwrap_or_default(),
        verified,
    }
}

#[derive(Template)]
#[template(path = "evidence.html")]
struct ListPage {
    layout: Layout,
    rows: Vec<ItemRow>,
    intact: bool,
    items: u64,
    redacted: u64,
    broken: Option<String>,
}

async fn list(State(state): State<AppState>, UiUser(authed): UiUser) -> Result<Response, UiError> {
    let items = evidence::list(&state.store).await?;
    let v = evidence::verify(&state.store).await?;
    // Items before the break are still proven by the chain; the break and after are not.
    let first_bad = v.broken.as_ref().map(|b| b.seq);
    let rows = items
        .iter()
        .map(|i| row(i, first_bad.is_none_or(|seq| i.seq < seq)))
        .collect();
    let broken = v.broken.as_ref().map(|b| {
        format!(
            "{:?} at {}: {}",
            b.kind,
            b.item.clone().unwrap_or_else(|| format!("seq {}", b.seq)),
            b.detail
        )
        .to_lowercase()
    });
    render(&ListPage {
        layout: Layout::new(&authed, "Evidence register", "evidence"),
        rows,
        intact: v.intact,
        items: v.items,
        redacted: v.redacted_entries,
        broken,
    })
}

#[derive(Template)]
#[template(path = "evidence_item.html")]
struct ItemPage {
    layout: Layout,
    item: ItemRow,
    run_id: i64,
    summary: String,
    sources: String,
    prev_hash: String,
    hash: String,
}

async fn detail(
    State(state): State<AppState>,
    UiUser(authed): UiUser,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    let item = evidence::show(&state.store, &id).await?;
    let v = evidence::verify(&state.store).await?;
    let verified = v.broken.as_ref().is_none_or(|b| item.seq < b.seq);
    render(&ItemPage {
        layout: Layout::new(&authed, item.id.clone(), "evidence"),
        run_id: item.run_id,
        summary: serde_json::to_string_pretty(&item.summary).unwrap_or_default(),
        sources: serde_json::to_string_pretty(&item.sources).unwrap_or_default(),
        prev_hash: item.prev_hash.clone(),
        hash: item.hash.clone(),
        item: row(&item, verified),
    })
}
