//! `steward integration add onetrust`, `integration test`, `sync`, and the cross-system
//! `steward people` views, against the Okta and OneTrust simulators started with one seed.

use std::collections::BTreeSet;

use steward_simulator::onetrust::{OtKey, OtRateConfig, OtSimConfig, OtSimulator};
use steward_simulator::{RateLimitMode, SimConfig, Simulator};

use crate::common::{Env, text};

const USERS: usize = 150;
const SEED: u64 = 31;

async fn ot_sim(now: chrono::DateTime<chrono::Utc>) -> OtSimulator {
    let mut c = OtSimConfig::new(USERS, SEED, now);
    c.rate = OtRateConfig::none();
    OtSimulator::start(c, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

fn add_ot(env: &Env, name: &str, sim: &OtSimulator, key: OtKey) -> std::process::Output {
    env.run(
        &[
            "integration",
            "add",
            "onetrust",
            "--name",
            name,
            "--domain",
            sim.base_url().as_str(),
            "--allow-insecure-loopback",
            "--token-env",
            "OT_KEY",
        ],
        &[("OT_KEY", &sim.key(key))],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onetrust_connects_syncs_and_joins_okta() {
    let env = Env::new().await;
    let now = chrono::Utc::now();
    let mut okta_cfg = SimConfig::new(USERS, SEED, now);
    okta_cfg.rate.mode = RateLimitMode::None;
    let okta = Simulator::start(okta_cfg, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let ot = ot_sim(now).await;

    // Bad input: exit 2, naming the flag and the fix.
    let out = env.run(
        &[
            "integration",
            "add",
            "onetrust",
            "--name",
            "ot",
            "--domain",
            "acme.okta.com",
            "--token-env",
            "OT_KEY",
        ],
        &[("OT_KEY", "k")],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--domain"),
        "{}",
        text(&out)
    );
    let out = env.run(
        &[
            "integration",
            "add",
            "onetrust",
            "--name",
            "ot",
            "--domain",
            "acme.my.onetrust.com",
            "--client-id",
            "x",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--client-secret-env"),
        "{}",
        text(&out)
    );

    // A key without ORGANIZATION: added, but the test fails with the scope and the fix.
    let out = add_ot(&env, "ot-noorg", &ot, OtKey::NoOrganization);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(
        s.contains("ORGANIZATION scope") && s.contains("API Keys"),
        "{s}"
    );

    // The full key: connected after test + sync.
    let out = add_ot(&env, "ot", &ot, OtKey::Full);
    assert!(out.status.success(), "{}", text(&out));
    let out = env.run(&["integration", "test", "ot"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let out = env.run(&["sync", "ot"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let list = env.json(&["integration", "list", "--json"]);
    let ot_row = list
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "ot")
        .unwrap();
    assert_eq!(ot_row["connected"], true, "{ot_row}");
    assert_eq!(ot_row["last_sync_status"], "succeeded", "{ot_row}");
    assert_eq!(ot_row["settings"]["auth"], "api_key");
    let show = env.json(&["integration", "show", "ot", "--json"]);
    let caps = show["capabilities"].to_string();
    assert!(caps.contains("SCIM deletion is not available"), "{caps}");
    let truth = ot.truth();
    let users = show["snapshot"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["resource"] == "users")
        .unwrap();
    assert_eq!(users["count"], truth["resources"]["users"]["count"]);

    // Client credentials work the same way.
    let (id, secret) = ot.client_credentials();
    let out = env.run(
        &[
            "integration",
            "add",
            "onetrust",
            "--name",
            "ot-cc",
            "--domain",
            ot.base_url().as_str(),
            "--allow-insecure-loopback",
            "--client-id",
            &id,
            "--client-secret-env",
            "OT_SECRET",
            "--json",
        ],
        &[("OT_SECRET", &secret)],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(!String::from_utf8_lossy(&out.stdout).contains(&secret));
    env.run(&["integration", "remove", "ot-cc", "--yes"], &[]);
    env.run(&["integration", "remove", "ot-noorg", "--yes"], &[]);

    // Okta too, then the cross-system views.
    let out = env.add("okta", &okta, "SUPER_ADMIN");
    assert!(out.status.success(), "{}", text(&out));
    let out = env.run(&["sync", "okta"], &[]);
    assert!(out.status.success(), "{}", text(&out));

    let drift = &truth["drift"];
    let leavers = env.json(&["people", "leavers", "--json"]);
    let got: BTreeSet<String> = leavers["leavers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["person"].as_str().unwrap().to_string())
        .collect();
    let want: BTreeSet<String> = drift["leavers_active"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["email"].as_str().unwrap().to_lowercase())
        .collect();
    assert_eq!(got, want);

    let orphans = env.json(&["people", "orphans", "--json"]);
    let got: BTreeSet<String> = orphans["orphans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["account"]["account_id"].as_str().unwrap().to_string())
        .collect();
    let active: BTreeSet<String> = ot.with_org(|o| {
        o.users
            .iter()
            .filter(|u| u.active)
            .map(|u| u.id.clone())
            .collect()
    });
    let mut want: BTreeSet<String> = drift["leavers_active"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["onetrust_id"].as_str().unwrap().to_string())
        .collect();
    want.extend(
        drift["onetrust_only"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["onetrust_id"].as_str().unwrap().to_string())
            .filter(|id| active.contains(id)),
    );
    assert_eq!(got, want);

    let seats = env.json(&["people", "seats", "--json", "--now", &now.to_rfc3339()]);
    let assigned: u64 = seats["seats"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["assigned"].as_u64().unwrap())
        .sum();
    assert_eq!(assigned, truth["usage"]["active_users"].as_u64().unwrap());
    let used: u64 = seats["seats"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["used_90d"].as_u64().unwrap())
        .sum();
    assert_eq!(used, truth["usage"]["logged_in_90d"].as_u64().unwrap());

    // One person everywhere, looked up in another case.
    let row = drift["leavers_active"]
        .as_array()
        .unwrap()
        .first()
        .cloned()
        .expect("a leaver");
    let email = row["email"].as_str().unwrap().to_uppercase();
    let person = env.json(&["people", "show", &email, "--json"]);
    let kinds: BTreeSet<String> = person["person"]["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        kinds,
        BTreeSet::from(["okta".to_string(), "onetrust".to_string()])
    );
    assert!(!person["person"]["evidence"].as_array().unwrap().is_empty());
    let out = env.run(&["people", "show", &email], &[]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Joined by"),
        "{}",
        text(&out)
    );

    let out = env.run(&["people", "show", "not-an-email"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("EMAIL"),
        "{}",
        text(&out)
    );
    let out = env.run(&["people", "seats", "--now", "yesterday"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let out = env.run(&["people", "show", "nobody@nowhere.example"], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
}
