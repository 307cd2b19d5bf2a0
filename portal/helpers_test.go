package portal

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"sceau.fr/sceau/templates"
)

// Names the tests use. The server certificate covers all of them, so a
// client can verify it whichever name it asks for.
const (
	portalHost  = "portail.test"
	counterHost = "retrait.test"
)

// wait bounds every synchronisation in the tests: nothing sleeps, but
// nothing waits forever either.
const wait = 10 * time.Second

// testPKI is generated once per test binary: a CA for the server
// certificate, the CAs whose names the portal sends as hints, and a client
// certificate issued by one of them.
type testPKI struct {
	roots      *x509.CertPool // what clients trust: the server CA
	serverCert tls.Certificate
	hints      *x509.CertPool
	hintNames  [][]byte // raw subjects of the hint CAs, in pool order
	clientCert tls.Certificate
	clientCN   string
}

var pki = sync.OnceValue(func() *testPKI {
	p, err := newTestPKI()
	if err != nil {
		panic(err)
	}
	return p
})

func newKey() (*ecdsa.PrivateKey, error) { return ecdsa.GenerateKey(elliptic.P256(), rand.Reader) }

func serial() (*big.Int, error) { return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120)) }

// newCA makes a self-signed CA certificate.
func newCA(cn string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := newKey()
	if err != nil {
		return nil, nil, err
	}
	sn, err := serial()
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          sn,
		Subject:               pkix.Name{Organization: []string{"Sceau (tests)"}, CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, err
}

// newLeaf makes a certificate signed by ca, completed by fill.
func newLeaf(ca *x509.Certificate, caKey *ecdsa.PrivateKey, fill func(*x509.Certificate)) (tls.Certificate, error) {
	key, err := newKey()
	if err != nil {
		return tls.Certificate{}, err
	}
	sn, err := serial()
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: sn,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	fill(tmpl)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

func newTestPKI() (*testPKI, error) {
	serverCA, serverCAKey, err := newCA("AC serveurs")
	if err != nil {
		return nil, err
	}
	expertsCA, expertsCAKey, err := newCA("AC experts")
	if err != nil {
		return nil, err
	}
	courtsCA, _, err := newCA("AC greffes")
	if err != nil {
		return nil, err
	}
	p := &testPKI{roots: x509.NewCertPool(), hints: x509.NewCertPool(), clientCN: "Expert Dupont"}
	p.roots.AddCert(serverCA)
	for _, ca := range []*x509.Certificate{expertsCA, courtsCA} {
		p.hints.AddCert(ca)
		p.hintNames = append(p.hintNames, ca.RawSubject)
	}
	p.serverCert, err = newLeaf(serverCA, serverCAKey, func(c *x509.Certificate) {
		c.Subject = pkix.Name{CommonName: portalHost}
		c.DNSNames = []string{"localhost", portalHost, counterHost}
		c.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
		c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	})
	if err != nil {
		return nil, err
	}
	p.clientCert, err = newLeaf(expertsCA, expertsCAKey, func(c *x509.Certificate) {
		c.Subject = pkix.Name{CommonName: p.clientCN}
		c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// syncBuffer collects log output written from server goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// harness is one running Server with its three listeners.
type harness struct {
	srv      *Server
	cancel   context.CancelFunc
	done     chan struct{} // closed when Serve returned
	serveErr error         // valid once done is closed
	notReady atomic.Bool   // makes Deps.Ready fail while true
	logs     *syncBuffer
}

// separateConfig gives portal and counter their own ports. Listen treats
// equal PortalAddr and CounterAddr as "shared", so two "127.0.0.1:0"
// would not do: the counter gets a port picked beforehand.
func separateConfig(t *testing.T) Config {
	return Config{
		PortalAddr:      "127.0.0.1:0",
		CounterAddr:     freeAddrs(t, 1)[0],
		AdminAddr:       "127.0.0.1:0",
		ShutdownTimeout: wait,
	}
}

// sharedConfig puts portal and counter on one address, told apart by SNI.
func sharedConfig() Config {
	return Config{
		PortalAddr:      "127.0.0.1:0",
		CounterAddr:     "127.0.0.1:0",
		AdminAddr:       "127.0.0.1:0",
		PortalHost:      portalHost,
		CounterHost:     counterHost,
		ShutdownTimeout: wait,
	}
}

// freeAddrs returns n distinct loopback addresses that were free a moment
// ago (all held open together, so they differ from one another).
func freeAddrs(t *testing.T, n int) []string {
	t.Helper()
	var addrs []string
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		addrs = append(addrs, ln.Addr().String())
	}
	for _, ln := range lns {
		_ = ln.Close()
	}
	return addrs
}

// start builds, binds and serves a Server. setup runs before Serve, so it
// may add test routes to the router. The server is shut down at cleanup.
func start(t *testing.T, cfg Config, setup func(*Server)) *harness {
	t.Helper()
	h := &harness{done: make(chan struct{}), logs: &syncBuffer{}}
	srv, err := New(cfg, Deps{
		Logger:        slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelInfo})),
		Templates:     templates.MustLoad(),
		Certificate:   func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return &pki().serverCert, nil },
		ClientCAHints: pki().hints,
		Ready: func(context.Context) error {
			if h.notReady.Load() {
				return errDatabaseDown
			}
			return nil
		},
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if setup != nil {
		setup(srv)
	}
	if err := srv.Listen(); err != nil {
		t.Fatalf("Listen: %v", err)
	}
	h.srv = srv
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() {
		defer close(h.done)
		h.serveErr = srv.Serve(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-h.done:
		case <-time.After(2 * wait):
			t.Errorf("Serve did not return after its context was cancelled")
		}
	})
	return h
}

type readyError string

func (e readyError) Error() string { return string(e) }

const errDatabaseDown = readyError("base de données injoignable")

// clientOpts describes a TLS client.
type clientOpts struct {
	// serverName overrides the SNI; empty means the URL's host name.
	serverName       string
	minTLS, maxTLS   uint16
	http1            bool // refuse HTTP/2
	getCert          func(*tls.CertificateRequestInfo) (*tls.Certificate, error)
	withCertificates bool // offer the client certificate through tls.Config.Certificates
}

// newClient returns a client that dials addr whatever host the URL names,
// like a browser whose DNS points portail.test and retrait.test at the
// server: the SNI and the Host header both come from the URL unless
// serverName overrides the SNI.
func newClient(t *testing.T, addr string, o clientOpts) *http.Client {
	t.Helper()
	tc := &tls.Config{
		RootCAs:              pki().roots,
		ServerName:           o.serverName,
		MinVersion:           o.minTLS,
		MaxVersion:           o.maxTLS,
		GetClientCertificate: o.getCert,
	}
	if o.withCertificates {
		tc.Certificates = []tls.Certificate{pki().clientCert}
	}
	var d net.Dialer
	tr := &http.Transport{
		TLSClientConfig:   tc,
		ForceAttemptHTTP2: !o.http1,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: wait}
}

// certRequests records what the server asked for in its CertificateRequest
// and answers with the client certificate (or none).
type certRequests struct {
	mu      sync.Mutex
	calls   int
	cas     [][][]byte
	present bool
}

func (c *certRequests) get(info *tls.CertificateRequestInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	c.cas = append(c.cas, info.AcceptableCAs)
	if c.present {
		return &pki().clientCert, nil
	}
	return &tls.Certificate{}, nil
}

func (c *certRequests) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls
}

// assertHints checks that every certificate request carried exactly the
// hint CAs' names.
func (c *certRequests) assertHints(t *testing.T) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.calls == 0 {
		t.Fatal("the server sent no CertificateRequest")
	}
	for i, got := range c.cas {
		if !sameNames(got, pki().hintNames) {
			t.Errorf("CertificateRequest %d: acceptable CAs = %q, want the hint CAs %q", i, got, pki().hintNames)
		}
	}
}

func sameNames(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[string]int{}
	for _, n := range a {
		seen[string(n)]++
	}
	for _, n := range b {
		if seen[string(n)] == 0 {
			return false
		}
		seen[string(n)]--
	}
	return true
}

// fetch sends a request and reads the whole body.
func fetch(t *testing.T, c *http.Client, method, url string, body io.Reader, mutate func(*http.Request)) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if mutate != nil {
		mutate(req)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, url, err)
	}
	return resp, string(b)
}

func get(t *testing.T, c *http.Client, url string) (*http.Response, string) {
	t.Helper()
	return fetch(t, c, http.MethodGet, url, nil, nil)
}

// port returns the port of a host:port address.
func port(t *testing.T, addr string) string {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// urlFor builds https://host:port/path for the listener's port.
func urlFor(t *testing.T, host, addr, path string) string {
	t.Helper()
	return "https://" + net.JoinHostPort(host, port(t, addr)) + path
}

func wantStatus(t *testing.T, resp *http.Response, body string, status int) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d; body:\n%s", resp.Request.Method, resp.Request.URL, resp.StatusCode, status, body)
	}
}

func wantBody(t *testing.T, body string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(body, p) {
			t.Errorf("body lacks %q:\n%s", p, body)
		}
	}
}

// peerCertsRoute adds a test route that reports how many certificates the
// client presented, and the first one's common name.
func peerCertsRoute(s *Server) {
	s.Router().HandleFunc("/test/peer", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if r.TLS == nil {
			_, _ = io.WriteString(w, "no tls")
			return
		}
		n := len(r.TLS.PeerCertificates)
		cn := ""
		if n > 0 {
			cn = r.TLS.PeerCertificates[0].Subject.CommonName
		}
		_, _ = io.WriteString(w, strings.TrimSpace(strconv.Itoa(n)+" "+cn))
	})
}

var tlsVersions = []struct {
	name    string
	version uint16
}{{"TLS1.2", tls.VersionTLS12}, {"TLS1.3", tls.VersionTLS13}}
