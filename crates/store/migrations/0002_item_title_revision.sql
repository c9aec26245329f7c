-- The item's title as the assignment feed reports it, so the queue names
-- work whose item is not (or no longer) downloaded.
ALTER TABLE assignments ADD COLUMN item_title TEXT NOT NULL DEFAULT '';
-- The platform re-publishes an item with new content by bumping its
-- revision; a stored item older than its assignment's revision is re-fetched.
ALTER TABLE assignments ADD COLUMN item_revision INTEGER NOT NULL DEFAULT 1;
ALTER TABLE items_scoped ADD COLUMN item_revision INTEGER NOT NULL DEFAULT 1;
