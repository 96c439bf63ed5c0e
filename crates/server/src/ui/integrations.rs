//! Integrations: tiles and status, the connect form (Test connection, Save), the integration
//! page (capabilities, last test, runs, sync frequency, Sync now with live progress, replace
//! token, remove).

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use secrecy::SecretString;
use serde::Deserialize;
use steward_connectors::DomainOptions;
use steward_model::{CheckOutcome, ConnectionReport, IntegrationKind};
use steward_products::integrations::{self, AddIntegration, IntegrationError};
use steward_store::{Frequency, Integration};

use super::{Layout, UiError, UiForm, UiUser, render, render_status, when, when_opt};
use crate::AppState;
use crate::api::launch_sync;
use crate::error::ApiError;
use crate::jobs::SyncJob;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/integrations", get(list))
        .route("/integrations/new", get(new_form).post(save))
        .route("/integrations/new/test", post(test_new))
        .route("/integrations/{name}", get(page))
        .route("/integrations/{name}/test", post(retest))
        .route("/integrations/{name}/sync", post(sync_now))
        .route("/integrations/{name}/sync/{job}", get(progress))
        .route("/integrations/{name}/schedule", post(schedule))
        .route("/integrations/{name}/token", post(replace_token))
        .route("/integrations/{name}/remove", post(remove))
}

// ---------------------------------------------------------------- status

/// How an integration stands, for tiles and the integration page.
pub struct Status {
    pub connected: bool,
    /// "Connected" or why not.
    pub text: String,
}

fn last_report(i: &Integration) -> Option<ConnectionReport> {
    i.last_test
        .as_ref()
        .and_then(|v| serde_json::from_value::<ConnectionReport>(v.clone()).ok())
}

pub fn status(i: &Integration) -> Status {
    let report = last_report(i);
    let reason = match &report {
        None => Some("not tested yet: run Test connection".to_string()),
        Some(r) if r.fatal.is_some() => Some(format!(
            "connection test failed: {}",
            r.fatal.clone().unwrap_or_default()
        )),
        Some(r) if !r.required_ok() => {
            let failed: Vec<String> = r
                .checks
                .iter()
                .filter(|c| c.required && !c.passed())
                .map(|c| c.name.clone())
                .collect();
            Some(format!(
                "required permissions missing: {}",
                failed.join(", ")
            ))
        }
        Some(_) => match i.last_sync_status.as_deref() {
            Some("failed") => Some("the last sync failed; see the run history".to_string()),
            Some("abandoned") => Some("the last sync was abandoned".to_string()),
            _ => None,
        },
    };
    match reason {
        None => Status {
            connected: true,
            text: "Connected".into(),
        },
        Some(text) => Status {
            connected: false,
            text,
        },
    }
}

struct IntegrationRow {
    name: String,
    kind: String,
    domain: String,
    status: Status,
    last_sync: String,
    last_sync_status: String,
    counts: String,
}

#[derive(Template)]
#[template(path = "integrations.html")]
struct ListPage {
    layout: Layout,
    rows: Vec<IntegrationRow>,
    onetrust_available: bool,
}

fn counts_text(counts: &std::collections::BTreeMap<String, u64>) -> String {
    if counts.is_empty() {
        return "—".into();
    }
    counts
        .iter()
        .map(|(k, v)| format!("{v} {k}"))
        .collect::<Vec<_>>()
        .join(", ")
}

async fn list(State(state): State<AppState>, UiUser(authed): UiUser) -> Result<Response, UiError> {
    let mut rows = Vec::new();
    for i in state.store.integrations().await? {
        let last_run = state.store.runs(i.id, 1).await?.into_iter().next();
        rows.push(IntegrationRow {
            name: i.name.clone(),
            kind: i.kind.as_str().to_string(),
            domain: i.base_url.clone(),
            status: status(&i),
            last_sync: when_opt(i.last_sync_at.as_ref()),
            last_sync_status: i
                .last_sync_status
                .clone()
                .unwrap_or_else(|| "never synced".into()),
            counts: last_run
                .map(|r| counts_text(&r.counts))
                .unwrap_or_else(|| "—".into()),
        });
    }
    // The OneTrust tile links to the connect form once its connector is built in.
    render(&ListPage {
        layout: Layout::new(&authed, "Integrations", "integrations"),
        rows,
        onetrust_available: true,
    })
}

// ---------------------------------------------------------------- connect form

/// What the admin typed (never the token: it is not rendered back).
#[derive(Default)]
struct ConnectValues {
    kind: String,
    name: String,
    domain: String,
    allow_insecure: bool,
    /// `api_key`, or `client_credentials` (OneTrust OAuth).
    auth_method: String,
    client_id: String,
}

impl ConnectValues {
    fn kind_label(&self) -> &'static str {
        if self.kind == "onetrust" {
            "OneTrust"
        } else {
            "Okta"
        }
    }

    fn is_onetrust(&self) -> bool {
        self.kind == "onetrust"
    }

    fn domain_placeholder(&self) -> &'static str {
        if self.is_onetrust() {
            "acme.my.onetrust.com"
        } else {
            "acme.okta.com"
        }
    }
}

/// A row of the connection-test table.
struct CheckRow {
    capability: String,
    name: String,
    required: bool,
    ok: bool,
    mark: &'static str,
    detail: String,
}

/// A connection report as the UI shows it.
struct ReportView {
    principal: String,
    roles: String,
    fatal: Option<String>,
    warnings: Vec<String>,
    checks: Vec<CheckRow>,
    required_ok: bool,
}

fn report_view(r: &ConnectionReport) -> ReportView {
    let checks = r
        .checks
        .iter()
        .map(|c| {
            let (mark, detail) = match &c.outcome {
                CheckOutcome::Ok => ("✓", "readable".to_string()),
                CheckOutcome::Fallback { reason } => {
                    ("✓", format!("readable with a fallback: {reason}"))
                }
                CheckOutcome::Denied {
                    http_status,
                    code,
                    reason,
                    fix,
                } => (
                    "✗",
                    format!(
                        "denied (HTTP {http_status}{}): {reason}. Fix: {fix}",
                        code.as_deref()
                            .map(|c| format!(", {c}"))
                            .unwrap_or_default()
                    ),
                ),
                CheckOutcome::Error { reason } => ("✗", format!("could not check: {reason}")),
            };
            CheckRow {
                capability: c.capability.clone(),
                name: c.name.clone(),
                required: c.required,
                ok: c.passed(),
                mark,
                detail,
            }
        })
        .collect();
    ReportView {
        principal: r.principal.clone().unwrap_or_else(|| "unknown".into()),
        roles: if r.roles.is_empty() {
            "none readable".into()
        } else {
            r.roles.join(", ")
        },
        fatal: r.fatal.clone(),
        warnings: r.warnings.clone(),
        checks,
        required_ok: r.required_ok(),
    }
}

#[derive(Template)]
#[template(path = "connect.html")]
struct ConnectPage {
    layout: Layout,
    values: ConnectValues,
    allow_insecure_option: bool,
    /// Field errors: (field, message).
    errors: Vec<(String, String)>,
    report: Option<ReportView>,
    message: Option<String>,
}

impl ConnectPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }
}

#[derive(Template)]
#[template(path = "test_results.html")]
struct TestFragment {
    errors: Vec<(String, String)>,
    report: Option<ReportView>,
    message: Option<String>,
}

#[derive(Deserialize)]
struct KindQuery {
    kind: Option<String>,
}

fn supported_kind(kind: &str) -> Result<IntegrationKind, UiError> {
    IntegrationKind::parse(kind).ok_or_else(|| {
        UiError::bad_request(format!(
            "kind: {kind:?} is not a system Steward connects; use okta or onetrust"
        ))
    })
}

async fn new_form(
    State(state): State<AppState>,
    UiUser(authed): UiUser,
    Query(q): Query<KindQuery>,
) -> Result<Response, UiError> {
    if !authed.is_admin() {
        return Err(UiError::forbidden());
    }
    let kind = q.kind.unwrap_or_else(|| "okta".into());
    let kind = supported_kind(&kind)?.as_str().to_string();
    let values = ConnectValues {
        kind,
        auth_method: "api_key".into(),
        ..ConnectValues::default()
    };
    render(&ConnectPage {
        layout: Layout::new(
            &authed,
            format!("Connect {}", values.kind_label()),
            "integrations",
        ),
        values,
        allow_insecure_option: state.config.allow_insecure_loopback,
        errors: Vec::new(),
        report: None,
        message: None,
    })
}

/// Read and check the connect form; field errors name the field.
/// What was typed, the request when it is valid, and the field errors.
type ReadConnect = (
    ConnectValues,
    Option<(AddIntegration, SecretString)>,
    Vec<(String, String)>,
);

fn read_connect(state: &AppState, form: &UiForm) -> ReadConnect {
    let values = ConnectValues {
        kind: form.get("kind").unwrap_or("okta").to_string(),
        name: form.text("name").trim().to_string(),
        domain: form.text("domain").trim().to_string(),
        allow_insecure: form.checked("allow_insecure_loopback"),
        auth_method: form.get("auth_method").unwrap_or("api_key").to_string(),
        client_id: form.text("client_id").trim().to_string(),
    };
    let token = form.text("token");
    let mut errors = Vec::new();
    let kind = match supported_kind(&values.kind) {
        Ok(k) => Some(k),
        Err(_) => {
            errors.push((
                "kind".into(),
                format!(
                    "{:?} is not a system Steward connects; choose Okta or OneTrust",
                    values.kind
                ),
            ));
            None
        }
    };
    if let Err(e) = integrations::validate_name(&values.name) {
        errors.push((
            "name".into(),
            e.to_string().trim_start_matches("--name: ").to_string(),
        ));
    }
    if values.domain.is_empty() {
        errors.push((
            "domain".into(),
            format!(
                "the domain is empty; enter your {} domain, e.g. {}",
                values.kind_label(),
                values.domain_placeholder()
            ),
        ));
    }
    let client_credentials = values.is_onetrust() && values.auth_method == "client_credentials";
    if !matches!(
        values.auth_method.as_str(),
        "api_key" | "client_credentials"
    ) || (!values.is_onetrust() && client_credentials)
    {
        errors.push((
            "auth_method".into(),
            format!(
                "{:?} is not an authentication method here; use API Key",
                values.auth_method
            ),
        ));
    }
    if token.trim().is_empty() {
        let what = if client_credentials {
            "client secret"
        } else {
            "API token"
        };
        errors.push((
            "token".into(),
            format!(
                "the {what} is empty; paste the one {} showed when you created it",
                values.kind_label()
            ),
        ));
    }
    // OneTrust OAuth: the id and secret are sealed together as one credential.
    let token = if client_credentials && errors.is_empty() {
        match integrations::onetrust_client_credentials(
            &values.client_id,
            &SecretString::from(token),
        ) {
            Ok(sealed) => Some(sealed),
            Err(e) => {
                let api = ApiError::from(e);
                errors.push((
                    api.field.clone().unwrap_or_else(|| "client_id".into()),
                    api.message,
                ));
                None
            }
        }
    } else {
        Some(SecretString::from(token))
    };
    if values.allow_insecure && !state.config.allow_insecure_loopback {
        errors.push((
            "allow_insecure_loopback".into(),
            "this server does not allow http:// integrations; use the https domain of the org"
                .into(),
        ));
    }
    let request = kind
        .zip(token)
        .filter(|_| errors.is_empty())
        .map(|(kind, token)| {
            (
                AddIntegration {
                    name: values.name.clone(),
                    kind,
                    domain: values.domain.clone(),
                    options: DomainOptions {
                        custom_domain: false,
                        allow_insecure_loopback: values.allow_insecure,
                    },
                },
                token,
            )
        });
    (values, request, errors)
}

/// Map a product error to a form field error, or a message.
fn field_error(e: IntegrationError) -> Result<(String, String), UiError> {
    let api = ApiError::from(e);
    if api.status.is_server_error() && api.code != "connector" {
        return Err(api.into());
    }
    Ok((api.field.clone().unwrap_or_default(), api.message))
}

/// Test connection (htmx): the ✓/✗ table inline, or the field errors.
async fn test_new(State(state): State<AppState>, form: UiForm) -> Result<Response, UiError> {
    form.admin()?;
    let (_, request, mut errors) = read_connect(&state, &form);
    let mut report = None;
    let mut message = None;
    if let Some((request, token)) = request {
        match integrations::test_candidate(&request, &token).await {
            Ok(r) => report = Some(report_view(&r)),
            Err(e) => match field_error(e)? {
                (f, m) if f.is_empty() => message = Some(m),
                fm => errors.push(fm),
            },
        }
    }
    render(&TestFragment {
        errors,
        report,
        message,
    })
}

/// Save: test first; only a passing test (every required permission) is saved.
async fn save(State(state): State<AppState>, form: UiForm) -> Result<Response, UiError> {
    form.admin()?;
    let (values, request, mut errors) = read_connect(&state, &form);
    let mut report = None;
    let mut message = None;
    if let Some((request, token)) = request {
        if state
            .store
            .integration_by_name(&request.name)
            .await?
            .is_some()
        {
            errors.push((
                "name".into(),
                format!(
                    "an integration named {:?} exists; choose another name",
                    request.name
                ),
            ));
        } else {
            match integrations::test_candidate(&request, &token).await {
                Ok(r) if r.required_ok() => {
                    match integrations::add(&state.store, &request, &token, state.clock.as_ref())
                        .await
                    {
                        Ok(created) => {
                            state
                                .store
                                .record_connection_test(created.id, &r, state.clock.now())
                                .await?;
                            return Ok(Redirect::to(&format!(
                                "/integrations/{}",
                                super::enc(&created.name)
                            ))
                            .into_response());
                        }
                        Err(e) => errors.push(field_error(e)?),
                    }
                }
                Ok(r) => {
                    message = Some("Not saved: the connection test failed a required check. Fix the token's permissions and test again.".to_string());
                    report = Some(report_view(&r));
                }
                Err(e) => match field_error(e)? {
                    (f, m) if f.is_empty() => message = Some(m),
                    fm => errors.push(fm),
                },
            }
        }
    }
    let page = ConnectPage {
        layout: Layout::new(
            &form.authed,
            format!("Connect {}", values.kind_label()),
            "integrations",
        ),
        values,
        allow_insecure_option: state.config.allow_insecure_loopback,
        errors,
        report,
        message,
    };
    render_status(StatusCode::BAD_REQUEST, &page)
}

// ---------------------------------------------------------------- integration page

struct CapabilityRow {
    id: String,
    name: String,
    required: bool,
    needs: String,
    readable: Option<bool>,
    detail: String,
}

struct RunRow {
    id: i64,
    status: String,
    started: String,
    duration: String,
    counts: String,
    error: String,
}

#[derive(Template)]
#[template(path = "integration.html")]
struct IntegrationPage {
    layout: Layout,
    name: String,
    kind: String,
    domain: String,
    status: Status,
    last_test_at: String,
    report: Option<ReportView>,
    capabilities: Vec<CapabilityRow>,
    runs: Vec<RunRow>,
    next_due: String,
    frequencies: Vec<(&'static str, &'static str, bool)>,
    job: Option<ProgressView>,
}

const FREQUENCIES: [(&str, &str); 5] = [
    ("manual", "Off (manual only)"),
    ("hourly", "Hourly"),
    ("6h", "Every 6 hours"),
    ("daily", "Daily"),
    ("weekly", "Weekly"),
];

async fn page(
    State(state): State<AppState>,
    UiUser(authed): UiUser,
    Path(name): Path<String>,
) -> Result<Response, UiError> {
    let i = integrations::by_name(&state.store, &name).await?;
    let report = last_report(&i);
    let capabilities = match integrations::connector(&state.store, &i).await {
        Ok(c) => c
            .capabilities()
            .iter()
            .map(|cap| {
                let check = report
                    .as_ref()
                    .and_then(|r| r.checks.iter().find(|c| c.capability == cap.id));
                let (readable, detail) = match (check, &report) {
                    (Some(c), _) => {
                        let detail = match &c.outcome {
                            CheckOutcome::Ok => "readable".to_string(),
                            CheckOutcome::Fallback { reason } => {
                                format!("readable (fallback: {reason})")
                            }
                            CheckOutcome::Denied { reason, fix, .. } => {
                                format!("{reason}. Fix: {fix}")
                            }
                            CheckOutcome::Error { reason } => format!("could not check: {reason}"),
                        };
                        (Some(c.passed()), detail)
                    }
                    (None, Some(r)) if r.fatal.is_some() => {
                        (Some(false), r.fatal.clone().unwrap_or_default())
                    }
                    _ => (None, "not tested yet".to_string()),
                };
                CapabilityRow {
                    id: cap.id.to_string(),
                    name: cap.name.to_string(),
                    required: cap.required,
                    needs: cap.needs.to_string(),
                    readable,
                    detail,
                }
            })
            .collect(),
        Err(e) => {
            tracing::warn!(error = %e, "No connector for the integration page.");
            Vec::new()
        }
    };
    let runs = state
        .store
        .runs(i.id, 20)
        .await?
        .into_iter()
        .map(|r| RunRow {
            id: r.id,
            status: r.status.clone(),
            started: when(&r.started_at),
            duration: r
                .duration_ms
                .map(|ms| format!("{:.1} s", ms as f64 / 1000.0))
                .unwrap_or_else(|| "—".into()),
            counts: counts_text(&r.counts),
            error: r.error.clone().unwrap_or_default(),
        })
        .collect();
    let schedule = state.store.schedule(i.id).await?;
    let frequency = schedule
        .as_ref()
        .filter(|s| s.enabled)
        .map(|s| match s.frequency {
            Frequency::EveryMinutes(360) => "6h".to_string(),
            f => f.as_string(),
        })
        .unwrap_or_else(|| "manual".into());
    let next_due = when_opt(
        schedule
            .as_ref()
            .filter(|s| s.enabled)
            .and_then(|s| s.next_due_at.as_ref()),
    );
    let job = state
        .jobs
        .latest_for(&i.name)
        .map(|j| progress_view(&i.name, &j));
    let frequencies = FREQUENCIES
        .iter()
        .map(|(v, l)| (*v, *l, *v == frequency))
        .collect();
    render(&IntegrationPage {
        layout: Layout::new(&authed, i.name.clone(), "integrations"),
        name: i.name.clone(),
        kind: i.kind.as_str().to_string(),
        domain: i.base_url.clone(),
        status: status(&i),
        last_test_at: when_opt(i.last_test_at.as_ref()),
        report: report.as_ref().map(report_view),
        capabilities,
        runs,
        next_due,
        frequencies,
        job,
    })
}

async fn retest(
    State(state): State<AppState>,
    Path(name): Path<String>,
    form: UiForm,
) -> Result<Response, UiError> {
    form.admin()?;
    let i = integrations::by_name(&state.store, &name).await?;
    integrations::test(&state.store, &i, state.clock.as_ref()).await?;
    Ok(Redirect::to(&format!("/integrations/{}", super::enc(&name))).into_response())
}

async fn schedule(
    State(state): State<AppState>,
    Path(name): Path<String>,
    form: UiForm,
) -> Result<Response, UiError> {
    form.admin()?;
    let i = integrations::by_name(&state.store, &name).await?;
    let value = form.text("frequency");
    if !FREQUENCIES.iter().any(|(v, _)| *v == value) {
        return Err(UiError::bad_request(format!(
            "frequency: {value:?} is not one of off, hourly, every 6 hours, daily, weekly"
        )));
    }
    let frequency =
        Frequency::parse(&value).map_err(|e| UiError::bad_request(format!("frequency: {e}")))?;
    state
        .store
        .set_schedule(i.id, frequency, true, state.clock.now())
        .await?;
    Ok(Redirect::to(&format!("/integrations/{}", super::enc(&name))).into_response())
}

async fn replace_token(
    State(state): State<AppState>,
    Path(name): Path<String>,
    form: UiForm,
) -> Result<Response, UiError> {
    form.admin()?;
    let token = form.text("token");
    if token.trim().is_empty() {
        return Err(UiError::bad_request(
            "token: the token is empty; paste the new API token",
        ));
    }
    let i = integrations::by_name(&state.store, &name).await?;
    state
        .store
        .replace_credential(i.id, &SecretString::from(token), state.clock.now())
        .await?;
    // A new token deserves a new test: its permissions may differ.
    integrations::test(&state.store, &i, state.clock.as_ref()).await?;
    Ok(Redirect::to(&format!("/integrations/{}", super::enc(&name))).into_response())
}

async fn remove(
    State(state): State<AppState>,
    Path(name): Path<String>,
    form: UiForm,
) -> Result<Response, UiError> {
    form.admin()?;
    let i = integrations::by_name(&state.store, &name).await?;
    if form.text("confirm").trim() != i.name {
        return Err(UiError::bad_request(format!(
            "confirm: type the integration's name ({}) to confirm removing it and all its data",
            i.name
        )));
    }
    state.store.remove_integration(i.id).await?;
    Ok(Redirect::to("/integrations").into_response())
}

// ---------------------------------------------------------------- sync now + progress

pub struct ResourceRow {
    name: String,
    fetched: u64,
    status: String,
    reason: String,
}

pub struct ProgressView {
    integration: String,
    id: i64,
    state: String,
    records: u64,
    error: String,
    resources: Vec<ResourceRow>,
    started: String,
    finished: String,
}

fn progress_view(integration: &str, j: &SyncJob) -> ProgressView {
    ProgressView {
        integration: super::enc(integration),
        id: j.id,
        state: j.status.clone(),
        records: j.records,
        error: j.error.clone().unwrap_or_default(),
        resources: j
            .resources
            .iter()
            .map(|(k, r)| ResourceRow {
                name: k.clone(),
                fetched: r.count.unwrap_or(r.fetched),
                status: r.status.replace('_', " "),
                reason: r.reason.clone().unwrap_or_default(),
            })
            .collect(),
        started: when(&j.started_at),
        finished: when_opt(j.finished_at.as_ref()),
    }
}

#[derive(Template)]
#[template(path = "sync_progress.html")]
struct ProgressFragment {
    job: ProgressView,
}

async fn sync_now(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: axum::http::HeaderMap,
    form: UiForm,
) -> Result<Response, UiError> {
    form.admin()?;
    let job = match launch_sync(&state, &name).await {
        Ok(job) => job,
        // Already running here: show that sync's progress instead of an error htmx would
        // not display.
        Err(e) if e.status == StatusCode::CONFLICT => match state.jobs.latest_for(&name) {
            Some(job) => job,
            None => return Err(e.into()),
        },
        Err(e) => return Err(e.into()),
    };
    let fragment = ProgressFragment {
        job: progress_view(&name, &job),
    };
    // Without JavaScript the form posts normally: go back to the page, which shows the job.
    if !headers.contains_key("hx-request") {
        return Ok(Redirect::to(&format!("/integrations/{}", super::enc(&name))).into_response());
    }
    render(&fragment)
}

async fn progress(
    State(state): State<AppState>,
    UiUser(_): UiUser,
    Path((name, job)): Path<(String, String)>,
) -> Result<Response, UiError> {
    let id: i64 = job
        .parse()
        .map_err(|_| UiError::bad_request(format!("job: {job:?} is not a sync job id")))?;
    let job = state
        .jobs
        .get(id)
        .filter(|j| j.integration == name)
        .ok_or_else(|| {
            UiError::not_found(format!("no sync job {id} of {name:?} on this server"))
        })?;
    render(&ProgressFragment {
        job: progress_view(&name, &job),
    })
}
