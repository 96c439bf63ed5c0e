//! The identity graph on a seeded pair of orgs (Okta + OneTrust simulators started with the
//! same seed): orphans and leavers exactly as the simulators' truth says, joins with their
//! evidence, seats, and a two-system privacy access request and deletion. SQLite, or
//! PostgreSQL with `TEST_DATABASE_URL`.

use std::collections::BTreeSet;

use secrecy::SecretString;
use serde_json::Value;
use steward_connectors::DomainOptions;
use steward_model::IntegrationKind;
use steward_products::FixedClock;
use steward_products::graph;
use steward_products::integrations::{self, AddIntegration};
use steward_products::sync::{self, NoProgress, SyncSettings};
use steward_simulator::onetrust::{OtKey, OtRateConfig, OtSimConfig, OtSimulator};
use steward_store::Store;

use crate::sync::{now, sim};

const USERS: usize = 300;
const SEED: u64 = 21;

async fn ot_sim() -> OtSimulator {
    let mut c = OtSimConfig::new(USERS, SEED, now());
    c.rate = OtRateConfig::none();
    OtSimulator::start(c, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

async fn add_and_sync(
    store: &Store,
    name: &str,
    kind: IntegrationKind,
    domain: String,
    secret: SecretString,
) -> steward_store::Integration {
    let request = AddIntegration {
        name: name.into(),
        kind,
        domain,
        options: DomainOptions {
            custom_domain: false,
            allow_insecure_loopback: true,
        },
    };
    let i = integrations::add(store, &request, &secret, &FixedClock(now()))
        .await
        .unwrap();
    let report = integrations::test(store, &i, &FixedClock(now()))
        .await
        .unwrap();
    assert!(report.required_ok(), "{report:?}");
    let connector = integrations::connector(store, &i).await.unwrap();
    sync::run(
        store,
        &i,
        connector.as_ref(),
        &FixedClock(now()),
        &NoProgress,
        SyncSettings::default(),
    )
    .await
    .unwrap();
    store.integration(i.id).await.unwrap().unwrap()
}

fn emails(rows: &Value) -> BTreeSet<String> {
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| r["email"].as_str().unwrap().to_lowercase())
        .collect()
}

fn ids(rows: &Value, field: &str) -> BTreeSet<String> {
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| r[field].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orphans_and_leavers_match_the_seeded_drift() {
    let (store, _dir) = steward_store::testing::test_store().await;
    let okta = sim(USERS, SEED, "").await;
    let ot = ot_sim().await;
    add_and_sync(
        &store,
        "okta",
        IntegrationKind::Okta,
        okta.base_url(),
        SecretString::from(okta.token("SUPER_ADMIN")),
    )
    .await;
    add_and_sync(
        &store,
        "onetrust",
        IntegrationKind::Onetrust,
        ot.base_url().to_string(),
        SecretString::from(ot.key(OtKey::Full)),
    )
    .await;
    let truth = ot.truth();
    let drift = &truth["drift"];

    let g = graph::build(&store, now()).await.unwrap();
    assert!(g.has_idp);

    // Leavers: deprovisioned or suspended in Okta, still active in OneTrust — exactly.
    let leavers: BTreeSet<String> = g.leavers().into_iter().map(|l| l.person).collect();
    assert_eq!(leavers, emails(&drift["leavers_active"]), "leavers");
    assert!(!leavers.is_empty(), "the seed should produce leavers");

    // Orphans: active OneTrust accounts with no active Okta user = the leavers' accounts
    // plus the active OneTrust-only accounts (contractors, orphans).
    let active_ot: BTreeSet<String> = ot.with_org(|o| {
        o.users
            .iter()
            .filter(|u| u.active)
            .map(|u| u.id.clone())
            .collect()
    });
    let mut want: BTreeSet<String> = ids(&drift["leavers_active"], "onetrust_id");
    want.extend(
        ids(&drift["onetrust_only"], "onetrust_id")
            .into_iter()
            .filter(|id| active_ot.contains(id)),
    );
    let orphans: BTreeSet<String> = g
        .orphans()
        .into_iter()
        .map(|o| o.account.account_id)
        .collect();
    assert_eq!(orphans, want, "orphans");

    // A person whose OneTrust email differs in case is one person, with the evidence.
    if let Some(row) = drift["email_case"].as_array().and_then(|a| a.first()) {
        let p = g.person(row["okta_email"].as_str().unwrap()).unwrap();
        assert!(p.accounts.iter().any(|a| a.kind == IntegrationKind::Okta));
        let ot_id = row["onetrust_id"].as_str().unwrap();
        let ev = p
            .evidence
            .iter()
            .find(|e| e.account_id == ot_id)
            .expect("evidence of the OneTrust join");
        assert_eq!(ev.value.to_lowercase(), ev.matched);
        assert_eq!(
            ev.matched,
            row["okta_email"].as_str().unwrap().to_lowercase()
        );
    }
    // Okta-only people have no OneTrust account.
    if let Some(row) = drift["okta_only"].as_array().and_then(|a| a.first()) {
        let p = g.person(row["email"].as_str().unwrap()).unwrap();
        assert!(p.accounts.iter().all(|a| a.kind == IntegrationKind::Okta));
    }
    assert!(matches!(
        g.person("not an email"),
        Err(graph::GraphError::BadEmail(_))
    ));
    assert!(matches!(
        g.person("nobody@nowhere.example"),
        Err(graph::GraphError::PersonNotFound(_))
    ));

    // Seats: assigned = active accounts per licence status, as the truth counts them.
    let seats = g.seats();
    let licensed = seats
        .iter()
        .find(|s| s.integration == "onetrust" && s.license_status == "Licensed")
        .expect("Licensed seats");
    assert!(licensed.used_90d <= licensed.assigned && licensed.used_30d <= licensed.used_90d);
    assert_eq!(
        licensed.assigned - licensed.used_90d,
        licensed.unused_90d.len() as u64
    );
    let assigned: u64 = seats
        .iter()
        .filter(|s| s.integration == "onetrust")
        .map(|s| s.assigned)
        .sum();
    assert_eq!(assigned, truth["usage"]["active_users"].as_u64().unwrap());
    let used_90: u64 = seats
        .iter()
        .filter(|s| s.integration == "onetrust")
        .map(|s| s.used_90d)
        .sum();
    assert_eq!(
        used_90,
        truth["usage"]["logged_in_90d"].as_u64().unwrap(),
        "used in 90 days"
    );
    let used_30: u64 = seats
        .iter()
        .filter(|s| s.integration == "onetrust")
        .map(|s| s.used_30d)
        .sum();
    assert_eq!(
        used_30,
        truth["usage"]["logged_in_30d"].as_u64().unwrap(),
        "used in 30 days"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn privacy_requests_span_okta_and_onetrust() {
    use steward_products::requests::{self, IntegrationDeletion, RequestInput};
    use steward_simulator::onetrust::Origin;
    use steward_simulator::org::Status;

    let (store, _dir) = steward_store::testing::test_store().await;
    let okta = sim(120, 5, "").await;
    let ot = {
        let mut c = OtSimConfig::new(120, 5, now());
        c.rate = OtRateConfig::none();
        OtSimulator::start(c, "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap()
    };
    add_and_sync(
        &store,
        "okta",
        IntegrationKind::Okta,
        okta.base_url(),
        SecretString::from(okta.token("SUPER_ADMIN")),
    )
    .await;
    add_and_sync(
        &store,
        "onetrust",
        IntegrationKind::Onetrust,
        ot.base_url().to_string(),
        SecretString::from(ot.key(OtKey::Full)),
    )
    .await;
    // An active person in both systems.
    let (ot_id, email) = ot.with_org(|o| {
        o.users
            .iter()
            .find(|u| u.active && matches!(&u.origin, Origin::Okta { okta_status, .. } if *okta_status == Status::Active))
            .map(|u| (u.id.clone(), u.email.to_lowercase()))
            .expect("a person in both systems")
    });
    let input = RequestInput {
        email: email.clone(),
        requested_by: "tester".into(),
    };

    let access = requests::access(&store, &FixedClock(now()), &input)
        .await
        .unwrap();
    let by_kind = |k: &str| {
        access
            .integrations
            .iter()
            .find(|i| i.kind == k)
            .unwrap_or_else(|| panic!("no {k} answer"))
    };
    assert_eq!(by_kind("okta").accounts.len(), 1);
    let ot_answer = by_kind("onetrust");
    assert_eq!(ot_answer.accounts.len(), 1);
    let data = &ot_answer.accounts[0];
    assert_eq!(data.account.id, ot_id);
    assert!(
        data.roles.is_readable() && !data.roles.items().is_empty(),
        "{:?}",
        data.roles
    );
    assert!(
        data.groups
            .items()
            .iter()
            .any(|g| g.group_type == "ORGANIZATION"),
        "{:?}",
        data.groups
    );
    assert!(data.log_events.is_readable());

    let deletion = requests::delete(&store, &FixedClock(now()), &input, false)
        .await
        .unwrap();
    assert_eq!(deletion.outcome, "deleted", "{deletion:?}");
    let (_, ot_outcome) = deletion
        .integrations
        .iter()
        .find(|(n, _)| n == "onetrust")
        .expect("onetrust outcome");
    match ot_outcome {
        IntegrationDeletion::Deleted { verified, plan, .. } => {
            assert!(verified);
            assert!(
                plan.steps
                    .iter()
                    .any(|s| s.contains("OneTrust keeps the user record")),
                "{:?}",
                plan.steps
            );
        }
        other => panic!("{other:?}"),
    }
    // OneTrust keeps the user, deactivated.
    assert!(ot.with_org(|o| o.users.iter().any(|u| u.id == ot_id && !u.active)));
}
