package store_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"sceau.fr/sceau/portal/mail"
	"sceau.fr/sceau/portal/mail/smtptest"
	"sceau.fr/sceau/portal/model"
	"sceau.fr/sceau/portal/notify"
	"sceau.fr/sceau/portal/store"
	"sceau.fr/sceau/portal/store/storetest"
)

// BenchmarkDigest50kUsers measures the daily digest for 50 k accounts on
// PostgreSQL, mailed through a real SMTP server on loopback (smtptest) by
// one outbox worker, as one instance would: the time to claim and queue
// every digest (RunDigest), then to send them all. The baseline, in the
// same run, is the same worker sending 50 k plain messages of the same
// size queued beforehand: what is left once the digest is queued. Target:
// under 5 minutes in all. The data: 12 500 cases in progress, each with an
// expert, a magistrate and two lawyers of two parties (50 k distinct
// accounts), and 3 documents deposited the previous day (a note by the
// expert, a dire by each lawyer), so that every account has a digest.
// SCEAU_DIGEST_BENCH_USERS changes the count (a multiple of 4). Run with
//
//	.ci/with-postgres go test -run '^$' -bench BenchmarkDigest50kUsers -benchtime 1x ./portal/store/
func BenchmarkDigest50kUsers(b *testing.B) {
	if testing.Short() {
		b.Skip("generates 50 k accounts and sends 100 k mails: not under -short")
	}
	users := 50_000
	if v, err := strconv.Atoi(os.Getenv("SCEAU_DIGEST_BENCH_USERS")); err == nil && v >= 4 {
		users = v / 4 * 4
	}
	ctx := context.Background()
	s := storetest.Open(b, "postgres")
	s.SetNoticeRenderers(noticeRenderer().Renderers())
	day := time.Now().In(notify.Paris).AddDate(0, 0, -1).Format(time.DateOnly)
	start := time.Now()
	generateDigestData(b, s, users, day)
	b.Logf("users=%d: data generated in %v", users, time.Since(start).Round(time.Millisecond))

	srv := smtptest.Start(b)
	sender, err := mail.NewSMTPSender(mail.SMTPConfig{Host: srv.Host(), Port: srv.Port(), Security: mail.SecurityNone,
		From: "noreply@sceau.test", Timeout: 10 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	// workers outbox workers drain at once, as several instances (or
	// several workers of one instance) would; 1 by default.
	workers := 1
	if v, err := strconv.Atoi(os.Getenv("SCEAU_DIGEST_BENCH_WORKERS")); err == nil && v >= 1 {
		workers = v
	}
	drain := func(want int) time.Duration {
		b.Helper()
		t0 := time.Now()
		var wg sync.WaitGroup
		var mu sync.Mutex
		total, failures := 0, 0
		var firstErr error
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				w := &mail.Worker{Store: s, Sender: sender, Batch: 100, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
				// Like Worker.Run woken again and again: concurrent
				// workers claim parts of the same batch, and a pass ends
				// on a short claim.
				for {
					sent, _, failed, err := w.DrainOnce(ctx)
					mu.Lock()
					total, failures = total+sent, failures+failed
					if firstErr == nil {
						firstErr = err
					}
					done := err != nil || total+failures >= want
					mu.Unlock()
					if done {
						return
					}
					if sent+failed == 0 {
						c, err := s.CountOutbox(ctx)
						if err != nil || c.Pending == 0 {
							return
						}
					}
				}
			}()
		}
		wg.Wait()
		d := time.Since(t0)
		if firstErr != nil || failures != 0 || total != want {
			b.Fatalf("drain: sent %d (want %d), failed %d, err %v", total, want, failures, firstErr)
		}
		return d
	}

	b.ResetTimer()
	for range b.N {
		// Baseline: plain messages, queued beforehand (not timed), sent.
		sample, err := noticeRenderer().Digest(day, model.Recipient{Name: "Compte 1", Email: "a1@exemple.test"},
			[]model.NoticeDocument{{CaseID: 1, CaseName: "Affaire 1", RGNumber: "RG 1", FolderName: "Dires", DocumentID: 1,
				Kind: "dire", FileName: "document-1.pdf", Size: 1000, DepositorName: "Compte 3", DepositorRole: "lawyer", DepositedAt: time.Now()}})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		plain := make([]*model.OutboxMessage, 0, 1000)
		for i := 1; i <= users; i++ {
			m := *sample
			m.MessageID, m.ToAddress = mail.NewMessageID(""), fmt.Sprintf("plain%d@exemple.test", i)
			plain = append(plain, &m)
			if len(plain) == cap(plain) || i == users {
				if err := s.EnqueueMail(ctx, plain...); err != nil {
					b.Fatal(err)
				}
				plain = plain[:0]
			}
		}
		b.StartTimer()
		base := drain(users)

		// The digest: claim and queue, then send.
		t0 := time.Now()
		res, err := s.RunDigest(ctx, day, notify.Paris, store.DefaultDigestBatch)
		queue := time.Since(t0)
		if err != nil || res.Queued != users {
			b.Fatalf("digest: %+v, %v (want %d)", res, err, users)
		}
		send := drain(users)
		total := queue + send
		if got := len(srv.Messages()); got != 2*users {
			b.Fatalf("the SMTP server received %d messages, want %d", got, 2*users)
		}
		b.ReportMetric(base.Seconds(), "baseline-send-s")
		b.ReportMetric(queue.Seconds(), "digest-queue-s")
		b.ReportMetric(send.Seconds(), "digest-send-s")
		b.ReportMetric(total.Seconds(), "digest-total-s")
		b.ReportMetric(total.Seconds()/base.Seconds(), "total/baseline")
		b.Logf("users=%d, outbox workers=%d: baseline (send %d plain mails) %v; digest: queue %v + send %v = %v (%.2f× the baseline; target < 5 min)",
			users, workers, users, base.Round(time.Millisecond), queue.Round(time.Millisecond), send.Round(time.Millisecond),
			total.Round(time.Millisecond), total.Seconds()/base.Seconds())
	}
}

// generateDigestData fills PostgreSQL with users/4 cases of 4 accounts
// each and 3 documents per case deposited on day (Paris).
func generateDigestData(b *testing.B, s *store.Store, users int, day string) {
	b.Helper()
	from, err := time.ParseInLocation(time.DateOnly, day, notify.Paris)
	if err != nil {
		b.Fatal(err)
	}
	noon := from.Add(12 * time.Hour).UTC().Format(time.RFC3339)
	n := users / 4
	stmts := []string{
		`SET LOCAL synchronous_commit = off`,
		fmt.Sprintf(`INSERT INTO accounts (id, role, domain, display_name, email, created_at, updated_at)
			SELECT a, (ARRAY['expert','magistrate','lawyer','lawyer'])[1 + (a - 1) %% 4], 'bench',
				'Compte ' || a, 'a' || a || '@exemple.test', now(), now()
			FROM generate_series(1, %d) a`, users),
		fmt.Sprintf(`INSERT INTO cases (id, name, first_applicant, first_defendant, jurisdiction, rg_number,
				ordonnance_date, state, owner_id, created_at, updated_at)
			SELECT c, 'Affaire ' || c, 'Demandeur ' || c, 'Défendeur ' || c, 'TJ Rennes', 'RG ' || c,
				now() - interval '1 year', 'in_progress', 4 * (c - 1) + 1, now(), now()
			FROM generate_series(1, %d) c`, n),
		fmt.Sprintf(`INSERT INTO parties (id, case_id, name, deposit_mode, created_at)
			SELECT 2 * (c - 1) + k, c, 'Partie ' || k, 'lawyer', now()
			FROM generate_series(1, %d) c, generate_series(1, 2) k`, n),
		fmt.Sprintf(`INSERT INTO participants (id, case_id, account_id, role, active, supervising, added_at)
			SELECT 4 * (c - 1) + j, c, 4 * (c - 1) + j, (ARRAY['expert','magistrate','lawyer','lawyer'])[j], true, j = 2, now()
			FROM generate_series(1, %d) c, generate_series(1, 4) j`, n),
		fmt.Sprintf(`INSERT INTO participant_parties (participant_id, party_id)
			SELECT 4 * (c - 1) + j, 2 * (c - 1) + (j - 2)
			FROM generate_series(1, %d) c, generate_series(3, 4) j`, n),
		fmt.Sprintf(`INSERT INTO folders (id, case_id, kind, party_id, name, position, created_at)
			SELECT 3 * (c - 1) + k, c, (ARRAY['expert_notes','party_dires','party_dires'])[k],
				CASE WHEN k >= 2 THEN 2 * (c - 1) + (k - 1) END, (ARRAY['Notes aux parties','Dires','Dires'])[k], 10 * k, now()
			FROM generate_series(1, %d) c, generate_series(1, 3) k`, n),
		fmt.Sprintf(`INSERT INTO documents (id, case_id, folder_id, kind, file_name, content_type, size, sha256,
				blob_key, depositor_participant_id, depositor_account_id, deposited_at)
			SELECT 3 * (c - 1) + k, c, 3 * (c - 1) + k, (ARRAY['note_aux_parties','dire','dire'])[k],
				'document-' || (3 * (c - 1) + k) || '.pdf', 'application/pdf', 1000 + k,
				md5(c::text) || md5(k::text), 'blob/' || (3 * (c - 1) + k),
				4 * (c - 1) + (ARRAY[1, 3, 4])[k], 4 * (c - 1) + (ARRAY[1, 3, 4])[k],
				TIMESTAMPTZ '%s' + k * interval '1 minute'
			FROM generate_series(1, %d) c, generate_series(1, 3) k`, noon, n),
	}
	err = s.GormForTest().Transaction(func(tx *gorm.DB) error {
		for _, q := range stmts {
			if err := tx.Exec(q).Error; err != nil {
				return fmt.Errorf("%.80s…: %w", strings.TrimSpace(q), err)
			}
		}
		return nil
	})
	if err != nil {
		b.Fatalf("generate: %v", err)
	}
	for _, t := range []string{"accounts", "cases", "parties", "participants", "participant_parties", "folders", "documents"} {
		if err := s.GormForTest().Exec("VACUUM ANALYZE " + t).Error; err != nil {
			b.Fatalf("analyze %s: %v", t, err)
		}
	}
}
