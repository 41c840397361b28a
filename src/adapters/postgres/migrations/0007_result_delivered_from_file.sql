-- Issue 10: the waiting request now reads the result from the file the worker wrote on
-- MEDIA_ROOT (which API and workers share anyway: the photo crosses it the other way, and
-- GET /public/results serves from it), so the job row no longer carries a base64 copy of the
-- image. Measured with a 0.7 MB result: 21-23 ms of PostgreSQL CPU per ingest through the row
-- as base64 text, 9 ms as bytea, 2-4 ms with no copy. SPEC §2's rule "the result is in the row
-- only while the request waits" holds trivially. Copies left in the row by requests that
-- crashed before delivery go with the column (and its partial index job_inline_result_idx).
ALTER TABLE job DROP COLUMN result_inline_base64;
