-- The fifteen static slots (SPEC §2) and the default settings. slot-001 works out of the box
-- with the offline local provider; the others wait for an operator to configure them.

INSERT INTO slot (id, name, provider, operation, settings, is_active, created_at, updated_at)
SELECT 'slot-' || lpad(n::text, 3, '0'),
       'Slot ' || n,
       'local',
       'grayscale',
       '{}'::jsonb,
       n = 1,
       now(),
       now()
FROM generate_series(1, 15) AS n
ON CONFLICT (id) DO NOTHING;

-- ingest.password_hash is deliberately absent: it is set once by an administrator.
INSERT INTO app_settings (key, value, updated_at, updated_by) VALUES
    ('ingest.sync_response_timeout_sec', '48'::jsonb, now(), 'migration'),
    ('media.result_retention_sec', '259200'::jsonb, now(), 'migration')
ON CONFLICT (key) DO NOTHING;
