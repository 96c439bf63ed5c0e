//! Header conformance: a simulator response must carry every header the recording kept
//! (case-insensitive names), with a value of the same form. Values themselves may differ.

use std::fmt;

/// One header problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderMismatch {
    /// Lower-case header name.
    pub header: String,
    pub what: String,
}

impl fmt::Display for HeaderMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.header, self.what)
    }
}

/// One `Link` entry: `<url>; rel="rel"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkEntry {
    pub url: String,
    pub rel: String,
}

/// Parse all `Link` values (several header lines and/or comma-joined entries, both recorded)
/// into entries in order. Every entry must be `<absolute http(s) url>; rel="…"`.
pub fn parse_links<'a>(
    values: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<LinkEntry>, String> {
    let mut out = Vec::new();
    for v in values {
        let mut rest = v.trim();
        while !rest.is_empty() {
            let inner = rest
                .strip_prefix('<')
                .ok_or_else(|| format!("entry does not start with '<': {rest:?}"))?;
            let (url, after) = inner
                .split_once('>')
                .ok_or_else(|| format!("no closing '>': {rest:?}"))?;
            let parsed =
                url::Url::parse(url).map_err(|e| format!("not an absolute URL {url:?}: {e}"))?;
            if parsed.scheme() != "http" && parsed.scheme() != "https" {
                return Err(format!("not an http(s) URL: {url:?}"));
            }
            // Parameters up to the next entry (`, <`) or the end.
            let (params, next) = match after.find(", <").or_else(|| after.find(",<")) {
                Some(i) => (&after[..i], after[i + 1..].trim_start()),
                None => (after, ""),
            };
            let rel = params
                .split(';')
                .map(str::trim)
                .find_map(|p| p.strip_prefix("rel="))
                .ok_or_else(|| format!("no rel parameter: {params:?}"))?;
            let rel = rel
                .strip_prefix('"')
                .and_then(|r| r.strip_suffix('"'))
                .ok_or_else(|| format!("rel not quoted: {rel:?}"))?;
            out.push(LinkEntry {
                url: url.to_string(),
                rel: rel.to_string(),
            });
            rest = next;
        }
    }
    Ok(out)
}

/// Checks on a `Link` header's entries: well formed, `self` (when present) first, `next`
/// (when present) last.
pub fn check_link_form(entries: &[LinkEntry]) -> Result<(), String> {
    if let Some(i) = entries.iter().position(|e| e.rel == "self")
        && i != 0
    {
        return Err(format!("rel=\"self\" is entry {i}, not first"));
    }
    if let Some(i) = entries.iter().position(|e| e.rel == "next")
        && i + 1 != entries.len()
    {
        return Err(format!(
            "rel=\"next\" is entry {i} of {}, not last",
            entries.len()
        ));
    }
    Ok(())
}

fn media_type(v: &str) -> String {
    v.split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Check one value's form against the header's rules.
fn check_value(name: &str, recorded: Option<&str>, value: &str) -> Result<(), String> {
    match name {
        "content-type" => {
            let want = recorded
                .map(media_type)
                .unwrap_or_else(|| "application/json".into());
            if media_type(value) == want {
                Ok(())
            } else {
                Err(format!(
                    "media type {:?}, recorded {want:?}",
                    media_type(value)
                ))
            }
        }
        "date" => httpdate::parse_http_date(value)
            .map(|_| ())
            .map_err(|_| format!("not an RFC 7231 date: {value:?}")),
        "x-rate-limit-limit" | "x-rate-limit-remaining" | "x-rate-limit-reset" => value
            .trim()
            .parse::<u64>()
            .map(|_| ())
            .map_err(|_| format!("not a non-negative integer: {value:?}")),
        "x-okta-request-id" => {
            let ok = !value.is_empty()
                && value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_@".contains(&b));
            if ok {
                Ok(())
            } else {
                Err(format!("not a request id: {value:?}"))
            }
        }
        _ => Ok(()),
    }
}

/// Every header of `recorded` must be in `actual` (name case-insensitive) with a value of a
/// compatible form; `Link` is parsed as a whole (see [`parse_links`], [`check_link_form`]).
/// `actual` holds one `(name, value)` per header line.
pub fn check_headers(
    recorded: &[(String, Vec<String>)],
    actual: &[(String, String)],
) -> Vec<HeaderMismatch> {
    let mut out = Vec::new();
    for (name, rec_values) in recorded {
        let lname = name.to_ascii_lowercase();
        let values: Vec<&str> = actual
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect();
        if values.is_empty() {
            out.push(HeaderMismatch {
                header: lname,
                what: "missing".into(),
            });
            continue;
        }
        if lname == "link" {
            match parse_links(values.iter().copied()).and_then(|e| check_link_form(&e).map(|_| e)) {
                Ok(e) if e.is_empty() => out.push(HeaderMismatch {
                    header: lname,
                    what: "no entries".into(),
                }),
                Ok(_) => {}
                Err(e) => out.push(HeaderMismatch {
                    header: lname,
                    what: e,
                }),
            }
            continue;
        }
        let rec = rec_values.first().map(String::as_str);
        for v in values {
            if let Err(e) = check_value(&lname, rec, v) {
                out.push(HeaderMismatch {
                    header: lname.clone(),
                    what: e,
                });
            }
        }
    }
    out
}

/// The recorded headers' own values pass the form checks (used to self-check the rules).
pub fn recorded_as_actual(recorded: &[(String, Vec<String>)]) -> Vec<(String, String)> {
    recorded
        .iter()
        .flat_map(|(n, vs)| vs.iter().map(move |v| (n.clone(), v.clone())))
        .collect()
}
