-- The evidence register (SQLite). Keep in step with migrations/postgres/0004_evidence.sql.
--
-- Append-only and hash-chained: one global chain ordered by `seq`. No foreign key to
-- integrations or sync runs on purpose: evidence already collected stays (with the
-- integration's name copied in) when its integration is removed, as an audit record must.

CREATE TABLE evidence_items (
    seq INTEGER PRIMARY KEY,
    item_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    integration_id INTEGER NOT NULL,
    integration_name TEXT NOT NULL,
    run_id INTEGER NOT NULL,
    collected_at TEXT NOT NULL,
    controls TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    summary TEXT NOT NULL,
    sources TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);

-- The chain's head: the last item appended. Lets `verify` notice removed trailing items,
-- and serialises appends (every append updates this one row first).
CREATE TABLE evidence_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    last_seq INTEGER NOT NULL,
    last_hash TEXT NOT NULL
);
INSERT INTO evidence_head (id, last_seq, last_hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
