-- +goose Up
-- Cases of a court (issue 5): magistrates and clerks list the cases whose
-- jurisdiction is their own court. jurisdiction_key is the jurisdiction
-- as store.CourtKey normalises it (case, accents, "TJ" = "Tribunal
-- judiciaire", "CA" = "Cour d'appel"); the store fills it when a case is
-- created, and Store.Migrate fills the rows left empty (cases created
-- before this migration). The index serves the dashboard: one court's
-- cases, the most recently changed first.
ALTER TABLE cases ADD COLUMN jurisdiction_key TEXT NOT NULL DEFAULT '';
CREATE INDEX cases_jurisdiction_key ON cases (jurisdiction_key, updated_at DESC, id DESC);

-- +goose Down
DROP INDEX cases_jurisdiction_key;
ALTER TABLE cases DROP COLUMN jurisdiction_key;
