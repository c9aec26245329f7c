-- `item_attachment_lists` becomes an ordinary (rowid) table. As a WITHOUT
-- ROWID table its rows lived in the primary key's own b-tree, whose cells
-- keep at most about 1 KB on their page: a list longer than that (3.7 KB on
-- average for the demo's scans, up to 46 KB) spilled onto overflow pages,
-- and every key comparison against such a row on the way to an item's list
-- copied the whole row, overflow pages included (SQLite's own advice is
-- WITHOUT ROWID only for rows well under a twentieth of a page). Now the
-- key's index holds only the assignment ids and a row stays on one page up
-- to about 4 KB.
CREATE TABLE item_attachment_lists_rowid (
    assignment_id TEXT PRIMARY KEY REFERENCES assignments(id),
    refs_json TEXT NOT NULL
);
INSERT INTO item_attachment_lists_rowid (assignment_id, refs_json)
SELECT assignment_id, refs_json FROM item_attachment_lists;
DROP TABLE item_attachment_lists;
ALTER TABLE item_attachment_lists_rowid RENAME TO item_attachment_lists;
