//! `X-Rate-Limit-Limit/Remaining/Reset` on every endpoint whose recordings kept them (the
//! `py`/`rb` samples), in the recorded form; with rate limits on, values that make sense
//! together (remaining ≤ limit, reset within the minute after `Date`). The other recorded
//! headers (`Content-Type`, `Date`, `Link`, `X-Okta-Request-Id`) are checked with each
//! endpoint's shape test.

use crate::common::*;
use steward_conformance::{Sample, check_headers, load_endpoint, load_index_dirs};
use steward_simulator::RunningSimulator;

/// The simulator request equivalent to an endpoint directory, and its method.
async fn equivalent(sim: &RunningSimulator, endpoint: &str) -> Option<(&'static str, String)> {
    let user = users_with_status(sim, "ACTIVE").await[0].clone();
    let app = get_ok(sim, "SUPER_ADMIN", "/api/v1/apps?limit=1")
        .await
        .list()[0]["id"]
        .as_str()?
        .to_string();
    let group = get_ok(sim, "SUPER_ADMIN", "/api/v1/groups?limit=1")
        .await
        .list()[0]["id"]
        .as_str()?
        .to_string();
    let policy = get_ok(sim, "SUPER_ADMIN", "/api/v1/policies?type=OKTA_SIGN_ON")
        .await
        .list()[0]["id"]
        .as_str()?
        .to_string();
    Some(match endpoint {
        "users-list" => ("GET", "/api/v1/users?limit=1".into()),
        "users-get" => ("GET", format!("/api/v1/users/{user}")),
        "users-roles" => (
            "GET",
            format!("/api/v1/users/{}/roles", sim.token_user_id("SUPER_ADMIN")?),
        ),
        "users-groups" => ("GET", format!("/api/v1/users/{user}/groups")),
        "users-applinks" => ("GET", format!("/api/v1/users/{user}/appLinks")),
        "users-factors" => ("GET", format!("/api/v1/users/{user}/factors")),
        "users-deactivate" => ("POST", format!("/api/v1/users/{user}/lifecycle/deactivate")),
        "users-delete" => ("DELETE", format!("/api/v1/users/{user}")),
        "groups-list" => ("GET", "/api/v1/groups".into()),
        "groups-users" => ("GET", format!("/api/v1/groups/{group}/users")),
        "apps-list" => ("GET", "/api/v1/apps?limit=2".into()),
        "apps-users" => ("GET", format!("/api/v1/apps/{app}/users")),
        "apps-groups" => ("GET", format!("/api/v1/apps/{app}/groups")),
        "policies-okta-sign-on" => ("GET", "/api/v1/policies?type=OKTA_SIGN_ON".into()),
        "policies-rules" => ("GET", format!("/api/v1/policies/{policy}/rules")),
        "rate-limit-warning-threshold" => (
            "GET",
            "/api/v1/rate-limit-settings/warning-threshold".into(),
        ),
        "rate-limit-admin-notifications" => (
            "GET",
            "/api/v1/rate-limit-settings/admin-notifications".into(),
        ),
        "errors" => ("GET", "/api/v1/users?after=not-a-cursor".into()),
        _ => return None,
    })
}

fn rate_headers(s: &Sample) -> Vec<(String, Vec<String>)> {
    s.headers
        .iter()
        .filter(|(n, _)| is_rate_header(n))
        .cloned()
        .collect()
}

#[tokio::test]
async fn rate_limit_headers_on_every_recorded_endpoint() {
    let mut problems = Vec::new();
    let mut checked = Vec::new();
    for dir in load_index_dirs().unwrap() {
        let Some(s) = load_endpoint(&dir)
            .unwrap()
            .into_iter()
            .find(|s| !rate_headers(s).is_empty())
        else {
            continue;
        };
        // A fresh simulator per endpoint: the write samples change the org.
        let sim = start().await;
        let (method, path) = equivalent(&sim, &dir)
            .await
            .unwrap_or_else(|| panic!("no simulator equivalent for {dir}"));
        let r = call(&sim, "SUPER_ADMIN", method, &path).await;
        for m in check_headers(&rate_headers(&s), &r.headers) {
            problems.push(format!("{method} {path} (vs {}): {m}", s.id()));
        }
        checked.push(dir);
        sim.shutdown().await;
    }
    assert!(checked.len() >= 15, "{checked:?}");
    assert!(
        problems.is_empty(),
        "rate-limit headers ({} problem(s)):\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
}

/// The 401 for a bad token carries rate-limit headers too (REC errors/401-E0000011).
#[tokio::test]
async fn rate_limit_headers_on_a_bad_token() {
    let sim = start().await;
    let r = get(&sim, "SSWS 00notarealtoken", "/api/v1/users").await;
    assert_eq!(r.status, 401);
    let s = sample("errors", "401-E0000011-invalid-token");
    let h = check_headers(&rate_headers(&s), &r.headers);
    assert!(h.is_empty(), "{h:?}");
    sim.shutdown().await;
}

#[tokio::test]
async fn rate_limit_values_make_sense_with_limits_on() {
    let mut c = config();
    c.rate.mode = steward_simulator::RateLimitMode::Default;
    let sim = start_with(c).await;
    let a = get_ok(&sim, "SUPER_ADMIN", "/api/v1/users?limit=1").await;
    let b = get_ok(&sim, "SUPER_ADMIN", "/api/v1/users?limit=1").await;
    let num = |r: &Resp, h: &str| -> i64 {
        r.header(h)
            .unwrap_or_else(|| panic!("{h} missing"))
            .parse()
            .unwrap_or_else(|_| panic!("{h} not a number"))
    };
    let limit = num(&a, "x-rate-limit-limit");
    assert!(limit > 0);
    assert!(num(&a, "x-rate-limit-remaining") < limit);
    // The second call in the same window used one more.
    assert_eq!(
        num(&b, "x-rate-limit-remaining"),
        num(&a, "x-rate-limit-remaining") - 1
    );
    let date = httpdate::parse_http_date(a.header("date").unwrap()).unwrap();
    let date = date
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let reset = num(&a, "x-rate-limit-reset");
    assert!(
        reset >= date && reset <= date + 61,
        "reset {reset}, date {date}"
    );
    sim.shutdown().await;
}
