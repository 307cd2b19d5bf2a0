package portal

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"sceau.fr/sceau/portal/model"
	"sceau.fr/sceau/portal/retrieval"
	"sceau.fr/sceau/portal/rights"
)

// CaseMembers is what the participants page needs from storage.
type CaseMembers interface {
	Parties(ctx context.Context, caseID, accountID int64) ([]model.Party, error)
	Participants(ctx context.Context, caseID, accountID int64) ([]model.Participant, error)
	AddParty(ctx context.Context, caseID, actor int64, p *model.Party) (*model.Party, error)
	AddParticipant(ctx context.Context, caseID, actor int64, p *model.Participant) (*model.Participant, error)
	AccountByEmail(ctx context.Context, email string) (*model.Account, error)
	SetParticipantActive(ctx context.Context, caseID, actor, participantID int64, active bool) error
	// SetParticipantActiveAndNotify also queues, in the same transaction,
	// the mail notify renders for the participant when their access changes.
	SetParticipantActiveAndNotify(ctx context.Context, caseID, actor, participantID int64, active bool, notify model.AccessNotifier) error
	AddFolder(ctx context.Context, caseID, actor int64, f *model.Folder) (*model.Folder, error)
}

var modeLabels = map[string]string{
	string(rights.ModeLawyer): "Dépôt avocat", string(rights.ModeMember): "Dépôt intervenant",
	string(rights.ModeExpert): "Dépôt expert", string(rights.ModePaper): "Ne dématérialise pas (papier)",
}

var participantRoleLabels = map[string]string{
	string(rights.RoleExpert): "Expert", string(rights.RoleCoExpert): "Co-expert", string(rights.RoleSapiteur): "Sapiteur",
	string(rights.RoleMagistrate): "Magistrat", string(rights.RoleClerk): "Greffier", string(rights.RoleLawyer): "Avocat",
	string(rights.RolePartyMember): "Intervenant (partie)",
}

type participantsPage struct {
	Lang, CSRF, Notice string
	Case               *model.Case
	Owner              bool
	Parties            []partyRow
	People             []personRow
	NoClerk, Paper     bool
	Modes, Roles       []option
	Errors             model.ValidationErrors
	Form               map[string]string
	// Counter: certificates can be ordered (litigants); defaults shown.
	Counter      bool
	AnyOrderable bool // someone may get a litigant certificate
	CounterLimit CounterConfig
	// Directory: the owner's search of professionals to add (see
	// pickFromDirectory).
	Directory *directoryPick
}

type partyRow struct {
	ID         int64
	Name, Mode string
	Paper      bool
}

type personRow struct {
	ID                         int64
	Name, Email, Role, Parties string
	Active, Supervising, Owner bool
	// Litigant certificate (party members and outside sapiteurs).
	Orderable              bool
	Phone, CertStatus      string
	Nonce                  string
	Locked, HasCertificate bool
	Ordered                bool // a certificate was ordered at least once
}

type option struct{ Value, Label string }

// showParticipants lists parties and participants; the owner also gets
// the forms to add them, and a warning when no clerk is active (the court
// would receive nothing) or a party works on paper.
func (s *Server) showParticipants(w http.ResponseWriter, r *http.Request) {
	s.renderParticipants(w, r, http.StatusOK, r.URL.Query().Get("ok"), nil, nil)
}

func (s *Server) renderParticipants(w http.ResponseWriter, r *http.Request, status int, notice string, errs model.ValidationErrors, form map[string]string) {
	acc := AccountFrom(r.Context())
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
	parties, err := s.deps.Members.Parties(r.Context(), caseID, acc.ID)
	if err != nil {
		s.renderError(w, r, http.StatusNotFound)
		return
	}
	people, err := s.deps.Members.Participants(r.Context(), caseID, acc.ID)
	if err != nil {
		s.renderError(w, r, http.StatusNotFound)
		return
	}
	var orders map[int64]*model.OrderStatus
	if s.deps.Orders != nil && c.OwnerID == acc.ID {
		if orders, err = s.deps.Orders.OrderStatuses(r.Context(), caseID, acc.ID); err != nil {
			s.log.Error("reading certificate orders", "request_id", RequestID(r.Context()), "err", err)
			orders = nil
		}
	}
	notices := map[string]string{"revoque": "Les certificats de ce participant sont révoqués et ses liens de retrait ne fonctionnent plus.",
		"rearme": "Le retrait est débloqué : la personne peut de nouveau saisir son code.", "partie": "La partie a été ajoutée, avec ses dossiers Dires et Pièces.", "participant": "Le participant a été ajouté.",
		"desactive": "Le participant a été désactivé : il n’a plus accès à l’expertise.", "active": "Le participant a été réactivé.",
		"dossier": "Le dossier a été ajouté."}
	p := participantsPage{Lang: "fr", CSRF: s.csrfToken(IdentityFrom(r.Context())), Notice: notices[notice], Case: c,
		Owner: c.OwnerID == acc.ID, NoClerk: true, Errors: errs, Form: form,
		Counter: s.counterEnabled() && c.OwnerID == acc.ID, CounterLimit: s.cfg.Counter.withDefaults()}
	names := map[int64]string{}
	for _, pa := range parties {
		names[pa.ID] = pa.Name
		paper := pa.DepositMode == string(rights.ModePaper)
		p.Paper = p.Paper || paper
		p.Parties = append(p.Parties, partyRow{ID: pa.ID, Name: pa.Name, Mode: modeLabels[pa.DepositMode], Paper: paper})
	}
	for _, pt := range people {
		var ps []string
		for _, id := range pt.PartyIDs {
			ps = append(ps, names[id])
		}
		if pt.PartyID != nil {
			ps = append(ps, names[*pt.PartyID])
		}
		if pt.Role == string(rights.RoleClerk) && pt.Active {
			p.NoClerk = false
		}
		row := personRow{ID: pt.ID, Owner: pt.AccountID != nil && *pt.AccountID == c.OwnerID, Name: pt.DisplayName, Email: pt.Email, Role: participantRoleLabels[pt.Role],
			Parties: strings.Join(ps, ", "), Active: pt.Active, Supervising: pt.Supervising, Phone: pt.Phone}
		if p.Counter && (pt.Role == string(rights.RolePartyMember) || pt.Role == string(rights.RoleSapiteur) && (pt.AccountID == nil || orders[pt.ID] != nil)) {
			row.Orderable, row.Ordered, p.AnyOrderable = true, orders[pt.ID] != nil, true
			row.Nonce, _ = retrieval.NewSalt()
			row.CertStatus, row.Locked, row.HasCertificate = s.orderStatusText(r, orders[pt.ID])
		}
		p.People = append(p.People, row)
	}
	if p.Owner && s.deps.Directory != nil {
		p.Directory = s.pickFromDirectory(r, people)
	}
	for _, m := range rights.DepositModes() {
		p.Modes = append(p.Modes, option{string(m), modeLabels[string(m)]})
	}
	for _, rl := range rights.Roles() {
		if rl != rights.RoleExpert {
			p.Roles = append(p.Roles, option{string(rl), participantRoleLabels[string(rl)]})
		}
	}
	s.renderPage(w, r, status, "case_participants", p)
}

func (s *Server) participantsURL(caseID int64, notice string) string {
	return "/affaires/" + strconv.FormatInt(caseID, 10) + "/participants?ok=" + notice
}

// addParty adds a party with its deposit mode.
func (s *Server) addParty(w http.ResponseWriter, r *http.Request) {
	acc := AccountFrom(r.Context())
	caseID, _ := idVar(r, "case")
	p := &model.Party{Name: strings.TrimSpace(r.PostFormValue("party_name")), DepositMode: r.PostFormValue("deposit_mode")}
	_, err := s.deps.Members.AddParty(r.Context(), caseID, acc.ID, p)
	s.afterMemberChange(w, r, caseID, "partie", err, map[string]string{"party_name": p.Name})
}

// addParticipant adds a professional (found by the address of their
// account) or a person without an account (party member, outside sapiteur).
func (s *Server) addParticipant(w http.ResponseWriter, r *http.Request) {
	acc := AccountFrom(r.Context())
	caseID, _ := idVar(r, "case")
	f := map[string]string{}
	for _, k := range []string{"role", "email", "display_name", "phone", "party", "account_id"} {
		f[k] = strings.TrimSpace(r.PostFormValue(k))
	}
	p := &model.Participant{Role: f["role"], Active: true, Supervising: r.PostFormValue("supervising") == "1"}
	var partyIDs []int64
	for _, v := range r.PostForm["parties"] {
		if id, err := strconv.ParseInt(v, 10, 64); err == nil {
			partyIDs = append(partyIDs, id)
		}
	}
	var errs model.ValidationErrors
	switch {
	case f["account_id"] != "":
		// Picked from the directory: the account by its id. The store
		// checks, in its transaction, that the account is active and may
		// hold the role (magistrate, clerk, lawyer as such; an expert as
		// co-expert or sapiteur) and is not already in the case.
		id, err := strconv.ParseInt(f["account_id"], 10, 64)
		if err != nil || id <= 0 {
			errs = append(errs, model.FieldError{Field: "account_id", Message: "Ce professionnel n’est pas valide : relancez la recherche dans l’annuaire."})
			break
		}
		p.AccountID, p.PartyIDs = &id, partyIDs
	case p.Role == string(rights.RolePartyMember) || p.Role == string(rights.RoleSapiteur):
		if found, err := s.deps.Members.AccountByEmail(r.Context(), f["email"]); err == nil && p.Role == string(rights.RoleSapiteur) && found.Role == model.RoleExpert {
			p.AccountID = &found.ID
		} else {
			p.DisplayName, p.Email, p.Phone = f["display_name"], f["email"], f["phone"]
		}
		if p.Role == string(rights.RolePartyMember) {
			if id, err := strconv.ParseInt(f["party"], 10, 64); err == nil {
				p.PartyID = &id
			} else {
				errs = append(errs, model.FieldError{Field: "party", Message: "Choisissez la partie de cet intervenant."})
			}
		}
	default:
		found, err := s.deps.Members.AccountByEmail(r.Context(), f["email"])
		if err != nil {
			errs = append(errs, model.FieldError{Field: "email", Message: "Aucun compte actif n’a cette adresse : la personne doit d’abord se connecter une fois à Sceau avec son certificat."})
		} else {
			p.AccountID = &found.ID
			p.PartyIDs = partyIDs
		}
	}
	if len(errs) > 0 {
		s.renderParticipants(w, r, http.StatusUnprocessableEntity, "", errs, f)
		return
	}
	_, err := s.deps.Members.AddParticipant(r.Context(), caseID, acc.ID, p)
	s.afterMemberChange(w, r, caseID, "participant", err, f)
}

func (s *Server) afterMemberChange(w http.ResponseWriter, r *http.Request, caseID int64, notice string, err error, form map[string]string) {
	var v model.ValidationErrors
	switch {
	case err == nil:
		http.Redirect(w, r, s.participantsURL(caseID, notice), http.StatusSeeOther)
	case errors.As(err, &v):
		s.renderParticipants(w, r, http.StatusUnprocessableEntity, "", v, form)
	case errors.Is(err, model.ErrForbidden):
		s.renderError(w, r, http.StatusForbidden)
	case errors.Is(err, model.ErrCaseClosed):
		s.renderParticipants(w, r, http.StatusConflict, "", model.ValidationErrors{{Field: "case", Message: "L’expertise est terminée : on ne peut plus y ajouter de partie ni de participant."}}, form)
	case errors.Is(err, model.ErrNotFound):
		s.renderError(w, r, http.StatusNotFound)
	default:
		s.log.Error("changing participants", "err", err)
		s.renderError(w, r, http.StatusInternalServerError)
	}
}

// orderStatusText says where a person's certificate stands, for the expert,
// in the language of r.
func (s *Server) orderStatusText(r *http.Request, st *model.OrderStatus) (text string, locked, hasCert bool) {
	if st == nil {
		return "Aucun certificat commandé.", false, false // translated by the page
	}
	day := func(t time.Time) string { return t.In(paris).Format("02/01/2006") }
	o := &st.Order
	live := 0
	for _, c := range st.Certificates {
		if c.RevokeDue == nil && c.RevokedAt == nil {
			live++
		}
	}
	var parts []string
	switch {
	case o.State == model.OrderOpen && o.LockedAt != nil:
		parts = append(parts, s.trf(r, "Retrait bloqué après %d codes erronés.", o.FailedAttempts))
		locked = true
	case o.State == model.OrderOpen && !s.now().Before(o.LinkExpiresAt):
		parts = append(parts, s.trf(r, "Lien de retrait expiré le %s.", day(o.LinkExpiresAt)))
	case o.State == model.OrderOpen:
		parts = append(parts, s.trf(r, "Commandé le %s, en attente de retrait (lien valable jusqu’au %s).", day(o.CreatedAt), day(o.LinkExpiresAt)))
	case o.State == model.OrderCancelled:
		parts = append(parts, s.trf(r, "Révoqué le %s.", day(*o.ClosedAt)))
	}
	for _, c := range st.Certificates {
		if c.RevokeDue == nil && c.RevokedAt == nil {
			parts = append(parts, s.trf(r, "Certificat retiré le %s, valable jusqu’au %s.", day(c.CollectedAt), day(c.NotAfter)))
		}
	}
	if len(st.Certificates) > live {
		parts = append(parts, s.trf(r, "%d certificat(s) révoqué(s).", len(st.Certificates)-live))
	}
	return strings.Join(parts, " "), locked, live > 0
}
