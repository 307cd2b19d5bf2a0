package notify

import (
	"context"
	"log/slog"
	"slices"
	"time"

	"sceau.fr/sceau/portal/store"
)

// DigestWorker queues, once a day at Hour (in Location), the digest of the
// previous day's documents. Every instance may run one: the store's claims
// make each account's digest go out once (store.RunDigest). A run that
// fails or is interrupted is retried at the next tick and sends only what
// is missing. A day that no instance ran at all (every instance down from
// its digest time to midnight) is sent late, within CatchUpDays.
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
	// CatchUpDays is how many days before yesterday are checked for a
	// digest that never ran; 3 when zero. Only days without any digest
	// claim are run late: a day that ran is not run again, so people who
	// joined a case since get no digest of days before they joined.
	CatchUpDays int
	// Now is the clock, for tests.
	Now func() time.Time

	done    string          // the last day whose digest this worker completed
	checked map[string]bool // the earlier days this worker found run, or ran late
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

// Missed returns the CatchUpDays days before yesterday (their digest time
// has passed) that this worker has not yet checked, oldest first.
func (w *DigestWorker) Missed(now time.Time) []string {
	var out []string
	for _, day := range w.window(now) {
		if !w.checked[day] {
			out = append(out, day)
		}
	}
	return out
}

// window is the CatchUpDays days before yesterday, oldest first.
func (w *DigestWorker) window(now time.Time) []string {
	n := w.CatchUpDays
	if n <= 0 {
		n = 3
	}
	y, m, d := now.In(w.loc()).Date()
	out := make([]string, 0, n)
	for i := n + 1; i >= 2; i-- {
		out = append(out, time.Date(y, m, d-i, 12, 0, 0, 0, w.loc()).Format(time.DateOnly))
	}
	return out
}

// catchUp runs, late, the digest of each missed day that no instance
// started. It returns the first day that failed.
func (w *DigestWorker) catchUp(ctx context.Context, now time.Time) (string, error) {
	missed := w.Missed(now)
	if len(missed) == 0 {
		return "", nil
	}
	if w.checked == nil {
		w.checked = map[string]bool{}
	}
	for _, day := range missed {
		started, err := w.Store.DigestDayStarted(ctx, day)
		if err != nil {
			return day, err
		}
		if !started {
			res, err := w.run(ctx, day)
			if err != nil {
				return day, err
			}
			if res.Claimed > 0 {
				w.logger().Warn("late daily digest queued: no instance ran it on time", "day", day,
					"accounts", res.Claimed, "mails", res.Queued)
			}
		}
		w.checked[day] = true
	}
	// Forget the days that left the window.
	window := w.window(now)
	for day := range w.checked {
		if !slices.Contains(window, day) {
			delete(w.checked, day)
		}
	}
	return "", nil
}

// RunOnce runs the digest if one is due, then the late ones (Missed); it
// returns the day that failed, or else the day due ("" if none was).
func (w *DigestWorker) RunOnce(ctx context.Context) (string, store.DigestResult, error) {
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	var res store.DigestResult
	day := w.Due(now())
	if day != "" {
		start := time.Now()
		var err error
		if res, err = w.run(ctx, day); err != nil {
			return day, res, err
		}
		w.done = day
		w.logger().Info("daily digest queued", "day", day, "accounts", res.Claimed, "mails", res.Queued,
			"duration", time.Since(start).Round(time.Millisecond).String())
	}
	if late, err := w.catchUp(ctx, now()); err != nil {
		return late, res, err
	}
	return day, res, nil
}

// run queues day's digest and wakes the outbox if it queued mail.
func (w *DigestWorker) run(ctx context.Context, day string) (store.DigestResult, error) {
	res, err := w.Store.RunDigest(ctx, day, w.loc(), w.Batch)
	if res.Queued > 0 && w.Queued != nil {
		w.Queued()
	}
	return res, err
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
