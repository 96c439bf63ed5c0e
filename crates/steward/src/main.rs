//! `steward`: the CLI and service binary. Parses the command line, sets up logging and the
//! store, and hands off to one command module; all logic lives in the library crates.

mod cli;
mod commands;
mod context;
mod output;
mod progress;
mod telemetry;

use std::process::ExitCode;

use clap::Parser;

/// mimalloc instead of glibc malloc: a sync allocates and frees millions of small JSON values
/// across threads, where glibc spent ~30% of the CPU (arena consolidation) and kept freed
/// memory fragmented (peak RSS); the simulator in this binary benefits the same way.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit codes, documented in the README.
pub mod exit {
    /// Success.
    pub const OK: u8 = 0;
    /// A runtime failure (database, network, ...).
    pub const FAILURE: u8 = 1;
    /// Bad usage or bad input (clap also uses 2).
    pub const USAGE: u8 = 2;
    /// `integration test`: a required check failed.
    pub const CHECK_FAILED: u8 = 3;
    /// `sync`: the run failed; the previous snapshot is kept.
    pub const SYNC_FAILED: u8 = 4;
}

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    telemetry::init(cli.global.log_format);
    // One process-wide TLS provider: sqlx and reqwest both use rustls with aws-lc-rs.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(exit::FAILURE);
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            let code = commands::exit_code_for(&e);
            eprintln!("error: {e:#}");
            ExitCode::from(code)
        }
    }
}
