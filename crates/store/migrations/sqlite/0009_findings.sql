-- Identity-security findings (SQLite). Keep in step with migrations/postgres/0009_findings.sql.
-- Rows cascade with their integration.

-- One row per finding occurrence: open while `resolved_run` is NULL. A finding that comes
-- back after being resolved is a new row, so the history of each stays readable.
CREATE TABLE findings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    integration_id INTEGER NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    -- Stable key of what the finding is about within its kind (account id, app id, ...).
    subject_key TEXT NOT NULL,
    subject TEXT NOT NULL,
    severity TEXT NOT NULL,
    detail TEXT NOT NULL,
    -- JSON: the records behind the finding, as of the latest run that saw it.
    evidence TEXT NOT NULL,
    first_seen_run INTEGER NOT NULL,
    first_seen_at TEXT NOT NULL,
    last_seen_run INTEGER NOT NULL,
    resolved_run INTEGER,
    resolved_at TEXT
);
CREATE UNIQUE INDEX findings_open ON findings (integration_id, kind, subject_key) WHERE resolved_run IS NULL;
CREATE INDEX findings_by_kind ON findings (kind, id);

-- How each finding kind was evaluated at an integration's latest run: evaluated, or not
-- (with the reason: a resource the token could not read).
CREATE TABLE finding_evaluations (
    integration_id INTEGER NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    run_id INTEGER NOT NULL,
    evaluated_at TEXT NOT NULL,
    evaluated INTEGER NOT NULL,
    reason TEXT,
    open_count INTEGER NOT NULL,
    PRIMARY KEY (integration_id, kind)
);

-- Thresholds (`super_admin_max`, `inactive_days`, `unused_app_days`); defaults apply when absent.
CREATE TABLE finding_settings (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL,
    updated_at TEXT NOT NULL
);
