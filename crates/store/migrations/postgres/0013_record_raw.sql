-- A record's source object (`raw`, most of its bytes) gets its own column after `data`,
-- which keeps the record's own fields. Readers of the fields (identity index, inventory,
-- findings, reviews) then never read the source objects (PostgreSQL keeps a large value
-- out of line, in TOAST, so a row's fields are read without it). The whole record is `data`
-- with `,"raw":` || raw put back before its closing brace (`whole_sql!` in the store).
ALTER TABLE records ADD COLUMN raw TEXT;
ALTER TABLE log_events ADD COLUMN raw TEXT;

-- Rows stored before: split at the first `,"raw":` (7 characters), which puts back exactly
-- the stored text. Settings and memberships have no source object and stay whole (a
-- setting's value may hold a "raw" key). A record whose own fields hold an object with a
-- "raw" key after another key (not seen in Okta or OneTrust records) is split there: it
-- still reads back whole exactly, and only its head misses that field's tail. The search-text trigger would blank the search rows of every record it
-- touches, although the fields do not change, so it is off meanwhile.
ALTER TABLE records DISABLE TRIGGER identity_search_record_changed;
UPDATE records
SET raw = substr(data, strpos(data, ',"raw":') + 7, length(data) - strpos(data, ',"raw":') - 7),
    data = substr(data, 1, strpos(data, ',"raw":') - 1) || '}'
WHERE strpos(data, ',"raw":') > 0 AND resource NOT IN ('settings', 'memberships');
UPDATE log_events
SET raw = substr(data, strpos(data, ',"raw":') + 7, length(data) - strpos(data, ',"raw":') - 7),
    data = substr(data, 1, strpos(data, ',"raw":') - 1) || '}'
WHERE strpos(data, ',"raw":') > 0;
ALTER TABLE records ENABLE TRIGGER identity_search_record_changed;
