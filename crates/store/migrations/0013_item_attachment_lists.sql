-- An item's attachment references were a row each in `item_attachments`
-- (a table and its primary-key index, 52,600 rows for 10,000 items), each
-- item's rows deleted and inserted again whenever it was stored. They are
-- now one row per item that has
-- any: its references as a JSON array (each an `AttachmentRef`: sha256,
-- size, media_type, filename; one per digest), in a table apart from the
-- item rows so that finding the missing attachments never reads the items'
-- content.
CREATE TABLE item_attachment_lists (
    assignment_id TEXT PRIMARY KEY REFERENCES assignments(id),
    refs_json TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO item_attachment_lists (assignment_id, refs_json)
SELECT assignment_id,
       json_group_array(json_object('sha256', sha256, 'size', max(size, 0),
                                    'media_type', media_type, 'filename', filename))
FROM item_attachments GROUP BY assignment_id;
DROP TABLE item_attachments;
