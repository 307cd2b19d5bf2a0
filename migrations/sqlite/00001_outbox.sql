-- +goose Up
-- Mail waiting to be sent: written in the same transaction as the action
-- that causes it, drained by the outbox worker.
CREATE TABLE outbox_messages (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id      TEXT     NOT NULL UNIQUE,
    created_at      DATETIME NOT NULL,
    to_address      TEXT     NOT NULL,
    to_name         TEXT     NOT NULL DEFAULT '',
    subject         TEXT     NOT NULL,
    text_body       TEXT     NOT NULL,
    html_body       TEXT     NOT NULL,
    attempts        INTEGER  NOT NULL DEFAULT 0,
    next_attempt_at DATETIME NOT NULL,
    locked_until    DATETIME,
    sent_at         DATETIME,
    failed_at       DATETIME,
    last_error      TEXT     NOT NULL DEFAULT ''
);
CREATE INDEX outbox_messages_due ON outbox_messages (next_attempt_at)
    WHERE sent_at IS NULL AND failed_at IS NULL;

-- +goose Down
DROP TABLE outbox_messages;
