//! The sync orchestrator: runs a connector, stages what it streams, and publishes the run as
//! the integration's snapshot only when the whole run succeeded.
//!
//! A failed run (connector error, store error, a resource that never finished) is marked
//! failed and its staged rows purged; the previous snapshot stays current. A killed process
//! leaves a `running` run whose heartbeat goes stale; the next run purges it.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use steward_connectors::{Connector, SyncEvent, SyncOptions, SyncReport};
use steward_model::{Record, Resource};
use steward_store::{
    ErasedPeople, Integration, ResourceOutcome, StagedBatch, Staging, Store, StoreError,
};
use tokio::sync::mpsc;

use crate::Clock;

/// How a sync run behaves; the defaults suit production.
#[derive(Debug, Clone, Copy)]
pub struct SyncSettings {
    /// Most requests in flight at once across all rate-limit buckets.
    pub max_in_flight: usize,
    /// A run whose heartbeat is older than this is considered dead (its process was killed).
    pub stale_after: Duration,
}

impl Default for SyncSettings {
    fn default() -> Self {
        SyncSettings {
            max_in_flight: 10,
            stale_after: Duration::from_secs(60),
        }
    }
}
const HEARTBEAT_EVERY: Duration = Duration::from_secs(1);
/// Connector events (record batches) queued for the consumer.
const EVENT_QUEUE: usize = 4;
/// Records buffered before they are serialised (one encode task).
const STAGE_BATCH: usize = 1_000;
/// Batches being serialised ahead of the write (bounded: a batch of records with their
/// `raw` JSON trees is ~10 MB before it is serialised, and these were a sync's peak memory).
const ENCODING_AHEAD: usize = 2;
/// How long the consumer waits for the connector's next event before it commits what it
/// staged: an open staging transaction holds SQLite's write lock (see `Staging`), which
/// must not be held while the connector waits on the network (a paced sync).
const IDLE_COMMIT_AFTER: Duration = Duration::from_millis(50);

/// Where progress goes (progress bars on a TTY, plain lines otherwise, nothing in tests).
pub trait SyncProgress: Send + Sync {
    fn fetched(&self, _resource: Resource, _total: u64) {}
    fn done(&self, _resource: Resource, _count: u64) {}
    fn unreadable(&self, _resource: Resource, _reason: &str) {}
}

/// Progress that goes nowhere.
pub struct NoProgress;
impl SyncProgress for NoProgress {}

/// How one resource ended in a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ResourceResult {
    Complete { count: u64 },
    NotReadable { reason: String },
}

/// The outcome of a successful run.
#[derive(Debug, Clone, Serialize)]
pub struct SyncOutcome {
    pub run_id: i64,
    pub resources: BTreeMap<Resource, ResourceResult>,
    pub records: u64,
    pub duration_ms: u64,
    pub report: SyncReport,
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("sync run {run_id} failed, the previous snapshot is kept: {reason}")]
    Failed { run_id: i64, reason: String },
    /// The run was published, but a product that reads every new snapshot (inventory,
    /// evidence) failed to update from it.
    #[error(
        "sync run {run_id} was published, but {product} could not be updated from it: {reason}"
    )]
    AfterPublish {
        run_id: i64,
        product: &'static str,
        reason: String,
    },
}

/// Sync one integration through `connector` into `store`.
#[tracing::instrument(skip_all, fields(integration_id = integration.id, run_id))]
pub async fn run(
    store: &Store,
    integration: &Integration,
    connector: &dyn Connector,
    clock: &dyn Clock,
    progress: &dyn SyncProgress,
    settings: SyncSettings,
) -> Result<SyncOutcome, SyncError> {
    let started = Instant::now();
    let run_id = store
        .begin_run(integration.id, clock.now(), settings.stale_after)
        .await?;
    tracing::Span::current().record("run_id", run_id);
    tracing::info!(integration = %integration.name, "Sync run started.");

    let mut options = SyncOptions::new(clock.now());
    options.cursors = store.cursors(integration.id).await?;
    options.max_in_flight = settings.max_in_flight.max(1);
    // Opt-in per integration: per-user audit activities cost one request per user (OneTrust).
    options.audit_activities = integration
        .settings
        .get("audit_activities")
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false);

    // Aborted on drop too: a scheduler worker that loses its job's lease (or shuts down)
    // drops this future mid-run, and a heartbeat left beating would keep the run "live"
    // forever, refusing the worker that takes the job over.
    let heartbeat = AbortOnDrop(spawn_heartbeat(store.clone(), run_id, clock));
    // Few batches queued: a batch is up to ~500 records whose `raw` JSON trees are several
    // KB each, and producers outrun staging, so a long queue was hundreds of MB of RSS.
    let (tx, rx) = mpsc::channel::<SyncEvent>(EVENT_QUEUE);
    let producer = connector.sync(options, tx);
    let consumer = consume(store, run_id, rx, progress);
    let (produced, consumed) = tokio::join!(producer, consumer);
    drop(heartbeat);

    let failure = match (&produced, &consumed) {
        (_, Err(e)) => Some(format!("storing records failed: {e}")),
        (Err(e), _) => Some(e.to_string()),
        (Ok(_), Ok(c)) => c
            .unfinished()
            .map(|r| format!("resource {r} did not finish")),
    };
    let report = produced.as_ref().ok().cloned().unwrap_or_default();
    let report_json = serde_json::to_value(&report).unwrap_or_default();
    if let Some(reason) = failure {
        tracing::warn!(%reason, "Sync run failed; the previous snapshot is kept.");
        store
            .fail_run(run_id, &reason, &report_json, clock.now())
            .await?;
        return Err(SyncError::Failed { run_id, reason });
    }
    let consumed = consumed.map_err(SyncError::Store)?;
    tracing::debug!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "Records staged."
    );
    store.shrink_staging_cache().await;
    store.index_identity(run_id).await?; // identity search rows turn current with the snapshot
    tracing::debug!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "Identity indexed."
    );
    store.publish_run(run_id, &report_json, clock.now()).await?;
    tracing::debug!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "Run published; updating products."
    );
    // Products that follow every snapshot: the inventory staging area, the evidence register
    // and the identity-security findings. They read the snapshot apart from each other, so
    // they run at once (each read on its own pooled connection; writes wait their turn).
    // Findings wait for the inventory only where they read it: unused-app findings read the
    // items it updates, so it tells them when (and whether) it is done. All run to the end,
    // never cancelled half-way, and a failure is reported in this order: inventory,
    // evidence, findings.
    let (inventory_done, inventory_updated) = tokio::sync::oneshot::channel::<()>();
    let inventory = async {
        let updated = product_update(
            crate::inventory::after_sync(store, integration, run_id, clock),
            run_id,
            started,
            "the data inventory",
            "Inventory updated.",
        )
        .await;
        if updated.is_ok() {
            let _ = inventory_done.send(());
        }
        updated
    };
    let (inventory, evidence, findings) = tokio::join!(
        inventory,
        product_update(
            crate::evidence::after_sync(store, integration, run_id, clock),
            run_id,
            started,
            "the evidence register",
            "Evidence updated.",
        ),
        product_update(
            crate::findings::after_sync_beside_inventory(
                store,
                integration,
                run_id,
                clock,
                async { inventory_updated.await.is_ok() },
            ),
            run_id,
            started,
            "the identity-security findings",
            "Findings updated.",
        ),
    );
    inventory?;
    evidence?;
    findings?;
    let duration_ms = started.elapsed().as_millis() as u64;
    tracing::info!(
        records = consumed.records,
        duration_ms,
        "Sync run published."
    );
    Ok(SyncOutcome {
        run_id,
        resources: consumed.resources,
        records: consumed.records,
        duration_ms,
        report,
    })
}

/// Awaits one product's update after a run is published: logs when it ended (`done`, a
/// phase of the run's debug lines) and reports its failure as the run's, naming `product`.
async fn product_update<T, E: std::fmt::Display>(
    update: impl std::future::Future<Output = Result<T, E>>,
    run_id: i64,
    started: Instant,
    product: &'static str,
    done: &'static str,
) -> Result<T, SyncError> {
    let result = update.await;
    tracing::debug!(elapsed_ms = started.elapsed().as_millis() as u64, "{done}");
    result.map_err(|e| SyncError::AfterPublish {
        run_id,
        product,
        reason: e.to_string(),
    })
}

/// Aborts its task when dropped (a plain `JoinHandle` detaches it).
pub(crate) struct AbortOnDrop<T = ()>(pub(crate) tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn spawn_heartbeat(store: Store, run_id: i64, clock: &dyn Clock) -> tokio::task::JoinHandle<()> {
    // The clock is borrowed; heartbeats only need a monotonic cadence plus "now" values, so
    // take a snapshot of the offset between the caller's clock and the system clock.
    let base = clock.now();
    let started = Instant::now();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(HEARTBEAT_EVERY);
        tick.tick().await;
        loop {
            tick.tick().await;
            let now = base + chrono::Duration::from_std(started.elapsed()).unwrap_or_default();
            if let Err(e) = store.heartbeat(run_id, now).await {
                tracing::warn!(error = %e, "Heartbeat failed.");
            }
        }
    })
}

#[derive(Default)]
struct Consumed {
    resources: BTreeMap<Resource, ResourceResult>,
    started: BTreeMap<Resource, u64>,
    records: u64,
}

impl Consumed {
    /// A resource that sent records but neither finished nor was declared unreadable.
    fn unfinished(&self) -> Option<Resource> {
        self.started
            .keys()
            .find(|r| !self.resources.contains_key(r))
            .copied()
    }
}

async fn consume(
    store: &Store,
    run_id: i64,
    mut rx: mpsc::Receiver<SyncEvent>,
    progress: &dyn SyncProgress,
) -> Result<Consumed, StoreError> {
    let mut state = Consumed::default();
    let mut buffer: Vec<Record> = Vec::with_capacity(STAGE_BATCH);
    // Read once here, so encoding never waits on the store inside an open staging
    // transaction; people erased from now on are noted on the run and erased from it
    // before it is published.
    let erased = store.erased_people(run_id).await?;
    let mut pipe = Pipeline::new(store.begin_staging(run_id), erased);
    loop {
        let event = match rx.try_recv() {
            Ok(event) => Some(event),
            Err(mpsc::error::TryRecvError::Disconnected) => None,
            // Nothing queued: wait a little, then commit before waiting on the network.
            Err(mpsc::error::TryRecvError::Empty) => {
                match tokio::time::timeout(IDLE_COMMIT_AFTER, rx.recv()).await {
                    Ok(event) => event,
                    Err(_) => {
                        pipe.commit().await?;
                        rx.recv().await
                    }
                }
            }
        };
        let Some(event) = event else { break };
        match event {
            SyncEvent::Batch { resource, records } => {
                let total = state.started.entry(resource).or_default();
                *total += records.len() as u64;
                progress.fetched(resource, *total);
                state.records += records.len() as u64;
                buffer.extend(records);
                if buffer.len() >= STAGE_BATCH {
                    let records = std::mem::replace(&mut buffer, Vec::with_capacity(STAGE_BATCH));
                    pipe.push(records).await?;
                }
            }
            // The other events write outside the staging transaction, so it commits first
            // (on SQLite it holds the write lock they need).
            SyncEvent::Done { resource, count } => {
                pipe.commit().await?;
                state.started.entry(resource).or_default();
                store
                    .mark_resource(run_id, resource, &ResourceOutcome::Complete { count })
                    .await?;
                state
                    .resources
                    .insert(resource, ResourceResult::Complete { count });
                progress.done(resource, count);
            }
            SyncEvent::Unreadable { resource, reason } => {
                pipe.commit().await?;
                state.started.entry(resource).or_default();
                store
                    .mark_resource(
                        run_id,
                        resource,
                        &ResourceOutcome::Unreadable {
                            reason: reason.clone(),
                        },
                    )
                    .await?;
                progress.unreadable(resource, &reason);
                state
                    .resources
                    .insert(resource, ResourceResult::NotReadable { reason });
            }
            SyncEvent::Cursor { resource, cursor } => {
                pipe.commit().await?;
                store.stage_cursor(run_id, resource, &cursor).await?;
            }
        }
    }
    if !buffer.is_empty() {
        pipe.push(std::mem::take(&mut buffer)).await?;
    }
    pipe.finish().await?;
    tracing::debug!(
        staging_ms = pipe.staging.as_millis() as u64,
        commits = pipe.writer.commits(),
        records = state.records,
        "Consumer finished."
    );
    Ok(state)
}

/// Staging pipeline: batches of records are serialised on their own tasks (other cores)
/// while earlier ones are written, so the store's writer only ever sees ready rows. FIFO
/// throughout, so staging order (which copy of a duplicate key is kept) is the order the
/// connector sent.
struct Pipeline {
    /// Batches being serialised, oldest first.
    encoding: VecDeque<AbortOnDrop<Result<StagedBatch, StoreError>>>,
    /// Writes each serialised batch as soon as it is ready; many batches share a commit.
    writer: Staging,
    /// People erased from the integration, left out of every batch.
    erased: ErasedPeople,
    /// Time spent writing and committing (the consumer's share of the run), for diagnostics.
    staging: Duration,
}

impl Pipeline {
    fn new(writer: Staging, erased: ErasedPeople) -> Pipeline {
        Pipeline {
            encoding: VecDeque::new(),
            writer,
            erased,
            staging: Duration::ZERO,
        }
    }

    async fn push(&mut self, records: Vec<Record>) -> Result<(), StoreError> {
        let erased = self.erased.clone();
        self.encoding
            .push_back(AbortOnDrop(tokio::spawn(async move {
                StagedBatch::new(&records, &erased)
            })));
        // Write what is already encoded; wait for the oldest only when too many are pending.
        while let Some(front) = self.encoding.front() {
            if !front.0.is_finished() && self.encoding.len() <= ENCODING_AHEAD {
                break;
            }
            self.write_front().await?;
        }
        Ok(())
    }

    async fn write_front(&mut self) -> Result<(), StoreError> {
        let Some(mut next) = self.encoding.pop_front() else {
            return Ok(());
        };
        let batch = match (&mut next.0).await {
            Ok(encoded) => encoded?,
            // Only a panic or abort ends an encode task early; a batch must never go missing.
            Err(e) => {
                return Err(StoreError::Corrupt {
                    what: "a staging batch".into(),
                    reason: format!("its encoding task stopped: {e}"),
                });
            }
        };
        let t = Instant::now();
        self.writer.write(&batch).await?;
        self.staging += t.elapsed();
        Ok(())
    }

    async fn commit(&mut self) -> Result<(), StoreError> {
        let t = Instant::now();
        self.writer.commit().await?;
        self.staging += t.elapsed();
        Ok(())
    }

    async fn finish(&mut self) -> Result<(), StoreError> {
        while !self.encoding.is_empty() {
            self.write_front().await?;
        }
        self.commit().await
    }
}

/// Shared handle so a progress sink can be used from the CLI and a server alike.
pub type SharedProgress = Arc<dyn SyncProgress>;
