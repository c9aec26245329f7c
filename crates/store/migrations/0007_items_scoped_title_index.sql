-- The queue reads each item's title (and whether it is downloaded) from
-- this covering index instead of the item rows, which hold the whole
-- scoped content (kilobytes each: 10,000 items are tens of megabytes).
CREATE INDEX items_scoped_title ON items_scoped(assignment_id, title);
