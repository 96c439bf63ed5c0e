//! The OneTrust connector's SCIM client against a real SCIM server: `scim2-server` from
//! PyPI, started and seeded by `shared/onetrust/scim/scim-peer.sh` (it installs its venv).

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use secrecy::SecretString;
use steward_connectors::IntegrationDomain;
use steward_connectors::onetrust::client::{Auth, Backoff, OtClient};
use steward_connectors::onetrust::scim::{self, ScimReader};

const TOKEN: &str = "peer-token-otconn";

fn scripts() -> PathBuf {
    match std::env::var_os("SCIM_PEER_DIR") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/onetrust/scim"),
    }
}

/// A running peer; stopped (by its port) when dropped.
struct Peer {
    base: url::Url,
    port: u16,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = Command::new(scripts().join("scim-peer-stop.sh"))
            .arg(self.port.to_string())
            .output();
    }
}

fn start_peer(users: u32, groups: u32) -> Peer {
    let out = Command::new(scripts().join("scim-peer.sh"))
        .args([
            "--users",
            &users.to_string(),
            "--groups",
            &groups.to_string(),
            "--token",
            TOKEN,
        ])
        .output()
        .expect("running scim-peer.sh");
    assert!(
        out.status.success(),
        "scim-peer.sh failed (it needs python3 and PyPI for its venv): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .last()
        .expect("scim-peer.sh printed no base URL")
        .trim()
        .to_string();
    let base = url::Url::parse(&line).expect("base URL");
    let port = base.port().expect("port");
    Peer { base, port }
}

fn client(peer: &Peer, token: &str) -> OtClient {
    let origin = format!("http://127.0.0.1:{}", peer.port);
    let domain = IntegrationDomain::parse_onetrust(
        &origin,
        steward_connectors::DomainOptions {
            custom_domain: false,
            allow_insecure_loopback: true,
        },
    )
    .unwrap();
    OtClient::new(
        domain,
        Auth::ApiKey(SecretString::from(token.to_string())),
        4,
        3,
    )
    .unwrap()
    .with_backoff(Backoff {
        base: Duration::from_millis(5),
        max: Duration::from_millis(50),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scim_client_reads_the_real_scim2_server_with_seeded_counts() {
    let peer = tokio::task::spawn_blocking(|| start_peer(30, 4))
        .await
        .unwrap();
    let c = client(&peer, TOKEN);
    let reader = ScimReader::new(&c, peer.base.path());
    let users = reader.list("Users", "").await.unwrap();
    let accounts: Vec<_> = users.into_iter().filter_map(scim::account).collect();
    assert_eq!(accounts.len(), 30, "every seeded user, none twice");
    let mut logins: Vec<String> = accounts.iter().map(|a| a.login.clone()).collect();
    logins.sort();
    logins.dedup();
    assert_eq!(logins.len(), 30);
    // Every 5th user is inactive.
    assert_eq!(
        accounts.iter().filter(|a| a.status == "INACTIVE").count(),
        6
    );
    let u7 = accounts
        .iter()
        .find(|a| a.login == "user7@example.com")
        .unwrap();
    assert_eq!(u7.email.as_deref(), Some("user7@example.com"));
    assert_eq!(u7.last_name.as_deref(), Some("Number7"));

    let groups = reader.list("Groups", "").await.unwrap();
    let parsed: Vec<_> = groups
        .into_iter()
        .filter_map(|g| scim::group(g, "SCIM_GROUP"))
        .collect();
    assert_eq!(parsed.len(), 4);
    // User i is in group ((i-1) mod 4)+1 except every 4th user: 30 - 7 members.
    let members: usize = parsed.iter().map(|(_, m)| m.len()).sum();
    assert_eq!(members, 23);
    let ids: std::collections::HashSet<&str> = accounts.iter().map(|a| a.id.as_str()).collect();
    assert!(
        parsed
            .iter()
            .flat_map(|(_, m)| m)
            .all(|m| ids.contains(m.account_id.as_str()))
    );

    // Exact lookup by email (userName filter), case-insensitive on the server.
    let found = reader.find_by_email("USER12@example.com").await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["userName"], "user12@example.com");
    assert!(
        reader
            .find_by_email("nobody@example.com")
            .await
            .unwrap()
            .is_empty()
    );

    // A wrong token: a clear rejection that never echoes the token. (One peer per test
    // binary run: concurrent first runs of scim-peer.sh would race installing its venv.)
    let c = client(&peer, "wrong-token");
    let reader = ScimReader::new(&c, peer.base.path());
    let err = reader.list("Users", "").await.unwrap_err();
    assert!(
        matches!(
            err,
            steward_connectors::ConnectorError::CredentialRejected { status: 401, .. }
        ),
        "{err:?}"
    );
    assert!(!err.to_string().contains("wrong-token"));
}
