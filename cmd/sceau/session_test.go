package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
)

// TestSessionCookieBoundToCertificate: the session cookie grants nothing
// by itself. Replayed with another certificate, the request is the other
// certificate's (who has no account here); with no certificate, refused.
func TestSessionCookieBoundToCertificate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if _, _, err := execute(t, "init", "--data", dir, "--demo"); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "sceau.toml")
	setListeners(t)
	r := startServe(t, cfgPath)
	r.waitStatus("admin", "/readyz", 200)
	root := filepath.Join(dir, "ca", "root.crt")
	pierre, _ := demoIdentity(t, dir, "expert-pierre-durand")
	anne, _ := demoIdentity(t, dir, "experte-anne-moreau")
	jar, _ := cookiejar.New(nil)
	c := clientWith(t, root, pierre)
	c.Jar = jar
	_, form := getBody(t, c, r.url("portal", "/inscription"))
	if code, _ := postForm(t, c, r.url("portal", "/inscription"), url.Values{"csrf": {csrfRe.FindStringSubmatch(form)[1]},
		"role": {"expert"}, "display_name": {"Pierre Durand"}, "email": {"pierre.durand@experts.test"},
		"court": {"Cour d’appel de Rennes"}, "specialties": {"Bâtiment"}, "terms": {"2026-11"}}); code != 200 {
		t.Fatalf("registration: %d", code)
	}
	u, _ := url.Parse(r.url("portal", "/"))
	var session *http.Cookie
	for _, ck := range jar.Cookies(u) {
		if ck.Name == "sceau_session" {
			session = ck
		}
	}
	if session == nil {
		t.Fatal("no session cookie after signing in")
	}
	replay := func(cert bool) (int, string) {
		t.Helper()
		cl := clientWith(t, root, nil)
		if cert {
			cl = clientWith(t, root, anne)
		}
		req, _ := http.NewRequest(http.MethodGet, r.url("portal", "/"), nil)
		req.AddCookie(session)
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := replay(true); strings.Contains(body, "Pierre Durand") || !strings.Contains(body, "Création de votre compte") {
		t.Errorf("cookie replayed with another certificate: %d, Pierre's session leaked or no registration form", code)
	}
	if code, body := replay(false); code != 403 || !strings.Contains(body, "Aucun certificat présenté") {
		t.Errorf("cookie replayed without a certificate: %d", code)
	}
}
