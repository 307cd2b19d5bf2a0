package portal

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"sceau.fr/sceau/portal/proxycert"
)

type requestIDKey struct{}

// RequestID returns the identifier given to the request (also sent back in
// X-Request-Id and shown on error pages, so a user can quote it).
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

func newRequestID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// publicHandler wraps the router with what every public request gets, in
// order: request id, metrics and log line, panic recovery, side, Host/SNI
// guard, security headers, body limit.
func (s *Server) publicHandler(fixed Side) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := newRequestID()
		side := s.resolveSide(fixed, r)
		ctx := context.WithValue(r.Context(), requestIDKey{}, id)
		ctx = context.WithValue(ctx, sideKey{}, side)
		ctx = context.WithValue(ctx, clientIPKey{}, s.clientIP(r))
		r = r.WithContext(ctx)
		rec := &statusRecorder{ResponseWriter: w}
		rec.Header().Set("X-Request-Id", id)
		securityHeaders(rec.Header())
		defer func() {
			p := recover()
			if p != nil && p != http.ErrAbortHandler {
				s.log.Error("panic serving request", "request_id", id, "panic", p, "stack", string(debug.Stack()))
			}
			// Once the response has begun it cannot become an error page:
			// abort it, so the client sees a broken response rather than a
			// truncated one that looks complete.
			abort := p != nil && (rec.status != 0 || p == http.ErrAbortHandler)
			if p != nil && !abort {
				s.renderError(rec, r, http.StatusInternalServerError)
			}
			s.logRequest(r, rec, side, time.Since(start))
			if abort {
				panic(http.ErrAbortHandler)
			}
		}()
		if side == SideCounter {
			proxycert.StripAll(r.Header) // the counter never identifies anyone by certificate
		}
		if !hostMatchesSNI(r) {
			s.renderError(rec, r, http.StatusMisdirectedRequest)
			return
		}
		limit := s.maxBody()
		if isDeposit(r) {
			limit = maxDepositParts * (s.maxUpload() + uploadOverhead) // each file and copy is limited on its own while streamed
		} else if isAPIDeposit(r) {
			limit = s.maxUpload()
		}
		if r.ContentLength > limit {
			s.renderError(rec, r, http.StatusRequestEntityTooLarge)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit) // w, not rec: net/http must see the limit to close the connection
		s.router.ServeHTTP(rec, r)
	})
}

func (s *Server) maxBody() int64 {
	if s.cfg.MaxBodyBytes > 0 {
		return s.cfg.MaxBodyBytes
	}
	return 1 << 20
}

// securityHeaders are sent on every public response: no sniffing, no
// referrer to other sites (links may carry tokens), no framing, only our
// own assets. "same-origin", not "no-referrer": under no-referrer browsers
// send "Origin: null" with every form post, which checkCSRF refuses.
func securityHeaders(h http.Header) {
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Strict-Transport-Security", "max-age=31536000")
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
}

func (s *Server) logRequest(r *http.Request, rec *statusRecorder, side Side, d time.Duration) {
	status := rec.status
	if status == 0 {
		status = http.StatusOK
	}
	s.metrics.observe(side.String(), status, d)
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	// The query string is never logged: links may carry one-time tokens.
	s.log.Log(r.Context(), level, "request",
		"request_id", RequestID(r.Context()), "side", side.String(), "method", r.Method,
		"path", r.URL.Path, "status", status, "bytes", rec.bytes,
		"duration_ms", strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 2, 64),
		"remote", r.RemoteAddr, "proto", r.Proto)
}

// statusRecorder remembers the status and size for the log line.
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection (flush, deadlines).
func (w *statusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush passes flushes through for streamed responses.
func (w *statusRecorder) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
