-- Scheduled syncs (SQLite). Keep in step with migrations/postgres/0007_sync_jobs.sql.

-- One schedule per integration. frequency: hourly | daily | weekly | manual | '<minutes>m'.
CREATE TABLE sync_schedules (
    integration_id INTEGER PRIMARY KEY REFERENCES integrations(id) ON DELETE CASCADE,
    frequency TEXT NOT NULL,
    -- When the next scheduled job is due; NULL for manual.
    next_due_at TEXT,
    enabled BOOLEAN NOT NULL,
    updated_at TEXT NOT NULL
);

-- Sync jobs, claimed by workers with a lease (see crates/store/src/jobs.rs).
CREATE TABLE sync_jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    integration_id INTEGER NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,            -- scheduled | manual
    due_at TEXT NOT NULL,
    status TEXT NOT NULL,          -- queued | running | succeeded | failed
    lease_owner TEXT,
    lease_expires_at TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    run_id INTEGER,
    error TEXT,
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT
);
-- Two workers enqueueing the same due schedule create one job.
CREATE UNIQUE INDEX sync_jobs_once ON sync_jobs (integration_id, kind, due_at);
-- At most one running job per integration, even with several processes: manual and
-- scheduled syncs never overlap.
CREATE UNIQUE INDEX sync_jobs_one_running ON sync_jobs (integration_id) WHERE status = 'running';
-- At most one queued manual job per integration ("Sync now" twice is one job).
CREATE UNIQUE INDEX sync_jobs_one_queued_manual ON sync_jobs (integration_id) WHERE status = 'queued' AND kind = 'manual';
CREATE INDEX sync_jobs_due ON sync_jobs (status, due_at);
CREATE INDEX sync_jobs_by_integration ON sync_jobs (integration_id, id);
