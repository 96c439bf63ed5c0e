//! Privacy requests against the simulator: live access export, deletion with write-capable
//! and read-only tokens, ambiguity, idempotency, dry runs and bad input; SQLite or
//! PostgreSQL (`TEST_DATABASE_URL`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use secrecy::SecretString;
use steward_connectors::DomainOptions;
use steward_model::{IntegrationKind, Resource};
use steward_products::FixedClock;
use steward_products::evidence::{self, BreakKind};
use steward_products::integrations::{self, AddIntegration};
use steward_products::requests::{self, IntegrationDeletion, RequestError, RequestInput};
use steward_products::sync::{self, NoProgress, SyncSettings};
use steward_simulator::RunningSimulator;
use steward_simulator::org::{Holder, Org, Status};
use steward_store::{InventoryFilter, Store};

use crate::sync::{now, sim};

async fn add_with(store: &Store, sim: &RunningSimulator, role: &str) -> steward_store::Integration {
    let request = AddIntegration {
        name: "okta".into(),
        kind: IntegrationKind::Okta,
        domain: sim.base_url(),
        options: DomainOptions {
            custom_domain: false,
            allow_insecure_loopback: true,
        },
    };
    integrations::add(
        store,
        &request,
        &SecretString::from(sim.token(role)),
        &FixedClock(now()),
    )
    .await
    .unwrap()
}

async fn synced(store: &Store, sim: &RunningSimulator, role: &str) -> steward_store::Integration {
    let integration = add_with(store, sim, role).await;
    let connector = integrations::connector(store, &integration).await.unwrap();
    sync::run(
        store,
        &integration,
        connector.as_ref(),
        &FixedClock(now()),
        &NoProgress,
        SyncSettings::default(),
    )
    .await
    .unwrap();
    store.integration(integration.id).await.unwrap().unwrap()
}

fn input(email: &str) -> RequestInput {
    RequestInput {
        email: email.to_string(),
        requested_by: "tester".into(),
    }
}

/// Index of an active user with groups, a direct app assignment, factors and System Log
/// events; with `admin`, one who also holds a direct admin role, else one who holds none.
fn rich_user(org: &Org, admin: bool) -> usize {
    let in_logs = |id: &str| {
        org.logs
            .iter()
            .any(|e| e.actor.id == id || e.targets.iter().any(|t| t.id == id))
    };
    let has_role = |u: usize| org.roles.iter().any(|r| r.holder == Holder::User(u as u32));
    let group_role = |u: usize| {
        org.roles
            .iter()
            .any(|r| matches!(r.holder, Holder::Group(g) if org.user_groups[u].contains(&g)))
    };
    let token_user = |u: usize| org.token_users.contains(&(u as u32));
    (0..org.users.len())
        .find(|&u| {
            let user = &org.users[u];
            !user.deleted
                && user.status == Status::Active
                && !user.factors.is_empty()
                && !org.user_groups[u].is_empty()
                && org
                    .apps
                    .iter()
                    .any(|a| !a.deleted && a.users.iter().any(|au| au.user as usize == u))
                && in_logs(&user.id)
                && !token_user(u)
                && if admin {
                    has_role(u)
                } else {
                    !has_role(u) && !group_role(u)
                }
        })
        .expect("no suitable user in the simulated org")
}

fn person(sim: &RunningSimulator, admin: bool) -> (String, String, String) {
    sim.with_org(|org| {
        let u = &org.users[rich_user(org, admin)];
        (u.id.clone(), u.email.clone(), u.login.clone())
    })
}

fn exists_in_sim(sim: &RunningSimulator, id: &str) -> bool {
    sim.with_org(|org| org.find_user(id).is_some())
}

/// Every stored byte of the SQLite database (main file and WAL), lowercased.
fn sqlite_bytes(dir: &steward_store::testing::TempDirGuard) -> Option<Vec<u8>> {
    let path = dir.path()?;
    let mut all = Vec::new();
    for name in ["steward.db", "steward.db-wal"] {
        if let Ok(b) = std::fs::read(path.join(name)) {
            all.extend(b.to_ascii_lowercase());
        }
    }
    Some(all)
}

fn contains(hay: &[u8], needle: &str) -> bool {
    let n = needle.to_ascii_lowercase().into_bytes();
    hay.windows(n.len()).any(|w| w == n.as_slice())
}

/// The text around each occurrence, to say where a leftover is.
fn around(hay: &[u8], needle: &str) -> String {
    let n = needle.to_ascii_lowercase().into_bytes();
    hay.windows(n.len())
        .enumerate()
        .filter(|(_, w)| *w == n.as_slice())
        .take(5)
        .map(|(i, _)| {
            String::from_utf8_lossy(&hay[i.saturating_sub(150)..(i + n.len() + 80).min(hay.len())])
                .into_owned()
        })
        .collect::<Vec<_>>()
        .join("\n---\n")
}

async fn snapshot_mentions(store: &Store, integration_id: i64, needle: &str) -> Vec<String> {
    let mut hits = Vec::new();
    for r in Resource::ALL {
        for rec in store.snapshot_records(integration_id, r).await.unwrap() {
            let text = serde_json::to_string(&rec).unwrap();
            if text.to_lowercase().contains(&needle.to_lowercase()) {
                hits.push(format!("{r}: {}", rec.truth_key()));
            }
        }
    }
    hits
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_exports_every_kind_of_data_live() {
    let sim = sim(300, 41, "").await;
    let (store, _dir) = steward_store::testing::test_store().await;
    add_with(&store, &sim, "SUPER_ADMIN").await;
    let (id, email, _) = person(&sim, true);
    // Upper case on purpose: matching ignores case.
    let report = requests::access(&store, &FixedClock(now()), &input(&email.to_uppercase()))
        .await
        .unwrap();
    assert_eq!(report.integrations.len(), 1);
    let okta = &report.integrations[0];
    assert_eq!(okta.accounts.len(), 1, "{okta:?}");
    let p = &okta.accounts[0];
    assert_eq!(p.account.id, id);
    assert!(
        p.account
            .raw
            .get("profile")
            .is_some_and(|v| v.as_object().is_some_and(|m| m.len() > 3)),
        "profile attributes"
    );
    assert!(!p.groups.items().is_empty(), "groups");
    assert!(!p.apps.items().is_empty(), "apps");
    // The app-user data came embedded (expand=user/{id}) for the apps that keep a profile.
    assert!(
        p.apps.items().iter().all(|a| a.user_name.is_some()),
        "app users embedded: {:?}",
        p.apps
    );
    assert!(!p.factors.items().is_empty(), "factors");
    let factor_json = serde_json::to_string(p.factors.items()).unwrap();
    assert!(
        !factor_json.contains("profile") && !factor_json.contains("phoneNumber"),
        "no factor secrets: {factor_json}"
    );
    assert!(!p.roles.items().is_empty(), "roles: {:?}", p.roles);
    assert!(!p.log_events.items().is_empty(), "log events");
    assert!(
        p.log_events
            .items()
            .iter()
            .all(|e| e.actor_id.as_deref() == Some(id.as_str()) || e.target_ids.contains(&id))
    );
    assert!(okta.api_requests <= 10, "{} requests", okta.api_requests);
    // Audit + receipt, without the email in clear.
    let reqs = store.privacy_requests().await.unwrap();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].status, "completed");
    assert!(reqs[0].subject.matches(&email));
    let receipts = store.privacy_receipts().await.unwrap();
    assert_eq!(receipts[0].outcome, "exported");
    assert!(
        !serde_json::to_string(&receipts)
            .unwrap()
            .to_lowercase()
            .contains(&email.to_lowercase())
    );
    // A name is never an identifier.
    let first = sim.with_org(|org| org.users[org.find_user(&id).unwrap()].first.clone());
    let none = requests::access(
        &store,
        &FixedClock(now()),
        &input(&format!("{first}@example.com")),
    )
    .await
    .unwrap();
    assert!(none.integrations[0].accounts.is_empty());
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_with_read_only_marks_roles_not_readable() {
    let sim = sim(200, 42, "").await;
    let (store, _dir) = steward_store::testing::test_store().await;
    add_with(&store, &sim, "READ_ONLY_ADMIN").await;
    let (_, email, _) = person(&sim, true);
    let report = requests::access(&store, &FixedClock(now()), &input(&email))
        .await
        .unwrap();
    let p = &report.integrations[0].accounts[0];
    match &p.roles {
        steward_connectors::actions::Part::NotReadable { reason } => {
            assert!(reason.contains("403"), "{reason}")
        }
        other => panic!("roles should be unreadable with READ_ONLY_ADMIN: {other:?}"),
    }
    assert!(p.groups.is_readable() && p.apps.is_readable() && p.log_events.is_readable());
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletion_with_super_admin_deletes_verifies_erases_and_is_idempotent() {
    let sim = sim(250, 43, "").await;
    let (store, dir) = steward_store::testing::test_store().await;
    let integration = synced(&store, &sim, "SUPER_ADMIN").await;
    let (id, email, login) = person(&sim, false);
    assert!(
        !snapshot_mentions(&store, integration.id, &id)
            .await
            .is_empty()
    );
    let report = requests::delete(&store, &FixedClock(now()), &input(&email), false)
        .await
        .unwrap();
    assert_eq!(report.outcome, "deleted", "{report:?}");
    match &report.integrations[0].1 {
        IntegrationDeletion::Deleted {
            account_id,
            verified,
            plan,
            erased,
        } => {
            assert_eq!(account_id, &id);
            assert!(verified);
            assert!(!plan.apps.is_empty());
            assert!(erased.records > 0 && erased.log_events > 0, "{erased:?}");
        }
        other => panic!("{other:?}"),
    }
    assert!(!exists_in_sim(&sim, &id), "still in Okta");
    // Local data erased: no snapshot record or log event mentions the person.
    for needle in [&id, &email, &login] {
        let hits = snapshot_mentions(&store, integration.id, needle).await;
        assert!(hits.is_empty(), "{needle} still in {hits:?}");
    }
    if let Some(bytes) = sqlite_bytes(&dir) {
        assert!(
            !contains(&bytes, &id),
            "the user id is still in the SQLite files: {}",
            around(&bytes, &id)
        );
        assert!(
            !contains(&bytes, &email),
            "the email is still in the SQLite files: {}",
            around(&bytes, &email)
        );
    }
    // Audit trail and receipt, without the email.
    let reqs = store.privacy_requests().await.unwrap();
    assert_eq!(reqs[0].status, "completed");
    let events = store.privacy_request_events(reqs[0].id).await.unwrap();
    assert_eq!(
        events.iter().map(|e| e.status.as_str()).collect::<Vec<_>>(),
        ["started", "completed"]
    );
    assert!(
        !serde_json::to_string(&events)
            .unwrap()
            .to_lowercase()
            .contains(&email.to_lowercase())
    );
    let receipt = store
        .deletion_receipt_for(&email.to_uppercase())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(receipt.id, report.receipt_id);
    // Again: already deleted.
    let again = requests::delete(&store, &FixedClock(now()), &input(&email), false)
        .await
        .unwrap();
    assert_eq!(again.outcome, "already_deleted");
    assert_eq!(again.earlier_receipt_id, Some(report.receipt_id));
    sim.shutdown().await;
}

/// An active user holding a direct app-managing admin role (so both the evidence register and
/// the inventory name them) who is not one of the token's own admins.
fn app_admin(org: &Org) -> usize {
    (0..org.users.len())
        .find(|&u| {
            let user = &org.users[u];
            !user.deleted
                && user.status == Status::Active
                && !org.token_users.contains(&(u as u32))
                && org.roles.iter().any(|r| {
                    r.holder == Holder::User(u as u32)
                        && ["SUPER_ADMIN", "ORG_ADMIN", "APP_ADMIN"].contains(&r.role_type)
                })
        })
        .expect("no app-managing admin in the simulated org")
}

async fn sync_again(store: &Store, integration: &steward_store::Integration) {
    let connector = integrations::connector(store, integration).await.unwrap();
    sync::run(
        store,
        integration,
        connector.as_ref(),
        &FixedClock(now()),
        &NoProgress,
        SyncSettings::default(),
    )
    .await
    .unwrap();
}

/// Where `needle` still is, among what the store's API can read back: snapshot records and
/// log events, evidence items, inventory items and their latest changes.
async fn leftovers(store: &Store, integration_id: i64, needle: &str) -> Vec<String> {
    let mut hits = snapshot_mentions(store, integration_id, needle).await;
    let n = needle.to_lowercase();
    for item in store.evidence_items().await.unwrap() {
        if serde_json::to_string(&item)
            .unwrap()
            .to_lowercase()
            .contains(&n)
        {
            hits.push(format!("evidence {}", item.id));
        }
    }
    for item in store
        .inventory_items(&InventoryFilter::default())
        .await
        .unwrap()
    {
        if serde_json::to_string(&item)
            .unwrap()
            .to_lowercase()
            .contains(&n)
        {
            hits.push(format!("inventory item {}", item.facts.app_id));
        }
    }
    if let Some(changes) = store.inventory_changes(integration_id).await.unwrap()
        && serde_json::to_string(&changes)
            .unwrap()
            .to_lowercase()
            .contains(&n)
    {
        hits.push("inventory changes".into());
    }
    hits
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_an_admin_erases_evidence_and_inventory_keeps_verify_and_survives_a_resync() {
    let sim = sim(250, 50, "").await;
    let (store, dir) = steward_store::testing::test_store().await;
    let integration = synced(&store, &sim, "SUPER_ADMIN").await;
    sync_again(&store, &integration).await;
    let (id, email, login) = sim.with_org(|org| {
        let u = &org.users[app_admin(org)];
        (u.id.clone(), u.email.clone(), u.login.clone())
    });
    let before = leftovers(&store, integration.id, &login).await;
    assert!(
        before.iter().any(|h| h.starts_with("evidence")),
        "the admin review names them: {before:?}"
    );
    assert!(
        before.iter().any(|h| h.starts_with("inventory item")),
        "the inventory lists them as admin: {before:?}"
    );

    let report = requests::delete(&store, &FixedClock(now()), &input(&email), false)
        .await
        .unwrap();
    assert_eq!(report.outcome, "deleted", "{report:?}");
    match &report.integrations[0].1 {
        IntegrationDeletion::Deleted { erased, .. } => {
            assert!(
                erased.evidence_entries > 0 && erased.inventory > 0,
                "{erased:?}"
            )
        }
        other => panic!("{other:?}"),
    }
    let check_absent = |when: &'static str| {
        let (store, dir, id, email, login) = (&store, &dir, &id, &email, &login);
        async move {
            for needle in [id, email, login] {
                let hits = leftovers(store, integration.id, needle).await;
                assert!(hits.is_empty(), "{when}: {needle} still in {hits:?}");
            }
            // Every table, every page, and the WAL (SQLite).
            if let Some(bytes) = sqlite_bytes(dir) {
                for needle in [id, email, login] {
                    assert!(
                        !contains(&bytes, needle),
                        "{when}: {needle} in the SQLite files: {}",
                        around(&bytes, needle)
                    );
                }
            }
        }
    };
    check_absent("after the deletion").await;
    let v = evidence::verify(&store).await.unwrap();
    assert!(v.intact, "{v:?}");
    assert!(v.redacted_entries > 0, "{v:?}");
    let redactions = store.evidence_redactions().await.unwrap();
    assert_eq!(redactions.len() as u64, v.redacted_entries);
    assert!(
        redactions.iter().all(|r| r.request_id == report.request_id),
        "{redactions:?}"
    );

    // The next sync reads Okta's deactivation/deletion events (naming them) back: left out.
    sync_again(&store, &integration).await;
    check_absent("after a resync").await;
    assert!(evidence::verify(&store).await.unwrap().intact);

    // A forged redaction (content replaced by its digest, no redaction record) is an edit,
    // and a recorded redaction does not excuse another entry or another item.
    let items = store.evidence_items().await.unwrap();
    let head = store.evidence_head().await.unwrap();
    assert_eq!(
        evidence::check_chain_with(&items, &redactions, head.last_seq, &head.last_hash),
        None
    );
    let forge = |items: &[steward_store::EvidenceItem], seq: usize, pointer: &str| {
        let mut forged = items.to_vec();
        let item = &mut forged[seq];
        let (root, rest) = pointer.trim_start_matches('/').split_once('/').unwrap();
        let target = if root == "summary" {
            &mut item.summary
        } else {
            &mut item.sources
        };
        let slot = target.pointer_mut(&format!("/{rest}")).unwrap();
        *slot = serde_json::json!({ "redacted": steward_store::entry_digest(slot) });
        forged
    };
    let clear = items
        .iter()
        .enumerate()
        .find_map(|(i, it)| {
            let redacted: Vec<String> = it.redacted_entries().into_iter().map(|(p, _)| p).collect();
            it.personal_entries()
                .into_iter()
                .find(|p| !redacted.contains(p))
                .map(|p| (i, p))
        })
        .unwrap();
    let forged = forge(&items, clear.0, &clear.1);
    assert_eq!(
        forged[clear.0].compute_hash(),
        forged[clear.0].hash,
        "the digest layout keeps the hash"
    );
    let brk =
        evidence::check_chain_with(&forged, &redactions, head.last_seq, &head.last_hash).unwrap();
    assert_eq!(brk.kind, BreakKind::Edited, "{brk:?}");
    assert!(brk.detail.contains("without a redaction record"), "{brk:?}");
    // Without its records, a genuine redaction is unaccounted for too.
    let brk = evidence::check_chain_with(&items, &[], head.last_seq, &head.last_hash).unwrap();
    assert_eq!(brk.kind, BreakKind::Edited, "{brk:?}");
    // Editing a redacted item elsewhere is still caught.
    let mut edited = items.clone();
    let r = edited
        .iter_mut()
        .find(|i| !i.redacted_entries().is_empty())
        .unwrap();
    r.summary["admin_count"] = serde_json::json!(0);
    assert_eq!(
        evidence::check_chain_with(&edited, &redactions, head.last_seq, &head.last_hash)
            .unwrap()
            .kind,
        BreakKind::Edited
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletion_with_org_admin_works_too() {
    let sim = sim(150, 44, "").await;
    let (store, _dir) = steward_store::testing::test_store().await;
    add_with(&store, &sim, "ORG_ADMIN").await;
    let (id, email, _) = person(&sim, false);
    let report = requests::delete(&store, &FixedClock(now()), &input(&email), false)
        .await
        .unwrap();
    assert_eq!(report.outcome, "deleted", "{report:?}");
    assert!(!exists_in_sim(&sim, &id));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletion_with_read_only_is_refused_with_role_and_plan() {
    let sim = sim(200, 45, "").await;
    let (store, _dir) = steward_store::testing::test_store().await;
    let integration = synced(&store, &sim, "READ_ONLY_ADMIN").await;
    let (id, email, _) = person(&sim, false);
    let before = store.snapshot_digests(integration.id).await.unwrap();
    let report = requests::delete(&store, &FixedClock(now()), &input(&email), false)
        .await
        .unwrap();
    assert_eq!(report.outcome, "refused");
    assert!(!report.succeeded());
    match &report.integrations[0].1 {
        IntegrationDeletion::Refused {
            role_needed, plan, ..
        } => {
            assert!(
                role_needed.contains("SUPER_ADMIN") && role_needed.contains("ORG_ADMIN"),
                "{role_needed}"
            );
            assert!(!plan.apps.is_empty(), "recipients listed");
            assert!(plan.steps.iter().any(|s| s.contains("delete Okta user")));
        }
        other => panic!("{other:?}"),
    }
    assert!(exists_in_sim(&sim, &id));
    assert_eq!(
        sim.with_org(|o| o.users[o.find_user(&id).unwrap()].status),
        Status::Active
    );
    assert_eq!(
        store.snapshot_digests(integration.id).await.unwrap(),
        before
    );
    assert_eq!(store.privacy_requests().await.unwrap()[0].status, "refused");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ambiguous_email_is_refused_with_candidates() {
    let sim = sim(200, 46, "").await;
    let (store, _dir) = steward_store::testing::test_store().await;
    let integration = synced(&store, &sim, "SUPER_ADMIN").await;
    let (id, email, _) = person(&sim, false);
    let other = sim.with_org(|org| {
        org.users
            .iter()
            .find(|u| u.id != id && !u.deleted)
            .unwrap()
            .id
            .clone()
    });
    // Test hook: the other user's secondEmail becomes this person's email.
    let resp = reqwest_post(
        &format!("{}/__sim/users/{other}/second-email", sim.base_url()),
        &email.to_uppercase(),
    )
    .await;
    assert_eq!(resp, 204);
    let before = store.snapshot_digests(integration.id).await.unwrap();
    let report = requests::delete(&store, &FixedClock(now()), &input(&email), false)
        .await
        .unwrap();
    assert_eq!(report.outcome, "ambiguous");
    let mut ids: Vec<&str> = report.candidates.iter().map(|c| c.id.as_str()).collect();
    ids.sort();
    let mut want = vec![id.as_str(), other.as_str()];
    want.sort();
    assert_eq!(ids, want);
    assert!(exists_in_sim(&sim, &id) && exists_in_sim(&sim, &other));
    assert_eq!(
        store.snapshot_digests(integration.id).await.unwrap(),
        before
    );
    sim.shutdown().await;
}

/// A bare HTTP/1.1 POST (the simulator's control routes need no token); returns the status.
async fn reqwest_post(url: &str, body: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let mut s = tokio::net::TcpStream::connect(host).await.unwrap();
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_changes_nothing() {
    let sim = sim(200, 47, "").await;
    let (store, _dir) = steward_store::testing::test_store().await;
    let integration = synced(&store, &sim, "SUPER_ADMIN").await;
    let (id, email, _) = person(&sim, false);
    let before = store.snapshot_digests(integration.id).await.unwrap();
    let truth = sim.truth();
    let report = requests::delete(&store, &FixedClock(now()), &input(&email), true)
        .await
        .unwrap();
    assert_eq!(report.outcome, "dry_run");
    match &report.integrations[0].1 {
        IntegrationDeletion::WouldDelete { plan } => assert_eq!(plan.account_id, id),
        other => panic!("{other:?}"),
    }
    assert!(exists_in_sim(&sim, &id));
    assert_eq!(
        serde_json::to_value(sim.truth().resources).unwrap(),
        serde_json::to_value(truth.resources).unwrap()
    );
    assert_eq!(
        store.snapshot_digests(integration.id).await.unwrap(),
        before
    );
    // A dry run leaves no "deleted" receipt behind.
    assert!(store.deletion_receipt_for(&email).await.unwrap().is_none());
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_email_and_no_match() {
    let sim = sim(100, 48, "").await;
    let (store, _dir) = steward_store::testing::test_store().await;
    add_with(&store, &sim, "SUPER_ADMIN").await;
    for bad in [
        "",
        "no-at-sign",
        "a@b",
        "two@@x.com",
        "sp ace@x.com",
        "q\"uote@x.com",
        "a@x..com",
    ] {
        let e = requests::delete(&store, &FixedClock(now()), &input(bad), false)
            .await
            .unwrap_err();
        assert!(
            matches!(e, RequestError::BadEmail { .. }) && e.is_usage(),
            "{bad:?}: {e}"
        );
        assert!(e.to_string().starts_with("--email"), "{e}");
    }
    assert!(
        store.privacy_requests().await.unwrap().is_empty(),
        "bad input writes nothing"
    );
    let r = requests::delete(
        &store,
        &FixedClock(now()),
        &input("nobody.at.all@example.org"),
        false,
    )
    .await
    .unwrap();
    assert_eq!(r.outcome, "no_match");
    assert!(r.succeeded());
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deprovisioned_accounts_are_found_and_deleted_without_deactivation() {
    let sim = sim(200, 49, "").await;
    let (store, _dir) = steward_store::testing::test_store().await;
    add_with(&store, &sim, "SUPER_ADMIN").await;
    let (id, login) = sim.with_org(|org| {
        let u = org
            .users
            .iter()
            .find(|u| u.status == Status::Deprovisioned && !u.deleted)
            .unwrap();
        (u.id.clone(), u.login.clone())
    });
    let access = requests::access(&store, &FixedClock(now()), &input(&login))
        .await
        .unwrap();
    assert_eq!(access.integrations[0].accounts.len(), 1);
    assert_eq!(
        access.integrations[0].accounts[0].account.status,
        "DEPROVISIONED"
    );
    let deactivations = || {
        sim.with_org(|org| {
            org.logs
                .iter()
                .filter(|e| {
                    e.event_type == "user.lifecycle.deactivate"
                        && e.targets.iter().any(|t| t.id == id)
                })
                .count()
        })
    };
    let before = deactivations();
    let report = requests::delete(&store, &FixedClock(now()), &input(&login), false)
        .await
        .unwrap();
    assert_eq!(report.outcome, "deleted", "{report:?}");
    assert!(
        matches!(
            &report.integrations[0].1,
            IntegrationDeletion::Deleted { verified: true, .. }
        ),
        "{report:?}"
    );
    assert_eq!(
        deactivations(),
        before,
        "an already deprovisioned user is not deactivated again"
    );
    assert!(!exists_in_sim(&sim, &id));
    sim.shutdown().await;
}
