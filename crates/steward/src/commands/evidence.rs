//! `steward evidence …`.

use clap::Subcommand;

use crate::cli::{Global, JsonFlag};
use crate::exit;

#[derive(Debug, Subcommand)]
pub enum EvidenceCommand {
    /// List the evidence items.
    List(JsonFlag),
}

pub async fn run(_global: &Global, _cmd: EvidenceCommand) -> anyhow::Result<u8> {
    Ok(exit::OK)
}
