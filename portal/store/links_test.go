package store_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"sceau.fr/sceau/portal/model"
	"sceau.fr/sceau/portal/store"
	"sceau.fr/sceau/portal/store/storetest"
)

func TestCertificateLinks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Now()
		acc, _, err := s.Register(ctx, expert(), cert("fp-first"))
		if err != nil {
			t.Fatal(err)
		}
		mail := &model.OutboxMessage{MessageID: "<link-1@test>", ToAddress: acc.Email, Subject: "Ajout", TextBody: "x", HTMLBody: "x"}
		link := &model.CertificateLink{AccountID: acc.ID, TokenHash: "hash-1", ExpiresAt: now.Add(24 * time.Hour)}
		if err := s.CreateCertificateLink(ctx, link, mail); err != nil {
			t.Fatal(err)
		}
		if n, _ := s.CountOutbox(ctx); n.Pending != 1 {
			t.Errorf("the link's mail is not queued with it: %+v", n)
		}
		if got, err := s.CertificateLinkAccount(ctx, "hash-1", now); err != nil || got.ID != acc.ID {
			t.Fatalf("link account: %v", err)
		}
		// Two clicks at once: one certificate added, one uniform refusal.
		var ok atomic.Int32
		var wg sync.WaitGroup
		for i := 0; i < 4; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				_, err := s.UseCertificateLink(ctx, "hash-1", cert("fp-second"), now)
				if err == nil {
					ok.Add(1)
				} else if !errors.Is(err, store.ErrLinkInvalid) && !errors.Is(err, store.ErrCertificateTaken) {
					t.Error(err)
				}
			}(i)
		}
		wg.Wait()
		if ok.Load() != 1 {
			t.Fatalf("%d uses of one link succeeded", ok.Load())
		}
		if got, _, err := s.AccountByFingerprint(ctx, "fp-second"); err != nil || got.ID != acc.ID {
			t.Fatalf("new certificate not on the account: %v", err)
		}
		expired := &model.CertificateLink{AccountID: acc.ID, TokenHash: "hash-old", ExpiresAt: now.Add(-time.Minute)}
		if err := s.CreateCertificateLink(ctx, expired, &model.OutboxMessage{MessageID: "<link-2@test>", ToAddress: acc.Email, Subject: "x", TextBody: "x", HTMLBody: "x"}); err != nil {
			t.Fatal(err)
		}
		for _, h := range []string{"hash-old", "hash-unknown", "hash-1"} {
			if _, err := s.UseCertificateLink(ctx, h, cert("fp-third"), now); !errors.Is(err, store.ErrLinkInvalid) {
				t.Errorf("%s: %v", h, err)
			}
		}
		certs, _ := s.AccountCertificates(ctx, acc.ID)
		if len(certs) != 2 {
			t.Fatalf("%d certificates", len(certs))
		}
		byFP := map[string]int64{}
		for _, c := range certs {
			byFP[c.Fingerprint] = c.ID
		}
		if err := s.RemoveCertificate(ctx, acc.ID, byFP["fp-first"], now); err != nil {
			t.Fatal(err)
		}
		if err := s.RemoveCertificate(ctx, acc.ID, byFP["fp-second"], now); !errors.Is(err, store.ErrLastCertificate) {
			t.Errorf("removing the last certificate: %v", err)
		}
		if _, _, err := s.AccountByFingerprint(ctx, "fp-first"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a removed certificate still signs in: %v", err)
		}
		if c, err := s.CertificateByFingerprint(ctx, "fp-first"); err != nil || c.RemovedAt == nil {
			t.Errorf("removed certificate record: %+v %v", c, err)
		}
	})
}
