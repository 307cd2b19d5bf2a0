-- +goose Up
-- People who use the portal, and the certificates they sign in with.
CREATE TABLE accounts (
    id                BIGSERIAL   PRIMARY KEY,
    role              TEXT        NOT NULL,
    domain            TEXT        NOT NULL,
    display_name      TEXT        NOT NULL,
    email             TEXT        NOT NULL,
    phone             TEXT        NOT NULL DEFAULT '',
    court             TEXT        NOT NULL DEFAULT '',
    bar               TEXT        NOT NULL DEFAULT '',
    cnbf              TEXT        NOT NULL DEFAULT '',
    specialties       TEXT        NOT NULL DEFAULT '',
    national_list     BOOLEAN     NOT NULL DEFAULT FALSE,
    terms_version     TEXT        NOT NULL DEFAULT '',
    terms_accepted_at TIMESTAMPTZ,
    suspended_at      TIMESTAMPTZ,
    suspended_reason  TEXT        NOT NULL DEFAULT '',
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL
);
CREATE INDEX accounts_role ON accounts (role);
CREATE INDEX accounts_email ON accounts (lower(email));

-- A certificate belongs to one account at most: the unique fingerprint
-- makes two simultaneous registrations of one certificate give one account.
CREATE TABLE account_certificates (
    id           BIGSERIAL   PRIMARY KEY,
    account_id   BIGINT      NOT NULL REFERENCES accounts (id),
    fingerprint  TEXT        NOT NULL UNIQUE,
    issuer       TEXT        NOT NULL,
    serial       TEXT        NOT NULL,
    subject      TEXT        NOT NULL,
    not_after    TIMESTAMPTZ NOT NULL,
    added_at     TIMESTAMPTZ NOT NULL,
    removed_at   TIMESTAMPTZ,
    last_used_at TIMESTAMPTZ
);
CREATE INDEX account_certificates_account ON account_certificates (account_id);

CREATE TABLE logins (
    id          BIGSERIAL   PRIMARY KEY,
    account_id  BIGINT      NOT NULL REFERENCES accounts (id),
    fingerprint TEXT        NOT NULL,
    issuer      TEXT        NOT NULL,
    serial      TEXT        NOT NULL,
    remote_addr TEXT        NOT NULL,
    at          TIMESTAMPTZ NOT NULL
);
CREATE INDEX logins_account ON logins (account_id, at);

-- +goose Down
DROP TABLE logins;
DROP TABLE account_certificates;
DROP TABLE accounts;
