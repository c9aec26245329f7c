-- Items, attachments and rubrics the platform sent in a form the client
-- refuses (hash mismatch, oversized, malformed): quarantined one by one,
-- retried with backoff, shown in the sync status with the reason.
CREATE TABLE quarantine (
    kind TEXT NOT NULL,            -- 'item' | 'attachment' | 'rubric'
    key TEXT NOT NULL,             -- assignment id | sha256 | 'rubric_id@version'
    label TEXT NOT NULL,           -- what the reviewer recognises (title, file name)
    reason TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at TEXT NOT NULL,
    first_failed_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (kind, key)
);
