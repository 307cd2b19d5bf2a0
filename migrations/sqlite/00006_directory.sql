-- +goose Up
-- The directory lists active professionals of some roles in id order: a
-- partial index walks them page by page without touching suspended ones.
CREATE INDEX accounts_directory ON accounts (role, id) WHERE suspended_at IS NULL;

-- +goose Down
DROP INDEX accounts_directory;
