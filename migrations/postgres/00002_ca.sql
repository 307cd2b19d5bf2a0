-- +goose Up
-- Sceau's certificate authority: what step-ca stores, in our own tables.
CREATE TABLE ca_certificates (
    serial      TEXT        PRIMARY KEY,
    profile     TEXT        NOT NULL,
    subject     TEXT        NOT NULL,
    email       TEXT        NOT NULL DEFAULT '',
    not_before  TIMESTAMPTZ NOT NULL,
    not_after   TIMESTAMPTZ NOT NULL,
    fingerprint TEXT        NOT NULL UNIQUE,
    der         BYTEA       NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX ca_certificates_not_after ON ca_certificates (not_after);

CREATE TABLE ca_revocations (
    serial         TEXT        PRIMARY KEY,
    reason_code    INTEGER     NOT NULL,
    reason         TEXT        NOT NULL DEFAULT '',
    revoked_at     TIMESTAMPTZ NOT NULL,
    expires_at     TIMESTAMPTZ,
    provisioner_id TEXT        NOT NULL DEFAULT '',
    token_id       TEXT        NOT NULL DEFAULT ''
);
CREATE INDEX ca_revocations_revoked_at ON ca_revocations (revoked_at);

-- One row per spent one-time token: the primary key refuses a replay
-- atomically, whichever instance tries it.
CREATE TABLE ca_used_tokens (
    id         TEXT        PRIMARY KEY,
    used_at    TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE ca_crls (
    number      BIGINT      PRIMARY KEY,
    this_update TIMESTAMPTZ NOT NULL,
    next_update TIMESTAMPTZ NOT NULL,
    duration    BIGINT      NOT NULL,
    der         BYTEA       NOT NULL
);

-- +goose Down
DROP TABLE ca_crls;
DROP TABLE ca_used_tokens;
DROP TABLE ca_revocations;
DROP TABLE ca_certificates;
