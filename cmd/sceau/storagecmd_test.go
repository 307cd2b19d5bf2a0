package main

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sceau.fr/sceau/portal/blobs"
	"sceau.fr/sceau/portal/model"
	"sceau.fr/sceau/portal/store"
)

// TestStorageVerify: `sceau storage verify` re-reads the demo case's files,
// finds them intact, then names a file altered on disk and one removed
// (exit status 2), and leaves each run in the case's journal.
func TestStorageVerify(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if _, _, err := execute(t, "init", "--data", dir, "--demo-case"); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "sceau.toml")
	out, stderr, err := execute(t, "storage", "verify", "--config", cfgPath)
	if err != nil || !strings.HasPrefix(out, "OK: 3 files in 1 cases") || !strings.Contains(out, "all intact") {
		t.Fatalf("verify: %v\n%s%s", err, out, stderr)
	}

	ctx := context.Background()
	s, err := store.Open(ctx, store.Options{Driver: "sqlite", DSN: store.SQLiteDSN(filepath.Join(dir, "sceau.db"))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	files, err := s.DocumentFiles(ctx, 0, 10)
	if err != nil || len(files) != 3 {
		t.Fatalf("demo files: %+v %v", files, err)
	}
	path := func(key string) string {
		var found string
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.Name() == key {
				found = p
			}
			return nil
		})
		if found == "" {
			t.Fatalf("blob %s not found under %s", key, dir)
		}
		return found
	}
	altered, removed := files[0], files[2]
	p := path(altered.BlobKey)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x01 // one bit
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path(removed.BlobKey)); err != nil {
		t.Fatal(err)
	}

	// Two stored files no document points to: one from two days ago is
	// reported, one from just now (a deposit about to commit) is not.
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	local, err := blobs.NewLocal(cfg.Storage.Path)
	if err != nil {
		t.Fatal(err)
	}
	var orphans []string
	for _, content := range []string{"dépôt interrompu", "dépôt en cours"} {
		p, err := local.Put(ctx, strings.NewReader(content), 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		orphans = append(orphans, p.Key)
	}
	old := time.Now().Add(-48 * time.Hour)
	if err := os.Chtimes(path(orphans[0]), old, old); err != nil {
		t.Fatal(err)
	}

	out, _, err = execute(t, "storage", "verify", "--config", cfgPath)
	if !strings.Contains(out, "ORPHAN: stored file "+orphans[0]) || strings.Contains(out, orphans[1]) ||
		!strings.Contains(out, "ORPHAN: 1 stored files") {
		t.Errorf("orphans: want only %s reported:\n%s", orphans[0], out)
	}
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != exitFilesDamaged {
		t.Fatalf("verify after damage: %v\n%s", err, out)
	}
	for _, want := range []string{
		"document " + itoa(int(altered.DocumentID)) + ", file \"" + altered.FileName + "\": altered",
		"document " + itoa(int(removed.DocumentID)) + ", file \"" + removed.FileName + "\": missing from storage",
		"DAMAGED: 2 of 3 files",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("verify output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "document "+itoa(int(files[1].DocumentID))+",") {
		t.Errorf("the intact file is reported:\n%s", out)
	}

	// Both runs are in the case's journal, the second naming the damage.
	db, _ := auditDB(t, cfgPath)
	rows, err := db.Query(`SELECT case_id, objects, detail, request_id FROM audit_entries WHERE action = ? ORDER BY seq`, model.AuditStorageVerify)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	type entry struct {
		caseID                     int64
		objects, detail, requestID string
	}
	var entries []entry
	for rows.Next() {
		var e entry
		if err := rows.Scan(&e.caseID, &e.objects, &e.detail, &e.requestID); err != nil {
			t.Fatal(err)
		}
		entries = append(entries, e)
	}
	if len(entries) != 2 || entries[0].caseID != altered.CaseID ||
		entries[0].detail != "3 fichier(s) contrôlé(s), tous intacts" ||
		entries[1].detail != "3 fichier(s) contrôlé(s), 2 manquant(s) ou altéré(s)" ||
		entries[1].objects != "document:"+itoa(int(altered.DocumentID))+" document:"+itoa(int(removed.DocumentID)) ||
		!strings.HasPrefix(entries[1].requestID, "cli") {
		t.Errorf("journal entries: %+v", entries)
	}
	if out, _, err := execute(t, "audit", "verify", "--config", cfgPath); err != nil || !strings.HasPrefix(out, "OK: ") {
		t.Errorf("audit chain after the checks: %v\n%s", err, out)
	}
}
