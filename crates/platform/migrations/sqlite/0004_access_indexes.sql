-- An expert's access to an item (GET /items/{id}) and to its blobs is decided
-- by their newest live assignment of that item: one index seek per request,
-- not a walk through all of the expert's assignments (quadratic over a pull).
CREATE INDEX assignments_item_expert_seq ON assignments (item_id, expert_id, seq);
CREATE INDEX item_blobs_sha ON item_blobs (sha256);
