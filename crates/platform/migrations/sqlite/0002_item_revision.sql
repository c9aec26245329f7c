-- Items can be re-published with new content (admin `items/{id}/content`).
ALTER TABLE items ADD COLUMN revision INTEGER NOT NULL DEFAULT 1;
