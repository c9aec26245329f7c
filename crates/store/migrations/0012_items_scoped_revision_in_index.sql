-- Every pull asks which active assignments lack their item or hold an
-- older revision of it. `item_revision` was read from the item rows, so
-- the question read each stored item's page (its scoped content,
-- kilobytes each): at 10,000 items a pull that fetched nothing went
-- through about 12 MB of the store. The queue's covering index now carries
-- the revision too, and the question is answered from the index alone.
DROP INDEX items_scoped_title;
CREATE INDEX items_scoped_title ON items_scoped(assignment_id, title, item_revision);
