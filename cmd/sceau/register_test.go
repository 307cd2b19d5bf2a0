package main

import (
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func postForm(t *testing.T, c *http.Client, u string, v url.Values) (int, string) {
	t.Helper()
	resp, err := c.PostForm(u, v)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// TestRegistrationAndSuspension: an expert registers from the form (errors
// next to the fields, what was typed and ticked kept, CSRF required; a
// lawyer's form pre-filled from the certificate), is welcomed, appears in `sceau
// account list`, is refused once suspended and welcomed again once
// reactivated.
func TestRegistrationAndSuspension(t *testing.T) {
	eachDatabase(t, func(t *testing.T, dir, cfgPath string) {
		setListeners(t)
		t.Setenv("SCEAU_SERVER_ACCOUNT_CACHE", "50ms") // the CLI's suspension reaches the server within that
		r := startServe(t, cfgPath)
		r.waitStatus("admin", "/readyz", 200)
		root := filepath.Join(dir, "ca", "root.crt")
		cert, _ := demoIdentity(t, dir, "expert-pierre-durand")
		c := clientWith(t, root, cert)

		_, form := getBody(t, c, r.url("portal", "/inscription"))
		m := csrfRe.FindStringSubmatch(form)
		if m == nil {
			t.Fatalf("no CSRF token in the form:\n%s", form)
		}
		good := url.Values{"csrf": {m[1]}, "role": {"expert"}, "display_name": {"Pierre Durand"},
			"email": {"pierre.durand@experts.test"}, "court": {"Cour d’appel de Rennes"}, "specialties": {"Bâtiment, structures"},
			"terms": {"2026-11"}}

		bad := url.Values{}
		for k, v := range good {
			bad[k] = v
		}
		bad.Set("email", "pas-une-adresse")
		bad.Del("terms")
		bad.Set("role", "magistrate") // not a role an expert certificate may hold
		code, body := postForm(t, c, r.url("portal", "/inscription"), bad)
		for _, want := range []string{"Adresse électronique invalide", "Vous devez accepter", "Choisissez un rôle", "Bâtiment, structures", `aria-invalid="true"`} {
			if !strings.Contains(body, want) {
				t.Errorf("form with errors lacks %q (status %d)", want, code)
			}
		}
		if code != http.StatusUnprocessableEntity {
			t.Errorf("invalid form status %d", code)
		}

		// An error elsewhere keeps the terms box ticked.
		keep := url.Values{}
		for k, v := range good {
			keep[k] = v
		}
		keep.Set("email", "pas-une-adresse")
		if _, body := postForm(t, c, r.url("portal", "/inscription"), keep); !strings.Contains(body, `name="terms" value="2026-11" checked`) {
			t.Errorf("the terms box was unticked by an error in another field")
		}
		// A lawyer's bar and CNBF number come from the certificate
		// (OU "Barreau de Nantes", serialNumber "CNBF-654321").
		lawyerCert, _ := demoIdentity(t, dir, "avocat-marc-nguyen")
		if _, body := getBody(t, clientWith(t, root, lawyerCert), r.url("portal", "/inscription")); !strings.Contains(body, `value="Barreau de Nantes"`) ||
			!strings.Contains(body, `value="654321"`) {
			t.Errorf("the lawyer's form is not pre-filled with the bar and CNBF number:\n%s", body)
		}

		noToken := url.Values{}
		for k, v := range good {
			noToken[k] = v
		}
		noToken.Del("csrf")
		if code, _ := postForm(t, c, r.url("portal", "/inscription"), noToken); code != http.StatusForbidden {
			t.Errorf("form without CSRF token: %d", code)
		}
		// The token of another certificate is worthless.
		other, _ := demoIdentity(t, dir, "experte-anne-moreau")
		_, otherForm := getBody(t, clientWith(t, root, other), r.url("portal", "/inscription"))
		forged := url.Values{}
		for k, v := range good {
			forged[k] = v
		}
		forged.Set("csrf", csrfRe.FindStringSubmatch(otherForm)[1])
		if code, _ := postForm(t, c, r.url("portal", "/inscription"), forged); code != http.StatusForbidden {
			t.Errorf("form with another certificate's token: %d", code)
		}

		code, body = postForm(t, c, r.url("portal", "/inscription"), good)
		if code != 200 || !strings.Contains(body, "Bonjour Pierre Durand") {
			t.Fatalf("after registration: %d\n%s", code, body)
		}
		// The directory finds the new expert, accents and case aside.
		if code, body := getBody(t, c, r.url("portal", "/annuaire?type=expert&q=DURAND&specialite=batiment")); code != 200 ||
			!strings.Contains(body, "Pierre Durand") {
			t.Errorf("directory: %d\n%s", code, body)
		}
		if code, body := getBody(t, c, r.url("portal", "/annuaire?type=expert&q=du")); !strings.Contains(body, "au moins 3 caractères") {
			t.Errorf("short directory query: %d", code)
		}
		out, _, err := execute(t, "account", "list", "--config", cfgPath)
		if err != nil || !strings.Contains(out, "Pierre Durand") || !strings.Contains(out, "active") {
			t.Fatalf("account list: %v\n%s", err, out)
		}
		id := strings.Fields(strings.Split(out, "\n")[1])[0]
		if out, _, err := execute(t, "account", "suspend", id, "--reason", "Radié de la liste des experts", "--config", cfgPath); err != nil {
			t.Fatalf("suspend: %v %s", err, out)
		}
		r.waitFor("the suspension to apply", func() (bool, string) {
			code, body := getBody(t, c, r.url("portal", "/"))
			return code == 403 && strings.Contains(body, "Compte suspendu") && strings.Contains(body, "Radié de la liste des experts"), body
		})
		if _, _, err := execute(t, "account", "reactivate", id, "--config", cfgPath); err != nil {
			t.Fatal(err)
		}
		r.waitFor("the reactivation to apply", func() (bool, string) {
			code, body := getBody(t, c, r.url("portal", "/"))
			return code == 200 && strings.Contains(body, "Bonjour Pierre Durand"), body
		})
		out, _, err = execute(t, "account", "show", id, "--config", cfgPath)
		if err != nil || !strings.Contains(out, "Login:") || !strings.Contains(out, "Certificate: ") {
			t.Errorf("account show: %v\n%s", err, out)
		}
	})
}
