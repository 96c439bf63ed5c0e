//! Shape comparison: a simulator body must have the same keys with the same JSON types as a
//! recorded Okta body, at every level. Values may differ; `null` on either side is compatible
//! with any type (recordings have nulls where seeded data has values and vice versa) and is
//! reported as a note, not a mismatch.
//!
//! Array elements are compared by *kind*: each recorded element against the simulator
//! elements of the same kind (apps by `signOnMode`, factors by `factorType`, ...), taking the
//! best-matching one, and each simulator element of a recorded kind against the recorded
//! elements of that kind. Sub-objects whose keys are data rather than schema (free-form maps,
//! state-dependent `_links`) are listed per endpoint in [`ShapeRules`]; under them only keys
//! present on both sides are compared.

use std::fmt;

use serde_json::Value;

/// The JSON type of a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum JsonType {
    Null,
    Bool,
    Number,
    String,
    Array,
    Object,
}

impl JsonType {
    pub fn of(v: &Value) -> JsonType {
        match v {
            Value::Null => JsonType::Null,
            Value::Bool(_) => JsonType::Bool,
            Value::Number(_) => JsonType::Number,
            Value::String(_) => JsonType::String,
            Value::Array(_) => JsonType::Array,
            Value::Object(_) => JsonType::Object,
        }
    }
}

impl fmt::Display for JsonType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            JsonType::Null => "null",
            JsonType::Bool => "boolean",
            JsonType::Number => "number",
            JsonType::String => "string",
            JsonType::Array => "array",
            JsonType::Object => "object",
        })
    }
}

/// What differs at a path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum What {
    /// The recording has the key, the simulator does not.
    MissingInSimulator { recorded: JsonType },
    /// The simulator has a key the recording does not.
    ExtraInSimulator { simulator: JsonType },
    /// Both have it, with different (non-null) types.
    TypeDiffers {
        recorded: JsonType,
        simulator: JsonType,
    },
    /// A free-form map lacks a key listed as required for it.
    RequiredKeyMissing,
}

/// One shape difference. `path` is JSONPath-like: `$`, `.key`, `[]` for any array element.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Mismatch {
    pub path: String,
    pub what: What,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.what {
            What::MissingInSimulator { recorded } => {
                write!(f, "{}: recorded {recorded}, simulator <missing>", self.path)
            }
            What::ExtraInSimulator { simulator } => {
                write!(
                    f,
                    "{}: recorded <missing>, simulator {simulator}",
                    self.path
                )
            }
            What::TypeDiffers {
                recorded,
                simulator,
            } => {
                write!(
                    f,
                    "{}: recorded {recorded}, simulator {simulator}",
                    self.path
                )
            }
            What::RequiredKeyMissing => {
                write!(f, "{}: required key missing in simulator", self.path)
            }
        }
    }
}

/// Which side had a `null`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Side {
    Recorded,
    Simulator,
}

/// Information that is not a failure.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Note {
    /// One side was `null` where the other had `other`.
    Null {
        path: String,
        side: Side,
        other: JsonType,
    },
    /// Elements could not be compared (one side's array empty, or a recorded kind the
    /// simulator did not return).
    Uncompared { path: String, why: String },
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Note::Null { path, side, other } => {
                write!(f, "{path}: null on {side:?} side, other side {other}")
            }
            Note::Uncompared { path, why } => write!(f, "{path}: not compared ({why})"),
        }
    }
}

/// Result of a comparison: `mismatches` fail a test, `notes` are informational.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ShapeReport {
    pub mismatches: Vec<Mismatch>,
    pub notes: Vec<Note>,
}

impl ShapeReport {
    pub fn is_ok(&self) -> bool {
        self.mismatches.is_empty()
    }
}

impl fmt::Display for ShapeReport {
    /// A readable diff: one line per mismatch (path, recorded type, simulator type).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.mismatches.is_empty() {
            return f.write_str("shapes match");
        }
        writeln!(f, "{} shape mismatch(es):", self.mismatches.len())?;
        for m in &self.mismatches {
            writeln!(f, "  {m}")?;
        }
        Ok(())
    }
}

/// How to tell array elements' kinds apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KindKey {
    /// The string value of a (dotted) field, e.g. `signOnMode`.
    Field(&'static str),
    /// The first dot-separated segment of `eventType` (`user`, `application`, `system`...).
    EventFamily,
}

/// A sub-object whose keys are data, not schema. Under `path` only keys present on both
/// sides are compared; `required` keys must still be present in the simulator's map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreeForm {
    /// Normalised path (`$[].profile`); a leading `**` matches any prefix (`**._links`).
    pub path: &'static str,
    /// One line: why this is data, not schema.
    pub reason: &'static str,
    pub required: &'static [&'static str],
}

/// A key that real Okta returns only in some cases (org features, era, unset values): it may
/// be missing on either side; when both have it, its type is still compared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Optional {
    /// Normalised path of the key (`$[].realmId`); same matching as [`FreeForm::path`].
    pub path: &'static str,
    /// One line: when Okta returns it and which recording shows it.
    pub reason: &'static str,
}

const fn opt(path: &'static str, reason: &'static str) -> Optional {
    Optional { path, reason }
}

/// Per-endpoint comparison rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeRules {
    pub kind_keys: Vec<KindKey>,
    pub free_form: Vec<FreeForm>,
    pub optional: Vec<Optional>,
    /// The body is one object, not a list: `$[]…` paths in `free_form` also match `$…`.
    pub single: bool,
}

const fn ff(path: &'static str, reason: &'static str) -> FreeForm {
    FreeForm {
        path,
        reason,
        required: &[],
    }
}

impl ShapeRules {
    /// No free-form paths; every kind key Okta lists use.
    pub fn generic() -> ShapeRules {
        ShapeRules {
            kind_keys: vec![
                KindKey::Field("signOnMode"),
                KindKey::Field("factorType"),
                KindKey::Field("type"),
                KindKey::Field("assignmentType"),
                KindKey::Field("status"),
                KindKey::EventFamily,
            ],
            free_form: Vec::new(),
            optional: Vec::new(),
            single: false,
        }
    }

    /// The rules for one recorded endpoint directory (`users-list`, `apps-list`, ...).
    pub fn for_endpoint(endpoint: &str) -> ShapeRules {
        // Shared entries. Okta documents `_links` as HAL links whose set depends on the
        // object's state and the caller's permissions (core-okta-api "Links in collections").
        const USER_PROFILE: FreeForm = FreeForm {
            path: "$[].profile",
            reason: "user profile keys are the org's user-schema attributes that have values",
            required: &["login", "email", "firstName", "lastName"],
        };
        const USER_LINKS: FreeForm = FreeForm {
            path: "$[]._links",
            reason: "user links depend on status (activate/suspend/unsuspend/deactivate...)",
            required: &["self"],
        };
        let users = || {
            vec![
                USER_PROFILE,
                USER_LINKS,
                ff(
                    "$[].credentials",
                    "which credentials exist depends on how the user was created (password, recovery question, provider)",
                ),
            ]
        };
        let (kind_keys, free_form): (Vec<KindKey>, Vec<FreeForm>) = match endpoint {
            "users-list" | "groups-users" => (vec![KindKey::Field("status")], users()),
            "users-get" => (vec![KindKey::Field("status")], users()),
            "apps-list" => (
                vec![KindKey::Field("signOnMode")],
                vec![
                    ff(
                        "$[].settings.app",
                        "per-app-template settings; keys are defined by each app integration",
                    ),
                    ff(
                        "$[].settings.signOn",
                        "sign-on settings differ per signOnMode and app template",
                    ),
                    ff(
                        "$[].settings.oauthClient",
                        "OIDC client settings, only on OPENID_CONNECT apps, keys depend on client type",
                    ),
                    ff(
                        "$[].settings.notifications",
                        "notification settings differ per app template (vpn only for some)",
                    ),
                    ff(
                        "$[].credentials",
                        "credential keys depend on signOnMode (signing, oauthClient, scheme...)",
                    ),
                    ff(
                        "$[].profile",
                        "app profile is a free-form JSON object the app defines",
                    ),
                    ff(
                        "$[]._links",
                        "app links depend on status, features and logos",
                    ),
                    ff(
                        "$[]._embedded",
                        "embedded resources depend on expand and app type",
                    ),
                    ff("$[].visibility.appLinks", "keys are the app's link names"),
                    ff("$[].visibility.hide", "keys are the app's platforms"),
                ],
            ),
            "apps-users" => (
                vec![KindKey::Field("scope")],
                vec![
                    ff(
                        "$[].profile",
                        "app-user profile keys are the app's user-schema attributes",
                    ),
                    ff(
                        "$[].credentials",
                        "app-user credentials depend on the app's sign-on mode",
                    ),
                    ff("$[]._links", "links depend on the app and assignment state"),
                    ff(
                        "$[]._embedded.user.profile",
                        "user profile keys are the org's user-schema attributes",
                    ),
                    ff("$[]._embedded.user._links", "user links depend on status"),
                    ff(
                        "$[]._embedded.user.credentials",
                        "user credentials depend on how the user was created",
                    ),
                ],
            ),
            "apps-groups" => (
                Vec::new(),
                vec![
                    ff(
                        "$[].profile",
                        "app-group profile keys are the app's group-schema attributes",
                    ),
                    ff("$[]._links", "links depend on the app"),
                ],
            ),
            "groups-list" | "users-groups" => (
                vec![KindKey::Field("type")],
                vec![
                    ff(
                        "$[].profile",
                        "group profile keys depend on the group type (OKTA_GROUP vs APP_GROUP attributes)",
                    ),
                    ff(
                        "$[]._links",
                        "group links depend on type (apps, logo, source for APP_GROUP)",
                    ),
                ],
            ),
            "users-roles" => (
                vec![KindKey::Field("type"), KindKey::Field("assignmentType")],
                vec![ff(
                    "$[]._links",
                    "role links depend on role type and assignment (assignee, member, role, resource-set)",
                )],
            ),
            "users-factors" => (
                vec![KindKey::Field("factorType")],
                vec![
                    ff("$[].profile", "factor profile keys depend on factorType"),
                    ff("$[]._links", "factor links depend on factor state"),
                    ff("$[]._embedded", "embedded resources depend on factorType"),
                ],
            ),
            "policies-okta-sign-on" | "policies-access-policy" | "policies-mfa-enroll" => (
                vec![KindKey::Field("type")],
                vec![
                    ff(
                        "$[].settings",
                        "policy settings differ per type and per org feature set",
                    ),
                    ff(
                        "$[].conditions",
                        "policy conditions depend on the type and how the policy was set up",
                    ),
                    ff(
                        "$[]._links",
                        "policy links depend on system/custom policy and status",
                    ),
                    ff("$[]._embedded", "embedded resources depend on expand"),
                ],
            ),
            "policies-rules" => (
                vec![KindKey::Field("type")],
                vec![
                    ff("$[].actions", "rule actions differ per policy type"),
                    ff(
                        "$[].conditions",
                        "rule conditions depend on how the rule was set up",
                    ),
                    ff(
                        "$[]._links",
                        "rule links depend on system/custom rule and status",
                    ),
                ],
            ),
            "logs" => (
                vec![KindKey::EventFamily],
                vec![
                    ff(
                        "$[].debugContext.debugData",
                        "debug data keys depend on the event type",
                    ),
                    ff(
                        "$[].target",
                        "targets are a list of per-type objects (detailEntry only on some)",
                    ),
                    ff(
                        "$[].client.geographicalContext",
                        "present only when Okta could geolocate the IP",
                    ),
                    ff(
                        "$[].securityContext",
                        "fields present only when Okta has IP intelligence data",
                    ),
                    ff(
                        "$[].authenticationContext",
                        "fields depend on how the actor authenticated",
                    ),
                    ff(
                        "$[].request.ipChain",
                        "per-hop data; geolocation present only when known",
                    ),
                    ff("$[].actor.detailEntry", "free-form per-actor detail map"),
                    ff("$[].outcome", "reason present only on some outcomes"),
                    ff(
                        "$[].transaction.detail",
                        "API-token ids present only when the request used an API token (REC logs/01)",
                    ),
                ],
            ),
            "iam-assignees-users" => (
                Vec::new(),
                vec![ff("$.value[]._links", "links depend on the roles held")],
            ),
            _ => (ShapeRules::generic().kind_keys, Vec::new()),
        };
        // Single-object endpoints reuse the list rules: `$[].x` also matches `$.x`.
        let single = matches!(endpoint, "users-get");
        let realm = opt(
            "$[].realmId",
            "only orgs with Okta Realms return it (REC users-get/04 has it, users-get/01..03 do not)",
        );
        let optional = match endpoint {
            "users-list" => vec![
                realm,
                opt(
                    "$[].type",
                    "user types came in 2019; REC users-list/06 (2016) predates them",
                ),
            ],
            "users-get" | "groups-users" => vec![realm],
            "apps-users" => vec![
                opt(
                    "$[]._embedded.user.type",
                    "user types came in 2019; REC apps-users/03..04 (2016) predate them",
                ),
                opt(
                    "$[].lastSync",
                    "only the 2016 org returned it (REC apps-users/03..04); the 2020 and 2025 ones (01, 02) do not",
                ),
            ],
            "apps-list" => {
                const NEWER: &str = "returned for the 2025 custom OIDC app (REC apps-list/02), not for the 2020 built-in OIDC apps (REC apps-list/01)";
                vec![
                    opt("$[].settings.emOptInStatus", NEWER),
                    opt("$[].settings.notes", NEWER),
                    opt("$[].settings.oauthClient", NEWER),
                    opt("$[].visibility.autoLaunch", NEWER),
                ]
            }
            "policies-okta-sign-on" | "policies-access-policy" | "policies-mfa-enroll" => {
                vec![opt(
                    "$[].description",
                    "omitted when unset (REC policies-access-policy/01 has policies with and without it)",
                )]
            }
            _ => Vec::new(),
        };
        ShapeRules {
            kind_keys,
            free_form,
            optional,
            single,
        }
    }

    fn path_matches(&self, pattern: &str, path: &str) -> bool {
        match pattern.strip_prefix("**") {
            Some(suffix) => path.ends_with(suffix),
            None => {
                pattern == path
                    || (self.single
                        && pattern
                            .strip_prefix("$[]")
                            .zip(path.strip_prefix('$'))
                            .is_some_and(|(a, b)| a == b))
            }
        }
    }

    fn free_form_at(&self, path: &str) -> Option<&FreeForm> {
        self.free_form
            .iter()
            .find(|f| self.path_matches(f.path, path))
    }

    fn is_optional(&self, path: &str) -> bool {
        self.optional
            .iter()
            .any(|o| self.path_matches(o.path, path))
    }

    fn kind_of(&self, v: &Value) -> Option<String> {
        let mut parts = Vec::new();
        for k in &self.kind_keys {
            match k {
                KindKey::Field(f) => {
                    let mut cur = v;
                    for seg in f.split('.') {
                        match cur.get(seg) {
                            Some(x) => cur = x,
                            None => {
                                cur = &Value::Null;
                                break;
                            }
                        }
                    }
                    if let Some(s) = cur.as_str() {
                        parts.push(s.to_string());
                    }
                }
                KindKey::EventFamily => {
                    if let Some(s) = v.get("eventType").and_then(Value::as_str) {
                        parts.push(s.split('.').next().unwrap_or(s).to_string());
                    }
                }
            }
        }
        if parts.is_empty() {
            None
        } else {
            Some(parts.join("/"))
        }
    }
}

/// Compare with the generic rules (no free-form paths): the mismatches only.
pub fn compare_shape(recorded: &Value, actual: &Value) -> Vec<Mismatch> {
    compare(recorded, actual, &ShapeRules::generic()).mismatches
}

/// Compare a recorded body with a simulator body under `rules`.
pub fn compare(recorded: &Value, actual: &Value, rules: &ShapeRules) -> ShapeReport {
    let mut report = ShapeReport::default();
    walk("$", recorded, actual, rules, false, &mut report);
    report.mismatches.sort();
    report.mismatches.dedup();
    report.notes.sort();
    report.notes.dedup();
    report
}

fn walk(
    path: &str,
    rec: &Value,
    act: &Value,
    rules: &ShapeRules,
    lenient: bool,
    out: &mut ShapeReport,
) {
    let (rt, at) = (JsonType::of(rec), JsonType::of(act));
    match (rec, act) {
        (Value::Null, Value::Null) => {}
        (Value::Null, _) => out.notes.push(Note::Null {
            path: path.to_string(),
            side: Side::Recorded,
            other: at,
        }),
        (_, Value::Null) => out.notes.push(Note::Null {
            path: path.to_string(),
            side: Side::Simulator,
            other: rt,
        }),
        (Value::Object(r), Value::Object(a)) => {
            let free = rules.free_form_at(path);
            let lenient = lenient || free.is_some();
            if let Some(f) = free {
                for k in f.required {
                    if !a.contains_key(*k) {
                        out.mismatches.push(Mismatch {
                            path: format!("{path}.{k}"),
                            what: What::RequiredKeyMissing,
                        });
                    }
                }
            }
            for (k, rv) in r {
                let p = format!("{path}.{k}");
                match a.get(k) {
                    Some(av) => walk(&p, rv, av, rules, lenient, out),
                    None if lenient || rules.is_optional(&p) => {}
                    None => out.mismatches.push(Mismatch {
                        path: p,
                        what: What::MissingInSimulator {
                            recorded: JsonType::of(rv),
                        },
                    }),
                }
            }
            if !lenient {
                for (k, av) in a {
                    if !r.contains_key(k) && !rules.is_optional(&format!("{path}.{k}")) {
                        out.mismatches.push(Mismatch {
                            path: format!("{path}.{k}"),
                            what: What::ExtraInSimulator {
                                simulator: JsonType::of(av),
                            },
                        });
                    }
                }
            }
        }
        (Value::Array(r), Value::Array(a)) => walk_array(path, r, a, rules, lenient, out),
        _ if rt != at => out.mismatches.push(Mismatch {
            path: path.to_string(),
            what: What::TypeDiffers {
                recorded: rt,
                simulator: at,
            },
        }),
        _ => {}
    }
}

/// Compare one element against candidates; keep the report of the best (fewest mismatches).
fn best_of(
    path: &str,
    one: &Value,
    others: &[&Value],
    one_is_recorded: bool,
    rules: &ShapeRules,
    lenient: bool,
) -> ShapeReport {
    let mut best: Option<ShapeReport> = None;
    for o in others {
        let mut r = ShapeReport::default();
        if one_is_recorded {
            walk(path, one, o, rules, lenient, &mut r);
        } else {
            walk(path, o, one, rules, lenient, &mut r);
        }
        let better = best
            .as_ref()
            .is_none_or(|b| r.mismatches.len() < b.mismatches.len());
        if better {
            let done = r.mismatches.is_empty();
            best = Some(r);
            if done {
                break;
            }
        }
    }
    best.unwrap_or_default()
}

fn walk_array(
    path: &str,
    rec: &[Value],
    act: &[Value],
    rules: &ShapeRules,
    lenient: bool,
    out: &mut ShapeReport,
) {
    let p = format!("{path}[]");
    if rec.is_empty() || act.is_empty() {
        if rec.len() != act.len() {
            let why = if rec.is_empty() {
                "recorded array is empty"
            } else {
                "simulator array is empty"
            };
            out.notes.push(Note::Uncompared {
                path: p,
                why: why.to_string(),
            });
        }
        return;
    }
    let rec_kinds: Vec<Option<String>> = rec.iter().map(|v| rules.kind_of(v)).collect();
    let act_kinds: Vec<Option<String>> = act.iter().map(|v| rules.kind_of(v)).collect();
    // Recorded → simulator.
    for (r, rk) in rec.iter().zip(&rec_kinds) {
        let same: Vec<&Value> = act
            .iter()
            .zip(&act_kinds)
            .filter(|(_, k)| rk.is_some() && *k == rk)
            .map(|(v, _)| v)
            .collect();
        let cands: Vec<&Value> = if same.is_empty() {
            if let Some(k) = rk {
                out.notes.push(Note::Uncompared {
                    path: p.clone(),
                    why: format!(
                        "no simulator element of kind {k}; compared with the closest element"
                    ),
                });
            }
            act.iter().collect()
        } else {
            same
        };
        let best = best_of(&p, r, &cands, true, rules, lenient);
        out.mismatches.extend(best.mismatches);
        out.notes.extend(best.notes);
    }
    // Simulator → recorded, for kinds the recording has (others cannot be judged).
    for (a, ak) in act.iter().zip(&act_kinds) {
        let same: Vec<&Value> = rec
            .iter()
            .zip(&rec_kinds)
            .filter(|(_, k)| *k == ak)
            .map(|(v, _)| v)
            .collect();
        if same.is_empty() {
            continue;
        }
        let best = best_of(&p, a, &same, false, rules, lenient);
        out.mismatches.extend(best.mismatches);
        out.notes.extend(best.notes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The comparison can fail: a key the recording has and the response lacks, and a value of
    /// another JSON type, are each reported with their JSON path (nested, through arrays).
    #[test]
    fn missing_key_and_wrong_type_are_reported_with_their_path() {
        let recorded = json!([{"id": "00u1", "profile": {"login": "a@b.c"}, "credentials": {"provider": {"type": "OKTA"}}}]);
        let response =
            json!([{"id": "00u2", "profile": {"login": 7}, "credentials": {"provider": {}}}]);
        let got = compare_shape(&recorded, &response);
        assert_eq!(
            got,
            vec![
                Mismatch {
                    path: "$[].credentials.provider.type".into(),
                    what: What::MissingInSimulator {
                        recorded: JsonType::String
                    }
                },
                Mismatch {
                    path: "$[].profile.login".into(),
                    what: What::TypeDiffers {
                        recorded: JsonType::String,
                        simulator: JsonType::Number
                    }
                },
            ]
        );
        let report = compare(&recorded, &response, &ShapeRules::generic());
        assert!(!report.is_ok());
        let text = report.to_string();
        assert!(
            text.contains("$[].credentials.provider.type: recorded string, simulator <missing>"),
            "{text}"
        );
        assert!(
            text.contains("$[].profile.login: recorded string, simulator number"),
            "{text}"
        );
        // An object where a list was recorded is a type mismatch at the root.
        assert_eq!(
            compare_shape(&recorded, &json!({"id": "x"})),
            vec![Mismatch {
                path: "$".into(),
                what: What::TypeDiffers {
                    recorded: JsonType::Array,
                    simulator: JsonType::Object
                }
            }]
        );
    }
}
