//! Store tests: every test runs on SQLite, and on PostgreSQL when `TEST_DATABASE_URL` is set.

// Tests may unwrap, helpers included (the lint only exempts `#[test]` functions).
#![allow(clippy::unwrap_used)]

mod api;
mod identity;
mod integrations;
mod master_key;
mod runs;
mod staging;
mod support;
