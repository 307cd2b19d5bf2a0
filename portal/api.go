package portal

// The JSON API (/api/v1) serves office software (an expert's practice
// management tool, a lawyer's case software) from the same service layer
// as the HTML pages:
//
//   - Authentication: the client certificate of the TLS connection (or of a
//     trusted proxy), through the same gate and account middleware as the
//     pages; an API client needs an account, created once on the portal.
//     No cookie is set; a login is recorded at most once an hour per
//     certificate and instance (apiLoginDue), as a browser session would.
//   - Rights: every handler calls the store interfaces the pages call
//     (Cases, Members, Documents, Blobs), whose queries apply the rights
//     matrix; nothing is filtered here.
//   - Errors: application/problem+json (RFC 9457) with French and English
//     titles (api_problem.go), including the gate's refusals.
//   - Cross-site requests: a browser presents its client certificate to any
//     site that asks, cookies or not, so a certificate is ambient authority
//     exactly like a cookie. apiGuard refuses browser requests coming from
//     another site (Sec-Fetch-Site, Origin), and requests carrying the
//     portal's session cookie (a browser) without the X-Sceau-API header;
//     every request with a body must declare application/json or
//     application/octet-stream, types an HTML form cannot send and that
//     other sites may only send after a CORS preflight, which Sceau never
//     grants (no Access-Control-* header is ever sent).
//   - Lists are paginated with an opaque cursor (apiPage) and a limit.

import (
	"cmp"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/mux"
)

//go:embed openapi.json
var openAPIDocument []byte

// apiRoutes mounts /api/v1 on the portal side. Certificate orders
// (issue 7) are mounted by apiCertificateOrders.
func (s *Server) apiRoutes(api *mux.Router) {
	// gorilla/mux 1.8.1 loses a method mismatch when a later route's first
	// matchers match (here the side and the /api/v1 prefix every route
	// inherits), so the 404 handler looks for the path under other methods.
	api.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var allow []string
		for _, m := range []string{http.MethodGet, http.MethodPost} {
			var rm mux.RouteMatch
			probe := r.Clone(r.Context())
			probe.Method = m
			if m != r.Method && api.Match(probe, &rm) && rm.MatchErr == nil {
				allow = append(allow, m)
			}
		}
		if len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			s.problem(w, r, http.StatusMethodNotAllowed, "method-not-allowed", "", "")
			return
		}
		s.problem(w, r, http.StatusNotFound, "not-found", "Cette adresse n’existe pas dans l’API.", "No such API endpoint.")
	})
	api.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.problem(w, r, http.StatusMethodNotAllowed, "method-not-allowed", "", "")
	})
	api.HandleFunc("/openapi.json", s.apiOpenAPI).Methods(http.MethodGet, http.MethodHead)

	v1 := api.NewRoute().Subrouter()
	v1.Use(s.apiGuard, s.requireCertificate, s.requireAccount)
	read := []string{http.MethodGet, http.MethodHead}
	v1.HandleFunc("/me", s.apiMe).Methods(read...)
	if s.deps.Cases != nil {
		v1.HandleFunc("/cases", s.apiCases).Methods(read...)
		v1.HandleFunc("/cases/{case:[0-9]+}", s.apiCase).Methods(read...)
		v1.HandleFunc("/cases/{case:[0-9]+}/folders", s.apiFolders).Methods(read...)
	}
	if s.deps.Cases != nil && s.deps.Members != nil {
		v1.HandleFunc("/cases/{case:[0-9]+}/participants", s.apiParticipants).Methods(read...)
		v1.HandleFunc("/cases/{case:[0-9]+}/parties", s.apiParties).Methods(read...)
	}
	if s.deps.Cases != nil && s.deps.Documents != nil && s.deps.Blobs != nil {
		v1.HandleFunc("/cases/{case:[0-9]+}/documents", s.apiDocuments).Methods(read...)
		v1.HandleFunc("/cases/{case:[0-9]+}/folders/{folder:[0-9]+}/documents", s.apiDeposit).Methods(http.MethodPost)
		v1.HandleFunc("/cases/{case:[0-9]+}/documents/{doc:[0-9]+}", s.apiDocument).Methods(read...)
		v1.HandleFunc("/cases/{case:[0-9]+}/documents/{doc:[0-9]+}/content", s.apiDownload).Methods(http.MethodGet)
		v1.HandleFunc("/cases/{case:[0-9]+}/documents/{doc:[0-9]+}/copy", s.apiDownloadCopy).Methods(http.MethodGet)
		v1.HandleFunc("/cases/{case:[0-9]+}/documents/{doc:[0-9]+}/receipt", s.apiReceipt).Methods(read...)
		v1.HandleFunc("/cases/{case:[0-9]+}/documents/{doc:[0-9]+}/lock", s.apiLock).Methods(http.MethodPost)
		v1.HandleFunc("/cases/{case:[0-9]+}/contradictoire", s.apiContradictoire).Methods(read...)
	}
	s.apiCertificateOrders(v1)
}

// isAPIDeposit matches the API's streamed upload: it gets the per-file
// upload limit instead of the generic body limit (publicHandler).
func isAPIDeposit(r *http.Request) bool {
	if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, "/api/v1/cases/") {
		return false
	}
	p := strings.Split(strings.TrimPrefix(r.URL.Path, "/api/v1/cases/"), "/")
	return len(p) == 4 && p[1] == "folders" && p[3] == "documents" && digits(p[0]) && digits(p[2])
}

func digits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

func (s *Server) apiOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write(openAPIDocument)
}

// apiHeader is the header a browser page of the portal itself must add
// to call the API while it holds a session cookie.
const apiHeader = "X-Sceau-API"

// apiGuard refuses what may be a cross-site request made by a browser on
// behalf of its user (see the package notes at the top of this file).
func (s *Server) apiGuard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		crossSite := false
		switch r.Header.Get("Sec-Fetch-Site") {
		case "", "same-origin", "none":
		default:
			crossSite = true
		}
		if o := r.Header.Get("Origin"); o != "" {
			if u, err := url.Parse(o); err != nil || !strings.EqualFold(u.Host, r.Host) {
				crossSite = true
			}
		}
		if _, err := r.Cookie(sessionCookie); err == nil && r.Header.Get(apiHeader) == "" {
			crossSite = true
		}
		if crossSite {
			s.log.Warn("API request refused: cross-site or browser request without the API header", "request_id", RequestID(r.Context()))
			s.problem(w, r, http.StatusForbidden, "cross-site",
				"L’API n’accepte pas les requêtes venant d’un autre site ; une page du portail doit ajouter l’en-tête "+apiHeader+".",
				"The API refuses requests from other sites; a portal page must add the "+apiHeader+" header.")
			return
		}
		if r.ContentLength != 0 && r.Body != http.NoBody { // -1: a body of unknown length (chunked, HTTP/2)
			mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
			if err != nil || (mt != "application/json" && mt != "application/octet-stream") {
				s.problem(w, r, http.StatusUnsupportedMediaType, "unsupported-media-type",
					"Le corps d’une requête doit être de type application/json (ou application/octet-stream pour un dépôt).",
					"Request bodies must be application/json (or application/octet-stream for a deposit).")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// apiLoginInterval spaces the logins recorded for one certificate through
// the API, which has no session: a client calling every second would
// otherwise record a login per call.
const apiLoginInterval = time.Hour

type apiLogins struct {
	once  sync.Once
	cache *ttlCache[string, bool]
}

// apiLoginDue reports whether a login should be recorded now for this
// certificate on the API: none was recorded by this instance in the last
// apiLoginInterval.
func (s *Server) apiLoginDue(fingerprint string) bool {
	_, recorded := s.apiLoginCache().get(fingerprint, s.now())
	return !recorded
}

// apiLoginRecorded notes that a login was recorded (only once it was: a
// failed record leaves the next request to try again).
func (s *Server) apiLoginRecorded(fingerprint string) {
	s.apiLoginCache().put(fingerprint, true, s.now())
}

func (s *Server) apiLoginCache() *ttlCache[string, bool] {
	s.apiLogins.once.Do(func() { s.apiLogins.cache = newTTLCache[string, bool](apiLoginInterval, cacheEntries) })
	return s.apiLogins.cache
}

// writeJSON sends v with the status.
func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		s.log.Error("encoding an API answer", "request_id", RequestID(r.Context()), "err", err)
		s.problem(w, r, http.StatusInternalServerError, "internal-error", "", "")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "private, no-store")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(append(body, '\n'))
	}
}

// maxJSONBody bounds a JSON request body; the API's JSON bodies are a few
// fields.
const maxJSONBody = 64 << 10

// decodeJSON reads one JSON object into dst, refusing unknown fields,
// trailing data, bodies over maxJSONBody and other content types, with a
// problem document; it reports whether dst was filled.
func (s *Server) decodeJSON(w http.ResponseWriter, r *http.Request, dst any) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		s.problem(w, r, http.StatusUnsupportedMediaType, "unsupported-media-type",
			"Envoyez un corps JSON avec l’en-tête Content-Type: application/json.", "Send a JSON body with Content-Type: application/json.")
		return false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSONBody))
	dec.DisallowUnknownFields()
	err = dec.Decode(dst)
	if err == nil {
		if dec.Decode(&json.RawMessage{}) != io.EOF {
			err = errors.New("trailing data")
		}
	}
	if err == nil {
		return true
	}
	var (
		mbe    *http.MaxBytesError
		syntax *json.SyntaxError
		typ    *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &mbe):
		s.problem(w, r, http.StatusRequestEntityTooLarge, "payload-too-large",
			"Le corps JSON dépasse "+humanSize(maxJSONBody)+".", "The JSON body exceeds "+strconv.Itoa(maxJSONBody)+" bytes.")
	case errors.Is(err, io.EOF):
		s.problem(w, r, http.StatusBadRequest, "invalid-json", "Le corps de la requête est vide.", "The request body is empty.")
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
		s.problem(w, r, http.StatusBadRequest, "invalid-json", "Le corps n’est pas du JSON valide.", "The body is not valid JSON.")
	case errors.As(err, &typ):
		s.problem(w, r, http.StatusBadRequest, "invalid-json", "Le champ « "+typ.Field+" » n’a pas le bon type.", "Field "+strconv.Quote(typ.Field)+" has the wrong type.")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		f := strings.TrimPrefix(err.Error(), "json: unknown field ")
		s.problem(w, r, http.StatusBadRequest, "invalid-json", "Champ inconnu : "+f+".", "Unknown field: "+f+".")
	default:
		s.problem(w, r, http.StatusBadRequest, "invalid-json", "Le corps n’est pas un objet JSON attendu.", "The body is not the expected JSON object.")
	}
	return false
}

// apiStoreError answers a store error of a read: 404, 403, or 503 (logged).
func (s *Server) apiStoreError(w http.ResponseWriter, r *http.Request, err error) {
	status := readingStatus(err)
	if status == http.StatusServiceUnavailable {
		s.log.Error("API: reading a case", "request_id", RequestID(r.Context()), "err", err)
	}
	s.problem(w, r, status, "", "", "")
}

// apiIDs reads the numeric route variables; the routes' patterns already
// require digits, so only an overflow fails (404).
func (s *Server) apiIDs(w http.ResponseWriter, r *http.Request, names ...string) ([]int64, bool) {
	out := make([]int64, len(names))
	for i, n := range names {
		id, ok := idVar(r, n)
		if !ok {
			s.problem(w, r, http.StatusNotFound, "not-found", "", "")
			return nil, false
		}
		out[i] = id
	}
	return out, true
}

// Pagination. Every list is ordered by id, ascending: new items only ever
// come at the end, so walking the pages never skips nor repeats one even
// while deposits happen. The cursor is opaque to clients (base64url of
// "v1:" and the last id returned); the store returns the whole
// rights-filtered list of one case (or of the person's cases) and the page
// is cut here.
const (
	defaultPageLimit = 50
	maxPageLimit     = 200
)

// apiPage is the page asked for: after the id in the cursor, at most limit.
type apiPage struct {
	after int64
	limit int
}

// apiList is a page of a list; NextCursor is absent on the last page.
type apiList[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

func encodeCursor(id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("v1:" + strconv.FormatInt(id, 10)))
}

func decodeCursor(c string) (int64, bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || !strings.HasPrefix(string(b), "v1:") {
		return 0, false
	}
	id, err := strconv.ParseInt(strings.TrimPrefix(string(b), "v1:"), 10, 64)
	return id, err == nil && id > 0
}

// pageOf reads the cursor and limit query parameters, answering 400 itself
// when one is malformed.
func (s *Server) pageOf(w http.ResponseWriter, r *http.Request) (apiPage, bool) {
	q := r.URL.Query()
	p := apiPage{limit: defaultPageLimit}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageLimit {
			s.problem(w, r, http.StatusBadRequest, "invalid-limit",
				"Le paramètre limit doit être un entier entre 1 et "+strconv.Itoa(maxPageLimit)+".",
				"The limit parameter must be an integer between 1 and "+strconv.Itoa(maxPageLimit)+".")
			return p, false
		}
		p.limit = n
	}
	if v := q.Get("cursor"); v != "" {
		id, ok := decodeCursor(v)
		if !ok {
			s.problem(w, r, http.StatusBadRequest, "invalid-cursor",
				"Le curseur n’est pas valide : reprenez la valeur next_cursor d’une réponse.",
				"The cursor is not valid: use the next_cursor value of a response.")
			return p, false
		}
		p.after = id
	}
	return p, true
}

// paginate cuts the page p out of items (any order), converting each item.
func paginate[T, J any](items []T, id func(T) int64, conv func(T) J, p apiPage) apiList[J] {
	sorted := slices.Clone(items)
	slices.SortFunc(sorted, func(a, b T) int { return cmp.Compare(id(a), id(b)) })
	start, _ := slices.BinarySearchFunc(sorted, p.after, func(t T, after int64) int {
		if id(t) <= after {
			return -1
		}
		return 1
	})
	out := apiList[J]{Items: []J{}}
	for i := start; i < len(sorted) && len(out.Items) < p.limit; i++ {
		out.Items = append(out.Items, conv(sorted[i]))
		if len(out.Items) == p.limit && i+1 < len(sorted) {
			out.NextCursor = encodeCursor(id(sorted[i]))
		}
	}
	return out
}
