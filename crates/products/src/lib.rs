//! Steward's products on the identity graph. Today: integrations (add, connection test) and
//! the sync orchestrator that streams a connector's records into a staged, atomically
//! published snapshot. Inventory, privacy requests and evidence build on these.
//!
//! Products call sources only through a connector, and persist only through the store.

pub mod clock;
pub mod evidence;
pub mod findings;
pub mod graph;
pub mod integrations;
pub mod inventory;
pub mod reminders;
pub mod requests;
pub mod reviews;
pub mod scheduler;
pub mod sync;

pub use clock::{Clock, FixedClock, SystemClock};
