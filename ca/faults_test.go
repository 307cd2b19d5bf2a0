package ca_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"sceau.fr/sceau/ca"
	"sceau.fr/sceau/portal/model"
	"sceau.fr/sceau/portal/store"
	"sceau.fr/sceau/portal/store/storetest"
)

// flakyStore fails chosen operations, as a database that goes down in the
// middle of an issuance would.
type flakyStore struct {
	*store.Store
	failStore, failToken bool
}

var errDown = errors.New("connection refused")

func (f *flakyStore) StoreCertificate(ctx context.Context, c *model.IssuedCertificate) error {
	if f.failStore {
		return errDown
	}
	return f.Store.StoreCertificate(ctx, c)
}

func (f *flakyStore) UseToken(ctx context.Context, id string, exp time.Time) (bool, error) {
	if f.failToken {
		return false, errDown
	}
	return f.Store.UseToken(ctx, id, exp)
}

// Issuance spends its token and records the certificate in one step.
func (f *flakyStore) StoreCertificateSpendingToken(ctx context.Context, c *model.IssuedCertificate, id string, exp time.Time) error {
	if f.failStore || f.failToken {
		return errDown
	}
	return f.Store.StoreCertificateSpendingToken(ctx, c, id, exp)
}

// No certificate without its record: when the database fails while
// issuing, IssueClient returns no certificate, and a retry works once the
// database is back.
func TestDatabaseDownDuringIssuance(t *testing.T) {
	s := storetest.Open(t, "sqlite")
	f := &flakyStore{Store: s}
	c, err := ca.Open(context.Background(), ca.Options{Dir: bootstrap(t), Password: testPassword, Store: f})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		set  func()
	}{
		{"recording the certificate fails", func() { f.failStore, f.failToken = true, false }},
		{"spending the token fails", func() { f.failStore, f.failToken = false, true }},
	} {
		tc.set()
		issued, err := c.IssueClient(ctx, csrFor(t, ecKey(t), ""), litigant())
		if err == nil || issued != nil {
			t.Fatalf("%s: a certificate was returned without its record", tc.name)
		}
		n, _ := s.CountCertificates(ctx, time.Now())
		if n.Issued != 0 {
			t.Fatalf("%s: %d records", tc.name, n.Issued)
		}
	}
	f.failStore, f.failToken = false, false
	issued, err := c.IssueClient(ctx, csrFor(t, ecKey(t), ""), litigant())
	if err != nil {
		t.Fatalf("retry once the database is back: %v", err)
	}
	if rec, err := s.GetCertificate(ctx, issued.Leaf.SerialNumber.String()); err != nil || rec == nil {
		t.Fatalf("record of the retried issuance: %v", err)
	}
}

func TestExpiringIntermediateWarns(t *testing.T) {
	c, _ := newCA(t, "sqlite")
	if w := c.ExpiryWarnings(time.Now()); len(w) != 0 {
		t.Fatalf("a new CA warns: %v", w)
	}
	soon := c.Intermediate().NotAfter.Add(-89 * 24 * time.Hour)
	w := c.ExpiryWarnings(soon)
	if len(w) != 1 || !strings.Contains(w[0], "rotate-intermediate") || !strings.Contains(w[0], "Issuing CA") {
		t.Fatalf("89 days before expiry: %v", w)
	}
	st, err := c.Status(context.Background())
	if err != nil || st.KeyLocation == "" || !st.RootKeyOnline {
		t.Fatalf("status: %+v %v", st, err)
	}
}
