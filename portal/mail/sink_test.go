package mail_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sceau.fr/sceau/portal/mail"
)

func TestSink(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sink") // created on first send
	if entries, err := mail.ListSink(dir); err != nil || len(entries) != 0 {
		t.Fatalf("missing folder: %v, %v", entries, err)
	}
	sink := mail.SinkSender{Dir: dir, From: fromAddr, FromName: fromName}

	first, err := mail.Compose(tpl, "verification", "premiere@example.fr", "Éloïse Première", verificationData())
	if err != nil {
		t.Fatal(err)
	}
	first.ID, first.CreatedAt = 1, time.Date(2026, 11, 25, 9, 30, 0, 0, time.UTC)
	second, err := mail.Compose(tpl, "verification", "seconde@example.fr", "", verificationData())
	if err != nil {
		t.Fatal(err)
	}
	second.ID, second.CreatedAt = 2, first.CreatedAt.Add(time.Minute)
	if err := sink.Send(context.Background(), first); err != nil {
		t.Fatal(err)
	}
	if err := sink.Send(context.Background(), second); err != nil {
		t.Fatal(err)
	}

	files, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 {
		t.Fatalf("sink holds %d files (temporary files left?), want 2", len(files))
	}
	for _, f := range files {
		info, err := f.Info()
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s is readable by others: %v", f.Name(), info.Mode())
		}
	}

	entries, err := mail.ListSink(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 || entries[0].To != "seconde@example.fr" || entries[1].To != "Éloïse Première <premiere@example.fr>" {
		t.Fatalf("entries not newest first: %+v", entries)
	}
	e := entries[1]
	if e.Subject != wantSubject || !e.Date.Equal(first.CreatedAt) || e.MessageID != first.MessageID ||
		e.From != fromName+" <"+fromAddr+">" || e.Text != "" || !strings.HasSuffix(e.Name, ".eml") {
		t.Errorf("list entry %+v", e)
	}
	if !(entries[0].Name > entries[1].Name) {
		t.Errorf("names do not sort by time: %q, %q", entries[0].Name, entries[1].Name)
	}

	full, err := mail.ReadSink(dir, e.Name)
	if err != nil {
		t.Fatal(err)
	}
	if full.Subject != wantSubject || full.Text != first.TextBody || full.HTML != first.HTMLBody {
		t.Errorf("read back %+v", full)
	}
	if !strings.Contains(full.Text, "Envoyé à la demande de l’opérateur le 25/11/2026.") {
		t.Errorf("text lost its accents: %q", full.Text)
	}

	// The file is a complete message, readable by a mail client.
	raw, err := os.ReadFile(filepath.Join(dir, e.Name))
	if err != nil {
		t.Fatal(err)
	}
	if p := parseMessage(t, raw); p.header.Get("Auto-Submitted") != "auto-generated" || p.text != first.TextBody {
		t.Errorf("eml file does not parse back")
	}

	// A file next to the sink folder must stay out of reach.
	if err := os.WriteFile(filepath.Join(filepath.Dir(dir), "x.eml"), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"../x.eml", "..", "", ".eml", "sub/x.eml", `..\x.eml`, "/etc/passwd", e.Name + ".txt", "x.txt", ".tmp-1.eml"} {
		if _, err := mail.ReadSink(dir, name); !errors.Is(err, mail.ErrBadSinkName) {
			t.Errorf("ReadSink(%q): %v, want ErrBadSinkName", name, err)
		}
	}
	if _, err := mail.ReadSink(dir, "20990101T000000.000000000Z-000001-00000000.eml"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	// Nor through a symbolic link inside the folder.
	if err := os.Symlink(filepath.Join(filepath.Dir(dir), "x.eml"), filepath.Join(dir, "link.eml")); err != nil {
		t.Fatal(err)
	}
	if _, err := mail.ReadSink(dir, "link.eml"); err == nil {
		t.Error("ReadSink followed a link out of the folder")
	}
	if entries, err := mail.ListSink(dir); err != nil || len(entries) != 2 {
		t.Errorf("ListSink lists the link: %d entries, %v", len(entries), err)
	}
}
