-- +goose Up
-- Two more kinds of notices in the in-app history: "access" (a participant
-- made inactive or active again) and "certificate" (the retrieval
-- counter's notices: collection, declared loss, expiry warnings).
ALTER TABLE notices DROP CONSTRAINT notices_kind_check;
ALTER TABLE notices ADD CONSTRAINT notices_kind_check
    CHECK (kind IN ('deposit', 'case_state', 'reminder', 'digest', 'access', 'certificate'));

-- +goose Down
DELETE FROM notices WHERE kind IN ('access', 'certificate');
ALTER TABLE notices DROP CONSTRAINT notices_kind_check;
ALTER TABLE notices ADD CONSTRAINT notices_kind_check
    CHECK (kind IN ('deposit', 'case_state', 'reminder', 'digest'));
