// Package portal is Sceau's HTTP face: one gorilla/mux router served on the
// portal listener (asks for a client certificate at the handshake), the
// counter listener (never asks), and a loopback admin listener for metrics.
// The portal and counter may share one address, told apart by SNI.
package portal

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"sceau.fr/sceau/portal/blobs"
	"sceau.fr/sceau/portal/certgate"
	"sceau.fr/sceau/portal/model"
	"sceau.fr/sceau/portal/proxycert"
	"sceau.fr/sceau/portal/retrieval"
	"sceau.fr/sceau/templates"
)

// Config holds the listener addresses and limits.
type Config struct {
	PortalAddr, CounterAddr, AdminAddr string
	// PortalHost and CounterHost are the names users type. When both sides
	// share an address they are required and chosen by SNI.
	PortalHost, CounterHost string

	ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout, ShutdownTimeout time.Duration
	MaxHeaderBytes                                                             int
	MaxBodyBytes                                                               int64
	// MaxUploadBytes is the size limit of one deposited file (default
	// 2 GiB); the deposit route gets it instead of MaxBodyBytes.
	MaxUploadBytes int64
	// Development turns on pages that must never be public (mail sink).
	Development bool
	// AccountCacheTTL bounds how long a suspension or a certificate removed
	// by another instance (or the CLI) takes to apply here (default 10 s).
	AccountCacheTTL time.Duration
	// CounterURL and PortalURL are the public URLs, for links.
	CounterURL, PortalURL string
	// Counter sets the retrieval counter's orders and limits.
	Counter CounterConfig
}

// Deps are the collaborators the server needs, plugged in by cmd/sceau.
type Deps struct {
	Logger    *slog.Logger
	Templates *templates.Set
	// Certificate returns the server certificate for a handshake; it may
	// reload or renew it without a restart.
	Certificate func(*tls.ClientHelloInfo) (*tls.Certificate, error)
	// ClientCAHints are the CA names sent in the CertificateRequest, so that
	// browsers offer only certificates Sceau may accept. Verification
	// happens in Go afterwards, never in the handshake.
	ClientCAHints *x509.CertPool
	// Ready reports whether the server can do useful work (database up).
	Ready func(context.Context) error
	// Registry receives the HTTP metrics; nil creates a private one.
	Registry *prometheus.Registry
	// Mailbox lists sent mail in development; nil hides the page.
	Mailbox Mailbox
	// PKI serves the CA's root and CRL; nil hides /ca/.
	PKI PKI
	// Gate identifies portal users by certificate; nil leaves the portal
	// ungated (tests of the listeners only).
	Gate Gate
	// Accounts finds and registers the people behind certificates; nil
	// leaves the portal without accounts (tests of the gate only).
	Accounts Accounts
	// Directory searches professionals for the annuaire; nil hides it.
	Directory Directory
	// Notifications holds notification settings and notice history; nil
	// hides them.
	Notifications Notifications
	// Search finds cases, documents and participants; nil hides it.
	Search Search
	// Audit records page views and refusals and reads case journals
	// (changes are recorded by the store itself); nil hides the journal.
	Audit Audit
	// Cases reads and changes case spaces (rights applied in its queries).
	Cases Cases
	// Members manages the parties and participants of cases.
	Members CaseMembers
	// Documents records deposits and serves documents (rights applied in
	// its queries); Blobs holds their content. Both nil hide deposits.
	Documents Documents
	Blobs     blobs.Store
	// SessionKey signs session cookies and form tokens; instances behind
	// one load balancer must share it.
	SessionKey []byte
	// Orders records litigant certificate orders; Collector makes the
	// certificates at the counter. Both nil hide the retrieval counter.
	Orders    Orders
	Collector *retrieval.Collector
	// Now is the clock (tests); nil is time.Now.
	Now func() time.Time
	// ProxyCert reads client certificates from a trusted reverse proxy's
	// header; nil means certificates only come from the TLS connection
	// (and such headers are stripped).
	ProxyCert *proxycert.Extractor
}

// Server serves the three listeners.
type Server struct {
	cfg    Config
	deps   Deps
	log    *slog.Logger
	router *mux.Router

	portalTLS, counterTLS *tls.Config

	metrics *httpMetrics

	verified *ttlCache[[32]byte, *certgate.Identity]
	accounts *ttlCache[string, *model.Account]
	// auditRefusals spaces identical refusals in the audit trail (audit.go).
	auditRefusals *ttlCache[string, struct{}]
	// apiLogins spaces the logins recorded for API clients (api.go).
	apiLogins apiLogins

	mu        sync.Mutex
	listeners []namedListener
	servers   []*http.Server
	// revocations wakes the revocation worker; collections joins a
	// double-clicked collection to the one already running.
	revocations *revocationPoke
	collections *collections
}

type namedListener struct {
	name string // portal, counter, shared or admin
	ln   net.Listener
}

// New builds the router and TLS configurations; Listen binds the ports.
func New(cfg Config, deps Deps) (*Server, error) {
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	if deps.Templates == nil {
		return nil, errors.New("portal: templates are required")
	}
	if deps.Certificate == nil {
		return nil, errors.New("portal: a server certificate source is required")
	}
	if deps.Ready == nil {
		deps.Ready = func(context.Context) error { return nil }
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if len(deps.SessionKey) == 0 {
		deps.SessionKey = make([]byte, 32)
		if _, err := rand.Read(deps.SessionKey); err != nil {
			return nil, err
		}
	}
	if deps.Registry == nil {
		deps.Registry = prometheus.NewRegistry()
	}
	s := &Server{cfg: cfg, deps: deps, log: deps.Logger,
		verified:    newTTLCache[[32]byte, *certgate.Identity](verifiedChainTTL, cacheEntries),
		accounts:    newTTLCache[string, *model.Account](cmp.Or(cfg.AccountCacheTTL, defaultAccountTTL), cacheEntries),
		revocations: &revocationPoke{ch: make(chan struct{}, 1)}, collections: newCollections()}
	s.auditRefusals = newTTLCache[string, struct{}](refusalRecordTTL, cacheEntries)
	var err error
	if s.metrics, err = newHTTPMetrics(deps.Registry); err != nil {
		return nil, err
	}
	if s.portalTLS, s.counterTLS, err = s.tlsConfigs(); err != nil {
		return nil, err
	}
	s.router = s.routes()
	return s, nil
}

func (s *Server) now() time.Time { return s.deps.Now() }

// Router exposes the router so later features (and tests) add routes.
func (s *Server) Router() *mux.Router { return s.router }

// tlsConfigs builds the two handshake policies. Each gets its own session
// ticket keys, so a session resumed on one side never carries into the
// other.
func (s *Server) tlsConfigs() (portal, counter *tls.Config, err error) {
	base := func() (*tls.Config, error) {
		var key [32]byte
		if _, err := rand.Read(key[:]); err != nil {
			return nil, err
		}
		c := &tls.Config{
			MinVersion:     tls.VersionTLS12,
			GetCertificate: s.deps.Certificate,
			NextProtos:     []string{"h2", "http/1.1"},
		}
		c.SetSessionTicketKeys([][32]byte{key})
		return c, nil
	}
	if portal, err = base(); err != nil {
		return nil, nil, err
	}
	portal.ClientAuth = tls.RequestClientCert
	portal.ClientCAs = s.deps.ClientCAHints
	if counter, err = base(); err != nil {
		return nil, nil, err
	}
	counter.ClientAuth = tls.NoClientCert
	return portal, counter, nil
}

// sharedTLS chooses the policy by SNI: the counter host never gets a
// certificate request; any other name gets the portal policy.
func (s *Server) sharedTLS() *tls.Config {
	c := s.portalTLS.Clone()
	c.GetConfigForClient = func(h *tls.ClientHelloInfo) (*tls.Config, error) {
		if s.cfg.CounterHost != "" && strings.EqualFold(h.ServerName, s.cfg.CounterHost) {
			return s.counterTLS, nil
		}
		return s.portalTLS, nil
	}
	return c
}

// ListenError says which listener could not bind and why.
type ListenError struct {
	Listener, Addr string
	Err            error
}

func (e *ListenError) Error() string {
	return fmt.Sprintf("%s listener: cannot listen on %s: %v", e.Listener, e.Addr, e.Err)
}

func (e *ListenError) Unwrap() error { return e.Err }

// Listen binds every address, or none: on the first failure the ports
// already bound are released.
func (s *Server) Listen() error {
	type want struct{ name, addr string }
	var wants []want
	if s.cfg.PortalAddr == s.cfg.CounterAddr {
		wants = append(wants, want{"shared", s.cfg.PortalAddr})
	} else {
		wants = append(wants, want{"portal", s.cfg.PortalAddr}, want{"counter", s.cfg.CounterAddr})
	}
	if s.cfg.AdminAddr != "" {
		wants = append(wants, want{"admin", s.cfg.AdminAddr})
	}
	var bound []namedListener
	for _, w := range wants {
		ln, err := net.Listen("tcp", w.addr)
		if err != nil {
			for _, b := range bound {
				_ = b.ln.Close()
			}
			var se *net.OpError
			if errors.As(err, &se) && se.Err != nil {
				err = se.Err
			}
			return &ListenError{Listener: w.name, Addr: w.addr, Err: err}
		}
		bound = append(bound, namedListener{w.name, ln})
	}
	s.mu.Lock()
	s.listeners = bound
	s.mu.Unlock()
	return nil
}

// Addr returns the bound address of a listener ("portal", "counter",
// "shared" or "admin"); with a shared address, portal and counter both
// return it.
func (s *Server) Addr(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.listeners {
		if l.name == name || (l.name == "shared" && (name == "portal" || name == "counter")) {
			return l.ln.Addr().String()
		}
	}
	return ""
}

// Serve answers on the bound listeners until ctx is cancelled, then shuts
// down gracefully: new connections are refused and requests in flight get
// up to ShutdownTimeout to finish.
func (s *Server) Serve(ctx context.Context) error {
	s.mu.Lock()
	listeners := s.listeners
	s.mu.Unlock()
	if len(listeners) == 0 {
		return errors.New("portal: Serve called before Listen")
	}
	errc := make(chan error, len(listeners))
	for _, l := range listeners {
		srv := s.httpServer(l.name)
		s.mu.Lock()
		s.servers = append(s.servers, srv)
		s.mu.Unlock()
		go func(l namedListener, srv *http.Server) {
			var err error
			if l.name == "admin" {
				err = srv.Serve(l.ln)
			} else {
				err = srv.ServeTLS(l.ln, "", "")
			}
			if err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("%s listener: %w", l.name, err)
				return
			}
			errc <- nil
		}(l, srv)
		s.log.Info("listening", "listener", l.name, "addr", l.ln.Addr().String())
	}
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	s.log.Info("shutting down: finishing requests in flight", "timeout", s.cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), s.shutdownTimeout())
	defer cancel()
	var wg sync.WaitGroup
	s.mu.Lock()
	for _, srv := range s.servers {
		wg.Add(1)
		go func(srv *http.Server) {
			defer wg.Done()
			if err := srv.Shutdown(sctx); err != nil {
				s.log.Warn("shutdown did not finish in time; closing connections", "err", err)
				_ = srv.Close()
			}
		}(srv)
	}
	s.mu.Unlock()
	wg.Wait()
	return serveErr
}

func (s *Server) shutdownTimeout() time.Duration {
	if s.cfg.ShutdownTimeout > 0 {
		return s.cfg.ShutdownTimeout
	}
	return 30 * time.Second
}

func (s *Server) httpServer(name string) *http.Server {
	srv := &http.Server{
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout:       s.cfg.ReadTimeout,
		WriteTimeout:      s.cfg.WriteTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		MaxHeaderBytes:    s.cfg.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	if srv.ReadHeaderTimeout == 0 {
		srv.ReadHeaderTimeout = 10 * time.Second
	}
	switch name {
	case "admin":
		srv.Handler = s.adminHandler()
		return srv
	case "portal":
		srv.TLSConfig = s.portalTLS
	case "counter":
		srv.TLSConfig = s.counterTLS
	case "shared":
		srv.TLSConfig = s.sharedTLS()
	}
	side := sideOfListener(name)
	srv.Handler = s.publicHandler(side)
	return srv
}

func (s *Server) adminHandler() http.Handler {
	m := http.NewServeMux()
	m.Handle("GET /metrics", promhttp.HandlerFor(s.deps.Registry, promhttp.HandlerOpts{}))
	m.HandleFunc("GET /healthz", s.healthz)
	m.HandleFunc("GET /readyz", s.readyz)
	return m
}
