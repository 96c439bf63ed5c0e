//! Access-review reminders: 7 days and 1 day before the deadline and once overdue, each
//! once per reviewer; decided cases do not count and a reviewer with nothing pending gets
//! nothing; the webhook receives the exact JSON, and a failing webhook is recorded with its
//! error (the path of the URL, which may be a secret, is never stored).
#![allow(clippy::unwrap_used)]

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use steward_products::FixedClock;
use steward_products::reminders::{self, ConfiguredSink, RecordOnly, Reminder, WebhookSink};
use steward_products::reviews::{self, CreateReview};
use steward_products::sync::{self, NoProgress, SyncSettings};
use steward_simulator::RunningSimulator;
use steward_simulator::org::GroupType;
use steward_store::Store;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use super::findings::connector_as;
use super::sync::{add, now, sim};

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// A synced store and a group with at least 5 members (each membership is one case).
async fn synced() -> (
    RunningSimulator,
    Store,
    steward_store::testing::TempDirGuard,
    String,
) {
    let sim = sim(60, 31, "").await;
    let (store, dir) = steward_store::testing::test_store().await;
    let integration = add(&store, &sim).await;
    let connector = connector_as(&sim, "SUPER_ADMIN");
    sync::run(
        &store,
        &integration,
        connector.as_ref(),
        &FixedClock(now()),
        &NoProgress,
        SyncSettings::default(),
    )
    .await
    .unwrap();
    let group = sim.with_org(|org| {
        org.groups
            .iter()
            .find(|g| g.kind == GroupType::OktaGroup && g.members.len() >= 5)
            .unwrap()
            .id
            .clone()
    });
    (sim, store, dir, group)
}

/// A campaign over `group`, due 2026-12-01 (23:59:59 UTC), created at 2026-11-01.
async fn campaign(store: &Store, group: &str, name: &str, reviewer: &str) -> (i64, Vec<i64>) {
    let req = CreateReview {
        name: name.into(),
        integration: "okta".into(),
        scope: format!("groups:{group}"),
        reviewer: reviewer.into(),
        due: "2026-12-01".into(),
        recur: None,
        remediation: false,
    };
    let v = reviews::create(store, &req, &FixedClock(now()))
        .await
        .unwrap();
    let (_, cases) = reviews::show(store, v.campaign.id, &FixedClock(now()))
        .await
        .unwrap();
    (v.campaign.id, cases.iter().map(|c| c.id).collect())
}

/// (campaign, reviewer, kind, pending, at, delivered_to, error) of a reminder.
type Row = (
    i64,
    String,
    String,
    u64,
    DateTime<Utc>,
    Option<String>,
    Option<String>,
);

fn keys(sent: &[Reminder]) -> Vec<Row> {
    sent.iter()
        .map(|r| {
            (
                r.campaign_id,
                r.reviewer.clone(),
                r.kind.clone(),
                r.pending,
                r.at,
                r.delivered_to.clone(),
                r.error.clone(),
            )
        })
        .collect()
}

#[tokio::test]
async fn reminders_go_at_seven_days_one_day_and_overdue_each_once() {
    let (_sim, store, _dir, group) = synced().await;
    let (c1, cases1) = campaign(
        &store,
        &group,
        "Engineering",
        "alice@acme.example,bob@acme.example",
    )
    .await;
    let (c2, cases2) = campaign(&store, &group, "Carol's", "carol@acme.example").await;
    let n = cases1.len() as u64;
    assert!(n >= 5);
    // Decided cases do not count: alice decides two (they leave bob's queue too).
    reviews::decide(
        &store,
        cases1[0],
        "alice@acme.example",
        "keep",
        None,
        &FixedClock(now()),
    )
    .await
    .unwrap();
    reviews::decide(
        &store,
        cases1[1],
        "bob@acme.example",
        "revoke",
        Some("left"),
        &FixedClock(now()),
    )
    .await
    .unwrap();
    // Carol decides everything: nothing pending, no reminder.
    for id in &cases2 {
        reviews::decide(
            &store,
            *id,
            "carol@acme.example",
            "keep",
            None,
            &FixedClock(now()),
        )
        .await
        .unwrap();
    }

    // More than 7 days before the deadline: nothing.
    assert!(
        reminders::send_due(&store, &FixedClock(at("2026-11-24T23:59:58Z")), &RecordOnly)
            .await
            .unwrap()
            .is_empty()
    );

    // 7 days before: due_soon, to both reviewers, once.
    let t1 = at("2026-11-24T23:59:59Z");
    let sent = reminders::send_due(&store, &FixedClock(t1), &RecordOnly)
        .await
        .unwrap();
    assert_eq!(
        keys(&sent),
        vec![
            (
                c1,
                "alice@acme.example".into(),
                "due_soon".into(),
                n - 2,
                t1,
                None,
                None
            ),
            (
                c1,
                "bob@acme.example".into(),
                "due_soon".into(),
                n - 2,
                t1,
                None,
                None
            ),
        ]
    );
    assert!(
        reminders::send_due(&store, &FixedClock(t1), &RecordOnly)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        reminders::send_due(&store, &FixedClock(at("2026-11-28T12:00:00Z")), &RecordOnly)
            .await
            .unwrap()
            .is_empty()
    );

    // 1 day before: due_tomorrow, with the count of then.
    reviews::decide(
        &store,
        cases1[2],
        "bob@acme.example",
        "keep",
        None,
        &FixedClock(now()),
    )
    .await
    .unwrap();
    let t2 = at("2026-11-30T23:59:59Z");
    let sent = reminders::send_due(&store, &FixedClock(t2), &RecordOnly)
        .await
        .unwrap();
    assert_eq!(
        keys(&sent),
        vec![
            (
                c1,
                "alice@acme.example".into(),
                "due_tomorrow".into(),
                n - 3,
                t2,
                None,
                None
            ),
            (
                c1,
                "bob@acme.example".into(),
                "due_tomorrow".into(),
                n - 3,
                t2,
                None,
                None
            ),
        ]
    );
    assert!(
        reminders::send_due(&store, &FixedClock(at("2026-12-01T23:59:59Z")), &RecordOnly)
            .await
            .unwrap()
            .is_empty()
    );

    // Past the deadline: overdue, once.
    let t3 = at("2026-12-02T00:00:00Z");
    let sent = reminders::send_due(&store, &FixedClock(t3), &RecordOnly)
        .await
        .unwrap();
    assert_eq!(
        keys(&sent),
        vec![
            (
                c1,
                "alice@acme.example".into(),
                "overdue".into(),
                n - 3,
                t3,
                None,
                None
            ),
            (
                c1,
                "bob@acme.example".into(),
                "overdue".into(),
                n - 3,
                t3,
                None,
                None
            ),
        ]
    );
    assert!(
        reminders::send_due(&store, &FixedClock(at("2026-12-20T00:00:00Z")), &RecordOnly)
            .await
            .unwrap()
            .is_empty()
    );

    // The log holds the six, in order; carol's campaign has none.
    let log = reminders::log(&store, Some(c1)).await.unwrap();
    let kinds: Vec<(String, String)> = log
        .iter()
        .map(|r| (r.reviewer.clone(), r.kind.clone()))
        .collect();
    let want: Vec<(String, String)> = ["due_soon", "due_tomorrow", "overdue"]
        .iter()
        .flat_map(|k| {
            [
                ("alice@acme.example".to_string(), k.to_string()),
                ("bob@acme.example".to_string(), k.to_string()),
            ]
        })
        .collect();
    assert_eq!(kinds, want);
    assert!(reminders::log(&store, Some(c2)).await.unwrap().is_empty());
    assert_eq!(reminders::log(&store, None).await.unwrap().len(), 6);
}

#[tokio::test]
async fn a_worker_down_for_weeks_sends_overdue_alone() {
    let (_sim, store, _dir, group) = synced().await;
    let (c1, cases) = campaign(&store, &group, "Late", "dave@acme.example").await;
    let t = at("2026-12-15T09:00:00Z");
    let sent = reminders::send_due(&store, &FixedClock(t), &RecordOnly)
        .await
        .unwrap();
    assert_eq!(
        keys(&sent),
        vec![(
            c1,
            "dave@acme.example".into(),
            "overdue".into(),
            cases.len() as u64,
            t,
            None,
            None
        )]
    );
}

/// One request as the test server saw it.
#[derive(Debug)]
struct Received {
    request_line: String,
    content_type: Option<String>,
    body: Value,
}

/// A loopback HTTP server answering every request with `status`; what it receives goes to the channel.
async fn webhook_server(status: u16) -> (String, mpsc::UnboundedReceiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let (head_end, content_length) = loop {
                    let n = socket.read(&mut chunk).await.unwrap();
                    assert!(n > 0, "connection closed before the headers ended");
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..end]).to_string();
                        let len = head
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse::<usize>().unwrap())
                            })
                            .unwrap_or(0);
                        break (end + 4, len);
                    }
                };
                while buf.len() < head_end + content_length {
                    let n = socket.read(&mut chunk).await.unwrap();
                    assert!(n > 0, "connection closed before the body ended");
                    buf.extend_from_slice(&chunk[..n]);
                }
                let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                let request_line = head.lines().next().unwrap_or_default().to_string();
                let content_type = head.lines().find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-type:")
                        .map(|v| v.trim().to_string())
                });
                let body: Value =
                    serde_json::from_slice(&buf[head_end..head_end + content_length]).unwrap();
                let reason = if status == 200 {
                    "OK"
                } else {
                    "Internal Server Error"
                };
                let answer = format!(
                    "HTTP/1.1 {status} {reason}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                );
                // Reported before answering, so the order of reports is the order of requests.
                let _ = tx.send(Received {
                    request_line,
                    content_type,
                    body,
                });
                socket.write_all(answer.as_bytes()).await.unwrap();
            });
        }
    });
    (format!("http://{addr}"), rx)
}

#[tokio::test]
async fn the_webhook_receives_the_exact_message() {
    let (_sim, store, _dir, group) = synced().await;
    let (c1, cases) = campaign(&store, &group, "Q4 engineering", "erin+ops@acme.example").await;
    reviews::decide(
        &store,
        cases[0],
        "erin+ops@acme.example",
        "keep",
        None,
        &FixedClock(now()),
    )
    .await
    .unwrap();
    let pending = cases.len() as u64 - 1;
    let (origin, mut rx) = webhook_server(200).await;
    let sink = WebhookSink::new(&format!("{origin}/hooks/T0/s3cr3t")).unwrap();

    let t = at("2026-11-30T23:59:59Z");
    let sent = reminders::send_due(&store, &FixedClock(t), &sink)
        .await
        .unwrap();
    assert_eq!(
        keys(&sent),
        vec![(
            c1,
            "erin+ops@acme.example".into(),
            "due_tomorrow".into(),
            pending,
            t,
            Some(format!("webhook {origin}")),
            None
        )]
    );
    let got = rx.recv().await.unwrap();
    assert_eq!(got.request_line, "POST /hooks/T0/s3cr3t HTTP/1.1");
    assert_eq!(got.content_type.as_deref(), Some("application/json"));
    assert_eq!(
        got.body,
        json!({
            "campaign": {"id": c1, "name": "Q4 engineering"},
            "reviewer": "erin+ops@acme.example",
            "kind": "due_tomorrow",
            "pending": pending,
            "due": "2026-12-01T23:59:59Z",
            "link": "/reviews/queue?reviewer=erin%2Bops%40acme.example",
            "text": format!("Access review \"Q4 engineering\": {pending} cases await your decision, due tomorrow, 2026-12-01."),
        })
    );
    // Once: a second tick sends nothing more.
    assert!(
        reminders::send_due(&store, &FixedClock(t), &sink)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(rx.try_recv().is_err());
    assert_eq!(reminders::log(&store, Some(c1)).await.unwrap(), sent);
}

#[tokio::test]
async fn a_failing_webhook_is_recorded_with_its_error_and_does_not_abort() {
    let (_sim, store, _dir, group) = synced().await;
    let (c1, cases) = campaign(
        &store,
        &group,
        "Failing",
        "frank@acme.example,grace@acme.example",
    )
    .await;
    let n = cases.len() as u64;
    let (origin, mut rx) = webhook_server(500).await;
    let sink = WebhookSink::new(&format!("{origin}/hooks/s3cr3t")).unwrap();

    let t = at("2026-11-26T00:00:00Z");
    let sent = reminders::send_due(&store, &FixedClock(t), &sink)
        .await
        .unwrap();
    let error = Some(format!("webhook {origin} answered HTTP 500"));
    assert_eq!(
        keys(&sent),
        vec![
            (
                c1,
                "frank@acme.example".into(),
                "due_soon".into(),
                n,
                t,
                None,
                error.clone()
            ),
            (
                c1,
                "grace@acme.example".into(),
                "due_soon".into(),
                n,
                t,
                None,
                error.clone()
            ),
        ]
    );
    // Both were attempted.
    assert_eq!(
        rx.recv().await.unwrap().body["reviewer"],
        "frank@acme.example"
    );
    assert_eq!(
        rx.recv().await.unwrap().body["reviewer"],
        "grace@acme.example"
    );
    // A failed reminder is not retried (it is in the log, with its error, for an admin to see).
    assert!(
        reminders::send_due(&store, &FixedClock(t), &sink)
            .await
            .unwrap()
            .is_empty()
    );

    // Nobody listening: a connection error, recorded without the URL's secret path.
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let sink = WebhookSink::new(&format!("http://127.0.0.1:{port}/hooks/s3cr3t")).unwrap();
    let t = at("2026-12-01T00:00:00Z");
    let sent = reminders::send_due(&store, &FixedClock(t), &sink)
        .await
        .unwrap();
    assert_eq!(sent.len(), 2);
    for r in &sent {
        assert_eq!(
            (r.kind.as_str(), r.delivered_to.as_deref()),
            ("due_tomorrow", None)
        );
        let e = r.error.as_deref().unwrap();
        assert!(!e.is_empty() && !e.contains("s3cr3t"), "{e}");
    }

    // A misconfigured webhook is recorded as such on every reminder.
    let bad = ConfiguredSink::from_url(Some("http://hooks.example/s3cr3t"));
    let t = at("2026-12-02T00:00:00Z");
    let sent = reminders::send_due(&store, &FixedClock(t), &bad)
        .await
        .unwrap();
    let want = "STEWARD_REMINDER_WEBHOOK is not usable: plain http is only allowed to a loopback host; use https";
    assert_eq!(
        sent.iter().map(|r| r.error.as_deref()).collect::<Vec<_>>(),
        vec![Some(want), Some(want)]
    );
}
