-- No query reads item_attachments by sha256 alone (the missing-attachment
-- list and the status bar's count scan the primary key and look blobs up by
-- their own key; their plans never used this index), yet every stored item
-- inserted into it: its ~300 distinct leaf pages, one run per attachment,
-- were rewritten into the WAL by every batch of a bulk pull (a sixth of all
-- the bytes a 10,000-item pull wrote).
DROP INDEX IF EXISTS item_attachments_sha;
