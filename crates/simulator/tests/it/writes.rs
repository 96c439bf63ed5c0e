//! Writes: deactivate, delete twice, remove app user, remove group member, control endpoints;
//! each changes data, truth and the System Log.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::*;

fn count(sim: &steward_simulator::RunningSimulator, r: &str) -> u64 {
    sim.truth().resources[r].count
}

async fn last_events(sim: &steward_simulator::RunningSimulator, n: usize) -> Vec<Value> {
    let v: Value = get(
        sim,
        "SUPER_ADMIN",
        "/api/v1/logs?since=2026-08-01T00:00:00.000Z&sortOrder=DESCENDING&limit=1000",
    )
    .await
    .json()
    .await
    .unwrap();
    v.as_array().unwrap().iter().take(n).cloned().collect()
}

#[tokio::test]
async fn delete_twice_then_404_with_log_events() {
    let sim = start(80, 12).await;
    // An active user with factors and app assignments.
    let (uid, factors, apps) = sim.with_org(|o| {
        let (i, u) = o
            .users
            .iter()
            .enumerate()
            .skip(6)
            .find(|(i, u)| {
                u.status.as_str() == "ACTIVE"
                    && !u.factors.is_empty()
                    && o.apps
                        .iter()
                        .any(|a| a.users.iter().any(|au| au.user as usize == *i))
            })
            .unwrap();
        (
            u.id.clone(),
            u.factors.len() as u64,
            o.apps
                .iter()
                .filter(|a| a.users.iter().any(|au| au.user as usize == i))
                .count() as u64,
        )
    });
    let before = sim.truth().resources;
    let admin = sim.token_user_id("ORG_ADMIN").unwrap();

    let r = send(
        &sim,
        "ORG_ADMIN",
        Method::DELETE,
        &format!("/api/v1/users/{uid}"),
    )
    .await;
    assert_eq!(r.status(), 204);
    let u: Value = get(&sim, "SUPER_ADMIN", &format!("/api/v1/users/{uid}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(u["status"], "DEPROVISIONED");
    assert_eq!(count(&sim, "users"), before["users"].count);
    assert_eq!(count(&sim, "factors"), before["factors"].count - factors);
    assert_eq!(count(&sim, "app_users"), before["app_users"].count - apps);
    let ev = last_events(&sim, 1).await;
    assert_eq!(ev[0]["eventType"], "user.lifecycle.deactivate");
    assert_eq!(ev[0]["actor"]["id"], admin.as_str());
    assert_eq!(ev[0]["target"][0]["id"], uid.as_str());

    let r = send(
        &sim,
        "ORG_ADMIN",
        Method::DELETE,
        &format!("/api/v1/users/{uid}"),
    )
    .await;
    assert_eq!(r.status(), 204);
    assert_eq!(
        error_code(get(&sim, "SUPER_ADMIN", &format!("/api/v1/users/{uid}")).await).await,
        (404, "E0000007".into())
    );
    assert_eq!(
        error_code(
            send(
                &sim,
                "ORG_ADMIN",
                Method::DELETE,
                &format!("/api/v1/users/{uid}")
            )
            .await
        )
        .await,
        (404, "E0000007".into())
    );
    assert_eq!(count(&sim, "users"), before["users"].count - 1);
    assert!(count(&sim, "memberships") < before["memberships"].count);
    let ev = last_events(&sim, 2).await;
    let types: Vec<&str> = ev
        .iter()
        .map(|e| e["eventType"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "user.lifecycle.delete.completed",
            "user.lifecycle.delete.initiated"
        ]
    );
    // Truth log count grew by 3.
    assert_eq!(count(&sim, "log_events"), before["log_events"].count + 3);
    // The user is gone from searches and group lists too.
    let found = get_all(
        &sim,
        "SUPER_ADMIN",
        &format!("/api/v1/users?filter=id%20eq%20%22{uid}%22"),
    )
    .await;
    assert!(found.is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn deactivate_and_read_only_writes_are_denied() {
    let sim = start(60, 13).await;
    let uid = sim.with_org(|o| {
        o.users
            .iter()
            .skip(6)
            .find(|u| u.status.as_str() == "ACTIVE")
            .unwrap()
            .id
            .clone()
    });
    for role in ["READ_ONLY_ADMIN", "APP_ADMIN", "NO_ADMIN"] {
        let r = send(
            &sim,
            role,
            Method::POST,
            &format!("/api/v1/users/{uid}/lifecycle/deactivate"),
        )
        .await;
        assert_eq!(error_code(r).await, (403, "E0000006".into()), "{role}");
    }
    assert_eq!(
        error_code(
            send(
                &sim,
                "EXPIRED",
                Method::POST,
                &format!("/api/v1/users/{uid}/lifecycle/deactivate")
            )
            .await
        )
        .await,
        (401, "E0000011".into())
    );
    let r = send(
        &sim,
        "SUPER_ADMIN",
        Method::POST,
        &format!("/api/v1/users/{uid}/lifecycle/deactivate"),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/json");
    assert_eq!(r.json::<Value>().await.unwrap(), json!({}));
    let u: Value = get(&sim, "SUPER_ADMIN", &format!("/api/v1/users/{uid}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(u["status"], "DEPROVISIONED");
    assert_ne!(u["lastUpdated"], u["created"]);
    let f: Value = get(&sim, "SUPER_ADMIN", &format!("/api/v1/users/{uid}/factors"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(f, json!([]));
    // The plain list no longer has it.
    let plain = get_all(&sim, "SUPER_ADMIN", "/api/v1/users").await;
    assert!(!ids(&plain).contains(&uid));
    sim.shutdown().await;
}

#[tokio::test]
async fn remove_app_user_and_group_member() {
    let sim = start(80, 14).await;
    let (aid, uid) = sim.with_org(|o| {
        let a = o
            .apps
            .iter()
            .find(|a| {
                a.users
                    .iter()
                    .any(|au| matches!(au.scope, steward_simulator::org::Scope::User))
            })
            .unwrap();
        let au = a
            .users
            .iter()
            .find(|au| matches!(au.scope, steward_simulator::org::Scope::User))
            .unwrap();
        (a.id.clone(), o.users[au.user as usize].id.clone())
    });
    let before = sim.truth().resources;
    assert_eq!(
        error_code(
            send(
                &sim,
                "READ_ONLY_ADMIN",
                Method::DELETE,
                &format!("/api/v1/apps/{aid}/users/{uid}")
            )
            .await
        )
        .await,
        (403, "E0000006".into())
    );
    // APP_ADMIN may remove app users.
    let r = send(
        &sim,
        "APP_ADMIN",
        Method::DELETE,
        &format!("/api/v1/apps/{aid}/users/{uid}"),
    )
    .await;
    assert_eq!(r.status(), 204);
    assert_eq!(count(&sim, "app_users"), before["app_users"].count - 1);
    let users = get_all(
        &sim,
        "SUPER_ADMIN",
        &format!("/api/v1/apps/{aid}/users?limit=500"),
    )
    .await;
    assert!(!ids(&users).contains(&uid));
    assert_eq!(
        error_code(
            send(
                &sim,
                "APP_ADMIN",
                Method::DELETE,
                &format!("/api/v1/apps/{aid}/users/{uid}")
            )
            .await
        )
        .await,
        (404, "E0000007".into())
    );
    let ev = last_events(&sim, 1).await;
    assert_eq!(ev[0]["eventType"], "application.user_membership.remove");

    let (gid, member) = sim.with_org(|o| {
        let g = &o.groups[1];
        (g.id.clone(), o.users[g.members[0] as usize].id.clone())
    });
    assert_eq!(
        error_code(
            send(
                &sim,
                "APP_ADMIN",
                Method::DELETE,
                &format!("/api/v1/groups/{gid}/users/{member}")
            )
            .await
        )
        .await,
        (403, "E0000006".into())
    );
    let r = send(
        &sim,
        "ORG_ADMIN",
        Method::DELETE,
        &format!("/api/v1/groups/{gid}/users/{member}"),
    )
    .await;
    assert_eq!(r.status(), 204);
    assert_eq!(count(&sim, "memberships"), before["memberships"].count - 1);
    let members = get_all(&sim, "SUPER_ADMIN", &format!("/api/v1/groups/{gid}/users")).await;
    assert!(!ids(&members).contains(&member));
    let ev = last_events(&sim, 1).await;
    assert_eq!(ev[0]["eventType"], "group.user_membership.remove");
    assert_eq!(ev[0]["target"][1]["id"], gid.as_str());
    sim.shutdown().await;
}

#[tokio::test]
async fn control_endpoints_add_and_remove_apps() {
    let sim = start(40, 15).await;
    let before = count(&sim, "apps");
    let r = client()
        .post(url(&sim, "/__sim/apps"))
        .json(&json!({"label": "Payroll Next", "signOnMode": "OPENID_CONNECT"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let app: Value = r.json().await.unwrap();
    assert_eq!(app["status"], "ACTIVE");
    assert_eq!(app["signOnMode"], "OPENID_CONNECT");
    let id = app["id"].as_str().unwrap().to_string();
    assert_eq!(count(&sim, "apps"), before + 1);
    let got: Value = get(&sim, "SUPER_ADMIN", &format!("/api/v1/apps/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(got["label"], "Payroll Next");
    // The new app is listed last (ids are ordered).
    let all = get_all(&sim, "SUPER_ADMIN", "/api/v1/apps?limit=200").await;
    assert_eq!(ids(&all).last().unwrap(), &id);
    let r = client()
        .delete(url(&sim, &format!("/__sim/apps/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(count(&sim, "apps"), before);
    assert_eq!(
        error_code(get(&sim, "SUPER_ADMIN", &format!("/api/v1/apps/{id}")).await).await,
        (404, "E0000007".into())
    );
    let stats = client()
        .get(url(&sim, "/__sim/stats"))
        .send()
        .await
        .unwrap();
    assert_eq!(stats.status(), 200);
    sim.shutdown().await;
}

#[tokio::test]
async fn startup_json_has_tokens_and_counts() {
    let sim = start(50, 16).await;
    let j = sim.startup_json();
    assert_eq!(j["base_url"], sim.base_url());
    for r in [
        "SUPER_ADMIN",
        "ORG_ADMIN",
        "APP_ADMIN",
        "READ_ONLY_ADMIN",
        "NO_ADMIN",
        "EXPIRED",
    ] {
        assert_eq!(j["tokens"][r], sim.token(r));
    }
    assert_eq!(j["org"]["users"], 50);
    assert_eq!(j["org"]["settings"], 2);
    assert!(!format!("{sim:?}").contains(&sim.token("SUPER_ADMIN")));
    sim.shutdown().await;
}

#[tokio::test]
async fn rate_events_land_in_the_system_log_and_truth() {
    let sim = start(30, 17).await;
    let before = count(&sim, "log_events");
    sim.record_rate_event(steward_simulator::RateEvent::Violation {
        bucket: "/api/v1/users".into(),
        limit: 600,
    });
    sim.record_rate_event(steward_simulator::RateEvent::Warning {
        bucket: "/api/v1/logs".into(),
        limit: 120,
        used: 110,
    });
    assert_eq!(count(&sim, "log_events"), before + 2);
    let ev = last_events(&sim, 2).await;
    assert_eq!(ev[0]["eventType"], "system.rate.limit.warning");
    assert_eq!(
        ev[0]["debugContext"]["debugData"]["operationRateLimitThreshold"],
        "120"
    );
    assert_eq!(ev[1]["eventType"], "system.rate.limit.violation");
    assert_eq!(ev[1]["severity"], "WARN");
    assert_eq!(ev[1]["target"][0]["id"], "/api/v1/users");
    sim.shutdown().await;
}

#[tokio::test]
async fn same_seed_same_responses_over_http() {
    let (a, b) = (start(70, 99).await, start(70, 99).await);
    assert_eq!(a.token("SUPER_ADMIN"), b.token("SUPER_ADMIN"));
    for p in [
        "/api/v1/users?limit=200",
        "/api/v1/groups",
        "/api/v1/apps?limit=200",
        "/api/v1/logs?since=2026-08-01T00:00:00Z&limit=1000",
    ] {
        let x = get(&a, "SUPER_ADMIN", p).await.text().await.unwrap();
        let y = get(&b, "SUPER_ADMIN", p).await.text().await.unwrap();
        // Only the port differs.
        assert_eq!(
            x.replace(&a.base_url(), "BASE"),
            y.replace(&b.base_url(), "BASE"),
            "{p}"
        );
    }
    let c = start(70, 100).await;
    let x = get(&a, "SUPER_ADMIN", "/api/v1/users?limit=200")
        .await
        .text()
        .await
        .unwrap();
    let z = get(&c, "SUPER_ADMIN", "/api/v1/users?limit=200")
        .await
        .text()
        .await
        .unwrap();
    assert_ne!(
        x.replace(&a.base_url(), "BASE"),
        z.replace(&c.base_url(), "BASE")
    );
    // Login short names resolve like Okta's.
    let login = a.with_org(|o| o.users[0].login.clone());
    let short = login.split('@').next().unwrap();
    let u: Value = get(&a, "SUPER_ADMIN", &format!("/api/v1/users/{short}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(u["profile"]["login"], login.as_str());
    for s in [a, b, c] {
        s.shutdown().await;
    }
}
