//! `steward request …`.

use clap::Subcommand;

use crate::cli::{Global, JsonFlag};
use crate::exit;

#[derive(Debug, Subcommand)]
pub enum RequestCommand {
    /// Answer an access request.
    List(JsonFlag),
}

pub async fn run(_global: &Global, _cmd: RequestCommand) -> anyhow::Result<u8> {
    Ok(exit::OK)
}
