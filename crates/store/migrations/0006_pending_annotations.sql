-- Annotations begun but not added yet (a typed diff comment, a drawn
-- scan region) are part of the durable draft: JSON array, NULL = none.
-- The reviewer's own latest submission as the platform serves it with
-- the item (for work submitted from another device).
ALTER TABLE drafts ADD COLUMN pending_json TEXT;
ALTER TABLE items_scoped ADD COLUMN own_submission_json TEXT;
