package smtptest_test

import (
	"net"
	"net/smtp"
	"strings"
	"testing"
	"time"

	"sceau.fr/sceau/portal/mail/smtptest"
)

// The server records what a standard client sends, refuses on demand, and
// its port is closed between Close and Restart.
func TestServer(t *testing.T) {
	srv := smtptest.Start(t)
	send := func() error {
		return smtp.SendMail(srv.Addr(), nil, "a@example.fr", []string{"b@example.fr"},
			[]byte("Subject: test\r\n\r\nbody\r\n"))
	}
	if err := send(); err != nil {
		t.Fatal(err)
	}
	got := srv.WaitFor(t, 1, 5*time.Second)
	if got[0].From != "a@example.fr" || got[0].To[0] != "b@example.fr" || !strings.Contains(string(got[0].Data), "body") {
		t.Fatalf("recorded %+v", got[0])
	}

	srv.SetRefuse(550)
	if err := send(); err == nil || !strings.HasPrefix(err.Error(), "550") {
		t.Fatalf("refusing: %v", err)
	}
	srv.SetRefuse(451)
	if err := send(); err == nil || !strings.HasPrefix(err.Error(), "451") {
		t.Fatalf("refusing: %v", err)
	}
	if srv.Rejected() != 2 {
		t.Fatalf("rejected %d", srv.Rejected())
	}
	srv.SetRefuse(0)

	port := srv.Port()
	srv.Close()
	srv.Close() // idempotent
	if c, err := net.DialTimeout("tcp", srv.Addr(), time.Second); err == nil {
		c.Close()
		t.Fatal("port still open after Close")
	}
	srv.Restart(t)
	if srv.Port() != port {
		t.Fatalf("port changed: %d → %d", port, srv.Port())
	}
	if err := send(); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.WaitFor(t, 2, 5*time.Second)); n != 2 {
		t.Fatalf("%d messages", n)
	}
}
