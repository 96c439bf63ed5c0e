//! The simulated OneTrust tenant: its data model and seeded generation, derived from the Okta
//! simulator's people for the same seed so the two systems overlap with known drift.

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

use super::{OtKey, OtSimConfig};
use crate::org::{self, DAY_MS, Ms, Status};

/// Where a OneTrust account comes from (the drift kind it belongs to).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// An Okta person's account; carries the Okta user id and status.
    Okta {
        okta_id: String,
        okta_status: Status,
        email_case_drift: bool,
    },
    /// External contractor, only in OneTrust.
    Contractor,
    /// Internal account with no Okta person (created by hand, never cleaned up).
    Orphan,
    /// Created at run time through the API.
    Api,
}

#[derive(Debug, Clone)]
pub struct OtOrganization {
    pub id: String,
    pub external_id: String,
    pub parent: Option<usize>,
    pub name: String,
    pub default_approver: String,
    pub description: String,
}

#[derive(Debug, Clone)]
pub struct OtRole {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone)]
pub struct OtUser {
    pub id: String,
    /// SCIM `externalId` (the Okta user id when provisioned by Okta's SCIM app).
    pub external_id: Option<String>,
    pub first: String,
    pub last: String,
    /// Also the SCIM `userName`.
    pub email: String,
    pub active: bool,
    pub internal: bool,
    pub email_confirmed: bool,
    /// (organization index, role index), first = default organization.
    pub access_levels: Vec<(u16, u16)>,
    pub created: Ms,
    pub last_modified: Ms,
    pub last_login: Option<Ms>,
    pub disabled: Option<Ms>,
    pub expiration: Option<Ms>,
    pub title: Option<String>,
    pub department: Option<String>,
    pub division: Option<String>,
    pub employee_number: Option<String>,
    /// Manager's OneTrust user id.
    pub manager: Option<String>,
    pub origin: Origin,
    /// Bumped on every write (SCIM `meta.version`).
    pub version: u64,
}

impl OtUser {
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first, self.last)
    }
    /// GUESS (no OneTrust field): see the module docs.
    pub fn licence(&self) -> &'static str {
        if !self.active {
            "Unlicensed"
        } else if !self.internal {
            "External"
        } else {
            "Licensed"
        }
    }
}

#[derive(Debug, Clone)]
pub struct OtGroup {
    pub id: String,
    pub external_id: Option<String>,
    pub name: String,
    pub description: String,
    pub created: Ms,
    pub last_modified: Ms,
    pub created_by: String,
    /// Member user indices, sorted.
    pub members: Vec<u32>,
    pub deleted: bool,
    pub version: u64,
}

/// One row of `/api/access/v1/login-history`.
#[derive(Debug, Clone)]
pub struct Login {
    pub user: u32,
    pub at: Ms,
    pub ip: String,
    pub agent: u8,
    pub success: bool,
}

/// One row of `/api/audit/v1/users/{userId}/activities`.
#[derive(Debug, Clone)]
pub struct Activity {
    pub event: &'static str,
    pub field: Option<&'static str>,
    pub old: Option<String>,
    pub new: Option<String>,
    pub method: &'static str,
    pub updated_by: String,
    pub date: Ms,
}

/// The whole tenant.
#[derive(Clone)]
pub struct OtOrg {
    pub tenant_guid: String,
    pub now: Ms,
    pub organizations: Vec<OtOrganization>,
    pub roles: Vec<OtRole>,
    pub users: Vec<OtUser>,
    pub groups: Vec<OtGroup>,
    /// Sorted by time.
    pub logins: Vec<Login>,
    /// Per user index.
    pub activities: Vec<Vec<Activity>>,
    /// Okta people with no OneTrust account: (okta id, email, okta status).
    pub okta_only: Vec<(String, String, Status)>,
    pub okta_people: usize,
    pub keys: Vec<(OtKey, String)>,
    pub client_id: String,
    pub client_secret: String,
    pub id_rng: ChaCha8Rng,
}

impl std::fmt::Debug for OtOrg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtOrg")
            .field("users", &self.users.len())
            .finish_non_exhaustive()
    }
}

pub const USER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Safari/537.36 Edg/129.0.0.0",
];

const ROLES: &[&str] = &[
    "Site Admin",
    "Privacy Officer",
    "Privacy Manager",
    "Project Owner",
    "Project Respondent",
    "Audit Manager",
    "Data Mapping Manager",
    "Invited",
];

const REGIONS: &[(&str, &[&str])] = &[
    ("Americas", &["United States", "Brazil"]),
    ("EMEA", &["Germany", "United Kingdom"]),
    ("APAC", &["Japan", "Australia"]),
];

const EXTRA_GROUPS: &[(&str, &str)] = &[
    ("Privacy Office", "Owns the privacy programme"),
    ("DPO Council", "Data protection officers across regions"),
    ("Vendor Risk Reviewers", "Reviews third-party assessments"),
    ("Incident Responders", "Handles privacy incidents"),
    ("Cookie Consent Admins", "Manages cookie banners"),
    ("Records of Processing", "Maintains the RoPA"),
];

const CONTRACTOR_FIRST: &[&str] = &[
    "Alex", "Sam", "Jordan", "Robin", "Casey", "Morgan", "Taylor", "Jamie",
];
const CONTRACTOR_LAST: &[&str] = &[
    "Baker", "Reid", "Fischer", "Moreau", "Ito", "Costa", "Berg", "Walsh",
];

/// A random (v4-shaped) UUID from the seeded stream.
pub fn uuid(rng: &mut ChaCha8Rng) -> String {
    let a: u128 = rng.r#gen();
    let a = (a & !(0xf << 76) & !(0x3 << 62)) | (0x4 << 76) | (0x2 << 62);
    let h = format!("{a:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn hex32(rng: &mut ChaCha8Rng) -> String {
    let a: u128 = rng.r#gen();
    format!("{a:032x}")
}

fn alnum(rng: &mut ChaCha8Rng, n: usize) -> String {
    const A: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    (0..n)
        .map(|_| A[rng.gen_range(0..A.len())] as char)
        .collect()
}

/// The email in a different case: `First.Last@acme.example`, all caps, or a capitalised domain.
fn recase(email: &str, variant: u8) -> String {
    let (local, domain) = email.split_once('@').unwrap_or((email, ""));
    match variant % 3 {
        0 => {
            let local: Vec<String> = local
                .split('.')
                .map(|p| {
                    let mut c = p.chars();
                    match c.next() {
                        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
                        None => String::new(),
                    }
                })
                .collect();
            format!("{}@{domain}", local.join("."))
        }
        1 => email.to_ascii_uppercase(),
        _ => {
            let mut c = local.chars();
            let local = match c.next() {
                Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
                None => String::new(),
            };
            format!("{local}@{}", domain.to_ascii_uppercase())
        }
    }
}

fn ip(rng: &mut ChaCha8Rng) -> String {
    format!(
        "{}.{}.{}.{}",
        [198, 203, 192][rng.gen_range(0..3)],
        rng.gen_range(0..=255),
        rng.gen_range(0..=255),
        rng.gen_range(1..255)
    )
}

/// Everything `generate` produces, derived from the config only.
pub fn generate(config: &OtSimConfig) -> OtOrg {
    // The Okta people for the same seed, user count and now (same generator as the Okta
    // simulator, so ids and emails match byte for byte).
    let okta = org::generate(&crate::SimConfig::new(
        config.users,
        config.seed,
        config.now,
    ));
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed ^ 0x07E1_7255_0000_0001);
    let now = config.now.timestamp_millis() / 1000 * 1000;
    let tenant_guid = uuid(&mut rng);

    // --- organisations: root, regions, countries ---------------------------------------
    let mut organizations = Vec::new();
    let org_created_by = "privacy.admin@acme.example".to_string();
    organizations.push(OtOrganization {
        id: uuid(&mut rng),
        external_id: "acme".into(),
        parent: None,
        name: "Acme Corp".into(),
        default_approver: org_created_by.clone(),
        description: "Root organization".into(),
    });
    for (region, countries) in REGIONS {
        let r = organizations.len();
        organizations.push(OtOrganization {
            id: uuid(&mut rng),
            external_id: format!("acme-{}", region.to_ascii_lowercase()),
            parent: Some(0),
            name: format!("Acme {region}"),
            default_approver: org_created_by.clone(),
            description: format!("{region} region"),
        });
        for c in *countries {
            organizations.push(OtOrganization {
                id: uuid(&mut rng),
                external_id: format!("acme-{}", c.to_ascii_lowercase().replace(' ', "-")),
                parent: Some(r),
                name: format!("Acme {c}"),
                default_approver: org_created_by.clone(),
                description: format!("Legal entity in {c}"),
            });
        }
    }
    let roles: Vec<OtRole> = ROLES
        .iter()
        .map(|n| OtRole {
            id: uuid(&mut rng),
            name: (*n).to_string(),
        })
        .collect();
    let n_orgs = organizations.len();
    let pick_levels = |rng: &mut ChaCha8Rng| -> Vec<(u16, u16)> {
        // Most people: one access level in a leaf or region; a few admins at the root.
        let role = match rng.gen_range(0..100) {
            0..=1 => 0,
            2..=5 => 1,
            6..=17 => 2,
            18..=29 => 3,
            30..=74 => 4,
            75..=79 => 5,
            80..=89 => 6,
            _ => 7,
        };
        let org = if role == 0 {
            0
        } else {
            rng.gen_range(1..n_orgs)
        };
        let mut v = vec![(org as u16, role as u16)];
        if rng.gen_bool(0.15) {
            let o2 = rng.gen_range(0..n_orgs) as u16;
            let r2 = rng.gen_range(2..ROLES.len()) as u16;
            if !v.contains(&(o2, r2)) {
                v.push((o2, r2));
            }
        }
        v
    };

    // --- users from Okta people ---------------------------------------------------------
    let mut users: Vec<OtUser> = Vec::new();
    let mut okta_only = Vec::new();
    let dept = |d: u16| org::DEPARTMENTS.get(d as usize).map(|s| (*s).to_string());
    for u in okta.users.iter().filter(|u| !u.deleted) {
        let leaver = matches!(u.status, Status::Deprovisioned | Status::Suspended);
        let (has_account, active) = if leaver {
            let r: f64 = rng.r#gen();
            if r < 0.55 {
                (true, true)
            } else if r < 0.80 {
                (true, false)
            } else {
                (false, false)
            }
        } else if rng.gen_bool(0.10) {
            (false, false)
        } else {
            (true, true)
        };
        // Draws below happen for every person so one choice does not shift the others.
        let case_drift = rng.gen_bool(0.10);
        let variant: u8 = rng.r#gen();
        let scim_provisioned = rng.gen_bool(0.7);
        let levels = pick_levels(&mut rng);
        let created = u.created + rng.gen_range(1..30) * DAY_MS;
        let login_days: i64 = if rng.gen_bool(0.8) {
            rng.gen_range(0..30)
        } else {
            rng.gen_range(30..200)
        };
        let login_secs: i64 = rng.gen_range(0..86_400);
        let never_logged_in = rng.gen_bool(0.06);
        if !has_account {
            okta_only.push((u.id.clone(), u.email.clone(), u.status));
            continue;
        }
        let email = if case_drift {
            recase(&u.email, variant)
        } else {
            u.email.clone()
        };
        // Leavers who still hold an active OneTrust account stopped signing in when they left.
        let left_at = if leaver { u.status_changed } else { None };
        let last_login = if never_logged_in {
            None
        } else {
            let t = now - login_days * DAY_MS - login_secs * 1000;
            let t = match left_at {
                Some(l) => t.min(l - DAY_MS),
                None => t,
            };
            Some(t.max(created + 3_600_000)).filter(|t| *t < now)
        };
        let disabled = if active {
            None
        } else {
            Some(left_at.unwrap_or(now - 10 * DAY_MS) + DAY_MS)
        };
        users.push(OtUser {
            id: uuid(&mut rng),
            external_id: scim_provisioned.then(|| u.id.clone()),
            first: u.first.clone(),
            last: u.last.clone(),
            email,
            active,
            internal: true,
            email_confirmed: last_login.is_some(),
            access_levels: levels,
            created,
            last_modified: disabled.unwrap_or(created).max(created),
            last_login,
            disabled,
            expiration: None,
            title: Some(u.title.to_string()),
            department: dept(u.department),
            division: None,
            employee_number: Some(u.employee_number.to_string()),
            manager: None,
            origin: Origin::Okta {
                okta_id: u.id.clone(),
                okta_status: u.status,
                email_case_drift: case_drift,
            },
            version: 1,
        });
    }
    let okta_people = okta.users.iter().filter(|u| !u.deleted).count();

    // --- OneTrust-only accounts (~3%): contractors and orphans --------------------------
    let n_only = (okta_people * 3).div_ceil(100).max(2);
    for k in 0..n_only {
        let contractor = k % 2 == 0;
        let (first, last, email) = if contractor {
            let f = CONTRACTOR_FIRST[rng.gen_range(0..CONTRACTOR_FIRST.len())];
            let l = CONTRACTOR_LAST[rng.gen_range(0..CONTRACTOR_LAST.len())];
            (
                f.to_string(),
                l.to_string(),
                format!(
                    "{}.{}{k}@contractor.example",
                    f.to_ascii_lowercase(),
                    l.to_ascii_lowercase()
                ),
            )
        } else {
            let f = CONTRACTOR_FIRST[rng.gen_range(0..CONTRACTOR_FIRST.len())];
            let l = CONTRACTOR_LAST[rng.gen_range(0..CONTRACTOR_LAST.len())];
            (
                f.to_string(),
                l.to_string(),
                format!(
                    "{}.{}.ot{k}@acme.example",
                    f.to_ascii_lowercase(),
                    l.to_ascii_lowercase()
                ),
            )
        };
        let created = now - rng.gen_range(30..900) * DAY_MS;
        let last_login = if rng.gen_bool(0.7) {
            Some(now - rng.gen_range(0..60) * DAY_MS - rng.gen_range(0..86_400) * 1000)
        } else {
            None
        };
        let last_login = last_login.map(|t| t.max(created + 3_600_000));
        let mut levels = pick_levels(&mut rng);
        if contractor {
            // Contractors answer assessments; they never administer.
            levels = vec![(levels[0].0.max(1), 4)];
        }
        users.push(OtUser {
            id: uuid(&mut rng),
            external_id: None,
            first,
            last,
            email,
            active: true,
            internal: !contractor,
            email_confirmed: last_login.is_some(),
            access_levels: levels,
            created,
            last_modified: created,
            last_login,
            disabled: None,
            expiration: contractor.then(|| now + rng.gen_range(30..365) * DAY_MS),
            title: Some(if contractor { "Contractor" } else { "Analyst" }.to_string()),
            department: None,
            division: None,
            employee_number: None,
            manager: None,
            origin: if contractor {
                Origin::Contractor
            } else {
                Origin::Orphan
            },
            version: 1,
        });
    }

    // Managers: someone earlier in the same department.
    let mut dept_last: BTreeMap<String, usize> = BTreeMap::new();
    for i in 0..users.len() {
        if let Some(d) = users[i].department.clone() {
            if let Some(&m) = dept_last.get(&d) {
                users[i].manager = Some(users[m].id.clone());
            }
            if rng.gen_bool(0.3) || !dept_last.contains_key(&d) {
                dept_last.insert(d, i);
            }
        }
    }

    // --- user groups ---------------------------------------------------------------------
    let mut groups = Vec::new();
    let admin_id = users.first().map(|u| u.id.clone()).unwrap_or_default();
    let n_users = users.len();
    let mut group_names: Vec<(String, String)> = org::DEPARTMENTS
        .iter()
        .map(|d| {
            (
                format!("{d} Privacy Champions"),
                format!("Privacy champions in {d}"),
            )
        })
        .collect();
    group_names.extend(
        EXTRA_GROUPS
            .iter()
            .map(|(n, d)| ((*n).to_string(), (*d).to_string())),
    );
    let extra = n_users / 50;
    for k in 0..extra {
        group_names.push((
            format!("Assessment Team {:03}", k + 1),
            "Assessment respondents".to_string(),
        ));
    }
    for (name, description) in group_names {
        let created = now - rng.gen_range(200..1200) * DAY_MS;
        let want = rng.gen_range(3..=40.min(n_users.max(3)));
        let mut members: Vec<u32> = (0..want)
            .map(|_| rng.gen_range(0..n_users.max(1)) as u32)
            .collect();
        if let Some(d) = name.strip_suffix(" Privacy Champions") {
            members.retain(|&m| users[m as usize].department.as_deref() == Some(d) || m % 3 == 0);
        }
        members.sort_unstable();
        members.dedup();
        groups.push(OtGroup {
            id: uuid(&mut rng),
            external_id: None,
            name,
            description,
            created,
            last_modified: created + rng.gen_range(0..100) * DAY_MS,
            created_by: admin_id.clone(),
            members,
            deleted: false,
            version: 1,
        });
    }

    // --- login history: the last 90 days -------------------------------------------------
    let window = now - 90 * DAY_MS;
    let mut logins = Vec::new();
    for (i, u) in users.iter().enumerate() {
        let Some(last) = u.last_login else { continue };
        if last < window {
            continue;
        }
        let n = rng.gen_range(0..12);
        let agent = rng.gen_range(0..USER_AGENTS.len()) as u8;
        let addr = ip(&mut rng);
        for _ in 0..n {
            let at = rng.gen_range(window.max(u.created)..=last) / 1000 * 1000;
            let success = !rng.gen_bool(0.08);
            logins.push(Login {
                user: i as u32,
                at,
                ip: addr.clone(),
                agent,
                success,
            });
        }
        // The newest successful login is exactly `lastLoginDate`.
        logins.push(Login {
            user: i as u32,
            at: last / 1000 * 1000,
            ip: addr,
            agent,
            success: true,
        });
    }
    // One row per user and second; successes sort first so the `lastLoginDate` row survives.
    logins.sort_by(|a, b| {
        a.at.cmp(&b.at)
            .then(a.user.cmp(&b.user))
            .then(b.success.cmp(&a.success))
    });
    logins.dedup_by(|a, b| a.at == b.at && a.user == b.user);

    // --- audit activities --------------------------------------------------------------
    let admin_name = "Privacy Admin".to_string();
    let mut activities = Vec::with_capacity(users.len());
    for u in &users {
        let method = if u.external_id.is_some() {
            "User Provisioning"
        } else {
            "User Interface"
        };
        let mut v = vec![Activity {
            event: "User Create",
            field: None,
            old: None,
            new: Some(u.email.clone()),
            method,
            updated_by: admin_name.clone(),
            date: u.created,
        }];
        if rng.gen_bool(0.3) {
            let at = u.created + rng.gen_range(1..60) * DAY_MS;
            if at < now {
                v.push(Activity {
                    event: "User Edit",
                    field: Some("Title"),
                    old: Some("Associate".into()),
                    new: u.title.clone(),
                    method,
                    updated_by: admin_name.clone(),
                    date: at,
                });
            }
        }
        if let Some(d) = u.disabled {
            v.push(Activity {
                event: "User Edit",
                field: Some("Status"),
                old: Some("Active".into()),
                new: Some("Disabled".into()),
                method,
                updated_by: admin_name.clone(),
                date: d,
            });
        }
        v.sort_by_key(|a| std::cmp::Reverse(a.date));
        activities.push(v);
    }

    let keys = OtKey::ALL.iter().map(|k| (*k, hex32(&mut rng))).collect();
    let client_id = hex32(&mut rng);
    let client_secret = alnum(&mut rng, 32);
    OtOrg {
        tenant_guid,
        now,
        organizations,
        roles,
        users,
        groups,
        logins,
        activities,
        okta_only,
        okta_people,
        keys,
        client_id,
        client_secret,
        id_rng: rng,
    }
}

impl OtOrg {
    pub fn find_user(&self, id: &str) -> Option<usize> {
        self.users.iter().position(|u| u.id == id)
    }
    pub fn find_group(&self, id: &str) -> Option<usize> {
        self.groups.iter().position(|g| !g.deleted && g.id == id)
    }
    /// Legacy (v2) SCIM groups: one per organization × role, id `orgId:roleId`.
    pub fn v2_groups(&self) -> Vec<(usize, usize)> {
        let mut v = Vec::with_capacity(self.organizations.len() * self.roles.len());
        for o in 0..self.organizations.len() {
            for r in 0..self.roles.len() {
                v.push((o, r));
            }
        }
        v
    }
    pub fn v2_group_id(&self, o: usize, r: usize) -> String {
        format!("{}:{}", self.organizations[o].id, self.roles[r].id)
    }
    pub fn find_v2_group(&self, id: &str) -> Option<(usize, usize)> {
        let (o, r) = id.split_once(':')?;
        let o = self.organizations.iter().position(|x| x.id == o)?;
        let r = self.roles.iter().position(|x| x.id == r)?;
        Some((o, r))
    }
    pub fn v2_members(&self, o: usize, r: usize) -> Vec<u32> {
        let key = (o as u16, r as u16);
        self.users
            .iter()
            .enumerate()
            .filter(|(_, u)| u.access_levels.contains(&key))
            .map(|(i, _)| i as u32)
            .collect()
    }
    /// User groups a user belongs to.
    pub fn groups_of(&self, u: usize) -> Vec<usize> {
        self.groups
            .iter()
            .enumerate()
            .filter(|(_, g)| !g.deleted && g.members.binary_search(&(u as u32)).is_ok())
            .map(|(i, _)| i)
            .collect()
    }
    pub fn mint_uuid(&mut self) -> String {
        uuid(&mut self.id_rng)
    }
}

fn ids(mut v: Vec<String>) -> Value {
    v.sort();
    json!({"count": v.len(), "ids": v})
}

/// The truth document (module docs).
pub fn truth(org: &OtOrg) -> Value {
    let users = ids(org.users.iter().map(|u| u.id.clone()).collect());
    let groups = ids(org
        .groups
        .iter()
        .filter(|g| !g.deleted)
        .map(|g| g.id.clone())
        .collect());
    let memberships = ids(org
        .groups
        .iter()
        .filter(|g| !g.deleted)
        .flat_map(|g| {
            g.members
                .iter()
                .map(move |&m| format!("{}/{}", g.id, org.users[m as usize].id))
        })
        .collect());
    let v2 = ids(org
        .v2_groups()
        .into_iter()
        .map(|(o, r)| org.v2_group_id(o, r))
        .collect());
    let orgs = ids(org.organizations.iter().map(|o| o.id.clone()).collect());
    let levels = ids(org
        .users
        .iter()
        .flat_map(|u| {
            u.access_levels.iter().map(move |&(o, r)| {
                format!(
                    "{}/{}/{}",
                    u.id, org.organizations[o as usize].id, org.roles[r as usize].id
                )
            })
        })
        .collect());
    let activities: usize = org.activities.iter().map(Vec::len).sum();

    let active = org.users.iter().filter(|u| u.active).count();
    let since = |days: i64| {
        org.users
            .iter()
            .filter(|u| u.active && u.last_login.is_some_and(|t| t >= org.now - days * DAY_MS))
            .count()
    };
    let mut licence: BTreeMap<&str, usize> = BTreeMap::new();
    for u in &org.users {
        *licence.entry(u.licence()).or_default() += 1;
    }

    let mut leavers_active = Vec::new();
    let mut leavers_inactive = Vec::new();
    let mut email_case = Vec::new();
    let mut onetrust_only = Vec::new();
    for u in &org.users {
        match &u.origin {
            Origin::Okta {
                okta_id,
                okta_status,
                email_case_drift,
            } => {
                if matches!(okta_status, Status::Deprovisioned | Status::Suspended) {
                    let row = json!({"okta_id": okta_id, "okta_status": okta_status.as_str(), "onetrust_id": u.id, "email": u.email});
                    if u.active {
                        leavers_active.push((okta_id.clone(), row))
                    } else {
                        leavers_inactive.push((okta_id.clone(), row))
                    }
                }
                if *email_case_drift {
                    let okta_email = u.email.to_ascii_lowercase();
                    email_case.push((okta_id.clone(), json!({"okta_id": okta_id, "onetrust_id": u.id, "okta_email": okta_email, "onetrust_email": u.email})));
                }
            }
            Origin::Contractor => onetrust_only.push((
                u.id.clone(),
                json!({"onetrust_id": u.id, "email": u.email, "kind": "contractor"}),
            )),
            Origin::Orphan => onetrust_only.push((
                u.id.clone(),
                json!({"onetrust_id": u.id, "email": u.email, "kind": "orphan"}),
            )),
            Origin::Api => {}
        }
    }
    let mut okta_only: Vec<(String, Value)> = org
        .okta_only
        .iter()
        .map(|(id, email, st)| {
            (
                id.clone(),
                json!({"okta_id": id, "email": email, "okta_status": st.as_str()}),
            )
        })
        .collect();
    let sorted = |mut v: Vec<(String, Value)>| -> Value {
        v.sort_by(|a, b| a.0.cmp(&b.0));
        Value::Array(v.into_iter().map(|(_, x)| x).collect())
    };
    okta_only.sort_by(|a, b| a.0.cmp(&b.0));
    json!({
        "resources": {
            "users": users,
            "user_groups": groups,
            "memberships": memberships,
            "scim_v2_groups": v2,
            "organizations": orgs,
            "access_levels": levels,
            "login_history": {"count": org.logins.len()},
            "audit_activities": {"count": activities},
        },
        "usage": {"active_users": active, "logged_in_30d": since(30), "logged_in_90d": since(90), "licence": licence},
        "drift": {
            "okta_people": org.okta_people,
            "leavers_active": sorted(leavers_active),
            "leavers_inactive": sorted(leavers_inactive),
            "okta_only": sorted(okta_only),
            "onetrust_only": sorted(onetrust_only),
            "email_case": sorted(email_case),
        },
    })
}
