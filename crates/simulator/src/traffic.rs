//! The traffic layer in front of `/api/*`: concurrency limit, rate-limit admission and
//! headers, fault injection, and the counters behind `/__sim/stats`.
//!
//! INTERFACE STUB written by the lead; the rate-limit/faults engineer fills it in.
//! Agreed interface (the core engineer wires it into the router):
//!
//! ```ignore
//! let traffic = Arc::new(Traffic::new(rate_config, fault_spec, seed, on_event)?);
//! Router::new().nest("/api", api_routes)
//!     .layer(axum::middleware::from_fn_with_state(traffic.clone(), traffic::layer));
//! // GET /__sim/stats => Json(traffic.stats_json())
//! ```

use std::sync::Arc;

use crate::faults::FaultSpec;
use crate::rate::{RateConfig, RateEvent};

/// Called for every rate event; the core appends it to the System Log.
pub type EventSink = Arc<dyn Fn(RateEvent) + Send + Sync>;

/// Shared state of the traffic layer.
pub struct Traffic {
    pub config: RateConfig,
    pub faults: FaultSpec,
    pub seed: u64,
    pub on_event: EventSink,
}

#[derive(Debug, thiserror::Error)]
pub enum TrafficError {
    #[error("rate-limit file {path}: {reason}")]
    RateFile { path: String, reason: String },
}

impl Traffic {
    pub fn new(
        config: RateConfig,
        faults: FaultSpec,
        seed: u64,
        on_event: EventSink,
    ) -> Result<Self, TrafficError> {
        Ok(Traffic { config, faults, seed, on_event })
    }

    /// JSON for `GET /__sim/stats`.
    pub fn stats_json(&self) -> serde_json::Value {
        serde_json::json!({ "buckets": {} })
    }
}

/// axum middleware (use with `axum::middleware::from_fn_with_state`).
pub async fn layer(
    axum::extract::State(_traffic): axum::extract::State<Arc<Traffic>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    next.run(request).await
}
