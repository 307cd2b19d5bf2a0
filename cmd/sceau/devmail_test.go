package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"sceau.fr/sceau/portal/mail"
	"sceau.fr/sceau/portal/store"
	"sceau.fr/sceau/templates"
)

// TestEmbeddedMailGoesToTheSinkPage: in the embedded default, a queued
// mail is delivered by the running server's worker to the sink folder and
// listed on the counter's development page, accents intact.
func TestEmbeddedMailGoesToTheSinkPage(t *testing.T) {
	dir, cfgPath := initData(t)
	setListeners(t)
	t.Setenv("SCEAU_MAIL_POLL_INTERVAL", "100ms")
	r := startServe(t, cfgPath)
	r.waitStatus("admin", "/readyz", 200)

	s, err := store.Open(context.Background(), store.Options{Driver: "sqlite", DSN: store.SQLiteDSN(filepath.Join(dir, "sceau.db"))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	msg, err := mail.Compose(templates.MustLoad(), "verification", "greffe@tribunal.example.fr", "Greffe du tribunal",
		map[string]any{"Organisation": "Cour d’appel de Rennes", "Date": "25/11/2026"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.EnqueueMail(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	var page string
	r.waitFor("the mail on /dev/mail", func() (bool, string) {
		code, body, err := r.get("counter", "/dev/mail")
		page = body
		return err == nil && code == 200 && strings.Contains(body, "greffe@tribunal.example.fr"), body
	})
	if !strings.Contains(page, "vérification de l’envoi") {
		t.Errorf("subject not shown with its accents:\n%s", page)
	}
	entries, err := mail.ListSink(filepath.Join(dir, "mail"))
	if err != nil || len(entries) != 1 {
		t.Fatalf("sink holds %d messages (%v)", len(entries), err)
	}
	code, body, err := r.get("counter", "/dev/mail/"+entries[0].Name)
	if err != nil || code != 200 || !strings.Contains(body, "Cour d’appel de Rennes") {
		t.Errorf("message page: %d %v\n%s", code, err, body)
	}
	// The page is development-only and never on the portal.
	if code, _, _ := r.get("portal", "/dev/mail"); code != 404 {
		t.Errorf("portal /dev/mail = %d, want 404", code)
	}
	if code, _, _ := r.get("counter", "/dev/mail/..%2Fsceau.toml"); code != 404 {
		t.Errorf("path traversal on the sink page = %d, want 404", code)
	}
}
