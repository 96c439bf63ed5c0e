-- Data inventory (SQLite). Keep in step with migrations/postgres/0002_inventory.sql.
-- Rows cascade with their integration, so `remove_integration` needs no inventory step.

-- One row per (integration, app): the facts of the latest sync and the privacy team's decision.
CREATE TABLE inventory_items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    integration_id INTEGER NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    app_id TEXT NOT NULL,
    name TEXT NOT NULL,
    label TEXT NOT NULL,
    sign_on_mode TEXT,
    okta_status TEXT NOT NULL,
    created TEXT,
    assigned_users INTEGER NOT NULL,
    assigned_groups INTEGER NOT NULL,
    -- JSON array of distinct department names, sorted.
    departments TEXT NOT NULL,
    last_sso_at TEXT,
    -- JSON array of admins; NULL when admin role assignments were not readable.
    admins TEXT,
    triage TEXT NOT NULL,
    owner TEXT,
    purpose TEXT,
    -- JSON array.
    data_categories TEXT NOT NULL,
    ignore_reason TEXT,
    decided_at TEXT,
    first_seen_run INTEGER NOT NULL,
    last_seen_run INTEGER NOT NULL,
    -- Set when the app is gone from Okta: the first sync run that no longer saw it.
    removed_run INTEGER,
    removed_at TEXT,
    UNIQUE (integration_id, app_id)
);
CREATE INDEX inventory_items_by_triage ON inventory_items (triage, id);

-- One row per sync run the inventory was updated from.
CREATE TABLE inventory_syncs (
    integration_id INTEGER NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    run_id INTEGER NOT NULL,
    at TEXT NOT NULL,
    added INTEGER NOT NULL,
    removed INTEGER NOT NULL,
    reappeared INTEGER NOT NULL,
    changed INTEGER NOT NULL,
    PRIMARY KEY (integration_id, run_id)
);

-- What one sync run changed, item by item: kept by the inventory itself because the store
-- holds only the current snapshot's records.
CREATE TABLE inventory_changes (
    integration_id INTEGER NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    run_id INTEGER NOT NULL,
    item_id INTEGER NOT NULL REFERENCES inventory_items(id) ON DELETE CASCADE,
    change TEXT NOT NULL,
    -- JSON object: field -> {"from": old, "to": new}.
    fields TEXT NOT NULL,
    PRIMARY KEY (integration_id, run_id, item_id)
);
