package portal

import (
	"context"
	"net/http"
	"time"

	"sceau.fr/sceau/portal/model"
	"sceau.fr/sceau/portal/rights"
)

// API representations of cases and their members. Dates are RFC 3339
// (UTC); calendar dates (ordonnance, consignation) are YYYY-MM-DD.

type apiAccount struct {
	ID          int64          `json:"id"`
	DisplayName string         `json:"display_name"`
	Email       string         `json:"email"`
	Role        string         `json:"role"`
	Certificate apiCertificate `json:"certificate"`
}

type apiCertificate struct {
	Issuer   string    `json:"issuer"`
	Serial   string    `json:"serial"`
	NotAfter time.Time `json:"not_after"`
}

type apiCaseJSON struct {
	ID               int64     `json:"id"`
	Name             string    `json:"name"`
	RGNumber         string    `json:"rg_number"`
	Jurisdiction     string    `json:"jurisdiction"`
	FirstApplicant   string    `json:"first_applicant"`
	FirstDefendant   string    `json:"first_defendant"`
	OrdonnanceDate   string    `json:"ordonnance_date"`
	ConsignationDate *string   `json:"consignation_date"`
	MissionCode      string    `json:"mission_code,omitempty"`
	Comment          string    `json:"comment,omitempty"`
	State            string    `json:"state"`
	StateLabel       string    `json:"state_label"`
	IsOwner          bool      `json:"is_owner"`
	CreatedAt        time.Time `json:"created_at"`
	UpdatedAt        time.Time `json:"updated_at"`
}

func caseJSON(c *model.Case, accountID int64) apiCaseJSON {
	out := apiCaseJSON{ID: c.ID, Name: c.Name, RGNumber: c.RGNumber, Jurisdiction: c.Jurisdiction,
		FirstApplicant: c.FirstApplicant, FirstDefendant: c.FirstDefendant, OrdonnanceDate: c.OrdonnanceDate.Format(time.DateOnly),
		MissionCode: c.MissionCode, Comment: c.Comment, State: c.State, StateLabel: stateLabels[c.State],
		IsOwner: c.OwnerID == accountID, CreatedAt: c.CreatedAt.UTC(), UpdatedAt: c.UpdatedAt.UTC()}
	if c.ConsignationDate != nil {
		d := c.ConsignationDate.Format(time.DateOnly)
		out.ConsignationDate = &d
	}
	return out
}

type apiFolder struct {
	ID           int64  `json:"id"`
	Name         string `json:"name"`
	Kind         string `json:"kind"`
	Section      string `json:"section"`
	PartyID      *int64 `json:"party_id"`
	ParentID     *int64 `json:"parent_id"`
	Position     int    `json:"position"`
	Confidential bool   `json:"confidential"`
	// CanDeposit: this person may deposit here now.
	CanDeposit bool `json:"can_deposit"`
}

type apiParty struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	DepositMode string `json:"deposit_mode"`
}

type apiParticipant struct {
	ID          int64   `json:"id"`
	DisplayName string  `json:"display_name"`
	Email       string  `json:"email,omitempty"`
	Role        string  `json:"role"`
	RoleLabel   string  `json:"role_label"`
	PartyIDs    []int64 `json:"party_ids"`
	Active      bool    `json:"active"`
	Supervising bool    `json:"supervising"`
	HasAccount  bool    `json:"has_account"`
}

// apiMe says who the certificate belongs to: a first call to check a
// client's setup.
func (s *Server) apiMe(w http.ResponseWriter, r *http.Request) {
	acc, id := AccountFrom(r.Context()), IdentityFrom(r.Context())
	s.writeJSON(w, r, http.StatusOK, apiAccount{ID: acc.ID, DisplayName: acc.DisplayName, Email: acc.Email, Role: acc.Role,
		Certificate: apiCertificate{Issuer: id.IssuerCommonName, Serial: id.Serial.String(), NotAfter: id.NotAfter.UTC()}})
}

// apiCases lists the cases this person takes part in.
func (s *Server) apiCases(w http.ResponseWriter, r *http.Request) {
	acc := AccountFrom(r.Context())
	p, ok := s.pageOf(w, r)
	if !ok {
		return
	}
	cases, err := s.deps.Cases.CasesFor(r.Context(), acc.ID)
	if err != nil {
		s.apiStoreError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, paginate(cases, func(c model.Case) int64 { return c.ID },
		func(c model.Case) apiCaseJSON { return caseJSON(&c, acc.ID) }, p))
}

func (s *Server) apiCase(w http.ResponseWriter, r *http.Request) {
	acc := AccountFrom(r.Context())
	ids, ok := s.apiIDs(w, r, "case")
	if !ok {
		return
	}
	c, err := s.deps.Cases.Case(r.Context(), ids[0], acc.ID)
	if err != nil {
		s.apiStoreError(w, r, err)
		return
	}
	if _, ok := s.caseViewed(w, r, c.ID); !ok { // audit.go: as the case page, not served unless recorded
		return
	}
	s.writeJSON(w, r, http.StatusOK, caseJSON(c, acc.ID))
}

// apiCaseList answers one of a case's paginated lists: the case id of the
// route, the page asked for, the items load reads for this account (the
// store applies the rights), a store error as its problem document, then
// the page with its items converted by conv. conv runs after load and only
// for the items of the page, so it may use what load read alongside. The
// list handlers differ only in their store call and JSON type, hence one
// generic helper instead of the same preamble and tail in each of them.
func apiCaseList[T, J any](s *Server, w http.ResponseWriter, r *http.Request,
	load func(ctx context.Context, caseID, accountID int64) ([]T, error), key func(T) int64, conv func(T) J) {
	caseID, p, ok := s.apiCasePage(w, r)
	if !ok {
		return
	}
	items, err := load(r.Context(), caseID, AccountFrom(r.Context()).ID)
	if err != nil {
		s.apiStoreError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, paginate(items, key, conv, p))
}

// apiCasePage reads the case id of the route, then the page asked for,
// answering a bad one itself (404, 400).
func (s *Server) apiCasePage(w http.ResponseWriter, r *http.Request) (caseID int64, p apiPage, ok bool) {
	ids, ok := s.apiIDs(w, r, "case")
	if !ok {
		return 0, p, false
	}
	if p, ok = s.pageOf(w, r); !ok {
		return 0, p, false
	}
	return ids[0], p, true
}

// apiFolders lists the folders this person may read, each saying whether
// they may deposit there now (the same check as the deposit itself).
func (s *Server) apiFolders(w http.ResponseWriter, r *http.Request) {
	depositable := map[int64]bool{}
	apiCaseList(s, w, r, func(ctx context.Context, caseID, accountID int64) ([]model.Folder, error) {
		c, err := s.deps.Cases.Case(ctx, caseID, accountID)
		if err != nil {
			return nil, err
		}
		if s.deps.Documents != nil && c.State == string(rights.StateInProgress) { // depositAllowed's rule, the case already read
			ids, err := s.deps.Documents.FoldersDepositable(ctx, c.ID, accountID)
			if err != nil {
				return nil, err
			}
			for _, id := range ids {
				depositable[id] = true
			}
		}
		return s.deps.Cases.FoldersReadable(ctx, c.ID, accountID)
	}, func(f model.Folder) int64 { return f.ID }, func(f model.Folder) apiFolder {
		return apiFolder{ID: f.ID, Name: f.Name, Kind: f.Kind, Section: f.Section(), PartyID: f.PartyID, ParentID: f.ParentID,
			Position: f.Position, Confidential: f.Confidential(), CanDeposit: depositable[f.ID]}
	})
}

func (s *Server) apiParties(w http.ResponseWriter, r *http.Request) {
	apiCaseList(s, w, r, s.deps.Members.Parties, func(p model.Party) int64 { return p.ID }, func(p model.Party) apiParty {
		return apiParty{ID: p.ID, Name: p.Name, DepositMode: p.DepositMode}
	})
}

// apiParticipants lists the participants as the participants page shows
// them: name, address, role, parties, active or not.
func (s *Server) apiParticipants(w http.ResponseWriter, r *http.Request) {
	apiCaseList(s, w, r, s.deps.Members.Participants, func(p model.Participant) int64 { return p.ID }, func(p model.Participant) apiParticipant {
		parties := append([]int64{}, p.PartyIDs...)
		if p.PartyID != nil {
			parties = append(parties, *p.PartyID)
		}
		return apiParticipant{ID: p.ID, DisplayName: p.DisplayName, Email: p.Email, Role: p.Role, RoleLabel: participantRoleLabels[p.Role],
			PartyIDs: parties, Active: p.Active, Supervising: p.Supervising, HasAccount: p.AccountID != nil}
	})
}
