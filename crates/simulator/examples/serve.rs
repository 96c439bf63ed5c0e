//! Serve the simulator the way `steward simulate okta` does, without the `steward` binary
//! (used by `scripts/okta-sdk-conformance.sh` through `SIM_CMD` while the CLI is in progress).
//!
//! `cargo run -p steward-simulator --example serve -- [--listen 127.0.0.1:0] [--users N]
//! [--seed S] [--rate-limits none|default|PATH] [--now RFC3339] [--legacy-org]`
//!
//! Prints the same one-line startup JSON (`RunningSimulator::startup_json`) on stdout once
//! listening, then serves until Ctrl-C / SIGTERM.

use std::io::Write as _;
use std::net::SocketAddr;
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use steward_simulator::{RateLimitMode, SimConfig, Simulator, default_now, parse_rate_limit_mode};

struct Args {
    listen: SocketAddr,
    users: usize,
    seed: u64,
    rate_limits: RateLimitMode,
    now: DateTime<Utc>,
    legacy_org: bool,
}

fn parse_args(argv: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut a = Args {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        users: 1000,
        seed: 1,
        rate_limits: RateLimitMode::Default,
        now: default_now(),
        legacy_org: false,
    };
    let mut argv = argv.peekable();
    while let Some(flag) = argv.next() {
        // Both `--flag value` and `--flag=value`, like clap.
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) => (n.to_string(), Some(v.to_string())),
            None => (flag.clone(), None),
        };
        if name == "--legacy-org" {
            a.legacy_org = true;
            continue;
        }
        let value = match inline {
            Some(v) => v,
            None => argv.next().ok_or_else(|| format!("{name}: missing value"))?,
        };
        match name.as_str() {
            "--listen" => a.listen = value.parse().map_err(|e| format!("--listen: {e}"))?,
            "--users" => a.users = value.parse().map_err(|e| format!("--users: {e}"))?,
            "--seed" => a.seed = value.parse().map_err(|e| format!("--seed: {e}"))?,
            "--rate-limits" => a.rate_limits = parse_rate_limit_mode(&value).map_err(|e| format!("--rate-limits: {e}"))?,
            "--now" => {
                a.now = DateTime::parse_from_rfc3339(&value).map_err(|e| format!("--now: {e}"))?.with_timezone(&Utc);
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if a.users == 0 {
        return Err("--users: must be at least 1".into());
    }
    if !a.listen.ip().is_loopback() {
        return Err(format!("--listen: {} is not a loopback address", a.listen));
    }
    Ok(a)
}

/// Resolves on SIGINT or SIGTERM (the script stops the server with `kill`, i.e. SIGTERM).
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("serve: {e}");
            return ExitCode::from(2);
        }
    };
    let mut config = SimConfig::new(args.users, args.seed, args.now);
    config.rate.mode = args.rate_limits;
    config.legacy_org = args.legacy_org;
    let sim = match Simulator::start(config, args.listen).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("serve: starting the simulator: {e}");
            return ExitCode::from(1);
        }
    };
    {
        let mut out = std::io::stdout().lock();
        if writeln!(out, "{}", sim.startup_json()).and_then(|()| out.flush()).is_err() {
            return ExitCode::from(1);
        }
    }
    shutdown_signal().await;
    sim.shutdown().await;
    ExitCode::SUCCESS
}
