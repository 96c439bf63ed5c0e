//! Integration tests of the HTTP API: the router in-process on `127.0.0.1:0`, a fresh store
//! (SQLite, or PostgreSQL with `TEST_DATABASE_URL`) and the in-process Okta simulator.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api;
mod auth;
mod bench;
mod graph;
mod helpers;
mod ui;
mod ui_reviewer_role;
mod ui_reviews;
mod ui_security;
