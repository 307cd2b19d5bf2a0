package revocation_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"sceau.fr/sceau/portal/revocation"
)

type ca struct {
	cert *x509.Certificate
	key  crypto.Signer
}

func newCA(t *testing.T, name string) ca {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour * 24 * 365),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		SubjectKeyId: []byte(name)}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return ca{c, key}
}

func (c ca) leaf(t *testing.T, serial int64) *x509.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "Me Dupont"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tpl, c.cert, key.Public(), c.key)
	if err != nil {
		t.Fatal(err)
	}
	l, _ := x509.ParseCertificate(der)
	return l
}

func (c ca) crl(t *testing.T, next time.Time, revoked ...int64) []byte {
	t.Helper()
	var entries []x509.RevocationListEntry
	for _, s := range revoked {
		entries = append(entries, x509.RevocationListEntry{SerialNumber: big.NewInt(s), RevocationTime: time.Now()})
	}
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(1),
		ThisUpdate: next.Add(-24 * time.Hour), NextUpdate: next, RevokedCertificateEntries: entries}, c.cert, c.key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func quietLogger(buf *bytes.Buffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(buf, nil))
}

func TestCRLFromFileAndURL(t *testing.T) {
	justice := newCA(t, "AC Justice")
	bar := newCA(t, "AC Avocats")
	dir := t.TempDir()
	file := filepath.Join(dir, "justice.crl")
	if err := os.WriteFile(file, justice.crl(t, time.Now().Add(time.Hour), 7), 0o600); err != nil {
		t.Fatal(err)
	}
	barCRL := bar.crl(t, time.Now().Add(time.Hour), 9)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(barCRL) }))
	defer srv.Close()

	var logs bytes.Buffer
	c := revocation.NewCRLChecker(context.Background(), revocation.Options{
		Domain: "test", Sources: []revocation.Source{revocation.SourceFromString(file), revocation.SourceFromString(srv.URL + "/bar.crl")},
		Issuers: []*x509.Certificate{justice.cert, bar.cert}, Logger: quietLogger(&logs)})
	for _, tc := range []struct {
		issuer ca
		serial int64
		want   bool
	}{{justice, 7, true}, {justice, 8, false}, {bar, 9, true}, {bar, 7, false}} {
		got, err := c.IsRevoked(tc.issuer.leaf(t, tc.serial), tc.issuer.cert)
		if err != nil || got != tc.want {
			t.Errorf("%s serial %d: revoked=%v err=%v, want %v", tc.issuer.cert.Subject.CommonName, tc.serial, got, err, tc.want)
		}
	}
	if logs.Len() != 0 {
		t.Errorf("unexpected log: %s", logs.String())
	}
}

func TestFailsClosed(t *testing.T) {
	justice := newCA(t, "AC Justice")
	rogue := newCA(t, "AC Justice") // same name, other key
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	now := time.Now()
	clock := func() time.Time { return now }
	cases := []struct {
		name    string
		source  string
		grace   time.Duration
		later   time.Duration
		wantLog string
	}{
		{"stale CRL", write("stale.crl", justice.crl(t, now.Add(-time.Minute))), 0, 0, "past its nextUpdate"},
		{"stale beyond grace", write("grace.crl", justice.crl(t, now.Add(time.Hour))), 30 * time.Minute, 2 * time.Hour, ""},
		{"malformed CRL", write("junk.crl", []byte("garbage")), 0, 0, "malformed CRL"},
		{"CRL signed by a rogue CA with the same name", write("rogue.crl", rogue.crl(t, now.Add(time.Hour))), 0, 0, "not signed by a CA of this domain"},
		{"missing file", filepath.Join(dir, "nope.crl"), 0, 0, "no such file"},
		{"unreachable URL", "http://127.0.0.1:1/crl", 0, 0, "CRL could not be loaded"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			c := revocation.NewCRLChecker(context.Background(), revocation.Options{Domain: "justice",
				Sources: []revocation.Source{revocation.SourceFromString(tc.source)}, Issuers: []*x509.Certificate{justice.cert},
				Grace: tc.grace, Logger: quietLogger(&logs), Now: func() time.Time { return clock().Add(tc.later) },
				Client: &http.Client{Timeout: 2 * time.Second}})
			_, err := c.IsRevoked(justice.leaf(t, 3), justice.cert)
			if !errors.Is(err, revocation.ErrUnavailable) {
				t.Fatalf("err = %v, want ErrUnavailable", err)
			}
			if tc.wantLog != "" && !strings.Contains(logs.String(), tc.wantLog) {
				t.Errorf("log lacks %q:\n%s", tc.wantLog, logs.String())
			}
		})
	}
}

func TestGraceAndRefreshKeepsLastGoodCRL(t *testing.T) {
	justice := newCA(t, "AC Justice")
	now := time.Now()
	var fail atomic.Bool
	crl := justice.crl(t, now.Add(time.Hour), 5)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fail.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write(crl)
	}))
	defer srv.Close()
	offset := time.Duration(0)
	var logs bytes.Buffer
	c := revocation.NewCRLChecker(context.Background(), revocation.Options{Domain: "justice",
		Sources: []revocation.Source{{URL: srv.URL}}, Issuers: []*x509.Certificate{justice.cert},
		Grace: 10 * time.Minute, Logger: quietLogger(&logs), Now: func() time.Time { return now.Add(offset) }})
	fail.Store(true)
	c.RefreshAll(context.Background()) // the publisher is down: keep the CRL we have
	if revoked, err := c.IsRevoked(justice.leaf(t, 5), justice.cert); err != nil || !revoked {
		t.Fatalf("last good CRL not used: %v %v", revoked, err)
	}
	offset = time.Hour + 5*time.Minute // past nextUpdate, within grace
	if _, err := c.IsRevoked(justice.leaf(t, 6), justice.cert); err != nil {
		t.Fatalf("within grace: %v", err)
	}
	offset = time.Hour + 11*time.Minute
	if _, err := c.IsRevoked(justice.leaf(t, 6), justice.cert); !errors.Is(err, revocation.ErrUnavailable) {
		t.Fatalf("beyond grace: %v", err)
	}
	if !strings.Contains(logs.String(), "HTTP 503") {
		t.Errorf("the failed refresh is not logged:\n%s", logs.String())
	}
}
