//! Steward's shared vocabulary: the identity-graph records a connector emits, the resources
//! they belong to, connector capability tables and connection-test results.
//!
//! This crate does no IO. Connectors produce these types, the store persists them, products
//! read them back; the simulator uses [`digest`] so tests can prove a sync lost nothing.

pub mod capability;
pub mod digest;
pub mod raw;
pub mod records;

pub use capability::{Capability, CheckOutcome, ConnectionReport, PermissionCheck};
pub use digest::{Digest, truth_digest};
pub use raw::Raw;
pub use records::*;
