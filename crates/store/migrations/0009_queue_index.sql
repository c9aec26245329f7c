-- The queue's index: one row per assignment the queue shows, holding what
-- the queue filters and orders by, so that a window of it is read in the
-- order asked for instead of building the whole queue
-- (`crates/store/src/queue_index.rs`). Time changes a status only when a
-- lease ends, so each row keeps its status before its lease's end and
-- from then on; the window picks one by the clock.
--
-- The triggers below mark every assignment whose row may have changed in
-- `queue_dirty`, whichever code (or process) wrote (never with OR IGNORE:
-- inside a trigger, an upsert's conflict handling replaces it); the next read derives
-- the marked rows again in Rust (`Store::refresh_queue_index`). Pay is not
-- kept: it is the opportunity's latest rate, read when ordering by pay, for
-- the kinds of work that earn it (`earns_rate`).
CREATE TABLE queue_index (
    assignment_id TEXT PRIMARY KEY,
    -- The title of the row's group: its opportunity's title, else its id.
    group_title TEXT NOT NULL,
    opportunity_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    earns_rate INTEGER NOT NULL,
    -- Lease end and due date in nanoseconds since 1970 (saturated).
    lease_ns INTEGER NOT NULL,
    due_ns INTEGER NOT NULL,
    -- Positions in `QueueStatus::ALL`: before the lease's end, and from it on.
    status_live INTEGER NOT NULL,
    status_lapsed INTEGER NOT NULL,
    title TEXT NOT NULL,
    -- Lower-cased, for search: title, item id, assignment id, opportunity title.
    search_title TEXT NOT NULL,
    search_item TEXT NOT NULL,
    search_assignment TEXT NOT NULL,
    search_opportunity TEXT
) WITHOUT ROWID;
CREATE INDEX queue_index_due ON queue_index(group_title, opportunity_id, due_ns, assignment_id);
CREATE INDEX queue_index_lease ON queue_index(group_title, opportunity_id, lease_ns, assignment_id);
CREATE INDEX queue_index_title ON queue_index(group_title, opportunity_id, title, assignment_id);
-- What the queue's counts read, in the order of its groups.
CREATE INDEX queue_index_counts ON queue_index(group_title, opportunity_id, lease_ns,
    status_live, status_lapsed, kind);
-- The next lease end after a moment: until then, no status changes.
CREATE INDEX queue_index_lease_end ON queue_index(lease_ns);

-- Counts of the queue derived in a process stay good while this is
-- unchanged: every refresh that derived rows again adds one, whichever
-- process ran it.
CREATE TABLE queue_generation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n INTEGER NOT NULL
);
INSERT INTO queue_generation (id, n) VALUES (1, 0);

CREATE TABLE queue_dirty (assignment_id TEXT PRIMARY KEY) WITHOUT ROWID;
-- A store from before this migration: every row is derived on first use.
INSERT INTO queue_dirty (assignment_id) SELECT id FROM assignments;

-- Marking an assignment: inserting it here adds it to `queue_dirty` once.
CREATE VIEW queue_mark (assignment_id) AS SELECT assignment_id FROM queue_dirty;
CREATE TRIGGER queue_mark_insert INSTEAD OF INSERT ON queue_mark BEGIN
    INSERT INTO queue_dirty (assignment_id) SELECT NEW.assignment_id
        WHERE NOT EXISTS (SELECT 1 FROM queue_dirty WHERE assignment_id = NEW.assignment_id);
END;

-- The assignment itself: its state, lease, due date, title, opportunity, issue.
CREATE TRIGGER queue_dirty_assignment_insert AFTER INSERT ON assignments BEGIN
    INSERT INTO queue_mark VALUES (NEW.id);
END;
CREATE TRIGGER queue_dirty_assignment_update AFTER UPDATE ON assignments BEGIN
    INSERT INTO queue_mark VALUES (NEW.id);
    INSERT INTO queue_mark VALUES (OLD.id);
END;
CREATE TRIGGER queue_dirty_assignment_delete AFTER DELETE ON assignments BEGIN
    INSERT INTO queue_mark VALUES (OLD.id);
END;

-- The item: whether it is stored, and its title.
CREATE TRIGGER queue_dirty_item_insert AFTER INSERT ON items_scoped BEGIN
    INSERT INTO queue_mark VALUES (NEW.assignment_id);
END;
CREATE TRIGGER queue_dirty_item_title AFTER UPDATE OF title ON items_scoped
WHEN OLD.title IS NOT NEW.title BEGIN
    INSERT INTO queue_mark VALUES (NEW.assignment_id);
END;
CREATE TRIGGER queue_dirty_item_delete AFTER DELETE ON items_scoped BEGIN
    INSERT INTO queue_mark VALUES (OLD.assignment_id);
END;

-- The draft: whether there is one, and whether it is ready.
CREATE TRIGGER queue_dirty_draft_insert AFTER INSERT ON drafts BEGIN
    INSERT INTO queue_mark VALUES (NEW.assignment_id);
END;
CREATE TRIGGER queue_dirty_draft_ready AFTER UPDATE OF ready ON drafts
WHEN OLD.ready IS NOT NEW.ready BEGIN
    INSERT INTO queue_mark VALUES (NEW.assignment_id);
END;
CREATE TRIGGER queue_dirty_draft_delete AFTER DELETE ON drafts BEGIN
    INSERT INTO queue_mark VALUES (OLD.assignment_id);
END;

-- The outbox: the latest entry's state.
CREATE TRIGGER queue_dirty_outbox_insert AFTER INSERT ON outbox BEGIN
    INSERT INTO queue_mark VALUES (NEW.assignment_id);
END;
CREATE TRIGGER queue_dirty_outbox_state AFTER UPDATE OF state ON outbox
WHEN OLD.state IS NOT NEW.state BEGIN
    INSERT INTO queue_mark VALUES (NEW.assignment_id);
END;
CREATE TRIGGER queue_dirty_outbox_delete AFTER DELETE ON outbox BEGIN
    INSERT INTO queue_mark VALUES (OLD.assignment_id);
END;

-- Submissions: the latest one's outcome.
CREATE TRIGGER queue_dirty_submission_insert AFTER INSERT ON submissions BEGIN
    INSERT INTO queue_mark VALUES (NEW.assignment_id);
END;
CREATE TRIGGER queue_dirty_submission_update AFTER UPDATE ON submissions
WHEN OLD.status IS NOT NEW.status OR OLD.received_at IS NOT NEW.received_at
  OR OLD.assignment_id IS NOT NEW.assignment_id BEGIN
    INSERT INTO queue_mark VALUES (NEW.assignment_id);
    INSERT INTO queue_mark VALUES (OLD.assignment_id);
END;
CREATE TRIGGER queue_dirty_submission_delete AFTER DELETE ON submissions BEGIN
    INSERT INTO queue_mark VALUES (OLD.assignment_id);
END;

-- The opportunity's title: the group title and what search matches.
CREATE TRIGGER queue_dirty_opportunity_insert AFTER INSERT ON opportunities BEGIN
    INSERT INTO queue_mark SELECT id FROM assignments WHERE opportunity_id = NEW.id;
END;
CREATE TRIGGER queue_dirty_opportunity_title AFTER UPDATE ON opportunities
WHEN OLD.title IS NOT NEW.title OR OLD.id IS NOT NEW.id BEGIN
    INSERT INTO queue_mark SELECT id FROM assignments WHERE opportunity_id IN (NEW.id, OLD.id);
END;
CREATE TRIGGER queue_dirty_opportunity_delete AFTER DELETE ON opportunities BEGIN
    INSERT INTO queue_mark SELECT id FROM assignments WHERE opportunity_id = OLD.id;
END;
