//! The OneTrust simulator: determinism, paging limits, filters, scopes, rate limits, the token
//! endpoint, SCIM writes, faults, and its overlap/drift with the Okta simulator.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use steward_simulator::onetrust::{OtKey, OtRateConfig, OtSimConfig, OtSimulator};

use crate::common;

fn config(users: usize, seed: u64) -> OtSimConfig {
    let mut c = OtSimConfig::new(users, seed, common::now());
    c.rate = OtRateConfig::none();
    c
}

async fn start(users: usize, seed: u64) -> OtSimulator {
    OtSimulator::start(config(users, seed), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

fn url(sim: &OtSimulator, path: &str) -> String {
    format!("{}{}", sim.base_url().as_str().trim_end_matches('/'), path)
}

async fn call(
    sim: &OtSimulator,
    key: OtKey,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut r = common::client()
        .request(method, url(sim, path))
        .bearer_auth(sim.key(key));
    if let Some(b) = body {
        r = r
            .header("Content-Type", "application/scim+json")
            .body(b.to_string());
    }
    r.send().await.unwrap()
}

async fn get(sim: &OtSimulator, key: OtKey, path: &str) -> (StatusCode, Value) {
    let r = call(sim, key, Method::GET, path, None).await;
    let status = r.status();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn ids(truth: &Value, resource: &str) -> BTreeSet<String> {
    truth["resources"][resource]["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

/// Every SCIM user id via startIndex/count paging.
async fn scim_user_ids(sim: &OtSimulator, version: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut start = 1;
    loop {
        let (s, page) = get(
            sim,
            OtKey::Full,
            &format!("/api/scim/{version}/Users?startIndex={start}&count=100"),
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        let n = page["itemsPerPage"].as_u64().unwrap() as usize;
        assert!(n <= 25, "count is capped at 25, got {n}");
        for u in page["Resources"].as_array().unwrap() {
            out.insert(u["id"].as_str().unwrap().to_string());
        }
        start += n;
        if n == 0 || start > page["totalResults"].as_u64().unwrap() as usize {
            break;
        }
    }
    out
}

#[tokio::test]
async fn same_seed_gives_the_same_bytes() {
    let a = steward_simulator::onetrust::generate(&config(200, 7));
    let b = steward_simulator::onetrust::generate(&config(200, 7));
    let c = steward_simulator::onetrust::generate(&config(200, 8));
    let ta = serde_json::to_string(&steward_simulator::onetrust::truth_of(&a)).unwrap();
    assert_eq!(
        ta,
        serde_json::to_string(&steward_simulator::onetrust::truth_of(&b)).unwrap()
    );
    assert_ne!(
        ta,
        serde_json::to_string(&steward_simulator::onetrust::truth_of(&c)).unwrap()
    );

    let s1 = start(200, 7).await;
    let s2 = start(200, 7).await;
    assert_eq!(s1.key(OtKey::Full), s2.key(OtKey::Full));
    assert_eq!(s1.client_credentials(), s2.client_credentials());
    for path in [
        "/api/access/v2/users?size=2000",
        "/api/access/v1/user-groups?size=2000",
        "/api/access/v1/external/organizations",
        "/api/access/v1/login-history?startDate=2026-08-03T00:00:00Z&endDate=2026-11-01T00:00:00Z&size=2000",
        "/api/scim/v3/Users?count=25",
        "/api/scim/v2/Groups",
    ] {
        let b1 = call(&s1, OtKey::Full, Method::GET, path, None)
            .await
            .text()
            .await
            .unwrap();
        let b2 = call(&s2, OtKey::Full, Method::GET, path, None)
            .await
            .text()
            .await
            .unwrap();
        // SCIM locations carry the server's own port.
        let b1 = b1.replace(s1.base_url().as_str().trim_end_matches('/'), "BASE");
        let b2 = b2.replace(s2.base_url().as_str().trim_end_matches('/'), "BASE");
        assert_eq!(b1, b2, "{path}");
    }
}

#[tokio::test]
async fn paging_limits_and_complete_walks() {
    let sim = start(150, 3).await;
    let truth = sim.truth();
    let users = ids(&truth, "users");
    assert_eq!(scim_user_ids(&sim, "v3").await, users);
    assert_eq!(scim_user_ids(&sim, "v2").await, users);

    // Spring pages: size ≤ 2000, 0-based page.
    let (s, _) = get(&sim, OtKey::Full, "/api/access/v2/users?size=2001").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (_, p0) = get(&sim, OtKey::Full, "/api/access/v2/users").await;
    assert_eq!(p0["size"], 20);
    assert_eq!(p0["number"], 0);
    assert_eq!(p0["totalElements"], users.len());
    let mut seen = BTreeSet::new();
    let mut page = 0;
    loop {
        let (_, p) = get(
            &sim,
            OtKey::Full,
            &format!("/api/access/v2/users?page={page}&size=40"),
        )
        .await;
        for u in p["content"].as_array().unwrap() {
            seen.insert(u["userId"].as_str().unwrap().to_string());
            assert!(u["accessLevels"].as_array().is_some_and(|a| !a.is_empty()));
        }
        if p["last"] == json!(true) {
            assert_eq!(p["totalPages"], page + 1);
            break;
        }
        page += 1;
    }
    assert_eq!(seen, users);

    // Groups and members add up to the truth's memberships.
    let (_, groups) = get(&sim, OtKey::Full, "/api/access/v1/user-groups?size=2000").await;
    let mut memberships = BTreeSet::new();
    for g in groups["content"].as_array().unwrap() {
        let gid = g["userGroupId"].as_str().unwrap();
        let (s, m) = get(
            &sim,
            OtKey::Full,
            &format!("/api/access/v1/user-groups/{gid}/members?size=7"),
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        let pages = m["totalPages"].as_u64().unwrap();
        for p in 0..pages {
            let (_, m) = get(
                &sim,
                OtKey::Full,
                &format!("/api/access/v1/user-groups/{gid}/members?size=7&page={p}"),
            )
            .await;
            for row in m["content"].as_array().unwrap() {
                memberships.insert(format!("{gid}/{}", row["memberId"].as_str().unwrap()));
            }
        }
    }
    assert_eq!(memberships, ids(&truth, "memberships"));
    assert_eq!(
        groups["totalElements"],
        truth["resources"]["user_groups"]["count"]
    );

    // SCIM v3 groups: startIndex/count, members left out by default.
    let (_, g) = get(&sim, OtKey::Full, "/api/scim/v3/Groups?count=500").await;
    let total = g["totalResults"].as_u64().unwrap();
    assert_eq!(
        total,
        truth["resources"]["user_groups"]["count"].as_u64().unwrap()
    );
    assert_eq!(g["itemsPerPage"].as_u64().unwrap(), total.min(25));
    assert!(g["Resources"][0].get("members").is_none());
    let (_, g2) = get(
        &sim,
        OtKey::Full,
        "/api/scim/v2/Groups?startIndex=26&count=25",
    )
    .await;
    assert_eq!(
        g2["totalResults"],
        truth["resources"]["scim_v2_groups"]["count"]
    );
    assert!(
        g2["Resources"][0]["id"].as_str().unwrap().contains(':'),
        "legacy ids are orgId:roleId"
    );
}

#[tokio::test]
async fn filters() {
    let sim = start(120, 4).await;
    let (email, id) = sim.with_org(|o| (o.users[5].email.clone(), o.users[5].id.clone()));
    for f in [
        format!("userName eq \"{}\"", email.to_uppercase()),
        format!("emails eq \"{email}\""),
        format!("emails[value eq \"{email}\"]"),
        format!("emails.value eq \"{email}\""),
    ] {
        let q = url::form_urlencoded::byte_serialize(f.as_bytes()).collect::<String>();
        let (s, r) = get(&sim, OtKey::Full, &format!("/api/scim/v3/Users?filter={q}")).await;
        assert_eq!(s, StatusCode::OK, "{f}");
        assert_eq!(r["totalResults"], 1, "{f}");
        assert_eq!(r["Resources"][0]["id"], json!(id));
    }
    let (s, r) = get(
        &sim,
        OtKey::Full,
        "/api/scim/v3/Users?filter=userName%20zz%20%22x%22",
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(r["scimType"], "invalidFilter");

    let name = sim.with_org(|o| o.groups[2].name.clone());
    let q = url::form_urlencoded::byte_serialize(format!("displayName eq \"{name}\"").as_bytes())
        .collect::<String>();
    let (_, r) = get(
        &sim,
        OtKey::Full,
        &format!("/api/scim/v3/Groups?filter={q}"),
    )
    .await;
    assert_eq!(r["totalResults"], 1);
    assert_eq!(r["Resources"][0]["displayName"], json!(name));
}

#[tokio::test]
async fn each_missing_scope_is_403_on_exactly_its_endpoints() {
    let sim = start(100, 5).await;
    let (uid, gid) = sim.with_org(|o| (o.users[0].id.clone(), o.groups[0].id.clone()));
    // (path, scopes that grant it)
    let endpoints: Vec<(String, &[&str])> = vec![
        ("/api/scim/v2/Users".into(), &["SCIM", "USER"]),
        (format!("/api/scim/v3/Users/{uid}"), &["SCIM", "USER"]),
        ("/api/scim/v2/Groups".into(), &["SCIM"]),
        (format!("/api/scim/v3/Groups/{gid}"), &["SCIM"]),
        ("/api/scim/v3/ServiceProviderConfig".into(), &["SCIM"]),
        ("/api/scim/v3/Schemas".into(), &["SCIM"]),
        ("/api/scim/v3/ResourceTypes".into(), &["SCIM"]),
        (
            "/api/access/v1/external/organizations".into(),
            &["ORGANIZATION"],
        ),
        ("/api/access/v2/users".into(), &["USER"]),
        ("/api/access/v1/user-groups".into(), &["USER"]),
        (
            format!("/api/access/v1/user-groups/{gid}/members"),
            &["USER"],
        ),
        ("/api/access/v1/login-history".into(), &["USER"]),
        (format!("/api/audit/v1/users/{uid}/activities"), &["USER"]),
    ];
    let held = |k: OtKey| -> Vec<&str> {
        match k {
            OtKey::Full | OtKey::Expired => vec!["ORGANIZATION", "SCIM", "USER"],
            OtKey::NoScim => vec!["ORGANIZATION", "USER"],
            OtKey::NoOrganization => vec!["SCIM", "USER"],
            OtKey::NoUser => vec!["ORGANIZATION", "SCIM"],
        }
    };
    for key in OtKey::ALL {
        for (path, grants) in &endpoints {
            let (s, body) = get(&sim, key, path).await;
            let want = if key == OtKey::Expired {
                StatusCode::UNAUTHORIZED
            } else if grants.iter().any(|g| held(key).contains(g)) {
                StatusCode::OK
            } else {
                StatusCode::FORBIDDEN
            };
            assert_eq!(s, want, "{key:?} {path}: {body}");
            if want == StatusCode::FORBIDDEN {
                assert_eq!(body["status"], 403);
                assert!(
                    body["message"].as_str().unwrap().contains(grants[0]),
                    "{body}"
                );
            }
        }
    }
    let r = common::client()
        .get(url(&sim, "/api/access/v2/users"))
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = common::client()
        .get(url(&sim, "/api/access/v2/users"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn rate_limit_429_with_ot_headers() {
    let mut c = config(100, 6);
    c.rate = OtRateConfig::default();
    let sim = OtSimulator::start(c, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    // 1,000 per minute on this endpoint: the 1,001st is refused.
    for i in 0..1000 {
        let r = call(
            &sim,
            OtKey::Full,
            Method::GET,
            "/api/scim/v3/ServiceProviderConfig",
            None,
        )
        .await;
        assert_eq!(r.status(), StatusCode::OK, "request {i}");
        assert!(r.headers().get("retry-after").is_none());
    }
    let r = call(
        &sim,
        OtKey::Full,
        Method::GET,
        "/api/scim/v3/ServiceProviderConfig",
        None,
    )
    .await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let h = r.headers();
    let retry: u64 = h["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    assert_eq!(h["ot-period"], "MINUTE");
    assert_eq!(h["ot-requests-allowed"], "1000");
    assert_eq!(h["ot-request-made"], "1001");
    assert_eq!(h["ot-ratelimit-event-id"].to_str().unwrap().len(), 36);
    // Per endpoint: another endpoint is still open.
    let (s, _) = get(&sim, OtKey::Full, "/api/scim/v3/Schemas").await;
    assert_eq!(s, StatusCode::OK);
    let stats: Value = common::client()
        .get(url(&sim, "/__sim/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        stats["buckets"]["GET /api/scim/v3/ServiceProviderConfig"]["rate_limited"],
        1
    );
}

#[tokio::test]
async fn short_windows_reopen() {
    let mut c = config(60, 6);
    c.rate = OtRateConfig {
        per_endpoint: 3,
        minute: std::time::Duration::from_millis(400),
        ..OtRateConfig::default()
    };
    let sim = OtSimulator::start(c, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let mut codes = Vec::new();
    for _ in 0..4 {
        codes.push(get(&sim, OtKey::Full, "/api/access/v2/users").await.0);
    }
    assert_eq!(
        codes,
        [
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
    tokio::time::sleep(std::time::Duration::from_millis(450)).await;
    assert_eq!(
        get(&sim, OtKey::Full, "/api/access/v2/users").await.0,
        StatusCode::OK
    );

    // The account's hour rule spans endpoints.
    let mut c = config(60, 6);
    c.rate = OtRateConfig {
        per_hour: 4,
        ..OtRateConfig::default()
    };
    let sim = OtSimulator::start(c, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    for path in [
        "/api/access/v2/users",
        "/api/access/v1/user-groups",
        "/api/scim/v3/Users",
        "/api/scim/v2/Groups",
    ] {
        assert_eq!(get(&sim, OtKey::Full, path).await.0, StatusCode::OK);
    }
    let r = call(
        &sim,
        OtKey::Full,
        Method::GET,
        "/api/access/v1/external/organizations",
        None,
    )
    .await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers()["ot-period"], "HOUR");
    assert_eq!(r.headers()["ot-requests-allowed"], "4");
    assert!(
        r.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            > 60
    );
}

#[tokio::test]
async fn token_endpoint() {
    let sim = start(60, 9).await;
    let (id, secret) = sim.client_credentials();
    let path = url(&sim, "/api/access/v1/oauth/token");
    let form = format!("grant_type=client_credentials&client_id={id}&client_secret={secret}");
    let r = common::client()
        .post(&path)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let t: Value = r.json().await.unwrap();
    assert_eq!(t["token_type"], "bearer");
    assert_eq!(t["ot_scopes"], "ORGANIZATION,SCIM,USER");
    assert!(t["expires_in"].as_i64().unwrap() > 0);
    let token = t["access_token"].as_str().unwrap();
    let r = common::client()
        .get(url(&sim, "/api/access/v2/users"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // multipart/form-data, as the spec declares.
    let b = "XyZb";
    let body = format!(
        "--{b}\r\nContent-Disposition: form-data; name=\"grant_type\"\r\n\r\nclient_credentials\r\n--{b}\r\nContent-Disposition: form-data; name=\"client_id\"\r\n\r\n{id}\r\n--{b}\r\nContent-Disposition: form-data; name=\"client_secret\"\r\n\r\n{secret}\r\n--{b}--\r\n"
    );
    let r = common::client()
        .post(&path)
        .header("Content-Type", format!("multipart/form-data; boundary={b}"))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    let bad = format!("grant_type=client_credentials&client_id={id}&client_secret=wrong");
    let r = common::client()
        .post(&path)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(bad)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = common::client()
        .post(&path)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("grant_type=password")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error_description"], "Invalid grant_type");
}

#[tokio::test]
async fn scim_writes_deactivate_instead_of_delete() {
    let sim = start(80, 10).await;
    let created = call(
        &sim,
        OtKey::Full,
        Method::POST,
        "/api/scim/v3/Users",
        Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "new.person@acme.example",
                    "name": {"givenName": "New", "familyName": "Person"}, "emails": [{"value": "new.person@acme.example", "primary": true}]})),
    )
    .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let u: Value = created.json().await.unwrap();
    let id = u["id"].as_str().unwrap().to_string();
    assert_eq!(u["roles"], json!([]));
    let dup = call(
        &sim,
        OtKey::Full,
        Method::POST,
        "/api/scim/v3/Users",
        Some(json!({"userName": "NEW.person@acme.example"})),
    )
    .await;
    assert_eq!(dup.status(), StatusCode::CONFLICT);

    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "path": "active", "value": false}]});
    let r = call(
        &sim,
        OtKey::Full,
        Method::PATCH,
        &format!("/api/scim/v3/Users/{id}"),
        Some(patch),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["active"], false);

    let r = call(
        &sim,
        OtKey::Full,
        Method::DELETE,
        &format!("/api/scim/v2/Users/{id}"),
        None,
    )
    .await;
    assert_eq!(r.status(), StatusCode::NOT_IMPLEMENTED);
    let r = call(
        &sim,
        OtKey::Full,
        Method::DELETE,
        &format!("/api/scim/v3/Users/{id}"),
        None,
    )
    .await;
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    let (s, u) = get(&sim, OtKey::Full, &format!("/api/access/v2/users/{id}")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(u["active"], false);
    let (_, acts) = get(
        &sim,
        OtKey::Full,
        &format!("/api/audit/v1/users/{id}/activities"),
    )
    .await;
    assert_eq!(acts["content"][0]["fieldName"], "Status");

    // Group PATCH answers 204.
    let gid = sim.with_org(|o| o.groups[0].id.clone());
    let add = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "add", "path": "members", "value": [{"value": id}]}]});
    let r = call(
        &sim,
        OtKey::Full,
        Method::PATCH,
        &format!("/api/scim/v3/Groups/{gid}"),
        Some(add),
    )
    .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert!(sim.with_org(|o| {
        o.groups[0]
            .members
            .contains(&(o.find_user(&id).unwrap() as u32))
    }));
}

#[tokio::test]
async fn faults_are_served() {
    let mut c = config(60, 11);
    c.faults = "http500=1".parse().unwrap();
    let sim = OtSimulator::start(c, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let (s, body) = get(&sim, OtKey::Full, "/api/access/v2/users").await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body["status"], 500);
    let mut c = config(60, 11);
    c.faults = "reset=1".parse().unwrap();
    let sim = OtSimulator::start(c, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let r = common::client()
        .get(url(&sim, "/api/access/v2/users"))
        .bearer_auth(sim.key(OtKey::Full))
        .send()
        .await;
    assert!(r.is_err() || r.unwrap().bytes().await.is_err());
}

#[tokio::test]
async fn overlaps_the_okta_simulator_with_the_documented_drift() {
    let (users, seed) = (400, 21);
    let okta = common::start(users, seed).await;
    let ot = start(users, seed).await;
    let truth = ot.truth();
    let drift = &truth["drift"];

    // Okta's people, read from the Okta simulator itself.
    let okta_people: Vec<(String, String, String)> = okta.with_org(|o| {
        o.users
            .iter()
            .filter(|u| !u.deleted)
            .map(|u| (u.id.clone(), u.email.clone(), u.status.as_str().to_string()))
            .collect()
    });
    // OneTrust accounts, read over the API.
    let (_, page) = get(&ot, OtKey::Full, "/api/access/v2/users?size=2000").await;
    let accounts: Vec<&Value> = page["content"].as_array().unwrap().iter().collect();
    let by_email = |e: &str| {
        accounts
            .iter()
            .find(|a| a["email"].as_str().unwrap().eq_ignore_ascii_case(e))
            .copied()
    };

    let set = |k: &str, f: &str| -> BTreeSet<String> {
        drift[k]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r[f].as_str().unwrap().to_string())
            .collect()
    };

    // Leavers still active in OneTrust: exactly the Okta DEPROVISIONED/SUSPENDED people with an active account.
    let leavers_active: BTreeSet<String> = okta_people
        .iter()
        .filter(|(_, _, s)| s == "DEPROVISIONED" || s == "SUSPENDED")
        .filter(|(_, e, _)| by_email(e).is_some_and(|a| a["active"] == true))
        .map(|(id, _, _)| id.clone())
        .collect();
    assert_eq!(set("leavers_active", "okta_id"), leavers_active);
    // Okta people without an account.
    let okta_only: BTreeSet<String> = okta_people
        .iter()
        .filter(|(_, e, _)| by_email(e).is_none())
        .map(|(id, _, _)| id.clone())
        .collect();
    assert_eq!(set("okta_only", "okta_id"), okta_only);
    // Accounts of no Okta person.
    let okta_emails: BTreeSet<String> = okta_people
        .iter()
        .map(|(_, e, _)| e.to_lowercase())
        .collect();
    let ot_only: BTreeSet<String> = accounts
        .iter()
        .filter(|a| !okta_emails.contains(&a["email"].as_str().unwrap().to_lowercase()))
        .map(|a| a["userId"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(set("onetrust_only", "onetrust_id"), ot_only);
    // Different case.
    let case: BTreeSet<String> = okta_people
        .iter()
        .filter(|(_, e, _)| by_email(e).is_some_and(|a| a["email"].as_str().unwrap() != e))
        .map(|(id, _, _)| id.clone())
        .collect();
    assert_eq!(set("email_case", "okta_id"), case);

    // Rough shares, so the drift stays "realistic".
    let n = okta_people.len() as f64;
    let share = |k: &str| drift[k].as_array().unwrap().len() as f64 / n;
    assert!(
        (0.02..0.09).contains(&share("leavers_active")),
        "{}",
        share("leavers_active")
    );
    assert!(
        (0.06..0.16).contains(&share("okta_only")),
        "{}",
        share("okta_only")
    );
    assert!(
        (0.02..0.05).contains(&share("onetrust_only")),
        "{}",
        share("onetrust_only")
    );
    assert!(
        (0.05..0.16).contains(&share("email_case")),
        "{}",
        share("email_case")
    );
    assert_eq!(drift["okta_people"], okta_people.len());
}

#[tokio::test]
async fn access_management_shapes_and_windows() {
    let sim = start(150, 12).await;
    // The organisation tree: root, 3 regions, 2 countries each.
    let (_, root) = get(&sim, OtKey::Full, "/api/access/v1/external/organizations").await;
    assert_eq!(root["parentOrganizationId"], Value::Null);
    let regions = root["children"].as_array().unwrap();
    assert_eq!(regions.len(), 3);
    for r in regions {
        assert_eq!(r["parentOrganizationId"], root["organizationId"]);
        assert_eq!(r["children"].as_array().unwrap().len(), 2);
    }

    // lastLoginDate = the newest successful login in the history (last 90 days).
    let (uid, last) = sim.with_org(|o| {
        let u = o
            .users
            .iter()
            .find(|u| u.last_login.is_some_and(|t| t > o.now - 80 * 86_400_000))
            .unwrap();
        (u.id.clone(), u.last_login.unwrap())
    });
    let (_, user) = get(&sim, OtKey::Full, &format!("/api/access/v2/users/{uid}")).await;
    let (_, hist) = get(
        &sim,
        OtKey::Full,
        &format!("/api/access/v1/login-history?userId={uid}&startDate=2026-08-03T00:00:00Z&endDate=2026-11-01T00:00:00Z&size=2000"),
    )
    .await;
    let newest = hist["content"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "Success")
        .map(|r| r["createDT"].as_str().unwrap().to_string())
        .max();
    assert_eq!(user["lastLoginDate"].as_str().map(str::to_string), newest);
    assert_eq!(
        last / 1000 * 1000,
        chrono::DateTime::parse_from_rfc3339(newest.as_deref().unwrap())
            .unwrap()
            .timestamp_millis()
    );
    // Window rules: no dates = 7 days; a range past 365 days = 400.
    let (_, week) = get(&sim, OtKey::Full, "/api/access/v1/login-history?size=2000").await;
    for r in week["content"].as_array().unwrap() {
        assert!(r["createDT"].as_str().unwrap() >= "2026-10-25");
    }
    let (s, _) = get(
        &sim,
        OtKey::Full,
        "/api/access/v1/login-history?startDate=2024-01-01T00:00:00Z&endDate=2024-02-01T00:00:00Z",
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (_, total) = get(&sim, OtKey::Full, "/api/access/v1/login-history?startDate=2026-08-01T00:00:00Z&endDate=2026-11-01T00:00:00Z&size=1").await;
    assert_eq!(
        total["totalElements"],
        sim.truth()["resources"]["login_history"]["count"]
    );

    // Access levels and audit activities.
    let (_, levels) = get(
        &sim,
        OtKey::Full,
        &format!("/api/access/v2/users/{uid}/access-levels"),
    )
    .await;
    assert_eq!(levels, user["accessLevels"]);
    let (_, acts) = get(
        &sim,
        OtKey::Full,
        &format!("/api/audit/v1/users/{uid}/activities"),
    )
    .await;
    assert!(
        acts["content"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["event"] == "User Create")
    );

    // v2 user groups: `id`, RSQL-ish name filters.
    let name = sim.with_org(|o| o.groups[0].name.clone());
    let q = url::form_urlencoded::byte_serialize(format!("name=={name}").as_bytes())
        .collect::<String>();
    let (_, g) = get(
        &sim,
        OtKey::Full,
        &format!("/api/access/v2/user-groups?filters={q}"),
    )
    .await;
    assert_eq!(g["totalElements"], 1);
    assert_eq!(g["content"][0]["name"], json!(name));
    assert!(g["content"][0]["id"].is_string());
    let (s, _) = get(
        &sim,
        OtKey::Full,
        "/api/access/v2/user-groups?filters=bogus",
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn scim_groups_v2_access_levels_and_v3_lifecycle() {
    let sim = start(80, 13).await;
    let (uid, v2id, before) = sim.with_org(|o| {
        let u = &o.users[3];
        let (org, role) = (0..o.organizations.len())
            .flat_map(|a| (0..o.roles.len()).map(move |b| (a, b)))
            .find(|&(a, b)| !u.access_levels.contains(&(a as u16, b as u16)))
            .unwrap();
        (
            u.id.clone(),
            o.v2_group_id(org, role),
            u.access_levels.len(),
        )
    });
    // Adding a member to a legacy group grants that organization × role.
    let add = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "add", "path": "members", "value": [{"value": uid}]}]});
    let r = call(
        &sim,
        OtKey::Full,
        Method::PATCH,
        &format!("/api/scim/v2/Groups/{v2id}"),
        Some(add),
    )
    .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (_, levels) = get(
        &sim,
        OtKey::Full,
        &format!("/api/access/v2/users/{uid}/access-levels"),
    )
    .await;
    assert_eq!(levels.as_array().unwrap().len(), before + 1);
    let (_, g) = get(&sim, OtKey::Full, &format!("/api/scim/v2/Groups/{v2id}")).await;
    assert!(
        g["members"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["value"] == json!(uid))
    );
    let r = call(
        &sim,
        OtKey::Full,
        Method::POST,
        "/api/scim/v2/Groups",
        Some(json!({"displayName": "x"})),
    )
    .await;
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);

    // v3: create, read with and without members, filter, delete.
    let r = call(&sim, OtKey::Full, Method::POST, "/api/scim/v3/Groups", Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Auditors", "members": [{"value": uid}]}))).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let gid = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, g) = get(
        &sim,
        OtKey::Full,
        &format!("/api/scim/v3/Groups/{gid}?excludedAttributes=members"),
    )
    .await;
    assert!(g.get("members").is_none());
    let (_, g) = get(&sim, OtKey::Full, &format!("/api/scim/v3/Groups/{gid}")).await;
    assert_eq!(g["members"][0]["value"], json!(uid));
    let (_, u) = get(
        &sim,
        OtKey::Full,
        &format!("/api/scim/v3/Users/{uid}?attributes=groups"),
    )
    .await;
    assert!(
        u["groups"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["value"] == json!(gid))
    );
    assert!(u.get("userName").is_none());
    let dup = call(
        &sim,
        OtKey::Full,
        Method::POST,
        "/api/scim/v3/Groups",
        Some(json!({"displayName": "auditors"})),
    )
    .await;
    assert_eq!(dup.status(), StatusCode::CONFLICT);
    let bad = call(
        &sim,
        OtKey::Full,
        Method::POST,
        "/api/scim/v3/Groups",
        Some(json!({"displayName": "Other", "members": [{"value": "nobody"}]})),
    )
    .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let r = call(
        &sim,
        OtKey::Full,
        Method::DELETE,
        &format!("/api/scim/v3/Groups/{gid}"),
        None,
    )
    .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        get(&sim, OtKey::Full, &format!("/api/scim/v3/Groups/{gid}"))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
}
