package portal

import (
	"net/http"
)

// page is the data every page template receives.
type page struct {
	Lang string
	Data any
}

// errorPage is the data of the error template.
type errorPage struct {
	Lang, Title, Message, RequestID string
}

// errorTexts are what a person sees for each status: what happened and
// what to do, never internal details (those go to the log).
var errorTexts = map[int][2]string{
	http.StatusBadRequest:            {"Demande incorrecte", "La demande n’a pas pu être comprise. Revenez à la page précédente et réessayez."},
	http.StatusForbidden:             {"Accès refusé", "Vous n’avez pas accès à cette page."},
	http.StatusNotFound:              {"Page introuvable", "Cette page n’existe pas ou plus. Vérifiez l’adresse ou revenez à l’accueil."},
	http.StatusMethodNotAllowed:      {"Action impossible", "Cette action n’est pas possible sur cette page."},
	http.StatusMisdirectedRequest:    {"Adresse incorrecte", "Cette page ne se trouve pas à l’adresse demandée. Rechargez la page ; si le problème persiste, fermez puis rouvrez votre navigateur."},
	http.StatusRequestEntityTooLarge: {"Envoi trop volumineux", "Les données envoyées dépassent la taille autorisée."},
	http.StatusInternalServerError:   {"Erreur du service", "Une erreur inattendue s’est produite. Réessayez dans un instant ; si elle persiste, signalez la référence ci-dessous."},
	http.StatusServiceUnavailable:    {"Service momentanément indisponible", "Le service redémarre ou sa base de données est injoignable. Réessayez dans quelques instants."},
}

// renderError answers with the error page for status (in the request's
// language: the template translates the texts below).
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, status int) {
	t, ok := errorTexts[status]
	if !ok {
		t = [2]string{http.StatusText(status), ""}
	}
	s.renderPage(w, r, status, "error", errorPage{Lang: "fr", Title: t[0], Message: t[1], RequestID: RequestID(r.Context())})
}

// renderPage renders into a buffer first, so a template error becomes a
// clean 500 instead of half a page.
func (s *Server) renderPage(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	if isAPIRequest(r) {
		s.pageProblem(w, r, status, data)
		return
	}
	lang := requestLang(r)
	body, err := s.deps.Templates.PageIn(lang, name, data, langSwitchURL(r))
	if err != nil {
		s.log.Error("rendering page", "page", name, "request_id", RequestID(r.Context()), "err", err)
		http.Error(w, "Erreur du service", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", lang)
	w.Header().Add("Vary", "Cookie, Accept-Language")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
