package portal

import (
	"context"
	"net/http"
	"net/netip"
	"strings"
)

type clientIPKey struct{}

// clientIP is the address of the person behind a request: the TCP peer,
// or, when the peer is one of the trusted reverse proxies (proxy
// configuration), the rightmost X-Forwarded-For entry that is not itself
// a trusted proxy. Entries a client wrote itself sit further left and are
// never believed. The per-address limit of the counter and the audit
// trail use it.
func (s *Server) clientIP(r *http.Request) string {
	peer := remoteIP(r.RemoteAddr)
	pc := s.deps.ProxyCert
	if pc == nil || !pc.Trusted(r.RemoteAddr) {
		return peer
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return peer // a garbled chain: trust nothing in it
		}
		a = a.Unmap()
		if !pc.Trusted(a.String()) {
			return a.String()
		}
	}
	return peer
}

// ClientIP is the request's client address, as resolved by the public
// middleware.
func ClientIP(ctx context.Context) string {
	ip, _ := ctx.Value(clientIPKey{}).(string)
	return ip
}

// clientIPOf is ClientIP for a request, falling back to its TCP peer.
func clientIPOf(r *http.Request) string {
	if ip := ClientIP(r.Context()); ip != "" {
		return ip
	}
	return remoteIP(r.RemoteAddr)
}
