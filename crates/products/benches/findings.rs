//! Findings benchmark: a published snapshot shaped like the simulator's 100,000-user Okta org (1,000,000 app
//! assignments, 200,000 memberships, factors, 300,000 System Log events, admin roles) is
//! staged straight through the store, then `findings::after_sync` (compute every kind and
//! record it) is timed: once on the first run (every finding new) and again (every finding
//! refreshed). The data inventory is updated from the snapshot first, untimed, as the sync
//! does. Goal: < 2 s. Run with `cargo bench -p steward-products --bench findings`
//! (SQLite in a tempdir, or PostgreSQL with `TEST_DATABASE_URL`); `FINDINGS_BENCH_USERS`
//! overrides the org size.

use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use secrecy::SecretString;
use serde_json::json;
use steward_model::{
    Account, App, AppGroup, AppUser, Factor, Group, IntegrationKind, LogEvent, Membership,
    PrincipalKind, Record, Resource, RoleAssignment,
};
use steward_products::{FixedClock, findings, inventory};
use steward_store::{NewIntegration, ResourceOutcome, Store};

fn main() {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start a runtime: {e}");
            std::process::exit(1);
        }
    };
    rt.block_on(bench());
}

/// A deterministic pseudo-random step (no RNG dependency needed).
fn mix(i: u64) -> u64 {
    let mut x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 31;
    x.wrapping_mul(0xBF58_476D_1CE4_E5B9) >> 7
}

fn uid(i: usize) -> String {
    format!("00u{i:014}1d7")
}

pub fn snapshot(users: usize, now: DateTime<Utc>) -> Vec<(Resource, Vec<Record>)> {
    let apps = (40 + users / 100).min(1000);
    let groups = users / 25 + 20;
    let day = chrono::Duration::days(1);
    // The simulator's distribution: 80% active, 3% suspended, 6% deprovisioned (no app
    // assignments), 6% staged or provisioned; 85% signed in within 30 days, 15% 30–400 days
    // ago, 5% never.
    let status_of = |i: usize| -> &'static str {
        match mix(i as u64) % 100 {
            0..=2 => "STAGED",
            3..=5 => "PROVISIONED",
            8..=10 => "SUSPENDED",
            14..=19 => "DEPROVISIONED",
            _ => "ACTIVE",
        }
    };
    let mut out = Vec::new();
    out.push((
        Resource::Users,
        (0..users)
            .map(|i| {
                let r = mix(i as u64);
                let status = status_of(i).to_string();
                let days = if (r >> 8) % 100 < 85 { (r >> 16) % 30 } else { 30 + (r >> 16) % 370 };
                let signed_in = !matches!(status.as_str(), "STAGED" | "PROVISIONED") && (r >> 24) % 100 >= 5;
                let login = format!("user{i}@acme.example");
                Record::Account(Account {
                    id: uid(i),
                    login: login.clone(),
                    email: Some(login.clone()),
                    second_email: None,
                    first_name: Some(format!("First{i}")),
                    last_name: Some(format!("Last{i}")),
                    display_name: None,
                    status: status.clone(),
                    department: Some(format!("Dept {}", r % 12)),
                    title: Some("Engineer".into()),
                    manager: None,
                    employee_number: Some(format!("{}", 100_000 + i)),
                    created: Some(now - day * 900),
                    last_login: signed_in.then(|| now - day * days as i32),
                    last_updated: Some(now - day * 10),
                    license_status: None,
                    raw: steward_model::raw_json!({"id": uid(i), "status": status, "profile": {"login": login, "email": login,
                        "firstName": format!("First{i}"), "lastName": format!("Last{i}"), "department": format!("Dept {}", r % 12),
                        "title": "Engineer", "employeeNumber": format!("{}", 100_000 + i)}}),
                })
            })
            .collect(),
    ));
    out.push((
        Resource::Groups,
        (0..groups)
            .map(|g| {
                Record::Group(Group {
                    id: format!("00g{g:014}1d7"),
                    name: format!("Group {g}"),
                    description: None,
                    group_type: "OKTA_GROUP".into(),
                    raw: steward_model::raw_json!({"id": format!("00g{g:014}1d7"), "profile": {"name": format!("Group {g}")}}),
                })
            })
            .collect(),
    ));
    out.push((
        Resource::Memberships,
        (0..users * 2)
            .map(|k| {
                Record::Membership(Membership {
                    group_id: format!("00g{:014}1d7", mix(k as u64 + 7) as usize % groups),
                    account_id: uid(k / 2),
                })
            })
            .collect(),
    ));
    out.push((
        Resource::Apps,
        (0..apps)
            .map(|a| {
                Record::App(App {
                    id: format!("0oa{a:014}1d7"),
                    name: "salesforce".into(),
                    label: format!("App {a}"),
                    sign_on_mode: Some("SAML_2_0".into()),
                    status: if a % 10 == 9 { "INACTIVE".into() } else { "ACTIVE".into() },
                    created: Some(now - day * 1000),
                    last_updated: None,
                    raw: steward_model::raw_json!({"id": format!("0oa{a:014}1d7"), "label": format!("App {a}")}),
                })
            })
            .collect(),
    ));
    let mut pairs = std::collections::BTreeSet::new();
    let mut k = 0u64;
    while pairs.len() < users * 10 {
        k += 1;
        let r = mix(k);
        let u = ((r >> 20) % users as u64) as usize;
        if status_of(u) != "DEPROVISIONED" {
            pairs.insert(((r % apps as u64) as usize, u));
        }
    }
    out.push((
        Resource::AppUsers,
        pairs
            .into_iter()
            .map(|(a, u)| {
                Record::AppUser(AppUser {
                    app_id: format!("0oa{a:014}1d7"),
                    account_id: uid(u),
                    scope: "USER".into(),
                    status: Some("PROVISIONED".into()),
                    raw: steward_model::raw_json!({"id": uid(u), "scope": "USER", "status": "PROVISIONED",
                        "credentials": {"userName": format!("user{u}@acme.example")},
                        "profile": {"email": format!("user{u}@acme.example"), "role": "Standard"}}),
                })
            })
            .collect(),
    ));
    out.push((
        Resource::AppGroups,
        (0..apps)
            .map(|a| {
                Record::AppGroup(AppGroup {
                    app_id: format!("0oa{a:014}1d7"),
                    group_id: format!("00g{:014}1d7", a % groups),
                    priority: Some(0),
                    raw: steward_model::raw_json!({}),
                })
            })
            .collect(),
    ));
    let mut roles: Vec<Record> = (0..users / 200)
        .map(|k| {
            let u = (mix(k as u64 + 99) as usize) % users;
            Record::RoleAssignment(RoleAssignment {
                principal_kind: PrincipalKind::Account,
                principal_id: uid(u),
                id: format!("ra1{k:014}1d7"),
                role_type: if k < 5 {
                    "SUPER_ADMIN".into()
                } else {
                    "HELP_DESK_ADMIN".into()
                },
                label: "Role".into(),
                status: Some("ACTIVE".into()),
                raw: steward_model::raw_json!({"id": format!("ra1{k:014}1d7")}),
            })
        })
        .collect();
    roles.push(Record::RoleAssignment(RoleAssignment {
        principal_kind: PrincipalKind::Group,
        principal_id: format!("00g{:014}1d7", 3),
        id: "ra1group00000000001d7".into(),
        role_type: "HELP_DESK_ADMIN".into(),
        label: "Help Desk Administrator".into(),
        status: Some("ACTIVE".into()),
        raw: steward_model::raw_json!({}),
    }));
    out.push((Resource::RoleAssignments, roles));
    out.push((
        Resource::Factors,
        (0..users * 2)
            .filter(|k| !mix(*k as u64 + 3).is_multiple_of(8))
            .map(|k| {
                Record::Factor(Factor {
                    account_id: uid(k / 2),
                    id: format!("opf{k:014}1d7"),
                    factor_type: "push".into(),
                    provider: Some("OKTA".into()),
                    status: "ACTIVE".into(),
                    raw: steward_model::raw_json!({"id": format!("opf{k:014}1d7"), "factorType": "push", "status": "ACTIVE"}),
                })
            })
            .collect(),
    ));
    out.push((
        Resource::LogEvents,
        (0..(users * 3).min(300_000))
            .map(|k| {
                let r = mix(k as u64 + 11);
                let a = (r % (apps as u64 * 2 / 3)) as usize;
                Record::LogEvent(LogEvent {
                    id: format!("{k:032x}"),
                    published: now - chrono::Duration::seconds((r >> 16) as i64 % (89 * 86_400)),
                    event_type: if k % 2 == 0 { "user.authentication.sso".into() } else { "user.session.start".into() },
                    actor_id: Some(uid(k % users)),
                    actor_alternate_id: None,
                    target_ids: vec![format!("0oa{a:014}1d7"), uid(k % users)],
                    outcome: Some("SUCCESS".into()),
                    raw: steward_model::raw_json!({"uuid": format!("{k:032x}"), "eventType": "user.authentication.sso"}),
                })
            })
            .collect(),
    ));
    out
}

pub async fn publish(
    store: &Store,
    integration_id: i64,
    now: DateTime<Utc>,
    resources: &[(Resource, Vec<Record>)],
) -> i64 {
    let run = store
        .begin_run(integration_id, now, Duration::from_secs(600))
        .await
        .unwrap_or_else(|e| panic!("begin run: {e}"));
    for (resource, records) in resources {
        for chunk in records.chunks(2_000) {
            store
                .stage(run, chunk)
                .await
                .unwrap_or_else(|e| panic!("stage: {e}"));
        }
        store
            .mark_resource(
                run,
                *resource,
                &ResourceOutcome::Complete {
                    count: records.len() as u64,
                },
            )
            .await
            .unwrap_or_else(|e| panic!("mark: {e}"));
    }
    store
        .publish_run(run, &json!({}), now)
        .await
        .unwrap_or_else(|e| panic!("publish: {e}"));
    run
}

async fn bench() {
    let users: usize = std::env::var("FINDINGS_BENCH_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let (store, _dir) = steward_store::testing::test_store().await;
    let now = Utc
        .with_ymd_and_hms(2026, 11, 1, 0, 0, 0)
        .single()
        .unwrap_or_default();
    let new = NewIntegration {
        name: "bench".into(),
        kind: IntegrationKind::Okta,
        base_url: "https://bench.okta.com".into(),
        settings: json!({}),
    };
    let integration = store
        .create_integration(&new, &SecretString::from("token".to_string()), now)
        .await
        .unwrap_or_else(|e| panic!("creating the integration: {e}"));
    let data = snapshot(users, now);
    let records: usize = data.iter().map(|(_, r)| r.len()).sum();
    let t = Instant::now();
    let run1 = publish(&store, integration.id, now, &data).await;
    eprintln!(
        "staged {records} records in {:.1} s ({} backend)",
        t.elapsed().as_secs_f64(),
        store.backend()
    );
    let clock = FixedClock(now);

    // The sync updates the inventory first; findings reuse its per-app SSO aggregation.
    let t = Instant::now();
    inventory::after_sync(&store, &integration, run1, &clock)
        .await
        .unwrap_or_else(|e| panic!("inventory: {e}"));
    eprintln!(
        "inventory update (not part of the figure): {} ms",
        t.elapsed().as_millis()
    );
    let t = Instant::now();
    let first = findings::after_sync(&store, &integration, run1, &clock)
        .await
        .unwrap_or_else(|e| panic!("findings: {e}"));
    let first_ms = t.elapsed().as_millis();
    let run2 = publish(&store, integration.id, now, &data).await;
    inventory::after_sync(&store, &integration, run2, &clock)
        .await
        .unwrap_or_else(|e| panic!("inventory: {e}"));
    let t = Instant::now();
    let second = findings::after_sync(&store, &integration, run2, &clock)
        .await
        .unwrap_or_else(|e| panic!("findings: {e}"));
    let second_ms = t.elapsed().as_millis();
    println!(
        "findings, {users}-user org ({records} records, {}): first run {first_ms} ms ({} new), next run {second_ms} ms ({} open, {} new, {} resolved); goal < 2000 ms",
        store.backend(),
        first.new,
        second.open,
        second.new,
        second.resolved
    );
}
