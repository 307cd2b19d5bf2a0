package main

import (
	"strconv"
	"testing"

	"sceau.fr/sceau/portal/mail/smtptest"
)

// serveWithSMTP starts a real SMTP server on loopback, points the
// configuration at it (polling the outbox every 100 ms) and serves
// cfgPath until the database is ready.
func serveWithSMTP(t *testing.T, cfgPath string) (*running, *smtptest.Server) {
	t.Helper()
	srv := smtptest.Start(t)
	t.Setenv("SCEAU_MAIL_TRANSPORT", "smtp")
	t.Setenv("SCEAU_MAIL_SMTP_HOST", srv.Host())
	t.Setenv("SCEAU_MAIL_SMTP_PORT", strconv.Itoa(srv.Port()))
	t.Setenv("SCEAU_MAIL_SMTP_SECURITY", "none")
	t.Setenv("SCEAU_MAIL_POLL_INTERVAL", "100ms")
	r := startServe(t, cfgPath)
	r.waitStatus("admin", "/readyz", 200)
	return r, srv
}
