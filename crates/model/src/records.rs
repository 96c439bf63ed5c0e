//! Identity-graph records as a connector emits them, one enum variant per kind.
//!
//! Ids are the source system's own ids (`external id`s). Every record keeps the source
//! object it came from in `raw`, so privacy access requests and evidence items can show
//! everything that was read, while the typed fields carry what products query on.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Raw;

/// The kind of system an integration connects to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IntegrationKind {
    Okta,
    Onetrust,
}

impl IntegrationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            IntegrationKind::Okta => "okta",
            IntegrationKind::Onetrust => "onetrust",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "okta" => Some(IntegrationKind::Okta),
            "onetrust" => Some(IntegrationKind::Onetrust),
            _ => None,
        }
    }
}

/// One syncable resource. The string names are stable: they are used in the store, in
/// `/__sim/truth`, in the CLI and in the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resource {
    Users,
    Groups,
    Memberships,
    Apps,
    AppUsers,
    AppGroups,
    RoleAssignments,
    Factors,
    Policies,
    PolicyRules,
    LogEvents,
    Settings,
}

impl Resource {
    pub const ALL: [Resource; 12] = [
        Resource::Users,
        Resource::Groups,
        Resource::Memberships,
        Resource::Apps,
        Resource::AppUsers,
        Resource::AppGroups,
        Resource::RoleAssignments,
        Resource::Factors,
        Resource::Policies,
        Resource::PolicyRules,
        Resource::LogEvents,
        Resource::Settings,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Resource::Users => "users",
            Resource::Groups => "groups",
            Resource::Memberships => "memberships",
            Resource::Apps => "apps",
            Resource::AppUsers => "app_users",
            Resource::AppGroups => "app_groups",
            Resource::RoleAssignments => "role_assignments",
            Resource::Factors => "factors",
            Resource::Policies => "policies",
            Resource::PolicyRules => "policy_rules",
            Resource::LogEvents => "log_events",
            Resource::Settings => "settings",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Resource::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Human label for tables and progress lines.
    pub fn label(self) -> &'static str {
        match self {
            Resource::Users => "users",
            Resource::Groups => "groups",
            Resource::Memberships => "group memberships",
            Resource::Apps => "apps",
            Resource::AppUsers => "app user assignments",
            Resource::AppGroups => "app group assignments",
            Resource::RoleAssignments => "admin role assignments",
            Resource::Factors => "MFA factors",
            Resource::Policies => "policies",
            Resource::PolicyRules => "policy rules",
            Resource::LogEvents => "System Log events",
            Resource::Settings => "settings",
        }
    }
}

impl std::fmt::Display for Resource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A user in one system (Okta user, OneTrust user).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Account {
    pub id: String,
    pub login: String,
    pub email: Option<String>,
    pub second_email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub display_name: Option<String>,
    /// Source status as the source spells it (`ACTIVE`, `DEPROVISIONED`, ...).
    pub status: String,
    pub department: Option<String>,
    pub title: Option<String>,
    pub manager: Option<String>,
    pub employee_number: Option<String>,
    pub created: Option<DateTime<Utc>>,
    pub last_login: Option<DateTime<Utc>>,
    pub last_updated: Option<DateTime<Utc>>,
    /// Licence / seat status where the source has one (OneTrust: `LICENSED`, `UNLICENSED`,
    /// derived from the user's state); `None` for sources without seats (Okta). Defaulted
    /// so records stored before the field existed still read.
    #[serde(default)]
    pub license_status: Option<String>,
    /// The source object; `null` in a record read without it (a head, see the store).
    #[serde(default)]
    pub raw: Raw,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    /// `OKTA_GROUP`, `APP_GROUP`, `BUILT_IN`, or the source's own kind (OneTrust:
    /// `USER_GROUP`, `SCIM_GROUP`, and `ORGANIZATION` for a node of the organisation tree,
    /// whose parent id is in `raw.parentOrganizationId`).
    pub group_type: String,
    /// The source object; `null` in a record read without it (a head, see the store).
    #[serde(default)]
    pub raw: Raw,
}

/// Account → group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Membership {
    pub group_id: String,
    pub account_id: String,
}

/// An application (a data repository in the inventory).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct App {
    pub id: String,
    /// Catalogue name (`salesforce`, `bookmark`, ...).
    pub name: String,
    pub label: String,
    pub sign_on_mode: Option<String>,
    pub status: String,
    pub created: Option<DateTime<Utc>>,
    pub last_updated: Option<DateTime<Utc>>,
    /// The source object; `null` in a record read without it (a head, see the store).
    #[serde(default)]
    pub raw: Raw,
}

/// Account → app (an app user), with its app-user profile in `raw.profile`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppUser {
    pub app_id: String,
    pub account_id: String,
    /// `USER` (direct) or `GROUP` (through a group assignment).
    pub scope: String,
    pub status: Option<String>,
    /// The source object; `null` in a record read without it (a head, see the store).
    #[serde(default)]
    pub raw: Raw,
}

/// Group → app.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppGroup {
    pub app_id: String,
    pub group_id: String,
    pub priority: Option<i64>,
    /// The source object; `null` in a record read without it (a head, see the store).
    #[serde(default)]
    pub raw: Raw,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PrincipalKind {
    Account,
    Group,
}

impl PrincipalKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalKind::Account => "account",
            PrincipalKind::Group => "group",
        }
    }
}

/// An admin role held by an account directly or by a group.
///
/// Roles an account holds only through a group are recorded once, on the group; the
/// account inherits them through its membership.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoleAssignment {
    pub principal_kind: PrincipalKind,
    pub principal_id: String,
    /// The role assignment's own id.
    pub id: String,
    /// `SUPER_ADMIN`, `ORG_ADMIN`, ..., `CUSTOM`.
    pub role_type: String,
    pub label: String,
    pub status: Option<String>,
    /// The source object; `null` in a record read without it (a head, see the store).
    #[serde(default)]
    pub raw: Raw,
}

/// An enrolled authentication factor (never its secret material).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Factor {
    pub account_id: String,
    pub id: String,
    pub factor_type: String,
    pub provider: Option<String>,
    pub status: String,
    /// The source object; `null` in a record read without it (a head, see the store).
    #[serde(default)]
    pub raw: Raw,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    pub id: String,
    /// `OKTA_SIGN_ON`, `MFA_ENROLL`, `ACCESS_POLICY`, `PASSWORD`, ...
    pub policy_type: String,
    pub name: String,
    pub status: String,
    pub priority: Option<i64>,
    /// The source object; `null` in a record read without it (a head, see the store).
    #[serde(default)]
    pub raw: Raw,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyRule {
    pub policy_id: String,
    pub id: String,
    pub name: String,
    pub status: String,
    /// True when the rule's actions require a second factor (connector decides how to read it).
    pub requires_mfa: bool,
    /// The source object; `null` in a record read without it (a head, see the store).
    #[serde(default)]
    pub raw: Raw,
}

/// A System Log / login-history event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogEvent {
    pub id: String,
    pub published: DateTime<Utc>,
    pub event_type: String,
    pub actor_id: Option<String>,
    pub actor_alternate_id: Option<String>,
    pub target_ids: Vec<String>,
    pub outcome: Option<String>,
    /// The source object; `null` in a record read without it (a head, see the store).
    #[serde(default)]
    pub raw: Raw,
}

/// A source setting read during sync (e.g. the rate-limit warning threshold).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Setting {
    pub key: String,
    pub value: Value,
}

/// One identity-graph record. Stored and served as its fields plus `"kind"` (first).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Record {
    Account(Account),
    Group(Group),
    Membership(Membership),
    App(App),
    AppUser(AppUser),
    AppGroup(AppGroup),
    RoleAssignment(RoleAssignment),
    Factor(Factor),
    Policy(Policy),
    PolicyRule(PolicyRule),
    LogEvent(LogEvent),
    Setting(Setting),
}

impl Record {
    pub fn resource(&self) -> Resource {
        match self {
            Record::Account(_) => Resource::Users,
            Record::Group(_) => Resource::Groups,
            Record::Membership(_) => Resource::Memberships,
            Record::App(_) => Resource::Apps,
            Record::AppUser(_) => Resource::AppUsers,
            Record::AppGroup(_) => Resource::AppGroups,
            Record::RoleAssignment(_) => Resource::RoleAssignments,
            Record::Factor(_) => Resource::Factors,
            Record::Policy(_) => Resource::Policies,
            Record::PolicyRule(_) => Resource::PolicyRules,
            Record::LogEvent(_) => Resource::LogEvents,
            Record::Setting(_) => Resource::Settings,
        }
    }

    /// The source object the record was read from; `None` for memberships and settings, which
    /// have none.
    pub fn raw(&self) -> Option<&Raw> {
        match self {
            Record::Account(r) => Some(&r.raw),
            Record::Group(r) => Some(&r.raw),
            Record::Membership(_) => None,
            Record::App(r) => Some(&r.raw),
            Record::AppUser(r) => Some(&r.raw),
            Record::AppGroup(r) => Some(&r.raw),
            Record::RoleAssignment(r) => Some(&r.raw),
            Record::Factor(r) => Some(&r.raw),
            Record::Policy(r) => Some(&r.raw),
            Record::PolicyRule(r) => Some(&r.raw),
            Record::LogEvent(r) => Some(&r.raw),
            Record::Setting(_) => None,
        }
    }

    /// The key this record contributes to its resource's [`crate::truth_digest`].
    ///
    /// The simulator computes the same keys from its own data: users `id`, groups `id`,
    /// memberships `group/account`, apps `id`, app users `app/account`, app groups
    /// `app/group`, role assignments `account|group/principal/assignment`, factors
    /// `account/factor`, policies `id`, rules `policy/rule`, log events `uuid`,
    /// settings `key`.
    pub fn truth_key(&self) -> String {
        match self {
            Record::Account(a) => a.id.clone(),
            Record::Group(g) => g.id.clone(),
            Record::Membership(m) => format!("{}/{}", m.group_id, m.account_id),
            Record::App(a) => a.id.clone(),
            Record::AppUser(a) => format!("{}/{}", a.app_id, a.account_id),
            Record::AppGroup(a) => format!("{}/{}", a.app_id, a.group_id),
            Record::RoleAssignment(r) => {
                format!("{}/{}/{}", r.principal_kind.as_str(), r.principal_id, r.id)
            }
            Record::Factor(f) => format!("{}/{}", f.account_id, f.id),
            Record::Policy(p) => p.id.clone(),
            Record::PolicyRule(r) => format!("{}/{}", r.policy_id, r.id),
            Record::LogEvent(e) => e.id.clone(),
            Record::Setting(s) => s.key.clone(),
        }
    }
}

/// By hand, not derived: serde's derived internally tagged enums buffer the record as a
/// generic tree first, which cannot hold a [`Raw`] (it needs serde_json's own reader). The
/// record is read as JSON text once, its `kind` looked up, then the variant read from it.
impl<'de> Deserialize<'de> for Record {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Record, D::Error> {
        use serde::de::Error;
        let text = Box::<serde_json::value::RawValue>::deserialize(d)?;
        let text = text.get();
        let kind = record_kind(text).map_err(D::Error::custom)?;
        fn read<'a, T: Deserialize<'a>, E: Error>(text: &'a str) -> Result<T, E> {
            serde_json::from_str(text).map_err(E::custom)
        }
        Ok(match kind.as_str() {
            "account" => Record::Account(read(text)?),
            "group" => Record::Group(read(text)?),
            "membership" => Record::Membership(read(text)?),
            "app" => Record::App(read(text)?),
            "app_user" => Record::AppUser(read(text)?),
            "app_group" => Record::AppGroup(read(text)?),
            "role_assignment" => Record::RoleAssignment(read(text)?),
            "factor" => Record::Factor(read(text)?),
            "policy" => Record::Policy(read(text)?),
            "policy_rule" => Record::PolicyRule(read(text)?),
            "log_event" => Record::LogEvent(read(text)?),
            "setting" => Record::Setting(read(text)?),
            other => return Err(D::Error::unknown_variant(other, RECORD_KINDS)),
        })
    }
}

const RECORD_KINDS: &[&str] = &[
    "account",
    "group",
    "membership",
    "app",
    "app_user",
    "app_group",
    "role_assignment",
    "factor",
    "policy",
    "policy_rule",
    "log_event",
    "setting",
];

/// The `kind` of a record's JSON text: read straight off the front when it comes first (as
/// the store and the API write it), else looked up in the object.
fn record_kind(text: &str) -> Result<String, serde_json::Error> {
    const PREFIX: &str = "{\"kind\":\"";
    if let Some(rest) = text.strip_prefix(PREFIX)
        && let Some(end) = rest.find('"')
        && !rest[..end].contains('\\')
    {
        return Ok(rest[..end].to_string());
    }
    #[derive(Deserialize)]
    struct Tag {
        kind: String,
    }
    serde_json::from_str::<Tag>(text).map(|t| t.kind)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_record_reads_back_from_its_text_and_from_a_value_with_raw_verbatim() {
        let r = Record::AppUser(AppUser {
            app_id: "0oa1".into(),
            account_id: "00u1".into(),
            scope: "USER".into(),
            status: None,
            raw: Raw::from_json_text(r#"{"id":"00u1","profile":{"b":1,"a":2}}"#).unwrap(),
        });
        let text = serde_json::to_string(&r).unwrap();
        assert!(
            text.starts_with(r#"{"kind":"app_user","app_id":"0oa1""#),
            "{text}"
        );
        assert!(
            text.ends_with(r#""raw":{"id":"00u1","profile":{"b":1,"a":2}}}"#),
            "{text}"
        );
        assert_eq!(serde_json::from_str::<Record>(&text).unwrap(), r);
        // `kind` anywhere in the object, and through a `Value`.
        let moved = json!({"app_id": "0oa1", "account_id": "00u1", "scope": "USER", "status": null,
            "raw": {"id": "00u1", "profile": {"b": 1, "a": 2}}, "kind": "app_user"});
        assert_eq!(serde_json::from_value::<Record>(moved.clone()).unwrap(), r);
        assert_eq!(
            serde_json::from_str::<Record>(&moved.to_string()).unwrap(),
            r
        );
        let err = serde_json::from_str::<Record>(r#"{"kind":"nope"}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown variant `nope`"), "{err}");
    }
}
