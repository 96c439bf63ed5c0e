-- A record's source object (`raw`, most of its bytes) gets its own column after `data`,
-- which keeps the record's own fields. Readers of the fields (identity index, inventory,
-- findings, reviews) then never page in the source objects. The whole record is `data` with
-- `,"raw":` || raw put back before its closing brace (`whole_sql!` in the store).
ALTER TABLE records ADD COLUMN raw TEXT;
ALTER TABLE log_events ADD COLUMN raw TEXT;

-- Rows stored before: split at the first `,"raw":` (7 characters), which puts back exactly
-- the stored text. Settings and memberships have no source object and stay whole (a
-- setting's value may hold a "raw" key). A record whose own fields hold an object with a
-- "raw" key after another key (not seen in Okta or OneTrust records) is split there: it
-- still reads back whole exactly, and only its head misses that field's tail. The search-text trigger would blank the search rows of every record it
-- touches, although the fields do not change, so it is set aside meanwhile.
DROP TRIGGER identity_search_record_changed;
UPDATE records
SET raw = substr(data, instr(data, ',"raw":') + 7, length(data) - instr(data, ',"raw":') - 7),
    data = substr(data, 1, instr(data, ',"raw":') - 1) || '}'
WHERE instr(data, ',"raw":') > 0 AND resource NOT IN ('settings', 'memberships');
UPDATE log_events
SET raw = substr(data, instr(data, ',"raw":') + 7, length(data) - instr(data, ',"raw":') - 7),
    data = substr(data, 1, instr(data, ',"raw":') - 1) || '}'
WHERE instr(data, ',"raw":') > 0;

-- As in 0008: erasure redacts identifiers inside other records, so their search text is cleared.
CREATE TRIGGER identity_search_record_changed AFTER UPDATE OF data, raw ON records
WHEN old.resource IN ('users', 'groups', 'apps', 'role_assignments')
BEGIN
    UPDATE identity_search SET search_text = ''
    WHERE resource = old.resource AND run_id = old.run_id AND record_key = old.record_key;
END;
