package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"sceau.fr/sceau/portal/model"
	"sceau.fr/sceau/portal/rights"
	"sceau.fr/sceau/portal/store"
	"sceau.fr/sceau/portal/store/storetest"
)

var orderSeq atomic.Int64

// orderFixture: an expert's case in progress with a party in "dépôt
// intervenant" mode and one member without an account.
func orderFixture(t *testing.T, s *store.Store) (*model.Case, *model.Participant) {
	t.Helper()
	owner := caseAccount(t, s, model.RoleExpert, "Pierre Durand")
	c := mustCase(t, s, owner)
	mustTransition(t, s, c, rights.StateInProgress)
	party := mustParty(t, s, c, "Hélène Dupré-Lefèvre", rights.ModeMember)
	p := mustParticipant(t, s, c, &model.Participant{Role: string(rights.RolePartyMember), PartyID: &party.ID, Active: true,
		DisplayName: "Hélène D’Arcy-Lefèvre", Email: "Helene.Dupre+sceau@Exemple.FR", Phone: "06 12 34 56 78"})
	return c, p
}

func newOrder(c *model.Case, p *model.Participant, downloads int) *model.CertificateOrder {
	n := orderSeq.Add(1)
	return &model.CertificateOrder{CaseID: c.ID, ParticipantID: p.ID, Name: p.DisplayName, Email: p.Email, Phone: p.Phone,
		ValidityDays: 180, DownloadsAllowed: downloads, TokenHash: fmt.Sprintf("token-%d", n), LinkExpiresAt: time.Now().Add(7 * 24 * time.Hour),
		CodeSalt: "salt", CodeHash: "hash", FormNonce: fmt.Sprintf("nonce-%016d", n)}
}

func orderMail(o *model.CertificateOrder, c *model.Case, expert *model.Account) (*model.OutboxMessage, error) {
	return testMail(o.Email, "retrait "+c.Name), nil
}

func mustOrder(t *testing.T, s *store.Store, c *model.Case, o *model.CertificateOrder) *model.CertificateOrder {
	t.Helper()
	out, again, err := s.CreateOrder(context.Background(), c.OwnerID, o, orderMail)
	if err != nil || again {
		t.Fatalf("order: %v (again %v)", err, again)
	}
	return out
}

func countMail(t *testing.T, s *store.Store, to string) int64 {
	t.Helper()
	var n int64
	if err := s.GormForTest().Model(&model.OutboxMessage{}).Where("to_address = ?", to).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func collection(o *model.CertificateOrder, claim, serial string) *model.Collection {
	return &model.Collection{OrderID: o.ID, Claim: claim, At: time.Now(),
		Certificate: model.CollectedCertificate{Serial: serial, Fingerprint: "fp-" + serial, NotAfter: time.Now().Add(180 * 24 * time.Hour), Profile: "compatible", CollectedFrom: "192.0.2.7"},
		Account:     model.AccountCertificate{Fingerprint: "fp-" + serial, Issuer: "CN=Sceau Issuing CA", Serial: serial, Subject: "CN=Hélène", NotAfter: time.Now().Add(180 * 24 * time.Hour)}}
}

func collectedMail(o *model.CertificateOrder, expert, person *model.Account) ([]*model.OutboxMessage, error) {
	return []*model.OutboxMessage{
		testMail(expert.Email, "retiré"),
		testMail(person.Email, "confirmation"),
	}, nil
}

// An order is idempotent per form (a double click creates one order and
// one mail); ordering again replaces the earlier order.
func TestOrderIsIdempotentAndReplacesEarlierOnes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		c, p := orderFixture(t, s)
		o := newOrder(c, p, 1)
		first := mustOrder(t, s, c, o)
		dup := *newOrder(c, p, 1)
		dup.FormNonce = o.FormNonce
		again, existing, err := s.CreateOrder(ctx, c.OwnerID, &dup, orderMail)
		if err != nil || !existing || again.ID != first.ID {
			t.Fatalf("same form twice: %v existing=%v", err, existing)
		}
		if n := countMail(t, s, p.Email); n != 1 {
			t.Fatalf("%d collection mails for one order", n)
		}
		// Someone else replaying the form nonce gets nothing.
		stranger := caseAccount(t, s, model.RoleExpert, "Autre Expert")
		if _, _, err := s.CreateOrder(ctx, stranger.ID, &dup, orderMail); !errors.Is(err, store.ErrForbidden) {
			t.Fatalf("another account replaying the form: %v", err)
		}
		second := mustOrder(t, s, c, newOrder(c, p, 1))
		v, err := s.OrderByToken(ctx, first.TokenHash)
		if err != nil || v.Order.State != model.OrderReplaced {
			t.Fatalf("first order after a re-issue: %+v %v", v, err)
		}
		if v, err := s.OrderByToken(ctx, second.TokenHash); err != nil || v.Order.State != model.OrderOpen || v.CaseName != c.Name || v.ExpertName != "Pierre Durand" {
			t.Fatalf("second order: %+v %v", v, err)
		}
	})
}

// Only the owner orders, only for party members and sapiteurs without a
// professional account, and not once the case is finished.
func TestOrderRefusals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		c, p := orderFixture(t, s)
		lawyer := caseAccount(t, s, model.RoleLawyer, "Me Avocat")
		lp := mustParticipant(t, s, c, &model.Participant{Role: string(rights.RoleLawyer), AccountID: &lawyer.ID, Active: true})
		if _, _, err := s.CreateOrder(ctx, c.OwnerID, newOrder(c, lp, 1), orderMail); !errors.Is(err, model.ErrNotOrderable) {
			t.Errorf("order for a lawyer: %v", err)
		}
		if _, _, err := s.CreateOrder(ctx, lawyer.ID, newOrder(c, p, 1), orderMail); !errors.Is(err, store.ErrForbidden) {
			t.Errorf("order by a participant who is not the owner: %v", err)
		}
		other := caseAccount(t, s, model.RoleExpert, "Autre Expert")
		if _, _, err := s.CreateOrder(ctx, other.ID, newOrder(c, p, 1), orderMail); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("order by a stranger: %v", err)
		}
		mustTransition(t, s, c, rights.StateFinished)
		if _, _, err := s.CreateOrder(ctx, c.OwnerID, newOrder(c, p, 1), orderMail); !errors.Is(err, store.ErrCaseClosed) {
			t.Errorf("order on a finished case: %v", err)
		}
	})
}

// Wrong codes lock the order at the limit and count per address; the
// answer is the same whatever the reason. The expert re-arms the order.
func TestVerifyCodeLimits(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		c, p := orderFixture(t, s)
		o := mustOrder(t, s, c, newOrder(c, p, 1))
		lim := model.CodeLimits{PerOrder: 3, PerAddress: 100, Window: time.Hour}
		wrong := func(*model.CertificateOrder) bool { return false }
		right := func(*model.CertificateOrder) bool { return true }
		for i := 0; i < 3; i++ {
			if _, err := s.VerifyCode(ctx, o.TokenHash, "192.0.2.1", time.Now(), lim, wrong); !errors.Is(err, model.ErrWrongCode) {
				t.Fatalf("wrong code %d: %v", i, err)
			}
		}
		if _, err := s.VerifyCode(ctx, o.TokenHash, "192.0.2.1", time.Now(), lim, right); !errors.Is(err, model.ErrWrongCode) {
			t.Fatalf("the right code on a locked order: %v", err)
		}
		if err := s.RearmOrder(ctx, c.ID, c.OwnerID, p.ID); err != nil {
			t.Fatal(err)
		}
		if got, err := s.VerifyCode(ctx, o.TokenHash, "192.0.2.1", time.Now(), lim, right); err != nil || got.ID != o.ID {
			t.Fatalf("after re-arming: %v", err)
		}
		if err := s.RearmOrder(ctx, c.ID, c.OwnerID, p.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("re-arming an order that is not locked: %v", err)
		}
		// Per address: guesses spread over orders still hit the limit.
		lim = model.CodeLimits{PerOrder: 100, PerAddress: 4, Window: time.Hour}
		o2 := mustOrder(t, s, c, newOrder(c, p, 1))
		for i := 0; i < 4; i++ {
			_, _ = s.VerifyCode(ctx, o2.TokenHash, "198.51.100.9", time.Now(), lim, wrong)
		}
		if _, err := s.VerifyCode(ctx, o2.TokenHash, "198.51.100.9", time.Now(), lim, right); !errors.Is(err, model.ErrWrongCode) {
			t.Fatalf("address over its limit: %v", err)
		}
		if _, err := s.VerifyCode(ctx, o2.TokenHash, "198.51.100.10", time.Now(), lim, right); err != nil {
			t.Fatalf("another address: %v", err)
		}
		// Wrong codes older than a day are forgotten: the address is free again.
		if n, err := s.PurgeCounterFailures(ctx, time.Now().Add(time.Hour)); err != nil || n != 7 {
			t.Fatalf("purge: %d %v (want the 3 + 4 wrong codes)", n, err)
		}
		if _, err := s.VerifyCode(ctx, o2.TokenHash, "198.51.100.9", time.Now(), lim, right); err != nil {
			t.Fatalf("the address after the purge: %v", err)
		}
		if _, err := s.VerifyCode(ctx, "unknown", "198.51.100.10", time.Now(), lim, right); !errors.Is(err, model.ErrOrderUnusable) {
			t.Fatalf("unknown link: %v", err)
		}
		if _, err := s.VerifyCode(ctx, o2.TokenHash, "198.51.100.10", time.Now().Add(8*24*time.Hour), lim, right); !errors.Is(err, model.ErrOrderUnusable) {
			t.Fatalf("expired link: %v", err)
		}
	})
}

// Parallel wrong guesses cannot exceed the per-order limit (the counter
// is read and written in one locked transaction), even from two instances.
func TestVerifyCodeParallelGuesses(t *testing.T) {
	storetest.EachPair(t, func(t *testing.T, a, b *store.Store) {
		ctx := context.Background()
		c, p := orderFixture(t, a)
		o := mustOrder(t, a, c, newOrder(c, p, 1))
		lim := model.CodeLimits{PerOrder: 5, PerAddress: 1000, Window: time.Hour}
		var wg sync.WaitGroup
		var refused atomic.Int64
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s := []*store.Store{a, b}[i%2]
				if _, err := s.VerifyCode(ctx, o.TokenHash, fmt.Sprintf("192.0.2.%d", i), time.Now(), lim,
					func(*model.CertificateOrder) bool { return false }); errors.Is(err, model.ErrWrongCode) {
					refused.Add(1)
				} else {
					t.Errorf("guess %d: %v", i, err)
				}
			}()
		}
		wg.Wait()
		var got model.CertificateOrder
		if err := a.GormForTest().First(&got, o.ID).Error; err != nil {
			t.Fatal(err)
		}
		if got.FailedAttempts != 5 || got.LockedAt == nil {
			t.Fatalf("after 20 parallel wrong guesses: %d counted, locked %v", got.FailedAttempts, got.LockedAt)
		}
	})
}

// Two windows collecting the last download at once: one claim wins; the
// loser is told a collection is in progress, then that it was collected.
// The first collection creates the litigant's account and links the
// participant; a released claim gives the download back.
func TestCollectionClaimAndComplete(t *testing.T) {
	storetest.EachPair(t, func(t *testing.T, a, b *store.Store) {
		ctx := context.Background()
		c, p := orderFixture(t, a)
		o := mustOrder(t, a, c, newOrder(c, p, 1))
		now := time.Now()
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, s := range []*store.Store{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = s.ClaimCollection(ctx, o.ID, fmt.Sprintf("claim-%d", i), now, now.Add(time.Minute))
			}()
		}
		wg.Wait()
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil && winner == -1:
				winner = i
			case errors.Is(err, model.ErrCollectionBusy):
			default:
				t.Fatalf("claims: %v", errs)
			}
		}
		if winner == -1 {
			t.Fatalf("no claim won: %v", errs)
		}
		claim := fmt.Sprintf("claim-%d", winner)
		// A failure (CA down): the claim is released and can be taken again.
		if err := a.ReleaseCollection(ctx, o.ID, claim); err != nil {
			t.Fatal(err)
		}
		if err := b.ClaimCollection(ctx, o.ID, "claim-retry", now, now.Add(time.Minute)); err != nil {
			t.Fatalf("claim after a release: %v", err)
		}
		// Completing under a lost claim fails (the caller revokes).
		if _, err := a.CompleteCollection(ctx, collection(o, claim, "1001"), collectedMail); !errors.Is(err, model.ErrCollectionBusy) {
			t.Fatalf("complete with a lost claim: %v", err)
		}
		acc, err := b.CompleteCollection(ctx, collection(o, "claim-retry", "1002"), collectedMail)
		if err != nil {
			t.Fatal(err)
		}
		if acc.Domain != model.LitigantDomain || acc.Role != model.RolePartyMember || acc.DisplayName != p.DisplayName || acc.Email != p.Email {
			t.Fatalf("litigant account: %+v", acc)
		}
		// The certificate signs in to that account; the participant is linked.
		got, c2, err := a.AccountByFingerprint(ctx, "fp-1002")
		if err != nil || got.ID != acc.ID || c2.Serial != "1002" {
			t.Fatalf("sign-in with the collected certificate: %v", err)
		}
		if cases, err := a.CasesFor(ctx, acc.ID); err != nil || len(cases) != 1 || cases[0].ID != c.ID {
			t.Fatalf("the person's cases: %v %v", cases, err)
		}
		if err := a.ClaimCollection(ctx, o.ID, "late", now, now.Add(time.Minute)); !errors.Is(err, model.ErrAlreadyCollected) {
			t.Fatalf("claim after the last download: %v", err)
		}
		if n := countMail(t, a, p.Email); n != 2 { // the link, then the confirmation
			t.Errorf("%d mails to the person", n)
		}
		// The confirmation is in the person's notice history, the collection
		// notice in the expert's.
		for _, id := range []int64{acc.ID, c.OwnerID} {
			if n, err := a.Notices(ctx, id, 0, 10); err != nil || len(n) != 1 || n[0].Kind != model.NoticeCertificate {
				t.Errorf("notice history of account %d: %+v %v", id, n, err)
			}
		}
		// The same person in another case keeps one account.
		c3, p3 := orderFixture(t, a)
		o3 := mustOrder(t, a, c3, newOrder(c3, p3, 1))
		if err := a.ClaimCollection(ctx, o3.ID, "c3", now, now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		acc3, err := a.CompleteCollection(ctx, collection(o3, "c3", "1003"), collectedMail)
		if err != nil || acc3.ID != acc.ID {
			t.Fatalf("second case, same address: account %v (want %d): %v", acc3, acc.ID, err)
		}
	})
}

// Revocations: the expert's revoke, a re-issue, a removed participant and
// a closed case mark collected certificates for the worker; a declared
// loss tells the expert.
func TestCollectedCertificatesRevocationMarks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		c, p := orderFixture(t, s)
		collect := func(downloads int, serial string) *model.CertificateOrder {
			t.Helper()
			o := mustOrder(t, s, c, newOrder(c, p, downloads))
			if err := s.ClaimCollection(ctx, o.ID, "k"+serial, time.Now(), time.Now().Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
			if _, err := s.CompleteCollection(ctx, collection(o, "k"+serial, serial), collectedMail); err != nil {
				t.Fatal(err)
			}
			return o
		}
		due := func() map[string]int {
			t.Helper()
			cs, err := s.DueRevocations(ctx, 100)
			if err != nil {
				t.Fatal(err)
			}
			out := map[string]int{}
			for _, c := range cs {
				out[c.Serial] = c.RevokeReason
			}
			return out
		}
		collect(2, "2001")
		if len(due()) != 0 {
			t.Fatalf("nothing to revoke yet: %v", due())
		}
		collect(1, "2002") // re-issue: 2001 superseded
		if d := due(); d["2001"] != 4 || len(d) != 1 {
			t.Fatalf("after a re-issue: %v", d)
		}
		if err := s.MarkRevoked(ctx, mustCollected(t, s, "2001").ID, time.Now()); err != nil {
			t.Fatal(err)
		}
		if n, err := s.CancelOrders(ctx, c.ID, c.OwnerID, p.ID); err != nil || n != 1 {
			t.Fatalf("expert revokes: %d %v", n, err)
		}
		if d := due(); d["2002"] != 9 || len(d) != 1 {
			t.Fatalf("after the expert's revoke: %v", d)
		}
		// The person declares a loss: the expert is told.
		collect(1, "2003")
		acc, _, _ := s.AccountByFingerprint(ctx, "fp-2003")
		expert := caseOwner(t, s, c)
		before := countMail(t, s, expert.Email)
		n, err := s.DeclareLost(ctx, acc.ID, func(o *model.CertificateOrder, cs *model.Case, e, person *model.Account) (*model.OutboxMessage, error) {
			return testMail(e.Email, "perdu "+cs.Name), nil
		})
		if err != nil || n != 1 || due()["2003"] != 1 || countMail(t, s, expert.Email) != before+1 {
			t.Fatalf("declared lost: %d %v %v", n, err, due())
		}
		// Automatic: a removed participant, per the policy.
		collect(1, "2004")
		if err := s.SetParticipantActive(ctx, c.ID, c.OwnerID, p.ID, false); err != nil {
			t.Fatal(err)
		}
		if err := s.MarkAutomaticRevocations(ctx, model.RevocationPolicy{}); err != nil || due()["2004"] != 0 {
			t.Fatalf("policy off: %v %v", err, due())
		}
		if err := s.MarkAutomaticRevocations(ctx, model.RevocationPolicy{OnRemoval: true}); err != nil || due()["2004"] != 3 {
			t.Fatalf("participant removed: %v %v", err, due())
		}
		// Automatic: a finished case.
		c2, p2 := orderFixture(t, s)
		o2 := mustOrder(t, s, c2, newOrder(c2, p2, 1))
		_ = s.ClaimCollection(ctx, o2.ID, "k", time.Now(), time.Now().Add(time.Minute))
		if _, err := s.CompleteCollection(ctx, collection(o2, "k", "2005"), collectedMail); err != nil {
			t.Fatal(err)
		}
		mustTransition(t, s, c2, rights.StateFinished)
		if err := s.MarkAutomaticRevocations(ctx, model.RevocationPolicy{OnClose: true}); err != nil || due()["2005"] != 5 {
			t.Fatalf("case finished: %v %v", err, due())
		}
	})
}

func mustCollected(t *testing.T, s *store.Store, serial string) *model.CollectedCertificate {
	t.Helper()
	var c model.CollectedCertificate
	if err := s.GormForTest().Where("serial = ?", serial).First(&c).Error; err != nil {
		t.Fatal(err)
	}
	return &c
}

func caseOwner(t *testing.T, s *store.Store, c *model.Case) *model.Account {
	t.Helper()
	var a model.Account
	if err := s.GormForTest().First(&a, c.OwnerID).Error; err != nil {
		t.Fatal(err)
	}
	return &a
}

// Expiry warnings go out once per certificate, even when two instances
// scan at once, and only while the case is open.
func TestExpiryWarningsOnce(t *testing.T) {
	storetest.EachPair(t, func(t *testing.T, a, b *store.Store) {
		ctx := context.Background()
		c, p := orderFixture(t, a)
		o := mustOrder(t, a, c, newOrder(c, p, 1))
		_ = a.ClaimCollection(ctx, o.ID, "k", time.Now(), time.Now().Add(time.Minute))
		col := collection(o, "k", "3001")
		col.Certificate.NotAfter = time.Now().Add(5 * 24 * time.Hour)
		if _, err := a.CompleteCollection(ctx, col, collectedMail); err != nil {
			t.Fatal(err)
		}
		var calls atomic.Int64
		render := func(cc *model.CollectedCertificate, o *model.CertificateOrder, cs *model.Case, e, person *model.Account) ([]*model.OutboxMessage, error) {
			calls.Add(1)
			return []*model.OutboxMessage{testMail(person.Email, "expire")}, nil
		}
		now := time.Now()
		if n, err := a.WarnExpiring(ctx, now, now.Add(24*time.Hour), render); err != nil || n != 0 {
			t.Fatalf("outside the horizon: %d %v", n, err)
		}
		var wg sync.WaitGroup
		var total atomic.Int64
		for _, s := range []*store.Store{a, b, a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n, err := s.WarnExpiring(ctx, now, now.Add(14*24*time.Hour), render)
				if err != nil {
					t.Error(err)
				}
				total.Add(int64(n))
			}()
		}
		wg.Wait()
		if total.Load() != 1 || calls.Load() != 1 {
			t.Fatalf("warnings: %d sent, %d rendered; want 1", total.Load(), calls.Load())
		}
	})
}

// testMail is an outbox message with a unique Message-ID.
func testMail(to, subject string) *model.OutboxMessage {
	return &model.OutboxMessage{MessageID: fmt.Sprintf("<%d@sceau.test>", orderSeq.Add(1)), ToAddress: to, Subject: subject, TextBody: "x", HTMLBody: "<p>x</p>"}
}
