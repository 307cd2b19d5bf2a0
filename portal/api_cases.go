package portal

import (
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

// apiFolders lists the folders this person may read, each saying whether
// they may deposit there now (the same check as the deposit itself).
func (s *Server) apiFolders(w http.ResponseWriter, r *http.Request) {
	acc := AccountFrom(r.Context())
	ids, ok := s.apiIDs(w, r, "case")
	if !ok {
		return
	}
	p, ok := s.pageOf(w, r)
	if !ok {
		return
	}
	c, err := s.deps.Cases.Case(r.Context(), ids[0], acc.ID)
	if err != nil {
		s.apiStoreError(w, r, err)
		return
	}
	folders, err := s.deps.Cases.FoldersReadable(r.Context(), c.ID, acc.ID)
	if err != nil {
		s.apiStoreError(w, r, err)
		return
	}
	page := paginate(folders, func(f model.Folder) int64 { return f.ID }, func(f model.Folder) apiFolder {
		return apiFolder{ID: f.ID, Name: f.Name, Kind: f.Kind, Section: f.Section(), PartyID: f.PartyID, ParentID: f.ParentID,
			Position: f.Position, Confidential: f.Confidential()}
	}, p)
	if s.deps.Documents != nil && c.State == string(rights.StateInProgress) { // depositAllowed's rule, the case already read
		for i := range page.Items {
			ok, err := s.deps.Documents.CanDeposit(r.Context(), c.ID, page.Items[i].ID, acc.ID)
			page.Items[i].CanDeposit = err == nil && ok
		}
	}
	s.writeJSON(w, r, http.StatusOK, page)
}

func (s *Server) apiParties(w http.ResponseWriter, r *http.Request) {
	acc := AccountFrom(r.Context())
	ids, ok := s.apiIDs(w, r, "case")
	if !ok {
		return
	}
	p, ok := s.pageOf(w, r)
	if !ok {
		return
	}
	parties, err := s.deps.Members.Parties(r.Context(), ids[0], acc.ID)
	if err != nil {
		s.apiStoreError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, paginate(parties, func(p model.Party) int64 { return p.ID }, func(p model.Party) apiParty {
		return apiParty{ID: p.ID, Name: p.Name, DepositMode: p.DepositMode}
	}, p))
}

// apiParticipants lists the participants as the participants page shows
// them: name, address, role, parties, active or not.
func (s *Server) apiParticipants(w http.ResponseWriter, r *http.Request) {
	acc := AccountFrom(r.Context())
	ids, ok := s.apiIDs(w, r, "case")
	if !ok {
		return
	}
	p, ok := s.pageOf(w, r)
	if !ok {
		return
	}
	people, err := s.deps.Members.Participants(r.Context(), ids[0], acc.ID)
	if err != nil {
		s.apiStoreError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, paginate(people, func(p model.Participant) int64 { return p.ID }, func(p model.Participant) apiParticipant {
		parties := append([]int64{}, p.PartyIDs...)
		if p.PartyID != nil {
			parties = append(parties, *p.PartyID)
		}
		return apiParticipant{ID: p.ID, DisplayName: p.DisplayName, Email: p.Email, Role: p.Role, RoleLabel: participantRoleLabels[p.Role],
			PartyIDs: parties, Active: p.Active, Supervising: p.Supervising, HasAccount: p.AccountID != nil}
	}, p))
}
