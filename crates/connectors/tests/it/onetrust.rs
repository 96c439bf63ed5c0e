//! The OneTrust connector against the in-process OneTrust simulator: full sync equal to the
//! truth, each scope missing in turn, client credentials, rate limiting with zero lost
//! records, faults, and privacy actions.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde_json::Value;
use steward_connectors::onetrust::OneTrustConnector;
use steward_connectors::onetrust::client::{Auth, Backoff, Pacing};
use steward_connectors::{
    Connector, ConnectorError, IntegrationDomain, SyncEvent, SyncOptions, SyncReport,
};
use steward_model::{CheckOutcome, Record, Resource};
use steward_simulator::FaultSpec;
use steward_simulator::onetrust::{OtKey, OtRateConfig, OtSimConfig, OtSimulator};

use crate::common::loopback;

pub fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-01T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn config(users: usize, seed: u64) -> OtSimConfig {
    let mut c = OtSimConfig::new(users, seed, now());
    c.rate = OtRateConfig::none();
    c
}

async fn start(c: OtSimConfig) -> OtSimulator {
    OtSimulator::start(c, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

fn connector_with(sim: &OtSimulator, secret: SecretString) -> OneTrustConnector {
    let domain = IntegrationDomain::parse_onetrust(sim.base_url().as_str(), loopback()).unwrap();
    OneTrustConnector::new(domain, secret)
        .unwrap()
        .with_seed(11)
        .with_backoff(Backoff {
            base: Duration::from_millis(5),
            max: Duration::from_millis(50),
        })
}

fn connector(sim: &OtSimulator, key: OtKey) -> OneTrustConnector {
    connector_with(sim, SecretString::from(sim.key(key)))
}

#[derive(Debug, Default)]
struct Got {
    records: BTreeMap<Resource, Vec<Record>>,
    done: BTreeMap<Resource, u64>,
    unreadable: BTreeMap<Resource, String>,
}

impl Got {
    fn keys(&self, r: Resource) -> BTreeSet<String> {
        self.records
            .get(&r)
            .map(|v| v.iter().map(Record::truth_key).collect())
            .unwrap_or_default()
    }
}

async fn sync(
    c: &dyn Connector,
    options: SyncOptions,
) -> (Result<SyncReport, ConnectorError>, Got) {
    let (tx, mut rx) = tokio::sync::mpsc::channel(16);
    let collect = async move {
        let mut got = Got::default();
        while let Some(ev) = rx.recv().await {
            match ev {
                SyncEvent::Batch { resource, records } => {
                    got.records.entry(resource).or_default().extend(records)
                }
                SyncEvent::Done { resource, count } => {
                    assert!(
                        got.done.insert(resource, count).is_none(),
                        "{resource}: two Done events"
                    );
                }
                SyncEvent::Unreadable { resource, reason } => {
                    got.unreadable.insert(resource, reason);
                }
                SyncEvent::Cursor { .. } => {}
            }
        }
        got
    };
    tokio::join!(c.sync(options, tx), collect)
}

fn truth_ids(truth: &Value, resource: &str) -> BTreeSet<String> {
    truth["resources"][resource]["ids"]
        .as_array()
        .unwrap_or_else(|| panic!("truth has no ids for {resource}: {truth}"))
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

fn truth_count(truth: &Value, resource: &str) -> u64 {
    truth["resources"][resource]["count"]
        .as_u64()
        .unwrap_or_else(|| panic!("no count for {resource}"))
}

/// Every record the truth knows, exactly once.
fn assert_full(got: &Got, truth: &Value) {
    assert_eq!(
        got.keys(Resource::Users),
        truth_ids(truth, "users"),
        "users"
    );
    assert_eq!(
        got.records[&Resource::Users].len() as u64,
        truth_count(truth, "users"),
        "users, none twice"
    );
    let mut groups = truth_ids(truth, "user_groups");
    groups.extend(truth_ids(truth, "scim_v2_groups"));
    groups.extend(truth_ids(truth, "organizations"));
    assert_eq!(
        got.keys(Resource::Groups),
        groups,
        "groups = user groups + SCIM groups + organisations"
    );
    let memberships = got.keys(Resource::Memberships);
    let user_groups = truth_ids(truth, "user_groups");
    let ug_members: BTreeSet<String> = memberships
        .iter()
        .filter(|k| user_groups.iter().any(|g| k.starts_with(&format!("{g}/"))))
        .cloned()
        .collect();
    assert_eq!(
        ug_members,
        truth_ids(truth, "memberships"),
        "user-group memberships"
    );
    let roles: BTreeSet<String> = got
        .keys(Resource::RoleAssignments)
        .into_iter()
        .map(|k| k.trim_start_matches("account/").to_string())
        .collect();
    assert_eq!(roles, truth_ids(truth, "access_levels"), "access levels");
    assert_eq!(got.done[&Resource::Users], truth_count(truth, "users"));
    assert_eq!(
        got.records[&Resource::LogEvents].len() as u64,
        truth_count(truth, "login_history"),
        "login history"
    );
}

#[tokio::test]
async fn full_key_sync_matches_truth() {
    let sim = start(config(200, 1)).await;
    let c = connector(&sim, OtKey::Full);
    let (report, got) = sync(&c, SyncOptions::new(now())).await;
    let report = report.unwrap();
    let truth = sim.truth();
    assert_full(&got, &truth);
    assert!(got.unreadable.is_empty(), "{:?}", got.unreadable);
    assert_eq!(report.rate_limited, 0);
    assert!(report.notes.is_empty(), "{:?}", report.notes);
    // Licence status and last login come from the access-management view.
    let mut licences: BTreeMap<String, u64> = BTreeMap::new();
    for r in &got.records[&Resource::Users] {
        let Record::Account(a) = r else {
            panic!("not an account")
        };
        *licences
            .entry(a.license_status.clone().expect("licence status"))
            .or_default() += 1;
        assert!(a.email.is_some(), "{a:?}");
    }
    let want: BTreeMap<String, u64> = truth["usage"]["licence"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
        .filter(|(_, v)| *v > 0)
        .collect();
    assert_eq!(licences, want);
    // Every login event is in the 90-day window and names its user.
    for r in &got.records[&Resource::LogEvents] {
        let Record::LogEvent(e) = r else {
            panic!("not a log event")
        };
        assert!(
            e.published >= now() - chrono::Duration::days(90) && e.published <= now(),
            "{e:?}"
        );
        assert!(e.actor_id.is_some());
    }
}

#[tokio::test]
async fn audit_activities_only_when_asked() {
    let sim = start(config(60, 2)).await;
    let c = connector(&sim, OtKey::Full);
    let (report, without) = sync(&c, SyncOptions::new(now())).await;
    report.unwrap();
    let mut options = SyncOptions::new(now());
    options.audit_activities = true;
    let (report, with) = sync(&c, options).await;
    report.unwrap();
    let truth = sim.truth();
    let audits = |g: &Got| {
        g.records[&Resource::LogEvents]
            .iter()
            .filter(
                |r| matches!(r, Record::LogEvent(e) if e.event_type.starts_with("onetrust.audit")),
            )
            .count() as u64
    };
    assert_eq!(audits(&without), 0);
    assert_eq!(audits(&with), truth_count(&truth, "audit_activities"));
}

#[tokio::test]
async fn client_credentials_sync_like_an_api_key() {
    let sim = start(config(80, 3)).await;
    let (id, secret) = sim.client_credentials();
    let sealed = Auth::seal_client_credentials(&id, &SecretString::from(secret));
    let c = connector_with(&sim, sealed);
    let report = c.test_connection().await;
    assert!(report.required_ok(), "{report:?}");
    assert!(
        report
            .principal
            .as_deref()
            .unwrap_or_default()
            .contains("organisation group"),
        "{report:?}"
    );
    let (r, got) = sync(&c, SyncOptions::new(now())).await;
    r.unwrap();
    assert_full(&got, &sim.truth());
    // A wrong secret is a clear, fatal connection-test failure that never echoes the secret.
    let bad = connector_with(
        &sim,
        Auth::seal_client_credentials(&id, &SecretString::from("not-the-secret".to_string())),
    );
    let report = bad.test_connection().await;
    let fatal = report.fatal.clone().expect("fatal");
    assert!(fatal.contains("client credentials"), "{fatal}");
    assert!(!format!("{report:?}").contains("not-the-secret"));
}

fn denied<'a>(report: &'a steward_model::ConnectionReport, capability: &str) -> (&'a str, &'a str) {
    let c = report
        .checks
        .iter()
        .find(|c| c.capability == capability)
        .unwrap_or_else(|| panic!("no check {capability}"));
    match &c.outcome {
        CheckOutcome::Denied { reason, fix, .. } => (reason.as_str(), fix.as_str()),
        other => panic!("{capability}: expected Denied, got {other:?}"),
    }
}

fn passed(report: &steward_model::ConnectionReport, capability: &str) -> bool {
    report
        .checks
        .iter()
        .any(|c| c.capability == capability && c.passed())
}

#[tokio::test]
async fn connection_test_reports_each_scope_separately() {
    let sim = start(config(50, 4)).await;
    let full = connector(&sim, OtKey::Full).test_connection().await;
    assert!(full.required_ok(), "{full:?}");
    assert_eq!(full.roles, vec!["SCIM", "ORGANIZATION", "USER"]);
    assert!(full.warnings.is_empty(), "{:?}", full.warnings);
    let deprov = full
        .checks
        .iter()
        .find(|c| c.capability == "deprovision_users")
        .unwrap();
    assert!(
        matches!(&deprov.outcome, CheckOutcome::Fallback { reason } if reason.contains("not available"))
    );

    // No SCIM: SCIM groups refused (SCIM Users still accept USER, as the spec says).
    let r = connector(&sim, OtKey::NoScim).test_connection().await;
    let (_, fix) = denied(&r, "scim_groups");
    assert!(
        fix.contains("SCIM scope")
            && fix.contains("Global Settings → Access Management → Client Credentials → API Keys"),
        "{fix}"
    );
    assert!(passed(&r, "organizations") && passed(&r, "access_users"));
    assert!(!r.required_ok());

    // No ORGANIZATION: only the organisation tree is refused.
    let r = connector(&sim, OtKey::NoOrganization)
        .test_connection()
        .await;
    let (_, fix) = denied(&r, "organizations");
    assert!(fix.contains("ORGANIZATION scope"), "{fix}");
    assert!(passed(&r, "scim_users") && passed(&r, "scim_groups") && passed(&r, "access_users"));
    assert!(!r.required_ok());

    // No USER: required checks pass, every usage check says which scope to add.
    let r = connector(&sim, OtKey::NoUser).test_connection().await;
    assert!(r.required_ok(), "{r:?}");
    for cap in ["access_users", "user_groups", "login_history"] {
        let (_, fix) = denied(&r, cap);
        assert!(fix.contains("USER scope"), "{cap}: {fix}");
    }
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("USER scope is missing")),
        "{:?}",
        r.warnings
    );

    // Expired key: fatal, with the fix.
    let r = connector(&sim, OtKey::Expired).test_connection().await;
    let fatal = r.fatal.expect("fatal");
    assert!(
        fatal.contains("API Keys") && fatal.contains("401"),
        "{fatal}"
    );
}

#[tokio::test]
async fn sync_with_a_missing_scope_marks_what_it_cannot_read() {
    let sim = start(config(80, 5)).await;
    let truth = sim.truth();

    // No USER: users from SCIM, but roles and usage "not readable" — never empty.
    let (report, got) = sync(&connector(&sim, OtKey::NoUser), SyncOptions::new(now())).await;
    let report = report.unwrap();
    assert_eq!(got.keys(Resource::Users), truth_ids(&truth, "users"));
    for r in [Resource::RoleAssignments, Resource::LogEvents] {
        let reason = got
            .unreadable
            .get(&r)
            .unwrap_or_else(|| panic!("{r} should be unreadable"));
        assert!(reason.contains("USER scope"), "{r}: {reason}");
        assert!(!got.done.contains_key(&r));
    }
    assert!(
        report.notes.iter().any(|n| n.contains("licence status")),
        "{:?}",
        report.notes
    );

    // No ORGANIZATION: groups are read without the organisation tree, and the report says so.
    let (report, got) = sync(
        &connector(&sim, OtKey::NoOrganization),
        SyncOptions::new(now()),
    )
    .await;
    let report = report.unwrap();
    let orgs = truth_ids(&truth, "organizations");
    assert!(got.keys(Resource::Groups).is_disjoint(&orgs));
    assert!(
        report.notes.iter().any(|n| n.contains("ORGANIZATION")),
        "{:?}",
        report.notes
    );

    // Expired key: the sync fails as a whole.
    let (report, _) = sync(&connector(&sim, OtKey::Expired), SyncOptions::new(now())).await;
    assert!(
        matches!(
            report,
            Err(ConnectorError::CredentialRejected { status: 401, .. })
        ),
        "{report:?}"
    );
}

#[tokio::test]
async fn rate_limits_are_honoured_with_zero_lost_records() {
    let mut cfg = OtSimConfig::new(150, 6, now());
    // A short "minute" so the test waits a little, and a low per-endpoint quota.
    cfg.rate = OtRateConfig {
        enabled: true,
        per_endpoint: 4,
        per_hour: 1_000_000,
        minute: Duration::from_millis(400),
        hour: Duration::from_secs(3600),
    };
    let sim = start(cfg).await;
    // The connector paces at the published 1,000 per "minute" (shortened like the server's):
    // it runs into 429s, waits out Retry-After without losing a page, and learns the stricter
    // quota from `ot-requests-allowed` / `ot-period: MINUTE`.
    let c = connector(&sim, OtKey::Full).with_pacing(Pacing {
        limit: 1000,
        window: Duration::from_millis(450),
    });
    let (report, got) = sync(&c, SyncOptions::new(now())).await;
    let report = report.unwrap();
    assert!(report.rate_limited > 0, "{report:?}");
    assert_full(&got, &sim.truth());
    assert!(got.unreadable.is_empty());
    let scim = &report.buckets["GET /api/scim/v2/Users"];
    assert_eq!(scim.limit, Some(4), "{scim:?}");

    // Paced to the server's quota, the same sync sees no 429.
    let c = connector(&sim, OtKey::Full).with_pacing(Pacing {
        limit: 4,
        window: Duration::from_millis(450),
    });
    let (report, got) = sync(&c, SyncOptions::new(now())).await;
    let report = report.unwrap();
    assert_eq!(report.rate_limited, 0, "{report:?}");
    assert_full(&got, &sim.truth());
}

#[tokio::test]
async fn faults_are_retried_without_losing_records() {
    let mut cfg = config(120, 7);
    cfg.faults = FaultSpec {
        http500: 0.05,
        reset: 0.03,
        truncate: 0.03,
        bad_json: 0.02,
        ..FaultSpec::default()
    };
    let sim = start(cfg).await;
    let (report, got) = sync(&connector(&sim, OtKey::Full), SyncOptions::new(now())).await;
    let report = report.unwrap();
    assert!(report.retries > 0, "{report:?}");
    assert_full(&got, &sim.truth());
}

#[tokio::test]
async fn person_actions_find_read_and_deactivate() {
    let sim = start(config(60, 8)).await;
    let c = connector(&sim, OtKey::Full);
    let truth = sim.truth();
    let case = truth["drift"]["email_case"]
        .as_array()
        .and_then(|a| a.first())
        .cloned();
    let actions = c.person_actions().unwrap().unwrap();
    // Pick an active user with a mixed-case email when there is one.
    let (id, email) = match case {
        Some(row) => (
            row["onetrust_id"].as_str().unwrap().to_string(),
            row["okta_email"].as_str().unwrap().to_string(),
        ),
        None => sim.with_org(|o| {
            o.users
                .iter()
                .find(|u| u.active)
                .map(|u| (u.id.clone(), u.email.clone()))
                .unwrap()
        }),
    };
    let found = actions.find_by_email(&email.to_uppercase()).await.unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].id, id);
    let data = actions
        .person_data(&found[0], now() - chrono::Duration::days(90))
        .await
        .unwrap();
    assert!(data.roles.is_readable());
    assert!(data.log_events.is_readable());
    let outcome = actions.erase(&found[0]).await.unwrap();
    match outcome {
        steward_connectors::actions::EraseOutcome::Deleted { verified, code } => {
            assert!(verified);
            assert!(code.unwrap().contains("OneTrust keeps the user record"));
        }
        other => panic!("{other:?}"),
    }
    // Still there, now inactive.
    assert!(sim.with_org(|o| o.users.iter().any(|u| u.id == id && !u.active)));
}
