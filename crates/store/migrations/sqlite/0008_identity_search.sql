-- Identity search (SQLite). Keep in step with migrations/postgres/0008_identity_search.sql.
--
-- One narrow row per user, group, app and admin role assignment of a run, written from the
-- decoded records before the run is published (`Store::index_identity`), so searching never
-- reads each record's whole stored JSON. Rows are keyed like `records` and read only for
-- current runs; they follow their record out (triggers below), so dropping an old snapshot,
-- removing an integration or erasing a person drops them too.
--
-- `id` is the sort position: run id << 32 | resource << 28 | rank of the record key in the
-- run, so a page in (run, record key) order is a rowid range scan that stops after the page.
CREATE TABLE identity_search (
    id INTEGER PRIMARY KEY,
    resource TEXT NOT NULL,
    run_id INTEGER NOT NULL,
    record_key TEXT NOT NULL,
    -- The record's source status (`ACTIVE`, ...), '' when it has none.
    status TEXT NOT NULL,
    -- Lower-cased login, emails, names, department, ids, joined by U+001F.
    search_text TEXT NOT NULL,
    UNIQUE (resource, run_id, record_key)
);
-- The status filter pages in order without reading the other statuses' rows.
CREATE INDEX identity_search_by_status ON identity_search (status, id);

-- Substring search: a trigram full-text index over `search_text` (external content, kept in
-- step by the triggers below), for terms of three characters or more.
CREATE VIRTUAL TABLE identity_fts USING fts5(
    search_text, content = 'identity_search', content_rowid = 'id', tokenize = 'trigram'
);
CREATE TRIGGER identity_fts_insert AFTER INSERT ON identity_search BEGIN
    INSERT INTO identity_fts (rowid, search_text) VALUES (new.id, new.search_text);
END;
CREATE TRIGGER identity_fts_delete AFTER DELETE ON identity_search BEGIN
    INSERT INTO identity_fts (identity_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text);
END;
CREATE TRIGGER identity_fts_update AFTER UPDATE OF search_text ON identity_search BEGIN
    INSERT INTO identity_fts (identity_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text);
    INSERT INTO identity_fts (rowid, search_text) VALUES (new.id, new.search_text);
END;

CREATE TRIGGER identity_search_record_gone AFTER DELETE ON records
WHEN old.resource IN ('users', 'groups', 'apps', 'role_assignments')
BEGIN
    DELETE FROM identity_search
    WHERE resource = old.resource AND run_id = old.run_id AND record_key = old.record_key;
END;

-- Erasure redacts identifiers inside other records: their search text may name the person,
-- so it is cleared (the record still lists, unsearchable until the next sync re-indexes it).
CREATE TRIGGER identity_search_record_changed AFTER UPDATE OF data ON records
WHEN old.resource IN ('users', 'groups', 'apps', 'role_assignments')
BEGIN
    UPDATE identity_search SET search_text = ''
    WHERE resource = old.resource AND run_id = old.run_id AND record_key = old.record_key;
END;
