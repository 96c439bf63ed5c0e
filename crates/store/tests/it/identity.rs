//! Identity search: substring and case-insensitive matching, status filter, paging without
//! gaps or duplicates, only current snapshots, erased people absent.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::json;
use steward_model::{Account, App, PrincipalKind, Record, Resource, RoleAssignment};
use steward_store::testing::test_store;
use steward_store::{EmailHash, Erasure, IdentityQuery, NewPrivacyRequest, RequestKind, Store};

use crate::support::{add, group, t};

fn account(n: usize, last: &str, status: &str) -> Record {
    Record::Account(Account {
        id: format!("00u{n:05}"),
        login: format!("user{n}.{}@Example.COM", last.to_lowercase()),
        email: Some(format!("user{n}.{}@example.com", last.to_lowercase())),
        second_email: n.is_multiple_of(7).then(|| format!("alt{n}@mail.test")),
        first_name: Some(format!("First{n}")),
        last_name: Some(last.to_string()),
        display_name: None,
        status: status.to_string(),
        department: Some(
            if n.is_multiple_of(2) {
                "Finance"
            } else {
                "Engineering"
            }
            .to_string(),
        ),
        title: Some("Secret Title".into()),
        manager: None,
        employee_number: None,
        created: None,
        last_login: None,
        last_updated: None,
        license_status: None,
        raw: steward_model::raw_json!({"profile": {"nickname": "hidden-in-raw"}}),
    })
}

fn app(id: &str, label: &str) -> Record {
    Record::App(App {
        id: id.into(),
        name: "bookmark".into(),
        label: label.into(),
        sign_on_mode: None,
        status: "ACTIVE".into(),
        created: None,
        last_updated: None,
        raw: steward_model::raw_json!({}),
    })
}

fn admin(id: &str, account_id: &str) -> Record {
    Record::RoleAssignment(RoleAssignment {
        principal_kind: PrincipalKind::Account,
        principal_id: account_id.into(),
        id: id.into(),
        role_type: "SUPER_ADMIN".into(),
        label: "Super Administrator".into(),
        status: Some("ACTIVE".into()),
        raw: steward_model::raw_json!({}),
    })
}

/// The 60 users of the fixtures: every third suspended, surnames rotating.
fn users() -> Vec<Record> {
    const LAST: [&str; 4] = ["Smith", "Garcia", "O'Brien", "Nguyen"];
    (0..60)
        .map(|n| {
            account(
                n,
                LAST[n % 4],
                if n.is_multiple_of(3) {
                    "SUSPENDED"
                } else {
                    "ACTIVE"
                },
            )
        })
        .collect()
}

/// Stage, index and publish one run of `records` for the integration.
async fn sync(store: &Store, integration_id: i64, records: &[Record], at: i64) -> i64 {
    let run = store
        .begin_run(integration_id, t(at), Duration::from_secs(60))
        .await
        .unwrap();
    store.stage(run, records).await.unwrap();
    store.index_identity(run).await.unwrap();
    store.publish_run(run, &json!({}), t(at + 1)).await.unwrap();
    run
}

fn q(q: &str) -> IdentityQuery {
    IdentityQuery {
        q: Some(q.into()),
        status: None,
        limit: 50,
        offset: 0,
    }
}

async fn ids(store: &Store, resource: Resource, query: &IdentityQuery) -> Vec<String> {
    let page = store.identity_page(resource, query).await.unwrap();
    page.items
        .iter()
        .map(|v| v["id"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn search_is_a_case_insensitive_substring_of_the_named_fields() {
    let (store, _dir) = test_store().await;
    let okta = add(&store, "okta").await;
    let mut records = users();
    records.push(group("00g1"));
    records.push(app("0oa1", "Salesforce Production"));
    records.push(admin("ra1", "00u00005"));
    sync(&store, okta.id, &records, 0).await;

    // Surname, any case; part of an email; the login (stored mixed case).
    assert_eq!(ids(&store, Resource::Users, &q("gARCIA")).await.len(), 15);
    assert_eq!(
        ids(&store, Resource::Users, &q("user12.smith@ex")).await,
        vec!["00u00012"]
    );
    // An id is found whole, as the source spells it; it is not in the trigram index.
    assert_eq!(
        ids(&store, Resource::Users, &q("00u00042")).await,
        vec!["00u00042"]
    );
    assert!(ids(&store, Resource::Users, &q("u00042")).await.is_empty());
    assert_eq!(
        ids(&store, Resource::Users, &q("alt14@")).await,
        vec!["00u00014"]
    );
    assert_eq!(
        ids(&store, Resource::Users, &q("first3 nguyen")).await,
        vec!["00u00003"]
    );
    assert_eq!(ids(&store, Resource::Users, &q("o'brien")).await.len(), 15);
    // LIKE wildcards are literal; unknown text and fields outside the index find nothing.
    assert!(ids(&store, Resource::Users, &q("%")).await.is_empty());
    assert!(ids(&store, Resource::Users, &q("user_")).await.is_empty());
    assert!(
        ids(&store, Resource::Users, &q("no-such-person"))
            .await
            .is_empty()
    );
    assert!(
        ids(&store, Resource::Users, &q("hidden-in-raw"))
            .await
            .is_empty()
    );
    // Two characters work too (a plain scan).
    assert_eq!(ids(&store, Resource::Users, &q("2.")).await.len(), 6);
    // Items are the record without its raw source object.
    let page = store
        .identity_page(Resource::Users, &q("00u00042"))
        .await
        .unwrap();
    assert_eq!(page.items[0]["login"], "user42.o'brien@Example.COM");
    assert!(page.items[0].get("raw").is_none());

    assert_eq!(
        ids(&store, Resource::Groups, &q("GROUP 00g")).await,
        vec!["00g1"]
    );
    assert_eq!(
        ids(&store, Resource::Groups, &q("00g1")).await,
        vec!["00g1"]
    );
    assert_eq!(ids(&store, Resource::Apps, &q("sales")).await, vec!["0oa1"]);
    assert_eq!(
        ids(&store, Resource::Apps, &q(" 0oa1 ")).await,
        vec!["0oa1"]
    );
    // An admin is found by the admin's login.
    assert_eq!(
        ids(&store, Resource::RoleAssignments, &q("user5.garcia")).await,
        vec!["ra1"]
    );
    assert_eq!(
        ids(&store, Resource::RoleAssignments, &q("super")).await,
        vec!["ra1"]
    );
}

#[tokio::test]
async fn status_filter_and_paging_cover_every_match_once_in_key_order() {
    let (store, _dir) = test_store().await;
    let okta = add(&store, "okta").await;
    sync(&store, okta.id, &users(), 0).await;

    let status = |s: &str, q: Option<&str>, offset| IdentityQuery {
        q: q.map(String::from),
        status: Some(s.into()),
        limit: 7,
        offset,
    };
    let first = store
        .identity_page(Resource::Users, &status("SUSPENDED", None, 0))
        .await
        .unwrap();
    assert_eq!(first.items.len(), 7);
    assert!(first.has_more);
    assert!(first.items.iter().all(|v| v["status"] == "SUSPENDED"));
    assert_eq!(
        ids(
            &store,
            Resource::Users,
            &status("SUSPENDED", Some("smith"), 0)
        )
        .await,
        vec!["00u00000", "00u00012", "00u00024", "00u00036", "00u00048"]
    );
    assert!(
        ids(&store, Resource::Users, &status("suspended", None, 0))
            .await
            .is_empty()
    );

    // Every page of 7 over all 60: no gaps, no duplicates, key order, has_more until the end.
    let mut seen = Vec::new();
    let mut offset = 0;
    loop {
        let query = IdentityQuery {
            q: None,
            status: None,
            limit: 7,
            offset,
        };
        let page = store.identity_page(Resource::Users, &query).await.unwrap();
        seen.extend(
            page.items
                .iter()
                .map(|v| v["id"].as_str().unwrap().to_string()),
        );
        offset += 7;
        if !page.has_more {
            break;
        }
    }
    let expected: Vec<String> = (0..60).map(|n| format!("00u{n:05}")).collect();
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn only_current_snapshots_are_searched_and_old_rows_are_dropped() {
    let (store, _dir) = test_store().await;
    let a = add(&store, "a").await;
    let b = add(&store, "b").await;
    let first = sync(&store, a.id, &users(), 0).await;
    assert_eq!(ids(&store, Resource::Users, &q("smith")).await.len(), 15);

    // A new snapshot without the Smiths replaces the old one; the old run's rows are gone.
    let fewer: Vec<Record> = users()
        .into_iter()
        .filter(|r| !matches!(r, Record::Account(a) if a.last_name.as_deref() == Some("Smith")))
        .collect();
    sync(&store, a.id, &fewer, 10).await;
    assert!(ids(&store, Resource::Users, &q("smith")).await.is_empty());
    assert_eq!(ids(&store, Resource::Users, &q("garcia")).await.len(), 15);
    assert_eq!(store.run_rows(first).await.unwrap(), 0);

    // A run staged and indexed but not published (still running), and a failed run, are
    // never searched.
    let other = vec![account(900, "Zed", "ACTIVE")];
    let running = store
        .begin_run(b.id, t(20), Duration::from_secs(60))
        .await
        .unwrap();
    store.stage(running, &other).await.unwrap();
    store.index_identity(running).await.unwrap();
    assert!(ids(&store, Resource::Users, &q("zed")).await.is_empty());
    store
        .fail_run(running, "boom", &json!({}), t(21))
        .await
        .unwrap();
    assert!(ids(&store, Resource::Users, &q("zed")).await.is_empty());

    // Two integrations' current snapshots both show, in run order.
    sync(&store, b.id, &other, 30).await;
    let all = ids(
        &store,
        Resource::Users,
        &IdentityQuery {
            q: None,
            status: None,
            limit: 500,
            offset: 0,
        },
    )
    .await;
    assert_eq!(all.len(), 46);
    assert_eq!(all.last().map(String::as_str), Some("00u00900"));

    // Removing an integration removes its rows.
    store.remove_integration(b.id).await.unwrap();
    assert!(ids(&store, Resource::Users, &q("zed")).await.is_empty());
}

#[tokio::test]
async fn erased_people_are_not_found() {
    let (store, _dir) = test_store().await;
    let okta = add(&store, "okta").await;
    let mut records = users();
    records.push(admin("ra1", "00u00005"));
    sync(&store, okta.id, &records, 0).await;
    assert_eq!(
        ids(&store, Resource::Users, &q("user5.garcia")).await,
        vec!["00u00005"]
    );

    let email = "user5.garcia@example.com";
    let request_id = store
        .create_privacy_request(&NewPrivacyRequest {
            kind: RequestKind::Deletion,
            requested_by: "test".into(),
            requested_at: t(5),
            dry_run: false,
            subject: EmailHash::new(email),
        })
        .await
        .unwrap();
    let identifiers = vec![email.to_string(), "user5.garcia@Example.COM".to_string()];
    store
        .erase_person(&Erasure {
            integration_id: okta.id,
            account_id: "00u00005",
            identifiers: &identifiers,
            request_id,
            email,
            at: t(6),
        })
        .await
        .unwrap();
    assert!(
        ids(&store, Resource::Users, &q("user5.garcia"))
            .await
            .is_empty()
    );
    assert!(
        ids(&store, Resource::Users, &q("00u00005"))
            .await
            .is_empty()
    );
    assert!(
        ids(&store, Resource::RoleAssignments, &q("user5.garcia"))
            .await
            .is_empty()
    );
    let all: BTreeSet<String> = ids(
        &store,
        Resource::Users,
        &IdentityQuery {
            q: None,
            status: None,
            limit: 500,
            offset: 0,
        },
    )
    .await
    .into_iter()
    .collect();
    assert_eq!(all.len(), 59);

    // The next sync does not bring them back: staging leaves erased people out.
    sync(&store, okta.id, &users(), 10).await;
    assert!(
        ids(&store, Resource::Users, &q("user5.garcia"))
            .await
            .is_empty()
    );
    assert_eq!(ids(&store, Resource::Users, &q("garcia")).await.len(), 14);
}

#[tokio::test]
async fn rare_and_common_terms_page_the_same_rows_as_a_full_scan() {
    // Over 2,000 hits a SQLite search scans in order instead of sorting its trigram hits:
    // both ways must give every match once, in key order.
    const N: usize = 2_500;
    const LAST: [&str; 5] = ["Smith", "Garcia", "Jones", "Nguyen", "Kim"];
    let (store, _dir) = test_store().await;
    let okta = add(&store, "okta").await;
    let records: Vec<Record> = (0..N)
        .map(|n| {
            account(
                n,
                LAST[n % 5],
                if n.is_multiple_of(4) {
                    "SUSPENDED"
                } else {
                    "ACTIVE"
                },
            )
        })
        .collect();
    let run = store
        .begin_run(okta.id, t(0), Duration::from_secs(60))
        .await
        .unwrap();
    for chunk in records.chunks(1000) {
        store.stage(run, chunk).await.unwrap();
    }
    assert_eq!(store.index_identity(run).await.unwrap(), N as u64);
    store.publish_run(run, &json!({}), t(1)).await.unwrap();

    for (term, status) in [
        ("garcia", None),
        ("example", None),
        ("example", Some("SUSPENDED")),
        ("user24", None),
        ("ki", None),
    ] {
        let expected: Vec<String> = (0..N)
            .filter(|n| {
                let text = format!(
                    "user{n}.{}@example.com first{n} {}",
                    LAST[n % 5].to_lowercase(),
                    LAST[n % 5].to_lowercase()
                );
                text.contains(term)
                    && status.is_none_or(|s| (s == "SUSPENDED") == n.is_multiple_of(4))
            })
            .map(|n| format!("00u{n:05}"))
            .collect();
        let mut seen = Vec::new();
        let mut offset = 0;
        loop {
            let query = IdentityQuery {
                q: Some(term.into()),
                status: status.map(String::from),
                limit: 500,
                offset,
            };
            let page = store.identity_page(Resource::Users, &query).await.unwrap();
            seen.extend(
                page.items
                    .iter()
                    .map(|v| v["id"].as_str().unwrap().to_string()),
            );
            offset += 500;
            if !page.has_more {
                break;
            }
        }
        assert_eq!(seen.len(), expected.len(), "{term} {status:?}");
        assert_eq!(seen, expected, "{term} {status:?}");
    }
}
