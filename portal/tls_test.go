package portal

import (
	"crypto/tls"
	"net/http"
	"testing"
)

// The portal asks for a client certificate during the handshake, naming the
// hint CAs, but never insists: a visitor without a certificate still gets
// the page, and one with a certificate has it reach the handlers.
func TestPortalListenerRequestsClientCertificate(t *testing.T) {
	h := start(t, separateConfig(t), peerCertsRoute)
	addr := h.srv.Addr("portal")
	for _, v := range tlsVersions {
		t.Run(v.name, func(t *testing.T) {
			t.Run("without certificate", func(t *testing.T) {
				req := &certRequests{}
				c := newClient(t, addr, clientOpts{minTLS: v.version, maxTLS: v.version, getCert: req.get})
				resp, body := get(t, c, urlFor(t, portalHost, addr, "/"))
				wantStatus(t, resp, body, http.StatusOK)
				wantBody(t, body, "Portail des expertises")
				if resp.TLS.Version != v.version {
					t.Errorf("negotiated %s, want %s", tls.VersionName(resp.TLS.Version), v.name)
				}
				req.assertHints(t)

				resp, body = get(t, c, urlFor(t, portalHost, addr, "/test/peer"))
				wantStatus(t, resp, body, http.StatusOK)
				if body != "0" {
					t.Errorf("handler saw %q peer certificates, want 0", body)
				}
			})
			t.Run("with certificate", func(t *testing.T) {
				req := &certRequests{present: true}
				c := newClient(t, addr, clientOpts{minTLS: v.version, maxTLS: v.version, getCert: req.get})
				resp, body := get(t, c, urlFor(t, portalHost, addr, "/test/peer"))
				wantStatus(t, resp, body, http.StatusOK)
				if want := "1 " + pki().clientCN; body != want {
					t.Errorf("handler saw %q, want %q", body, want)
				}
				req.assertHints(t)
				if n := req.count(); n != 1 {
					t.Errorf("GetClientCertificate called %d times for one connection, want 1", n)
				}
			})
		})
	}
}

// The counter never asks for a certificate: a browser must never show a
// certificate prompt there, even if the person has certificates installed.
func TestCounterListenerNeverRequestsClientCertificate(t *testing.T) {
	h := start(t, separateConfig(t), peerCertsRoute)
	addr := h.srv.Addr("counter")
	for _, v := range tlsVersions {
		t.Run(v.name, func(t *testing.T) {
			req := &certRequests{present: true}
			c := newClient(t, addr, clientOpts{minTLS: v.version, maxTLS: v.version, getCert: req.get})
			resp, body := get(t, c, urlFor(t, counterHost, addr, "/"))
			wantStatus(t, resp, body, http.StatusOK)
			wantBody(t, body, "Guichet de retrait")
			if resp.TLS.Version != v.version {
				t.Errorf("negotiated %s, want %s", tls.VersionName(resp.TLS.Version), v.name)
			}
			resp, body = get(t, c, urlFor(t, counterHost, addr, "/test/peer"))
			wantStatus(t, resp, body, http.StatusOK)
			if body != "0" {
				t.Errorf("handler saw %q peer certificates, want 0", body)
			}
			if n := req.count(); n != 0 {
				t.Errorf("the counter sent a CertificateRequest (%d times)", n)
			}
		})
		t.Run(v.name+" with tls.Config.Certificates", func(t *testing.T) {
			c := newClient(t, addr, clientOpts{minTLS: v.version, maxTLS: v.version, withCertificates: true})
			resp, body := get(t, c, urlFor(t, counterHost, addr, "/test/peer"))
			wantStatus(t, resp, body, http.StatusOK)
			if body != "0" {
				t.Errorf("handler saw %q peer certificates, want 0", body)
			}
		})
	}
}

// With portal and counter on one address, the SNI decides both the
// handshake policy and the pages; a Host that does not match the SNI gets
// 421 so that the browser opens a connection of its own for that name.
func TestSharedAddressChoosesSideBySNI(t *testing.T) {
	h := start(t, sharedConfig(), peerCertsRoute)
	addr := h.srv.Addr("shared")
	if addr == "" || h.srv.Addr("portal") != addr || h.srv.Addr("counter") != addr {
		t.Fatalf("Addr: shared %q, portal %q, counter %q; want one bound address for all three",
			addr, h.srv.Addr("portal"), h.srv.Addr("counter"))
	}
	for _, v := range tlsVersions {
		t.Run(v.name, func(t *testing.T) {
			t.Run("counter name", func(t *testing.T) {
				req := &certRequests{present: true}
				c := newClient(t, addr, clientOpts{minTLS: v.version, maxTLS: v.version, getCert: req.get})
				resp, body := get(t, c, urlFor(t, counterHost, addr, "/"))
				wantStatus(t, resp, body, http.StatusOK)
				wantBody(t, body, "Guichet de retrait")
				if n := req.count(); n != 0 {
					t.Errorf("SNI %s got a CertificateRequest (%d times)", counterHost, n)
				}
				resp, body = get(t, c, urlFor(t, counterHost, addr, "/test/peer"))
				wantStatus(t, resp, body, http.StatusOK)
				if body != "0" {
					t.Errorf("handler saw %q peer certificates, want 0", body)
				}
			})
			t.Run("portal name", func(t *testing.T) {
				req := &certRequests{present: true}
				c := newClient(t, addr, clientOpts{minTLS: v.version, maxTLS: v.version, getCert: req.get})
				resp, body := get(t, c, urlFor(t, portalHost, addr, "/"))
				wantStatus(t, resp, body, http.StatusOK)
				wantBody(t, body, "Portail des expertises")
				req.assertHints(t)
				resp, body = get(t, c, urlFor(t, portalHost, addr, "/test/peer"))
				wantStatus(t, resp, body, http.StatusOK)
				if want := "1 " + pki().clientCN; body != want {
					t.Errorf("handler saw %q, want %q", body, want)
				}
			})
			t.Run("no SNI is the portal", func(t *testing.T) {
				// An IP literal sends no SNI: the portal policy applies, and
				// the Host check is skipped.
				req := &certRequests{}
				c := newClient(t, addr, clientOpts{minTLS: v.version, maxTLS: v.version, getCert: req.get})
				resp, body := get(t, c, "https://"+addr+"/")
				wantStatus(t, resp, body, http.StatusOK)
				wantBody(t, body, "Portail des expertises")
				req.assertHints(t)
			})
		})
	}

	t.Run("Host does not match SNI", func(t *testing.T) {
		for _, proto := range []struct {
			name  string
			http1 bool
		}{{"HTTP/1.1", true}, {"HTTP/2", false}} {
			t.Run(proto.name, func(t *testing.T) {
				// A certificate-free handshake on the counter name, then a
				// request for the portal: the portal must not answer it.
				req := &certRequests{present: true}
				c := newClient(t, addr, clientOpts{serverName: counterHost, http1: proto.http1, getCert: req.get})
				resp, body := get(t, c, urlFor(t, portalHost, addr, "/test/peer"))
				wantStatus(t, resp, body, http.StatusMisdirectedRequest)
				wantBody(t, body, `lang="fr"`, "Adresse incorrecte", resp.Header.Get("X-Request-Id"))
				assertSecurityHeaders(t, resp)
				if n := req.count(); n != 0 {
					t.Errorf("SNI %s got a CertificateRequest (%d times)", counterHost, n)
				}
				// And the other way round.
				c = newClient(t, addr, clientOpts{serverName: portalHost, http1: proto.http1})
				resp, body = get(t, c, urlFor(t, counterHost, addr, "/"))
				wantStatus(t, resp, body, http.StatusMisdirectedRequest)
			})
		}
	})

	t.Run("HTTP/2", func(t *testing.T) {
		for _, host := range []string{portalHost, counterHost} {
			c := newClient(t, addr, clientOpts{})
			resp, body := get(t, c, urlFor(t, host, addr, "/"))
			wantStatus(t, resp, body, http.StatusOK)
			if resp.ProtoMajor != 2 {
				t.Errorf("%s: negotiated %s, want HTTP/2", host, resp.Proto)
			}
		}
	})
}

// HTTP/2 is offered on the dedicated listeners too.
func TestSeparateListenersNegotiateHTTP2(t *testing.T) {
	h := start(t, separateConfig(t), nil)
	for _, side := range []struct{ listener, host, page string }{
		{"portal", portalHost, "Portail des expertises"},
		{"counter", counterHost, "Guichet de retrait"},
	} {
		t.Run(side.listener, func(t *testing.T) {
			addr := h.srv.Addr(side.listener)
			c := newClient(t, addr, clientOpts{})
			resp, body := get(t, c, urlFor(t, side.host, addr, "/"))
			wantStatus(t, resp, body, http.StatusOK)
			wantBody(t, body, side.page)
			if resp.ProtoMajor != 2 {
				t.Errorf("negotiated %s, want HTTP/2", resp.Proto)
			}
			if got := resp.TLS.NegotiatedProtocol; got != "h2" {
				t.Errorf("ALPN %q, want h2", got)
			}
		})
	}
}
