//! Access-review reminders: a reviewer with undecided cases in an open campaign is reminded
//! 7 days before the campaign's deadline (`due_soon`), 1 day before (`due_tomorrow`) and once
//! it has passed (`overdue`), each once.
//!
//! No mail server is assumed. Every reminder is recorded in the store (the reminders log, in
//! the CLI and on the campaign page); with `STEWARD_REMINDER_WEBHOOK` set it is also POSTed as
//! JSON to that URL (a chat or ticketing hook, or a mail relay of the operator's own). A failed
//! delivery is recorded with its error and never stops the others.
//!
//! Only the most urgent kind due is sent: a campaign created 3 days before its deadline gets
//! `due_soon` at once, and a worker that was down for a week sends `overdue` alone rather than
//! three reminders in a row.

use std::collections::HashMap;
use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use steward_connectors::without_url;
use steward_store::{Campaign, Store};

use crate::Clock;
use crate::reviews::UNASSIGNED;

pub use steward_store::ReviewReminder as Reminder;

/// The environment variable naming the webhook reminders are POSTed to.
pub const WEBHOOK_ENV: &str = "STEWARD_REMINDER_WEBHOOK";

#[derive(Debug, thiserror::Error)]
pub enum ReminderError {
    #[error(transparent)]
    Store(#[from] steward_store::StoreError),
    /// The reason never holds the URL: its path or query may be a secret token.
    #[error("{WEBHOOK_ENV} is not usable: {0}")]
    BadWebhook(String),
}

/// Which reminder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReminderKind {
    /// 7 days or less before the deadline.
    DueSoon,
    /// 1 day or less before the deadline.
    DueTomorrow,
    /// The deadline has passed.
    Overdue,
}

impl ReminderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ReminderKind::DueSoon => "due_soon",
            ReminderKind::DueTomorrow => "due_tomorrow",
            ReminderKind::Overdue => "overdue",
        }
    }

    /// The most urgent reminder due at `now` for a deadline `due_at`, if any. Overdue as in
    /// the campaign view: strictly after the deadline.
    pub fn due(due_at: DateTime<Utc>, now: DateTime<Utc>) -> Option<ReminderKind> {
        if now > due_at {
            Some(ReminderKind::Overdue)
        } else if now >= due_at - chrono::Duration::days(1) {
            Some(ReminderKind::DueTomorrow)
        } else if now >= due_at - chrono::Duration::days(7) {
            Some(ReminderKind::DueSoon)
        } else {
            None
        }
    }
}

/// The campaign a reminder is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CampaignRef {
    pub id: i64,
    pub name: String,
}

/// What a sink delivers: what a reviewer needs to act, and nothing secret (no tokens, no
/// case details beyond the count).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReminderMessage {
    pub campaign: CampaignRef,
    pub reviewer: String,
    pub kind: ReminderKind,
    pub pending: u64,
    pub due: DateTime<Utc>,
    /// Path of the reviewer's queue in the web UI (relative: the server's public URL is the
    /// operator's to prepend).
    pub link: String,
    /// One line for humans (chat hooks show `text`).
    pub text: String,
}

impl ReminderMessage {
    pub fn new(
        campaign: &Campaign,
        reviewer: &str,
        kind: ReminderKind,
        pending: u64,
    ) -> ReminderMessage {
        let cases = if pending == 1 {
            "1 case awaits".to_string()
        } else {
            format!("{pending} cases await")
        };
        let date = campaign.due_at.format("%Y-%m-%d");
        let when = match kind {
            ReminderKind::DueSoon => format!("due {date}"),
            ReminderKind::DueTomorrow => format!("due tomorrow, {date}"),
            ReminderKind::Overdue => format!("overdue since {date}"),
        };
        ReminderMessage {
            campaign: CampaignRef {
                id: campaign.id,
                name: campaign.name.clone(),
            },
            reviewer: reviewer.to_string(),
            kind,
            pending,
            due: campaign.due_at,
            link: format!("/reviews/queue?reviewer={}", query_escape(reviewer)),
            text: format!(
                "Access review \"{}\": {cases} your decision, {when}.",
                campaign.name
            ),
        }
    }
}

/// Percent-encode all but RFC 3986's unreserved characters (`@` and `+` in emails included).
fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Where reminders go. `Ok(Some(destination))` when delivered (a description safe to store
/// and show), `Ok(None)` when only recorded, `Err(reason)` when delivery failed.
pub trait ReminderSink: Send + Sync {
    fn deliver<'a>(
        &'a self,
        message: &'a ReminderMessage,
    ) -> impl Future<Output = Result<Option<String>, String>> + Send + 'a;
}

/// The default: the reminder is only recorded (the reminders log is the delivery).
#[derive(Debug, Clone, Copy, Default)]
pub struct RecordOnly;

impl ReminderSink for RecordOnly {
    async fn deliver(&self, _message: &ReminderMessage) -> Result<Option<String>, String> {
        Ok(None)
    }
}

/// POSTs each reminder as JSON ([`ReminderMessage`]) to a URL; any 2xx answer is a delivery.
#[derive(Debug, Clone)]
pub struct WebhookSink {
    http: reqwest::Client,
    url: reqwest::Url,
    /// `scheme://host:port`: what is stored and shown, since the path may be a secret.
    origin: String,
}

impl WebhookSink {
    /// `https://…`, or `http://` to a loopback host (a local relay); anything else is refused
    /// rather than sending reminders in clear text.
    pub fn new(url: &str) -> Result<WebhookSink, ReminderError> {
        let bad = |reason: &str| ReminderError::BadWebhook(reason.to_string());
        let url = reqwest::Url::parse(url.trim()).map_err(|e| bad(&format!("not a URL ({e})")))?;
        let host = url
            .host_str()
            .ok_or_else(|| bad("the URL has no host"))?
            .to_string();
        let loopback = matches!(host.as_str(), "localhost" | "127.0.0.1" | "[::1]" | "::1");
        match url.scheme() {
            "https" => {}
            "http" if loopback => {}
            "http" => {
                return Err(bad(
                    "plain http is only allowed to a loopback host; use https",
                ));
            }
            other => {
                return Err(bad(&format!(
                    "scheme {other:?} is not supported; use https"
                )));
            }
        }
        let origin = match url.port_or_known_default() {
            Some(port) => format!("{}://{host}:{port}", url.scheme()),
            None => format!("{}://{host}", url.scheme()),
        };
        let mut builder = reqwest::Client::builder();
        if loopback {
            builder = builder.no_proxy();
        }
        let http = builder
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(10))
            // A redirect could carry the reminder (and the secret path) elsewhere: never follow.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| bad(&format!("HTTP client: {}", without_url(&e))))?;
        Ok(WebhookSink { http, url, origin })
    }

    /// What the reminders log shows as the destination.
    pub fn origin(&self) -> &str {
        &self.origin
    }
}

impl ReminderSink for WebhookSink {
    async fn deliver(&self, message: &ReminderMessage) -> Result<Option<String>, String> {
        let answer = self
            .http
            .post(self.url.clone())
            .json(message)
            .send()
            .await
            .map_err(|e| without_url(&e))?;
        let status = answer.status();
        if status.is_success() {
            Ok(Some(format!("webhook {}", self.origin)))
        } else {
            Err(format!(
                "webhook {} answered HTTP {}",
                self.origin,
                status.as_u16()
            ))
        }
    }
}

/// The sink the configuration asks for: a webhook when [`WEBHOOK_ENV`] is set, else record only.
#[derive(Debug, Clone)]
pub enum ConfiguredSink {
    RecordOnly,
    Webhook(WebhookSink),
    /// A webhook was configured but is not usable: every reminder is recorded with this error,
    /// so the misconfiguration shows in the reminders log instead of reminders silently not going out.
    Invalid(String),
}

impl ConfiguredSink {
    /// From a configured URL (`None` or blank: record only).
    pub fn from_url(url: Option<&str>) -> ConfiguredSink {
        match url.map(str::trim).filter(|u| !u.is_empty()) {
            None => ConfiguredSink::RecordOnly,
            Some(u) => match WebhookSink::new(u) {
                Ok(sink) => ConfiguredSink::Webhook(sink),
                Err(e) => ConfiguredSink::Invalid(e.to_string()),
            },
        }
    }

    /// From [`WEBHOOK_ENV`].
    pub fn from_env() -> ConfiguredSink {
        ConfiguredSink::from_url(std::env::var(WEBHOOK_ENV).ok().as_deref())
    }

    /// The process's sink, read from the environment once (the worker asks every tick).
    pub fn process() -> &'static ConfiguredSink {
        static SINK: OnceLock<ConfiguredSink> = OnceLock::new();
        SINK.get_or_init(ConfiguredSink::from_env)
    }
}

impl ReminderSink for ConfiguredSink {
    async fn deliver(&self, message: &ReminderMessage) -> Result<Option<String>, String> {
        match self {
            ConfiguredSink::RecordOnly => RecordOnly.deliver(message).await,
            ConfiguredSink::Webhook(w) => w.deliver(message).await,
            ConfiguredSink::Invalid(reason) => Err(reason.clone()),
        }
    }
}

/// Send every reminder due at the clock's now that was not sent yet: for each open campaign
/// and each reviewer with undecided cases, the most urgent kind due. Each is recorded before
/// it is delivered (so of several workers one sends it), then marked with where it went or
/// why it failed. Returns the reminders sent, by campaign then reviewer.
pub async fn send_due(
    store: &Store,
    clock: &dyn Clock,
    sink: &impl ReminderSink,
) -> Result<Vec<Reminder>, ReminderError> {
    let now = clock.now();
    let pending = store.review_pending_by_reviewer().await?;
    if pending.is_empty() {
        return Ok(Vec::new());
    }
    let sent = store.review_reminder_keys().await?;
    let mut campaigns: HashMap<i64, Option<Campaign>> = HashMap::new();
    let mut out = Vec::new();
    for p in pending {
        // Cases nobody could be found to review are for an admin to reassign, not a reminder.
        if p.reviewer == UNASSIGNED || p.pending == 0 {
            continue;
        }
        let campaign = match campaigns.get(&p.campaign_id) {
            Some(c) => c.clone(),
            None => {
                let c = store.campaign(p.campaign_id).await?;
                campaigns.insert(p.campaign_id, c.clone());
                c
            }
        };
        let Some(campaign) = campaign.filter(|c| c.status == "open") else {
            continue;
        };
        let Some(kind) = ReminderKind::due(campaign.due_at, now) else {
            continue;
        };
        if sent.contains(&(campaign.id, p.reviewer.clone(), kind.as_str().to_string())) {
            continue;
        }
        let Some(claimed) = store
            .claim_review_reminder(campaign.id, &p.reviewer, kind.as_str(), p.pending, now)
            .await?
        else {
            continue;
        };
        let message = ReminderMessage::new(&campaign, &p.reviewer, kind, p.pending);
        let reminder = match sink.deliver(&message).await {
            Ok(None) => claimed,
            Ok(Some(to)) => {
                store
                    .finish_review_reminder(claimed.id, Some(&to), None)
                    .await?
            }
            Err(error) => {
                tracing::warn!(campaign_id = campaign.id, kind = kind.as_str(), error = %error, "Could not deliver an access-review reminder.");
                store
                    .finish_review_reminder(claimed.id, None, Some(&error))
                    .await?
            }
        };
        out.push(reminder);
    }
    Ok(out)
}

/// The reminders log: of one campaign (which must exist), or of all.
pub async fn log(store: &Store, campaign_id: Option<i64>) -> Result<Vec<Reminder>, ReminderError> {
    Ok(store.review_reminders(campaign_id).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    #[test]
    fn the_most_urgent_kind_is_due() {
        let due = at("2026-12-01T23:59:59Z");
        assert_eq!(ReminderKind::due(due, at("2026-11-24T23:59:58Z")), None);
        assert_eq!(
            ReminderKind::due(due, at("2026-11-24T23:59:59Z")),
            Some(ReminderKind::DueSoon)
        );
        assert_eq!(
            ReminderKind::due(due, at("2026-11-30T23:59:58Z")),
            Some(ReminderKind::DueSoon)
        );
        assert_eq!(
            ReminderKind::due(due, at("2026-11-30T23:59:59Z")),
            Some(ReminderKind::DueTomorrow)
        );
        assert_eq!(ReminderKind::due(due, due), Some(ReminderKind::DueTomorrow));
        assert_eq!(
            ReminderKind::due(due, at("2026-12-02T00:00:00Z")),
            Some(ReminderKind::Overdue)
        );
    }

    #[test]
    fn links_escape_the_reviewer() {
        assert_eq!(query_escape("a.b+c@x.example"), "a.b%2Bc%40x.example");
    }

    #[test]
    fn webhooks_need_https_unless_loopback() {
        assert!(WebhookSink::new("https://hooks.example/T/secret").is_ok());
        assert_eq!(
            WebhookSink::new("http://127.0.0.1:9/x")
                .map(|w| w.origin().to_string())
                .ok()
                .as_deref(),
            Some("http://127.0.0.1:9")
        );
        let refused = WebhookSink::new("http://hooks.example/T/secret")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert_eq!(
            refused,
            "STEWARD_REMINDER_WEBHOOK is not usable: plain http is only allowed to a loopback host; use https"
        );
        assert!(matches!(
            ConfiguredSink::from_url(Some("  ")),
            ConfiguredSink::RecordOnly
        ));
        assert!(matches!(
            ConfiguredSink::from_url(Some("ftp://x")),
            ConfiguredSink::Invalid(_)
        ));
    }
}
