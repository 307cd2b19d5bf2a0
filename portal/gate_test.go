package portal

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"sceau.fr/sceau/portal/certgate"
	"sceau.fr/sceau/portal/proxycert"
	"sceau.fr/sceau/templates"
)

type switchRevocation struct{ err error }

func (s *switchRevocation) IsRevoked(*x509.Certificate, *x509.Certificate) (bool, error) {
	return false, s.err
}

// gatedServer runs a portal whose "/who" route, behind the gate, says who
// the request was admitted as.
func gatedServer(t *testing.T, rev *switchRevocation, proxy *proxycert.Extractor) (*Server, *x509.Certificate, func(func(*x509.Certificate)) tls.Certificate) {
	t.Helper()
	caCert, caKey, err := newCA("AC Avocats (TEST)")
	if err != nil {
		t.Fatal(err)
	}
	gate, err := certgate.New([]certgate.Domain{{Name: "bar", Label: "AC Avocats (TEST)", Roots: []*x509.Certificate{caCert},
		Roles: []string{"lawyer"}, Revocation: rev}})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Config{PortalAddr: "127.0.0.1:0", CounterAddr: "127.0.0.3:0", CounterURL: "https://retrait.test"}, Deps{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Templates: templates.MustLoad(),
		Certificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return &pki().serverCert, nil },
		Gate:        gate, ProxyCert: proxy,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.Router().Handle("/who", srv.requireCertificate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "admis: "+IdentityFrom(r.Context()).CommonName)
	})))
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = srv.Serve(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	mk := func(fill func(*x509.Certificate)) tls.Certificate {
		c, err := newLeaf(caCert, caKey, func(c *x509.Certificate) {
			c.Subject = pkix.Name{CommonName: "Me Sophie Lefèvre"}
			c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
			if fill != nil {
				fill(c)
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	return srv, caCert, mk
}

// fetchAs presents cert (nil: none) whatever the hints, from a chosen local
// address, with extra headers.
func fetchAs(t *testing.T, srv *Server, cert *tls.Certificate, from string, header http.Header) (int, string) {
	t.Helper()
	addr := srv.Addr("portal")
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pki().roots, GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			if cert == nil {
				return &tls.Certificate{}, nil
			}
			return cert, nil
		}},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			d := net.Dialer{}
			if from != "" {
				d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(from)}
			}
			return d.DialContext(ctx, network, addr)
		},
	}
	defer tr.CloseIdleConnections()
	req, _ := http.NewRequest(http.MethodGet, "https://localhost/who", nil)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Each refusal renders a French page saying what happened and what to do.
func TestRefusalPages(t *testing.T) {
	rev := &switchRevocation{}
	srv, _, mk := gatedServer(t, rev, nil)
	good := mk(nil)
	if code, body := fetchAs(t, srv, &good, "", nil); code != 200 || body != "admis: Me Sophie Lefèvre" {
		t.Fatalf("valid certificate: %d %q", code, body)
	}
	expiredOn := time.Now().Add(-10 * time.Minute) // issued while the CA was valid, expired since
	expired := mk(func(c *x509.Certificate) { c.NotBefore, c.NotAfter = expiredOn.Add(-40*time.Minute), expiredOn })
	serverOnly := mk(func(c *x509.Certificate) { c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth} })
	for _, tc := range []struct {
		name   string
		cert   *tls.Certificate
		status int
		want   []string
	}{
		{"expired", &expired, 403, []string{"Certificat expiré", "a expiré le " + expiredOn.Format("02/01/2006"), "AC Avocats (TEST)"}},
		{"wrong usage", &serverOnly, 403, []string{"Certificat inadapté", "authentification"}},
		{"none", nil, 403, []string{"Aucun certificat présenté", "AC Avocats (TEST)", "https://retrait.test"}},
	} {
		code, body := fetchAs(t, srv, tc.cert, "", nil)
		if code != tc.status {
			t.Errorf("%s: status %d", tc.name, code)
		}
		for _, w := range tc.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s: page lacks %q", tc.name, w)
			}
		}
	}
	// The revocation source fails: refused (fail closed), 503, say so.
	rev.err = errors.New("CRL expired")
	fresh := mk(nil)
	code, body := fetchAs(t, srv, &fresh, "", nil)
	if code != 503 || !strings.Contains(body, "Vérification momentanément impossible") {
		t.Errorf("revocation unavailable: %d", code)
	}
	// An admitted (cached) identity is refused as soon as its revocation status is unknown.
	if code, _ := fetchAs(t, srv, &good, "", nil); code != 503 {
		t.Errorf("cached identity with revocation unavailable: %d", code)
	}
}

// Behind a reverse proxy the certificate comes from a header, but only from
// the proxy's address: the same header from anyone else is stripped and the
// person is treated as presenting no certificate.
func TestProxyHeaderOnlyFromTheProxy(t *testing.T) {
	proxy, err := proxycert.New(proxycert.Config{Format: "nginx", TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")}})
	if err != nil {
		t.Fatal(err)
	}
	srv, _, mk := gatedServer(t, &switchRevocation{}, proxy)
	leaf := mk(nil)
	escaped := nginxEscaped(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Certificate[0]}))
	h := http.Header{"X-Ssl-Client-Cert": {escaped}}
	if code, body := fetchAs(t, srv, nil, "127.0.0.2", h); code != 200 || body != "admis: Me Sophie Lefèvre" {
		t.Errorf("from the proxy: %d %q", code, body)
	}
	if code, body := fetchAs(t, srv, nil, "127.0.0.1", h); code != 403 || !strings.Contains(body, "Aucun certificat présenté") {
		t.Errorf("spoofed header from a direct client: %d", code)
	}
	if code, body := fetchAs(t, srv, nil, "127.0.0.2", http.Header{"X-Ssl-Client-Cert": {"garbage%ZZ"}}); code != 403 || !strings.Contains(body, "Certificat illisible") {
		t.Errorf("garbage from the proxy: %d", code)
	}
}

// nginxEscaped is what nginx's $ssl_client_escaped_cert holds: every byte
// but the unreserved ones percent-encoded.
func nginxEscaped(b []byte) string {
	var sb strings.Builder
	for _, c := range b {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~", c) >= 0 {
			sb.WriteByte(c)
		} else {
			fmt.Fprintf(&sb, "%%%02X", c)
		}
	}
	return sb.String()
}
