-- People erased while a run was staging (Keep in step with migrations/sqlite/0014_late_erasures.sql).
-- A batch is encoded, leaving erased people out, before it is written; a person erased in
-- between can still be in it. `erase_person` notes the erased subject's id on every running
-- run of the integration (a comma-separated list of `erased_subjects.id`), and publishing
-- the run erases them from it first.
ALTER TABLE sync_runs ADD COLUMN late_erasures TEXT;
