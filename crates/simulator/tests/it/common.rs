//! Shared helpers: start a simulator, GET with a role's token, follow `Link` pages.

use chrono::{DateTime, Utc};
use reqwest::header::{HeaderMap, LINK};
use serde_json::Value;
use steward_simulator::{RateLimitMode, RunningSimulator, SimConfig, Simulator};

pub fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-01T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

pub fn config(users: usize, seed: u64) -> SimConfig {
    let mut c = SimConfig::new(users, seed, now());
    c.rate.mode = RateLimitMode::None;
    c
}

pub async fn start_with(config: SimConfig) -> RunningSimulator {
    Simulator::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

pub async fn start(users: usize, seed: u64) -> RunningSimulator {
    start_with(config(users, seed)).await
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

pub fn url(sim: &RunningSimulator, path: &str) -> String {
    if path.starts_with("http") {
        path.to_string()
    } else {
        format!("{}{}", sim.base_url(), path)
    }
}

pub async fn get(sim: &RunningSimulator, role: &str, path: &str) -> reqwest::Response {
    client()
        .get(url(sim, path))
        .header("Authorization", format!("SSWS {}", sim.token(role)))
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap()
}

pub async fn send(
    sim: &RunningSimulator,
    role: &str,
    method: reqwest::Method,
    path: &str,
) -> reqwest::Response {
    client()
        .request(method, url(sim, path))
        .header("Authorization", format!("SSWS {}", sim.token(role)))
        .header("Content-Length", "0")
        .send()
        .await
        .unwrap()
}

/// All `Link` values with their rel, in header order.
pub fn links(headers: &HeaderMap) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for v in headers.get_all(LINK) {
        for part in v.to_str().unwrap().split(", <") {
            let part = part.trim_start_matches('<');
            let (u, rest) = part.split_once('>').unwrap();
            let rel = rest
                .split("rel=\"")
                .nth(1)
                .unwrap()
                .trim_end_matches('"')
                .to_string();
            out.push((rel, u.to_string()));
        }
    }
    out
}

pub fn next_link(headers: &HeaderMap) -> Option<String> {
    links(headers)
        .into_iter()
        .find(|(r, _)| r == "next")
        .map(|(_, u)| u)
}

/// GET every page of a Link-paged list (not for System Log polling).
pub async fn get_all(sim: &RunningSimulator, role: &str, path: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut next = Some(url(sim, path));
    let mut pages = 0;
    while let Some(u) = next {
        let r = get(sim, role, &u).await;
        assert_eq!(r.status(), 200, "GET {u}");
        next = next_link(r.headers());
        let v: Value = r.json().await.unwrap();
        out.extend(v.as_array().unwrap().iter().cloned());
        pages += 1;
        assert!(pages < 10_000);
    }
    out
}

pub fn ids(v: &[Value]) -> Vec<String> {
    v.iter()
        .map(|x| x["id"].as_str().unwrap().to_string())
        .collect()
}

pub async fn error_code(r: reqwest::Response) -> (u16, String) {
    let s = r.status().as_u16();
    let v: Value = r.json().await.unwrap();
    (s, v["errorCode"].as_str().unwrap_or("").to_string())
}
