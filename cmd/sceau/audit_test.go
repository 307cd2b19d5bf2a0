package main

import (
	"bytes"
	"database/sql"
	"encoding/csv"
	"errors"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
)

// auditDB opens the configured database directly, as someone with access
// to it (not through Sceau) would.
func auditDB(t *testing.T, cfgPath string) (*sql.DB, string) {
	t.Helper()
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	o := storeOptions(cfg)
	driver := "sqlite"
	if o.Driver == "postgres" {
		driver = "pgx"
	}
	db, err := sql.Open(driver, o.DSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, o.Driver
}

// TestAuditTrailThroughThePortal: actions done through the portal with
// real certificates show in the case's journal, to the owner and the
// clerk but not to an expert of another case; the owner exports it as
// CSV; refusals at the gate are recorded; `sceau audit verify` accepts the
// chain, then names the entry changed behind Sceau's back and exits 2.
func TestAuditTrailThroughThePortal(t *testing.T) {
	eachDatabase(t, func(t *testing.T, dir, cfgPath string) {
		setListeners(t)
		r := startServe(t, cfgPath)
		r.waitStatus("admin", "/readyz", 200)
		root := filepath.Join(dir, "ca", "root.crt")
		pierre := registerExpert(t, r, dir, "expert-pierre-durand", "Pierre Durand", "pierre.durand@experts.test")
		clerkCert, _ := demoIdentity(t, dir, "greffier-julien-bernard")
		clerk := clientWith(t, root, clerkCert)
		clerk.Jar, _ = cookiejar.New(nil) // one session: a single login recorded
		_, form := getBody(t, clerk, r.url("portal", "/inscription"))
		if code, _ := postForm(t, clerk, r.url("portal", "/inscription"), url.Values{"csrf": {csrfRe.FindStringSubmatch(form)[1]},
			"role": {"clerk"}, "display_name": {"Julien Bernard"}, "email": {"julien.bernard@justice.test"},
			"court": {"Tribunal judiciaire de Rennes"}, "terms": {"2026-11"}}); code != 200 {
			t.Fatalf("clerk registration: %d", code)
		}
		_, form = getBody(t, pierre, r.url("portal", "/affaires/nouvelle"))
		csrf := csrfRe.FindStringSubmatch(form)[1]
		caseID, depositURL := caseInProgress(t, r, pierre, csrf, "24/04321")
		caseURL := r.url("portal", "/affaires/"+caseID)
		if code, _ := postForm(t, pierre, caseURL+"/participants", url.Values{"csrf": {csrf}, "role": {"clerk"}, "email": {"julien.bernard@justice.test"}}); code != 200 {
			t.Fatalf("adding the clerk: %d", code)
		}
		doc := deposit(t, pierre, depositURL, "=rapport-d’étape.pdf", []byte("%PDF-1.7 étape"))
		docID := doc[strings.LastIndexByte(doc, '/')+1:]
		if code, _, _ := download(t, clerk, r.url("portal", doc)); code != 200 {
			t.Fatalf("clerk download: %d", code)
		}
		if code, _, _ := download(t, pierre, caseURL+"/documents.zip?ids="+docID); code != 200 {
			t.Fatalf("zip: %d", code)
		}
		if code, _ := postForm(t, pierre, caseURL+"/documents/"+docID+"/verrouiller", url.Values{"csrf": {csrf}, "lock_reason": {"version définitive"}}); code != 200 {
			t.Fatalf("lock: %d", code)
		}
		anne := registerExpert(t, r, dir, "experte-anne-moreau", "Anne Moreau", "anne.moreau@experts.test")
		_, form = getBody(t, anne, r.url("portal", "/affaires/nouvelle"))
		caseInProgress(t, r, anne, csrfRe.FindStringSubmatch(form)[1], "24/09999")
		// No certificate: refused at the gate, and recorded.
		if code, _ := getBody(t, clientWith(t, root, nil), r.url("portal", "/")); code != http.StatusForbidden {
			t.Errorf("without a certificate: %d", code)
		}

		// The owner and the clerk see the Journal link and the journal.
		_, page := getBody(t, pierre, caseURL)
		if !strings.Contains(page, `href="/affaires/`+caseID+`/journal"`) || !strings.Contains(page, `/journal.csv"`) {
			t.Errorf("no journal links for the owner")
		}
		_, page = getBody(t, clerk, caseURL)
		if !strings.Contains(page, `href="/affaires/`+caseID+`/journal"`) || strings.Contains(page, "/journal.csv") {
			t.Errorf("the clerk's journal links are wrong")
		}
		code, journal := getBody(t, pierre, caseURL+"/journal")
		if code != 200 {
			t.Fatalf("journal: %d\n%s", code, journal)
		}
		for _, want := range []string{"Création de l’expertise", "Changement d’état", "Ajout d’un participant", "Dépôt",
			"Téléchargement groupé (ZIP)", "Verrouillage", "version définitive", "Consultation de l’expertise", "Julien Bernard", "Pierre Durand"} {
			if !strings.Contains(journal, want) {
				t.Errorf("the journal lacks %q", want)
			}
		}
		if strings.Contains(journal, "24/09999") {
			t.Errorf("the journal shows another case")
		}
		if code, page := getBody(t, clerk, caseURL+"/journal"); code != 200 || !strings.Contains(page, "Téléchargement") {
			t.Errorf("the clerk's journal: %d", code)
		}
		if code, _ := getBody(t, clerk, caseURL+"/journal.csv"); code != http.StatusForbidden {
			t.Errorf("the clerk exports: %d", code)
		}
		for _, p := range []string{"/journal", "/journal.csv"} {
			if code, _ := getBody(t, anne, caseURL+p); code != http.StatusNotFound {
				t.Errorf("an expert of another case on %s: %d", p, code)
			}
		}

		// The owner's CSV export: every entry of the case, with its hashes.
		code, hdr, body := download(t, pierre, caseURL+"/journal.csv")
		if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/csv") || !strings.Contains(hdr.Get("Content-Disposition"), "attachment") {
			t.Fatalf("export: %d %v", code, hdr)
		}
		rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(body, []byte("\uFEFF")))).ReadAll()
		if err != nil {
			t.Fatalf("CSV: %v\n%s", err, body)
		}
		var actions []string
		for _, row := range rows[1:] {
			actions = append(actions, row[3])
			if row[3] == "document.deposit" && (!strings.Contains(row[12], "=rapport-d’étape.pdf") || row[6] != "Pierre Durand" || row[8] == "") {
				t.Errorf("deposit row: %v", row)
			}
			if len(row[13]) != 64 || len(row[14]) != 64 || row[9] == "" {
				t.Errorf("row without hashes or IP: %v", row)
			}
		}
		got := strings.Join(actions, " ")
		for _, want := range []string{"case.create", "case.state", "participant.add", "document.deposit", "document.view",
			"document.download", "document.zip", "document.lock", "journal.view"} {
			if !strings.Contains(got, want) {
				t.Errorf("the export lacks %s: %s", want, got)
			}
		}
		if strings.Contains(string(body), csrf) {
			t.Errorf("a form token in the trail")
		}

		db, driver := auditDB(t, cfgPath)
		var refusals int
		if err := db.QueryRow(`SELECT count(*) FROM audit_entries WHERE action = 'gate.refusal'`).Scan(&refusals); err != nil || refusals == 0 {
			t.Errorf("refusals recorded: %d, %v", refusals, err)
		}

		// The command line is recorded too, under the system user's name.
		var anneID int64
		if err := db.QueryRow(`SELECT id FROM accounts WHERE display_name = 'Anne Moreau'`).Scan(&anneID); err != nil {
			t.Fatal(err)
		}
		if out, stderr, err := execute(t, "account", "suspend", fmt.Sprint(anneID), "--reason", "test du journal", "--config", cfgPath); err != nil {
			t.Fatalf("suspend: %v\n%s%s", err, out, stderr)
		}
		var who, detail string
		if err := db.QueryRow(`SELECT request_id, detail FROM audit_entries WHERE action = 'account.suspend'`).Scan(&who, &detail); err != nil ||
			!strings.HasPrefix(who, "cli") || detail != "test du journal" {
			t.Errorf("suspension entry: %q %q %v", who, detail, err)
		}

		// verify accepts the chain as Sceau wrote it…
		out, stderr, err := execute(t, "audit", "verify", "--config", cfgPath)
		if err != nil || !strings.HasPrefix(out, "OK: ") {
			t.Fatalf("verify: %v\n%s%s", err, out, stderr)
		}
		// …and names the entry changed behind its back.
		var seq int64
		if err := db.QueryRow(`SELECT seq FROM audit_entries WHERE action = 'document.lock'`).Scan(&seq); err != nil {
			t.Fatal(err)
		}
		drop := `DROP TRIGGER audit_entries_no_update`
		if driver == "postgres" {
			drop += ` ON audit_entries`
		}
		if _, err := db.Exec(drop); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(fmt.Sprintf(`UPDATE audit_entries SET detail = 'rien' WHERE seq = %d`, seq)); err != nil {
			t.Fatal(err)
		}
		out, _, err = execute(t, "audit", "verify", "--config", cfgPath)
		var ee *exitError
		if !errors.As(err, &ee) || ee.code != 2 || !strings.Contains(out, "BROKEN: audit entry "+itoa(int(seq))+" ") || !strings.Contains(out, "changed") {
			t.Errorf("verify after tampering: %v\n%s", err, out)
		}

		// When the trail cannot be written, nothing is served or recorded.
		if _, err := db.Exec(`ALTER TABLE audit_head RENAME TO audit_head_away`); err != nil {
			t.Fatal(err)
		}
		var before, after int
		db.QueryRow(`SELECT count(*) FROM documents`).Scan(&before)
		// The clerk's session exists: the download itself is refused.
		if code, _, body := download(t, clerk, r.url("portal", doc)); code != http.StatusServiceUnavailable || bytes.Contains(body, []byte("%PDF")) {
			t.Errorf("download without its audit entry: %d", code)
		}
		if code, _ := getBody(t, clerk, caseURL); code != http.StatusServiceUnavailable {
			t.Errorf("case page without its audit entry: %d", code)
		}
		// A new session cannot even begin: its login is not recorded.
		if code, _ := getBody(t, clientWith(t, root, clerkCert), caseURL); code != http.StatusServiceUnavailable {
			t.Errorf("login without its audit entry: %d", code)
		}
		if code, _, _ := upload(t, pierre, depositURL, "piece", "sans-trace.pdf", []byte("%PDF-1.7")); code == 200 {
			t.Errorf("deposit without its audit entry: %d", code)
		}
		db.QueryRow(`SELECT count(*) FROM documents`).Scan(&after)
		if after != before {
			t.Errorf("%d documents, then %d", before, after)
		}
		if _, err := db.Exec(`ALTER TABLE audit_head_away RENAME TO audit_head`); err != nil {
			t.Fatal(err)
		}
	})
}
