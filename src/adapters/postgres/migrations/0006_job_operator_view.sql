-- What the operator's job view and stats need (issue 8). Test runs are marked so that they
-- stay out of counts and stats; a provider failure keeps a short detail (the provider's own
-- message as the adapter reported it: never a key, capped by the application and here).
ALTER TABLE job ADD COLUMN is_test boolean NOT NULL DEFAULT false;
ALTER TABLE job ADD COLUMN failure_detail text
    CONSTRAINT job_failure_detail_short CHECK (length(failure_detail) <= 500);

-- Stats over a window, today's counts and the newest-first job list (keyset by created_at,
-- id): one index range on created_at, answered from the index alone (index-only scan) since
-- it carries every column those queries read.
CREATE INDEX job_created_idx ON job (created_at, id)
    INCLUDE (slot_id, provider, is_finalized, failure_reason, finalized_at, is_test);
-- The job list filtered by slot, newest first.
CREATE INDEX job_slot_created_idx ON job (slot_id, created_at, id);
-- A slot's recent results (gallery): newest results still on disk (purge clears the path).
CREATE INDEX job_slot_results_idx ON job (slot_id, finalized_at)
    WHERE result_file_path IS NOT NULL AND NOT is_test;
