//! The Okta sync: every resource read concurrently (each rate bucket paced by the governor),
//! streamed to the consumer as `Batch` events per page and one `Done` per resource.
//!
//! A resource the token may not read (403, 404, disabled feature) becomes `Unreadable`; a
//! rejected token or a request that keeps failing stops the whole sync (the orchestrator then
//! keeps the previous snapshot).

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use futures::StreamExt;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;
use serde_json::value::RawValue;
use steward_model::{PrincipalKind, Record, Resource, Setting};
use tokio::sync::{mpsc, watch};
use url::Url;

use super::client::OktaClient;
use super::wire;
use crate::{ConnectorError, SyncEvent, SyncOptions, SyncReport};

/// Records per `Batch` event for resources fetched per parent (factors, roles, ...).
const FLUSH_AT: usize = 500;
/// Policy types read (API-NOTES §5).
const POLICY_TYPES: [&str; 4] = ["OKTA_SIGN_ON", "MFA_ENROLL", "ACCESS_POLICY", "PASSWORD"];

fn enc(s: &str) -> String {
    utf8_percent_encode(s, NON_ALPHANUMERIC).to_string()
}

/// Statuses whose users can hold factors and admin roles (they have signed in).
fn enrolled(status: &str) -> bool {
    !matches!(status, "STAGED" | "PROVISIONED" | "DEPROVISIONED")
}

#[derive(Clone)]
struct Emitter {
    out: mpsc::Sender<SyncEvent>,
    /// Resources that already sent `Done` (a later failure must not mark them unreadable).
    finished: Arc<std::sync::Mutex<HashSet<Resource>>>,
}

impl Emitter {
    async fn send(&self, ev: SyncEvent) -> Result<(), ConnectorError> {
        self.out
            .send(ev)
            .await
            .map_err(|_| ConnectorError::ConsumerGone)
    }
}

/// Accumulates one resource's records into batches and counts them.
struct Sink {
    em: Emitter,
    resource: Resource,
    buf: Vec<Record>,
    count: u64,
}

impl Sink {
    fn new(em: &Emitter, resource: Resource) -> Self {
        Sink {
            em: em.clone(),
            resource,
            buf: Vec::new(),
            count: 0,
        }
    }
    async fn push(&mut self, r: Record) -> Result<(), ConnectorError> {
        self.buf.push(r);
        if self.buf.len() >= FLUSH_AT {
            self.flush().await?;
        }
        Ok(())
    }
    async fn extend(&mut self, rs: impl IntoIterator<Item = Record>) -> Result<(), ConnectorError> {
        for r in rs {
            self.push(r).await?;
        }
        Ok(())
    }
    async fn flush(&mut self) -> Result<(), ConnectorError> {
        if !self.buf.is_empty() {
            let records = std::mem::take(&mut self.buf);
            self.count += records.len() as u64;
            self.em
                .send(SyncEvent::Batch {
                    resource: self.resource,
                    records,
                })
                .await?;
        }
        Ok(())
    }
    /// A page ends: send what we have (one Batch per page for paged lists).
    async fn page_end(&mut self) -> Result<(), ConnectorError> {
        self.flush().await
    }
    async fn done(mut self) -> Result<u64, ConnectorError> {
        self.flush().await?;
        if let Ok(mut f) = self.em.finished.lock() {
            f.insert(self.resource);
        }
        tracing::debug!(resource = %self.resource, count = self.count, "Resource read.");
        self.em
            .send(SyncEvent::Done {
                resource: self.resource,
                count: self.count,
            })
            .await?;
        Ok(self.count)
    }
}

/// Errors that make one resource unreadable instead of failing the sync.
fn unreadable_reason(e: &ConnectorError) -> Option<String> {
    match e {
        ConnectorError::MissingPermission { .. } | ConnectorError::NotFound { .. } => {
            Some(e.to_string())
        }
        _ => None,
    }
}

/// Run one resource's work; turn permission problems into `Unreadable`.
async fn guarded<F>(em: &Emitter, resources: &[Resource], fut: F) -> Result<(), ConnectorError>
where
    F: Future<Output = Result<(), ConnectorError>>,
{
    match fut.await {
        Ok(()) => Ok(()),
        Err(e) => match unreadable_reason(&e) {
            Some(reason) => {
                tracing::info!(%reason, "Resource not readable with this token; the sync goes on.");
                for r in resources {
                    if em.finished.lock().map(|f| f.contains(r)).unwrap_or(false) {
                        continue;
                    }
                    em.send(SyncEvent::Unreadable {
                        resource: *r,
                        reason: reason.clone(),
                    })
                    .await?;
                }
                Ok(())
            }
            None => Err(e),
        },
    }
}

fn items(body: Value) -> Vec<Value> {
    match body {
        Value::Array(v) => v,
        _ => Vec::new(),
    }
}

/// Every item of a paged list (for per-parent sub-resources), each mapped by `f` from its
/// JSON text as its page arrives: the source objects of one page are dropped before the next
/// is read (the Everyone group's member list is every user's full profile).
async fn fetch_all<T>(
    client: &OktaClient,
    path: &str,
    mut f: impl FnMut(&RawValue) -> Option<T>,
) -> Result<Vec<T>, ConnectorError> {
    let mut out = Vec::new();
    let mut next = Some(client.url(path)?);
    while let Some(u) = next.take() {
        let (mapped, after) = client.get_items(u, &mut f).await?;
        out.extend(mapped);
        next = after;
    }
    Ok(out)
}

/// Every item of a paged list, mapped by `f` and sent through `part` one page at a time;
/// returns the part's resource and how many records it sent. The resource's `Done` (with the
/// sum over its parts) is the caller's.
async fn stream_all(
    client: &OktaClient,
    path: &str,
    mut part: Sink,
    mut f: impl FnMut(&RawValue) -> Option<Record>,
) -> Result<(Resource, u64), ConnectorError> {
    let mut next = Some(client.url(path)?);
    while let Some(u) = next.take() {
        let (mapped, after) = client.get_items(u, &mut f).await?;
        part.buf.extend(mapped);
        part.page_end().await?;
        next = after;
    }
    Ok((part.resource, part.count))
}

/// A spawned resource task, aborted when dropped (an early error drops the others).
struct Work(tokio::task::JoinHandle<Result<(), ConnectorError>>);

impl Drop for Work {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Future for Work {
    type Output = Result<(), ConnectorError>;
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        std::pin::Pin::new(&mut self.0)
            .poll(cx)
            .map(|joined| match joined {
                Ok(done) => done,
                Err(e) => Err(ConnectorError::Http(format!("a sync task stopped: {e}"))),
            })
    }
}

fn spawn_work(fut: impl Future<Output = Result<(), ConnectorError>> + Send + 'static) -> Work {
    Work(tokio::spawn(fut))
}

pub struct SyncRun {
    pub client: Arc<OktaClient>,
    pub options: SyncOptions,
}

type UserList = Arc<Vec<(String, String)>>;
type GroupList = Arc<Vec<String>>;

impl SyncRun {
    pub async fn run(self, out: mpsc::Sender<SyncEvent>) -> Result<SyncReport, ConnectorError> {
        let em = Emitter {
            out,
            finished: Arc::default(),
        };
        let mut notes = Vec::new();
        // First: the warning threshold every bucket is paced under.
        let c = &self.client;
        let threshold = match c.get("/api/v1/rate-limit-settings/warning-threshold").await {
            Ok(p) => match p.body.get("warningThreshold").and_then(Value::as_u64) {
                Some(t) => Some((t.clamp(1, 100) as u8, p.body)),
                None => None,
            },
            Err(e @ ConnectorError::TokenRejected { .. }) => return Err(e),
            Err(e) => {
                notes.push(format!(
                    "warning threshold unreadable ({e}); pacing under 90%"
                ));
                None
            }
        };
        match &threshold {
            Some((t, _)) => c.governor.set_threshold(*t),
            None => {
                if notes.is_empty() {
                    notes
                        .push("warning threshold missing from the answer; pacing under 90%".into());
                }
                c.governor.set_threshold(90);
            }
        }
        let (users_tx, users_rx) = watch::channel::<Option<UserList>>(None);
        let (groups_tx, groups_rx) = watch::channel::<Option<GroupList>>(None);
        // Each resource on its own task: parsing pages and mapping records then spreads over
        // the runtime's threads (in one joined future it all ran on one thread).
        let this = Arc::new(self);
        let thr = threshold.map(|(t, _)| t);
        // Factors start while the user list is still paging: ids stream over a channel.
        let (ids_tx, ids_rx) = mpsc::unbounded_channel::<String>();
        let tasks = [
            spawn_work({
                let (t, em) = (Arc::clone(&this), em.clone());
                async move { t.settings(&em, thr).await }
            }),
            spawn_work({
                let (t, em) = (Arc::clone(&this), em.clone());
                async move { t.users(&em, users_tx, ids_tx).await }
            }),
            spawn_work({
                let (t, em) = (Arc::clone(&this), em.clone());
                async move { t.groups(&em, groups_tx).await }
            }),
            spawn_work({
                let (t, em) = (Arc::clone(&this), em.clone());
                async move { t.apps(&em).await }
            }),
            spawn_work({
                let (t, em, users_rx) = (Arc::clone(&this), em.clone(), users_rx.clone());
                async move { t.roles(&em, users_rx, groups_rx).await }
            }),
            spawn_work({
                let (t, em) = (Arc::clone(&this), em.clone());
                async move { t.factors(&em, users_rx, ids_rx).await }
            }),
            spawn_work({
                let (t, em) = (Arc::clone(&this), em.clone());
                async move { t.policies(&em).await }
            }),
            spawn_work({
                let (t, em) = (Arc::clone(&this), em.clone());
                async move { t.logs(&em).await }
            }),
        ];
        drop(em);
        // The first error stops the run; dropping the other handles aborts their tasks.
        futures::future::try_join_all(tasks).await?;
        let c = &this.client;
        let g = &c.governor;
        use std::sync::atomic::Ordering::Relaxed;
        Ok(SyncReport {
            requests: g.requests.load(Relaxed),
            retries: g.retries.load(Relaxed),
            rate_limited: g.rate_limited.load(Relaxed),
            warning_threshold: Some(g.threshold()),
            buckets: g.bucket_reports(),
            notes,
        })
    }

    fn width(&self) -> usize {
        self.options.max_in_flight.max(1)
    }

    async fn settings(&self, em: &Emitter, threshold: Option<u8>) -> Result<(), ConnectorError> {
        let c = &self.client;
        guarded(em, &[Resource::Settings], async {
            let Some(t) = threshold else {
                return Err(ConnectorError::MissingPermission {
                    endpoint: "/api/v1/rate-limit-settings/warning-threshold".into(),
                    status: 403,
                    code: String::new(),
                    fix: "grant the token's admin READ_ONLY_ADMIN".into(),
                });
            };
            let n = c
                .get("/api/v1/rate-limit-settings/admin-notifications")
                .await?;
            let mut sink = Sink::new(em, Resource::Settings);
            sink.push(Record::Setting(Setting {
                key: "warningThreshold".into(),
                value: Value::from(t),
            }))
            .await?;
            let v = n
                .body
                .get("notificationsEnabled")
                .cloned()
                .unwrap_or(Value::Null);
            sink.push(Record::Setting(Setting {
                key: "notificationsEnabled".into(),
                value: v,
            }))
            .await?;
            sink.done().await.map(|_| ())
        })
        .await
    }

    async fn users(
        &self,
        em: &Emitter,
        tx: watch::Sender<Option<UserList>>,
        ids_tx: mpsc::UnboundedSender<String>,
    ) -> Result<(), ConnectorError> {
        let c = &self.client;
        guarded(em, &[Resource::Users], async {
            let mut sink = Sink::new(em, Resource::Users);
            let mut seen: HashSet<String> = HashSet::new();
            let mut list: Vec<(String, String)> = Vec::new();
            // The plain list omits DEPROVISIONED users; a filter query adds them.
            let firsts = [
                "/api/v1/users?limit=200".to_string(),
                format!(
                    "/api/v1/users?limit=200&filter={}",
                    enc("status eq \"DEPROVISIONED\"")
                ),
            ];
            for first in firsts {
                let mut next = Some(c.url(&first)?);
                while let Some(u) = next.take() {
                    let (accounts, after) = c.get_items(u, wire::account_raw).await?;
                    for a in accounts {
                        if seen.insert(a.id.clone()) {
                            if enrolled(&a.status) {
                                let _ = ids_tx.send(a.id.clone());
                            }
                            list.push((a.id.clone(), a.status.clone()));
                            sink.push(Record::Account(a)).await?;
                        }
                    }
                    sink.page_end().await?;
                    next = after;
                }
            }
            sink.done().await?;
            let _ = tx.send(Some(Arc::new(list)));
            Ok(())
        })
        .await
    }

    async fn groups(
        &self,
        em: &Emitter,
        tx: watch::Sender<Option<GroupList>>,
    ) -> Result<(), ConnectorError> {
        let c = &self.client;
        guarded(em, &[Resource::Groups, Resource::Memberships], async {
            let mut sink = Sink::new(em, Resource::Groups);
            let mut ids = Vec::new();
            let mut next = Some(c.url("/api/v1/groups?limit=200")?);
            while let Some(u) = next.take() {
                let (groups, after) = c.get_items(u, wire::group_raw).await?;
                for g in groups {
                    ids.push(g.id.clone());
                    sink.push(Record::Group(g)).await?;
                }
                sink.page_end().await?;
                next = after;
            }
            sink.done().await?;
            let ids = Arc::new(ids);
            let _ = tx.send(Some(ids.clone()));
            let mut members = Sink::new(em, Resource::Memberships);
            let mut stream = futures::stream::iter(ids.iter().cloned())
                .map({
                    let c = Arc::clone(c);
                    move |gid| {
                        let c = Arc::clone(&c);
                        async move {
                            let url = format!("/api/v1/groups/{gid}/users?limit=1000");
                            fetch_all(&c, &url, |u| wire::membership_raw(&gid, u)).await
                        }
                    }
                })
                .buffer_unordered(self.width());
            while let Some(r) = stream.next().await {
                members
                    .extend(r?.into_iter().map(Record::Membership))
                    .await?;
            }
            members.done().await.map(|_| ())
        })
        .await
    }

    async fn apps(&self, em: &Emitter) -> Result<(), ConnectorError> {
        let c = &self.client;
        guarded(
            em,
            &[Resource::Apps, Resource::AppUsers, Resource::AppGroups],
            async {
                let mut sink = Sink::new(em, Resource::Apps);
                let mut ids = Vec::new();
                let mut next = Some(c.url("/api/v1/apps?limit=200")?);
                while let Some(u) = next.take() {
                    let (apps, after) = c.get_items(u, wire::app_raw).await?;
                    for a in apps {
                        ids.push(a.id.clone());
                        sink.push(Record::App(a)).await?;
                    }
                    sink.page_end().await?;
                    next = after;
                }
                sink.done().await?;
                // App users and app groups of every app, all in flight together (one bucket). Each
                // page goes to the consumer as it arrives: an app assigned to everyone is tens of
                // thousands of app users, and holding one app's list until its last page was the
                // sync's peak memory.
                let jobs: Vec<(String, bool)> = ids
                    .iter()
                    .flat_map(|id| [(id.clone(), true), (id.clone(), false)])
                    .collect();
                let mut stream = futures::stream::iter(jobs)
                    .map({
                        let c = Arc::clone(c);
                        let em = em.clone();
                        move |(id, users)| {
                            let c = Arc::clone(&c);
                            let em = em.clone();
                            async move {
                                if users {
                                    let url = format!("/api/v1/apps/{id}/users?limit=500");
                                    let part = Sink::new(&em, Resource::AppUsers);
                                    stream_all(&c, &url, part, |u| {
                                        wire::app_user_raw(&id, u).map(Record::AppUser)
                                    })
                                    .await
                                } else {
                                    let url = format!("/api/v1/apps/{id}/groups?limit=200");
                                    let part = Sink::new(&em, Resource::AppGroups);
                                    stream_all(&c, &url, part, |g| {
                                        wire::app_group_raw(&id, g).map(Record::AppGroup)
                                    })
                                    .await
                                }
                            }
                        }
                    })
                    .buffer_unordered(self.width());
                let mut au = Sink::new(em, Resource::AppUsers);
                let mut ag = Sink::new(em, Resource::AppGroups);
                while let Some(r) = stream.next().await {
                    let (resource, count) = r?;
                    match resource {
                        Resource::AppUsers => au.count += count,
                        _ => ag.count += count,
                    }
                }
                au.done().await?;
                ag.done().await.map(|_| ())
            },
        )
        .await
    }

    async fn factors(
        &self,
        em: &Emitter,
        users_rx: watch::Receiver<Option<UserList>>,
        ids_rx: mpsc::UnboundedReceiver<String>,
    ) -> Result<(), ConnectorError> {
        let c = &self.client;
        guarded(em, &[Resource::Factors], async {
            let mut sink = Sink::new(em, Resource::Factors);
            // Only users who have signed in can hold factors (the others answer `[]`).
            let ids = futures::stream::unfold(ids_rx, |mut rx| async move { rx.recv().await.map(|id| (id, rx)) });
            let mut stream = ids
                .map({
                    let c = Arc::clone(c);
                    move |uid: String| {
                        let c = Arc::clone(&c);
                        async move {
                            let url = c.url(&format!("/api/v1/users/{uid}/factors"))?;
                            let (factors, _) = c.get_items(url, |f| wire::factor_raw(&uid, f)).await?;
                            Ok::<_, ConnectorError>(factors)
                        }
                    }
                })
                .buffer_unordered(self.width())
                .boxed();
            while let Some(r) = stream.next().await {
                sink.extend(r?.into_iter().map(Record::Factor)).await?;
            }
            // The id stream ends when the user task ends: only a complete list makes a Done.
            if users_rx.borrow().is_none() {
                return Err(ConnectorError::MissingPermission {
                    endpoint: "/api/v1/users".into(),
                    status: 403,
                    code: String::new(),
                    fix: "factors are read per user: the user list must be readable (grant READ_ONLY_ADMIN)".into(),
                });
            }
            sink.done().await.map(|_| ())
        })
        .await
    }

    async fn roles(
        &self,
        em: &Emitter,
        mut users_rx: watch::Receiver<Option<UserList>>,
        mut groups_rx: watch::Receiver<Option<GroupList>>,
    ) -> Result<(), ConnectorError> {
        let c = &self.client;
        guarded(em, &[Resource::RoleAssignments], async {
            // Bulk list of role holders (pages through `_links.next` in the body).
            let mut holders: Vec<String> = Vec::new();
            let mut legacy = false;
            let mut next = Some(c.url("/api/v1/iam/assignees/users?limit=100")?);
            while let Some(u) = next.take() {
                match c.get_url(u).await {
                    Ok(p) => {
                        if let Some(vals) = p.body.get("value").and_then(Value::as_array) {
                            holders.extend(vals.iter().filter_map(|v| v.get("id").and_then(Value::as_str).map(str::to_string)));
                        }
                        next = match p.body.pointer("/_links/next/href").and_then(Value::as_str) {
                            Some(href) => Some(c.checked_next("/api/v1/iam/assignees/users", href)?),
                            None => None,
                        };
                    }
                    Err(ConnectorError::NotFound { .. }) => {
                        legacy = true;
                    }
                    Err(e) => return Err(e),
                }
            }
            let scan_all_groups;
            if legacy {
                // Older org: every user that may hold roles, and every group.
                let got = users_rx.wait_for(Option::is_some).await.map(|v| v.clone());
                let users = match got {
                    Ok(v) => v.unwrap_or_default(),
                    Err(_) => {
                        return Err(ConnectorError::MissingPermission {
                            endpoint: "/api/v1/users".into(),
                            status: 403,
                            code: String::new(),
                            fix: "the per-user role fallback needs the user list; grant READ_ONLY_ADMIN".into(),
                        });
                    }
                };
                holders = users.iter().filter(|(_, s)| s != "DEPROVISIONED").map(|(id, _)| id.clone()).collect();
                scan_all_groups = true;
            } else {
                scan_all_groups = false;
            }
            let mut sink = Sink::new(em, Resource::RoleAssignments);
            let mut role_groups: BTreeSet<String> = BTreeSet::new();
            let mut need_scan = scan_all_groups;
            let mut stream = futures::stream::iter(holders)
                .map({
                    let c = Arc::clone(c);
                    move |uid| {
                        let c = Arc::clone(&c);
                        async move {
                    let p = c.get(&format!("/api/v1/users/{uid}/roles")).await?;
                    Ok::<_, ConnectorError>((uid, items(p.body)))
                }}})
                .buffer_unordered(self.width());
            while let Some(r) = stream.next().await {
                let (uid, roles) = r?;
                for v in roles {
                    let assignment = v.get("assignmentType").and_then(Value::as_str).unwrap_or("USER");
                    if assignment == "GROUP" {
                        // Recorded once, on the group (read below).
                        match wire::role_group(&v) {
                            Some(g) => {
                                role_groups.insert(g);
                            }
                            None => need_scan = true,
                        }
                    } else if let Some(ra) = wire::role(PrincipalKind::Account, &uid, &v) {
                        sink.push(Record::RoleAssignment(ra)).await?;
                    }
                }
            }
            drop(stream);
            let groups: Vec<String> = if need_scan {
                let got = groups_rx.wait_for(Option::is_some).await.map(|v| v.clone());
                match got {
                    Ok(v) => v.map(|g| g.as_ref().clone()).unwrap_or_default(),
                    Err(_) => {
                        return Err(ConnectorError::MissingPermission {
                            endpoint: "/api/v1/groups".into(),
                            status: 403,
                            code: String::new(),
                            fix: "group roles need the group list; grant READ_ONLY_ADMIN".into(),
                        });
                    }
                }
            } else {
                role_groups.into_iter().collect()
            };
            let mut stream = futures::stream::iter(groups)
                .map({
                    let c = Arc::clone(c);
                    move |gid| {
                        let c = Arc::clone(&c);
                        async move {
                    let p = c.get(&format!("/api/v1/groups/{gid}/roles")).await?;
                    Ok::<_, ConnectorError>((gid, items(p.body)))
                }}})
                .buffer_unordered(self.width());
            while let Some(r) = stream.next().await {
                let (gid, roles) = r?;
                for v in roles {
                    if let Some(ra) = wire::role(PrincipalKind::Group, &gid, &v) {
                        sink.push(Record::RoleAssignment(ra)).await?;
                    }
                }
            }
            sink.done().await.map(|_| ())
        })
        .await
    }

    async fn policies(&self, em: &Emitter) -> Result<(), ConnectorError> {
        let c = &self.client;
        guarded(em, &[Resource::Policies, Resource::PolicyRules], async {
            let mut sink = Sink::new(em, Resource::Policies);
            let mut ids = Vec::new();
            for t in POLICY_TYPES {
                let mut next = Some(c.url(&format!("/api/v1/policies?type={t}&limit=200"))?);
                while let Some(u) = next.take() {
                    let (policies, after) = c.get_items(u, wire::policy_raw).await?;
                    for p in policies {
                        ids.push(p.id.clone());
                        sink.push(Record::Policy(p)).await?;
                    }
                    sink.page_end().await?;
                    next = after;
                }
            }
            sink.done().await?;
            let mut rules = Sink::new(em, Resource::PolicyRules);
            let mut stream = futures::stream::iter(ids)
                .map({
                    let c = Arc::clone(c);
                    move |pid| {
                        let c = Arc::clone(&c);
                        async move {
                            let url = format!("/api/v1/policies/{pid}/rules?limit=200");
                            fetch_all(&c, &url, |r| {
                                wire::rule_raw(&pid, r).map(Record::PolicyRule)
                            })
                            .await
                        }
                    }
                })
                .buffer_unordered(self.width());
            while let Some(r) = stream.next().await {
                rules.extend(r?).await?;
            }
            rules.done().await.map(|_| ())
        })
        .await
    }

    async fn logs(&self, em: &Emitter) -> Result<(), ConnectorError> {
        let c = &self.client;
        guarded(em, &[Resource::LogEvents], async {
            let start: Url = match self.options.cursors.get(&Resource::LogEvents) {
                Some(cursor) => c.checked_next("/api/v1/logs", cursor)?,
                None => {
                    let since = (self.options.now - chrono::Duration::days(90))
                        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
                    c.url(&format!("/api/v1/logs?since={}&limit=1000", enc(&since)))?
                }
            };
            let mut sink = Sink::new(em, Resource::LogEvents);
            let mut url = start;
            let mut pages = 0u32;
            loop {
                // Every item counts for "was the page empty", usable or not.
                let (events, after) = c
                    .get_items(url.clone(), |v| Some(wire::log_event_raw(v)))
                    .await?;
                pages += 1;
                let empty = events.is_empty();
                for e in events.into_iter().flatten() {
                    sink.push(Record::LogEvent(e)).await?;
                }
                sink.page_end().await?;
                // Polling: `next` is always present; an empty page (next == self) is the end.
                match after {
                    Some(n) if !empty && n != url => url = n,
                    Some(n) => {
                        url = n;
                        break;
                    }
                    None => break,
                }
                if pages > 100_000 {
                    break;
                }
            }
            // Save the relative form: it is only ever resolved against this domain.
            let cursor = match url.query() {
                Some(q) => format!("{}?{q}", url.path()),
                None => url.path().to_string(),
            };
            sink.done().await?;
            em.send(SyncEvent::Cursor {
                resource: Resource::LogEvents,
                cursor,
            })
            .await
        })
        .await
    }
}
