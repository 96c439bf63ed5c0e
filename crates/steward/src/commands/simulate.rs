//! `steward simulate okta` and `steward simulate onetrust`: the simulators as processes. Each
//! prints exactly one JSON line (base URL, tokens or keys, counts) on stdout once listening,
//! then serves until SIGINT/SIGTERM.

use std::io::Write as _;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use steward_simulator::{FaultSpec, Profile, RateLimitMode, SimConfig, Simulator};

use super::UsageError;
use crate::cli::{SimulateCommand, SimulateOktaArgs, SimulateOnetrustArgs};
use crate::exit;

pub async fn run(cmd: SimulateCommand) -> anyhow::Result<u8> {
    let args = match cmd {
        SimulateCommand::Okta(args) => args,
        SimulateCommand::Onetrust(args) => return run_onetrust(args).await,
    };
    let config = okta_config(&args)?;
    if !args.listen.ip().is_loopback() {
        return Err(UsageError(format!(
            "--listen: {} is not a loopback address; the simulator only serves on 127.0.0.0/8 or ::1",
            args.listen
        ))
        .into());
    }
    let sim = Simulator::start(config, args.listen)
        .await
        .context("starting the simulator")?;
    {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{}", serde_json::to_string(&sim.startup_json())?)?;
        stdout.flush()?;
    }
    shutdown_signal().await;
    sim.shutdown().await;
    Ok(exit::OK)
}

async fn run_onetrust(args: SimulateOnetrustArgs) -> anyhow::Result<u8> {
    use steward_simulator::onetrust::{OtRateConfig, OtSimConfig, OtSimulator};
    let now = match &args.now {
        Some(s) => DateTime::parse_from_rfc3339(s)
            .map_err(|e| {
                UsageError(format!(
                    "--now: {e}; use RFC 3339, e.g. 2026-11-01T00:00:00Z"
                ))
            })?
            .with_timezone(&Utc),
        None => default_now(),
    };
    let rate = match args.rate_limits.trim().to_ascii_lowercase().as_str() {
        "default" => OtRateConfig::default(),
        "none" => OtRateConfig::none(),
        other => {
            return Err(UsageError(format!(
                "--rate-limits: unknown mode {other:?}; use default or none"
            ))
            .into());
        }
    };
    let faults: FaultSpec = if args.faults.trim().is_empty() {
        FaultSpec::default()
    } else {
        args.faults
            .parse()
            .map_err(|e| UsageError(format!("--faults: {e}")))?
    };
    if args.users == 0 {
        return Err(UsageError("--users: must be at least 1".into()).into());
    }
    if !args.listen.ip().is_loopback() {
        return Err(UsageError(format!(
            "--listen: {} is not a loopback address; the simulator only serves on 127.0.0.0/8 or ::1",
            args.listen
        ))
        .into());
    }
    let mut config = OtSimConfig::new(args.users, args.seed, now);
    config.rate = rate;
    config.faults = faults;
    let sim = OtSimulator::start(config, args.listen)
        .await
        .context("starting the OneTrust simulator")?;
    {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{}", serde_json::to_string(&sim.startup_json())?)?;
        stdout.flush()?;
    }
    shutdown_signal().await;
    sim.shutdown().await;
    Ok(exit::OK)
}

/// Today at 00:00 UTC: the same seed on the same day gives the same org.
pub fn default_now() -> DateTime<Utc> {
    let today = Utc::now().date_naive();
    today
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc())
        .unwrap_or_else(Utc::now)
}

fn okta_config(args: &SimulateOktaArgs) -> anyhow::Result<SimConfig> {
    let now = match &args.now {
        Some(s) => DateTime::parse_from_rfc3339(s)
            .map_err(|e| {
                UsageError(format!(
                    "--now: {e}; use RFC 3339, e.g. 2026-11-01T00:00:00Z"
                ))
            })?
            .with_timezone(&Utc),
        None => default_now(),
    };
    let profile: Profile = args
        .profile
        .parse()
        .map_err(|e| UsageError(format!("--profile: {e}")))?;
    let mode: RateLimitMode = args
        .rate_limits
        .parse()
        .map_err(|e| UsageError(format!("--rate-limits: {e}")))?;
    let faults: FaultSpec = if args.faults.trim().is_empty() {
        FaultSpec::default()
    } else {
        args.faults
            .parse()
            .map_err(|e| UsageError(format!("--faults: {e}")))?
    };
    if !(args.rate_scale.is_finite() && args.rate_scale > 0.0) {
        return Err(UsageError("--rate-scale: must be a positive number, e.g. 10".into()).into());
    }
    if args.users == 0 {
        return Err(UsageError("--users: must be at least 1".into()).into());
    }
    let mut config = SimConfig::new(args.users, args.seed, now);
    config.profile = profile;
    config.rate.profile = profile;
    config.rate.mode = mode;
    config.rate.scale = args.rate_scale;
    config.faults = faults;
    config.legacy_org = args.legacy_org;
    config.groups = args.groups;
    config.apps = args.apps;
    config.app_assignments = args.app_assignments;
    Ok(config)
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
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
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
