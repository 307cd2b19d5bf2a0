package main

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"sceau.fr/sceau/portal/blobs/s3test"
)

// useS3 points the configuration at a fresh S3 server (gofakes3 over
// HTTPS on a loopback port) through the environment, as an operator would.
func useS3(t *testing.T, bucket string) *s3test.Server {
	t.Helper()
	srv := s3test.Start(t, "sceau-files")
	t.Setenv("SCEAU_STORAGE_BACKEND", "s3")
	t.Setenv("SCEAU_STORAGE_S3_ENDPOINT", srv.URL)
	t.Setenv("SCEAU_STORAGE_S3_REGION", "fr-par")
	t.Setenv("SCEAU_STORAGE_S3_BUCKET", bucket)
	t.Setenv("SCEAU_STORAGE_S3_ACCESS_KEY_ID", s3test.AccessKey)
	t.Setenv("SCEAU_STORAGE_S3_SECRET_ACCESS_KEY", s3test.SecretKey)
	t.Setenv("SCEAU_STORAGE_S3_CA_FILE", srv.CAFile)
	t.Setenv("SCEAU_STORAGE_S3_PATH_STYLE", "true")
	return srv
}

// bucketKeys lists every object key in the bucket and every incomplete
// upload.
func bucketKeys(t *testing.T, srv *s3test.Server, bucket string) []string {
	t.Helper()
	pemData, err := os.ReadFile(srv.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemData)
	c, err := minio.New(strings.TrimPrefix(srv.URL, "https://"), &minio.Options{
		Creds: credentials.NewStaticV4(s3test.AccessKey, s3test.SecretKey, ""), Secure: true,
		BucketLookup: minio.BucketLookupPath, Region: "fr-par",
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for o := range c.ListObjects(context.Background(), bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		keys = append(keys, o.Key)
	}
	for u := range c.ListIncompleteUploads(context.Background(), bucket, "", true) {
		keys = append(keys, "incomplete upload of "+u.Key)
	}
	return keys
}

// TestServeWithS3Storage: with storage.backend "s3" set from the
// environment, an expert deposits a file through the portal and downloads
// it back; the bucket then holds exactly one published object and nothing
// under tmp/.
func TestServeWithS3Storage(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if _, _, err := execute(t, "init", "--data", dir, "--demo"); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "sceau.toml")
	setListeners(t)
	srv := useS3(t, "sceau-files")
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
	if code, _ := postForm(t, pierre, r.url("portal", "/affaires/"+caseID+"/etat"), url.Values{"csrf": {csrf},
		"from": {"creation"}, "to": {"in_progress"}, "confirm": {"1"}}); code != 200 {
		t.Fatalf("moving the case on: %d", code)
	}
	if code, _ := postForm(t, pierre, r.url("portal", "/affaires/"+caseID+"/parties"), url.Values{"csrf": {csrf},
		"party_name": {"Hélène Dupré-Lefèvre"}, "deposit_mode": {"expert"}}); code != 200 {
		t.Fatalf("adding a party: %d", code)
	}
	_, body = getBody(t, pierre, r.url("portal", "/affaires/"+caseID))
	var action string
	for _, f := range depositFormRe.FindAllStringSubmatch(body, -1) {
		if f[2] == "Désignation" {
			action = strings.ReplaceAll(f[1], "&amp;", "&")
		}
	}
	if action == "" {
		t.Fatalf("no deposit form for Désignation:\n%s", body)
	}

	// 9 MiB: more than one 8 MiB part of the multipart upload.
	content := []byte(strings.Repeat("Rapport d’expertise — pièce n°1\n", 9<<20/32))
	sum := sha256.Sum256(content)
	code, body, at := upload(t, pierre, r.url("portal", action), "ordonnance", "ordonnance.pdf", content)
	if code != 200 || !strings.HasSuffix(at.Path, "/recepisse") {
		t.Fatalf("deposit: %d at %s\n%s", code, at, body)
	}
	if !strings.Contains(body, hex.EncodeToString(sum[:])) {
		t.Errorf("the receipt lacks the SHA-256:\n%s", body)
	}

	// The bucket holds the published blob, nothing else.
	keys := bucketKeys(t, srv, "sceau-files")
	if len(keys) != 1 || !regexp.MustCompile(`^blobs/[0-9a-f]{32}$`).MatchString(keys[0]) {
		t.Fatalf("bucket holds %v, want one blobs/<key>", keys)
	}

	docURL := r.url("portal", strings.TrimSuffix(at.Path, "/recepisse"))
	resp, err := pierre.Get(docURL)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || sha256.Sum256(got) != sum {
		t.Fatalf("download: %d, %d bytes, want %d", resp.StatusCode, len(got), len(content))
	}

	// A ranged download reads only the asked bytes.
	req, _ := http.NewRequest(http.MethodGet, docURL, nil)
	req.Header.Set("Range", "bytes=1000-1009")
	resp, err = pierre.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusPartialContent || string(got) != string(content[1000:1010]) {
		t.Errorf("range: %d %q, want 206 %q", resp.StatusCode, got, content[1000:1010])
	}
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
}

// TestServeRefusesMissingBucket: serve does not start when the bucket
// does not exist, and says so.
func TestServeRefusesMissingBucket(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if _, _, err := execute(t, "init", "--data", dir, "--demo"); err != nil {
		t.Fatal(err)
	}
	setListeners(t)
	useS3(t, "no-such-bucket")
	cfg, err := loadConfig(filepath.Join(dir, "sceau.toml"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stdout, stderr strings.Builder
	err = runServe(ctx, cfg, &stdout, &stderr, nil)
	if err == nil || !strings.Contains(err.Error(), `bucket "no-such-bucket" does not exist`) {
		t.Fatalf("serve with a missing bucket: %v", err)
	}
	if strings.Contains(err.Error()+stdout.String()+stderr.String(), s3test.SecretKey) {
		t.Fatal("the secret key was shown")
	}
	t.Log(err)
}
