CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT INTO counters (name, value) VALUES ('seq', 0);
CREATE TABLE experts (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_salt TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    expertise TEXT NOT NULL,
    attestations TEXT NOT NULL,
    senior_reviewer INTEGER NOT NULL,
    timezone TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE tokens (
    id TEXT PRIMARY KEY,
    expert_id TEXT NOT NULL REFERENCES experts(id),
    token_hash TEXT NOT NULL UNIQUE,
    label TEXT,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE TABLE rubrics (
    id TEXT NOT NULL,
    version INTEGER NOT NULL,
    document TEXT NOT NULL,
    PRIMARY KEY (id, version)
);
CREATE TABLE opportunities (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    rubric_id TEXT NOT NULL,
    rubric_version INTEGER NOT NULL,
    licence_category TEXT NOT NULL,
    buyer TEXT NOT NULL,
    FOREIGN KEY (rubric_id, rubric_version) REFERENCES rubrics(id, version)
);
CREATE TABLE rates (
    opportunity_id TEXT NOT NULL REFERENCES opportunities(id),
    basis TEXT NOT NULL,
    amount_cents INTEGER NOT NULL,
    currency TEXT NOT NULL,
    effective_from TEXT NOT NULL
);
CREATE TABLE blobs (
    sha256 TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    media_type TEXT NOT NULL
);
CREATE TABLE items (
    id TEXT PRIMARY KEY,
    opportunity_id TEXT NOT NULL REFERENCES opportunities(id),
    title TEXT NOT NULL,
    fields TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE item_blobs (
    item_id TEXT NOT NULL REFERENCES items(id),
    sha256 TEXT NOT NULL REFERENCES blobs(sha256),
    PRIMARY KEY (item_id, sha256)
);
CREATE TABLE assignments (
    id TEXT PRIMARY KEY,
    expert_id TEXT NOT NULL REFERENCES experts(id),
    item_id TEXT NOT NULL REFERENCES items(id),
    opportunity_id TEXT NOT NULL,
    rubric_id TEXT NOT NULL,
    rubric_version INTEGER NOT NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    assigned_at TEXT NOT NULL,
    lease_expires_at TEXT NOT NULL,
    due_at TEXT NOT NULL,
    review_of_submission_id TEXT,
    seq INTEGER NOT NULL UNIQUE
);
CREATE INDEX assignments_expert_seq ON assignments (expert_id, seq);
CREATE TABLE submissions (
    id TEXT PRIMARY KEY,
    assignment_id TEXT NOT NULL REFERENCES assignments(id),
    expert_id TEXT NOT NULL REFERENCES experts(id),
    item_id TEXT NOT NULL,
    opportunity_id TEXT NOT NULL,
    rubric_id TEXT NOT NULL,
    rubric_version INTEGER NOT NULL,
    answers TEXT NOT NULL,
    active_seconds INTEGER NOT NULL,
    time_log TEXT NOT NULL,
    client_created_at TEXT NOT NULL,
    received_at TEXT NOT NULL,
    status TEXT NOT NULL,
    feedback TEXT,
    decided_at TEXT,
    outcome_seq INTEGER NOT NULL UNIQUE
);
CREATE INDEX submissions_expert_seq ON submissions (expert_id, outcome_seq);
CREATE TABLE reviews (
    id TEXT PRIMARY KEY,
    assignment_id TEXT NOT NULL REFERENCES assignments(id),
    reviewer_id TEXT NOT NULL REFERENCES experts(id),
    submission_id TEXT NOT NULL REFERENCES submissions(id),
    decision TEXT NOT NULL,
    feedback TEXT,
    active_seconds INTEGER NOT NULL,
    received_at TEXT NOT NULL
);
CREATE TABLE payouts (
    id TEXT PRIMARY KEY,
    expert_id TEXT NOT NULL REFERENCES experts(id),
    amount_cents INTEGER NOT NULL,
    currency TEXT NOT NULL,
    paid_at TEXT NOT NULL,
    method TEXT NOT NULL
);
CREATE TABLE ledger (
    id TEXT PRIMARY KEY,
    expert_id TEXT NOT NULL REFERENCES experts(id),
    submission_id TEXT NOT NULL REFERENCES submissions(id),
    assignment_id TEXT NOT NULL,
    item_id TEXT NOT NULL,
    opportunity_id TEXT NOT NULL,
    amount_cents INTEGER NOT NULL,
    currency TEXT NOT NULL,
    status TEXT NOT NULL,
    payout_id TEXT REFERENCES payouts(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    seq INTEGER NOT NULL UNIQUE
);
CREATE INDEX ledger_expert_seq ON ledger (expert_id, seq);
CREATE TABLE idempotency (
    expert_id TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    response TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (expert_id, endpoint, key)
);
