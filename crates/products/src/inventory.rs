//! Data inventory: every app a sync sees becomes an inventory item in a staging area, where a
//! privacy team accepts (with owner, purpose, data categories) or ignores it.

use steward_store::{Integration, Store};

use crate::Clock;

#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    #[error(transparent)]
    Store(#[from] steward_store::StoreError),
}

/// Update the inventory from the snapshot `run_id` just published.
pub async fn after_sync(
    _store: &Store,
    _integration: &Integration,
    _run_id: i64,
    _clock: &dyn Clock,
) -> Result<(), InventoryError> {
    Ok(())
}
