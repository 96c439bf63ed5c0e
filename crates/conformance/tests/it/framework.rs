//! The comparison and validation framework, checked against the recordings themselves: each
//! recording matches itself, altered copies are flagged with exact paths, recorded headers
//! pass the header-form rules, and every recording validates against the spec (with the
//! documented deviations).

use serde_json::{Value, json};
use steward_conformance::headers::{LinkEntry, check_link_form, parse_links, recorded_as_actual};
use steward_conformance::schema::{DEVIATIONS, convert};
use steward_conformance::shape::{JsonType, Mismatch, Note, Side, What};
use steward_conformance::{
    ShapeRules, Spec, check_headers, compare, compare_shape, load_endpoint, load_index_dirs,
};

fn all_samples() -> Vec<steward_conformance::Sample> {
    load_index_dirs()
        .unwrap()
        .iter()
        .flat_map(|d| load_endpoint(d).unwrap())
        .collect()
}

#[test]
fn every_indexed_endpoint_loads() {
    let dirs = load_index_dirs().unwrap();
    assert_eq!(dirs.len(), 22, "{dirs:?}");
    let samples = all_samples();
    assert_eq!(samples.len(), 63, "README says 63 samples");
    let single: Vec<String> = samples
        .iter()
        .filter(|s| s.is_single_record())
        .map(|s| s.id())
        .collect();
    assert_eq!(single.len(), 5, "{single:?}");
    let s = load_endpoint("users-list").unwrap();
    assert_eq!(s[0].name, "01-py-limit1-page1");
    assert_eq!(s[0].path(), "/api/v1/users");
    assert_eq!(s[0].status, 200);
    assert_eq!(s[0].header("X-Rate-Limit-Limit").unwrap(), ["600"]);
    let logs = load_endpoint("logs").unwrap();
    assert_eq!(logs[0].path(), "/api/v1/logs");
    assert!(logs[0].body_as_list().unwrap().is_array());
}

#[test]
fn every_recording_matches_itself() {
    for s in all_samples() {
        let Some(b) = s.body_as_list() else { continue };
        let r = compare(&b, &b, &ShapeRules::for_endpoint(&s.endpoint));
        assert!(r.is_ok(), "{}: {r}", s.id());
        assert!(compare_shape(&b, &b).is_empty(), "{}", s.id());
    }
}

#[test]
fn altered_copy_is_flagged_with_exact_paths() {
    let s = &load_endpoint("users-get").unwrap()[0];
    let rec = s.body.clone().unwrap();
    let mut alt = rec.clone();
    alt["status"] = json!(3);
    alt.as_object_mut().unwrap().remove("created");
    alt["extra"] = json!({"a": 1});
    alt["type"] = json!(["otyc04qb2rUDcq2YA4x6"]);
    alt["credentials"]["provider"]["name"] = json!(true);
    alt["profile"]["login"] = Value::Null;
    let got = compare_shape(&rec, &alt);
    let m = |path: &str, what: What| Mismatch {
        path: path.into(),
        what,
    };
    assert_eq!(
        got,
        vec![
            m(
                "$.created",
                What::MissingInSimulator {
                    recorded: JsonType::String
                }
            ),
            m(
                "$.credentials.provider.name",
                What::TypeDiffers {
                    recorded: JsonType::String,
                    simulator: JsonType::Bool
                }
            ),
            m(
                "$.extra",
                What::ExtraInSimulator {
                    simulator: JsonType::Object
                }
            ),
            m(
                "$.status",
                What::TypeDiffers {
                    recorded: JsonType::String,
                    simulator: JsonType::Number
                }
            ),
            m(
                "$.type",
                What::TypeDiffers {
                    recorded: JsonType::Object,
                    simulator: JsonType::Array
                }
            ),
        ]
    );
    // The null is a note, not a mismatch, and names the side.
    let r = compare(&rec, &alt, &ShapeRules::generic());
    assert!(r.notes.contains(&Note::Null {
        path: "$.profile.login".into(),
        side: Side::Simulator,
        other: JsonType::String
    }));
    // A readable diff.
    let text = r.to_string();
    assert!(
        text.contains("$.status: recorded string, simulator number"),
        "{text}"
    );
    assert!(
        text.contains("$.created: recorded string, simulator <missing>"),
        "{text}"
    );
}

#[test]
fn free_form_paths_compare_only_common_keys_but_keep_required_ones() {
    let rules = ShapeRules::for_endpoint("users-list");
    let rec = json!([{"id": "a", "profile": {"login": "x", "email": "e", "firstName": "f", "lastName": "l", "city": "c"}}]);
    let ok = json!([{"id": "b", "profile": {"login": "y", "email": "e", "firstName": "f", "lastName": "l", "department": "d"}}]);
    assert!(compare(&rec, &ok, &rules).is_ok());
    let bad = json!([{"id": "b", "profile": {"login": 1, "email": "e", "firstName": "f"}}]);
    let r = compare(&rec, &bad, &rules);
    assert_eq!(
        r.mismatches,
        vec![
            Mismatch {
                path: "$[].profile.lastName".into(),
                what: What::RequiredKeyMissing
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
    // Without the rule the extra/missing profile keys are mismatches.
    assert_eq!(compare_shape(&rec, &ok).len(), 2);
}

#[test]
fn array_elements_are_matched_by_kind() {
    let rules = ShapeRules::for_endpoint("apps-list");
    let rec =
        json!([{"signOnMode": "SAML_2_0", "saml": 1}, {"signOnMode": "BOOKMARK", "url": "u"}]);
    // Order and count differ; each kind finds its partner.
    let act = json!([{"signOnMode": "BOOKMARK", "url": "v"}, {"signOnMode": "SAML_2_0", "saml": 2}, {"signOnMode": "SAML_2_0", "saml": 3}]);
    assert!(compare(&rec, &act, &rules).is_ok());
    // A simulator element of a recorded kind with a wrong shape is caught even when
    // another element of that kind is fine.
    let act = json!([{"signOnMode": "BOOKMARK", "url": "v"}, {"signOnMode": "SAML_2_0", "saml": 2}, {"signOnMode": "SAML_2_0", "saml": "3"}]);
    let r = compare(&rec, &act, &rules);
    assert_eq!(
        r.mismatches,
        vec![Mismatch {
            path: "$[].saml".into(),
            what: What::TypeDiffers {
                recorded: JsonType::Number,
                simulator: JsonType::String
            }
        }]
    );
    // A kind the simulator lacks is noted and compared with the closest element.
    let act = json!([{"signOnMode": "SAML_2_0", "saml": 2}]);
    let r = compare(&rec, &act, &rules);
    assert!(
        r.notes
            .iter()
            .any(|n| matches!(n, Note::Uncompared { why, .. } if why.contains("BOOKMARK"))),
        "{:?}",
        r.notes
    );
    assert_eq!(r.mismatches.len(), 2, "{r}");
    // Log events match by eventType family.
    let rules = ShapeRules::for_endpoint("logs");
    let rec =
        json!([{"eventType": "user.session.start", "a": 1}, {"eventType": "system.x", "b": 1}]);
    let act = json!([{"eventType": "system.rate.limit.violation", "b": 2}, {"eventType": "user.lifecycle.create", "a": 3}]);
    assert!(compare(&rec, &act, &rules).is_ok());
}

#[test]
fn recorded_headers_pass_the_header_rules() {
    let mut checked = 0;
    for s in all_samples() {
        let got = check_headers(&s.headers, &recorded_as_actual(&s.headers));
        assert!(got.is_empty(), "{}: {got:?}", s.id());
        checked += s.headers.len();
    }
    assert!(checked > 150, "{checked}");
}

#[test]
fn header_rules_flag_bad_forms() {
    let rec = vec![
        (
            "Content-Type".to_string(),
            vec!["application/json;charset=UTF-8".to_string()],
        ),
        (
            "Date".to_string(),
            vec!["Thu, 27 Aug 2020 18:19:48 GMT".to_string()],
        ),
        ("x-rate-limit-limit".to_string(), vec!["600".to_string()]),
        (
            "x-okta-request-id".to_string(),
            vec!["X0f5RKB5EbMHdk7Quc-KZwAABOA".to_string()],
        ),
        (
            "link".to_string(),
            vec!["<https://test.okta.com/api/v1/users?limit=1>; rel=\"self\"".to_string()],
        ),
    ];
    let good: Vec<(String, String)> = vec![
        ("content-type".into(), "application/json".into()),
        ("date".into(), "Mon, 23 Nov 2026 00:00:00 GMT".into()),
        ("X-Rate-Limit-Limit".into(), "1200".into()),
        ("x-okta-request-id".into(), "abc".into()),
        (
            "link".into(),
            "<http://127.0.0.1:1/api/v1/users?limit=1>; rel=\"self\"".into(),
        ),
        (
            "link".into(),
            "<http://127.0.0.1:1/api/v1/users?after=x&limit=1>; rel=\"next\"".into(),
        ),
    ];
    assert_eq!(check_headers(&rec, &good), vec![]);
    let bad: Vec<(String, String)> = vec![
        ("content-type".into(), "text/html".into()),
        ("date".into(), "2026-11-23T00:00:00Z".into()),
        ("x-rate-limit-limit".into(), "lots".into()),
        (
            "link".into(),
            "<http://127.0.0.1:1/a?after=x>; rel=\"next\", <http://127.0.0.1:1/a>; rel=\"self\""
                .into(),
        ),
    ];
    let got: Vec<String> = check_headers(&rec, &bad)
        .iter()
        .map(|m| m.header.clone())
        .collect();
    assert_eq!(
        got,
        [
            "content-type",
            "date",
            "x-rate-limit-limit",
            "x-okta-request-id",
            "link"
        ]
    );
}

#[test]
fn link_parser_handles_both_recorded_forms() {
    let joined = "<https://a.okta.com/api/v1/apps?limit=1>; rel=\"self\", <https://a.okta.com/api/v1/apps?after=x&limit=1>; rel=\"next\"";
    let e = parse_links([joined]).unwrap();
    assert_eq!(
        e,
        vec![
            LinkEntry {
                url: "https://a.okta.com/api/v1/apps?limit=1".into(),
                rel: "self".into()
            },
            LinkEntry {
                url: "https://a.okta.com/api/v1/apps?after=x&limit=1".into(),
                rel: "next".into()
            },
        ]
    );
    assert_eq!(
        parse_links(["<https://a/x>; rel=\"self\"", "<https://a/y>; rel=\"next\""])
            .unwrap()
            .len(),
        2
    );
    assert!(check_link_form(&e).is_ok());
    assert!(parse_links(["</relative>; rel=\"self\""]).is_err());
    assert!(parse_links(["<https://a/x>; rel=self"]).is_err());
    assert!(parse_links(["https://a/x; rel=\"self\""]).is_err());
}

#[test]
fn conversion_rules() {
    assert_eq!(
        convert(&json!({"type": "string", "nullable": true, "readOnly": true, "example": "x"})),
        json!({"type": ["string", "null"]})
    );
    assert_eq!(
        convert(
            &json!({"$ref": "#/components/schemas/User", "nullable": true, "description": "d"})
        ),
        json!({"anyOf": [{"$ref": "#/$defs/User"}, {"type": "null"}]})
    );
    assert_eq!(
        convert(
            &json!({"type": "string", "enum": ["A"], "nullable": true, "x-okta-lifecycle": {}})
        ),
        json!({"type": ["string", "null"], "enum": ["A", null]})
    );
    assert_eq!(
        convert(
            &json!({"oneOf": [{"$ref": "#/components/schemas/A"}], "discriminator": {"propertyName": "t"}})
        ),
        json!({"anyOf": [{"$ref": "#/$defs/A"}]})
    );
    assert_eq!(
        convert(&json!({"type": "integer", "minimum": 1, "exclusiveMinimum": true})),
        json!({"type": "integer", "exclusiveMinimum": 1})
    );
    // Property *names* that look like dropped keywords are kept.
    assert_eq!(
        convert(
            &json!({"type": "object", "properties": {"example": {"type": "string"}, "x-y": {"type": "integer"}}})
        ),
        json!({"type": "object", "properties": {"example": {"type": "string"}, "x-y": {"type": "integer"}}})
    );
}

#[test]
fn templates_prefer_literal_segments() {
    let spec = Spec::global().unwrap();
    assert_eq!(
        spec.find_template("GET", "/api/v1/users/me"),
        Some("/api/v1/users/{id}")
    );
    assert_eq!(
        spec.find_template("GET", "/api/v1/users/00u1/roles"),
        Some("/api/v1/users/{userId}/roles")
    );
    assert_eq!(
        spec.find_template("GET", "/api/v1/apps/0oa1/users"),
        Some("/api/v1/apps/{appId}/users")
    );
    assert_eq!(
        spec.find_template("POST", "/api/v1/users/00u1/lifecycle/deactivate"),
        Some("/api/v1/users/{id}/lifecycle/deactivate")
    );
    assert_eq!(
        spec.find_template("GET", "/api/v1/iam/assignees/users"),
        Some("/api/v1/iam/assignees/users")
    );
    assert_eq!(spec.find_template("GET", "/api/v1/nothing/here"), None);
}

/// The self-check: every recording validates against the spec through the same code the
/// simulator tests use (with [`DEVIATIONS`] applied).
#[test]
fn every_recording_validates_against_the_spec() {
    let spec = Spec::global().unwrap();
    let mut failures = Vec::new();
    let mut validated = 0;
    for s in all_samples() {
        let body = s.body_as_list();
        match spec.validate(&s.method, &s.path(), s.status, body.as_ref()) {
            Ok(_) => validated += 1,
            Err(e) => failures.push(format!("{}: {e}", s.id())),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} recordings fail:\n{}",
        failures.len(),
        validated + failures.len(),
        failures.join("\n")
    );
    assert_eq!(validated, 63);
    assert!(!DEVIATIONS.is_empty() || validated == 63);
}

#[test]
fn the_validator_rejects_broken_bodies() {
    let spec = Spec::global().unwrap();
    let s = &load_endpoint("users-get").unwrap()[0];
    let mut user = s.body.clone().unwrap();
    assert!(spec.validate("GET", &s.path(), 200, Some(&user)).is_ok());
    user["status"] = json!("HAPPY");
    let e = spec
        .validate("GET", &s.path(), 200, Some(&user))
        .unwrap_err()
        .to_string();
    assert!(e.contains("/status"), "{e}");
    let mut user = s.body.clone().unwrap();
    user["profile"] = json!("x");
    assert!(spec.validate("GET", &s.path(), 200, Some(&user)).is_err());
    // A list endpoint rejects an object; the error envelope rejects a missing code type.
    assert!(
        spec.validate("GET", "/api/v1/users", 200, Some(&json!({"id": "x"})))
            .is_err()
    );
    assert!(
        spec.validate_def("Error", &json!({"errorCode": 7}))
            .is_err()
    );
    assert!(
        spec.validate_def(
            "Error",
            &json!({"errorCode": "E0000007", "errorCauses": []})
        )
        .is_ok()
    );
}
