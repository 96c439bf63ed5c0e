//! Integration tests for the Okta simulator: one binary, one module per concern, each test
//! starting its own small simulator on 127.0.0.1:0 with rate limits off.

// Helpers in `common` are test code too; `allow-unwrap-in-tests` only covers `#[test]` fns.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api;
mod common;
mod generate;
mod onetrust;
mod traffic;
mod writes;
