-- podsift schema, version 6: an insight keeps its id when its episode is extracted again
-- (matched by its quote), so votes and "already sent" survive a redo. One the redo no longer
-- gives is deleted, or, when it was sent or voted on, retired: kept with its votes, never a
-- candidate again.
ALTER TABLE insights ADD COLUMN retired_at BIGINT;
