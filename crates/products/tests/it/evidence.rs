//! The evidence register against the simulator: counts match what the simulated org implies,
//! unreadable resources are "not evidenced", and the hash chain detects tampering.
// Helpers below are test code too; clippy's allow-unwrap-in-tests only covers #[test] fns.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use secrecy::SecretString;
use serde_json::Value;
use steward_connectors::DomainOptions;
use steward_model::IntegrationKind;
use steward_products::FixedClock;
use steward_products::evidence::{self, BreakKind};
use steward_products::sync::{self, NoProgress, SyncSettings};
use steward_simulator::RunningSimulator;
use steward_simulator::org::Holder;
use steward_store::EvidenceItem;

use super::sync::{add, connector_for, now, sim};

fn connector_as(sim: &RunningSimulator, role: &str) -> Box<dyn steward_connectors::Connector> {
    let domain = steward_connectors::IntegrationDomain::parse_okta(
        &sim.base_url(),
        DomainOptions {
            custom_domain: false,
            allow_insecure_loopback: true,
        },
    )
    .unwrap();
    steward_connectors::connector_for(
        IntegrationKind::Okta,
        domain,
        SecretString::from(sim.token(role)),
    )
    .unwrap()
}

/// What the org says one admin looks like: status, last login (ms), has factors.
#[derive(Debug, PartialEq)]
struct Admin {
    status: String,
    last_login: Option<i64>,
    mfa: bool,
    roles: usize,
}

fn expected_admins(sim: &RunningSimulator) -> BTreeMap<String, Admin> {
    sim.with_org(|org| {
        let mut roles: BTreeMap<u32, usize> = BTreeMap::new();
        for r in &org.roles {
            match r.holder {
                Holder::User(u) => *roles.entry(u).or_default() += 1,
                Holder::Group(g) => {
                    for u in org.group_members(g as usize) {
                        *roles.entry(u).or_default() += 1;
                    }
                }
            }
        }
        roles
            .into_iter()
            .map(|(u, n)| {
                let user = &org.users[u as usize];
                (
                    user.id.clone(),
                    Admin {
                        status: user.status.as_str().to_string(),
                        last_login: user.last_login,
                        mfa: !user.factors.is_empty(),
                        roles: n,
                    },
                )
            })
            .collect()
    })
}

fn got_admins(item: &EvidenceItem) -> BTreeMap<String, Admin> {
    item.summary["admins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let last_login = a["last_login"].as_str().map(|t| {
                chrono::DateTime::parse_from_rfc3339(t)
                    .unwrap()
                    .timestamp_millis()
            });
            (
                a["user_id"].as_str().unwrap().to_string(),
                Admin {
                    status: a["status"].as_str().unwrap().to_string(),
                    last_login,
                    mfa: a["mfa_enrolled"].as_bool().unwrap(),
                    roles: a["roles"].as_array().unwrap().len(),
                },
            )
        })
        .collect()
}

fn by_kind<'a>(items: &'a [EvidenceItem], kind: &str) -> &'a EvidenceItem {
    items.iter().rev().find(|i| i.kind == kind).unwrap()
}

#[tokio::test]
async fn evidence_counts_match_the_simulated_org_and_the_chain_verifies() {
    let sim = sim(300, 41, "").await;
    let (store, _dir) = steward_store::testing::test_store().await;
    let integration = add(&store, &sim).await;
    let clock = FixedClock(now());
    for _ in 0..2 {
        sync::run(
            &store,
            &integration,
            connector_for(&sim).as_ref(),
            &clock,
            &NoProgress,
            SyncSettings::default(),
        )
        .await
        .unwrap();
    }
    let items = evidence::list(&store).await.unwrap();
    assert_eq!(items.len(), 4, "two items per sync");
    assert_eq!(
        items.iter().map(|i| i.seq).collect::<Vec<_>>(),
        vec![1, 2, 3, 4]
    );

    // MFA policy summary.
    let (enroll, sign_on, rules, rules_mfa) = sim.with_org(|org| {
        let enroll = org
            .policies
            .iter()
            .filter(|p| p.policy_type == "MFA_ENROLL")
            .count();
        let sign_on: Vec<_> = org
            .policies
            .iter()
            .filter(|p| p.policy_type == "OKTA_SIGN_ON" || p.policy_type == "ACCESS_POLICY")
            .collect();
        let rules: usize = sign_on.iter().map(|p| p.rules.len()).sum();
        let mfa: usize = sign_on
            .iter()
            .map(|p| p.rules.iter().filter(|r| r.require_mfa).count())
            .sum();
        (enroll, sign_on.len(), rules, mfa)
    });
    let mfa = by_kind(&items, evidence::KIND_MFA);
    assert_eq!(mfa.status, "evidenced", "{mfa:?}");
    assert!(
        enroll > 0 && sign_on > 0 && rules_mfa > 0,
        "the org should have MFA policies to evidence"
    );
    assert_eq!(mfa.summary["mfa_enrollment_policies"]["count"], enroll);
    assert_eq!(mfa.summary["sign_on_policies"]["count"], sign_on);
    assert_eq!(mfa.summary["active_rules"], rules);
    assert_eq!(mfa.summary["rules_requiring_mfa"], rules_mfa);
    assert_eq!(
        mfa.sources["policies"].as_array().unwrap().len(),
        enroll + sign_on
    );
    assert_eq!(mfa.sources["policy_rules"].as_array().unwrap().len(), rules);
    let controls: Vec<&str> = mfa
        .controls
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["control"].as_str().unwrap())
        .collect();
    assert_eq!(controls, ["A.5.17", "A.8.5", "CC6.1"]);

    // Administrative access review, including roles held through groups.
    let admin = by_kind(&items, evidence::KIND_ADMIN);
    assert_eq!(admin.status, "evidenced", "{admin:?}");
    let expected = expected_admins(&sim);
    assert!(
        sim.with_org(|org| org
            .roles
            .iter()
            .any(|r| matches!(r.holder, Holder::Group(_)))),
        "the org should hold a role through a group, or the test proves less"
    );
    assert_eq!(admin.summary["admin_count"], expected.len());
    assert_eq!(got_admins(admin), expected);
    let (direct, group) = sim.with_org(|org| {
        let d = org
            .roles
            .iter()
            .filter(|r| matches!(r.holder, Holder::User(_)))
            .count();
        (d, org.roles.len() - d)
    });
    assert_eq!(admin.summary["direct_assignments"], direct);
    assert_eq!(admin.summary["group_assignments"], group);
    assert_eq!(
        admin.sources["role_assignments"].as_array().unwrap().len(),
        direct + group
    );
    assert_eq!(
        admin.sources["users"].as_array().unwrap().len(),
        expected.len()
    );
    assert_eq!(admin.integration_name, "okta");

    // The chain links and verifies.
    assert_eq!(items[0].prev_hash, steward_store::GENESIS_HASH);
    for w in items.windows(2) {
        assert_eq!(w[1].prev_hash, w[0].hash);
    }
    let v = evidence::verify(&store).await.unwrap();
    assert!(v.intact, "{v:?}");
    assert_eq!(v.items, 4);
    assert_eq!(
        evidence::show(&store, "EV-2").await.unwrap().kind,
        evidence::KIND_ADMIN
    );
    assert!(matches!(
        evidence::show(&store, "EV-99").await,
        Err(evidence::EvidenceError::NotFound { .. })
    ));
    sim.shutdown().await;
}

#[tokio::test]
async fn read_only_admin_cannot_evidence_admin_access() {
    let sim = sim(150, 42, "").await;
    let (store, _dir) = steward_store::testing::test_store().await;
    let integration = add(&store, &sim).await;
    let connector = connector_as(&sim, "READ_ONLY_ADMIN");
    sync::run(
        &store,
        &integration,
        connector.as_ref(),
        &FixedClock(now()),
        &NoProgress,
        SyncSettings::default(),
    )
    .await
    .unwrap();
    let items = evidence::list(&store).await.unwrap();
    let admin = by_kind(&items, evidence::KIND_ADMIN);
    assert_eq!(admin.status, "not_evidenced", "{admin:?}");
    let reason = admin.reason.clone().unwrap();
    assert!(
        reason.contains("admin role assignments") && reason.contains("403"),
        "{reason}"
    );
    assert!(
        admin.summary.get("admins").is_none(),
        "no (compliant-looking) admin list: {}",
        admin.summary
    );
    assert_eq!(
        admin.summary["not_evidenced"][0]["resource"],
        "role_assignments"
    );
    assert_eq!(admin.sources, Value::Object(Default::default()));
    // Policies are readable by a read-only admin: that item is still evidenced.
    assert_eq!(by_kind(&items, evidence::KIND_MFA).status, "evidenced");
    sim.shutdown().await;
}

#[test]
fn check_chain_names_edited_removed_and_reordered_items() {
    let item = |seq: i64, prev: &str| {
        let mut i = EvidenceItem {
            seq,
            id: steward_store::evidence_id(seq),
            kind: evidence::KIND_MFA.into(),
            integration_id: 1,
            integration_name: "okta".into(),
            run_id: 1,
            collected_at: "2026-11-01T00:00:00.000000Z".into(),
            controls: evidence::mfa_controls(),
            status: "evidenced".into(),
            reason: None,
            summary: serde_json::json!({"n": seq}),
            sources: serde_json::json!({}),
            prev_hash: prev.into(),
            hash: String::new(),
        };
        i.hash = i.compute_hash();
        i
    };
    let a = item(1, steward_store::GENESIS_HASH);
    let b = item(2, &a.hash);
    let c = item(3, &b.hash);
    let chain = vec![a.clone(), b.clone(), c.clone()];
    assert_eq!(evidence::check_chain(&chain, 3, &c.hash), None);

    let mut edited = chain.clone();
    edited[1].summary = serde_json::json!({"n": 99});
    assert_eq!(
        evidence::check_chain(&edited, 3, &c.hash).unwrap().kind,
        BreakKind::Edited
    );

    let removed = vec![a.clone(), c.clone()];
    let brk = evidence::check_chain(&removed, 3, &c.hash).unwrap();
    assert_eq!(
        (brk.kind, brk.item.as_deref()),
        (BreakKind::Removed, Some("EV-3"))
    );
    let trailing = vec![a.clone(), b.clone()];
    assert_eq!(
        evidence::check_chain(&trailing, 3, &c.hash).unwrap().kind,
        BreakKind::Removed
    );

    let (mut b2, mut c2) = (b.clone(), c.clone());
    (b2.seq, c2.seq) = (3, 2);
    let swapped = vec![a, c2, b2];
    let brk = evidence::check_chain(&swapped, 3, &c.hash).unwrap();
    assert_eq!(
        (brk.kind, brk.item.as_deref()),
        (BreakKind::Reordered, Some("EV-3"))
    );
}

#[tokio::test]
async fn concurrent_syncs_of_two_integrations_extend_one_intact_chain() {
    let (a, b) = (sim(100, 43, "").await, sim(100, 44, "").await);
    let (store, _dir) = steward_store::testing::test_store().await;
    let first = add(&store, &a).await;
    let request = steward_products::integrations::AddIntegration {
        name: "okta-two".into(),
        kind: IntegrationKind::Okta,
        domain: b.base_url(),
        options: DomainOptions {
            custom_domain: false,
            allow_insecure_loopback: true,
        },
    };
    let second = steward_products::integrations::add(
        &store,
        &request,
        &SecretString::from(b.token("SUPER_ADMIN")),
        &steward_products::SystemClock,
    )
    .await
    .unwrap();
    let clock = FixedClock(now());
    let (ca, cb) = (connector_for(&a), connector_for(&b));
    let (ra, rb) = tokio::join!(
        sync::run(
            &store,
            &first,
            ca.as_ref(),
            &clock,
            &NoProgress,
            SyncSettings::default()
        ),
        sync::run(
            &store,
            &second,
            cb.as_ref(),
            &clock,
            &NoProgress,
            SyncSettings::default()
        ),
    );
    ra.unwrap();
    rb.unwrap();
    let items = evidence::list(&store).await.unwrap();
    assert_eq!(
        items.iter().map(|i| i.seq).collect::<Vec<_>>(),
        vec![1, 2, 3, 4]
    );
    for name in ["okta", "okta-two"] {
        assert_eq!(
            items.iter().filter(|i| i.integration_name == name).count(),
            2
        );
    }
    let v = evidence::verify(&store).await.unwrap();
    assert!(v.intact, "{v:?}");
    a.shutdown().await;
    b.shutdown().await;
}

/// Evidence collection time on a larger org: `cargo nextest run -p steward-products
/// --run-ignored only evidence_collection_benchmark --no-capture`.
#[tokio::test]
#[ignore = "benchmark: run on demand"]
async fn evidence_collection_benchmark() {
    let users: usize = std::env::var("EVIDENCE_BENCH_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let sim = sim(users, 45, "").await;
    let (store, _dir) = steward_store::testing::test_store().await;
    let integration = add(&store, &sim).await;
    let clock = FixedClock(now());
    let outcome = sync::run(
        &store,
        &integration,
        connector_for(&sim).as_ref(),
        &clock,
        &NoProgress,
        SyncSettings::default(),
    )
    .await
    .unwrap();
    let started = std::time::Instant::now();
    let items = evidence::collect(&store, &integration, outcome.run_id, &clock)
        .await
        .unwrap();
    let collected = started.elapsed();
    let started = std::time::Instant::now();
    store.append_evidence(&items).await.unwrap();
    let appended = started.elapsed();
    let started = std::time::Instant::now();
    assert!(evidence::verify(&store).await.unwrap().intact);
    let verified = started.elapsed();
    let bytes: usize = items
        .iter()
        .map(|i| i.sources.to_string().len() + i.summary.to_string().len())
        .sum();
    println!(
        "{} on {users} users ({} records): collect {collected:?}, append {appended:?}, verify {} items {verified:?}, {bytes} bytes of summary+sources, sync {} ms",
        store.backend(),
        outcome.records,
        evidence::list(&store).await.unwrap().len(),
        outcome.duration_ms,
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn app_admin_evidences_neither_mfa_policies_nor_admin_access() {
    let sim = sim(100, 46, "").await;
    let (store, _dir) = steward_store::testing::test_store().await;
    let integration = add(&store, &sim).await;
    let connector = connector_as(&sim, "APP_ADMIN");
    sync::run(
        &store,
        &integration,
        connector.as_ref(),
        &FixedClock(now()),
        &NoProgress,
        SyncSettings::default(),
    )
    .await
    .unwrap();
    let items = evidence::list(&store).await.unwrap();
    let mfa = by_kind(&items, evidence::KIND_MFA);
    assert_eq!(mfa.status, "not_evidenced", "{mfa:?}");
    assert!(
        mfa.reason
            .as_deref()
            .unwrap()
            .starts_with("policies could not be read"),
        "{mfa:?}"
    );
    assert!(
        mfa.summary.get("sign_on_policies").is_none(),
        "{}",
        mfa.summary
    );
    assert_eq!(
        by_kind(&items, evidence::KIND_ADMIN).status,
        "not_evidenced"
    );
    assert!(evidence::verify(&store).await.unwrap().intact);
    sim.shutdown().await;
}

#[tokio::test]
async fn export_renders_json_csv_and_html_of_the_whole_register() {
    let sim = sim(120, 43, "").await;
    let (store, _dir) = steward_store::testing::test_store().await;
    let integration = add(&store, &sim).await;
    let clock = FixedClock(now());
    sync::run(
        &store,
        &integration,
        connector_for(&sim).as_ref(),
        &clock,
        &NoProgress,
        SyncSettings::default(),
    )
    .await
    .unwrap();
    let items = evidence::list(&store).await.unwrap();
    assert_eq!(items.len(), 2);

    let json = evidence::export(&store, evidence::ExportFormat::Json, &clock)
        .await
        .unwrap();
    assert_eq!((json.items, json.intact), (2, true));
    let doc: Value = serde_json::from_slice(&json.body).unwrap();
    assert_eq!(doc["exported_at"], "2026-11-01T00:00:00Z");
    assert_eq!(doc["verification"]["intact"], true);
    assert_eq!(doc["items"].as_array().unwrap().len(), 2);
    assert_eq!(doc["items"][1]["hash"], items[1].hash.as_str());

    let csv = String::from_utf8(
        evidence::export(&store, evidence::ExportFormat::Csv, &clock)
            .await
            .unwrap()
            .body,
    )
    .unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[0].starts_with("id,seq,kind,integration,"));
    for (line, item) in lines[1..].iter().zip(&items) {
        assert!(
            line.starts_with(&format!("{},{},{},okta,", item.id, item.seq, item.kind)),
            "{line}"
        );
        assert!(line.ends_with(&item.hash), "{line}");
    }

    let html = String::from_utf8(
        evidence::export(&store, evidence::ExportFormat::Html, &clock)
            .await
            .unwrap()
            .body,
    )
    .unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("Evidence register intact: 2 items"), "{html}");
    assert!(html.contains("Exported 2026-11-01T00:00:00Z."));
    for item in &items {
        assert!(html.contains(&format!("<section id=\"{}\">", item.id)));
        assert!(html.contains(&item.hash));
    }
    // Self-contained: no scripts, links or external resources.
    assert!(!html.contains("<script") && !html.contains("src=") && !html.contains("<link"));
    sim.shutdown().await;
}
