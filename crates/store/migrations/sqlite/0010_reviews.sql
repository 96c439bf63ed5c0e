-- Access reviews (SQLite). Keep in step with migrations/postgres/0010_reviews.sql.
-- Certification model: definition → campaign → stage → cases → decisions. Rows cascade
-- with their integration.

-- What to review, by whom, and how often; a recurring definition starts its next campaign
-- at `next_start_at`.
CREATE TABLE review_definitions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    integration_id INTEGER NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    -- `apps:ID,ID`, `groups:ID,ID`, `admins` or `all`.
    scope TEXT NOT NULL,
    -- `owner`, `manager`, or comma-separated reviewer emails.
    reviewer TEXT NOT NULL,
    due_days INTEGER NOT NULL,
    recur TEXT,
    remediation INTEGER NOT NULL,
    next_start_at TEXT,
    created_at TEXT NOT NULL
);

CREATE TABLE review_campaigns (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    definition_id INTEGER NOT NULL REFERENCES review_definitions(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    integration_id INTEGER NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    -- The snapshot the cases were taken from.
    run_id INTEGER NOT NULL,
    started_at TEXT NOT NULL,
    due_at TEXT NOT NULL,
    stage INTEGER NOT NULL,
    status TEXT NOT NULL,
    remediation INTEGER NOT NULL,
    closed_at TEXT,
    evidence_id TEXT
);

-- One case per graph edge: person → app assignment, group membership or admin role.
CREATE TABLE review_cases (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    campaign_id INTEGER NOT NULL REFERENCES review_campaigns(id) ON DELETE CASCADE,
    stage INTEGER NOT NULL,
    edge TEXT NOT NULL,
    account_id TEXT NOT NULL,
    account_login TEXT NOT NULL,
    target_id TEXT NOT NULL,
    target_label TEXT NOT NULL,
    -- NULL when granted directly; else the group it comes through.
    via_group_id TEXT,
    via_group_name TEXT,
    last_used_at TEXT,
    mfa TEXT NOT NULL,
    department TEXT,
    -- `,a@x,b@y,`: any of them may decide; the first decision wins.
    reviewers TEXT NOT NULL,
    decision TEXT,
    comment TEXT,
    decided_by TEXT,
    decided_at TEXT,
    -- JSON: what remediation did (or proposes) for a revoke.
    remediation TEXT,
    remediated_at TEXT
);
CREATE INDEX review_cases_by_campaign ON review_cases (campaign_id, decision);

-- Every action on a campaign: created, decided, reported, remediated.
CREATE TABLE review_audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    campaign_id INTEGER NOT NULL REFERENCES review_campaigns(id) ON DELETE CASCADE,
    case_id INTEGER,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX review_audit_by_campaign ON review_audit (campaign_id, id);
