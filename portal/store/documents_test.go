package store_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"sceau.fr/sceau/portal/blobs"
	"sceau.fr/sceau/portal/model"
	"sceau.fr/sceau/portal/rights"
	"sceau.fr/sceau/portal/store"
	"sceau.fr/sceau/portal/store/storetest"
)

var docCounter atomic.Int64

// fakeDoc is a deposit whose blob fields look real.
func fakeDoc(name string) *model.Document {
	n := docCounter.Add(1)
	sum := sha256.Sum256(fmt.Appendf(nil, "content %d", n))
	return &model.Document{Kind: model.DocDire, FileName: name, ContentType: "application/pdf", Size: 100 + n,
		SHA256: hex.EncodeToString(sum[:]), BlobKey: fmt.Sprintf("%032x", n),
		CertificateIssuer: "CN=Sceau AC clients", CertificateSerial: fmt.Sprintf("%x", 1000+n)}
}

// commitSpy is a fake blob commit counting its calls.
type commitSpy struct {
	calls int
	err   error
}

func (c *commitSpy) commit() error { c.calls++; return c.err }

// docFixture is a case in progress with parties in dépôt avocat, dépôt
// intervenant and paper, a lawyer of the first, a member of each, and a
// confidential folder.
type docFixture struct {
	c                                       *model.Case
	owner, lawyer, memberL, memberM, paperM *model.Account
	pLawyer, pMember, pPaper                *model.Party
	lawyerPart                              *model.Participant
	folders                                 map[string]int64 // kind or kind/party name → id
}

func newDocFixture(t *testing.T, s *store.Store) *docFixture {
	t.Helper()
	ctx := context.Background()
	f := &docFixture{folders: map[string]int64{}}
	f.owner = caseAccount(t, s, model.RoleExpert, "Pierre Durand")
	f.c = mustCase(t, s, f.owner)
	f.pLawyer = mustParty(t, s, f.c, "M. Martin", rights.ModeLawyer)
	f.pMember = mustParty(t, s, f.c, "SCI Les Tilleuls", rights.ModeMember)
	f.pPaper = mustParty(t, s, f.c, "Assureur", rights.ModePaper)
	f.lawyer = caseAccount(t, s, model.RoleLawyer, "Me Dupont")
	f.lawyerPart = mustParticipant(t, s, f.c, &model.Participant{AccountID: &f.lawyer.ID, Role: "lawyer", PartyIDs: []int64{f.pLawyer.ID}})
	member := func(name string, p *model.Party) *model.Account {
		a := caseAccount(t, s, model.RolePartyMember, name)
		mustParticipant(t, s, f.c, &model.Participant{AccountID: &a.ID, Role: "party_member", PartyID: &p.ID})
		return a
	}
	f.memberL = member("Jean Martin", f.pLawyer)
	f.memberM = member("Gérant SCI", f.pMember)
	f.paperM = member("Assureur contact", f.pPaper)
	if _, err := s.AddFolder(ctx, f.c.ID, f.owner.ID, &model.Folder{Kind: "confidential", Name: "Notes de travail"}); err != nil {
		t.Fatal(err)
	}
	for _, fo := range allFolders(t, s, f.c.ID) {
		key := fo.Kind
		if fo.PartyID != nil {
			for _, p := range []*model.Party{f.pLawyer, f.pMember, f.pPaper} {
				if p.ID == *fo.PartyID {
					key += "/" + p.Name
				}
			}
		}
		f.folders[key] = fo.ID
	}
	mustTransition(t, s, f.c, rights.StateInProgress)
	return f
}

func (f *docFixture) deposit(t *testing.T, s *store.Store, folder string, acc *model.Account, name string) *model.Document {
	t.Helper()
	spy := &commitSpy{}
	d, err := s.CreateDocument(context.Background(), f.c.ID, f.folders[folder], acc.ID, fakeDoc(name), spy.commit)
	if err != nil {
		t.Fatalf("deposit %s in %s: %v", name, folder, err)
	}
	if spy.calls != 1 {
		t.Fatalf("commit called %d times", spy.calls)
	}
	return d
}

func countDocuments(t *testing.T, s *store.Store) int64 {
	t.Helper()
	var n int64
	if err := s.GormForTest().Model(&model.Document{}).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func TestDepositRights(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		f := newDocFixture(t, s)
		before := time.Now().UTC().Add(-time.Second)
		d := f.deposit(t, s, "party_dires/M. Martin", f.lawyer, "../../Dire n°1\u202Efdp.exe")
		if d.ID == 0 || d.CaseID != f.c.ID || d.FolderID != f.folders["party_dires/M. Martin"] || d.DepositorAccountID != f.lawyer.ID ||
			d.DepositorParticipantID != f.lawyerPart.ID || d.FileName != "Dire n°1fdp.exe" || d.Locked() ||
			d.DepositedAt.Before(before) || d.DepositedAt.After(time.Now().Add(time.Second)) {
			t.Fatalf("document = %+v", d)
		}
		var stored model.Document
		if err := s.GormForTest().First(&stored, d.ID).Error; err != nil || stored.FileName != d.FileName ||
			!stored.DepositedAt.Equal(d.DepositedAt) || stored.SHA256 != d.SHA256 || stored.BlobKey != d.BlobKey {
			t.Fatalf("stored = %+v, %v; returned %+v", stored, err, d)
		}
		f.deposit(t, s, "party_pieces/SCI Les Tilleuls", f.memberM, "pièce 1.pdf")
		f.deposit(t, s, "expert_convocations", f.owner, "convocation.pdf")
		f.deposit(t, s, "confidential", f.owner, "notes.txt")
		withCopy := fakeDoc("rapport.pdf")
		k, sum := fmt.Sprintf("%032x", 1<<40+docCounter.Add(1)), sha256.Sum256([]byte("docx"))
		withCopy.CopyBlobKey, withCopy.CopyFileName, withCopy.CopySize, withCopy.CopySHA256 = &k, "../rapport.docx", 4, hex.EncodeToString(sum[:])
		withCopy.PDFA = true
		got, err := s.CreateDocument(ctx, f.c.ID, f.folders["expert_prereport"], f.owner.ID, withCopy, func() error { return nil })
		if err != nil || !got.HasCopy() || got.CopyFileName != "rapport.docx" || !got.PDFA {
			t.Fatalf("with courtesy copy: %+v, %v", got, err)
		}

		other := mustCase(t, s, f.owner)
		outsider := caseAccount(t, s, model.RoleLawyer, "Me Étranger")
		refused := []struct {
			name    string
			folder  int64
			account int64
			want    error
		}{
			{"member of a party in dépôt avocat", f.folders["party_dires/M. Martin"], f.memberL.ID, store.ErrForbidden},
			{"lawyer in another party's folder", f.folders["party_dires/SCI Les Tilleuls"], f.lawyer.ID, store.ErrForbidden},
			{"member of a paper party", f.folders["party_pieces/Assureur"], f.paperM.ID, store.ErrForbidden},
			{"expert in a paper party's folder", f.folders["party_pieces/Assureur"], f.owner.ID, store.ErrForbidden},
			{"lawyer in the expert's folder", f.folders["expert_notes"], f.lawyer.ID, store.ErrForbidden},
			{"lawyer in a confidential folder", f.folders["confidential"], f.lawyer.ID, store.ErrNotFound},
			{"outsider", f.folders["party_dires/M. Martin"], outsider.ID, store.ErrNotFound},
			{"folder of another case", allFolders(t, s, other.ID)[0].ID, f.owner.ID, store.ErrNotFound},
			{"unknown folder", 1 << 40, f.owner.ID, store.ErrNotFound},
		}
		check := func(state string, cases []struct {
			name    string
			folder  int64
			account int64
			want    error
		}) {
			for _, r := range cases {
				n := countDocuments(t, s)
				spy := &commitSpy{}
				_, err := s.CreateDocument(ctx, f.c.ID, r.folder, r.account, fakeDoc("x.pdf"), spy.commit)
				if !errors.Is(err, r.want) {
					t.Errorf("%s, %s: err = %v, want %v", state, r.name, err, r.want)
				}
				if spy.calls != 0 || countDocuments(t, s) != n {
					t.Errorf("%s, %s: commit called %d times, documents %d → %d", state, r.name, spy.calls, n, countDocuments(t, s))
				}
			}
		}
		check("en cours", refused)

		// Bad input: a name that ends empty, an unknown kind.
		spy := &commitSpy{}
		if _, err := s.CreateDocument(ctx, f.c.ID, f.folders["expert_notes"], f.owner.ID, fakeDoc("..."), spy.commit); !isValidation(err, "file_name") || spy.calls != 0 {
			t.Errorf("only dots: %v (commit %d)", err, spy.calls)
		}
		bad := fakeDoc("a.pdf")
		bad.Kind = "virus"
		if _, err := s.CreateDocument(ctx, f.c.ID, f.folders["expert_notes"], f.owner.ID, bad, spy.commit); !isValidation(err, "kind") || spy.calls != 0 {
			t.Errorf("bad kind: %v", err)
		}

		// Paused: nobody deposits, the owner included.
		mustTransition(t, s, f.c, rights.StatePaused)
		check("en pause", append(refused[:0:0],
			struct {
				name    string
				folder  int64
				account int64
				want    error
			}{"expert", f.folders["expert_notes"], f.owner.ID, store.ErrStateConflict},
			struct {
				name    string
				folder  int64
				account int64
				want    error
			}{"lawyer", f.folders["party_dires/M. Martin"], f.lawyer.ID, store.ErrStateConflict},
		))
		mustTransition(t, s, f.c, rights.StateInProgress)
		f.deposit(t, s, "party_dires/M. Martin", f.lawyer, "dire 2.pdf")
		mustTransition(t, s, f.c, rights.StateFinished)
		check("terminée", append(refused[:0:0], struct {
			name    string
			folder  int64
			account int64
			want    error
		}{"expert", f.folders["final_report"], f.owner.ID, store.ErrCaseClosed}))
	})
}

func TestDepositByParticipantDeactivatedWhileUploading(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		f := newDocFixture(t, s)
		folder := f.folders["party_dires/M. Martin"]
		// The upload starts: the lawyer may deposit.
		if ok, err := s.CanDeposit(ctx, f.c.ID, folder, f.lawyer.ID); err != nil || !ok {
			t.Fatalf("CanDeposit = %v, %v", ok, err)
		}
		// Meanwhile the expert deactivates the lawyer.
		if err := s.SetParticipantActive(ctx, f.c.ID, f.owner.ID, f.lawyerPart.ID, false); err != nil {
			t.Fatal(err)
		}
		spy := &commitSpy{}
		_, err := s.CreateDocument(ctx, f.c.ID, folder, f.lawyer.ID, fakeDoc("dire.pdf"), spy.commit)
		if !errors.Is(err, store.ErrForbidden) {
			t.Errorf("err = %v, want ErrForbidden", err)
		}
		if spy.calls != 0 || countDocuments(t, s) != 0 {
			t.Errorf("commit called %d times, %d documents", spy.calls, countDocuments(t, s))
		}
	})
}

func TestCommitFailureLeavesNoDocument(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		f := newDocFixture(t, s)
		boom := errors.New("disk full")
		spy := &commitSpy{err: boom}
		d, err := s.CreateDocument(context.Background(), f.c.ID, f.folders["expert_notes"], f.owner.ID, fakeDoc("note.pdf"), spy.commit)
		if !errors.Is(err, boom) || d != nil || spy.calls != 1 {
			t.Fatalf("CreateDocument = %+v, %v (commit %d)", d, err, spy.calls)
		}
		if n := countDocuments(t, s); n != 0 {
			t.Fatalf("%d documents after a failed commit", n)
		}
		// The same blob key can then be used: nothing was kept.
		f.deposit(t, s, "expert_notes", f.owner, "note.pdf")
	})
}

func TestReadingAndFirstOpening(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		f := newDocFixture(t, s)
		dire := f.deposit(t, s, "party_dires/M. Martin", f.lawyer, "dire.pdf")
		conf := f.deposit(t, s, "confidential", f.owner, "notes.txt")
		conv := f.deposit(t, s, "expert_convocations", f.owner, "convocation.pdf")

		list := func(acc *model.Account) map[int64]store.ReadableDocument {
			t.Helper()
			ds, err := s.DocumentsReadable(ctx, f.c.ID, acc.ID)
			if err != nil {
				t.Fatal(err)
			}
			out := map[int64]store.ReadableDocument{}
			for _, d := range ds {
				out[d.ID] = d
			}
			return out
		}
		got := list(f.memberM)
		if len(got) != 2 || !got[dire.ID].New() || !got[conv.ID].New() {
			t.Fatalf("member lists %+v", got)
		}
		if _, ok := got[conf.ID]; ok {
			t.Fatal("confidential document listed to a party member")
		}
		if got := list(f.owner); len(got) != 3 {
			t.Fatalf("owner lists %d documents", len(got))
		}

		d, err := s.OpenDocument(ctx, f.c.ID, dire.ID, f.memberM.ID)
		if err != nil || d.ID != dire.ID || d.BlobKey != dire.BlobKey {
			t.Fatalf("open = %+v, %v", d, err)
		}
		first := list(f.memberM)[dire.ID].FirstOpenedAt
		if first == nil || time.Since(*first) > time.Minute {
			t.Fatalf("first opening = %v", first)
		}
		if !list(f.memberM)[conv.ID].New() || !list(f.lawyer)[dire.ID].New() {
			t.Error("an opening marked another document or another participant")
		}
		time.Sleep(20 * time.Millisecond)
		if _, err := s.OpenDocument(ctx, f.c.ID, dire.ID, f.memberM.ID); err != nil {
			t.Fatal(err)
		}
		again := list(f.memberM)[dire.ID].FirstOpenedAt
		if again == nil || !again.Equal(*first) {
			t.Errorf("first opening moved: %v → %v", first, again)
		}
		var n int64
		s.GormForTest().Model(&model.DocumentOpening{}).Count(&n)
		if n != 1 {
			t.Errorf("%d opening rows", n)
		}

		// Not readable: ErrNotFound, and nothing recorded.
		other := mustCase(t, s, f.owner)
		for _, r := range []struct {
			name        string
			caseID, doc int64
			acc         *model.Account
		}{
			{"confidential, party member", f.c.ID, conf.ID, f.memberM},
			{"confidential, lawyer", f.c.ID, conf.ID, f.lawyer},
			{"document of another case through it", other.ID, dire.ID, f.owner},
			{"outsider", f.c.ID, dire.ID, caseAccount(t, s, model.RoleLawyer, "Me Étranger")},
			{"unknown document", f.c.ID, 1 << 40, f.owner},
		} {
			if _, err := s.OpenDocument(ctx, r.caseID, r.doc, r.acc.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("open, %s: %v", r.name, err)
			}
			if _, err := s.Receipt(ctx, r.caseID, r.doc, r.acc.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("receipt, %s: %v", r.name, err)
			}
		}
		if _, err := s.DocumentsReadable(ctx, other.ID, f.lawyer.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("list another case: %v", err)
		}
		s.GormForTest().Model(&model.DocumentOpening{}).Count(&n)
		if n != 1 {
			t.Errorf("%d opening rows after refused openings", n)
		}

		// Finished: parties keep the final report only.
		fin := f.deposit(t, s, "final_report", f.owner, "rapport définitif.pdf")
		mustTransition(t, s, f.c, rights.StateFinished)
		got = list(f.memberM)
		if len(got) != 1 || got[fin.ID].ID != fin.ID {
			t.Errorf("after the end, the member lists %+v", got)
		}
		if _, err := s.OpenDocument(ctx, f.c.ID, dire.ID, f.memberM.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("dire after the end: %v", err)
		}

		// An inactive participant reads nothing.
		if err := s.SetParticipantActive(ctx, f.c.ID, f.owner.ID, f.lawyerPart.ID, false); err != nil {
			t.Fatal(err)
		}
		if got := list(f.lawyer); len(got) != 0 {
			t.Errorf("inactive lawyer lists %d documents", len(got))
		}
	})
}

func TestLockDocument(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		f := newDocFixture(t, s)
		d := f.deposit(t, s, "party_dires/M. Martin", f.lawyer, "dire.pdf")
		co := caseAccount(t, s, model.RoleExpert, "Co-expert")
		mustParticipant(t, s, f.c, &model.Participant{AccountID: &co.ID, Role: "co_expert"})
		other := mustCase(t, s, f.owner)

		if _, err := s.LockDocument(ctx, f.c.ID, d.ID, f.lawyer.ID, "erreur"); !errors.Is(err, store.ErrForbidden) {
			t.Errorf("lawyer: %v", err)
		}
		if _, err := s.LockDocument(ctx, f.c.ID, d.ID, co.ID, "erreur"); !errors.Is(err, store.ErrForbidden) {
			t.Errorf("co-expert: %v", err)
		}
		if _, err := s.LockDocument(ctx, f.c.ID, d.ID, caseAccount(t, s, model.RoleExpert, "X").ID, "erreur"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("outsider: %v", err)
		}
		if _, err := s.LockDocument(ctx, other.ID, d.ID, f.owner.ID, "erreur"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("through another case: %v", err)
		}
		if _, err := s.LockDocument(ctx, f.c.ID, d.ID, f.owner.ID, "  "); !isValidation(err, "lock_reason") {
			t.Errorf("no reason: %v", err)
		}
		locked, err := s.LockDocument(ctx, f.c.ID, d.ID, f.owner.ID, "Déposé dans le mauvais dossier")
		if err != nil || !locked.Locked() || locked.LockReason != "Déposé dans le mauvais dossier" || *locked.LockedBy != f.owner.ID {
			t.Fatalf("lock = %+v, %v", locked, err)
		}
		if _, err := s.LockDocument(ctx, f.c.ID, d.ID, f.owner.ID, "autre raison"); !errors.Is(err, store.ErrAlreadyLocked) {
			t.Errorf("second lock: %v", err)
		}
		ds, err := s.DocumentsReadable(ctx, f.c.ID, f.memberM.ID)
		if err != nil || len(ds) != 1 || !ds[0].Locked() || ds[0].LockReason != "Déposé dans le mauvais dossier" ||
			!ds[0].LockedAt.Equal(*locked.LockedAt) {
			t.Errorf("shown to all: %+v, %v", ds, err)
		}
		// Append-only, down to the database.
		if err := s.GormForTest().Exec("DELETE FROM documents").Error; err == nil {
			t.Error("DELETE FROM documents succeeded")
		}
		if countDocuments(t, s) != 1 {
			t.Error("a document disappeared")
		}
	})
}

func TestContradictoire(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		f := newDocFixture(t, s)
		dire := f.deposit(t, s, "party_dires/M. Martin", f.lawyer, "dire.pdf")
		conf := f.deposit(t, s, "confidential", f.owner, "notes.txt")
		if _, err := s.OpenDocument(ctx, f.c.ID, dire.ID, f.memberM.ID); err != nil {
			t.Fatal(err)
		}
		// A deactivated participant is no longer expected to read.
		ps, _ := s.Participants(ctx, f.c.ID, f.owner.ID)
		for _, p := range ps {
			if p.AccountID != nil && *p.AccountID == f.paperM.ID {
				if err := s.SetParticipantActive(ctx, f.c.ID, f.owner.ID, p.ID, false); err != nil {
					t.Fatal(err)
				}
			}
		}
		if _, err := s.Contradictoire(ctx, f.c.ID, f.lawyer.ID); !errors.Is(err, store.ErrForbidden) {
			t.Errorf("lawyer: %v", err)
		}
		if _, err := s.Contradictoire(ctx, f.c.ID, caseAccount(t, s, model.RoleExpert, "X").ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("outsider: %v", err)
		}
		view, err := s.Contradictoire(ctx, f.c.ID, f.owner.ID)
		if err != nil || len(view) != 2 {
			t.Fatalf("view = %+v, %v", view, err)
		}
		readers := map[int64]map[int64]*time.Time{} // doc → account → opened
		for _, e := range view {
			readers[e.Document.ID] = map[int64]*time.Time{}
			for _, r := range e.Readers {
				readers[e.Document.ID][*r.Participant.AccountID] = r.FirstOpenedAt
			}
		}
		r := readers[dire.ID]
		if len(r) != 4 {
			t.Errorf("dire readers: %v", r)
		}
		for _, a := range []*model.Account{f.owner, f.lawyer, f.memberL, f.memberM} {
			opened, ok := r[a.ID]
			if !ok {
				t.Errorf("%s missing from the readers of the dire", a.DisplayName)
			} else if (opened != nil) != (a == f.memberM) {
				t.Errorf("%s opened = %v", a.DisplayName, opened)
			}
		}
		if _, ok := r[f.paperM.ID]; ok {
			t.Error("an inactive participant is listed")
		}
		if r := readers[conf.ID]; len(r) != 1 || r[f.owner.ID] != nil {
			t.Errorf("confidential readers: %v", r)
		}
	})
}

func TestReceipt(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		f := newDocFixture(t, s)
		d := f.deposit(t, s, "party_dires/M. Martin", f.lawyer, "dire.pdf")
		for _, acc := range []*model.Account{f.lawyer, f.owner, f.memberM} {
			r, err := s.Receipt(ctx, f.c.ID, d.ID, acc.ID)
			if err != nil {
				t.Fatal(err)
			}
			if r.DocumentID != d.ID || r.DepositorName != "Me Dupont" || r.DepositorRole != "lawyer" ||
				r.CertificateIssuer != d.CertificateIssuer || r.CertificateSerial != d.CertificateSerial ||
				!r.DepositedAt.Equal(d.DepositedAt) || r.Size != d.Size || r.SHA256 != d.SHA256 ||
				r.FileName != "dire.pdf" || r.FolderName != "Dires" || r.CaseName != f.c.Name || r.RGNumber != "24/01234" {
				t.Errorf("receipt = %+v", r)
			}
		}
	})
}

// committedFiles lists the regular files under a blob folder.
func committedFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err == nil && e.Type().IsRegular() {
			out = append(out, filepath.Base(p))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDepositWithLocalBlobs(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		f := newDocFixture(t, s)
		dir := t.TempDir()
		bs, err := blobs.NewLocal(dir)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { bs.Close() })
		deposit := func(folder string, acc *model.Account, content string) (*blobs.Pending, *model.Document, error) {
			p, err := bs.Put(ctx, bytes.NewReader([]byte(content)), 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Abort(context.WithoutCancel(ctx))
			d := &model.Document{Kind: model.DocPiece, FileName: "pièce.pdf", ContentType: "application/pdf",
				Size: p.Size, SHA256: hex.EncodeToString(p.SHA256[:]), BlobKey: p.Key}
			got, err := s.CreateDocument(ctx, f.c.ID, f.folders[folder], acc.ID, d, func() error { return p.Commit(ctx) })
			return p, got, err
		}

		p, d, err := deposit("party_pieces/M. Martin", f.lawyer, "le contenu de la pièce")
		if err != nil {
			t.Fatal(err)
		}
		rc, size, err := bs.Open(ctx, d.BlobKey)
		if err != nil {
			t.Fatalf("committed blob: %v", err)
		}
		body, _ := io.ReadAll(rc)
		rc.Close()
		sum := sha256.Sum256(body)
		if string(body) != "le contenu de la pièce" || size != d.Size || hex.EncodeToString(sum[:]) != d.SHA256 || p.Key != d.BlobKey {
			t.Errorf("blob %q (%d bytes) for %+v", body, size, d)
		}

		refused, _, err := deposit("party_pieces/M. Martin", f.memberL, "refusé")
		if !errors.Is(err, store.ErrForbidden) {
			t.Fatalf("member of a party in dépôt avocat: %v", err)
		}
		if _, _, err := bs.Open(ctx, refused.Key); !errors.Is(err, blobs.ErrNotFound) {
			t.Errorf("refused blob opens: %v", err)
		}
		if files := committedFiles(t, dir); len(files) != 1 || files[0] != d.BlobKey {
			t.Errorf("files in the blob folder: %v, want only %s", files, d.BlobKey)
		}
		if countDocuments(t, s) != 1 {
			t.Errorf("%d documents", countDocuments(t, s))
		}
	})
}

// DocumentFiles pages through every document's stored file, with the size
// and SHA-256 recorded at deposit (what `sceau storage verify` compares).
func TestDocumentFilesPagesThroughEveryDeposit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		f := newDocFixture(t, s)
		var want []*model.Document
		for i := range 5 {
			want = append(want, f.deposit(t, s, "expert_notes", f.owner, fmt.Sprintf("note-%d.pdf", i)))
		}
		var got []store.DocumentFile
		var after int64
		for {
			page, err := s.DocumentFiles(context.Background(), after, 2)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			got = append(got, page...)
			after = page[len(page)-1].DocumentID
		}
		if len(got) != len(want) {
			t.Fatalf("%d files listed for %d deposits", len(got), len(want))
		}
		for i, d := range want {
			g := got[i]
			if g.DocumentID != d.ID || g.CaseID != f.c.ID || g.BlobKey != d.BlobKey || g.SHA256 != d.SHA256 || g.Size != d.Size ||
				g.FileName != d.FileName || g.Copy {
				t.Errorf("file %d = %+v, deposited %+v", i, g, d)
			}
		}
	})
}
