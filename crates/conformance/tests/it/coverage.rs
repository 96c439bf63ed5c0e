//! The endpoints of the issue that `endpoints.rs` does not reach directly: a user by login,
//! `q` on users and groups, `/groups/{id}/roles`, `/apps/{id}` — each compared with the
//! closest recording where one exists and validated against its spec operation — and the
//! `Link` rules on every paged endpoint behind a proxy (`Host`, `X-Forwarded-Proto`).

use crate::common::*;
use serde_json::Value;
use steward_conformance::headers::{LinkEntry, check_link_form};

#[tokio::test]
async fn user_by_login_and_q() {
    let sim = start().await;
    let ids = users_with_status(&sim, "ACTIVE").await;
    let by_id = get_ok(&sim, "SUPER_ADMIN", &format!("/api/v1/users/{}", ids[0])).await;
    let login = by_id.body.as_ref().unwrap()["profile"]["login"]
        .as_str()
        .unwrap()
        .to_string();
    let by_login = get_ok(
        &sim,
        "SUPER_ADMIN",
        &format!("/api/v1/users/{}", enc(&login)),
    )
    .await;
    assert_eq!(
        by_login.body, by_id.body,
        "by login and by id give the same user"
    );
    assert_conforms(&sample("users-get", "01-py-active-user"), &[&by_login]);
    // q: a prefix of the first name; no paging (no rel=next), at most 10 by default.
    let first = by_id.body.as_ref().unwrap()["profile"]["firstName"]
        .as_str()
        .unwrap()
        .to_string();
    let q = get_ok(
        &sim,
        "SUPER_ADMIN",
        &format!("/api/v1/users?q={}", enc(&first[..2])),
    )
    .await;
    assert!(!q.list().is_empty() && q.list().len() <= 10);
    assert!(q.next_link().is_none());
    assert_conforms(&sample("users-list", "01-py-limit1-page1"), &[&q]);
    let gq = get_ok(&sim, "SUPER_ADMIN", "/api/v1/groups?q=Every").await;
    assert_eq!(gq.list().len(), 1);
    assert_conforms(&sample("groups-list", "01-py-default-list"), &[&gq]);
    sim.shutdown().await;
}

/// `/groups/{id}/roles` has no recording: the role objects are the same `Role` schema as
/// `/users/{id}/roles`, so compare with those recordings and validate against the spec.
#[tokio::test]
async fn group_roles() {
    let sim = start().await;
    let groups = get_ok(&sim, "SUPER_ADMIN", "/api/v1/groups?limit=200").await;
    let mut resps = Vec::new();
    for g in groups.list() {
        let r = get_ok(
            &sim,
            "SUPER_ADMIN",
            &format!("/api/v1/groups/{}/roles", g["id"].as_str().unwrap()),
        )
        .await;
        assert!(schema_problems(&r).is_empty(), "{:?}", schema_problems(&r));
        resps.push(r);
    }
    let with_roles: Vec<&Resp> = resps.iter().filter(|r| !r.list().is_empty()).collect();
    assert!(!with_roles.is_empty(), "some group holds an admin role");
    assert!(
        with_roles
            .iter()
            .flat_map(|r| r.list())
            .all(|r| r["assignmentType"] == "GROUP")
    );
    // The standard-role recordings (01, 02); 05 is a CUSTOM role, which the simulator has not.
    assert_conforms(
        &sample("users-roles", "02-py-one-role-with-headers"),
        &with_roles,
    );
    sim.shutdown().await;
}

/// `/apps/{id}`: the object of the list, by id (compared as a one-element list).
#[tokio::test]
async fn app_by_id() {
    let sim = start().await;
    let all = get_ok(&sim, "SUPER_ADMIN", "/api/v1/apps?limit=200").await;
    let mut as_list = Vec::new();
    for a in all.list() {
        let id = a["id"].as_str().unwrap();
        let one = get_ok(&sim, "SUPER_ADMIN", &format!("/api/v1/apps/{id}")).await;
        assert!(
            schema_problems(&one).is_empty(),
            "{:?}",
            schema_problems(&one)
        );
        assert_eq!(
            one.body.as_ref(),
            Some(a),
            "GET /apps/{id} equals its list element"
        );
        as_list.push(one.body.clone().unwrap());
    }
    let s = sample("apps-list", "01-py-limit2-with-next");
    let report = steward_conformance::compare(
        s.body.as_ref().unwrap(),
        &Value::Array(as_list),
        &steward_conformance::ShapeRules::for_endpoint("apps-list"),
    );
    assert!(report.is_ok(), "{report}");
    let missing = get(&sim, "SUPER_ADMIN", "/api/v1/apps/0oa0000000000000000x").await;
    assert_eq!(
        (missing.status, missing.error_code()),
        (404, Some("E0000007"))
    );
    sim.shutdown().await;
}

fn query(url: &str) -> Vec<(String, String)> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// GET through a "proxy": `Host` and `X-Forwarded-Proto` set like a TLS terminator would.
async fn proxied(sim: &steward_simulator::RunningSimulator, path: &str) -> Resp {
    let r = client()
        .get(format!("{}{path}", sim.base_url()))
        .header(
            "Authorization",
            format!("SSWS {}", sim.token("SUPER_ADMIN")),
        )
        .header("Host", "acme.okta.example")
        .header("X-Forwarded-Proto", "https")
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let headers = r
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().to_string(), v.to_str().unwrap().to_string()))
        .collect();
    let body = r.json::<Value>().await.ok();
    Resp {
        method: "GET".into(),
        path: path.to_string(),
        status,
        headers,
        body,
    }
}

/// Every paged endpoint: `self` first, `next` last, absolute `https://acme.okta.example`
/// URLs, `limit` and the filter/search/q/expand parameters carried into `next`, and following
/// `next` gives the following page.
#[tokio::test]
async fn link_headers_behind_a_proxy_keep_limit_and_filters() {
    let sim = start().await;
    // An app with two users and two groups, and a group with two members: full first pages.
    let apps = get_ok(&sim, "SUPER_ADMIN", "/api/v1/apps?limit=200").await;
    let mut app = None;
    for a in apps.list() {
        let id = a["id"].as_str().unwrap();
        let u = get_ok(
            &sim,
            "SUPER_ADMIN",
            &format!("/api/v1/apps/{id}/users?limit=2"),
        )
        .await;
        let g = get_ok(
            &sim,
            "SUPER_ADMIN",
            &format!("/api/v1/apps/{id}/groups?limit=2"),
        )
        .await;
        if u.list().len() == 2 && g.list().len() == 2 {
            app = Some(id.to_string());
            break;
        }
    }
    let app = app.expect("an app with 2+ users and 2+ groups");
    let groups = get_ok(&sim, "SUPER_ADMIN", "/api/v1/groups?limit=200").await;
    let mut group = None;
    for g in groups.list() {
        let id = g["id"].as_str().unwrap();
        if get_ok(
            &sim,
            "SUPER_ADMIN",
            &format!("/api/v1/groups/{id}/users?limit=2"),
        )
        .await
        .list()
        .len()
            == 2
        {
            group = Some(id.to_string());
            break;
        }
    }
    let group = group.expect("a group with 2+ members");
    let since = enc("2026-10-01T00:00:00.000Z");
    let cases: Vec<(String, Vec<(&str, String)>)> = vec![
        (
            format!(
                "/api/v1/users?limit=2&filter={}",
                enc("status eq \"ACTIVE\"")
            ),
            vec![("filter", "status eq \"ACTIVE\"".into())],
        ),
        (
            format!(
                "/api/v1/users?search={}&limit=2",
                enc("status eq \"ACTIVE\" or status eq \"SUSPENDED\"")
            ),
            vec![(
                "search",
                "status eq \"ACTIVE\" or status eq \"SUSPENDED\"".into(),
            )],
        ),
        (
            format!(
                "/api/v1/groups?filter={}&limit=1",
                enc("type eq \"OKTA_GROUP\"")
            ),
            vec![("filter", "type eq \"OKTA_GROUP\"".into())],
        ),
        (
            format!(
                "/api/v1/apps?filter={}&limit=1",
                enc("status eq \"ACTIVE\"")
            ),
            vec![("filter", "status eq \"ACTIVE\"".into())],
        ),
        (
            format!("/api/v1/apps/{app}/users?expand=user&limit=1"),
            vec![("expand", "user".into())],
        ),
        (format!("/api/v1/apps/{app}/groups?limit=1"), vec![]),
        (format!("/api/v1/groups/{group}/users?limit=1"), vec![]),
        // System Log `next` links carry the cursor instead of `since` (the cursor bounds the
        // start), as in Okta's System Log docs: only `limit` and `after` are required here.
        (format!("/api/v1/logs?since={since}&limit=3"), vec![]),
    ];
    let mut problems = Vec::new();
    for (path, kept) in &cases {
        let r = proxied(&sim, path).await;
        assert_eq!(r.status, 200, "{path}: {:?}", r.body);
        let links: Vec<LinkEntry> = r.links();
        if let Err(e) = check_link_form(&links) {
            problems.push(format!("{path}: {e}"));
        }
        if links.first().map(|l| l.rel.as_str()) != Some("self") {
            problems.push(format!("{path}: no rel=self first: {links:?}"));
        }
        let Some(next) = links.iter().find(|l| l.rel == "next") else {
            problems.push(format!(
                "{path}: no rel=next on a full first page: {links:?}"
            ));
            continue;
        };
        for l in &links {
            if !l.url.starts_with("https://acme.okta.example/api/v1/") {
                problems.push(format!(
                    "{path}: {} link not absolute on the forwarded origin: {}",
                    l.rel, l.url
                ));
            }
        }
        let q = query(&next.url);
        let want_limit = query(&format!("http://x{path}"))
            .into_iter()
            .find(|(k, _)| k == "limit")
            .map(|(_, v)| v);
        if q.iter().find(|(k, _)| k == "limit").map(|(_, v)| v.clone()) != want_limit {
            problems.push(format!(
                "{path}: next does not keep limit={want_limit:?}: {}",
                next.url
            ));
        }
        if !q.iter().any(|(k, v)| k == "after" && !v.is_empty()) {
            problems.push(format!("{path}: next has no after cursor: {}", next.url));
        }
        for (k, v) in kept {
            if !q.iter().any(|(qk, qv)| qk == k && qv == v) {
                problems.push(format!("{path}: next drops {k}={v:?}: {}", next.url));
            }
        }
        // The next page (fetched directly: the forwarded origin is not routable) differs.
        let local = next
            .url
            .replace("https://acme.okta.example", &sim.base_url());
        let p2 = get_ok(&sim, "SUPER_ADMIN", &local).await;
        let first_ids: Vec<&Value> = r
            .list()
            .iter()
            .map(|x| {
                if x.get("uuid").is_some() {
                    &x["uuid"]
                } else {
                    &x["id"]
                }
            })
            .collect();
        if p2.list().iter().any(|x| {
            first_ids.contains(&if x.get("uuid").is_some() {
                &x["uuid"]
            } else {
                &x["id"]
            })
        }) {
            problems.push(format!("{path}: page 2 repeats page 1"));
        }
    }
    // System Log polling: an empty page still has next, equal to self.
    let empty = proxied(
        &sim,
        &format!("/api/v1/logs?since={}", enc("2026-10-31T23:59:59.000Z")),
    )
    .await;
    assert_eq!(empty.status, 200);
    assert!(empty.list().is_empty());
    let l = empty.links();
    assert_eq!(
        l.iter().map(|e| e.rel.as_str()).collect::<Vec<_>>(),
        ["self", "next"],
        "{l:?}"
    );
    assert_eq!(l[0].url, l[1].url);
    assert!(
        problems.is_empty(),
        "{} problem(s):\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
    sim.shutdown().await;
}
