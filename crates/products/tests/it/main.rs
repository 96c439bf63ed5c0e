//! Products against the in-process Okta simulator, on SQLite, and on PostgreSQL when
//! `TEST_DATABASE_URL` is set (`.ci/run` does both).

// Test helpers may panic: a failed setup is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod evidence;
mod findings;
mod graph;
mod graph_findings;
mod inventory;
mod reminders;
mod requests;
mod reviews;
mod scheduler;
mod sync;
