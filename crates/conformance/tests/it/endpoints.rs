//! Every recorded 2xx endpoint: the equivalent simulator request must have the recording's
//! shape (same keys, same JSON types), carry the recorded headers in the same form, and
//! validate against the spec's response schema for the operation.

use crate::common::*;
use serde_json::Value;

#[tokio::test]
async fn users_list() {
    let sim = start().await;
    // 01: limit=1 first page; 02: its next page, by following rel="next" verbatim.
    let p1 = get_ok(&sim, "SUPER_ADMIN", "/api/v1/users?limit=1").await;
    assert_eq!(p1.list().len(), 1);
    let next = p1.next_link().expect("limit=1 page 1 has rel=next");
    let p2 = get_ok(&sim, "SUPER_ADMIN", &next).await;
    assert_eq!(p2.list().len(), 1);
    assert_ne!(p1.list()[0]["id"], p2.list()[0]["id"]);
    assert_conforms(&sample("users-list", "01-py-limit1-page1"), &[&p1]);
    assert_conforms(&sample("users-list", "02-py-limit1-page2-after"), &[&p2]);
    // 03: search by exact email (the privacy lookup); 04: email prefix.
    let email = p1.list()[0]["profile"]["email"]
        .as_str()
        .unwrap()
        .to_string();
    let q = enc(&format!("profile.email eq \"{email}\""));
    let s3 = get_ok(
        &sim,
        "SUPER_ADMIN",
        &format!("/api/v1/users?limit=200&search={q}"),
    )
    .await;
    assert_eq!(s3.list().len(), 1);
    assert_conforms(&sample("users-list", "03-tf-search-email-eq"), &[&s3]);
    let prefix = &email[..3];
    let s4 = get_ok(
        &sim,
        "SUPER_ADMIN",
        &format!(
            "/api/v1/users?limit=200&search={}",
            enc(&format!("profile.email sw \"{prefix}\""))
        ),
    )
    .await;
    assert!(!s4.list().is_empty());
    assert_conforms(
        &sample("users-list", "04-tf-search-email-sw-sorted"),
        &[&s4],
    );
    // 05: filter by status.
    let s5 = get_ok(
        &sim,
        "SUPER_ADMIN",
        &format!("/api/v1/users?filter={}", enc("status eq \"SUSPENDED\"")),
    )
    .await;
    assert!(!s5.list().is_empty(), "the 60-user org has SUSPENDED users");
    assert!(s5.list().iter().all(|u| u["status"] == "SUSPENDED"));
    assert_conforms(
        &sample("users-list", "05-py-filter-status-suspended"),
        &[&s5],
    );
    // 06: the default page.
    let s6 = get_ok(&sim, "SUPER_ADMIN", "/api/v1/users").await;
    assert_conforms(&sample("users-list", "06-rb-2016-default-page"), &[&s6]);
    sim.shutdown().await;
}

#[tokio::test]
async fn users_get_by_status_and_me() {
    let sim = start().await;
    for (name, status) in [
        ("01-py-active-user", "STAGED"),
        ("02-py-suspended-user", "SUSPENDED"),
        ("03-tf-staged-user", "STAGED"),
        ("04-tf-deprovisioned-user", "DEPROVISIONED"),
    ] {
        let s = sample("users-get", name);
        assert_eq!(
            s.body.as_ref().unwrap()["status"],
            status,
            "recording {name}"
        );
        let ids = users_with_status(&sim, status).await;
        assert!(!ids.is_empty(), "the test org has a {status} user");
        let r = get_ok(&sim, "SUPER_ADMIN", &format!("/api/v1/users/{}", ids[0])).await;
        assert_eq!(r.body.as_ref().unwrap()["status"], status);
        assert_conforms(&s, &[&r]);
    }
    // Every status the simulator has, against the closest recording (ACTIVE has none:
    // compare with the STAGED one, whose keys are the same).
    for status in [
        "ACTIVE",
        "PROVISIONED",
        "PASSWORD_EXPIRED",
        "LOCKED_OUT",
        "RECOVERY",
    ] {
        for id in users_with_status(&sim, status).await.iter().take(1) {
            let r = get_ok(&sim, "SUPER_ADMIN", &format!("/api/v1/users/{id}")).await;
            assert_conforms(&sample("users-get", "01-py-active-user"), &[&r]);
        }
    }
    // /users/me: no recording; the spec says it is the ordinary User (same shape as users-get).
    let me = get_ok(&sim, "READ_ONLY_ADMIN", "/api/v1/users/me").await;
    assert_eq!(
        me.body.as_ref().unwrap()["id"].as_str(),
        sim.token_user_id("READ_ONLY_ADMIN").as_deref()
    );
    let status = me.body.as_ref().unwrap()["status"]
        .as_str()
        .unwrap()
        .to_string();
    let closest = if status == "SUSPENDED" {
        "02-py-suspended-user"
    } else {
        "01-py-active-user"
    };
    assert_conforms(&sample("users-get", closest), &[&me]);
    sim.shutdown().await;
}

/// Users holding admin roles, from `/iam/assignees/users` (SUPER_ADMIN only).
async fn role_holders(sim: &steward_simulator::RunningSimulator) -> Vec<String> {
    let r = get_ok(sim, "SUPER_ADMIN", "/api/v1/iam/assignees/users").await;
    r.body.as_ref().unwrap()["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v["id"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn users_roles() {
    let sim = start().await;
    let holders = role_holders(&sim).await;
    assert!(holders.len() >= 3, "{holders:?}");
    let mut resps = Vec::new();
    for id in &holders {
        resps.push(get_ok(&sim, "SUPER_ADMIN", &format!("/api/v1/users/{id}/roles")).await);
    }
    let refs: Vec<&Resp> = resps.iter().collect();
    assert_conforms_all("users-roles", &refs);
    sim.shutdown().await;
}

#[tokio::test]
async fn users_groups_applinks_factors() {
    let sim = start().await;
    let users = get_ok(&sim, "SUPER_ADMIN", "/api/v1/users?limit=20").await;
    let ids: Vec<String> = users
        .list()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect();
    let mut groups = Vec::new();
    let mut links = Vec::new();
    let mut factors = Vec::new();
    for id in &ids {
        groups.push(get_ok(&sim, "SUPER_ADMIN", &format!("/api/v1/users/{id}/groups")).await);
        links.push(get_ok(&sim, "SUPER_ADMIN", &format!("/api/v1/users/{id}/appLinks")).await);
        factors.push(get_ok(&sim, "SUPER_ADMIN", &format!("/api/v1/users/{id}/factors")).await);
    }
    assert_conforms_all("users-groups", &refs(&groups));
    // appLinks: only `[]` was ever recorded, so the shape is judged by the spec alone.
    assert!(
        links.iter().any(|l| !l.list().is_empty()),
        "some user has app links"
    );
    assert_conforms_all("users-applinks", &refs(&links));
    // factors: the recorded kinds (sms) must be among the simulator's.
    let kinds: Vec<String> = factors
        .iter()
        .flat_map(|f| {
            f.list()
                .iter()
                .filter_map(|x| x["factorType"].as_str().map(str::to_string))
        })
        .collect();
    assert!(kinds.iter().any(|k| k == "sms"), "{kinds:?}");
    assert_conforms_all("users-factors", &refs(&factors));
    sim.shutdown().await;
}

#[tokio::test]
async fn groups_list_and_members() {
    let sim = start().await;
    let all = get_ok(&sim, "SUPER_ADMIN", "/api/v1/groups").await;
    assert!(all.list().len() > 3);
    assert_conforms(&sample("groups-list", "01-py-default-list"), &[&all]);
    let name = all.list()[1]["profile"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    let q = get_ok(
        &sim,
        "SUPER_ADMIN",
        &format!("/api/v1/groups?limit=200&q={}", enc(&name[..3])),
    )
    .await;
    assert!(!q.list().is_empty());
    assert_conforms(&sample("groups-list", "02-tf-q-prefix"), &[&q]);
    let f = get_ok(
        &sim,
        "SUPER_ADMIN",
        &format!(
            "/api/v1/groups?filter={}&limit=200",
            enc("type eq \"APP_GROUP\"")
        ),
    )
    .await;
    assert!(f.list().iter().all(|g| g["type"] == "APP_GROUP"));
    assert_conforms(
        &sample("groups-list", "03-tf-filter-app-group-empty"),
        &[&f],
    );
    // Members of the first groups with members.
    let mut members = Vec::new();
    for g in all.list().iter().take(6) {
        let id = g["id"].as_str().unwrap();
        members.push(get_ok(&sim, "SUPER_ADMIN", &format!("/api/v1/groups/{id}/users")).await);
        members.push(
            get_ok(
                &sim,
                "SUPER_ADMIN",
                &format!("/api/v1/groups/{id}/users?limit=200"),
            )
            .await,
        );
    }
    assert!(members.iter().any(|m| !m.list().is_empty()));
    let refs: Vec<&Resp> = members.iter().collect();
    assert_conforms_all("groups-users", &refs);
    sim.shutdown().await;
}

#[tokio::test]
async fn apps_list_users_groups() {
    let sim = start().await;
    let two = get_ok(&sim, "SUPER_ADMIN", "/api/v1/apps?limit=2").await;
    assert_eq!(two.list().len(), 2);
    assert!(two.next_link().is_some());
    let all = get_ok(&sim, "SUPER_ADMIN", "/api/v1/apps?limit=200").await;
    // Pool the page with the whole list so every signOnMode the simulator has is compared.
    assert_conforms(
        &sample("apps-list", "01-py-limit2-with-next"),
        &[&two, &all],
    );
    // App users (plain, expand=user pages) and app groups, over the apps that have them.
    let mut users = Vec::new();
    let mut expanded = Vec::new();
    let mut groups = Vec::new();
    for a in all.list().iter().take(12) {
        let id = a["id"].as_str().unwrap();
        users.push(get_ok(&sim, "SUPER_ADMIN", &format!("/api/v1/apps/{id}/users")).await);
        let p1 = get_ok(
            &sim,
            "SUPER_ADMIN",
            &format!("/api/v1/apps/{id}/users?expand=user&limit=1"),
        )
        .await;
        if let Some(next) = p1.next_link() {
            expanded.push(get_ok(&sim, "SUPER_ADMIN", &next).await);
        }
        expanded.push(p1);
        groups.push(get_ok(&sim, "SUPER_ADMIN", &format!("/api/v1/apps/{id}/groups")).await);
    }
    assert!(users.iter().any(|u| !u.list().is_empty()));
    assert!(groups.iter().any(|g| !g.list().is_empty()));
    assert_conforms(&sample("apps-users", "01-py-assigned-users"), &refs(&users));
    assert_conforms(&sample("apps-users", "02-tf-assigned-users"), &refs(&users));
    assert_conforms(
        &sample("apps-users", "03-rb-expand-user-page1"),
        &refs(&expanded),
    );
    assert_conforms(
        &sample("apps-users", "04-rb-expand-user-page2"),
        &refs(&expanded),
    );
    assert_conforms_all("apps-groups", &refs(&groups));
    sim.shutdown().await;
}

/// REC apps-list/02 is a custom OIDC app (`oidc_client`) created through the API in 2025.
#[tokio::test]
async fn apps_list_custom_oidc_app() {
    let sim = start().await;
    let all = get_ok(&sim, "SUPER_ADMIN", "/api/v1/apps?limit=200").await;
    let oidc = all
        .list()
        .iter()
        .find(|a| a["name"] == "oidc_client" && a["status"] == "ACTIVE")
        .expect("the simulator has active custom OIDC apps");
    let label = oidc["label"].as_str().unwrap().to_string();
    let f = get_ok(
        &sim,
        "SUPER_ADMIN",
        &format!(
            "/api/v1/apps?filter={}&limit=1&q={}",
            enc("status eq \"ACTIVE\""),
            enc(&label)
        ),
    )
    .await;
    assert_eq!(f.list().len(), 1, "{:?}", f.body);
    assert_eq!(f.list()[0]["label"], label.as_str());
    assert_conforms(&sample("apps-list", "02-tf-filter-status-q"), &[&f]);
    sim.shutdown().await;
}

#[tokio::test]
async fn policies_and_rules() {
    let sim = start().await;
    let mut rules = Vec::new();
    for (dir, t) in [
        ("policies-okta-sign-on", "OKTA_SIGN_ON"),
        ("policies-access-policy", "ACCESS_POLICY"),
        ("policies-mfa-enroll", "MFA_ENROLL"),
    ] {
        let list = get_ok(&sim, "SUPER_ADMIN", &format!("/api/v1/policies?type={t}")).await;
        assert!(!list.list().is_empty(), "{t}");
        assert!(list.list().iter().all(|p| p["type"] == t));
        for s in samples(dir) {
            if s.url.as_deref().is_some_and(|u| u.contains("?type=")) {
                assert_conforms(&s, &[&list]);
            } else {
                // policies-mfa-enroll/02: GET /policies/{id}.
                let id = list.list()[0]["id"].as_str().unwrap();
                let one = get_ok(&sim, "SUPER_ADMIN", &format!("/api/v1/policies/{id}")).await;
                let mut as_list = one.clone();
                as_list.body = Some(Value::Array(vec![one.body.clone().unwrap()]));
                assert!(
                    schema_problems(&one).is_empty(),
                    "{:?}",
                    schema_problems(&one)
                );
                let mut s = s.clone();
                s.body = s.body.map(|b| Value::Array(vec![b]));
                // Shape only (the schema of the by-id operation was checked above).
                let report = steward_conformance::compare(
                    s.body.as_ref().unwrap(),
                    as_list.body.as_ref().unwrap(),
                    &steward_conformance::ShapeRules::for_endpoint(dir),
                );
                assert!(report.is_ok(), "{}: {report}", s.id());
            }
        }
        for p in list.list() {
            let id = p["id"].as_str().unwrap();
            rules.push(get_ok(&sim, "SUPER_ADMIN", &format!("/api/v1/policies/{id}/rules")).await);
        }
    }
    let refs: Vec<&Resp> = rules.iter().collect();
    for s in samples("policies-rules") {
        if s.name.starts_with("03") {
            // A rule by id (GET /policies/{id}/rules/{ruleId}): one element of the list.
            let mut s = s.clone();
            s.body = s.body.map(|b| Value::Array(vec![b]));
            let report = steward_conformance::compare(
                s.body.as_ref().unwrap(),
                &Value::Array(rules.iter().flat_map(|r| r.list().clone()).collect()),
                &steward_conformance::ShapeRules::for_endpoint("policies-rules"),
            );
            assert!(report.is_ok(), "{}: {report}", s.id());
        } else {
            assert_conforms(&s, &refs);
        }
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn iam_assignees_users() {
    let sim = start().await;
    let r = get_ok(&sim, "SUPER_ADMIN", "/api/v1/iam/assignees/users").await;
    assert_conforms_all("iam-assignees-users", &[&r]);
    // Paging in the body: limit=1 gives `_links.next.href` with an absolute URL.
    let p1 = get_ok(&sim, "SUPER_ADMIN", "/api/v1/iam/assignees/users?limit=1").await;
    let body = p1.body.as_ref().unwrap();
    assert_eq!(body["value"].as_array().unwrap().len(), 1);
    let next = body["_links"]["next"]["href"]
        .as_str()
        .expect("_links.next.href");
    assert!(next.starts_with(&sim.base_url()), "{next}");
    assert!(
        schema_problems(&p1).is_empty(),
        "{:?}",
        schema_problems(&p1)
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn logs() {
    let sim = start().await;
    // A system-family event like the recorded per-token rate-limit violation.
    sim.record_rate_event(steward_simulator::RateEvent::Violation {
        bucket: "/api/v1/logs".into(),
        limit: 10,
    });
    let since = enc("2026-10-01T00:00:00.000Z");
    let r = get_ok(
        &sim,
        "SUPER_ADMIN",
        &format!("/api/v1/logs?since={since}&limit=1000"),
    )
    .await;
    assert!(r.list().len() > 10);
    assert!(
        r.next_link().is_some(),
        "polling query: rel=next always present"
    );
    assert_conforms_all("logs", &[&r]);
    sim.shutdown().await;
}

#[tokio::test]
async fn rate_limit_settings() {
    let sim = start().await;
    let w = get_ok(
        &sim,
        "SUPER_ADMIN",
        "/api/v1/rate-limit-settings/warning-threshold",
    )
    .await;
    assert_conforms_all("rate-limit-warning-threshold", &[&w]);
    let n = get_ok(
        &sim,
        "SUPER_ADMIN",
        "/api/v1/rate-limit-settings/admin-notifications",
    )
    .await;
    assert_conforms_all("rate-limit-admin-notifications", &[&n]);
    sim.shutdown().await;
}

fn refs(v: &[Resp]) -> Vec<&Resp> {
    v.iter().collect()
}
