//! Test harness: a fresh data directory (and database), the built binary, and a simulator.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use steward_simulator::{RateLimitMode, RunningSimulator, SimConfig, Simulator};

/// A simulator whose clock agrees with the CLI's (the System Log window is relative to now).
pub async fn simulator(
    users: usize,
    seed: u64,
    tweak: impl FnOnce(&mut SimConfig),
) -> RunningSimulator {
    let mut config = SimConfig::new(users, seed, chrono::Utc::now());
    config.rate.mode = RateLimitMode::None;
    tweak(&mut config);
    Simulator::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

/// One test's Steward: its own data dir, and its own database.
pub struct Env {
    pub dir: tempfile::TempDir,
    pub database_url: String,
}

impl Env {
    pub async fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let database_url = match std::env::var("TEST_DATABASE_URL") {
            Ok(admin_url) if !admin_url.is_empty() => fresh_postgres(&admin_url).await,
            _ => format!("sqlite://{}", dir.path().join("steward.db").display()),
        };
        Env { dir, database_url }
    }

    pub fn is_sqlite(&self) -> bool {
        self.database_url.starts_with("sqlite")
    }

    pub fn sqlite_files(&self) -> Vec<PathBuf> {
        ["steward.db", "steward.db-wal", "steward.db-shm"]
            .iter()
            .map(|f| self.dir.path().join(f))
            .filter(|p| p.exists())
            .collect()
    }

    pub fn cmd(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_steward"));
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("STEWARD_DATA_DIR", self.dir.path())
            .env("STEWARD_DATABASE_URL", &self.database_url)
            .env("STEWARD_STALE_RUN_SECS", "2")
            .env("CI", "1");
        cmd
    }

    /// Run `steward ARGS` with extra env; returns the output.
    pub fn run(&self, args: &[&str], envs: &[(&str, &str)]) -> Output {
        let mut cmd = self.cmd();
        cmd.args(args);
        for (k, v) in envs {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    }

    /// Add an Okta integration for a simulator role; returns the output of `integration add`.
    pub fn add(&self, name: &str, sim: &RunningSimulator, role: &str) -> Output {
        let token = sim.token(role);
        self.run(
            &[
                "integration",
                "add",
                "okta",
                "--name",
                name,
                "--domain",
                &sim.base_url(),
                "--allow-insecure-loopback",
                "--token-env",
                "OKTA_TOKEN",
            ],
            &[("OKTA_TOKEN", &token)],
        )
    }

    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let out = self.run(args, &[]);
        assert!(
            out.status.success(),
            "steward {args:?} failed: {}",
            text(&out)
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)))
    }
}

async fn fresh_postgres(admin_url: &str) -> String {
    use sqlx::Connection;
    let name = format!("t_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(admin_url).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .unwrap();
    let mut url = url_without_db(admin_url);
    url.push_str(&name);
    url
}

fn url_without_db(url: &str) -> String {
    match url.rfind('/') {
        Some(i) => url[..=i].to_string(),
        None => format!("{url}/"),
    }
}

pub fn text(out: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Digests per resource from `/__sim/truth` (over HTTP, as a test of the endpoint too).
pub async fn truth(sim: &RunningSimulator) -> serde_json::Value {
    reqwest::get(format!("{}/__sim/truth", sim.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

pub async fn stats(sim: &RunningSimulator) -> serde_json::Value {
    reqwest::get(format!("{}/__sim/stats", sim.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Assert every readable resource in `steward integration show --json` matches the truth.
pub fn assert_snapshot_matches(
    env: &Env,
    name: &str,
    truth: &serde_json::Value,
    expect_unreadable: &[&str],
) {
    let shown = env.json(&["integration", "show", name, "--json"]);
    let snapshot = shown["snapshot"].as_array().unwrap();
    assert!(!snapshot.is_empty(), "no snapshot: {shown}");
    for entry in snapshot {
        let resource = entry["resource"].as_str().unwrap();
        if expect_unreadable.contains(&resource) {
            assert_eq!(
                entry["readable"], false,
                "{resource} should be not readable: {entry}"
            );
            assert!(entry["reason"].as_str().unwrap().contains("403"), "{entry}");
            continue;
        }
        assert_eq!(entry["readable"], true, "{resource}: {entry}");
        let expected = &truth["resources"][resource];
        let got = serde_json::json!({"count": entry["count"], "digest": entry["digest"]});
        assert_eq!(
            &got, expected,
            "{resource} differs from the simulator's truth"
        );
    }
    for r in expect_unreadable {
        assert!(
            snapshot.iter().any(|e| e["resource"] == *r),
            "{r} missing from the snapshot status"
        );
    }
}

pub fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

pub fn read_all(paths: &[PathBuf]) -> Vec<u8> {
    paths
        .iter()
        .flat_map(|p| std::fs::read(p).unwrap_or_default())
        .collect()
}

#[allow(dead_code)]
pub fn exists(p: &Path) -> bool {
    p.exists()
}
