//! Integration tests of the Okta connector against the in-process simulator.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod connection;
mod onetrust;
mod onetrust_scim;
mod paging;
mod rate;
mod sync;
