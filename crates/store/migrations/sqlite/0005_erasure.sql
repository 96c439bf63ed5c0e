-- Erasure bookkeeping (SQLite). Keep in step with migrations/postgres/0005_erasure.sql.

-- People erased by a deletion request, per integration, so later syncs do not bring them back
-- (Okta's System Log keeps their deactivation/deletion events, naming them as target). The
-- identifiers to filter on (account id, login, emails) are sealed with the store's key
-- (XChaCha20-Poly1305, like credentials): never clear text in the file. The salted email hash
-- lets an operator recognise the row from the address.
CREATE TABLE erased_subjects (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    integration_id INTEGER NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    request_id INTEGER NOT NULL REFERENCES privacy_requests(id),
    -- hex sha256(salt || lowercase email), and the hex salt
    subject_hash TEXT NOT NULL,
    subject_salt TEXT NOT NULL,
    -- version 1 || 24-byte nonce || ciphertext of a JSON list of identifiers
    sealed_identifiers BLOB NOT NULL,
    erased_at TEXT NOT NULL
);
CREATE INDEX erased_subjects_by_integration ON erased_subjects (integration_id);

-- Evidence entries whose clear content was replaced by its digest after an erasure.
-- Append-only. An item's hash covers each entry's digest, not its content, so the chain stays
-- verifiable; `verify` accepts a digest in place of an entry only with a row here.
CREATE TABLE evidence_redactions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id TEXT NOT NULL,
    -- JSON pointer of the entry inside the item, e.g. /sources/users/3 or /summary/admins/0
    entry TEXT NOT NULL,
    -- hex sha256 of the entry's canonical JSON (what replaced it)
    digest TEXT NOT NULL,
    request_id INTEGER NOT NULL REFERENCES privacy_requests(id),
    redacted_at TEXT NOT NULL,
    UNIQUE (item_id, entry)
);
