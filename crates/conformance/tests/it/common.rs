//! Shared helpers: a small seeded simulator, HTTP calls with a role's token, and the
//! conformance check of a simulator response against a recorded sample (shape, headers,
//! schema) with a readable report.

use chrono::{DateTime, Utc};
use serde_json::Value;
use steward_conformance::schema::Validated;
use steward_conformance::{Sample, ShapeRules, Spec, check_headers, compare, load_endpoint};
use steward_simulator::{RateLimitMode, RunningSimulator, SimConfig, Simulator};

/// Users in the test org: big enough for every status, role and factor kind, small enough to
/// start in milliseconds.
pub const USERS: usize = 60;
pub const SEED: u64 = 7;

pub fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-01T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

pub fn config() -> SimConfig {
    let mut c = SimConfig::new(USERS, SEED, now());
    c.rate.mode = RateLimitMode::None;
    c
}

pub async fn start() -> RunningSimulator {
    start_with(config()).await
}

pub async fn start_with(c: SimConfig) -> RunningSimulator {
    Simulator::start(c, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

/// One simulator response, headers as (name, value) per header line.
#[derive(Debug, Clone)]
pub struct Resp {
    pub method: String,
    /// Path and query as requested (`/api/v1/users?limit=1`).
    pub path: String,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Option<Value>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn path_only(&self) -> &str {
        self.path.split('?').next().unwrap_or(&self.path)
    }
    /// The body as an array (panics otherwise: the caller expects a list).
    pub fn list(&self) -> &Vec<Value> {
        self.body
            .as_ref()
            .and_then(Value::as_array)
            .unwrap_or_else(|| panic!("{} {}: not a list: {:?}", self.method, self.path, self.body))
    }
    /// The `Link` entries, in order.
    pub fn links(&self) -> Vec<steward_conformance::headers::LinkEntry> {
        let values = self
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("link"))
            .map(|(_, v)| v.as_str());
        steward_conformance::headers::parse_links(values).unwrap()
    }
    pub fn next_link(&self) -> Option<String> {
        self.links()
            .into_iter()
            .find(|e| e.rel == "next")
            .map(|e| e.url)
    }
    pub fn error_code(&self) -> Option<&str> {
        self.body.as_ref()?.get("errorCode")?.as_str()
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// Send a request with the token of `role` (a raw `SSWS …` value when `role` starts with `SSWS`).
pub async fn call(sim: &RunningSimulator, role: &str, method: &str, path_or_url: &str) -> Resp {
    let url = if path_or_url.starts_with("http") {
        path_or_url.to_string()
    } else {
        format!("{}{path_or_url}", sim.base_url())
    };
    let auth = if role.starts_with("SSWS") {
        role.to_string()
    } else {
        format!("SSWS {}", sim.token(role))
    };
    let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = client()
        .request(m, &url)
        .header("Authorization", auth)
        .header("Accept", "application/json");
    if method == "POST" {
        // Okta requires Content-Length: 0 on a POST without a body (411 otherwise).
        req = req.header("Content-Length", "0");
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let headers: Vec<(String, String)> = r
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_string(),
                v.to_str().unwrap_or("<non-ascii>").to_string(),
            )
        })
        .collect();
    let bytes = r.bytes().await.unwrap();
    let body = if bytes.is_empty() {
        None
    } else {
        Some(serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            panic!(
                "{method} {url}: body is not JSON ({e}): {}",
                String::from_utf8_lossy(&bytes)
            )
        }))
    };
    let u = url::Url::parse(&url).unwrap();
    let path = match u.query() {
        Some(q) => format!("{}?{q}", u.path()),
        None => u.path().to_string(),
    };
    Resp {
        method: method.to_string(),
        path,
        status,
        headers,
        body,
    }
}

pub async fn get(sim: &RunningSimulator, role: &str, path: &str) -> Resp {
    call(sim, role, "GET", path).await
}

/// GET that must answer 200.
pub async fn get_ok(sim: &RunningSimulator, role: &str, path: &str) -> Resp {
    let r = get(sim, role, path).await;
    assert_eq!(r.status, 200, "GET {path} as {role}: {:?}", r.body);
    r
}

/// The recorded sample `endpoint/name`.
pub fn sample(endpoint: &str, name: &str) -> Sample {
    load_endpoint(endpoint)
        .unwrap()
        .into_iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no recorded sample {endpoint}/{name}"))
}

pub fn samples(endpoint: &str) -> Vec<Sample> {
    load_endpoint(endpoint).unwrap()
}

/// Validate one simulator response against the spec operation it answers.
pub fn schema_problems(r: &Resp) -> Vec<String> {
    let spec = Spec::global().unwrap();
    match spec.validate(&r.method, r.path_only(), r.status, r.body.as_ref()) {
        Ok(Validated { .. }) => Vec::new(),
        Err(e) => vec![format!("schema: {} {}: {e}", r.method, r.path)],
    }
}

/// Everything that makes `actual` differ from the recorded `sample`: status, headers of each
/// response, schema validity of each response, and the shape of the recorded body against the
/// simulator bodies (list elements of all `actual` responses are pooled, so several requests
/// can together cover the recorded kinds).
pub fn problems(sample: &Sample, actual: &[&Resp]) -> Vec<String> {
    assert!(!actual.is_empty());
    let mut out = Vec::new();
    for r in actual {
        if r.status != sample.status {
            out.push(format!(
                "status: {} {} gave {}, recorded {} ({:?})",
                r.method, r.path, r.status, sample.status, r.body
            ));
            continue;
        }
        // X-Rate-Limit-* belong to the traffic layer: checked once per endpoint in
        // `headers::rate_limit_headers_on_every_recorded_endpoint`, so one missing piece
        // does not fail every shape test.
        let kept: Vec<(String, Vec<String>)> = sample
            .headers
            .iter()
            .filter(|(n, _)| !is_rate_header(n))
            .cloned()
            .collect();
        for m in check_headers(&kept, &r.headers) {
            out.push(format!("header: {} {}: {m}", r.method, r.path));
        }
        out.extend(schema_problems(r));
    }
    if let Some(rec) = sample.body_as_list() {
        let pooled = if rec.is_array() {
            let mut all = Vec::new();
            for r in actual {
                match &r.body {
                    Some(Value::Array(a)) => all.extend(a.iter().cloned()),
                    other => out.push(format!(
                        "shape: {} {} is not a list: {other:?}",
                        r.method, r.path
                    )),
                }
            }
            if all.is_empty() && rec.as_array().is_some_and(|a| !a.is_empty()) {
                out.push(
                    "shape: the simulator returned no elements to compare with the recording"
                        .into(),
                );
            }
            Value::Array(all)
        } else {
            actual[0].body.clone().unwrap_or(Value::Null)
        };
        let report = compare(&rec, &pooled, &ShapeRules::for_endpoint(&sample.endpoint));
        for m in &report.mismatches {
            out.push(format!("shape: {m}"));
        }
        for n in &report.notes {
            eprintln!("note {}: {n}", sample.id());
        }
    } else if let Some(b) = actual.iter().find_map(|r| r.body.as_ref()) {
        out.push(format!("body: recorded none, simulator {b}"));
    }
    out
}

/// Assert that the simulator responses conform to the recorded sample; on failure print
/// every problem (path, recorded type, simulator type).
pub fn assert_conforms(sample: &Sample, actual: &[&Resp]) {
    let p = problems(sample, actual);
    assert!(
        p.is_empty(),
        "simulator vs recording {} ({} problem(s)):\n  {}",
        sample.id(),
        p.len(),
        p.join("\n  ")
    );
}

/// Assert against every sample of an endpoint directory.
pub fn assert_conforms_all(endpoint: &str, actual: &[&Resp]) {
    let mut all = Vec::new();
    for s in samples(endpoint) {
        let p = problems(&s, actual);
        if !p.is_empty() {
            all.push(format!("vs {}:\n    {}", s.id(), p.join("\n    ")));
        }
    }
    assert!(
        all.is_empty(),
        "simulator vs recordings of {endpoint}:\n  {}",
        all.join("\n  ")
    );
}

/// URL-encode a query value.
pub fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Ids of users with a status (via `search`, which includes DEPROVISIONED).
pub async fn users_with_status(sim: &RunningSimulator, status: &str) -> Vec<String> {
    let r = get_ok(
        sim,
        "SUPER_ADMIN",
        &format!(
            "/api/v1/users?search={}",
            enc(&format!("status eq \"{status}\""))
        ),
    )
    .await;
    r.list()
        .iter()
        .filter_map(|u| u["id"].as_str().map(str::to_string))
        .collect()
}

pub fn is_rate_header(name: &str) -> bool {
    name.to_ascii_lowercase().starts_with("x-rate-limit-")
}
