package portal

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"sceau.fr/sceau/portal/model"
)

type caseEditPage struct {
	Lang, CSRF, Name, Consignation string
	Case                           *model.Case
	Errors                         model.ValidationErrors
}

// editCase shows the owner the name and consignation date form.
func (s *Server) editCase(w http.ResponseWriter, r *http.Request) {
	acc := AccountFrom(r.Context())
	caseID, _ := idVar(r, "case")
	c, err := s.deps.Cases.Case(r.Context(), caseID, acc.ID)
	if err != nil {
		s.renderError(w, r, http.StatusNotFound)
		return
	}
	if c.OwnerID != acc.ID {
		s.renderError(w, r, http.StatusForbidden)
		return
	}
	p := caseEditPage{Lang: "fr", CSRF: s.csrfToken(IdentityFrom(r.Context())), Case: c, Name: c.Name}
	if c.ConsignationDate != nil {
		p.Consignation = c.ConsignationDate.Format("2006-01-02")
	}
	s.renderPage(w, r, http.StatusOK, "case_edit", p)
}

// saveCase renames the case (empty: the derived name) and records the
// consignation date; errors come back next to the fields.
func (s *Server) saveCase(w http.ResponseWriter, r *http.Request) {
	acc := AccountFrom(r.Context())
	caseID, _ := idVar(r, "case")
	c, err := s.deps.Cases.Case(r.Context(), caseID, acc.ID)
	if err != nil {
		s.renderError(w, r, http.StatusNotFound)
		return
	}
	p := caseEditPage{Lang: "fr", CSRF: s.csrfToken(IdentityFrom(r.Context())), Case: c,
		Name: strings.TrimSpace(r.PostFormValue("name")), Consignation: strings.TrimSpace(r.PostFormValue("consignation_date"))}
	var consignation *time.Time
	if p.Consignation != "" {
		d, err := time.Parse("2006-01-02", p.Consignation) // a calendar date: midnight UTC
		if err != nil {
			p.Errors = model.ValidationErrors{{Field: "consignation_date", Message: "Date invalide (jj/mm/aaaa)."}}
			s.renderPage(w, r, http.StatusUnprocessableEntity, "case_edit", p)
			return
		}
		consignation = &d
	}
	_, err = s.deps.Cases.UpdateCaseDetails(r.Context(), caseID, acc.ID, p.Name, consignation)
	var v model.ValidationErrors
	switch {
	case err == nil:
		http.Redirect(w, r, "/affaires/"+strconv.FormatInt(caseID, 10), http.StatusSeeOther)
	case errors.As(err, &v):
		p.Errors = v
		s.renderPage(w, r, http.StatusUnprocessableEntity, "case_edit", p)
	case errors.Is(err, model.ErrForbidden):
		s.renderError(w, r, http.StatusForbidden)
	case errors.Is(err, model.ErrCaseClosed):
		p.Errors = model.ValidationErrors{{Field: "name", Message: "L’expertise est terminée : elle ne peut plus être modifiée."}}
		s.renderPage(w, r, http.StatusConflict, "case_edit", p)
	default:
		s.renderError(w, r, http.StatusNotFound)
	}
}
