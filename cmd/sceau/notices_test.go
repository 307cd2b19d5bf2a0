package main

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/http"
	netmail "net/mail"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"sceau.fr/sceau/portal/mail/smtptest"
)

// plainText returns the decoded text/plain part of a received message.
func plainText(t *testing.T, raw []byte) (subject, text string) {
	t.Helper()
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	subject, _ = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			t.Fatalf("no text/plain part: %v", err)
		}
		if strings.HasPrefix(p.Header.Get("Content-Type"), "text/plain") {
			var r io.Reader = p
			if strings.EqualFold(p.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
				r = quotedprintable.NewReader(p)
			}
			b, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			return subject, string(b)
		}
	}
}

// TestDepositNoticeByMailAndHistory: a clerk asks for a mail at each
// deposit on "Mon compte"; the expert's deposit reaches the clerk through
// a real SMTP server, naming the case, the folder, the depositor and the
// file with a link, without the document; the clerk's notice history shows
// it as sent, and the expert's shows the state change.
func TestDepositNoticeByMailAndHistory(t *testing.T) {
	eachDatabase(t, func(t *testing.T, dir, cfgPath string) {
		setListeners(t)
		r, srv := serveWithSMTP(t, cfgPath)
		pierre := registerExpert(t, r, dir, "expert-pierre-durand", "Pierre Durand", "pierre.durand@experts.test")
		clerk := registerClerk(t, r, dir)

		// The clerk's settings: the digest only, until changed.
		_, account := getBody(t, clerk, r.url("portal", "/compte"))
		for _, want := range []string{`name="deposit_mail" value="1">`, `name="other_parties" value="1">`, `name="daily_digest" value="1" checked>`} {
			if !strings.Contains(account, want) {
				t.Fatalf("account page lacks %s:\n%s", want, account)
			}
		}
		clerkCSRF := csrfRe.FindStringSubmatch(account)[1]
		code, account := postForm(t, clerk, r.url("portal", "/compte/notifications"), url.Values{"csrf": {clerkCSRF},
			"deposit_mail": {"1"}, "daily_digest": {"1"}})
		if code != 200 || !strings.Contains(account, "Vos choix de notifications sont enregistrés") ||
			!strings.Contains(account, `name="deposit_mail" value="1" checked>`) {
			t.Fatalf("saving the settings: %d\n%s", code, account)
		}

		_, form := getBody(t, pierre, r.url("portal", "/affaires/nouvelle"))
		csrf := csrfRe.FindStringSubmatch(form)[1]
		caseID, depositURL := caseInProgress(t, r, pierre, csrf, "24/04321")
		caseURL := r.url("portal", "/affaires/"+caseID)
		if code, _ := postForm(t, pierre, caseURL+"/participants", url.Values{"csrf": {csrf}, "role": {"clerk"}, "email": {"julien.bernard@justice.test"}}); code != 200 {
			t.Fatalf("adding the clerk: %d", code)
		}
		content := []byte("%PDF-1.7 ordonnance de désignation, contenu confidentiel")
		doc := deposit(t, pierre, depositURL, "ordonnance.pdf", content)

		var notice smtptest.Message
		deadline := time.Now().Add(15 * time.Second)
		for notice.Data == nil && time.Now().Before(deadline) {
			for _, m := range srv.Messages() {
				if len(m.To) == 1 && m.To[0] == "julien.bernard@justice.test" {
					notice = m
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
		if notice.Data == nil {
			t.Fatalf("no deposit mail for the clerk; the server got %d messages", len(srv.Messages()))
		}
		subject, text := plainText(t, notice.Data)
		if !strings.Contains(subject, "24/04321") || !strings.Contains(subject, "Désignation") {
			t.Errorf("subject %q", subject)
		}
		// The link: the portal's public URL (localhost) and the receipt.
		if !regexp.MustCompile(`Récépissé du dépôt : https://localhost:\d+` + regexp.QuoteMeta(doc) + `/recepisse\r?\n`).MatchString(text) {
			t.Errorf("no link to the receipt:\n%s", text)
		}
		for _, want := range []string{"Pierre Durand (expert)", "Dossier : Désignation", "ordonnance.pdf (Pièce", "n’est pas joint"} {
			if !strings.Contains(text, want) {
				t.Errorf("deposit mail lacks %q:\n%s", want, text)
			}
		}
		if bytes.Contains(notice.Data, []byte("contenu confidentiel")) || strings.Contains(strings.ToLower(string(notice.Data)), "attachment") {
			t.Errorf("the deposit mail carries the document")
		}
		for _, m := range srv.Messages() {
			if m.To[0] == "pierre.durand@experts.test" && strings.Contains(string(m.Data), "ordonnance.pdf") {
				t.Errorf("the depositor was told about his own deposit")
			}
		}

		// The clerk's history: the deposit notice, sent.
		r.waitFor("the notice marked sent", func() (bool, string) {
			_, page := getBody(t, clerk, r.url("portal", "/compte/notifications"))
			return strings.Contains(page, "Envoyé"), page
		})
		code, page := getBody(t, clerk, r.url("portal", "/compte/notifications"))
		if code != 200 {
			t.Fatalf("history: %d", code)
		}
		for _, want := range []string{"Dépôt", "24/04321", "julien.bernard@justice.test", "remis au serveur de messagerie le ", `href="/affaires/` + caseID + `"`} {
			if !strings.Contains(page, want) {
				t.Errorf("clerk's history lacks %q:\n%s", want, page)
			}
		}
		// Search: the clerk finds the document and the case; an expert of
		// no case finds nothing; too short a query is refused.
		code, page = getBody(t, clerk, r.url("portal", "/recherche?q=ORDONNANCE"))
		if code != 200 || !strings.Contains(page, `href="`+doc+`/recepisse">ordonnance.pdf</a>`) {
			t.Errorf("clerk's search: %d\n%s", code, page)
		}
		if _, page = getBody(t, clerk, r.url("portal", "/recherche?q=04321")); !strings.Contains(page, `href="/affaires/`+caseID+`"`) {
			t.Errorf("case not found by its RG number:\n%s", page)
		}
		if _, page = getBody(t, clerk, r.url("portal", "/recherche?q=durand")); !strings.Contains(page, "Pierre Durand (Expert)") {
			t.Errorf("participant not found:\n%s", page)
		}
		anne := registerExpert(t, r, dir, "experte-anne-moreau", "Anne Moreau", "anne.moreau@experts.test")
		if _, page = getBody(t, anne, r.url("portal", "/recherche?q=ordonnance")); strings.Contains(page, "ordonnance.pdf") || !strings.Contains(page, "Aucun document.") {
			t.Errorf("an outsider's search:\n%s", page)
		}
		if code, page = getBody(t, clerk, r.url("portal", "/recherche?q=ab")); code != http.StatusUnprocessableEntity || !strings.Contains(page, "au moins 3 caractères") {
			t.Errorf("short query: %d\n%s", code, page)
		}

		// The expert's: the state change of his case.
		_, page = getBody(t, pierre, r.url("portal", "/compte/notifications"))
		if !strings.Contains(page, "Changement d’état") || strings.Contains(page, "Dépôt</td>") {
			t.Errorf("expert's history:\n%s", page)
		}
	})
}
