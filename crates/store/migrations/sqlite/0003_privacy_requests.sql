-- Privacy requests (SQLite). Keep in step with migrations/postgres/0003_privacy_requests.sql.
-- Append-only: the store only ever INSERTs into these three tables (no UPDATE, no DELETE),
-- so the audit trail cannot be rewritten by Steward. The person's email is never stored in
-- clear: only a salted SHA-256 of its lowercase form, with the salt beside it.

CREATE TABLE privacy_requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    -- access | deletion
    kind TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    dry_run INTEGER NOT NULL,
    -- hex sha256(salt || lowercase email), and the hex salt
    subject_hash TEXT NOT NULL,
    subject_salt TEXT NOT NULL
);

-- One row per step of a request (started, completed, refused, failed): the latest is its status.
CREATE TABLE privacy_request_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id INTEGER NOT NULL REFERENCES privacy_requests(id),
    at TEXT NOT NULL,
    status TEXT NOT NULL,
    -- JSON summary; for deletions it never holds the person's data
    detail TEXT NOT NULL
);
CREATE INDEX privacy_request_events_by_request ON privacy_request_events (request_id, id);

CREATE TABLE privacy_receipts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id INTEGER NOT NULL REFERENCES privacy_requests(id),
    kind TEXT NOT NULL,
    email_hash TEXT NOT NULL,
    salt TEXT NOT NULL,
    -- JSON list of {integration, outcome}
    integrations TEXT NOT NULL,
    outcome TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    completed_at TEXT NOT NULL
);
