//! The Okta capability table and the connection test: who the token acts as, each
//! permission checked separately, and warnings about excess privilege.

use serde_json::Value;
use steward_model::{Capability, CheckOutcome, ConnectionReport, PermissionCheck, Resource};

use super::client::OktaClient;
use crate::ConnectorError;

pub const CAPABILITIES: &[Capability] = &[
    Capability {
        id: "rate_limit_settings",
        name: "Read rate-limit settings",
        resources: &[Resource::Settings],
        required: true,
        needs: "READ_ONLY_ADMIN (okta.rateLimits.read)",
        endpoint: "GET /api/v1/rate-limit-settings/warning-threshold",
    },
    Capability {
        id: "list_apps",
        name: "List applications",
        resources: &[Resource::Apps],
        required: true,
        needs: "READ_ONLY_ADMIN (okta.apps.read)",
        endpoint: "GET /api/v1/apps",
    },
    Capability {
        id: "list_app_users",
        name: "List application users and groups",
        resources: &[Resource::AppUsers, Resource::AppGroups],
        required: true,
        needs: "READ_ONLY_ADMIN (okta.apps.read)",
        endpoint: "GET /api/v1/apps/{id}/users",
    },
    Capability {
        id: "list_users",
        name: "List users",
        resources: &[Resource::Users],
        required: true,
        needs: "READ_ONLY_ADMIN (okta.users.read)",
        endpoint: "GET /api/v1/users",
    },
    Capability {
        id: "list_groups",
        name: "List groups and memberships",
        resources: &[Resource::Groups, Resource::Memberships],
        required: true,
        needs: "READ_ONLY_ADMIN (okta.groups.read)",
        endpoint: "GET /api/v1/groups",
    },
    Capability {
        id: "list_admin_roles",
        name: "List admin role assignments",
        resources: &[Resource::RoleAssignments],
        required: false,
        needs: "SUPER_ADMIN, or a custom role with \"View roles, resources, and admin assignments\" (okta.roles.read)",
        endpoint: "GET /api/v1/iam/assignees/users",
    },
    Capability {
        id: "list_policies",
        name: "List policies and rules",
        resources: &[Resource::Policies, Resource::PolicyRules],
        required: false,
        needs: "READ_ONLY_ADMIN (okta.policies.read)",
        endpoint: "GET /api/v1/policies?type=OKTA_SIGN_ON",
    },
    Capability {
        id: "list_factors",
        name: "List enrolled MFA factors",
        resources: &[Resource::Factors],
        required: false,
        needs: "READ_ONLY_ADMIN (okta.users.read)",
        endpoint: "GET /api/v1/users/{id}/factors",
    },
    Capability {
        id: "read_system_log",
        name: "Read the System Log",
        resources: &[Resource::LogEvents],
        required: false,
        needs: "READ_ONLY_ADMIN (okta.logs.read)",
        endpoint: "GET /api/v1/logs",
    },
];

fn cap(id: &str) -> &'static Capability {
    CAPABILITIES
        .iter()
        .find(|c| c.id == id)
        .unwrap_or(&CAPABILITIES[0])
}

fn check(c: &Capability, outcome: CheckOutcome) -> PermissionCheck {
    PermissionCheck {
        capability: c.id.to_string(),
        name: c.name.to_string(),
        required: c.required,
        endpoint: c.endpoint.to_string(),
        outcome,
    }
}

/// Map an error of one check to its outcome (`Err` = fatal for the whole test).
fn outcome_of(c: &Capability, e: ConnectorError) -> Result<CheckOutcome, String> {
    match e {
        ConnectorError::TokenRejected { .. } => Err(e.to_string()),
        ConnectorError::MissingPermission {
            status, code, fix, ..
        } => {
            let fix = if c.id == "list_admin_roles" {
                format!(
                    "grant SUPER_ADMIN (ORG_ADMIN and READ_ONLY_ADMIN may not view admin assignments), or a custom role with \"View roles, resources, and admin assignments\", to the token's admin; {code} means the admin's role lacks this permission. Without it admin roles are not synced"
                )
            } else if status == 401 {
                fix
            } else {
                format!(
                    "grant the token's admin READ_ONLY_ADMIN (needs: {}); {code} means the admin's role lacks this permission",
                    c.needs
                )
            };
            Ok(CheckOutcome::Denied {
                http_status: status,
                code: (!code.is_empty()).then_some(code.clone()),
                reason: format!(
                    "Okta refused {} ({status} {code}: the token's admin role may not do this)",
                    c.endpoint
                ),
                fix,
            })
        }
        other => Ok(CheckOutcome::Error {
            reason: other.to_string(),
        }),
    }
}

/// Append one check; a rejected token becomes the report's fatal error.
fn record(
    report: &mut ConnectionReport,
    fatal: &mut Option<String>,
    c: &'static Capability,
    r: Result<CheckOutcome, ConnectorError>,
) {
    let outcome = match r {
        Ok(o) => o,
        Err(e) => match outcome_of(c, e) {
            Ok(o) => o,
            Err(f) => {
                fatal.get_or_insert(f.clone());
                CheckOutcome::Error { reason: f }
            }
        },
    };
    report.checks.push(check(c, outcome));
}

async fn probe(client: &OktaClient, path: &str) -> Result<Value, ConnectorError> {
    client.get(path).await.map(|p| p.body)
}

/// Run the connection test.
pub async fn test_connection(client: &OktaClient) -> ConnectionReport {
    let mut report = ConnectionReport::default();
    let host = client
        .domain()
        .url()
        .host_str()
        .unwrap_or_default()
        .to_string();
    // Who am I?
    let me = match probe(client, "/api/v1/users/me").await {
        Ok(v) => v,
        Err(ConnectorError::TokenRejected { code }) => {
            report.fatal = Some(format!(
                "Okta rejected the API token (401 {code}): tokens expire after 30 days without use and are revoked when \
                 the admin who created them is deactivated; create a new token in Security > API > Tokens and replace it \
                 with `steward integration set-token`"
            ));
            return report;
        }
        Err(e @ (ConnectorError::GaveUp { .. } | ConnectorError::Http(_))) => {
            report.fatal = Some(format!(
                "could not reach {host}: {e}; check the domain and the network (proxy, firewall)"
            ));
            return report;
        }
        Err(e) => {
            report.warnings.push(format!(
                "could not identify the token's admin via /api/v1/users/me: {e}"
            ));
            Value::Null
        }
    };
    report.principal = me
        .pointer("/profile/login")
        .and_then(Value::as_str)
        .map(str::to_string);
    let me_id = me.get("id").and_then(Value::as_str).map(str::to_string);
    // Roles of the admin: readable only with role-reading permission.
    let roles_path = match &me_id {
        Some(id) => format!("/api/v1/users/{id}/roles"),
        None => "/api/v1/users/me/roles".to_string(),
    };
    if let Ok(Value::Array(roles)) = probe(client, &roles_path).await {
        report.roles = roles
            .iter()
            .filter_map(|r| r.get("type").and_then(Value::as_str).map(str::to_string))
            .collect();
    }

    let mut fatal: Option<String> = None;
    record(
        &mut report,
        &mut fatal,
        cap("rate_limit_settings"),
        probe(client, "/api/v1/rate-limit-settings/warning-threshold")
            .await
            .map(|_| CheckOutcome::Ok),
    );
    let apps = probe(client, "/api/v1/apps?limit=1").await;
    let first_app = apps
        .as_ref()
        .ok()
        .and_then(|v| v.get(0))
        .and_then(|a| a.get("id"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let apps_ok = apps.is_ok();
    record(
        &mut report,
        &mut fatal,
        cap("list_apps"),
        apps.map(|_| CheckOutcome::Ok),
    );
    let app_users = match first_app {
        Some(id) => probe(client, &format!("/api/v1/apps/{id}/users?limit=1"))
            .await
            .map(|_| CheckOutcome::Ok),
        None if apps_ok => Ok(CheckOutcome::Fallback {
            reason: "the org has no applications to check app users with".into(),
        }),
        // Without the app list there is no app to ask about: same verdict as the list.
        None => Ok(report
            .checks
            .iter()
            .rev()
            .find(|c| c.capability == "list_apps")
            .map(|c| c.outcome.clone())
            .unwrap_or(CheckOutcome::Error {
                reason: "apps unreadable".into(),
            })),
    };
    record(&mut report, &mut fatal, cap("list_app_users"), app_users);
    let users = probe(client, "/api/v1/users?limit=1").await;
    let first_user = users
        .as_ref()
        .ok()
        .and_then(|v| v.get(0))
        .and_then(|u| u.get("id"))
        .and_then(Value::as_str)
        .map(str::to_string);
    record(
        &mut report,
        &mut fatal,
        cap("list_users"),
        users.map(|_| CheckOutcome::Ok),
    );
    record(
        &mut report,
        &mut fatal,
        cap("list_groups"),
        probe(client, "/api/v1/groups?limit=1")
            .await
            .map(|_| CheckOutcome::Ok),
    );
    let roles = match probe(client, "/api/v1/iam/assignees/users?limit=1").await {
        Ok(_) => Ok(CheckOutcome::Ok),
        Err(ConnectorError::NotFound { .. }) => Ok(CheckOutcome::Fallback {
            reason: "older org: /api/v1/iam/assignees/users is not available (404); per-user `/users/{id}/roles` is used".into(),
        }),
        Err(e) => Err(e),
    };
    record(&mut report, &mut fatal, cap("list_admin_roles"), roles);
    record(
        &mut report,
        &mut fatal,
        cap("list_policies"),
        probe(client, "/api/v1/policies?type=OKTA_SIGN_ON&limit=1")
            .await
            .map(|_| CheckOutcome::Ok),
    );
    let factor_user = me_id.clone().or(first_user);
    let factors = match factor_user {
        Some(id) => probe(client, &format!("/api/v1/users/{id}/factors"))
            .await
            .map(|_| CheckOutcome::Ok),
        None => Ok(CheckOutcome::Error {
            reason: "no user to check factors with".into(),
        }),
    };
    record(&mut report, &mut fatal, cap("list_factors"), factors);
    record(
        &mut report,
        &mut fatal,
        cap("read_system_log"),
        probe(client, "/api/v1/logs?limit=1")
            .await
            .map(|_| CheckOutcome::Ok),
    );
    if let Some(f) = fatal {
        report.fatal = Some(f);
    }
    for r in &report.roles {
        if r == "SUPER_ADMIN" || r == "ORG_ADMIN" {
            report.warnings.push(format!(
                "the token's admin holds {r}, more than a read-only sync needs: suggest READ_ONLY_ADMIN (plus SUPER_ADMIN only if admin roles must be synced)"
            ));
        }
    }
    if report.checks.iter().any(|c| c.required && !c.passed()) {
        report.warnings.push("required permissions are missing: the sync cannot run until they are granted (see each fix)".into());
    }
    report
}
