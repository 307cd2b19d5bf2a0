package mail_test

import (
	"context"
	"crypto/tls"
	"errors"
	netmail "net/mail"
	"strings"
	"testing"
	"time"

	"sceau.fr/sceau/portal/mail"
	"sceau.fr/sceau/portal/mail/smtptest"
	"sceau.fr/sceau/portal/model"
	"sceau.fr/sceau/portal/store"
	"sceau.fr/sceau/portal/store/storetest"
)

// What the relay receives: a 7-bit clean multipart/alternative message,
// text then HTML, whose headers and bodies decode to the French text, with
// the row's Message-ID.
func TestContentAsReceived(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		srv := smtptest.Start(t)
		w := &mail.Worker{Store: s, Sender: plainSender(t, srv), Logger: newLogger(&logBuffer{})}
		m, err := mail.Compose(tpl, "verification", "helene.lefevre@example.fr", "Hélène Lefèvre-Çédille", verificationData())
		if err != nil {
			t.Fatal(err)
		}
		if err := s.EnqueueMail(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		if got := drain(t, w); got != (drained{sent: 1}) {
			t.Fatalf("drained %+v", got)
		}
		r := row(t, s, m.ID)
		got := srv.WaitFor(t, 1, 5*time.Second)[0]

		if got.From != fromAddr || len(got.To) != 1 || got.To[0] != "helene.lefevre@example.fr" {
			t.Errorf("envelope from %q to %q", got.From, got.To)
		}
		for i, b := range got.Data {
			if b >= 0x80 {
				t.Fatalf("raw message has a non-ASCII byte at %d: accents must be encoded\n%s", i, got.Data)
			}
		}
		for _, line := range strings.Split(string(got.Data), "\r\n") {
			if len(line) > 998 {
				t.Fatalf("line longer than RFC 5322 allows: %d", len(line))
			}
		}

		p := parseMessage(t, got.Data)
		h := p.header
		if subj := decodeWords(t, h.Get("Subject")); subj != wantSubject {
			t.Errorf("Subject = %q, want %q", subj, wantSubject)
		}
		from, err := netmail.ParseAddress(h.Get("From"))
		if err != nil || from.Name != fromName || from.Address != fromAddr {
			t.Errorf("From = %q → %+v, %v", h.Get("From"), from, err)
		}
		to, err := netmail.ParseAddress(h.Get("To"))
		if err != nil || to.Name != "Hélène Lefèvre-Çédille" || to.Address != "helene.lefevre@example.fr" {
			t.Errorf("To = %q → %+v, %v", h.Get("To"), to, err)
		}
		if id := h.Get("Message-Id"); id != r.MessageID || id != m.MessageID {
			t.Errorf("Message-ID = %q, row has %q", id, r.MessageID)
		}
		if !strings.HasSuffix(r.MessageID, "@sceau.local>") {
			t.Errorf("Message-ID %q: want the default domain", r.MessageID)
		}
		date, err := h.Date()
		if err != nil {
			t.Errorf("Date %q: %v", h.Get("Date"), err)
		} else if d := date.Sub(r.CreatedAt); d < -time.Second || d > time.Second {
			t.Errorf("Date %v, row created at %v", date, r.CreatedAt)
		}
		if v := h.Get("Auto-Submitted"); v != "auto-generated" {
			t.Errorf("Auto-Submitted = %q", v)
		}
		if v := h.Get("Mime-Version"); v != "1.0" {
			t.Errorf("MIME-Version = %q", v)
		}

		if len(p.parts) != 2 || p.parts[0] != "text/plain" || p.parts[1] != "text/html" {
			t.Fatalf("alternatives %v, want [text/plain text/html]", p.parts)
		}
		for _, want := range []string{
			"Ce message confirme que Sceau (Cour d’appel de Rennes) peut envoyer des courriels.",
			"Envoyé à la demande de l’opérateur le 25/11/2026.",
			"Aucune action n’est nécessaire de votre part.",
			"— Sceau, plateforme d’échanges sécurisés pour l’expertise judiciaire",
		} {
			if !strings.Contains(p.text, want) {
				t.Errorf("text part lacks %q:\n%s", want, p.text)
			}
		}
		for _, want := range []string{
			`<html lang="fr">`,
			"<title>Sceau : message de vérification de l’envoi des courriels</title>",
			"peut envoyer des courriels.",
			"Aucune action n’est nécessaire de votre part.",
			"Ce message a été envoyé automatiquement par Sceau (Cour d’appel de Rennes).",
		} {
			if !strings.Contains(p.html, want) {
				t.Errorf("HTML part lacks %q:\n%s", want, p.html)
			}
		}
		if p.text != r.TextBody || p.html != r.HTMLBody {
			t.Errorf("bodies differ from the row's after decoding")
		}
	})
}

func sendOne(t *testing.T, s mail.Sender, to string) error {
	t.Helper()
	m, err := mail.Compose(tpl, "verification", to, "", verificationData())
	if err != nil {
		t.Fatal(err)
	}
	m.ID, m.CreatedAt = 1, time.Now()
	return s.Send(context.Background(), m)
}

// STARTTLS is mandatory and verified against the configured RootCAs, and
// AUTH happens inside the encrypted session.
func TestSTARTTLSAndAuth(t *testing.T) {
	srv := smtptest.Start(t, smtptest.WithSTARTTLS(), smtptest.WithAuth("sceau", "mot de passe é"))
	cfg := mail.SMTPConfig{
		Host: srv.Host(), Port: srv.Port(), Security: mail.SecuritySTARTTLS,
		Username: "sceau", Password: "mot de passe é", Timeout: 5 * time.Second,
		TLSConfig: &tls.Config{RootCAs: srv.RootCAs()}, From: fromAddr,
	}
	newSender := func(modify func(*mail.SMTPConfig)) *mail.SMTPSender {
		c := cfg
		modify(&c)
		s, err := mail.NewSMTPSender(c)
		if err != nil {
			t.Fatalf("NewSMTPSender: %v", err)
		}
		return s
	}

	if err := sendOne(t, newSender(func(*mail.SMTPConfig) {}), "expert@example.fr"); err != nil {
		t.Fatalf("send: %v", err)
	}
	got := srv.WaitFor(t, 1, 5*time.Second)[0]
	if !got.TLS || got.AuthUser != "sceau" {
		t.Fatalf("received with TLS=%v as %q, want TLS as sceau", got.TLS, got.AuthUser)
	}
	if from, err := netmail.ParseAddress(parseMessage(t, got.Data).header.Get("From")); err != nil || from.Name != "Sceau" {
		t.Errorf("default From name: %+v, %v", from, err)
	}

	// All of these are temporary (a configuration to fix, not a message to
	// give up on) and deliver nothing.
	for name, modify := range map[string]func(*mail.SMTPConfig){
		"wrong password":        func(c *mail.SMTPConfig) { c.Password = "faux" },
		"untrusted certificate": func(c *mail.SMTPConfig) { c.TLSConfig = nil },
		"certificate other name": func(c *mail.SMTPConfig) {
			c.TLSConfig = &tls.Config{RootCAs: srv.RootCAs(), ServerName: "relay.example.fr"}
		},
		"no auth": func(c *mail.SMTPConfig) { c.Username = "" },
	} {
		err := sendOne(t, newSender(modify), "expert@example.fr")
		if err == nil || mail.IsPermanent(err) {
			t.Errorf("%s: error %v (permanent %v), want a temporary error", name, err, mail.IsPermanent(err))
		}
	}
	if n := len(srv.Messages()); n != 1 {
		t.Fatalf("relay received %d messages, want 1", n)
	}
}

// Mandatory STARTTLS never falls back to clear text.
func TestSTARTTLSRequired(t *testing.T) {
	srv := smtptest.Start(t) // no STARTTLS offered
	s, err := mail.NewSMTPSender(mail.SMTPConfig{Host: srv.Host(), Port: srv.Port(), Security: mail.SecuritySTARTTLS, Timeout: 5 * time.Second, From: fromAddr})
	if err != nil {
		t.Fatal(err)
	}
	if err := sendOne(t, s, "expert@example.fr"); err == nil || mail.IsPermanent(err) || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("error %v, want a temporary STARTTLS error", err)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Fatalf("relay received %d messages in clear text", n)
	}
}

func TestImplicitTLS(t *testing.T) {
	srv := smtptest.Start(t, smtptest.WithImplicitTLS(), smtptest.WithAuth("sceau", "secret"))
	s, err := mail.NewSMTPSender(mail.SMTPConfig{
		Host: "localhost", Port: srv.Port(), Security: mail.SecurityTLS, Timeout: 5 * time.Second,
		Username: "sceau", Password: "secret", TLSConfig: &tls.Config{RootCAs: srv.RootCAs()}, From: fromAddr,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := sendOne(t, s, "expert@example.fr"); err != nil {
		t.Fatalf("send: %v", err)
	}
	if got := srv.WaitFor(t, 1, 5*time.Second)[0]; !got.TLS || got.AuthUser != "sceau" {
		t.Fatalf("received with TLS=%v as %q", got.TLS, got.AuthUser)
	}
}

// Clear text with AUTH is allowed to a loopback relay.
func TestPlainLoopbackAuth(t *testing.T) {
	srv := smtptest.Start(t, smtptest.WithAuth("sceau", "secret"))
	s, err := mail.NewSMTPSender(mail.SMTPConfig{
		Host: srv.Host(), Port: srv.Port(), Security: mail.SecurityNone, Timeout: 5 * time.Second,
		Username: "sceau", Password: "secret", From: fromAddr,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := sendOne(t, s, "expert@example.fr"); err != nil {
		t.Fatalf("send: %v", err)
	}
	if got := srv.WaitFor(t, 1, 5*time.Second)[0]; got.TLS || got.AuthUser != "sceau" {
		t.Fatalf("received with TLS=%v as %q", got.TLS, got.AuthUser)
	}
}

func TestNewSMTPSenderRefuses(t *testing.T) {
	for name, cfg := range map[string]mail.SMTPConfig{
		"no host":                 {From: fromAddr},
		"clear text to a network": {Host: "relay.example.fr", Security: "none", From: fromAddr},
		"clear text to a LAN IP":  {Host: "192.168.1.10", Security: "none", From: fromAddr},
		"unknown security":        {Host: "relay.example.fr", Security: "ssl3", From: fromAddr},
		"no From":                 {Host: "relay.example.fr"},
		"From with a name":        {Host: "relay.example.fr", From: "Sceau <noreply@example.fr>"},
		"From name with CRLF":     {Host: "relay.example.fr", From: fromAddr, FromName: "Sceau\r\nBcc: x@example.org"},
	} {
		if _, err := mail.NewSMTPSender(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	for _, host := range []string{"localhost", "127.0.0.1", "::1", "[::1]"} {
		if _, err := mail.NewSMTPSender(mail.SMTPConfig{Host: host, Security: "none", From: fromAddr}); err != nil {
			t.Errorf("none to %s: %v", host, err)
		}
	}
}

// A row that would inject headers is refused for good, before any
// connection.
func TestSendRefusesBadRows(t *testing.T) {
	srv := smtptest.Start(t)
	s := plainSender(t, srv)
	good, err := mail.Compose(tpl, "verification", "expert@example.fr", "", verificationData())
	if err != nil {
		t.Fatal(err)
	}
	for name, modify := range map[string]func(*model.OutboxMessage){
		"subject with CRLF": func(m *model.OutboxMessage) { m.Subject += "\r\nBcc: victim@example.org" },
		"name with LF":      func(m *model.OutboxMessage) { m.ToName = "X\nBcc: victim@example.org" },
		"two recipients":    func(m *model.OutboxMessage) { m.ToAddress = "a@example.fr, b@example.fr" },
		"no Message-ID":     func(m *model.OutboxMessage) { m.MessageID = "" },
		"bad Message-ID":    func(m *model.OutboxMessage) { m.MessageID = "<a b@c>" },
	} {
		m := *good
		modify(&m)
		if err := s.Send(context.Background(), &m); !mail.IsPermanent(err) {
			t.Errorf("%s: error %v, want permanent", name, err)
		}
	}
	if n := len(srv.Messages()); n != 0 {
		t.Fatalf("relay received %d messages", n)
	}
}

func TestIsPermanent(t *testing.T) {
	if mail.IsPermanent(nil) || mail.IsPermanent(errors.New("dial tcp: connection refused")) || mail.IsPermanent(context.DeadlineExceeded) {
		t.Error("plain errors must be temporary")
	}
	if !mail.IsPermanent(mail.Permanent(errors.New("x"))) {
		t.Error("Permanent is not permanent")
	}
	if mail.Permanent(nil) != nil {
		t.Error("Permanent(nil) != nil")
	}
}
