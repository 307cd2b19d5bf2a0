package main

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// minimalPDFA is a small PDF whose XMP metadata claims PDF/A-1b.
func minimalPDFA() []byte {
	xmp := `<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">` +
		`<rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/"><pdfaid:part>1</pdfaid:part>` +
		`<pdfaid:conformance>B</pdfaid:conformance></rdf:Description></rdf:RDF></x:xmpmeta>`
	return []byte("%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R /Metadata 3 0 R >>\nendobj\n" +
		"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n" +
		"3 0 obj\n<< /Type /Metadata /Subtype /XML /Length " + itoa(len(xmp)) + " >>\nstream\n" + xmp + "\nendstream\nendobj\n" +
		"trailer\n<< /Root 1 0 R >>\n%%EOF\n")
}

func itoa(n int) string { return strconv.Itoa(n) }

type depositPart struct {
	field, name string
	content     []byte
}

// uploadParts posts the parts in order, after the kind, as deposit.js does.
func uploadParts(t *testing.T, c *http.Client, u, kind string, parts ...depositPart) (int, string, *url.URL) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("kind", kind)
	for _, p := range parts {
		fw, err := mw.CreateFormFile(p.field, p.name)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = fw.Write(p.content)
	}
	_ = mw.Close()
	req, _ := http.NewRequest(http.MethodPost, u, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Request.URL
}

// TestDepositSeveralFilesPDFAAndCopy: two files in one deposit (a PDF/A
// and a text) are both listed, the PDF/A one with its badge, and the
// receipt names both; a courtesy copy attached to a file downloads with
// its exact bytes and the safe headers; a copy without a file is refused;
// the drag-and-drop script is served as JavaScript.
func TestDepositSeveralFilesPDFAAndCopy(t *testing.T) {
	eachDatabase(t, func(t *testing.T, dir, cfgPath string) {
		if strings.Contains(t.Name(), "postgres") {
			t.Skip("SQLite is enough here")
		}
		setListeners(t)
		r := startServe(t, cfgPath)
		r.waitStatus("admin", "/readyz", 200)
		pierre := registerExpert(t, r, dir, "expert-pierre-durand", "Pierre Durand", "pierre.durand@experts.test")
		_, form := getBody(t, pierre, r.url("portal", "/affaires/nouvelle"))
		csrf := csrfRe.FindStringSubmatch(form)[1]
		_, body := postForm(t, pierre, r.url("portal", "/affaires"), url.Values{"csrf": {csrf}, "first_applicant": {"Hélène Dupré-Lefèvre"},
			"first_defendant": {"SCI Les Tilleuls"}, "jurisdiction": {"TJ Rennes"}, "rg_number": {"24/01234"}, "ordonnance_date": {"2026-10-15"}})
		caseID := regexp.MustCompile(`/affaires/(\d+)/participants`).FindStringSubmatch(body)[1]
		casePage := r.url("portal", "/affaires/"+caseID)
		if code, _ := postForm(t, pierre, r.url("portal", "/affaires/"+caseID+"/etat"), url.Values{"csrf": {csrf}, "from": {"creation"}, "to": {"in_progress"}, "confirm": {"1"}}); code != 200 {
			t.Fatalf("moving the case on: %d", code)
		}
		_, body = getBody(t, pierre, casePage)
		f := depositFormRe.FindStringSubmatch(body)
		if f == nil {
			t.Fatalf("no deposit form:\n%s", body)
		}
		if !strings.Contains(body, `name="file" multiple`) || !strings.Contains(body, `name="copie"`) || !strings.Contains(body, `<script src="/static/deposit.js" defer></script>`) {
			t.Errorf("deposit form not enhanced:\n%s", body)
		}
		depositURL := r.url("portal", strings.ReplaceAll(f[1], "&amp;", "&"))

		pdfa, text := minimalPDFA(), []byte("Note sur l’état des lieux.\n")
		code, body, at := uploadParts(t, pierre, depositURL, "piece",
			depositPart{"file", "rapport.pdf", pdfa}, depositPart{"file", "note.txt", text})
		if code != 200 || !strings.HasSuffix(at.Path, "/recepisse") || !strings.HasPrefix(at.RawQuery, "avec=") {
			t.Fatalf("deposit of two files: %d at %s\n%s", code, at, body)
		}
		if !strings.Contains(body, "note.txt") || !strings.Contains(body, "Autres fichiers du même dépôt") || !strings.Contains(body, "rapport.pdf") {
			t.Errorf("the receipt does not show both files:\n%s", body)
		}
		_, body = getBody(t, pierre, casePage)
		row := regexp.MustCompile(`>rapport\.pdf</a>[^\n]*`).FindString(body)
		if !strings.Contains(row, `class="badge pdfa"`) {
			t.Errorf("no PDF/A badge on rapport.pdf: %q", row)
		}
		if row := regexp.MustCompile(`>note\.txt</a>[^\n]*`).FindString(body); row == "" || strings.Contains(row, "PDF/A") {
			t.Errorf("note.txt missing or marked PDF/A: %q", row)
		}

		// A file with its courtesy copy.
		orig := []byte("PK\x03\x04 contenu du .odt d’origine")
		code, body, at = uploadParts(t, pierre, depositURL, "dire",
			depositPart{"file", "dire.pdf", []byte("%PDF-1.7\nrien\n%%EOF\n")}, depositPart{"copie", "dire.odt", orig})
		if code != 200 || !strings.Contains(body, "dire.odt") {
			t.Fatalf("deposit with a copy: %d at %s\n%s", code, at, body)
		}
		docURL := strings.TrimSuffix(at.Path, "/recepisse")
		resp, err := pierre.Get(r.url("portal", docURL+"/copie"))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		h := resp.Header
		if resp.StatusCode != 200 || !bytes.Equal(got, orig) || h.Get("Content-Type") != "application/octet-stream" ||
			h.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(h.Get("Content-Disposition"), `filename="dire.odt"`) ||
			!strings.HasPrefix(h.Get("Content-Security-Policy"), "sandbox") {
			t.Errorf("copy download: %d %q %v", resp.StatusCode, got, h)
		}
		_, body = getBody(t, pierre, casePage)
		if !strings.Contains(body, docURL+`/copie" download>copie de courtoisie`) {
			t.Errorf("the case page does not offer the copy:\n%s", body)
		}
		// The copy of an unknown document: the plain 404.
		if code, _ := getBody(t, pierre, r.url("portal", strings.Replace(docURL, "/documents/", "/documents/", 1)+"0/copie")); code != 404 {
			t.Errorf("copy of a missing document: %d", code)
		}
		// A copy with no file before it: refused.
		if code, body, _ := uploadParts(t, pierre, depositURL, "dire", depositPart{"copie", "seule.odt", orig}); code != http.StatusUnprocessableEntity {
			t.Errorf("a lone copy: %d\n%s", code, body)
		}

		// More files than the receipt lists: the first 20 are kept and named,
		// the rest refused with the limit, none stored unseen.
		var many []depositPart
		for i := 1; i <= 21; i++ {
			many = append(many, depositPart{"file", "annexe-" + itoa(i) + ".txt", []byte("annexe " + itoa(i))})
		}
		if code, body, _ := uploadParts(t, pierre, depositURL, "piece", many...); code != http.StatusUnprocessableEntity ||
			!strings.Contains(body, "au plus 20 fichiers") || !strings.Contains(body, "annexe-20.txt") {
			t.Errorf("21 files in one deposit: %d\n%s", code, body)
		}
		if _, body := getBody(t, pierre, casePage); !strings.Contains(body, ">annexe-20.txt<") || strings.Contains(body, "annexe-21.txt") {
			t.Errorf("after 21 files, the case page lists:\n%s", body)
		}

		resp, err = pierre.Get(r.url("portal", "/static/deposit.js"))
		if err != nil {
			t.Fatal(err)
		}
		js, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), "javascript") || !bytes.Contains(js, []byte("upload.onprogress")) {
			t.Errorf("deposit.js: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	})
}
