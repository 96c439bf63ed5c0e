//! Faults on demand (`--faults 'http500=0.02,reset=0.01,slow=0.05:2s,truncate=0.01,bad_json=0.005'`),
//! deterministic per seed.
//!
//! Each `/api` request gets a number `n` (arrival order on one server); the decision for it is
//! drawn from a ChaCha8 stream keyed by `(seed, n)`, never from the clock, so the same seed and
//! the same request sequence give the same faults. `http500`, `reset`, `truncate` and `bad_json`
//! exclude each other (one draw; their probabilities must sum to at most 1); `slow` is drawn
//! separately and may delay any of them.

use std::str::FromStr;
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

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

/// A fault that replaces or mangles the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// 500 with Okta's E0000009 body; the request is not processed.
    Http500,
    /// Connection dropped without a (complete) response; the request is not processed.
    Reset,
    /// Full `Content-Length`, half the body, then the connection drops.
    Truncate,
    /// 200 with a syntactically broken JSON body.
    BadJson,
}

impl Fault {
    pub fn as_str(self) -> &'static str {
        match self {
            Fault::Http500 => "http500",
            Fault::Reset => "reset",
            Fault::Truncate => "truncate",
            Fault::BadJson => "bad_json",
        }
    }
}

/// What happens to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FaultDecision {
    /// Wait `slow_for` before answering.
    pub slow: bool,
    pub fault: Option<Fault>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct FaultSpecError(pub String);

/// Default delay when `slow=P` has no `:DURATION`.
pub const DEFAULT_SLOW: Duration = Duration::from_secs(2);

const KEYS: &str = "http500, reset, slow, truncate, bad_json";

fn parse_prob(key: &str, v: &str) -> Result<f64, FaultSpecError> {
    match v.trim().parse::<f64>() {
        Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
        _ => Err(FaultSpecError(format!(
            "{key}={v}: the probability must be a number from 0 to 1, e.g. {key}=0.02"
        ))),
    }
}

/// `2s`, `500ms`, `1.5s`, `1m`, or bare seconds.
fn parse_duration(key: &str, v: &str) -> Result<Duration, FaultSpecError> {
    let v = v.trim();
    let bad = || {
        FaultSpecError(format!(
            "{key}: bad duration {v:?}; use e.g. slow=0.05:2s or slow=0.05:500ms"
        ))
    };
    let (num, mult) = if let Some(n) = v.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = v.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = v.strip_suffix('m') {
        (n, 60.0)
    } else {
        (v, 1.0)
    };
    let x: f64 = num.trim().parse().map_err(|_| bad())?;
    if !x.is_finite() || x < 0.0 || x * mult > 3600.0 {
        return Err(bad());
    }
    Ok(Duration::from_secs_f64(x * mult))
}

impl FromStr for FaultSpec {
    type Err = FaultSpecError;

    /// `''` or `none` = no faults; otherwise comma-separated `key=probability`, `slow=P:DURATION`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut spec = FaultSpec {
            slow_for: DEFAULT_SLOW,
            ..FaultSpec::default()
        };
        let s = s.trim();
        if s.is_empty() || s.eq_ignore_ascii_case("none") {
            return Ok(spec);
        }
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((key, value)) = part.split_once('=') else {
                return Err(FaultSpecError(format!(
                    "{part:?}: expected key=probability (keys: {KEYS})"
                )));
            };
            let key = key.trim();
            match key {
                "http500" => spec.http500 = parse_prob(key, value)?,
                "reset" => spec.reset = parse_prob(key, value)?,
                "truncate" => spec.truncate = parse_prob(key, value)?,
                "bad_json" => spec.bad_json = parse_prob(key, value)?,
                "slow" => {
                    let (p, d) = match value.split_once(':') {
                        Some((p, d)) => (p, Some(d)),
                        None => (value, None),
                    };
                    spec.slow = parse_prob(key, p)?;
                    if let Some(d) = d {
                        spec.slow_for = parse_duration(key, d)?;
                    }
                }
                other => {
                    return Err(FaultSpecError(format!(
                        "unknown fault {other:?}; use {KEYS}"
                    )));
                }
            }
        }
        let total = spec.http500 + spec.reset + spec.truncate + spec.bad_json;
        if total > 1.0 + 1e-9 {
            return Err(FaultSpecError(format!(
                "http500 + reset + truncate + bad_json = {total}: they exclude each other, so they must sum to at most 1"
            )));
        }
        Ok(spec)
    }
}

impl FaultSpec {
    /// True when no fault can ever happen.
    pub fn is_none(&self) -> bool {
        self.http500 <= 0.0
            && self.reset <= 0.0
            && self.slow <= 0.0
            && self.truncate <= 0.0
            && self.bad_json <= 0.0
    }

    /// The decision for request number `n` of a server seeded with `seed` (pure).
    pub fn decide(&self, seed: u64, n: u64) -> FaultDecision {
        if self.is_none() {
            return FaultDecision::default();
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(n);
        let slow_draw: f64 = rng.r#gen();
        let fault_draw: f64 = rng.r#gen();
        let mut fault = None;
        let mut acc = 0.0;
        for (p, f) in [
            (self.http500, Fault::Http500),
            (self.reset, Fault::Reset),
            (self.truncate, Fault::Truncate),
            (self.bad_json, Fault::BadJson),
        ] {
            acc += p;
            if p > 0.0 && fault_draw < acc {
                fault = Some(f);
                break;
            }
        }
        FaultDecision {
            slow: self.slow > 0.0 && slow_draw < self.slow,
            fault,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_example() {
        let s: FaultSpec = "http500=0.02,reset=0.01,slow=0.05:2s,truncate=0.01,bad_json=0.005"
            .parse()
            .unwrap();
        assert_eq!(
            s,
            FaultSpec {
                http500: 0.02,
                reset: 0.01,
                slow: 0.05,
                slow_for: Duration::from_secs(2),
                truncate: 0.01,
                bad_json: 0.005
            }
        );
        let s: FaultSpec = "slow=1:250ms".parse().unwrap();
        assert_eq!(s.slow_for, Duration::from_millis(250));
        assert!("".parse::<FaultSpec>().unwrap().is_none());
    }

    #[test]
    fn decisions_are_deterministic_and_follow_probabilities() {
        let s: FaultSpec = "http500=0.25,reset=0.25,truncate=0.25,bad_json=0.25"
            .parse()
            .unwrap();
        let a: Vec<_> = (0..200).map(|n| s.decide(7, n)).collect();
        let b: Vec<_> = (0..200).map(|n| s.decide(7, n)).collect();
        assert_eq!(a, b);
        assert!(a.iter().all(|d| d.fault.is_some() && !d.slow));
        let c: Vec<_> = (0..200).map(|n| s.decide(8, n)).collect();
        assert_ne!(a, c);
        let half: FaultSpec = "http500=0.5".parse().unwrap();
        let hits = (0..1000)
            .filter(|&n| half.decide(1, n).fault.is_some())
            .count();
        assert!((400..600).contains(&hits), "{hits}");
    }
}
