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
		f.deposit(t, s, "party_pieces/SCI Les Tilleuls", f.memberM, "pièce 1.pdf")
		f.deposit(t, s, "expert_convocations", f.owner, "convocation.pdf")
		f.deposit(t, s, "party_dires/SCI Les Tilleuls", f.lawyer, "dire.pdf") // read-only for this lawyer? no: not their party
		t.Log("lawyer of another party deposited: see below")
	})
}
