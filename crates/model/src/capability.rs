//! Connector capability tables and connection-test results.
//!
//! Capabilities are data: the CLI, API and UI render them, and tests check that every
//! declared capability yields records against the simulator.

use serde::{Deserialize, Serialize};

use crate::Resource;

/// One thing a connector can read (or do), and what it needs for that.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Capability {
    /// Stable id, e.g. `list_apps`.
    pub id: &'static str,
    /// Human name, e.g. "List applications".
    pub name: &'static str,
    /// Resources this capability fills.
    pub resources: &'static [Resource],
    /// The sync (or the product) cannot work without it.
    pub required: bool,
    /// What the credential needs, in the source's own words (role, permission or scope).
    pub needs: &'static str,
    /// The endpoint that proves it, e.g. `GET /api/v1/apps`.
    pub endpoint: &'static str,
}

/// Result of checking one capability against the live source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum CheckOutcome {
    Ok,
    /// The source refused; `code` is its error code (e.g. `E0000006`), `fix` says what to grant.
    Denied {
        http_status: u16,
        code: Option<String>,
        reason: String,
        fix: String,
    },
    /// The endpoint does not exist on this org (e.g. 404 on older orgs) and a fallback is used.
    Fallback {
        reason: String,
    },
    /// Could not be decided (network error, 5xx).
    Error {
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PermissionCheck {
    pub capability: String,
    pub name: String,
    pub required: bool,
    pub endpoint: String,
    pub outcome: CheckOutcome,
}

impl PermissionCheck {
    pub fn passed(&self) -> bool {
        matches!(
            self.outcome,
            CheckOutcome::Ok | CheckOutcome::Fallback { .. }
        )
    }
}

/// The whole connection test: who the credential is, each check, and warnings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ConnectionReport {
    /// The admin the token acts as (login), when the source says.
    pub principal: Option<String>,
    /// Roles or scopes the credential holds, when readable.
    pub roles: Vec<String>,
    pub checks: Vec<PermissionCheck>,
    pub warnings: Vec<String>,
    /// A fatal problem before any check could run (bad token, unreachable host).
    pub fatal: Option<String>,
}

impl ConnectionReport {
    /// True when there is no fatal error and every required check passed.
    pub fn required_ok(&self) -> bool {
        self.fatal.is_none()
            && self
                .checks
                .iter()
                .filter(|c| c.required)
                .all(PermissionCheck::passed)
    }
}
