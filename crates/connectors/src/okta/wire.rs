//! Okta JSON → identity-graph records. Every record keeps its source object in `raw`;
//! missing optional fields become `None`, missing ids make the object unusable (skipped by
//! the caller with a warning).
//!
//! Two readers give the same records: from a parsed `Value` (actions, small lists) and
//! straight from a page item's JSON text (the sync: typed views read the few fields needed,
//! and the text itself becomes `raw`, so no tree is built per object).

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;
use steward_model::{
    Account, App, AppGroup, AppUser, Factor, Group, LogEvent, Membership, Policy, PolicyRule,
    PrincipalKind, Raw, RoleAssignment,
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
    v.get(key)
        .and_then(Value::as_str)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
}

pub fn account(v: &Value) -> Option<Account> {
    build_account(v, Raw::from(v))
}

fn build_account(r: &Value, raw: Raw) -> Option<Account> {
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
        raw,
    })
}

pub fn group(v: &Value) -> Option<Group> {
    build_group(v, Raw::from(v))
}

fn build_group(r: &Value, raw: Raw) -> Option<Group> {
    Some(Group {
        id: s(r, &["id"])?,
        name: s(r, &["profile", "name"]).unwrap_or_default(),
        description: s(r, &["profile", "description"]),
        group_type: s(r, &["type"]).unwrap_or_default(),
        raw,
    })
}

pub fn membership(group_id: &str, user: &Value) -> Option<Membership> {
    Some(Membership {
        group_id: group_id.to_string(),
        account_id: s(user, &["id"])?,
    })
}

pub fn app(v: &Value) -> Option<App> {
    build_app(v, Raw::from(v))
}

fn build_app(r: &Value, raw: Raw) -> Option<App> {
    Some(App {
        id: s(r, &["id"])?,
        name: s(r, &["name"]).unwrap_or_default(),
        label: s(r, &["label"]).unwrap_or_default(),
        sign_on_mode: s(r, &["signOnMode"]),
        status: s(r, &["status"]).unwrap_or_default(),
        created: ts(r, "created"),
        last_updated: ts(r, "lastUpdated"),
        raw,
    })
}

pub fn app_user(app_id: &str, v: &Value) -> Option<AppUser> {
    build_app_user(app_id, v, Raw::from(v))
}

fn build_app_user(app_id: &str, r: &Value, raw: Raw) -> Option<AppUser> {
    Some(AppUser {
        app_id: app_id.to_string(),
        account_id: s(r, &["id"])?,
        scope: s(r, &["scope"]).unwrap_or_else(|| "USER".into()),
        status: s(r, &["status"]),
        raw,
    })
}

pub fn app_group(app_id: &str, v: &Value) -> Option<AppGroup> {
    build_app_group(app_id, v, Raw::from(v))
}

fn build_app_group(app_id: &str, r: &Value, raw: Raw) -> Option<AppGroup> {
    Some(AppGroup {
        app_id: app_id.to_string(),
        group_id: s(r, &["id"])?,
        priority: r.get("priority").and_then(Value::as_i64),
        raw,
    })
}

pub fn role(kind: PrincipalKind, principal_id: &str, v: &Value) -> Option<RoleAssignment> {
    build_role(kind, principal_id, v, Raw::from(v))
}

fn build_role(
    kind: PrincipalKind,
    principal_id: &str,
    r: &Value,
    raw: Raw,
) -> Option<RoleAssignment> {
    Some(RoleAssignment {
        principal_kind: kind,
        principal_id: principal_id.to_string(),
        id: s(r, &["id"])?,
        role_type: s(r, &["type"]).unwrap_or_default(),
        label: s(r, &["label"]).unwrap_or_default(),
        status: s(r, &["status"]),
        raw,
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
    build_factor(account_id, v, Raw::from(v))
}

fn build_factor(account_id: &str, r: &Value, raw: Raw) -> Option<Factor> {
    Some(Factor {
        account_id: account_id.to_string(),
        id: s(r, &["id"])?,
        factor_type: s(r, &["factorType"]).unwrap_or_default(),
        provider: s(r, &["provider"]),
        status: s(r, &["status"]).unwrap_or_default(),
        raw,
    })
}

pub fn policy(v: &Value) -> Option<Policy> {
    build_policy(v, Raw::from(v))
}

fn build_policy(r: &Value, raw: Raw) -> Option<Policy> {
    Some(Policy {
        id: s(r, &["id"])?,
        policy_type: s(r, &["type"]).unwrap_or_default(),
        name: s(r, &["name"]).unwrap_or_default(),
        status: s(r, &["status"]).unwrap_or_default(),
        priority: r.get("priority").and_then(Value::as_i64),
        raw,
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
    if a.pointer("/appSignOn/verificationMethod/factorMode")
        .and_then(Value::as_str)
        == Some("2FA")
    {
        return true;
    }
    if let Some(cs) = a
        .pointer("/appSignOn/verificationMethod/constraints")
        .and_then(Value::as_array)
        && cs
            .iter()
            .any(|c| c.get("possession").is_some() && c.get("knowledge").is_some())
    {
        return true;
    }
    a.pointer("/enroll/self").and_then(Value::as_str) == Some("LOGIN")
}

pub fn rule(policy_id: &str, v: &Value) -> Option<PolicyRule> {
    build_rule(policy_id, v, Raw::from(v))
}

fn build_rule(policy_id: &str, r: &Value, raw: Raw) -> Option<PolicyRule> {
    Some(PolicyRule {
        policy_id: policy_id.to_string(),
        id: s(r, &["id"])?,
        name: s(r, &["name"]).unwrap_or_default(),
        status: s(r, &["status"]).unwrap_or_default(),
        requires_mfa: requires_mfa(r),
        raw,
    })
}

pub fn log_event(v: &Value) -> Option<LogEvent> {
    build_log_event(v, Raw::from(v))
}

fn build_log_event(r: &Value, raw: Raw) -> Option<LogEvent> {
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
        raw,
    })
}

// ---- Straight from a page item's JSON text (the sync) ----

/// A scalar read as text, as [`s`] reads it: strings as they are, numbers and booleans
/// spelled out, anything else (null, objects, arrays) absent.
#[derive(Default)]
struct Text(Option<String>);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Text, D::Error> {
        // Through `Value` only for the rare non-string: its spelling of numbers is the one
        // the `Value` reader gives.
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Text;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Text, E> {
                Ok(Text(Some(v.to_string())))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Text, E> {
                Ok(Text(Some(v)))
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Text, E> {
                Ok(Text(Some(v.to_string())))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Text, E> {
                Ok(Text(Some(Value::from(v).to_string())))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Text, E> {
                Ok(Text(Some(Value::from(v).to_string())))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Text, E> {
                Ok(Text(Some(Value::from(v).to_string())))
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Text, E> {
                Ok(Text(None))
            }
            fn visit_none<E: serde::de::Error>(self) -> Result<Text, E> {
                Ok(Text(None))
            }
            fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Text, D::Error> {
                d.deserialize_any(V)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut a: A) -> Result<Text, A::Error> {
                while a.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(Text(None))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut a: A) -> Result<Text, A::Error> {
                while a
                    .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(Text(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// An object member that may be anything: an object is read as `T`, anything else (null,
/// a string, ...) as `T::default()`, as a path lookup in a `Value` would see it.
struct Obj<T>(T);

impl<T: Default> Default for Obj<T> {
    fn default() -> Self {
        Obj(T::default())
    }
}

impl<'de, T: Deserialize<'de> + Default> Deserialize<'de> for Obj<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Obj<T>, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de> + Default> serde::de::Visitor<'de> for V<T> {
            type Value = Obj<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, a: A) -> Result<Obj<T>, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(a)).map(Obj)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut a: A) -> Result<Obj<T>, A::Error> {
                while a.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(Obj::default())
            }
            fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Obj<T>, E> {
                Ok(Obj::default())
            }
            fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Obj<T>, E> {
                Ok(Obj::default())
            }
            fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Obj<T>, E> {
                Ok(Obj::default())
            }
            fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Obj<T>, E> {
                Ok(Obj::default())
            }
            fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Obj<T>, E> {
                Ok(Obj::default())
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Obj<T>, E> {
                Ok(Obj::default())
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

fn time(t: &Text) -> Option<DateTime<Utc>> {
    t.0.as_deref()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// Reads a view of an item; `None` (the item is skipped, as one without an id is) when the
/// item is not an object.
fn view<'a, T: Deserialize<'a>>(item: &'a RawValue) -> Option<T> {
    // A derived view would also read an array positionally; only objects are records.
    if !item.get().starts_with('{') {
        return None;
    }
    serde_json::from_str(item.get()).ok()
}

#[derive(Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct UserProfileView {
    login: Text,
    email: Text,
    second_email: Text,
    first_name: Text,
    last_name: Text,
    display_name: Text,
    department: Text,
    title: Text,
    manager_id: Text,
    manager: Text,
    employee_number: Text,
}

#[derive(Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct UserView {
    id: Text,
    status: Text,
    created: Text,
    last_login: Text,
    last_updated: Text,
    profile: Obj<UserProfileView>,
}

/// A user from a page item (the users list; a group's member list).
pub fn account_raw(item: &RawValue) -> Option<Account> {
    let v: UserView = view(item)?;
    let p = v.profile.0;
    let display = p
        .display_name
        .0
        .or_else(|| match (&p.first_name.0, &p.last_name.0) {
            (Some(f), Some(l)) => Some(format!("{f} {l}")),
            _ => None,
        });
    Some(Account {
        id: v.id.0?,
        login: p.login.0.unwrap_or_default(),
        email: p.email.0,
        second_email: p.second_email.0,
        first_name: p.first_name.0,
        last_name: p.last_name.0,
        display_name: display,
        status: v.status.0.unwrap_or_default(),
        department: p.department.0,
        title: p.title.0,
        manager: p.manager_id.0.or(p.manager.0),
        employee_number: p.employee_number.0,
        created: time(&v.created),
        last_login: time(&v.last_login),
        last_updated: time(&v.last_updated),
        license_status: None,
        raw: Raw::from_raw_value(item),
    })
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct IdView {
    id: Text,
}

/// A group member from a page item of `/groups/{id}/users` (only its id is needed).
pub fn membership_raw(group_id: &str, item: &RawValue) -> Option<Membership> {
    let v: IdView = view(item)?;
    Some(Membership {
        group_id: group_id.to_string(),
        account_id: v.id.0?,
    })
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct AppUserView {
    id: Text,
    scope: Text,
    status: Text,
}

pub fn app_user_raw(app_id: &str, item: &RawValue) -> Option<AppUser> {
    let v: AppUserView = view(item)?;
    Some(AppUser {
        app_id: app_id.to_string(),
        account_id: v.id.0?,
        scope: v.scope.0.unwrap_or_else(|| "USER".into()),
        status: v.status.0,
        raw: Raw::from_raw_value(item),
    })
}

#[derive(Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct FactorView {
    id: Text,
    factor_type: Text,
    provider: Text,
    status: Text,
}

pub fn factor_raw(account_id: &str, item: &RawValue) -> Option<Factor> {
    let v: FactorView = view(item)?;
    Some(Factor {
        account_id: account_id.to_string(),
        id: v.id.0?,
        factor_type: v.factor_type.0.unwrap_or_default(),
        provider: v.provider.0,
        status: v.status.0.unwrap_or_default(),
        raw: Raw::from_raw_value(item),
    })
}

#[derive(Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct ActorView {
    id: Text,
    alternate_id: Text,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct OutcomeView {
    result: Text,
}

/// A log event's `target`: its items' ids when it is an array (as a `Value` lookup sees it).
#[derive(Default)]
struct Targets(Vec<String>);

impl<'de> Deserialize<'de> for Targets {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Targets, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Targets;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<Targets, A::Error> {
                let mut ids = Vec::new();
                while let Some(t) = a.next_element::<Obj<IdView>>()? {
                    ids.extend(t.0.id.0);
                }
                Ok(Targets(ids))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<Targets, A::Error> {
                while a
                    .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(Targets::default())
            }
            fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Targets, E> {
                Ok(Targets::default())
            }
            fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Targets, E> {
                Ok(Targets::default())
            }
            fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Targets, E> {
                Ok(Targets::default())
            }
            fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Targets, E> {
                Ok(Targets::default())
            }
            fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Targets, E> {
                Ok(Targets::default())
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Targets, E> {
                Ok(Targets::default())
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct LogEventView {
    uuid: Text,
    published: Text,
    event_type: Text,
    actor: Obj<ActorView>,
    target: Targets,
    outcome: Obj<OutcomeView>,
}

pub fn log_event_raw(item: &RawValue) -> Option<LogEvent> {
    let v: LogEventView = view(item)?;
    Some(LogEvent {
        id: v.uuid.0?,
        published: time(&v.published)?,
        event_type: v.event_type.0.unwrap_or_default(),
        actor_id: v.actor.0.id.0,
        actor_alternate_id: v.actor.0.alternate_id.0,
        target_ids: v.target.0,
        outcome: v.outcome.0.result.0,
        raw: Raw::from_raw_value(item),
    })
}

/// The few-per-org kinds from a page item: parsed once as a `Value` for the field lookups,
/// the item's own text kept as `raw`.
fn via_value<T>(item: &RawValue, f: impl FnOnce(&Value, Raw) -> Option<T>) -> Option<T> {
    let v: Value = serde_json::from_str(item.get()).ok()?;
    f(&v, Raw::from_raw_value(item))
}

pub fn group_raw(item: &RawValue) -> Option<Group> {
    via_value(item, build_group)
}

pub fn app_raw(item: &RawValue) -> Option<App> {
    via_value(item, build_app)
}

pub fn app_group_raw(app_id: &str, item: &RawValue) -> Option<AppGroup> {
    via_value(item, |v, raw| build_app_group(app_id, v, raw))
}

pub fn policy_raw(item: &RawValue) -> Option<Policy> {
    via_value(item, build_policy)
}

pub fn rule_raw(policy_id: &str, item: &RawValue) -> Option<PolicyRule> {
    via_value(item, |v, raw| build_rule(policy_id, v, raw))
}

pub fn role_raw(
    kind: PrincipalKind,
    principal_id: &str,
    item: &RawValue,
) -> Option<RoleAssignment> {
    via_value(item, |v, raw| build_role(kind, principal_id, v, raw))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn mfa_from_rules() {
        assert!(requires_mfa(
            &json!({"actions": {"signon": {"requireFactor": true}}})
        ));
        assert!(!requires_mfa(
            &json!({"actions": {"signon": {"requireFactor": false}}})
        ));
        assert!(requires_mfa(
            &json!({"actions": {"appSignOn": {"verificationMethod": {"factorMode": "2FA"}}}})
        ));
        assert!(!requires_mfa(
            &json!({"actions": {"appSignOn": {"verificationMethod": {"factorMode": "1FA"}}}})
        ));
        assert!(requires_mfa(
            &json!({"actions": {"enroll": {"self": "LOGIN"}}})
        ));
        assert!(!requires_mfa(
            &json!({"actions": {"passwordChange": {"access": "ALLOW"}}})
        ));
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

    fn raw(v: &Value) -> Box<RawValue> {
        serde_json::value::to_raw_value(v).unwrap()
    }

    /// The text readers give exactly what the `Value` readers give, on every object of the
    /// real recorded Okta payloads and on odd shapes (numbers for strings, null profiles,
    /// objects where scalars belong, targets that are not a list).
    #[test]
    fn text_readers_equal_value_readers_on_recorded_payloads_and_odd_shapes() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/okta/recorded");
        let mut objects: Vec<Value> = Vec::new();
        for sub in std::fs::read_dir(&dir).unwrap() {
            let sub = sub.unwrap().path();
            if !sub.is_dir() {
                continue;
            }
            for f in std::fs::read_dir(&sub).unwrap() {
                let f = f.unwrap().path();
                let name = f.file_name().unwrap().to_string_lossy().to_string();
                if !name.ends_with(".json") || name.ends_with(".meta.json") {
                    continue;
                }
                let Ok(v) = serde_json::from_str::<Value>(&std::fs::read_to_string(&f).unwrap())
                else {
                    continue;
                };
                match v {
                    Value::Array(items) => objects.extend(items),
                    other => objects.push(other),
                }
            }
        }
        assert!(
            objects.len() > 30,
            "recorded payloads found: {}",
            objects.len()
        );
        objects.extend([
            json!({"id": 7, "status": true, "profile": null, "created": "2024-01-01T00:00:00Z"}),
            json!({"id": "00u2", "profile": {"login": {"x": 1}, "firstName": "A", "lastName": 2.5, "managerId": null, "manager": "m"}}),
            json!({"id": "00u3", "profile": "text", "lastLogin": "not a time"}),
            json!({"uuid": "e1", "published": "2026-01-01T00:00:00.000Z", "actor": "x", "target": {"id": "t"}, "outcome": null}),
            json!({"uuid": "e2", "published": "2026-01-01T00:00:00Z", "target": [{"id": "a"}, {"no": 1}, "s", {"id": 5}], "outcome": {"result": "SUCCESS"}}),
            json!({"id": "f1", "factorType": "push", "provider": null}),
            json!({"scope": "GROUP"}),
            json!([1, 2]),
            json!("str"),
        ]);
        for v in &objects {
            let r = raw(v);
            assert_eq!(account_raw(&r), account(v), "{v}");
            assert_eq!(membership_raw("00g1", &r), membership("00g1", v), "{v}");
            assert_eq!(app_user_raw("0oa1", &r), app_user("0oa1", v), "{v}");
            assert_eq!(factor_raw("00u1", &r), factor("00u1", v), "{v}");
            assert_eq!(log_event_raw(&r), log_event(v), "{v}");
            assert_eq!(group_raw(&r), group(v), "{v}");
            assert_eq!(app_raw(&r), app(v), "{v}");
            assert_eq!(policy_raw(&r), policy(v), "{v}");
            assert_eq!(rule_raw("p1", &r), rule("p1", v), "{v}");
            assert_eq!(app_group_raw("0oa1", &r), app_group("0oa1", v), "{v}");
            assert_eq!(
                role_raw(PrincipalKind::Account, "00u1", &r),
                role(PrincipalKind::Account, "00u1", v),
                "{v}"
            );
        }
        // The text kept is the item's own, byte for byte.
        let text = r#"{"id":"00u9","profile":{"login":"x@y.z","b":1,"a":2}}"#;
        let item: Box<RawValue> = serde_json::from_str(text).unwrap();
        assert_eq!(account_raw(&item).unwrap().raw.as_str(), text);
    }
}
