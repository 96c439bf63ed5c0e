//! Faults on demand (`--faults 'http500=0.02,reset=0.01,slow=0.05:2s,truncate=0.01,bad_json=0.005'`),
//! deterministic per seed.
//!
//! INTERFACE STUB written by the lead; the rate-limit/faults engineer fills it in.

/// Parsed `--faults` spec: probability per fault kind.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FaultSpec {
    pub http500: f64,
    pub reset: f64,
    pub slow: f64,
    pub slow_for: std::time::Duration,
    pub truncate: f64,
    pub bad_json: f64,
}
