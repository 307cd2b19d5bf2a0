-- +goose Up
-- Notices to participants: each account's settings, the in-app history of
-- every notice mailed to it (with the outbox row, whose state says whether
-- and when it was sent), and the claims of the daily digest.

-- Personal settings; an account without a row has the defaults.
CREATE TABLE notification_settings (
    account_id    INTEGER     PRIMARY KEY REFERENCES accounts (id),
    deposit_mail  BOOLEAN     NOT NULL DEFAULT 0,
    other_parties BOOLEAN     NOT NULL DEFAULT 0,
    daily_digest  BOOLEAN     NOT NULL DEFAULT 1,
    updated_at    DATETIME    NOT NULL
);

-- One row per notice mailed to an account, written in the transaction
-- that queues the mail.
CREATE TABLE notices (
    id                INTEGER     PRIMARY KEY AUTOINCREMENT,
    account_id        INTEGER     NOT NULL REFERENCES accounts (id),
    kind              TEXT        NOT NULL CHECK (kind IN ('deposit', 'case_state', 'reminder', 'digest')),
    case_id           INTEGER     REFERENCES cases (id),
    document_id       INTEGER     REFERENCES documents (id),
    summary           TEXT        NOT NULL,
    outbox_message_id INTEGER     NOT NULL REFERENCES outbox_messages (id),
    created_at        DATETIME    NOT NULL
);
CREATE INDEX notices_account ON notices (account_id, created_at, id);

-- The digest of a day (Paris calendar day, 'YYYY-MM-DD') for an account:
-- claimed by inserting this row, in the same transaction as the mail it
-- queues, so that it is sent once whatever the number of instances and
-- crashes (the mail itself, if any, is in outbox_messages and notices).
CREATE TABLE digest_runs (
    day               TEXT        NOT NULL CHECK (length(day) = 10),
    account_id        INTEGER     NOT NULL REFERENCES accounts (id),
    claimed_at        DATETIME    NOT NULL,
    PRIMARY KEY (day, account_id)
);

-- The digest looks for the documents of a day.
CREATE INDEX documents_deposited ON documents (deposited_at);

-- +goose Down
DROP INDEX documents_deposited;
DROP TABLE digest_runs;
DROP TABLE notices;
DROP TABLE notification_settings;
