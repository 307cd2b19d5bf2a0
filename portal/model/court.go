package model

import "time"

// CourtCase is a case as the dashboard of a magistrate or a clerk lists it
// among the cases of their court: its metadata only. Participant says
// whether the account takes part in it (only then may it open the case).
type CourtCase struct {
	ID             int64
	Name           string
	RGNumber       string
	Jurisdiction   string
	State          string
	OrdonnanceDate time.Time
	UpdatedAt      time.Time
	ExpertName     string
	Participant    bool
}

// AccessChange is what the notice of a participant's deactivation or
// reactivation says: the case, the person, whether they now have access,
// and who made the change (the case's expert, the person to contact).
type AccessChange struct {
	Case            *Case
	To              Recipient
	Active          bool
	ExpertName      string
	ExpertEmail     string
	ParticipantRole string
	ParticipantID   int64
}

// AccessNotifier renders the mail of an AccessChange; the store queues it
// in the transaction of the change.
type AccessNotifier func(ch *AccessChange) (*OutboxMessage, error)
