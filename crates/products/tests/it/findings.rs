//! Identity-security findings against the simulator: each kind's exact set is computed from
//! the simulator's own org and compared; a read-only token states the gap; new and resolved
//! findings between syncs keep their history.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};

use steward_products::FixedClock;
use steward_products::findings::{self, Kind};
use steward_products::sync::{self, NoProgress, SyncSettings};
use steward_simulator::RunningSimulator;
use steward_simulator::org::{Holder, Org, Status};
use steward_store::{Finding, Store};

use super::sync::{add, now, sim};

const DAY_MS: i64 = 86_400_000;

pub fn connector_as(sim: &RunningSimulator, role: &str) -> Box<dyn steward_connectors::Connector> {
    let domain = steward_connectors::IntegrationDomain::parse_okta(
        &sim.base_url(),
        steward_connectors::DomainOptions {
            custom_domain: false,
            allow_insecure_loopback: true,
        },
    )
    .unwrap();
    steward_connectors::connector_for(
        steward_model::IntegrationKind::Okta,
        domain,
        secrecy::SecretString::from(sim.token(role)),
    )
    .unwrap()
}

/// Accounts (by index) holding any admin role, as Okta computes them.
fn role_holders(org: &Org) -> BTreeMap<u32, Vec<&'static str>> {
    let mut out: BTreeMap<u32, Vec<&'static str>> = BTreeMap::new();
    for r in &org.roles {
        match r.holder {
            Holder::User(u) => out.entry(u).or_default().push(r.role_type),
            Holder::Group(g) => {
                for u in org.group_members(g as usize) {
                    if org.users[u as usize].status.is_enrolled() {
                        out.entry(u).or_default().push(r.role_type);
                    }
                }
            }
        }
    }
    out.retain(|u, _| !org.users[*u as usize].deleted);
    out
}

fn has_app(org: &Org, u: u32) -> bool {
    org.apps
        .iter()
        .any(|a| !a.deleted && a.users.iter().any(|au| au.user == u))
}

/// The expected subject keys of every kind, from the org itself.
fn expected(
    org: &Org,
    inactive_days: i64,
    unused_days: i64,
    super_max: usize,
) -> BTreeMap<Kind, BTreeSet<String>> {
    let now_ms = now().timestamp_millis();
    let holders = role_holders(org);
    let mut out: BTreeMap<Kind, BTreeSet<String>> =
        Kind::OKTA.iter().map(|k| (*k, BTreeSet::new())).collect();
    for (u, _) in holders.iter() {
        let user = &org.users[*u as usize];
        if user.factors.is_empty() {
            out.get_mut(&Kind::AdminWithoutMfa)
                .unwrap()
                .insert(user.id.clone());
        }
    }
    let supers = holders
        .values()
        .filter(|r| r.contains(&"SUPER_ADMIN"))
        .count();
    if supers > super_max {
        out.get_mut(&Kind::SuperAdminConcentration)
            .unwrap()
            .insert("SUPER_ADMIN".into());
    }
    for (i, user) in org.users.iter().enumerate() {
        if user.deleted {
            continue;
        }
        let access = has_app(org, i as u32) || holders.contains_key(&(i as u32));
        if !access {
            continue;
        }
        if matches!(user.status, Status::Deprovisioned | Status::Suspended) {
            out.get_mut(&Kind::LeaverWithAccess)
                .unwrap()
                .insert(user.id.clone());
        } else if user.last_login.unwrap_or(user.created) < now_ms - inactive_days * DAY_MS {
            out.get_mut(&Kind::DormantWithAccess)
                .unwrap()
                .insert(user.id.clone());
        }
    }
    let since = now_ms - unused_days * DAY_MS;
    for app in org.apps.iter().filter(|a| !a.deleted) {
        let used = org.logs.iter().any(|e| {
            e.event_type == "user.authentication.sso"
                && e.published >= since
                && e.targets.iter().any(|t| t.id == app.id)
        });
        if !used {
            out.get_mut(&Kind::UnusedApp)
                .unwrap()
                .insert(app.id.clone());
        }
    }
    for r in &org.roles {
        if let Holder::Group(g) = r.holder {
            out.get_mut(&Kind::AdminRoleViaGroup)
                .unwrap()
                .insert(format!("{}/{}", org.groups[g as usize].id, r.id));
        }
    }
    out
}

fn got(items: &[Finding]) -> BTreeMap<Kind, BTreeSet<String>> {
    let mut out: BTreeMap<Kind, BTreeSet<String>> =
        Kind::OKTA.iter().map(|k| (*k, BTreeSet::new())).collect();
    for f in items {
        out.get_mut(&Kind::parse(&f.kind).unwrap())
            .unwrap()
            .insert(f.subject_key.clone());
    }
    out
}

async fn sync_as(
    store: &Store,
    integration: &steward_store::Integration,
    sim: &RunningSimulator,
    role: &str,
) -> i64 {
    let connector = connector_as(sim, role);
    sync::run(
        store,
        integration,
        connector.as_ref(),
        &FixedClock(now()),
        &NoProgress,
        SyncSettings::default(),
    )
    .await
    .unwrap()
    .run_id
}

#[tokio::test]
async fn every_kind_matches_the_simulated_org_exactly() {
    let sim = sim(300, 7, "").await;
    let (store, _dir) = steward_store::testing::test_store().await;
    let integration = add(&store, &sim).await;
    // One Super Administrator in the seeded org: a maximum of 0 makes the concentration fire.
    findings::set_threshold(&store, "super_admin_max", 0, &FixedClock(now()))
        .await
        .unwrap();
    sync_as(&store, &integration, &sim, "SUPER_ADMIN").await;

    let want = sim.with_org(|org| expected(org, 90, 90, 0));
    let items = findings::list(&store, None, false).await.unwrap();
    let have = got(&items);
    for kind in Kind::OKTA {
        assert!(
            !want[&kind].is_empty(),
            "the seeded org has no {kind:?}: the test would prove nothing"
        );
        assert_eq!(have[&kind], want[&kind], "{kind:?}");
    }
    // Every kind was evaluated, and every finding carries its evidence.
    let evals = findings::evaluations(&store).await.unwrap();
    assert_eq!(evals.len(), Kind::OKTA.len());
    assert!(
        evals.iter().all(|e| e.evaluated && e.reason.is_none()),
        "{evals:?}"
    );
    for f in &items {
        assert!(f.evidence.is_object() && !f.detail.is_empty(), "{f:?}");
    }
    let conc = items
        .iter()
        .find(|f| f.kind == "super_admin_concentration")
        .unwrap();
    let admin0 = sim.with_org(|org| org.users[0].id.clone());
    assert_eq!(
        conc.evidence["super_admins"][0]["account"]["id"],
        admin0.as_str()
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_read_only_token_states_what_was_not_evaluated() {
    let sim = sim(200, 8, "").await;
    let (store, _dir) = steward_store::testing::test_store().await;
    let integration = add(&store, &sim).await;
    sync_as(&store, &integration, &sim, "READ_ONLY_ADMIN").await;
    let evals: BTreeMap<String, _> = findings::evaluations(&store)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.kind.clone(), e))
        .collect();
    for kind in [
        Kind::AdminWithoutMfa,
        Kind::SuperAdminConcentration,
        Kind::AdminRoleViaGroup,
    ] {
        let e = &evals[kind.as_str()];
        assert!(!e.evaluated, "{e:?}");
        let reason = e.reason.as_deref().unwrap();
        assert!(
            reason.starts_with("not evaluated: admin role assignments could not be read"),
            "{reason}"
        );
    }
    // Leavers and dormant accounts are still evaluated on app assignments, with the gap stated.
    for kind in [Kind::LeaverWithAccess, Kind::DormantWithAccess] {
        let e = &evals[kind.as_str()];
        assert!(e.evaluated, "{e:?}");
        assert!(
            e.reason
                .as_deref()
                .unwrap()
                .starts_with("partially evaluated"),
            "{e:?}"
        );
    }
    assert!(evals[Kind::UnusedApp.as_str()].evaluated);
    let items = findings::list(&store, None, false).await.unwrap();
    assert!(items.iter().all(|f| !matches!(
        f.kind.as_str(),
        "admin_without_mfa" | "admin_role_via_group"
    )));
    sim.shutdown().await;
}

#[tokio::test]
async fn new_and_resolved_findings_between_syncs_keep_their_history() {
    let sim = sim(250, 9, "").await;
    let (store, _dir) = steward_store::testing::test_store().await;
    let integration = add(&store, &sim).await;
    let run1 = sync_as(&store, &integration, &sim, "SUPER_ADMIN").await;
    let first = got(&findings::list(&store, None, false).await.unwrap());
    let dormant1 = first[&Kind::DormantWithAccess].clone();
    // Deactivate one dormant account (it loses its app assignments), and tighten the window.
    let gone = dormant1.iter().next().unwrap().clone();
    let resp = reqwest::Client::new()
        .post(format!(
            "{}/api/v1/users/{gone}/lifecycle/deactivate",
            sim.base_url()
        ))
        .header(
            "Authorization",
            format!("SSWS {}", sim.token("SUPER_ADMIN")),
        )
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
    findings::set_threshold(&store, "inactive_days", 30, &FixedClock(now()))
        .await
        .unwrap();
    let run2 = sync_as(&store, &integration, &sim, "SUPER_ADMIN").await;
    assert!(run2 > run1);

    let want = sim.with_org(|org| expected(org, 30, 90, 3));
    let all = findings::list(&store, Some("dormant_with_access"), true)
        .await
        .unwrap();
    let open: BTreeSet<String> = all
        .iter()
        .filter(|f| f.resolved_run.is_none())
        .map(|f| f.subject_key.clone())
        .collect();
    assert_eq!(open, want[&Kind::DormantWithAccess]);
    let resolved: Vec<&Finding> = all.iter().filter(|f| f.resolved_run.is_some()).collect();
    assert_eq!(resolved.len(), 1, "{resolved:?}");
    assert_eq!(resolved[0].subject_key, gone);
    assert_eq!(resolved[0].resolved_run, Some(run2));
    assert_eq!(resolved[0].first_seen_run, run1);
    let (new, gone_now) = findings::changes(&store).await.unwrap();
    let new_dormant: BTreeSet<String> = new
        .iter()
        .filter(|f| f.kind == "dormant_with_access")
        .map(|f| f.subject_key.clone())
        .collect();
    let expected_new: BTreeSet<String> = want[&Kind::DormantWithAccess]
        .difference(&dormant1)
        .cloned()
        .collect();
    assert!(!expected_new.is_empty());
    assert_eq!(new_dormant, expected_new);
    assert!(gone_now.iter().any(|f| f.subject_key == gone));
    // Findings that stayed keep their first run.
    assert!(
        all.iter()
            .filter(|f| dormant1.contains(&f.subject_key))
            .all(|f| f.first_seen_run == run1)
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn thresholds_are_validated() {
    let (store, _dir) = steward_store::testing::test_store().await;
    let clock = FixedClock(now());
    assert!(matches!(
        findings::set_threshold(&store, "inactive_days", 0, &clock).await,
        Err(findings::FindingsError::BadThreshold { .. })
    ));
    assert!(matches!(
        findings::set_threshold(&store, "nope", 1, &clock).await,
        Err(findings::FindingsError::UnknownThreshold { .. })
    ));
    let t = findings::set_threshold(&store, "super_admin_max", 5, &clock)
        .await
        .unwrap();
    assert_eq!(t.super_admin_max, 5);
    assert_eq!(t.inactive_days, 90);
    assert!(matches!(
        findings::list(&store, Some("bogus"), false).await,
        Err(findings::FindingsError::UnknownKind { .. })
    ));
}
