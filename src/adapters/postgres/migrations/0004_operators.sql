-- The operator side (SPEC §10): administrator accounts and the audit trail of every change.

CREATE TABLE administrator (
    username       text PRIMARY KEY CHECK (username ~ '^[a-z0-9][a-z0-9._-]{0,63}$'),
    password_hash  text NOT NULL CHECK (length(password_hash) > 0),
    role           text NOT NULL CHECK (role IN ('admin', 'viewer')),
    created_at     timestamptz NOT NULL,
    last_login_at  timestamptz
);

-- Who changed what, when, before → after. Never a secret: the writers record only that a
-- password changed, never a value or hash.
CREATE TABLE audit_log (
    id      bigserial PRIMARY KEY,
    at      timestamptz NOT NULL,
    actor   text NOT NULL,
    action  text NOT NULL,
    target  text NOT NULL,
    before  jsonb,
    after   jsonb
);

-- The console pages the log newest first (keyset on at, id).
CREATE INDEX audit_log_newest_idx ON audit_log (at DESC, id DESC);
