-- Identity search (PostgreSQL). Keep in step with migrations/sqlite/0008_identity_search.sql.
--
-- One narrow row per user, group, app and admin role assignment of a run, written from the
-- decoded records before the run is published (`Store::index_identity`). Substring search
-- uses a pg_trgm GIN index (pg_trgm is a trusted extension: a database owner may create it).
-- Rows follow their record out through statement-level triggers (one set-based DELETE per
-- statement, not one per row: publishing drops a whole old snapshot at once).
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE identity_search (
    resource TEXT NOT NULL,
    run_id BIGINT NOT NULL,
    record_key TEXT NOT NULL,
    status TEXT NOT NULL,
    search_text TEXT NOT NULL,
    PRIMARY KEY (resource, run_id, record_key)
);
CREATE INDEX identity_search_text ON identity_search USING gin (search_text gin_trgm_ops);
-- The status filter pages in key order without reading the other statuses' rows.
CREATE INDEX identity_search_by_status ON identity_search (resource, status, run_id, record_key);

CREATE FUNCTION identity_search_record_gone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM identity_search s USING gone g
    WHERE g.resource IN ('users', 'groups', 'apps', 'role_assignments')
      AND s.resource = g.resource AND s.run_id = g.run_id AND s.record_key = g.record_key;
    RETURN NULL;
END;
$$;
CREATE TRIGGER identity_search_record_gone AFTER DELETE ON records
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION identity_search_record_gone();

-- Erasure redacts identifiers inside other records: their search text may name the person,
-- so it is cleared (the record still lists, unsearchable until the next sync re-indexes it).
CREATE FUNCTION identity_search_record_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE identity_search s SET search_text = '' FROM changed c
    WHERE c.resource IN ('users', 'groups', 'apps', 'role_assignments')
      AND s.resource = c.resource AND s.run_id = c.run_id AND s.record_key = c.record_key;
    RETURN NULL;
END;
$$;
CREATE TRIGGER identity_search_record_changed AFTER UPDATE ON records
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION identity_search_record_changed();
