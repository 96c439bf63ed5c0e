//! Browser end-to-end tests (issue 5's acceptance): the web UI driven in headless Chromium
//! through chromedriver, against the in-process server and Okta simulator. Needs Debian
//! `chromium` and `chromium-driver` (`scripts/install-browser.sh`); fails, never skips, when
//! they are missing. Screenshots land in `target/screenshots/`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod flow;
mod harness;
mod reviews;
mod viewer;
