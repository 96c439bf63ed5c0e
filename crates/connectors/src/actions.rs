//! The action interface: live, per-person operations a connector may offer besides sync
//! (privacy requests). Answers come from the source at call time, never from a snapshot.
//!
//! Everything here is about one person; a connector that cannot act on people returns
//! `None` from [`crate::Connector::person_actions`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use steward_model::{Account, LogEvent};

use crate::ConnectorError;

/// A part of a person's data that may be unreadable with the token's role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Part<T> {
    Read { items: Vec<T> },
    NotReadable { reason: String },
}

impl<T> Part<T> {
    /// Items read, or none when unreadable.
    pub fn items(&self) -> &[T] {
        match self {
            Part::Read { items } => items,
            Part::NotReadable { .. } => &[],
        }
    }
    pub fn is_readable(&self) -> bool {
        matches!(self, Part::Read { .. })
    }
}

/// A group the person belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PersonGroup {
    pub id: String,
    pub name: String,
    pub group_type: String,
}

/// An app the person is assigned to, with the app-user (its profile data in that app).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PersonApp {
    pub app_id: String,
    pub name: String,
    pub label: String,
    /// `USER` (direct) or `GROUP`.
    pub scope: Option<String>,
    pub status: Option<String>,
    /// The app-user's profile (attributes that app holds about the person).
    pub profile: Value,
    /// The app-user's username / credentials user name (never a password).
    pub user_name: Option<String>,
}

/// An enrolled factor: its type, provider and status only — never secret material.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PersonFactor {
    pub id: String,
    pub factor_type: String,
    pub provider: Option<String>,
    pub status: String,
}

/// An admin role the person holds (directly or through a group).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PersonRole {
    pub id: String,
    pub role_type: String,
    pub label: String,
    /// `USER` or `GROUP`.
    pub assignment_type: Option<String>,
}

/// Everything a source knows about one account, read live.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PersonData {
    pub account: Account,
    pub groups: Part<PersonGroup>,
    pub apps: Part<PersonApp>,
    pub factors: Part<PersonFactor>,
    pub roles: Part<PersonRole>,
    /// System Log events where the person is the actor or a target, oldest first.
    pub log_events: Part<LogEvent>,
}

/// How an erasure attempt ended in the source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum EraseOutcome {
    /// Deleted, and a read-back proved it is gone (`404` with `code`).
    Deleted {
        verified: bool,
        code: Option<String>,
    },
    /// The token's role may not delete people: the role needed, and the source's refusal.
    Refused { role_needed: String, reason: String },
    /// The account did not exist any more when we tried.
    AlreadyGone,
}

/// Live per-person operations.
#[async_trait::async_trait]
pub trait PersonActions: Send + Sync {
    /// Accounts whose login, email or second email equals `email` exactly, ignoring case
    /// (never a name match), including deactivated ones.
    async fn find_by_email(&self, email: &str) -> Result<Vec<Account>, ConnectorError>;
    /// Everything known about `account`; log events from `since` on.
    async fn person_data(
        &self,
        account: &Account,
        since: DateTime<Utc>,
    ) -> Result<PersonData, ConnectorError>;
    /// Deactivate (unless already) and delete the account, then verify it is gone.
    async fn erase(&self, account: &Account) -> Result<EraseOutcome, ConnectorError>;
    /// Requests sent so far through this handle (retries included).
    fn requests(&self) -> u64;
}

/// Exact, case-insensitive match on the identifiers privacy requests use.
pub fn account_matches(account: &Account, email: &str) -> bool {
    let eq = |s: &str| s.eq_ignore_ascii_case(email);
    eq(&account.login)
        || account.email.as_deref().is_some_and(eq)
        || account.second_email.as_deref().is_some_and(eq)
}

/// How removing one grant (app assignment, group membership) ended in the source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum RemovalOutcome {
    /// Removed; `verified` when a re-read no longer shows the grant.
    Removed { verified: bool },
    /// The grant was not there any more when we tried.
    AlreadyAbsent,
    /// The token's role may not write: the role needed, and the source's refusal.
    Refused { role_needed: String, reason: String },
}

/// Live remediation writes for access reviews: remove a grant, then re-read to verify.
#[async_trait::async_trait]
pub trait RemediationActions: Send + Sync {
    /// Remove the account's direct assignment to the app.
    async fn remove_app_assignment(
        &self,
        app_id: &str,
        account_id: &str,
    ) -> Result<RemovalOutcome, ConnectorError>;
    /// Remove the account from the group.
    async fn remove_group_membership(
        &self,
        group_id: &str,
        account_id: &str,
    ) -> Result<RemovalOutcome, ConnectorError>;
}
