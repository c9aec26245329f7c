-- Items' scoped JSON is written LZ4-compressed from this version on: a BLOB
-- in `items_scoped.scoped_json` (see crates/store/src/packed.rs); rows
-- written before stay JSON text and are read as they are. Nothing in the
-- schema changes; the version does, so that an older Assay, which can read
-- only the text, refuses this store as newer instead of failing on each item.
SELECT 1;
