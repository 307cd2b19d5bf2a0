package main

import (
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"html"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"sceau.fr/sceau/ca/bundle"
	"sceau.fr/sceau/portal/mail/smtptest"
)

// apiOrder is an order as the API shows it.
type apiOrder struct {
	ID               int64   `json:"id"`
	ParticipantID    int64   `json:"participant_id"`
	State            string  `json:"state"`
	Name             string  `json:"name"`
	Email            string  `json:"email"`
	ValidityDays     int     `json:"validity_days"`
	DownloadsAllowed int     `json:"downloads_allowed"`
	DownloadsUsed    int     `json:"downloads_used"`
	Locked           bool    `json:"locked"`
	FailedAttempts   int     `json:"failed_attempts"`
	CollectedAt      *string `json:"collected_at"`
	LinkExpiresAt    string  `json:"link_expires_at"`
	CollectionCode   string  `json:"collection_code"`
	Replayed         bool    `json:"replayed"`
}

type apiOrderStatus struct {
	ParticipantID int64     `json:"participant_id"`
	DisplayName   string    `json:"display_name"`
	Role          string    `json:"role"`
	Order         *apiOrder `json:"order"`
	Certificates  []struct {
		Serial    string  `json:"serial"`
		NotAfter  string  `json:"not_after"`
		RevokeDue *string `json:"revoke_due"`
		Revoked   bool    `json:"revoked"`
	} `json:"certificates"`
}

// TestAPICertificateOrders: office software orders a litigant
// certificate through /api/v1 (real TLS, the demo expert's certificate,
// a real SMTP server): the answer carries the collection code once and no
// secret of the link; the same request_id again answers the same code and
// sends no second mail; the person collects at the counter with that code;
// the expert's list shows the collection; a re-issue locked by wrong
// codes is re-armed through the API; revoking through the API makes the
// portal refuse the certificate. A lawyer participant, a participant who
// does not own the case and an outsider are refused, and a finished case
// takes no more orders.
func TestAPICertificateOrders(t *testing.T) {
	eachDatabase(t, func(t *testing.T, dir, cfgPath string) {
		setListeners(t)
		r, srv := serveWithSMTP(t, cfgPath)
		root := filepath.Join(dir, "ca", "root.crt")
		api := func(p string) string { return r.url("portal", "/api/v1"+p) }
		const js = "application/json"
		const name, email = "Élodie N'Guessan-Brûlé", "Elodie.NGuessan+api@Exemple.FR"
		pierre, caseID, page := counterCase(t, r, dir, name, email)
		pierreCert, _ := demoIdentity(t, dir, "expert-pierre-durand")
		pierreAPI := clientWith(t, root, pierreCert)
		orders := api("/cases/" + caseID + "/orders")

		// A lawyer of the party, with an account of his own.
		lawyer := clientWith(t, root, mustDemo(t, dir, "avocat-marc-nguyen"))
		_, form := getBody(t, lawyer, r.url("portal", "/inscription"))
		if code, body := postForm(t, lawyer, r.url("portal", "/inscription"), url.Values{"csrf": {csrfRe.FindStringSubmatch(form)[1]},
			"role": {"lawyer"}, "display_name": {"Marc Nguyen"}, "email": {"marc.nguyen@avocats.test"}, "bar": {"Barreau de Nantes"},
			"terms": {"2026-11"}}); code != 200 {
			t.Fatalf("lawyer registration: %d\n%s", code, body)
		}
		var parties apiListOf[struct {
			ID int64 `json:"id"`
		}]
		callAPI(t, pierreAPI, "GET", api("/cases/"+caseID+"/parties"), nil).decode(t, 200, &parties)
		_, body := getBody(t, pierre, page)
		if code, body := postForm(t, pierre, page, url.Values{"csrf": {csrfRe.FindStringSubmatch(body)[1]}, "role": {"lawyer"},
			"email": {"marc.nguyen@avocats.test"}, "parties": {strconv.FormatInt(parties.Items[0].ID, 10)}}); code != 200 {
			t.Fatalf("adding the lawyer: %d\n%s", code, body)
		}

		// The list: the party member only (not the expert, not the
		// lawyer), nothing ordered yet.
		var list apiListOf[apiOrderStatus]
		callAPI(t, pierreAPI, "GET", orders, nil).decode(t, 200, &list)
		if len(list.Items) != 1 || list.Items[0].DisplayName != name || list.Items[0].Role != "party_member" || list.Items[0].Order != nil {
			t.Fatalf("orders before any: %+v", list)
		}
		member := strconv.FormatInt(list.Items[0].ParticipantID, 10)
		orderAt := api("/cases/" + caseID + "/participants/" + member + "/orders")
		var lawyerID string
		var people apiListOf[struct {
			ID   int64  `json:"id"`
			Role string `json:"role"`
		}]
		callAPI(t, pierreAPI, "GET", api("/cases/"+caseID+"/participants"), nil).decode(t, 200, &people)
		for _, p := range people.Items {
			if p.Role == "lawyer" {
				lawyerID = strconv.FormatInt(p.ID, 10)
			}
		}

		// Refusals: the lawyer is no owner (403), an outsider sees nothing
		// (404), no certificate is ordered for a lawyer (409), bad fields
		// are named (422), bad JSON is a problem (400).
		lawyerAPI := clientWith(t, root, mustDemo(t, dir, "avocat-marc-nguyen"))
		callAPI(t, lawyerAPI, "GET", orders, nil).wantProblem(t, http.StatusForbidden, "forbidden")
		callAPI(t, lawyerAPI, "POST", orderAt, strings.NewReader(`{"request_id":"lawyer-order-00000001"}`), "Content-Type", js).
			wantProblem(t, http.StatusForbidden, "forbidden")
		callAPI(t, lawyerAPI, "POST", orderAt+"/revoke", nil).wantProblem(t, http.StatusForbidden, "forbidden")
		registerExpert(t, r, dir, "experte-anne-moreau", "Anne Moreau", "anne.moreau@experts.test")
		anne := clientWith(t, root, mustDemo(t, dir, "experte-anne-moreau"))
		callAPI(t, anne, "GET", orders, nil).wantProblem(t, http.StatusNotFound, "not-found")
		callAPI(t, anne, "POST", orderAt, strings.NewReader(`{"request_id":"anne-order-000000001"}`), "Content-Type", js).
			wantProblem(t, http.StatusNotFound, "not-found")
		callAPI(t, anne, "POST", orderAt+"/rearm", nil).wantProblem(t, http.StatusNotFound, "not-found")
		callAPI(t, pierreAPI, "POST", api("/cases/"+caseID+"/participants/"+lawyerID+"/orders"),
			strings.NewReader(`{"request_id":"order-for-the-lawyer-01"}`), "Content-Type", js).wantProblem(t, http.StatusConflict, "not-orderable")
		callAPI(t, pierreAPI, "POST", api("/cases/"+caseID+"/participants/99999/orders"),
			strings.NewReader(`{"request_id":"order-for-nobody-000001"}`), "Content-Type", js).wantProblem(t, http.StatusNotFound, "not-found")
		p := callAPI(t, pierreAPI, "POST", orderAt, strings.NewReader(`{"request_id":"short","downloads":0,"email":"pas une adresse","validity_days":100000}`),
			"Content-Type", js).wantProblem(t, http.StatusUnprocessableEntity, "validation")
		var fields []string
		for _, e := range p["errors"].([]any) {
			fields = append(fields, e.(map[string]any)["field"].(string))
		}
		if strings.Join(fields, " ") != "downloads email validity_days request_id" {
			t.Errorf("invalid fields named %v: %v", fields, p)
		}
		callAPI(t, pierreAPI, "POST", orderAt, strings.NewReader(`{"request_id":"order-unknown-field-01","pin":"1234"}`), "Content-Type", js).
			wantProblem(t, http.StatusBadRequest, "invalid-json")
		callAPI(t, pierreAPI, "POST", orderAt, strings.NewReader(`{}`), "Content-Type", js).wantProblem(t, http.StatusUnprocessableEntity, "validation")
		callAPI(t, pierreAPI, "POST", orderAt+"/rearm", nil).wantProblem(t, http.StatusConflict, "not-locked")

		// The order: 201 with the code, and no secret of the link.
		const req = `{"request_id":"3f0c1a52-api-order-0001","validity_days":90,"downloads":1,"link_days":7}`
		c := callAPI(t, pierreAPI, "POST", orderAt, strings.NewReader(req), "Content-Type", js)
		var order apiOrder
		c.decode(t, http.StatusCreated, &order)
		if order.State != "open" || order.Name != name || order.ValidityDays != 90 || order.DownloadsAllowed != 1 || order.Replayed ||
			!regexp.MustCompile(`^[A-Z0-9]{4}-[A-Z0-9]{4}$`).MatchString(order.CollectionCode) {
			t.Fatalf("order: %s", c.body)
		}
		for _, secret := range []string{"hash", "salt", "token", "jeton", "nonce"} {
			if bytes.Contains(bytes.ToLower(c.body), []byte(secret)) {
				t.Errorf("the order answer mentions %s: %s", secret, c.body)
			}
		}
		if cc := c.header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
			t.Errorf("the code's answer may be cached: %q", cc)
		}
		// The same request again (a retry after a timeout): the same code,
		// one order, one mail.
		var again apiOrder
		callAPI(t, pierreAPI, "POST", orderAt, strings.NewReader(req), "Content-Type", js).decode(t, http.StatusOK, &again)
		if again.ID != order.ID || again.CollectionCode != order.CollectionCode || !again.Replayed {
			t.Fatalf("replayed order: %+v, first %+v", again, order)
		}
		// The same request_id for another participant (an outside
		// sapiteur) is refused, and places nothing.
		_, body = getBody(t, pierre, page)
		if code, body := postForm(t, pierre, page, url.Values{"csrf": {csrfRe.FindStringSubmatch(body)[1]}, "role": {"sapiteur"},
			"display_name": {"Luc Ferrand"}, "email": {"luc.ferrand@exemple.fr"}}); code != 200 {
			t.Fatalf("adding the sapiteur: %d\n%s", code, body)
		}
		list = apiListOf[apiOrderStatus]{}
		callAPI(t, pierreAPI, "GET", orders, nil).decode(t, 200, &list)
		if len(list.Items) != 2 || list.Items[1].Role != "sapiteur" || list.Items[1].Order != nil {
			t.Fatalf("orders with the sapiteur: %+v", list)
		}
		sapiteurAt := api("/cases/" + caseID + "/participants/" + strconv.FormatInt(list.Items[1].ParticipantID, 10) + "/orders")
		c = callAPI(t, pierreAPI, "POST", sapiteurAt, strings.NewReader(req), "Content-Type", js)
		c.wantProblem(t, http.StatusConflict, "request-id-reused")
		if bytes.Contains(c.body, []byte(order.CollectionCode)) {
			t.Errorf("the refusal shows the code: %s", c.body)
		}
		_, text, m := waitSMTP(t, r, srv, "Elodie.NGuessan+api@exemple.fr", linkRe2)
		if strings.Contains(text, order.CollectionCode) || !strings.Contains(text, "Pierre Durand") {
			t.Fatalf("collection mail (names the expert, never the code):\n%s", text)
		}
		time.Sleep(300 * time.Millisecond)
		if n := mailsTo(srv, email); n != 1 {
			t.Fatalf("%d collection mails for one order sent twice", n)
		}
		if n := mailsTo(srv, "luc.ferrand@exemple.fr"); n != 0 {
			t.Fatalf("%d mails to the sapiteur for a refused order", n)
		}

		// The person collects at the counter with the API's code.
		link := onListener(t, r, "counter", m[0])
		p12, password := collectAtCounter(t, r, root, link, order.CollectionCode)
		key, leaf, chain, err := bundle.Decode(p12, password)
		if err != nil {
			t.Fatal(err)
		}
		tlsCert := &tls.Certificate{Certificate: [][]byte{leaf.Raw, chain[0].Raw}, PrivateKey: key, Leaf: leaf}
		elodie := clientWith(t, root, tlsCert)
		_, terms := getBody(t, elodie, r.url("portal", "/"))
		if code, _ := postForm(t, elodie, r.url("portal", "/conditions"), url.Values{"csrf": {csrfRe.FindStringSubmatch(terms)[1]}, "terms": {"2026-11"}}); code != 200 {
			t.Fatalf("terms: %d", code)
		}
		if code, body := getBody(t, clientWith(t, root, tlsCert), r.url("portal", "/")); code != 200 || !strings.Contains(body, "24/01234") {
			t.Fatalf("the collected certificate on the portal: %d\n%s", code, body)
		}

		// The expert's list shows the collection.
		list = apiListOf[apiOrderStatus]{}
		callAPI(t, pierreAPI, "GET", orders, nil).decode(t, 200, &list)
		st := list.Items[0]
		if st.Order == nil || st.Order.State != "collected" || st.Order.DownloadsUsed != 1 || st.Order.CollectedAt == nil ||
			len(st.Certificates) != 1 || st.Certificates[0].Serial != leaf.SerialNumber.String() || st.Certificates[0].Revoked {
			t.Fatalf("orders after the collection: %+v", st)
		}
		if notAfter, err := time.Parse(time.RFC3339, st.Certificates[0].NotAfter); err != nil || notAfter.Sub(leaf.NotAfter).Abs() > time.Second {
			t.Errorf("not_after %s, certificate %s", st.Certificates[0].NotAfter, leaf.NotAfter)
		}

		// A re-issue: five wrong codes lock it, the API shows the lock and
		// re-arms it, then the new code works.
		var reissue apiOrder
		callAPI(t, pierreAPI, "POST", orderAt, strings.NewReader(`{"request_id":"3f0c1a52-api-order-0002"}`), "Content-Type", js).decode(t, http.StatusCreated, &reissue)
		if reissue.ID == order.ID || reissue.CollectionCode == order.CollectionCode || reissue.ValidityDays != 180 || reissue.DownloadsAllowed != 1 {
			t.Fatalf("re-issue: %+v", reissue)
		}
		var link2 string
		r.waitFor("the second collection mail", func() (bool, string) {
			for _, msg := range srv.Messages() {
				if strings.EqualFold(msg.To[0], email) {
					_, tx := plainText(t, msg.Data)
					if l := linkRe2.FindString(tx); l != "" && onListener(t, r, "counter", l) != link {
						link2 = onListener(t, r, "counter", l)
						return true, ""
					}
				}
			}
			return false, strconv.Itoa(mailsTo(srv, email)) + " mails"
		})
		person := counterClient(t, root)
		_, landing := getBody(t, person, link2)
		csrf := csrfRe.FindStringSubmatch(landing)[1]
		for i := 0; i < 5; i++ {
			postForm(t, person, r.url("counter", "/retrait/code"), url.Values{"csrf": {csrf}, "code": {"ZZZZ-ZZZZ"}})
		}
		list = apiListOf[apiOrderStatus]{}
		callAPI(t, pierreAPI, "GET", orders, nil).decode(t, 200, &list)
		if o := list.Items[0].Order; o == nil || o.ID != reissue.ID || !o.Locked || o.FailedAttempts != 5 || o.State != "open" {
			t.Fatalf("locked re-issue: %+v", o)
		}
		if len(list.Items[0].Certificates) != 1 || !list.Items[0].Certificates[0].Revoked {
			t.Errorf("the re-issue leaves the first certificate unrevoked: %+v", list.Items[0])
		}
		var rearmed apiOrderStatus
		callAPI(t, pierreAPI, "POST", orderAt+"/rearm", nil).decode(t, 200, &rearmed)
		if rearmed.Order == nil || rearmed.Order.Locked || rearmed.Order.FailedAttempts != 0 {
			t.Fatalf("re-armed: %+v", rearmed.Order)
		}
		if code, body := postForm(t, person, r.url("counter", "/retrait/code"), url.Values{"csrf": {csrf}, "code": {reissue.CollectionCode}}); code != 200 {
			t.Fatalf("the code after re-arming: %d\n%s", code, body)
		}

		// Revoking through the API: the open order is cancelled, every
		// certificate revoked, and the portal refuses the first one.
		var revoked apiOrderStatus
		callAPI(t, pierreAPI, "POST", orderAt+"/revoke", nil).decode(t, 200, &revoked)
		if revoked.Order == nil || revoked.Order.State != "cancelled" || len(revoked.Certificates) != 1 || !revoked.Certificates[0].Revoked {
			t.Fatalf("revoked: %+v", revoked)
		}
		r.waitFor("the revoked certificate refused", func() (bool, string) {
			c := callAPI(t, clientWith(t, root, tlsCert), "GET", api("/me"), nil)
			return c.status == http.StatusForbidden, strconv.Itoa(c.status) + string(c.body)
		})
		callAPI(t, clientWith(t, root, tlsCert), "GET", api("/me"), nil).wantProblem(t, http.StatusForbidden, "revoked")
		if code, _ := getBody(t, clientWith(t, root, tlsCert), r.url("portal", "/")); code != http.StatusForbidden {
			t.Errorf("the portal after the revocation: %d", code)
		}

		// The journal has the API's steps; no code anywhere in the logs.
		_, csv := getBody(t, pierre, r.url("portal", "/affaires/"+caseID+"/journal.csv"))
		for _, action := range []string{"certificate.order", "certificate.collect", "certificate.rearm", "certificate.revoke"} {
			if !strings.Contains(csv, action) {
				t.Errorf("journal without %s:\n%s", action, csv)
			}
		}
		logs := r.stdout.String() + r.stderr.String()
		for _, code := range []string{order.CollectionCode, reissue.CollectionCode} {
			if strings.Contains(csv, code) || strings.Contains(logs, code) || strings.Contains(logs, strings.ReplaceAll(code, "-", "")) {
				t.Errorf("a collection code in the journal or the logs")
			}
		}

		// A finished case takes no more orders.
		_, body = getBody(t, pierre, page)
		csrf = csrfRe.FindStringSubmatch(body)[1]
		for _, move := range [][2]string{{"creation", "in_progress"}, {"in_progress", "finished"}} {
			if code, body := postForm(t, pierre, r.url("portal", "/affaires/"+caseID+"/etat"), url.Values{"csrf": {csrf},
				"from": {move[0]}, "to": {move[1]}, "confirm": {"1"}}); code != 200 {
				t.Fatalf("case %s → %s: %d\n%s", move[0], move[1], code, body)
			}
		}
		callAPI(t, pierreAPI, "POST", orderAt, strings.NewReader(`{"request_id":"3f0c1a52-api-order-0003"}`), "Content-Type", js).
			wantProblem(t, http.StatusConflict, "case-closed")
		callAPI(t, pierreAPI, "GET", orders, nil).decode(t, 200, &list)
	})
}

func mustDemo(t *testing.T, dir, file string) *tls.Certificate {
	t.Helper()
	c, _ := demoIdentity(t, dir, file)
	return c
}

func mailsTo(srv *smtptest.Server, rcpt string) int {
	n := 0
	for _, msg := range srv.Messages() {
		if strings.EqualFold(msg.To[0], rcpt) {
			n++
		}
	}
	return n
}

// collectAtCounter opens the link in a fresh browser, gives the code and
// collects the bundle; it returns the PKCS#12 and its password.
func collectAtCounter(t *testing.T, r *running, root, link, code string) ([]byte, string) {
	t.Helper()
	person := counterClient(t, root)
	status, landing := getBody(t, person, link)
	if status != 200 || !strings.Contains(landing, "Code de retrait") {
		t.Fatalf("landing: %d\n%s", status, landing)
	}
	status, body := postForm(t, person, r.url("counter", "/retrait/code"), url.Values{"csrf": {csrfRe.FindStringSubmatch(landing)[1]}, "code": {code}})
	if status != 200 || !strings.Contains(body, "Récupérer mon certificat") {
		t.Fatalf("the API's code at the counter: %d\n%s", status, body)
	}
	status, body = postForm(t, person, r.url("counter", "/retrait/certificat"), url.Values{"csrf": {csrfRe.FindStringSubmatch(body)[1]},
		"nonce": {nonceRe.FindStringSubmatch(body)[1]}, "guide": {"linux"}, "profile": {"compatible"}})
	b64 := bundleRe.FindStringSubmatch(html.UnescapeString(body))
	if status != 200 || b64 == nil {
		t.Fatalf("collect: %d\n%s", status, body)
	}
	p12, err := base64.StdEncoding.DecodeString(b64[1])
	if err != nil {
		t.Fatal(err)
	}
	return p12, passwordRe.FindStringSubmatch(body)[1]
}
