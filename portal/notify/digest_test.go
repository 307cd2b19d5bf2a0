package notify_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"sceau.fr/sceau/portal/notify"
	"sceau.fr/sceau/portal/store"
	"sceau.fr/sceau/portal/store/storetest"
	"sceau.fr/sceau/templates"
)

func paris(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.ParseInLocation("2006-01-02 15:04", s, notify.Paris)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestDigestIsDueOncePerDayFromItsTime(t *testing.T) {
	w := &notify.DigestWorker{Hour: 7, Minute: 30}
	cases := []struct{ now, want string }{
		{"2026-11-26 07:29", ""},
		{"2026-11-26 07:30", "2026-11-25"},
		{"2026-11-26 23:59", "2026-11-25"},
		{"2026-11-27 00:10", ""},
		{"2026-03-29 08:00", "2026-03-28"}, // the night clocks go forward
		{"2026-10-25 08:00", "2026-10-24"}, // and back
		{"2027-01-01 07:30", "2026-12-31"},
	}
	for _, c := range cases {
		if got := w.Due(paris(t, c.now)); got != c.want {
			t.Errorf("Due(%s) = %q, want %q", c.now, got, c.want)
		}
	}
	// In UTC, 07:30 Paris is 06:30 in winter.
	if got := w.Due(time.Date(2026, 11, 26, 6, 30, 0, 0, time.UTC)); got != "2026-11-25" {
		t.Errorf("Due(06:30 UTC) = %q", got)
	}
}

func TestDigestWorkerRunsOnceADayAndRetriesAfterAFailure(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := paris(t, "2026-11-26 08:00")
		queued := 0
		w := &notify.DigestWorker{Store: s, Hour: 7, Now: func() time.Time { return now }, Queued: func() { queued++ }}
		// No renderer yet: the run fails and stays due.
		if day, _, err := w.RunOnce(ctx); day != "2026-11-25" || !errors.Is(err, store.ErrNoDigestRenderer) {
			t.Fatalf("first run: %q, %v", day, err)
		}
		s.SetNoticeRenderers(notify.Renderer{Templates: templates.MustLoad(), PortalURL: "https://portail.test"}.Renderers())
		if day, res, err := w.RunOnce(ctx); day != "2026-11-25" || err != nil || res.Queued != 0 {
			t.Fatalf("second run: %q, %+v, %v", day, res, err)
		}
		if day, _, err := w.RunOnce(ctx); day != "" || err != nil {
			t.Errorf("ran again the same day: %q, %v", day, err)
		}
		now = now.Add(24 * time.Hour)
		if day, _, err := w.RunOnce(ctx); day != "2026-11-26" || err != nil {
			t.Errorf("next day: %q, %v", day, err)
		}
		if queued != 0 {
			t.Errorf("woke the outbox %d times with nothing queued", queued)
		}
	})
}

func TestDigestMissedDaysAreTheThreeBeforeYesterday(t *testing.T) {
	w := &notify.DigestWorker{Hour: 7, Minute: 30}
	for _, now := range []string{"2026-11-28 05:00", "2026-11-28 08:00"} {
		got := w.Missed(paris(t, now))
		if want := []string{"2026-11-24", "2026-11-25", "2026-11-26"}; !slices.Equal(got, want) {
			t.Errorf("Missed(%s) = %v, want %v", now, got, want)
		}
	}
	w.CatchUpDays = 1
	if got := w.Missed(paris(t, "2026-03-01 08:00")); !slices.Equal(got, []string{"2026-02-27"}) {
		t.Errorf("Missed with one day = %v", got)
	}
}
