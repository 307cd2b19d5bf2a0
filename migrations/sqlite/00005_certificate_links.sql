-- +goose Up
-- Links emailed to add a certificate to an account (token stored hashed).
CREATE TABLE certificate_links (
    id               INTEGER     PRIMARY KEY AUTOINCREMENT,
    account_id       INTEGER     NOT NULL REFERENCES accounts (id),
    token_hash       TEXT        NOT NULL UNIQUE,
    created_at       DATETIME    NOT NULL,
    expires_at       DATETIME    NOT NULL,
    used_at          DATETIME   ,
    used_fingerprint TEXT        NOT NULL DEFAULT ''
);
CREATE INDEX certificate_links_account ON certificate_links (account_id);

-- +goose Down
DROP TABLE certificate_links;
