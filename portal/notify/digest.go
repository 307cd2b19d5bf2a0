package notify

import (
	"context"
	"log/slog"
	"time"

	"sceau.fr/sceau/portal/store"
)

// DigestWorker queues, once a day at Hour (in Location), the digest of the
// previous day's documents. Every instance may run one: the store's claims
// make each account's digest go out once (store.RunDigest). A run that
// fails or is interrupted is retried at the next tick and sends only what
// is missing.
type DigestWorker struct {
	Store *store.Store
	// Hour (0–23) and Minute of the day from which the previous day's
	// digest is due.
	Hour, Minute int
	// Location of the days and of Hour; Paris when nil.
	Location *time.Location
	// Interval between checks; one minute when zero.
	Interval time.Duration
	// Batch is the number of accounts per transaction.
	Batch  int
	Logger *slog.Logger
	// Queued, if set, is called after a run queued mail (to wake the
	// outbox worker).
	Queued func()
	// Now is the clock, for tests.
	Now func() time.Time

	done string // the last day whose digest this worker completed
}

func (w *DigestWorker) loc() *time.Location {
	if w.Location != nil {
		return w.Location
	}
	return Paris
}

func (w *DigestWorker) logger() *slog.Logger {
	if w.Logger != nil {
		return w.Logger
	}
	return slog.Default()
}

// Due returns the day whose digest is due at now, or "" before the time or
// once this worker has completed it.
func (w *DigestWorker) Due(now time.Time) string {
	local := now.In(w.loc())
	if local.Hour()*60+local.Minute() < w.Hour*60+w.Minute {
		return ""
	}
	y, m, d := local.Date()
	day := time.Date(y, m, d-1, 12, 0, 0, 0, w.loc()).Format(time.DateOnly)
	if day == w.done {
		return ""
	}
	return day
}

// RunOnce runs the digest if one is due; it returns the day run ("" if
// none was due).
func (w *DigestWorker) RunOnce(ctx context.Context) (string, store.DigestResult, error) {
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	day := w.Due(now())
	if day == "" {
		return "", store.DigestResult{}, nil
	}
	start := time.Now()
	res, err := w.Store.RunDigest(ctx, day, w.loc(), w.Batch)
	if res.Queued > 0 && w.Queued != nil {
		w.Queued()
	}
	if err != nil {
		return day, res, err
	}
	w.done = day
	w.logger().Info("daily digest queued", "day", day, "accounts", res.Claimed, "mails", res.Queued,
		"duration", time.Since(start).Round(time.Millisecond).String())
	return day, res, nil
}

// Run checks every Interval until ctx ends.
func (w *DigestWorker) Run(ctx context.Context) {
	interval := w.Interval
	if interval <= 0 {
		interval = time.Minute
	}
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if day, _, err := w.RunOnce(ctx); err != nil && ctx.Err() == nil {
			w.logger().Error("daily digest failed; retried at the next check", "day", day, "err", err)
		}
		t.Reset(interval)
	}
}
