package portal

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"sceau.fr/sceau/portal/model"
)

// Search finds cases, documents and participants among what an account
// may see (rights applied in its queries).
type Search interface {
	Search(ctx context.Context, accountID int64, text string) (*model.SearchResults, error)
}

type searchPage struct {
	Lang, Query, Error string
	Searched           bool
	Results            *model.SearchResults
	Kinds, Roles       map[string]string
	States             map[string]string
}

// search answers the search box: at least 3 characters, in the names of
// the person's cases, of the documents they may read and of the
// participants of their cases.
func (s *Server) search(w http.ResponseWriter, r *http.Request) {
	acc := AccountFrom(r.Context())
	p := searchPage{Lang: "fr", Query: strings.TrimSpace(r.URL.Query().Get("q")), Kinds: kindLabels, Roles: participantRoleLabels, States: stateLabels}
	if p.Query == "" {
		s.renderPage(w, r, http.StatusOK, "search", p)
		return
	}
	res, err := s.deps.Search.Search(r.Context(), acc.ID, p.Query)
	var v model.ValidationErrors
	switch {
	case errors.As(err, &v):
		p.Error = v[0].Message
		s.renderPage(w, r, http.StatusUnprocessableEntity, "search", p)
		return
	case err != nil:
		s.log.Error("search", "err", err)
		s.renderError(w, r, http.StatusServiceUnavailable)
		return
	}
	p.Searched, p.Results = true, res
	s.renderPage(w, r, http.StatusOK, "search", p)
}
