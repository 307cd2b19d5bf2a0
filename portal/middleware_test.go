package portal

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

var requestIDPattern = regexp.MustCompile(`^[0-9a-f]{16}$`)

// assertSecurityHeaders checks what every public response must carry.
func assertSecurityHeaders(t *testing.T, resp *http.Response) {
	t.Helper()
	h := resp.Header
	if got := h.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("X-Content-Type-Options = %q, want nosniff", got)
	}
	if got := h.Get("Referrer-Policy"); got != "same-origin" {
		t.Errorf("Referrer-Policy = %q, want same-origin", got)
	}
	if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "default-src 'self'") {
		t.Errorf("Content-Security-Policy = %q, want default-src 'self' and frame-ancestors 'none'", csp)
	}
	if got := h.Get("X-Frame-Options"); got != "DENY" {
		t.Errorf("X-Frame-Options = %q, want DENY", got)
	}
	if got := h.Get("Strict-Transport-Security"); !strings.HasPrefix(got, "max-age=") {
		t.Errorf("Strict-Transport-Security = %q", got)
	}
	if id := h.Get("X-Request-Id"); !requestIDPattern.MatchString(id) {
		t.Errorf("X-Request-Id = %q, want 16 hex digits", id)
	}
}

func TestPublicResponses(t *testing.T) {
	cfg := separateConfig(t)
	cfg.MaxBodyBytes = 1024
	h := start(t, cfg, nil)
	portal := newClient(t, h.srv.Addr("portal"), clientOpts{})
	counter := newClient(t, h.srv.Addr("counter"), clientOpts{})
	onPortal := func(path string) string { return urlFor(t, portalHost, h.srv.Addr("portal"), path) }
	onCounter := func(path string) string { return urlFor(t, counterHost, h.srv.Addr("counter"), path) }

	cases := []struct {
		name         string
		client       *http.Client
		method, url  string
		body         string
		status       int
		contains     []string
		errorPage    bool // the French error page, quoting the request id
		contentTypes string
	}{
		{"portal home", portal, "GET", onPortal("/"), "", 200, []string{`lang="fr"`, "Portail des expertises"}, false, "text/html"},
		{"counter home", counter, "GET", onCounter("/"), "", 200, []string{`lang="fr"`, "Guichet de retrait"}, false, "text/html"},
		{"portal healthz", portal, "GET", onPortal("/healthz"), "", 200, []string{"ok"}, false, "text/plain"},
		{"static asset", counter, "GET", onCounter("/static/sceau.css"), "", 200, nil, false, "text/css"},
		{"unknown path on the portal", portal, "GET", onPortal("/nexiste-pas"), "", 404, []string{"Page introuvable"}, true, "text/html"},
		{"unknown path on the counter", counter, "GET", onCounter("/dossiers/42"), "", 404, []string{"Page introuvable"}, true, "text/html"},
		{"counter-only page on the portal", portal, "GET", onPortal("/dev/mail"), "", 404, []string{"Page introuvable"}, true, "text/html"},
		{"body over the limit", portal, "POST", onPortal("/"), strings.Repeat("x", 1025), 413, []string{"Envoi trop volumineux"}, true, "text/html"},
		{"body over the limit on the counter", counter, "POST", onCounter("/"), strings.Repeat("x", 4096), 413, []string{"Envoi trop volumineux"}, true, "text/html"},
		{"body at the limit reaches the router", portal, "POST", onPortal("/"), strings.Repeat("x", 1024), 405, []string{"Action impossible"}, true, "text/html"},
	}
	seen := map[string]string{}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			resp, got := fetch(t, tc.client, tc.method, tc.url, body, nil)
			wantStatus(t, resp, got, tc.status)
			if tc.body != "" && resp.Request.ContentLength != int64(len(tc.body)) {
				t.Fatalf("request sent Content-Length %d, want %d", resp.Request.ContentLength, len(tc.body))
			}
			assertSecurityHeaders(t, resp)
			wantBody(t, got, tc.contains...)
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, tc.contentTypes) {
				t.Errorf("Content-Type = %q, want %s", ct, tc.contentTypes)
			}
			id := resp.Header.Get("X-Request-Id")
			if other, dup := seen[id]; dup {
				t.Errorf("request id %s given to both %q and %q", id, other, tc.name)
			}
			seen[id] = tc.name
			if tc.errorPage {
				wantBody(t, got, `lang="fr"`, "Référence de la demande", id)
				if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
					t.Errorf("Cache-Control = %q, want no-store on an error page", cc)
				}
			}
		})
	}
}

// A handler that panics before writing gets the French 500 page with the
// request id (also in the log, so the operator can find it), and the
// server keeps serving.
func TestPanicRecovery(t *testing.T) {
	h := start(t, separateConfig(t), func(s *Server) {
		s.Router().HandleFunc("/test/panic", func(http.ResponseWriter, *http.Request) {
			panic("dossier introuvable en mémoire")
		})
	})
	addr := h.srv.Addr("portal")
	for _, proto := range []struct {
		name  string
		http1 bool
	}{{"HTTP/1.1", true}, {"HTTP/2", false}} {
		t.Run(proto.name, func(t *testing.T) {
			c := newClient(t, addr, clientOpts{http1: proto.http1})
			resp, body := get(t, c, urlFor(t, portalHost, addr, "/test/panic"))
			wantStatus(t, resp, body, http.StatusInternalServerError)
			assertSecurityHeaders(t, resp)
			id := resp.Header.Get("X-Request-Id")
			wantBody(t, body, `lang="fr"`, "Erreur du service", "Référence de la demande", id)
			if strings.Contains(body, "dossier introuvable") {
				t.Errorf("the panic value leaked into the page:\n%s", body)
			}
			logs := h.logs.String()
			if !strings.Contains(logs, "panic serving request") || !strings.Contains(logs, "request_id="+id) {
				t.Errorf("the log does not record the panic with request id %s:\n%s", id, logs)
			}

			// Same connection pool, next request: the server still answers.
			resp, body = get(t, c, urlFor(t, portalHost, addr, "/"))
			wantStatus(t, resp, body, http.StatusOK)
		})
	}
}

// A handler that panics after the response began cannot turn it into an
// error page; the client must then see a broken response, never a
// truncated one that looks complete.
func TestPanicAfterResponseBeganAbortsIt(t *testing.T) {
	h := start(t, separateConfig(t), func(s *Server) {
		s.Router().HandleFunc("/test/panic-late", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = io.WriteString(w, "début du document")
			if err := http.NewResponseController(w).Flush(); err != nil {
				panic(err)
			}
			panic("échec au milieu du document")
		})
	})
	addr := h.srv.Addr("portal")
	for _, proto := range []struct {
		name  string
		http1 bool
	}{{"HTTP/1.1", true}, {"HTTP/2", false}} {
		t.Run(proto.name, func(t *testing.T) {
			c := newClient(t, addr, clientOpts{http1: proto.http1})
			resp, err := c.Get(urlFor(t, portalHost, addr, "/test/panic-late"))
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err == nil {
				t.Fatalf("the truncated response %q (status %d) read as complete", b, resp.StatusCode)
			}
			if !strings.Contains(h.logs.String(), "échec au milieu du document") {
				t.Errorf("the panic was not logged")
			}
			resp, body := get(t, c, urlFor(t, portalHost, addr, "/"))
			wantStatus(t, resp, body, http.StatusOK)
		})
	}
}
