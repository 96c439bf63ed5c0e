//! Access reviews against the simulator: cases per scope match the org exactly, concurrent
//! reviewers (the first decision wins, the case leaves both queues), recurrence, revocation
//! with a write token (verified in the simulator and its System Log), report-only with a
//! read-only token, and the report in the evidence register.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use steward_products::FixedClock;
use steward_products::reviews::{self, CreateReview, ReportFormat, ReviewError};
use steward_products::sync::{self, NoProgress, SyncSettings};
use steward_simulator::RunningSimulator;
use steward_simulator::org::{GroupType, Holder};
use steward_store::{Integration, Store};

use super::findings::connector_as;
use super::sync::{add, now, sim};

async fn synced(
    users: usize,
    seed: u64,
) -> (
    RunningSimulator,
    Store,
    steward_store::testing::TempDirGuard,
    Integration,
) {
    let sim = sim(users, seed, "").await;
    let (store, dir) = steward_store::testing::test_store().await;
    let integration = add(&store, &sim).await;
    let connector = connector_as(&sim, "SUPER_ADMIN");
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
    let integration = store.integration(integration.id).await.unwrap().unwrap();
    (sim, store, dir, integration)
}

fn request(scope: &str, reviewer: &str) -> CreateReview {
    CreateReview {
        name: format!("Review {scope}"),
        integration: "okta".into(),
        scope: scope.into(),
        reviewer: reviewer.into(),
        due: "2026-12-01".into(),
        recur: None,
        remediation: false,
    }
}

fn edges(cases: &[steward_store::Case]) -> BTreeSet<(String, String, String)> {
    cases
        .iter()
        .map(|c| (c.edge.clone(), c.target_id.clone(), c.account_id.clone()))
        .collect()
}

#[tokio::test]
async fn campaigns_per_scope_hold_exactly_the_graph_edges() {
    let (sim, store, _dir, _) = synced(200, 21).await;
    let clock = FixedClock(now());
    let (app_id, group_id) = sim.with_org(|org| {
        let app = org
            .apps
            .iter()
            .find(|a| !a.users.is_empty() && !a.groups.is_empty())
            .unwrap();
        let group = org
            .groups
            .iter()
            .find(|g| g.kind == GroupType::OktaGroup && g.members.len() > 2)
            .unwrap();
        (app.id.clone(), group.id.clone())
    });

    let v = reviews::create(
        &store,
        &request(&format!("apps:{app_id}"), "alice@acme.example"),
        &clock,
    )
    .await
    .unwrap();
    let (_, cases) = reviews::show(&store, v.campaign.id, &FixedClock(now()))
        .await
        .unwrap();
    let want: BTreeSet<_> = sim.with_org(|org| {
        let a = org.apps.iter().find(|a| a.id == app_id).unwrap();
        a.users
            .iter()
            .map(|u| {
                (
                    "app".to_string(),
                    app_id.clone(),
                    org.users[u.user as usize].id.clone(),
                )
            })
            .collect()
    });
    assert_eq!(edges(&cases), want);
    // Context: MFA known, and group-granted assignments say through which group.
    assert!(
        cases
            .iter()
            .all(|c| c.mfa == "enrolled" || c.mfa == "not_enrolled")
    );
    let via_group = sim.with_org(|org| {
        let a = org.apps.iter().find(|a| a.id == app_id).unwrap();
        a.users
            .iter()
            .filter(|u| u.scope == steward_simulator::org::Scope::Group)
            .count()
    });
    assert!(cases.iter().filter(|c| c.via_group_id.is_some()).count() >= via_group);

    let v = reviews::create(
        &store,
        &request(&format!("groups:{group_id}"), "alice@acme.example"),
        &clock,
    )
    .await
    .unwrap();
    let (_, cases) = reviews::show(&store, v.campaign.id, &FixedClock(now()))
        .await
        .unwrap();
    let want: BTreeSet<_> = sim.with_org(|org| {
        let g = org.groups.iter().find(|g| g.id == group_id).unwrap();
        g.members
            .iter()
            .map(|u| {
                (
                    "group".to_string(),
                    group_id.clone(),
                    org.users[*u as usize].id.clone(),
                )
            })
            .collect()
    });
    assert_eq!(edges(&cases), want);

    let v = reviews::create(&store, &request("admins", "alice@acme.example"), &clock)
        .await
        .unwrap();
    let (_, cases) = reviews::show(&store, v.campaign.id, &FixedClock(now()))
        .await
        .unwrap();
    let want: BTreeSet<_> = sim.with_org(|org| {
        let mut out = BTreeSet::new();
        for r in &org.roles {
            match r.holder {
                Holder::User(u) => {
                    out.insert((
                        "role".to_string(),
                        r.id.clone(),
                        org.users[u as usize].id.clone(),
                    ));
                }
                Holder::Group(g) => {
                    for u in org.group_members(g as usize) {
                        out.insert((
                            "role".to_string(),
                            r.id.clone(),
                            org.users[u as usize].id.clone(),
                        ));
                    }
                }
            }
        }
        out
    });
    assert_eq!(edges(&cases), want);
    assert!(
        cases
            .iter()
            .any(|c| c.via_group_name.as_deref() == Some("Okta Help Desk"))
    );

    let v = reviews::create(&store, &request("all", "alice@acme.example"), &clock)
        .await
        .unwrap();
    let expected = sim.with_org(|org| {
        let apps: usize = org
            .apps
            .iter()
            .filter(|a| !a.deleted)
            .map(|a| a.users.len())
            .sum();
        let groups: usize = org
            .groups
            .iter()
            .filter(|g| g.kind != GroupType::BuiltIn)
            .map(|g| g.members.len())
            .sum();
        apps + groups + want.len()
    });
    assert_eq!(v.cases as usize, expected);

    // Bad input names the flag.
    let bad = reviews::create(&store, &request("apps:", "alice@acme.example"), &clock).await;
    assert!(matches!(bad, Err(ReviewError::BadScope(_))));
    let mut past = request("admins", "alice@acme.example");
    past.due = "2020-01-01".into();
    assert!(matches!(
        reviews::create(&store, &past, &clock).await,
        Err(ReviewError::BadDue(_))
    ));
    sim.shutdown().await;
}

#[tokio::test]
async fn a_case_decided_by_one_reviewer_leaves_the_others_queue() {
    let (sim, store, dir, _) = synced(120, 22).await;
    let clock = FixedClock(now());
    let v = reviews::create(
        &store,
        &request("admins", "alice@acme.example,bob_s@acme.example"),
        &clock,
    )
    .await
    .unwrap();
    let alice = reviews::queue(&store, "alice@acme.example").await.unwrap();
    let bob = reviews::queue(&store, "Bob_S@acme.example").await.unwrap();
    assert_eq!(alice.len() as u64, v.cases);
    assert_eq!(edges(&alice), edges(&bob));
    let case = alice[0].id;
    // Both decide at once; exactly one wins.
    let (a, b) = tokio::join!(
        reviews::decide(
            &store,
            case,
            "alice@acme.example",
            "keep",
            Some("needed for on-call"),
            &clock
        ),
        reviews::decide(&store, case, "bob_s@acme.example", "revoke", None, &clock),
    );
    let loser = match (a, b) {
        (Ok(_), Err(e)) | (Err(e), Ok(_)) => e,
        (a, b) => panic!("exactly one decision must win: {a:?} {b:?}"),
    };
    match &loser {
        ReviewError::AlreadyDecided { by, .. } => assert!(by.ends_with("@acme.example")),
        other => panic!("{other:?}"),
    }
    assert!(loser.to_string().contains("already decided"));
    for who in ["alice@acme.example", "bob_s@acme.example"] {
        let q = reviews::queue(&store, who).await.unwrap();
        assert!(q.iter().all(|c| c.id != case));
        assert_eq!(q.len(), alice.len() - 1);
    }
    // Someone else cannot decide it.
    let other = reviews::decide(
        &store,
        alice[1].id,
        "mallory@acme.example",
        "keep",
        None,
        &clock,
    )
    .await;
    assert!(
        matches!(other, Err(ReviewError::NotReviewer { .. })),
        "{other:?}"
    );
    assert!(matches!(
        reviews::decide(
            &store,
            alice[1].id,
            "alice@acme.example",
            "maybe",
            None,
            &clock
        )
        .await,
        Err(ReviewError::BadDecision(_))
    ));
    drop(dir);
    sim.shutdown().await;
}

#[tokio::test]
async fn recurring_campaigns_start_by_themselves_once() {
    let (sim, store, _dir, _) = synced(100, 23).await;
    let mut req = request("admins", "alice@acme.example");
    req.recur = Some("quarterly".into());
    reviews::create(&store, &req, &FixedClock(now()))
        .await
        .unwrap();
    assert!(
        reviews::start_due(&store, &FixedClock(now() + chrono::Duration::days(30)))
            .await
            .unwrap()
            .is_empty()
    );
    let later = FixedClock(now() + chrono::Duration::days(93));
    let started = reviews::start_due(&store, &later).await.unwrap();
    assert_eq!(started.len(), 1);
    assert!(reviews::start_due(&store, &later).await.unwrap().is_empty());
    assert_eq!(reviews::list(&store, &later).await.unwrap().len(), 2);
    assert!(matches!(
        reviews::Scope::parse("admins"),
        Ok(reviews::Scope::Admins)
    ));
    sim.shutdown().await;
}

#[tokio::test]
async fn revoke_with_a_write_token_removes_and_verifies_and_the_report_is_evidence() {
    let (sim, store, _dir, _) = synced(150, 24).await;
    let clock = FixedClock(now());
    let app_id = sim.with_org(|org| {
        org.apps
            .iter()
            .find(|a| {
                a.users
                    .iter()
                    .filter(|u| u.scope == steward_simulator::org::Scope::User)
                    .count()
                    > 1
            })
            .unwrap()
            .id
            .clone()
    });
    let mut req = request(&format!("apps:{app_id}"), "alice@acme.example");
    req.remediation = true;
    let v = reviews::create(&store, &req, &clock).await.unwrap();
    let (_, cases) = reviews::show(&store, v.campaign.id, &FixedClock(now()))
        .await
        .unwrap();
    let direct = cases
        .iter()
        .find(|c| c.via_group_id.is_none())
        .unwrap()
        .clone();
    reviews::decide(
        &store,
        direct.id,
        "alice@acme.example",
        "revoke",
        Some("left the team"),
        &clock,
    )
    .await
    .unwrap();
    let grouped = cases.iter().find(|c| c.via_group_id.is_some());
    if let Some(g) = grouped {
        reviews::decide(&store, g.id, "alice@acme.example", "revoke", None, &clock)
            .await
            .unwrap();
    }

    // A read-only token cannot write: the revoke becomes a remediation list entry.
    let ro = connector_as(&sim, "READ_ONLY_ADMIN");
    let done = reviews::remediate(&store, v.campaign.id, Some(ro.as_ref()), &clock)
        .await
        .unwrap();
    let first = done.iter().find(|r| r.case == direct.id).unwrap();
    assert_eq!(first.status, "manual", "{done:?}");
    assert!(
        first.detail["role_needed"]
            .as_str()
            .unwrap()
            .contains("SUPER_ADMIN")
    );
    if let Some(g) = grouped {
        assert_eq!(
            done.iter().find(|r| r.case == g.id).unwrap().status,
            "proposed"
        );
    }
    let still = sim.with_org(|org| {
        org.apps
            .iter()
            .find(|a| a.id == app_id)
            .unwrap()
            .users
            .len()
    });
    assert_eq!(still as u64, v.cases);

    // A second campaign on the same app with a write token removes the assignment.
    let v2 = reviews::create(&store, &req, &clock).await.unwrap();
    let (_, cases2) = reviews::show(&store, v2.campaign.id, &FixedClock(now()))
        .await
        .unwrap();
    let target = cases2
        .iter()
        .find(|c| c.account_id == direct.account_id)
        .unwrap();
    reviews::decide(
        &store,
        target.id,
        "alice@acme.example",
        "revoke",
        None,
        &clock,
    )
    .await
    .unwrap();
    let rw = connector_as(&sim, "SUPER_ADMIN");
    let done = reviews::remediate(&store, v2.campaign.id, Some(rw.as_ref()), &clock)
        .await
        .unwrap();
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].status, "removed", "{done:?}");
    assert_eq!(done[0].detail["verified"], true);
    let (gone, logged) = sim.with_org(|org| {
        let a = org.apps.iter().find(|a| a.id == app_id).unwrap();
        let u = org
            .users
            .iter()
            .position(|u| u.id == direct.account_id)
            .unwrap() as u32;
        let gone = !a.users.iter().any(|x| x.user == u);
        let logged = org.logs.iter().any(|e| {
            e.event_type == "application.user_membership.remove"
                && e.targets.iter().any(|t| t.id == direct.account_id)
        });
        (gone, logged)
    });
    assert!(gone && logged);
    // Remediation is recorded once: running it again does nothing.
    assert!(
        reviews::remediate(&store, v2.campaign.id, Some(rw.as_ref()), &clock)
            .await
            .unwrap()
            .is_empty()
    );
    let audit = store.review_audit(v2.campaign.id).await.unwrap();
    assert!(audit.iter().any(|a| a.action == "remediated"));
    assert!(audit.iter().any(|a| a.action == "decided"));

    // The report (CSV/JSON/HTML) lands in the evidence register, mapped to the controls.
    let (csv, ev) = reviews::report(&store, v2.campaign.id, ReportFormat::Csv, &clock)
        .await
        .unwrap();
    assert!(csv.starts_with("case,edge,account"));
    assert!(csv.contains("revoke"));
    let item = store.evidence_item(&ev).await.unwrap().unwrap();
    assert_eq!(item.kind, reviews::KIND_REVIEW);
    let controls = item.controls.to_string();
    assert!(
        controls.contains("CC6.2") && controls.contains("CC6.3") && controls.contains("A.5.18")
    );
    let (html, _) = reviews::report(&store, v2.campaign.id, ReportFormat::Html, &clock)
        .await
        .unwrap();
    assert!(html.contains("<table"));
    let (json, _) = reviews::report(&store, v2.campaign.id, ReportFormat::Json, &clock)
        .await
        .unwrap();
    assert!(json.contains("\"evidence_id\""));
    sim.shutdown().await;
}

#[tokio::test]
async fn revoking_a_group_membership_with_a_write_token_removes_it_verified_and_logged() {
    let (sim, store, _dir, _) = synced(120, 25).await;
    let clock = FixedClock(now());
    let group_id = sim.with_org(|org| {
        org.groups
            .iter()
            .find(|g| g.kind == GroupType::OktaGroup && g.members.len() > 2)
            .unwrap()
            .id
            .clone()
    });
    let mut req = request(&format!("groups:{group_id}"), "alice@acme.example");
    req.remediation = true;
    let v = reviews::create(&store, &req, &clock).await.unwrap();
    let (_, cases) = reviews::show(&store, v.campaign.id, &clock).await.unwrap();
    let target = cases.iter().find(|c| c.edge == "group").unwrap().clone();
    let kept = cases
        .iter()
        .find(|c| c.edge == "group" && c.id != target.id)
        .unwrap()
        .clone();
    reviews::decide(
        &store,
        target.id,
        "alice@acme.example",
        "revoke",
        Some("moved team"),
        &clock,
    )
    .await
    .unwrap();
    reviews::decide(&store, kept.id, "alice@acme.example", "keep", None, &clock)
        .await
        .unwrap();

    let rw = connector_as(&sim, "SUPER_ADMIN");
    let done = reviews::remediate(&store, v.campaign.id, Some(rw.as_ref()), &clock)
        .await
        .unwrap();
    assert_eq!(done.len(), 1, "only the revoke is acted on: {done:?}");
    assert_eq!(done[0].status, "removed", "{done:?}");
    assert_eq!(done[0].detail["verified"], true);
    assert_eq!(
        done[0].detail["change"]["action"],
        "remove_group_membership"
    );
    let (removed, still_kept, logged) = sim.with_org(|org| {
        let g = org.groups.iter().find(|g| g.id == group_id).unwrap();
        let pos = |id: &str| org.users.iter().position(|u| u.id == id).unwrap() as u32;
        let logged = org.logs.iter().any(|e| {
            e.event_type == "group.user_membership.remove"
                && e.targets.iter().any(|t| t.id == target.account_id)
        });
        (
            !g.members.contains(&pos(&target.account_id)),
            g.members.contains(&pos(&kept.account_id)),
            logged,
        )
    });
    assert!(
        removed,
        "the revoked member is gone from the group in the simulator"
    );
    assert!(still_kept, "the kept member is untouched");
    assert!(logged, "the simulator's System Log records the removal");
    let audit = store.review_audit(v.campaign.id).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|a| a.action == "remediated" && a.case_id == Some(target.id)),
        "{audit:?}"
    );
    sim.shutdown().await;
}
