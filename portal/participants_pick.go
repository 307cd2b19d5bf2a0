package portal

import (
	"errors"
	"net/http"
	"strings"

	"sceau.fr/sceau/portal/model"
	"sceau.fr/sceau/portal/rights"
)

// pickResultsPerKind is how many experts, lawyers and people of the courts
// the participants page lists for one search.
const pickResultsPerKind = 10

// directoryPick is the search of the directory on the participants page:
// the expert looks a professional up by name and/or court (or bar) and
// adds them with one button per role the account may hold.
type directoryPick struct {
	Q, Court string
	Searched bool
	Errors   model.ValidationErrors
	Rows     []pickRow
	// More: a kind had more results than listed; narrow the search.
	More bool
}

type pickRow struct {
	AccountID                 int64
	Name, Role, Court, Detail string
	InCase                    bool
	Lawyer, Magistrate        bool
	Buttons                   []option // role value, "Ajouter comme …"
}

// pickButtons are the roles an account of each role may take in a case,
// as the buttons of a search result (rights.ParticipantRoles, without the
// owner's role).
var pickButtons = map[string][]option{
	model.RoleMagistrate: {{string(rights.RoleMagistrate), "Ajouter comme magistrat"}},
	model.RoleClerk:      {{string(rights.RoleClerk), "Ajouter comme greffier"}},
	model.RoleLawyer:     {{string(rights.RoleLawyer), "Ajouter comme avocat"}},
	model.RoleExpert:     {{string(rights.RoleCoExpert), "Ajouter comme co-expert"}, {string(rights.RoleSapiteur), "Ajouter comme sapiteur"}},
}

// pickFromDirectory runs the search of the participants page: annuaire
// (name; for lawyers also email or CNBF number) and annuaire_juridiction
// (court, or bar for lawyers), from the query string or, when a form
// comes back with errors, from the posted form. Every word must match,
// case and accents ignored (the directory's rules, model.DirectoryQuery).
// People already in the case are listed without buttons.
func (s *Server) pickFromDirectory(r *http.Request, people []model.Participant) *directoryPick {
	clean := func(name string) string { return strings.TrimSpace(strings.ToValidUTF8(r.FormValue(name), "\uFFFD")) }
	d := &directoryPick{Q: clean("annuaire"), Court: clean("annuaire_juridiction")}
	if d.Q == "" && d.Court == "" {
		return d
	}
	inCase := map[int64]bool{}
	for _, p := range people {
		if p.AccountID != nil {
			inCase[*p.AccountID] = true
		}
	}
	rename := map[string]string{"q": "annuaire", "juridiction": "annuaire_juridiction"}
	for _, k := range directoryKinds {
		q := model.DirectoryQuery{Kind: k.Value, Text: d.Q, Court: d.Court, Limit: pickResultsPerKind + 1}
		accs, err := s.deps.Directory.SearchDirectory(r.Context(), q)
		var ve model.ValidationErrors
		if errors.As(err, &ve) {
			for _, e := range ve {
				if f := rename[e.Field]; f != "" && d.Errors.For(f) == "" {
					d.Errors = append(d.Errors, model.FieldError{Field: f, Message: e.Message})
				}
			}
			if len(d.Errors) == 0 {
				d.Errors = model.ValidationErrors{{Field: "annuaire", Message: "Cette recherche n’est pas possible : modifiez-la."}}
			}
			return d
		}
		if err != nil {
			s.log.Error("directory search (participants)", "request_id", RequestID(r.Context()), "err", err)
			d.Errors = model.ValidationErrors{{Field: "annuaire", Message: "L’annuaire ne répond pas pour l’instant : réessayez dans un moment."}}
			return d
		}
		if len(accs) > pickResultsPerKind {
			accs, d.More = accs[:pickResultsPerKind], true
		}
		for _, a := range accs {
			row := pickRow{AccountID: a.ID, Name: a.DisplayName, Role: directoryRoles[a.Role], Court: a.Court, InCase: inCase[a.ID],
				Lawyer: a.Role == model.RoleLawyer, Magistrate: a.Role == model.RoleMagistrate, Buttons: pickButtons[a.Role]}
			switch a.Role {
			case model.RoleExpert:
				row.Detail = a.Specialties
			case model.RoleLawyer:
				row.Court, row.Detail = a.Bar, a.CNBF
			}
			d.Rows = append(d.Rows, row)
		}
	}
	d.Searched = true
	return d
}
