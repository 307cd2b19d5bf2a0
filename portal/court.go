package portal

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"sceau.fr/sceau/portal/mail"
	"sceau.fr/sceau/portal/model"
)

// CourtCases is what the dashboard of a magistrate or a clerk needs to list
// the cases of their court; the storage behind Deps.Cases provides it (a
// Cases without it shows no such list).
type CourtCases interface {
	CourtCases(ctx context.Context, accountID int64, limit int) ([]model.CourtCase, error)
}

// courtCasesShown is the length of the list on the dashboard.
const courtCasesShown = 50

// courtSection is the dashboard's "Expertises de ma juridiction".
type courtSection struct {
	Court string
	Rows  []courtCaseRow
	// More: the court has more cases than Shown, the most recently
	// changed being listed.
	More  bool
	Shown int
}

type courtCaseRow struct {
	ID               int64
	Name, RG, Expert string
	State            string
	Ordonnance       time.Time
	Participant      bool
}

// courtCases lists, for a magistrate or a clerk, the cases of their court:
// metadata only; a link only to those they take part in (the case page
// refuses the others). Nil for other accounts.
func (s *Server) courtCases(r *http.Request, acc *model.Account) (*courtSection, error) {
	if acc.Role != model.RoleMagistrate && acc.Role != model.RoleClerk {
		return nil, nil
	}
	cc, ok := s.deps.Cases.(CourtCases)
	if !ok {
		return nil, nil
	}
	list, err := cc.CourtCases(r.Context(), acc.ID, courtCasesShown+1)
	if err != nil {
		return nil, err
	}
	sec := &courtSection{Court: acc.Court, Shown: courtCasesShown}
	if len(list) > courtCasesShown {
		list, sec.More = list[:courtCasesShown], true
	}
	for _, c := range list {
		sec.Rows = append(sec.Rows, courtCaseRow{ID: c.ID, Name: c.Name, RG: c.RGNumber, Expert: c.ExpertName,
			State: stateLabels[c.State], Ordonnance: c.OrdonnanceDate, Participant: c.Participant})
	}
	return sec, nil
}

// accessNotifier renders the mail telling a participant that the expert
// deactivated or reactivated them, with whom to contact.
func (s *Server) accessNotifier() model.AccessNotifier {
	return func(ch *model.AccessChange) (*model.OutboxMessage, error) {
		return mail.Compose(s.deps.Templates, "participant_access", ch.To.Email, ch.To.Name, map[string]any{
			"Name": ch.To.Name, "Active": ch.Active, "Case": ch.Case.Name, "RG": ch.Case.RGNumber, "Jurisdiction": ch.Case.Jurisdiction,
			"Role": strings.ToLower(participantRoleLabels[ch.ParticipantRole]), "By": ch.ExpertName, "ExpertEmail": ch.ExpertEmail,
			"Link": s.cfg.PortalURL + "/affaires/" + strconv.FormatInt(ch.Case.ID, 10),
		})
	}
}
