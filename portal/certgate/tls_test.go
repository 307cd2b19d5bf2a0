package certgate_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"sceau.fr/sceau/portal/certgate"
)

// TestTLSHandshake runs real handshakes against a crypto/tls server that
// asks for a client certificate without verifying it (the portal listener's
// mode) and feeds ConnectionState().PeerCertificates to the gate.
func TestTLSHandshake(t *testing.T) {
	p := testPKI(t)
	g, err := certgate.New(p.domains()) // real clock: certificates are dated around now
	if err != nil {
		t.Fatal(err)
	}

	serverCA := newRoot(t, "Portail Sceau serveur (TEST)", ecdsaP256)
	serverLeaf := serverCA.newLeaf(t, ecdsaP256, withEKU(x509.ExtKeyUsageServerAuth), func(c *x509.Certificate) {
		c.DNSNames = []string{"portail.sceau.test"}
	})
	serverRoots := x509.NewCertPool()
	serverRoots.AddCert(serverCA.cert)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()

	type client struct {
		name   string
		certs  []*x509.Certificate // leaf first; nil = no certificate
		key    any
		domain string               // of the identity, or of the refusal ("" for none)
		kind   certgate.RefusalKind // 0: an identity is expected
	}
	justice := p.justiceInter.newLeaf(t, ecdsaP256)
	lawyer := p.barInter.newLeaf(t, rsa2048)
	expertRSA := p.expertInter.newLeaf(t, rsa2048)
	expired := p.justiceInter.newLeaf(t, ecdsaP256, validity(time.Now().Add(-year), time.Now().Add(-day)))
	orphan := p.justiceInter.newLeaf(t, rsa2048)
	rogue := newRoot(t, "ignored", ecdsaP256, copyIdentityOf(p.justiceInter.cert))
	rogueLeaf := rogue.newLeaf(t, ecdsaP256)
	serverOnly := p.barInter.newLeaf(t, rsa2048, withEKU(x509.ExtKeyUsageServerAuth))
	clients := []client{
		{"ECDSA justice", chain(justice.cert, p.justiceInter.cert), justice.key, "justice", 0},
		{"RSA bar", chain(lawyer.cert, p.barInter.cert), lawyer.key, "bar", 0},
		{"RSA expert, configured intermediate", chain(expertRSA.cert), expertRSA.key, "expert", 0},
		{"no certificate", nil, nil, "", certgate.RefusalNoCertificate},
		{"ECDSA expired", chain(expired.cert, p.justiceInter.cert), expired.key, "justice", certgate.RefusalExpired},
		{"RSA intermediate missing", chain(orphan.cert), orphan.key, "", certgate.RefusalUnknownCA},
		{"ECDSA rogue issuer", chain(rogueLeaf.cert, rogue.cert), rogueLeaf.key, "", certgate.RefusalUnknownCA},
		{"RSA serverAuth only", chain(serverOnly.cert, p.barInter.cert), serverOnly.key, "bar", certgate.RefusalWrongUsage},
	}

	for _, version := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		for _, c := range clients {
			t.Run(tls.VersionName(version)+"/"+c.name, func(t *testing.T) {
				peer := make(chan []*x509.Certificate, 1)
				serverErr := make(chan error, 1)
				go func() {
					conn, err := ln.Accept()
					if err != nil {
						serverErr <- err
						return
					}
					defer conn.Close()
					_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
					srv := tls.Server(conn, &tls.Config{
						Certificates: []tls.Certificate{{
							Certificate: [][]byte{serverLeaf.cert.Raw, serverCA.cert.Raw},
							PrivateKey:  serverLeaf.key, Leaf: serverLeaf.cert,
						}},
						ClientAuth: tls.RequestClientCert,
						MinVersion: version, MaxVersion: version,
					})
					if err := srv.Handshake(); err != nil {
						serverErr <- err
						return
					}
					st := srv.ConnectionState()
					if st.Version != version {
						serverErr <- errors.New("negotiated " + tls.VersionName(st.Version))
						return
					}
					if st.VerifiedChains != nil {
						serverErr <- errors.New("RequestClientCert must not verify")
						return
					}
					peer <- st.PeerCertificates
					_, _ = srv.Write([]byte("k"))
					serverErr <- nil
				}()

				cfg := &tls.Config{ServerName: "portail.sceau.test", RootCAs: serverRoots, MinVersion: version, MaxVersion: version}
				if c.certs != nil {
					var raw [][]byte
					for _, cert := range c.certs {
						raw = append(raw, cert.Raw)
					}
					cfg.Certificates = []tls.Certificate{{Certificate: raw, PrivateKey: c.key, Leaf: c.certs[0]}}
				}
				conn, err := tls.Dial("tcp", ln.Addr().String(), cfg)
				if err != nil {
					t.Fatalf("client handshake: %v", err)
				}
				defer conn.Close()
				_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
				if _, err := io.ReadFull(conn, make([]byte, 1)); err != nil {
					t.Fatalf("client read: %v", err)
				}
				if err := <-serverErr; err != nil {
					t.Fatalf("server: %v", err)
				}
				presented := <-peer
				if len(presented) != len(c.certs) {
					t.Fatalf("server saw %d certificates, client sent %d", len(presented), len(c.certs))
				}

				id, r := g.Check(presented)
				if c.kind == 0 {
					id := wantIdentity(t, res(id, r), c.domain)
					if !id.Leaf.Equal(c.certs[0]) || id.CommonName != "Camille Martin" || len(id.Fingerprint) != 64 {
						t.Fatalf("identity = %+v", id)
					}
					return
				}
				wantRefusal(t, res(id, r), c.kind, c.domain)
			})
		}
	}
}
