-- Steward store schema (SQLite). Keep in step with migrations/postgres/0001_init.sql.
-- JSON is stored as TEXT on both backends so one SQL text serves both.

CREATE TABLE integrations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    base_url TEXT NOT NULL,
    settings TEXT NOT NULL,
    created_at TEXT NOT NULL,
    -- The published snapshot: only rows of this run are ever read.
    current_run_id INTEGER,
    last_test TEXT,
    last_test_at TEXT,
    last_sync_status TEXT,
    last_sync_at TEXT
);

-- Sealed API tokens: version 1 || 24-byte nonce || XChaCha20-Poly1305 ciphertext.
CREATE TABLE credentials (
    integration_id INTEGER PRIMARY KEY REFERENCES integrations(id) ON DELETE CASCADE,
    sealed BLOB NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE sync_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    integration_id INTEGER NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    started_at TEXT NOT NULL,
    heartbeat_at TEXT NOT NULL,
    finished_at TEXT,
    duration_ms INTEGER,
    error TEXT,
    report TEXT
);
CREATE INDEX sync_runs_by_integration ON sync_runs (integration_id, id);
-- At most one running run per integration, even with several processes.
CREATE UNIQUE INDEX sync_runs_one_running ON sync_runs (integration_id) WHERE status = 'running';

-- How each resource ended in a run, and the cursor to resume from.
CREATE TABLE run_resources (
    run_id INTEGER NOT NULL REFERENCES sync_runs(id) ON DELETE CASCADE,
    resource TEXT NOT NULL,
    outcome TEXT,
    record_count INTEGER NOT NULL DEFAULT 0,
    reason TEXT,
    cursor_value TEXT,
    PRIMARY KEY (run_id, resource)
);

-- Snapshot rows, tagged with the run that staged them.
CREATE TABLE records (
    run_id INTEGER NOT NULL,
    resource TEXT NOT NULL,
    record_key TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (run_id, resource, record_key)
);

-- The System Log is read incrementally, so events live per integration and are carried
-- from snapshot to snapshot; an event is visible once the run that brought it succeeded.
CREATE TABLE log_events (
    integration_id INTEGER NOT NULL,
    record_key TEXT NOT NULL,
    run_id INTEGER NOT NULL,
    -- The latest run that read it: a full (cursor-less) read keeps only what it saw.
    last_seen_run_id INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (integration_id, record_key)
);
CREATE INDEX log_events_by_run ON log_events (run_id);
