//! Identity-graph findings (`leaver_account`, `orphan_account`) on a seeded Okta + OneTrust
//! pair: not evaluated while no identity provider is synced, then exactly the simulators'
//! seeded drift, new at the Okta sync that makes a leaver, resolved at the OneTrust sync that
//! deactivates the account. SQLite, or PostgreSQL with `TEST_DATABASE_URL`.

use std::collections::BTreeSet;

use secrecy::SecretString;
use serde_json::{Value, json};
use steward_connectors::DomainOptions;
use steward_model::IntegrationKind;
use steward_products::FixedClock;
use steward_products::findings::{self, Kind};
use steward_products::integrations::{self, AddIntegration};
use steward_products::sync::{self, NoProgress, SyncSettings};
use steward_simulator::onetrust::{Origin, OtKey, OtRateConfig, OtSimConfig, OtSimulator};
use steward_simulator::org::Status;
use steward_store::{Finding, Integration, Store};

use crate::sync::{now, sim};

const USERS: usize = 300;
const SEED: u64 = 23;

async fn ot_sim() -> OtSimulator {
    let mut c = OtSimConfig::new(USERS, SEED, now());
    c.rate = OtRateConfig::none();
    OtSimulator::start(c, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

async fn add(
    store: &Store,
    name: &str,
    kind: IntegrationKind,
    domain: String,
    secret: &str,
) -> Integration {
    let request = AddIntegration {
        name: name.into(),
        kind,
        domain,
        options: DomainOptions {
            custom_domain: false,
            allow_insecure_loopback: true,
        },
    };
    integrations::add(
        store,
        &request,
        &SecretString::from(secret.to_string()),
        &FixedClock(now()),
    )
    .await
    .unwrap()
}

/// One sync run; its run id.
async fn sync_once(store: &Store, integration: &Integration) -> i64 {
    let i = store.integration(integration.id).await.unwrap().unwrap();
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
    .unwrap()
    .run_id
}

fn ids(rows: &Value, field: &str) -> BTreeSet<String> {
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| r[field].as_str().unwrap().to_string())
        .collect()
}

fn keys(items: &[Finding], kind: Kind) -> BTreeSet<String> {
    items
        .iter()
        .filter(|f| f.kind == kind.as_str())
        .map(|f| f.subject_key.clone())
        .collect()
}

async fn open(store: &Store, kind: Kind) -> Vec<Finding> {
    findings::list(store, Some(kind.as_str()), false)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orphan_and_leaver_findings_match_the_seeded_drift_whichever_syncs_last() {
    let (store, _dir) = steward_store::testing::test_store().await;
    let okta = sim(USERS, SEED, "").await;
    let ot = ot_sim().await;
    let truth = ot.truth();
    let drift = &truth["drift"];
    let active_ot: BTreeSet<String> = ot.with_org(|o| {
        o.users
            .iter()
            .filter(|u| u.active)
            .map(|u| u.id.clone())
            .collect()
    });
    let want_leavers = ids(&drift["leavers_active"], "onetrust_id");
    let want_orphans: BTreeSet<String> = ids(&drift["onetrust_only"], "onetrust_id")
        .into_iter()
        .filter(|id| active_ot.contains(id))
        .collect();
    assert!(
        !want_leavers.is_empty() && !want_orphans.is_empty(),
        "the seed should produce both kinds"
    );
    assert!(want_leavers.is_disjoint(&want_orphans));

    // OneTrust alone: nothing to judge its accounts against, so not evaluated (not "none").
    let onetrust = add(
        &store,
        "onetrust",
        IntegrationKind::Onetrust,
        ot.base_url().to_string(),
        &ot.key(OtKey::Full),
    )
    .await;
    sync_once(&store, &onetrust).await;
    let evals: Vec<_> = findings::evaluations(&store)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.integration_id == onetrust.id)
        .collect();
    let kinds: BTreeSet<String> = evals.iter().map(|e| e.kind.clone()).collect();
    assert_eq!(
        kinds,
        Kind::GRAPH
            .iter()
            .map(|k| k.as_str().to_string())
            .collect::<BTreeSet<_>>()
    );
    for e in &evals {
        assert!(!e.evaluated, "{e:?}");
        assert_eq!(
            e.reason.as_deref(),
            Some(
                "not evaluated: no identity-provider (Okta) integration has been synced; orphans and leavers are judged against its users"
            )
        );
    }
    assert!(open(&store, Kind::LeaverAccount).await.is_empty());
    assert!(open(&store, Kind::OrphanAccount).await.is_empty());

    // Okta synced last: the OneTrust integration's graph findings come with the Okta run.
    let okta_i = add(
        &store,
        "okta",
        IntegrationKind::Okta,
        okta.base_url(),
        &okta.token("SUPER_ADMIN"),
    )
    .await;
    let run2 = sync_once(&store, &okta_i).await;
    let leavers = open(&store, Kind::LeaverAccount).await;
    let orphans = open(&store, Kind::OrphanAccount).await;
    assert_eq!(keys(&leavers, Kind::LeaverAccount), want_leavers, "leavers");
    assert_eq!(keys(&orphans, Kind::OrphanAccount), want_orphans, "orphans");
    for f in leavers.iter().chain(&orphans) {
        assert_eq!(f.integration_id, onetrust.id, "{f:?}");
        assert_eq!(f.first_seen_run, run2, "{f:?}");
        assert_eq!(
            f.severity,
            if f.kind == "leaver_account" {
                "high"
            } else {
                "medium"
            }
        );
    }
    let evals: Vec<_> = findings::evaluations(&store)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.integration_id == onetrust.id)
        .collect();
    assert_eq!(evals.len(), 2);
    assert!(
        evals
            .iter()
            .all(|e| e.evaluated && e.reason.is_none() && e.run_id == run2),
        "{evals:?}"
    );
    let open_counts: BTreeSet<(String, u64)> = evals
        .iter()
        .map(|e| (e.kind.clone(), e.open_count))
        .collect();
    assert_eq!(
        open_counts,
        BTreeSet::from([
            ("leaver_account".to_string(), want_leavers.len() as u64),
            ("orphan_account".to_string(), want_orphans.len() as u64)
        ])
    );

    // Evidence: the Okta user and its status, the still-active OneTrust account, the join.
    let row = &drift["leavers_active"][0];
    let f = leavers
        .iter()
        .find(|f| f.subject_key == row["onetrust_id"].as_str().unwrap())
        .unwrap();
    assert_eq!(
        f.evidence["person"],
        json!(row["email"].as_str().unwrap().to_lowercase())
    );
    assert_eq!(f.evidence["account"]["account_id"], row["onetrust_id"]);
    assert_eq!(f.evidence["account"]["integration"], "onetrust");
    assert_eq!(f.evidence["account"]["status"], "ACTIVE");
    assert_eq!(f.evidence["idp_accounts"][0]["account_id"], row["okta_id"]);
    assert_eq!(f.evidence["idp_accounts"][0]["status"], row["okta_status"]);
    assert!(
        f.evidence["join_evidence"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["account_id"] == row["onetrust_id"])
    );
    assert!(
        f.detail.contains(row["okta_status"].as_str().unwrap()),
        "{}",
        f.detail
    );
    let row = drift["onetrust_only"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| want_orphans.contains(r["onetrust_id"].as_str().unwrap()))
        .unwrap();
    let f = orphans
        .iter()
        .find(|f| f.subject_key == row["onetrust_id"].as_str().unwrap())
        .unwrap();
    assert_eq!(
        f.evidence["reason"],
        "no identity-provider (Okta) user has this email"
    );
    assert_eq!(
        f.evidence["account"]["login"]
            .as_str()
            .unwrap()
            .to_lowercase(),
        row["email"].as_str().unwrap().to_lowercase()
    );
    assert_eq!(f.evidence["other_accounts"], json!([]));

    // Okta again, unchanged: nothing new, nothing resolved.
    let run3 = sync_once(&store, &okta_i).await;
    let (new, resolved) = store.finding_changes(run3).await.unwrap();
    assert!(
        new.iter()
            .chain(&resolved)
            .all(|f| f.integration_id != onetrust.id),
        "{new:?} {resolved:?}"
    );
    assert_eq!(
        keys(
            &open(&store, Kind::LeaverAccount).await,
            Kind::LeaverAccount
        ),
        want_leavers
    );

    // Deactivating an active person in Okta makes a new leaver at that Okta run.
    let (okta_id, ot_id) = ot.with_org(|o| {
        o.users
            .iter()
            .find_map(|u| match &u.origin {
                Origin::Okta {
                    okta_id,
                    okta_status: Status::Active,
                    ..
                } if u.active => Some((okta_id.clone(), u.id.clone())),
                _ => None,
            })
            .expect("an active person in both systems")
    });
    let resp = reqwest::Client::new()
        .post(format!(
            "{}/api/v1/users/{okta_id}/lifecycle/deactivate",
            okta.base_url()
        ))
        .header(
            "Authorization",
            format!("SSWS {}", okta.token("SUPER_ADMIN")),
        )
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
    let run4 = sync_once(&store, &okta_i).await;
    let (new, resolved) = store.finding_changes(run4).await.unwrap();
    let new_graph: Vec<(String, String)> = new
        .iter()
        .filter(|f| f.integration_id == onetrust.id)
        .map(|f| (f.kind.clone(), f.subject_key.clone()))
        .collect();
    assert_eq!(
        new_graph,
        vec![("leaver_account".to_string(), ot_id.clone())]
    );
    assert!(
        resolved.iter().all(|f| f.integration_id != onetrust.id),
        "{resolved:?}"
    );
    let mut leavers_now = want_leavers.clone();
    leavers_now.insert(ot_id.clone());
    assert_eq!(
        keys(
            &open(&store, Kind::LeaverAccount).await,
            Kind::LeaverAccount
        ),
        leavers_now
    );

    // Deactivating a leaver's and an orphan's OneTrust accounts resolves both at the OneTrust run.
    let leaver_gone = want_leavers.iter().next().unwrap().clone();
    let orphan_gone = want_orphans.iter().next().unwrap().clone();
    for id in [&leaver_gone, &orphan_gone] {
        let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                           "Operations": [{"op": "replace", "path": "active", "value": false}]});
        let resp = reqwest::Client::new()
            .patch(format!(
                "{}/api/scim/v2/Users/{id}",
                ot.base_url().as_str().trim_end_matches('/')
            ))
            .bearer_auth(ot.key(OtKey::Full))
            .header("Content-Type", "application/scim+json")
            .body(patch.to_string())
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "{}", resp.status());
    }
    let run5 = sync_once(&store, &onetrust).await;
    let (new, resolved) = store.finding_changes(run5).await.unwrap();
    assert!(new.is_empty(), "{new:?}");
    let gone: BTreeSet<(String, String)> = resolved
        .iter()
        .map(|f| (f.kind.clone(), f.subject_key.clone()))
        .collect();
    assert_eq!(
        gone,
        BTreeSet::from([
            ("leaver_account".to_string(), leaver_gone.clone()),
            ("orphan_account".to_string(), orphan_gone.clone())
        ])
    );
    leavers_now.remove(&leaver_gone);
    let mut orphans_now = want_orphans.clone();
    orphans_now.remove(&orphan_gone);
    assert_eq!(
        keys(
            &open(&store, Kind::LeaverAccount).await,
            Kind::LeaverAccount
        ),
        leavers_now
    );
    assert_eq!(
        keys(
            &open(&store, Kind::OrphanAccount).await,
            Kind::OrphanAccount
        ),
        orphans_now
    );
    // The history keeps the resolved ones with their first run.
    let all = findings::list(&store, Some("leaver_account"), true)
        .await
        .unwrap();
    let old = all.iter().find(|f| f.subject_key == leaver_gone).unwrap();
    assert_eq!((old.first_seen_run, old.resolved_run), (run2, Some(run5)));
    // The new kinds parse (CLI `--kind`, API `?kind=`).
    assert_eq!(Kind::parse("orphan_account"), Some(Kind::OrphanAccount));
    assert_eq!(Kind::parse("leaver_account"), Some(Kind::LeaverAccount));
    okta.shutdown().await;
    ot.shutdown().await;
}
