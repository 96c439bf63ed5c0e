//! The simulated Okta org: compact in-memory data and its seeded, deterministic generation.
//!
//! Everything is stored by index (users, groups, apps are `Vec`s kept in id order, so an
//! `after` cursor is a binary search) and rendered to JSON on demand (`render.rs`), which keeps
//! 100,000 users with 1,000,000 app assignments well inside 2 GiB.

use std::collections::{BTreeSet, HashSet};

use chrono::{DateTime, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::SimConfig;

/// Milliseconds since the Unix epoch.
pub type Ms = i64;

pub const DAY_MS: Ms = 86_400_000;

/// Okta's user statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Staged,
    Provisioned,
    Active,
    Recovery,
    PasswordExpired,
    LockedOut,
    Suspended,
    Deprovisioned,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Staged => "STAGED",
            Status::Provisioned => "PROVISIONED",
            Status::Active => "ACTIVE",
            Status::Recovery => "RECOVERY",
            Status::PasswordExpired => "PASSWORD_EXPIRED",
            Status::LockedOut => "LOCKED_OUT",
            Status::Suspended => "SUSPENDED",
            Status::Deprovisioned => "DEPROVISIONED",
        }
    }
    /// Users who have signed in at least once hold factors and may hold roles.
    pub fn is_enrolled(self) -> bool {
        !matches!(
            self,
            Status::Staged | Status::Provisioned | Status::Deprovisioned
        )
    }
}

#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub status: Status,
    pub created: Ms,
    pub activated: Option<Ms>,
    pub status_changed: Option<Ms>,
    pub last_login: Option<Ms>,
    pub last_updated: Ms,
    pub password_changed: Option<Ms>,
    pub first: String,
    pub last: String,
    pub login: String,
    pub email: String,
    pub second_email: Option<String>,
    pub mobile_phone: Option<String>,
    pub department: u16,
    pub title: &'static str,
    pub manager: Option<u32>,
    pub employee_number: u32,
    /// Deleted users stay in the vector (indices are stable) but are invisible.
    pub deleted: bool,
    pub factors: Vec<Factor>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupType {
    BuiltIn,
    OktaGroup,
    AppGroup,
}

impl GroupType {
    pub fn as_str(self) -> &'static str {
        match self {
            GroupType::BuiltIn => "BUILT_IN",
            GroupType::OktaGroup => "OKTA_GROUP",
            GroupType::AppGroup => "APP_GROUP",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Group {
    pub id: String,
    pub name: String,
    pub description: String,
    pub kind: GroupType,
    pub created: Ms,
    pub last_updated: Ms,
    pub last_membership_updated: Ms,
    /// Member user indices, sorted (= id order). Empty for Everyone (implicit: all users).
    pub members: Vec<u32>,
    /// For APP_GROUP groups: the app they are sourced from.
    pub source_app: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    User,
    Group,
}

/// One row of `/apps/{id}/users`.
#[derive(Debug, Clone, Copy)]
pub struct AppUser {
    pub user: u32,
    pub scope: Scope,
    pub created: Ms,
    pub last_updated: Ms,
}

#[derive(Debug, Clone)]
pub struct AppGroup {
    pub group: u32,
    pub priority: u32,
    pub last_updated: Ms,
}

#[derive(Debug, Clone)]
pub struct App {
    pub id: String,
    pub name: String,
    pub label: String,
    pub sign_on_mode: &'static str,
    pub active: bool,
    pub created: Ms,
    pub last_updated: Ms,
    pub deleted: bool,
    /// Sorted by user index.
    pub users: Vec<AppUser>,
    /// Sorted by group index.
    pub groups: Vec<AppGroup>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder {
    User(u32),
    Group(u32),
}

#[derive(Debug, Clone)]
pub struct RoleAssignment {
    pub id: String,
    pub role_type: &'static str,
    pub label: String,
    pub holder: Holder,
    pub created: Ms,
    /// CUSTOM roles: (role id, resource-set id).
    pub custom: Option<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactorKind {
    Push,
    Totp,
    Sms,
    WebAuthn,
}

#[derive(Debug, Clone)]
pub struct Factor {
    pub id: String,
    pub kind: FactorKind,
    pub created: Ms,
    pub phone: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub name: String,
    pub priority: u32,
    pub require_mfa: bool,
    pub created: Ms,
}

#[derive(Debug, Clone)]
pub struct Policy {
    pub id: String,
    pub policy_type: &'static str,
    pub name: String,
    pub description: String,
    pub priority: u32,
    pub system: bool,
    pub created: Ms,
    pub last_updated: Ms,
    pub rules: Vec<Rule>,
}

/// A System Log target.
#[derive(Debug, Clone)]
pub struct Target {
    pub id: String,
    pub kind: &'static str,
    pub alternate_id: String,
    pub display_name: String,
}

#[derive(Debug, Clone)]
pub struct LogEvent {
    pub uuid: String,
    /// Whole seconds (rendered as recorded: `2024-01-21T13:29:21Z`).
    pub published: Ms,
    pub event_type: &'static str,
    pub display_message: &'static str,
    pub legacy_event_type: Option<&'static str>,
    pub severity: &'static str,
    pub result: &'static str,
    pub actor: Target,
    pub targets: Vec<Target>,
    pub transaction_id: String,
    pub ip: &'static str,
    /// Extra `debugContext.debugData` entries (rate-limit events carry their bucket data).
    pub debug: Vec<(&'static str, String)>,
}

/// The whole org.
#[derive(Clone)]
pub struct Org {
    pub org_id: String,
    pub users: Vec<User>,
    /// user index → group indices (sorted), excluding Everyone.
    pub user_groups: Vec<Vec<u32>>,
    pub groups: Vec<Group>,
    pub everyone: u32,
    pub apps: Vec<App>,
    pub roles: Vec<RoleAssignment>,
    pub policies: Vec<Policy>,
    /// Sorted by (published, uuid).
    pub logs: Vec<LogEvent>,
    pub warning_threshold: u8,
    pub notifications_enabled: bool,
    /// Admin user per token role, in `TOKEN_ROLES` order.
    pub token_users: Vec<u32>,
    pub tokens: Vec<String>,
    /// Next index for ids minted at run time (writes, control endpoints).
    pub next_serial: u64,
    pub id_rng: ChaCha8Rng,
    /// Each user's JSON rendered with an empty base URL (see `render::user_cached_into`);
    /// refreshed by every write that touches the user. Paging copies bytes instead of
    /// formatting.
    pub user_json: Vec<String>,
    /// Each System Log event's JSON, in `logs` order. Events never change once written, so
    /// each is rendered once (at generation, or by `server::insert_event`): the log is most
    /// of what a first sync reads, and a page of it is then a copy, not a render.
    pub log_json: Vec<Box<str>>,
}

/// The token roles, in the order of `Org::tokens`.
pub const TOKEN_ROLES: [&str; 6] = [
    "SUPER_ADMIN",
    "ORG_ADMIN",
    "APP_ADMIN",
    "READ_ONLY_ADMIN",
    "NO_ADMIN",
    "EXPIRED",
];

const ALNUM: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const ORG_SUFFIX: &str = "1d7";

fn rand_chars(rng: &mut ChaCha8Rng, n: usize) -> String {
    (0..n)
        .map(|_| ALNUM[rng.gen_range(0..ALNUM.len())] as char)
        .collect()
}

/// Okta-style id, 20 chars: prefix (3) + ordered serial (6) + random (8) + org suffix (3).
/// The serial makes byte order equal creation order, so lists sort by id like Okta's.
pub fn okta_id(prefix: &str, serial: u64, rng: &mut ChaCha8Rng) -> String {
    let mut s = String::with_capacity(20);
    s.push_str(prefix);
    let mut digits = [b'0'; 6];
    let mut v = serial;
    for d in digits.iter_mut().rev() {
        *d = ALNUM[(v % 62) as usize];
        v /= 62;
    }
    s.extend(digits.iter().map(|&b| b as char));
    s.push_str(&rand_chars(rng, 8));
    s.push_str(ORG_SUFFIX);
    s
}

/// A time-based (v1-looking) UUID like Okta's System Log `uuid`s.
pub fn log_uuid(published: Ms, rng: &mut ChaCha8Rng) -> String {
    let t = published as u64;
    format!(
        "{:08x}-{:04x}-11{:02x}-{:04x}-{:012x}",
        (t.wrapping_mul(10_000) & 0xffff_ffff) as u32,
        ((t >> 32) & 0xffff) as u16,
        rng.r#gen::<u8>(),
        rng.gen_range(0x8000u16..0xc000u16),
        rng.r#gen::<u64>() & 0xffff_ffff_ffff
    )
}

const FIRST: &[&str] = &[
    "Olivia", "Liam", "Emma", "Noah", "Ava", "Elijah", "Sophia", "James", "Isabella", "Lucas",
    "Mia", "Mateo", "Amelia", "Benjamin", "Harper", "Henry", "Evelyn", "Theodore", "Aisha", "Wei",
    "Priya", "Kenji", "Fatima", "Diego", "Ingrid", "Tomasz", "Chloe", "Samuel", "Zoe", "Omar",
    "Nadia", "Hugo", "Lena", "Ravi", "Grace", "Jonas", "Maya", "Felix", "Sara", "Daniel",
];
const LAST: &[&str] = &[
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Nguyen",
    "Kowalski",
    "Okafor",
    "Tanaka",
    "Schmidt",
    "Rossi",
    "Dubois",
    "Singh",
    "Kim",
    "Novak",
    "Silva",
    "Larsen",
    "Cohen",
];
pub const DEPARTMENTS: &[&str] = &[
    "Engineering",
    "Sales",
    "Marketing",
    "Finance",
    "Human Resources",
    "Legal",
    "Support",
    "Operations",
    "Product",
    "Security",
    "IT",
    "Data",
];
const TITLES: &[&str] = &[
    "Engineer",
    "Senior Engineer",
    "Manager",
    "Director",
    "Analyst",
    "Specialist",
    "Associate",
    "Lead",
    "Coordinator",
    "Consultant",
];
const TEAMS: &[&str] = &[
    "Platform",
    "Mobile",
    "Web",
    "EMEA",
    "APAC",
    "Americas",
    "Payroll",
    "Recruiting",
    "Growth",
    "Brand",
    "Infra",
    "Compliance",
    "Analytics",
    "Design",
    "Partners",
    "Onboarding",
];
/// (name, label, signOnMode)
const CATALOG: &[(&str, &str, &str)] = &[
    ("salesforce", "Salesforce", "SAML_2_0"),
    ("slack", "Slack", "SAML_2_0"),
    ("zoomus", "Zoom", "SAML_2_0"),
    ("google", "Google Workspace", "SAML_2_0"),
    ("office365", "Microsoft Office 365", "SAML_2_0"),
    ("box", "Box", "SAML_2_0"),
    ("github_enterprise", "GitHub Enterprise", "SAML_2_0"),
    ("atlassian", "Atlassian Cloud", "SAML_2_0"),
    ("workday", "Workday", "SAML_2_0"),
    ("servicenow_app2", "ServiceNow", "SAML_2_0"),
    (
        "aws_account_federation",
        "AWS Account Federation",
        "SAML_2_0",
    ),
    ("datadog", "Datadog", "SAML_2_0"),
    ("oidc_client", "Internal Portal", "OPENID_CONNECT"),
    ("oidc_client", "Expense Tracker", "OPENID_CONNECT"),
    ("oidc_client", "Wiki", "OPENID_CONNECT"),
    ("oidc_client", "Status Dashboard", "OPENID_CONNECT"),
    ("figma", "Figma", "OPENID_CONNECT"),
    ("notion", "Notion", "OPENID_CONNECT"),
    ("bookmark", "Benefits Portal", "BOOKMARK"),
    ("bookmark", "Company Handbook", "BOOKMARK"),
    ("bookmark", "Travel Booking", "BOOKMARK"),
    ("template_basic_auth", "Legacy Timesheets", "AUTO_LOGIN"),
    ("template_sps", "Vendor Portal", "AUTO_LOGIN"),
    ("template_swa", "Payroll Archive", "BROWSER_PLUGIN"),
    ("template_swa", "Shipping Console", "BROWSER_PLUGIN"),
    ("dropbox_for_business", "Dropbox Business", "SAML_2_0"),
    ("hubspot", "HubSpot", "SAML_2_0"),
    ("zendesk", "Zendesk", "SAML_2_0"),
    ("pagerduty", "PagerDuty", "SAML_2_0"),
    ("docusign", "DocuSign", "SAML_2_0"),
    ("tableau_online", "Tableau Cloud", "SAML_2_0"),
    ("jamf", "Jamf Pro", "SAML_2_0"),
    ("1password", "1Password", "OPENID_CONNECT"),
    ("miro", "Miro", "SAML_2_0"),
    ("asana", "Asana", "SAML_2_0"),
    ("gitlab", "GitLab", "SAML_2_0"),
    ("snowflake", "Snowflake", "SAML_2_0"),
    // OIN SWA apps keep their own key name in real Okta (e.g. `twitter`), but the spec and the
    // official SDK only accept `template_swa`/`template_swa3field` for BROWSER_PLUGIN: use the
    // template so SDK users can list the org (no recording shows either form).
    ("template_swa", "Corporate Twitter", "BROWSER_PLUGIN"),
    ("linkedin", "LinkedIn Sales Navigator", "AUTO_LOGIN"),
    ("bookmark", "IT Service Desk", "BOOKMARK"),
];

/// Everything `generate` produces, derived from the config only.
pub fn generate(config: &SimConfig) -> Org {
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let now = config.now.timestamp_millis() / 1000 * 1000;
    let n = config.users.max(6);
    let mut serial: u64 = 1;
    let mut next = || {
        serial += 1;
        serial
    };

    // --- users -------------------------------------------------------------------------
    let mut users = Vec::with_capacity(n);
    let mut seen_logins: HashSet<String> = HashSet::with_capacity(n);
    let mut dept_last: Vec<Option<u32>> = vec![None; DEPARTMENTS.len()];
    for i in 0..n {
        let first = FIRST[rng.gen_range(0..FIRST.len())];
        let last = LAST[rng.gen_range(0..LAST.len())];
        let base = format!(
            "{}.{}",
            first.to_ascii_lowercase(),
            last.to_ascii_lowercase()
        );
        let mut login = format!("{base}@acme.example");
        let mut k = 2;
        while seen_logins.contains(&login) {
            login = format!("{base}{k}@acme.example");
            k += 1;
        }
        seen_logins.insert(login.clone());
        let status = if i < 6 {
            Status::Active
        } else {
            match rng.gen_range(0..100) {
                0..=2 => Status::Staged,
                3..=5 => Status::Provisioned,
                6..=7 => Status::LockedOut,
                8..=10 => Status::Suspended,
                11 => Status::Recovery,
                12..=13 => Status::PasswordExpired,
                14..=19 => Status::Deprovisioned,
                _ => Status::Active,
            }
        };
        let created =
            now - rng.gen_range(100..1500) * DAY_MS - rng.gen_range(0..DAY_MS / 1000) * 1000;
        let (activated, status_changed, last_login, password_changed) = match status {
            Status::Staged => (None, None, None, Some(created)),
            Status::Provisioned => (Some(created + 60_000), Some(created + 60_000), None, None),
            Status::Deprovisioned => {
                let changed = now - rng.gen_range(1..95) * DAY_MS;
                (Some(created + 60_000), Some(changed), None, None)
            }
            _ => {
                let login_at = if rng.gen_bool(0.05) {
                    None
                } else {
                    // Spread over time: most recent, some stale (> 90 days).
                    let days = if rng.gen_bool(0.85) {
                        rng.gen_range(0..30)
                    } else {
                        rng.gen_range(30..400)
                    };
                    Some(
                        (now - days * DAY_MS - rng.gen_range(0..86_400) * 1000)
                            .max(created + 120_000),
                    )
                };
                let changed = if status == Status::Active {
                    Some(created + 60_000)
                } else {
                    Some(now - rng.gen_range(1..60) * DAY_MS)
                };
                (
                    Some(created + 60_000),
                    changed,
                    login_at,
                    Some(created + 120_000),
                )
            }
        };
        let last_updated = [Some(created), status_changed, password_changed]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(created);
        let department = rng.gen_range(0..DEPARTMENTS.len()) as u16;
        let manager = dept_last[department as usize];
        if rng.gen_bool(0.3) || manager.is_none() {
            dept_last[department as usize] = Some(i as u32);
        }
        let second_email = if rng.gen_bool(0.4) {
            Some(format!(
                "{}.{}{}@mail.example",
                first.to_ascii_lowercase(),
                last.to_ascii_lowercase(),
                i
            ))
        } else {
            None
        };
        let mobile_phone = if rng.gen_bool(0.6) {
            Some(format!("+1555{:07}", rng.gen_range(0..10_000_000)))
        } else {
            None
        };
        users.push(User {
            id: okta_id("00u", next(), &mut rng),
            status,
            created,
            activated,
            status_changed,
            last_login,
            last_updated,
            password_changed,
            first: first.to_string(),
            last: last.to_string(),
            email: login.clone(),
            login,
            second_email,
            mobile_phone,
            department,
            title: TITLES[rng.gen_range(0..TITLES.len())],
            manager,
            employee_number: 100_000 + i as u32,
            deleted: false,
            factors: Vec::new(),
        });
    }

    // --- factors ------------------------------------------------------------------------
    for u in users.iter_mut() {
        if !u.status.is_enrolled() || rng.gen_bool(0.12) {
            continue;
        }
        let count = rng.gen_range(1..=3);
        let mut kinds: Vec<FactorKind> = Vec::new();
        while kinds.len() < count {
            let k = match rng.gen_range(0..4) {
                0 => FactorKind::Push,
                1 => FactorKind::Totp,
                2 => FactorKind::Sms,
                _ => FactorKind::WebAuthn,
            };
            if !kinds.contains(&k) {
                kinds.push(k);
            }
        }
        for k in kinds {
            let prefix = match k {
                FactorKind::Push => "opf",
                FactorKind::Totp => "ost",
                FactorKind::Sms => "mbl",
                FactorKind::WebAuthn => "fwf",
            };
            let created = u.created + rng.gen_range(1..30) * DAY_MS;
            let phone =
                (k == FactorKind::Sms).then(|| format!("+1555{:07}", rng.gen_range(0..10_000_000)));
            u.factors.push(Factor {
                id: okta_id(prefix, next(), &mut rng),
                kind: k,
                created,
                phone,
            });
        }
    }

    // --- groups -------------------------------------------------------------------------
    let min_groups = 1 + DEPARTMENTS.len() + 2;
    let total_groups = config
        .groups
        .unwrap_or(n / 25 + DEPARTMENTS.len() + 4)
        .max(min_groups);
    let org_created = now - 1600 * DAY_MS;
    let mut groups: Vec<Group> = Vec::with_capacity(total_groups);
    let mk_group =
        |name: String, desc: String, kind: GroupType, rng: &mut ChaCha8Rng, serial: u64| Group {
            id: okta_id("00g", serial, rng),
            name,
            description: desc,
            kind,
            created: org_created + rng.gen_range(0..300) * DAY_MS,
            last_updated: org_created + 300 * DAY_MS,
            last_membership_updated: now - rng.gen_range(1..60) * DAY_MS,
            members: Vec::new(),
            source_app: None,
        };
    groups.push(Group {
        created: org_created,
        last_updated: org_created,
        ..mk_group(
            "Everyone".into(),
            "All users in your organization".into(),
            GroupType::BuiltIn,
            &mut rng,
            next(),
        )
    });
    for d in DEPARTMENTS {
        let s = next();
        groups.push(mk_group(
            d.to_string(),
            format!("Everyone in {d}"),
            GroupType::OktaGroup,
            &mut rng,
            s,
        ));
    }
    let helpdesk_group = groups.len() as u32;
    let s = next();
    groups.push(mk_group(
        "Okta Help Desk".into(),
        "Help desk administrators".into(),
        GroupType::OktaGroup,
        &mut rng,
        s,
    ));
    let viewers_group = groups.len() as u32;
    let s = next();
    groups.push(mk_group(
        "Identity Viewers".into(),
        "Custom role: user viewers".into(),
        GroupType::OktaGroup,
        &mut rng,
        s,
    ));
    let remaining = total_groups - groups.len();
    let app_group_count = (remaining / 8).min(60);
    let team_count = remaining - app_group_count;
    for t in 0..team_count {
        let name = format!(
            "{} {}",
            TEAMS[t % TEAMS.len()],
            DEPARTMENTS[(t / TEAMS.len()) % DEPARTMENTS.len()]
        );
        let name = if t >= TEAMS.len() * DEPARTMENTS.len() {
            format!("{name} {t}")
        } else {
            name
        };
        let s = next();
        groups.push(mk_group(
            name.clone(),
            format!("Team {name}"),
            GroupType::OktaGroup,
            &mut rng,
            s,
        ));
    }
    let first_app_group = groups.len();
    for a in 0..app_group_count {
        let name = format!("{} Users {a}", CATALOG[a % CATALOG.len()].1);
        let s = next();
        groups.push(mk_group(
            name,
            "Imported from application".into(),
            GroupType::AppGroup,
            &mut rng,
            s,
        ));
    }
    let mut user_groups: Vec<Vec<u32>> = vec![Vec::new(); n];
    {
        let team_range = (viewers_group as usize + 1)..groups.len();
        let add = |g: usize, u: usize, groups: &mut Vec<Group>, ug: &mut Vec<Vec<u32>>| {
            groups[g].members.push(u as u32);
            ug[u].push(g as u32);
        };
        for u in 0..n {
            add(
                1 + users[u].department as usize,
                u,
                &mut groups,
                &mut user_groups,
            );
            if !team_range.is_empty() {
                for _ in 0..rng.gen_range(0..=2) {
                    let g = rng.gen_range(team_range.clone());
                    if !user_groups[u].contains(&(g as u32)) {
                        add(g, u, &mut groups, &mut user_groups);
                    }
                }
            }
        }
        // Role-holding groups: only active users beyond the token admins, at least one member.
        for (g, size) in [
            (helpdesk_group as usize, 4usize),
            (viewers_group as usize, 3usize),
        ] {
            let mut picked = 0;
            let mut tries = 0;
            while picked < size.min(n) && tries < 10_000 {
                tries += 1;
                let u = rng.gen_range(6.min(n - 1)..n);
                if users[u].status == Status::Active && !user_groups[u].contains(&(g as u32)) {
                    add(g, u, &mut groups, &mut user_groups);
                    picked += 1;
                }
            }
            if picked == 0 {
                add(g, 5, &mut groups, &mut user_groups);
            }
        }
        for g in groups.iter_mut() {
            g.members.sort_unstable();
            g.members.dedup();
        }
        for ug in user_groups.iter_mut() {
            ug.sort_unstable();
        }
    }

    // --- apps ---------------------------------------------------------------------------
    let napps = config.apps.unwrap_or((40 + n / 100).min(1000)).max(1);
    let mut apps: Vec<App> = Vec::with_capacity(napps);
    for a in 0..napps {
        let (name, label, mode) = CATALOG[a % CATALOG.len()];
        let label = if a >= CATALOG.len() {
            format!("{label} {}", a / CATALOG.len() + 1)
        } else {
            label.to_string()
        };
        let created = org_created + rng.gen_range(0..1200) * DAY_MS;
        let s = next();
        apps.push(App {
            id: okta_id("0oa", s, &mut rng),
            name: name.to_string(),
            label,
            sign_on_mode: mode,
            active: a < 5 || !rng.gen_bool(0.1),
            created,
            last_updated: created + rng.gen_range(0..100) * DAY_MS,
            deleted: false,
            users: Vec::new(),
            groups: Vec::new(),
        });
    }
    for (k, g) in (first_app_group..groups.len()).enumerate() {
        groups[g].source_app = Some((k % napps) as u32);
    }
    let target = config.app_assignments.unwrap_or(n * 10);
    let eligible: Vec<u32> = (0..n as u32)
        .filter(|&u| users[u as usize].status != Status::Deprovisioned)
        .collect();
    let mut pairs: HashSet<u64> = HashSet::with_capacity(target);
    // Group assignments first: their members become GROUP-scope app users.
    let small_groups: Vec<usize> = (viewers_group as usize + 1..groups.len()).collect();
    let mut group_scope: BTreeSet<u64> = BTreeSet::new();
    if !small_groups.is_empty() {
        for (a, app) in apps.iter_mut().enumerate() {
            let k = if app.active { rng.gen_range(0..=2) } else { 0 };
            let mut chosen: Vec<u32> = Vec::new();
            for _ in 0..k {
                let g = small_groups[rng.gen_range(0..small_groups.len())] as u32;
                if !chosen.contains(&g) {
                    chosen.push(g);
                }
            }
            chosen.sort_unstable();
            for (p, g) in chosen.iter().enumerate() {
                app.groups.push(AppGroup {
                    group: *g,
                    priority: p as u32,
                    last_updated: app.last_updated,
                });
                for &u in &groups[*g as usize].members {
                    if users[u as usize].status != Status::Deprovisioned
                        && group_scope.len() < target / 2
                    {
                        group_scope.insert(((a as u64) << 32) | u as u64);
                    }
                }
            }
        }
    }
    let max_pairs = (eligible.len() * napps).saturating_sub(group_scope.len());
    let direct_target = target.saturating_sub(group_scope.len()).min(max_pairs);
    while pairs.len() < direct_target && !eligible.is_empty() {
        let x: f64 = rng.r#gen();
        let a = ((x * x) * napps as f64) as usize % napps;
        let u = eligible[rng.gen_range(0..eligible.len())];
        let key = ((a as u64) << 32) | u as u64;
        if !group_scope.contains(&key) {
            pairs.insert(key);
        }
    }
    let mut all: Vec<(u64, Scope)> = pairs.into_iter().map(|k| (k, Scope::User)).collect();
    all.extend(group_scope.into_iter().map(|k| (k, Scope::Group)));
    all.sort_unstable_by_key(|(k, _)| *k);
    for (key, scope) in all {
        let a = (key >> 32) as usize;
        let u = (key & 0xffff_ffff) as u32;
        let base = apps[a].created.max(users[u as usize].created);
        let created = base + ((key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40) as i64 % 90) * DAY_MS;
        let created = created.min(now - DAY_MS);
        apps[a].users.push(AppUser {
            user: u,
            scope,
            created,
            last_updated: created,
        });
    }

    // --- roles --------------------------------------------------------------------------
    let mut roles: Vec<RoleAssignment> = Vec::new();
    let std_role =
        |t: &'static str, holder: Holder, rng: &mut ChaCha8Rng, serial: u64| RoleAssignment {
            id: okta_id("ra1", serial, rng),
            role_type: t,
            label: role_label(t).to_string(),
            holder,
            created: now - rng.gen_range(30..900) * DAY_MS,
            custom: None,
        };
    for (u, t) in [
        (0u32, "SUPER_ADMIN"),
        (1, "ORG_ADMIN"),
        (2, "APP_ADMIN"),
        (3, "READ_ONLY_ADMIN"),
    ] {
        let s = next();
        roles.push(std_role(t, Holder::User(u), &mut rng, s));
    }
    let extra = (n / 200).max(2);
    let mut extra_users: BTreeSet<u32> = BTreeSet::new();
    for _ in 0..extra * 4 {
        if extra_users.len() >= extra || n <= 6 {
            break;
        }
        let u = rng.gen_range(6..n) as u32;
        if users[u as usize].status == Status::Active {
            extra_users.insert(u);
        }
    }
    for u in extra_users {
        let t = [
            "HELP_DESK_ADMIN",
            "READ_ONLY_ADMIN",
            "APP_ADMIN",
            "USER_ADMIN",
        ][rng.gen_range(0..4)];
        let s = next();
        roles.push(std_role(t, Holder::User(u), &mut rng, s));
    }
    let s = next();
    roles.push(std_role(
        "HELP_DESK_ADMIN",
        Holder::Group(helpdesk_group),
        &mut rng,
        s,
    ));
    let s = next();
    let role_id = okta_id("cr0", s, &mut rng);
    let s = next();
    let set_id = okta_id("iam", s, &mut rng);
    let s = next();
    roles.push(RoleAssignment {
        id: okta_id("irb", s, &mut rng),
        role_type: "CUSTOM",
        label: "user-viewer-role".into(),
        holder: Holder::Group(viewers_group),
        created: now - 200 * DAY_MS,
        custom: Some((role_id, set_id)),
    });

    // --- policies -----------------------------------------------------------------------
    let mut policies = Vec::new();
    type Spec<'a> = (&'a str, &'a str, bool, &'a [(&'a str, bool)]);
    let specs: &[Spec] = &[
        (
            "OKTA_SIGN_ON",
            "Default Policy",
            true,
            &[("Default Rule", false)],
        ),
        (
            "OKTA_SIGN_ON",
            "Require MFA off-network",
            false,
            &[("Off network MFA", true), ("On network", false)],
        ),
        (
            "MFA_ENROLL",
            "Default Policy",
            true,
            &[("Default Rule", false)],
        ),
        (
            "MFA_ENROLL",
            "Admins must enrol",
            false,
            &[("Enrol admins", true)],
        ),
        (
            "ACCESS_POLICY",
            "Okta Admin Console",
            false,
            &[("Admin MFA", true), ("Catch-all Rule", false)],
        ),
        (
            "ACCESS_POLICY",
            "Any two factors",
            false,
            &[("Two factors", true)],
        ),
        (
            "ACCESS_POLICY",
            "Password only",
            false,
            &[("Password only", false), ("Catch-all Rule", false)],
        ),
        (
            "PASSWORD",
            "Default Policy",
            true,
            &[("Default Rule", false)],
        ),
        (
            "PASSWORD",
            "Strong passwords",
            false,
            &[("Strong rule", false)],
        ),
    ];
    for (pi, (t, name, system, rules)) in specs.iter().enumerate() {
        let created = org_created + pi as i64 * DAY_MS;
        let prefix = if *t == "ACCESS_POLICY" { "rst" } else { "00p" };
        let s = next();
        let id = okta_id(prefix, s, &mut rng);
        let mut rs = Vec::new();
        for (ri, (rname, mfa)) in rules.iter().enumerate() {
            let s = next();
            rs.push(Rule {
                id: okta_id(
                    if *t == "ACCESS_POLICY" { "rul" } else { "0pr" },
                    s,
                    &mut rng,
                ),
                name: rname.to_string(),
                priority: ri as u32 + 1,
                require_mfa: *mfa,
                created: created + 1000,
            });
        }
        policies.push(Policy {
            id,
            policy_type: t,
            name: name.to_string(),
            description: format!("{name} ({t})"),
            priority: (pi as u32 % 2) + 1,
            system: *system,
            created,
            last_updated: created + 10 * DAY_MS,
            rules: rs,
        });
    }

    // --- tokens ---------------------------------------------------------------------------
    let tokens: Vec<String> = TOKEN_ROLES
        .iter()
        .map(|_| format!("00{}", rand_chars(&mut rng, 40)))
        .collect();
    let token_users = vec![0, 1, 2, 3, 4, 5];

    // --- System Log -----------------------------------------------------------------------
    let mut org = Org {
        org_id: okta_id("00o", 1, &mut rng),
        users,
        user_groups,
        groups,
        everyone: 0,
        apps,
        roles,
        policies,
        logs: Vec::new(),
        warning_threshold: config.rate.warning_threshold,
        notifications_enabled: true,
        token_users,
        tokens,
        next_serial: 0,
        id_rng: ChaCha8Rng::seed_from_u64(config.seed ^ 0x0005_EED0_F1D5),
        user_json: Vec::new(),
        log_json: Vec::new(),
    };
    generate_logs(&mut org, &mut rng, now);
    org.log_json = org.logs.iter().map(render_log_event).collect();
    org.next_serial = serial + 1;
    org.user_json = (0..org.users.len())
        .map(|u| org.render_user_cache(u))
        .collect();
    org
}

/// One System Log event's JSON, as `Org::log_json` holds it.
pub fn render_log_event(e: &LogEvent) -> Box<str> {
    let mut out = Vec::with_capacity(2048);
    crate::render::log_event_into(&mut out, e);
    // serde_json writes UTF-8.
    String::from_utf8(out).unwrap_or_default().into_boxed_str()
}

pub fn role_label(t: &str) -> &'static str {
    match t {
        "SUPER_ADMIN" => "Super Administrator",
        "ORG_ADMIN" => "Organizational Administrator",
        "APP_ADMIN" => "Application Administrator",
        "READ_ONLY_ADMIN" => "Read Only Administrator",
        "HELP_DESK_ADMIN" => "Help Desk Administrator",
        "USER_ADMIN" => "Group Administrator",
        _ => "Custom Role",
    }
}

pub fn user_target(u: &User) -> Target {
    Target {
        id: u.id.clone(),
        kind: "User",
        alternate_id: u.login.clone(),
        display_name: format!("{} {}", u.first, u.last),
    }
}

pub fn app_target(a: &App) -> Target {
    Target {
        id: a.id.clone(),
        kind: "AppInstance",
        alternate_id: a.label.clone(),
        display_name: a.label.clone(),
    }
}

fn generate_logs(org: &mut Org, rng: &mut ChaCha8Rng, now: Ms) {
    let n = org.users.len();
    let total = (n * 6).min(300_000);
    let start = now - 90 * DAY_MS;
    let mut logs = Vec::with_capacity(total + 64);
    let active: Vec<usize> = (0..n)
        .filter(|&u| org.users[u].status.is_enrolled())
        .collect();
    if active.is_empty() {
        return;
    }
    let admin = user_target(&org.users[0]);
    let apps_active: Vec<usize> = (0..org.apps.len())
        .filter(|&a| org.apps[a].active)
        .collect();
    const IPS: [&str; 4] = [
        "203.0.113.17",
        "198.51.100.23",
        "192.0.2.44",
        "203.0.113.90",
    ];
    for _ in 0..total {
        let u = active[rng.gen_range(0..active.len())];
        let published = start + rng.gen_range(1..90 * 86_400) * 1000;
        let user = user_target(&org.users[u]);
        let roll = rng.gen_range(0..100);
        let (event_type, msg, legacy, targets, result) = match roll {
            0..=34 => (
                "user.session.start",
                "User login to Okta",
                Some("core.user_auth.login_success"),
                vec![user.clone()],
                if rng.gen_bool(0.93) {
                    "SUCCESS"
                } else {
                    "FAILURE"
                },
            ),
            35..=69 if !apps_active.is_empty() => {
                let a = apps_active[rng.gen_range(0..apps_active.len())];
                (
                    "user.authentication.sso",
                    "User single sign on to app",
                    Some("app.auth.sso"),
                    vec![app_target(&org.apps[a]), user.clone()],
                    "SUCCESS",
                )
            }
            70..=84 => (
                "user.authentication.auth_via_mfa",
                "Authentication of user via MFA",
                Some("core.user.factor.attempt_success"),
                vec![user.clone()],
                if rng.gen_bool(0.95) {
                    "SUCCESS"
                } else {
                    "FAILURE"
                },
            ),
            85..=91 => (
                "user.mfa.factor.activate",
                "Activate factor or authenticator",
                Some("core.user.factor.activate"),
                vec![user.clone()],
                "SUCCESS",
            ),
            92..=95 => (
                "user.account.update_profile",
                "Update user profile for Okta",
                Some("core.user.config.profile_update.success"),
                vec![user.clone()],
                "SUCCESS",
            ),
            96..=97 => (
                "user.lifecycle.suspend",
                "Suspend Okta user",
                Some("core.user.config.user_status.suspended"),
                vec![user.clone()],
                "SUCCESS",
            ),
            _ => (
                "user.lifecycle.activate",
                "Activate Okta user",
                Some("core.user.config.user_activated"),
                vec![user.clone()],
                "SUCCESS",
            ),
        };
        let actor = if event_type.starts_with("user.lifecycle")
            || event_type == "user.account.update_profile"
        {
            admin.clone()
        } else {
            user
        };
        logs.push(LogEvent {
            uuid: log_uuid(published, rng),
            published,
            event_type,
            display_message: msg,
            legacy_event_type: legacy,
            severity: if result == "FAILURE" { "WARN" } else { "INFO" },
            result,
            actor,
            targets,
            transaction_id: rand_chars(rng, 27),
            ip: IPS[rng.gen_range(0..IPS.len())],
            debug: Vec::new(),
        });
    }
    // Admin role grants, policy changes and deactivations inside the window.
    for r in org.roles.clone() {
        if let Holder::User(u) = r.holder {
            let published = start + rng.gen_range(1..90 * 86_400) * 1000;
            logs.push(admin_event(
                rng,
                published,
                &admin,
                "user.account.privilege.grant",
                "Grant user privilege",
                Some("core.user.admin_privilege.granted"),
                vec![user_target(&org.users[u as usize])],
            ));
        }
    }
    for p in org.policies.clone() {
        let published = start + rng.gen_range(1..90 * 86_400) * 1000;
        let t = Target {
            id: p.id.clone(),
            kind: "PolicyEntity",
            alternate_id: "unknown".into(),
            display_name: p.name.clone(),
        };
        logs.push(admin_event(
            rng,
            published,
            &admin,
            "policy.lifecycle.update",
            "Update policy",
            Some("core.policy.config.update"),
            vec![t],
        ));
    }
    for u in 0..n {
        let user = &org.users[u];
        if user.status == Status::Deprovisioned
            && let Some(changed) = user.status_changed
            && changed > start
        {
            let t = user_target(user);
            logs.push(admin_event(
                rng,
                changed / 1000 * 1000,
                &admin,
                "user.lifecycle.deactivate",
                "Deactivate Okta user",
                Some("core.user.config.user_deactivated"),
                vec![t],
            ));
        }
    }
    logs.sort_by(|a, b| (a.published, &a.uuid).cmp(&(b.published, &b.uuid)));
    org.logs = logs;
}

pub fn admin_event(
    rng: &mut ChaCha8Rng,
    published: Ms,
    actor: &Target,
    event_type: &'static str,
    msg: &'static str,
    legacy: Option<&'static str>,
    targets: Vec<Target>,
) -> LogEvent {
    LogEvent {
        uuid: log_uuid(published, rng),
        published,
        event_type,
        display_message: msg,
        legacy_event_type: legacy,
        severity: "INFO",
        result: "SUCCESS",
        actor: actor.clone(),
        targets,
        transaction_id: rand_chars(rng, 27),
        ip: "203.0.113.17",
        debug: Vec::new(),
    }
}

impl std::fmt::Debug for Org {
    // Tokens are secrets: Debug shows sizes only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Org")
            .field("org_id", &self.org_id)
            .field("users", &self.users.len())
            .field("groups", &self.groups.len())
            .field("apps", &self.apps.len())
            .field("roles", &self.roles.len())
            .field("policies", &self.policies.len())
            .field("logs", &self.logs.len())
            .finish_non_exhaustive()
    }
}

impl Org {
    /// Mint a new id for run-time objects (ordered after every generated one).
    pub fn mint_id(&mut self, prefix: &str) -> String {
        self.next_serial += 1;
        okta_id(prefix, self.next_serial, &mut self.id_rng)
    }

    fn render_user_cache(&self, u: usize) -> String {
        let mut s = String::with_capacity(1024);
        crate::render::user_into(&mut s, self, &self.users[u], "");
        s
    }

    /// Re-render a user's cached JSON after a write.
    pub fn refresh_user(&mut self, u: usize) {
        let s = self.render_user_cache(u);
        if let Some(slot) = self.user_json.get_mut(u) {
            *slot = s;
        }
    }

    pub fn find_user(&self, id_or_login: &str) -> Option<usize> {
        if let Ok(i) = self
            .users
            .binary_search_by(|u| u.id.as_str().cmp(id_or_login))
        {
            return (!self.users[i].deleted).then_some(i);
        }
        if let Some(i) = self
            .users
            .iter()
            .position(|u| !u.deleted && u.login.eq_ignore_ascii_case(id_or_login))
        {
            return Some(i);
        }
        // An unambiguous login short name (the part before `@`) also works, as in Okta.
        if id_or_login.contains('@') {
            return None;
        }
        let mut hits = self.users.iter().enumerate().filter(|(_, u)| {
            !u.deleted
                && u.login
                    .split('@')
                    .next()
                    .is_some_and(|s| s.eq_ignore_ascii_case(id_or_login))
        });
        match (hits.next(), hits.next()) {
            (Some((i, _)), None) => Some(i),
            _ => None,
        }
    }

    pub fn find_group(&self, id: &str) -> Option<usize> {
        self.groups.binary_search_by(|g| g.id.as_str().cmp(id)).ok()
    }

    pub fn find_app(&self, id: &str) -> Option<usize> {
        let i = self.apps.binary_search_by(|a| a.id.as_str().cmp(id)).ok()?;
        (!self.apps[i].deleted).then_some(i)
    }

    pub fn find_policy(&self, id: &str) -> Option<usize> {
        self.policies.iter().position(|p| p.id == id)
    }

    /// Members of a group (Everyone = every user not deleted).
    pub fn group_members(&self, g: usize) -> Vec<u32> {
        if self.groups[g].kind == GroupType::BuiltIn {
            (0..self.users.len() as u32)
                .filter(|&u| !self.users[u as usize].deleted)
                .collect()
        } else {
            self.groups[g].members.clone()
        }
    }

    /// Role assignments a user holds directly and through groups (the latter only while the
    /// user can hold roles at all).
    pub fn user_roles(&self, u: usize) -> Vec<&RoleAssignment> {
        if !self.users[u].status.is_enrolled() {
            return Vec::new();
        }
        self.roles
            .iter()
            .filter(|r| match r.holder {
                Holder::User(x) => x as usize == u,
                Holder::Group(g) => self.groups[g as usize]
                    .members
                    .binary_search(&(u as u32))
                    .is_ok(),
            })
            .collect()
    }

    pub fn now_floor(t: DateTime<Utc>) -> Ms {
        t.timestamp_millis() / 1000 * 1000
    }
}
