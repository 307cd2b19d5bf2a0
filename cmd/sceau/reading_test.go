package main

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sceau.fr/sceau/portal/mail"
)

// caseInProgress creates a case with the RG number, moves it on and
// returns its id and the deposit URL of its Désignation folder.
func caseInProgress(t *testing.T, r *running, c *http.Client, csrf, rg string) (string, string) {
	t.Helper()
	_, body := postForm(t, c, r.url("portal", "/affaires"), url.Values{"csrf": {csrf}, "first_applicant": {"Hélène Dupré-Lefèvre"},
		"first_defendant": {"SCI Les Tilleuls"}, "jurisdiction": {"TJ Rennes"}, "rg_number": {rg}, "ordonnance_date": {"2026-10-15"}})
	m := regexp.MustCompile(`/affaires/(\d+)/participants`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no case page:\n%s", body)
	}
	if code, _ := postForm(t, c, r.url("portal", "/affaires/"+m[1]+"/etat"), url.Values{"csrf": {csrf}, "from": {"creation"}, "to": {"in_progress"}, "confirm": {"1"}}); code != 200 {
		t.Fatalf("moving the case on: %d", code)
	}
	_, body = getBody(t, c, r.url("portal", "/affaires/"+m[1]))
	for _, f := range depositFormRe.FindAllStringSubmatch(body, -1) {
		if f[2] == "Désignation" {
			return m[1], r.url("portal", strings.ReplaceAll(f[1], "&amp;", "&"))
		}
	}
	t.Fatalf("no deposit form for Désignation:\n%s", body)
	return "", ""
}

// deposit uploads a file and returns the document's path.
func deposit(t *testing.T, c *http.Client, u, name string, content []byte) string {
	t.Helper()
	code, body, at := upload(t, c, u, "piece", name, content)
	if code != 200 || !strings.HasSuffix(at.Path, "/recepisse") {
		t.Fatalf("deposit of %s: %d\n%s", name, code, body)
	}
	return strings.TrimSuffix(at.Path, "/recepisse")
}

func download(t *testing.T, c *http.Client, u string) (int, http.Header, []byte) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading %s: %v", u, err)
	}
	return resp.StatusCode, resp.Header, b
}

// readerRow finds the row of a participant in the section of a document
// of the contradictoire page.
func readerRow(t *testing.T, page, docID, name string) string {
	t.Helper()
	sec := regexp.MustCompile(`(?s)<section class="contradictoire" id="document-` + docID + `">.*?</section>`).FindString(page)
	if sec == "" {
		t.Fatalf("no section for document %s:\n%s", docID, page)
	}
	row := regexp.MustCompile(`<tr><td[^>]*>` + regexp.QuoteMeta(name) + `</td>.*?</tr>`).FindString(sec)
	if row == "" {
		t.Fatalf("no row for %s in document %s:\n%s", name, docID, sec)
	}
	return row
}

// TestContradictoireLockAndZip: the owner sees who opened each document
// and reminds those who have not; only the owner sees the view; a lock
// needs a reason, shows to all and happens once; several documents come
// as one ZIP, all readable or none.
func TestContradictoireLockAndZip(t *testing.T) {
	eachDatabase(t, func(t *testing.T, dir, cfgPath string) {
		setListeners(t)
		t.Setenv("SCEAU_MAIL_POLL_INTERVAL", "100ms")
		r := startServe(t, cfgPath)
		r.waitStatus("admin", "/readyz", 200)
		pierre := registerExpert(t, r, dir, "expert-pierre-durand", "Pierre Durand", "pierre.durand@experts.test")
		clerk := registerClerk(t, r, dir)
		_, form := getBody(t, pierre, r.url("portal", "/affaires/nouvelle"))
		csrf := csrfRe.FindStringSubmatch(form)[1]
		caseID, depositURL := caseInProgress(t, r, pierre, csrf, "24/01234")
		caseURL := r.url("portal", "/affaires/"+caseID)
		if code, _ := postForm(t, pierre, caseURL+"/participants", url.Values{"csrf": {csrf}, "role": {"clerk"}, "email": {"julien.bernard@justice.test"}}); code != 200 {
			t.Fatalf("adding the clerk: %d", code)
		}
		contents := [][]byte{[]byte("%PDF-1.7 rapport"), []byte("des notes"), []byte("%PDF-1.7 autre rapport")}
		docs := []string{
			deposit(t, pierre, depositURL, "rapport.pdf", contents[0]),
			deposit(t, pierre, depositURL, "../../notes\u202e.txt", contents[1]),
			deposit(t, pierre, depositURL, "rapport.pdf", contents[2]),
		}
		ids := make([]string, len(docs))
		for i, d := range docs {
			ids[i] = d[strings.LastIndexByte(d, '/')+1:]
		}
		if code, _, _ := download(t, pierre, r.url("portal", docs[0])); code != 200 {
			t.Fatalf("expert download: %d", code)
		}

		// The owner's view: the expert opened the first document, the clerk nothing.
		_, body := getBody(t, pierre, caseURL)
		if !strings.Contains(body, `href="/affaires/`+caseID+`/contradictoire"`) {
			t.Errorf("no contradictoire link for the owner")
		}
		_, clerkCase := getBody(t, clerk, caseURL)
		if strings.Contains(clerkCase, "/contradictoire") || strings.Contains(clerkCase, "/verrouiller") {
			t.Errorf("the clerk is offered the contradictoire or the lock")
		}
		contra := caseURL + "/contradictoire"
		code, page := getBody(t, pierre, contra)
		if code != 200 {
			t.Fatalf("contradictoire: %d\n%s", code, page)
		}
		if row := readerRow(t, page, ids[0], "Pierre Durand"); !strings.Contains(row, "ouvert le ") {
			t.Errorf("the expert is not shown as opener: %s", row)
		}
		if row := readerRow(t, page, ids[0], "Julien Bernard"); !strings.Contains(row, "pas encore ouvert") {
			t.Errorf("the clerk is shown as opener: %s", row)
		}
		if !strings.Contains(page, "ouvert par 1 sur 2") || !strings.Contains(page, "ouvert par 0 sur 2") {
			t.Errorf("counts missing:\n%s", page)
		}
		if code, _ := getBody(t, clerk, contra); code != http.StatusForbidden {
			t.Errorf("the clerk on the contradictoire: %d", code)
		}
		anne := registerExpert(t, r, dir, "experte-anne-moreau", "Anne Moreau", "anne.moreau@experts.test")
		if code, _ := getBody(t, anne, contra); code != http.StatusNotFound {
			t.Errorf("an outsider on the contradictoire: %d", code)
		}

		// The clerk downloads the first document: the date shows.
		if code, _, got := download(t, clerk, r.url("portal", docs[0])); code != 200 || !bytes.Equal(got, contents[0]) {
			t.Fatalf("clerk download: %d", code)
		}
		_, page = getBody(t, pierre, contra)
		if row := readerRow(t, page, ids[0], "Julien Bernard"); !regexp.MustCompile(`ouvert le \d\d/\d\d/\d{4} à \d\d:\d\d`).MatchString(row) {
			t.Errorf("the clerk's opening is not shown: %s", row)
		}
		if !strings.Contains(page, "ouvert par 2 sur 2") {
			t.Errorf("count after the clerk's opening:\n%s", page)
		}

		// Reminders: none for the first document (all opened), one to the
		// clerk for the second; the clerk may not send any.
		_, clerkForm := getBody(t, clerk, r.url("portal", "/compte"))
		clerkCSRF := csrfRe.FindStringSubmatch(clerkForm)
		if clerkCSRF == nil {
			t.Errorf("no form token for the clerk")
		} else {
			if code, _ := postForm(t, clerk, caseURL+"/documents/"+ids[1]+"/relancer", url.Values{"csrf": {clerkCSRF[1]}}); code != http.StatusForbidden {
				t.Errorf("the clerk sending a reminder: %d", code)
			}
		}
		if code, body := postForm(t, pierre, caseURL+"/documents/"+ids[0]+"/relancer", url.Values{"csrf": {csrf}}); code != 200 || !strings.Contains(body, "Aucune relance envoyée") {
			t.Errorf("reminder when all opened: %d\n%s", code, body)
		}
		if code, body := postForm(t, pierre, caseURL+"/documents/"+ids[1]+"/relancer", url.Values{"csrf": {csrf}}); code != 200 || !strings.Contains(body, "1 relance(s) envoyée(s)") {
			t.Errorf("reminder: %d\n%s", code, body)
		}
		r.waitFor("the reminder", func() (bool, string) {
			entries, _ := mail.ListSink(filepath.Join(dir, "mail"))
			n := 0
			for _, e := range entries {
				if strings.Contains(e.Subject, "24/01234 vous attend") {
					n++
				}
			}
			return n == 1, fmt.Sprint(len(entries), " mails")
		})
		entries, _ := mail.ListSink(filepath.Join(dir, "mail"))
		for _, e := range entries {
			var err error
			if !strings.Contains(e.Subject, "vous attend") {
				continue
			}
			if !strings.Contains(e.To, "julien.bernard@justice.test") {
				t.Errorf("reminder sent to %s", e.To)
			}
			if e, err = mail.ReadSink(filepath.Join(dir, "mail"), e.Name); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(e.Text, "notes") || !strings.Contains(e.Text, "/affaires/"+caseID) || strings.Contains(e.Text, string(contents[1])) {
				t.Errorf("reminder text:\n%s", e.Text)
			}
		}

		// Lock: a reason is required, shown to all, and the lock is final.
		lockURL := caseURL + "/documents/" + ids[0] + "/verrouiller"
		code, body = postForm(t, pierre, lockURL, url.Values{"csrf": {csrf}, "lock_reason": {"  "}})
		if code != http.StatusUnprocessableEntity || !strings.Contains(body, `id="lock_reason-`+ids[0]+`-error" role="alert">Ce champ est obligatoire.`) {
			t.Errorf("lock without a reason: %d\n%s", code, body)
		}
		if code, _ := postForm(t, pierre, lockURL, url.Values{"csrf": {csrf}, "lock_reason": {"Pièce produite hors délai"}}); code != 200 {
			t.Errorf("lock: %d", code)
		}
		_, clerkCase = getBody(t, clerk, caseURL)
		if !regexp.MustCompile(`verrouillé le \d\d/\d\d/\d{4} à \d\d:\d\d : Pièce produite hors délai`).MatchString(clerkCase) {
			t.Errorf("the lock is not shown to the clerk:\n%s", clerkCase)
		}
		if code, body := postForm(t, pierre, lockURL, url.Values{"csrf": {csrf}, "lock_reason": {"Autre raison"}}); code != http.StatusConflict || !strings.Contains(body, "déjà verrouillé") {
			t.Errorf("second lock: %d", code)
		}
		if _, clerkCase = getBody(t, clerk, caseURL); strings.Contains(clerkCase, "Autre raison") {
			t.Errorf("the second lock replaced the first")
		}

		// ZIP of the three documents: names cleaned and made unique, bytes intact.
		zipURL := caseURL + "/documents.zip?ids=" + ids[0] + "&ids=" + ids[1] + "&ids=" + ids[2]
		code, h, b := download(t, pierre, zipURL)
		if code != 200 || h.Get("Content-Disposition") != `attachment; filename="expertise-24-01234.zip"` || h.Get("Content-Type") != "application/zip" {
			t.Fatalf("zip: %d %v", code, h)
		}
		zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatalf("reading the zip: %v", err)
		}
		want := []string{"rapport.pdf", "notes.txt", "rapport (2).pdf"}
		if len(zr.File) != 3 {
			t.Fatalf("%d entries", len(zr.File))
		}
		for i, f := range zr.File {
			if f.Name != want[i] {
				t.Errorf("entry %d named %q, want %q", i, f.Name, want[i])
			}
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(rc)
			rc.Close()
			if err != nil || !bytes.Equal(got, contents[i]) {
				t.Errorf("entry %s: %q (%v)", f.Name, got, err)
			}
		}
		// The clerk's ZIP of the folder records its first openings.
		folder := regexp.MustCompile(`documents\.zip\?dossier=(\d+)`).FindStringSubmatch(clerkCase)
		if folder == nil {
			t.Fatalf("no folder ZIP link")
		}
		if code, _, b := download(t, clerk, caseURL+"/documents.zip?dossier="+folder[1]); code != 200 {
			t.Errorf("folder zip: %d", code)
		} else if zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b))); err != nil || len(zr.File) != 3 {
			t.Errorf("folder zip: %v", err)
		}
		_, page = getBody(t, pierre, contra)
		if row := readerRow(t, page, ids[1], "Julien Bernard"); !strings.Contains(row, "ouvert le ") {
			t.Errorf("the ZIP did not record the clerk's opening: %s", row)
		}

		// A document of another case in the list: 404 for the whole request.
		_, otherDeposit := caseInProgress(t, r, pierre, csrf, "24/09999")
		other := deposit(t, pierre, otherDeposit, "ailleurs.txt", []byte("ailleurs"))
		otherID := other[strings.LastIndexByte(other, '/')+1:]
		if code, _, b := download(t, pierre, caseURL+"/documents.zip?ids="+ids[0]+"&ids="+otherID); code != 404 || bytes.HasPrefix(b, []byte("PK")) {
			t.Errorf("zip with another case's document: %d", code)
		}
		if code, _, _ := download(t, anne, zipURL); code != 404 {
			t.Errorf("an outsider's zip: %d", code)
		}
	})
}
