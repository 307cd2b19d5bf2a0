package portal

import (
	"net/http/httptest"
	"net/netip"
	"testing"

	"sceau.fr/sceau/portal/proxycert"
)

// Behind a trusted proxy the client is the rightmost forwarded address
// that is not a proxy; what the client wrote itself is ignored; without
// a trusted proxy the header is ignored altogether.
func TestClientIP(t *testing.T) {
	pc, err := proxycert.New(proxycert.Config{Format: "nginx", TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}})
	if err != nil {
		t.Fatal(err)
	}
	behind := &Server{deps: Deps{ProxyCert: pc}}
	direct := &Server{}
	for _, c := range []struct {
		name, peer string
		xff        []string
		s          *Server
		want       string
	}{
		{"no proxy configured", "203.0.113.9:4242", []string{"198.51.100.1"}, direct, "203.0.113.9"},
		{"untrusted peer", "203.0.113.9:4242", []string{"198.51.100.1"}, behind, "203.0.113.9"},
		{"one proxy", "10.0.0.2:4242", []string{"198.51.100.1"}, behind, "198.51.100.1"},
		{"client-forged entry on the left", "10.0.0.2:4242", []string{"1.2.3.4, 198.51.100.1"}, behind, "198.51.100.1"},
		{"two proxies", "10.0.0.2:4242", []string{"198.51.100.1, 10.0.0.7"}, behind, "198.51.100.1"},
		{"two header lines", "10.0.0.2:4242", []string{"198.51.100.1", "10.0.0.7"}, behind, "198.51.100.1"},
		{"only proxies", "10.0.0.2:4242", []string{"10.0.0.7"}, behind, "10.0.0.2"},
		{"no header", "10.0.0.2:4242", nil, behind, "10.0.0.2"},
		{"garbage", "10.0.0.2:4242", []string{"198.51.100.1, not-an-ip"}, behind, "10.0.0.2"},
		{"IPv6 proxy", "[::1]:4242", []string{"2001:db8::5"}, behind, "2001:db8::5"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.peer
		for _, v := range c.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := c.s.clientIP(r); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}
