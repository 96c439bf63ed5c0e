-- Access-review cases, narrowed (SQLite). Keep in step with migrations/postgres/0012_review_case_context.sql.
-- Who a person is (login, department, MFA status) and what a target or group is called are
-- the same on every case of a campaign that mentions them, so they are stored once per campaign
-- (review_people, review_labels) rather than on each of a campaign's up to millions of cases;
-- review_case_details joins them back into the case a reviewer sees. Existing cases keep their
-- context: it is copied out before the columns go.

CREATE TABLE review_people (
    campaign_id INTEGER NOT NULL REFERENCES review_campaigns(id) ON DELETE CASCADE,
    account_id TEXT NOT NULL,
    login TEXT NOT NULL,
    department TEXT,
    -- `enrolled`, `not_enrolled` or `unknown` (factors not readable) when the campaign started.
    mfa TEXT NOT NULL,
    PRIMARY KEY (campaign_id, account_id)
) WITHOUT ROWID;

-- Display names of a campaign's targets (apps, groups, admin roles) and of the groups access
-- comes through.
CREATE TABLE review_labels (
    campaign_id INTEGER NOT NULL REFERENCES review_campaigns(id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    label TEXT NOT NULL,
    PRIMARY KEY (campaign_id, id)
) WITHOUT ROWID;

INSERT INTO review_people (campaign_id, account_id, login, department, mfa)
    SELECT campaign_id, account_id, MIN(account_login), MIN(department), MIN(mfa)
    FROM review_cases GROUP BY campaign_id, account_id;
INSERT OR IGNORE INTO review_labels (campaign_id, id, label)
    SELECT campaign_id, target_id, MIN(target_label) FROM review_cases GROUP BY campaign_id, target_id;
INSERT OR IGNORE INTO review_labels (campaign_id, id, label)
    SELECT campaign_id, via_group_id, MIN(via_group_name) FROM review_cases
    WHERE via_group_id IS NOT NULL AND via_group_name IS NOT NULL GROUP BY campaign_id, via_group_id;

ALTER TABLE review_cases DROP COLUMN account_login;
ALTER TABLE review_cases DROP COLUMN target_label;
ALTER TABLE review_cases DROP COLUMN via_group_name;
ALTER TABLE review_cases DROP COLUMN mfa;
ALTER TABLE review_cases DROP COLUMN department;

-- A case with its context, as reviewers, reports and the API see it.
CREATE VIEW review_case_details AS
SELECT c.id, c.campaign_id, c.stage, c.edge, c.account_id,
       COALESCE(p.login, c.account_id) AS account_login,
       c.target_id, COALESCE(t.label, c.target_id) AS target_label,
       c.via_group_id, g.label AS via_group_name, c.last_used_at,
       COALESCE(p.mfa, 'unknown') AS mfa, p.department, c.reviewers,
       c.decision, c.comment, c.decided_by, c.decided_at, c.remediation, c.remediated_at
FROM review_cases c
LEFT JOIN review_people p ON p.campaign_id = c.campaign_id AND p.account_id = c.account_id
LEFT JOIN review_labels t ON t.campaign_id = c.campaign_id AND t.id = c.target_id
LEFT JOIN review_labels g ON g.campaign_id = c.campaign_id AND g.id = c.via_group_id;
