-- +goose Up
-- The audit trail (art. 748-6 CPC): one row per recorded action, chained
-- by SHA-256 (see model.AuditEntry.CanonicalBytes). seq counts from 1
-- without gaps; prev_hash is the hash of entry seq-1. audit_head is a
-- single row holding the last seq and hash: every writer increments it
-- (UPDATE ... RETURNING, a row lock held until the commit) inside the
-- transaction of the action it records, so
-- several instances on one database append one after the other, never
-- forking the chain. Triggers refuse UPDATE and DELETE of entries and
-- DELETE of the head; `sceau audit verify` finds whatever gets past them.
-- No foreign keys: the trail must outlive anything it mentions.
CREATE TABLE audit_entries (
    id          BIGSERIAL   PRIMARY KEY,
    seq         BIGINT      NOT NULL UNIQUE CHECK (seq > 0),
    at          TIMESTAMPTZ NOT NULL,
    action      TEXT        NOT NULL CHECK (action <> ''),
    account_id  BIGINT,
    cert_issuer TEXT        NOT NULL DEFAULT '',
    cert_serial TEXT        NOT NULL DEFAULT '',
    ip          TEXT        NOT NULL DEFAULT '',
    request_id  TEXT        NOT NULL DEFAULT '',
    case_id     BIGINT,
    objects     TEXT        NOT NULL DEFAULT '',
    detail      TEXT        NOT NULL DEFAULT '',
    prev_hash   TEXT        NOT NULL CHECK (length(prev_hash) = 64),
    hash        TEXT        NOT NULL CHECK (length(hash) = 64)
);
CREATE INDEX audit_entries_case ON audit_entries (case_id, seq) WHERE case_id IS NOT NULL;

CREATE TABLE audit_head (
    id   BIGINT PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL CHECK (seq >= 0),
    hash TEXT   NOT NULL CHECK (length(hash) = 64)
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries
    FOR EACH ROW EXECUTE FUNCTION sceau_append_only();
CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries
    FOR EACH ROW EXECUTE FUNCTION sceau_append_only();
CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head
    FOR EACH ROW EXECUTE FUNCTION sceau_append_only();

-- +goose Down
DROP TABLE audit_head;
DROP TABLE audit_entries;
