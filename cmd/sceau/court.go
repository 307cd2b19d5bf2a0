package main

import (
	"context"

	"sceau.fr/sceau/portal/model"
	"sceau.fr/sceau/portal/store"
)

func (l lazyAccounts) CourtCases(ctx context.Context, accountID int64, limit int) ([]model.CourtCase, error) {
	return with(l, func(s *store.Store) ([]model.CourtCase, error) { return s.CourtCases(ctx, accountID, limit) })
}

func (l lazyAccounts) SetParticipantActiveAndNotify(ctx context.Context, caseID, actor, participantID int64, active bool, notify model.AccessNotifier) error {
	return do(l, func(s *store.Store) error {
		return s.SetParticipantActiveAndNotify(ctx, caseID, actor, participantID, active, notify)
	})
}
