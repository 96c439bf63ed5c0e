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
    let first = s(v, &["profile", "firstName"]);
    let last = s(v, &["profile", "lastName"]);
    let display = s(v, &["profile", "displayName"]).or_else(|| match (&first, &last) {
        (Some(f), Some(l)) => Some(format!("{f} {l}")),
        _ => None,
    });
    Some(Account {
        id: s(v, &["id"])?,
        login: s(v, &["profile", "login"]).unwrap_or_default(),
        email: s(v, &["profile", "email"]),
        second_email: s(v, &["profile", "secondEmail"]),
        first_name: first,
        last_name: last,
        display_name: display,
        status: s(v, &["status"]).unwrap_or_default(),
        department: s(v, &["profile", "department"]),
        title: s(v, &["profile", "title"]),
        manager: s(v, &["profile", "managerId"]).or_else(|| s(v, &["profile", "manager"])),
        employee_number: s(v, &["profile", "employeeNumber"]),
        created: ts(v, "created"),
        last_login: ts(v, "lastLogin"),
        last_updated: ts(v, "lastUpdated"),
        raw: v.clone(),
    })
}

pub fn group(v: &Value) -> Option<Group> {
    Some(Group {
        id: s(v, &["id"])?,
        name: s(v, &["profile", "name"]).unwrap_or_default(),
        description: s(v, &["profile", "description"]),
        group_type: s(v, &["type"]).unwrap_or_default(),
        raw: v.clone(),
    })
}

pub fn membership(group_id: &str, user: &Value) -> Option<Membership> {
    Some(Membership { group_id: group_id.to_string(), account_id: s(user, &["id"])? })
}

pub fn app(v: &Value) -> Option<App> {
    Some(App {
        id: s(v, &["id"])?,
        name: s(v, &["name"]).unwrap_or_default(),
        label: s(v, &["label"]).unwrap_or_default(),
        sign_on_mode: s(v, &["signOnMode"]),
        status: s(v, &["status"]).unwrap_or_default(),
        created: ts(v, "created"),
        last_updated: ts(v, "lastUpdated"),
        raw: v.clone(),
    })
}

pub fn app_user(app_id: &str, v: &Value) -> Option<AppUser> {
    Some(AppUser {
        app_id: app_id.to_string(),
        account_id: s(v, &["id"])?,
        scope: s(v, &["scope"]).unwrap_or_else(|| "USER".into()),
        status: s(v, &["status"]),
        raw: v.clone(),
    })
}

pub fn app_group(app_id: &str, v: &Value) -> Option<AppGroup> {
    Some(AppGroup { app_id: app_id.to_string(), group_id: s(v, &["id"])?, priority: v.get("priority").and_then(Value::as_i64), raw: v.clone() })
}

pub fn role(kind: PrincipalKind, principal_id: &str, v: &Value) -> Option<RoleAssignment> {
    Some(RoleAssignment {
        principal_kind: kind,
        principal_id: principal_id.to_string(),
        id: s(v, &["id"])?,
        role_type: s(v, &["type"]).unwrap_or_default(),
        label: s(v, &["label"]).unwrap_or_default(),
        status: s(v, &["status"]),
        raw: v.clone(),
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
    Some(Factor {
        account_id: account_id.to_string(),
        id: s(v, &["id"])?,
        factor_type: s(v, &["factorType"]).unwrap_or_default(),
        provider: s(v, &["provider"]),
        status: s(v, &["status"]).unwrap_or_default(),
        raw: v.clone(),
    })
}

pub fn policy(v: &Value) -> Option<Policy> {
    Some(Policy {
        id: s(v, &["id"])?,
        policy_type: s(v, &["type"]).unwrap_or_default(),
        name: s(v, &["name"]).unwrap_or_default(),
        status: s(v, &["status"]).unwrap_or_default(),
        priority: v.get("priority").and_then(Value::as_i64),
        raw: v.clone(),
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
    Some(PolicyRule {
        policy_id: policy_id.to_string(),
        id: s(v, &["id"])?,
        name: s(v, &["name"]).unwrap_or_default(),
        status: s(v, &["status"]).unwrap_or_default(),
        requires_mfa: requires_mfa(v),
        raw: v.clone(),
    })
}

pub fn log_event(v: &Value) -> Option<LogEvent> {
    Some(LogEvent {
        id: s(v, &["uuid"])?,
        published: ts(v, "published")?,
        event_type: s(v, &["eventType"]).unwrap_or_default(),
        actor_id: s(v, &["actor", "id"]),
        actor_alternate_id: s(v, &["actor", "alternateId"]),
        target_ids: v
            .get("target")
            .and_then(Value::as_array)
            .map(|ts| ts.iter().filter_map(|t| s(t, &["id"])).collect())
            .unwrap_or_default(),
        outcome: s(v, &["outcome", "result"]),
        raw: v.clone(),
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
