//! JSON rendering of org objects in Okta's wire shapes (key sets and types copied from the
//! recordings in `shared/okta/recorded/`). `base` is `scheme://host` of the request.

use std::fmt::Write as _;

use chrono::{TimeZone, Utc};
use serde_json::{Value, json};

use crate::org::{
    App, AppGroup, AppUser, Factor, FactorKind, Group, Holder, LogEvent, Ms, Org, Policy,
    RoleAssignment, Rule, Scope, Status, Target, User,
};

/// `2020-08-27T18:16:00.000Z`
pub fn ts(ms: Ms) -> String {
    let mut s = String::with_capacity(24);
    push_ts(&mut s, ms);
    s
}

/// Civil date from days since 1970-01-01 (Howard Hinnant's algorithm): the paging hot path
/// formats six timestamps per user, and chrono's formatter is several times slower.
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Append `2020-08-27T18:16:00.000Z` for `ms`.
pub fn push_ts(out: &mut String, ms: Ms) {
    let days = ms.div_euclid(86_400_000);
    let rem = ms.rem_euclid(86_400_000);
    let (y, m, d) = civil(days);
    let (h, mi, se, milli) = (
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000,
    );
    let _ = write!(
        out,
        "{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{se:02}.{milli:03}Z"
    );
}

/// System Log `published`, as recorded: whole seconds, `Z`.
pub fn ts_log(ms: Ms) -> String {
    match Utc.timestamp_millis_opt(ms).single() {
        Some(t) => t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        None => "1970-01-01T00:00:00Z".to_string(),
    }
}

fn push_str(out: &mut String, s: &str) {
    // serde_json escapes exactly as JSON requires; to_string on &str cannot fail.
    match serde_json::to_string(s) {
        Ok(q) => out.push_str(&q),
        Err(_) => out.push_str("\"\""),
    }
}

fn push_opt_ts(out: &mut String, v: Option<Ms>) {
    match v {
        Some(ms) => {
            out.push('"');
            push_ts(out, ms);
            out.push('"');
        }
        None => out.push_str("null"),
    }
}

fn push_opt_str(out: &mut String, v: Option<&str>) {
    match v {
        Some(s) => push_str(out, s),
        None => out.push_str("null"),
    }
}

/// A user object, appended to `out` (hand-written: this is the hot path of paging).
pub fn user_into(out: &mut String, org: &Org, u: &User, base: &str) {
    out.push_str("{\"id\":\"");
    out.push_str(&u.id);
    out.push_str("\",\"status\":\"");
    out.push_str(u.status.as_str());
    out.push_str("\",\"created\":");
    push_opt_ts(out, Some(u.created));
    out.push_str(",\"activated\":");
    push_opt_ts(out, u.activated);
    out.push_str(",\"statusChanged\":");
    push_opt_ts(out, u.status_changed);
    out.push_str(",\"lastLogin\":");
    push_opt_ts(out, u.last_login);
    out.push_str(",\"lastUpdated\":");
    push_opt_ts(out, Some(u.last_updated));
    out.push_str(",\"passwordChanged\":");
    push_opt_ts(out, u.password_changed);
    out.push_str(",\"type\":{\"id\":\"otyc04qb2rUDcq2YA1d7\"},\"profile\":{\"firstName\":");
    push_str(out, &u.first);
    out.push_str(",\"lastName\":");
    push_str(out, &u.last);
    out.push_str(",\"mobilePhone\":");
    push_opt_str(out, u.mobile_phone.as_deref());
    out.push_str(",\"secondEmail\":");
    push_opt_str(out, u.second_email.as_deref());
    out.push_str(",\"login\":");
    push_str(out, &u.login);
    out.push_str(",\"email\":");
    push_str(out, &u.email);
    out.push_str(",\"department\":");
    push_str(
        out,
        crate::org::DEPARTMENTS[u.department as usize % crate::org::DEPARTMENTS.len()],
    );
    out.push_str(",\"title\":");
    push_str(out, u.title);
    out.push_str(",\"employeeNumber\":\"");
    let _ = write!(out, "{}", u.employee_number);
    out.push_str("\",\"manager\":");
    let mgr = u.manager.and_then(|m| org.users.get(m as usize));
    push_opt_str(out, mgr.map(|m| m.login.as_str()));
    out.push_str(",\"managerId\":");
    push_opt_str(out, mgr.map(|m| m.id.as_str()));
    out.push_str("},\"credentials\":{");
    match u.status {
        Status::Deprovisioned => {}
        _ => {
            if u.status != Status::Provisioned {
                out.push_str("\"password\":{},");
            }
            out.push_str("\"emails\":[{\"value\":");
            push_str(out, &u.email);
            out.push_str(",\"status\":\"VERIFIED\",\"type\":\"PRIMARY\"}],");
        }
    }
    out.push_str(
        "\"provider\":{\"type\":\"OKTA\",\"name\":\"OKTA\"}},\"_links\":{\"self\":{\"href\":\"",
    );
    out.push_str(base);
    out.push_str("/api/v1/users/");
    out.push_str(&u.id);
    out.push_str("\"}}}");
}

/// A user object from the cache: the base URL goes in front of the trailing self link
/// (`/api/v1/users/{id}"}}}`).
pub fn user_cached_into(out: &mut String, org: &Org, u: usize, base: &str) {
    match org.user_json.get(u) {
        Some(c) => {
            let tail = "/api/v1/users/".len() + org.users[u].id.len() + "\"}}}".len();
            let pos = c.len().saturating_sub(tail);
            out.push_str(&c[..pos]);
            out.push_str(base);
            out.push_str(&c[pos..]);
        }
        None => user_into(out, org, &org.users[u], base),
    }
}

/// A System Log event (`org.logs[i]`) from the cache, `Org::log_json`.
pub fn log_event_cached_into(out: &mut Vec<u8>, org: &Org, i: usize) {
    match org.log_json.get(i) {
        Some(c) => out.extend_from_slice(c.as_bytes()),
        None => log_event_into(out, &org.logs[i]),
    }
}

pub fn user_value(org: &Org, u: &User, base: &str) -> Value {
    let mut s = String::with_capacity(1024);
    user_into(&mut s, org, u, base);
    serde_json::from_str(&s).unwrap_or(Value::Null)
}

const LOGO_M: &str = "https://ok12static.oktacdn.com/assets/img/logos/groups/odyssey/okta-medium.30ce6d4085dff29412984e4c191bc874.png";
const LOGO_L: &str = "https://ok12static.oktacdn.com/assets/img/logos/groups/odyssey/okta-large.c3cb8cda8ae0add1b4fe928f5844dbe3.png";

pub fn group(g: &Group, base: &str) -> Value {
    let object_class = match g.kind {
        crate::org::GroupType::AppGroup => "okta:windows_security_principal",
        _ => "okta:user_group",
    };
    json!({
        "id": g.id,
        "created": ts(g.created),
        "lastUpdated": ts(g.last_updated),
        "lastMembershipUpdated": ts(g.last_membership_updated),
        "objectClass": [object_class],
        "type": g.kind.as_str(),
        "profile": {"name": g.name, "description": g.description},
        "_links": {
            "logo": [
                {"name": "medium", "href": LOGO_M, "type": "image/png"},
                {"name": "large", "href": LOGO_L, "type": "image/png"}
            ],
            "users": {"href": format!("{base}/api/v1/groups/{}/users", g.id)},
            "apps": {"href": format!("{base}/api/v1/groups/{}/apps", g.id)}
        }
    })
}

pub fn app(a: &App, base: &str, policy_id: &str) -> Value {
    let id = &a.id;
    let settings_app = match a.sign_on_mode {
        "BOOKMARK" => {
            json!({"requestIntegration": false, "url": format!("https://intranet.acme.example/{}", a.name)})
        }
        "AUTO_LOGIN" => json!({"url": format!("https://{}.example/login", a.name)}),
        // template_swa: Okta returns the three CSS selectors with the URL (spec
        // SwaApplicationSettingsApplication; the official SDK requires all four).
        "BROWSER_PLUGIN" => json!({
            "buttonField": "#sign-in",
            "passwordField": "#password",
            "usernameField": "#username",
            "url": format!("https://{}.example/login", a.name)
        }),
        _ => json!({}),
    };
    let mut v = json!({
        "id": id,
        "orn": format!("orn:okta:idp:00o{ORG}:apps:{}:{id}", a.name, ORG = "sim0rg1d7"),
        "name": a.name,
        "label": a.label,
        "status": if a.active { "ACTIVE" } else { "INACTIVE" },
        "lastUpdated": ts(a.last_updated),
        "created": ts(a.created),
        "accessibility": {"selfService": false, "errorRedirectUrl": null, "loginRedirectUrl": null},
        "visibility": {"autoSubmitToolbar": false, "hide": {"iOS": false, "web": false}, "appLinks": {a.name.clone(): true}},
        "features": [],
        "signOnMode": a.sign_on_mode,
        "credentials": {"userNameTemplate": {"template": "${source.login}", "type": "BUILT_IN"}, "signing": {"kid": format!("k{}", &id[3..])}},
        "universalLogout": null,
        "settings": {
            "app": settings_app,
            "notifications": {"vpn": {"network": {"connection": "DISABLED"}, "message": null, "helpUrl": null}},
            "manualProvisioning": false,
            "implicitAssignment": false
        },
        "_links": {
            "uploadLogo": {"href": format!("{base}/api/v1/apps/{id}/logo"), "hints": {"allow": ["POST"]}},
            "appLinks": [{"name": a.name, "href": format!("{base}/home/{}/{id}/2", a.name), "type": "text/html"}],
            "profileEnrollment": {"href": format!("{base}/api/v1/policies/{policy_id}")},
            "policies": {"href": format!("{base}/api/v1/apps/{id}/policies"), "hints": {"allow": ["PUT"]}},
            "groups": {"href": format!("{base}/api/v1/apps/{id}/groups")},
            "logo": [{"name": "medium", "href": "https://ok12static.oktacdn.com/assets/img/logos/default.6770228fb0dab49a1695ef440a5279bb.png", "type": "image/png"}],
            "accessPolicy": {"href": format!("{base}/api/v1/policies/{policy_id}")},
            "users": {"href": format!("{base}/api/v1/apps/{id}/users")},
            "deactivate": {"href": format!("{base}/api/v1/apps/{id}/lifecycle/deactivate")}
        }
    });
    if a.name == "oidc_client" {
        // Custom OIDC apps created through the API (REC apps-list/02, 2025) carry these keys;
        // Okta's built-in OIDC apps of the 2020 recording (apps-list/01) do not.
        v["settings"]["emOptInStatus"] = json!("NONE");
        v["settings"]["notes"] = json!({"admin": null, "enduser": null});
        v["settings"]["oauthClient"] = json!({
            "client_uri": null,
            "logo_uri": null,
            "redirect_uris": [format!("https://{}.acme.example/callback", a.label.to_lowercase().replace(' ', "-"))],
            "response_types": ["code"],
            "grant_types": ["authorization_code"],
            "application_type": "web",
            "consent_method": "TRUSTED",
            "issuer_mode": "ORG_URL",
            "idp_initiated_login": {"mode": "DISABLED", "default_scope": []},
            "wildcard_redirect": "DISABLED",
            "dpop_bound_access_tokens": false,
            "participate_slo": false
        });
        if let Some(vis) = v.get_mut("visibility").and_then(Value::as_object_mut) {
            // Key order as recorded: autoLaunch first.
            let rest = std::mem::take(vis);
            vis.insert("autoLaunch".into(), json!(false));
            vis.extend(rest);
        }
    }
    if !a.active
        && let Some(links) = v.get_mut("_links").and_then(Value::as_object_mut)
    {
        links.remove("deactivate");
        links.insert(
            "activate".into(),
            json!({"href": format!("{base}/api/v1/apps/{id}/lifecycle/activate")}),
        );
    }
    v
}

pub fn app_user(org: &Org, a: &App, au: &AppUser, base: &str) -> Value {
    let u = &org.users[au.user as usize];
    let mut profile = serde_json::Map::new();
    if a.sign_on_mode == "SAML_2_0" || a.sign_on_mode == "OPENID_CONNECT" {
        profile.insert("email".into(), json!(u.email));
        profile.insert("firstName".into(), json!(u.first));
        profile.insert("lastName".into(), json!(u.last));
        profile.insert(
            "department".into(),
            json!(crate::org::DEPARTMENTS[u.department as usize % crate::org::DEPARTMENTS.len()]),
        );
    }
    let mut v = json!({
        "id": u.id,
        "externalId": null,
        "created": ts(au.created),
        "lastUpdated": ts(au.last_updated),
        "scope": match au.scope { Scope::User => "USER", Scope::Group => "GROUP" },
        "status": if u.status == Status::Active { "ACTIVE" } else { "PROVISIONED" },
        "statusChanged": ts(au.created),
        "passwordChanged": null,
        "syncState": "DISABLED",
        "credentials": {"userName": u.login},
        "profile": profile,
        "_links": {
            "app": {"href": format!("{base}/api/v1/apps/{}", a.id)},
            "user": {"href": format!("{base}/api/v1/users/{}", u.id)}
        }
    });
    if au.scope == Scope::Group
        && let Some(links) = v.get_mut("_links").and_then(Value::as_object_mut)
    {
        // Okta links GROUP-scope assignments to the group that grants them.
        if let Some(g) = a.groups.iter().find(|g| {
            org.groups[g.group as usize]
                .members
                .binary_search(&au.user)
                .is_ok()
        }) {
            links.insert("group".into(), json!({"name": org.groups[g.group as usize].name, "href": format!("{base}/api/v1/groups/{}", org.groups[g.group as usize].id)}));
        }
    }
    v
}

pub fn app_group(org: &Org, a: &App, ag: &AppGroup, base: &str) -> Value {
    let gid = &org.groups[ag.group as usize].id;
    json!({
        "id": gid,
        "lastUpdated": ts(ag.last_updated),
        "priority": ag.priority,
        "profile": {},
        "_links": {
            "app": {"href": format!("{base}/api/v1/apps/{}", a.id)},
            "self": {"href": format!("{base}/api/v1/apps/{}/groups/{gid}", a.id)},
            "group": {"href": format!("{base}/api/v1/groups/{gid}")}
        }
    })
}

pub fn role(org: &Org, r: &RoleAssignment, base: &str) -> Value {
    let (assignment_type, assignee) = match r.holder {
        Holder::User(u) => (
            "USER",
            format!("{base}/api/v1/users/{}", org.users[u as usize].id),
        ),
        Holder::Group(g) => (
            "GROUP",
            format!("{base}/api/v1/groups/{}", org.groups[g as usize].id),
        ),
    };
    match &r.custom {
        None => json!({
            "id": r.id,
            "label": r.label,
            "type": r.role_type,
            "status": "ACTIVE",
            "created": ts(r.created),
            "lastUpdated": ts(r.created),
            "assignmentType": assignment_type,
            "_links": {"assignee": {"href": assignee}}
        }),
        Some((role_id, set_id)) => json!({
            "id": r.id,
            "label": r.label,
            "type": "CUSTOM",
            "status": "ACTIVE",
            "created": ts(r.created),
            "lastUpdated": ts(r.created),
            "assignmentType": assignment_type,
            "resource-set": set_id,
            "role": role_id,
            "_links": {
                "role": {"href": format!("{base}/api/v1/iam/roles/{role_id}")},
                "resource-set": {"href": format!("{base}/api/v1/iam/resource-sets/{set_id}")},
                "permissions": {"href": format!("{base}/api/v1/iam/roles/{role_id}/permissions")},
                "member": {"href": format!("{base}/api/v1/iam/resource-sets/{set_id}/bindings/{role_id}/members/{}", r.id)},
                "assignee": {"href": assignee}
            }
        }),
    }
}

pub fn factor(u: &User, f: &Factor, base: &str) -> Value {
    let (factor_type, provider, vendor, profile) = match f.kind {
        FactorKind::Push => (
            "push",
            "OKTA",
            "OKTA",
            json!({"credentialId": u.login, "deviceType": "SmartPhone_IPhone", "keys": [], "name": format!("{}'s iPhone", u.first), "platform": "IOS", "version": "17.4"}),
        ),
        FactorKind::Totp => (
            "token:software:totp",
            "GOOGLE",
            "GOOGLE",
            json!({"credentialId": u.login}),
        ),
        FactorKind::Sms => (
            "sms",
            "OKTA",
            "OKTA",
            json!({"phoneNumber": f.phone.clone().unwrap_or_default()}),
        ),
        FactorKind::WebAuthn => (
            "webauthn",
            "FIDO",
            "FIDO",
            json!({"credentialId": format!("cred-{}", f.id), "authenticatorName": "YubiKey 5"}),
        ),
    };
    let self_href = format!("{base}/api/v1/users/{}/factors/{}", u.id, f.id);
    json!({
        "id": f.id,
        "factorType": factor_type,
        "provider": provider,
        "vendorName": vendor,
        "status": "ACTIVE",
        "created": ts(f.created),
        "lastUpdated": ts(f.created),
        "profile": profile,
        "_links": {
            "self": {"href": self_href, "hints": {"allow": ["GET", "DELETE"]}},
            "verify": {"href": format!("{self_href}/verify"), "hints": {"allow": ["POST"]}},
            "user": {"href": format!("{base}/api/v1/users/{}", u.id), "hints": {"allow": ["GET"]}}
        }
    })
}

pub fn policy(org: &Org, p: &Policy, base: &str) -> Value {
    let id = &p.id;
    let everyone = &org.groups[org.everyone as usize].id;
    let mut v = json!({
        "id": id,
        "status": "ACTIVE",
        "name": p.name,
        "description": p.description,
        "priority": p.priority,
        "system": p.system,
        "conditions": {"people": {"groups": {"include": [everyone]}}},
        "created": ts(p.created),
        "lastUpdated": ts(p.last_updated),
        "_links": {
            "mappings": {"href": format!("{base}/api/v1/policies/{id}/mappings"), "hints": {"allow": ["GET", "POST"]}},
            "self": {"href": format!("{base}/api/v1/policies/{id}"), "hints": {"allow": ["GET", "PUT", "DELETE"]}},
            "rules": {"href": format!("{base}/api/v1/policies/{id}/rules"), "hints": {"allow": ["GET", "POST"]}},
            "deactivate": {"href": format!("{base}/api/v1/policies/{id}/lifecycle/deactivate"), "hints": {"allow": ["POST"]}}
        },
        "type": p.policy_type
    });
    if let Some(obj) = v.as_object_mut() {
        // Only OIE app-sign-in and authenticator-enrolment policies link their mappings.
        if !matches!(p.policy_type, "ACCESS_POLICY" | "MFA_ENROLL")
            && let Some(l) = obj.get_mut("_links").and_then(Value::as_object_mut)
        {
            l.remove("mappings");
        }
        match p.policy_type {
            "ACCESS_POLICY" => {
                obj.insert("conditions".into(), Value::Null);
                obj.remove("description");
                obj.insert("_embedded".into(), json!({"resourceType": "APP"}));
            }
            "MFA_ENROLL" => {
                obj.insert(
                    "settings".into(),
                    json!({"type": "AUTHENTICATORS", "authenticators": [
                        {"key": "okta_password", "enroll": {"self": "REQUIRED"}},
                        {"key": "okta_verify", "enroll": {"self": "OPTIONAL"}},
                        {"key": "phone_number", "enroll": {"self": "OPTIONAL"}},
                        {"key": "webauthn", "enroll": {"self": "OPTIONAL"}}
                    ]}),
                );
            }
            "PASSWORD" => {
                obj.insert("settings".into(), json!({"password": {"complexity": {"minLength": 12, "minLowerCase": 1, "minUpperCase": 1, "minNumber": 1, "minSymbol": 0, "excludeUsername": true}, "age": {"maxAgeDays": 0, "expireWarnDays": 0, "minAgeMinutes": 0, "historyCount": 4}, "lockout": {"maxAttempts": 10, "autoUnlockMinutes": 0, "showLockoutFailures": false}}}));
            }
            _ => {}
        }
    }
    v
}

pub fn rule(p: &Policy, r: &Rule, base: &str) -> Value {
    let self_href = format!("{base}/api/v1/policies/{}/rules/{}", p.id, r.id);
    let mut v = json!({
        "id": r.id,
        "status": "ACTIVE",
        "name": r.name,
        "priority": r.priority,
        "created": ts(r.created),
        "lastUpdated": ts(r.created),
        "system": false,
        "_links": {
            "self": {"href": self_href, "hints": {"allow": ["GET", "PUT", "DELETE"]}},
            "deactivate": {"href": format!("{self_href}/lifecycle/deactivate"), "hints": {"allow": ["POST"]}}
        }
    });
    let (rule_type, conditions, actions) = match p.policy_type {
        "OKTA_SIGN_ON" => (
            "SIGN_ON",
            json!({"people": {"users": {"exclude": []}}, "network": {"connection": "ANYWHERE"}, "authContext": {"authType": "ANY"}}),
            json!({"signon": {"access": "ALLOW", "requireFactor": r.require_mfa, "primaryFactor": "PASSWORD_IDP", "rememberDeviceByDefault": false, "session": {"usePersistentCookie": false, "maxSessionIdleMinutes": 720, "maxSessionLifetimeMinutes": 0}}}),
        ),
        "MFA_ENROLL" => (
            "MFA_ENROLL",
            json!({"people": {"users": {"exclude": []}}, "network": {"connection": "ANYWHERE"}}),
            json!({"enroll": {"self": if r.require_mfa { "LOGIN" } else { "CHALLENGE" }}}),
        ),
        "ACCESS_POLICY" => (
            "ACCESS_POLICY",
            Value::Null,
            json!({"appSignOn": {"access": "ALLOW", "verificationMethod": {"factorMode": if r.require_mfa { "2FA" } else { "1FA" }, "type": "ASSURANCE", "reauthenticateIn": "PT12H", "constraints": []}}}),
        ),
        _ => (
            "PASSWORD",
            json!({"people": {"users": {"exclude": []}}, "network": {"connection": "ANYWHERE"}}),
            json!({"passwordChange": {"access": "ALLOW"}, "selfServicePasswordReset": {"access": "ALLOW"}, "selfServiceUnlock": {"access": "DENY"}}),
        ),
    };
    if let Some(obj) = v.as_object_mut() {
        obj.insert("type".into(), json!(rule_type));
        obj.insert("conditions".into(), conditions);
        obj.insert("actions".into(), actions);
    }
    v
}

fn target(t: &Target) -> Value {
    json!({"id": t.id, "type": t.kind, "alternateId": t.alternate_id, "displayName": t.display_name, "detailEntry": null})
}

pub fn log_event(e: &LogEvent) -> Value {
    let mut debug = serde_json::Map::new();
    debug.insert("requestId".into(), json!(e.transaction_id));
    for (k, v) in &e.debug {
        debug.insert((*k).to_string(), json!(v));
    }
    json!({
        "actor": target(&e.actor),
        "client": {
            "userAgent": {"rawUserAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15", "os": "Mac OS X", "browser": "SAFARI"},
            "zone": "null",
            "device": "Computer",
            "id": null,
            "ipAddress": e.ip,
            "geographicalContext": {"city": "Portland", "state": "Oregon", "country": "United States", "postalCode": "97201", "geolocation": {"lat": 45.5, "lon": -122.6}}
        },
        "device": null,
        "authenticationContext": {"authenticationProvider": null, "credentialProvider": null, "credentialType": null, "issuer": null, "interface": null, "authenticationStep": 0, "rootSessionId": format!("trs{}", &e.transaction_id[..22.min(e.transaction_id.len())]), "externalSessionId": format!("trs{}", &e.transaction_id[..22.min(e.transaction_id.len())])},
        "displayMessage": e.display_message,
        "eventType": e.event_type,
        "outcome": {"result": e.result, "reason": null},
        "published": ts_log(e.published),
        "securityContext": {"asNumber": null, "asOrg": null, "isp": null, "domain": null, "isProxy": null},
        "severity": e.severity,
        "debugContext": {"debugData": debug},
        "legacyEventType": e.legacy_event_type,
        "transaction": {"type": "WEB", "id": e.transaction_id, "detail": {}},
        "uuid": e.uuid,
        "version": "0",
        "request": {"ipChain": [{"ip": e.ip, "geographicalContext": null, "version": "V4", "source": null}]},
        "target": e.targets.iter().map(target).collect::<Vec<_>>()
    })
}

pub fn assignee(org: &Org, u: usize, base: &str) -> Value {
    let id = &org.users[u].id;
    json!({
        "id": id,
        "orn": format!("orn:okta:directory:{}:users:{id}", org.org_id),
        "_links": {
            "roles": {"href": format!("{base}/api/v1/users/{id}/roles")},
            "self": {"href": format!("{base}/api/v1/users/{id}")}
        }
    })
}

pub fn app_link(a: &App, u: &User, base: &str) -> Value {
    json!({
        "id": format!("00ub{}", &a.id[3..]),
        "label": a.label,
        "linkUrl": format!("{base}/home/{}/{}/2", a.name, a.id),
        "logoUrl": "https://ok12static.oktacdn.com/assets/img/logos/default.6770228fb0dab49a1695ef440a5279bb.png",
        "appName": a.name,
        "appInstanceId": a.id,
        "appAssignmentId": format!("0ua{}", &u.id[3..]),
        "credentialsSetup": false,
        "hidden": false,
        "sortOrder": 0
    })
}

// ---- Hot-path renderers: serialised straight from borrowed structs, no `Value` tree ----
// A sync reads hundreds of thousands of app users and log events; building, serialising
// and freeing a `json!` tree per object was most of the simulator's CPU. Each struct below
// writes the same JSON as the `Value` renderer above it (tested), field for field in order.

#[derive(serde::Serialize)]
struct Href<'a> {
    href: &'a str,
}

#[derive(serde::Serialize)]
struct NamedHref<'a> {
    name: &'a str,
    href: &'a str,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct AppUserProfileOut<'a> {
    email: &'a str,
    first_name: &'a str,
    last_name: &'a str,
    department: &'a str,
}

#[derive(serde::Serialize)]
struct Empty {}

#[derive(serde::Serialize)]
#[serde(untagged)]
enum ProfileOut<'a> {
    Federated(AppUserProfileOut<'a>),
    Empty(Empty),
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct UserNameOut<'a> {
    user_name: &'a str,
}

#[derive(serde::Serialize)]
struct AppUserLinksOut<'a> {
    app: Href<'a>,
    user: Href<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    group: Option<NamedHref<'a>>,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct AppUserOut<'a> {
    id: &'a str,
    external_id: (),
    created: String,
    last_updated: String,
    scope: &'static str,
    status: &'static str,
    status_changed: String,
    password_changed: (),
    sync_state: &'static str,
    credentials: UserNameOut<'a>,
    profile: ProfileOut<'a>,
    #[serde(rename = "_links")]
    links: AppUserLinksOut<'a>,
}

/// [`app_user`] as text, appended to `out`.
pub fn app_user_into(out: &mut Vec<u8>, org: &Org, a: &App, au: &AppUser, base: &str) {
    let u = &org.users[au.user as usize];
    let profile = if a.sign_on_mode == "SAML_2_0" || a.sign_on_mode == "OPENID_CONNECT" {
        ProfileOut::Federated(AppUserProfileOut {
            email: &u.email,
            first_name: &u.first,
            last_name: &u.last,
            department: crate::org::DEPARTMENTS
                [u.department as usize % crate::org::DEPARTMENTS.len()],
        })
    } else {
        ProfileOut::Empty(Empty {})
    };
    let app_href = format!("{base}/api/v1/apps/{}", a.id);
    let user_href = format!("{base}/api/v1/users/{}", u.id);
    let grant = if au.scope == Scope::Group {
        a.groups
            .iter()
            .map(|g| &org.groups[g.group as usize])
            .find(|g| g.members.binary_search(&au.user).is_ok())
    } else {
        None
    };
    let group_href = grant.map(|g| format!("{base}/api/v1/groups/{}", g.id));
    let v = AppUserOut {
        id: &u.id,
        external_id: (),
        created: ts(au.created),
        last_updated: ts(au.last_updated),
        scope: match au.scope {
            Scope::User => "USER",
            Scope::Group => "GROUP",
        },
        status: if u.status == Status::Active {
            "ACTIVE"
        } else {
            "PROVISIONED"
        },
        status_changed: ts(au.created),
        password_changed: (),
        sync_state: "DISABLED",
        credentials: UserNameOut {
            user_name: &u.login,
        },
        profile,
        links: AppUserLinksOut {
            app: Href { href: &app_href },
            user: Href { href: &user_href },
            group: grant.zip(group_href.as_deref()).map(|(g, href)| NamedHref {
                name: &g.name,
                href,
            }),
        },
    };
    // Serialising plain structs into a Vec cannot fail.
    let _ = serde_json::to_writer(out, &v);
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct TargetOut<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    alternate_id: &'a str,
    display_name: &'a str,
    detail_entry: (),
}

impl<'a> From<&'a Target> for TargetOut<'a> {
    fn from(t: &'a Target) -> Self {
        TargetOut {
            id: &t.id,
            kind: t.kind,
            alternate_id: &t.alternate_id,
            display_name: &t.display_name,
            detail_entry: (),
        }
    }
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct ClientOut<'a> {
    user_agent: &'a serde_json::value::RawValue,
    zone: &'static str,
    device: &'static str,
    id: (),
    ip_address: &'a str,
    geographical_context: &'a serde_json::value::RawValue,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct AuthContextOut {
    authentication_provider: (),
    credential_provider: (),
    credential_type: (),
    issuer: (),
    interface: (),
    authentication_step: u8,
    root_session_id: String,
    external_session_id: String,
}

#[derive(serde::Serialize)]
struct OutcomeOut<'a> {
    result: &'a str,
    reason: (),
}

/// `debugContext.debugData`: `requestId`, then the event's own entries (a later key
/// replaces an earlier one in place, as a JSON map insert does).
struct DebugData<'a>(&'a LogEvent);

impl serde::Serialize for DebugData<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut entries: Vec<(&str, &str)> = vec![("requestId", self.0.transaction_id.as_str())];
        for (k, v) in &self.0.debug {
            match entries.iter_mut().find(|(key, _)| key == k) {
                Some(e) => e.1 = v.as_str(),
                None => entries.push((k, v.as_str())),
            }
        }
        let mut m = s.serialize_map(Some(entries.len()))?;
        for (k, v) in entries {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct DebugContextOut<'a> {
    debug_data: DebugData<'a>,
}

#[derive(serde::Serialize)]
struct TransactionOut<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: &'a str,
    detail: Empty,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct IpOut<'a> {
    ip: &'a str,
    geographical_context: (),
    version: &'static str,
    source: (),
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct RequestOut<'a> {
    ip_chain: [IpOut<'a>; 1],
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct LogEventOut<'a> {
    actor: TargetOut<'a>,
    client: ClientOut<'a>,
    device: (),
    authentication_context: AuthContextOut,
    display_message: &'a str,
    event_type: &'a str,
    outcome: OutcomeOut<'a>,
    published: String,
    security_context: &'a serde_json::value::RawValue,
    severity: &'a str,
    debug_context: DebugContextOut<'a>,
    legacy_event_type: Option<&'a str>,
    transaction: TransactionOut<'a>,
    uuid: &'a str,
    version: &'static str,
    request: RequestOut<'a>,
    target: Vec<TargetOut<'a>>,
}

/// Constant parts of every event, as [`log_event`] writes them.
struct LogConstants {
    user_agent: Box<serde_json::value::RawValue>,
    geo: Box<serde_json::value::RawValue>,
    security: Box<serde_json::value::RawValue>,
}

fn log_constants() -> &'static LogConstants {
    static C: std::sync::OnceLock<LogConstants> = std::sync::OnceLock::new();
    C.get_or_init(|| {
        let raw = |v: Value| serde_json::value::to_raw_value(&v).unwrap_or_default();
        LogConstants {
            user_agent: raw(json!({"rawUserAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15", "os": "Mac OS X", "browser": "SAFARI"})),
            geo: raw(json!({"city": "Portland", "state": "Oregon", "country": "United States", "postalCode": "97201", "geolocation": {"lat": 45.5, "lon": -122.6}})),
            security: raw(json!({"asNumber": null, "asOrg": null, "isp": null, "domain": null, "isProxy": null})),
        }
    })
}

/// [`log_event`] as text, appended to `out`.
pub fn log_event_into(out: &mut Vec<u8>, e: &LogEvent) {
    let c = log_constants();
    let session = format!("trs{}", &e.transaction_id[..22.min(e.transaction_id.len())]);
    let v = LogEventOut {
        actor: (&e.actor).into(),
        client: ClientOut {
            user_agent: &c.user_agent,
            zone: "null",
            device: "Computer",
            id: (),
            ip_address: e.ip,
            geographical_context: &c.geo,
        },
        device: (),
        authentication_context: AuthContextOut {
            authentication_provider: (),
            credential_provider: (),
            credential_type: (),
            issuer: (),
            interface: (),
            authentication_step: 0,
            root_session_id: session.clone(),
            external_session_id: session,
        },
        display_message: e.display_message,
        event_type: e.event_type,
        outcome: OutcomeOut {
            result: e.result,
            reason: (),
        },
        published: ts_log(e.published),
        security_context: &c.security,
        severity: e.severity,
        debug_context: DebugContextOut {
            debug_data: DebugData(e),
        },
        legacy_event_type: e.legacy_event_type,
        transaction: TransactionOut {
            kind: "WEB",
            id: &e.transaction_id,
            detail: Empty {},
        },
        uuid: &e.uuid,
        version: "0",
        request: RequestOut {
            ip_chain: [IpOut {
                ip: e.ip,
                geographical_context: (),
                version: "V4",
                source: (),
            }],
        },
        target: e.targets.iter().map(TargetOut::from).collect(),
    };
    let _ = serde_json::to_writer(out, &v);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_timestamps_match_chrono() {
        for ms in [
            0i64,
            1_598_552_160_000,
            1_598_552_160_123,
            951_782_400_000,
            4_102_444_799_999,
            1_709_164_800_000,
        ] {
            let want = Utc
                .timestamp_millis_opt(ms)
                .single()
                .unwrap()
                .format("%Y-%m-%dT%H:%M:%S%.3fZ")
                .to_string();
            assert_eq!(ts(ms), want);
        }
        assert_eq!(ts(1_598_552_160_000), "2020-08-27T18:16:00.000Z");
        assert_eq!(ts_log(1_705_843_761_000), "2024-01-21T13:29:21Z");
    }

    /// The struct renderers write exactly what the `Value` renderers write, for every app
    /// user and log event of a generated org (SAML and bookmark apps, USER and GROUP scope,
    /// rate-limit events with extra debug data).
    #[test]
    fn text_renderers_equal_value_renderers() {
        let org = crate::org::generate(&crate::SimConfig {
            users: 300,
            ..crate::SimConfig::default()
        });
        let base = "http://127.0.0.1:1";
        let (mut users, mut grouped) = (0, 0);
        for a in &org.apps {
            for au in &a.users {
                let mut out = Vec::new();
                app_user_into(&mut out, &org, a, au, base);
                assert_eq!(
                    String::from_utf8(out).unwrap(),
                    app_user(&org, a, au, base).to_string()
                );
                users += 1;
                grouped += usize::from(au.scope == Scope::Group);
            }
        }
        assert!(
            users > 100 && grouped > 0,
            "{users} app users, {grouped} through groups"
        );
        assert!(!org.logs.is_empty());
        for e in &org.logs {
            let mut out = Vec::new();
            log_event_into(&mut out, e);
            assert_eq!(String::from_utf8(out).unwrap(), log_event(e).to_string());
        }
    }
}
