//! The Data Inventory: the Staging Area (new items), All items with filters and search, single
//! and bulk accept/ignore, "changes since last sync", and the item detail page.

use askama::Template;
use axum::Router;
use axum::extract::{OriginalUri, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use steward_products::inventory::{self, TriageRequest};
use steward_store::{InventoryFilter, InventoryItem, Triage};

use super::{
    Layout, PAGE_SIZE, UiError, UiForm, UiUser, enc, parse_page, query_pairs, render,
    render_status, when, when_opt,
};
use crate::AppState;
use crate::error::ApiError;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/inventory", get(list))
        .route("/inventory/triage", post(triage))
        .route("/inventory/{id}", get(detail))
}

struct ItemRow {
    id: i64,
    display_id: String,
    label: String,
    name: String,
    status: String,
    okta_status: String,
    users: u64,
    groups: u64,
    last_sso: String,
    removed: bool,
}

struct ChangeRow {
    integration: String,
    item_id: i64,
    label: String,
    change: String,
    fields: String,
}

#[derive(Template)]
#[template(path = "inventory.html")]
struct InventoryPage {
    layout: Layout,
    tab: String,
    status: String,
    q: String,
    page: u64,
    total: usize,
    pages: u64,
    rows: Vec<ItemRow>,
    changes: Vec<ChangeRow>,
    summaries: Vec<String>,
    error: Option<String>,
    notice: Option<String>,
    /// The query of this view (tab, status, q, page), to come back after a triage.
    back: String,
    prev_link: Option<String>,
    next_link: Option<String>,
}

/// The filters of an inventory view.
struct View {
    tab: String,
    status: String,
    q: String,
    page: u64,
}

impl View {
    fn from_pairs(pairs: &[(String, String)]) -> Result<View, UiError> {
        let get = |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.trim().to_string())
        };
        let tab = match get("tab").as_deref() {
            None | Some("") | Some("staging") => "staging".to_string(),
            Some("all") => "all".to_string(),
            Some(other) => {
                return Err(UiError::bad_request(format!(
                    "tab: {other:?} is not a tab; use staging or all"
                )));
            }
        };
        let status = get("status").unwrap_or_default();
        if !status.is_empty() && Triage::parse(&status).is_none() {
            return Err(UiError::bad_request(format!(
                "status: {status:?} is not a status; use staged, accepted or ignored"
            )));
        }
        if get("q").is_some_and(|q| q.len() > 200) {
            return Err(UiError::bad_request(
                "q: the search text is longer than 200 characters",
            ));
        }
        Ok(View {
            tab,
            status,
            q: get("q").unwrap_or_default(),
            page: parse_page(get("page").as_deref())?,
        })
    }

    fn query(&self, page: u64) -> String {
        format!(
            "tab={}&status={}&q={}&page={page}",
            self.tab,
            enc(&self.status),
            enc(&self.q)
        )
    }
}

fn item_row(i: &InventoryItem) -> ItemRow {
    ItemRow {
        id: i.id,
        display_id: i.display_id(),
        label: i.facts.label.clone(),
        name: i.facts.name.clone(),
        status: i.triage.as_str().to_string(),
        okta_status: i.facts.okta_status.clone(),
        users: i.facts.assigned_users,
        groups: i.facts.assigned_groups,
        last_sso: when_opt(i.facts.last_sso_at.as_ref()),
        removed: i.removed_at.is_some(),
    }
}

async fn render_list(
    state: &AppState,
    authed: &crate::auth::Authed,
    view: View,
    error: Option<String>,
    notice: Option<String>,
) -> Result<Response, UiError> {
    let triage = if view.tab == "staging" {
        Some(Triage::Staged)
    } else {
        Triage::parse(&view.status)
    };
    // Filtered, counted and paged in SQL (as the API does): a page reads PAGE_SIZE items,
    // never the whole inventory.
    let filter = InventoryFilter {
        integration_id: None,
        triage,
    };
    let q = Some(view.q.as_str()).filter(|q| !q.trim().is_empty());
    let (items, total) = state
        .store
        .inventory_page(
            &filter,
            q,
            PAGE_SIZE,
            (view.page - 1).saturating_mul(PAGE_SIZE),
        )
        .await?;
    let total = usize::try_from(total).unwrap_or(usize::MAX);
    let pages = (total as u64).div_ceil(PAGE_SIZE).max(1);
    let rows = items.iter().map(item_row).collect();
    let mut changes = Vec::new();
    let mut summaries = Vec::new();
    for integration in state.store.integrations().await? {
        // Only the head of the change list is shown, so only the head is read.
        if let Some((sync, list)) = state
            .store
            .inventory_changes_head(integration.id, 100)
            .await?
        {
            summaries.push(format!(
                "{}: sync of {} — {} added, {} removed, {} reappeared, {} changed",
                integration.name,
                when(&sync.at),
                sync.added,
                sync.removed,
                sync.reappeared,
                sync.changed
            ));
            for c in list {
                let fields = c
                    .fields
                    .as_object()
                    .map(|o| o.keys().cloned().collect::<Vec<_>>().join(", "))
                    .unwrap_or_default();
                changes.push(ChangeRow {
                    integration: integration.name.clone(),
                    item_id: c.item_id,
                    label: c.label,
                    change: c.change,
                    fields,
                });
            }
        }
    }
    let prev_link = (view.page > 1).then(|| format!("/inventory?{}", view.query(view.page - 1)));
    let next_link =
        (view.page < pages).then(|| format!("/inventory?{}", view.query(view.page + 1)));
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let page = InventoryPage {
        layout: Layout::new(authed, "Data Inventory", "inventory"),
        back: view.query(view.page),
        tab: view.tab,
        status: view.status,
        q: view.q,
        page: view.page,
        total,
        pages,
        rows,
        changes,
        summaries,
        error,
        notice,
        prev_link,
        next_link,
    };
    render_status(status, &page)
}

async fn list(
    State(state): State<AppState>,
    UiUser(authed): UiUser,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, UiError> {
    let pairs = query_pairs(&uri);
    let view = View::from_pairs(&pairs)?;
    let notice = pairs
        .iter()
        .find(|(k, _)| k == "notice")
        .map(|(_, v)| v.clone());
    render_list(&state, &authed, view, None, notice).await
}

/// Accept or ignore: one item (`accept_one` / `ignore_one` buttons) or the checked ones.
async fn triage(State(state): State<AppState>, form: UiForm) -> Result<Response, UiError> {
    form.admin()?;
    let back: Vec<(String, String)> = url::form_urlencoded::parse(form.text("back").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let view = View::from_pairs(&back).unwrap_or(View {
        tab: "staging".into(),
        status: String::new(),
        q: String::new(),
        page: 1,
    });
    let parse_ids = |values: Vec<String>| -> Result<Vec<i64>, String> {
        values
            .iter()
            .map(|v| inventory::parse_id(v).map_err(|e| format!("ids: {e}")))
            .collect()
    };
    let (action, ids) = if let Some(one) = form.get("accept_one") {
        ("accept", parse_ids(vec![one.to_string()]))
    } else if let Some(one) = form.get("ignore_one") {
        ("ignore", parse_ids(vec![one.to_string()]))
    } else {
        match form.get("action") {
            Some("accept") => ("accept", parse_ids(form.all("ids"))),
            Some("ignore") => ("ignore", parse_ids(form.all("ids"))),
            other => {
                let e = format!(
                    "action: {:?} is not an action; use Accept or Ignore",
                    other.unwrap_or_default()
                );
                return render_list(&state, &form.authed, view, Some(e), None).await;
            }
        }
    };
    let ids = match ids {
        Ok(ids) if ids.is_empty() => {
            let e = "ids: no item selected; tick the items to accept or ignore".to_string();
            return render_list(&state, &form.authed, view, Some(e), None).await;
        }
        Ok(ids) => ids,
        Err(e) => return render_list(&state, &form.authed, view, Some(e), None).await,
    };
    let opt = |k: &str| {
        form.get(k)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let request = if action == "accept" {
        TriageRequest {
            accept: ids,
            owner: opt("owner"),
            purpose: opt("purpose"),
            ..Default::default()
        }
    } else {
        TriageRequest {
            ignore: ids,
            reason: opt("reason"),
            ..Default::default()
        }
    };
    match inventory::triage(&state.store, &request, state.clock.as_ref()).await {
        Ok(outcome) => {
            let notice = match action {
                "accept" => format!("Accepted {} item(s).", outcome.accepted.len()),
                _ => format!("Ignored {} item(s).", outcome.ignored.len()),
            };
            Ok(Redirect::to(&format!(
                "/inventory?{}&notice={}",
                view.query(view.page),
                enc(&notice)
            ))
            .into_response())
        }
        Err(e) => {
            let api = ApiError::from(e);
            if api.status.is_server_error() {
                return Err(api.into());
            }
            // The library words messages for CLI flags; name the form field instead.
            let field = match api.field.as_deref() {
                Some("data_categories") => "data categories",
                Some(f) => f,
                None => "ids",
            };
            let message = api
                .message
                .replace("--reason TEXT", "a reason")
                .replace("--", "");
            render_list(
                &state,
                &form.authed,
                view,
                Some(format!("{field}: {message}")),
                None,
            )
            .await
        }
    }
}

#[derive(Template)]
#[template(path = "inventory_item.html")]
struct ItemPage {
    layout: Layout,
    item: ItemRow,
    integration: String,
    app_id: String,
    sign_on_mode: String,
    created: String,
    departments: String,
    admins: String,
    owner: String,
    purpose: String,
    data_categories: String,
    ignore_reason: String,
    decided: String,
    first_seen_run: i64,
    last_seen_run: i64,
}

async fn detail(
    State(state): State<AppState>,
    UiUser(authed): UiUser,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    inventory::parse_id(&id).map_err(|e| UiError::bad_request(format!("id: {e}")))?;
    let i = inventory::show(&state.store, &id).await?;
    let integration = state
        .store
        .integration(i.integration_id)
        .await?
        .map(|x| x.name)
        .unwrap_or_default();
    render(&ItemPage {
        layout: Layout::new(&authed, i.display_id(), "inventory"),
        item: item_row(&i),
        integration,
        app_id: i.facts.app_id.clone(),
        sign_on_mode: i.facts.sign_on_mode.clone().unwrap_or_else(|| "—".into()),
        created: when_opt(i.facts.created.as_ref()),
        departments: if i.facts.departments.is_empty() {
            "—".into()
        } else {
            i.facts.departments.join(", ")
        },
        admins: match &i.facts.admins {
            None => "not readable with this token".into(),
            Some(a) if a.is_empty() => "none".into(),
            Some(a) => a.join(", "),
        },
        owner: i.owner.clone().unwrap_or_else(|| "—".into()),
        purpose: i.purpose.clone().unwrap_or_else(|| "—".into()),
        data_categories: if i.data_categories.is_empty() {
            "—".into()
        } else {
            i.data_categories.join(", ")
        },
        ignore_reason: i.ignore_reason.clone().unwrap_or_default(),
        decided: when_opt(i.decided_at.as_ref()),
        first_seen_run: i.first_seen_run,
        last_seen_run: i.last_seen_run,
    })
}
