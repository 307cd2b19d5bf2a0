package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"sceau.fr/sceau/ca/bundle"
)

// BenchmarkTransfer compares the upload and the download of one large file
// through the portal listener (a real `sceau serve` on a SQLite demo data
// folder, mTLS, in this process) with a plain Go TLS server moving the same
// bytes. The plain upload handler writes the part to a file in the same
// file system and fsyncs it, as Sceau's blob store does; the plain download
// serves that file with http.ServeContent.
//
// Size: 1 GiB, or SCEAU_BENCH_BYTES. Run it alone:
//
//	SCEAU_BENCH_BYTES=268435456 go test -run '^$' -bench BenchmarkTransfer -benchtime 1x ./cmd/sceau/
//
// Metrics: MB/s; rss-growth-MiB, the peak of VmRSS above the level before
// the transfer (client and server share the process, so it covers both);
// pct-of-plain on the Sceau runs, their throughput as a percentage of the
// plain run just before.
func BenchmarkTransfer(b *testing.B) {
	if testing.Short() {
		b.Skip("large transfers")
	}
	size := int64(1 << 30)
	if v := os.Getenv("SCEAU_BENCH_BYTES"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			b.Fatalf("SCEAU_BENCH_BYTES=%q", v)
		}
		size = n
	}

	// A real server on a demo data folder.
	dir := filepath.Join(b.TempDir(), "data")
	root := newRootCommand()
	root.SetArgs([]string{"init", "--data", dir, "--demo"})
	root.SetOut(io.Discard)
	root.SetErr(io.Discard)
	if err := root.Execute(); err != nil {
		b.Fatalf("sceau init: %v", err)
	}
	ports := freeAddrsTB(b, 3)
	b.Setenv("SCEAU_SERVER_PORTAL_LISTEN", ports[0])
	b.Setenv("SCEAU_SERVER_COUNTER_LISTEN", ports[1])
	b.Setenv("SCEAU_SERVER_ADMIN_LISTEN", ports[2])
	cfg, err := loadConfig(filepath.Join(dir, "sceau.toml"))
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var serverLog syncBuffer
	go func() { done <- runServe(ctx, cfg, io.Discard, &serverLog, nil) }()
	b.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(startDeadline):
			b.Errorf("runServe did not return")
		}
	})
	waitReady(b, "http://"+ports[2]+"/readyz", done, &serverLog)
	portal := func(p string) string { return "https://" + ports[0] + p }

	// The demo expert signs up, creates a case and moves it on.
	cert := demoIdentityTB(b, dir, "expert-pierre-durand")
	c := benchClient(b, filepath.Join(dir, "ca", "root.crt"), cert)
	form := getTB(b, c, portal("/inscription"))
	postTB(b, c, portal("/inscription"), url.Values{"csrf": {csrfTB(b, form)}, "role": {"expert"},
		"display_name": {"Pierre Durand"}, "email": {"pierre.durand@experts.test"}, "court": {"Cour d’appel de Rennes"},
		"specialties": {"Bâtiment"}, "terms": {"2026-11"}})
	csrf := csrfTB(b, getTB(b, c, portal("/affaires/nouvelle")))
	body := postTB(b, c, portal("/affaires"), url.Values{"csrf": {csrf}, "first_applicant": {"Hélène Dupré-Lefèvre"},
		"first_defendant": {"SCI Les Tilleuls"}, "jurisdiction": {"TJ Rennes"}, "rg_number": {"24/01234"}, "ordonnance_date": {"2026-10-15"}})
	m := regexp.MustCompile(`/affaires/(\d+)/participants`).FindStringSubmatch(body)
	if m == nil {
		b.Fatalf("no case page:\n%s", body)
	}
	caseID := m[1]
	postTB(b, c, portal("/affaires/"+caseID+"/etat"), url.Values{"csrf": {csrf}, "from": {"creation"}, "to": {"in_progress"}, "confirm": {"1"}})
	body = getTB(b, c, portal("/affaires/"+caseID))
	var action string
	for _, f := range depositFormRe.FindAllStringSubmatch(body, -1) {
		if f[2] == "Désignation" {
			action = strings.ReplaceAll(f[1], "&amp;", "&")
		}
	}
	if action == "" {
		b.Fatalf("no deposit form for Désignation:\n%s", body)
	}
	depositURL := portal(action)

	// The plain baseline: a TLS server (HTTP/2 like the portal) whose upload
	// handler writes the part to disk and fsyncs it, and whose download
	// handler serves that file.
	plainDir := filepath.Join(filepath.Dir(cfg.Storage.Path), "plain")
	if err := os.MkdirAll(plainDir, 0o700); err != nil {
		b.Fatal(err)
	}
	plainFile := filepath.Join(plainDir, "blob")
	mux := http.NewServeMux()
	mux.HandleFunc("POST /upload", func(w http.ResponseWriter, r *http.Request) {
		mr, err := r.MultipartReader()
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			if p.FormName() != "file" {
				_, _ = io.Copy(io.Discard, p)
				continue
			}
			f, err := os.CreateTemp(plainDir, "up-*")
			if err != nil {
				http.Error(w, err.Error(), 500)
				return
			}
			_, err = io.Copy(f, p)
			if err == nil {
				err = f.Sync()
			}
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err == nil {
				err = os.Rename(f.Name(), plainFile)
			}
			if err != nil {
				_ = os.Remove(f.Name())
				http.Error(w, err.Error(), 500)
				return
			}
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /download", func(w http.ResponseWriter, r *http.Request) {
		f, err := os.Open(plainFile)
		if err != nil {
			http.Error(w, err.Error(), 404)
			return
		}
		defer f.Close()
		w.Header().Set("Content-Type", "application/octet-stream")
		http.ServeContent(w, r, "", time.Time{}, f)
	})
	ts := httptest.NewUnstartedServer(mux)
	ts.EnableHTTP2 = true
	ts.StartTLS()
	b.Cleanup(ts.Close)
	plain := ts.Client()
	plain.Timeout = 0
	b.Cleanup(plain.CloseIdleConnections)

	var mu sync.Mutex
	rate := map[string]float64{}
	var docURL string
	run := func(name, baseline string, op func(b *testing.B, i int)) {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(size)
			settle()
			rss := watchRSS()
			b.ResetTimer()
			start := time.Now()
			for i := range b.N {
				op(b, i)
			}
			elapsed := time.Since(start)
			b.StopTimer()
			growth := rss()
			mbs := float64(size) * float64(b.N) / elapsed.Seconds() / 1e6
			b.ReportMetric(float64(growth)/(1<<20), "rss-growth-MiB")
			mu.Lock()
			rate[name] = mbs
			base := rate[baseline]
			mu.Unlock()
			if baseline != "" && base > 0 {
				b.ReportMetric(100*mbs/base, "pct-of-plain")
			}
			b.Logf("%s: %d bytes × %d in %s = %.1f MB/s, peak RSS growth %.1f MiB", name, size, b.N, elapsed.Round(time.Millisecond), mbs, float64(growth)/(1<<20))
		})
	}

	run("upload/plain-tls", "", func(b *testing.B, i int) {
		resp := postStream(b, plain, ts.URL+"/upload", size, fmt.Sprintf("plain-%d.bin", i))
		if resp.StatusCode != http.StatusNoContent {
			b.Fatalf("plain upload: %s", resp.Status)
		}
	})
	run("upload/sceau", "upload/plain-tls", func(b *testing.B, i int) {
		resp := postStream(b, c, depositURL, size, fmt.Sprintf("sceau-%d.bin", i))
		if resp.StatusCode != 200 || !strings.HasSuffix(resp.Request.URL.Path, "/recepisse") {
			b.Fatalf("deposit: %s at %s\n%s", resp.Status, resp.Request.URL, serverLog.String())
		}
		docURL = strings.TrimSuffix(resp.Request.URL.Path, "/recepisse")
	})
	if docURL == "" {
		b.Fatal("no document deposited")
	}
	run("download/plain-tls", "", func(b *testing.B, _ int) {
		getStream(b, plain, ts.URL+"/download", size)
	})
	run("download/sceau", "download/plain-tls", func(b *testing.B, _ int) {
		getStream(b, c, portal(docURL), size)
	})
}

// postStream posts a multipart body (kind, then file with size generated
// bytes) produced on the fly, and drains the answer.
func postStream(b *testing.B, c *http.Client, u string, size int64, name string) *http.Response {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		err := mw.WriteField("kind", "piece")
		var fw io.Writer
		if err == nil {
			fw, err = mw.CreateFormFile("file", name)
		}
		if err == nil {
			_, err = io.Copy(fw, io.LimitReader(newPattern(), size))
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	req, err := http.NewRequest(http.MethodPost, u, pr)
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := c.Do(req)
	if err != nil {
		b.Fatalf("POST %s: %v", u, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	b.Logf("POST %s over %s", req.URL.Host, resp.Proto)
	return resp
}

// getStream downloads u to io.Discard and checks the length.
func getStream(b *testing.B, c *http.Client, u string, size int64) {
	resp, err := c.Get(u)
	if err != nil {
		b.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil || resp.StatusCode != 200 || n != size {
		b.Fatalf("GET %s: %s, %d bytes, %v (proto %s)", u, resp.Status, n, err, resp.Proto)
	}
	b.Logf("GET %s over %s", resp.Request.URL.Host, resp.Proto)
}

// pattern repeats a fixed pseudo-random 64 KiB block: deterministic,
// incompressible enough, and nothing of the file's size held in memory.
type pattern struct {
	block []byte
	off   int
}

var patternBlock = sync.OnceValue(func() []byte {
	r := rand.NewChaCha8([32]byte{'s', 'c', 'e', 'a', 'u'})
	p := make([]byte, 64<<10)
	_, _ = r.Read(p)
	return p
})

func newPattern() *pattern { return &pattern{block: patternBlock()} }

func (p *pattern) Read(b []byte) (int, error) {
	n := copy(b, p.block[p.off:])
	p.off = (p.off + n) % len(p.block)
	return n, nil
}

// settle returns freed memory to the system so the RSS baseline is low.
func settle() {
	runtime.GC()
	debug.FreeOSMemory()
}

// watchRSS samples VmRSS every 5 ms until the returned function is called,
// which answers the peak above the first sample.
func watchRSS() func() int64 {
	start := vmRSS()
	peak := start
	stop := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				peak = max(peak, vmRSS())
			}
		}
	}()
	return func() int64 {
		close(stop)
		<-finished
		return max(peak, vmRSS()) - start
	}
}

// vmRSS is the resident set size of this process in bytes (0 off Linux).
func vmRSS() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func freeAddrsTB(b *testing.B, n int) []string {
	b.Helper()
	// As freeAddrs, which wants a *testing.T: all held open, then released.
	var out []string
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		lns = append(lns, ln)
		out = append(out, ln.Addr().String())
	}
	for _, ln := range lns {
		_ = ln.Close()
	}
	return out
}

func waitReady(b *testing.B, u string, done chan error, log *syncBuffer) {
	b.Helper()
	deadline := time.Now().Add(startDeadline)
	c := &http.Client{Timeout: time.Second}
	for {
		if resp, err := c.Get(u); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		select {
		case err := <-done:
			b.Fatalf("the server exited: %v\n%s", err, log.String())
		default:
		}
		if time.Now().After(deadline) {
			b.Fatalf("not ready after %s\n%s", startDeadline, log.String())
		}
		time.Sleep(pollEvery)
	}
}

func demoIdentityTB(b *testing.B, dir, file string) *tls.Certificate {
	b.Helper()
	readme, err := os.ReadFile(filepath.Join(dir, "demo", "LISEZ-MOI.txt"))
	if err != nil {
		b.Fatal(err)
	}
	var pw string
	for _, line := range strings.Split(string(readme), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == file+".p12" {
			pw = f[2]
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, "demo", "identities", file+".p12"))
	if err != nil {
		b.Fatal(err)
	}
	key, leaf, chain, err := bundle.Decode(data, pw)
	if err != nil {
		b.Fatalf("%s: %v", file, err)
	}
	cert := &tls.Certificate{PrivateKey: key, Leaf: leaf, Certificate: [][]byte{leaf.Raw}}
	for _, c := range chain {
		cert.Certificate = append(cert.Certificate, c.Raw)
	}
	return cert
}

// benchClient is clientWith without the 5 s timeout.
func benchClient(b *testing.B, root string, cert *tls.Certificate) *http.Client {
	b.Helper()
	pem, err := os.ReadFile(root)
	if err != nil {
		b.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	cfg := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: true}}
	b.Cleanup(c.CloseIdleConnections)
	return c
}

func getTB(b *testing.B, c *http.Client, u string) string {
	b.Helper()
	resp, err := c.Get(u)
	if err != nil {
		b.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		b.Fatalf("GET %s: %s\n%s", u, resp.Status, body)
	}
	return string(body)
}

func postTB(b *testing.B, c *http.Client, u string, v url.Values) string {
	b.Helper()
	resp, err := c.PostForm(u, v)
	if err != nil {
		b.Fatalf("POST %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		b.Fatalf("POST %s: %s\n%s", u, resp.Status, body)
	}
	return string(body)
}

func csrfTB(b *testing.B, page string) string {
	b.Helper()
	m := csrfRe.FindStringSubmatch(page)
	if m == nil {
		b.Fatalf("no CSRF token in:\n%s", page)
	}
	return m[1]
}
