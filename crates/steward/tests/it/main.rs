//! End-to-end tests of the `steward` binary against the in-process Okta simulator, on
//! SQLite, and on PostgreSQL when `TEST_DATABASE_URL` is set (`.ci/run` does both).
//!
//! One integration binary (see ENGINEERING.md: every file in `tests/` would link its own).

// Test helpers may panic: a failed setup is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod demo;
mod evidence;
mod findings;
mod integrations;
mod inventory;
mod onetrust;
mod requests;
mod review;
mod schedule;
mod secrets;
mod server;
mod sync;
mod user_roles;
