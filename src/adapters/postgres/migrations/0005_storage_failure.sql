-- A job can also end because its result could not be stored (MEDIA_ROOT full or not
-- writable): the worker finalizes it at once as 'storage_error' instead of letting it be
-- re-claimed until its deadline.
ALTER TABLE job DROP CONSTRAINT job_failure_reason_check;
ALTER TABLE job ADD CONSTRAINT job_failure_reason_check
    CHECK (failure_reason IN ('timeout', 'provider_error', 'cancelled', 'storage_error'));
