//! One module per command; `run` dispatches and returns the process exit code.

mod demo;
pub mod evidence;
pub mod findings;
mod integration;
pub mod inventory;
pub mod people;
pub mod request;
pub mod review;
pub mod schedule;
pub mod serve;
mod simulate;
mod status;
mod sync;
mod token;
pub mod user;

use crate::cli::{Cli, Command};
use crate::exit;

/// Errors whose exit code is not the generic failure.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

pub async fn run(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Integration(cmd) => integration::run(&cli.global, cmd).await,
        Command::Sync(args) => sync::run(&cli.global, args).await,
        Command::Status(flag) => status::run(&cli.global, flag).await,
        Command::Inventory(cmd) => inventory::run(&cli.global, cmd).await,
        Command::Request(cmd) => request::run(&cli.global, cmd).await,
        Command::Evidence(cmd) => evidence::run(&cli.global, cmd).await,
        Command::Findings(args) => findings::run(&cli.global, args).await,
        Command::Review(cmd) => review::run(&cli.global, cmd).await,
        Command::Demo(args) => demo::run(&cli.global, args).await,
        Command::Simulate(cmd) => simulate::run(cmd).await,
        Command::Schedule(cmd) => schedule::run(&cli.global, cmd).await,
        Command::Worker(args) => schedule::worker(&cli.global, args).await,
        Command::Serve(args) => serve::run(&cli.global, args).await,
        Command::User(cmd) => user::run(&cli.global, cmd).await,
        Command::People(cmd) => people::run(&cli.global, cmd).await,
    }
}

/// Bad input exits 2, everything else 1.
pub fn exit_code_for(error: &anyhow::Error) -> u8 {
    use steward_products::integrations::IntegrationError;
    for cause in error.chain() {
        if cause.is::<UsageError>() {
            return exit::USAGE;
        }
        if let Some(e) = cause.downcast_ref::<IntegrationError>() {
            return match e {
                IntegrationError::Domain(_)
                | IntegrationError::BadName { .. }
                | IntegrationError::EmptyToken
                | IntegrationError::EmptyClientId
                | IntegrationError::NotFound { .. } => exit::USAGE,
                IntegrationError::Store(steward_store::StoreError::NameTaken { .. }) => exit::USAGE,
                _ => exit::FAILURE,
            };
        }
        if let Some(steward_store::StoreError::NameTaken { .. }) = cause.downcast_ref() {
            return exit::USAGE;
        }
    }
    exit::FAILURE
}
