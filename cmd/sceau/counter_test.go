package main

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"html"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"sceau.fr/sceau/ca/bundle"
	"sceau.fr/sceau/portal/mail/smtptest"
)

var (
	codeRe     = regexp.MustCompile(`<p class="code" id="code">([A-Z0-9-]+)</p>`)
	passwordRe = regexp.MustCompile(`<p class="code" id="password">([a-z0-9-]+)</p>`)
	bundleRe   = regexp.MustCompile(`href="data:application/x-pkcs12;base64,([A-Za-z0-9+/=]+)"`)
	nonceRe    = regexp.MustCompile(`name="nonce" value="([^"]+)"`)
	linkRe2    = regexp.MustCompile(`https://[^\s"<>]+/retrait\?jeton=[A-Za-z0-9_-]+`)
)

// counterCase: the demo expert creates a case with a party in "dépôt
// intervenant" mode and a member without an account; it returns the
// expert's client, the case id and the participants page URL.
func counterCase(t *testing.T, r *running, dir, name, email string) (*http.Client, string, string) {
	t.Helper()
	pierre := registerExpert(t, r, dir, "expert-pierre-durand", "Pierre Durand", "pierre.durand@experts.test")
	_, form := getBody(t, pierre, r.url("portal", "/affaires/nouvelle"))
	csrf := csrfRe.FindStringSubmatch(form)[1]
	_, body := postForm(t, pierre, r.url("portal", "/affaires"), url.Values{"csrf": {csrf}, "first_applicant": {name},
		"first_defendant": {"SCI Les Tilleuls"}, "jurisdiction": {"TJ Rennes"}, "rg_number": {"24/01234"}, "ordonnance_date": {"2026-10-15"}})
	caseID := regexp.MustCompile(`/affaires/(\d+)/participants`).FindStringSubmatch(body)[1]
	page := r.url("portal", "/affaires/"+caseID+"/participants")
	if code, _ := postForm(t, pierre, r.url("portal", "/affaires/"+caseID+"/parties"), url.Values{"csrf": {csrf},
		"party_name": {name}, "deposit_mode": {"member"}}); code != 200 {
		t.Fatalf("adding the party: %d", code)
	}
	_, body = getBody(t, pierre, page)
	partyID := regexp.MustCompile(`name="party" value="(\d+)"`).FindStringSubmatch(body)[1]
	if code, body := postForm(t, pierre, page, url.Values{"csrf": {csrf}, "role": {"party_member"}, "display_name": {name},
		"email": {email}, "phone": {"06 12 34 56 78"}, "party": {partyID}}); code != 200 {
		t.Fatalf("adding the member: %d\n%s", code, body)
	}
	return pierre, caseID, page
}

// orderFor submits the order form of the participant named name and
// returns the page answered and the form values (to submit them again).
func orderFor(t *testing.T, c *http.Client, page, name string) (int, string, string, url.Values) {
	t.Helper()
	_, body := getBody(t, c, page)
	i := strings.Index(body, `<section class="order"`)
	if i < 0 || !strings.Contains(body[i:], htmlEsc(name)) {
		t.Fatalf("no order section for %s:\n%s", name, body)
	}
	sec := body[i:]
	action := regexp.MustCompile(`action="(/affaires/\d+/participants/\d+/certificat)"`).FindStringSubmatch(sec)[1]
	v := url.Values{"csrf": {csrfRe.FindStringSubmatch(sec)[1]}, "nonce": {nonceRe.FindStringSubmatch(sec)[1]},
		"display_name": {name}, "validity_days": {"90"}, "downloads": {"1"}, "link_days": {"7"}}
	u, _ := url.Parse(page)
	u.Path = action
	code, answer := postForm(t, c, u.String(), v)
	return code, answer, u.String(), v
}

// waitSMTP waits for a message to rcpt whose text matches re.
func waitSMTP(t *testing.T, r *running, srv *smtptest.Server, rcpt string, re *regexp.Regexp) (subject, text string, match []string) {
	t.Helper()
	r.waitFor("a mail to "+rcpt, func() (bool, string) {
		seen := ""
		for _, m := range srv.Messages() {
			for _, to := range m.To {
				if strings.EqualFold(to, rcpt) {
					s, tx := plainText(t, m.Data)
					seen += s + "\n"
					if mm := re.FindStringSubmatch(tx); mm != nil {
						subject, text, match = s, tx, mm
						return true, ""
					}
				}
			}
		}
		return false, seen
	})
	return subject, text, match
}

// onListener points a public URL from a mail at the test's listener.
func onListener(t *testing.T, r *running, listener, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	l, _ := url.Parse(r.url(listener, "/"))
	u.Host = l.Host
	return u.String()
}

// counterClient is a browser without a client certificate, with cookies.
func counterClient(t *testing.T, root string) *http.Client {
	c := clientWith(t, root, nil)
	jar, _ := cookiejar.New(nil)
	c.Jar = jar
	return c
}

// TestRetrievalCounterJourney: the expert orders a certificate for a
// litigant (accents, apostrophe, uppercase address with a +tag); the mail
// arrives through a real SMTP server; two scanner visits consume nothing;
// a wrong code is refused; the right one (typed carelessly) opens the
// collection; a double click makes one certificate and shows the same
// password twice; OpenSSL 3 and NSS read the bundle; curl with it enters
// the portal as the litigant, who sees the case; the expert and the
// person are told; the expert revokes and the portal then refuses it. No
// token, code or password appears in the logs.
func TestRetrievalCounterJourney(t *testing.T) {
	eachDatabase(t, func(t *testing.T, dir, cfgPath string) {
		setListeners(t)
		r, srv := serveWithSMTP(t, cfgPath)
		root := filepath.Join(dir, "ca", "root.crt")
		const name, email = "Hélène D’Arcy-Lefèvre", "Helene.Dupre+sceau@Exemple.FR"
		pierre, caseID, page := counterCase(t, r, dir, name, email)

		// Order; the same form again (double click) shows the same code.
		code, body, action, form := orderFor(t, pierre, page, name)
		if code != 200 || codeRe.FindStringSubmatch(body) == nil {
			t.Fatalf("order: %d\n%s", code, body)
		}
		collectCode := codeRe.FindStringSubmatch(body)[1]
		code, body = postForm(t, pierre, action, form)
		if code != 200 || codeRe.FindStringSubmatch(body)[1] != collectCode || !strings.Contains(body, "déjà été envoyé") {
			t.Fatalf("the same order form twice: %d\n%s", code, body)
		}
		_, text, m := waitSMTP(t, r, srv, "Helene.Dupre+sceau@exemple.fr", linkRe2)
		if strings.Contains(text, collectCode) || !strings.Contains(text, "Pierre Durand") {
			t.Fatalf("collection mail (must name the expert, never carry the code):\n%s", text)
		}
		time.Sleep(300 * time.Millisecond)
		n := 0
		for _, msg := range srv.Messages() {
			if strings.EqualFold(msg.To[0], "Helene.Dupre+sceau@exemple.fr") {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%d collection mails for one order", n)
		}
		link := onListener(t, r, "counter", m[0])
		token := link[strings.Index(link, "jeton=")+6:]

		// Two mail scanners open the link (GET, then HEAD): nothing used.
		for i := 0; i < 2; i++ {
			scanner := clientWith(t, root, nil)
			resp, err := scanner.Get(link)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if req, _ := http.NewRequest(http.MethodHead, link, nil); req != nil {
				if resp, err := scanner.Do(req); err == nil {
					resp.Body.Close()
				}
			}
		}
		person := counterClient(t, root)
		resp, err := person.Get(link)
		if err != nil {
			t.Fatal(err)
		}
		landing := readAll(t, resp)
		if resp.StatusCode != 200 || resp.Request.URL.RawQuery != "" || !strings.Contains(landing, "Bonjour "+htmlEsc(name)) ||
			!strings.Contains(landing, "Code de retrait") || resp.Header.Get("Referrer-Policy") != "no-referrer" ||
			!strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'self'") {
			t.Fatalf("landing: %d %s %v\n%s", resp.StatusCode, resp.Request.URL, resp.Header, landing)
		}
		csrf := csrfRe.FindStringSubmatch(landing)[1]

		// A wrong code, a forged form, then the right code typed carelessly.
		if code, body := postForm(t, person, r.url("counter", "/retrait/code"), url.Values{"csrf": {csrf}, "code": {"AAAA-AAAA"}}); code != 422 || !strings.Contains(body, "Ce code n’est pas accepté") {
			t.Fatalf("wrong code: %d\n%s", code, body)
		}
		if code, _ := postForm(t, person, r.url("counter", "/retrait/code"), url.Values{"csrf": {"forged"}, "code": {collectCode}}); code != 403 {
			t.Fatalf("forged form: %d", code)
		}
		typed := strings.ToLower(strings.ReplaceAll(collectCode, "-", " "))
		code, body = postForm(t, person, r.url("counter", "/retrait/code"), url.Values{"csrf": {csrf}, "code": {typed}})
		if code != 200 || !strings.Contains(body, "Récupérer mon certificat") {
			t.Fatalf("right code: %d\n%s", code, body)
		}
		collect := url.Values{"csrf": {csrfRe.FindStringSubmatch(body)[1]}, "nonce": {nonceRe.FindStringSubmatch(body)[1]},
			"guide": {"linux"}, "profile": {"compatible"}}

		// A double click: the browser abandons the first request (here cut
		// after a few milliseconds) and shows the answer to the second; two
		// more clicks all get the same bundle and password.
		abandon, cancelFirst := context.WithTimeout(context.Background(), 3*time.Millisecond)
		first, _ := http.NewRequestWithContext(abandon, http.MethodPost, r.url("counter", "/retrait/certificat"), strings.NewReader(collect.Encode()))
		first.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if resp, err := person.Do(first); err == nil {
			resp.Body.Close()
		}
		cancelFirst()
		var wg sync.WaitGroup
		pages := make([]string, 2)
		codes := make([]int, 2)
		for i := range pages {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := person.PostForm(r.url("counter", "/retrait/certificat"), collect)
				if err != nil {
					t.Error(err)
					return
				}
				codes[i], pages[i] = resp.StatusCode, readAll(t, resp)
			}()
		}
		wg.Wait()
		if codes[0] != 200 || codes[1] != 200 || passwordRe.FindString(pages[0]) != passwordRe.FindString(pages[1]) {
			t.Fatalf("double click: %v\n%s\nlogs:\n%s", codes, pages[0], r.stderr.String()+r.stdout.String())
		}
		password := passwordRe.FindStringSubmatch(pages[0])[1]
		// The browser decodes the attribute's entities (&#43; is +).
		b64 := bundleRe.FindStringSubmatch(html.UnescapeString(pages[0]))
		if b64 == nil {
			t.Fatalf("no bundle link:\n%s", pages[0])
		}
		p12, err := base64.StdEncoding.DecodeString(b64[1])
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(pages[0], "pk12util") || !strings.Contains(pages[0], "Tester mon certificat") {
			t.Errorf("the Linux guide is not on the page")
		}
		// Another tab, another form: already collected.
		collect.Set("nonce", "another-tab-nonce-123456")
		if code, body := postForm(t, person, r.url("counter", "/retrait/certificat"), collect); code != 409 || !strings.Contains(body, "Certificat déjà retiré") {
			t.Fatalf("second collection: %d\n%s", code, body)
		}
		if code, _ := getBody(t, person, r.url("counter", "/retrait")); code != 409 {
			t.Fatalf("the link after collection: %d", code)
		}

		// Tools nobody here wrote read the bundle.
		bundlePath := filepath.Join(t.TempDir(), "certificat-sceau.p12")
		if err := os.WriteFile(bundlePath, p12, 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("openssl", "pkcs12", "-info", "-in", bundlePath, "-passin", "pass:"+password, "-noout").CombinedOutput(); err != nil {
			t.Fatalf("openssl pkcs12 -info: %v\n%s", err, out)
		}
		if _, err := exec.LookPath("pk12util"); err == nil {
			db := t.TempDir()
			if out, err := exec.Command("certutil", "-N", "-d", "sql:"+db, "--empty-password").CombinedOutput(); err != nil {
				t.Fatalf("certutil: %v\n%s", err, out)
			}
			if out, err := exec.Command("pk12util", "-i", bundlePath, "-d", "sql:"+db, "-W", password).CombinedOutput(); err != nil {
				t.Fatalf("pk12util: %v\n%s", err, out)
			}
			if out, _ := exec.Command("certutil", "-L", "-d", "sql:"+db).CombinedOutput(); !strings.Contains(string(out), "Sceau") {
				t.Errorf("NSS does not list the imported certificates:\n%s", out)
			}
		} else if os.Getenv("CI") == "true" {
			t.Fatal("pk12util is missing (apt-get install -y libnss3-tools)")
		}

		// The litigant accepts the terms, then curl with the bundle enters
		// the portal and is greeted by name with the case.
		key, leaf, chain, err := bundle.Decode(p12, password)
		if err != nil {
			t.Fatal(err)
		}
		tlsCert := &tls.Certificate{Certificate: [][]byte{leaf.Raw, chain[0].Raw}, PrivateKey: key, Leaf: leaf}
		helene := clientWith(t, root, tlsCert)
		_, terms := getBody(t, helene, r.url("portal", "/"))
		if code, _ := postForm(t, helene, r.url("portal", "/conditions"), url.Values{"csrf": {csrfRe.FindStringSubmatch(terms)[1]}, "terms": {"2026-11"}}); code != 200 {
			t.Fatalf("terms: %d", code)
		}
		out, err := exec.Command("curl", "-sS", "--fail-with-body", "--cacert", root, "--cert", bundlePath+":"+password, "--cert-type", "P12",
			r.url("portal", "/")).CombinedOutput()
		if err != nil || !strings.Contains(string(out), htmlEsc(name)) || !strings.Contains(string(out), "24/01234") {
			t.Fatalf("curl --cert bundle.p12: %v\n%s", err, out)
		}

		// The expert and the person are told.
		waitSMTP(t, r, srv, "pierre.durand@experts.test", regexp.MustCompile(`a retiré le certificat`))
		_, confirm, _ := waitSMTP(t, r, srv, "Helene.Dupre+sceau@exemple.fr", regexp.MustCompile(`Si ce n’est pas vous`))
		if !strings.Contains(confirm, "/retrait/guide/linux") {
			t.Errorf("confirmation without the guide link:\n%s", confirm)
		}

		// The expert revokes: the portal refuses the certificate soon after.
		_, body = getBody(t, pierre, page)
		if !strings.Contains(body, "Certificat retiré le") {
			t.Errorf("participants page without the collection:\n%s", body)
		}
		if code, _ := postForm(t, pierre, r.url("portal", "/affaires/"+caseID+"/participants/"+participantOf(t, body)+"/certificat/revoquer"),
			url.Values{"csrf": {csrfRe.FindStringSubmatch(body)[1]}}); code != 200 {
			t.Fatalf("revoke: %d", code)
		}
		r.waitFor("the revoked certificate refused", func() (bool, string) {
			fresh := clientWith(t, root, tlsCert)
			code, body := getBody(t, fresh, r.url("portal", "/"))
			return code == 403, strconv.Itoa(code) + body
		})

		// Every step is in the case's journal, with no secret in it.
		var csv string
		r.waitFor("the CA revocation in the journal", func() (bool, string) {
			_, csv = getBody(t, pierre, r.url("portal", "/affaires/"+caseID+"/journal.csv"))
			return strings.Contains(csv, "certificate.revoked"), csv
		})
		for _, action := range []string{"certificate.order", "certificate.code_refused", "certificate.code_accepted", "certificate.collect", "certificate.revoke"} {
			if !strings.Contains(csv, action) {
				t.Errorf("journal without %s:\n%s", action, csv)
			}
		}
		for _, secret := range []string{token, collectCode, password} {
			if strings.Contains(csv, secret) {
				t.Errorf("a secret in the journal:\n%s", csv)
			}
		}
		if out, _, err := execute(t, "audit", "verify", "--config", cfgPath); err != nil {
			t.Errorf("sceau audit verify: %v\n%s", err, out)
		}

		// Secrets never reach the logs.
		logs := r.stdout.String() + r.stderr.String()
		for what, secret := range map[string]string{"token": token, "code": collectCode, "password": password} {
			if strings.Contains(logs, secret) || (what == "code" && strings.Contains(logs, strings.ReplaceAll(secret, "-", ""))) {
				t.Errorf("the %s appears in the logs", what)
			}
		}
	})
}

func participantOf(t *testing.T, body string) string {
	t.Helper()
	m := regexp.MustCompile(`/participants/(\d+)/certificat"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no certificate form:\n%s", body)
	}
	return m[1]
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return b.String()
}

// htmlEsc is how html/template writes the apostrophe of a name.
func htmlEsc(s string) string { return strings.ReplaceAll(s, "'", "&#39;") }

// TestRetrievalCounterFaults: the SMTP server down when the expert orders
// (the order stands, the mail goes out once it is back); a forged cookie;
// collecting before giving the code; five wrong codes lock the order until
// the expert re-arms it; the link works in another browser; after
// collection, the person declares the certificate lost (the expert is
// told, the portal refuses it); a re-issue after deactivation is refused
// and deactivating revokes.
func TestRetrievalCounterFaults(t *testing.T) {
	eachDatabase(t, func(t *testing.T, dir, cfgPath string) {
		setListeners(t)
		r, srv := serveWithSMTP(t, cfgPath)
		root := filepath.Join(dir, "ca", "root.crt")
		const name, email = "Jean-Marc L'Hôte", "jm.lhote@exemple.fr"
		pierre, caseID, page := counterCase(t, r, dir, name, email)

		// A form without its nonce (stale page, hand-made request): the
		// error is shown on the page, nothing is ordered.
		_, body := getBody(t, pierre, page)
		if code, body := postForm(t, pierre, r.url("portal", "/affaires/"+caseID+"/participants/"+participantOf(t, body)+"/certificat"),
			url.Values{"csrf": {csrfRe.FindStringSubmatch(body)[1]}, "display_name": {name}}); code != 422 || !strings.Contains(body, "Formulaire périmé") || codeRe.MatchString(body) {
			t.Fatalf("order without a nonce: %d\n%s", code, body)
		}

		// The SMTP server is down when the expert orders (once: the
		// outbox's first retry comes after about 30 s).
		outage := strings.HasSuffix(t.Name(), "sqlite")
		if outage {
			srv.Close()
		}
		code, body, _, _ := orderFor(t, pierre, page, name)
		if code != 200 || codeRe.FindStringSubmatch(body) == nil {
			t.Fatalf("order with SMTP down: %d\n%s", code, body)
		}
		collectCode := codeRe.FindStringSubmatch(body)[1]
		if outage {
			time.Sleep(500 * time.Millisecond)
			srv.Restart(t)
			deadline := time.Now().Add(60 * time.Second)
			for len(srv.Messages()) == 0 && time.Now().Before(deadline) {
				time.Sleep(200 * time.Millisecond)
			}
		}
		_, _, m := waitSMTP(t, r, srv, email, linkRe2)
		link := onListener(t, r, "counter", m[0])

		// A forged cookie leads nowhere; no cookie at all says to use the mail.
		forged := counterClient(t, root)
		cu, _ := url.Parse(r.url("counter", "/retrait"))
		forged.Jar.SetCookies(cu, []*http.Cookie{{Name: "sceau_retrait", Value: "forged-token", Path: "/retrait"}})
		if code, body := getBody(t, forged, r.url("counter", "/retrait")); code != 410 || !strings.Contains(body, "plus valable") {
			t.Fatalf("forged cookie: %d\n%s", code, body)
		}
		if code, body := getBody(t, clientWith(t, root, nil), r.url("counter", "/retrait")); code != 400 || !strings.Contains(body, "Ouvrez le lien reçu par courriel") {
			t.Fatalf("no cookie: %d", code)
		}

		person := counterClient(t, root)
		_, landing := getBody(t, person, link)
		csrf := csrfRe.FindStringSubmatch(landing)[1]
		// Collecting before the code: refused, nothing made.
		if code, body := postForm(t, person, r.url("counter", "/retrait/certificat"), url.Values{"csrf": {csrf}, "nonce": {"n-0000000000000000"}}); code != 422 || !strings.Contains(body, "Saisissez d’abord le code") {
			t.Fatalf("collect before the code: %d", code)
		}
		for i := 0; i < 5; i++ {
			if code, _ := postForm(t, person, r.url("counter", "/retrait/code"), url.Values{"csrf": {csrf}, "code": {"ZZZZ-ZZZZ"}}); code != 422 {
				t.Fatalf("wrong code %d: %d", i, code)
			}
		}
		if code, body := postForm(t, person, r.url("counter", "/retrait/code"), url.Values{"csrf": {csrf}, "code": {collectCode}}); code != 403 || !strings.Contains(body, "Retrait bloqué") {
			t.Fatalf("right code on a locked order: %d\n%s", code, body)
		}
		_, body = getBody(t, pierre, page)
		if !strings.Contains(body, "Retrait bloqué après 5 codes erronés") {
			t.Fatalf("the expert does not see the lock:\n%s", body)
		}
		pid := participantOf(t, body)
		if code, _ := postForm(t, pierre, r.url("portal", "/affaires/"+caseID+"/participants/"+pid+"/certificat/debloquer"), url.Values{"csrf": {csrfRe.FindStringSubmatch(body)[1]}}); code != 200 {
			t.Fatalf("re-arm: %d", code)
		}
		// The link copied into another browser works too (until collected).
		other := counterClient(t, root)
		_, landing = getBody(t, other, link)
		if !strings.Contains(landing, "Code de retrait") {
			t.Fatalf("the link in another browser:\n%s", landing)
		}
		code, body = postForm(t, other, r.url("counter", "/retrait/code"), url.Values{"csrf": {csrfRe.FindStringSubmatch(landing)[1]}, "code": {collectCode}})
		if code != 200 {
			t.Fatalf("code after re-arming: %d", code)
		}
		code, body = postForm(t, other, r.url("counter", "/retrait/certificat"), url.Values{"csrf": {csrfRe.FindStringSubmatch(body)[1]},
			"nonce": {nonceRe.FindStringSubmatch(body)[1]}, "guide": {"windows"}, "profile": {"compatible"}})
		if code != 200 {
			t.Fatalf("collect: %d\n%s", code, body)
		}
		p12, _ := base64.StdEncoding.DecodeString(bundleRe.FindStringSubmatch(html.UnescapeString(body))[1])
		key, leaf, chain, err := bundle.Decode(p12, passwordRe.FindStringSubmatch(body)[1])
		if err != nil {
			t.Fatal(err)
		}
		jm := clientWith(t, root, &tls.Certificate{Certificate: [][]byte{leaf.Raw, chain[0].Raw}, PrivateKey: key, Leaf: leaf})
		_, terms := getBody(t, jm, r.url("portal", "/"))
		postForm(t, jm, r.url("portal", "/conditions"), url.Values{"csrf": {csrfRe.FindStringSubmatch(terms)[1]}, "terms": {"2026-11"}})
		_, account := getBody(t, jm, r.url("portal", "/compte"))
		if !strings.Contains(account, "Déclarer mon certificat perdu") {
			t.Fatalf("no loss declaration on the litigant's account page:\n%s", account)
		}
		if code, body := postForm(t, jm, r.url("portal", "/compte/certificat-perdu"), url.Values{"csrf": {csrfRe.FindStringSubmatch(account)[1]}}); code != 200 || !strings.Contains(body, "Certificat déclaré perdu") {
			t.Fatalf("declare lost: %d\n%s", code, body)
		}
		waitSMTP(t, r, srv, "pierre.durand@experts.test", regexp.MustCompile(`a déclaré perdu`))
		r.waitFor("the lost certificate refused", func() (bool, string) {
			code, body := getBody(t, clientWith(t, root, &tls.Certificate{Certificate: [][]byte{leaf.Raw, chain[0].Raw}, PrivateKey: key, Leaf: leaf}), r.url("portal", "/"))
			return code == 403, strconv.Itoa(code) + body
		})

		// Deactivated: no new order.
		_, body = getBody(t, pierre, page)
		if code, _ := postForm(t, pierre, r.url("portal", "/affaires/"+caseID+"/participants/"+pid+"/actif"), url.Values{"csrf": {csrfRe.FindStringSubmatch(body)[1]}, "active": {"0"}}); code != 200 {
			t.Fatalf("deactivate: %d", code)
		}
		code, body = postForm(t, pierre, r.url("portal", "/affaires/"+caseID+"/participants/"+pid+"/certificat"), url.Values{
			"csrf": {csrfRe.FindStringSubmatch(body)[1]}, "nonce": {"inactive-nonce-000000"}, "display_name": {name}, "email": {email}})
		if code != 409 || codeRe.MatchString(body) {
			t.Fatalf("order for an inactive participant: %d", code)
		}
	})
}
