package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// upload posts one file as the deposit form does and follows the redirect.
func upload(t *testing.T, c *http.Client, u, kind, name string, content []byte) (int, string, *url.URL) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if err := mw.WriteField("kind", kind); err != nil {
		t.Fatal(err)
	}
	fw, err := mw.CreateFormFile("file", name)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = fw.Write(content)
	_ = mw.Close()
	req, err := http.NewRequest(http.MethodPost, u, &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Request.URL
}

// committedBlobs counts the published blobs of the storage folder (the
// temporary ones under tmp/ are Sweep's).
func committedBlobs(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "tmp" {
			return filepath.SkipDir
		}
		if !d.IsDir() && regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(d.Name()) {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

var depositFormRe = regexp.MustCompile(`action="([^"]+)" enctype="multipart/form-data" class="deposit">[\s\S]*?Déposer dans « ([^»]+) »`)

// TestDepositAndDownload: the expert deposits a file with a hostile name
// and HTML content; the receipt shows the cleaned name, size and SHA-256;
// the case page marks it new until it is downloaded, as an attachment that
// never renders; a file over the limit, a deposit without the token and a
// deposit while the case is paused are refused and leave nothing; another
// expert cannot download it.
func TestDepositAndDownload(t *testing.T) {
	eachDatabase(t, func(t *testing.T, dir, cfgPath string) {
		setListeners(t)
		t.Setenv("SCEAU_SERVER_MAX_UPLOAD_BYTES", "1024")
		cfg, err := loadConfig(cfgPath)
		if err != nil {
			t.Fatal(err)
		}
		storage := cfg.Storage.Path
		r := startServe(t, cfgPath)
		r.waitStatus("admin", "/readyz", 200)
		pierre := registerExpert(t, r, dir, "expert-pierre-durand", "Pierre Durand", "pierre.durand@experts.test")
		_, form := getBody(t, pierre, r.url("portal", "/affaires/nouvelle"))
		csrf := csrfRe.FindStringSubmatch(form)[1]
		_, body := postForm(t, pierre, r.url("portal", "/affaires"), url.Values{"csrf": {csrf}, "first_applicant": {"Hélène Dupré-Lefèvre"},
			"first_defendant": {"SCI Les Tilleuls"}, "jurisdiction": {"TJ Rennes"}, "rg_number": {"24/01234"}, "ordonnance_date": {"2026-10-15"}})
		m := regexp.MustCompile(`/affaires/(\d+)/participants`).FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no case page:\n%s", body)
		}
		caseID := m[1]
		casePage := r.url("portal", "/affaires/"+caseID)
		if depositFormRe.MatchString(body) {
			t.Errorf("a deposit form while the case is en création")
		}
		stateURL := r.url("portal", "/affaires/"+caseID+"/etat")
		if code, _ := postForm(t, pierre, stateURL, url.Values{"csrf": {csrf}, "from": {"creation"}, "to": {"in_progress"}, "confirm": {"1"}}); code != 200 {
			t.Fatalf("moving the case on: %d", code)
		}
		if code, _ := postForm(t, pierre, r.url("portal", "/affaires/"+caseID+"/parties"), url.Values{"csrf": {csrf},
			"party_name": {"Hélène Dupré-Lefèvre"}, "deposit_mode": {"expert"}}); code != 200 {
			t.Fatalf("adding a party: %d", code)
		}
		_, body = getBody(t, pierre, casePage)
		var action string
		for _, f := range depositFormRe.FindAllStringSubmatch(body, -1) {
			if f[2] == "Désignation" {
				action = strings.ReplaceAll(f[1], "&amp;", "&")
			}
		}
		if action == "" {
			t.Fatalf("no deposit form for Désignation:\n%s", body)
		}
		depositURL := r.url("portal", action)
		content := []byte("<script>alert(1)</script>")
		sum := sha256.Sum256(content)

		// Without the token in the URL: refused, nothing read.
		noToken, _, _ := strings.Cut(depositURL, "?")
		if code, _, _ := upload(t, pierre, noToken, "ordonnance", "a.pdf", content); code != http.StatusForbidden {
			t.Errorf("deposit without the CSRF token: %d", code)
		}

		code, body, at := upload(t, pierre, depositURL, "ordonnance", "../../évaluation <script>.html", content)
		if code != 200 || !strings.HasSuffix(at.Path, "/recepisse") {
			t.Fatalf("deposit: %d at %s\n%s", code, at, body)
		}
		for _, want := range []string{"évaluation &lt;script&gt;.html", hex.EncodeToString(sum[:]), strconv.Itoa(len(content)) + " octets",
			"Pierre Durand", "Désignation", "heure de Paris", "Ordonnance"} {
			if !strings.Contains(body, want) {
				t.Errorf("receipt lacks %q:\n%s", want, body)
			}
		}
		if strings.Contains(body, "../") || strings.Contains(body, "<script>") {
			t.Errorf("receipt shows the raw name or content")
		}
		docURL := strings.TrimSuffix(at.Path, "/recepisse")
		// The receipt also downloads as a text file to keep.
		if code, txt := getBody(t, pierre, r.url("portal", docURL+"/recepisse.txt")); code != 200 ||
			!strings.Contains(txt, "RÉCÉPISSÉ DE DÉPÔT") || !strings.Contains(txt, hex.EncodeToString(sum[:])) {
			t.Errorf("receipt file: %d\n%s", code, txt)
		}

		_, body = getBody(t, pierre, casePage)
		if !strings.Contains(body, "évaluation &lt;script&gt;.html") || !strings.Contains(body, `class="badge new">nouveau`) {
			t.Errorf("case page does not list the new document:\n%s", body)
		}

		resp, err := pierre.Get(r.url("portal", docURL))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !bytes.Equal(got, content) {
			t.Fatalf("download: %d %q", resp.StatusCode, got)
		}
		h := resp.Header
		if h.Get("Content-Type") != "application/octet-stream" || h.Get("X-Content-Type-Options") != "nosniff" ||
			!strings.HasPrefix(h.Get("Content-Disposition"), "attachment;") ||
			!strings.Contains(h.Get("Content-Disposition"), "filename*=UTF-8''%C3%A9valuation%20%3Cscript%3E.html") ||
			!strings.HasPrefix(h.Get("Content-Security-Policy"), "sandbox") || h.Get("Content-Length") != strconv.Itoa(len(content)) {
			t.Errorf("download headers: %v", h)
		}
		_, body = getBody(t, pierre, casePage)
		if strings.Contains(body, `class="badge new">nouveau`) || !strings.Contains(body, "évaluation &lt;script&gt;.html") {
			t.Errorf("still marked new after the download:\n%s", body)
		}

		// Over the per-file limit: 413, nothing listed, nothing published.
		code, body, _ = upload(t, pierre, depositURL, "piece", "gros.bin", bytes.Repeat([]byte("x"), 5000))
		if code != http.StatusRequestEntityTooLarge || !strings.Contains(body, "Fichier trop volumineux") {
			t.Errorf("too large: %d\n%s", code, body)
		}
		_, body = getBody(t, pierre, casePage)
		if strings.Contains(body, "gros.bin") {
			t.Errorf("the refused file is listed")
		}
		if n := committedBlobs(t, storage); n != 1 {
			t.Errorf("%d committed blobs, want 1", n)
		}

		// A client that stops sending mid-file: no document, no blob left,
		// not even a temporary one.
		pr, pw := io.Pipe()
		mw := multipart.NewWriter(pw)
		go func() {
			_ = mw.WriteField("kind", "piece")
			fw, _ := mw.CreateFormFile("file", "coupe.bin")
			_, _ = fw.Write(bytes.Repeat([]byte("y"), 600))
			pw.CloseWithError(io.ErrUnexpectedEOF)
		}()
		req, _ := http.NewRequest(http.MethodPost, depositURL, pr)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		if resp, err := pierre.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode < 400 {
				t.Errorf("cut upload accepted: %d", resp.StatusCode)
			}
		}
		r.waitFor("the cut upload to be cleaned up", func() (bool, string) {
			left, _ := os.ReadDir(filepath.Join(storage, "tmp"))
			return len(left) == 0, strconv.Itoa(len(left)) + " temporary files"
		})
		_, body = getBody(t, pierre, casePage)
		if strings.Contains(body, "coupe.bin") {
			t.Errorf("the cut upload is listed")
		}

		// Another expert: the plain 404.
		anne := registerExpert(t, r, dir, "experte-anne-moreau", "Anne Moreau", "anne.moreau@experts.test")
		if code, body := getBody(t, anne, r.url("portal", docURL)); code != 404 || strings.Contains(body, "alert") {
			t.Errorf("another expert downloading: %d", code)
		}
		if code, _ := getBody(t, anne, r.url("portal", docURL+"/recepisse")); code != 404 {
			t.Errorf("another expert reading the receipt: %d", code)
		}

		// Paused: deposits are refused.
		if code, _ := postForm(t, pierre, stateURL, url.Values{"csrf": {csrf}, "from": {"in_progress"}, "to": {"paused"}, "confirm": {"1"}}); code != 200 {
			t.Fatalf("pausing: %d", code)
		}
		code, body, _ = upload(t, pierre, depositURL, "ordonnance", "pause.pdf", content)
		if code != http.StatusConflict || !strings.Contains(body, "Dépôts suspendus") {
			t.Errorf("deposit while paused: %d\n%s", code, body)
		}
		if n := committedBlobs(t, storage); n != 1 {
			t.Errorf("%d committed blobs after the refusals, want 1", n)
		}
		if _, err := os.Stat(storage); err != nil {
			t.Fatal(err)
		}
	})
}
