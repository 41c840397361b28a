-- Back-pressure in one statement: ``INSERT … WHERE photochanger_admit_job(limit)``.
-- The advisory lock serializes admissions until the inserting statement commits, and the
-- count runs inside this VOLATILE function, so (READ COMMITTED) it takes a fresh snapshot
-- after the lock: every admission committed before ours is counted and the limit is exact,
-- without holding a lock across client round trips.
CREATE OR REPLACE FUNCTION photochanger_admit_job(max_unfinished integer)
RETURNS boolean
LANGUAGE plpgsql
VOLATILE
AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(5793955036235133025);  -- "PhChcapa"
    RETURN (SELECT count(*) FROM job WHERE NOT is_finalized) < max_unfinished;
END
$$;
