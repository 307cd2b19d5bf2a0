package mail_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"sceau.fr/sceau/portal/mail"
	"sceau.fr/sceau/portal/mail/smtptest"
	"sceau.fr/sceau/portal/model"
	"sceau.fr/sceau/portal/store"
	"sceau.fr/sceau/portal/store/storetest"
)

// Mail queued while the relay is down is kept, retried later and later,
// and delivered exactly once when the relay is back.
func TestRelayDownThenBack(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		srv := smtptest.Start(t)
		srv.Close() // the port now refuses connections
		clk := newClock()
		w := &mail.Worker{Store: s, Sender: plainSender(t, srv), Now: clk.Now, Logger: newLogger(&logBuffer{})}
		m := enqueue(t, s, "helene.lefevre@example.fr")[0]

		if got := drain(t, w); got != (drained{retried: 1}) {
			t.Fatalf("relay down: drained %+v, want one retry", got)
		}
		r := row(t, s, m.ID)
		if r.SentAt != nil || r.FailedAt != nil || r.LockedUntil != nil || r.Attempts != 1 || r.LastError == "" {
			t.Fatalf("after a refused connection: %+v", r)
		}
		first := r.NextAttemptAt.Sub(clk.Now())
		if first < 30*time.Second || first > 34*time.Second {
			t.Errorf("first retry in %v, want 30s plus a little jitter", first)
		}

		// Not due yet: nothing is attempted.
		clk.Advance(20 * time.Second)
		if got := drain(t, w); got != (drained{}) {
			t.Fatalf("before the retry time: drained %+v, want nothing", got)
		}

		clk.Advance(time.Minute)
		if got := drain(t, w); got != (drained{retried: 1}) {
			t.Fatalf("second attempt, relay still down: drained %+v", got)
		}
		r = row(t, s, m.ID)
		if second := r.NextAttemptAt.Sub(clk.Now()); r.Attempts != 2 || second < 60*time.Second || second > 67*time.Second {
			t.Errorf("after the second failure: attempts %d, next in %v; want 2 and about 1m", r.Attempts, second)
		}

		srv.Restart(t)
		clk.Advance(2 * time.Minute)
		if got := drain(t, w); got != (drained{sent: 1}) {
			t.Fatalf("relay back: drained %+v, want one sent", got)
		}
		clk.Advance(2 * time.Hour)
		if got := drain(t, w); got != (drained{}) {
			t.Fatalf("after delivery: drained %+v, want nothing", got)
		}
		if got := srv.Messages(); len(got) != 1 {
			t.Fatalf("relay received %d messages, want exactly 1", len(got))
		}
		r = row(t, s, m.ID)
		if r.SentAt == nil || r.FailedAt != nil || r.Attempts != 3 || r.LastError != "" || r.LockedUntil != nil {
			t.Fatalf("row after delivery: %+v", r)
		}
		if c := counts(t, s); c != (store.OutboxCounts{Sent: 1}) {
			t.Errorf("counts %+v", c)
		}
	})
}

// silentRelay accepts TCP connections and never says a word, like a relay
// behind a broken firewall. It counts the connections.
func silentRelay(t *testing.T) (port int, accepted func() int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().(*net.TCPAddr).Port, func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(conns)
	}
}

// A relay that times out is a temporary failure, and once the relay is
// found unusable the rest of the batch is deferred without trying each
// message (which would take a timeout each and could outlast the lease).
func TestUnresponsiveRelay(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		port, accepted := silentRelay(t)
		sender, err := mail.NewSMTPSender(mail.SMTPConfig{
			Host: "127.0.0.1", Port: port, Security: mail.SecurityNone,
			Timeout: 200 * time.Millisecond, From: fromAddr,
		})
		if err != nil {
			t.Fatal(err)
		}
		clk := newClock()
		w := &mail.Worker{Store: s, Sender: sender, Now: clk.Now, Logger: newLogger(&logBuffer{})}
		msgs := enqueue(t, s, "a@example.fr", "b@example.fr", "c@example.fr", "d@example.fr", "e@example.fr")

		if got := drain(t, w); got != (drained{retried: 5}) {
			t.Fatalf("drained %+v, want 5 deferred", got)
		}
		if n := accepted(); n != 1 {
			t.Fatalf("%d connections to the silent relay, want 1", n)
		}
		for _, m := range msgs {
			r := row(t, s, m.ID)
			if r.Attempts != 1 || r.FailedAt != nil || r.SentAt != nil || r.LockedUntil != nil ||
				!r.NextAttemptAt.After(clk.Now()) || !strings.Contains(r.LastError, "timeout") {
				t.Errorf("row %d: %+v", m.ID, r)
			}
		}
		if c := counts(t, s); c != (store.OutboxCounts{Pending: 5}) {
			t.Errorf("counts %+v", c)
		}
	})
}

// A relay answering 451 then 421 (temporary) and then accepting gets the
// message exactly once.
func TestTemporaryRefusalThenAccept(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		srv := smtptest.Start(t)
		clk := newClock()
		w := &mail.Worker{Store: s, Sender: plainSender(t, srv), Now: clk.Now, Logger: newLogger(&logBuffer{})}
		m := enqueue(t, s, "helene.lefevre@example.fr")[0]

		for i, code := range []int{451, 421} {
			srv.SetRefuse(code)
			if got := drain(t, w); got != (drained{retried: 1}) {
				t.Fatalf("%d: drained %+v, want one retry", code, got)
			}
			r := row(t, s, m.ID)
			if r.Attempts != i+1 || r.FailedAt != nil || !strings.Contains(r.LastError, fmt.Sprint(code)) {
				t.Fatalf("after %d: attempts %d, failed %v, last error %q", code, r.Attempts, r.FailedAt, r.LastError)
			}
			clk.Advance(2 * time.Hour)
		}
		if srv.Rejected() != 2 {
			t.Fatalf("relay refused %d RCPT, want 2", srv.Rejected())
		}
		srv.SetRefuse(0)
		if got := drain(t, w); got != (drained{sent: 1}) {
			t.Fatalf("relay accepting: drained %+v", got)
		}
		clk.Advance(2 * time.Hour)
		drain(t, w)
		if n := len(srv.Messages()); n != 1 {
			t.Fatalf("relay received %d messages, want exactly 1", n)
		}
		if r := row(t, s, m.ID); r.SentAt == nil || r.Attempts != 3 || r.LastError != "" {
			t.Fatalf("row: %+v", r)
		}
	})
}

// A permanent refusal marks the message failed with the reason, does not
// retry it, and logs without the recipient's address or the body.
func TestPermanentRefusal(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		srv := smtptest.Start(t)
		srv.SetRefuse(550)
		clk := newClock()
		var logs logBuffer
		w := &mail.Worker{Store: s, Sender: plainSender(t, srv), Now: clk.Now, Logger: newLogger(&logs)}
		m := enqueue(t, s, "helene.lefevre@example.fr")[0]

		if got := drain(t, w); got != (drained{failed: 1}) {
			t.Fatalf("drained %+v, want one failed", got)
		}
		clk.Advance(24 * time.Hour)
		if got := drain(t, w); got != (drained{}) {
			t.Fatalf("a failed message was attempted again: %+v", got)
		}
		if srv.Rejected() != 1 || len(srv.Messages()) != 0 {
			t.Fatalf("relay saw %d RCPT refused and %d messages; want 1 and 0", srv.Rejected(), len(srv.Messages()))
		}
		r := row(t, s, m.ID)
		if r.FailedAt == nil || r.SentAt != nil || r.Attempts != 1 || r.LockedUntil != nil {
			t.Fatalf("row: %+v", r)
		}
		if !strings.Contains(r.LastError, "550") || !strings.Contains(r.LastError, "User unknown") {
			t.Errorf("last_error %q does not say why", r.LastError)
		}
		if c := counts(t, s); c != (store.OutboxCounts{Failed: 1}) {
			t.Errorf("counts %+v", c)
		}

		out := logs.String()
		for _, want := range []string{"level=ERROR", fmt.Sprintf("outbox_id=%d", m.ID), "attempts=1", "to_domain=example.fr", "550"} {
			if !strings.Contains(out, want) {
				t.Errorf("logs lack %q:\n%s", want, out)
			}
		}
		for _, leak := range []string{"helene.lefevre", "Bonjour", "Lefèvre", "Hélène"} {
			if strings.Contains(out, leak) {
				t.Errorf("logs contain %q:\n%s", leak, out)
			}
		}
		if strings.Contains(r.LastError, "helene.lefevre") {
			t.Errorf("last_error keeps the address: %q", r.LastError)
		}
	})
}

// Two workers draining the same outbox at once deliver each message once.
func TestConcurrentWorkers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		srv := smtptest.Start(t)
		const n = 40
		var to []string
		for i := range n {
			to = append(to, fmt.Sprintf("expert%02d@example.fr", i))
		}
		msgs := enqueue(t, s, to...)
		sender := plainSender(t, srv)

		var wg sync.WaitGroup
		var mu sync.Mutex
		total := 0
		start := make(chan struct{})
		for i := range 2 {
			w := &mail.Worker{Store: s, Sender: sender, Batch: 3, Logger: newLogger(&logBuffer{})}
			wg.Go(func() {
				<-start
				for {
					sent, retried, failed, err := w.DrainOnce(context.Background())
					if err != nil || retried != 0 || failed != 0 {
						t.Errorf("worker %d: sent %d retried %d failed %d: %v", i, sent, retried, failed, err)
						return
					}
					mu.Lock()
					total += sent
					mu.Unlock()
					if sent == 0 {
						return
					}
				}
			})
		}
		close(start)
		wg.Wait()

		got := srv.Messages()
		if total != n || len(got) != n {
			t.Fatalf("workers reported %d sent, relay received %d; want %d", total, len(got), n)
		}
		seen := map[string]int{}
		for _, m := range got {
			seen[parseMessage(t, m.Data).header.Get("Message-Id")]++
		}
		for _, m := range msgs {
			if seen[m.MessageID] != 1 {
				t.Errorf("message %s received %d times", m.MessageID, seen[m.MessageID])
			}
		}
		if c := counts(t, s); c != (store.OutboxCounts{Sent: n}) {
			t.Errorf("counts %+v", c)
		}
	})
}

// Run delivers what is due at start and, on Wake, what was enqueued later
// (the poll interval is an hour); it returns when its context is cancelled.
func TestRunWakeAndStop(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		srv := smtptest.Start(t)
		w := &mail.Worker{Store: s, Sender: plainSender(t, srv), Interval: time.Hour, Logger: newLogger(&logBuffer{})}
		first := enqueue(t, s, "premier@example.fr")[0]
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); w.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done })

		srv.WaitFor(t, 1, 5*time.Second)
		waitUntil(t, 5*time.Second, "the first message marked sent", func() bool { return row(t, s, first.ID).SentAt != nil })

		second := enqueue(t, s, "second@example.fr")[0]
		w.Wake()
		w.Wake() // never blocks, even with a wake pending
		srv.WaitFor(t, 2, 5*time.Second)
		waitUntil(t, 5*time.Second, "the second message marked sent", func() bool { return row(t, s, second.ID).SentAt != nil })

		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("Run did not return after its context was cancelled")
		}
		if n := len(srv.Messages()); n != 2 {
			t.Fatalf("relay received %d messages, want 2", n)
		}
	})
}

// cancelOnSend cancels the worker's context as the first message goes out.
type cancelOnSend struct {
	mail.Sender
	once   sync.Once
	cancel context.CancelFunc
}

func (c *cancelOnSend) Send(ctx context.Context, m *model.OutboxMessage) error {
	c.once.Do(c.cancel)
	return c.Sender.Send(ctx, m)
}

// Cancelling Run while a message is being sent lets that message finish
// and be recorded, and hands the rest of the batch back at once.
func TestRunFinishesMessageInFlight(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		srv := smtptest.Start(t)
		msgs := enqueue(t, s, "a@example.fr", "b@example.fr", "c@example.fr")
		ctx, cancel := context.WithCancel(context.Background())
		sender := &cancelOnSend{Sender: plainSender(t, srv), cancel: cancel}
		w := &mail.Worker{Store: s, Sender: sender, Interval: time.Hour, Batch: 10, Logger: newLogger(&logBuffer{})}
		done := make(chan struct{})
		go func() { defer close(done); w.Run(ctx) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not return after its context was cancelled")
		}

		if n := len(srv.Messages()); n != 1 {
			t.Fatalf("relay received %d messages, want the one in flight", n)
		}
		if c := counts(t, s); c != (store.OutboxCounts{Sent: 1, Pending: 2}) {
			t.Fatalf("counts %+v, want 1 sent and 2 pending", c)
		}
		for _, m := range msgs {
			if r := row(t, s, m.ID); r.SentAt == nil && r.LockedUntil != nil {
				t.Errorf("message %d is still leased after Run returned", m.ID)
			}
		}
		// Handed back, not leased: another worker sends them right away.
		other := &mail.Worker{Store: s, Sender: plainSender(t, srv), Logger: newLogger(&logBuffer{})}
		if got := drain(t, other); got != (drained{sent: 2}) {
			t.Fatalf("second worker drained %+v, want the 2 handed back", got)
		}
		if n := len(srv.Messages()); n != 3 {
			t.Fatalf("relay received %d messages, want 3", n)
		}
	})
}

// slowSender makes each send take most of the lease on the worker's clock.
type slowSender struct {
	mail.Sender
	clk *clock
	d   time.Duration
}

func (s slowSender) Send(ctx context.Context, m *model.OutboxMessage) error {
	s.clk.Advance(s.d)
	return s.Sender.Send(ctx, m)
}

// When sending takes longer than half the lease, the worker hands the
// rest of the batch back before another worker could claim it, and sends
// it in a fresh lease: still exactly once each.
func TestLeaseRunningShort(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		srv := smtptest.Start(t)
		clk := newClock()
		msgs := enqueue(t, s, "a@example.fr", "b@example.fr", "c@example.fr", "d@example.fr")
		w := &mail.Worker{
			Store: s, Sender: slowSender{plainSender(t, srv), clk, 3 * time.Minute},
			Now: clk.Now, Lease: 5 * time.Minute, Batch: 2, Logger: newLogger(&logBuffer{}),
		}
		got := drain(t, w)
		if got.sent != 4 || got.failed != 0 {
			t.Fatalf("drained %+v, want all 4 sent", got)
		}
		if n := len(srv.Messages()); n != 4 {
			t.Fatalf("relay received %d messages, want 4", n)
		}
		if r := row(t, s, msgs[1].ID); r.SentAt == nil || r.Attempts != 2 {
			t.Errorf("second message: sent %v after %d claims; want sent, claimed twice", r.SentAt, r.Attempts)
		}
	})
}

func TestBackoff(t *testing.T) {
	for _, c := range []struct {
		attempts int
		min      time.Duration
	}{
		{0, 30 * time.Second}, {1, 30 * time.Second}, {2, time.Minute}, {3, 2 * time.Minute},
		{4, 4 * time.Minute}, {7, 32 * time.Minute}, {8, time.Hour}, {50, time.Hour}, {1 << 30, time.Hour},
	} {
		for range 20 {
			d := mail.Backoff(c.attempts)
			if d < c.min || d > c.min+c.min/10 {
				t.Fatalf("Backoff(%d) = %v, want %v plus at most 10%%", c.attempts, d, c.min)
			}
		}
	}
}

// Several instances woken at once: each drain keeps claiming until the
// outbox is empty, instead of stopping at its first batch cut short by
// another instance's claim (the mail would then wait for the next poll).
func TestConcurrentDrainsEmptyTheOutbox(t *testing.T) {
	storetest.EachPair(t, func(t *testing.T, a, b *store.Store) {
		srv := smtptest.Start(t)
		const n = 300
		var to []string
		for i := range n {
			to = append(to, fmt.Sprintf("greffe%03d@example.fr", i))
		}
		enqueue(t, a, to...)
		sender := plainSender(t, srv)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range 4 {
			s := []*store.Store{a, b}[i%2]
			w := &mail.Worker{Store: s, Sender: sender, Batch: 10, Logger: newLogger(&logBuffer{})}
			wg.Go(func() {
				<-start
				if _, _, _, err := w.DrainOnce(context.Background()); err != nil {
					t.Errorf("worker %d: %v", i, err)
				}
			})
		}
		close(start)
		wg.Wait()
		if got := len(srv.Messages()); got != n {
			t.Fatalf("one drain each by 4 workers delivered %d of %d messages", got, n)
		}
		if c := counts(t, a); c != (store.OutboxCounts{Sent: n}) {
			t.Errorf("counts %+v", c)
		}
	})
}
