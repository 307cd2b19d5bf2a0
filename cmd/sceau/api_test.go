package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// apiCall is one request to the JSON API and its answer.
type apiCall struct {
	status int
	header http.Header
	body   []byte
}

// problem decodes the answer as an RFC 9457 problem document, failing the
// test when it is not one.
func (a apiCall) problem(t *testing.T) map[string]any {
	t.Helper()
	if ct := a.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("status %d, Content-Type %q, want a problem document:\n%s", a.status, ct, a.body)
	}
	var p map[string]any
	if err := json.Unmarshal(a.body, &p); err != nil {
		t.Fatalf("problem document: %v\n%s", err, a.body)
	}
	for _, k := range []string{"type", "title", "title_en", "code"} {
		if s, _ := p[k].(string); s == "" {
			t.Errorf("problem without %s: %s", k, a.body)
		}
	}
	if int(p["status"].(float64)) != a.status {
		t.Errorf("problem status %v, response %d", p["status"], a.status)
	}
	return p
}

// wantProblem asserts the status and the problem code.
func (a apiCall) wantProblem(t *testing.T, status int, code string) map[string]any {
	t.Helper()
	if a.status != status {
		t.Errorf("status %d, want %d (%s):\n%s", a.status, status, code, a.body)
	}
	p := a.problem(t)
	if p["code"] != code {
		t.Errorf("problem code %v, want %s: %s", p["code"], code, a.body)
	}
	return p
}

// decode reads a JSON answer into v, failing unless the status is want.
func (a apiCall) decode(t *testing.T, want int, v any) {
	t.Helper()
	if a.status != want {
		t.Fatalf("status %d, want %d:\n%s", a.status, want, a.body)
	}
	if ct := a.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q", ct)
	}
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("decoding %s: %v", a.body, err)
	}
}

func callAPI(t *testing.T, c *http.Client, method, u string, body io.Reader, header ...string) apiCall {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading %s: %v", u, err)
	}
	if sc := resp.Header.Values("Set-Cookie"); len(sc) > 0 {
		t.Errorf("%s %s sets a cookie: %v", method, u, sc)
	}
	return apiCall{resp.StatusCode, resp.Header, b}
}

type apiListOf[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor"`
}

type apiDoc struct {
	ID       int64  `json:"id"`
	FolderID int64  `json:"folder_id"`
	FileName string `json:"file_name"`
	SHA256   string `json:"sha256"`
	Size     int64  `json:"size"`
	Unread   *bool  `json:"unread"`
	Lock     *struct {
		Reason string `json:"reason"`
	} `json:"lock"`
}

// apiCaseInProgress creates a case through the pages and opens it (en
// cours); it returns the case's id.
func apiCaseInProgress(t *testing.T, r *running, c *http.Client, csrf, rg string) string {
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
	return m[1]
}

// TestAPI: office software reaches the same cases, documents and rights
// as the pages through /api/v1 with the same client certificates: lists
// paginate, a deposit streams in and answers its receipt, a download
// records the first opening that the contradictoire status then shows;
// refusals (gate, account, rights, cross-site, bad input) are problem
// documents in French and English, never pages nor 500s.
func TestAPI(t *testing.T) {
	eachDatabase(t, func(t *testing.T, dir, cfgPath string) {
		setListeners(t)
		t.Setenv("SCEAU_SERVER_MAX_UPLOAD_BYTES", "4096")
		t.Setenv("SCEAU_SERVER_ACCOUNT_CACHE", "50ms") // a suspension from the CLI applies within that
		cfg, err := loadConfig(cfgPath)
		if err != nil {
			t.Fatal(err)
		}
		r := startServe(t, cfgPath)
		r.waitStatus("admin", "/readyz", 200)
		root := filepath.Join(dir, "ca", "root.crt")
		api := func(p string) string { return r.url("portal", "/api/v1"+p) }

		// The gate's and the accounts' refusals, as problems.
		anon := clientWith(t, root, nil)
		p := callAPI(t, anon, "GET", api("/cases"), nil).wantProblem(t, http.StatusForbidden, "no_certificate")
		if p["title"] != "Aucun certificat présenté" || p["title_en"] != "No client certificate" || p["type"] != "urn:sceau:problem:no_certificate" {
			t.Errorf("no-certificate problem: %v", p)
		}
		lawyerCert, _ := demoIdentity(t, dir, "avocat-marc-nguyen")
		lawyer := clientWith(t, root, lawyerCert)
		callAPI(t, lawyer, "GET", api("/me"), nil).wantProblem(t, http.StatusForbidden, "registration-needed")
		// The description is served without a certificate.
		if c := callAPI(t, anon, "GET", api("/openapi.json"), nil); c.status != 200 || !bytes.Contains(c.body, []byte(`"openapi"`)) {
			t.Errorf("openapi.json: %d", c.status)
		}

		pierre := registerExpert(t, r, dir, "expert-pierre-durand", "Pierre Durand", "pierre.durand@experts.test")
		registerClerk(t, r, dir)
		clerkCert, _ := demoIdentity(t, dir, "greffier-julien-bernard")
		// Fresh clients: no session cookie from the registration.
		pierreCert, _ := demoIdentity(t, dir, "expert-pierre-durand")
		pierreAPI := clientWith(t, root, pierreCert)
		clerkAPI := clientWith(t, root, clerkCert)

		var me struct {
			Role        string                  `json:"role"`
			DisplayName string                  `json:"display_name"`
			Certificate struct{ Serial string } `json:"certificate"`
		}
		callAPI(t, pierreAPI, "GET", api("/me"), nil).decode(t, 200, &me)
		if me.Role != "expert" || me.DisplayName != "Pierre Durand" || me.Certificate.Serial == "" {
			t.Errorf("me: %+v", me)
		}

		_, form := getBody(t, pierre, r.url("portal", "/affaires/nouvelle"))
		csrf := csrfRe.FindStringSubmatch(form)[1]
		caseID := apiCaseInProgress(t, r, pierre, csrf, "24/07001")
		apiCaseInProgress(t, r, pierre, csrf, "24/07002")
		apiCaseInProgress(t, r, pierre, csrf, "24/07003")
		if code, _ := postForm(t, pierre, r.url("portal", "/affaires/"+caseID+"/participants"), url.Values{"csrf": {csrf}, "role": {"clerk"}, "email": {"julien.bernard@justice.test"}}); code != 200 {
			t.Fatalf("adding the clerk: %d", code)
		}
		if code, _ := postForm(t, pierre, r.url("portal", "/affaires/"+caseID+"/parties"), url.Values{"csrf": {csrf},
			"party_name": {"Hélène Dupré-Lefèvre"}, "deposit_mode": {"expert"}}); code != 200 {
			t.Fatalf("adding a party: %d", code)
		}

		// Cases, two by two: every case once, then no cursor.
		type apiCase struct {
			ID       int64  `json:"id"`
			RG       string `json:"rg_number"`
			State    string `json:"state"`
			IsOwner  bool   `json:"is_owner"`
			Ordonnan string `json:"ordonnance_date"`
		}
		var seen []string
		next := api("/cases?limit=2")
		for pages := 0; next != ""; pages++ {
			if pages > 3 {
				t.Fatal("the cursor never ends")
			}
			var page apiListOf[apiCase]
			callAPI(t, pierreAPI, "GET", next, nil).decode(t, 200, &page)
			if len(page.Items) > 2 {
				t.Errorf("limit 2, got %d", len(page.Items))
			}
			for _, c := range page.Items {
				seen = append(seen, c.RG)
			}
			next = ""
			if page.NextCursor != "" {
				next = api("/cases?limit=2&cursor=" + url.QueryEscape(page.NextCursor))
			}
		}
		if strings.Join(seen, " ") != "24/07001 24/07002 24/07003" {
			t.Errorf("cases walked: %v", seen)
		}
		var theCase apiCase
		callAPI(t, pierreAPI, "GET", api("/cases/"+caseID), nil).decode(t, 200, &theCase)
		if theCase.State != "in_progress" || !theCase.IsOwner || theCase.Ordonnan != "2026-10-15" {
			t.Errorf("case: %+v", theCase)
		}
		var clerkCases apiListOf[apiCase]
		callAPI(t, clerkAPI, "GET", api("/cases"), nil).decode(t, 200, &clerkCases)
		if len(clerkCases.Items) != 1 || clerkCases.Items[0].IsOwner {
			t.Errorf("the clerk's cases: %+v", clerkCases)
		}
		callAPI(t, pierreAPI, "GET", api("/cases?limit=0"), nil).wantProblem(t, 400, "invalid-limit")
		callAPI(t, pierreAPI, "GET", api("/cases?cursor=nope"), nil).wantProblem(t, 400, "invalid-cursor")

		// Parties and participants.
		var parties apiListOf[struct {
			Name        string `json:"name"`
			DepositMode string `json:"deposit_mode"`
		}]
		callAPI(t, clerkAPI, "GET", api("/cases/"+caseID+"/parties"), nil).decode(t, 200, &parties)
		if len(parties.Items) != 1 || parties.Items[0].Name != "Hélène Dupré-Lefèvre" || parties.Items[0].DepositMode != "expert" {
			t.Errorf("parties: %s", callAPI(t, clerkAPI, "GET", api("/cases/"+caseID+"/parties"), nil).body)
		}
		var people apiListOf[struct {
			DisplayName string `json:"display_name"`
			Role        string `json:"role"`
			Active      bool   `json:"active"`
		}]
		callAPI(t, clerkAPI, "GET", api("/cases/"+caseID+"/participants?limit=1"), nil).decode(t, 200, &people)
		if len(people.Items) != 1 || people.NextCursor == "" {
			t.Fatalf("participants, first page: %+v", people)
		}
		first, cursor := people.Items[0], people.NextCursor
		people.Items, people.NextCursor = nil, "" // decoding keeps absent fields
		callAPI(t, clerkAPI, "GET", api("/cases/"+caseID+"/participants?cursor="+cursor), nil).decode(t, 200, &people)
		if len(people.Items) != 1 || people.NextCursor != "" {
			t.Fatalf("participants, second page: %+v", people)
		}
		if first.DisplayName != "Pierre Durand" || people.Items[0].DisplayName != "Julien Bernard" || people.Items[0].Role != "clerk" || !people.Items[0].Active {
			t.Errorf("participants: %+v then %+v", first, people.Items[0])
		}

		// Folders: where each may deposit.
		type apiFolder struct {
			ID         int64  `json:"id"`
			Name       string `json:"name"`
			CanDeposit bool   `json:"can_deposit"`
		}
		folderOf := func(c *http.Client, name string) apiFolder {
			var fs apiListOf[apiFolder]
			callAPI(t, c, "GET", api("/cases/"+caseID+"/folders"), nil).decode(t, 200, &fs)
			for _, f := range fs.Items {
				if f.Name == name {
					return f
				}
			}
			t.Fatalf("no folder %s in %+v", name, fs.Items)
			return apiFolder{}
		}
		designation := folderOf(pierreAPI, "Désignation")
		if !designation.CanDeposit {
			t.Errorf("the expert may not deposit into Désignation: %+v", designation)
		}
		if f := folderOf(clerkAPI, "Désignation"); f.CanDeposit {
			t.Errorf("the clerk may deposit into Désignation")
		}

		// A streamed deposit answers its receipt.
		depositAt := api("/cases/" + caseID + "/folders/" + strconv.FormatInt(designation.ID, 10) + "/documents")
		content := []byte("%PDF-1.7 rapport d’expertise")
		sum := sha256.Sum256(content)
		c := callAPI(t, pierreAPI, "POST", depositAt+"?kind=piece&name="+url.QueryEscape("../rapport été.pdf"), bytes.NewReader(content),
			"Content-Type", "application/octet-stream")
		var receipt struct {
			DocumentID int64  `json:"document_id"`
			FileName   string `json:"file_name"`
			Size       int64  `json:"size"`
			SHA256     string `json:"sha256"`
			FolderName string `json:"folder_name"`
			Depositor  struct{ Name, Role string }
			Cert       struct{ Serial string } `json:"certificate"`
		}
		c.decode(t, http.StatusCreated, &receipt)
		docID := strconv.FormatInt(receipt.DocumentID, 10)
		if receipt.FileName != "rapport été.pdf" || receipt.Size != int64(len(content)) || receipt.SHA256 != hex.EncodeToString(sum[:]) ||
			receipt.FolderName != "Désignation" || receipt.Depositor.Name != "Pierre Durand" || receipt.Cert.Serial != me.Certificate.Serial {
			t.Errorf("receipt: %s", c.body)
		}
		if loc := c.header.Get("Location"); loc != "/api/v1/cases/"+caseID+"/documents/"+docID {
			t.Errorf("Location %q", loc)
		}
		blobsBefore := committedBlobs(t, cfg.Storage.Path)

		// Refused deposits leave nothing.
		// Too large: said at once from the Content-Length, or found while
		// streaming a body of unknown length.
		big := bytes.Repeat([]byte("x"), 5000)
		callAPI(t, pierreAPI, "POST", depositAt+"?kind=piece&name=gros.bin", bytes.NewReader(big),
			"Content-Type", "application/octet-stream").wantProblem(t, http.StatusRequestEntityTooLarge, "payload-too-large")
		callAPI(t, pierreAPI, "POST", depositAt+"?kind=piece&name=gros.bin", io.MultiReader(bytes.NewReader(big)),
			"Content-Type", "application/octet-stream").wantProblem(t, http.StatusRequestEntityTooLarge, "file-too-large")
		callAPI(t, pierreAPI, "POST", depositAt+"?kind=piece&name=a.txt", strings.NewReader("texte"),
			"Content-Type", "text/plain").wantProblem(t, http.StatusUnsupportedMediaType, "unsupported-media-type")
		p = callAPI(t, pierreAPI, "POST", depositAt+"?kind=roman&name=a.txt", strings.NewReader("texte"),
			"Content-Type", "application/octet-stream").wantProblem(t, http.StatusUnprocessableEntity, "validation")
		if errs, _ := p["errors"].([]any); len(errs) != 1 {
			t.Errorf("validation errors: %v", p)
		}
		callAPI(t, clerkAPI, "POST", depositAt+"?kind=piece&name=a.txt", strings.NewReader("texte"),
			"Content-Type", "application/octet-stream").wantProblem(t, http.StatusForbidden, "deposit-forbidden")
		if n := committedBlobs(t, cfg.Storage.Path); n != blobsBefore {
			t.Errorf("%d committed blobs after refused deposits, want %d", n, blobsBefore)
		}

		// The clerk sees it unread, downloads it, then it is read; the
		// owner's contradictoire status shows the opening.
		var docs apiListOf[apiDoc]
		callAPI(t, clerkAPI, "GET", api("/cases/"+caseID+"/documents"), nil).decode(t, 200, &docs)
		if len(docs.Items) != 1 || docs.Items[0].ID != receipt.DocumentID || docs.Items[0].Unread == nil || !*docs.Items[0].Unread {
			t.Fatalf("documents before the download: %+v", docs)
		}
		c = callAPI(t, clerkAPI, "GET", api("/cases/"+caseID+"/documents/"+docID+"/content"), nil)
		if c.status != 200 || !bytes.Equal(c.body, content) || c.header.Get("Content-Type") != "application/octet-stream" ||
			!strings.HasPrefix(c.header.Get("Content-Disposition"), "attachment;") {
			t.Errorf("download: %d %v", c.status, c.header)
		}
		var doc apiDoc
		callAPI(t, clerkAPI, "GET", api("/cases/"+caseID+"/documents/"+docID), nil).decode(t, 200, &doc)
		if doc.Unread == nil || *doc.Unread || doc.SHA256 != receipt.SHA256 {
			t.Errorf("document after the download: %+v", doc)
		}
		callAPI(t, clerkAPI, "GET", api("/cases/"+caseID+"/documents/"+docID+"/copy"), nil).wantProblem(t, 404, "not-found")
		var clerkReceipt struct {
			SHA256 string `json:"sha256"`
		}
		callAPI(t, clerkAPI, "GET", api("/cases/"+caseID+"/documents/"+docID+"/receipt"), nil).decode(t, 200, &clerkReceipt)
		if clerkReceipt.SHA256 != receipt.SHA256 {
			t.Errorf("the clerk's receipt: %+v", clerkReceipt)
		}
		var contra apiListOf[struct {
			Document apiDoc `json:"document"`
			Opened   int    `json:"opened"`
			Total    int    `json:"total"`
			Readers  []struct {
				Name          string  `json:"name"`
				FirstOpenedAt *string `json:"first_opened_at"`
			} `json:"readers"`
		}]
		callAPI(t, pierreAPI, "GET", api("/cases/"+caseID+"/contradictoire"), nil).decode(t, 200, &contra)
		if len(contra.Items) != 1 || contra.Items[0].Opened != 1 || contra.Items[0].Total != 2 {
			t.Fatalf("contradictoire: %+v", contra)
		}
		for _, rd := range contra.Items[0].Readers {
			if opened := rd.FirstOpenedAt != nil; opened != (rd.Name == "Julien Bernard") {
				t.Errorf("contradictoire reader %s opened %v", rd.Name, rd.FirstOpenedAt)
			}
		}
		callAPI(t, clerkAPI, "GET", api("/cases/"+caseID+"/contradictoire"), nil).wantProblem(t, http.StatusForbidden, "forbidden")

		// Someone outside the case: 404, as for no case at all.
		anneCert, _ := demoIdentity(t, dir, "experte-anne-moreau")
		registerExpert(t, r, dir, "experte-anne-moreau", "Anne Moreau", "anne.moreau@experts.test")
		anne := clientWith(t, root, anneCert)
		for _, path := range []string{"", "/folders", "/participants", "/documents", "/documents/" + docID + "/content", "/documents/" + docID + "/receipt", "/contradictoire"} {
			callAPI(t, anne, "GET", api("/cases/"+caseID+path), nil).wantProblem(t, http.StatusNotFound, "not-found")
		}

		// Locking: bad bodies are problems, then the lock holds once.
		lock := api("/cases/" + caseID + "/documents/" + docID + "/lock")
		js := "application/json"
		callAPI(t, pierreAPI, "POST", lock, strings.NewReader(`{"reason": "pièce`), "Content-Type", js).wantProblem(t, 400, "invalid-json")
		callAPI(t, pierreAPI, "POST", lock, strings.NewReader(`{"reason":"x","motif":"y"}`), "Content-Type", js).wantProblem(t, 400, "invalid-json")
		callAPI(t, pierreAPI, "POST", lock, strings.NewReader(`{"reason":42}`), "Content-Type", js).wantProblem(t, 400, "invalid-json")
		callAPI(t, pierreAPI, "POST", lock, strings.NewReader(`{"reason":"x"} {}`), "Content-Type", js).wantProblem(t, 400, "invalid-json")
		callAPI(t, pierreAPI, "POST", lock, strings.NewReader(`{"reason":"x"}`), "Content-Type", "text/plain").wantProblem(t, 415, "unsupported-media-type")
		callAPI(t, pierreAPI, "POST", lock, nil, "Content-Type", js).wantProblem(t, 400, "invalid-json")
		callAPI(t, pierreAPI, "POST", lock, strings.NewReader(`{"reason":"`+strings.Repeat("a", 200<<10)+`"}`), "Content-Type", js).wantProblem(t, 413, "payload-too-large")
		callAPI(t, pierreAPI, "POST", lock, strings.NewReader(`{"reason":"`+strings.Repeat("a", 2<<20)+`"}`), "Content-Type", js).wantProblem(t, 413, "payload-too-large")
		callAPI(t, pierreAPI, "POST", lock, strings.NewReader(`{"reason":"  "}`), "Content-Type", js).wantProblem(t, 422, "validation")
		callAPI(t, clerkAPI, "POST", lock, strings.NewReader(`{"reason":"non"}`), "Content-Type", js).wantProblem(t, http.StatusForbidden, "forbidden")
		callAPI(t, pierreAPI, "POST", lock, strings.NewReader(`{"reason":"Pièce produite hors délai"}`), "Content-Type", js).decode(t, 200, &doc)
		if doc.Lock == nil || doc.Lock.Reason != "Pièce produite hors délai" {
			t.Errorf("locked document: %+v", doc)
		}
		callAPI(t, pierreAPI, "POST", lock, strings.NewReader(`{"reason":"encore"}`), "Content-Type", js).wantProblem(t, 409, "already-locked")

		// What the API did is in the case's audit trail like what the pages
		// do: the deposit with the expert's certificate, the clerk's
		// download and receipt view, the case views, the lock.
		code, _, csvBody := download(t, pierre, r.url("portal", "/affaires/"+caseID+"/journal.csv"))
		if code != 200 {
			t.Fatalf("journal export: %d", code)
		}
		rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(csvBody, []byte("\uFEFF")))).ReadAll()
		if err != nil || len(rows) < 2 {
			t.Fatalf("journal CSV: %v\n%s", err, csvBody)
		}
		did := map[string]bool{}
		for _, row := range rows[1:] {
			did[row[3]+" "+row[6]] = true
		}
		for _, want := range []string{"document.deposit Pierre Durand", "document.download Julien Bernard", "document.view Julien Bernard",
			"case.view Pierre Durand", "case.view Julien Bernard", "document.lock Pierre Durand"} {
			if !did[want] {
				t.Errorf("the journal lacks %q: %v", want, did)
			}
		}

		// The clerk signed in once on the pages, then made many API calls
		// without a cookie: one more login, not one per call.
		db, _ := auditDB(t, cfgPath)
		var logins int
		if err := db.QueryRow(`SELECT count(*) FROM logins WHERE account_id = (SELECT id FROM accounts WHERE email = 'julien.bernard@justice.test')`).Scan(&logins); err != nil {
			t.Fatal(err)
		}
		if logins != 2 {
			t.Errorf("the clerk has %d logins, want 2 (the pages' session, then the API's)", logins)
		}

		// Cross-site requests from a browser are refused, before anything.
		callAPI(t, pierreAPI, "GET", api("/cases"), nil, "Sec-Fetch-Site", "cross-site").wantProblem(t, 403, "cross-site")
		callAPI(t, pierreAPI, "POST", lock, strings.NewReader(`{"reason":"x"}`), "Content-Type", js, "Origin", "https://evil.example").wantProblem(t, 403, "cross-site")
		callAPI(t, pierreAPI, "GET", api("/cases"), nil, "Cookie", "sceau_session=abc").wantProblem(t, 403, "cross-site")
		if c := callAPI(t, pierreAPI, "GET", api("/cases"), nil, "Cookie", "sceau_session=abc", "X-Sceau-API", "1", "Sec-Fetch-Site", "same-origin"); c.status != 200 {
			t.Errorf("a portal page's own call: %d %s", c.status, c.body)
		}

		// A suspended account: the reason, in a problem.
		out, _, err := execute(t, "account", "list", "--config", cfgPath)
		if err != nil {
			t.Fatalf("account list: %v", err)
		}
		var anneID string
		for _, line := range strings.Split(out, "\n") {
			if strings.Contains(line, "Anne Moreau") {
				anneID = strings.Fields(line)[0]
			}
		}
		if out, _, err := execute(t, "account", "suspend", anneID, "--reason", "Radiée de la liste des experts", "--config", cfgPath); err != nil {
			t.Fatalf("suspend: %v %s", err, out)
		}
		r.waitFor("the suspension to apply", func() (bool, string) {
			c := callAPI(t, anne, "GET", api("/me"), nil)
			return c.status == 403 && bytes.Contains(c.body, []byte("Radiée de la liste des experts")), string(c.body)
		})
		callAPI(t, anne, "GET", api("/me"), nil).wantProblem(t, http.StatusForbidden, "account-suspended")

		// The router's own refusals.
		callAPI(t, pierreAPI, "GET", api("/nope"), nil).wantProblem(t, 404, "not-found")
		callAPI(t, pierreAPI, "DELETE", api("/cases"), nil).wantProblem(t, 405, "method-not-allowed")
		callAPI(t, pierreAPI, "GET", api("/cases/99999999999999999999"), nil).wantProblem(t, 404, "not-found")
	})
}
