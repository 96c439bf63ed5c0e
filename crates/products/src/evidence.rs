//! Evidence register: at every sync, an MFA policy summary and an administrative access
//! review, mapped to ISO 27001:2022 and SOC 2 controls, in a tamper-evident hash chain.
//!
//! Items are computed from the snapshot just published and keep the raw API records they
//! were computed from. What the token could not read is stated as "not evidenced" with the
//! source's reason, never as an empty (compliant-looking) list. After a deletion request,
//! the entries naming the person (raw sources, admin lines) are replaced by their digest; the
//! hash covers digests, so `verify` still holds, given a redaction record for each.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::Serialize;
use serde_json::{Value, json};
use steward_model::{Record, Resource};
use steward_store::{
    EvidenceItem, EvidenceRedaction, GENESIS_HASH, Integration, NewEvidence, ResourceStatus, Store,
};

use crate::Clock;

#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    #[error(transparent)]
    Store(#[from] steward_store::StoreError),
    #[error("evidence item {id} not found; list the ids with `steward evidence list`")]
    NotFound { id: String },
}

pub const KIND_MFA: &str = "mfa_policy_summary";
pub const KIND_ADMIN: &str = "admin_access_review";

pub const EVIDENCED: &str = "evidenced";
pub const PARTIALLY: &str = "partially_evidenced";
pub const NOT_EVIDENCED: &str = "not_evidenced";

const ISO: &str = "ISO 27001:2022";
const SOC2: &str = "SOC 2";

fn controls(list: &[(&str, &str, &str)]) -> Value {
    Value::Array(
        list.iter()
            .map(|(framework, control, title)| json!({"framework": framework, "control": control, "title": title}))
            .collect(),
    )
}

/// Controls the MFA policy summary supports.
pub fn mfa_controls() -> Value {
    controls(&[
        (ISO, "A.5.17", "Authentication information"),
        (ISO, "A.8.5", "Secure authentication"),
        (
            SOC2,
            "CC6.1",
            "Logical access security software, infrastructure and architectures",
        ),
    ])
}

/// Controls the administrative access review supports.
pub fn admin_controls() -> Value {
    controls(&[
        (ISO, "A.5.15", "Access control"),
        (ISO, "A.5.18", "Access rights"),
        (ISO, "A.8.2", "Privileged access rights"),
        (
            SOC2,
            "CC6.3",
            "Role-based access: authorize, modify or remove access",
        ),
    ])
}

/// Collect the evidence items of the snapshot `run_id` just published.
pub async fn after_sync(
    store: &Store,
    integration: &Integration,
    run_id: i64,
    clock: &dyn Clock,
) -> Result<(), EvidenceError> {
    let items = collect(store, integration, run_id, clock).await?;
    store.append_evidence(&items).await?;
    Ok(())
}

/// Compute (without storing) the two evidence items of the integration's current snapshot.
pub async fn collect(
    store: &Store,
    integration: &Integration,
    run_id: i64,
    clock: &dyn Clock,
) -> Result<Vec<NewEvidence>, EvidenceError> {
    let status: BTreeMap<Resource, ResourceStatus> = store
        .resource_status(integration.id)
        .await?
        .into_iter()
        .map(|s| (s.resource, s))
        .collect();
    let snapshot = Snapshot {
        store,
        integration_id: integration.id,
        status,
    };
    let collected_at = clock.now();
    let new = |kind: &str, controls: Value, computed: Computed| NewEvidence {
        kind: kind.to_string(),
        integration_id: integration.id,
        integration_name: integration.name.clone(),
        run_id,
        collected_at,
        controls,
        status: computed.status.to_string(),
        reason: computed.reason,
        summary: computed.summary,
        sources: computed.sources,
    };
    let mfa = mfa_summary(&snapshot).await?;
    let admin = admin_review(&snapshot).await?;
    Ok(vec![
        new(KIND_MFA, mfa_controls(), mfa),
        new(KIND_ADMIN, admin_controls(), admin),
    ])
}

struct Snapshot<'a> {
    store: &'a Store,
    integration_id: i64,
    status: BTreeMap<Resource, ResourceStatus>,
}

impl Snapshot<'_> {
    /// `Err(reason)` when the resource could not be read (or is missing from the snapshot).
    fn readable(&self, resource: Resource) -> Result<(), String> {
        match self.status.get(&resource) {
            Some(s) if s.readable => Ok(()),
            Some(s) => Err(format!(
                "{} could not be read: {}",
                resource.label(),
                s.reason.clone().unwrap_or_else(|| "no reason given".into())
            )),
            None => Err(format!(
                "{} were not part of the snapshot",
                resource.label()
            )),
        }
    }

    /// The records of `resource` whose truth key passes `keep`; only the keys are walked and
    /// only those records read, which keeps 50k users and their factors out of memory.
    async fn records_where_key(
        &self,
        resource: Resource,
        keep: impl FnMut(&str) -> bool + Send,
    ) -> Result<Vec<Record>, EvidenceError> {
        Ok(self
            .store
            .snapshot_records_where_key(self.integration_id, resource, keep)
            .await?)
    }

    async fn records(&self, resource: Resource) -> Result<Vec<Record>, EvidenceError> {
        Ok(self
            .store
            .snapshot_records(self.integration_id, resource)
            .await?)
    }
}

struct Computed {
    status: &'static str,
    reason: Option<String>,
    summary: Value,
    sources: Value,
}

fn not_evidenced_entry(resource: Resource, reason: &str) -> Value {
    json!({"resource": resource.as_str(), "reason": reason})
}

async fn mfa_summary(snapshot: &Snapshot<'_>) -> Result<Computed, EvidenceError> {
    if let Err(reason) = snapshot.readable(Resource::Policies) {
        return Ok(Computed {
            status: NOT_EVIDENCED,
            summary: json!({"not_evidenced": [not_evidenced_entry(Resource::Policies, &reason)]}),
            reason: Some(reason),
            sources: json!({}),
        });
    }
    let policies: Vec<_> = snapshot
        .records(Resource::Policies)
        .await?
        .into_iter()
        .filter_map(|r| match r {
            Record::Policy(p) if p.status == "ACTIVE" => Some(p),
            _ => None,
        })
        .collect();
    let rules_readable = snapshot.readable(Resource::PolicyRules);
    let rules = match rules_readable {
        Ok(()) => snapshot.records(Resource::PolicyRules).await?,
        Err(_) => Vec::new(),
    };
    let mut rules_by_policy: BTreeMap<&str, Vec<&steward_model::PolicyRule>> = BTreeMap::new();
    for r in &rules {
        if let Record::PolicyRule(rule) = r {
            rules_by_policy
                .entry(rule.policy_id.as_str())
                .or_default()
                .push(rule);
        }
    }
    let enroll: Vec<_> = policies
        .iter()
        .filter(|p| p.policy_type == "MFA_ENROLL")
        .collect();
    let sign_on: Vec<_> = policies
        .iter()
        .filter(|p| p.policy_type == "OKTA_SIGN_ON" || p.policy_type == "ACCESS_POLICY")
        .collect();

    let mut source_policies = Vec::new();
    let mut source_rules = Vec::new();
    let enroll_items: Vec<Value> = enroll
        .iter()
        .map(|p| {
            source_policies.push(p.raw.to_value());
            json!({"id": p.id, "name": p.name, "type": p.policy_type, "status": p.status, "priority": p.priority})
        })
        .collect();
    let (mut rules_total, mut rules_mfa) = (0u64, 0u64);
    let sign_on_items: Vec<Value> = sign_on
        .iter()
        .map(|p| {
            source_policies.push(p.raw.to_value());
            let mut item = json!({"id": p.id, "name": p.name, "type": p.policy_type, "status": p.status, "priority": p.priority});
            if rules_readable.is_ok() {
                let rules = rules_by_policy.get(p.id.as_str()).cloned().unwrap_or_default();
                let active: Vec<_> = rules.iter().filter(|r| r.status == "ACTIVE").collect();
                let requiring = active.iter().filter(|r| r.requires_mfa).count() as u64;
                rules_total += active.len() as u64;
                rules_mfa += requiring;
                for r in &active {
                    source_rules.push(r.raw.to_value());
                }
                item["rules"] = active
                    .iter()
                    .map(|r| json!({"id": r.id, "name": r.name, "status": r.status, "requires_mfa": r.requires_mfa}))
                    .collect();
                item["rules_requiring_mfa"] = json!(requiring);
            } else {
                item["rules"] = json!("not evidenced");
            }
            item
        })
        .collect();
    let mut summary = json!({
        "mfa_enrollment_policies": {"count": enroll_items.len(), "items": enroll_items},
        "sign_on_policies": {"count": sign_on_items.len(), "items": sign_on_items},
    });
    let mut sources = json!({"policies": source_policies});
    let (status, reason) = match rules_readable {
        Ok(()) => {
            summary["active_rules"] = json!(rules_total);
            summary["rules_requiring_mfa"] = json!(rules_mfa);
            sources["policy_rules"] = Value::Array(source_rules);
            summary["not_evidenced"] = json!([]);
            (EVIDENCED, None)
        }
        Err(reason) => {
            summary["active_rules"] = json!("not evidenced");
            summary["rules_requiring_mfa"] = json!("not evidenced");
            summary["not_evidenced"] = json!([not_evidenced_entry(Resource::PolicyRules, &reason)]);
            (PARTIALLY, Some(reason))
        }
    };
    Ok(Computed {
        status,
        reason,
        summary,
        sources,
    })
}

/// One role an admin holds.
#[derive(Debug, Clone, Serialize)]
struct HeldRole {
    role_type: String,
    label: String,
    /// `direct` or `group`.
    via: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    group_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    group_name: Option<String>,
}

async fn admin_review(snapshot: &Snapshot<'_>) -> Result<Computed, EvidenceError> {
    if let Err(reason) = snapshot.readable(Resource::RoleAssignments) {
        return Ok(Computed {
            status: NOT_EVIDENCED,
            summary: json!({"not_evidenced": [not_evidenced_entry(Resource::RoleAssignments, &reason)]}),
            reason: Some(reason),
            sources: json!({}),
        });
    }
    let mut gaps: Vec<(Resource, String)> = Vec::new();
    let assignments: Vec<_> = snapshot
        .records(Resource::RoleAssignments)
        .await?
        .into_iter()
        .filter_map(|r| match r {
            Record::RoleAssignment(a) => Some(a),
            _ => None,
        })
        .collect();
    let group_ids: BTreeSet<&str> = assignments
        .iter()
        .filter(|a| a.principal_kind == steward_model::PrincipalKind::Group)
        .map(|a| a.principal_id.as_str())
        .collect();

    // Group-held roles reach their members through the memberships snapshot.
    let mut members: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut group_names: BTreeMap<String, String> = BTreeMap::new();
    let mut source_groups = Vec::new();
    let mut source_memberships = Vec::new();
    if !group_ids.is_empty() {
        match snapshot.readable(Resource::Memberships) {
            Ok(()) => {
                let held = snapshot
                    // Membership keys are `group/account`.
                    .records_where_key(Resource::Memberships, |key| {
                        key.split_once('/')
                            .is_some_and(|(group, _)| group_ids.contains(group))
                    })
                    .await?;
                for r in held {
                    if let Record::Membership(m) = r {
                        source_memberships
                            .push(json!({"group_id": m.group_id, "account_id": m.account_id}));
                        members.entry(m.group_id).or_default().push(m.account_id);
                    }
                }
            }
            Err(reason) => gaps.push((Resource::Memberships, reason)),
        }
        if snapshot.readable(Resource::Groups).is_ok() {
            for r in snapshot.records(Resource::Groups).await? {
                if let Record::Group(g) = r
                    && group_ids.contains(g.id.as_str())
                {
                    source_groups.push(g.raw.to_value());
                    group_names.insert(g.id, g.name);
                }
            }
        }
    }

    let mut roles: BTreeMap<String, Vec<HeldRole>> = BTreeMap::new();
    let (mut direct, mut via_group) = (0u64, 0u64);
    for a in &assignments {
        match a.principal_kind {
            steward_model::PrincipalKind::Account => {
                direct += 1;
                roles
                    .entry(a.principal_id.clone())
                    .or_default()
                    .push(HeldRole {
                        role_type: a.role_type.clone(),
                        label: a.label.clone(),
                        via: "direct",
                        group_id: None,
                        group_name: None,
                    });
            }
            steward_model::PrincipalKind::Group => {
                via_group += 1;
                for account in members.get(&a.principal_id).into_iter().flatten() {
                    roles.entry(account.clone()).or_default().push(HeldRole {
                        role_type: a.role_type.clone(),
                        label: a.label.clone(),
                        via: "group",
                        group_id: Some(a.principal_id.clone()),
                        group_name: group_names.get(&a.principal_id).cloned(),
                    });
                }
            }
        }
    }

    let users_readable = snapshot.readable(Resource::Users);
    let mut users = BTreeMap::new();
    match &users_readable {
        Ok(()) => {
            let held = snapshot
                // A user's key is its id.
                .records_where_key(Resource::Users, |id| roles.contains_key(id))
                .await?;
            for r in held {
                if let Record::Account(a) = r {
                    users.insert(a.id.clone(), a);
                }
            }
        }
        Err(reason) => gaps.push((Resource::Users, reason.clone())),
    }
    let factors_readable = snapshot.readable(Resource::Factors);
    let mut active_factors: BTreeMap<String, u64> = BTreeMap::new();
    let mut source_factors = Vec::new();
    match &factors_readable {
        Ok(()) => {
            let held = snapshot
                // Factor keys are `account/factor`.
                .records_where_key(Resource::Factors, |key| {
                    key.split_once('/')
                        .is_some_and(|(account, _)| roles.contains_key(account))
                })
                .await?;
            for r in held {
                if let Record::Factor(f) = r {
                    source_factors.push(f.raw.to_value());
                    if f.status == "ACTIVE" {
                        *active_factors.entry(f.account_id.clone()).or_default() += 1;
                    }
                }
            }
        }
        Err(reason) => gaps.push((Resource::Factors, reason.clone())),
    }

    let mut source_users = Vec::new();
    let admins: Vec<Value> = roles
        .iter()
        .map(|(account_id, held)| {
            let user = users.get(account_id);
            if let Some(u) = user {
                source_users.push(u.raw.to_value());
            }
            let mfa = match (&factors_readable, active_factors.get(account_id)) {
                (Err(_), _) => json!("unknown"),
                (Ok(()), Some(_)) => json!(true),
                (Ok(()), None) => json!(false),
            };
            json!({
                "user_id": account_id,
                "login": user.map(|u| u.login.clone()),
                "name": user.and_then(|u| u.display_name.clone().or_else(|| {
                    match (&u.first_name, &u.last_name) {
                        (Some(f), Some(l)) => Some(format!("{f} {l}")),
                        _ => None,
                    }
                })),
                "status": user.map(|u| json!(u.status)).unwrap_or_else(|| json!("unknown")),
                "last_login": user.and_then(|u| u.last_login).map(|t| t.to_rfc3339()),
                "mfa_enrolled": mfa,
                "roles": held,
            })
        })
        .collect();
    let without_mfa = admins
        .iter()
        .filter(|a| a["mfa_enrolled"] == json!(false))
        .count();
    let summary = json!({
        "admin_count": admins.len(),
        "direct_assignments": direct,
        "group_assignments": via_group,
        "admins_without_mfa": if factors_readable.is_ok() { json!(without_mfa) } else { json!("not evidenced") },
        "admins": admins,
        "not_evidenced": gaps.iter().map(|(r, reason)| not_evidenced_entry(*r, reason)).collect::<Vec<_>>(),
    });
    let sources = json!({
        "role_assignments": assignments.iter().map(|a| a.raw.to_value()).collect::<Vec<_>>(),
        "groups": source_groups,
        "memberships": source_memberships,
        "users": source_users,
        "factors": source_factors,
    });
    let (status, reason) = if gaps.is_empty() {
        (EVIDENCED, None)
    } else {
        let reason = gaps
            .iter()
            .map(|(_, r)| r.as_str())
            .collect::<Vec<_>>()
            .join("; ");
        (PARTIALLY, Some(reason))
    };
    Ok(Computed {
        status,
        reason,
        summary,
        sources,
    })
}

/// Every evidence item in chain order.
pub async fn list(store: &Store) -> Result<Vec<EvidenceItem>, EvidenceError> {
    Ok(store.evidence_items().await?)
}

/// One item by id: `EV-12`, `ev-12` or `12`.
pub async fn show(store: &Store, id: &str) -> Result<EvidenceItem, EvidenceError> {
    let wanted = normalize_id(id).ok_or_else(|| EvidenceError::NotFound { id: id.to_string() })?;
    store
        .evidence_item(&wanted)
        .await?
        .ok_or(EvidenceError::NotFound { id: id.to_string() })
}

fn normalize_id(id: &str) -> Option<String> {
    let trimmed = id.trim();
    let digits = trimmed
        .strip_prefix("EV-")
        .or_else(|| trimmed.strip_prefix("ev-"))
        .unwrap_or(trimmed);
    let seq: i64 = digits.parse().ok().filter(|n| *n > 0)?;
    Some(steward_store::evidence_id(seq))
}

/// How the chain is broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakKind {
    /// The item's content no longer matches its hash.
    Edited,
    /// Items are missing (a gap in the sequence, or fewer items than the head records).
    Removed,
    /// An item sits at another position than the one it was written at.
    Reordered,
}

/// The first place where the chain is broken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainBreak {
    pub kind: BreakKind,
    /// The item at (or right after) the break, when there is one.
    pub item: Option<String>,
    pub seq: i64,
    pub detail: String,
}

/// The result of `verify`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    pub intact: bool,
    pub items: u64,
    pub head_seq: i64,
    pub head_hash: String,
    /// Entries replaced by their digest after an erasure, each with its redaction record.
    pub redacted_entries: u64,
    pub broken: Option<ChainBreak>,
}

/// Recompute every item's hash and check the links, the sequence and the head.
pub async fn verify(store: &Store) -> Result<Verification, EvidenceError> {
    let items = store.evidence_items().await?;
    let head = store.evidence_head().await?;
    let redactions = store.evidence_redactions().await?;
    let broken = check_chain_with(&items, &redactions, head.last_seq, &head.last_hash);
    Ok(Verification {
        intact: broken.is_none(),
        items: items.len() as u64,
        head_seq: head.last_seq,
        head_hash: head.last_hash,
        redacted_entries: items
            .iter()
            .map(|i| i.redacted_entries().len() as u64)
            .sum(),
        broken,
    })
}

fn id_seq(id: &str) -> Option<i64> {
    id.strip_prefix("EV-").and_then(|n| n.parse().ok())
}

/// The first break of `items` (sorted by seq) against the recorded head, if any, for a
/// register without redactions.
pub fn check_chain(items: &[EvidenceItem], head_seq: i64, head_hash: &str) -> Option<ChainBreak> {
    check_chain_with(items, &[], head_seq, head_hash)
}

/// [`check_chain`], accepting an entry replaced by its digest only where `redactions`
/// records that very replacement (item, entry, digest); any other placeholder is an edit.
pub fn check_chain_with(
    items: &[EvidenceItem],
    redactions: &[EvidenceRedaction],
    head_seq: i64,
    head_hash: &str,
) -> Option<ChainBreak> {
    let recorded: BTreeSet<(&str, &str, &str)> = redactions
        .iter()
        .map(|r| (r.item_id.as_str(), r.entry.as_str(), r.digest.as_str()))
        .collect();
    let mut expected_seq = 1i64;
    let mut prev_hash = GENESIS_HASH.to_string();
    for item in items {
        let brk = |kind, detail: String| {
            Some(ChainBreak {
                kind,
                item: Some(item.id.clone()),
                seq: item.seq,
                detail,
            })
        };
        if item.compute_hash() != item.hash {
            // Written at another position? Its id (and hash) still say where.
            if let Some(original) = id_seq(&item.id).filter(|s| *s != item.seq)
                && item.compute_hash_as(original, &item.id) == item.hash
            {
                return brk(
                    BreakKind::Reordered,
                    format!(
                        "{} was written at position {original} but is stored at position {}",
                        item.id, item.seq
                    ),
                );
            }
            return brk(
                BreakKind::Edited,
                format!(
                    "the content of {} (position {}) no longer matches its hash",
                    item.id, item.seq
                ),
            );
        }
        if let Some((entry, _)) = item.redacted_entries().into_iter().find(|(entry, digest)| {
            !recorded.contains(&(item.id.as_str(), entry.as_str(), digest.as_str()))
        }) {
            return brk(
                BreakKind::Edited,
                format!(
                    "entry {entry} of {} (position {}) was replaced by its digest without a redaction record",
                    item.id, item.seq
                ),
            );
        }
        if item.seq != expected_seq {
            let kind = if item.seq > expected_seq {
                BreakKind::Removed
            } else {
                BreakKind::Reordered
            };
            let detail = if item.seq > expected_seq {
                format!(
                    "items at positions {expected_seq}..{} are missing before {}",
                    item.seq - 1,
                    item.id
                )
            } else {
                format!(
                    "{} is at position {} where position {expected_seq} was expected",
                    item.id, item.seq
                )
            };
            return brk(kind, detail);
        }
        if item.prev_hash != prev_hash {
            return brk(
                BreakKind::Reordered,
                format!(
                    "{} does not link to the item before it (an item was removed, replaced or moved)",
                    item.id
                ),
            );
        }
        prev_hash = item.hash.clone();
        expected_seq += 1;
    }
    let last_seq = expected_seq - 1;
    if last_seq != head_seq || prev_hash != head_hash {
        let kind = if last_seq < head_seq {
            BreakKind::Removed
        } else {
            BreakKind::Edited
        };
        return Some(ChainBreak {
            kind,
            item: None,
            seq: last_seq,
            detail: format!(
                "the register ends at position {last_seq} but its head records position {head_seq}{}",
                if last_seq < head_seq {
                    ": trailing items were removed"
                } else {
                    ""
                }
            ),
        });
    }
    None
}

// ---------------------------------------------------------------- export
//
// Rendering lives here, not in the CLI, so `steward evidence export` and
// `GET /api/v1/evidence/export` produce the same bytes.

/// A format the register exports to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// `{"exported_at", "verification", "items"}` with every item in full.
    Json,
    /// One line per item (id, kind, integration, run, status, controls, summary, hashes).
    Csv,
    /// One self-contained page (inline style, no scripts or external resources), every
    /// value escaped.
    Html,
}

impl ExportFormat {
    pub const ALL: [ExportFormat; 3] = [ExportFormat::Json, ExportFormat::Csv, ExportFormat::Html];

    /// `json`, `csv` or `html` (any case).
    pub fn parse(s: &str) -> Option<ExportFormat> {
        Self::ALL
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(s.trim()))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Json => "json",
            ExportFormat::Csv => "csv",
            ExportFormat::Html => "html",
        }
    }

    /// The HTTP `Content-Type` of the export.
    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Json => "application/json",
            ExportFormat::Csv => "text/csv; charset=utf-8",
            ExportFormat::Html => "text/html; charset=utf-8",
        }
    }

    /// The file name a download is saved as.
    pub fn file_name(self) -> &'static str {
        match self {
            ExportFormat::Json => "steward-evidence.json",
            ExportFormat::Csv => "steward-evidence.csv",
            ExportFormat::Html => "steward-evidence.html",
        }
    }
}

/// One rendered export.
#[derive(Debug, Clone)]
pub struct Export {
    pub format: ExportFormat,
    pub body: Vec<u8>,
    /// Items exported.
    pub items: usize,
    /// The chain verified when it was exported (the export states the result either way).
    pub intact: bool,
}

/// The whole register with its verification result, rendered as `format`.
pub async fn export(
    store: &Store,
    format: ExportFormat,
    clock: &dyn Clock,
) -> Result<Export, EvidenceError> {
    let items = list(store).await?;
    let verification = verify(store).await?;
    let exported_at = clock
        .now()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let body = match format {
        ExportFormat::Json => {
            let doc =
                json!({"exported_at": exported_at, "verification": verification, "items": items});
            serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
        }
        ExportFormat::Csv => to_csv(&items),
        ExportFormat::Html => to_html(&items, &verification, &exported_at),
    };
    Ok(Export {
        format,
        body: body.into_bytes(),
        items: items.len(),
        intact: verification.intact,
    })
}

pub fn num(v: &Value) -> String {
    match v {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => "?".into(),
    }
}

/// One line saying what the item found.
pub fn headline(i: &EvidenceItem) -> String {
    let s = &i.summary;
    if i.status == NOT_EVIDENCED {
        return format!(
            "not evidenced: {}",
            i.reason.as_deref().unwrap_or("no reason recorded")
        );
    }
    let mut line = match i.kind.as_str() {
        KIND_MFA => format!(
            "{} MFA enrolment policies, {} sign-on/access policies, {} of {} active rules require MFA",
            num(&s["mfa_enrollment_policies"]["count"]),
            num(&s["sign_on_policies"]["count"]),
            num(&s["rules_requiring_mfa"]),
            num(&s["active_rules"]),
        ),
        KIND_ADMIN => format!(
            "{} admins ({} direct and {} group role assignments), {} without MFA",
            num(&s["admin_count"]),
            num(&s["direct_assignments"]),
            num(&s["group_assignments"]),
            num(&s["admins_without_mfa"]),
        ),
        _ => String::new(),
    };
    if let Some(reason) = &i.reason {
        let _ = write!(line, "; not evidenced: {reason}");
    }
    line
}

pub fn controls_text(i: &EvidenceItem) -> String {
    i.controls
        .as_array()
        .map(|cs| {
            cs.iter()
                .map(|c| format!("{} {}", num(&c["framework"]), num(&c["control"])))
                .collect::<Vec<_>>()
                .join("; ")
        })
        .unwrap_or_default()
}

pub fn mfa_text(v: &Value) -> String {
    match v {
        Value::Bool(true) => "enrolled".into(),
        Value::Bool(false) => "none".into(),
        other => num(other),
    }
}

pub fn roles_text(v: &Value) -> String {
    v.as_array()
        .into_iter()
        .flatten()
        .map(
            |r| match r["group_name"].as_str().or(r["group_id"].as_str()) {
                Some(g) => format!("{} (via {g})", num(&r["role_type"])),
                None => num(&r["role_type"]),
            },
        )
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn verify_text(v: &Verification) -> String {
    match &v.broken {
        None => format!(
            "Evidence register intact: {} items, chain head at position {} ({}){}.",
            v.items,
            v.head_seq,
            v.head_hash,
            if v.redacted_entries > 0 {
                format!(
                    "; {} entries redacted after erasures, each recorded",
                    v.redacted_entries
                )
            } else {
                String::new()
            }
        ),
        Some(b) => format!(
            "Evidence register BROKEN at {} ({}): {}",
            b.item
                .clone()
                .unwrap_or_else(|| format!("position {}", b.seq)),
            serde_json::to_value(b.kind)
                .ok()
                .as_ref()
                .map(num)
                .unwrap_or_default(),
            b.detail
        ),
    }
}

/// One CSV field: quoted when needed, and a leading `= + - @` defused so spreadsheets do
/// not run it as a formula.
fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

fn to_csv(items: &[EvidenceItem]) -> String {
    let mut out = String::from(
        "id,seq,kind,integration,integration_id,run_id,collected_at,status,reason,controls,summary,prev_hash,hash\n",
    );
    for i in items {
        let fields = [
            i.id.clone(),
            i.seq.to_string(),
            i.kind.clone(),
            i.integration_name.clone(),
            i.integration_id.to_string(),
            i.run_id.to_string(),
            i.collected_at.clone(),
            i.status.clone(),
            i.reason.clone().unwrap_or_default(),
            controls_text(i),
            headline(i),
            i.prev_hash.clone(),
            i.hash.clone(),
        ];
        out.push_str(
            &fields
                .iter()
                .map(|f| csv_field(f))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push('\n');
    }
    out
}

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn html_table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = String::from("<table><thead><tr>");
    for h in headers {
        let _ = write!(out, "<th>{}</th>", esc(h));
    }
    out.push_str("</tr></thead><tbody>");
    for row in rows {
        out.push_str("<tr>");
        for c in row {
            let _ = write!(out, "<td>{}</td>", esc(c));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
    out
}

fn to_html(items: &[EvidenceItem], v: &Verification, exported_at: &str) -> String {
    let mut out = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Steward evidence register</title>\
         <style>body{font-family:sans-serif;margin:2em;max-width:80em}table{border-collapse:collapse;margin:.5em 0}\
         td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left;vertical-align:top}\
         .evidenced{color:#060}.partially_evidenced{color:#a60}.not_evidenced{color:#b00}\
         pre{background:#f6f6f6;padding:.5em;overflow:auto;max-height:30em}section{border-top:2px solid #333;margin-top:2em}</style>\
         </head><body>\n<h1>Steward evidence register</h1>\n",
    );
    let _ = writeln!(out, "<p>Exported {}.</p>", esc(exported_at));
    let _ = writeln!(
        out,
        "<p><strong>Chain verification:</strong> {}</p>",
        esc(&verify_text(v))
    );
    let index: Vec<Vec<String>> = items
        .iter()
        .map(|i| {
            vec![
                i.id.clone(),
                i.kind.clone(),
                i.integration_name.clone(),
                i.collected_at.clone(),
                i.status.clone(),
                headline(i),
            ]
        })
        .collect();
    out.push_str(&html_table(
        &[
            "ID",
            "Kind",
            "Integration",
            "Collected",
            "Status",
            "Summary",
        ],
        &index,
    ));
    for i in items {
        let _ = write!(
            out,
            "\n<section id=\"{id}\"><h2>{id}: {kind}</h2><p>Integration {name} (id {iid}), sync run {run}, collected {at}.</p>\
             <p>Status: <strong class=\"{status}\">{status}</strong></p>",
            id = esc(&i.id),
            kind = esc(&i.kind),
            name = esc(&i.integration_name),
            iid = i.integration_id,
            run = i.run_id,
            at = esc(&i.collected_at),
            status = esc(&i.status),
        );
        if let Some(reason) = &i.reason {
            let _ = write!(
                out,
                "<p><strong>Not evidenced:</strong> {}</p>",
                esc(reason)
            );
        }
        let controls: Vec<Vec<String>> = i
            .controls
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| vec![num(&c["framework"]), num(&c["control"]), num(&c["title"])])
            .collect();
        out.push_str(&html_table(&["Framework", "Control", "Title"], &controls));
        let _ = write!(out, "<p>{}</p>", esc(&headline(i)));
        if i.kind == KIND_ADMIN {
            let rows: Vec<Vec<String>> = i.summary["admins"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|a| {
                    vec![
                        num(&a["user_id"]),
                        a["login"].as_str().unwrap_or("").to_string(),
                        num(&a["status"]),
                        a["last_login"].as_str().unwrap_or("never").to_string(),
                        mfa_text(&a["mfa_enrolled"]),
                        roles_text(&a["roles"]),
                    ]
                })
                .collect();
            if !rows.is_empty() {
                out.push_str(&html_table(
                    &["User id", "Login", "Status", "Last login", "MFA", "Roles"],
                    &rows,
                ));
            }
        }
        let pretty = |v: &Value| serde_json::to_string_pretty(v).unwrap_or_default();
        let _ = write!(
            out,
            "<details><summary>Summary (JSON)</summary><pre>{}</pre></details>\
             <details><summary>Raw source records</summary><pre>{}</pre></details>\
             <p><small>prev_hash {} · hash {}</small></p></section>",
            esc(&pretty(&i.summary)),
            esc(&pretty(&i.sources)),
            esc(&i.prev_hash),
            esc(&i.hash),
        );
    }
    out.push_str("\n</body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_and_csv_escape_values() {
        assert_eq!(
            esc("<script>\"x\"&'"),
            "&lt;script&gt;&quot;x&quot;&amp;&#39;"
        );
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("=cmd()"), "'=cmd()");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }

    #[test]
    fn every_value_in_the_html_export_is_escaped() {
        let evil = "<script>alert(1)</script>\"'&";
        let item = EvidenceItem {
            seq: 1,
            id: "EV-1".into(),
            kind: KIND_ADMIN.into(),
            integration_id: 1,
            integration_name: evil.into(),
            run_id: 1,
            collected_at: evil.into(),
            controls: json!([{"framework": evil, "control": evil, "title": evil}]),
            status: EVIDENCED.into(),
            reason: Some(evil.into()),
            summary: json!({"admins": [{"user_id": evil, "login": evil, "status": evil, "roles": [{"role_type": evil}]}]}),
            sources: json!({"users": [evil]}),
            prev_hash: evil.into(),
            hash: evil.into(),
        };
        let v = Verification {
            intact: true,
            items: 1,
            head_seq: 1,
            head_hash: evil.into(),
            redacted_entries: 0,
            broken: None,
        };
        let html = to_html(std::slice::from_ref(&item), &v, evil);
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("alert(1)</"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;"));
        let csv = to_csv(&[item]);
        assert_eq!(csv.lines().count(), 2, "{csv}");
        assert!(
            csv.contains("\"<script>alert(1)</script>\"\"'&\""),
            "quoted, quotes doubled: {csv}"
        );
    }

    #[test]
    fn formats_parse_and_name_their_content_type() {
        assert_eq!(ExportFormat::parse("HTML"), Some(ExportFormat::Html));
        assert_eq!(ExportFormat::parse("pdf"), None);
        assert_eq!(ExportFormat::Csv.content_type(), "text/csv; charset=utf-8");
    }
}
