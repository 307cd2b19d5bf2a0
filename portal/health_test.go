package portal

import (
	"net/http"
	"strings"
	"testing"
)

// probe is one way to reach /healthz or /readyz: over TLS on the public
// listeners, in plain HTTP on the admin one.
type probe struct {
	name   string
	client *http.Client
	base   string
}

func probes(t *testing.T, h *harness) []probe {
	admin := &http.Client{Transport: &http.Transport{}, Timeout: wait}
	t.Cleanup(admin.CloseIdleConnections)
	return []probe{
		{"portal", newClient(t, h.srv.Addr("portal"), clientOpts{}), urlFor(t, portalHost, h.srv.Addr("portal"), "")},
		{"counter", newClient(t, h.srv.Addr("counter"), clientOpts{}), urlFor(t, counterHost, h.srv.Addr("counter"), "")},
		{"admin", admin, "http://" + h.srv.Addr("admin")},
	}
}

func TestHealthAndReadiness(t *testing.T) {
	h := start(t, separateConfig(t), nil)
	ps := probes(t, h)

	t.Run("healthz", func(t *testing.T) {
		for _, p := range ps {
			resp, body := get(t, p.client, p.base+"/healthz")
			wantStatus(t, resp, body, http.StatusOK)
			if strings.TrimSpace(body) != "ok" {
				t.Errorf("%s /healthz body %q, want ok", p.name, body)
			}
		}
	})

	t.Run("readyz follows Ready", func(t *testing.T) {
		for _, step := range []struct {
			down   bool
			status int
			body   string
		}{{true, http.StatusServiceUnavailable, "not ready"}, {false, http.StatusOK, "ready"}, {true, http.StatusServiceUnavailable, "not ready"}} {
			h.notReady.Store(step.down)
			for _, p := range ps {
				resp, body := get(t, p.client, p.base+"/readyz")
				if resp.StatusCode != step.status || strings.TrimSpace(body) != step.body {
					t.Errorf("%s /readyz with database down=%v: %d %q, want %d %q", p.name, step.down, resp.StatusCode, body, step.status, step.body)
				}
				if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
					t.Errorf("%s /readyz Cache-Control = %q, want no-store", p.name, cc)
				}
			}
		}
		if !strings.Contains(h.logs.String(), errDatabaseDown.Error()) {
			t.Errorf("the reason for not being ready was not logged")
		}
	})

	t.Run("healthz ignores the database", func(t *testing.T) {
		h.notReady.Store(true)
		for _, p := range ps {
			resp, body := get(t, p.client, p.base+"/healthz")
			wantStatus(t, resp, body, http.StatusOK)
		}
	})
}

func TestAdminMetrics(t *testing.T) {
	h := start(t, separateConfig(t), nil)
	ps := probes(t, h)
	portal, counter, admin := ps[0], ps[1], ps[2]

	resp, body := get(t, portal.client, portal.base+"/")
	wantStatus(t, resp, body, http.StatusOK)
	resp, body = get(t, counter.client, counter.base+"/nexiste-pas")
	wantStatus(t, resp, body, http.StatusNotFound)

	resp, metrics := get(t, admin.client, admin.base+"/metrics")
	wantStatus(t, resp, metrics, http.StatusOK)
	wantBody(t, metrics,
		`sceau_http_requests_total{code="200",side="portal"} 1`,
		`sceau_http_requests_total{code="404",side="counter"} 1`,
		`sceau_http_request_duration_seconds_count{side="portal"} 1`,
		"go_goroutines",
	)

	// Metrics are for the operator only: the public listeners do not
	// serve them.
	for _, p := range []probe{portal, counter} {
		resp, body := get(t, p.client, p.base+"/metrics")
		wantStatus(t, resp, body, http.StatusNotFound)
	}
}
