package main

import (
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sceau.fr/sceau/portal/mail"
)

var linkRe = regexp.MustCompile(`https://\S+/certificat/ajout\?jeton=[A-Za-z0-9_-]+`)

// TestAddAndRemoveCertificate: a registered expert asks for a link, gets it
// by mail, opens it with a new certificate (a scanner's visit consumes
// nothing), adds it, cannot reuse the link, then removes that certificate,
// which is refused with its own page afterwards.
func TestAddAndRemoveCertificate(t *testing.T) {
	eachDatabase(t, func(t *testing.T, dir, cfgPath string) {
		setListeners(t)
		t.Setenv("SCEAU_MAIL_POLL_INTERVAL", "100ms")
		r := startServe(t, cfgPath)
		r.waitStatus("admin", "/readyz", 200)
		root := filepath.Join(dir, "ca", "root.crt")
		oldCert, _ := demoIdentity(t, dir, "expert-pierre-durand")
		newCert, _ := demoIdentity(t, dir, "experte-anne-moreau")
		old := clientWith(t, root, oldCert)

		_, form := getBody(t, old, r.url("portal", "/inscription"))
		csrf := csrfRe.FindStringSubmatch(form)[1]
		if code, _ := postForm(t, old, r.url("portal", "/inscription"), url.Values{"csrf": {csrf}, "role": {"expert"},
			"display_name": {"Pierre Durand"}, "email": {"pierre.durand@experts.test"}, "court": {"Cour d’appel de Rennes"},
			"specialties": {"Bâtiment"}, "terms": {"2026-11"}}); code != 200 {
			t.Fatalf("registration: %d", code)
		}
		code, body := postForm(t, old, r.url("portal", "/compte/certificats/ajouter"), url.Values{"csrf": {csrf}})
		if code != 200 || !strings.Contains(body, "Un courriel contenant un lien") {
			t.Fatalf("link request: %d\n%s", code, body)
		}
		var link string
		r.waitFor("the link mail", func() (bool, string) {
			entries, _ := mail.ListSink(filepath.Join(dir, "mail"))
			seen := ""
			for _, e := range entries {
				full, err := mail.ReadSink(filepath.Join(dir, "mail"), e.Name)
				seen += e.To + ": " + full.Text + fmt.Sprint(err)
				if err == nil && strings.Contains(e.To, "pierre.durand@experts.test") {
					link = linkRe.FindString(full.Text)
				}
			}
			return link != "", seen
		})
		// The mail carries the public URL; the test's listener has its own port.
		u, err := url.Parse(link)
		if err != nil {
			t.Fatal(err)
		}
		listener, _ := url.Parse(r.url("portal", "/"))
		u.Host = listener.Host

		jar, _ := cookiejar.New(nil)
		fresh := clientWith(t, root, newCert)
		fresh.Jar = jar
		// A mail scanner (or the person twice) opening the link consumes nothing.
		for i := 0; i < 2; i++ {
			code, body = getBody(t, fresh, u.String())
			if code != 200 || !strings.Contains(body, "Associer ce certificat") || !strings.Contains(body, "Anne Moreau") {
				t.Fatalf("opening the link (%d): %d\n%s", i, code, body)
			}
		}
		newCSRF := csrfRe.FindStringSubmatch(body)[1]
		code, body = postForm(t, fresh, r.url("portal", "/certificat/ajout"), url.Values{"csrf": {newCSRF}})
		if code != 200 || !strings.Contains(body, "Le nouveau certificat est associé") || !strings.Contains(body, "utilisé en ce moment") {
			t.Fatalf("adding: %d\n%s", code, body)
		}
		// The same link again, even with the cookie: refused.
		code, body = getBody(t, fresh, u.String())
		if code != http.StatusGone || !strings.Contains(body, "Lien invalide ou expiré") {
			t.Errorf("link reused: %d", code)
		}

		// Back on the first certificate: remove the new one.
		_, page := getBody(t, old, r.url("portal", "/compte"))
		ids := regexp.MustCompile(`/compte/certificats/(\d+)/retirer`).FindAllStringSubmatch(page, -1)
		if len(ids) != 1 {
			t.Fatalf("removable certificates on the account page: %v\n%s", ids, page)
		}
		code, body = postForm(t, old, r.url("portal", "/compte/certificats/"+ids[0][1]+"/retirer"), url.Values{"csrf": {csrf}})
		if code != 200 || !strings.Contains(body, "Le certificat a été retiré") {
			t.Fatalf("removing: %d\n%s", code, body)
		}
		code, body = getBody(t, clientWith(t, root, newCert), r.url("portal", "/"))
		if code != 403 || !strings.Contains(body, "Certificat retiré") {
			t.Errorf("removed certificate presented again: %d\n%s", code, body)
		}
	})
}
