//! The write samples: deactivate (200 `{}`), DELETE twice (204, 204: the first deactivates,
//! the second deletes), then GET → 404 E0000007.

use crate::common::*;

#[tokio::test]
async fn deactivate_is_200_empty_object() {
    let sim = start().await;
    let id = users_with_status(&sim, "ACTIVE").await[0].clone();
    let r = call(
        &sim,
        "SUPER_ADMIN",
        "POST",
        &format!("/api/v1/users/{id}/lifecycle/deactivate"),
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body, Some(serde_json::json!({})));
    assert_conforms(
        &sample("users-deactivate", "01-py-2025-200-empty-object"),
        &[&r],
    );
    let u = get_ok(&sim, "SUPER_ADMIN", &format!("/api/v1/users/{id}")).await;
    assert_eq!(u.body.as_ref().unwrap()["status"], "DEPROVISIONED");
    // Then DELETE deletes (204, no body), and GET is 404 E0000007.
    let d = call(
        &sim,
        "SUPER_ADMIN",
        "DELETE",
        &format!("/api/v1/users/{id}"),
    )
    .await;
    assert_eq!(d.status, 204);
    assert_conforms(
        &sample("users-delete", "01-py-delete-after-deactivate"),
        &[&d],
    );
    let g = get(&sim, "SUPER_ADMIN", &format!("/api/v1/users/{id}")).await;
    assert_eq!(g.error_code(), Some("E0000007"));
    assert_conforms(&sample("users-get", "05-py-404-after-delete"), &[&g]);
    sim.shutdown().await;
}

#[tokio::test]
async fn delete_twice_deactivates_then_deletes() {
    let sim = start().await;
    let id = users_with_status(&sim, "PROVISIONED").await[0].clone();
    let first = call(
        &sim,
        "SUPER_ADMIN",
        "DELETE",
        &format!("/api/v1/users/{id}"),
    )
    .await;
    assert_eq!(first.status, 204);
    assert!(first.body.is_none());
    assert_conforms(
        &sample("users-delete", "02-tf-first-delete-deactivates"),
        &[&first],
    );
    let u = get_ok(&sim, "SUPER_ADMIN", &format!("/api/v1/users/{id}")).await;
    assert_eq!(u.body.as_ref().unwrap()["status"], "DEPROVISIONED");
    let second = call(
        &sim,
        "SUPER_ADMIN",
        "DELETE",
        &format!("/api/v1/users/{id}"),
    )
    .await;
    assert_eq!(second.status, 204);
    assert_conforms(
        &sample("users-delete", "03-tf-second-delete-deletes"),
        &[&second],
    );
    let g = get(&sim, "SUPER_ADMIN", &format!("/api/v1/users/{id}")).await;
    assert_eq!(g.status, 404);
    assert_eq!(g.error_code(), Some("E0000007"));
    sim.shutdown().await;
}
