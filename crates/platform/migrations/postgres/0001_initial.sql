-- The platform schema on PostgreSQL: the same tables as SQLite's
-- migrations 1-4, with timestamps as timestamptz. JSON documents are kept as
-- text (the platform never queries inside them).
CREATE TABLE counters (name TEXT PRIMARY KEY, value BIGINT NOT NULL);
INSERT INTO counters (name, value) VALUES ('seq', 0);
CREATE TABLE experts (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_salt TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    expertise TEXT NOT NULL,
    attestations TEXT NOT NULL,
    senior_reviewer BOOLEAN NOT NULL,
    timezone TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    role TEXT NOT NULL DEFAULT 'expert'
);
CREATE TABLE tokens (
    id TEXT PRIMARY KEY,
    expert_id TEXT NOT NULL REFERENCES experts(id),
    token_hash TEXT NOT NULL UNIQUE,
    label TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ,
    role TEXT NOT NULL DEFAULT 'expert'
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
    spec TEXT,
    FOREIGN KEY (rubric_id, rubric_version) REFERENCES rubrics(id, version)
);
CREATE TABLE rates (
    opportunity_id TEXT NOT NULL REFERENCES opportunities(id),
    basis TEXT NOT NULL,
    amount_cents BIGINT NOT NULL,
    currency TEXT NOT NULL,
    effective_from TIMESTAMPTZ NOT NULL
);
CREATE INDEX rates_opportunity ON rates (opportunity_id, effective_from);
CREATE TABLE blobs (
    sha256 TEXT PRIMARY KEY,
    size BIGINT NOT NULL,
    media_type TEXT NOT NULL
);
CREATE TABLE items (
    id TEXT PRIMARY KEY,
    opportunity_id TEXT NOT NULL REFERENCES opportunities(id),
    title TEXT NOT NULL,
    fields TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    revision INTEGER NOT NULL DEFAULT 1,
    external_id TEXT,
    rubric_id TEXT,
    rubric_version INTEGER
);
CREATE UNIQUE INDEX items_external_id ON items (opportunity_id, external_id)
    WHERE external_id IS NOT NULL;
CREATE INDEX items_opportunity ON items (opportunity_id, created_at, id);
CREATE TABLE item_blobs (
    item_id TEXT NOT NULL REFERENCES items(id),
    sha256 TEXT NOT NULL REFERENCES blobs(sha256),
    PRIMARY KEY (item_id, sha256)
);
CREATE INDEX item_blobs_sha ON item_blobs (sha256);
CREATE TABLE assignments (
    id TEXT PRIMARY KEY,
    expert_id TEXT NOT NULL REFERENCES experts(id),
    item_id TEXT NOT NULL REFERENCES items(id),
    opportunity_id TEXT NOT NULL,
    rubric_id TEXT NOT NULL,
    rubric_version INTEGER NOT NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    assigned_at TIMESTAMPTZ NOT NULL,
    lease_expires_at TIMESTAMPTZ NOT NULL,
    due_at TIMESTAMPTZ NOT NULL,
    review_of_submission_id TEXT,
    seq BIGINT NOT NULL UNIQUE
);
CREATE INDEX assignments_expert_seq ON assignments (expert_id, seq);
CREATE INDEX assignments_item_expert_seq ON assignments (item_id, expert_id, seq);
CREATE INDEX assignments_review_of ON assignments (review_of_submission_id)
    WHERE review_of_submission_id IS NOT NULL;
CREATE INDEX assignments_opportunity ON assignments (opportunity_id, kind);
CREATE TABLE submissions (
    id TEXT PRIMARY KEY,
    assignment_id TEXT NOT NULL REFERENCES assignments(id),
    expert_id TEXT NOT NULL REFERENCES experts(id),
    item_id TEXT NOT NULL,
    opportunity_id TEXT NOT NULL,
    rubric_id TEXT NOT NULL,
    rubric_version INTEGER NOT NULL,
    answers TEXT NOT NULL,
    active_seconds BIGINT NOT NULL,
    time_log TEXT NOT NULL,
    client_created_at TIMESTAMPTZ NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    status TEXT NOT NULL,
    feedback TEXT,
    decided_at TIMESTAMPTZ,
    outcome_seq BIGINT NOT NULL UNIQUE
);
CREATE INDEX submissions_expert_seq ON submissions (expert_id, outcome_seq);
CREATE INDEX submissions_assignment ON submissions (assignment_id);
CREATE TABLE reviews (
    id TEXT PRIMARY KEY,
    assignment_id TEXT NOT NULL REFERENCES assignments(id),
    reviewer_id TEXT NOT NULL REFERENCES experts(id),
    submission_id TEXT NOT NULL REFERENCES submissions(id),
    decision TEXT NOT NULL,
    feedback TEXT,
    active_seconds BIGINT NOT NULL,
    received_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE payouts (
    id TEXT PRIMARY KEY,
    expert_id TEXT NOT NULL REFERENCES experts(id),
    amount_cents BIGINT NOT NULL,
    currency TEXT NOT NULL,
    paid_at TIMESTAMPTZ NOT NULL,
    method TEXT NOT NULL
);
CREATE TABLE ledger (
    id TEXT PRIMARY KEY,
    expert_id TEXT NOT NULL REFERENCES experts(id),
    submission_id TEXT NOT NULL REFERENCES submissions(id),
    assignment_id TEXT NOT NULL,
    item_id TEXT NOT NULL,
    opportunity_id TEXT NOT NULL,
    amount_cents BIGINT NOT NULL,
    currency TEXT NOT NULL,
    status TEXT NOT NULL,
    payout_id TEXT REFERENCES payouts(id),
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    seq BIGINT NOT NULL UNIQUE
);
CREATE INDEX ledger_expert_seq ON ledger (expert_id, seq);
CREATE INDEX ledger_submission ON ledger (submission_id);
CREATE INDEX ledger_payout ON ledger (payout_id) WHERE payout_id IS NOT NULL;
CREATE TABLE idempotency (
    expert_id TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    response TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (expert_id, endpoint, key)
);
