//! Record builders and fixtures shared by the tests.

use chrono::{DateTime, TimeZone as _, Utc};
use secrecy::SecretString;
use serde_json::json;
use steward_model::{Group, IntegrationKind, LogEvent, Membership, Record, Setting};
use steward_store::{Integration, NewIntegration, Store};

pub fn t(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_790_000_000 + secs, 0).unwrap()
}

pub fn group(id: &str) -> Record {
    Record::Group(Group {
        id: id.to_string(),
        name: format!("Group {id}"),
        description: None,
        group_type: "OKTA_GROUP".into(),
        raw: steward_model::raw_json!({"id": id}),
    })
}

pub fn membership(group_id: &str, account_id: &str) -> Record {
    Record::Membership(Membership {
        group_id: group_id.into(),
        account_id: account_id.into(),
    })
}

pub fn event(id: &str) -> Record {
    Record::LogEvent(LogEvent {
        id: id.to_string(),
        published: t(0),
        event_type: "user.session.start".into(),
        actor_id: Some("00u1".into()),
        actor_alternate_id: None,
        target_ids: vec![],
        outcome: Some("SUCCESS".into()),
        raw: steward_model::raw_json!({"uuid": id}),
    })
}

pub fn setting(key: &str) -> Record {
    Record::Setting(Setting {
        key: key.into(),
        value: json!(1),
    })
}

pub async fn add(store: &Store, name: &str) -> Integration {
    let new = NewIntegration {
        name: name.into(),
        kind: IntegrationKind::Okta,
        base_url: "https://example.okta.com".into(),
        settings: json!({"custom_domain": false}),
    };
    store
        .create_integration(
            &new,
            &SecretString::from("token-of-".to_string() + name),
            t(0),
        )
        .await
        .unwrap()
}
