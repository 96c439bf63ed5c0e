//! `steward inventory …`.

use clap::Subcommand;

use crate::cli::{Global, JsonFlag};
use crate::exit;

#[derive(Debug, Subcommand)]
pub enum InventoryCommand {
    /// List the inventory items.
    List(JsonFlag),
}

pub async fn run(_global: &Global, _cmd: InventoryCommand) -> anyhow::Result<u8> {
    Ok(exit::OK)
}
