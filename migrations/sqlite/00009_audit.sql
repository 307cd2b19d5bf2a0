-- +goose Up
-- The audit trail (art. 748-6 CPC): one row per recorded action, chained
-- by SHA-256 (see model.AuditEntry.CanonicalBytes). seq counts from 1
-- without gaps; prev_hash is the hash of entry seq-1. audit_head is a
-- single row holding the last seq and hash, read and updated inside the
-- transaction of the action recorded (SQLite has one writer at a time:
-- transactions are immediate). Triggers refuse UPDATE and DELETE of
-- entries and DELETE of the head; `sceau audit verify` finds whatever gets
-- past them. No foreign keys: the trail must outlive anything it mentions.
CREATE TABLE audit_entries (
    id          INTEGER     PRIMARY KEY AUTOINCREMENT,
    seq         INTEGER     NOT NULL UNIQUE CHECK (seq > 0),
    at          DATETIME    NOT NULL,
    action      TEXT        NOT NULL CHECK (action <> ''),
    account_id  INTEGER,
    cert_issuer TEXT        NOT NULL DEFAULT '',
    cert_serial TEXT        NOT NULL DEFAULT '',
    ip          TEXT        NOT NULL DEFAULT '',
    request_id  TEXT        NOT NULL DEFAULT '',
    case_id     INTEGER,
    objects     TEXT        NOT NULL DEFAULT '',
    detail      TEXT        NOT NULL DEFAULT '',
    prev_hash   TEXT        NOT NULL CHECK (length(prev_hash) = 64),
    hash        TEXT        NOT NULL CHECK (length(hash) = 64)
);
CREATE INDEX audit_entries_case ON audit_entries (case_id, seq) WHERE case_id IS NOT NULL;

CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL CHECK (seq >= 0),
    hash TEXT    NOT NULL CHECK (length(hash) = 64)
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- +goose StatementBegin
CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries
BEGIN
    SELECT RAISE(ABORT, 'audit_entries is append-only');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries
BEGIN
    SELECT RAISE(ABORT, 'audit_entries is append-only');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head
BEGIN
    SELECT RAISE(ABORT, 'audit_head is append-only');
END;
-- +goose StatementEnd

-- +goose Down
DROP TABLE audit_head;
DROP TABLE audit_entries;
