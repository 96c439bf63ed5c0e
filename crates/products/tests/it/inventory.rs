//! inventory against the simulator: staging, decisions surviving re-syncs, new and removed
//! apps, the change record, and bad input that changes nothing.

// Test helpers panic on failure by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use steward_products::FixedClock;
use steward_products::inventory::{self, InventoryError, TriageRequest};
use steward_products::sync::{self, NoProgress, SyncSettings};
use steward_simulator::RunningSimulator;
use steward_store::{InventoryFilter, InventoryItem, Store, Triage};

use crate::sync::{add, connector_for, now, sim};

async fn resync(
    store: &Store,
    integration: &steward_store::Integration,
    sim: &RunningSimulator,
) -> i64 {
    sync::run(
        store,
        integration,
        connector_for(sim).as_ref(),
        &FixedClock(now()),
        &NoProgress,
        SyncSettings::default(),
    )
    .await
    .unwrap()
    .run_id
}

async fn all(store: &Store) -> BTreeMap<String, InventoryItem> {
    inventory::list(store, &InventoryFilter::default())
        .await
        .unwrap()
        .into_iter()
        .map(|i| (i.facts.app_id.clone(), i))
        .collect()
}

/// Live (not deleted) apps of the simulated org: id → number of app users.
fn sim_apps(sim: &RunningSimulator) -> BTreeMap<String, usize> {
    sim.with_org(|org| {
        org.apps
            .iter()
            .filter(|a| !a.deleted)
            .map(|a| (a.id.clone(), a.users.len()))
            .collect()
    })
}

#[tokio::test]
async fn every_app_is_staged_with_its_facts_and_decisions_survive_a_resync() {
    let sim = sim(150, 41, "").await;
    let (store, _dir) = steward_store::testing::test_store().await;
    let integration = add(&store, &sim).await;
    let first = resync(&store, &integration, &sim).await;

    let items = all(&store).await;
    let expected = sim_apps(&sim);
    assert_eq!(
        items.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>()
    );
    for (app_id, item) in &items {
        assert_eq!(item.triage, Triage::Staged);
        assert_eq!(
            item.facts.assigned_users as usize, expected[app_id],
            "{app_id}"
        );
        assert_eq!(item.first_seen_run, first);
        assert!(item.removed_run.is_none());
        let admins = item
            .facts
            .admins
            .as_ref()
            .expect("a SUPER_ADMIN token reads roles");
        assert!(
            admins.iter().any(|a| a.contains("SUPER_ADMIN")),
            "{admins:?}"
        );
        let mut sorted = item.facts.departments.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted, item.facts.departments);
    }
    assert!(
        items.values().any(|i| i.facts.last_sso_at.is_some()),
        "no SSO seen in the System Log"
    );
    assert!(items.values().any(|i| !i.facts.departments.is_empty()));

    let ids: Vec<i64> = items.values().map(|i| i.id).collect();
    let request = TriageRequest {
        accept: vec![ids[0]],
        ignore: vec![ids[1]],
        owner: Some("privacy@example.com".into()),
        purpose: Some("CRM".into()),
        data_categories: vec!["contact".into(), "contact".into(), "financial".into()],
        reason: Some("bookmark only".into()),
    };
    let outcome = inventory::triage(&store, &request, &FixedClock(now()))
        .await
        .unwrap();
    assert_eq!(outcome.accepted.len(), 1);
    assert_eq!(outcome.ignored.len(), 1);

    let second = resync(&store, &integration, &sim).await;
    let after = all(&store).await;
    let accepted = after.values().find(|i| i.id == ids[0]).unwrap();
    assert_eq!(accepted.triage, Triage::Accepted);
    assert_eq!(accepted.owner.as_deref(), Some("privacy@example.com"));
    assert_eq!(accepted.purpose.as_deref(), Some("CRM"));
    assert_eq!(accepted.data_categories, vec!["contact", "financial"]);
    assert_eq!(accepted.last_seen_run, second);
    let ignored = after.values().find(|i| i.id == ids[1]).unwrap();
    assert_eq!(ignored.triage, Triage::Ignored);
    assert_eq!(ignored.ignore_reason.as_deref(), Some("bookmark only"));
    assert_eq!(
        after
            .values()
            .filter(|i| i.triage == Triage::Staged)
            .count(),
        items.len() - 2
    );

    // Nothing changed in Okta between the two syncs.
    let (summary, changes) = inventory::changes(&store, integration.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(summary.run_id, second);
    assert_eq!(
        (summary.added, summary.removed, summary.changed),
        (0, 0, 0),
        "{changes:?}"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_new_app_is_staged_and_a_removed_app_is_flagged() {
    let sim = sim(120, 42, "").await;
    let (store, _dir) = steward_store::testing::test_store().await;
    let integration = add(&store, &sim).await;
    resync(&store, &integration, &sim).await;
    let before = all(&store).await;

    let http = reqwest::Client::new();
    let created: serde_json::Value = http
        .post(format!("{}/__sim/apps", sim.base_url()))
        .json(&serde_json::json!({"label": "Payroll, \"EU\"", "signOnMode": "OPENID_CONNECT"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let new_id = created["id"].as_str().unwrap().to_string();
    let (gone_id, gone) = before
        .iter()
        .next()
        .map(|(k, v)| (k.clone(), v.clone()))
        .unwrap();
    // Accept it first: a removed app keeps its decision.
    inventory::triage(
        &store,
        &TriageRequest {
            accept: vec![gone.id],
            ..Default::default()
        },
        &FixedClock(now()),
    )
    .await
    .unwrap();
    let deleted = http
        .delete(format!("{}/__sim/apps/{gone_id}", sim.base_url()))
        .send()
        .await
        .unwrap();
    assert!(deleted.status().is_success());

    let second = resync(&store, &integration, &sim).await;
    let after = all(&store).await;
    assert_eq!(after.len(), before.len() + 1);
    let new = &after[&new_id];
    assert_eq!(new.triage, Triage::Staged);
    assert_eq!(new.facts.label, "Payroll, \"EU\"");
    assert_eq!(new.facts.sign_on_mode.as_deref(), Some("OPENID_CONNECT"));
    assert_eq!(new.first_seen_run, second);
    let removed = &after[&gone_id];
    assert_eq!(removed.removed_run, Some(second));
    assert_eq!(removed.triage, Triage::Accepted);

    let (summary, changes) = inventory::changes(&store, integration.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((summary.added, summary.removed), (1, 1), "{changes:?}");
    assert!(
        changes
            .iter()
            .any(|c| c.change == "added" && c.app_id == new_id)
    );
    assert!(
        changes
            .iter()
            .any(|c| c.change == "removed" && c.app_id == gone_id)
    );

    // A third sync keeps the flag (and the run it was first missed in) and reports nothing new.
    let third = resync(&store, &integration, &sim).await;
    let again = all(&store).await;
    assert_eq!(again[&gone_id].removed_run, Some(second));
    let (summary, _) = inventory::changes(&store, integration.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(summary.run_id, third);
    assert_eq!((summary.added, summary.removed), (0, 0));
    sim.shutdown().await;
}

#[tokio::test]
async fn bad_input_is_refused_and_changes_nothing() {
    let sim = sim(100, 43, "").await;
    let (store, _dir) = steward_store::testing::test_store().await;
    let integration = add(&store, &sim).await;
    resync(&store, &integration, &sim).await;
    let before = all(&store).await;
    let ids: Vec<i64> = before.values().map(|i| i.id).collect();
    let clock = FixedClock(now());

    let bad = [
        TriageRequest {
            accept: vec![ids[0]],
            owner: Some("not-an-email".into()),
            ..Default::default()
        },
        TriageRequest {
            accept: vec![ids[0], 999_999],
            ..Default::default()
        },
        TriageRequest {
            accept: vec![ids[0]],
            ignore: vec![ids[0]],
            reason: Some("x".into()),
            ..Default::default()
        },
        TriageRequest {
            ignore: vec![ids[1]],
            ..Default::default()
        },
        TriageRequest::default(),
    ];
    for request in &bad {
        let err = inventory::triage(&store, request, &clock)
            .await
            .unwrap_err();
        assert!(err.is_bad_input(), "{err}");
    }
    assert!(matches!(
        inventory::parse_id("INV-x"),
        Err(InventoryError::Invalid(_))
    ));
    assert_eq!(inventory::parse_id("inv-7").unwrap(), 7);
    assert_eq!(
        all(&store).await,
        before,
        "a refused request changed something"
    );
    sim.shutdown().await;
}

/// Timing of `after_sync` alone on a larger org (run by hand with `--run-ignored only`).
#[tokio::test]
#[ignore = "timing, run by hand"]
async fn after_sync_timing_on_a_larger_org() {
    let users: usize = std::env::var("INVENTORY_TIMING_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5_000);
    let sim = sim(users, 44, "").await;
    let (store, _dir) = steward_store::testing::test_store().await;
    let integration = add(&store, &sim).await;
    let run_id = resync(&store, &integration, &sim).await;
    let integration = store.integration(integration.id).await.unwrap().unwrap();
    let t = std::time::Instant::now();
    inventory::after_sync(&store, &integration, run_id, &FixedClock(now()))
        .await
        .unwrap();
    let app_users: usize = sim_apps(&sim).values().sum();
    println!(
        "after_sync: {users} users, {app_users} app users: {:?}",
        t.elapsed()
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn changed_facts_and_reappearing_apps_are_recorded_and_removing_the_integration_cascades() {
    use steward_store::InventoryFacts;
    let sim = sim(100, 45, "").await;
    let (store, _dir) = steward_store::testing::test_store().await;
    let integration = add(&store, &sim).await;
    let fact = |id: &str, users: u64| InventoryFacts {
        app_id: id.into(),
        name: id.into(),
        label: id.to_uppercase(),
        sign_on_mode: Some("SAML_2_0".into()),
        okta_status: "ACTIVE".into(),
        created: None,
        assigned_users: users,
        assigned_groups: 0,
        departments: vec!["Sales".into()],
        last_sso_at: None,
        admins: None,
    };
    let t = now();
    store
        .apply_inventory_sync(integration.id, 1, &[fact("a", 1), fact("b", 2)], t)
        .await
        .unwrap();
    let second = store
        .apply_inventory_sync(integration.id, 2, &[fact("a", 5)], t)
        .await
        .unwrap();
    assert_eq!((second.added, second.removed, second.changed), (0, 1, 1));
    let (_, changes) = store
        .inventory_changes(integration.id)
        .await
        .unwrap()
        .unwrap();
    let a = changes.iter().find(|c| c.app_id == "a").unwrap();
    assert_eq!(a.change, "changed");
    assert_eq!(
        a.fields["assigned_users"],
        serde_json::json!({"from": 1, "to": 5})
    );
    let third = store
        .apply_inventory_sync(integration.id, 3, &[fact("a", 5), fact("b", 2)], t)
        .await
        .unwrap();
    assert_eq!((third.reappeared, third.changed), (1, 0));
    assert!(all(&store).await.values().all(|i| i.removed_run.is_none()));

    store.remove_integration(integration.id).await.unwrap();
    assert!(all(&store).await.is_empty());
    assert!(
        store
            .inventory_changes(integration.id)
            .await
            .unwrap()
            .is_none()
    );
    sim.shutdown().await;
}
