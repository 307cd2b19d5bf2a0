package mail_test

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"sceau.fr/sceau/portal/mail"
)

func TestCompose(t *testing.T) {
	m, err := mail.Compose(tpl, "verification", " expert@example.fr ", " Hélène Lefèvre ", verificationData())
	if err != nil {
		t.Fatal(err)
	}
	if m.ToAddress != "expert@example.fr" || m.ToName != "Hélène Lefèvre" || m.Subject != wantSubject {
		t.Errorf("row %+v", m)
	}
	if !strings.Contains(m.TextBody, organisation) || !strings.Contains(m.HTMLBody, organisation) {
		t.Errorf("bodies lack the organisation")
	}
	if m.ID != 0 || m.Attempts != 0 || m.SentAt != nil {
		t.Errorf("row is not fresh: %+v", m)
	}
	other, err := mail.Compose(tpl, "verification", "expert@example.fr", "", verificationData())
	if err != nil {
		t.Fatal(err)
	}
	if other.MessageID == m.MessageID {
		t.Error("two messages share a Message-ID")
	}

	for name, c := range map[string]struct{ to, toName, tmpl string }{
		"CRLF in address":      {"expert@example.fr\r\nBcc: victim@example.org", "", "verification"},
		"LF in name":           {"expert@example.fr", "Hélène\nBcc: victim@example.org", "verification"},
		"CR in name":           {"expert@example.fr", "Hélène\rX", "verification"},
		"not an address":       {"expert.example.fr", "", "verification"},
		"two addresses":        {"a@example.fr, b@example.fr", "", "verification"},
		"name inside address":  {"Hélène <expert@example.fr>", "", "verification"},
		"empty":                {"", "", "verification"},
		"unknown template":     {"expert@example.fr", "", "nope"},
		"NUL in name":          {"expert@example.fr", "a\x00b", "verification"},
		"address with comment": {"expert@example.fr (x)", "", "verification"},
	} {
		if _, err := mail.Compose(tpl, c.tmpl, c.to, c.toName, verificationData()); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := mail.Compose(tpl, "verification", "expert@example.fr", "X\r\nBcc: y@example.org", nil); !errors.Is(err, mail.ErrHeaderInjection) {
		t.Errorf("header injection: %v, want ErrHeaderInjection", err)
	}
}

func TestMessageID(t *testing.T) {
	shape := regexp.MustCompile(`^<[0-9a-f]{32}@([a-z0-9.-]+)>$`)
	for from, domain := range map[string]string{
		"noreply@Rennes.Sceau.fr": "rennes.sceau.fr",
		"sceau.example.fr":        "sceau.example.fr",
		"":                        "sceau.local",
		"x@bad domain":            "sceau.local",
		"x@evil>\r\nBcc: y":       "sceau.local",
	} {
		id := mail.NewMessageID(from)
		if m := shape.FindStringSubmatch(id); m == nil || m[1] != domain {
			t.Errorf("NewMessageID(%q) = %q, want <hex@%s>", from, id, domain)
		}
	}
	if mail.NewMessageID("") == mail.NewMessageID("") {
		t.Error("Message-IDs repeat")
	}

	if err := mail.SetMessageIDDomain("noreply@cours-appel.example.fr"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mail.SetMessageIDDomain(mail.DefaultMessageIDDomain) })
	m, err := mail.Compose(tpl, "verification", "expert@example.fr", "", verificationData())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(m.MessageID, "@cours-appel.example.fr>") {
		t.Errorf("Compose after SetMessageIDDomain: %q", m.MessageID)
	}
	if err := mail.SetMessageIDDomain("x@"); err == nil {
		t.Error("SetMessageIDDomain accepted an empty domain")
	}
	if id := mail.NewMessageID(""); !strings.HasSuffix(id, "@sceau.local>") {
		t.Errorf("after a bad SetMessageIDDomain: %q, want the default", id)
	}
}
