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
