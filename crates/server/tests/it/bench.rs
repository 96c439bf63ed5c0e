//! Latency of the users search on a 100,000-user snapshot (run on demand:
//! `cargo test -p steward-server --test it bench -- --ignored --nocapture`).

use std::time::{Duration, Instant};

use serde_json::json;
use steward_model::{Account, Record};
use steward_store::ResourceOutcome;

use crate::helpers::{sim_now, spawn_app};

const USERS: usize = 100_000;

fn account(i: usize) -> Record {
    let login = format!("user{i:06}@acme.example");
    Record::Account(Account {
        id: format!("00u{i:017}"),
        login: login.clone(),
        email: Some(login.clone()),
        second_email: None,
        first_name: Some(format!("First{i}")),
        last_name: Some(format!("Last{i}")),
        display_name: None,
        status: if i.is_multiple_of(10) {
            "SUSPENDED".into()
        } else {
            "ACTIVE".into()
        },
        department: Some(format!("Dept{}", i % 40)),
        title: Some("Engineer".into()),
        manager: None,
        employee_number: Some(i.to_string()),
        created: Some(sim_now()),
        last_login: Some(sim_now()),
        last_updated: Some(sim_now()),
        license_status: None,
        // Roughly the size of a real Okta user object.
        raw: steward_model::raw_json!({"id": format!("00u{i:017}"), "status": "ACTIVE", "profile": {"login": login, "email": login,
            "firstName": format!("First{i}"), "lastName": format!("Last{i}"), "department": format!("Dept{}", i % 40),
            "title": "Engineer", "mobilePhone": "+1 555 0100", "city": "Berlin", "countryCode": "DE"},
            "_links": {"self": {"href": format!("https://acme.okta.com/api/v1/users/00u{i:017}")}}}),
    })
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: stages 100,000 users; run with --ignored --nocapture"]
async fn bench_users_search_on_100k_users() {
    let app = spawn_app(10).await;
    let integration = app
        .store
        .create_integration(
            &steward_store::NewIntegration {
                name: "big".into(),
                kind: steward_model::IntegrationKind::Okta,
                base_url: "https://acme.okta.com".into(),
                settings: json!({}),
            },
            &secrecy::SecretString::from("t"),
            sim_now(),
        )
        .await
        .unwrap();
    let run = app
        .store
        .begin_run(integration.id, sim_now(), Duration::from_secs(60))
        .await
        .unwrap();
    let records: Vec<Record> = (0..USERS).map(account).collect();
    for chunk in records.chunks(2_000) {
        app.store.stage(run, chunk).await.unwrap();
    }
    app.store
        .mark_resource(
            run,
            steward_model::Resource::Users,
            &ResourceOutcome::Complete {
                count: USERS as u64,
            },
        )
        .await
        .unwrap();
    // As `sync::run` does: the search index is written before the snapshot turns current.
    let started = Instant::now();
    app.store.index_identity(run).await.unwrap();
    println!(
        "indexing {USERS} users for search: {:.1?}",
        started.elapsed()
    );
    app.store
        .publish_run(run, &json!({}), sim_now())
        .await
        .unwrap();
    let admin = app.admin().await;
    for (label, path) in [
        ("first page", "/api/v1/identity/users".to_string()),
        ("page 100", "/api/v1/identity/users?page=100".to_string()),
        (
            "status filter",
            "/api/v1/identity/users?status=SUSPENDED&page=20".to_string(),
        ),
        (
            "search, one hit near the end",
            format!("/api/v1/identity/users?q=user{:06}", USERS - 7),
        ),
        (
            "search, surname (many hits)",
            "/api/v1/identity/users?q=last7".to_string(),
        ),
        (
            "search, no hit",
            "/api/v1/identity/users?q=zzqx-nobody".to_string(),
        ),
    ] {
        let mut times = Vec::new();
        for _ in 0..40 {
            let started = Instant::now();
            let r = admin.get(&path).await;
            assert_eq!(r.status(), 200);
            let _ = r.bytes().await.unwrap();
            times.push(started.elapsed());
        }
        times.sort();
        println!(
            "{label:32} p50 {:>8.1?}  p99 {:>8.1?}",
            percentile(&times, 0.5),
            percentile(&times, 0.99)
        );
    }
}
