package store_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"testing"
	"time"

	"sceau.fr/sceau/portal/blobs"
	"sceau.fr/sceau/portal/model"
	"sceau.fr/sceau/portal/rights"
	"sceau.fr/sceau/portal/store"
	"sceau.fr/sceau/portal/store/storetest"
)

// benchCase is an expert's case in progress and its Désignation folder.
func benchCase(b *testing.B, s *store.Store) (owner *model.Account, caseID, folderID int64) {
	b.Helper()
	ctx := context.Background()
	owner, _, err := s.Register(ctx, &model.Account{Role: model.RoleExpert, Domain: "expert", DisplayName: "Pierre Durand",
		Email: "pierre@exemple.test", Court: "Cour d’appel de Rennes", Specialties: "Bâtiment"},
		&model.AccountCertificate{Fingerprint: "bench-fp", Issuer: "CN=AC", Serial: "1", Subject: "CN=Pierre", NotAfter: time.Now().Add(time.Hour)})
	if err != nil {
		b.Fatal(err)
	}
	c, err := s.CreateCase(ctx, owner, &model.Case{FirstApplicant: "M. Martin", FirstDefendant: "SCI", Jurisdiction: "TJ Rennes",
		RGNumber: "24/00001", OrdonnanceDate: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.TransitionCase(ctx, c.ID, owner.ID, rights.StateCreation, rights.StateInProgress); err != nil {
		b.Fatal(err)
	}
	folders, err := s.FoldersReadable(ctx, c.ID, owner.ID)
	if err != nil {
		b.Fatal(err)
	}
	return owner, c.ID, folders[0].ID
}

// BenchmarkDepositAudit compares a deposit with and without its audit
// append, in the same run, on each database: "blob" is the whole deposit
// as the portal makes it (a 64 KiB file streamed into local blob storage,
// fsynced, then recorded); "row" is the database transaction alone (a
// no-op commit), the harshest comparison for the append. Each iteration
// makes one deposit of each kind, in alternating order, so that a busy
// machine slows both alike; the metrics are the medians (off, on) and
// the append's share of the deposit without it.
func BenchmarkDepositAudit(b *testing.B) {
	content := make([]byte, 64<<10)
	_, _ = rand.Read(content)
	for _, dialect := range storetest.Dialects {
		s := storetest.Open(b, dialect)
		owner, caseID, folderID := benchCase(b, s)
		bs, err := blobs.NewLocal(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { bs.Close() })
		ctx := model.WithActor(context.Background(), &model.Actor{AccountID: owner.ID, CertIssuer: "CN=AC Sceau", CertSerial: "1234",
			IP: "192.0.2.1", RequestID: "bench"})
		n := 0
		deposit := func(b *testing.B, mode string, audit bool) time.Duration {
			n++
			d := &model.Document{Kind: model.DocPiece, FileName: "pièce.pdf", ContentType: "application/pdf",
				CertificateIssuer: "CN=AC Sceau", CertificateSerial: "1234"}
			start := time.Now()
			commit := func() error { return nil }
			if mode == "blob" {
				p, err := bs.Put(ctx, bytes.NewReader(content), 1<<20)
				if err != nil {
					b.Fatal(err)
				}
				d.Size, d.SHA256, d.BlobKey = p.Size, hex.EncodeToString(p.SHA256[:]), p.Key
				commit = func() error { return p.Commit(ctx) }
			} else {
				d.Size, d.SHA256, d.BlobKey = 1, fmt.Sprintf("%064x", n), fmt.Sprintf("%032x", 1<<60+n)
			}
			if !audit {
				defer store.SetAuditDisabledForTest()()
			}
			if _, err := s.CreateDocument(ctx, caseID, folderID, owner.ID, d, commit); err != nil {
				b.Fatal(err)
			}
			return time.Since(start)
		}
		for _, mode := range []string{"blob", "row"} {
			b.Run(dialect+"/"+mode, func(b *testing.B) {
				var off, on []time.Duration
				i := 0
				for b.Loop() {
					if i%2 == 0 {
						off = append(off, deposit(b, mode, false))
						on = append(on, deposit(b, mode, true))
					} else {
						on = append(on, deposit(b, mode, true))
						off = append(off, deposit(b, mode, false))
					}
					i++
				}
				mOff, mOn := median(off), median(on)
				b.ReportMetric(float64(mOff.Microseconds()), "µs-off")
				b.ReportMetric(float64(mOn.Microseconds()), "µs-on")
				b.ReportMetric(100*float64(mOn-mOff)/float64(mOff), "%-append")
			})
		}
	}
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
