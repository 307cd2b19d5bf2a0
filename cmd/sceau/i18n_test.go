package main

import (
	"html"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// switchRe finds the header's language switch and its link.
var switchRe = regexp.MustCompile(`<a class="lang-switch" href="([^"]+)" lang="(en|fr)" hreflang="(?:en|fr)">(English|Français)</a>`)

// flip follows the language switch of page (as a click would) and returns
// the page it leads back to.
func flip(t *testing.T, c *http.Client, pageURL, page, want string) (*http.Response, string) {
	t.Helper()
	m := switchRe.FindStringSubmatch(page)
	if m == nil || m[3] != want {
		t.Fatalf("no switch to %s on %s:\n%s", want, pageURL, page)
	}
	base, _ := url.Parse(pageURL)
	href, err := base.Parse(html.UnescapeString(m[1]))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Get(href.String())
	if err != nil {
		t.Fatal(err)
	}
	return resp, readAll(t, resp)
}

// TestLanguageSwitch, through real TLS on both listeners: pages are French
// by default; the header's "English" switch turns the expert's dashboard
// into English and back, remembered by a cookie; a browser preferring
// English gets English at first visit; on the counter, the litigant flips
// to English on the landing page and goes through the code step and the
// collection in English (the page with the password has no switch: a
// click would lose it); the switch never leads off the site.
func TestLanguageSwitch(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if _, _, err := execute(t, "init", "--data", dir, "--demo"); err != nil {
		t.Fatal(err)
	}
	setListeners(t)
	r, srv := serveWithSMTP(t, filepath.Join(dir, "sceau.toml"))
	root := filepath.Join(dir, "ca", "root.crt")
	const name, email = "Hélène D’Arcy", "helene@exemple.fr"
	pierre, _, page := counterCase(t, r, dir, name, email)
	jar, _ := cookiejar.New(nil)
	pierre.Jar = jar

	// The dashboard: French, then English after the switch, then French.
	home := r.url("portal", "/")
	code, body := getBody(t, pierre, home)
	if code != 200 || !strings.Contains(body, `<html lang="fr">`) || !strings.Contains(body, "Créer une expertise") {
		t.Fatalf("dashboard: %d\n%s", code, body)
	}
	resp, body := flip(t, pierre, home, body, "English")
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/" || !strings.Contains(body, `<html lang="en">`) ||
		!strings.Contains(body, "Create an expert procedure") || !strings.Contains(body, "My expert procedures") ||
		resp.Header.Get("Content-Language") != "en" {
		t.Fatalf("dashboard after the switch: %d %s\n%s", resp.StatusCode, resp.Request.URL, body)
	}
	// Remembered: the participants page is English too, its labels from Go
	// (roles, deposit modes, the certificate status) included.
	code, body = getBody(t, pierre, page)
	for _, want := range []string{"Parties and participants", "Party member", "Deposits by party member", "No certificate ordered.", "Order a certificate"} {
		if code != 200 || !strings.Contains(body, want) {
			t.Fatalf("participants page in English: %d, no %q\n%s", code, want, body)
		}
	}
	resp, body = flip(t, pierre, page, body, "Français")
	if resp.StatusCode != 200 || resp.Request.URL.String() != page || !strings.Contains(body, `<html lang="fr">`) || !strings.Contains(body, "Parties et participants") {
		t.Fatalf("back to French: %d %s\n%s", resp.StatusCode, resp.Request.URL, body)
	}

	// First visit of a browser that prefers English (no cookie yet).
	cert, _ := demoIdentity(t, dir, "expert-pierre-durand")
	for lang, want := range map[string]string{"en-GB,en;q=0.9,fr;q=0.5": "Create an expert procedure", "fr-FR,fr;q=0.9,en;q=0.8": "Créer une expertise"} {
		req, _ := http.NewRequest(http.MethodGet, home, nil)
		req.Header.Set("Accept-Language", lang)
		resp, err := clientWith(t, root, cert).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if body := readAll(t, resp); !strings.Contains(body, want) {
			t.Fatalf("Accept-Language %s: no %q\n%s", lang, want, body)
		}
	}

	// The refusal page without a certificate, in English, has the switch.
	stranger := counterClient(t, root)
	_, body = getBody(t, stranger, home)
	resp, body = flip(t, stranger, home, body, "English")
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "No certificate presented") || !strings.Contains(body, `<html lang="en">`) {
		t.Fatalf("refusal in English: %d\n%s", resp.StatusCode, body)
	}

	// The counter: the litigant flips the landing page to English.
	code, answer, _, _ := orderFor(t, pierre, page, name)
	collectCode := codeRe.FindStringSubmatch(answer)
	if code != 200 || collectCode == nil {
		t.Fatalf("order: %d\n%s", code, answer)
	}
	// The certificate's status, composed in Go, follows the language too.
	pl, _ := url.Parse(page)
	if code, body := getBody(t, pierre, r.url("portal", "/langue?l=en&retour="+url.QueryEscape(pl.Path))); code != 200 ||
		!strings.Contains(body, "waiting for collection") || !strings.Contains(body, "Send a new link and a new code") {
		t.Fatalf("participants page in English after the order: %d\n%s", code, body)
	}
	_, _, m := waitSMTP(t, r, srv, email, linkRe2)
	link := onListener(t, r, "counter", m[0])
	person := counterClient(t, root)
	resp, err := person.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	landing := readAll(t, resp)
	if resp.StatusCode != 200 || !strings.Contains(landing, "Code de retrait") {
		t.Fatalf("landing: %d\n%s", resp.StatusCode, landing)
	}
	counterURL := resp.Request.URL.String()
	resp, landing = flip(t, person, counterURL, landing, "English")
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/retrait" || !strings.Contains(landing, `<html lang="en">`) ||
		!strings.Contains(landing, "Enter the collection code") || !strings.Contains(landing, "Hello "+htmlEsc(name)) ||
		!regexp.MustCompile(`The link is valid until \d\d/\d\d/\d{4} at \d\d:\d\d\.`).MatchString(landing) {
		t.Fatalf("counter after the switch: %d %s\n%s", resp.StatusCode, resp.Request.URL, landing)
	}
	csrf := csrfRe.FindStringSubmatch(landing)[1]
	code, body = postForm(t, person, r.url("counter", "/retrait/code"), url.Values{"csrf": {csrf}, "code": {"AAAA-AAAA"}})
	if code != 422 || !strings.Contains(body, "This code is not accepted") || strings.Contains(body, `class="lang-switch"`) {
		t.Fatalf("wrong code in English (and no switch on a form's answer without Referer): %d\n%s", code, body)
	}
	code, body = postForm(t, person, r.url("counter", "/retrait/code"), url.Values{"csrf": {csrf}, "code": {collectCode[1]}})
	if code != 200 || !strings.Contains(body, "Get my certificate") || !strings.Contains(body, "Windows (Chrome, Edge)") {
		t.Fatalf("right code in English: %d\n%s", code, body)
	}
	collect := url.Values{"csrf": {csrfRe.FindStringSubmatch(body)[1]}, "nonce": {nonceRe.FindStringSubmatch(body)[1]},
		"guide": {"linux"}, "profile": {"compatible"}}
	code, body = postForm(t, person, r.url("counter", "/retrait/certificat"), collect)
	if code != 200 || passwordRe.FindString(body) == "" || !strings.Contains(body, "Copy the password") ||
		!strings.Contains(body, "Test my certificate") || strings.Contains(body, `class="lang-switch"`) {
		t.Fatalf("delivered page in English, without the switch: %d\n%s", code, body)
	}
	code, body = getBody(t, person, r.url("counter", "/retrait/guide/linux"))
	if code != 200 || !strings.Contains(body, "Install your Sceau certificate") || !switchRe.MatchString(body) {
		t.Fatalf("guide page in English: %d\n%s", code, body)
	}

	// The switch goes back to this site only.
	noFollow := clientWith(t, root, nil)
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	for _, back := range []string{"https://evil.example/", "//evil.example/", "/\\evil.example"} {
		resp, err := noFollow.Get(r.url("counter", "/langue?l=en&retour="+url.QueryEscape(back)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
			t.Errorf("retour=%s: %d to %q", back, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
}
