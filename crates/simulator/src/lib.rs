//! Steward's Okta simulator: a seeded, faithful Okta Management API served on loopback.
//!
//! `steward simulate okta`, `steward demo`, every test and every benchmark run against it.
//! It must behave like Okta (shapes, paging, rate limits, permissions, errors, quirks), not
//! like what Steward's own client happens to expect.

pub mod faults;
pub mod rate;
pub mod traffic;
