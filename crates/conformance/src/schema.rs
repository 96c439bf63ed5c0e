//! OpenAPI-schema validation of response bodies against Okta's official Management API spec.
//!
//! How the OpenAPI 3.0.3 document becomes JSON Schema (draft 2020-12):
//! - every `components.schemas.X` becomes `$defs/X`; `$ref: '#/components/schemas/X'` is
//!   rewritten to `#/$defs/X`; siblings of a `$ref` are ignored, as OpenAPI 3.0 says;
//! - `nullable: true` adds `"null"` to `type` (and `null` to an `enum`); on a `$ref` or a
//!   schema without `type` it becomes `anyOf: [schema, {"type": "null"}]`;
//! - `oneOf` becomes `anyOf`: Okta's `oneOf`s list open objects (no
//!   `additionalProperties: false`), so a valid body often matches several branches and a
//!   strict `oneOf` would reject it;
//! - OpenAPI 3.0's boolean `exclusiveMinimum`/`exclusiveMaximum` become the numeric form;
//! - dropped: `discriminator` (the base schema is validated; the mapped subtype is not chosen),
//!   `example(s)`, `xml`, `x-*`, `readOnly`/`writeOnly`, `description`, `default`, `title`,
//!   `externalDocs`, `deprecated`;
//! - kept: `type`, `enum`, `required`, `properties`, `items`, `additionalProperties`,
//!   `allOf`/`anyOf`/`not`, numeric and length bounds, `pattern`; `format` is kept only as an
//!   annotation (format validation is off: Okta's `date-time`s are fine, but e.g. `uri` or
//!   `email` formats are not what a shape check is about).
//! - `additionalProperties`: OpenAPI's default (extra keys allowed) is kept; where the spec
//!   says `additionalProperties: false` it is enforced. Extra keys are the shape comparator's
//!   job (against real recordings), not the spec's.
//!
//! Where the spec and a real recording disagree, the recording wins: [`DEVIATIONS`] patches
//! the converted schemas and is applied to both recordings and simulator responses.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{Map, Value, json};

#[derive(Debug, Clone, thiserror::Error)]
pub enum SchemaError {
    #[error("loading the spec {path}: {why}")]
    Load { path: String, why: String },
    #[error("no operation in the spec for {method} {path}")]
    NoOperation { method: String, path: String },
    #[error(
        "{method} {template}: the spec has no application/json response schema for status {status}"
    )]
    NoResponse {
        method: String,
        template: String,
        status: u16,
    },
    #[error("compiling the schema of {what}: {why}")]
    Compile { what: String, why: String },
    #[error("deviation {pointer}: {why}")]
    Deviation { pointer: String, why: String },
    #[error("{method} {template} {status}: body does not match the spec:\n  {}", errors.join("\n  "))]
    Invalid {
        method: String,
        template: String,
        status: u16,
        errors: Vec<String>,
    },
}

/// One known disagreement between the spec and real recorded Okta responses. Applied to the
/// converted `$defs` (JSON pointer from the `$defs` root, e.g. `/UserStatus/enum`).
#[derive(Debug, Clone, Copy)]
pub struct Deviation {
    pub pointer: &'static str,
    pub change: Change,
    /// One line: which recording shows it.
    pub reason: &'static str,
}

#[derive(Debug, Clone, Copy)]
pub enum Change {
    /// Add values to an `enum` array at `pointer`.
    AddEnum(&'static [&'static str]),
    /// Allow `null` at `pointer` (a schema).
    AllowNull,
    /// Remove a name from the `required` array at `pointer`.
    NotRequired(&'static str),
    /// Replace the schema at `pointer` with `{}` (anything goes).
    Any,
}

const fn null(pointer: &'static str, reason: &'static str) -> Deviation {
    Deviation {
        pointer,
        change: Change::AllowNull,
        reason,
    }
}

/// Known spec-vs-recording deviations (the recording wins). Mostly `null`s: Okta serialises
/// unset properties as `null` where the spec forgets `nullable: true`.
pub const DEVIATIONS: &[Deviation] = &[
    // System Log (REC logs/01..03, airbyte records of GET /api/v1/logs).
    null(
        "/LogEvent/properties/legacyEventType",
        "REC logs/01: legacyEventType null",
    ),
    null("/LogEvent/properties/outcome", "REC logs/01: outcome null"),
    null(
        "/LogActor/properties/detailEntry",
        "REC logs/01..03: actor.detailEntry null",
    ),
    null(
        "/LogClient/properties/device",
        "REC logs/02: client.device null",
    ),
    null(
        "/LogClient/properties/geographicalContext",
        "REC logs/01..03: client.geographicalContext null",
    ),
    null(
        "/LogClient/properties/id",
        "REC logs/01..03: client.id null",
    ),
    null(
        "/LogClient/properties/ipAddress",
        "REC logs/02: client.ipAddress null",
    ),
    null(
        "/LogClient/properties/userAgent",
        "REC logs/02: client.userAgent null",
    ),
    null(
        "/LogClient/properties/zone",
        "REC logs/02: client.zone null",
    ),
    null(
        "/LogAuthenticationContext/properties/authenticationProvider",
        "REC logs/01..03: null",
    ),
    null(
        "/LogAuthenticationContext/properties/credentialProvider",
        "REC logs/01..03: null",
    ),
    null(
        "/LogAuthenticationContext/properties/credentialType",
        "REC logs/01..03: null",
    ),
    null(
        "/LogAuthenticationContext/properties/issuer",
        "REC logs/01..03: null",
    ),
    null(
        "/LogAuthenticationContext/properties/interface",
        "REC logs/01..03: null",
    ),
    null(
        "/LogOutcome/properties/reason",
        "REC logs/02: outcome.reason null",
    ),
    null(
        "/LogTarget/properties/alternateId",
        "REC logs/01: target[].alternateId null",
    ),
    null(
        "/LogTarget/properties/displayName",
        "REC logs/01: target[].displayName null",
    ),
    null(
        "/LogTarget/properties/detailEntry",
        "REC logs/01..03: target[].detailEntry null",
    ),
    null(
        "/LogIpAddress/properties/source",
        "REC logs/01: request.ipChain[].source null",
    ),
    null(
        "/LogIpAddress/properties/geographicalContext",
        "REC logs/01: request.ipChain[].geographicalContext null",
    ),
    // Apps (REC apps-list/01..02).
    null(
        "/Application/properties/universalLogout",
        "REC apps-list/01: universalLogout null",
    ),
    null(
        "/ApplicationAccessibility/properties/errorRedirectUrl",
        "REC apps-list/01: accessibility.errorRedirectUrl null",
    ),
    null(
        "/ApplicationAccessibility/properties/loginRedirectUrl",
        "REC apps-list/01: accessibility.loginRedirectUrl null",
    ),
    // App users (REC apps-users/01..04).
    null(
        "/AppUser/properties/externalId",
        "REC apps-users/01: externalId null",
    ),
    null(
        "/AppUser/properties/lastSync",
        "REC apps-users/01: lastSync null",
    ),
    // Groups (REC users-groups/01, groups-list/01).
    null(
        "/OktaUserGroupProfile/properties/description",
        "REC users-groups/01: profile.description null",
    ),
    // Policies (REC policies-access-policy/01).
    Deviation {
        pointer: "/Policy/properties/_embedded",
        change: Change::Any,
        reason: "REC policies-access-policy/01: _embedded.resourceType is a string (\"APP\"), the spec says every value is an object",
    },
    // Factors (REC users-factors/01).
    Deviation {
        pointer: "/LinksResend/properties/resend",
        change: Change::Any,
        reason: "REC users-factors/01: _links.resend is an array of named links, the spec says one object",
    },
];

/// Responses the spec documents without a JSON body schema but Okta answers with one
/// (method, template, status, schema, reason). The recording wins.
pub const RESPONSE_DEVIATIONS: &[(&str, &str, u16, &str, &str)] = &[(
    "POST",
    "/api/v1/users/{id}/lifecycle/deactivate",
    200,
    r#"{"type": "object", "maxProperties": 0}"#,
    "REC users-deactivate/01 (2025): 200 with body {}; the spec's 200 has no content",
)];

/// The loaded spec: raw document, converted `$defs`, path templates, compiled validators.
pub struct Spec {
    doc: Value,
    defs: Map<String, Value>,
    templates: Vec<Template>,
    cache: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
}

impl std::fmt::Debug for Spec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spec")
            .field("defs", &self.defs.len())
            .field("paths", &self.templates.len())
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
struct Template {
    template: String,
    segs: Vec<Seg>,
}

#[derive(Debug, Clone, PartialEq)]
enum Seg {
    Lit(String),
    Param,
}

/// What a successful validation checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validated {
    pub template: String,
    /// `true` when the operation does not document this error status and the shared `Error`
    /// schema was used instead.
    pub used_error_fallback: bool,
}

static GLOBAL: OnceLock<Result<Spec, SchemaError>> = OnceLock::new();

impl Spec {
    /// The spec from `shared/okta/openapi/management-minimal.yaml`, loaded once per process.
    pub fn global() -> Result<&'static Spec, SchemaError> {
        GLOBAL
            .get_or_init(|| Spec::load(&crate::recordings::spec_path()))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Parse the YAML, convert the schemas and apply [`DEVIATIONS`].
    pub fn load(path: &Path) -> Result<Spec, SchemaError> {
        let load_err = |why: String| SchemaError::Load {
            path: path.display().to_string(),
            why,
        };
        let text = std::fs::read_to_string(path).map_err(|e| load_err(e.to_string()))?;
        let doc: Value = serde_yaml::from_str(&text).map_err(|e| load_err(e.to_string()))?;
        Spec::from_document(doc, DEVIATIONS)
    }

    /// Build from an already parsed OpenAPI document (tests use small ones).
    pub fn from_document(doc: Value, deviations: &[Deviation]) -> Result<Spec, SchemaError> {
        let mut defs = Map::new();
        if let Some(schemas) = doc
            .pointer("/components/schemas")
            .and_then(Value::as_object)
        {
            for (name, s) in schemas {
                defs.insert(name.clone(), convert(s));
            }
        }
        for d in deviations {
            apply(&mut defs, d)?;
        }
        let mut templates = Vec::new();
        if let Some(paths) = doc.get("paths").and_then(Value::as_object) {
            for t in paths.keys() {
                let segs = t
                    .trim_start_matches('/')
                    .split('/')
                    .map(|s| {
                        if s.starts_with('{') && s.ends_with('}') {
                            Seg::Param
                        } else {
                            Seg::Lit(s.to_string())
                        }
                    })
                    .collect();
                templates.push(Template {
                    template: t.clone(),
                    segs,
                });
            }
        }
        Ok(Spec {
            doc,
            defs,
            templates,
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// The raw OpenAPI document (as JSON).
    pub fn document(&self) -> &Value {
        &self.doc
    }

    /// The converted JSON Schema of a component (`User`, `Error`, ...).
    pub fn def(&self, name: &str) -> Option<&Value> {
        self.defs.get(name)
    }

    /// The path template that best matches a request path for `method`: every segment
    /// matches, and among matches the one with the most literal segments wins
    /// (`/users/{id}/roles` over `/users/{id}/{x}`).
    pub fn find_template(&self, method: &str, path: &str) -> Option<&str> {
        let path = path.split('?').next().unwrap_or(path);
        let segs: Vec<&str> = path
            .trim_start_matches('/')
            .trim_end_matches('/')
            .split('/')
            .collect();
        let m = method.to_ascii_lowercase();
        self.templates
            .iter()
            .filter(|t| t.segs.len() == segs.len())
            .filter(|t| {
                t.segs.iter().zip(&segs).all(|(a, b)| match a {
                    Seg::Lit(l) => l == b,
                    Seg::Param => !b.is_empty(),
                })
            })
            .filter(|t| {
                self.doc
                    .get("paths")
                    .and_then(|p| p.get(&t.template))
                    .and_then(|p| p.get(&m))
                    .is_some()
            })
            .max_by_key(|t| t.segs.iter().filter(|s| matches!(s, Seg::Lit(_))).count())
            .map(|t| t.template.as_str())
    }

    /// The converted response schema for (method, path, status) and whether the shared
    /// `Error` fallback was used.
    pub fn response_schema(
        &self,
        method: &str,
        path: &str,
        status: u16,
    ) -> Result<(String, Value, bool), SchemaError> {
        let template = match self.find_template(method, path) {
            Some(t) => t.to_string(),
            // Unknown paths and methods get Okta's error envelope too (404 E0000008, 405).
            None if status >= 400 => {
                return Ok((
                    format!("<no operation: {path}>"),
                    json!({"$ref": "#/$defs/Error"}),
                    true,
                ));
            }
            None => {
                return Err(SchemaError::NoOperation {
                    method: method.to_string(),
                    path: path.to_string(),
                });
            }
        };
        let op = self
            .doc
            .get("paths")
            .and_then(|p| p.get(&template))
            .and_then(|p| p.get(method.to_ascii_lowercase()))
            .ok_or_else(|| SchemaError::NoOperation {
                method: method.to_string(),
                path: path.to_string(),
            })?;
        let no_response = || SchemaError::NoResponse {
            method: method.to_string(),
            template: template.clone(),
            status,
        };
        let upper = method.to_ascii_uppercase();
        if let Some((.., schema, _)) = RESPONSE_DEVIATIONS
            .iter()
            .find(|(m, t, st, ..)| *m == upper && *t == template && *st == status)
        {
            let schema: Value = serde_json::from_str(schema).map_err(|_| no_response())?;
            return Ok((template.clone(), schema, false));
        }
        let resp = op.get("responses").and_then(|r| r.get(status.to_string()));
        let resp = match resp {
            Some(r) => self.resolve(r),
            None if status >= 400 => {
                // Every Okta error uses the same envelope; operations list only some statuses.
                return Ok((template.clone(), json!({"$ref": "#/$defs/Error"}), true));
            }
            None => return Err(no_response()),
        };
        let schema = resp
            .pointer("/content/application~1json/schema")
            .ok_or_else(no_response)?;
        Ok((template.clone(), convert(schema), false))
    }

    /// Follow a `$ref` to `#/components/...` in the raw document (responses, examples).
    fn resolve<'a>(&'a self, v: &'a Value) -> &'a Value {
        match v
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix('#'))
        {
            Some(ptr) => self.doc.pointer(ptr).unwrap_or(v),
            None => v,
        }
    }

    /// Compile (once, cached) a validator for a converted schema that may refer to `$defs`.
    pub fn validator(
        &self,
        key: &str,
        schema: &Value,
    ) -> Result<Arc<jsonschema::Validator>, SchemaError> {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(v) = cache.get(key) {
            return Ok(v.clone());
        }
        let mut root = Map::new();
        root.insert(
            "$schema".into(),
            json!("https://json-schema.org/draft/2020-12/schema"),
        );
        root.insert("$defs".into(), Value::Object(self.defs.clone()));
        root.insert("allOf".into(), json!([schema]));
        let v = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .should_validate_formats(false)
            .build(&Value::Object(root))
            .map_err(|e| SchemaError::Compile {
                what: key.to_string(),
                why: e.to_string(),
            })?;
        let v = Arc::new(v);
        cache.insert(key.to_string(), v.clone());
        Ok(v)
    }

    /// Validate a response body. `Ok` tells which template matched; a 204 / empty body
    /// (`None`) is valid when the operation documents that status.
    pub fn validate(
        &self,
        method: &str,
        path: &str,
        status: u16,
        body: Option<&Value>,
    ) -> Result<Validated, SchemaError> {
        let body = match body {
            Some(b) => b,
            None => {
                let template = self
                    .find_template(method, path)
                    .ok_or_else(|| SchemaError::NoOperation {
                        method: method.to_string(),
                        path: path.to_string(),
                    })?
                    .to_string();
                return Ok(Validated {
                    template,
                    used_error_fallback: false,
                });
            }
        };
        let (template, schema, fallback) = self.response_schema(method, path, status)?;
        let key = format!("{} {template} {status}", method.to_ascii_uppercase());
        let validator = self.validator(&key, &schema)?;
        let errors: Vec<String> = validator
            .iter_errors(body)
            .map(|e| format!("at {:?}: {e}", e.instance_path().as_str()))
            .take(20)
            .collect();
        if errors.is_empty() {
            Ok(Validated {
                template,
                used_error_fallback: fallback,
            })
        } else {
            Err(SchemaError::Invalid {
                method: method.to_ascii_uppercase(),
                template,
                status,
                errors,
            })
        }
    }

    /// Validate against a named component (`User`, `Error`...).
    pub fn validate_def(&self, name: &str, body: &Value) -> Result<(), SchemaError> {
        let schema = json!({"$ref": format!("#/$defs/{name}")});
        let validator = self.validator(&format!("def {name}"), &schema)?;
        let errors: Vec<String> = validator
            .iter_errors(body)
            .map(|e| format!("at {:?}: {e}", e.instance_path().as_str()))
            .take(20)
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(SchemaError::Invalid {
                method: "-".into(),
                template: format!("#/$defs/{name}"),
                status: 0,
                errors,
            })
        }
    }
}

/// Keywords kept verbatim (their values are not schemas).
const KEEP: &[&str] = &[
    "type",
    "enum",
    "format",
    "required",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
    "multipleOf",
    "const",
];

fn rewrite_ref(r: &str) -> String {
    match r.strip_prefix("#/components/schemas/") {
        Some(rest) => format!("#/$defs/{rest}"),
        None => r.to_string(),
    }
}

/// Convert one OpenAPI 3.0 schema object to JSON Schema 2020-12 (see the module docs).
pub fn convert(s: &Value) -> Value {
    let Some(obj) = s.as_object() else {
        // `true`/`false` schemas and oddities pass through.
        return s.clone();
    };
    let nullable = obj
        .get("nullable")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if let Some(r) = obj.get("$ref").and_then(Value::as_str) {
        let inner = json!({"$ref": rewrite_ref(r)});
        return if nullable {
            json!({"anyOf": [inner, {"type": "null"}]})
        } else {
            inner
        };
    }
    let mut out = Map::new();
    for (k, v) in obj {
        match k.as_str() {
            "properties" => {
                let props: Map<String, Value> = v
                    .as_object()
                    .map(|m| m.iter().map(|(n, s)| (n.clone(), convert(s))).collect())
                    .unwrap_or_default();
                out.insert(k.clone(), Value::Object(props));
            }
            "items" | "not" => {
                out.insert(k.clone(), convert(v));
            }
            "additionalProperties" => {
                out.insert(
                    k.clone(),
                    if v.is_object() { convert(v) } else { v.clone() },
                );
            }
            "allOf" | "anyOf" | "oneOf" => {
                let list: Vec<Value> = v
                    .as_array()
                    .map(|a| a.iter().map(convert).collect())
                    .unwrap_or_default();
                let key = if k == "oneOf" { "anyOf" } else { k.as_str() };
                // A schema with both `anyOf` and `oneOf`: keep both by nesting into `allOf`.
                if let Some(prev) = out.remove(key) {
                    let mut all = out
                        .remove("allOf")
                        .and_then(|a| a.as_array().cloned())
                        .unwrap_or_default();
                    all.push(json!({key: prev}));
                    all.push(json!({key: list}));
                    out.insert("allOf".into(), Value::Array(all));
                } else {
                    out.insert(key.to_string(), Value::Array(list));
                }
            }
            "exclusiveMinimum" | "exclusiveMaximum" => {
                // OpenAPI 3.0: boolean modifiers of minimum/maximum.
                let bound = if k == "exclusiveMinimum" {
                    "minimum"
                } else {
                    "maximum"
                };
                if v.as_bool() == Some(true)
                    && let Some(b) = obj.get(bound)
                {
                    out.insert(k.clone(), b.clone());
                }
            }
            _ if KEEP.contains(&k.as_str()) => {
                out.insert(k.clone(), v.clone());
            }
            _ => {}
        }
    }
    // A boolean exclusive bound replaces the inclusive one.
    for (ex, bound) in [
        ("exclusiveMinimum", "minimum"),
        ("exclusiveMaximum", "maximum"),
    ] {
        if out.contains_key(ex) {
            out.remove(bound);
        }
    }
    if nullable {
        match out.get_mut("type") {
            Some(Value::String(t)) => {
                let t = t.clone();
                out.insert("type".into(), json!([t, "null"]));
            }
            Some(Value::Array(a)) => {
                if !a.iter().any(|x| x == "null") {
                    a.push(json!("null"));
                }
            }
            _ => {
                return json!({"anyOf": [Value::Object(out), {"type": "null"}]});
            }
        }
        if let Some(Value::Array(e)) = out.get_mut("enum")
            && !e.iter().any(Value::is_null)
        {
            e.push(Value::Null);
        }
    }
    Value::Object(out)
}

fn apply(defs: &mut Map<String, Value>, d: &Deviation) -> Result<(), SchemaError> {
    let err = |why: &str| SchemaError::Deviation {
        pointer: d.pointer.to_string(),
        why: why.to_string(),
    };
    let (first, rest) = d
        .pointer
        .trim_start_matches('/')
        .split_once('/')
        .unwrap_or((d.pointer.trim_start_matches('/'), ""));
    let root = defs.get_mut(first).ok_or_else(|| err("no such schema"))?;
    let target = if rest.is_empty() {
        root
    } else {
        root.pointer_mut(&format!("/{rest}"))
            .ok_or_else(|| err("no such path"))?
    };
    match d.change {
        Change::AddEnum(vals) => {
            let e = target
                .as_array_mut()
                .ok_or_else(|| err("not an enum array"))?;
            for v in vals {
                if !e.iter().any(|x| x == v) {
                    e.push(json!(v));
                }
            }
        }
        Change::AllowNull => {
            let t = std::mem::take(target);
            *target = json!({"anyOf": [t, {"type": "null"}]});
        }
        Change::NotRequired(name) => {
            let r = target
                .as_array_mut()
                .ok_or_else(|| err("not a required array"))?;
            let before = r.len();
            r.retain(|x| x != name);
            if r.len() == before {
                return Err(err("name not in required"));
            }
        }
        Change::Any => *target = json!({}),
    }
    Ok(())
}
