package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"

	"sceau.fr/sceau/portal/store"
)

// TestInitDemoCase: --demo-case (make run) leaves a case in progress the
// demo expert and the supervising magistrate can open at once, with its
// three documents; the second expert is left to try the registration.
func TestInitDemoCase(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	stdout, _, err := execute(t, "init", "--data", dir, "--demo-case")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout, "LISEZ-MOI.txt") || !strings.Contains(stdout, "demo case: Hélène Dupré-Lefèvre c/ SCI Les Tilleuls") ||
		!strings.Contains(stdout, "(3 documents)") {
		t.Errorf("init --demo-case output:\n%s", stdout)
	}
	ctx := context.Background()
	s, err := store.Open(ctx, store.Options{Driver: "sqlite", DSN: store.SQLiteDSN(filepath.Join(dir, "sceau.db"))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	account := func(file string) int64 {
		cert, _ := demoIdentity(t, dir, file)
		sum := sha256.Sum256(cert.Certificate[0])
		a, _, err := s.AccountByFingerprint(ctx, hex.EncodeToString(sum[:]))
		if err != nil {
			return 0
		}
		return a.ID
	}
	for _, who := range []string{"expert-pierre-durand", "magistrat-claire-martin", "avocate-sophie-lefevre", "greffier-julien-bernard"} {
		id := account(who)
		if id == 0 {
			t.Errorf("%s has no account", who)
			continue
		}
		cases, err := s.CasesFor(ctx, id)
		if err != nil || len(cases) != 1 || cases[0].RGNumber != "25/01234" || cases[0].State != "in_progress" {
			t.Errorf("%s's cases: %+v %v", who, cases, err)
			continue
		}
		docs, err := s.DocumentsReadable(ctx, cases[0].ID, id)
		if err != nil || len(docs) != 3 {
			t.Errorf("%s reads %d documents (%v)", who, len(docs), err)
		}
	}
	if account("experte-anne-moreau") != 0 {
		t.Errorf("the second expert is registered: nothing left to try the registration form with")
	}
}
