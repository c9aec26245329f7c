-- An item changes its queue row only through its title: the queue shows the
-- item's title when it has one, else the assignment's (`queue_sql`), and
-- nothing else the queue's index keeps comes from the item. Storing an item
-- whose title is its assignment's own, or none, leaves the row as it was;
-- a pull does that for every item, and each mark had the row derived again
-- (10,000 rows after a 10,000-item pull, already derived from the
-- assignments). Only an item that retitles its row marks it now.
DROP TRIGGER queue_dirty_item_insert;
DROP TRIGGER queue_dirty_item_delete;
CREATE TRIGGER queue_dirty_item_insert AFTER INSERT ON items_scoped
WHEN NEW.title <> ''
  AND NEW.title IS NOT (SELECT item_title FROM assignments WHERE id = NEW.assignment_id) BEGIN
    INSERT INTO queue_mark VALUES (NEW.assignment_id);
END;
CREATE TRIGGER queue_dirty_item_delete AFTER DELETE ON items_scoped
WHEN OLD.title <> ''
  AND OLD.title IS NOT (SELECT item_title FROM assignments WHERE id = OLD.assignment_id) BEGIN
    INSERT INTO queue_mark VALUES (OLD.assignment_id);
END;
