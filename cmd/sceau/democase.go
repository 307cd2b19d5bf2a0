package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"sceau.fr/sceau/ca/demo"
	"sceau.fr/sceau/portal"
	"sceau.fr/sceau/portal/model"
	"sceau.fr/sceau/portal/rights"
	"sceau.fr/sceau/portal/store"
)

// seedDemoCase fills the freshly initialised database (sceau init
// --demo-case) with a case a newcomer can open at once: the demo expert,
// one lawyer, the supervising magistrate and the clerk already have their
// accounts (bound to their demo certificates); the case is in progress,
// with two parties (one in dépôt intervenant, ready for a litigant
// certificate order) and three documents. The other demo identities stay
// unregistered, to try the registration form.
func seedDemoCase(ctx context.Context, cfgPath string, made *demo.Made) (*model.Case, int, error) {
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		return nil, 0, err
	}
	s, err := store.Open(ctx, storeOptions(cfg))
	if err != nil {
		return nil, 0, err
	}
	defer s.Close()
	if _, err := s.Migrate(ctx); err != nil {
		return nil, 0, fmt.Errorf("migrating the new database: %w", err)
	}
	bl, err := openBlobs(cfg)
	if err != nil {
		return nil, 0, err
	}
	ids := map[string]demo.Identity{}
	for _, id := range made.Identities {
		ids[id.File] = id
	}
	now := time.Now().UTC()
	register := func(file string, a model.Account) *model.Account {
		id, ok := ids[file]
		if err != nil || !ok {
			if err == nil {
				err = fmt.Errorf("no demo identity %s", file)
			}
			return nil
		}
		sum := sha256.Sum256(id.Leaf.Raw)
		a.Domain, a.DisplayName, a.Email = id.Domain, id.GivenName+" "+id.Surname, id.Email
		a.TermsVersion, a.TermsAcceptedAt = portal.TermsVersion, &now
		acc, _, e := s.Register(ctx, &a, &model.AccountCertificate{Fingerprint: hex.EncodeToString(sum[:]),
			Issuer: id.Leaf.Issuer.String(), Serial: id.Leaf.SerialNumber.String(), Subject: id.Leaf.Subject.String(), NotAfter: id.Leaf.NotAfter})
		if e != nil {
			err = fmt.Errorf("account of %s: %w", file, e)
		}
		return acc
	}
	expert := register("expert-pierre-durand", model.Account{Role: model.RoleExpert, Court: "Cour d’appel de Rennes", Specialties: "Bâtiment, Structures"})
	lawyer := register("avocate-sophie-lefevre", model.Account{Role: model.RoleLawyer, Bar: "Barreau de Rennes", CNBF: "123456"})
	judge := register("magistrat-claire-martin", model.Account{Role: model.RoleMagistrate, Court: "Tribunal judiciaire de Rennes"})
	clerk := register("greffier-julien-bernard", model.Account{Role: model.RoleClerk, Court: "Tribunal judiciaire de Rennes"})
	if err != nil {
		return nil, 0, err
	}
	c, err := s.CreateCase(ctx, expert, &model.Case{FirstApplicant: "Hélène Dupré-Lefèvre", FirstDefendant: "SCI Les Tilleuls",
		Jurisdiction: "Tribunal judiciaire de Rennes", RGNumber: "25/01234", OrdonnanceDate: time.Date(2026, 10, 15, 0, 0, 0, 0, time.UTC),
		Comment: "Expertise de démonstration : fissures en façade d’une maison individuelle."})
	if err != nil {
		return nil, 0, fmt.Errorf("demo case: %w", err)
	}
	step := func(what string, f func() error) {
		if err == nil {
			if e := f(); e != nil {
				err = fmt.Errorf("demo case, %s: %w", what, e)
			}
		}
	}
	var helene *model.Party
	step("party", func() (e error) {
		helene, e = s.AddParty(ctx, c.ID, expert.ID, &model.Party{Name: "Hélène Dupré-Lefèvre", DepositMode: string(rights.ModeMember)})
		return e
	})
	step("party", func() error {
		_, e := s.AddParty(ctx, c.ID, expert.ID, &model.Party{Name: "SCI Les Tilleuls", DepositMode: string(rights.ModeLawyer)})
		return e
	})
	for _, p := range []func() *model.Participant{
		func() *model.Participant {
			return &model.Participant{Role: string(rights.RoleLawyer), AccountID: &lawyer.ID, PartyIDs: []int64{helene.ID}, Active: true}
		},
		func() *model.Participant {
			return &model.Participant{Role: string(rights.RoleMagistrate), AccountID: &judge.ID, Supervising: true, Active: true}
		},
		func() *model.Participant {
			return &model.Participant{Role: string(rights.RoleClerk), AccountID: &clerk.ID, Active: true}
		},
	} {
		step("participant", func() error { _, e := s.AddParticipant(ctx, c.ID, expert.ID, p()); return e })
	}
	step("state", func() error {
		_, e := s.TransitionCase(ctx, c.ID, expert.ID, rights.StateCreation, rights.StateInProgress)
		return e
	})
	if err != nil {
		return nil, 0, err
	}
	folders, err := s.FoldersReadable(ctx, c.ID, expert.ID)
	if err != nil {
		return nil, 0, err
	}
	folder := func(kind rights.FolderKind, party *model.Party) int64 {
		for _, f := range folders {
			if f.Kind == string(kind) && (party == nil || f.PartyID != nil && *f.PartyID == party.ID) {
				return f.ID
			}
		}
		return 0
	}
	docs := []struct {
		who        *model.Account
		file       string
		folder     int64
		kind, name string
		lines      []string
	}{
		{expert, "expert-pierre-durand", folder(rights.KindDesignation, nil), model.DocOrdonnance, "ordonnance-de-designation.pdf", []string{
			"TRIBUNAL JUDICIAIRE DE RENNES - RG 25/01234", "Ordonnance de référé du 15 octobre 2026 (DÉMONSTRATION)",
			"Désigne M. Pierre Durand, expert en bâtiment, avec mission de", "décrire les fissures affectant la façade de la maison",
			"de Mme Hélène Dupré-Lefèvre et d’en rechercher les causes."}},
		{expert, "expert-pierre-durand", folder(rights.KindConvocations, nil), model.DocConvocation, "convocation-premiere-reunion.pdf", []string{
			"Convocation à la première réunion d’expertise (DÉMONSTRATION)", "Le 4 décembre 2026 à 14 h, sur les lieux :",
			"12 rue des Tilleuls, 35000 Rennes.", "Merci de vous munir de toutes pièces utiles."}},
		{lawyer, "avocate-sophie-lefevre", folder(rights.KindPartyDires, helene), model.DocDire, "dire-n1-helene-dupre-lefevre.pdf", []string{
			"Dire n° 1 pour Mme Hélène Dupré-Lefèvre (DÉMONSTRATION)", "Me Sophie Lefèvre, avocate au barreau de Rennes,",
			"demande à l’expert de se faire communiquer le permis de construire", "et les plans d’exécution des fondations."}},
	}
	for _, d := range docs {
		if d.folder == 0 {
			return nil, 0, fmt.Errorf("demo case: no folder for %s", d.name)
		}
		leaf := ids[d.file].Leaf
		p, err := bl.Put(ctx, bytes.NewReader(demoPDF(d.lines)), 1<<20)
		if err != nil {
			return nil, 0, err
		}
		_, err = s.CreateDocument(ctx, c.ID, d.folder, d.who.ID, &model.Document{Kind: d.kind, FileName: d.name, ContentType: "application/pdf",
			Size: p.Size, SHA256: hex.EncodeToString(p.SHA256[:]), BlobKey: p.Key,
			CertificateIssuer: leaf.Issuer.String(), CertificateSerial: leaf.SerialNumber.String()}, func() error { return p.Commit(ctx) })
		if err != nil {
			_ = p.Abort(context.WithoutCancel(ctx))
			return nil, 0, fmt.Errorf("demo document %s: %w", d.name, err)
		}
	}
	return c, len(docs), nil
}

// demoPDF is a one-page PDF showing lines of text (Helvetica, Latin-1).
func demoPDF(lines []string) []byte {
	var content strings.Builder
	content.WriteString("BT /F1 12 Tf 72 770 Td 16 TL\n")
	for _, l := range lines {
		content.WriteString("(")
		for _, r := range l {
			switch {
			case r == '(' || r == ')' || r == '\\':
				content.WriteString("\\" + string(r))
			case r == '’':
				content.WriteString("'")
			case r < 0x80:
				content.WriteRune(r)
			case r < 0x100:
				fmt.Fprintf(&content, "\\%03o", r)
			default:
				content.WriteString("?")
			}
		}
		content.WriteString(") Tj T*\n")
	}
	content.WriteString("ET\n")
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%sendstream", content.Len(), content.String()),
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}
