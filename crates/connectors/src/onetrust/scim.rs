//! A SCIM 2.0 reader (RFC 7644 list paging) used for OneTrust's `/api/scim/v2` and for any
//! standard SCIM server (the `scim2-server` test peer serves `/v2`).
//!
//! Paging: the first page tells `totalResults` and the server's page size (OneTrust caps
//! `count` at 25); the remaining pages are then read concurrently by `startIndex`. A page
//! shorter than the server's page size (other than the last) is completed by reading on from
//! where it ended, and resources are de-duplicated by id, because index paging is not stable
//! under concurrent changes.

use std::collections::HashSet;

use futures::StreamExt;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;
use steward_model::{Account, Group, Membership};

use super::client::OtClient;
use crate::ConnectorError;

/// Items per SCIM page asked for (OneTrust's cap; larger servers still answer 25).
pub const SCIM_COUNT: usize = 25;

/// RFC 3986 unreserved characters stay as they are (ids are uuids with dashes).
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encode a path segment or query value.
pub fn enc(s: &str) -> String {
    utf8_percent_encode(s, COMPONENT).to_string()
}

/// Reads SCIM resources under `base` (a path on the client's domain, e.g. `/api/scim/v2`).
pub struct ScimReader<'a> {
    pub client: &'a OtClient,
    pub base: String,
    /// Pages read at once after the first.
    pub concurrency: usize,
}

fn resources(page: &mut Value) -> Vec<Value> {
    match page.get_mut("Resources").map(Value::take) {
        Some(Value::Array(v)) => v,
        _ => Vec::new(),
    }
}

fn total(page: &Value) -> usize {
    page.get("totalResults")
        .and_then(Value::as_u64)
        .unwrap_or(0) as usize
}

impl<'a> ScimReader<'a> {
    pub fn new(client: &'a OtClient, base: &str) -> Self {
        ScimReader {
            client,
            base: base.trim_end_matches('/').to_string(),
            concurrency: 4,
        }
    }

    async fn page(&self, kind: &str, extra: &str, start: usize) -> Result<Value, ConnectorError> {
        self.client
            .get(&format!(
                "{}/{kind}?startIndex={start}&count={SCIM_COUNT}{extra}",
                self.base
            ))
            .await
    }

    /// Every resource of `kind` (`Users`, `Groups`), `extra` appended to each query.
    pub async fn list(&self, kind: &str, extra: &str) -> Result<Vec<Value>, ConnectorError> {
        let mut first = self.page(kind, extra, 1).await?;
        let total = total(&first);
        let mut out = resources(&mut first);
        let page_size = out.len();
        let mut seen: HashSet<String> = out.iter().filter_map(id_of).collect();
        if page_size == 0 || out.len() >= total {
            return Ok(out);
        }
        let starts: Vec<usize> = (1 + page_size..=total).step_by(page_size).collect();
        let mut pages = futures::stream::iter(
            starts
                .into_iter()
                .map(|s| async move { (s, self.page(kind, extra, s).await) }),
        )
        .buffered(self.concurrency.max(1));
        let mut gaps = Vec::new();
        while let Some((start, page)) = pages.next().await {
            let mut page = page?;
            let items = resources(&mut page);
            let expected = page_size.min(total.saturating_sub(start - 1));
            if items.len() < expected && !items.is_empty() {
                gaps.push((start + items.len(), start + expected));
            }
            for it in items {
                if let Some(id) = id_of(&it)
                    && !seen.insert(id)
                {
                    continue;
                }
                out.push(it);
            }
        }
        drop(pages);
        // Short pages: read on sequentially until the range is covered or the server runs dry.
        for (mut from, to) in gaps {
            while from < to {
                let mut page = self.page(kind, extra, from).await?;
                let items = resources(&mut page);
                if items.is_empty() {
                    break;
                }
                from += items.len();
                for it in items {
                    if let Some(id) = id_of(&it)
                        && !seen.insert(id)
                    {
                        continue;
                    }
                    out.push(it);
                }
            }
        }
        Ok(out)
    }

    /// Users whose userName or email equals `email` (two exact filters; OneTrust documents
    /// `emails` filtering, standard servers `userName`).
    pub async fn find_by_email(&self, email: &str) -> Result<Vec<Value>, ConnectorError> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        for f in [
            format!("userName eq \"{email}\""),
            format!("emails.value eq \"{email}\""),
        ] {
            let found = match self
                .client
                .get(&format!("{}/Users?filter={}", self.base, enc(&f)))
                .await
            {
                Ok(mut page) => resources(&mut page),
                // A server that does not support one of the filters: the other one still counts.
                Err(ConnectorError::Unexpected {
                    status: 400 | 501, ..
                }) => Vec::new(),
                Err(e) => return Err(e),
            };
            for u in found {
                if let Some(id) = id_of(&u)
                    && seen.insert(id)
                {
                    out.push(u);
                }
            }
        }
        Ok(out)
    }
}

pub fn id_of(v: &Value) -> Option<String> {
    v.get("id").and_then(Value::as_str).map(str::to_string)
}

fn s(v: &Value, ptr: &str) -> Option<String> {
    v.pointer(ptr)
        .and_then(Value::as_str)
        .filter(|x| !x.is_empty())
        .map(str::to_string)
}

fn ts(v: &Value, ptr: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    v.pointer(ptr)
        .and_then(Value::as_str)
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&chrono::Utc))
}

/// The SCIM user's emails: primary (or first) and a second one.
fn emails(v: &Value) -> (Option<String>, Option<String>) {
    let list: Vec<(bool, String)> = v
        .get("emails")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|e| {
                    let value = e.get("value").and_then(Value::as_str)?.to_string();
                    Some((
                        e.get("primary").and_then(Value::as_bool).unwrap_or(false),
                        value,
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    let primary = list
        .iter()
        .find(|(p, _)| *p)
        .or(list.first())
        .map(|(_, e)| e.clone());
    let second = list
        .iter()
        .map(|(_, e)| e.clone())
        .find(|e| Some(e) != primary.as_ref());
    (primary, second)
}

/// A SCIM User as an account (status `ACTIVE` / `INACTIVE` from `active`).
pub fn account(v: Value) -> Option<Account> {
    let id = id_of(&v)?;
    let (email, second_email) = emails(&v);
    let first = s(&v, "/name/givenName");
    let last = s(&v, "/name/familyName");
    let display = s(&v, "/displayName")
        .or_else(|| s(&v, "/name/formatted"))
        .or_else(|| match (&first, &last) {
            (Some(f), Some(l)) => Some(format!("{f} {l}")),
            (None, Some(l)) => Some(l.clone()),
            _ => None,
        });
    let active = v.get("active").and_then(Value::as_bool).unwrap_or(true);
    const ENT: &str = "/urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    Some(Account {
        id,
        login: s(&v, "/userName").unwrap_or_default(),
        email,
        second_email,
        first_name: first,
        last_name: last,
        display_name: display,
        status: if active {
            "ACTIVE".into()
        } else {
            "INACTIVE".into()
        },
        department: s(&v, &format!("{ENT}/department")),
        title: s(&v, "/title"),
        manager: s(&v, &format!("{ENT}/manager/value")),
        employee_number: s(&v, &format!("{ENT}/employeeNumber")),
        created: ts(&v, "/meta/created"),
        last_login: None,
        last_updated: ts(&v, "/meta/lastModified"),
        license_status: None,
        raw: v.into(),
    })
}

/// A SCIM Group and its members (`members[].value` = user ids).
pub fn group(v: Value, group_type: &str) -> Option<(Group, Vec<Membership>)> {
    let id = id_of(&v)?;
    let members = v
        .get("members")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|m| m.get("value").and_then(Value::as_str))
                .map(|u| Membership {
                    group_id: id.clone(),
                    account_id: u.to_string(),
                })
                .collect()
        })
        .unwrap_or_default();
    let g = Group {
        id,
        name: s(&v, "/displayName").unwrap_or_default(),
        description: None,
        group_type: group_type.to_string(),
        raw: v.into(),
    };
    Some((g, members))
}
