package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"sceau.fr/sceau/portal/mail"
	"sceau.fr/sceau/portal/mail/smtptest"
	"sceau.fr/sceau/portal/model"
	"sceau.fr/sceau/portal/notify"
	"sceau.fr/sceau/portal/rights"
	"sceau.fr/sceau/portal/store"
	"sceau.fr/sceau/portal/store/storetest"
	"sceau.fr/sceau/templates"
)

var noticeTemplates = templates.MustLoad()

const testPortalURL = "https://portail.sceau.test"

func noticeRenderer() notify.Renderer {
	return notify.Renderer{Templates: noticeTemplates, PortalURL: testPortalURL}
}

func setNotifications(t *testing.T, s *store.Store, acc *model.Account, deposit, others, digest bool) {
	t.Helper()
	if err := s.SaveNotificationSettings(context.Background(), model.NotificationSettings{AccountID: acc.ID,
		DepositMail: deposit, OtherParties: others, DailyDigest: digest}); err != nil {
		t.Fatal(err)
	}
}

// outboxTo lists the queued messages addressed to acc.
func outboxTo(t *testing.T, s *store.Store, acc *model.Account) []model.OutboxMessage {
	t.Helper()
	var out []model.OutboxMessage
	if err := s.GormForTest().Where("to_address = ?", acc.Email).Order("id").Find(&out).Error; err != nil {
		t.Fatal(err)
	}
	return out
}

func noticesOf(t *testing.T, s *store.Store, acc *model.Account) []store.NoticeEntry {
	t.Helper()
	n, err := s.Notices(context.Background(), acc.ID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestNotificationSettingsDefaultsAndChanges(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		acc := caseAccount(t, s, model.RoleLawyer, "Me Réglages")
		got, err := s.NotificationSettings(ctx, acc.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.DepositMail || got.OtherParties || !got.DailyDigest {
			t.Fatalf("defaults = %+v, want the digest only", got)
		}
		setNotifications(t, s, acc, true, true, false)
		setNotifications(t, s, acc, true, false, false) // a second save updates
		got, err = s.NotificationSettings(ctx, acc.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !got.DepositMail || got.OtherParties || got.DailyDigest {
			t.Fatalf("after saving: %+v", got)
		}
	})
}

func TestDepositNoticesFollowSettingsAndRights(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		s.SetNoticeRenderers(noticeRenderer().Renderers())
		f := newDocFixture(t, s)
		magistrate := caseAccount(t, s, model.RoleMagistrate, "Mme la juge Leroy")
		mustParticipant(t, s, f.c, &model.Participant{AccountID: &magistrate.ID, Role: "magistrate"})
		setNotifications(t, s, f.owner, true, false, true)
		setNotifications(t, s, f.lawyer, true, false, true)    // not the other parties' files
		setNotifications(t, s, magistrate, true, true, true)   // everything
		setNotifications(t, s, f.memberL, false, false, false) // nothing
		// f.memberM keeps the defaults: no deposit mail.

		dire := f.deposit(t, s, "party_dires/SCI Les Tilleuls", f.memberM, "dire-n1.pdf")
		note := f.deposit(t, s, "expert_notes", f.owner, "note-aux-parties-1.pdf")
		f.deposit(t, s, "confidential", f.owner, "brouillon.pdf")

		want := map[string][]string{ // account → files announced, in order
			f.owner.Email:    {"dire-n1.pdf"},
			f.lawyer.Email:   {"note-aux-parties-1.pdf"},
			magistrate.Email: {"dire-n1.pdf", "note-aux-parties-1.pdf"},
			f.memberL.Email:  nil, f.memberM.Email: nil, f.paperM.Email: nil,
		}
		for addr, files := range want {
			var msgs []model.OutboxMessage
			if err := s.GormForTest().Where("to_address = ?", addr).Order("id").Find(&msgs).Error; err != nil {
				t.Fatal(err)
			}
			if len(msgs) != len(files) {
				t.Errorf("%s got %d mails, want %d (%v)", addr, len(msgs), len(files), files)
				continue
			}
			for i, m := range msgs {
				if !strings.Contains(m.TextBody, files[i]) {
					t.Errorf("%s mail %d does not name %s:\n%s", addr, i, files[i], m.TextBody)
				}
			}
		}
		// The magistrate's mail about the dire: case, folder, depositor,
		// link; never the document.
		m := outboxTo(t, s, magistrate)[0]
		for _, w := range []string{"24/01234", "Dires", "Gérant SCI", "dire-n1.pdf", "Dire",
			fmt.Sprintf("%s/affaires/%d/documents/%d/recepisse", testPortalURL, f.c.ID, dire.ID), "n’est pas joint"} {
			if !strings.Contains(m.TextBody, w) {
				t.Errorf("deposit mail lacks %q:\n%s", w, m.TextBody)
			}
		}
		if !strings.Contains(m.Subject, "24/01234") || !strings.Contains(m.HTMLBody, "dire-n1.pdf") {
			t.Errorf("subject %q / html lacks the case or file", m.Subject)
		}
		// The history shows every notice with its mail's state.
		h := noticesOf(t, s, magistrate)
		if len(h) != 2 || h[0].Kind != model.NoticeDeposit || *h[0].DocumentID != note.ID || *h[1].DocumentID != dire.ID {
			t.Fatalf("magistrate's history = %+v", h)
		}
		if h[0].SentAt != nil || h[0].QueuedAt.IsZero() || h[0].ToAddress != magistrate.Email || h[0].Summary == "" {
			t.Errorf("history entry = %+v", h[0])
		}
		if err := s.MarkMailSent(context.Background(), h[0].OutboxMessageID, time.Now()); err != nil {
			t.Fatal(err)
		}
		if h := noticesOf(t, s, magistrate); h[0].SentAt == nil || h[1].SentAt != nil {
			t.Errorf("sent state not shown: %+v", h)
		}
		if h := noticesOf(t, s, f.memberL); len(h) != 0 {
			t.Errorf("member without deposit mails has a history: %+v", h)
		}
	})
}

func TestDepositNoticeFailureRefusesTheDeposit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		f := newDocFixture(t, s)
		setNotifications(t, s, f.lawyer, true, false, true)
		s.SetNoticeRenderers(store.NoticeRenderers{Deposit: func(*model.NoticeDocument, model.Recipient) (*model.OutboxMessage, error) {
			return nil, errors.New("template broken")
		}})
		spy := &commitSpy{}
		before := countDocuments(t, s)
		if _, err := s.CreateDocument(context.Background(), f.c.ID, f.folders["expert_notes"], f.owner.ID, fakeDoc("x.pdf"), spy.commit); err == nil {
			t.Fatal("deposit recorded although its notice could not be queued")
		}
		if spy.calls != 0 || countDocuments(t, s) != before {
			t.Errorf("commit calls %d, documents %d → %d", spy.calls, before, countDocuments(t, s))
		}
	})
}

func TestStateChangeAndReminderNoticesAreInTheHistory(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		f := newDocFixture(t, s)
		notifier := func(c *model.Case, to []model.Recipient) ([]*model.OutboxMessage, error) {
			var out []*model.OutboxMessage
			for _, r := range to {
				m, err := mail.Compose(noticeTemplates, "case_state", r.Email, r.Name, map[string]any{
					"Name": r.Name, "Case": c.Name, "RG": c.RGNumber, "State": "En pause", "Effect": "", "By": "Pierre Durand", "Link": testPortalURL})
				if err != nil {
					return nil, err
				}
				out = append(out, m)
			}
			return out, nil
		}
		if _, err := s.TransitionCaseAndNotify(ctx, f.c.ID, f.owner.ID, rights.StateInProgress, rights.StatePaused, notifier); err != nil {
			t.Fatal(err)
		}
		for _, acc := range []*model.Account{f.owner, f.lawyer, f.memberL, f.memberM, f.paperM} {
			h := noticesOf(t, s, acc)
			if len(h) != 1 || h[0].Kind != model.NoticeCaseState || h[0].CaseID == nil || *h[0].CaseID != f.c.ID ||
				!strings.Contains(h[0].Summary, "En pause") || h[0].ToAddress != acc.Email {
				t.Errorf("history of %s = %+v", acc.DisplayName, h)
			}
		}
		mustTransition(t, s, &model.Case{ID: f.c.ID, OwnerID: f.owner.ID, State: string(rights.StatePaused)}, rights.StateInProgress)
		d := f.deposit(t, s, "expert_notes", f.owner, "note.pdf")
		n, err := s.RemindUnopened(ctx, f.c.ID, d.ID, f.owner.ID, func(c *model.Case, doc *model.Document, to []model.Recipient) ([]*model.OutboxMessage, error) {
			var out []*model.OutboxMessage
			for _, r := range to {
				out = append(out, &model.OutboxMessage{MessageID: mail.NewMessageID(""), ToAddress: r.Email, ToName: r.Name,
					Subject: "Relance : " + doc.FileName, TextBody: "relance", HTMLBody: "<p>relance</p>"})
			}
			return out, nil
		})
		if err != nil || n == 0 {
			t.Fatalf("remind: %d, %v", n, err)
		}
		if h := noticesOf(t, s, f.lawyer); len(h) != 2 || h[0].Kind != model.NoticeReminder || *h[0].DocumentID != d.ID {
			t.Errorf("lawyer's history after a reminder = %+v", h)
		}
	})
}

// today is the current day in Paris, the digest day the tests use (their
// documents are deposited now).
func today() string { return time.Now().In(notify.Paris).Format(time.DateOnly) }

func TestDigestListsWhatEachAccountMayReadOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		s.SetNoticeRenderers(noticeRenderer().Renderers())
		f := newDocFixture(t, s)
		setNotifications(t, s, f.paperM, false, false, false) // no digest
		f.deposit(t, s, "expert_notes", f.owner, "note-1.pdf")
		f.deposit(t, s, "confidential", f.owner, "brouillon.pdf")
		f.deposit(t, s, "party_dires/M. Martin", f.lawyer, "dire-martin.pdf")
		other := newDocFixture(t, s) // another case: its people are not told about this one
		res, err := s.RunDigest(ctx, today(), notify.Paris, 2)
		if err != nil {
			t.Fatal(err)
		}
		// The owner, the lawyer and two members; paperM has the digest
		// off, the other case had no deposit.
		if res.Queued != 4 || res.Claimed != 4 {
			t.Errorf("result %+v, want 4 claimed, 4 queued", res)
		}
		want := map[*model.Account][]string{
			f.owner:   {"dire-martin.pdf"},
			f.lawyer:  {"note-1.pdf"},
			f.memberL: {"note-1.pdf", "dire-martin.pdf"},
			f.memberM: {"note-1.pdf", "dire-martin.pdf"},
			f.paperM:  nil, other.owner: nil, other.lawyer: nil,
		}
		for acc, files := range want {
			msgs := outboxTo(t, s, acc)
			if len(files) == 0 {
				if len(msgs) != 0 {
					t.Errorf("%s got a digest", acc.DisplayName)
				}
				continue
			}
			if len(msgs) != 1 {
				t.Errorf("%s got %d digests", acc.DisplayName, len(msgs))
				continue
			}
			for _, file := range files {
				if !strings.Contains(msgs[0].TextBody, file) {
					t.Errorf("%s's digest lacks %s", acc.DisplayName, file)
				}
			}
			if strings.Contains(msgs[0].TextBody, "brouillon.pdf") {
				t.Errorf("%s's digest names a confidential document", acc.DisplayName)
			}
			if h := noticesOf(t, s, acc); len(h) != 1 || h[0].Kind != model.NoticeDigest || h[0].ToAddress != acc.Email ||
				h[0].OutboxMessageID != msgs[0].ID {
				t.Errorf("%s's history = %+v", acc.DisplayName, h)
			}
		}
		// A second run (another instance, or the next check) sends nothing.
		res, err = s.RunDigest(ctx, today(), notify.Paris, 2)
		if err != nil || res.Claimed != 0 || res.Queued != 0 {
			t.Errorf("second run: %+v, %v", res, err)
		}
		// Another day has no document.
		res, err = s.RunDigest(ctx, "2020-01-01", notify.Paris, 2)
		if err != nil || res.Claimed != 0 {
			t.Errorf("empty day: %+v, %v", res, err)
		}
	})
}

// digestCrowd is a case in progress with n lawyers of one party, and a
// note deposited by the expert today: n+1 accounts to digest (the expert
// has nothing new, his own deposit aside; members none).
func digestCrowd(t *testing.T, s *store.Store, n int) (*docFixture, []*model.Account) {
	t.Helper()
	f := newDocFixture(t, s)
	lawyers := []*model.Account{f.lawyer}
	for i := 1; i < n; i++ {
		a := caseAccount(t, s, model.RoleLawyer, fmt.Sprintf("Me Avocat %d", i))
		mustParticipant(t, s, f.c, &model.Participant{AccountID: &a.ID, Role: "lawyer", PartyIDs: []int64{f.pLawyer.ID}})
		lawyers = append(lawyers, a)
	}
	f.deposit(t, s, "expert_notes", f.owner, "note-commune.pdf")
	return f, lawyers
}

func TestDigestCrashHalfwayResendsNothingAndMissesNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		f, lawyers := digestCrowd(t, s, 12)
		recipients := append(slices.Clone(lawyers), f.memberL, f.memberM, f.paperM) // 15
		good := noticeRenderer()
		calls := 0
		// The renderer "crashes" on its 8th account. Batches of 5 accounts
		// in id order: the first (the expert, with nothing new, the lawyer
		// and the 3 members: 4 digests) is committed, the second rolled
		// back.
		s.SetNoticeRenderers(store.NoticeRenderers{Digest: func(day string, to model.Recipient, docs []model.NoticeDocument) (*model.OutboxMessage, error) {
			if calls++; calls == 8 {
				return nil, errors.New("crash")
			}
			return good.Digest(day, to, docs)
		}})
		res, err := s.RunDigest(ctx, today(), notify.Paris, 5)
		if err == nil {
			t.Fatal("the failing run reported no error")
		}
		if res.Queued != 4 {
			t.Fatalf("before the crash %d digests were committed, want 4", res.Queued)
		}
		runs, err := s.DigestRuns(ctx, today())
		if err != nil || len(runs) != 5 {
			t.Fatalf("claims after the crash: %d, %v", len(runs), err)
		}
		// Restart: the rest goes out, nothing twice.
		s.SetNoticeRenderers(good.Renderers())
		res, err = s.RunDigest(ctx, today(), notify.Paris, 5)
		if err != nil || res.Queued != 11 {
			t.Fatalf("resumed run: %+v, %v (want 11 more)", res, err)
		}
		// Through a real SMTP server: each recipient gets exactly one.
		srv := smtptest.Start(t)
		sender, err := mail.NewSMTPSender(mail.SMTPConfig{Host: srv.Host(), Port: srv.Port(), Security: mail.SecurityNone,
			From: "noreply@sceau.test", Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		w := &mail.Worker{Store: s, Sender: sender, Batch: 50}
		if sent, _, failed, err := w.DrainOnce(ctx); err != nil || failed != 0 || sent != 15 {
			t.Fatalf("drain: sent %d failed %d err %v", sent, failed, err)
		}
		got := map[string]int{}
		for _, m := range srv.Messages() {
			for _, to := range m.To {
				got[to]++
			}
		}
		for _, a := range recipients {
			if got[a.Email] != 1 {
				t.Errorf("%s received %d digests", a.Email, got[a.Email])
			}
			// The history and the claim point at this account's mail.
			h := noticesOf(t, s, a)
			if len(h) != 1 || h[0].ToAddress != a.Email || h[0].SentAt == nil {
				t.Errorf("%s's history: %+v", a.Email, h)
			}
		}
		runs, err = s.DigestRuns(ctx, today())
		if err != nil || len(runs) != 16 { // the 15 and the expert, with nothing new
			t.Fatalf("claims: %d, %v", len(runs), err)
		}
		if h := noticesOf(t, s, f.owner); len(h) != 0 {
			t.Errorf("the expert, with nothing new, has notices: %+v", h)
		}
	})
}

func TestDigestFromConcurrentInstancesGoesOutOnce(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			dsn := storetest.DSN(t, dialect)
			var instances []*store.Store
			for range 3 {
				s, err := store.Open(ctx, store.Options{Driver: dialect, DSN: dsn, MaxOpenConns: 4})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = s.Close() })
				s.SetNoticeRenderers(noticeRenderer().Renderers())
				instances = append(instances, s)
			}
			if _, err := instances[0].Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			s := instances[0]
			f, lawyers := digestCrowd(t, s, 20)
			var wg sync.WaitGroup
			results := make([]store.DigestResult, 6)
			errs := make([]error, 6)
			for i := range 6 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					results[i], errs[i] = instances[i%3].RunDigest(ctx, today(), notify.Paris, 3)
				}()
			}
			wg.Wait()
			total := 0
			for i := range results {
				if errs[i] != nil {
					t.Errorf("instance %d: %v", i, errs[i])
				}
				total += results[i].Queued
			}
			if total != 23 {
				t.Errorf("%d digests queued in all, want 23", total)
			}
			for _, a := range append(lawyers, f.memberL, f.memberM, f.paperM) {
				if n := len(outboxTo(t, s, a)); n != 1 {
					t.Errorf("%s: %d digests", a.DisplayName, n)
				}
			}
		})
	}
}

// A day whose digest no instance ran (every instance down from the digest
// time until midnight) is sent late by the next check; a day that ran is
// not run again by a restarted instance, so someone who joined the case
// since gets no digest of documents from before they joined.
func TestMissedDigestDayIsSentLateOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		s.SetNoticeRenderers(noticeRenderer().Renderers())
		f := newDocFixture(t, s)
		f.deposit(t, s, "expert_notes", f.owner, "note-du-jour.pdf")
		// Two days later at 08:00 (digest at 07:30): the deposit's day was
		// never run; yesterday (no document) is due as usual.
		d := time.Now().In(notify.Paris).AddDate(0, 0, 2)
		now := time.Date(d.Year(), d.Month(), d.Day(), 8, 0, 0, 0, notify.Paris)
		worker := func() *notify.DigestWorker {
			return &notify.DigestWorker{Store: s, Hour: 7, Minute: 30, Now: func() time.Time { return now }}
		}
		if _, _, err := worker().RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		for _, acc := range []*model.Account{f.lawyer, f.memberL, f.memberM} {
			msgs := outboxTo(t, s, acc)
			if len(msgs) != 1 || !strings.Contains(msgs[0].TextBody, "note-du-jour.pdf") {
				t.Fatalf("%s: %d late digests", acc.DisplayName, len(msgs))
			}
		}
		newcomer := caseAccount(t, s, model.RoleLawyer, "Me Arrivée Tardive")
		mustParticipant(t, s, f.c, &model.Participant{AccountID: &newcomer.ID, Role: "lawyer", PartyIDs: []int64{f.pLawyer.ID}})
		if _, _, err := worker().RunOnce(ctx); err != nil { // a restarted instance
			t.Fatal(err)
		}
		if n := len(outboxTo(t, s, newcomer)); n != 0 {
			t.Errorf("the newcomer got %d digests of a day before they joined", n)
		}
		if n := len(outboxTo(t, s, f.lawyer)); n != 1 {
			t.Errorf("the lawyer got %d digests of that day", n)
		}
	})
}
