-- Access-review reminders (SQLite). Keep in step with migrations/postgres/0011_review_reminders.sql.
-- One row per reminder sent: a reviewer with undecided cases is reminded 7 days before the
-- campaign's deadline (`due_soon`), 1 day before (`due_tomorrow`) and once it has passed
-- (`overdue`). The unique key makes each reminder go out once, even with several workers:
-- the row is claimed before delivery.
CREATE TABLE review_reminders (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    campaign_id INTEGER NOT NULL REFERENCES review_campaigns(id) ON DELETE CASCADE,
    reviewer TEXT NOT NULL,
    -- `due_soon`, `due_tomorrow` or `overdue`.
    kind TEXT NOT NULL,
    -- The reviewer's undecided cases in the campaign when the reminder was sent.
    pending INTEGER NOT NULL,
    at TEXT NOT NULL,
    -- Where it was delivered (a webhook's origin, never its full URL); NULL when only recorded.
    delivered_to TEXT,
    -- Why delivery failed; NULL when it did not.
    error TEXT,
    UNIQUE (campaign_id, reviewer, kind)
);
