package mail_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	netmail "net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"sceau.fr/sceau/portal/mail"
	"sceau.fr/sceau/portal/mail/smtptest"
	"sceau.fr/sceau/portal/model"
	"sceau.fr/sceau/portal/store"
	"sceau.fr/sceau/templates"
)

const (
	fromAddr     = "noreply@sceau.example.fr"
	fromName     = "Sceau — Cour d’appel de Rennes"
	wantSubject  = "Sceau : message de vérification de l’envoi des courriels"
	organisation = "Cour d’appel de Rennes"
)

var tpl = templates.MustLoad()

// verificationData is what the verification template uses.
func verificationData() map[string]any {
	return map[string]any{"Organisation": organisation, "Date": "25/11/2026"}
}

// clock is a fake time source for Worker.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

// newClock starts a little after the real time, so that rows just
// enqueued (due at the real time) are due.
func newClock() *clock { return &clock{t: time.Now().Add(time.Second)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// plainSender sends to srv without TLS (allowed: it is on loopback).
func plainSender(t *testing.T, srv *smtptest.Server) *mail.SMTPSender {
	t.Helper()
	s, err := mail.NewSMTPSender(mail.SMTPConfig{
		Host: srv.Host(), Port: srv.Port(), Security: mail.SecurityNone,
		Timeout: 5 * time.Second, From: fromAddr, FromName: fromName,
	})
	if err != nil {
		t.Fatalf("NewSMTPSender: %v", err)
	}
	return s
}

// enqueue composes the verification mail for each address and queues it.
func enqueue(t *testing.T, s *store.Store, to ...string) []*model.OutboxMessage {
	t.Helper()
	var msgs []*model.OutboxMessage
	for _, addr := range to {
		m, err := mail.Compose(tpl, "verification", addr, "Hélène Lefèvre", verificationData())
		if err != nil {
			t.Fatalf("Compose: %v", err)
		}
		msgs = append(msgs, m)
	}
	if err := s.EnqueueMail(context.Background(), msgs...); err != nil {
		t.Fatalf("EnqueueMail: %v", err)
	}
	return msgs
}

func row(t *testing.T, s *store.Store, id int64) *model.OutboxMessage {
	t.Helper()
	m, err := s.OutboxMessage(context.Background(), id)
	if err != nil {
		t.Fatalf("OutboxMessage(%d): %v", id, err)
	}
	return m
}

func counts(t *testing.T, s *store.Store) store.OutboxCounts {
	t.Helper()
	c, err := s.CountOutbox(context.Background())
	if err != nil {
		t.Fatalf("CountOutbox: %v", err)
	}
	return c
}

type drained struct{ sent, retried, failed int }

func drain(t *testing.T, w *mail.Worker) drained {
	t.Helper()
	sent, retried, failed, err := w.DrainOnce(context.Background())
	if err != nil {
		t.Fatalf("DrainOnce: %v", err)
	}
	return drained{sent, retried, failed}
}

// logBuffer collects a worker's logs.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func newLogger(l *logBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// parsed is a received message taken apart with the standard library only.
type parsed struct {
	header     netmail.Header
	parts      []string // media types of the alternatives, in order
	text, html string   // decoded, with LF line ends
}

func parseMessage(t *testing.T, data []byte) parsed {
	t.Helper()
	msg, err := netmail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("net/mail cannot read the message: %v\n%s", err, data)
	}
	p := parsed{header: msg.Header}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type = %q (%v), want multipart/alternative", msg.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("multipart: %v", err)
		}
		pmt, pparams, err := mime.ParseMediaType(part.Header.Get("Content-Type"))
		if err != nil {
			t.Fatalf("part Content-Type %q: %v", part.Header.Get("Content-Type"), err)
		}
		if cs := strings.ToLower(pparams["charset"]); cs != "utf-8" {
			t.Errorf("part %s charset = %q, want utf-8", pmt, cs)
		}
		var r io.Reader = part
		switch cte := strings.ToLower(part.Header.Get("Content-Transfer-Encoding")); cte {
		case "quoted-printable":
			r = quotedprintable.NewReader(part)
		case "7bit", "":
		default:
			t.Errorf("part %s: unexpected Content-Transfer-Encoding %q", pmt, cte)
		}
		body, err := io.ReadAll(r)
		if err != nil {
			t.Fatalf("part %s: %v", pmt, err)
		}
		p.parts = append(p.parts, pmt)
		text := strings.ReplaceAll(string(body), "\r\n", "\n") // CRLF on the wire
		switch pmt {
		case "text/plain":
			p.text = text
		case "text/html":
			p.html = text
		}
	}
	return p
}

func decodeWords(t *testing.T, v string) string {
	t.Helper()
	s, err := new(mime.WordDecoder).DecodeHeader(v)
	if err != nil {
		t.Fatalf("decode %q: %v", v, err)
	}
	return s
}

// waitUntil polls cond until it holds or the deadline passes.
func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
