package portal

import (
	"context"
	"net"
	"net/http"
	"strings"

	"github.com/gorilla/mux"
)

// Side is which face of Sceau a request reached.
type Side int

const (
	// SidePortal asks for a client certificate: case spaces.
	SidePortal Side = iota + 1
	// SideCounter never asks: the certificate retrieval counter.
	SideCounter
)

func (s Side) String() string {
	switch s {
	case SidePortal:
		return "portal"
	case SideCounter:
		return "counter"
	}
	return "unknown"
}

type sideKey struct{}

// sideOfListener is fixed for dedicated listeners; 0 means "decide by SNI".
func sideOfListener(name string) Side {
	switch name {
	case "portal":
		return SidePortal
	case "counter":
		return SideCounter
	}
	return 0
}

// SideFrom returns the side stored in the request context.
func SideFrom(ctx context.Context) Side {
	s, _ := ctx.Value(sideKey{}).(Side)
	return s
}

// resolveSide records the side of the request. On a shared address the
// TLS server name decides, exactly as it decided the handshake policy.
func (s *Server) resolveSide(fixed Side, r *http.Request) Side {
	if fixed != 0 {
		return fixed
	}
	if r.TLS != nil && s.cfg.CounterHost != "" && strings.EqualFold(r.TLS.ServerName, s.cfg.CounterHost) {
		return SideCounter
	}
	return SidePortal
}

// hostMatchesSNI reports whether the Host header names the server the TLS
// handshake was made for. A mismatch means a coalesced HTTP/2 connection
// or domain fronting (a certificate-free handshake on the counter name,
// then Host: portal), answered with 421 so the client opens a proper
// connection. Clients that sent no SNI (IP literals) are not checked.
func hostMatchesSNI(r *http.Request) bool {
	if r.TLS == nil || r.TLS.ServerName == "" {
		return true
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(host, ".")
	return strings.EqualFold(host, strings.TrimSuffix(r.TLS.ServerName, "."))
}

func onSide(want Side) func(*http.Request, *mux.RouteMatch) bool {
	return func(r *http.Request, _ *mux.RouteMatch) bool { return SideFrom(r.Context()) == want }
}
