//! One identity graph across integrations: accounts of every system joined into persons by
//! normalised email (login, email, second email; trimmed, lower-case), each join with its
//! evidence (which field of which account matched), and the cross-system views built on it:
//! orphans, leavers, licence seats, and everything one person has everywhere.
//!
//! The identity provider is Okta (the system people are hired and fired in); every other
//! integration (OneTrust, …) is a downstream system. The graph is computed from the current
//! snapshots on demand, so it is always as fresh as the last successful syncs.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use steward_model::{Account, IntegrationKind, Record, Resource};
use steward_store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("EMAIL: {0:?} is not an email address; give the person's email, e.g. ada@example.com")]
    BadEmail(String),
    #[error("no account in any integration has the email {0:?} (as login, email or second email)")]
    PersonNotFound(String),
}

/// Identifier normal form: trimmed, lower-case.
pub fn normalise(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Okta statuses of people who left (or are locked out of everything on purpose).
pub fn idp_inactive(status: &str) -> bool {
    matches!(
        status.to_ascii_uppercase().as_str(),
        "DEPROVISIONED" | "SUSPENDED"
    )
}

/// A downstream account counts as access when its source says it is active.
pub fn account_active(kind: IntegrationKind, status: &str) -> bool {
    match kind {
        IntegrationKind::Okta => !idp_inactive(status),
        IntegrationKind::Onetrust => status.eq_ignore_ascii_case("ACTIVE"),
    }
}

/// One account in one integration, as the graph shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccountRef {
    pub integration: String,
    pub kind: IntegrationKind,
    pub account_id: String,
    pub login: String,
    pub email: Option<String>,
    pub display_name: Option<String>,
    pub status: String,
    pub active: bool,
    pub license_status: Option<String>,
    pub last_login: Option<DateTime<Utc>>,
}

/// Why an account belongs to its person: this field's value (normalised) is shared with
/// another account of the same person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JoinEvidence {
    pub integration: String,
    pub account_id: String,
    /// `login`, `email` or `second_email`.
    pub field: String,
    /// The value as the source spells it.
    pub value: String,
    /// Normalised form that matched.
    pub matched: String,
}

/// A person: accounts joined by email, with the evidence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Person {
    /// The person's key: the identity provider's email when there is one, else the smallest
    /// normalised identifier.
    pub email: String,
    pub identifiers: Vec<String>,
    pub accounts: Vec<AccountRef>,
    pub evidence: Vec<JoinEvidence>,
}

impl Person {
    fn idp_accounts(&self) -> impl Iterator<Item = &AccountRef> {
        self.accounts
            .iter()
            .filter(|a| a.kind == IntegrationKind::Okta)
    }
    /// True when an identity-provider user of this person is active.
    pub fn has_active_idp_user(&self) -> bool {
        self.idp_accounts().any(|a| a.active)
    }
}

/// The graph of the current snapshots.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Graph {
    pub people: Vec<Person>,
    /// Integrations joined (name, kind), and whether one of them is an identity provider.
    pub integrations: Vec<(String, IntegrationKind)>,
    pub has_idp: bool,
    /// Successful logins per (integration, account id) in the last 30 / 90 days.
    #[serde(skip)]
    usage: HashMap<(String, String), (u64, u64)>,
}

/// Union-find over account indexes.
struct Dsu(Vec<usize>);

impl Dsu {
    fn find(&mut self, x: usize) -> usize {
        let mut r = x;
        while self.0[r] != r {
            r = self.0[r];
        }
        let mut y = x;
        while self.0[y] != r {
            let n = self.0[y];
            self.0[y] = r;
            y = n;
        }
        r
    }
    fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            self.0[rb] = ra;
        }
    }
}

/// The identifier fields of an account, (field, raw value), emails only.
fn identifiers(a: &Account) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if a.login.contains('@') {
        out.push(("login", a.login.clone()));
    }
    if let Some(e) = a.email.as_ref().filter(|e| e.contains('@')) {
        out.push(("email", e.clone()));
    }
    if let Some(e) = a.second_email.as_ref().filter(|e| e.contains('@')) {
        out.push(("second_email", e.clone()));
    }
    out
}

/// Build persons from accounts of several integrations (pure; the store-reading entry
/// point is [`build`]).
pub fn join(accounts: Vec<(String, IntegrationKind, Account)>) -> Vec<Person> {
    let mut dsu = Dsu((0..accounts.len()).collect());
    let mut first_with: HashMap<String, usize> = HashMap::new();
    for (i, (_, _, a)) in accounts.iter().enumerate() {
        for (_, v) in identifiers(a) {
            let n = normalise(&v);
            match first_with.get(&n) {
                Some(&j) => dsu.union(j, i),
                None => {
                    first_with.insert(n, i);
                }
            }
        }
    }
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..accounts.len() {
        let r = dsu.find(i);
        groups.entry(r).or_default().push(i);
    }
    let mut people = Vec::new();
    for members in groups.into_values() {
        // Which normalised identifiers appear on more than one account of this person.
        let mut holders: HashMap<String, BTreeSet<usize>> = HashMap::new();
        for &i in &members {
            for (_, v) in identifiers(&accounts[i].2) {
                holders.entry(normalise(&v)).or_default().insert(i);
            }
        }
        let mut evidence = Vec::new();
        for &i in &members {
            let (integration, _, a) = &accounts[i];
            for (field, v) in identifiers(a) {
                let n = normalise(&v);
                if holders.get(&n).is_some_and(|h| h.len() > 1) {
                    evidence.push(JoinEvidence {
                        integration: integration.clone(),
                        account_id: a.id.clone(),
                        field: field.into(),
                        value: v,
                        matched: n,
                    });
                }
            }
        }
        let idents: BTreeSet<String> = holders.keys().cloned().collect();
        let idp_email = members
            .iter()
            .filter(|&&i| accounts[i].1 == IntegrationKind::Okta)
            .find_map(|&i| {
                accounts[i]
                    .2
                    .email
                    .as_deref()
                    .or(Some(accounts[i].2.login.as_str()))
                    .filter(|e| e.contains('@'))
            })
            .map(normalise);
        let email = idp_email
            .or_else(|| {
                members
                    .iter()
                    .find_map(|&i| accounts[i].2.email.as_deref().map(normalise))
            })
            .or_else(|| idents.iter().next().cloned())
            .unwrap_or_else(|| accounts[members[0]].2.login.to_lowercase());
        let mut refs: Vec<AccountRef> = members
            .iter()
            .map(|&i| {
                let (integration, kind, a) = &accounts[i];
                AccountRef {
                    integration: integration.clone(),
                    kind: *kind,
                    account_id: a.id.clone(),
                    login: a.login.clone(),
                    email: a.email.clone(),
                    display_name: a.display_name.clone(),
                    status: a.status.clone(),
                    active: account_active(*kind, &a.status),
                    license_status: a.license_status.clone(),
                    last_login: a.last_login,
                }
            })
            .collect();
        refs.sort_by(|a, b| (&a.integration, &a.account_id).cmp(&(&b.integration, &b.account_id)));
        evidence.sort_by(|a, b| {
            (&a.integration, &a.account_id, &a.field).cmp(&(
                &b.integration,
                &b.account_id,
                &b.field,
            ))
        });
        people.push(Person {
            email,
            identifiers: idents.into_iter().collect(),
            accounts: refs,
            evidence,
        });
    }
    people.sort_by(|a, b| a.email.cmp(&b.email));
    people
}

/// Read every integration's current snapshot and join it.
pub async fn build(store: &Store, now: DateTime<Utc>) -> Result<Graph, GraphError> {
    let mut accounts = Vec::new();
    let mut integrations = Vec::new();
    let mut usage: HashMap<(String, String), (u64, u64)> = HashMap::new();
    let d30 = now - Duration::days(30);
    let d90 = now - Duration::days(90);
    for i in store.integrations().await? {
        if i.current_run_id.is_none() {
            continue;
        }
        integrations.push((i.name.clone(), i.kind));
        for r in store.snapshot_records(i.id, Resource::Users).await? {
            if let Record::Account(a) = r {
                accounts.push((i.name.clone(), i.kind, a));
            }
        }
        if i.kind != IntegrationKind::Okta {
            // Usage: successful logins (OneTrust login history) in the windows.
            for r in store.snapshot_records(i.id, Resource::LogEvents).await? {
                let Record::LogEvent(e) = r else { continue };
                if !e.event_type.ends_with(".login")
                    || e.outcome.as_deref() != Some("SUCCESS")
                    || e.published > now
                {
                    continue;
                }
                let Some(actor) = e.actor_id else { continue };
                let u = usage.entry((i.name.clone(), actor)).or_default();
                if e.published >= d30 {
                    u.0 += 1;
                }
                if e.published >= d90 {
                    u.1 += 1;
                }
            }
        }
    }
    let has_idp = integrations
        .iter()
        .any(|(_, k)| *k == IntegrationKind::Okta);
    Ok(Graph {
        people: join(accounts),
        integrations,
        has_idp,
        usage,
    })
}

/// An account with no active identity-provider user behind it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Orphan {
    pub person: String,
    pub account: AccountRef,
    /// Why: no identity-provider user at all, or only inactive ones (their statuses).
    pub reason: String,
}

/// A person who left in the identity provider but is still active elsewhere.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Leaver {
    pub person: String,
    pub idp_accounts: Vec<AccountRef>,
    pub still_active: Vec<AccountRef>,
    pub evidence: Vec<JoinEvidence>,
}

/// Licence seats of one integration and licence status: assigned vs used.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Seats {
    pub integration: String,
    pub license_status: String,
    /// Active accounts holding this licence status.
    pub assigned: u64,
    /// Of those, accounts with a successful login in the last 30 / 90 days.
    pub used_30d: u64,
    pub used_90d: u64,
    /// Assigned but not used in 90 days (account ids), sorted.
    pub unused_90d: Vec<String>,
}

impl Graph {
    /// The graph of accounts already read, without login usage (seats then count nothing as
    /// used). Findings only need the joins, and skip reading every login event.
    pub fn of_accounts(
        accounts: Vec<(String, IntegrationKind, Account)>,
        integrations: Vec<(String, IntegrationKind)>,
    ) -> Graph {
        let has_idp = integrations
            .iter()
            .any(|(_, k)| *k == IntegrationKind::Okta);
        Graph {
            people: join(accounts),
            integrations,
            has_idp,
            usage: HashMap::new(),
        }
    }

    /// Active downstream accounts whose person has no active identity-provider user.
    pub fn orphans(&self) -> Vec<Orphan> {
        let mut out = Vec::new();
        for p in &self.people {
            if p.has_active_idp_user() {
                continue;
            }
            let idp: Vec<&AccountRef> = p.idp_accounts().collect();
            let reason = if idp.is_empty() {
                "no identity-provider (Okta) user has this email".to_string()
            } else {
                format!(
                    "the identity-provider user is {}",
                    idp.iter()
                        .map(|a| format!("{} in {}", a.status, a.integration))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            for a in p
                .accounts
                .iter()
                .filter(|a| a.kind != IntegrationKind::Okta && a.active)
            {
                out.push(Orphan {
                    person: p.email.clone(),
                    account: a.clone(),
                    reason: reason.clone(),
                });
            }
        }
        out
    }

    /// People deprovisioned or suspended in the identity provider, still active elsewhere.
    pub fn leavers(&self) -> Vec<Leaver> {
        self.people
            .iter()
            .filter(|p| {
                let idp: Vec<&AccountRef> = p.idp_accounts().collect();
                !idp.is_empty() && idp.iter().all(|a| idp_inactive(&a.status))
            })
            .filter_map(|p| {
                let still: Vec<AccountRef> = p
                    .accounts
                    .iter()
                    .filter(|a| a.kind != IntegrationKind::Okta && a.active)
                    .cloned()
                    .collect();
                (!still.is_empty()).then(|| Leaver {
                    person: p.email.clone(),
                    idp_accounts: p.idp_accounts().cloned().collect(),
                    still_active: still,
                    evidence: p.evidence.clone(),
                })
            })
            .collect()
    }

    /// Seats per downstream integration and licence status.
    pub fn seats(&self) -> Vec<Seats> {
        let mut by: BTreeMap<(String, String), Seats> = BTreeMap::new();
        for p in &self.people {
            for a in p
                .accounts
                .iter()
                .filter(|a| a.kind != IntegrationKind::Okta && a.active)
            {
                let Some(lic) = a.license_status.clone() else {
                    continue;
                };
                let s = by
                    .entry((a.integration.clone(), lic.clone()))
                    .or_insert_with(|| Seats {
                        integration: a.integration.clone(),
                        license_status: lic,
                        assigned: 0,
                        used_30d: 0,
                        used_90d: 0,
                        unused_90d: Vec::new(),
                    });
                s.assigned += 1;
                let (u30, u90) = self
                    .usage
                    .get(&(a.integration.clone(), a.account_id.clone()))
                    .copied()
                    .unwrap_or((0, 0));
                if u30 > 0 {
                    s.used_30d += 1;
                }
                if u90 > 0 {
                    s.used_90d += 1;
                } else {
                    s.unused_90d.push(a.account_id.clone());
                }
            }
        }
        by.into_values()
            .map(|mut s| {
                s.unused_90d.sort();
                s
            })
            .collect()
    }

    /// The person with this email (any identifier of theirs), all accounts everywhere.
    pub fn person(&self, email: &str) -> Result<&Person, GraphError> {
        let n = normalise(email);
        if !n.contains('@') || n.chars().any(char::is_whitespace) {
            return Err(GraphError::BadEmail(email.to_string()));
        }
        self.people
            .iter()
            .find(|p| p.email == n || p.identifiers.contains(&n))
            .ok_or(GraphError::PersonNotFound(email.to_string()))
    }

    /// Successful logins of an account in the last 30 and 90 days.
    pub fn usage_of(&self, integration: &str, account_id: &str) -> (u64, u64) {
        self.usage
            .get(&(integration.to_string(), account_id.to_string()))
            .copied()
            .unwrap_or((0, 0))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn acct(
        id: &str,
        login: &str,
        email: Option<&str>,
        second: Option<&str>,
        status: &str,
    ) -> Account {
        Account {
            id: id.into(),
            login: login.into(),
            email: email.map(str::to_string),
            second_email: second.map(str::to_string),
            first_name: None,
            last_name: None,
            display_name: None,
            status: status.into(),
            department: None,
            title: None,
            manager: None,
            employee_number: None,
            created: None,
            last_login: None,
            last_updated: None,
            license_status: Some("Licensed".into()),
            raw: steward_model::Raw::null(),
        }
    }

    #[test]
    fn joins_by_normalised_email_with_evidence() {
        let people = join(vec![
            (
                "okta".into(),
                IntegrationKind::Okta,
                acct(
                    "00u1",
                    "ada@x.io",
                    Some("ada@x.io"),
                    Some("ada.l@y.io"),
                    "ACTIVE",
                ),
            ),
            (
                "ot".into(),
                IntegrationKind::Onetrust,
                acct("ot1", " ADA.L@Y.IO", Some("ADA.L@Y.IO"), None, "ACTIVE"),
            ),
            (
                "ot".into(),
                IntegrationKind::Onetrust,
                acct("ot2", "bob@x.io", Some("bob@x.io"), None, "ACTIVE"),
            ),
        ]);
        assert_eq!(people.len(), 2);
        let ada = &people[0];
        assert_eq!(ada.email, "ada@x.io");
        assert_eq!(ada.accounts.len(), 2);
        assert!(
            ada.evidence
                .iter()
                .any(|e| e.account_id == "00u1" && e.field == "second_email")
        );
        assert!(
            ada.evidence
                .iter()
                .any(|e| e.account_id == "ot1" && e.field == "email" && e.value == "ADA.L@Y.IO")
        );
        assert!(people[1].evidence.is_empty());
    }

    #[test]
    fn orphans_and_leavers() {
        let g = Graph {
            people: join(vec![
                (
                    "okta".into(),
                    IntegrationKind::Okta,
                    acct("1", "a@x.io", Some("a@x.io"), None, "ACTIVE"),
                ),
                (
                    "okta".into(),
                    IntegrationKind::Okta,
                    acct("2", "b@x.io", Some("b@x.io"), None, "DEPROVISIONED"),
                ),
                (
                    "ot".into(),
                    IntegrationKind::Onetrust,
                    acct("o1", "a@x.io", Some("A@x.io"), None, "ACTIVE"),
                ),
                (
                    "ot".into(),
                    IntegrationKind::Onetrust,
                    acct("o2", "b@x.io", Some("b@x.io"), None, "ACTIVE"),
                ),
                (
                    "ot".into(),
                    IntegrationKind::Onetrust,
                    acct("o3", "c@x.io", Some("c@x.io"), None, "ACTIVE"),
                ),
                (
                    "ot".into(),
                    IntegrationKind::Onetrust,
                    acct("o4", "d@x.io", Some("d@x.io"), None, "INACTIVE"),
                ),
            ]),
            has_idp: true,
            ..Graph::default()
        };
        let orphans: Vec<String> = g
            .orphans()
            .into_iter()
            .map(|o| o.account.account_id)
            .collect();
        assert_eq!(orphans, vec!["o2", "o3"]);
        let leavers: Vec<String> = g.leavers().into_iter().map(|l| l.person).collect();
        assert_eq!(leavers, vec!["b@x.io"]);
        assert!(matches!(g.person("nobody"), Err(GraphError::BadEmail(_))));
        assert_eq!(g.person(" A@X.IO").unwrap().accounts.len(), 2);
        let seats = g.seats();
        assert_eq!(seats[0].assigned, 3);
        assert_eq!(seats[0].used_90d, 0);
    }
}
