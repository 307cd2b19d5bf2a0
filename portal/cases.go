package portal

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"sceau.fr/sceau/portal/mail"
	"sceau.fr/sceau/portal/model"
	"sceau.fr/sceau/portal/rights"
)

// Cases is what the case pages need from storage; rights are applied by
// its queries, so a handler cannot forget them.
type Cases interface {
	CasesFor(ctx context.Context, accountID int64) ([]model.Case, error)
	CreateCase(ctx context.Context, owner *model.Account, c *model.Case) (*model.Case, error)
	Case(ctx context.Context, caseID, accountID int64) (*model.Case, error)
	FoldersReadable(ctx context.Context, caseID, accountID int64) ([]model.Folder, error)
	TransitionCaseAndNotify(ctx context.Context, caseID, actor int64, from, to rights.CaseState, notify model.Notifier) (*model.Case, error)
	UpdateCaseDetails(ctx context.Context, caseID, actor int64, name string, consignation *time.Time) (*model.Case, error)
}

var stateLabels = map[string]string{
	string(rights.StateCreation): "En création", string(rights.StateInProgress): "En cours",
	string(rights.StatePaused): "En pause", string(rights.StateFinished): "Terminée", string(rights.StateArchived): "Archivée",
}

type dashboardPage struct {
	Lang, Name, Authority, CSRF string
	NotAfter                    time.Time
	Professional, Expert        bool
	Cases                       []caseRow
	// Court: for magistrates and clerks, the cases of their court.
	Court *courtSection
}

type caseRow struct {
	ID         int64
	Name, RG   string
	State      string
	Ordonnance time.Time
}

// dashboard lists the cases the person takes part in; experts may create one.
func (s *Server) dashboard(w http.ResponseWriter, r *http.Request) {
	id, acc := IdentityFrom(r.Context()), AccountFrom(r.Context())
	p := dashboardPage{Lang: "fr", Name: acc.DisplayName, Authority: id.IssuerCommonName, NotAfter: id.NotAfter,
		CSRF: s.csrfToken(id), Professional: canRegister(id), Expert: acc.Role == model.RoleExpert}
	if s.deps.Cases != nil {
		cases, err := s.deps.Cases.CasesFor(r.Context(), acc.ID)
		if err != nil {
			s.log.Error("listing cases", "err", err)
			s.renderError(w, r, http.StatusServiceUnavailable)
			return
		}
		for _, c := range cases {
			p.Cases = append(p.Cases, caseRow{ID: c.ID, Name: c.Name, RG: c.RGNumber, State: stateLabels[c.State], Ordonnance: c.OrdonnanceDate})
		}
		if p.Court, err = s.courtCases(r, acc); err != nil {
			s.log.Error("listing the cases of a court", "err", err)
			s.renderError(w, r, http.StatusServiceUnavailable)
			return
		}
	}
	s.renderPage(w, r, http.StatusOK, "portal_welcome", p)
}

type caseFormPage struct {
	Lang, CSRF string
	Form       caseForm
	Errors     model.ValidationErrors
}

// caseForm keeps what was typed, dates as typed.
type caseForm struct {
	FirstApplicant, FirstDefendant, Jurisdiction, RGNumber, OrdonnanceDate, MissionCode, Comment, Name string
}

func (s *Server) newCaseForm(w http.ResponseWriter, r *http.Request) {
	if AccountFrom(r.Context()).Role != model.RoleExpert {
		s.renderError(w, r, http.StatusForbidden)
		return
	}
	s.renderPage(w, r, http.StatusOK, "case_new", caseFormPage{Lang: "fr", CSRF: s.csrfToken(IdentityFrom(r.Context()))})
}

// createCase creates the case from the form; errors come back next to the
// fields with what was typed.
func (s *Server) createCase(w http.ResponseWriter, r *http.Request) {
	acc := AccountFrom(r.Context())
	if acc.Role != model.RoleExpert {
		s.renderError(w, r, http.StatusForbidden)
		return
	}
	f := caseForm{FirstApplicant: strings.TrimSpace(r.PostFormValue("first_applicant")), FirstDefendant: strings.TrimSpace(r.PostFormValue("first_defendant")),
		Jurisdiction: strings.TrimSpace(r.PostFormValue("jurisdiction")), RGNumber: strings.TrimSpace(r.PostFormValue("rg_number")),
		OrdonnanceDate: strings.TrimSpace(r.PostFormValue("ordonnance_date")), MissionCode: strings.TrimSpace(r.PostFormValue("mission_code")),
		Comment: strings.TrimSpace(r.PostFormValue("comment")), Name: strings.TrimSpace(r.PostFormValue("name"))}
	c := &model.Case{FirstApplicant: f.FirstApplicant, FirstDefendant: f.FirstDefendant, Jurisdiction: f.Jurisdiction,
		RGNumber: f.RGNumber, MissionCode: f.MissionCode, Comment: f.Comment, Name: f.Name}
	var errs model.ValidationErrors
	if f.OrdonnanceDate != "" {
		d, err := time.Parse("2006-01-02", f.OrdonnanceDate) // a calendar date: midnight UTC, shown as is
		if err != nil {
			errs = append(errs, model.FieldError{Field: "ordonnance_date", Message: "Date invalide (jj/mm/aaaa)."})
		} else {
			c.OrdonnanceDate = d
		}
	}
	if err := c.Validate(); err != nil {
		var v model.ValidationErrors
		if errors.As(err, &v) {
			for _, e := range v {
				if errs.For(e.Field) == "" {
					errs = append(errs, e)
				}
			}
		}
	}
	if len(errs) > 0 {
		s.renderPage(w, r, http.StatusUnprocessableEntity, "case_new", caseFormPage{Lang: "fr", CSRF: s.csrfToken(IdentityFrom(r.Context())), Form: f, Errors: errs})
		return
	}
	created, err := s.deps.Cases.CreateCase(r.Context(), acc, c)
	if err != nil {
		s.log.Error("creating a case", "err", err)
		s.renderError(w, r, http.StatusInternalServerError)
		return
	}
	s.log.Info("case created", "case", created.ID, "owner", acc.ID)
	http.Redirect(w, r, "/affaires/"+strconv.FormatInt(created.ID, 10), http.StatusSeeOther)
}

type casePage struct {
	Lang, CSRF string
	Kinds      []option
	Case       *model.Case
	State      string
	Tree       []folderRow
	Next       []stateChange
	// Owner shows the contradictoire link and the lock forms.
	Owner bool
	// Journal shows the journal link (JournalExport, its CSV export).
	Journal, JournalExport bool
}

type folderRow struct {
	ID            int64
	Section, Name string
	Confidential  bool
	// DepositURL is the deposit form's action, empty when this person may
	// not deposit here now.
	DepositURL string
	Documents  []documentRow
}

type documentRow struct {
	ID                        int64
	Name, Kind, Depositor, At string
	Unread, Locked            bool
	PDFA, HasCopy             bool // the file claims PDF/A; a courtesy copy is attached
	// The lock, as shown to all; CanLock offers the form (owner), with
	// what was typed and its error after a refusal.
	LockedAt, LockReason string
	CanLock              bool
	LockValue, LockError string
}

// showCase shows the case and the folders this person may read. Someone
// outside the case gets the same 404 as for a case that does not exist.
func (s *Server) showCase(w http.ResponseWriter, r *http.Request) {
	caseID, ok := idVar(r, "case")
	if !ok {
		s.renderError(w, r, http.StatusNotFound)
		return
	}
	s.renderCase(w, r, caseID, http.StatusOK, nil)
}

// renderCase draws the case page with the status given; adjust, if not
// nil, may change each document row (a form error to show).
func (s *Server) renderCase(w http.ResponseWriter, r *http.Request, caseID int64, status int, adjust func(*documentRow)) {
	acc := AccountFrom(r.Context())
	c, err := s.deps.Cases.Case(r.Context(), caseID, acc.ID)
	if errors.Is(err, model.ErrNotFound) {
		s.renderError(w, r, http.StatusNotFound)
		return
	}
	if err != nil {
		s.log.Error("reading a case", "err", err)
		s.renderError(w, r, http.StatusServiceUnavailable)
		return
	}
	folders, err := s.deps.Cases.FoldersReadable(r.Context(), caseID, acc.ID)
	if err != nil && !errors.Is(err, model.ErrNotFound) {
		s.renderError(w, r, http.StatusServiceUnavailable)
		return
	}
	journal, ok := s.caseViewed(w, r, caseID) // audit.go: not served unless recorded
	if !ok {
		return
	}
	p := casePage{Lang: "fr", CSRF: s.csrfToken(IdentityFrom(r.Context())), Case: c, State: stateLabels[c.State], Next: nextStates(c, acc),
		Owner: c.OwnerID == acc.ID && s.deps.Documents != nil, Journal: journal.Read, JournalExport: journal.Export}
	byFolder, names, err := s.caseDocuments(r.Context(), caseID, acc.ID)
	if err != nil {
		s.log.Error("listing documents", "err", err)
		s.renderError(w, r, http.StatusServiceUnavailable)
		return
	}
	mayLock := s.deps.Documents != nil && canLock(c, acc)
	partyNames := s.partyNames(r.Context(), caseID, acc.ID)
	depositable := map[int64]bool{}
	if s.deps.Documents != nil && c.State == string(rights.StateInProgress) {
		ids, err := s.deps.Documents.FoldersDepositable(r.Context(), caseID, acc.ID)
		if err != nil {
			s.log.Error("listing the folders open to deposits", "err", err)
		}
		for _, id := range ids {
			depositable[id] = true
		}
	}
	for i := range folders {
		f := folderRow{ID: folders[i].ID, Section: folders[i].Section(), Name: folders[i].Name, Confidential: folders[i].Confidential()}
		if pid := folders[i].PartyID; pid != nil && partyNames[*pid] != "" {
			f.Section = s.tr(r, "Partie") + " " + partyNames[*pid] // each party has its own Dires and Pièces
		}
		if depositable[f.ID] {
			f.DepositURL = depositURL(caseID, f.ID, p.CSRF)
		}
		for _, d := range byFolder[f.ID] {
			row := documentRow{ID: d.ID, Name: d.FileName, Kind: kindLabels[d.Kind],
				Depositor: names[d.DepositorParticipantID], At: d.DepositedAt.In(paris).Format("02/01/2006 15:04"),
				Unread: d.Unread, Locked: d.Locked(), LockReason: d.LockReason, CanLock: mayLock && !d.Locked(),
				PDFA: d.PDFA, HasCopy: d.HasCopy()}
			if d.LockedAt != nil {
				row.LockedAt = d.LockedAt.In(paris).Format(s.tr(r, "02/01/2006 à 15:04"))
			}
			if adjust != nil {
				adjust(&row)
			}
			f.Documents = append(f.Documents, row)
		}
		p.Tree = append(p.Tree, f)
	}
	p.Kinds = kindOptions()
	s.renderPage(w, r, status, "case", p)
}

// partyNames maps the case's party ids to their names (none when the
// parties cannot be listed: the folders then show their section only).
func (s *Server) partyNames(ctx context.Context, caseID, accountID int64) map[int64]string {
	names := map[int64]string{}
	if s.deps.Members == nil {
		return names
	}
	parties, err := s.deps.Members.Parties(ctx, caseID, accountID)
	if err != nil {
		return names
	}
	for _, p := range parties {
		names[p.ID] = p.Name
	}
	return names
}

// caseDocuments lists the documents this person may read, by folder, and
// the names of the participants (depositors).
func (s *Server) caseDocuments(ctx context.Context, caseID, accountID int64) (map[int64][]ListedDocument, map[int64]string, error) {
	if s.deps.Documents == nil {
		return nil, nil, nil
	}
	docs, err := s.deps.Documents.DocumentsReadable(ctx, caseID, accountID)
	if err != nil && !errors.Is(err, model.ErrNotFound) {
		return nil, nil, err
	}
	byFolder := map[int64][]ListedDocument{}
	for _, d := range docs {
		byFolder[d.FolderID] = append(byFolder[d.FolderID], d)
	}
	names := map[int64]string{}
	if len(docs) > 0 && s.deps.Members != nil {
		if ps, err := s.deps.Members.Participants(ctx, caseID, accountID); err == nil {
			for _, p := range ps {
				names[p.ID] = p.DisplayName
			}
		}
	}
	return byFolder, names, nil
}

// stateChange is one state the owner may move the case to.
type stateChange struct{ To, Label string }

// nextStates are the states the owner may choose from the current one.
func nextStates(c *model.Case, acc *model.Account) []stateChange {
	if c.OwnerID != acc.ID {
		return nil
	}
	var out []stateChange
	for _, st := range rights.Next(rights.CaseState(c.State)) {
		out = append(out, stateChange{To: string(st), Label: stateLabels[string(st)]})
	}
	return out
}

var stateEffects = map[string]string{
	string(rights.StateInProgress): "Les participants pourront déposer des documents.",
	string(rights.StatePaused):     "Plus aucun dépôt ne sera possible jusqu’à la reprise (par exemple en attendant la consignation).",
	string(rights.StateFinished):   "L’expertise sera close : chacun ne verra plus que le rapport définitif.",
	string(rights.StateArchived):   "L’expertise sera archivée.",
}

type transitionPage struct {
	Lang, CSRF, From, To, FromLabel, ToLabel, Effect string
	Case                                             *model.Case
}

// changeState asks for confirmation, then moves the case. The form carries
// the state the expert saw: if another change happened meanwhile, nothing
// is done and the expert is told.
func (s *Server) changeState(w http.ResponseWriter, r *http.Request) {
	acc, id := AccountFrom(r.Context()), IdentityFrom(r.Context())
	caseID, ok := idVar(r, "case")
	if !ok {
		s.renderError(w, r, http.StatusNotFound)
		return
	}
	c, err := s.deps.Cases.Case(r.Context(), caseID, acc.ID)
	if err != nil {
		s.renderError(w, r, http.StatusNotFound)
		return
	}
	from, to := r.PostFormValue("from"), r.PostFormValue("to")
	if _, ok := stateLabels[to]; !ok || c.OwnerID != acc.ID {
		s.renderError(w, r, http.StatusForbidden)
		return
	}
	if r.PostFormValue("confirm") != "1" {
		s.renderPage(w, r, http.StatusOK, "case_transition", transitionPage{Lang: "fr", CSRF: s.csrfToken(id), Case: c,
			From: from, To: to, FromLabel: stateLabels[from], ToLabel: stateLabels[to], Effect: stateEffects[to]})
		return
	}
	notify := func(c *model.Case, to []model.Recipient) ([]*model.OutboxMessage, error) {
		var msgs []*model.OutboxMessage
		for _, rc := range to {
			m, err := mail.Compose(s.deps.Templates, "case_state", rc.Email, rc.Name, map[string]any{
				"Name": rc.Name, "Case": c.Name, "RG": c.RGNumber, "State": stateLabels[c.State], "Effect": stateEffects[c.State],
				"By": acc.DisplayName, "Link": s.cfg.PortalURL + "/affaires/" + strconv.FormatInt(c.ID, 10),
			})
			if err != nil {
				return nil, err
			}
			msgs = append(msgs, m)
		}
		return msgs, nil
	}
	_, err = s.deps.Cases.TransitionCaseAndNotify(r.Context(), caseID, acc.ID, rights.CaseState(from), rights.CaseState(to), notify)
	switch {
	case errors.Is(err, model.ErrStateConflict):
		s.renderPage(w, r, http.StatusConflict, "refusal", refusalPage{Lang: "fr", RequestID: RequestID(r.Context()),
			Title: "Changement non effectué", Message: "L’état de l’expertise a changé entre-temps (ou ce changement n’est pas possible) : rien n’a été modifié.",
			Todo: "Revenez à la page de l’expertise pour voir son état actuel."})
	case err != nil:
		s.log.Error("changing a case's state", "err", err)
		s.renderError(w, r, http.StatusInternalServerError)
	default:
		s.log.Info("case state changed", "case", caseID, "from", from, "to", to, "by", acc.ID)
		s.revocations.poke() // a finished case's litigant certificates are revoked
		http.Redirect(w, r, "/affaires/"+strconv.FormatInt(caseID, 10), http.StatusSeeOther)
	}
}
