package main

import (
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestParticipantsPage: the expert adds parties (one on paper) and people;
// the page warns while no clerk is active and for paper copies; a
// professional is found by the address of their account.
func TestParticipantsPage(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if _, _, err := execute(t, "init", "--data", dir, "--demo"); err != nil {
		t.Fatal(err)
	}
	setListeners(t)
	r := startServe(t, filepath.Join(dir, "sceau.toml"))
	r.waitStatus("admin", "/readyz", 200)
	pierre := registerExpert(t, r, dir, "expert-pierre-durand", "Pierre Durand", "pierre.durand@experts.test")
	// The clerk signs in once, so that the expert can find the account.
	clerk := registerClerk(t, r, dir)

	_, form := getBody(t, pierre, r.url("portal", "/affaires/nouvelle"))
	csrf := csrfRe.FindStringSubmatch(form)[1]
	_, body := postForm(t, pierre, r.url("portal", "/affaires"), url.Values{"csrf": {csrf}, "first_applicant": {"Hélène Dupré-Lefèvre"},
		"first_defendant": {"SCI Les Tilleuls"}, "jurisdiction": {"TJ Rennes"}, "rg_number": {"24/01234"}, "ordonnance_date": {"2026-10-15"}})
	caseID := regexp.MustCompile(`/affaires/(\d+)/participants`).FindStringSubmatch(body)
	if caseID == nil {
		t.Fatalf("case page without a participants link:\n%s", body)
	}
	page := r.url("portal", "/affaires/"+caseID[1]+"/participants")
	_, body = getBody(t, pierre, page)
	if !strings.Contains(body, "Aucun greffier actif") {
		t.Errorf("no warning without a clerk")
	}
	for _, p := range []url.Values{
		{"party_name": {"Hélène Dupré-Lefèvre"}, "deposit_mode": {"member"}},
		{"party_name": {"SCI Les Tilleuls"}, "deposit_mode": {"paper"}},
	} {
		p.Set("csrf", csrf)
		if code, body := postForm(t, pierre, r.url("portal", "/affaires/"+caseID[1]+"/parties"), p); code != 200 || !strings.Contains(body, "La partie a été ajoutée") {
			t.Fatalf("adding party %s: %d", p.Get("party_name"), code)
		}
	}
	_, body = getBody(t, pierre, page)
	if !strings.Contains(body, "Expertise mixte") || !strings.Contains(body, "Dépôt intervenant") {
		t.Errorf("parties not shown with their modes / no paper reminder:\n%s", body)
	}
	partyID := regexp.MustCompile(`name="party" value="(\d+)"> Hélène`).FindStringSubmatch(body)
	if partyID == nil {
		t.Fatalf("no party choice in the form")
	}
	code, body := postForm(t, pierre, page, url.Values{"csrf": {csrf}, "role": {"lawyer"}, "email": {"inconnu@avocats.test"}})
	if code != 422 || !strings.Contains(body, "Aucun compte actif n’a cette adresse") {
		t.Errorf("unknown professional: %d", code)
	}
	if code, body := postForm(t, pierre, page, url.Values{"csrf": {csrf}, "role": {"clerk"}, "email": {"JULIEN.BERNARD@justice.test"}}); code != 200 ||
		strings.Contains(body, "Aucun greffier actif") || !strings.Contains(body, "Julien Bernard") {
		t.Errorf("adding the clerk: %d", code)
	}
	if code, body := postForm(t, pierre, page, url.Values{"csrf": {csrf}, "role": {"party_member"}, "display_name": {"Hélène Dupré-Lefèvre"},
		"email": {"helene.dupre@exemple.fr"}, "phone": {"06 12 34 56 78"}, "party": {partyID[1]}}); code != 200 || !strings.Contains(body, "helene.dupre@exemple.fr") {
		t.Errorf("adding a party member without an account: %d\n%s", code, body)
	}
	// The clerk now sees the case on the dashboard.
	if _, dash := getBody(t, clerk, r.url("portal", "/")); !strings.Contains(dash, "24/01234") {
		t.Errorf("the clerk's dashboard does not list the case")
	}
}
