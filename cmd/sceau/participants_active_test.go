package main

import (
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestParticipantActiveAndFolders: the expert adds a sub-folder and a
// confidential folder (the clerk does not see the confidential one),
// cannot deactivate themself, deactivates the clerk (who loses access at
// once: no case on the dashboard, 404 on the case page) and reactivates
// them.
func TestParticipantActiveAndFolders(t *testing.T) {
	eachDatabase(t, func(t *testing.T, dir, cfgPath string) {
		setListeners(t)
		r := startServe(t, cfgPath)
		r.waitStatus("admin", "/readyz", 200)
		pierre := registerExpert(t, r, dir, "expert-pierre-durand", "Pierre Durand", "pierre.durand@experts.test")
		clerk := registerClerk(t, r, dir)
		_, form := getBody(t, pierre, r.url("portal", "/affaires/nouvelle"))
		csrf := csrfRe.FindStringSubmatch(form)[1]
		_, body := postForm(t, pierre, r.url("portal", "/affaires"), url.Values{"csrf": {csrf}, "first_applicant": {"Hélène Dupré-Lefèvre"},
			"first_defendant": {"SCI Les Tilleuls"}, "jurisdiction": {"TJ Rennes"}, "rg_number": {"24/01234"}, "ordonnance_date": {"2026-10-15"}})
		m := regexp.MustCompile(`/affaires/(\d+)/participants`).FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no case page:\n%s", body)
		}
		base := "/affaires/" + m[1]
		page := r.url("portal", base+"/participants")
		if code, _ := postForm(t, pierre, page, url.Values{"csrf": {csrf}, "role": {"clerk"}, "email": {"julien.bernard@justice.test"}}); code != 200 {
			t.Fatalf("adding the clerk: %d", code)
		}

		// Folders: field errors, then one of each kind.
		folders := r.url("portal", base+"/dossiers")
		for _, bad := range []struct{ name, msg string }{{"  ", "Ce champ est obligatoire."}, {strings.Repeat("d", 121), "120 caractères au maximum."}} {
			if code, body := postForm(t, pierre, folders, url.Values{"csrf": {csrf}, "folder_name": {bad.name}, "folder_kind": {"expert_subfolder"}}); code != 422 || !strings.Contains(body, bad.msg) {
				t.Errorf("folder name %q: %d, want 422 with %q", bad.name, code, bad.msg)
			}
		}
		for _, f := range []url.Values{
			{"folder_name": {"Photographies du chantier"}, "folder_kind": {"expert_subfolder"}},
			{"folder_name": {"Notes personnelles"}, "folder_kind": {"confidential"}},
		} {
			f.Set("csrf", csrf)
			if code, body := postForm(t, pierre, folders, f); code != 200 || !strings.Contains(body, "Le dossier a été ajouté.") {
				t.Fatalf("adding folder %s: %d", f.Get("folder_name"), code)
			}
		}
		if _, body := getBody(t, pierre, r.url("portal", base)); !strings.Contains(body, "Photographies du chantier") || !strings.Contains(body, "Notes personnelles") {
			t.Errorf("the expert does not see the new folders:\n%s", body)
		}
		if code, body := getBody(t, clerk, r.url("portal", base)); code != 200 || strings.Contains(body, "Notes personnelles") {
			t.Errorf("clerk's case page: %d, confidential folder shown: %v", code, strings.Contains(body, "Notes personnelles"))
		}
		_, clerkPage := getBody(t, clerk, r.url("portal", "/compte"))
		clerkCSRF := csrfRe.FindStringSubmatch(clerkPage)
		if clerkCSRF == nil {
			t.Fatalf("no token on the clerk’s account page")
		}
		if code, _ := postForm(t, clerk, folders, url.Values{"csrf": {clerkCSRF[1]}, "folder_name": {"X"}, "folder_kind": {"confidential"}}); code != 403 && code != 404 {
			t.Errorf("a clerk adding a folder: %d", code)
		}

		// Deactivation.
		_, body = getBody(t, pierre, page)
		ids := regexp.MustCompile(`/participants/(\d+)/actif`).FindAllStringSubmatch(body, -1)
		if len(ids) != 1 {
			t.Fatalf("want one activation form (the clerk's, not the owner's), got %d:\n%s", len(ids), body)
		}
		clerkID := ids[0][1]
		n, _ := strconv.Atoi(clerkID)
		owner := strconv.Itoa(n - 1) // the owner was added with the case, just before
		if code, body := postForm(t, pierre, r.url("portal", base+"/participants/"+owner+"/actif"), url.Values{"csrf": {csrf}, "active": {"0"}}); code != 422 ||
			!strings.Contains(body, "Vous ne pouvez pas vous désactiver vous-même") {
			t.Errorf("self-deactivation: %d", code)
		}
		if code, _ := postForm(t, pierre, r.url("portal", base+"/participants/"+clerkID+"/actif"), url.Values{"active": {"0"}}); code != 403 {
			t.Errorf("deactivation without the token: %d", code)
		}
		if code, _ := postForm(t, clerk, r.url("portal", base+"/participants/"+clerkID+"/actif"), url.Values{"csrf": {clerkCSRF[1]}, "active": {"0"}}); code != 403 {
			t.Errorf("the clerk deactivating themself: %d", code)
		}
		if code, body := postForm(t, pierre, r.url("portal", base+"/participants/"+clerkID+"/actif"), url.Values{"csrf": {csrf}, "active": {"0"}}); code != 200 ||
			!strings.Contains(body, "Le participant a été désactivé") || !strings.Contains(body, "inactif") || !strings.Contains(body, "Réactiver") {
			t.Errorf("deactivating the clerk: %d\n%s", code, body)
		}
		// The case stays among the cases of the clerk's court (its
		// references only), but no longer opens from the dashboard.
		if _, dash := getBody(t, clerk, r.url("portal", "/")); strings.Contains(dash, `href="`+base+`"`) {
			t.Errorf("a deactivated clerk still has the case on the dashboard")
		}
		if code, _ := getBody(t, clerk, r.url("portal", base)); code != 404 {
			t.Errorf("a deactivated clerk's case page: %d, want 404", code)
		}
		if code, _ := getBody(t, clerk, page); code != 404 {
			t.Errorf("a deactivated clerk's participants page: %d, want 404", code)
		}
		if code, body := postForm(t, pierre, r.url("portal", base+"/participants/"+clerkID+"/actif"), url.Values{"csrf": {csrf}, "active": {"1"}}); code != 200 ||
			!strings.Contains(body, "Le participant a été réactivé") {
			t.Errorf("reactivating the clerk: %d", code)
		}
		if _, dash := getBody(t, clerk, r.url("portal", "/")); !strings.Contains(dash, `href="`+base+`"`) {
			t.Errorf("a reactivated clerk does not see the case")
		}
		if code, _ := postForm(t, pierre, r.url("portal", base+"/participants/999999/actif"), url.Values{"csrf": {csrf}, "active": {"0"}}); code != 404 {
			t.Errorf("unknown participant: %d", code)
		}
	})
}
