//! A record's source object, kept as the JSON text the source sent.
//!
//! Records carry their source object so access requests and evidence can show everything
//! that was read, but nothing queries inside it on the hot path. Keeping it as text (not a
//! `serde_json::Value` tree) makes a sync copy each object once instead of building, then
//! re-serialising, then freeing a tree of small allocations per object: those trees were a
//! third of a large sync's CPU. Readers that do look inside parse it on demand.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use serde_json::value::RawValue;

/// JSON text of one source object (always valid JSON).
#[derive(Clone)]
pub struct Raw(Box<RawValue>);

impl Raw {
    /// `null`: a record with no source object of its own (derived records).
    pub fn null() -> Raw {
        Raw(Box::default())
    }

    /// The raw text of one JSON value; `None` when `text` is not valid JSON.
    pub fn from_json_text(text: &str) -> Option<Raw> {
        RawValue::from_string(text.to_owned()).ok().map(Raw)
    }

    /// Borrowed JSON (a page item) copied into its own allocation.
    pub fn from_raw_value(v: &RawValue) -> Raw {
        Raw(v.to_owned())
    }

    /// The JSON text, exactly as kept.
    pub fn as_str(&self) -> &str {
        self.0.get()
    }

    /// The source object parsed (for the few readers that look inside it).
    pub fn to_value(&self) -> Value {
        serde_json::from_str(self.0.get()).unwrap_or(Value::Null)
    }

    /// One top-level member of the source object, parsed; `None` when it is absent or the
    /// object is not an object.
    pub fn get(&self, key: &str) -> Option<Value> {
        match self.to_value() {
            Value::Object(mut m) => m.remove(key),
            _ => None,
        }
    }
}

impl Default for Raw {
    fn default() -> Self {
        Raw::null()
    }
}

impl From<Value> for Raw {
    fn from(v: Value) -> Raw {
        Raw::from(&v)
    }
}

impl From<&Value> for Raw {
    fn from(v: &Value) -> Raw {
        // Serialising a `Value` cannot fail (its keys are strings); null is the safe fallback.
        serde_json::value::to_raw_value(v)
            .map(Raw)
            .unwrap_or_else(|_| Raw::null())
    }
}

/// Equal when the JSON values are equal (key order and spacing aside).
impl PartialEq for Raw {
    fn eq(&self, other: &Raw) -> bool {
        self.as_str() == other.as_str() || self.to_value() == other.to_value()
    }
}

impl PartialEq<Value> for Raw {
    fn eq(&self, other: &Value) -> bool {
        &self.to_value() == other
    }
}

impl fmt::Debug for Raw {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Raw {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Raw {
    /// Works with serde_json's deserializers (text and `Value`), which are the store's and
    /// the API's; a record is never read through another format.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Raw, D::Error> {
        Box::<RawValue>::deserialize(d).map(Raw)
    }
}

/// A [`Raw`] from `serde_json::json!` syntax (tests, benches, small derived objects).
#[macro_export]
macro_rules! raw_json {
    ($($json:tt)+) => {
        $crate::Raw::from(::serde_json::json!($($json)+))
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn text_is_kept_verbatim_and_parsed_on_demand() {
        let r = Raw::from_json_text(r#"{"b":1,"a":{"x":"y"}}"#).unwrap();
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"b":1,"a":{"x":"y"}}"#
        );
        assert_eq!(r.get("a"), Some(json!({"x": "y"})));
        assert_eq!(r.get("missing"), None);
        assert_eq!(r, json!({"a": {"x": "y"}, "b": 1}));
        assert!(Raw::from_json_text("{not json").is_none());
    }

    #[test]
    fn reads_back_from_text_and_from_a_value() {
        #[derive(Deserialize, Serialize)]
        struct S {
            raw: Raw,
        }
        let s: S = serde_json::from_str(r#"{"raw": {"k": [1, 2]}}"#).unwrap();
        assert_eq!(s.raw.as_str(), r#"{"k": [1, 2]}"#);
        let v: S = serde_json::from_value(json!({"raw": {"k": [1, 2]}})).unwrap();
        assert_eq!(v.raw, json!({"k": [1, 2]}));
        assert_eq!(
            serde_json::to_value(&v).unwrap(),
            json!({"raw": {"k": [1, 2]}})
        );
        assert_eq!(Raw::null().as_str(), "null");
        assert_eq!(raw_json!({"a": 1}), json!({"a": 1}));
    }
}
