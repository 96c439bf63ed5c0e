//! Wire-conformance checks for Steward's Okta simulator: the pieces that compare a response
//! with real recorded Okta payloads (`shared/okta/recorded/`) and validate it against Okta's
//! official OpenAPI spec (`shared/okta/openapi/management-minimal.yaml`).
//!
//! The crate is test-only (`publish = false`); its library half is reusable by any test that
//! wants to assert "this looks like Okta":
//!
//! - [`recordings`]: load the recorded samples (meta + body) of an endpoint directory.
//! - [`shape`]: [`shape::compare_shape`]: same keys, same JSON types at every level, with a
//!   per-endpoint allow-list of free-form sub-objects ([`shape::ShapeRules`]).
//! - [`headers`]: the recorded headers must be present with compatible value forms.
//! - [`schema`]: OpenAPI 3.0 → JSON Schema conversion and per-operation validation, with an
//!   explicit list of spec-vs-recording deviations ([`schema::DEVIATIONS`]).

pub mod headers;
pub mod recordings;
pub mod schema;
pub mod shape;

pub use headers::{HeaderMismatch, check_headers};
pub use recordings::{Sample, load_endpoint, load_index_dirs, shared_dir};
pub use schema::{SchemaError, Spec};
pub use shape::{Mismatch, ShapeReport, ShapeRules, compare, compare_shape};
