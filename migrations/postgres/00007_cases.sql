-- +goose Up
-- Case spaces (expertises): the case, its parties, its participants and
-- its folders. The enumerated values are those of portal/rights. Composite
-- foreign keys keep a party folder, a party member's party and a
-- sub-folder's parent inside the folder's own case.
CREATE TABLE cases (
    id                BIGSERIAL   PRIMARY KEY,
    name              TEXT        NOT NULL,
    first_applicant   TEXT        NOT NULL,
    first_defendant   TEXT        NOT NULL,
    jurisdiction      TEXT        NOT NULL,
    rg_number         TEXT        NOT NULL,
    ordonnance_date   TIMESTAMPTZ NOT NULL,
    mission_code      TEXT        NOT NULL DEFAULT '',
    comment           TEXT        NOT NULL DEFAULT '',
    state             TEXT        NOT NULL CHECK (state IN ('creation', 'in_progress', 'paused', 'finished', 'archived')),
    consignation_date TIMESTAMPTZ,
    owner_id          BIGINT      NOT NULL REFERENCES accounts (id),
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL
);
CREATE INDEX cases_owner ON cases (owner_id);

CREATE TABLE parties (
    id           BIGSERIAL   PRIMARY KEY,
    case_id      BIGINT      NOT NULL REFERENCES cases (id),
    name         TEXT        NOT NULL,
    deposit_mode TEXT        NOT NULL CHECK (deposit_mode IN ('lawyer', 'member', 'expert', 'paper')),
    created_at   TIMESTAMPTZ NOT NULL,
    UNIQUE (case_id, id)
);

CREATE TABLE participants (
    id           BIGSERIAL   PRIMARY KEY,
    case_id      BIGINT      NOT NULL REFERENCES cases (id),
    account_id   BIGINT      REFERENCES accounts (id),
    role         TEXT        NOT NULL CHECK (role IN ('expert', 'co_expert', 'sapiteur', 'magistrate', 'clerk', 'lawyer', 'party_member')),
    display_name TEXT        NOT NULL DEFAULT '',
    email        TEXT        NOT NULL DEFAULT '',
    phone        TEXT        NOT NULL DEFAULT '',
    party_id     BIGINT,
    active       BOOLEAN     NOT NULL DEFAULT TRUE,
    supervising  BOOLEAN     NOT NULL DEFAULT FALSE,
    added_at     TIMESTAMPTZ NOT NULL,
    UNIQUE (case_id, id),
    FOREIGN KEY (case_id, party_id) REFERENCES parties (case_id, id),
    CHECK ((role = 'party_member') = (party_id IS NOT NULL)),
    CHECK (NOT supervising OR role = 'magistrate')
);
-- One participant per account and case; the dashboard walks an account's cases.
CREATE UNIQUE INDEX participants_account ON participants (account_id, case_id) WHERE account_id IS NOT NULL;
CREATE INDEX participants_case ON participants (case_id);
-- At most one supervising magistrate per case.
CREATE UNIQUE INDEX participants_supervising ON participants (case_id) WHERE supervising;

-- The parties a lawyer represents.
CREATE TABLE participant_parties (
    participant_id BIGINT NOT NULL REFERENCES participants (id),
    party_id       BIGINT NOT NULL REFERENCES parties (id),
    PRIMARY KEY (participant_id, party_id)
);
CREATE INDEX participant_parties_party ON participant_parties (party_id);

CREATE TABLE folders (
    id         BIGSERIAL   PRIMARY KEY,
    case_id    BIGINT      NOT NULL REFERENCES cases (id),
    kind       TEXT        NOT NULL CHECK (kind IN ('expert_designation', 'expert_convocations', 'expert_notes', 'expert_prereport', 'expert_subfolder', 'party_dires', 'party_pieces', 'registry_outbound', 'final_report', 'magistrate', 'confidential')),
    party_id   BIGINT,
    parent_id  BIGINT,
    name       TEXT        NOT NULL,
    position   INTEGER     NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL,
    UNIQUE (case_id, id),
    FOREIGN KEY (case_id, party_id) REFERENCES parties (case_id, id),
    FOREIGN KEY (case_id, parent_id) REFERENCES folders (case_id, id),
    CHECK ((kind IN ('party_dires', 'party_pieces')) = (party_id IS NOT NULL))
);
CREATE INDEX folders_case ON folders (case_id, position, id);

-- +goose Down
DROP TABLE folders;
DROP TABLE participant_parties;
DROP TABLE participants;
DROP TABLE parties;
DROP TABLE cases;
