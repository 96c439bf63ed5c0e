//! Error responses: status, `errorCode`, the recorded error envelope's shape and headers, and
//! the spec's `Error` schema. Malformed `after`, `search` and `filter` give Okta's 400 codes.

use crate::common::*;
use steward_conformance::{ShapeRules, Spec, compare};

#[tokio::test]
async fn bad_token_is_401_e0000011() {
    let sim = start().await;
    for auth in ["SSWS 00notarealtoken", "EXPIRED"] {
        let r = get(&sim, auth, "/api/v1/users").await;
        assert_eq!(r.error_code(), Some("E0000011"), "{auth}: {:?}", r.body);
        assert_conforms(&sample("errors", "401-E0000011-invalid-token"), &[&r]);
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn unknown_user_is_404_e0000007() {
    let sim = start().await;
    let r = get(&sim, "SUPER_ADMIN", "/api/v1/users/00u0000000000000000x").await;
    assert_eq!(r.error_code(), Some("E0000007"));
    assert_eq!(
        r.body.as_ref().unwrap()["errorSummary"],
        "Not found: Resource not found: 00u0000000000000000x (User)"
    );
    assert_conforms(&sample("users-get", "05-py-404-after-delete"), &[&r]);
    sim.shutdown().await;
}

/// 403 E0000006 was never recorded: compare with the spec's own example
/// (`components/examples/ErrorAccessDenied`) and validate against the operation's 403 schema.
#[tokio::test]
async fn read_only_admin_on_assignees_is_403_e0000006() {
    let sim = start().await;
    let r = get(&sim, "READ_ONLY_ADMIN", "/api/v1/iam/assignees/users").await;
    assert_eq!(r.status, 403, "{:?}", r.body);
    assert_eq!(r.error_code(), Some("E0000006"));
    let example = Spec::global()
        .unwrap()
        .document()
        .pointer("/components/examples/ErrorAccessDenied/value")
        .expect("spec example ErrorAccessDenied")
        .clone();
    assert_eq!(example["errorCode"], "E0000006");
    let report = compare(&example, r.body.as_ref().unwrap(), &ShapeRules::generic());
    assert!(report.is_ok(), "{report}");
    assert!(schema_problems(&r).is_empty(), "{:?}", schema_problems(&r));
    // Headers like any other answer of that org (the 404 recording's set).
    let kept: Vec<_> = sample("users-get", "05-py-404-after-delete")
        .headers
        .into_iter()
        .filter(|(n, _)| !is_rate_header(n))
        .collect();
    let h = steward_conformance::check_headers(&kept, &r.headers);
    assert!(h.is_empty(), "{h:?}");
    sim.shutdown().await;
}

#[tokio::test]
async fn malformed_after_is_400_e0000029() {
    let sim = start().await;
    let s = sample("errors", "400-E0000029-invalid-cursor");
    for path in [
        "/api/v1/users?after=not-a-cursor&limit=1",
        "/api/v1/groups?after=not-a-cursor",
        "/api/v1/apps?q=x&after=00u1testcursorvalue&limit=1",
        "/api/v1/logs?after=garbage",
    ] {
        let r = get(&sim, "SUPER_ADMIN", path).await;
        assert_eq!(r.error_code(), Some("E0000029"), "{path}: {:?}", r.body);
        assert_eq!(
            r.body.as_ref().unwrap()["errorCauses"][0]["errorSummary"],
            "Invalid cursor.",
            "{path}"
        );
        assert_conforms(&s, &[&r]);
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn malformed_search_and_filter_are_400_e0000031() {
    let sim = start().await;
    let s = sample("errors", "400-E0000031-invalid-search-cursor");
    for path in [
        format!("/api/v1/users?search={}", enc("profile.email eq")),
        format!("/api/v1/users?search={}", enc("(status eq \"ACTIVE\"")),
        format!("/api/v1/users?filter={}", enc("profile.city eq \"Paris\"")),
        format!("/api/v1/users?filter={}", enc("status lt")),
        format!("/api/v1/groups?filter={}", enc("name eq \"x\"")),
        format!("/api/v1/groups?search={}", enc("profile.name eq")),
    ] {
        let r = get(&sim, "SUPER_ADMIN", &path).await;
        assert_eq!(r.status, 400, "{path}: {:?}", r.body);
        assert_eq!(r.error_code(), Some("E0000031"), "{path}: {:?}", r.body);
        assert_eq!(
            r.body.as_ref().unwrap()["errorSummary"],
            "Invalid search criteria."
        );
        assert_conforms(&s, &[&r]);
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn unsupported_method_is_405_e0000022() {
    let sim = start().await;
    let r = call(&sim, "SUPER_ADMIN", "PATCH", "/api/v1/users").await;
    assert_eq!(r.status, 405, "{:?}", r.body);
    assert_eq!(r.error_code(), Some("E0000022"));
    assert_conforms(&sample("errors", "405-E0000022-method-not-allowed"), &[&r]);
    sim.shutdown().await;
}

/// Exhaust the `/api/v1/logs` bucket (rate limits on, small scale): 429 E0000047 with
/// `X-Rate-Limit-Remaining: 0` and a reset in the future, like the recording.
#[tokio::test]
async fn exhausted_bucket_is_429_e0000047() {
    let mut c = config();
    c.rate.mode = steward_simulator::RateLimitMode::Default;
    c.rate.scale = 0.05;
    let sim = start_with(c).await;
    let mut last = None;
    for _ in 0..200 {
        let r = get(&sim, "SUPER_ADMIN", "/api/v1/logs?limit=1").await;
        if r.status == 429 {
            last = Some(r);
            break;
        }
    }
    let r = last.expect("no 429 within 200 requests to /api/v1/logs with rate.scale=0.05");
    assert_eq!(r.error_code(), Some("E0000047"));
    assert_eq!(r.header("x-rate-limit-remaining"), Some("0"));
    let reset: i64 = r.header("x-rate-limit-reset").unwrap().parse().unwrap();
    let date = httpdate::parse_http_date(r.header("date").unwrap()).unwrap();
    let date = date
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!(
        reset >= date && reset <= date + 61,
        "reset {reset} vs date {date}"
    );
    assert!(
        r.header("retry-after").is_none(),
        "Okta sends no Retry-After"
    );
    assert_conforms(&sample("errors", "429-E0000047-then-retry-01-429"), &[&r]);
    sim.shutdown().await;
}

#[test]
fn error_envelope_schema_accepts_every_recorded_error() {
    let spec = Spec::global().unwrap();
    for s in samples("errors").iter().filter(|s| s.status >= 400) {
        spec.validate_def("Error", s.body.as_ref().unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", s.id()));
    }
}
