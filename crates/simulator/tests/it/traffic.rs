//! The traffic layer: per-bucket quotas and headers, 429 bodies, windows and reset, the
//! concurrency limit, System Log rate events, `none` mode, rate files, faults and stats.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use steward_simulator::rate::{self, BUCKETS, token_limit};
use steward_simulator::traffic::{EventSink, Traffic, TrafficError};
use steward_simulator::{
    FaultSpec, RateConfig, RateLimitMode, RunningSimulator, SimConfig, SimError, Simulator,
};

use crate::common::{client, config, get, send, start_with, url};

/// A simulator with published limits × `scale` and a window of `window`.
fn limited(seed: u64, scale: f64, window: Duration) -> SimConfig {
    let mut c = config(30, seed);
    c.rate.mode = RateLimitMode::Default;
    c.rate.scale = scale;
    c.rate.window = window;
    c
}

fn header(r: &reqwest::Response, name: &str) -> u64 {
    r.headers()
        .get(name)
        .unwrap_or_else(|| panic!("{name} missing"))
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

fn epoch_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

async fn stats(sim: &RunningSimulator) -> Value {
    client()
        .get(url(sim, "/__sim/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// System Log events of one type, newest first.
async fn events(sim: &RunningSimulator, event_type: &str) -> Vec<Value> {
    let path = format!(
        "/api/v1/logs?since=2026-08-01T00:00:00.000Z&sortOrder=DESCENDING&limit=1000&filter=eventType%20eq%20%22{event_type}%22"
    );
    let r = get(sim, "SUPER_ADMIN", &path).await;
    assert_eq!(r.status(), 200);
    r.json::<Value>().await.unwrap().as_array().unwrap().clone()
}

async fn assert_429_body(r: reqwest::Response) {
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["content-type"], "application/json");
    assert!(r.headers().get("retry-after").is_none());
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["errorCode"], "E0000047");
    assert_eq!(
        v["errorSummary"],
        "API call exceeded rate limit due to too many requests."
    );
    assert_eq!(v["errorLink"], "E0000047");
    assert!(v["errorId"].as_str().unwrap().starts_with("oae"));
    assert_eq!(v["errorCauses"], serde_json::json!([]));
}

#[tokio::test]
async fn every_bucket_answers_429_past_its_quota_with_headers_and_okta_body() {
    let sim = start_with(limited(40, 0.01, Duration::from_secs(60))).await;
    let (uid, gid, aid) = sim.with_org(|o| {
        (
            o.users[3].id.clone(),
            o.groups[0].id.clone(),
            o.apps[0].id.clone(),
        )
    });
    let cases: Vec<(&str, reqwest::Method, String)> = vec![
        (rate::APPS, reqwest::Method::GET, "/api/v1/apps".into()),
        (
            rate::APP,
            reqwest::Method::GET,
            format!("/api/v1/apps/{aid}"),
        ),
        (rate::GROUPS, reqwest::Method::GET, "/api/v1/groups".into()),
        (
            rate::GROUP,
            reqwest::Method::GET,
            format!("/api/v1/groups/{gid}"),
        ),
        (rate::USERS, reqwest::Method::GET, "/api/v1/users".into()),
        (
            rate::USER_GET,
            reqwest::Method::GET,
            "/api/v1/users/me".into(),
        ),
        (
            rate::USER_SUB_GET,
            reqwest::Method::GET,
            format!("/api/v1/users/{uid}/groups"),
        ),
        // 404s count too, and carry the headers.
        (
            rate::USER_WRITE,
            reqwest::Method::DELETE,
            "/api/v1/users/00unotthere".into(),
        ),
        (rate::LOGS, reqwest::Method::GET, "/api/v1/logs".into()),
        (rate::EVENTS, reqwest::Method::GET, "/api/v1/events".into()),
        (
            rate::IAM,
            reqwest::Method::GET,
            "/api/v1/iam/assignees/users".into(),
        ),
        (
            rate::POLICIES,
            reqwest::Method::GET,
            "/api/v1/policies?type=OKTA_SIGN_ON".into(),
        ),
        (
            rate::RATE_SETTINGS,
            reqwest::Method::GET,
            "/api/v1/rate-limit-settings/warning-threshold".into(),
        ),
        (
            rate::DEFAULT,
            reqwest::Method::GET,
            "/api/v1/meta/types/user".into(),
        ),
    ];
    assert_eq!(cases.len(), BUCKETS.len());
    for (bucket, method, path) in cases {
        let def = BUCKETS.iter().find(|d| d.name == bucket).unwrap();
        let limit = token_limit(def.workforce, 0.01, 0.5);
        let mut reset = None;
        for i in 1..=limit {
            let r = send(&sim, "SUPER_ADMIN", method.clone(), &path).await;
            assert_ne!(r.status(), 429, "{bucket} request {i}");
            assert_eq!(header(&r, "x-rate-limit-limit"), limit, "{bucket}");
            assert_eq!(header(&r, "x-rate-limit-remaining"), limit - i, "{bucket}");
            let rs = header(&r, "x-rate-limit-reset");
            assert_eq!(
                *reset.get_or_insert(rs),
                rs,
                "{bucket}: reset is fixed within a window"
            );
            let ahead = rs as f64 - epoch_now();
            assert!(
                (50.0..=61.0).contains(&ahead),
                "{bucket}: reset {ahead}s ahead"
            );
        }
        let r = send(&sim, "SUPER_ADMIN", method.clone(), &path).await;
        assert_eq!(header(&r, "x-rate-limit-limit"), limit, "{bucket}");
        assert_eq!(header(&r, "x-rate-limit-remaining"), 0, "{bucket}");
        assert_eq!(Some(header(&r, "x-rate-limit-reset")), reset, "{bucket}");
        assert_429_body(r).await;
    }
    // Admission comes before authentication: a bad token in an exhausted bucket gets 429.
    let r = client()
        .get(url(&sim, "/api/v1/apps/x"))
        .header("Authorization", "SSWS nope")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    let s = stats(&sim).await;
    assert_eq!(s["buckets"].as_object().unwrap().len(), BUCKETS.len());
    sim.shutdown().await;
}

#[tokio::test]
async fn buckets_are_independent() {
    let sim = start_with(limited(41, 0.01, Duration::from_secs(60))).await;
    for _ in 0..3 {
        assert_eq!(
            get(&sim, "SUPER_ADMIN", "/api/v1/users?limit=2")
                .await
                .status(),
            200
        );
    }
    assert_429_body(get(&sim, "SUPER_ADMIN", "/api/v1/users?limit=2").await).await;
    // Groups, one user and the users' sub-resources are separate buckets.
    let r = get(&sim, "SUPER_ADMIN", "/api/v1/groups?limit=2").await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        header(&r, "x-rate-limit-remaining"),
        header(&r, "x-rate-limit-limit") - 1
    );
    assert_eq!(
        get(&sim, "SUPER_ADMIN", "/api/v1/users/me").await.status(),
        200
    );
    // POST /users shares the list's bucket (published "GET/POST /api/v1/users").
    assert_eq!(
        send(&sim, "SUPER_ADMIN", reqwest::Method::POST, "/api/v1/users")
            .await
            .status(),
        429
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn after_reset_passes_requests_succeed_again() {
    let sim = start_with(limited(42, 0.01, Duration::from_secs(2))).await;
    let started = epoch_now();
    let r = get(&sim, "SUPER_ADMIN", "/api/v1/logs").await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-rate-limit-limit"), 1);
    let reset = header(&r, "x-rate-limit-reset");
    assert!(
        reset as f64 >= started + 1.0 && reset as f64 <= started + 3.0,
        "{reset} vs {started}"
    );
    let r = get(&sim, "SUPER_ADMIN", "/api/v1/logs").await;
    assert_eq!(header(&r, "x-rate-limit-reset"), reset);
    assert_429_body(r).await;
    // The SDKs' backoff: wait until Reset (epoch seconds), then retry.
    let wait = reset as f64 - epoch_now() + 0.05;
    tokio::time::sleep(Duration::from_secs_f64(wait.max(0.0))).await;
    let r = get(&sim, "SUPER_ADMIN", "/api/v1/logs").await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-rate-limit-remaining"), 0);
    assert!(header(&r, "x-rate-limit-reset") > reset);
    let s = stats(&sim).await;
    let b = &s["buckets"][rate::LOGS];
    assert_eq!(
        (
            b["requests"].as_u64(),
            b["rate_limited"].as_u64(),
            b["max_window_requests"].as_u64()
        ),
        (Some(3), Some(1), Some(1))
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn concurrency_limit_answers_429_with_limit_zero_and_logs_it() {
    let mut c = limited(43, 20.0, Duration::from_secs(60));
    c.rate.concurrency = Some(2);
    c.faults = "slow=1:1s".parse().unwrap();
    let sim = start_with(c).await;
    let t0 = Instant::now();
    let reqs = (0..6).map(|_| get(&sim, "SUPER_ADMIN", "/api/v1/groups?limit=1"));
    let rs = futures::future::join_all(reqs).await;
    assert!(
        t0.elapsed() >= Duration::from_secs(1),
        "slow fault delays answers"
    );
    let mut ok = 0;
    let mut refused = 0;
    for r in rs {
        match r.status().as_u16() {
            200 => ok += 1,
            429 => {
                refused += 1;
                assert_eq!(header(&r, "x-rate-limit-limit"), 0);
                assert_eq!(header(&r, "x-rate-limit-remaining"), 0);
                assert!(header(&r, "x-rate-limit-reset") as f64 >= epoch_now() - 1.0);
                assert_429_body(r).await;
            }
            s => panic!("unexpected {s}"),
        }
    }
    assert_eq!(ok + refused, 6);
    assert!(ok >= 2 && refused >= 1, "ok {ok} refused {refused}");
    let s = stats(&sim).await;
    assert!(s["max_in_flight"].as_u64().unwrap() >= 3, "{s}");
    assert_eq!(
        s["concurrency_rejections"].as_u64().unwrap(),
        refused,
        "{s}"
    );
    // Refused requests do not use quota.
    assert_eq!(
        s["buckets"][rate::GROUPS]["requests"].as_u64().unwrap(),
        ok,
        "{s}"
    );
    assert!(s["faults"]["slow"].as_u64().unwrap() >= ok, "{s}");
    let ev = events(&sim, "core.concurrency.org.limit.violation").await;
    assert_eq!(ev.len(), 1, "one event per window: {ev:?}");
    assert_eq!(
        ev[0]["debugContext"]["debugData"]["operationRateLimitThreshold"],
        "2"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn warning_and_violation_events_land_in_the_system_log_once_per_window() {
    // Workforce GET /users: 600 × 0.05 × 0.5 = 15 per window; threshold 90 % → warning at 14.
    let sim = start_with(limited(44, 0.05, Duration::from_secs(60))).await;
    let mut statuses = Vec::new();
    for i in 1..=17 {
        let r = get(&sim, "SUPER_ADMIN", "/api/v1/users?limit=1").await;
        statuses.push(r.status().as_u16());
        if i == 13 {
            assert!(events(&sim, "system.rate.limit.warning").await.is_empty());
        }
    }
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 15);
    assert_eq!(&statuses[15..], &[429, 429]);
    let warnings = events(&sim, "system.rate.limit.warning").await;
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    let w = &warnings[0];
    assert_eq!(w["target"][0]["id"], rate::USERS);
    assert_eq!(
        w["debugContext"]["debugData"]["operationRateLimitThreshold"],
        "15"
    );
    assert_eq!(
        w["debugContext"]["debugData"]["operationRateLimitUsed"],
        "14"
    );
    let violations = events(&sim, "system.rate.limit.violation").await;
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert_eq!(violations[0]["target"][0]["id"], rate::USERS);
    assert_eq!(violations[0]["severity"], "WARN");
    let s = stats(&sim).await;
    let b = &s["buckets"][rate::USERS];
    assert_eq!(
        (
            b["warnings"].as_u64(),
            b["violations"].as_u64(),
            b["rate_limited"].as_u64()
        ),
        (Some(1), Some(1), Some(2))
    );
    assert_eq!(b["max_window_share"].as_f64(), Some(1.0));
    sim.shutdown().await;

    // The org's warning threshold (served by the API) is the one the layer uses.
    let mut c = limited(45, 0.05, Duration::from_secs(60));
    c.rate.warning_threshold = 50;
    let sim = start_with(c).await;
    let v: Value = get(
        &sim,
        "SUPER_ADMIN",
        "/api/v1/rate-limit-settings/warning-threshold",
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(v["warningThreshold"], 50);
    for _ in 0..8 {
        assert_eq!(
            get(&sim, "SUPER_ADMIN", "/api/v1/users?limit=1")
                .await
                .status(),
            200
        );
    }
    let warnings = events(&sim, "system.rate.limit.warning").await;
    assert_eq!(warnings.len(), 1);
    assert_eq!(
        warnings[0]["debugContext"]["debugData"]["operationRateLimitUsed"],
        "8"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn none_mode_never_limits_but_sends_headers() {
    let mut c = config(30, 46);
    c.rate.scale = 0.01;
    c.rate.concurrency = Some(1);
    let sim = start_with(c).await;
    for _ in 0..25 {
        let r = get(&sim, "SUPER_ADMIN", "/api/v1/logs?limit=1").await;
        assert_eq!(r.status(), 200);
        assert_eq!(header(&r, "x-rate-limit-limit"), rate::UNLIMITED);
        assert!(header(&r, "x-rate-limit-remaining") > 900_000);
        header(&r, "x-rate-limit-reset");
    }
    let rs = futures::future::join_all(
        (0..5).map(|_| get(&sim, "SUPER_ADMIN", "/api/v1/groups?limit=1")),
    )
    .await;
    assert!(rs.iter().all(|r| r.status() == 200));
    let s = stats(&sim).await;
    assert_eq!(s["buckets"][rate::LOGS]["warnings"], 0);
    assert_eq!(s["concurrency_rejections"], 0);
    assert!(events(&sim, "system.rate.limit.warning").await.is_empty());
    sim.shutdown().await;
}

fn temp_file(name: &str, text: &str) -> std::path::PathBuf {
    let p = std::env::temp_dir().join(format!("steward-sim-{}-{name}.toml", std::process::id()));
    std::fs::write(&p, text).unwrap();
    p
}

#[tokio::test]
async fn rate_file_overrides_buckets_and_concurrency() {
    let p = temp_file(
        "good",
        "concurrency = 1\n[buckets.\"/api/v1/logs\"]\nlimit = 4\n[buckets.\"GET /api/v1/users\"]\nlimit = 6000\n",
    );
    let mut c = config(30, 47);
    c.rate.mode = RateLimitMode::File(p.clone());
    let sim = start_with(c).await;
    let r = get(&sim, "SUPER_ADMIN", "/api/v1/logs?limit=1").await;
    assert_eq!(
        header(&r, "x-rate-limit-limit"),
        2,
        "limit is the org quota; the token sees half"
    );
    let r = get(&sim, "SUPER_ADMIN", "/api/v1/users?limit=1").await;
    assert_eq!(header(&r, "x-rate-limit-limit"), 3000);
    let r = get(&sim, "SUPER_ADMIN", "/api/v1/groups?limit=1").await;
    assert_eq!(
        header(&r, "x-rate-limit-limit"),
        250,
        "other buckets keep the defaults"
    );
    let limits = sim_limits(&p);
    assert_eq!(limits.concurrency, Some(1));
    sim.shutdown().await;
    let _ = std::fs::remove_file(p);
}

fn sink() -> EventSink {
    std::sync::Arc::new(|_| {})
}

fn sim_limits(p: &std::path::Path) -> steward_simulator::rate::Limits {
    let cfg = RateConfig {
        mode: RateLimitMode::File(p.to_path_buf()),
        ..RateConfig::default()
    };
    Traffic::new(cfg, FaultSpec::default(), 1, sink())
        .unwrap()
        .limits()
        .clone()
}

#[tokio::test]
async fn a_bad_rate_file_is_refused_naming_the_field() {
    for (name, text, needle) in [
        (
            "unknown-bucket",
            "[buckets.\"/api/v1/things\"]\nlimit = 4\n",
            "unknown bucket",
        ),
        ("zero", "[buckets.\"/api/v1/logs\"]\nlimit = 0\n", "limit"),
        ("typo", "[buckets.\"/api/v1/logs\"]\nlimt = 4\n", "limt"),
        ("type", "concurrency = \"lots\"\n", "concurrency"),
        ("syntax", "[buckets\nlimit = 4\n", "expected e.g."),
    ] {
        let p = temp_file(name, text);
        let cfg = RateConfig {
            mode: RateLimitMode::File(p.clone()),
            ..RateConfig::default()
        };
        let err = Traffic::new(cfg, FaultSpec::default(), 1, sink()).unwrap_err();
        let TrafficError::RateFile { path, reason } = &err;
        assert_eq!(path, &p.display().to_string());
        assert!(reason.contains(needle), "{name}: {err}");
        let mut c = config(10, 48);
        c.rate.mode = RateLimitMode::File(p.clone());
        let e = Simulator::start(c, "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap_err();
        assert!(
            matches!(e, SimError::Traffic(TrafficError::RateFile { .. })),
            "{e}"
        );
        let _ = std::fs::remove_file(p);
    }
    let cfg = RateConfig {
        mode: RateLimitMode::File("/nonexistent/rates.toml".into()),
        ..RateConfig::default()
    };
    assert!(Traffic::new(cfg, FaultSpec::default(), 1, sink()).is_err());
}

#[test]
fn fault_spec_parsing() {
    let s: FaultSpec = "http500=0.02,reset=0.01,slow=0.05:2s,truncate=0.01,bad_json=0.005"
        .parse()
        .unwrap();
    assert_eq!(
        (s.http500, s.reset, s.slow, s.truncate, s.bad_json),
        (0.02, 0.01, 0.05, 0.01, 0.005)
    );
    assert_eq!(s.slow_for, Duration::from_secs(2));
    assert_eq!(
        "slow=0.5:150ms".parse::<FaultSpec>().unwrap().slow_for,
        Duration::from_millis(150)
    );
    assert!("none".parse::<FaultSpec>().unwrap().is_none());
    for (bad, needle) in [
        ("boom=0.1", "boom"),
        ("http500=1.5", "http500"),
        ("reset=abc", "reset"),
        ("slow=0.1:soon", "slow"),
        ("truncate", "truncate"),
        ("http500=0.6,bad_json=0.6", "sum"),
    ] {
        let e = bad.parse::<FaultSpec>().unwrap_err().to_string();
        assert!(e.contains(needle), "{bad}: {e}");
    }
}

/// What a client observes for one request.
async fn outcome(sim: &RunningSimulator, path: &str) -> String {
    let r = match client()
        .get(url(sim, path))
        .header(
            "Authorization",
            format!("SSWS {}", sim.token("SUPER_ADMIN")),
        )
        .send()
        .await
    {
        Ok(r) => r,
        Err(_) => return "transport".into(),
    };
    let status = r.status().as_u16();
    match r.bytes().await {
        Err(_) => format!("{status}:body-error"),
        Ok(b) => match serde_json::from_slice::<Value>(&b) {
            Ok(v) if status == 500 => format!("500:{}", v["errorCode"].as_str().unwrap_or("")),
            Ok(_) => format!("{status}"),
            Err(_) => format!("{status}:bad-json"),
        },
    }
}

#[tokio::test]
async fn faults_are_deterministic_per_seed_and_spare_sim_endpoints() {
    let spec: FaultSpec = "http500=0.2,reset=0.15,truncate=0.15,bad_json=0.15"
        .parse()
        .unwrap();
    let mut seqs = Vec::new();
    for seed in [50, 50, 51] {
        let mut c = config(30, seed);
        c.faults = spec.clone();
        let sim = start_with(c).await;
        let mut seq = Vec::new();
        for _ in 0..40 {
            seq.push(outcome(&sim, "/api/v1/users?limit=3").await);
        }
        // Never faulted.
        for _ in 0..10 {
            assert_eq!(
                client()
                    .get(url(&sim, "/__sim/stats"))
                    .send()
                    .await
                    .unwrap()
                    .status(),
                200
            );
        }
        let s = stats(&sim).await;
        let f = &s["faults"];
        let total: u64 = ["http500", "reset", "truncate", "bad_json"]
            .iter()
            .map(|k| f[*k].as_u64().unwrap())
            .sum();
        assert_eq!(
            total as usize,
            seq.iter().filter(|o| o.as_str() != "200").count(),
            "{seq:?} {s}"
        );
        assert_eq!(
            s["buckets"][rate::USERS]["requests"],
            40,
            "faulted requests use quota"
        );
        seqs.push(seq);
        sim.shutdown().await;
    }
    assert_eq!(seqs[0], seqs[1]);
    assert_ne!(seqs[0], seqs[2]);
    let all = seqs.concat();
    for want in ["200", "500:E0000009", "200:body-error", "200:bad-json"] {
        assert!(all.iter().any(|o| o == want), "{want} never seen: {all:?}");
    }
    // reset: never a complete response.
    assert!(
        all.iter()
            .any(|o| o == "transport" || o.ends_with(":body-error"))
    );
}

#[tokio::test]
async fn stats_json_has_the_agreed_shape() {
    let sim = start_with(limited(52, 1.0, Duration::from_secs(60))).await;
    for _ in 0..3 {
        get(&sim, "SUPER_ADMIN", "/api/v1/users?limit=1").await;
    }
    let s = stats(&sim).await;
    let mut keys: Vec<&str> = s.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "buckets",
            "concurrency_rejections",
            "faults",
            "max_in_flight"
        ]
    );
    let buckets = s["buckets"].as_object().unwrap();
    assert_eq!(
        buckets.keys().collect::<Vec<_>>(),
        [rate::USERS],
        "only buckets that saw traffic"
    );
    let b = &buckets[rate::USERS];
    let mut bkeys: Vec<&str> = b.as_object().unwrap().keys().map(String::as_str).collect();
    bkeys.sort();
    assert_eq!(
        bkeys,
        [
            "limit",
            "max_window_requests",
            "max_window_share",
            "rate_limited",
            "requests",
            "violations",
            "warnings"
        ]
    );
    assert_eq!(b["requests"], 3);
    assert_eq!(b["limit"], 300);
    assert_eq!(b["max_window_requests"], 3);
    assert_eq!(b["max_window_share"].as_f64(), Some(0.01));
    let mut fkeys: Vec<&str> = s["faults"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    fkeys.sort();
    assert_eq!(fkeys, ["bad_json", "http500", "reset", "slow", "truncate"]);
    assert!(s["max_in_flight"].as_u64().unwrap() >= 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn reset_drops_the_connection_and_truncate_cuts_the_body() {
    let mut c = config(30, 53);
    c.faults = "reset=1".parse().unwrap();
    let sim = start_with(c).await;
    for _ in 0..3 {
        assert_eq!(outcome(&sim, "/api/v1/groups?limit=5").await, "transport");
    }
    sim.shutdown().await;

    let mut c = config(30, 53);
    c.faults = "truncate=1".parse().unwrap();
    let sim = start_with(c).await;
    let r = get(&sim, "SUPER_ADMIN", "/api/v1/groups?limit=5").await;
    assert_eq!(r.status(), 200);
    let promised = header(&r, "content-length");
    assert!(promised > 100);
    header(&r, "x-rate-limit-limit");
    assert!(
        r.bytes().await.is_err(),
        "the body must end early with an error"
    );
    sim.shutdown().await;

    let mut c = config(30, 53);
    c.faults = "bad_json=1".parse().unwrap();
    let sim = start_with(c).await;
    let r = get(&sim, "SUPER_ADMIN", "/api/v1/users/me").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/json");
    let b = r.bytes().await.unwrap();
    assert!(serde_json::from_slice::<Value>(&b).is_err());
    sim.shutdown().await;
}
