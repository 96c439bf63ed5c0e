//! Integration tests of the Okta connector against the in-process simulator.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod connection;
mod paging;
mod sync;
mod rate;
mod onetrust;
mod onetrust_scim;
