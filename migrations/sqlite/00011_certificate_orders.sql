-- +goose Up
-- Litigant certificate orders (issue 7): the expert orders a certificate
-- for a party member or an outside sapiteur; the person collects it at
-- the retrieval counter with the emailed link and a collection code.
-- Only hashes of the link token and of the code are stored.
CREATE TABLE certificate_orders (
    id                INTEGER     PRIMARY KEY AUTOINCREMENT,
    case_id           INTEGER     NOT NULL REFERENCES cases (id),
    participant_id    INTEGER     NOT NULL REFERENCES participants (id),
    ordered_by        INTEGER     NOT NULL REFERENCES accounts (id),
    name              TEXT        NOT NULL,
    email             TEXT        NOT NULL,
    phone             TEXT        NOT NULL DEFAULT '',
    validity_days     INTEGER     NOT NULL CHECK (validity_days > 0),
    downloads_allowed INTEGER     NOT NULL CHECK (downloads_allowed > 0),
    downloads_used    INTEGER     NOT NULL DEFAULT 0 CHECK (downloads_used >= 0 AND downloads_used <= downloads_allowed),
    token_hash        TEXT        NOT NULL UNIQUE,
    link_expires_at   DATETIME    NOT NULL,
    code_salt         TEXT        NOT NULL,
    code_hash         TEXT        NOT NULL,
    form_nonce        TEXT        NOT NULL UNIQUE,
    failed_attempts   INTEGER     NOT NULL DEFAULT 0,
    locked_at         DATETIME   ,
    state             TEXT        NOT NULL CHECK (state IN ('open', 'collected', 'replaced', 'cancelled')),
    claim             TEXT        NOT NULL DEFAULT '',
    claim_until       DATETIME   ,
    created_at        DATETIME    NOT NULL,
    collected_at      DATETIME   ,
    collected_from    TEXT        NOT NULL DEFAULT '',
    closed_at         DATETIME   
);
CREATE INDEX certificate_orders_participant ON certificate_orders (participant_id);
CREATE INDEX certificate_orders_case ON certificate_orders (case_id);

-- The certificates collected under an order (one per allowed download).
-- revoke_due marks a certificate that must be revoked (participant
-- removed, case closed, re-issued, declared lost); the worker revokes it
-- at the CA and sets revoked_at, retrying until it succeeds.
CREATE TABLE collected_certificates (
    id               INTEGER     PRIMARY KEY AUTOINCREMENT,
    order_id         INTEGER     NOT NULL REFERENCES certificate_orders (id),
    case_id          INTEGER     NOT NULL REFERENCES cases (id),
    participant_id   INTEGER     NOT NULL REFERENCES participants (id),
    account_id       INTEGER     NOT NULL REFERENCES accounts (id),
    serial           TEXT        NOT NULL UNIQUE,
    fingerprint      TEXT        NOT NULL,
    not_after        DATETIME    NOT NULL,
    profile          TEXT        NOT NULL,
    collected_at     DATETIME    NOT NULL,
    collected_from   TEXT        NOT NULL DEFAULT '',
    revoke_due       DATETIME   ,
    revoke_reason    INTEGER     NOT NULL DEFAULT 0,
    revoked_at       DATETIME   ,
    expiry_warned_at DATETIME   
);
CREATE INDEX collected_certificates_participant ON collected_certificates (participant_id);
CREATE INDEX collected_certificates_pending ON collected_certificates (revoke_due) WHERE revoked_at IS NULL;

-- Wrong collection codes per address, for the per-address limit.
CREATE TABLE counter_failures (
    id      INTEGER     PRIMARY KEY AUTOINCREMENT,
    address TEXT        NOT NULL,
    at      DATETIME    NOT NULL
);
CREATE INDEX counter_failures_address ON counter_failures (address, at);

-- +goose Down
DROP TABLE counter_failures;
DROP TABLE collected_certificates;
DROP TABLE certificate_orders;
