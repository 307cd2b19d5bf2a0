package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"sceau.fr/sceau/portal/model"
	"sceau.fr/sceau/portal/rights"
	"sceau.fr/sceau/portal/store"
	"sceau.fr/sceau/portal/store/storetest"
)

// actorCtx is a request context as the portal's middleware makes it.
func actorCtx(acc *model.Account, serial string) context.Context {
	return model.WithActor(context.Background(), &model.Actor{AccountID: acc.ID, CertIssuer: "CN=AC Test", CertSerial: serial,
		IP: "192.0.2.7", RequestID: "req-" + serial})
}

// allEntries reads the whole trail, in chain order.
func allEntries(t *testing.T, s *store.Store) []model.AuditEntry {
	t.Helper()
	var out []model.AuditEntry
	if err := s.GormForTest().Order("seq").Find(&out).Error; err != nil {
		t.Fatal(err)
	}
	return out
}

func mustVerify(t *testing.T, s *store.Store) *store.AuditReport {
	t.Helper()
	rep, err := s.VerifyAudit(context.Background())
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if rep.Broken != nil {
		t.Fatalf("verify: %v", rep.Broken)
	}
	return rep
}

// TestAuditRecordsEachActionWithItsActor: the actions of a case land in
// its trail with the account, certificate, IP and request of the context,
// in order, and the chain verifies.
func TestAuditRecordsEachActionWithItsActor(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		f := newDocFixture(t, s)
		ctx := actorCtx(f.owner, "0a1b")
		d, err := s.CreateDocument(ctx, f.c.ID, f.folders["expert_designation"], f.owner.ID, fakeDoc("ordonnance.pdf"), func() error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		lctx := actorCtx(f.lawyer, "77")
		if _, err := s.OpenDocument(lctx, f.c.ID, d.ID, f.lawyer.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.OpenDocuments(lctx, f.c.ID, []int64{d.ID}, f.lawyer.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.LockDocument(ctx, f.c.ID, d.ID, f.owner.ID, "pièce définitive"); err != nil {
			t.Fatal(err)
		}
		rows, err := s.CaseAudit(ctx, f.c.ID, f.owner.ID, false, 0)
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, r := range rows {
			actions = append(actions, r.Action)
		}
		want := []string{"case.create", "party.add", "party.add", "party.add", "participant.add", "participant.add", "participant.add",
			"participant.add", "folder.add", "case.state", "document.deposit", "document.download", "document.zip", "document.lock"}
		if strings.Join(actions, " ") != strings.Join(want, " ") {
			t.Fatalf("actions:\n got %v\nwant %v", actions, want)
		}
		dep := rows[len(rows)-4]
		if dep.AccountID == nil || *dep.AccountID != f.owner.ID || dep.CertSerial != "0a1b" || dep.CertIssuer != "CN=AC Test" ||
			dep.IP != "192.0.2.7" || dep.RequestID != "req-0a1b" || dep.CaseID == nil || *dep.CaseID != f.c.ID ||
			dep.Objects != fmt.Sprintf("folder:%d document:%d", f.folders["expert_designation"], d.ID) ||
			!strings.Contains(dep.Detail, "ordonnance.pdf") || !strings.Contains(dep.Detail, d.SHA256) || dep.AccountName != "Pierre Durand" {
			t.Errorf("deposit entry: %+v", dep)
		}
		if dl := rows[len(rows)-3]; *dl.AccountID != f.lawyer.ID || dl.CertSerial != "77" {
			t.Errorf("download entry: %+v", dl)
		}
		rep := mustVerify(t, s)
		all := allEntries(t, s)
		if rep.Entries != int64(len(all)) || rep.HeadSeq != all[len(all)-1].Seq || rep.HeadHash != all[len(all)-1].Hash {
			t.Errorf("report %+v for %d entries", rep, len(all))
		}
		// Reading the journal is itself recorded (after the rows read).
		if last := all[len(all)-1]; last.Action != model.AuditJournalView {
			t.Errorf("last entry %s, want the journal view", last.Action)
		}
		for i, e := range all {
			if e.Seq != int64(i+1) {
				t.Fatalf("entry %d has seq %d", i, e.Seq)
			}
		}
	})
}

// TestAuditNeverHoldsSecrets: the certificate link's token (and its hash)
// never reach the trail.
func TestAuditNeverHoldsSecrets(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		acc := caseAccount(t, s, model.RoleExpert, "Pierre Durand")
		const tokenHash = "f00dfacef00dfacef00dfacef00dfacef00dfacef00dfacef00dfacef00dface"
		l := &model.CertificateLink{AccountID: acc.ID, TokenHash: tokenHash, ExpiresAt: time.Now().Add(24 * time.Hour)}
		mail := &model.OutboxMessage{MessageID: "<audit-link@test>", ToAddress: acc.Email, Subject: "lien",
			TextBody: "https://x/certificat/ajout?jeton=SECRET", HTMLBody: "x"}
		if err := s.CreateCertificateLink(actorCtx(acc, "1"), l, mail); err != nil {
			t.Fatal(err)
		}
		for _, e := range allEntries(t, s) {
			line := fmt.Sprintf("%+v", e)
			if strings.Contains(line, "SECRET") || strings.Contains(line, "f00dface") {
				t.Errorf("a secret in the trail: %s", line)
			}
		}
		mustVerify(t, s)
	})
}

// TestAuditFailureFailsTheAction: when the trail cannot be written, the
// deposit, download and lock fail and leave nothing behind.
func TestAuditFailureFailsTheAction(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		f := newDocFixture(t, s)
		d := f.deposit(t, s, "expert_designation", f.owner, "avant.pdf")
		before := countDocuments(t, s)
		// The other way round: an action that fails after its entry was
		// appended takes the entry with it (same transaction), no gap.
		entries := len(allEntries(t, s))
		failing := &commitSpy{err: errors.New("disk full")}
		if _, err := s.CreateDocument(context.Background(), f.c.ID, f.folders["expert_designation"], f.owner.ID, fakeDoc("y.pdf"), failing.commit); err == nil {
			t.Fatal("deposit with a failing commit succeeded")
		}
		if n := len(allEntries(t, s)); n != entries {
			t.Errorf("%d entries after a failed deposit, want %d", n, entries)
		}
		mustVerify(t, s)
		f.deposit(t, s, "expert_designation", f.owner, "après.pdf") // the chain goes on from the head
		mustVerify(t, s)
		before++
		if err := s.GormForTest().Exec(`ALTER TABLE audit_head RENAME TO audit_head_away`).Error; err != nil {
			t.Fatal(err)
		}
		spy := &commitSpy{}
		if _, err := s.CreateDocument(context.Background(), f.c.ID, f.folders["expert_designation"], f.owner.ID, fakeDoc("x.pdf"), spy.commit); err == nil {
			t.Error("deposit succeeded without its audit entry")
		}
		if spy.calls != 0 || countDocuments(t, s) != before {
			t.Errorf("blob committed %d times, %d documents (want %d)", spy.calls, countDocuments(t, s), before)
		}
		if _, err := s.OpenDocument(context.Background(), f.c.ID, d.ID, f.lawyer.ID); err == nil {
			t.Error("download allowed without its audit entry")
		}
		var opened int64
		s.GormForTest().Model(&model.DocumentOpening{}).Where("document_id = ? AND participant_id = ?", d.ID, f.lawyerPart.ID).Count(&opened)
		if opened != 0 {
			t.Error("first opening recorded without its audit entry")
		}
		if _, err := s.LockDocument(context.Background(), f.c.ID, d.ID, f.owner.ID, "raison"); err == nil {
			t.Error("lock without its audit entry")
		}
		if _, err := s.TransitionCase(context.Background(), f.c.ID, f.owner.ID, rights.StateInProgress, rights.StatePaused); err == nil {
			t.Error("state change without its audit entry")
		}
		if err := s.RecordAudit(context.Background(), &model.AuditEntry{Action: model.AuditCaseView}); err == nil {
			t.Error("RecordAudit without a chain head")
		}
		if err := s.GormForTest().Exec(`ALTER TABLE audit_head_away RENAME TO audit_head`).Error; err != nil {
			t.Fatal(err)
		}
		var got model.Document
		s.GormForTest().First(&got, d.ID)
		if got.LockedAt != nil {
			t.Error("the document was locked")
		}
		mustVerify(t, s)
	})
}

// TestAuditChainWithConcurrentInstances: two instances (two stores, two
// connection pools) on one database append at once from many goroutines;
// the chain has every entry, no fork, no gap.
func TestAuditChainWithConcurrentInstances(t *testing.T) {
	storetest.EachPair(t, func(t *testing.T, a, b *store.Store) {
		owner := caseAccount(t, a, model.RoleExpert, "Pierre Durand")
		c := mustCase(t, a, owner)
		const workers, each = 16, 25
		var wg sync.WaitGroup
		errs := make(chan error, workers*each)
		for w := range workers {
			s := a
			if w%2 == 1 {
				s = b
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx := actorCtx(owner, fmt.Sprint(w))
				for i := range each {
					var err error
					if i%5 == 0 { // a mutation with its own statements
						_, err = s.AddFolder(ctx, c.ID, owner.ID, &model.Folder{Kind: "expert_subfolder", Name: fmt.Sprintf("Dossier %d-%d", w, i)})
					} else {
						err = s.RecordAudit(ctx, &model.AuditEntry{Action: model.AuditCaseView, CaseID: &c.ID, Detail: fmt.Sprintf("%d/%d", w, i)})
					}
					if err != nil {
						errs <- err
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("append: %v", err)
		}
		rep := mustVerify(t, b)
		all := allEntries(t, a)
		if want := int64(2 + workers*each); rep.Entries != want || int64(len(all)) != want {
			t.Errorf("%d entries verified, %d stored, want %d", rep.Entries, len(all), want)
		}
		seen := map[string]bool{}
		for _, e := range all {
			if seen[e.PrevHash] {
				t.Fatalf("fork: two entries follow %s", e.PrevHash)
			}
			seen[e.PrevHash] = true
		}
	})
}

// tamper runs SQL on the trail as someone with database access would,
// with the append-only triggers out of the way.
func tamper(t *testing.T, s *store.Store, sql string, args ...any) {
	t.Helper()
	db := s.GormForTest()
	for _, trg := range []string{"audit_entries_no_update", "audit_entries_no_delete"} {
		q := "DROP TRIGGER " + trg
		if s.Dialect() == "postgres" {
			q += " ON audit_entries"
		}
		if err := db.Exec(q).Error; err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Exec(sql, args...).Error; err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// TestAuditVerifyFindsTampering: a changed, removed (inside or at the
// end) or reordered entry is found, and the first broken one is named;
// the triggers refuse the plain UPDATE and DELETE.
func TestAuditVerifyFindsTampering(t *testing.T) {
	defer store.SetAuditBatchForTest(3)() // breaks fall inside and across batches
	seed := func(t *testing.T, s *store.Store) []model.AuditEntry {
		acc := caseAccount(t, s, model.RoleExpert, "Pierre Durand")
		for i := range 8 {
			if err := s.RecordAudit(actorCtx(acc, "1"), &model.AuditEntry{Action: model.AuditCaseView, Detail: fmt.Sprint(i)}); err != nil {
				t.Fatal(err)
			}
		}
		return allEntries(t, s)
	}
	broken := func(t *testing.T, s *store.Store, seq int64, reason string) {
		t.Helper()
		rep, err := s.VerifyAudit(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if rep.Broken == nil || rep.Broken.Seq != seq || !strings.Contains(rep.Broken.Reason, reason) {
			t.Errorf("verify: %+v, want entry %d %s", rep.Broken, seq, reason)
		}
	}
	t.Run("triggers", func(t *testing.T) {
		storetest.Each(t, func(t *testing.T, s *store.Store) {
			seed(t, s)
			if err := s.GormForTest().Exec(`UPDATE audit_entries SET detail = 'x' WHERE seq = 2`).Error; err == nil {
				t.Error("UPDATE allowed")
			}
			if err := s.GormForTest().Exec(`DELETE FROM audit_entries WHERE seq = 2`).Error; err == nil {
				t.Error("DELETE allowed")
			}
			mustVerify(t, s)
		})
	})
	t.Run("update", func(t *testing.T) {
		storetest.Each(t, func(t *testing.T, s *store.Store) {
			all := seed(t, s)
			tamper(t, s, `UPDATE audit_entries SET detail = 'rien vu' WHERE seq = ?`, all[4].Seq)
			broken(t, s, all[4].Seq, "changed")
		})
	})
	t.Run("update with a recomputed hash", func(t *testing.T) {
		storetest.Each(t, func(t *testing.T, s *store.Store) {
			all := seed(t, s)
			e := all[3]
			e.Detail = "rien vu"
			tamper(t, s, `UPDATE audit_entries SET detail = ?, hash = ? WHERE seq = ?`, e.Detail, e.ComputeHash(), e.Seq)
			broken(t, s, e.Seq+1, "previous hash")
		})
	})
	t.Run("delete", func(t *testing.T) {
		storetest.Each(t, func(t *testing.T, s *store.Store) {
			all := seed(t, s)
			tamper(t, s, `DELETE FROM audit_entries WHERE seq = ?`, all[5].Seq)
			broken(t, s, all[5].Seq, "removed")
		})
	})
	t.Run("delete the last", func(t *testing.T) {
		storetest.Each(t, func(t *testing.T, s *store.Store) {
			all := seed(t, s)
			last := all[len(all)-1].Seq
			tamper(t, s, `DELETE FROM audit_entries WHERE seq = ?`, last)
			broken(t, s, last, "removed")
		})
	})
	t.Run("reorder", func(t *testing.T) {
		storetest.Each(t, func(t *testing.T, s *store.Store) {
			all := seed(t, s)
			a, b := all[2].Seq, all[3].Seq
			tamper(t, s, `UPDATE audit_entries SET seq = 999999 WHERE seq = ?`, a)
			tamper2 := func(sql string, args ...any) {
				if err := s.GormForTest().Exec(sql, args...).Error; err != nil {
					t.Fatal(err)
				}
			}
			tamper2(`UPDATE audit_entries SET seq = ? WHERE seq = ?`, a, b)
			tamper2(`UPDATE audit_entries SET seq = ? WHERE seq = 999999`, b)
			broken(t, s, a, "changed")
		})
	})
}

// TestJournalRights: the owner, a co-expert, the supervising magistrate
// and a clerk read the trail; only the owner exports it; another
// magistrate, a lawyer or a party member gets ErrForbidden; someone of
// another case, ErrNotFound.
func TestJournalRights(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		f := newDocFixture(t, s)
		add := func(role, accRole string, supervising bool) *model.Account {
			a := caseAccount(t, s, accRole, role)
			mustParticipant(t, s, f.c, &model.Participant{AccountID: &a.ID, Role: role, Supervising: supervising})
			return a
		}
		coExpert := add("co_expert", model.RoleExpert, false)
		judge := add("magistrate", model.RoleMagistrate, true)
		otherJudge := add("magistrate", model.RoleMagistrate, false)
		clerk := add("clerk", model.RoleClerk, false)
		other := caseAccount(t, s, model.RoleExpert, "Anne Moreau")
		mustCase(t, s, other)
		for _, c := range []struct {
			name       string
			acc        *model.Account
			read, expo error
		}{
			{"owner", f.owner, nil, nil},
			{"co-expert", coExpert, nil, store.ErrForbidden},
			{"supervising magistrate", judge, nil, store.ErrForbidden},
			{"other magistrate", otherJudge, store.ErrForbidden, store.ErrForbidden},
			{"clerk", clerk, nil, store.ErrForbidden},
			{"lawyer", f.lawyer, store.ErrForbidden, store.ErrForbidden},
			{"party member", f.memberM, store.ErrForbidden, store.ErrForbidden},
			{"outsider", other, store.ErrNotFound, store.ErrNotFound},
		} {
			rows, err := s.CaseAudit(context.Background(), f.c.ID, c.acc.ID, false, 0)
			if !errors.Is(err, c.read) && err != c.read {
				t.Errorf("%s reads: %v, want %v", c.name, err, c.read)
			}
			if err == nil && len(rows) == 0 {
				t.Errorf("%s reads nothing", c.name)
			}
			if _, err := s.CaseAudit(context.Background(), f.c.ID, c.acc.ID, true, 0); !errors.Is(err, c.expo) && err != c.expo {
				t.Errorf("%s exports: %v, want %v", c.name, err, c.expo)
			}
		}
		// Nothing of another case shows in this one.
		rows, err := s.CaseAudit(context.Background(), f.c.ID, f.owner.ID, true, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if r.CaseID == nil || *r.CaseID != f.c.ID {
				t.Errorf("entry of another case: %+v", r)
			}
		}
		if limited, _ := s.CaseAudit(context.Background(), f.c.ID, f.owner.ID, false, 3); len(limited) != 3 || limited[2].Seq <= limited[0].Seq {
			t.Errorf("limited journal: %+v", limited)
		}
	})
}

// TestDepositDoesNotHoldTheChainWhilePublishing: publishing a deposit's
// blob can take seconds (an S3 copy of a large video); meanwhile other
// instances keep recording logins and views, because the deposit appends
// its entry only once the blob is published. PostgreSQL only: SQLite lets
// one transaction write at a time anyway.
func TestDepositDoesNotHoldTheChainWhilePublishing(t *testing.T) {
	storetest.EachPair(t, func(t *testing.T, s1, s2 *store.Store) {
		if storetest.Describe(s1) != "postgres" {
			t.Skip("SQLite has a single writer")
		}
		f := newDocFixture(t, s1)
		publishing, release := make(chan struct{}), make(chan struct{})
		slowCommit := func() error { close(publishing); <-release; return nil }
		deposited := make(chan error, 1)
		go func() {
			_, err := s1.CreateDocument(actorCtx(f.owner, "d1"), f.c.ID, f.folders["expert_notes"], f.owner.ID, fakeDoc("visite.mp4"), slowCommit)
			deposited <- err
		}()
		<-publishing
		recorded := make(chan error, 1)
		go func() {
			recorded <- s2.RecordAudit(actorCtx(f.lawyer, "l1"), &model.AuditEntry{Action: model.AuditLogin})
		}()
		var loginErr error
		select {
		case loginErr = <-recorded:
		case <-time.After(5 * time.Second):
			t.Error("a login on another instance waited for a deposit's blob to be published")
			close(release)
			loginErr = <-recorded
		}
		if loginErr != nil {
			t.Fatal(loginErr)
		}
		select {
		case <-release:
		default:
			close(release)
		}
		if err := <-deposited; err != nil {
			t.Fatal(err)
		}
		entries := allEntries(t, s1)
		if n := len(entries); n < 2 || entries[n-1].Action != model.AuditDeposit || entries[n-2].Action != model.AuditLogin {
			t.Errorf("the trail should end with the login, then the deposit: %+v", entries[max(0, n-2):])
		}
		mustVerify(t, s1)
	})
}
