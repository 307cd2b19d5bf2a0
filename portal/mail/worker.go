package mail

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"sceau.fr/sceau/portal/model"
	"sceau.fr/sceau/portal/store"
)

// Worker defaults.
const (
	DefaultInterval = 10 * time.Second
	DefaultLease    = 5 * time.Minute
	DefaultBatch    = 20
)

// Worker drains the outbox: it leases due messages, hands them to Sender,
// and records the outcome. Several workers, in one process or several, may
// drain the same outbox: the lease keeps them from sending a message
// twice. A temporary failure is retried with exponential backoff, forever;
// a permanent one marks the message failed, with the reason kept in
// last_error.
//
// The zero value of each field but Store and Sender has a default.
type Worker struct {
	Store  *store.Store
	Sender Sender
	// Interval between polls of the outbox (Wake cuts a wait short).
	Interval time.Duration
	// Lease is how long claimed messages are reserved for this worker.
	// It must comfortably exceed the time to send one message: the worker
	// hands back the rest of a batch once half of the lease has passed.
	Lease time.Duration
	// Batch is the number of messages claimed at once.
	Batch  int
	Logger *slog.Logger
	// Now is the clock, for tests; time.Now by default.
	Now func() time.Time

	wakeOnce sync.Once
	wake     chan struct{}
}

func (w *Worker) wakeChan() chan struct{} {
	w.wakeOnce.Do(func() { w.wake = make(chan struct{}, 1) })
	return w.wake
}

// Wake asks Run to drain the outbox now, for instance right after a
// message was enqueued. It never blocks.
func (w *Worker) Wake() {
	select {
	case w.wakeChan() <- struct{}{}:
	default: // a drain is already pending
	}
}

func (w *Worker) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

func (w *Worker) logger() *slog.Logger {
	if w.Logger != nil {
		return w.Logger
	}
	return slog.Default()
}

func (w *Worker) lease() time.Duration {
	if w.Lease > 0 {
		return w.Lease
	}
	return DefaultLease
}

func (w *Worker) batch() int {
	if w.Batch > 0 {
		return w.Batch
	}
	return DefaultBatch
}

// Run drains the outbox at start, then after every Interval or Wake, until
// ctx is cancelled. It then finishes the message in flight, hands back the
// other claimed ones and returns.
func (w *Worker) Run(ctx context.Context) {
	interval := w.Interval
	if interval <= 0 {
		interval = DefaultInterval
	}
	wake := w.wakeChan()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-timer.C:
		}
		if _, _, _, err := w.DrainOnce(ctx); err != nil && ctx.Err() == nil {
			w.logger().Error("mail outbox: drain failed", "error", err)
		}
		if ctx.Err() != nil {
			return
		}
		timer.Reset(interval)
	}
}

// DrainOnce sends every message due now, batch after batch, and returns
// the counts of messages sent, deferred (including those handed back
// untried) and failed for good. It stops early, deferring the rest of the
// batch, when the relay cannot be reached at all. The error is a storage
// error or ctx's.
func (w *Worker) DrainOnce(ctx context.Context) (sent, retried, failed int, err error) {
	for {
		if err := ctx.Err(); err != nil {
			return sent, retried, failed, err
		}
		claimedAt := w.now()
		msgs, err := w.Store.ClaimDueMail(ctx, claimedAt, w.lease(), w.batch())
		if err != nil {
			// Some rows may be leased: they come back when the lease ends.
			return sent, retried, failed, err
		}
		s, r, f, stop, err := w.process(ctx, msgs, claimedAt)
		sent, retried, failed = sent+s, retried+r, failed+f
		if err != nil || stop || len(msgs) < w.batch() {
			return sent, retried, failed, err
		}
	}
}

// process sends a claimed batch. stop says the pass should end: the relay
// is unreachable or ctx was cancelled.
func (w *Worker) process(ctx context.Context, msgs []model.OutboxMessage, claimedAt time.Time) (sent, retried, failed int, stop bool, err error) {
	// Marks and sends are not cancelled with ctx: a message sent must be
	// recorded, and a claimed one handed back.
	bg := context.WithoutCancel(ctx)
	budget := claimedAt.Add(w.lease() / 2)
	for i := range msgs {
		m := &msgs[i]
		if ctx.Err() != nil || (i > 0 && w.now().After(budget)) {
			// Hand the rest back untried, keeping their last error.
			stop = ctx.Err() != nil
			for _, rest := range msgs[i:] {
				if err := w.Store.MarkMailRetry(bg, rest.ID, w.now(), rest.LastError); err != nil {
					return sent, retried, failed, true, err
				}
				retried++
			}
			return sent, retried, failed, stop, nil
		}
		sendErr := w.Sender.Send(bg, m)
		now := w.now()
		log := w.logger().With("outbox_id", m.ID, "attempts", m.Attempts, "to_domain", domainOf(m.ToAddress))
		switch {
		case sendErr == nil:
			if err := w.Store.MarkMailSent(bg, m.ID, now); err != nil {
				log.Error("mail sent but not recorded as sent: it will be sent again", "error", err)
				return sent, retried, failed, true, err
			}
			sent++
			log.Info("mail sent")
		case IsPermanent(sendErr):
			reason := errorText(sendErr, m.ToAddress)
			if err := w.Store.MarkMailFailed(bg, m.ID, now, reason); err != nil {
				return sent, retried, failed, true, err
			}
			failed++
			log.Error("mail refused for good", "error", reason)
		default:
			reason := errorText(sendErr, m.ToAddress)
			delay := Backoff(m.Attempts)
			if err := w.Store.MarkMailRetry(bg, m.ID, now.Add(delay), reason); err != nil {
				return sent, retried, failed, true, err
			}
			retried++
			log.Warn("mail deferred", "error", reason, "retry_in", delay.Round(time.Second).String())
			if isConnectionError(sendErr) {
				// The relay is down or refuses the session: do not try the
				// others one by one, each with its timeout.
				for _, rest := range msgs[i+1:] {
					delay := Backoff(rest.Attempts)
					if err := w.Store.MarkMailRetry(bg, rest.ID, now.Add(delay), reason); err != nil {
						return sent, retried, failed, true, err
					}
					retried++
					w.logger().Warn("mail deferred", "outbox_id", rest.ID, "attempts", rest.Attempts,
						"to_domain", domainOf(rest.ToAddress), "error", reason,
						"retry_in", delay.Round(time.Second).String())
				}
				return sent, retried, failed, true, nil
			}
		}
	}
	return sent, retried, failed, false, nil
}

// maxErrorText bounds what is kept of an error in last_error and logs.
const maxErrorText = 1000

// errorText is err's text with the recipient's address reduced to its
// domain, bounded in length, safe to store.
func errorText(err error, to string) string {
	s := redact(err.Error(), to)
	if len(s) > maxErrorText {
		s = s[:maxErrorText]
	}
	// Relays' replies are not trusted to be UTF-8; PostgreSQL rejects
	// invalid UTF-8 and NUL in text columns.
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
}

// Backoff is the delay before the next attempt after the attempts-th one
// failed: 30s, 1m, 2m, 4m... capped at one hour, plus up to 10% random
// jitter so that messages deferred together spread out.
func Backoff(attempts int) time.Duration {
	const base, ceiling = 30 * time.Second, time.Hour
	d := base
	for i := 1; i < attempts && d < ceiling; i++ {
		d *= 2
	}
	d = min(d, ceiling)
	return d + rand.N(d/10+1)
}
