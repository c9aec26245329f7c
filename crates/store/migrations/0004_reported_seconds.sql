-- The active seconds a submission reported, as the platform's outcome
-- feed tells it (work graded on another device has no local time log).
ALTER TABLE submissions ADD COLUMN reported_seconds INTEGER;
