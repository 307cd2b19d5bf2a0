package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"sceau.fr/sceau/cmd/sceau/config"
	"sceau.fr/sceau/portal/store/storetest"
)

// Deadlines for polling. Generous so a loaded CI machine does not flake;
// a passing run never waits for them.
const (
	startDeadline = 15 * time.Second
	pollEvery     = 20 * time.Millisecond
)

// syncBuffer is a bytes.Buffer safe for the server's goroutines to write
// while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// execute runs the sceau command line in-process. It fails the test if the
// command does not return within the deadline (a serve that unexpectedly
// started serving), stopping it with SIGINT first.
func execute(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	root := newRootCommand()
	var out, errOut syncBuffer
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errOut)
	done := make(chan error, 1)
	go func() { done <- root.Execute() }()
	select {
	case err = <-done:
		return out.String(), errOut.String(), err
	case <-time.After(startDeadline):
		interruptSelf(t)
		select {
		case <-done:
		case <-time.After(startDeadline):
		}
		t.Fatalf("sceau %s did not return within %s\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), startDeadline, out.String(), errOut.String())
		return "", "", nil
	}
}

// interruptSelf sends SIGINT to the test process, as Ctrl-C would to
// `sceau serve`. A handler of our own is registered meanwhile so that the
// signal never kills the test binary, and we wait until it was delivered.
func interruptSelf(t *testing.T) {
	t.Helper()
	guard := make(chan os.Signal, 1)
	signal.Notify(guard, os.Interrupt)
	defer signal.Stop(guard)
	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatalf("kill -INT self: %v", err)
	}
	select {
	case <-guard:
	case <-time.After(startDeadline):
		t.Fatal("SIGINT was never delivered")
	}
}

// initData runs `sceau init --data DIR` in a fresh folder and returns the
// folder and its configuration file.
func initData(t *testing.T) (dir, cfgPath string) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "data")
	stdout, stderr, err := execute(t, "init", "--data", dir)
	if err != nil {
		t.Fatalf("sceau init: %v\n%s%s", err, stdout, stderr)
	}
	return dir, filepath.Join(dir, "sceau.toml")
}

// addrs are the three listening addresses of a test server.
type addrs struct{ portal, counter, admin string }

func (a addrs) all() []string { return []string{a.portal, a.counter, a.admin} }

// freeAddrs picks n distinct free loopback ports: all are held open at
// once, then released.
func freeAddrs(t *testing.T, n int) []string {
	t.Helper()
	var out []string
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("pick a free port: %v", err)
		}
		lns = append(lns, ln)
		out = append(out, ln.Addr().String())
	}
	for _, ln := range lns {
		_ = ln.Close()
	}
	return out
}

// setListeners points the three listeners at free ports through the
// environment, as an operator would.
func setListeners(t *testing.T) addrs {
	t.Helper()
	p := freeAddrs(t, 3)
	a := addrs{portal: p[0], counter: p[1], admin: p[2]}
	t.Setenv("SCEAU_SERVER_PORTAL_LISTEN", a.portal)
	t.Setenv("SCEAU_SERVER_COUNTER_LISTEN", a.counter)
	t.Setenv("SCEAU_SERVER_ADMIN_LISTEN", a.admin)
	return a
}

// assertNotListening checks that nothing holds the addresses: each can be
// bound again.
func assertNotListening(t *testing.T, list ...string) {
	t.Helper()
	for _, a := range list {
		ln, err := net.Listen("tcp", a)
		if err != nil {
			t.Errorf("%s is still bound after the command returned: %v", a, err)
			continue
		}
		_ = ln.Close()
	}
}

// running is a runServe in a goroutine.
type running struct {
	t       *testing.T
	cfg     *config.Config
	a       addrs
	stdout  syncBuffer
	stderr  syncBuffer
	cancel  context.CancelFunc
	done    chan struct{}
	err     error
	https   *http.Client
	http    *http.Client
	stopped sync.Once
}

// startServe loads cfgPath (with the environment) and runs the server until
// the test ends or stop is called.
func startServe(t *testing.T, cfgPath string) *running {
	t.Helper()
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		t.Fatalf("load %s: %v", cfgPath, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{t: t, cfg: cfg, cancel: cancel, done: make(chan struct{}),
		a:     addrs{portal: cfg.Server.Portal.Listen, counter: cfg.Server.Counter.Listen, admin: cfg.Server.Admin.Listen},
		https: httpsClient(t, trustAnchor(cfg)), http: &http.Client{Timeout: 5 * time.Second}}
	go func() {
		defer close(r.done)
		r.err = runServe(ctx, cfg, &r.stdout, &r.stderr, nil)
	}()
	t.Cleanup(func() { _ = r.stop() })
	return r
}

// stop cancels the context, as SIGINT does, and returns runServe's result.
func (r *running) stop() error {
	r.t.Helper()
	r.stopped.Do(func() {
		r.cancel()
		r.https.CloseIdleConnections()
		r.http.CloseIdleConnections()
		select {
		case <-r.done:
		case <-time.After(startDeadline):
			r.t.Errorf("runServe did not return within %s of cancellation\nstderr:\n%s", startDeadline, r.stderr.String())
		}
	})
	select {
	case <-r.done:
		return r.err
	default:
		return errors.New("runServe still running")
	}
}

// exited reports whether runServe returned on its own, and with what.
func (r *running) exited() (bool, error) {
	select {
	case <-r.done:
		return true, r.err
	default:
		return false, nil
	}
}

// waitFor polls cond until it holds, failing the test at the deadline or
// as soon as the server exits.
func (r *running) waitFor(what string, cond func() (bool, string)) {
	r.t.Helper()
	deadline := time.Now().Add(startDeadline)
	last := ""
	for {
		ok, detail := cond()
		if ok {
			return
		}
		last = detail
		if gone, err := r.exited(); gone {
			r.t.Fatalf("waiting for %s: the server exited (err %v)\nstderr:\n%s", what, err, r.stderr.String())
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("waiting for %s: gave up after %s (last: %s)\nstderr:\n%s", what, startDeadline, last, r.stderr.String())
		}
		time.Sleep(pollEvery)
	}
}

// url returns the URL of path on a listener: https for portal and
// counter, http for the loopback admin listener.
func (r *running) url(listener, path string) string {
	switch listener {
	case "portal":
		return "https://" + r.a.portal + path
	case "counter":
		return "https://" + r.a.counter + path
	case "admin":
		return "http://" + r.a.admin + path
	}
	r.t.Fatalf("unknown listener %q", listener)
	return ""
}

// get returns the status of GET path on a listener, or the error.
func (r *running) get(listener, path string) (int, string, error) {
	c := r.https
	if listener == "admin" {
		c = r.http
	}
	resp, err := c.Get(r.url(listener, path))
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	return resp.StatusCode, string(body), nil
}

// status polls GET path on a listener until it answers want.
func (r *running) waitStatus(listener, path string, want int) {
	r.t.Helper()
	r.waitFor(fmt.Sprintf("%s %s to answer %d", listener, path, want), func() (bool, string) {
		code, _, err := r.get(listener, path)
		if err != nil {
			return false, err.Error()
		}
		return code == want, fmt.Sprintf("status %d", code)
	})
}

// mustStatus asserts one GET answers want.
func (r *running) mustStatus(listener, path string, want int) {
	r.t.Helper()
	code, body, err := r.get(listener, path)
	if err != nil {
		r.t.Fatalf("GET %s: %v", r.url(listener, path), err)
	}
	if code != want {
		r.t.Fatalf("GET %s = %d %q, want %d", r.url(listener, path), code, body, want)
	}
}

// waitLog polls the server's log until it contains s.
func (r *running) waitLog(s string) {
	r.t.Helper()
	r.waitFor(fmt.Sprintf("log line %q", s), func() (bool, string) {
		return strings.Contains(r.stderr.String(), s), ""
	})
}

// trustAnchor is what a client must trust to reach the listeners: Sceau's
// root (embedded default) or the configured certificate.
func trustAnchor(cfg *config.Config) string {
	if cfg.Server.TLS.Source == "ca" {
		return filepath.Join(cfg.CA.Dir, "root.crt")
	}
	return cfg.Server.TLS.CertFile
}

// httpsClient trusts only the given certificate (a root or the server's).
func httpsClient(t *testing.T, certFile string) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatalf("read server certificate: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("%s holds no certificate", certFile)
	}
	return &http.Client{
		Timeout: 5 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig:   &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
			ForceAttemptHTTP2: true,
		},
	}
}

// pgBackend is where a PostgreSQL URL points: a Unix socket (host query
// parameter naming a folder) or a TCP address.
func pgBackend(t *testing.T, raw string) (network, address string) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("parse %s: %v", raw, err)
	}
	q := u.Query()
	port := u.Port()
	if port == "" {
		port = q.Get("port")
	}
	if port == "" {
		port = "5432"
	}
	host := u.Hostname()
	if h := q.Get("host"); h != "" {
		host = h
	}
	if strings.HasPrefix(host, "/") {
		return "unix", filepath.Join(host, ".s.PGSQL."+port)
	}
	if host == "" {
		host = "localhost"
	}
	return "tcp", net.JoinHostPort(host, port)
}

// viaTCP rewrites a PostgreSQL URL to reach the same database at addr.
func viaTCP(t *testing.T, raw, addr string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("parse %s: %v", raw, err)
	}
	q := u.Query()
	q.Del("host")
	q.Del("port")
	q.Set("sslmode", "disable")
	u.Host = addr
	u.RawQuery = q.Encode()
	return u.String()
}

// forward accepts on addr and copies every connection to the backend,
// until the test ends.
func forward(t *testing.T, addr, network, backend string) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("forwarder on %s: %v", addr, err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	track := func(c net.Conn) {
		mu.Lock()
		conns = append(conns, c)
		mu.Unlock()
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b, err := net.Dial(network, backend)
			if err != nil {
				t.Logf("forwarder: dial %s %s: %v", network, backend, err)
				_ = c.Close()
				continue
			}
			track(c)
			track(b)
			pipe := func(dst, src net.Conn) {
				_, _ = io.Copy(dst, src)
				_ = dst.Close()
				_ = src.Close()
			}
			wg.Go(func() { pipe(b, c) })
			wg.Go(func() { pipe(c, b) })
		}
	})
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
}

// lineOf returns the index of the first line of s containing sub, or -1.
func lineOf(s, sub string) int {
	for i, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			return i
		}
	}
	return -1
}

// eachDatabase runs fn on a fresh demo data folder, once with the embedded
// SQLite and once with a throw-away PostgreSQL database (migrated first,
// as an operator would).
func eachDatabase(t *testing.T, fn func(t *testing.T, dir, cfgPath string)) {
	for _, driver := range []string{"sqlite", "postgres"} {
		t.Run(driver, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			if _, _, err := execute(t, "init", "--data", dir, "--demo"); err != nil {
				t.Fatal(err)
			}
			cfgPath := filepath.Join(dir, "sceau.toml")
			if driver == "postgres" {
				usePostgres(t, storetest.PostgresURL(t))
				if out, _, err := execute(t, "migrate", "--config", cfgPath); err != nil {
					t.Fatalf("migrate: %v\n%s", err, out)
				}
			}
			fn(t, dir, cfgPath)
		})
	}
}
