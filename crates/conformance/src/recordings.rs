//! Loader for the shared fixture pack of recorded Okta responses (`shared/okta/recorded/`):
//! one directory per endpoint, each sample a `NN-src-what.meta.json` plus an optional body file.

use std::path::{Path, PathBuf};

use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("reading {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("parsing {path}: {source}")]
    Json {
        path: String,
        source: serde_json::Error,
    },
    #[error("{path}: {what}")]
    Invalid { path: String, what: String },
}

/// One recorded response.
#[derive(Debug, Clone)]
pub struct Sample {
    /// Endpoint directory, e.g. `users-list`.
    pub endpoint: String,
    /// Sample name, e.g. `01-py-limit1-page1`.
    pub name: String,
    /// Request method (`GET` for single-record samples, taken from `record_of`).
    pub method: String,
    /// Request URL as recorded, or `None` for single-record samples (`record_of`).
    pub url: Option<String>,
    /// Path template for single-record samples (`record_of: "GET /api/v1/logs"`).
    pub record_of: Option<String>,
    pub status: u16,
    /// Kept headers, name as recorded (case varies) with all recorded values.
    pub headers: Vec<(String, Vec<String>)>,
    /// The body (`None` for 204 / no body). Single-record samples hold one array element.
    pub body: Option<Value>,
    pub note: Option<String>,
}

impl Sample {
    /// Values of a header, case-insensitive.
    pub fn header(&self, name: &str) -> Option<&[String]> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    /// `true` when the body is one element of the list the endpoint returns (airbyte records).
    pub fn is_single_record(&self) -> bool {
        self.record_of.is_some()
    }

    /// The request path (no host, no query), from the URL or the `record_of` template.
    pub fn path(&self) -> String {
        if let Some(u) = &self.url {
            return url::Url::parse(u)
                .map(|u| u.path().to_string())
                .unwrap_or_else(|_| u.clone());
        }
        self.record_of
            .as_deref()
            .and_then(|r| r.split_once(' '))
            .map(|(_, p)| p.to_string())
            .unwrap_or_default()
    }

    /// The body as a list response: single-record samples are wrapped in an array so they
    /// compare with a whole simulator page.
    pub fn body_as_list(&self) -> Option<Value> {
        match (&self.body, self.is_single_record()) {
            (Some(b), true) => Some(Value::Array(vec![b.clone()])),
            (b, _) => b.clone(),
        }
    }

    /// `endpoint/name`, for messages.
    pub fn id(&self) -> String {
        format!("{}/{}", self.endpoint, self.name)
    }
}

/// `<repo>/../shared`, found from this crate's manifest dir (`<repo>/crates/conformance`).
pub fn shared_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

/// `shared/okta/recorded`.
pub fn recorded_dir() -> PathBuf {
    shared_dir().join("okta/recorded")
}

/// `shared/okta/openapi/management-minimal.yaml`.
pub fn spec_path() -> PathBuf {
    shared_dir().join("okta/openapi/management-minimal.yaml")
}

fn read(path: &Path) -> Result<String, LoadError> {
    std::fs::read_to_string(path).map_err(|source| LoadError::Io {
        path: path.display().to_string(),
        source,
    })
}

fn parse(path: &Path, text: &str) -> Result<Value, LoadError> {
    serde_json::from_str(text).map_err(|source| LoadError::Json {
        path: path.display().to_string(),
        source,
    })
}

/// The endpoint directories listed in `INDEX.json`, sorted.
pub fn load_index_dirs() -> Result<Vec<String>, LoadError> {
    let path = recorded_dir().join("INDEX.json");
    let v = parse(&path, &read(&path)?)?;
    let obj = v.as_object().ok_or_else(|| LoadError::Invalid {
        path: path.display().to_string(),
        what: "not an object".into(),
    })?;
    let mut dirs: Vec<String> = obj.keys().cloned().collect();
    dirs.sort();
    Ok(dirs)
}

/// Every sample of one endpoint directory, sorted by name.
pub fn load_endpoint(endpoint: &str) -> Result<Vec<Sample>, LoadError> {
    let dir = recorded_dir().join(endpoint);
    let entries = std::fs::read_dir(&dir).map_err(|source| LoadError::Io {
        path: dir.display().to_string(),
        source,
    })?;
    let mut metas: Vec<PathBuf> = Vec::new();
    for e in entries {
        let e = e.map_err(|source| LoadError::Io {
            path: dir.display().to_string(),
            source,
        })?;
        let p = e.path();
        if p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.ends_with(".meta.json"))
        {
            metas.push(p);
        }
    }
    metas.sort();
    metas
        .iter()
        .map(|m| load_sample(endpoint, &dir, m))
        .collect()
}

fn load_sample(endpoint: &str, dir: &Path, meta_path: &Path) -> Result<Sample, LoadError> {
    let meta = parse(meta_path, &read(meta_path)?)?;
    let invalid = |what: &str| LoadError::Invalid {
        path: meta_path.display().to_string(),
        what: what.to_string(),
    };
    let name = meta_path
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_suffix(".meta.json"))
        .ok_or_else(|| invalid("bad file name"))?
        .to_string();
    let record_of = meta
        .get("record_of")
        .and_then(Value::as_str)
        .map(str::to_string);
    let (method, url) = match meta.get("request") {
        Some(r) => (
            r.get("method")
                .and_then(Value::as_str)
                .ok_or_else(|| invalid("request.method"))?
                .to_string(),
            Some(
                r.get("url")
                    .and_then(Value::as_str)
                    .ok_or_else(|| invalid("request.url"))?
                    .to_string(),
            ),
        ),
        None => {
            let r = record_of
                .as_deref()
                .ok_or_else(|| invalid("neither request nor record_of"))?;
            (r.split(' ').next().unwrap_or("GET").to_string(), None)
        }
    };
    let status = meta
        .get("status")
        .and_then(Value::as_u64)
        .ok_or_else(|| invalid("status"))? as u16;
    let mut headers = Vec::new();
    if let Some(h) = meta.get("headers").and_then(Value::as_object) {
        for (k, v) in h {
            let vals = match v {
                Value::Array(a) => a
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect(),
                Value::String(s) => vec![s.clone()],
                _ => Vec::new(),
            };
            headers.push((k.clone(), vals));
        }
    }
    let body = match (
        meta.get("body_file").and_then(Value::as_str),
        meta.get("body_inline"),
    ) {
        (Some(f), _) => {
            let p = dir.join(f);
            Some(parse(&p, &read(&p)?)?)
        }
        (None, Some(b)) => Some(b.clone()),
        (None, None) => None,
    };
    Ok(Sample {
        endpoint: endpoint.to_string(),
        name,
        method,
        url,
        record_of,
        status,
        headers,
        body,
        note: meta.get("note").and_then(Value::as_str).map(str::to_string),
    })
}
