//! Identity views (users, groups, apps, admins) over the store's indexed `identity_page`:
//! a debounced htmx search box and paging. An htmx request gets the results fragment only.

use std::collections::BTreeMap;

use askama::Template;
use axum::Router;
use axum::extract::{OriginalUri, Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use serde_json::Value;
use steward_model::Resource;
use steward_store::IdentityQuery;

use super::{Layout, PAGE_SIZE, UiError, UiUser, enc, parse_page, query_pairs, render};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/identity",
            get(|| async { axum::response::Redirect::to("/identity/users") }),
        )
        .route("/identity/{view}", get(view))
}

/// A view: its URL segment, title, resource and columns.
struct ViewDef {
    slug: &'static str,
    title: &'static str,
    resource: Resource,
    headers: &'static [&'static str],
}

const VIEWS: [ViewDef; 4] = [
    ViewDef {
        slug: "users",
        title: "Users",
        resource: Resource::Users,
        headers: &[
            "Login",
            "Name",
            "Email",
            "Status",
            "Department",
            "Last login",
        ],
    },
    ViewDef {
        slug: "groups",
        title: "Groups",
        resource: Resource::Groups,
        headers: &["Name", "Description", "Type"],
    },
    ViewDef {
        slug: "apps",
        title: "Apps",
        resource: Resource::Apps,
        headers: &["Label", "Name", "Status", "Sign-on mode"],
    },
    ViewDef {
        slug: "admins",
        title: "Admins",
        resource: Resource::RoleAssignments,
        headers: &["Admin", "Kind", "Role", "Label", "Status"],
    },
];

/// The record's fields, whether stored flat or wrapped in its enum variant.
fn fields(v: &Value) -> &Value {
    match v.as_object() {
        Some(o) if o.len() == 1 && !o.contains_key("id") => {
            o.values().next().filter(|x| x.is_object()).unwrap_or(v)
        }
        _ => v,
    }
}

fn s(v: &Value, k: &str) -> String {
    match v.get(k) {
        Some(Value::String(x)) => x.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn cells(slug: &str, v: &Value, names: &BTreeMap<String, String>) -> Vec<String> {
    let f = fields(v);
    match slug {
        "users" => {
            let name = match s(f, "display_name") {
                n if !n.is_empty() => n,
                _ => format!("{} {}", s(f, "first_name"), s(f, "last_name"))
                    .trim()
                    .to_string(),
            };
            vec![
                s(f, "login"),
                name,
                s(f, "email"),
                s(f, "status"),
                s(f, "department"),
                s(f, "last_login"),
            ]
        }
        "groups" => vec![s(f, "name"), s(f, "description"), s(f, "group_type")],
        "apps" => vec![
            s(f, "label"),
            s(f, "name"),
            s(f, "status"),
            s(f, "sign_on_mode"),
        ],
        _ => {
            let id = s(f, "principal_id");
            let who = match names.get(&id) {
                Some(name) => format!("{name} ({id})"),
                None => id,
            };
            vec![
                who,
                s(f, "principal_kind"),
                s(f, "role_type"),
                s(f, "label"),
                s(f, "status"),
            ]
        }
    }
}

/// Logins of the account principals and names of the group principals on an admins page
/// (role assignments name principals by id only); a handful of indexed lookups per page.
async fn principal_names(state: &AppState, items: &[Value]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for v in items {
        let f = fields(v);
        let id = s(f, "principal_id");
        if id.is_empty() || out.contains_key(&id) {
            continue;
        }
        let (resource, key) = match s(f, "principal_kind").as_str() {
            "group" => (Resource::Groups, "name"),
            _ => (Resource::Users, "login"),
        };
        let q = IdentityQuery {
            q: Some(id.clone()),
            status: None,
            limit: 5,
            offset: 0,
        };
        if let Ok(page) = state.store.identity_page(resource, &q).await
            && let Some(name) = page
                .items
                .iter()
                .map(fields)
                .find(|x| s(x, "id") == id)
                .map(|x| s(x, key))
                .filter(|n| !n.is_empty())
        {
            out.insert(id, name);
        }
    }
    out
}

#[derive(Template)]
#[template(path = "identity.html")]
struct IdentityPage {
    layout: Layout,
    slug: &'static str,
    title: &'static str,
    views: Vec<(&'static str, &'static str, bool)>,
    results: Results,
}

#[derive(Template)]
#[template(path = "identity_results.html")]
struct Results {
    q: String,
    page: u64,
    headers: &'static [&'static str],
    rows: Vec<Vec<String>>,
    prev_link: Option<String>,
    next_link: Option<String>,
}

async fn view(
    State(state): State<AppState>,
    UiUser(authed): UiUser,
    Path(slug): Path<String>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, UiError> {
    let def = VIEWS.iter().find(|d| d.slug == slug).ok_or_else(|| {
        UiError::not_found(format!(
            "no identity view {slug:?}; use users, groups, apps or admins"
        ))
    })?;
    let pairs = query_pairs(&uri);
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let q = get("q").unwrap_or_default().trim().to_string();
    if q.len() > 200 {
        return Err(UiError::bad_request(
            "q: the search text is longer than 200 characters",
        ));
    }
    let page = parse_page(get("page").as_deref())?;
    let query = IdentityQuery {
        q: Some(q.clone()).filter(|q| !q.is_empty()),
        status: None,
        limit: PAGE_SIZE,
        offset: (page - 1).saturating_mul(PAGE_SIZE),
    };
    let result = state.store.identity_page(def.resource, &query).await?;
    let link = |p: u64| format!("/identity/{}?q={}&page={p}", def.slug, enc(&q));
    let results = Results {
        page,
        headers: def.headers,
        rows: {
            let names = if def.resource == Resource::RoleAssignments {
                principal_names(&state, &result.items).await
            } else {
                BTreeMap::new()
            };
            result
                .items
                .iter()
                .map(|v| cells(def.slug, v, &names))
                .collect()
        },
        prev_link: (page > 1).then(|| link(page - 1)),
        next_link: result.has_more.then(|| link(page + 1)),
        q,
    };
    // The search box asks for the results only (it targets `#identity-results`).
    if headers.get("hx-target").and_then(|v| v.to_str().ok()) == Some("identity-results") {
        return render(&results);
    }
    render(&IdentityPage {
        layout: Layout::new(&authed, def.title, "identity"),
        slug: def.slug,
        title: def.title,
        views: VIEWS
            .iter()
            .map(|d| (d.slug, d.title, d.slug == def.slug))
            .collect(),
        results,
    })
}
