-- +goose Up
-- Two more kinds of notices in the in-app history: "access" (a participant
-- made inactive or active again) and "certificate" (the retrieval
-- counter's notices: collection, declared loss, expiry warnings). SQLite
-- cannot change a CHECK constraint: the table is rebuilt.
CREATE TABLE notices_new (
    id                INTEGER     PRIMARY KEY AUTOINCREMENT,
    account_id        INTEGER     NOT NULL REFERENCES accounts (id),
    kind              TEXT        NOT NULL CHECK (kind IN ('deposit', 'case_state', 'reminder', 'digest', 'access', 'certificate')),
    case_id           INTEGER     REFERENCES cases (id),
    document_id       INTEGER     REFERENCES documents (id),
    summary           TEXT        NOT NULL,
    outbox_message_id INTEGER     NOT NULL REFERENCES outbox_messages (id),
    created_at        DATETIME    NOT NULL
);
INSERT INTO notices_new SELECT id, account_id, kind, case_id, document_id, summary, outbox_message_id, created_at FROM notices;
DROP TABLE notices;
ALTER TABLE notices_new RENAME TO notices;
CREATE INDEX notices_account ON notices (account_id, created_at, id);

-- +goose Down
CREATE TABLE notices_new (
    id                INTEGER     PRIMARY KEY AUTOINCREMENT,
    account_id        INTEGER     NOT NULL REFERENCES accounts (id),
    kind              TEXT        NOT NULL CHECK (kind IN ('deposit', 'case_state', 'reminder', 'digest')),
    case_id           INTEGER     REFERENCES cases (id),
    document_id       INTEGER     REFERENCES documents (id),
    summary           TEXT        NOT NULL,
    outbox_message_id INTEGER     NOT NULL REFERENCES outbox_messages (id),
    created_at        DATETIME    NOT NULL
);
INSERT INTO notices_new SELECT id, account_id, kind, case_id, document_id, summary, outbox_message_id, created_at FROM notices WHERE kind NOT IN ('access', 'certificate');
DROP TABLE notices;
ALTER TABLE notices_new RENAME TO notices;
CREATE INDEX notices_account ON notices (account_id, created_at, id);
