//! Integration tests of `steward-conformance`: the framework against the recordings
//! themselves, then the simulator against the recordings and the spec.

// Helpers in `common` are test code too; `allow-unwrap-in-tests` only covers `#[test]` fns.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod coverage;
mod endpoints;
mod errors;
mod framework;
mod headers;
mod matrix;
mod paging;
mod writes;
