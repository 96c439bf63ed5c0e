//! The cross-system identity graph: orphans, leavers and licence seats as tabs, and one
//! person's accounts in every integration with the join evidence. Thin views over
//! `steward_products::graph` (built from the current snapshots on each request).

use askama::Template;
use axum::Router;
use axum::extract::{OriginalUri, Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use steward_model::IntegrationKind;
use steward_products::graph::{self, AccountRef, Graph, GraphError};

use super::{Layout, UiError, UiUser, enc, query_pairs, render, when_opt};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/people", get(page))
        .route("/people/find", get(find))
        .route("/people/{email}", get(person))
}

impl From<GraphError> for UiError {
    fn from(e: GraphError) -> Self {
        match e {
            GraphError::Store(s) => UiError::from(s),
            GraphError::BadEmail(_) => UiError::bad_request(format!(
                "{} (field: email)",
                e.to_string().trim_start_matches("EMAIL: ")
            )),
            GraphError::PersonNotFound(_) => UiError::not_found(e.to_string()),
        }
    }
}

/// Why the cross-system views cannot be shown yet, or `None` when they can.
fn missing_systems(g: &Graph) -> Option<String> {
    let downstream = g
        .integrations
        .iter()
        .any(|(_, k)| *k != IntegrationKind::Okta);
    match (g.has_idp, downstream) {
        (true, true) => None,
        (false, false) => Some(
            "No synced integration yet. These views compare two systems: connect and sync Okta (the identity provider) and OneTrust."
                .into(),
        ),
        (true, false) => Some(
            "No OneTrust integration is connected (or synced) yet. Orphans, leavers and seats compare Okta with another system, so there is nothing to compare: connect and sync OneTrust."
                .into(),
        ),
        (false, true) => Some(
            "No Okta integration is synced yet. Orphans and leavers are judged against the identity provider (Okta): connect and sync it. Seats below count every downstream account."
                .into(),
        ),
    }
}

/// An account as a table row shows it.
struct Acct {
    integration: String,
    kind: String,
    account_id: String,
    login: String,
    email: String,
    name: String,
    status: String,
    active: bool,
    license: String,
    last_login: String,
}

fn acct(a: &AccountRef) -> Acct {
    Acct {
        integration: a.integration.clone(),
        kind: a.kind.as_str().to_string(),
        account_id: a.account_id.clone(),
        login: a.login.clone(),
        email: a.email.clone().unwrap_or_default(),
        name: a.display_name.clone().unwrap_or_default(),
        status: a.status.clone(),
        active: a.active,
        license: a.license_status.clone().unwrap_or_default(),
        last_login: when_opt(a.last_login.as_ref()),
    }
}

struct OrphanRow {
    person: String,
    link: String,
    account: Acct,
    reason: String,
}

struct LeaverRow {
    person: String,
    link: String,
    idp: Vec<Acct>,
    still_active: Vec<Acct>,
}

struct SeatRow {
    integration: String,
    license: String,
    assigned: u64,
    used_30d: u64,
    used_90d: u64,
    unused: usize,
    unused_ids: String,
}

#[derive(Template)]
#[template(path = "people.html")]
struct Page {
    layout: Layout,
    tab: &'static str,
    tabs: Vec<(&'static str, &'static str, bool)>,
    notice: Option<String>,
    /// Orphans and leavers need the identity provider; seats only a downstream system.
    show_idp_views: bool,
    show_seats: bool,
    orphans: Vec<OrphanRow>,
    leavers: Vec<LeaverRow>,
    seats: Vec<SeatRow>,
    email: String,
}

const TABS: [(&str, &str); 3] = [
    ("orphans", "Orphans"),
    ("leavers", "Leavers"),
    ("seats", "Seats"),
];

fn person_link(email: &str) -> String {
    format!("/people/{}", enc(email))
}

async fn page(
    State(state): State<AppState>,
    UiUser(authed): UiUser,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, UiError> {
    let q = query_pairs(&uri);
    let tab_q = q
        .iter()
        .find(|(k, _)| k == "tab")
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_default();
    let tab = match tab_q.as_str() {
        "" | "orphans" => "orphans",
        "leavers" => "leavers",
        "seats" => "seats",
        other => {
            return Err(UiError::bad_request(format!(
                "tab: {other:?} is not a view; use orphans, leavers or seats"
            )));
        }
    };
    let g = graph::build(&state.store, state.clock.now()).await?;
    let notice = missing_systems(&g);
    let downstream = g
        .integrations
        .iter()
        .any(|(_, k)| *k != IntegrationKind::Okta);
    let show_idp_views = notice.is_none();
    let (mut orphans, mut leavers, mut seats) = (Vec::new(), Vec::new(), Vec::new());
    match tab {
        "orphans" if show_idp_views => {
            orphans = g
                .orphans()
                .iter()
                .map(|o| OrphanRow {
                    person: o.person.clone(),
                    link: person_link(&o.person),
                    account: acct(&o.account),
                    reason: o.reason.clone(),
                })
                .collect();
        }
        "leavers" if show_idp_views => {
            leavers = g
                .leavers()
                .iter()
                .map(|l| LeaverRow {
                    person: l.person.clone(),
                    link: person_link(&l.person),
                    idp: l.idp_accounts.iter().map(acct).collect(),
                    still_active: l.still_active.iter().map(acct).collect(),
                })
                .collect();
        }
        "seats" if downstream => {
            seats = g
                .seats()
                .iter()
                .map(|s| SeatRow {
                    integration: s.integration.clone(),
                    license: s.license_status.clone(),
                    assigned: s.assigned,
                    used_30d: s.used_30d,
                    used_90d: s.used_90d,
                    unused: s.unused_90d.len(),
                    unused_ids: s.unused_90d.join(", "),
                })
                .collect();
        }
        _ => {}
    }
    render(&Page {
        layout: Layout::new(&authed, "People", "people"),
        tab,
        tabs: TABS.iter().map(|(s, t)| (*s, *t, *s == tab)).collect(),
        notice,
        show_idp_views,
        show_seats: downstream,
        orphans,
        leavers,
        seats,
        email: String::new(),
    })
}

/// The search box: `/people/find?email=…` → `/people/{email}`.
async fn find(UiUser(_): UiUser, OriginalUri(uri): OriginalUri) -> Result<Response, UiError> {
    let q = query_pairs(&uri);
    let email = q
        .iter()
        .find(|(k, _)| k == "email")
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_default();
    if email.is_empty() {
        return Err(UiError::bad_request(
            "email: enter the person's email, e.g. ada@example.com (field: email)",
        ));
    }
    Ok(Redirect::to(&person_link(&email)).into_response())
}

struct Evidence {
    integration: String,
    account_id: String,
    field: String,
    value: String,
    matched: String,
}

#[derive(Template)]
#[template(path = "people_person.html")]
struct PersonPage {
    layout: Layout,
    email: String,
    identifiers: String,
    notice: Option<String>,
    accounts: Vec<(Acct, u64, u64)>,
    evidence: Vec<Evidence>,
}

async fn person(
    State(state): State<AppState>,
    UiUser(authed): UiUser,
    Path(email): Path<String>,
) -> Result<Response, UiError> {
    let g = graph::build(&state.store, state.clock.now()).await?;
    let p = g.person(&email)?;
    let accounts = p
        .accounts
        .iter()
        .map(|a| {
            let (d30, d90) = g.usage_of(&a.integration, &a.account_id);
            (acct(a), d30, d90)
        })
        .collect();
    let evidence = p
        .evidence
        .iter()
        .map(|e| Evidence {
            integration: e.integration.clone(),
            account_id: e.account_id.clone(),
            field: e.field.clone(),
            value: e.value.clone(),
            matched: e.matched.clone(),
        })
        .collect();
    render(&PersonPage {
        layout: Layout::new(&authed, p.email.clone(), "people"),
        email: p.email.clone(),
        identifiers: p.identifiers.join(", "),
        notice: missing_systems(&g),
        accounts,
        evidence,
    })
}
