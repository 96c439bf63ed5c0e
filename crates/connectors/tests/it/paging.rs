//! Paging, origin checks and secrecy of the token.

use std::time::Duration;

use steward_connectors::SyncOptions;
use steward_model::Resource;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::*;

#[tokio::test]
async fn paging_follows_link_headers() {
    // 450 users: the user list needs three pages of 200.
    let sim = start_with(config(450, 9)).await;
    let c = connector(&sim, "READ_ONLY_ADMIN");
    let (report, got) = run_sync(&c, SyncOptions::new(now())).await;
    report.unwrap();
    assert!(got.batches[&Resource::Users] >= 3, "{:?}", got.batches);
    assert_truth(&sim, &got, Resource::Users);
    assert_truth(&sim, &got, Resource::AppUsers);
}

/// A one-shot fake Okta: answers every request with a Link to another origin.
async fn evil_server(next: &'static str) -> (String, tokio::task::JoinHandle<Vec<String>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let mut seen = Vec::new();
        while let Ok(Ok((mut sock, _))) =
            tokio::time::timeout(Duration::from_millis(500), listener.accept()).await
        {
            let mut buf = vec![0u8; 8192];
            let n = sock.read(&mut buf).await.unwrap_or(0);
            seen.push(String::from_utf8_lossy(&buf[..n]).to_string());
            let body =
                "[{\"id\":\"00u1\",\"status\":\"ACTIVE\",\"profile\":{\"login\":\"a@b.c\"}}]";
            let resp = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nLink: <{next}>; rel=\"next\"\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = sock.write_all(resp.as_bytes()).await;
        }
        seen
    });
    (format!("http://{addr}"), task)
}

#[tokio::test]
async fn cross_origin_next_link_is_refused() {
    let (base, server) = evil_server("http://127.0.0.2:9/api/v1/users?after=x").await;
    let domain = steward_connectors::IntegrationDomain::parse_okta(&base, loopback()).unwrap();
    let gov = std::sync::Arc::new(steward_connectors::okta::governor::Governor::new(2, 90));
    let client = steward_connectors::okta::client::OktaClient::new(
        domain,
        secrecy::SecretString::from("00secret-token"),
        gov,
        1,
    )
    .unwrap();
    let err = client.get("/api/v1/users?limit=200").await.unwrap_err();
    assert!(
        matches!(err, steward_connectors::ConnectorError::CrossOrigin { .. }),
        "{err:?}"
    );
    assert!(!err.to_string().contains("00secret-token"));
    let seen = server.await.unwrap();
    assert_eq!(
        seen.len(),
        1,
        "only the first request, to the domain itself"
    );
    assert!(seen[0].contains("SSWS 00secret-token"));
    assert!(
        seen[0]
            .to_ascii_lowercase()
            .contains("accept: application/json")
    );
    assert!(
        seen[0]
            .to_ascii_lowercase()
            .contains("user-agent: steward/")
    );
}

#[tokio::test]
async fn token_never_in_debug_or_errors() {
    let sim = start_with(config(20, 1)).await;
    let token = sim.token("NO_ADMIN");
    let c = connector(&sim, "NO_ADMIN");
    assert!(!format!("{c:?}").contains(&token));
    let (report, got) = run_sync(&c, SyncOptions::new(now())).await;
    let text = format!("{report:?} {got:?}");
    assert!(!text.contains(&token));
    let expired = sim.token("EXPIRED");
    let (report, _) = run_sync(&connector(&sim, "EXPIRED"), SyncOptions::new(now())).await;
    let e = report.unwrap_err();
    assert!(!format!("{e} {e:?}").contains(&expired));
}

/// A fake Okta that answers the first request with a 500 (request id `req-1`), then 200.
async fn flaky_server() -> (String, tokio::task::JoinHandle<Vec<String>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let mut seen = Vec::new();
        while let Ok(Ok((mut sock, _))) =
            tokio::time::timeout(Duration::from_millis(500), listener.accept()).await
        {
            let mut buf = vec![0u8; 8192];
            let n = sock.read(&mut buf).await.unwrap_or(0);
            seen.push(String::from_utf8_lossy(&buf[..n]).to_string());
            let resp = if seen.len() == 1 {
                let body =
                    "{\"errorCode\":\"E0000009\",\"errorSummary\":\"Internal Server Error\"}";
                format!(
                    "HTTP/1.1 500 Internal Server Error\r\nX-Okta-Request-Id: req-1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                )
            } else {
                let body = "[]";
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                )
            };
            let _ = sock.write_all(resp.as_bytes()).await;
        }
        seen
    });
    (format!("http://{addr}"), task)
}

#[tokio::test]
async fn retry_sends_okta_retry_headers() {
    let (base, server) = flaky_server().await;
    let domain = steward_connectors::IntegrationDomain::parse_okta(&base, loopback()).unwrap();
    let gov = std::sync::Arc::new(steward_connectors::okta::governor::Governor::new(2, 90));
    let client = steward_connectors::okta::client::OktaClient::new(
        domain,
        secrecy::SecretString::from("00tok"),
        gov.clone(),
        1,
    )
    .unwrap()
    .with_backoff(steward_connectors::okta::client::Backoff {
        base: Duration::from_millis(5),
        max: Duration::from_millis(20),
    });
    let page = client.get("/api/v1/groups?limit=200").await.unwrap();
    assert_eq!(page.body, serde_json::json!([]));
    let seen = server.await.unwrap();
    assert_eq!(seen.len(), 2);
    let retry = seen[1].to_ascii_lowercase();
    assert!(retry.contains("x-okta-retry-for: req-1"), "{retry}");
    assert!(retry.contains("x-okta-retry-count: 1"), "{retry}");
    assert_eq!(gov.retries.load(std::sync::atomic::Ordering::Relaxed), 1);
}
