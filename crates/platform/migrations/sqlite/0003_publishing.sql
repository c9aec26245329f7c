-- Publishing: tokens carry a role; opportunities keep their published spec
-- (card + assignment policy); imported items have an external id and pin
-- the rubric version they were checked against.
ALTER TABLE tokens ADD COLUMN role TEXT NOT NULL DEFAULT 'expert';
ALTER TABLE experts ADD COLUMN role TEXT NOT NULL DEFAULT 'expert';
ALTER TABLE opportunities ADD COLUMN spec TEXT;
ALTER TABLE items ADD COLUMN external_id TEXT;
ALTER TABLE items ADD COLUMN rubric_id TEXT;
ALTER TABLE items ADD COLUMN rubric_version INTEGER;
CREATE UNIQUE INDEX items_external_id ON items (opportunity_id, external_id)
    WHERE external_id IS NOT NULL;
