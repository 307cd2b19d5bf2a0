package main

import (
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sceau.fr/sceau/portal/mail"
)

// register signs a demo expert up through the form and returns its client.
func registerExpert(t *testing.T, r *running, dir, file, name, email string) *http.Client {
	t.Helper()
	cert, _ := demoIdentity(t, dir, file)
	c := clientWith(t, filepath.Join(dir, "ca", "root.crt"), cert)
	_, form := getBody(t, c, r.url("portal", "/inscription"))
	m := csrfRe.FindStringSubmatch(form)
	if m == nil {
		t.Fatalf("no registration form for %s", file)
	}
	if code, _ := postForm(t, c, r.url("portal", "/inscription"), url.Values{"csrf": {m[1]}, "role": {"expert"},
		"display_name": {name}, "email": {email}, "court": {"Cour d’appel de Rennes"}, "specialties": {"Bâtiment"},
		"terms": {"2026-11"}}); code != 200 {
		t.Fatalf("registration of %s: %d", file, code)
	}
	return c
}

// TestExpertCreatesACase: the expert's dashboard offers to create a case;
// the form explains its errors next to the fields; the created case shows
// its default folder tree; another expert gets the plain 404 for it.
func TestExpertCreatesACase(t *testing.T) {
	eachDatabase(t, func(t *testing.T, dir, cfgPath string) {
		setListeners(t)
		t.Setenv("SCEAU_MAIL_POLL_INTERVAL", "100ms")
		r := startServe(t, cfgPath)
		r.waitStatus("admin", "/readyz", 200)
		pierre := registerExpert(t, r, dir, "expert-pierre-durand", "Pierre Durand", "pierre.durand@experts.test")
		code, body := getBody(t, pierre, r.url("portal", "/"))
		if code != 200 || !strings.Contains(body, "Créer une expertise") || !strings.Contains(body, "aucune expertise") {
			t.Fatalf("dashboard: %d\n%s", code, body)
		}
		_, form := getBody(t, pierre, r.url("portal", "/affaires/nouvelle"))
		csrf := csrfRe.FindStringSubmatch(form)[1]
		fields := url.Values{"csrf": {csrf}, "first_applicant": {"Hélène Dupré-Lefèvre"}, "first_defendant": {"SCI Les Tilleuls"},
			"jurisdiction": {"TJ Rennes"}, "rg_number": {""}, "ordonnance_date": {"2026-31-02"}}
		code, body = postForm(t, pierre, r.url("portal", "/affaires"), fields)
		if code != http.StatusUnprocessableEntity || !strings.Contains(body, "Date invalide") || !strings.Contains(body, "Ce champ est obligatoire") ||
			!strings.Contains(body, "SCI Les Tilleuls") {
			t.Fatalf("invalid case form: %d\n%s", code, body)
		}
		fields.Set("rg_number", "24/01234")
		fields.Set("ordonnance_date", "2026-10-15")
		code, body = postForm(t, pierre, r.url("portal", "/affaires"), fields)
		for _, want := range []string{"Dupré-Lefèvre", "24/01234", "15/10/2026", "En création", "Désignation", "Rapport définitif"} {
			if !strings.Contains(body, want) {
				t.Errorf("case page lacks %q (status %d)", want, code)
			}
		}
		_, dash := getBody(t, pierre, r.url("portal", "/"))
		m := regexp.MustCompile(`href="/affaires/(\d+)"`).FindStringSubmatch(dash)
		if m == nil {
			t.Fatalf("the dashboard does not list the case:\n%s", dash)
		}
		// The owner moves the case on, after a confirmation; a stale form changes nothing.
		stateURL := r.url("portal", "/affaires/"+m[1]+"/etat")
		move := url.Values{"csrf": {csrf}, "from": {"creation"}, "to": {"in_progress"}}
		code, body = postForm(t, pierre, stateURL, move)
		if code != 200 || !strings.Contains(body, "« En création » à « En cours »") || !strings.Contains(body, "pourront déposer") {
			t.Fatalf("confirmation page: %d\n%s", code, body)
		}
		move.Set("confirm", "1")
		code, body = postForm(t, pierre, stateURL, move)
		if code != 200 || !strings.Contains(body, "<dd>En cours</dd>") || !strings.Contains(body, "En pause") {
			t.Fatalf("after the change: %d\n%s", code, body)
		}
		if code, body := postForm(t, pierre, stateURL, move); code != http.StatusConflict || !strings.Contains(body, "rien n’a été modifié") {
			t.Errorf("stale form replayed: %d", code)
		}
		// Every active participant is told (here the expert alone), once.
		r.waitFor("the state-change notice", func() (bool, string) {
			entries, _ := mail.ListSink(filepath.Join(dir, "mail"))
			n := 0
			for _, e := range entries {
				if strings.Contains(e.Subject, "24/01234 est désormais « En cours »") && strings.Contains(e.To, "pierre.durand@experts.test") {
					n++
				}
			}
			return n == 1, fmt.Sprint(len(entries), " mails")
		})
		// The owner renames the case and records the consignation date.
		editURL := r.url("portal", "/affaires/"+m[1]+"/modifier")
		if code, body := postForm(t, pierre, editURL, url.Values{"csrf": {csrf}, "name": {"Tilleuls — toiture"}, "consignation_date": {"2026-13-01"}}); code != 422 ||
			!strings.Contains(body, "Date invalide") {
			t.Errorf("bad consignation date: %d", code)
		}
		code, body = postForm(t, pierre, editURL, url.Values{"csrf": {csrf}, "name": {"Tilleuls — toiture"}, "consignation_date": {"2026-11-02"}})
		if code != 200 || !strings.Contains(body, "Tilleuls — toiture") || !strings.Contains(body, "le 02/11/2026") {
			t.Errorf("after editing: %d", code)
		}
		anne := registerExpert(t, r, dir, "experte-anne-moreau", "Anne Moreau", "anne.moreau@experts.test")
		_, anneForm := getBody(t, anne, r.url("portal", "/affaires/nouvelle"))
		anneMove := url.Values{"csrf": {csrfRe.FindStringSubmatch(anneForm)[1]}, "from": {"in_progress"}, "to": {"paused"}, "confirm": {"1"}}
		if code, _ := postForm(t, anne, stateURL, anneMove); code != 404 {
			t.Errorf("another expert changing the state: %d", code)
		}
		if code, _ := postForm(t, anne, editURL, url.Values{"csrf": {anneMove.Get("csrf")}, "name": {"x"}}); code != 404 {
			t.Errorf("another expert renaming the case: %d", code)
		}
		if code, body := getBody(t, anne, r.url("portal", "/affaires/"+m[1])); code != 404 || strings.Contains(body, "Tilleuls") {
			t.Errorf("another expert opening the case: %d", code)
		}
		if code, _ := getBody(t, anne, r.url("portal", "/affaires/999999")); code != 404 {
			t.Errorf("unknown case: %d", code)
		}
	})
}

// registerProfessional signs a demo professional up through the form.
func registerProfessional(t *testing.T, r *running, dir, file string, fields url.Values) *http.Client {
	t.Helper()
	cert, _ := demoIdentity(t, dir, file)
	c := clientWith(t, filepath.Join(dir, "ca", "root.crt"), cert)
	_, form := getBody(t, c, r.url("portal", "/inscription"))
	m := csrfRe.FindStringSubmatch(form)
	if m == nil {
		t.Fatalf("no registration form for %s", file)
	}
	fields.Set("csrf", m[1])
	fields.Set("terms", "2026-11")
	if code, body := postForm(t, c, r.url("portal", "/inscription"), fields); code != 200 {
		t.Fatalf("registration of %s: %d\n%s", file, code, body)
	}
	return c
}

// registerClerk registers the demo clerk of the Rennes court.
func registerClerk(t *testing.T, r *running, dir string) *http.Client {
	t.Helper()
	return registerProfessional(t, r, dir, "greffier-julien-bernard", url.Values{"role": {"clerk"}, "display_name": {"Julien Bernard"},
		"email": {"julien.bernard@justice.test"}, "court": {"Tribunal judiciaire de Rennes"}})
}
