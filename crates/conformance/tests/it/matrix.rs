//! Every token role (SUPER/ORG/APP/READ_ONLY/NO_ADMIN/EXPIRED) over every read endpoint the
//! issue lists and over the four writes: the status is the one API-NOTES §4 gives for the
//! role, and every answer — allowed or not — is Okta-shaped: `X-Okta-Request-Id` and an
//! RFC 7231 `Date`, `X-Rate-Limit-Limit/Remaining/Reset`, a JSON content type, a body valid for the spec operation, and on errors
//! the full envelope (`errorCode`, `errorSummary`, `errorLink`, `errorId`, `errorCauses`).

use crate::common::*;
use serde_json::Value;
use steward_simulator::RunningSimulator;

const ROLES: [&str; 6] = [
    "SUPER_ADMIN",
    "ORG_ADMIN",
    "APP_ADMIN",
    "READ_ONLY_ADMIN",
    "NO_ADMIN",
    "EXPIRED",
];

/// What one (role, endpoint) must answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    Ok,
    Forbidden,
    Unauthorized,
}

/// The endpoint families of the permission model (API-NOTES §4; the simulator's table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Me,
    Users,
    /// Admin-role assignment data: SUPER_ADMIN only.
    Roles,
    Factors,
    Groups,
    Apps,
    Policies,
    Logs,
    Settings,
    WriteUser,
    WriteAppUser,
    WriteGroupMember,
}

fn want(role: &str, f: Family) -> Want {
    use Family::*;
    let ok = match role {
        "SUPER_ADMIN" => true,
        "ORG_ADMIN" => f != Roles,
        "APP_ADMIN" => matches!(f, Me | Users | Groups | Apps | Settings | WriteAppUser),
        // Reads everything but admin-role assignment data; no writes.
        "READ_ONLY_ADMIN" => !matches!(f, Roles | WriteUser | WriteAppUser | WriteGroupMember),
        "NO_ADMIN" => f == Me,
        _ => return Want::Unauthorized,
    };
    if ok { Want::Ok } else { Want::Forbidden }
}

/// The Okta-wide checks on any response; returns the problems.
fn envelope_problems(r: &Resp) -> Vec<String> {
    let mut out = Vec::new();
    let what = format!("{} {} → {}", r.method, r.path, r.status);
    match r.header("x-okta-request-id") {
        Some(v) if !v.is_empty() => {}
        _ => out.push(format!("{what}: no X-Okta-Request-Id")),
    }
    match r.header("date") {
        Some(d) if httpdate::parse_http_date(d).is_ok() => {}
        other => out.push(format!("{what}: Date missing or not RFC 7231: {other:?}")),
    }
    // The traffic layer's headers, on every /api answer (errors included: REC errors/401
    // and errors/429 carry them).
    for h in [
        "x-rate-limit-limit",
        "x-rate-limit-remaining",
        "x-rate-limit-reset",
    ] {
        if !r.header(h).is_some_and(|v| v.trim().parse::<u64>().is_ok()) {
            out.push(format!(
                "{what}: {h} missing or not an integer: {:?}",
                r.header(h)
            ));
        }
    }
    if r.body.is_some() {
        let ct = r.header("content-type").unwrap_or("");
        if ct.split(';').next().map(str::trim) != Some("application/json") {
            out.push(format!("{what}: Content-Type {ct:?}"));
        }
    }
    if r.status >= 400 {
        let b = r.body.clone().unwrap_or(Value::Null);
        for k in ["errorCode", "errorSummary", "errorLink", "errorId"] {
            if !b.get(k).is_some_and(Value::is_string) {
                out.push(format!(
                    "{what}: error field {k} missing or not a string: {b}"
                ));
            }
        }
        match b.get("errorCauses").and_then(Value::as_array) {
            Some(causes) => {
                for c in causes {
                    if !c.get("errorSummary").is_some_and(Value::is_string) {
                        out.push(format!(
                            "{what}: errorCauses entry without errorSummary: {c}"
                        ));
                    }
                }
            }
            None => out.push(format!("{what}: errorCauses missing or not an array: {b}")),
        }
    }
    out.extend(schema_problems(r));
    out
}

fn check(r: &Resp, role: &str, f: Family, problems: &mut Vec<String>) {
    let (status, code) = match want(role, f) {
        Want::Ok => (if r.method == "DELETE" { 204 } else { 200 }, None),
        Want::Forbidden => (403, Some("E0000006")),
        Want::Unauthorized => (401, Some("E0000011")),
    };
    if r.status != status || r.error_code() != code {
        problems.push(format!(
            "{role} {} {}: {} {:?}, want {status} {code:?}",
            r.method,
            r.path,
            r.status,
            r.error_code()
        ));
    }
    problems.extend(envelope_problems(r));
}

/// Ids the read endpoints need: (user id, user login, group id, app id, policy id).
async fn ids(sim: &RunningSimulator) -> (String, String, String, String, String) {
    let u = get_ok(sim, "SUPER_ADMIN", "/api/v1/users?limit=3")
        .await
        .list()[2]
        .clone();
    let g = get_ok(sim, "SUPER_ADMIN", "/api/v1/groups?limit=2")
        .await
        .list()[1]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let a = get_ok(sim, "SUPER_ADMIN", "/api/v1/apps?limit=1")
        .await
        .list()[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let p = get_ok(sim, "SUPER_ADMIN", "/api/v1/policies?type=OKTA_SIGN_ON")
        .await
        .list()[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    (
        u["id"].as_str().unwrap().to_string(),
        u["profile"]["login"].as_str().unwrap().to_string(),
        g,
        a,
        p,
    )
}

#[tokio::test]
async fn read_matrix_every_role_every_endpoint() {
    use Family::*;
    let sim = start().await;
    let (uid, login, gid, aid, pid) = ids(&sim).await;
    let reads: Vec<(Family, String)> = vec![
        (Me, "/api/v1/users/me".into()),
        (Users, "/api/v1/users?limit=2".into()),
        (
            Users,
            format!("/api/v1/users?search={}", enc("status eq \"ACTIVE\"")),
        ),
        (
            Users,
            format!("/api/v1/users?filter={}", enc("status eq \"ACTIVE\"")),
        ),
        (Users, format!("/api/v1/users?q={}", enc(&login[..2]))),
        (Users, format!("/api/v1/users/{uid}")),
        (Users, format!("/api/v1/users/{}", enc(&login))),
        (Users, format!("/api/v1/users/{uid}/groups")),
        (Users, format!("/api/v1/users/{uid}/appLinks")),
        (Roles, format!("/api/v1/users/{uid}/roles")),
        (Factors, format!("/api/v1/users/{uid}/factors")),
        (Groups, "/api/v1/groups?limit=3".into()),
        (Groups, format!("/api/v1/groups/{gid}/users")),
        (Roles, format!("/api/v1/groups/{gid}/roles")),
        (Apps, "/api/v1/apps?limit=3".into()),
        (Apps, format!("/api/v1/apps/{aid}")),
        (Apps, format!("/api/v1/apps/{aid}/users")),
        (Apps, format!("/api/v1/apps/{aid}/groups")),
        (Roles, "/api/v1/iam/assignees/users".into()),
        (Policies, "/api/v1/policies?type=OKTA_SIGN_ON".into()),
        (Policies, "/api/v1/policies?type=ACCESS_POLICY".into()),
        (Policies, "/api/v1/policies?type=MFA_ENROLL".into()),
        (Policies, format!("/api/v1/policies/{pid}/rules")),
        (
            Logs,
            format!(
                "/api/v1/logs?since={}&limit=5",
                enc("2026-10-01T00:00:00.000Z")
            ),
        ),
        (
            Settings,
            "/api/v1/rate-limit-settings/warning-threshold".into(),
        ),
        (
            Settings,
            "/api/v1/rate-limit-settings/admin-notifications".into(),
        ),
    ];
    let mut problems = Vec::new();
    for role in ROLES {
        for (f, path) in &reads {
            let r = get(&sim, role, path).await;
            check(&r, role, *f, &mut problems);
        }
    }
    assert!(
        problems.is_empty(),
        "{} problem(s):\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
    sim.shutdown().await;
}

/// Each role against the four writes, on a fresh org per role so an allowed write by one role
/// does not change what the next one sees. Denied writes must not change anything.
#[tokio::test]
async fn write_matrix_every_role() {
    use Family::*;
    let mut problems = Vec::new();
    for role in ROLES {
        let sim = start().await;
        let active = users_with_status(&sim, "ACTIVE").await;
        let (deact, del) = (active[0].clone(), active[1].clone());
        // An app with users, and an OKTA_GROUP with members (APP_GROUP members are read-only).
        let apps = get_ok(&sim, "SUPER_ADMIN", "/api/v1/apps?limit=200").await;
        let mut app_user = None;
        for a in apps.list() {
            let id = a["id"].as_str().unwrap();
            let us = get_ok(
                &sim,
                "SUPER_ADMIN",
                &format!("/api/v1/apps/{id}/users?limit=1"),
            )
            .await;
            if let Some(u) = us.list().first() {
                app_user = Some((id.to_string(), u["id"].as_str().unwrap().to_string()));
                break;
            }
        }
        let (app, app_uid) = app_user.expect("some app has users");
        let groups = get_ok(
            &sim,
            "SUPER_ADMIN",
            &format!(
                "/api/v1/groups?filter={}&limit=200",
                enc("type eq \"OKTA_GROUP\"")
            ),
        )
        .await;
        let mut member = None;
        for g in groups.list() {
            let id = g["id"].as_str().unwrap();
            let ms = get_ok(
                &sim,
                "SUPER_ADMIN",
                &format!("/api/v1/groups/{id}/users?limit=1"),
            )
            .await;
            if let Some(u) = ms.list().first() {
                member = Some((id.to_string(), u["id"].as_str().unwrap().to_string()));
                break;
            }
        }
        let (group, group_uid) = member.expect("some OKTA_GROUP has members");
        let writes: Vec<(Family, &str, String)> = vec![
            (
                WriteUser,
                "POST",
                format!("/api/v1/users/{deact}/lifecycle/deactivate"),
            ),
            (WriteUser, "DELETE", format!("/api/v1/users/{del}")),
            (
                WriteAppUser,
                "DELETE",
                format!("/api/v1/apps/{app}/users/{app_uid}"),
            ),
            (
                WriteGroupMember,
                "DELETE",
                format!("/api/v1/groups/{group}/users/{group_uid}"),
            ),
        ];
        for (f, method, path) in &writes {
            let r = call(&sim, role, method, path).await;
            check(&r, role, *f, &mut problems);
        }
        // Effects only when allowed.
        let status_of = |body: &Option<Value>| {
            body.as_ref()
                .and_then(|b| b["status"].as_str().map(str::to_string))
        };
        let d = get_ok(&sim, "SUPER_ADMIN", &format!("/api/v1/users/{deact}")).await;
        let expect = if want(role, WriteUser) == Want::Ok {
            "DEPROVISIONED"
        } else {
            "ACTIVE"
        };
        if status_of(&d.body).as_deref() != Some(expect) {
            problems.push(format!(
                "{role}: user after deactivate is {:?}, want {expect}",
                status_of(&d.body)
            ));
        }
        let au = get(
            &sim,
            "SUPER_ADMIN",
            &format!("/api/v1/apps/{app}/users?limit=500"),
        )
        .await;
        let still = au.list().iter().any(|u| u["id"] == app_uid.as_str());
        if still == (want(role, WriteAppUser) == Want::Ok) {
            problems.push(format!("{role}: app user still assigned = {still}"));
        }
        let gm = get(
            &sim,
            "SUPER_ADMIN",
            &format!("/api/v1/groups/{group}/users?limit=1000"),
        )
        .await;
        let still = gm.list().iter().any(|u| u["id"] == group_uid.as_str());
        if still == (want(role, WriteGroupMember) == Want::Ok) {
            problems.push(format!("{role}: group member still present = {still}"));
        }
        sim.shutdown().await;
    }
    assert!(
        problems.is_empty(),
        "{} problem(s):\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
}

/// Writes on unknown ids: 404 E0000007 with the full envelope, for each write endpoint.
#[tokio::test]
async fn writes_on_unknown_ids_are_404_e0000007() {
    let sim = start().await;
    let uid = users_with_status(&sim, "ACTIVE").await[0].clone();
    let mut problems = Vec::new();
    for (method, path) in [
        (
            "POST",
            "/api/v1/users/00u0000000000000000x/lifecycle/deactivate".to_string(),
        ),
        ("DELETE", "/api/v1/users/00u0000000000000000x".to_string()),
        (
            "DELETE",
            format!("/api/v1/apps/0oa0000000000000000x/users/{uid}"),
        ),
        (
            "DELETE",
            format!("/api/v1/groups/00g0000000000000000x/users/{uid}"),
        ),
    ] {
        let r = call(&sim, "SUPER_ADMIN", method, &path).await;
        if r.status != 404 || r.error_code() != Some("E0000007") {
            problems.push(format!("{method} {path}: {} {:?}", r.status, r.body));
        }
        problems.extend(envelope_problems(&r));
        assert_conforms(&sample("users-get", "05-py-404-after-delete"), &[&r]);
    }
    assert!(
        problems.is_empty(),
        "{} problem(s):\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
    sim.shutdown().await;
}

/// Both `SSWS <token>` and `SSWS<token>` on reads and on a write.
#[tokio::test]
async fn both_ssws_forms_on_reads_and_writes() {
    let sim = start().await;
    let t = sim.token("SUPER_ADMIN");
    let uid = users_with_status(&sim, "ACTIVE").await[0].clone();
    for auth in [format!("SSWS {t}"), format!("SSWS{t}")] {
        for path in [
            "/api/v1/users?limit=1",
            "/api/v1/groups?limit=1",
            "/api/v1/apps?limit=1",
            "/api/v1/users/me",
        ] {
            let r = get(&sim, &auth, path).await;
            assert_eq!(r.status, 200, "{auth:.5}… {path}");
            assert!(
                envelope_problems(&r).is_empty(),
                "{:?}",
                envelope_problems(&r)
            );
        }
    }
    let r = call(
        &sim,
        &format!("SSWS{t}"),
        "POST",
        &format!("/api/v1/users/{uid}/lifecycle/deactivate"),
    )
    .await;
    assert_eq!(r.status, 200);
    // Neither the scheme alone nor another scheme is accepted.
    for auth in ["SSWS", "SSWS ", &format!("Bearer {t}")] {
        let resp = client()
            .get(format!("{}/api/v1/users", sim.base_url()))
            .header("Authorization", auth.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 401, "{auth:.8}");
    }
    sim.shutdown().await;
}

/// Every error the simulator produces carries the whole envelope, JSON content type, a
/// request id and a date, and validates as the spec's `Error`.
#[tokio::test]
async fn every_error_kind_has_the_full_envelope() {
    let sim = start().await;
    let mut problems = Vec::new();
    let cases: Vec<(&str, &str, String, u16, &str)> = vec![
        ("SSWS", "GET", "/api/v1/users".into(), 401, "E0000011"),
        (
            "SSWS 00bogus",
            "GET",
            "/api/v1/users".into(),
            401,
            "E0000011",
        ),
        ("EXPIRED", "GET", "/api/v1/groups".into(), 401, "E0000011"),
        ("NO_ADMIN", "GET", "/api/v1/apps".into(), 403, "E0000006"),
        (
            "READ_ONLY_ADMIN",
            "GET",
            "/api/v1/iam/assignees/users".into(),
            403,
            "E0000006",
        ),
        (
            "SUPER_ADMIN",
            "GET",
            "/api/v1/users/00u0000000000000000x".into(),
            404,
            "E0000007",
        ),
        (
            "SUPER_ADMIN",
            "GET",
            "/api/v1/groups/00g0000000000000000x/users".into(),
            404,
            "E0000007",
        ),
        (
            "SUPER_ADMIN",
            "GET",
            "/api/v1/nothing/here".into(),
            404,
            "E0000008",
        ),
        (
            "SUPER_ADMIN",
            "GET",
            "/api/v1/users?after=not-a-cursor".into(),
            400,
            "E0000029",
        ),
        (
            "SUPER_ADMIN",
            "GET",
            format!("/api/v1/users?search={}", enc("profile.email eq")),
            400,
            "E0000031",
        ),
        (
            "SUPER_ADMIN",
            "GET",
            format!("/api/v1/users?filter={}", enc("profile.city eq \"x\"")),
            400,
            "E0000031",
        ),
        (
            "SUPER_ADMIN",
            "GET",
            "/api/v1/policies".into(),
            400,
            "E0000001",
        ),
        (
            "SUPER_ADMIN",
            "PATCH",
            "/api/v1/users".into(),
            405,
            "E0000022",
        ),
    ];
    for (role, method, path, status, code) in &cases {
        let r = call(&sim, role, method, path).await;
        if r.status != *status || r.error_code() != Some(*code) {
            problems.push(format!(
                "{role} {method} {path}: {} {:?}, want {status} {code}",
                r.status,
                r.error_code()
            ));
        }
        problems.extend(envelope_problems(&r));
    }
    assert!(
        problems.is_empty(),
        "{} problem(s):\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
    sim.shutdown().await;
}
