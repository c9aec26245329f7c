-- Idle waiting. Time the reviewer was signed in and present with nothing
-- to work on (queue empty or everything submitted / expired): unpaid time.
CREATE TABLE waiting_spans (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at TEXT NOT NULL,
    ended_at TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);
CREATE INDEX waiting_spans_started ON waiting_spans(started_at);
