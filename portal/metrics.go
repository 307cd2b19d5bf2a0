package portal

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newHTTPMetrics(reg *prometheus.Registry) (*httpMetrics, error) {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sceau_http_requests_total", Help: "HTTP requests answered, by side and status code.",
		}, []string{"side", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "sceau_http_request_duration_seconds", Help: "Time to answer HTTP requests, by side.",
			Buckets: prometheus.DefBuckets,
		}, []string{"side"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	// Process and Go runtime metrics, registered once per registry.
	_ = reg.Register(collectors.NewGoCollector())
	_ = reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m, nil
}

func (m *httpMetrics) observe(side string, status int, d time.Duration) {
	m.requests.WithLabelValues(side, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(side).Observe(d.Seconds())
}
