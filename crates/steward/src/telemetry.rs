//! Logging: `tracing` to stderr, level from `RUST_LOG` (default `warn`), text or JSON.
//!
//! Nothing logged anywhere in Steward carries a credential: tokens are `SecretString`s and
//! request headers are never logged.

use tracing_subscriber::EnvFilter;

use crate::cli::LogFormat;

pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
