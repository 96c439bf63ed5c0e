//! Okta JSON → identity-graph records. Every record keeps its source object in `raw`;
//! missing optional fields become `None`, missing ids make the object unusable (skipped by
//! the caller with a warning).

use chrono::{DateTime, Utc};
use serde_json::Value;
use steward_model::{
    Account, App, AppGroup, AppUser, Factor, Group, LogEvent, Membership, Policy, PolicyRule, PrincipalKind, RoleAssignment,
};

fn s(v: &Value, path: &[&str]) -> Option<String> {
    let mut cur = v;
    for p in path {
        cur = cur.get(*p)?;
    }
    match cur {
        Value::String(x) => Some(x.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn ts(v: &Value, key: &str) -> Option<DateTime<Utc>> {
    v.get(key).and_then(Value::as_str).and_then(|t| DateTime::parse_from_rfc3339(t).ok()).map(|t| t.with_timezone(&Utc))
}

pub fn account(v: &Value) -> Option<Account> {
    into_account(v.clone())
}

/// As [`account`], moving the source object into `raw` instead of copying it.
pub fn into_account(v: Value) -> Option<Account> {
    let r = &v;
    let first = s(r, &["profile", "firstName"]);
    let last = s(r, &["profile", "lastName"]);
    let display = s(r, &["profile", "displayName"]).or_else(|| match (&first, &last) {
        (Some(f), Some(l)) => Some(format!("{f} {l}")),
        _ => None,
    });
    Some(Account {
        id: s(r, &["id"])?,
        login: s(r, &["profile", "login"]).unwrap_or_default(),
        email: s(r, &["profile", "email"]),
        second_email: s(r, &["profile", "secondEmail"]),
        first_name: first,
        last_name: last,
        display_name: display,
        status: s(r, &["status"]).unwrap_or_default(),
        department: s(r, &["profile", "department"]),
        title: s(r, &["profile", "title"]),
        manager: s(r, &["profile", "managerId"]).or_else(|| s(r, &["profile", "manager"])),
        employee_number: s(r, &["profile", "employeeNumber"]),
        created: ts(r, "created"),
        last_login: ts(r, "lastLogin"),
        last_updated: ts(r, "lastUpdated"),
        license_status: None,
        raw: v,
    })
}

pub fn group(v: &Value) -> Option<Group> {
    into_group(v.clone())
}

/// As [`group`], moving the source object into `raw` instead of copying it.
pub fn into_group(v: Value) -> Option<Group> {
    let r = &v;
    Some(Group {
        id: s(r, &["id"])?,
        name: s(r, &["profile", "name"]).unwrap_or_default(),
        description: s(r, &["profile", "description"]),
        group_type: s(r, &["type"]).unwrap_or_default(),
        raw: v,
    })
}

pub fn membership(group_id: &str, user: &Value) -> Option<Membership> {
    Some(Membership { group_id: group_id.to_string(), account_id: s(user, &["id"])? })
}

pub fn app(v: &Value) -> Option<App> {
    into_app(v.clone())
}

/// As [`app`], moving the source object into `raw` instead of copying it.
pub fn into_app(v: Value) -> Option<App> {
    let r = &v;
    Some(App {
        id: s(r, &["id"])?,
        name: s(r, &["name"]).unwrap_or_default(),
        label: s(r, &["label"]).unwrap_or_default(),
        sign_on_mode: s(r, &["signOnMode"]),
        status: s(r, &["status"]).unwrap_or_default(),
        created: ts(r, "created"),
        last_updated: ts(r, "lastUpdated"),
        raw: v,
    })
}

pub fn app_user(app_id: &str, v: &Value) -> Option<AppUser> {
    into_app_user(app_id, v.clone())
}

/// As [`app_user`], moving the source object into `raw` instead of copying it.
pub fn into_app_user(app_id: &str, v: Value) -> Option<AppUser> {
    let r = &v;
    Some(AppUser {
        app_id: app_id.to_string(),
        account_id: s(r, &["id"])?,
        scope: s(r, &["scope"]).unwrap_or_else(|| "USER".into()),
        status: s(r, &["status"]),
        raw: v,
    })
}

pub fn app_group(app_id: &str, v: &Value) -> Option<AppGroup> {
    into_app_group(app_id, v.clone())
}

/// As [`app_group`], moving the source object into `raw` instead of copying it.
pub fn into_app_group(app_id: &str, v: Value) -> Option<AppGroup> {
    let r = &v;
    Some(AppGroup { app_id: app_id.to_string(), group_id: s(r, &["id"])?, priority: r.get("priority").and_then(Value::as_i64), raw: v })
}

pub fn role(kind: PrincipalKind, principal_id: &str, v: &Value) -> Option<RoleAssignment> {
    into_role(kind, principal_id, v.clone())
}

/// As [`role`], moving the source object into `raw` instead of copying it.
pub fn into_role(kind: PrincipalKind, principal_id: &str, v: Value) -> Option<RoleAssignment> {
    let r = &v;
    Some(RoleAssignment {
        principal_kind: kind,
        principal_id: principal_id.to_string(),
        id: s(r, &["id"])?,
        role_type: s(r, &["type"]).unwrap_or_default(),
        label: s(r, &["label"]).unwrap_or_default(),
        status: s(r, &["status"]),
        raw: v,
    })
}

/// The group a GROUP-assigned role comes from, from its `_links.assignee` (`…/groups/{id}`).
pub fn role_group(v: &Value) -> Option<String> {
    let href = s(v, &["_links", "assignee", "href"])?;
    let idx = href.rfind("/groups/")?;
    let id = href[idx + "/groups/".len()..].split(['/', '?']).next()?;
    (!id.is_empty()).then(|| id.to_string())
}

pub fn factor(account_id: &str, v: &Value) -> Option<Factor> {
    into_factor(account_id, v.clone())
}

/// As [`factor`], moving the source object into `raw` instead of copying it.
pub fn into_factor(account_id: &str, v: Value) -> Option<Factor> {
    let r = &v;
    Some(Factor {
        account_id: account_id.to_string(),
        id: s(r, &["id"])?,
        factor_type: s(r, &["factorType"]).unwrap_or_default(),
        provider: s(r, &["provider"]),
        status: s(r, &["status"]).unwrap_or_default(),
        raw: v,
    })
}

pub fn policy(v: &Value) -> Option<Policy> {
    into_policy(v.clone())
}

/// As [`policy`], moving the source object into `raw` instead of copying it.
pub fn into_policy(v: Value) -> Option<Policy> {
    let r = &v;
    Some(Policy {
        id: s(r, &["id"])?,
        policy_type: s(r, &["type"]).unwrap_or_default(),
        name: s(r, &["name"]).unwrap_or_default(),
        status: s(r, &["status"]).unwrap_or_default(),
        priority: r.get("priority").and_then(Value::as_i64),
        raw: v,
    })
}

/// Whether a rule asks for a second factor, per rule type:
/// sign-on `actions.signon.requireFactor`; app sign-in `verificationMethod.factorMode == "2FA"`
/// (or an assurance constraint that needs possession); enrolment `enroll.self == "LOGIN"`
/// (users must enrol at sign-in).
pub fn requires_mfa(v: &Value) -> bool {
    let a = v.get("actions").unwrap_or(&Value::Null);
    if a.pointer("/signon/requireFactor").and_then(Value::as_bool) == Some(true) {
        return true;
    }
    if a.pointer("/appSignOn/verificationMethod/factorMode").and_then(Value::as_str) == Some("2FA") {
        return true;
    }
    if let Some(cs) = a.pointer("/appSignOn/verificationMethod/constraints").and_then(Value::as_array)
        && cs.iter().any(|c| c.get("possession").is_some() && c.get("knowledge").is_some())
    {
        return true;
    }
    a.pointer("/enroll/self").and_then(Value::as_str) == Some("LOGIN")
}

pub fn rule(policy_id: &str, v: &Value) -> Option<PolicyRule> {
    into_rule(policy_id, v.clone())
}

/// As [`rule`], moving the source object into `raw` instead of copying it.
pub fn into_rule(policy_id: &str, v: Value) -> Option<PolicyRule> {
    let r = &v;
    Some(PolicyRule {
        policy_id: policy_id.to_string(),
        id: s(r, &["id"])?,
        name: s(r, &["name"]).unwrap_or_default(),
        status: s(r, &["status"]).unwrap_or_default(),
        requires_mfa: requires_mfa(r),
        raw: v,
    })
}

pub fn log_event(v: &Value) -> Option<LogEvent> {
    into_log_event(v.clone())
}

/// As [`log_event`], moving the source object into `raw` instead of copying it.
pub fn into_log_event(v: Value) -> Option<LogEvent> {
    let r = &v;
    Some(LogEvent {
        id: s(r, &["uuid"])?,
        published: ts(r, "published")?,
        event_type: s(r, &["eventType"]).unwrap_or_default(),
        actor_id: s(r, &["actor", "id"]),
        actor_alternate_id: s(r, &["actor", "alternateId"]),
        target_ids: r
            .get("target")
            .and_then(Value::as_array)
            .map(|ts| ts.iter().filter_map(|t| s(t, &["id"])).collect())
            .unwrap_or_default(),
        outcome: s(r, &["outcome", "result"]),
        raw: v,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn mfa_from_rules() {
        assert!(requires_mfa(&json!({"actions": {"signon": {"requireFactor": true}}})));
        assert!(!requires_mfa(&json!({"actions": {"signon": {"requireFactor": false}}})));
        assert!(requires_mfa(&json!({"actions": {"appSignOn": {"verificationMethod": {"factorMode": "2FA"}}}})));
        assert!(!requires_mfa(&json!({"actions": {"appSignOn": {"verificationMethod": {"factorMode": "1FA"}}}})));
        assert!(requires_mfa(&json!({"actions": {"enroll": {"self": "LOGIN"}}})));
        assert!(!requires_mfa(&json!({"actions": {"passwordChange": {"access": "ALLOW"}}})));
    }

    #[test]
    fn role_group_from_link() {
        let v = json!({"_links": {"assignee": {"href": "https://a.okta.com/api/v1/groups/00g1"}}});
        assert_eq!(role_group(&v).unwrap(), "00g1");
        assert!(role_group(&json!({})).is_none());
    }

    #[test]
    fn account_keeps_raw() {
        let v = json!({"id": "00u1", "status": "ACTIVE", "profile": {"login": "a@b.c", "firstName": "A", "lastName": "B"}});
        let a = account(&v).unwrap();
        assert_eq!(a.display_name.as_deref(), Some("A B"));
        assert_eq!(a.raw, v);
    }
}
