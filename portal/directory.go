package portal

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"sceau.fr/sceau/portal/model"
	"sceau.fr/sceau/templates"
)

// Directory is what the portal needs from storage for the annuaire.
type Directory interface {
	SearchDirectory(ctx context.Context, q model.DirectoryQuery) ([]model.Account, error)
}

// directoryKinds are the choices of the form, in order.
var directoryKinds = []directoryKind{
	{Value: model.DirectoryExperts, Label: "Experts"},
	{Value: model.DirectoryLawyers, Label: "Avocats"},
	{Value: model.DirectoryJustice, Label: "Magistrats et greffiers"},
}

// directoryColumns names the court and detail columns of each kind of
// search ("" leaves the detail column out).
var directoryColumns = map[string][2]string{
	model.DirectoryExperts: {"Cour d’appel", "Spécialités"},
	model.DirectoryLawyers: {"Barreau", "N° CNBF"},
	model.DirectoryJustice: {"Juridiction", ""},
}

var directoryRoles = map[string]string{
	model.RoleMagistrate: "Magistrat", model.RoleClerk: "Greffier", model.RoleLawyer: "Avocat", model.RoleExpert: "Expert",
}

type directoryKind struct {
	Value, Label string
	Checked      bool
}

type directoryRow struct {
	Name, Role, Court, Detail, Email string
	NationalList                     bool
}

type directoryPage struct {
	Lang                      string
	Kinds                     []directoryKind
	Kind, Q, Court, Specialty string
	Errors                    model.ValidationErrors
	// Searched is set once a search ran: the results part is shown.
	Searched                  bool
	Summary                   string
	CourtHeader, DetailHeader string
	Rows                      []directoryRow
	PrevURL, NextURL          string
}

// directory searches professionals: experts by name, court of appeal and
// specialty; lawyers by name, email or CNBF number (and bar); magistrates
// and clerks by name and court. Litigants may not use it. Query:
// type, q, juridiction, specialite, and apres or avant (the id after or
// before which the page starts). A wrong value gives the form back with a
// French message, never an error page.
func (s *Server) directory(w http.ResponseWriter, r *http.Request) {
	acc := AccountFrom(r.Context())
	if acc == nil || directoryRoles[acc.Role] == "" {
		s.renderError(w, r, http.StatusForbidden)
		return
	}
	if s.deps.Directory == nil {
		s.renderError(w, r, http.StatusNotFound)
		return
	}
	v := r.URL.Query()
	clean := func(name string) string {
		return strings.TrimSpace(strings.ToValidUTF8(v.Get(name), "\uFFFD"))
	}
	p := directoryPage{Lang: "fr", Kind: clean("type"), Q: clean("q"), Court: clean("juridiction"), Specialty: clean("specialite")}
	if p.Kind == "" {
		p.Kind = model.DirectoryExperts
	}
	for _, k := range directoryKinds {
		p.Kinds = append(p.Kinds, directoryKind{k.Value, k.Label, k.Value == p.Kind})
	}
	if !v.Has("q") && !v.Has("juridiction") && !v.Has("specialite") && !v.Has("apres") && !v.Has("avant") {
		s.renderPage(w, r, http.StatusOK, "directory", p) // first visit: the empty form
		return
	}

	const pageSize = model.DirectoryPageSize
	q := model.DirectoryQuery{Kind: p.Kind, Text: p.Q, Court: p.Court, Specialty: p.Specialty, Limit: pageSize + 1}
	after, okAfter := pageID(v, "apres")
	before, okBefore := pageID(v, "avant")
	q.AfterID, q.BeforeID = after, before
	status := http.StatusUnprocessableEntity
	if !okAfter || !okBefore {
		// Only a hand-made or truncated link gets here.
		p.Errors = append(p.Errors, model.FieldError{Field: "apres", Message: "Ce lien de page n’est pas valide : relancez la recherche."})
	}
	if err := q.Validate(); err != nil {
		var ve model.ValidationErrors
		errors.As(err, &ve)
		p.Errors = append(p.Errors, ve...)
	}
	if p.Errors.For("type") != "" || p.Errors.For("apres") != "" {
		status = http.StatusBadRequest // not something the form sends
	}
	if len(p.Errors) > 0 {
		s.renderPage(w, r, status, "directory", p)
		return
	}

	accs, err := s.deps.Directory.SearchDirectory(r.Context(), q)
	var ve model.ValidationErrors
	if errors.As(err, &ve) {
		p.Errors = ve
		s.renderPage(w, r, http.StatusUnprocessableEntity, "directory", p)
		return
	}
	if err != nil {
		s.log.Error("directory search", "request_id", RequestID(r.Context()), "err", err)
		s.renderError(w, r, http.StatusServiceUnavailable)
		return
	}

	// One more than a page was asked for: it says whether another page
	// follows (or, going back, precedes).
	hasPrev, hasNext := after > 0, before > 0
	if len(accs) > pageSize {
		if before > 0 {
			accs, hasPrev = accs[len(accs)-pageSize:], true
		} else {
			accs, hasNext = accs[:pageSize], true
		}
	}
	p.Searched = true
	cols := directoryColumns[q.Kind]
	p.CourtHeader, p.DetailHeader = cols[0], cols[1]
	for _, a := range accs {
		row := directoryRow{Name: a.DisplayName, Role: directoryRoles[a.Role], Court: a.Court, Email: a.Email}
		switch a.Role {
		case model.RoleExpert:
			row.Detail, row.NationalList = a.Specialties, a.NationalList
		case model.RoleLawyer:
			row.Court, row.Detail = a.Bar, a.CNBF
		}
		p.Rows = append(p.Rows, row)
	}
	link := func(param string, id int64) string {
		l := url.Values{"type": {q.Kind}}
		for name, value := range map[string]string{"q": p.Q, "juridiction": p.Court, "specialite": p.Specialty} {
			if value != "" {
				l.Set(name, value)
			}
		}
		if id > 0 {
			l.Set(param, strconv.FormatInt(id, 10))
		}
		return "/annuaire?" + l.Encode()
	}
	switch {
	case hasPrev && len(accs) > 0:
		p.PrevURL = link("avant", accs[0].ID)
	case hasPrev: // an empty page after the last one: go back from where it started
		p.PrevURL = link("avant", after+1)
	}
	switch {
	case hasNext && len(accs) > 0:
		p.NextURL = link("apres", accs[len(accs)-1].ID)
	case hasNext:
		p.NextURL = link("apres", before-1)
	}
	p.Summary = directorySummary(requestLang(r), len(accs), hasPrev || hasNext, hasNext)
	s.renderPage(w, r, http.StatusOK, "directory", p)
}

// pageID reads a page boundary: absent is 0; anything but a positive id
// is refused.
func pageID(v url.Values, name string) (int64, bool) {
	s := v.Get(name)
	if s == "" {
		return 0, true
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 || id == math.MaxInt64 {
		return 0, false
	}
	return id, true
}

// directorySummary is the sentence that gives the number of results, in
// lang.
func directorySummary(lang string, n int, paged, more bool) string {
	say := func(format string, a ...any) string { return fmt.Sprintf(templates.T(lang, format), a...) }
	switch {
	case n == 0 && paged:
		return say("Aucun résultat sur cette page.")
	case n == 0:
		return say("Aucun professionnel ne correspond à votre recherche.")
	case !paged && n == 1:
		return say("1 professionnel correspond à votre recherche.")
	case !paged:
		return say("%d professionnels correspondent à votre recherche.", n)
	case n == 1 && more:
		return say("1 résultat sur cette page ; d’autres suivent.")
	case n == 1:
		return say("1 résultat sur cette page.")
	case more:
		return say("%d résultats sur cette page ; d’autres suivent.", n)
	}
	return say("%d résultats sur cette page.", n)
}
