//! OneTrust's SCIM APIs: v2 ("Legacy": groups are organization × role combinations with
//! compound `orgId:roleId` ids, no group create/delete) and v3 ("Enhanced": groups are user
//! groups), Users on both, discovery under v3 only. Users cannot be deleted (OneTrust: "The
//! Delete User feature is not available at this time"): v2 answers 501, v3 has no DELETE (405);
//! deprovisioning is `PATCH active:false`. Group PATCH answers 204, user PATCH 200.

// Handlers return ready `Response`s as their error type: they are the cold path and are
// returned to axum as they are, so boxing them would only add noise.
#![allow(clippy::result_large_err, clippy::type_complexity)]

use std::collections::HashMap;
use std::sync::Arc;

use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::data::{Activity, Origin, OtGroup, OtOrg, OtUser};
use super::http::{OtState, iso, json_response};
use crate::org::Ms;

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const OT_GROUP: &str = "urn:ietf:params:scim:schemas:onetrust:Group";
const LIST: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const SCIM_JSON: &str = "application/scim+json";
/// `count` cap on every SCIM list: the spec's `maximum: 25` on v3 Users and both Groups; v2
/// Users declares no maximum (GUESS: the same cap).
pub const MAX_COUNT: usize = 25;

pub fn scim_error(status: StatusCode, scim_type: Option<&str>, detail: &str) -> Response {
    let mut v =
        json!({"schemas": [ERROR], "status": status.as_u16().to_string(), "detail": detail});
    if let Some(t) = scim_type {
        v["scimType"] = json!(t);
    }
    json_response(status, SCIM_JSON, v.to_string())
}

fn scim_ok(status: StatusCode, v: &Value) -> Response {
    json_response(status, SCIM_JSON, v.to_string())
}

fn no_content() -> Response {
    let mut r = Response::new(axum::body::Body::empty());
    *r.status_mut() = StatusCode::NO_CONTENT;
    r
}

type Q = HashMap<String, String>;

pub fn handle(
    st: &Arc<OtState>,
    method: &Method,
    segs: &[&str],
    q: &Q,
    body: &[u8],
    now: Ms,
) -> Response {
    let v3 = segs.get(2) == Some(&"v3");
    let ver = if v3 { "v3" } else { "v2" };
    let base = format!("{}/api/scim/{ver}", st.base());
    let parse_body = || -> Result<Value, Response> {
        serde_json::from_slice::<Value>(body).map_err(|e| {
            scim_error(
                StatusCode::BAD_REQUEST,
                Some("invalidSyntax"),
                &format!("request body is not JSON: {e}"),
            )
        })
    };
    match (method.as_str(), &segs[3..]) {
        ("GET", ["ServiceProviderConfig"]) => scim_ok(StatusCode::OK, &spc(&base)),
        ("GET", ["ResourceTypes"]) => {
            let r = resource_types(&base);
            scim_ok(
                StatusCode::OK,
                &json!({"schemas": [LIST], "totalResults": r.len(), "startIndex": 1, "itemsPerPage": r.len(), "Resources": r}),
            )
        }
        ("GET", ["ResourceTypes", name]) => {
            match resource_types(&base).into_iter().find(|r| r["id"] == *name) {
                Some(r) => scim_ok(StatusCode::OK, &r),
                None => scim_error(
                    StatusCode::NOT_FOUND,
                    None,
                    &format!("resource type {name} not found"),
                ),
            }
        }
        ("GET", ["Schemas"]) => {
            let s = schemas(&base);
            scim_ok(
                StatusCode::OK,
                &json!({"schemas": [LIST], "totalResults": s.len(), "startIndex": 1, "itemsPerPage": s.len(), "Resources": s}),
            )
        }
        ("GET", ["Schemas", name]) => match schemas(&base).into_iter().find(|s| s["id"] == *name) {
            Some(s) => scim_ok(StatusCode::OK, &s),
            None => scim_error(
                StatusCode::NOT_FOUND,
                None,
                &format!("schema {name} not found"),
            ),
        },
        ("GET", ["Users"]) => list_users(st, v3, &base, q),
        ("POST", ["Users"]) => match parse_body() {
            Ok(b) => create_user(st, v3, &base, &b, now),
            Err(r) => r,
        },
        ("GET", ["Users", id]) => {
            let org = st.read();
            match org.find_user(id) {
                Some(u) => scim_ok(StatusCode::OK, &project(user_json(&org, u, v3, &base), q)),
                None => scim_error(StatusCode::NOT_FOUND, None, &format!("User {id} not found")),
            }
        }
        ("PUT", ["Users", id]) => match parse_body() {
            Ok(b) => replace_user(st, v3, &base, id, &b, now),
            Err(r) => r,
        },
        ("PATCH", ["Users", id]) => match parse_body() {
            Ok(b) => patch_user(st, v3, &base, id, &b, now),
            Err(r) => r,
        },
        ("DELETE", ["Users", _]) if !v3 => scim_error(
            StatusCode::NOT_IMPLEMENTED,
            None,
            "The Delete User feature is not available at this time. Deactivate the user with PATCH active=false.",
        ),
        ("GET", ["Groups"]) => list_groups(st, v3, &base, q),
        ("GET", ["Groups", id]) => get_group(st, v3, &base, id, q),
        ("POST", ["Groups"]) if v3 => match parse_body() {
            Ok(b) => create_group(st, &base, &b, now),
            Err(r) => r,
        },
        ("PUT", ["Groups", id]) => match parse_body() {
            Ok(b) => replace_group(st, v3, &base, id, &b, now),
            Err(r) => r,
        },
        ("PATCH", ["Groups", id]) => match parse_body() {
            Ok(b) => patch_group(st, v3, id, &b, now),
            Err(r) => r,
        },
        ("DELETE", ["Groups", id]) if v3 => {
            let mut org = st.write();
            match org.find_group(id) {
                Some(g) => {
                    org.groups[g].deleted = true;
                    no_content()
                }
                None => scim_error(
                    StatusCode::NOT_FOUND,
                    None,
                    &format!("Group {id} not found"),
                ),
            }
        }
        (m, _) => {
            let mut r = scim_error(
                StatusCode::METHOD_NOT_ALLOWED,
                None,
                &format!("{m} is not supported on this OneTrust SCIM {ver} endpoint"),
            );
            r.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, PUT, PATCH"));
            r
        }
    }
}

// ---------------------------------------------------------------------------------------
// Rendering

fn user_json(org: &OtOrg, i: usize, v3: bool, base: &str) -> Value {
    let u = &org.users[i];
    let mut name = Map::new();
    if !u.first.is_empty() {
        name.insert("givenName".into(), json!(u.first));
    }
    if !u.last.is_empty() {
        name.insert("familyName".into(), json!(u.last));
    }
    let groups: Vec<Value> = if v3 {
        org.groups_of(i)
            .into_iter()
            .map(|g| json!({"value": org.groups[g].id, "display": org.groups[g].name, "$ref": format!("{base}/Groups/{}", org.groups[g].id)}))
            .collect()
    } else {
        u.access_levels
            .iter()
            .map(|&(o, r)| {
                let id = org.v2_group_id(o as usize, r as usize);
                json!({"value": id, "display": v2_group_name(org, o as usize, r as usize), "$ref": format!("{base}/Groups/{id}")})
            })
            .collect()
    };
    let mut ent = Map::new();
    for (k, v) in [
        ("division", &u.division),
        ("employeeNumber", &u.employee_number),
        ("department", &u.department),
    ] {
        if let Some(v) = v {
            ent.insert(k.into(), json!(v));
        }
    }
    if let Some(m) = &u.manager {
        // displayName only for a manager who is a user here; no `$ref` (GUESS: the spec
        // lists it, but no recorded payload shows one).
        let mut mv = json!({"value": m});
        if let Some(x) = org.find_user(m) {
            mv["displayName"] = json!(org.users[x].full_name());
        }
        ent.insert("manager".into(), mv);
    }
    if !ent.is_empty() {
        // v3 always answers roles [] and organization null (API-NOTES §2).
        ent.insert("organization".into(), Value::Null);
    }
    let mut v = json!({
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "id": u.id,
        "meta": {"resourceType": "User", "created": iso(u.created), "lastModified": iso(u.last_modified),
                 "location": format!("{base}/Users/{}", u.id), "version": format!("W/\"{}\"", u.version)},
        "userName": u.email,
        "userType": if u.internal { "Internal" } else { "External" },
        "active": u.active,
        "groups": groups,
        "emails": [{"value": u.email, "display": u.email, "primary": true, "type": "work"}],
        "roles": [],
    });
    if !name.is_empty() {
        v["name"] = Value::Object(name);
    }
    if !ent.is_empty() {
        v[ENTERPRISE] = Value::Object(ent);
    }
    if let Some(x) = &u.external_id {
        v["externalId"] = json!(x);
    }
    if let Some(t) = &u.title {
        v["title"] = json!(t);
    }
    v
}

fn v2_group_name(org: &OtOrg, o: usize, r: usize) -> String {
    // GUESS: the docs show ids only; "<role> - <organization>" reads like the UI.
    format!("{} - {}", org.roles[r].name, org.organizations[o].name)
}

fn member_json(org: &OtOrg, m: u32, base: &str) -> Value {
    let u = &org.users[m as usize];
    json!({"value": u.id, "display": u.full_name(), "type": "User", "$ref": format!("{base}/Users/{}", u.id)})
}

fn group_json(org: &OtOrg, g: usize, base: &str, members: bool) -> Value {
    let grp = &org.groups[g];
    let mut v = json!({
        "schemas": [GROUP_SCHEMA, OT_GROUP],
        "id": grp.id,
        "displayName": grp.name,
        "meta": {"resourceType": "Group", "created": iso(grp.created), "lastModified": iso(grp.last_modified),
                 "location": format!("{base}/Groups/{}", grp.id), "version": format!("W/\"{}\"", grp.version)},
        // `category` (in the spec's extension) is left out: no payload shows its values.
        OT_GROUP: {"description": grp.description},
    });
    if let Some(x) = &grp.external_id {
        v["externalId"] = json!(x);
    }
    if members {
        v["members"] = Value::Array(
            grp.members
                .iter()
                .map(|&m| member_json(org, m, base))
                .collect(),
        );
    }
    v
}

fn v2_group_json(org: &OtOrg, o: usize, r: usize, base: &str, members: bool) -> Value {
    let id = org.v2_group_id(o, r);
    let mut v = json!({
        "schemas": [GROUP_SCHEMA],
        "id": id,
        "displayName": v2_group_name(org, o, r),
        "meta": {"resourceType": "Group", "location": format!("{base}/Groups/{id}")},
    });
    if members {
        v["members"] = Value::Array(
            org.v2_members(o, r)
                .into_iter()
                .map(|m| member_json(org, m, base))
                .collect(),
        );
    }
    v
}

/// `attributes` / `excludedAttributes` on top-level attributes (id and schemas always stay).
fn project(mut v: Value, q: &Q) -> Value {
    let split = |s: &str| -> Vec<String> {
        s.split(',')
            .map(|a| {
                let a = a.trim();
                let a = a
                    .rsplit_once(':')
                    .filter(|(p, _)| p.starts_with("urn:"))
                    .map(|(_, x)| x)
                    .unwrap_or(a);
                a.split('.').next().unwrap_or(a).to_ascii_lowercase()
            })
            .filter(|a| !a.is_empty())
            .collect()
    };
    let Some(obj) = v.as_object_mut() else {
        return v;
    };
    if let Some(a) = q.get("attributes").filter(|a| !a.trim().is_empty()) {
        let keep = split(a);
        obj.retain(|k, _| {
            k == "id"
                || k == "schemas"
                || keep.contains(&k.to_ascii_lowercase())
                || k.starts_with("urn:")
        });
    }
    if let Some(e) = q.get("excludedAttributes").filter(|a| !a.trim().is_empty()) {
        let drop = split(e);
        obj.retain(|k, _| k == "id" || k == "schemas" || !drop.contains(&k.to_ascii_lowercase()));
    }
    v
}

// ---------------------------------------------------------------------------------------
// Filters: `attr op "value"` joined with `and`/`or`; `emails[value eq "x"]`.

#[derive(Debug)]
struct Cond {
    attr: String,
    op: String,
    value: Option<String>,
}

fn tokenize(f: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut chars = f.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '"' {
            chars.next();
            let mut s = String::from("\"");
            let mut closed = false;
            while let Some(c) = chars.next() {
                if c == '\\' {
                    if let Some(n) = chars.next() {
                        s.push(n);
                    }
                } else if c == '"' {
                    closed = true;
                    break;
                } else {
                    s.push(c);
                }
            }
            if !closed {
                return Err("unterminated string".into());
            }
            out.push(s);
        } else {
            let mut s = String::new();
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                s.push(c);
                chars.next();
            }
            out.push(s);
        }
    }
    Ok(out)
}

/// Disjunction of conjunctions.
fn parse_filter(f: &str) -> Result<Vec<Vec<Cond>>, String> {
    // `emails[value eq "x"]` → `emails.value eq "x"` (one bracket level, no nesting).
    let f = rewrite_brackets(f);
    let toks = tokenize(&f)?;
    let mut ors = vec![Vec::new()];
    let mut i = 0;
    while i < toks.len() {
        let attr = toks[i].clone();
        let op = toks
            .get(i + 1)
            .ok_or("missing operator")?
            .to_ascii_lowercase();
        let (value, used) = if op == "pr" {
            (None, 2)
        } else {
            let v = toks.get(i + 2).ok_or("missing value")?;
            let v = match v.strip_prefix('"') {
                Some(s) => s.to_string(),
                None if v == "true" || v == "false" || v == "null" || v.parse::<f64>().is_ok() => {
                    v.clone()
                }
                None => return Err(format!("bad value {v}")),
            };
            (Some(v), 3)
        };
        if !["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr"].contains(&op.as_str()) {
            return Err(format!("unsupported operator {op}"));
        }
        if let Some(last) = ors.last_mut() {
            last.push(Cond { attr, op, value });
        }
        i += used;
        match toks.get(i).map(|t| t.to_ascii_lowercase()) {
            None => {}
            Some(t) if t == "and" => i += 1,
            Some(t) if t == "or" => {
                ors.push(Vec::new());
                i += 1;
            }
            Some(t) => return Err(format!("unexpected {t}")),
        }
    }
    Ok(ors)
}

fn rewrite_brackets(f: &str) -> String {
    let Some(open) = f.find('[') else {
        return f.to_string();
    };
    let Some(close) = f[open..].find(']').map(|c| c + open) else {
        return f.to_string();
    };
    let prefix = &f[..open];
    let attr_start = prefix
        .rfind(|c: char| c.is_whitespace() || c == '(')
        .map(|p| p + 1)
        .unwrap_or(0);
    let attr = &prefix[attr_start..];
    let inner = &f[open + 1..close];
    format!(
        "{}{}.{}{}",
        &prefix[..attr_start],
        attr,
        inner.trim_start(),
        &f[close + 1..]
    )
}

fn cmp_str(op: &str, have: &str, want: &str, case_exact: bool) -> bool {
    let (h, w) = if case_exact {
        (have.to_string(), want.to_string())
    } else {
        (have.to_lowercase(), want.to_lowercase())
    };
    match op {
        "eq" => h == w,
        "ne" => h != w,
        "co" => h.contains(&w),
        "sw" => h.starts_with(&w),
        "ew" => h.ends_with(&w),
        "gt" => h > w,
        "ge" => h >= w,
        "lt" => h < w,
        "le" => h <= w,
        _ => false,
    }
}

/// Candidate values of a user attribute; Err = unsupported attribute.
fn user_attr(org: &OtOrg, u: &OtUser, attr: &str) -> Result<(Vec<String>, bool), String> {
    let a = attr
        .rsplit_once(':')
        .filter(|(p, _)| p.starts_with("urn:"))
        .map(|(_, x)| x)
        .unwrap_or(attr)
        .to_ascii_lowercase();
    let one = |s: Option<&String>| s.cloned().into_iter().collect::<Vec<_>>();
    Ok(match a.as_str() {
        "id" => (vec![u.id.clone()], true),
        "externalid" => (one(u.external_id.as_ref()), true),
        "username" | "email" | "emails" | "emails.value" => (vec![u.email.clone()], false),
        "givenname" | "name.givenname" => (vec![u.first.clone()], false),
        "familyname" | "name.familyname" => (vec![u.last.clone()], false),
        "usertype" => (
            vec![if u.internal { "Internal" } else { "External" }.to_string()],
            false,
        ),
        "active" => (vec![u.active.to_string()], false),
        "title" => (one(u.title.as_ref()), false),
        "department" => (one(u.department.as_ref()), false),
        "employeenumber" => (one(u.employee_number.as_ref()), false),
        "meta.lastmodified" => (vec![iso(u.last_modified)], true),
        "meta.created" => (vec![iso(u.created)], true),
        "emails.type" => (vec!["work".into()], false),
        "emails.primary" => (vec!["true".into()], false),
        _ => {
            let _ = org;
            return Err(format!("filtering on {attr} is not supported"));
        }
    })
}

fn matches(
    conds: &[Vec<Cond>],
    get: &dyn Fn(&str) -> Result<(Vec<String>, bool), String>,
) -> Result<bool, String> {
    for and in conds {
        let mut all = true;
        for c in and {
            let (vals, exact) = get(&c.attr)?;
            let ok = match &c.value {
                None => vals.iter().any(|v| !v.is_empty()),
                Some(w) => {
                    vals.iter().any(|v| cmp_str(&c.op, v, w, exact))
                        || (c.op == "ne" && vals.is_empty())
                }
            };
            if !ok {
                all = false;
                break;
            }
        }
        if all {
            return Ok(true);
        }
    }
    Ok(false)
}

/// `startIndex`, `count` (capped at 25).
fn index_paging(q: &Q) -> Result<(usize, usize), Response> {
    let start = match q.get("startIndex") {
        None => 1,
        Some(s) => s
            .trim()
            .parse::<i64>()
            .map_err(|_| {
                scim_error(
                    StatusCode::BAD_REQUEST,
                    Some("invalidValue"),
                    "startIndex must be an integer",
                )
            })?
            .max(1) as usize,
    };
    let count = match q.get("count") {
        None => MAX_COUNT,
        Some(s) => s
            .trim()
            .parse::<i64>()
            .map_err(|_| {
                scim_error(
                    StatusCode::BAD_REQUEST,
                    Some("invalidValue"),
                    "count must be an integer",
                )
            })?
            .clamp(0, MAX_COUNT as i64) as usize,
    };
    Ok((start, count))
}

fn list_response(items: Vec<Value>, total: usize, start: usize) -> Response {
    let n = items.len();
    let mut v =
        json!({"schemas": [LIST], "totalResults": total, "startIndex": start, "itemsPerPage": n});
    v["Resources"] = Value::Array(items);
    scim_ok(StatusCode::OK, &v)
}

fn list_users(st: &OtState, v3: bool, base: &str, q: &Q) -> Response {
    let (start, count) = match index_paging(q) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let org = st.read();
    let conds = match q.get("filter").filter(|f| !f.trim().is_empty()) {
        None => None,
        Some(f) => match parse_filter(f) {
            Ok(c) => Some(c),
            Err(e) => return scim_error(StatusCode::BAD_REQUEST, Some("invalidFilter"), &e),
        },
    };
    let mut hits = Vec::new();
    for (i, u) in org.users.iter().enumerate() {
        if let Some(c) = &conds {
            match matches(c, &|a| user_attr(&org, u, a)) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => return scim_error(StatusCode::BAD_REQUEST, Some("invalidFilter"), &e),
            }
        }
        hits.push(i);
    }
    let items = hits
        .iter()
        .skip(start - 1)
        .take(count)
        .map(|&i| project(user_json(&org, i, v3, base), q))
        .collect();
    list_response(items, hits.len(), start)
}

fn group_attr(
    name: &str,
    id: &str,
    external: Option<&String>,
    attr: &str,
) -> Result<(Vec<String>, bool), String> {
    Ok(match attr.to_ascii_lowercase().as_str() {
        "displayname" => (vec![name.to_string()], false),
        "id" => (vec![id.to_string()], true),
        "externalid" => (external.cloned().into_iter().collect(), true),
        _ => {
            return Err(format!(
                "filtering groups on {attr} is not supported (displayName only)"
            ));
        }
    })
}

fn list_groups(st: &OtState, v3: bool, base: &str, q: &Q) -> Response {
    let (start, count) = match index_paging(q) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let conds = match q.get("filter").filter(|f| !f.trim().is_empty()) {
        None => None,
        Some(f) => match parse_filter(f) {
            Ok(c) => Some(c),
            Err(e) => return scim_error(StatusCode::BAD_REQUEST, Some("invalidFilter"), &e),
        },
    };
    let org = st.read();
    // v3 lists leave members out unless asked (the spec's `excludedAttributes` default).
    let members = if v3 {
        q.get("excludedAttributes")
            .is_some_and(|e| !e.to_ascii_lowercase().contains("members"))
    } else {
        true
    };
    let mut all: Vec<(String, String, Option<String>, usize, usize)> = Vec::new();
    if v3 {
        for (g, grp) in org.groups.iter().enumerate().filter(|(_, g)| !g.deleted) {
            all.push((
                grp.name.clone(),
                grp.id.clone(),
                grp.external_id.clone(),
                g,
                0,
            ));
        }
    } else {
        for (o, r) in org.v2_groups() {
            all.push((v2_group_name(&org, o, r), org.v2_group_id(o, r), None, o, r));
        }
    }
    let mut hits = Vec::new();
    for row in all {
        if let Some(c) = &conds {
            match matches(c, &|a| group_attr(&row.0, &row.1, row.2.as_ref(), a)) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => return scim_error(StatusCode::BAD_REQUEST, Some("invalidFilter"), &e),
            }
        }
        hits.push((row.3, row.4));
    }
    let items = hits
        .iter()
        .skip(start - 1)
        .take(count)
        .map(|&(a, b)| {
            let v = if v3 {
                group_json(&org, a, base, members)
            } else {
                v2_group_json(&org, a, b, base, members)
            };
            project(v, q)
        })
        .collect();
    list_response(items, hits.len(), start)
}

fn get_group(st: &OtState, v3: bool, base: &str, id: &str, q: &Q) -> Response {
    let org = st.read();
    let v = if v3 {
        org.find_group(id).map(|g| group_json(&org, g, base, true))
    } else {
        org.find_v2_group(id)
            .map(|(o, r)| v2_group_json(&org, o, r, base, true))
    };
    match v {
        Some(v) => scim_ok(StatusCode::OK, &project(v, q)),
        None => scim_error(
            StatusCode::NOT_FOUND,
            None,
            &format!("Group {id} not found"),
        ),
    }
}

// ---------------------------------------------------------------------------------------
// Writes

fn s(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn get_ci<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

fn primary_email(b: &Map<String, Value>) -> Option<String> {
    let emails = get_ci(b, "emails")?.as_array()?;
    emails
        .iter()
        .find(|e| e.get("primary") == Some(&json!(true)))
        .or(emails.first())
        .and_then(|e| e.get("value"))
        .and_then(s)
}

/// Apply the updatable attributes present in a full resource (PUT / POST).
fn apply_user_doc(u: &mut OtUser, b: &Map<String, Value>, replace: bool) {
    let name = get_ci(b, "name").and_then(Value::as_object);
    let given = name.and_then(|n| get_ci(n, "givenName")).and_then(s);
    let family = name.and_then(|n| get_ci(n, "familyName")).and_then(s);
    if replace || given.is_some() {
        u.first = given.unwrap_or_default();
    }
    if replace || family.is_some() {
        u.last = family.unwrap_or_default();
    }
    if let Some(a) = get_ci(b, "active").and_then(Value::as_bool) {
        u.active = a;
    }
    let ext = get_ci(b, "externalId").and_then(s);
    if replace || ext.is_some() {
        u.external_id = ext;
    }
    let title = get_ci(b, "title").and_then(s);
    if replace || title.is_some() {
        u.title = title;
    }
    if let Some(t) = get_ci(b, "userType").and_then(s) {
        u.internal = !t.eq_ignore_ascii_case("External");
    }
    let ent = get_ci(b, ENTERPRISE).and_then(Value::as_object);
    let field = |k: &str| ent.and_then(|e| get_ci(e, k)).and_then(s);
    for (k, slot) in [
        ("division", &mut u.division),
        ("employeeNumber", &mut u.employee_number),
        ("department", &mut u.department),
    ] {
        let v = field(k);
        if replace || v.is_some() {
            *slot = v;
        }
    }
    let manager = ent
        .and_then(|e| get_ci(e, "manager"))
        .and_then(|m| m.get("value").and_then(s).or_else(|| s(m)));
    if replace || manager.is_some() {
        u.manager = manager;
    }
}

fn with_activity(
    org: &mut OtOrg,
    i: usize,
    field: Option<&'static str>,
    old: Option<String>,
    new: Option<String>,
    now: Ms,
) {
    let event = if field.is_none() {
        "User Create"
    } else {
        "User Edit"
    };
    if let Some(list) = org.activities.get_mut(i) {
        list.insert(
            0,
            Activity {
                event,
                field,
                old,
                new,
                method: "User Provisioning",
                updated_by: "SCIM".into(),
                date: now / 1000 * 1000,
            },
        );
    }
}

fn touch(u: &mut OtUser, now: Ms, was_active: bool) {
    u.version += 1;
    u.last_modified = now / 1000 * 1000;
    if was_active && !u.active {
        u.disabled = Some(u.last_modified);
    } else if u.active {
        u.disabled = None;
    }
}

fn create_user(st: &OtState, v3: bool, base: &str, b: &Value, now: Ms) -> Response {
    let Some(obj) = b.as_object() else {
        return scim_error(
            StatusCode::BAD_REQUEST,
            Some("invalidSyntax"),
            "the body must be a SCIM User object",
        );
    };
    let Some(email) = get_ci(obj, "userName")
        .and_then(s)
        .filter(|e| !e.trim().is_empty())
        .or_else(|| primary_email(obj))
    else {
        return scim_error(
            StatusCode::BAD_REQUEST,
            Some("invalidValue"),
            "userName is required",
        );
    };
    let mut org = st.write();
    if org
        .users
        .iter()
        .any(|u| u.email.eq_ignore_ascii_case(&email))
    {
        return scim_error(
            StatusCode::CONFLICT,
            Some("uniqueness"),
            &format!("a user with userName {email} already exists"),
        );
    }
    let id = org.mint_uuid();
    let t = now / 1000 * 1000;
    // Default role and organization "as configured on the User Provisioning screen":
    // Project Respondent in the root organization here.
    let mut u = OtUser {
        id,
        external_id: None,
        first: String::new(),
        last: String::new(),
        email,
        active: true,
        internal: true,
        email_confirmed: false,
        access_levels: vec![(0, 4)],
        created: t,
        last_modified: t,
        last_login: None,
        disabled: None,
        expiration: None,
        title: None,
        department: None,
        division: None,
        employee_number: None,
        manager: None,
        origin: Origin::Api,
        version: 1,
    };
    apply_user_doc(&mut u, obj, false);
    if !u.active {
        u.disabled = Some(t);
    }
    let email = u.email.clone();
    org.users.push(u);
    org.activities.push(Vec::new());
    let i = org.users.len() - 1;
    with_activity(&mut org, i, None, None, Some(email), now);
    let v = user_json(&org, i, v3, base);
    let mut r = scim_ok(StatusCode::CREATED, &v);
    if let Some(loc) = v["meta"]["location"]
        .as_str()
        .and_then(|l| HeaderValue::from_str(l).ok())
    {
        r.headers_mut().insert(header::LOCATION, loc);
    }
    r
}

fn replace_user(st: &OtState, v3: bool, base: &str, id: &str, b: &Value, now: Ms) -> Response {
    let Some(obj) = b.as_object() else {
        return scim_error(
            StatusCode::BAD_REQUEST,
            Some("invalidSyntax"),
            "the body must be a SCIM User object",
        );
    };
    let mut org = st.write();
    let Some(i) = org.find_user(id) else {
        return scim_error(StatusCode::NOT_FOUND, None, &format!("User {id} not found"));
    };
    if let Some(n) = get_ci(obj, "userName").and_then(s)
        && !n.eq_ignore_ascii_case(&org.users[i].email)
    {
        return scim_error(
            StatusCode::BAD_REQUEST,
            Some("mutability"),
            "userName cannot be changed in OneTrust",
        );
    }
    let was = org.users[i].active;
    apply_user_doc(&mut org.users[i], obj, true);
    touch(&mut org.users[i], now, was);
    if was != org.users[i].active {
        let now_active = org.users[i].active;
        with_activity(
            &mut org,
            i,
            Some("Status"),
            Some(status_word(was)),
            Some(status_word(now_active)),
            now,
        );
    }
    scim_ok(StatusCode::OK, &user_json(&org, i, v3, base))
}

fn status_word(active: bool) -> String {
    if active { "Active" } else { "Disabled" }.to_string()
}

/// One PATCH operation on a user.
fn patch_user_op(
    u: &mut OtUser,
    op: &str,
    path: Option<&str>,
    value: Option<&Value>,
) -> Result<(), Response> {
    let bad = |t: &str, d: String| scim_error(StatusCode::BAD_REQUEST, Some(t), &d);
    let remove = op == "remove";
    let Some(path) = path else {
        // No path: `value` is an object of attributes.
        if remove {
            return Err(bad("noTarget", "remove needs a path".into()));
        }
        let Some(obj) = value.and_then(Value::as_object) else {
            return Err(bad(
                "invalidValue",
                "without a path, value must be an object".into(),
            ));
        };
        if let Some(n) = get_ci(obj, "userName").and_then(s)
            && !n.eq_ignore_ascii_case(&u.email)
        {
            return Err(bad(
                "mutability",
                "userName cannot be changed in OneTrust".into(),
            ));
        }
        // Dotted keys (`name.givenName`) and URN keys are paths too.
        for (k, v) in obj {
            if k.contains('.') || (k.starts_with("urn:") && !v.is_object()) {
                patch_user_op(u, op, Some(k), Some(v))?;
            }
        }
        apply_user_doc(u, obj, false);
        return Ok(());
    };
    let p = path.trim();
    let (p, _) = p.split_once('[').unwrap_or((p, ""));
    let lower = p.to_ascii_lowercase();
    let ent_prefix = format!("{}:", ENTERPRISE.to_ascii_lowercase());
    let key = lower
        .strip_prefix(&ent_prefix)
        .unwrap_or(&lower)
        .to_string();
    let val = if remove { None } else { value.and_then(s) };
    if !remove && value.is_none() {
        return Err(bad(
            "invalidValue",
            format!("{op} {path}: value is required"),
        ));
    }
    match key.as_str() {
        "active" => {
            if remove {
                return Err(bad("mutability", "active cannot be removed".into()));
            }
            u.active = match value {
                Some(Value::Bool(b)) => *b,
                Some(Value::String(x))
                    if x.eq_ignore_ascii_case("true") || x.eq_ignore_ascii_case("false") =>
                {
                    x.eq_ignore_ascii_case("true")
                }
                _ => return Err(bad("invalidValue", "active must be a boolean".into())),
            }
        }
        "name.givenname" | "givenname" => u.first = val.unwrap_or_default(),
        "name.familyname" | "familyname" => u.last = val.unwrap_or_default(),
        "name" => {
            if remove {
                u.first.clear();
                u.last.clear();
            } else if let Some(o) = value.and_then(Value::as_object) {
                if let Some(g) = get_ci(o, "givenName").and_then(s) {
                    u.first = g;
                }
                if let Some(f) = get_ci(o, "familyName").and_then(s) {
                    u.last = f;
                }
            }
        }
        "externalid" => u.external_id = val,
        "title" => u.title = val,
        "usertype" => u.internal = !val.is_some_and(|t| t.eq_ignore_ascii_case("External")),
        "division" => u.division = val,
        "employeenumber" => u.employee_number = val,
        "department" => u.department = val,
        "manager" | "manager.value" => {
            u.manager = if remove {
                None
            } else {
                value.and_then(|m| m.get("value").and_then(s).or_else(|| s(m)))
            }
        }
        e if e == ENTERPRISE.to_ascii_lowercase() => {
            if remove {
                u.division = None;
                u.employee_number = None;
                u.department = None;
                u.manager = None;
            } else if let Some(o) = value.and_then(Value::as_object) {
                let mut doc = Map::new();
                doc.insert(ENTERPRISE.into(), Value::Object(o.clone()));
                apply_user_doc(u, &doc, false);
            }
        }
        "username" | "emails" | "emails.value" => {
            return Err(bad(
                "mutability",
                format!("{path} cannot be changed in OneTrust (the email is the login)"),
            ));
        }
        "groups" | "roles" | "id" | "meta" => {
            return Err(bad("mutability", format!("{path} is read-only")));
        }
        _ => {
            return Err(bad(
                "invalidPath",
                format!("{path} is not an attribute OneTrust can update"),
            ));
        }
    }
    Ok(())
}

fn patch_ops(b: &Value) -> Result<Vec<(String, Option<String>, Option<Value>)>, Response> {
    let bad = |d: &str| scim_error(StatusCode::BAD_REQUEST, Some("invalidSyntax"), d);
    let ops = b
        .get("Operations")
        .or_else(|| b.get("operations"))
        .and_then(Value::as_array)
        .ok_or_else(|| bad("Operations is required"))?;
    if let Some(schemas) = b.get("schemas").and_then(Value::as_array)
        && !schemas.iter().any(|x| x == PATCH_OP)
    {
        return Err(bad("schemas must contain the PatchOp schema"));
    }
    let mut out = Vec::new();
    for o in ops {
        let op = o
            .get("op")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("each operation needs op"))?
            .to_ascii_lowercase();
        if !["add", "remove", "replace"].contains(&op.as_str()) {
            return Err(bad(&format!("unsupported op {op}")));
        }
        let path = o.get("path").and_then(Value::as_str).map(str::to_string);
        // Group ops may carry `members` beside `op` (spec schema); treat as the value.
        let value = o
            .get("value")
            .cloned()
            .or_else(|| o.get("members").map(|m| json!({"members": m})));
        out.push((op, path, value));
    }
    Ok(out)
}

fn patch_user(st: &OtState, v3: bool, base: &str, id: &str, b: &Value, now: Ms) -> Response {
    let ops = match patch_ops(b) {
        Ok(o) => o,
        Err(r) => return r,
    };
    let mut org = st.write();
    let Some(i) = org.find_user(id) else {
        return scim_error(StatusCode::NOT_FOUND, None, &format!("User {id} not found"));
    };
    // All or nothing: work on a copy.
    let mut u = org.users[i].clone();
    let was = u.active;
    for (op, path, value) in &ops {
        if let Err(r) = patch_user_op(&mut u, op, path.as_deref(), value.as_ref()) {
            return r;
        }
    }
    touch(&mut u, now, was);
    let now_active = u.active;
    org.users[i] = u;
    if was != now_active {
        with_activity(
            &mut org,
            i,
            Some("Status"),
            Some(status_word(was)),
            Some(status_word(now_active)),
            now,
        );
    }
    scim_ok(StatusCode::OK, &user_json(&org, i, v3, base))
}

/// Member values → user indices; Err = 400 naming the unknown id.
fn member_ids(org: &OtOrg, v: &Value) -> Result<Vec<u32>, Response> {
    let arr = match v {
        Value::Array(a) => a.clone(),
        Value::Object(o) => match get_ci(o, "members") {
            Some(Value::Array(a)) => a.clone(),
            _ => vec![v.clone()],
        },
        _ => Vec::new(),
    };
    let mut out = Vec::new();
    for m in arr {
        let Some(id) = m.get("value").and_then(s).or_else(|| s(&m)) else {
            return Err(scim_error(
                StatusCode::BAD_REQUEST,
                Some("invalidValue"),
                "each member needs a value (a user id)",
            ));
        };
        match org.find_user(&id) {
            Some(i) => out.push(i as u32),
            None => {
                return Err(scim_error(
                    StatusCode::BAD_REQUEST,
                    Some("invalidValue"),
                    &format!("member {id} is not a user"),
                ));
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

fn create_group(st: &OtState, base: &str, b: &Value, now: Ms) -> Response {
    let Some(obj) = b.as_object() else {
        return scim_error(
            StatusCode::BAD_REQUEST,
            Some("invalidSyntax"),
            "the body must be a SCIM Group object",
        );
    };
    let Some(name) = get_ci(obj, "displayName")
        .and_then(s)
        .filter(|n| !n.trim().is_empty())
    else {
        return scim_error(
            StatusCode::BAD_REQUEST,
            Some("invalidValue"),
            "displayName is required",
        );
    };
    let mut org = st.write();
    if org
        .groups
        .iter()
        .any(|g| !g.deleted && g.name.eq_ignore_ascii_case(&name))
    {
        return scim_error(
            StatusCode::CONFLICT,
            Some("uniqueness"),
            &format!("a group named {name} already exists"),
        );
    }
    let members = match get_ci(obj, "members") {
        Some(m) => match member_ids(&org, m) {
            Ok(m) => m,
            Err(r) => return r,
        },
        None => Vec::new(),
    };
    let ext = get_ci(obj, OT_GROUP).and_then(Value::as_object);
    let id = org.mint_uuid();
    let t = now / 1000 * 1000;
    org.groups.push(OtGroup {
        id,
        external_id: get_ci(obj, "externalId").and_then(s),
        name,
        description: ext
            .and_then(|e| get_ci(e, "description"))
            .and_then(s)
            .unwrap_or_default(),
        created: t,
        last_modified: t,
        created_by: "SCIM".into(),
        members,
        deleted: false,
        version: 1,
    });
    let g = org.groups.len() - 1;
    let v = group_json(&org, g, base, true);
    let mut r = scim_ok(StatusCode::CREATED, &v);
    if let Some(loc) = v["meta"]["location"]
        .as_str()
        .and_then(|l| HeaderValue::from_str(l).ok())
    {
        r.headers_mut().insert(header::LOCATION, loc);
    }
    r
}

fn set_v2_members(org: &mut OtOrg, o: usize, r: usize, members: &[u32], add: bool) {
    let key = (o as u16, r as u16);
    for &m in members {
        let u = &mut org.users[m as usize];
        if add {
            if !u.access_levels.contains(&key) {
                u.access_levels.push(key);
            }
        } else {
            u.access_levels.retain(|l| *l != key);
        }
    }
}

fn replace_group(st: &OtState, v3: bool, base: &str, id: &str, b: &Value, now: Ms) -> Response {
    let Some(obj) = b.as_object() else {
        return scim_error(
            StatusCode::BAD_REQUEST,
            Some("invalidSyntax"),
            "the body must be a SCIM Group object",
        );
    };
    let mut org = st.write();
    let members = match get_ci(obj, "members") {
        Some(m) => match member_ids(&org, m) {
            Ok(m) => m,
            Err(r) => return r,
        },
        None => Vec::new(),
    };
    if v3 {
        let Some(g) = org.find_group(id) else {
            return scim_error(
                StatusCode::NOT_FOUND,
                None,
                &format!("Group {id} not found"),
            );
        };
        let grp = &mut org.groups[g];
        if let Some(n) = get_ci(obj, "displayName").and_then(s) {
            grp.name = n;
        }
        grp.external_id = get_ci(obj, "externalId").and_then(s);
        if let Some(d) = get_ci(obj, OT_GROUP)
            .and_then(Value::as_object)
            .and_then(|e| get_ci(e, "description"))
            .and_then(s)
        {
            grp.description = d;
        }
        grp.members = members;
        grp.version += 1;
        grp.last_modified = now / 1000 * 1000;
        scim_ok(StatusCode::OK, &group_json(&org, g, base, true))
    } else {
        let Some((o, r)) = org.find_v2_group(id) else {
            return scim_error(
                StatusCode::NOT_FOUND,
                None,
                &format!("Group {id} not found"),
            );
        };
        let old = org.v2_members(o, r);
        set_v2_members(&mut org, o, r, &old, false);
        set_v2_members(&mut org, o, r, &members, true);
        scim_ok(StatusCode::OK, &v2_group_json(&org, o, r, base, true))
    }
}

fn patch_group(st: &OtState, v3: bool, id: &str, b: &Value, now: Ms) -> Response {
    let ops = match patch_ops(b) {
        Ok(o) => o,
        Err(r) => return r,
    };
    let mut org = st.write();
    let target = if v3 {
        org.find_group(id).map(|g| (g, 0, true))
    } else {
        org.find_v2_group(id).map(|(o, r)| (o, r, false))
    };
    let Some((a, bidx, is_v3)) = target else {
        return scim_error(
            StatusCode::NOT_FOUND,
            None,
            &format!("Group {id} not found"),
        );
    };
    let mut current: Vec<u32> = if is_v3 {
        org.groups[a].members.clone()
    } else {
        org.v2_members(a, bidx)
    };
    let mut name: Option<String> = None;
    let mut description: Option<String> = None;
    let mut external: Option<Option<String>> = None;
    for (op, path, value) in &ops {
        let p = path.as_deref().map(str::trim).unwrap_or("");
        let lower = p.to_ascii_lowercase();
        if lower.is_empty() {
            let Some(obj) = value.as_ref().and_then(Value::as_object) else {
                return scim_error(
                    StatusCode::BAD_REQUEST,
                    Some("invalidValue"),
                    "without a path, value must be an object",
                );
            };
            if let Some(n) = get_ci(obj, "displayName").and_then(s) {
                name = Some(n);
            }
            if let Some(x) = get_ci(obj, "externalId") {
                external = Some(s(x));
            }
            if let Some(d) = get_ci(obj, OT_GROUP)
                .and_then(Value::as_object)
                .and_then(|e| get_ci(e, "description"))
                .and_then(s)
            {
                description = Some(d);
            }
            if let Some(m) = get_ci(obj, "members") {
                let ids = match member_ids(&org, m) {
                    Ok(m) => m,
                    Err(r) => return r,
                };
                if op == "replace" {
                    current = ids;
                } else {
                    current.extend(ids);
                }
            }
        } else if lower == "members" || lower.starts_with("members[") {
            let filtered = lower.starts_with("members[");
            match op.as_str() {
                "remove" if filtered => {
                    // members[value eq "id"]
                    let wanted = p.split('"').nth(1).unwrap_or("");
                    current.retain(|&m| org.users[m as usize].id != wanted);
                }
                "remove" => match value {
                    Some(v) => {
                        let ids = match member_ids(&org, v) {
                            Ok(m) => m,
                            Err(r) => return r,
                        };
                        current.retain(|m| !ids.contains(m));
                    }
                    None => current.clear(),
                },
                _ => {
                    let ids = match value.as_ref().map(|v| member_ids(&org, v)) {
                        Some(Ok(m)) => m,
                        Some(Err(r)) => return r,
                        None => {
                            return scim_error(
                                StatusCode::BAD_REQUEST,
                                Some("invalidValue"),
                                "members needs a value",
                            );
                        }
                    };
                    if op == "replace" {
                        current = ids;
                    } else {
                        current.extend(ids);
                    }
                }
            }
        } else if lower == "displayname" {
            match value.as_ref().and_then(s) {
                Some(n) if op != "remove" => name = Some(n),
                _ => {
                    return scim_error(
                        StatusCode::BAD_REQUEST,
                        Some("mutability"),
                        "displayName is required and cannot be removed",
                    );
                }
            }
        } else if lower == "externalid" {
            external = Some(if op == "remove" {
                None
            } else {
                value.as_ref().and_then(s)
            });
        } else if lower == OT_GROUP.to_ascii_lowercase() {
            description = Some(if op == "remove" {
                String::new()
            } else {
                value
                    .as_ref()
                    .and_then(Value::as_object)
                    .and_then(|e| get_ci(e, "description"))
                    .and_then(s)
                    .unwrap_or_default()
            });
        } else if lower == format!("{}:description", OT_GROUP.to_ascii_lowercase()) {
            description = Some(if op == "remove" {
                String::new()
            } else {
                value.as_ref().and_then(s).unwrap_or_default()
            });
        } else {
            return scim_error(
                StatusCode::BAD_REQUEST,
                Some("invalidPath"),
                &format!("{p} is not a group attribute OneTrust can update"),
            );
        }
    }
    current.sort_unstable();
    current.dedup();
    if is_v3 {
        let grp = &mut org.groups[a];
        grp.members = current;
        if let Some(n) = name {
            grp.name = n;
        }
        if let Some(d) = description {
            grp.description = d;
        }
        if let Some(x) = external {
            grp.external_id = x;
        }
        grp.version += 1;
        grp.last_modified = now / 1000 * 1000;
    } else {
        let old = org.v2_members(a, bidx);
        set_v2_members(&mut org, a, bidx, &old, false);
        set_v2_members(&mut org, a, bidx, &current, true);
    }
    no_content()
}

// ---------------------------------------------------------------------------------------
// Discovery (v3 only)

fn spc(base: &str) -> Value {
    // GUESS: the spec's example is all `false` placeholders; these are what the simulator
    // actually implements.
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "documentationUri": "https://developer.onetrust.com/onetrust/reference/scim",
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": MAX_COUNT},
        "changePassword": {"supported": false},
        "sort": {"supported": false},
        "etag": {"supported": false},
        "xmlDataFormat": {"supported": false},
        "authenticationSchemes": [{"type": "oauthbearertoken", "name": "OAuth Bearer Token",
            "description": "OneTrust API key or client-credentials access token", "specUri": "https://www.rfc-editor.org/info/rfc6750", "primary": true}],
        "meta": {"resourceType": "ServiceProviderConfig", "location": format!("{base}/ServiceProviderConfig")},
    })
}

fn resource_types(base: &str) -> Vec<Value> {
    vec![
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"], "id": "User", "name": "User", "endpoint": "/Users",
               "description": "User Account", "schema": USER_SCHEMA, "schemaExtensions": [{"schema": ENTERPRISE, "required": false}],
               "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/User")}}),
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"], "id": "Group", "name": "Group", "endpoint": "/Groups",
               "description": "User Group", "schema": GROUP_SCHEMA, "schemaExtensions": [{"schema": OT_GROUP, "required": false}],
               "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/Group")}}),
    ]
}

struct A {
    name: &'static str,
    ty: &'static str,
    multi: bool,
    required: bool,
    mutability: &'static str,
    case_exact: bool,
    uniqueness: &'static str,
    canonical: &'static [&'static str],
    sub: Vec<A>,
}

fn a(name: &'static str, ty: &'static str, mutability: &'static str) -> A {
    A {
        name,
        ty,
        multi: false,
        required: false,
        mutability,
        case_exact: false,
        uniqueness: "none",
        canonical: &[],
        sub: Vec::new(),
    }
}

impl A {
    fn json(&self) -> Value {
        let mut v = json!({
            "name": self.name, "type": self.ty, "multiValued": self.multi, "description": self.name, "required": self.required,
            "mutability": self.mutability, "returned": "default",
        });
        if self.ty == "string" || self.ty == "reference" {
            v["caseExact"] = json!(self.case_exact);
            v["uniqueness"] = json!(self.uniqueness);
        }
        if self.ty == "reference" {
            v["referenceTypes"] = json!(["User", "Group", "uri"]);
        }
        if !self.canonical.is_empty() {
            v["canonicalValues"] = json!(self.canonical);
        }
        if !self.sub.is_empty() {
            v["subAttributes"] = Value::Array(self.sub.iter().map(A::json).collect());
        }
        v
    }
}

fn schema_doc(base: &str, id: &str, name: &str, attrs: Vec<A>) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": id, "name": name, "description": name,
        "attributes": attrs.iter().map(A::json).collect::<Vec<_>>(),
        "meta": {"resourceType": "Schema", "location": format!("{base}/Schemas/{id}")},
    })
}

/// What OneTrust lets a client write (API-NOTES §3 "Updatable attributes"): userName and
/// emails only at creation (`immutable`), groups/roles read-only.
fn schemas(base: &str) -> Vec<Value> {
    let user = vec![
        A {
            required: true,
            uniqueness: "server",
            ..a("userName", "string", "immutable")
        },
        A {
            sub: vec![
                a("givenName", "string", "readWrite"),
                a("familyName", "string", "readWrite"),
            ],
            ..a("name", "complex", "readWrite")
        },
        A {
            canonical: &["Internal", "External"],
            ..a("userType", "string", "readWrite")
        },
        a("title", "string", "readWrite"),
        a("active", "boolean", "readWrite"),
        A {
            multi: true,
            sub: vec![
                a("value", "string", "readOnly"),
                a("display", "string", "readOnly"),
                a("type", "string", "readOnly"),
                a("primary", "boolean", "readOnly"),
            ],
            ..a("emails", "complex", "readOnly")
        },
        A {
            multi: true,
            sub: vec![
                a("value", "string", "readOnly"),
                A {
                    ..a("$ref", "reference", "readOnly")
                },
                a("display", "string", "readOnly"),
            ],
            ..a("groups", "complex", "readOnly")
        },
        A {
            multi: true,
            sub: vec![a("value", "string", "readOnly")],
            ..a("roles", "complex", "readOnly")
        },
    ];
    let enterprise = vec![
        a("employeeNumber", "string", "readWrite"),
        a("division", "string", "readWrite"),
        a("department", "string", "readWrite"),
        A {
            sub: vec![
                A {
                    case_exact: true,
                    ..a("value", "string", "readWrite")
                },
                a("$ref", "reference", "readOnly"),
                a("displayName", "string", "readOnly"),
            ],
            ..a("manager", "complex", "readWrite")
        },
        a("organization", "string", "readOnly"),
    ];
    let group = vec![
        A {
            required: true,
            ..a("displayName", "string", "readWrite")
        },
        A {
            multi: true,
            sub: vec![
                A {
                    case_exact: true,
                    ..a("value", "string", "immutable")
                },
                a("$ref", "reference", "readOnly"),
                a("display", "string", "readOnly"),
                A {
                    canonical: &["User"],
                    ..a("type", "string", "readOnly")
                },
            ],
            ..a("members", "complex", "readWrite")
        },
    ];
    let ot_group = vec![a("description", "string", "readWrite")];
    vec![
        schema_doc(base, USER_SCHEMA, "User", user),
        schema_doc(base, ENTERPRISE, "EnterpriseUser", enterprise),
        schema_doc(base, GROUP_SCHEMA, "Group", group),
        schema_doc(base, OT_GROUP, "OneTrustGroup", ot_group),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse() {
        let f = parse_filter("emails[value eq \"A@b.c\"] and active eq true").unwrap();
        assert_eq!(f.len(), 1);
        assert_eq!(f[0][0].attr, "emails.value");
        assert_eq!(f[0][1].value.as_deref(), Some("true"));
        assert!(parse_filter("userName zz \"x\"").is_err());
        assert_eq!(
            parse_filter("displayName eq \"a b\" or displayName co \"x\"")
                .unwrap()
                .len(),
            2
        );
    }
}
