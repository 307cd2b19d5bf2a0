package portal

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"sceau.fr/sceau/templates"
)

// recv waits for a value on ch, failing the test after the deadline.
func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(wait):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// shutdownStarted returns a channel closed once every http.Server of h has
// begun shutting down, that is once all its listeners are closed. It must
// be called once all servers exist: after a response from the admin
// listener, the last one Serve starts.
func shutdownStarted(t *testing.T, h *harness) <-chan struct{} {
	t.Helper()
	h.srv.mu.Lock()
	servers := append([]*http.Server(nil), h.srv.servers...)
	n := len(h.srv.listeners)
	h.srv.mu.Unlock()
	if len(servers) != n {
		t.Fatalf("%d http.Servers for %d listeners", len(servers), n)
	}
	var wg sync.WaitGroup
	wg.Add(len(servers))
	for _, s := range servers {
		var once sync.Once
		s.RegisterOnShutdown(func() { once.Do(wg.Done) })
	}
	ch := make(chan struct{})
	go func() { wg.Wait(); close(ch) }()
	return ch
}

// Cancelling Serve's context lets requests in flight finish, refuses new
// connections at once, and Serve returns only when the work is done.
func TestGracefulShutdown(t *testing.T) {
	for _, proto := range []struct {
		name  string
		http1 bool
	}{{"HTTP/1.1", true}, {"HTTP/2", false}} {
		t.Run(proto.name, func(t *testing.T) {
			entered := make(chan struct{})
			release := make(chan struct{})
			finished := make(chan struct{})
			h := start(t, separateConfig(t), func(s *Server) {
				s.Router().HandleFunc("/test/slow", func(w http.ResponseWriter, r *http.Request) {
					defer close(finished)
					w.Header().Set("Content-Type", "text/plain; charset=utf-8")
					_, _ = io.WriteString(w, "première moitié;")
					_ = http.NewResponseController(w).Flush()
					close(entered)
					<-release
					_, _ = io.WriteString(w, "seconde moitié")
				})
			})
			// Should the test stop early, release the handler so that the
			// cleanup's shutdown does not wait for it.
			var releaseOnce sync.Once
			releaseHandler := func() { releaseOnce.Do(func() { close(release) }) }
			t.Cleanup(releaseHandler)
			ps := probes(t, h)
			resp, body := get(t, ps[2].client, ps[2].base+"/healthz")
			wantStatus(t, resp, body, http.StatusOK)
			began := shutdownStarted(t, h)

			type result struct {
				status int
				proto  string
				body   string
				err    error
			}
			results := make(chan result, 1)
			addr := h.srv.Addr("portal")
			c := newClient(t, addr, clientOpts{http1: proto.http1})
			slowURL := urlFor(t, portalHost, addr, "/test/slow")
			go func() {
				resp, err := c.Get(slowURL)
				if err != nil {
					results <- result{err: err}
					return
				}
				defer resp.Body.Close()
				b, err := io.ReadAll(resp.Body)
				results <- result{resp.StatusCode, resp.Proto, string(b), err}
			}()
			recv(t, entered, "the slow request to reach its handler")

			h.cancel()
			recv(t, began, "shutdown to begin")
			for _, name := range []string{"portal", "counter", "admin"} {
				conn, err := net.Dial("tcp", h.srv.Addr(name))
				if err == nil {
					conn.Close()
					t.Errorf("%s listener still accepts connections after shutdown began", name)
				} else if !errors.Is(err, syscall.ECONNREFUSED) {
					t.Errorf("%s listener: dial error %v, want connection refused", name, err)
				}
			}
			select {
			case <-h.done:
				t.Fatal("Serve returned while a request was still in flight")
			default:
			}

			releaseHandler()
			r := recv(t, results, "the slow response")
			if r.err != nil {
				t.Fatalf("in-flight request failed: %v", r.err)
			}
			if r.status != http.StatusOK || r.body != "première moitié;seconde moitié" {
				t.Errorf("in-flight request got %d %q, want 200 and the whole body", r.status, r.body)
			}
			if wantProto := map[bool]string{true: "HTTP/1.1", false: "HTTP/2.0"}[proto.http1]; r.proto != wantProto {
				t.Errorf("request went over %s, want %s", r.proto, wantProto)
			}
			recv(t, h.done, "Serve to return")
			select {
			case <-finished:
			default:
				t.Error("Serve returned before the handler finished")
			}
			if h.serveErr != nil {
				t.Errorf("Serve returned %v after a clean shutdown", h.serveErr)
			}
		})
	}
}

// A port already taken stops Listen with an error that says which
// listener, which address and why, and leaves no other port bound.
func TestListenErrors(t *testing.T) {
	for _, taken := range []string{"portal", "counter", "admin"} {
		t.Run(taken+" port taken", func(t *testing.T) {
			occupant, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer occupant.Close()
			free := freeAddrs(t, 2)
			addrs := map[string]string{}
			for _, name := range []string{"portal", "counter", "admin"} {
				if name == taken {
					addrs[name] = occupant.Addr().String()
				} else {
					addrs[name], free = free[0], free[1:]
				}
			}
			srv, err := New(Config{PortalAddr: addrs["portal"], CounterAddr: addrs["counter"], AdminAddr: addrs["admin"]}, Deps{
				Templates:   templates.MustLoad(),
				Certificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return &pki().serverCert, nil },
			})
			if err != nil {
				t.Fatal(err)
			}
			err = srv.Listen()
			var le *ListenError
			if !errors.As(err, &le) {
				t.Fatalf("Listen returned %T %v, want a *ListenError", err, err)
			}
			if le.Listener != taken || le.Addr != addrs[taken] {
				t.Errorf("ListenError names %s %s, want %s %s", le.Listener, le.Addr, taken, addrs[taken])
			}
			if !errors.Is(err, syscall.EADDRINUSE) {
				t.Errorf("Listen error %v does not wrap EADDRINUSE", err)
			}
			msg := err.Error()
			for _, part := range []string{taken + " listener", addrs[taken], "address already in use"} {
				if !strings.Contains(msg, part) {
					t.Errorf("message %q lacks %q", msg, part)
				}
			}
			for name, addr := range addrs {
				if name == taken {
					continue
				}
				ln, err := net.Listen("tcp", addr)
				if err != nil {
					t.Errorf("%s address %s still bound after the failed Listen: %v", name, addr, err)
					continue
				}
				ln.Close()
			}
			if a := srv.Addr("portal"); a != "" {
				t.Errorf("Addr(portal) = %q after a failed Listen, want empty", a)
			}
			if err := srv.Serve(t.Context()); err == nil {
				t.Error("Serve after a failed Listen returned nil")
			}
		})
	}
}
