-- Issue 9: how many answers without an image (Gemini's NO_IMAGE) the provider gave for a job,
-- counted by the worker as they arrive (each retried attempt, and a last one that failed the
-- job); the stats sum it per slot and provider for the dashboard's health badge.
ALTER TABLE job ADD COLUMN no_image_count integer NOT NULL DEFAULT 0
    CONSTRAINT job_no_image_count_not_negative CHECK (no_image_count >= 0);

-- The stats read a window from job_created_idx alone (index-only scan, migration 0006): the
-- index now carries the count as well. Built under its final name after dropping the old one,
-- inside the migration's transaction.
DROP INDEX job_created_idx;
CREATE INDEX job_created_idx ON job (created_at, id)
    INCLUDE (slot_id, provider, is_finalized, failure_reason, finalized_at, is_test,
             no_image_count);
