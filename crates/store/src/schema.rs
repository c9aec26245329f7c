//! Embedded migrations, applied in one transaction and tracked in `PRAGMA user_version`.

use rusqlite::Connection;

use crate::error::{Result, StoreError};

/// Migrations in order; migration `i` brings the schema to version `i + 1`.
pub(crate) const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE opportunities (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    json TEXT NOT NULL
);

CREATE TABLE assignments (
    id TEXT PRIMARY KEY,
    item_id TEXT NOT NULL,
    opportunity_id TEXT NOT NULL,
    rubric_id TEXT NOT NULL,
    rubric_version INTEGER NOT NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    assigned_at TEXT NOT NULL,
    lease_expires_at TEXT NOT NULL,
    due_at TEXT NOT NULL,
    review_of_submission_id TEXT,
    seq INTEGER NOT NULL,
    orphaned INTEGER NOT NULL DEFAULT 0,
    -- outcome of the last failed push: 'lease_expired' | 'rubric_changed' | 'rejected_by_server'
    local_issue TEXT,
    local_issue_message TEXT,
    updated_at TEXT NOT NULL
);
CREATE INDEX assignments_due ON assignments(due_at, id);
CREATE INDEX assignments_item ON assignments(item_id);

CREATE TABLE items_scoped (
    assignment_id TEXT PRIMARY KEY REFERENCES assignments(id),
    item_id TEXT NOT NULL,
    title TEXT NOT NULL,
    scoped_json TEXT NOT NULL,
    reviewed_submission_json TEXT,
    fetched_at TEXT NOT NULL
);

CREATE TABLE rubrics (
    id TEXT NOT NULL,
    version INTEGER NOT NULL,
    json TEXT NOT NULL,
    PRIMARY KEY (id, version)
);

CREATE TABLE blobs (
    sha256 TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    stored_at TEXT NOT NULL
);

CREATE TABLE item_attachments (
    assignment_id TEXT NOT NULL REFERENCES assignments(id),
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    media_type TEXT NOT NULL,
    filename TEXT NOT NULL,
    PRIMARY KEY (assignment_id, sha256)
);
CREATE INDEX item_attachments_sha ON item_attachments(sha256);

CREATE TABLE drafts (
    assignment_id TEXT PRIMARY KEY,
    answers_json TEXT NOT NULL,
    revision INTEGER NOT NULL,
    ready INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL
);

CREATE TABLE time_sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    assignment_id TEXT NOT NULL,
    started_at TEXT NOT NULL,
    ended_at TEXT,
    corrected INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX time_sessions_assignment ON time_sessions(assignment_id, started_at);

CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    assignment_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    request_json TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error TEXT,
    state TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX outbox_assignment ON outbox(assignment_id, id);
CREATE INDEX outbox_due ON outbox(state, next_attempt_at);

CREATE TABLE submissions (
    submission_id TEXT PRIMARY KEY,
    assignment_id TEXT NOT NULL,
    outbox_id INTEGER,
    kind TEXT NOT NULL,
    received_at TEXT NOT NULL,
    status TEXT NOT NULL,
    feedback TEXT,
    decided_at TEXT
);
CREATE INDEX submissions_assignment ON submissions(assignment_id, received_at);

CREATE TABLE ledger (
    id TEXT PRIMARY KEY,
    submission_id TEXT NOT NULL,
    assignment_id TEXT NOT NULL,
    item_id TEXT NOT NULL,
    opportunity_id TEXT NOT NULL,
    amount_cents INTEGER NOT NULL,
    currency TEXT NOT NULL,
    status TEXT NOT NULL,
    payout_id TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    seq INTEGER NOT NULL
);
CREATE INDEX ledger_created ON ledger(created_at);

CREATE TABLE rate_card (
    opportunity_id TEXT NOT NULL,
    effective_from TEXT NOT NULL,
    basis TEXT NOT NULL,
    amount_cents INTEGER NOT NULL,
    currency TEXT NOT NULL,
    PRIMARY KEY (opportunity_id, effective_from)
);

CREATE TABLE payouts (
    id TEXT PRIMARY KEY,
    paid_at TEXT NOT NULL,
    json TEXT NOT NULL
);

CREATE TABLE cursors (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE sync_status (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    last_attempt_at TEXT,
    last_success_at TEXT,
    last_error TEXT
);
INSERT INTO sync_status (id) VALUES (1);
"#,
    r#"
-- The item's title as the assignment feed reports it, so the queue names
-- work whose item is not (or no longer) downloaded.
ALTER TABLE assignments ADD COLUMN item_title TEXT NOT NULL DEFAULT '';
-- The platform re-publishes an item with new content by bumping its
-- revision; a stored item older than its assignment's revision is re-fetched.
ALTER TABLE assignments ADD COLUMN item_revision INTEGER NOT NULL DEFAULT 1;
ALTER TABLE items_scoped ADD COLUMN item_revision INTEGER NOT NULL DEFAULT 1;
"#,
    // 3: idle waiting. Time the reviewer was signed in and present with nothing
    // to work on (queue empty or everything submitted / expired): unpaid time.
    r#"
CREATE TABLE waiting_spans (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at TEXT NOT NULL,
    ended_at TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);
CREATE INDEX waiting_spans_started ON waiting_spans(started_at);
"#,
    // 4: the active seconds a submission reported, as the platform's outcome
    // feed tells it (work graded on another device has no local time log).
    r#"
ALTER TABLE submissions ADD COLUMN reported_seconds INTEGER;
"#,
    // 5: items, attachments and rubrics the platform sent in a form the client
    // refuses (hash mismatch, oversized, malformed): quarantined one by one,
    // retried with backoff, shown in the sync status with the reason.
    r#"
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
"#,
    // 6: annotations begun but not added yet (a typed diff comment, a drawn
    // scan region) are part of the durable draft: JSON array, NULL = none.
    // The reviewer's own latest submission as the platform serves it with
    // the item (for work submitted from another device).
    r#"
ALTER TABLE drafts ADD COLUMN pending_json TEXT;
ALTER TABLE items_scoped ADD COLUMN own_submission_json TEXT;
"#,
    // 7: the queue reads each item's title (and whether it is downloaded) from
    // this covering index instead of the item rows, which hold the whole
    // scoped content (kilobytes each: 10,000 items are tens of megabytes).
    r#"
CREATE INDEX items_scoped_title ON items_scoped(assignment_id, title);
"#,
];

/// Schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Bring `conn` to [`SCHEMA_VERSION`], or refuse a database from a newer build.
pub(crate) fn migrate(conn: &mut Connection, path: &std::path::Path) -> Result<()> {
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema {
            path: path.to_path_buf(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    if found == SCHEMA_VERSION {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Exclusive)?;
    // `found` is in 0..SCHEMA_VERSION here, so the slice is in bounds.
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        tracing::info!(to_version = i + 1, "applying store migration");
        tx.execute_batch(sql)?;
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.commit()?;
    Ok(())
}
