//! Org generation: determinism, composition, scale.

use std::collections::BTreeSet;

use steward_simulator::org::{Holder, Status};
use steward_simulator::{generate, truth_keys};

use crate::common::{config, now};

#[test]
fn same_seed_same_org_different_seed_different_org() {
    let a = generate(&config(150, 7));
    let b = generate(&config(150, 7));
    let c = generate(&config(150, 8));
    assert_eq!(truth_keys(&a), truth_keys(&b));
    assert_eq!(format!("{:?}", a.users), format!("{:?}", b.users));
    assert_eq!(format!("{:?}", a.logs), format!("{:?}", b.logs));
    assert_eq!(a.tokens, b.tokens);
    assert_ne!(truth_keys(&a), truth_keys(&c));
    assert_ne!(a.tokens, c.tokens);
    // Different `now`, same seed: the data moves with the anchor.
    let mut later = config(150, 7);
    later.now = now() + chrono::Duration::days(1);
    let d = generate(&later);
    assert_ne!(a.users[0].created, d.users[0].created);
}

#[test]
fn org_has_every_status_mode_and_role_kind() {
    let org = generate(&config(400, 3));
    assert_eq!(org.users.len(), 400);
    let statuses: BTreeSet<&str> = org.users.iter().map(|u| u.status.as_str()).collect();
    for s in [
        "STAGED",
        "PROVISIONED",
        "ACTIVE",
        "LOCKED_OUT",
        "SUSPENDED",
        "DEPROVISIONED",
    ] {
        assert!(statuses.contains(s), "missing status {s}");
    }
    let modes: BTreeSet<&str> = org.apps.iter().map(|a| a.sign_on_mode).collect();
    assert_eq!(
        modes,
        [
            "AUTO_LOGIN",
            "BOOKMARK",
            "BROWSER_PLUGIN",
            "OPENID_CONNECT",
            "SAML_2_0"
        ]
        .into_iter()
        .collect()
    );
    assert!(org.apps.iter().any(|a| !a.active));
    let role_types: BTreeSet<&str> = org.roles.iter().map(|r| r.role_type).collect();
    for t in [
        "SUPER_ADMIN",
        "ORG_ADMIN",
        "APP_ADMIN",
        "READ_ONLY_ADMIN",
        "HELP_DESK_ADMIN",
        "CUSTOM",
    ] {
        assert!(role_types.contains(t), "missing role {t}");
    }
    let group_types: BTreeSet<&str> = org.groups.iter().map(|g| g.kind.as_str()).collect();
    assert_eq!(
        group_types,
        ["APP_GROUP", "BUILT_IN", "OKTA_GROUP"]
            .into_iter()
            .collect()
    );
    // Ids: Okta-style, 20 chars, sorted (id order = vector order).
    assert!(
        org.users
            .iter()
            .all(|u| u.id.len() == 20 && u.id.starts_with("00u"))
    );
    assert!(org.users.windows(2).all(|w| w[0].id < w[1].id));
    assert!(org.groups.windows(2).all(|w| w[0].id < w[1].id));
    assert!(org.apps.windows(2).all(|w| w[0].id < w[1].id));
    // Users who never signed in hold no factors and no roles; role groups have members.
    for (i, u) in org.users.iter().enumerate() {
        if matches!(
            u.status,
            Status::Staged | Status::Provisioned | Status::Deprovisioned
        ) {
            assert!(u.factors.is_empty());
            assert!(org.user_roles(i).is_empty());
        }
    }
    for r in &org.roles {
        if let Holder::Group(g) = r.holder {
            assert!(!org.groups[g as usize].members.is_empty());
        }
    }
    // 10 app assignments per user by default.
    let app_users: usize = org.apps.iter().map(|a| a.users.len()).sum();
    assert_eq!(app_users, 4000);
    // Logs: sorted, inside the 90 days before now.
    let start = now().timestamp_millis() - 90 * 86_400_000;
    assert!(
        org.logs
            .windows(2)
            .all(|w| (w[0].published, &w[0].uuid) <= (w[1].published, &w[1].uuid))
    );
    assert!(
        org.logs
            .iter()
            .all(|e| e.published > start && e.published < now().timestamp_millis())
    );
    let kinds: BTreeSet<&str> = org.logs.iter().map(|e| e.event_type).collect();
    for k in [
        "user.session.start",
        "user.authentication.sso",
        "user.mfa.factor.activate",
        "user.account.privilege.grant",
        "policy.lifecycle.update",
        "user.lifecycle.deactivate",
    ] {
        assert!(kinds.contains(k), "missing event {k}");
    }
}

#[test]
fn overrides_shape_the_org() {
    let mut c = config(500, 2);
    c.groups = Some(40);
    c.apps = Some(12);
    c.app_assignments = Some(2500);
    let org = generate(&c);
    assert_eq!(org.groups.len(), 40);
    assert_eq!(org.apps.len(), 12);
    assert_eq!(org.apps.iter().map(|a| a.users.len()).sum::<usize>(), 2500);
}

/// 100,000 users with 1,000,000 app assignments (slow in debug builds: run with
/// `cargo test -p steward-simulator --release -- --ignored`).
#[test]
#[ignore]
fn generates_100k_users_with_1m_assignments() {
    let t = std::time::Instant::now();
    let org = generate(&config(100_000, 1));
    assert_eq!(org.users.len(), 100_000);
    assert_eq!(
        org.apps.iter().map(|a| a.users.len()).sum::<usize>(),
        1_000_000
    );
    eprintln!("generated in {:?}", t.elapsed());
    let t = std::time::Instant::now();
    let keys = truth_keys(&org);
    assert_eq!(keys[&steward_model::Resource::AppUsers].len(), 1_000_000);
    let d = steward_model::truth_digest(keys[&steward_model::Resource::AppUsers].clone());
    assert_eq!(d.count, 1_000_000);
    eprintln!("truth in {:?}", t.elapsed());
}

#[test]
fn cached_user_json_equals_fresh_rendering() {
    let org = generate(&config(120, 21));
    for (i, u) in org.users.iter().enumerate() {
        let (mut a, mut b) = (String::new(), String::new());
        steward_simulator::render::user_cached_into(&mut a, &org, i, "https://acme.okta.example");
        steward_simulator::render::user_into(&mut b, &org, u, "https://acme.okta.example");
        assert_eq!(a, b);
        let v: serde_json::Value = serde_json::from_str(&a).unwrap();
        assert_eq!(
            v["_links"]["self"]["href"],
            format!("https://acme.okta.example/api/v1/users/{}", u.id)
        );
    }
}
