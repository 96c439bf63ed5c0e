//! Flag parsing helpers for the CLI: `--profile`, `--rate-limits`, and the default `now`.
//!
//! `FromStr` impls live here too (the CLI uses `"workforce".parse::<Profile>()`); they sit
//! next to the types' owner module only by convention, so if `rate.rs` grows its own impls,
//! delete these.

use std::path::PathBuf;
use std::str::FromStr;

use chrono::{DateTime, Utc};

use crate::rate::{Profile, RateLimitMode};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

/// `workforce|enterprise|free` (case-insensitive).
pub fn parse_profile(s: &str) -> Result<Profile, ParseError> {
    match s.trim().to_ascii_lowercase().as_str() {
        "workforce" => Ok(Profile::Workforce),
        "enterprise" => Ok(Profile::Enterprise),
        "free" => Ok(Profile::Free),
        other => Err(ParseError(format!(
            "unknown profile {other:?}; use workforce, enterprise or free"
        ))),
    }
}

/// `default|none|PATH`.
pub fn parse_rate_limit_mode(s: &str) -> Result<RateLimitMode, ParseError> {
    match s.trim() {
        "" => Err(ParseError(
            "empty; use default, none or a TOML file path".into(),
        )),
        x if x.eq_ignore_ascii_case("default") => Ok(RateLimitMode::Default),
        x if x.eq_ignore_ascii_case("none") => Ok(RateLimitMode::None),
        path => Ok(RateLimitMode::File(PathBuf::from(path))),
    }
}

impl FromStr for Profile {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_profile(s)
    }
}

impl FromStr for RateLimitMode {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_rate_limit_mode(s)
    }
}

/// Today at 00:00 UTC: the same seed on the same day gives the same org byte for byte.
pub fn default_now() -> DateTime<Utc> {
    let now = Utc::now();
    now.date_naive()
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc())
        .unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_flags() {
        assert_eq!(
            "Enterprise".parse::<Profile>().unwrap(),
            Profile::Enterprise
        );
        assert!("gold".parse::<Profile>().is_err());
        assert_eq!(
            "none".parse::<RateLimitMode>().unwrap(),
            RateLimitMode::None
        );
        assert_eq!(
            "x.toml".parse::<RateLimitMode>().unwrap(),
            RateLimitMode::File("x.toml".into())
        );
    }
}
