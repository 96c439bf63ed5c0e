//! `limit` clamping: an over-large `limit` is clamped to the endpoint's maximum (API-NOTES §5),
//! and the clamped value is what `self`/`next` links carry.

use crate::common::*;

fn limit_of(url: &str) -> Option<String> {
    url::Url::parse(url)
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == "limit")
        .map(|(_, v)| v.into_owned())
}

#[tokio::test]
async fn users_limit_is_clamped_to_200() {
    // 250 users so a clamped page of 200 still has a next page.
    let mut c = config();
    c.users = 250;
    let sim = start_with(c).await;
    let r = get_ok(&sim, "SUPER_ADMIN", "/api/v1/users?limit=100000").await;
    assert_eq!(r.list().len(), 200);
    let links = r.links();
    assert_eq!(links.first().map(|l| l.rel.as_str()), Some("self"));
    assert_eq!(limit_of(&links[0].url).as_deref(), Some("200"), "{links:?}");
    let next = r.next_link().expect("more than 200 users: rel=next");
    assert_eq!(limit_of(&next).as_deref(), Some("200"), "{next}");
    let p2 = get_ok(&sim, "SUPER_ADMIN", &next).await;
    assert!(!p2.list().is_empty() && p2.list().len() <= 200);
    assert_conforms(&sample("users-list", "01-py-limit1-page1"), &[&r]);
    sim.shutdown().await;
}

#[tokio::test]
async fn every_paged_endpoint_clamps_to_its_maximum() {
    let sim = start().await;
    let app = get_ok(&sim, "SUPER_ADMIN", "/api/v1/apps?limit=1")
        .await
        .list()[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let group = get_ok(&sim, "SUPER_ADMIN", "/api/v1/groups?limit=1")
        .await
        .list()[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // (path, max) from API-NOTES §5: users 200, apps 200, groups 10000, group members
    // 1000 (default, also the largest recorded), app users 500, app groups 200, logs 1000.
    for (path, max) in [
        ("/api/v1/users".to_string(), 200),
        ("/api/v1/apps".to_string(), 200),
        ("/api/v1/groups".to_string(), 10000),
        (format!("/api/v1/groups/{group}/users"), 1000),
        (format!("/api/v1/apps/{app}/users"), 500),
        (format!("/api/v1/apps/{app}/groups"), 200),
    ] {
        let r = get_ok(&sim, "SUPER_ADMIN", &format!("{path}?limit=100000")).await;
        assert!(r.list().len() <= max);
        let self_link = r
            .links()
            .into_iter()
            .find(|l| l.rel == "self")
            .unwrap_or_else(|| panic!("{path}: no rel=self"));
        assert_eq!(
            limit_of(&self_link.url),
            Some(max.to_string()),
            "{path}: {}",
            self_link.url
        );
    }
    let since = enc("2026-10-01T00:00:00.000Z");
    let r = get_ok(
        &sim,
        "SUPER_ADMIN",
        &format!("/api/v1/logs?since={since}&limit=100000"),
    )
    .await;
    assert!(r.list().len() <= 1000);
    sim.shutdown().await;
}
