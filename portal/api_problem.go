package portal

import (
	"encoding/json"
	"net/http"
	"strings"

	"sceau.fr/sceau/portal/model"
)

// Problem is an RFC 9457 problem document. The UI speaks French first, so
// "title" and "detail" are French; "title_en" and "detail_en" are the
// English versions, as extension members (clients pick the one they show;
// no Accept-Language negotiation, so logs and support tickets always
// carry both). "code" is the stable machine-readable name also found at
// the end of "type".
type Problem struct {
	Type      string         `json:"type"`
	Title     string         `json:"title"`
	TitleEN   string         `json:"title_en"`
	Status    int            `json:"status"`
	Detail    string         `json:"detail,omitempty"`
	DetailEN  string         `json:"detail_en,omitempty"`
	Code      string         `json:"code"`
	RequestID string         `json:"request_id,omitempty"`
	Errors    []problemField `json:"errors,omitempty"`
}

// problemField is one invalid field of a request, its message in French.
type problemField struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func problemFields(v model.ValidationErrors) []problemField {
	out := make([]problemField, 0, len(v))
	for _, e := range v {
		out = append(out, problemField{e.Field, e.Message})
	}
	return out
}

// problemTypeBase prefixes every problem code into its "type" URI. The
// URIs identify; they are not meant to be dereferenced (RFC 9457 §3.1.1).
const problemTypeBase = "urn:sceau:problem:"

// problemTexts are the titles of each problem code: French, English.
var problemTexts = map[string][2]string{
	// Generic, by HTTP status.
	"bad-request":            {"Demande incorrecte", "Bad request"},
	"forbidden":              {"Accès refusé", "Forbidden"},
	"not-found":              {"Introuvable", "Not found"},
	"method-not-allowed":     {"Méthode non permise", "Method not allowed"},
	"conflict":               {"Conflit", "Conflict"},
	"misdirected-request":    {"Adresse incorrecte", "Misdirected request"},
	"payload-too-large":      {"Envoi trop volumineux", "Payload too large"},
	"unprocessable":          {"Données invalides", "Unprocessable content"},
	"internal-error":         {"Erreur du service", "Internal error"},
	"service-unavailable":    {"Service momentanément indisponible", "Service unavailable"},
	"insufficient-storage":   {"Stockage plein", "Insufficient storage"},
	"unsupported-media-type": {"Type de contenu non accepté", "Unsupported media type"},
	"not-acceptable":         {"Format de réponse non disponible", "Not acceptable"},
	// Gate refusals (certgate.RefusalKind codes).
	"no_certificate":         {"Aucun certificat présenté", "No client certificate"},
	"expired":                {"Certificat expiré", "Certificate expired"},
	"not_yet_valid":          {"Certificat pas encore valable", "Certificate not yet valid"},
	"unknown_ca":             {"Autorité de certification non reconnue", "Unknown certificate authority"},
	"revoked":                {"Certificat révoqué", "Certificate revoked"},
	"wrong_usage":            {"Certificat inadapté", "Certificate not meant for client authentication"},
	"policy_missing":         {"Type de certificat non accepté", "Certificate policy not accepted"},
	"revocation_unavailable": {"Vérification momentanément impossible", "Revocation status unavailable"},
	"malformed":              {"Certificat illisible", "Unreadable certificate"},
	// Accounts.
	"certificate-removed": {"Certificat retiré", "Certificate removed from the account"},
	"unknown-account":     {"Compte inconnu", "No account for this certificate"},
	"account-suspended":   {"Compte suspendu", "Account suspended"},
	"registration-needed": {"Inscription nécessaire", "Registration needed"},
	"terms-not-accepted":  {"Conditions d’utilisation à accepter", "Terms of use not accepted"},
	// API requests.
	"cross-site":         {"Requête d’un autre site refusée", "Cross-site request refused"},
	"invalid-json":       {"JSON invalide", "Malformed JSON"},
	"invalid-cursor":     {"Curseur invalide", "Invalid cursor"},
	"invalid-limit":      {"Limite invalide", "Invalid limit"},
	"validation":         {"Données invalides", "Validation failed"},
	"deposit-forbidden":  {"Dépôt refusé", "Deposit not allowed"},
	"deposits-suspended": {"Dépôts suspendus", "Deposits suspended"},
	"case-closed":        {"Expertise close", "Case closed"},
	"file-too-large":     {"Fichier trop volumineux", "File too large"},
	"upload-interrupted": {"Envoi interrompu", "Upload interrupted"},
	"already-locked":     {"Document déjà verrouillé", "Document already locked"},
	"state-conflict":     {"Action impossible dans l’état de l’expertise", "Not possible in the case's current state"},
}

// statusCodes names the generic problem of an HTTP status.
var statusCodes = map[int]string{
	http.StatusBadRequest: "bad-request", http.StatusForbidden: "forbidden", http.StatusNotFound: "not-found",
	http.StatusMethodNotAllowed: "method-not-allowed", http.StatusConflict: "conflict",
	http.StatusMisdirectedRequest: "misdirected-request", http.StatusRequestEntityTooLarge: "payload-too-large",
	http.StatusUnprocessableEntity: "unprocessable", http.StatusInternalServerError: "internal-error",
	http.StatusServiceUnavailable: "service-unavailable", http.StatusInsufficientStorage: "insufficient-storage",
	http.StatusUnsupportedMediaType: "unsupported-media-type", http.StatusNotAcceptable: "not-acceptable",
}

// apiPrefix is where the JSON API lives; every answer under it, including
// the gate's and the router's refusals, is JSON.
const apiPrefix = "/api/"

func isAPIRequest(r *http.Request) bool {
	return strings.HasPrefix(r.URL.Path, apiPrefix) || r.URL.Path == "/api"
}

// newProblem builds the problem of code with the status; unknown codes
// fall back to the status's generic problem.
func newProblem(r *http.Request, status int, code string) *Problem {
	t, ok := problemTexts[code]
	if !ok {
		code = statusCodes[status]
		if code == "" {
			code = "error"
		}
		t = problemTexts[code]
		if t[0] == "" {
			t = [2]string{http.StatusText(status), http.StatusText(status)}
		}
	}
	return &Problem{Type: problemTypeBase + code, Title: t[0], TitleEN: t[1], Status: status, Code: code, RequestID: RequestID(r.Context())}
}

// writeProblem sends p as application/problem+json.
func (s *Server) writeProblem(w http.ResponseWriter, r *http.Request, p *Problem) {
	body, err := json.Marshal(p)
	if err != nil { // cannot happen with these field types
		s.log.Error("encoding a problem", "request_id", RequestID(r.Context()), "err", err)
		body = []byte(`{"type":"urn:sceau:problem:internal-error","status":500}`)
	}
	h := w.Header()
	h.Del("Content-Disposition")
	h.Set("Content-Type", "application/problem+json")
	h.Set("Content-Language", "fr")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_, _ = w.Write(append(body, '\n'))
}

// problem answers with the problem of code; detail and detailEN may be
// empty.
func (s *Server) problem(w http.ResponseWriter, r *http.Request, status int, code, detail, detailEN string) {
	p := newProblem(r, status, code)
	p.Detail, p.DetailEN = detail, detailEN
	s.writeProblem(w, r, p)
}

// pageProblem is how the HTML middleware (gate, accounts, router, body
// limits, panic recovery) answers under /api/: renderPage hands it the
// page it was about to draw, and the French texts of that page become the
// problem's title and detail, the English ones come from the code.
func (s *Server) pageProblem(w http.ResponseWriter, r *http.Request, status int, data any) {
	var p *Problem
	switch d := data.(type) {
	case refusalPage:
		p = newProblem(r, status, d.Code)
		if d.Title != "" {
			p.Title = d.Title
		}
		p.Detail = strings.TrimSpace(d.Message + " " + d.Todo)
	case errorPage:
		p = newProblem(r, status, "")
		if d.Title != "" {
			p.Title = d.Title
		}
		p.Detail = d.Message
	default:
		p = newProblem(r, status, "")
	}
	s.writeProblem(w, r, p)
}

// browserPages are where requireAccount sends a browser first; an API
// client, which cannot fill them in, gets a problem naming them.
var browserPages = map[string][3]string{
	"/inscription": {"registration-needed", "Votre certificat n’est rattaché à aucun compte : inscrivez-vous d’abord sur le portail (page /inscription) avec ce certificat.",
		"This certificate has no account yet: register first on the portal (/inscription) with it."},
	"/conditions": {"terms-not-accepted", "Acceptez d’abord les conditions d’utilisation en vigueur sur le portail (page /conditions).",
		"Accept the current terms of use on the portal first (/conditions)."},
}

// redirectBrowser sends a browser to a page it must visit first
// (registration, terms of use); under /api/ it answers 403 with a problem
// saying which page to visit instead.
func (s *Server) redirectBrowser(w http.ResponseWriter, r *http.Request, to string) {
	if isAPIRequest(r) {
		if t, ok := browserPages[to]; ok {
			s.problem(w, r, http.StatusForbidden, t[0], t[1], t[2])
			return
		}
		s.problem(w, r, http.StatusForbidden, "forbidden", "", "")
		return
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}
