package portal

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"sceau.fr/sceau/portal/certgate"
	"sceau.fr/sceau/portal/model"
	"sceau.fr/sceau/templates"
)

// benchAccounts is an in-memory account store: the benchmark measures the
// gate, not a database.
type benchAccounts struct {
	Accounts
	acc *model.Account
}

func (b benchAccounts) AccountByFingerprint(context.Context, string) (*model.Account, *model.AccountCertificate, error) {
	return b.acc, &model.AccountCertificate{}, nil
}

func (b benchAccounts) RecordLogin(context.Context, *model.Login) error { return nil }

type benchRevocation struct{}

func (benchRevocation) IsRevoked(leaf, _ *x509.Certificate) (bool, error) { return false, nil }

// BenchmarkGate compares, in the same run and over keep-alive mTLS
// connections, a request through the whole portal chain (request id, log
// line, metrics, headers, gate with revocation check, account lookup) with a
// bare Go TLS handler answering the same bytes. Target: gated ≥ 80 % of the
// bare throughput (ns/op: gated ≤ 1.25 × bare).
func BenchmarkGate(b *testing.B) {
	caCert, caKey, err := newCA("AC Experts (bench)")
	if err != nil {
		b.Fatal(err)
	}
	leafKey, _ := newKey()
	sn, _ := serial()
	tpl := &x509.Certificate{SerialNumber: sn, Subject: pkix.Name{CommonName: "Pierre Durand"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(nil, tpl, caCert, leafKey.Public(), caKey)
	if err != nil {
		b.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	clientCert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: leafKey, Leaf: leaf}
	gate, err := certgate.New([]certgate.Domain{{Name: "expert", Roots: []*x509.Certificate{caCert}, Roles: []string{"expert"},
		Revocation: benchRevocation{}}})
	if err != nil {
		b.Fatal(err)
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })

	run := func(b *testing.B, addr string) {
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pki().roots, Certificates: []tls.Certificate{clientCert}},
			MaxIdleConnsPerHost: 64,
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, addr)
			}}
		defer tr.CloseIdleConnections()
		c := &http.Client{Transport: tr}
		url := "https://localhost/bench"
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				resp, err := c.Get(url)
				if err != nil {
					b.Error(err)
					return
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || string(body) != "ok" {
					b.Errorf("status %d body %q", resp.StatusCode, body)
					return
				}
			}
		})
	}

	b.Run("bare-tls", func(b *testing.B) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		srv := &http.Server{Handler: ok, TLSConfig: &tls.Config{Certificates: []tls.Certificate{pki().serverCert},
			ClientAuth: tls.RequestClientCert, NextProtos: []string{"h2", "http/1.1"}}}
		go func() { _ = srv.ServeTLS(ln, "", "") }()
		defer srv.Close()
		run(b, ln.Addr().String())
	})
	b.Run("gated", func(b *testing.B) {
		srv, err := New(Config{PortalAddr: "127.0.0.1:0", CounterAddr: "127.0.0.2:0"}, Deps{
			Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
			Templates:   templates.MustLoad(),
			Certificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return &pki().serverCert, nil },
			Gate:        gate,
			Accounts:    benchAccounts{acc: &model.Account{ID: 1, Role: model.RoleExpert, DisplayName: "Pierre Durand", TermsVersion: TermsVersion}},
		})
		if err != nil {
			b.Fatal(err)
		}
		srv.Router().Handle("/bench", srv.requireCertificate(srv.requireAccount(ok)))
		if err := srv.Listen(); err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { _ = srv.Serve(ctx); close(done) }()
		defer func() { cancel(); <-done }()
		run(b, srv.Addr("portal"))
	})
}
