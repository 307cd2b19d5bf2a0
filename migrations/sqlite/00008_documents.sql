-- +goose Up
-- Documents deposited in the folders of a case, and the first opening of
-- each document by each participant. Append-only: no code path deletes a
-- document, and triggers refuse DELETE on both tables; the only change a
-- document ever sees is its lock (locked_at, lock_reason, locked_by),
-- set once. Composite foreign keys keep the folder, the depositor and the
-- opener inside the document's own case.
CREATE TABLE documents (
    id                       INTEGER     PRIMARY KEY AUTOINCREMENT,
    case_id                  INTEGER     NOT NULL REFERENCES cases (id),
    folder_id                INTEGER     NOT NULL,
    kind                     TEXT        NOT NULL CHECK (kind IN ('ordonnance', 'convocation', 'note_aux_parties', 'dire', 'piece', 'pre_rapport', 'rapport_definitif', 'annexe', 'demande_remuneration', 'autre')),
    file_name                TEXT        NOT NULL CHECK (file_name <> ''),
    content_type             TEXT        NOT NULL DEFAULT '',
    size                     INTEGER     NOT NULL CHECK (size >= 0),
    sha256                   TEXT        NOT NULL CHECK (length(sha256) = 64),
    blob_key                 TEXT        NOT NULL UNIQUE,
    pdfa                     BOOLEAN     NOT NULL DEFAULT 0,
    copy_blob_key            TEXT        UNIQUE,
    copy_file_name           TEXT        NOT NULL DEFAULT '',
    copy_size                INTEGER     NOT NULL DEFAULT 0,
    copy_sha256              TEXT        NOT NULL DEFAULT '',
    depositor_participant_id INTEGER     NOT NULL,
    depositor_account_id     INTEGER     NOT NULL REFERENCES accounts (id),
    certificate_issuer       TEXT        NOT NULL DEFAULT '',
    certificate_serial       TEXT        NOT NULL DEFAULT '',
    deposited_at             DATETIME    NOT NULL,
    locked_at                DATETIME   ,
    lock_reason              TEXT        NOT NULL DEFAULT '',
    locked_by                INTEGER     REFERENCES accounts (id),
    UNIQUE (case_id, id),
    FOREIGN KEY (case_id, folder_id) REFERENCES folders (case_id, id),
    FOREIGN KEY (case_id, depositor_participant_id) REFERENCES participants (case_id, id),
    CHECK ((copy_blob_key IS NULL AND copy_file_name = '' AND copy_size = 0 AND copy_sha256 = '')
        OR (copy_blob_key IS NOT NULL AND copy_file_name <> '' AND copy_size >= 0 AND length(copy_sha256) = 64)),
    CHECK ((locked_at IS NULL AND locked_by IS NULL AND lock_reason = '')
        OR (locked_at IS NOT NULL AND locked_by IS NOT NULL AND lock_reason <> ''))
);
CREATE INDEX documents_case_folder ON documents (case_id, folder_id, deposited_at, id);

CREATE TABLE document_openings (
    document_id     INTEGER     NOT NULL,
    participant_id  INTEGER     NOT NULL,
    case_id         INTEGER     NOT NULL,
    first_opened_at DATETIME    NOT NULL,
    PRIMARY KEY (document_id, participant_id),
    FOREIGN KEY (case_id, document_id) REFERENCES documents (case_id, id),
    FOREIGN KEY (case_id, participant_id) REFERENCES participants (case_id, id)
);
CREATE INDEX document_openings_participant ON document_openings (participant_id, case_id);

-- +goose StatementBegin
CREATE TRIGGER documents_no_delete BEFORE DELETE ON documents
BEGIN
    SELECT RAISE(ABORT, 'documents is append-only');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER document_openings_no_delete BEFORE DELETE ON document_openings
BEGIN
    SELECT RAISE(ABORT, 'document_openings is append-only');
END;
-- +goose StatementEnd

-- +goose Down
DROP TABLE document_openings;
DROP TABLE documents;
