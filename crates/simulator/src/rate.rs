//! Okta rate limits: per-bucket, per-minute quotas (endpoint family × method), the token's
//! share, non-aligned windows, warning/violation detection and the concurrency limit.
//!
//! INTERFACE STUB written by the lead; the rate-limit engineer fills it in.

use std::path::PathBuf;

/// Okta org profile; selects the published default quotas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Profile {
    #[default]
    Workforce,
    Enterprise,
    Free,
}

/// Where quotas come from.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum RateLimitMode {
    /// Published defaults for the profile.
    #[default]
    Default,
    /// No rate limiting at all (headers still sent, with a large limit).
    None,
    /// Defaults overridden per bucket by a TOML file.
    File(PathBuf),
}

#[derive(Debug, Clone, PartialEq)]
pub struct RateConfig {
    pub profile: Profile,
    pub mode: RateLimitMode,
    /// Multiplies every quota (for fast benchmarks).
    pub scale: f64,
    /// Share of each bucket an SSWS token gets (Okta default 0.5).
    pub token_share: f64,
    /// The org's warning threshold, percent (30..=90).
    pub warning_threshold: u8,
}

impl Default for RateConfig {
    fn default() -> Self {
        RateConfig {
            profile: Profile::Workforce,
            mode: RateLimitMode::Default,
            scale: 1.0,
            token_share: 0.5,
            warning_threshold: 90,
        }
    }
}

/// A rate-limit occurrence the simulator writes to its System Log.
#[derive(Debug, Clone, PartialEq)]
pub enum RateEvent {
    /// `system.rate.limit.warning`: a bucket's use in a window crossed the warning threshold.
    Warning { bucket: String, limit: u64, used: u64 },
    /// `system.rate.limit.violation`: a request was refused with 429.
    Violation { bucket: String, limit: u64 },
    /// `core.concurrency.org.limit.violation`.
    ConcurrencyViolation { limit: u64 },
}
