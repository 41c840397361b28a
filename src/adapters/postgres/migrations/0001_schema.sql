-- PhotoChanger schema (SPEC §2). Every timestamp is timestamptz written by the application,
-- so tests control time; the job row is both the record of an ingest and the work queue.

CREATE TABLE slot (
    id          text PRIMARY KEY CHECK (id ~ '^slot-[0-9]{3}$'),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    provider    text NOT NULL,
    operation   text NOT NULL,
    settings    jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(settings) = 'object'),
    is_active   boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL  -- also the optimistic-locking version
);

CREATE TABLE job (
    id                      uuid PRIMARY KEY,
    slot_id                 text NOT NULL REFERENCES slot (id),
    provider                text NOT NULL,
    operation               text NOT NULL,
    settings                jsonb NOT NULL DEFAULT '{}'::jsonb,
    status                  text NOT NULL DEFAULT 'pending'
                            CHECK (status IN ('pending', 'processing')),
    is_finalized            boolean NOT NULL DEFAULT false,
    failure_reason          text CHECK (failure_reason IN ('timeout', 'provider_error', 'cancelled')),
    finalized_at            timestamptz,
    expires_at              timestamptz NOT NULL,
    payload_path            text,
    payload_mime            text,
    payload_size_bytes      bigint CHECK (payload_size_bytes >= 0),
    payload_sha256          text,
    payload_expires_at      timestamptz,
    metadata                jsonb NOT NULL DEFAULT '{}'::jsonb,
    provider_job_reference  text,
    result_file_path        text,
    result_mime_type        text,
    result_size_bytes       bigint CHECK (result_size_bytes >= 0),
    result_checksum         text,
    result_expires_at       timestamptz,
    result_inline_base64    text,
    lease_owner             text,
    lease_expires_at        timestamptz,
    attempts                integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    result_retention_sec    double precision NOT NULL DEFAULT 259200
                            CHECK (result_retention_sec > 0),
    created_at              timestamptz NOT NULL,
    updated_at              timestamptz NOT NULL,
    -- One final state, recorded once: finalized exactly when finalized_at is set.
    CONSTRAINT job_finalized_iff_finalized_at CHECK (is_finalized = (finalized_at IS NOT NULL)),
    CONSTRAINT job_failure_reason_only_when_finalized CHECK (is_finalized OR failure_reason IS NULL),
    -- A result belongs to a successful job only.
    CONSTRAINT job_result_only_on_success
        CHECK (result_mime_type IS NULL OR (is_finalized AND failure_reason IS NULL)),
    -- A processing job always carries a lease, so a dead worker's job can be re-claimed.
    CONSTRAINT job_processing_has_lease
        CHECK (is_finalized OR status = 'pending' OR lease_expires_at IS NOT NULL),
    CONSTRAINT job_finalized_has_no_lease CHECK (NOT is_finalized OR lease_owner IS NULL)
);

-- The queue: unfinalized jobs in arrival order (claim, capacity count, expiry sweep).
CREATE INDEX job_queue_idx ON job (created_at) WHERE NOT is_finalized;
-- Cleanup: payloads still on disk, results still on disk, inline results not yet dropped.
CREATE INDEX job_payload_path_idx ON job (payload_path) WHERE payload_path IS NOT NULL;
CREATE INDEX job_result_expiry_idx ON job (result_expires_at) WHERE result_file_path IS NOT NULL;
CREATE INDEX job_result_path_idx ON job (result_file_path) WHERE result_file_path IS NOT NULL;
CREATE INDEX job_inline_result_idx ON job (expires_at) WHERE result_inline_base64 IS NOT NULL;

CREATE TABLE app_settings (
    key         text PRIMARY KEY,
    value       jsonb,
    updated_at  timestamptz NOT NULL,
    updated_by  text NOT NULL
);

CREATE TABLE media_object (
    id          uuid PRIMARY KEY,
    job_id      uuid NOT NULL REFERENCES job (id) ON DELETE CASCADE,
    path        text,  -- NULL once the file is purged; the row stays so the link answers 410
    mime        text NOT NULL,
    size_bytes  bigint NOT NULL CHECK (size_bytes >= 0),
    expires_at  timestamptz NOT NULL,
    created_at  timestamptz NOT NULL
);

CREATE INDEX media_object_job_idx ON media_object (job_id);
CREATE INDEX media_object_live_idx ON media_object (expires_at) WHERE path IS NOT NULL;
CREATE INDEX media_object_path_idx ON media_object (path) WHERE path IS NOT NULL;

CREATE TABLE template_media (
    id           uuid PRIMARY KEY,
    path         text NOT NULL,
    mime         text NOT NULL,
    size_bytes   bigint NOT NULL CHECK (size_bytes >= 0),
    checksum     text NOT NULL,
    label        text NOT NULL,
    uploaded_by  text NOT NULL,
    created_at   timestamptz NOT NULL
);
