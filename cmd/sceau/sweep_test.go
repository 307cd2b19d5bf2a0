package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestServeSweepsInterruptedUploads: what an interrupted upload left in
// blob storage a day ago is removed once the server runs; a fresh upload
// in progress is left alone.
func TestServeSweepsInterruptedUploads(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if _, _, err := execute(t, "init", "--data", dir, "--demo"); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, "files", "tmp")
	if err := os.MkdirAll(tmp, 0o750); err != nil {
		t.Fatal(err)
	}
	stale, fresh := filepath.Join(tmp, "leftover-of-a-crash"), filepath.Join(tmp, "upload-in-progress")
	for _, f := range []string{stale, fresh} {
		if err := os.WriteFile(f, []byte("partial"), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-25 * time.Hour)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	setListeners(t)
	r := startServe(t, filepath.Join(dir, "sceau.toml"))
	r.waitStatus("admin", "/readyz", 200)
	r.waitFor("the stale upload swept", func() (bool, string) {
		_, err := os.Stat(stale)
		return os.IsNotExist(err), "still there"
	})
	if _, err := os.Stat(fresh); err != nil {
		t.Fatalf("a fresh upload was removed: %v", err)
	}
}
