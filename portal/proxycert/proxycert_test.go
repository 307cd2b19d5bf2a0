package proxycert

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// ---- test PKI --------------------------------------------------------------

type testPKI struct {
	root, inter, leaf *x509.Certificate
	rootKey, leafKey  *ecdsa.PrivateKey
	other             *x509.Certificate // a second, unrelated client certificate
}

var (
	pkiOnce sync.Once
	pkiVal  *testPKI
)

func getPKI(tb testing.TB) *testPKI {
	tb.Helper()
	pkiOnce.Do(func() { pkiVal = newPKI() })
	return pkiVal
}

func mustKey() *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
}

var serial int64

func mustCert(tmpl, parent *x509.Certificate, pub any, signer *ecdsa.PrivateKey) *x509.Certificate {
	serial++
	tmpl.SerialNumber = big.NewInt(serial)
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore = time.Now().Add(-time.Hour)
		tmpl.NotAfter = time.Now().Add(24 * time.Hour)
	}
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		panic(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		panic(err)
	}
	return c
}

func newPKI() *testPKI {
	p := &testPKI{rootKey: mustKey(), leafKey: mustKey()}
	interKey := mustKey()
	p.root = mustCert(&x509.Certificate{
		Subject:               pkix.Name{CommonName: "Test Justice Root CA", Organization: []string{"Sceau test"}},
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}, nil, &p.rootKey.PublicKey, p.rootKey)
	p.inter = mustCert(&x509.Certificate{
		Subject:               pkix.Name{CommonName: "Test Justice Issuing CA 1", Organization: []string{"Sceau test"}},
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}, p.root, &interKey.PublicKey, p.rootKey)
	uri, _ := url.Parse("spiffe://sceau.test/expert/42")
	p.leaf = mustCert(&x509.Certificate{
		// A comma and quotes in the CN exercise XFCC Subject quoting.
		Subject:        pkix.Name{CommonName: `Dupont, "Jean"`, Organization: []string{"Cour d'appel de Paris"}},
		EmailAddresses: []string{"jean.dupont@example.test"},
		URIs:           []*url.URL{uri},
		KeyUsage:       x509.KeyUsageDigitalSignature,
		ExtKeyUsage:    []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, p.inter, &p.leafKey.PublicKey, interKey)
	otherKey := mustKey()
	p.other = mustCert(&x509.Certificate{
		Subject:     pkix.Name{CommonName: "Victim Expert"},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, p.inter, &otherKey.PublicKey, interKey)
	return p
}

func (p *testPKI) chain() []*x509.Certificate { return []*x509.Certificate{p.leaf, p.inter} }

func pemOf(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

// ---- header builders, each as the proxy writes it ---------------------------

// nginxUnreserved mirrors the uri_component table of ngx_escape_uri
// (src/core/ngx_string.c, NGX_ESCAPE_URI_COMPONENT) used for
// $ssl_client_escaped_cert: a set bit means "escape". Rows: 0x00-0x1f,
// 0x20-0x3f, 0x40-0x5f, 0x60-0x7f, then 0x80-0xff (all escaped). The only
// bytes left alone are ALPHA, DIGIT, "-", ".", "_" and "~"; in a PEM that
// means space, "\n", "+", "/" and "=" are escaped (as %20 %0A %2B %2F %3D).
var nginxURIComponent = [8]uint32{
	0xffffffff, // 0x00-0x1f: all control characters
	0xfc009fff, // ?>=< ;:98 7654 3210  /.-, +*)( '&%$ #"!  -> all but "-", ".", digits
	0x78000001, // _^]\ [ZYX WVUT SRQP  ONML KJIH GFED CBA@ -> "@", "[", "\", "]", "^"
	0xb8000001, //  ~}| {zyx wvut srqp  onml kjih gfed cba` -> "`", "{", "|", "}", DEL
	0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff,
}

// nginxEscape is ngx_escape_uri(dst, src, size, NGX_ESCAPE_URI_COMPONENT).
func nginxEscape(b []byte) string {
	const hexd = "0123456789ABCDEF"
	var sb strings.Builder
	for _, c := range b {
		if nginxURIComponent[c>>5]&(1<<(c&0x1f)) != 0 {
			sb.WriteByte('%')
			sb.WriteByte(hexd[c>>4])
			sb.WriteByte(hexd[c&0xf])
		} else {
			sb.WriteByte(c)
		}
	}
	return sb.String()
}

// nginxHeader is the value of proxy_set_header X-SSL-Client-Cert
// $ssl_client_escaped_cert: the leaf's PEM (PEM_write_bio_X509), escaped.
func nginxHeader(leaf *x509.Certificate) string { return nginxEscape(pemOf(leaf)) }

// envoyURLEncode is Envoy's Http::Utility::PercentEncoding::urlEncode used for
// XFCC Cert/Chain: everything but ALPHA, DIGIT, "*", "-", ".", "_" becomes %XX.
func envoyURLEncode(b []byte) string {
	var sb strings.Builder
	for _, c := range b {
		if isAlnum(c) || c == '*' || c == '-' || c == '.' || c == '_' {
			sb.WriteByte(c)
		} else {
			fmt.Fprintf(&sb, "%%%02X", c)
		}
	}
	return sb.String()
}

// envoyElement builds one XFCC element as Envoy's mutateXfccRequestHeader
// does: By, Hash, then Cert="…", Chain="…", Subject="…", URI=… (unquoted).
func envoyElement(by string, certs []*x509.Certificate, withCert, withChain bool) string {
	sum := sha256.Sum256(certs[0].Raw)
	parts := []string{"By=" + by, "Hash=" + hex.EncodeToString(sum[:])}
	if withCert {
		parts = append(parts, `Cert="`+envoyURLEncode(pemOf(certs[0]))+`"`)
	}
	if withChain {
		var enc strings.Builder
		for _, c := range certs {
			enc.WriteString(envoyURLEncode(pemOf(c)))
		}
		parts = append(parts, `Chain="`+enc.String()+`"`)
	}
	// Go's pkix.Name.String is RFC 2253-style, like BoringSSL's, so a
	// quote in the subject is already \" and commas are \, .
	parts = append(parts, `Subject="`+certs[0].Subject.String()+`"`)
	uri := ""
	if len(certs[0].URIs) > 0 {
		uri = certs[0].URIs[0].String()
	}
	parts = append(parts, "URI="+uri)
	return strings.Join(parts, ";")
}

// traefikHeader replicates passTLSClientCert getCertificates/sanitize.
func traefikHeader(certs []*x509.Certificate) string {
	var vals []string
	r := strings.NewReplacer("-----BEGIN CERTIFICATE-----", "", "-----END CERTIFICATE-----", "", "\n", "")
	for _, c := range certs {
		vals = append(vals, r.Replace(string(pemOf(c))))
	}
	return strings.Join(vals, ",")
}

func sfBytes(c *x509.Certificate) string { return ":" + base64.StdEncoding.EncodeToString(c.Raw) + ":" }

func rfc9440Chain(certs []*x509.Certificate) string {
	var vals []string
	for _, c := range certs {
		vals = append(vals, sfBytes(c))
	}
	return strings.Join(vals, ", ")
}

// ---- helpers ---------------------------------------------------------------

var (
	proxyPrefix = netip.MustParsePrefix("10.0.0.0/8")
	proxyAddr   = "10.1.2.3:40000"
	spoofAddr   = "203.0.113.7:4444" // TEST-NET-3, only ever a string here
)

func newExtractor(t testing.TB, c Config) *Extractor {
	t.Helper()
	if c.TrustedProxies == nil {
		c.TrustedProxies = []netip.Prefix{proxyPrefix}
	}
	e, err := New(c)
	if err != nil {
		t.Fatalf("New(%+v): %v", c, err)
	}
	return e
}

func newReq(remote string, h http.Header) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = remote
	for k, vs := range h {
		r.Header[k] = append([]string(nil), vs...)
	}
	return r
}

func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

// allFormatsHeader carries a valid value for every format at once.
func allFormatsHeader(p *testPKI) http.Header {
	return hdr(
		HeaderNginx, nginxHeader(p.leaf),
		HeaderEnvoy, envoyElement("spiffe://proxy", p.chain(), true, true),
		HeaderTraefik, traefikHeader(p.chain()),
		HeaderRFC9440, sfBytes(p.leaf),
		HeaderRFC9440Chain, sfBytes(p.inter),
		"X-Ssl-Client-Verify", "SUCCESS",
	)
}

func assertNoCertHeaders(t *testing.T, h http.Header) {
	t.Helper()
	for k := range h {
		if _, ok := knownNorm[normName(k)]; ok {
			t.Errorf("header %q was not stripped", k)
		}
	}
}

func sameChain(t *testing.T, got, want []*x509.Certificate) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("chain has %d certificates, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i].Raw, want[i].Raw) {
			t.Fatalf("certificate %d differs: got %q, want %q", i, got[i].Subject, want[i].Subject)
		}
	}
}

// ---- tests -----------------------------------------------------------------

func TestNginxEscapeTable(t *testing.T) {
	// The table above is nginx's; check it says what the docs say.
	for c := 0; c < 256; c++ {
		b := byte(c)
		unreserved := isAlnum(b) || b == '-' || b == '.' || b == '_' || b == '~'
		escaped := nginxURIComponent[b>>5]&(1<<(b&0x1f)) != 0
		if escaped == unreserved {
			t.Errorf("byte %#02x: escaped=%v, unreserved=%v", c, escaped, unreserved)
		}
	}
	got := nginxEscape([]byte("-----BEGIN CERTIFICATE-----\nab+/=\n"))
	want := "-----BEGIN%20CERTIFICATE-----%0Aab%2B%2F%3D%0A"
	if got != want {
		t.Fatalf("nginxEscape = %q, want %q", got, want)
	}
}

func TestRoundTrip(t *testing.T) {
	p := getPKI(t)
	leafOnly := []*x509.Certificate{p.leaf}
	// An element from an earlier hop, with ";", "," and "=" inside quotes
	// and an escaped quote.
	earlier := `By=spiffe://edge;Hash=00;Subject="CN=a\;b\,c=\"d\"";URI=`

	// Older Envoy encoders left "+", "/" and "=" raw and used lower-case hex.
	rawish := strings.NewReplacer("\n", "%0a", " ", "%20").Replace(string(pemOf(p.leaf)))

	tests := []struct {
		name string
		cfg  Config
		h    http.Header
		want []*x509.Certificate
	}{
		{"nginx", Config{Format: FormatNginx}, hdr(HeaderNginx, nginxHeader(p.leaf)), leafOnly},
		{"envoy cert+chain", Config{Format: FormatEnvoy},
			hdr(HeaderEnvoy, envoyElement("spiffe://sceau.test/proxy", p.chain(), true, true)), p.chain()},
		{"envoy cert only", Config{Format: FormatEnvoy},
			hdr(HeaderEnvoy, envoyElement("spiffe://sceau.test/proxy", p.chain(), true, false)), leafOnly},
		{"envoy chain only", Config{Format: FormatEnvoy},
			hdr(HeaderEnvoy, envoyElement("spiffe://sceau.test/proxy", p.chain(), false, true)), p.chain()},
		{"envoy append-forward, last element wins", Config{Format: FormatEnvoy, EnvoyAppendForward: true},
			hdr(HeaderEnvoy, earlier+","+envoyElement("spiffe://edge", []*x509.Certificate{p.other}, true, false)+","+
				envoyElement("spiffe://sceau.test/proxy", p.chain(), true, true)), p.chain()},
		{"envoy append-forward over two field lines", Config{Format: FormatEnvoy, EnvoyAppendForward: true},
			hdr(HeaderEnvoy, earlier, HeaderEnvoy, envoyElement("spiffe://sceau.test/proxy", p.chain(), true, true)), p.chain()},
		{"envoy raw base64 characters and lower-case hex", Config{Format: FormatEnvoy},
			hdr(HeaderEnvoy, `Hash=`+fmt.Sprintf("%X", sha256.Sum256(p.leaf.Raw))+`;cert="`+rawish+`"`), leafOnly},
		{"traefik leaf", Config{Format: FormatTraefik}, hdr(HeaderTraefik, traefikHeader(leafOnly)), leafOnly},
		{"traefik leaf+chain", Config{Format: FormatTraefik}, hdr(HeaderTraefik, traefikHeader(p.chain())), p.chain()},
		{"rfc9440 leaf", Config{Format: FormatRFC9440}, hdr(HeaderRFC9440, sfBytes(p.leaf)), leafOnly},
		{"rfc9440 leaf+chain", Config{Format: FormatRFC9440},
			hdr(HeaderRFC9440, sfBytes(p.leaf), HeaderRFC9440Chain, rfc9440Chain([]*x509.Certificate{p.inter, p.root})),
			[]*x509.Certificate{p.leaf, p.inter, p.root}},
		{"rfc9440 parameters ignored", Config{Format: FormatRFC9440},
			hdr(HeaderRFC9440, sfBytes(p.leaf)+`;a=1;b="x\"y";c=?0;d=tok/en:x;e=-1.5;*f;g=:AAE=:`,
				HeaderRFC9440Chain, sfBytes(p.inter)+";x=2"), p.chain()},
		{"rfc9440 chain over two field lines", Config{Format: FormatRFC9440},
			hdr(HeaderRFC9440, sfBytes(p.leaf), HeaderRFC9440Chain, sfBytes(p.inter), HeaderRFC9440Chain, sfBytes(p.root)),
			[]*x509.Certificate{p.leaf, p.inter, p.root}},
		{"rfc9440 unpadded base64", Config{Format: FormatRFC9440},
			hdr(HeaderRFC9440, ":"+base64.RawStdEncoding.EncodeToString(p.leaf.Raw)+":"), leafOnly},
		{"format name case-insensitive", Config{Format: "Traefik"}, hdr(HeaderTraefik, traefikHeader(leafOnly)), leafOnly},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.want == nil {
				tc.want = leafOnly
			}
			e := newExtractor(t, tc.cfg)
			h := tc.h.Clone()
			for k, v := range allFormatsHeader(p) { // other formats' headers too
				if k == e.Header() || (e.Format() == FormatRFC9440 && k == HeaderRFC9440Chain) {
					continue
				}
				h[k] = v
			}
			h.Set("X-Other", "kept")
			r := newReq(proxyAddr, h)
			chain, fromProxy, err := e.FromRequest(r)
			if err != nil || !fromProxy {
				t.Fatalf("FromRequest = (%d certs, %v, %v)", len(chain), fromProxy, err)
			}
			sameChain(t, chain, tc.want)
			assertNoCertHeaders(t, r.Header)
			if r.Header.Get("X-Other") != "kept" {
				t.Error("unrelated header removed")
			}
		})
	}
}

func allFormats() []Format { return []Format{FormatNginx, FormatEnvoy, FormatTraefik, FormatRFC9440} }

func TestUntrustedPeerStripped(t *testing.T) {
	p := getPKI(t)
	for _, f := range allFormats() {
		t.Run(string(f), func(t *testing.T) {
			e := newExtractor(t, Config{Format: f})
			h := allFormatsHeader(p)
			h["x-ssl-client-cert"] = []string{nginxHeader(p.leaf)} // non-canonical key
			h["X_SSL_Client_Cert"] = []string{nginxHeader(p.leaf)} // underscore spelling
			h["X-Forwarded-Tls-Client-Cert-Info"] = []string{"Subject=%22CN%3Dx%22"}
			h.Set("X-Other", "kept")
			for _, remote := range []string{spoofAddr, "[2001:db8::7]:443", "[::ffff:203.0.113.7]:1", "garbage", ""} {
				r := newReq(remote, h)
				chain, fromProxy, err := e.FromRequest(r)
				if chain != nil || fromProxy || err != nil {
					t.Fatalf("%s: FromRequest = (%v, %v, %v), want (nil, false, nil)", remote, chain, fromProxy, err)
				}
				assertNoCertHeaders(t, r.Header)
				if len(r.Header) != 1 || r.Header.Get("X-Other") != "kept" {
					t.Fatalf("%s: headers left: %v", remote, r.Header)
				}
			}
		})
	}
}

func TestTrustedNoHeader(t *testing.T) {
	p := getPKI(t)
	for _, f := range allFormats() {
		t.Run(string(f), func(t *testing.T) {
			e := newExtractor(t, Config{Format: f})
			// Absent: only the other formats' headers (ignored, stripped).
			h := allFormatsHeader(p)
			h.Del(e.Header())
			h.Del(HeaderRFC9440Chain)
			r := newReq(proxyAddr, h)
			chain, fromProxy, err := e.FromRequest(r)
			if chain != nil || !fromProxy || err != nil {
				t.Fatalf("absent: FromRequest = (%v, %v, %v), want (nil, true, nil)", chain, fromProxy, err)
			}
			assertNoCertHeaders(t, r.Header)
			// Empty value.
			r = newReq(proxyAddr, hdr(e.Header(), ""))
			chain, fromProxy, err = e.FromRequest(r)
			if chain != nil || !fromProxy || err != nil {
				t.Fatalf("empty: FromRequest = (%v, %v, %v), want (nil, true, nil)", chain, fromProxy, err)
			}
			assertNoCertHeaders(t, r.Header)
		})
	}
}

func TestMalformed(t *testing.T) {
	p := getPKI(t)
	leafPEM := string(pemOf(p.leaf))
	leafB64 := base64.StdEncoding.EncodeToString(p.leaf.Raw)
	keyDER, _ := x509.MarshalECPrivateKey(p.leafKey)
	keyPEM := string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))
	badDERPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("not DER")}))
	withHeaders := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED"}, Bytes: p.leaf.Raw}))
	badB64PEM := strings.Replace(leafPEM, "\n", "\n!!!!\n", 2)
	hash := sha256.Sum256(p.leaf.Raw)
	hashHex := hex.EncodeToString(hash[:])
	encLeaf := envoyURLEncode(pemOf(p.leaf))
	encOther := envoyURLEncode(pemOf(p.other))

	type tcase struct {
		name string
		cfg  Config
		h    http.Header
	}
	ng := func(name string, v ...string) tcase {
		h := http.Header{}
		for _, x := range v {
			h.Add(HeaderNginx, x)
		}
		return tcase{"nginx/" + name, Config{Format: FormatNginx}, h}
	}
	env := func(name, v string) tcase {
		return tcase{"envoy/" + name, Config{Format: FormatEnvoy}, hdr(HeaderEnvoy, v)}
	}
	tr := func(name string, v ...string) tcase {
		h := http.Header{}
		for _, x := range v {
			h.Add(HeaderTraefik, x)
		}
		return tcase{"traefik/" + name, Config{Format: FormatTraefik}, h}
	}
	rf := func(name string, h http.Header) tcase {
		return tcase{"rfc9440/" + name, Config{Format: FormatRFC9440}, h}
	}

	tests := []tcase{
		ng("garbage", "garbage"),
		ng("bad percent escape", "%ZZ"+nginxHeader(p.leaf)),
		ng("truncated percent escape", nginxHeader(p.leaf)+"%4"),
		ng("query-style escaping (+ for space)", url.QueryEscape(leafPEM)),
		// (+, / and = all unescaped: a certificate whose base64 happened to
		// hold no "+" would otherwise make this case valid.)
		ng("raw base64 characters", strings.NewReplacer("%2B", "+", "%2F", "/", "%3D", "=").Replace(nginxHeader(p.leaf))),
		ng("no PEM", nginxEscape([]byte(leafB64))),
		ng("junk before PEM", nginxEscape([]byte("junk\n"+leafPEM))),
		ng("trailing junk", nginxEscape([]byte(leafPEM+"junk"))),
		ng("two certificates", nginxEscape([]byte(leafPEM+string(pemOf(p.inter))))),
		ng("private key block", nginxEscape([]byte(keyPEM))),
		ng("PEM headers", nginxEscape([]byte(withHeaders))),
		ng("bad base64 in PEM", nginxEscape([]byte(badB64PEM))),
		ng("no END line", nginxEscape([]byte(strings.Split(leafPEM, "-----END")[0]))),
		ng("double BEGIN", nginxEscape([]byte("-----BEGIN CERTIFICATE-----\n"+leafPEM))),
		ng("not DER", nginxEscape([]byte(badDERPEM))),
		ng("two field lines", nginxHeader(p.leaf), nginxHeader(p.leaf)),
		{"nginx/two spellings", Config{Format: FormatNginx},
			http.Header{HeaderNginx: {nginxHeader(p.leaf)}, "x-ssl-client-cert": {nginxHeader(p.leaf)}}},

		env("garbage", "garbage"),
		env("missing =", "Hash="+hashHex+";Cert"),
		env("unterminated quote", `Hash=`+hashHex+`;Cert="`+encLeaf),
		env("backslash at end", `Cert="`+encLeaf+`\`),
		env("junk after closing quote", `Cert="`+encLeaf+`"x`),
		env("quote inside unquoted value", `Cert=ab"cd`),
		env("empty element", ","+`Cert="`+encLeaf+`"`),
		env("trailing comma", `Cert="`+encLeaf+`",`),
		env("trailing semicolon", `Cert="`+encLeaf+`";`),
		env("empty key", `=x;Cert="`+encLeaf+`"`),
		env("no Cert or Chain", `By=spiffe://x;Hash=`+hashHex+`;Subject="CN=x";URI=`),
		env("Cert not URL-encoded", `Cert="`+strings.ReplaceAll(leafPEM, "\n", "|")+`"`),
		env("Cert bad percent escape", `Cert="%G0`+encLeaf+`"`),
		env("Cert empty", `Cert=""`),
		env("Cert not PEM", `Cert="`+leafB64+`"`),
		env("Cert trailing junk", `Cert="`+encLeaf+`junk"`),
		env("Cert two certificates", `Cert="`+encLeaf+envoyURLEncode(pemOf(p.inter))+`"`),
		env("Cert not DER", `Cert="`+envoyURLEncode([]byte(badDERPEM))+`"`),
		env("duplicate Cert", `Cert="`+encLeaf+`";cert="`+encLeaf+`"`),
		env("Cert differs from Chain", `Cert="`+encOther+`";Chain="`+encLeaf+envoyURLEncode(pemOf(p.inter))+`"`),
		env("Hash mismatch", `Hash=`+strings.Repeat("ab", 32)+`;Cert="`+encLeaf+`"`),
		env("several elements without EnvoyAppendForward",
			envoyElement("spiffe://a", p.chain(), true, true)+","+envoyElement("spiffe://b", p.chain(), true, true)),
		// Envoy writes URI SANs unquoted: a client certificate whose URI
		// SAN is `x,Cert="<victim>"` would forge a last element. With
		// SANITIZE_SET that is a second element, refused by default.
		env("element forged through an unquoted URI SAN",
			`Hash=`+hashHex+`;Cert="`+encLeaf+`";URI=spiffe://x,Cert="`+encOther+`"`),

		tr("garbage", "garbage!"),
		tr("bad base64", leafB64[:len(leafB64)-1]),
		tr("url-escaped (v1)", url.QueryEscape(leafB64)),
		tr("PEM armour", strings.ReplaceAll(leafPEM, "\n", "")),
		tr("empty element", leafB64+",,"+leafB64),
		tr("trailing comma", leafB64+","),
		tr("whitespace inside", leafB64[:10]+" "+leafB64[10:]),
		tr("not DER", base64.StdEncoding.EncodeToString([]byte("not a certificate"))),
		tr("trailing data after DER", base64.StdEncoding.EncodeToString(append(append([]byte{}, p.leaf.Raw...), 0))),
		tr("two field lines", leafB64, leafB64),

		rf("garbage", hdr(HeaderRFC9440, "garbage")),
		rf("missing colons", hdr(HeaderRFC9440, leafB64)),
		rf("missing closing colon", hdr(HeaderRFC9440, ":"+leafB64)),
		rf("missing opening colon", hdr(HeaderRFC9440, leafB64+":")),
		rf("bad base64", hdr(HeaderRFC9440, ":"+leafB64[:len(leafB64)-2]+"!!:")),
		rf("string item", hdr(HeaderRFC9440, `"`+leafB64+`"`)),
		rf("trailing junk", hdr(HeaderRFC9440, sfBytes(p.leaf)+" x")),
		rf("list as Client-Cert", hdr(HeaderRFC9440, sfBytes(p.leaf)+", "+sfBytes(p.inter))),
		rf("bad parameter key", hdr(HeaderRFC9440, sfBytes(p.leaf)+";Key=1")),
		rf("bad parameter value", hdr(HeaderRFC9440, sfBytes(p.leaf)+";k=\"unterminated")),
		rf("bad parameter number", hdr(HeaderRFC9440, sfBytes(p.leaf)+";k=1.2345")),
		rf("empty byte sequence", hdr(HeaderRFC9440, "::")),
		rf("two Client-Cert lines", hdr(HeaderRFC9440, sfBytes(p.leaf), HeaderRFC9440, sfBytes(p.leaf))),
		rf("chain without leaf", hdr(HeaderRFC9440Chain, sfBytes(p.inter))),
		rf("chain inner list", hdr(HeaderRFC9440, sfBytes(p.leaf), HeaderRFC9440Chain, "("+sfBytes(p.inter)+")")),
		rf("chain token member", hdr(HeaderRFC9440, sfBytes(p.leaf), HeaderRFC9440Chain, "abc")),
		rf("chain trailing comma", hdr(HeaderRFC9440, sfBytes(p.leaf), HeaderRFC9440Chain, sfBytes(p.inter)+",")),
		rf("chain missing comma", hdr(HeaderRFC9440, sfBytes(p.leaf), HeaderRFC9440Chain, sfBytes(p.inter)+" "+sfBytes(p.root))),
		rf("chain not DER", hdr(HeaderRFC9440, sfBytes(p.leaf), HeaderRFC9440Chain, ":AAAA:")),
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newExtractor(t, tc.cfg)
			r := newReq(proxyAddr, tc.h)
			chain, fromProxy, err := e.FromRequest(r)
			if err == nil || chain != nil || !fromProxy {
				t.Fatalf("FromRequest = (%d certs, %v, %v), want (nil, true, error)", len(chain), fromProxy, err)
			}
			var he *HeaderError
			if !errors.As(err, &he) || !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v (%T) does not wrap ErrMalformed", err, err)
			}
			if strings.Contains(err.Error(), leafB64[20:40]) || strings.Contains(err.Error(), encLeaf[40:60]) {
				t.Errorf("error message leaks the header value: %v", err)
			}
			assertNoCertHeaders(t, r.Header)
			t.Log(err)
		})
	}
}

func TestTooManyCerts(t *testing.T) {
	p := getPKI(t)
	many := make([]*x509.Certificate, 50)
	for i := range many {
		many[i] = p.leaf
	}
	var pems []byte
	for _, c := range many {
		pems = append(pems, pemOf(c)...)
	}
	tests := []struct {
		f Format
		h http.Header
	}{
		{FormatNginx, hdr(HeaderNginx, nginxEscape(pems))},
		{FormatEnvoy, hdr(HeaderEnvoy, envoyElement("spiffe://x", many, true, true))},
		{FormatTraefik, hdr(HeaderTraefik, traefikHeader(many))},
		{FormatRFC9440, hdr(HeaderRFC9440, sfBytes(p.leaf), HeaderRFC9440Chain, rfc9440Chain(many[1:]))},
	}
	for _, tc := range tests {
		t.Run(string(tc.f), func(t *testing.T) {
			e := newExtractor(t, Config{Format: tc.f, MaxHeaderBytes: 1 << 20})
			r := newReq(proxyAddr, tc.h)
			chain, fromProxy, err := e.FromRequest(r)
			if !errors.Is(err, ErrTooManyCerts) || chain != nil || !fromProxy {
				t.Fatalf("FromRequest = (%d certs, %v, %v), want ErrTooManyCerts", len(chain), fromProxy, err)
			}
			assertNoCertHeaders(t, r.Header)
			// Exactly MaxChain is fine (nginx forwards one certificate only).
			if tc.f == FormatNginx {
				return
			}
			e = newExtractor(t, Config{Format: tc.f, MaxChain: 2})
			var h http.Header
			switch tc.f {
			case FormatEnvoy:
				h = hdr(HeaderEnvoy, envoyElement("spiffe://x", p.chain(), true, true))
			case FormatTraefik:
				h = hdr(HeaderTraefik, traefikHeader(p.chain()))
			case FormatRFC9440:
				h = hdr(HeaderRFC9440, sfBytes(p.leaf), HeaderRFC9440Chain, sfBytes(p.inter))
			}
			if chain, _, err := e.FromRequest(newReq(proxyAddr, h)); err != nil || len(chain) != 2 {
				t.Fatalf("MaxChain 2 with 2 certificates: (%d, %v)", len(chain), err)
			}
			h = h.Clone()
			switch tc.f {
			case FormatEnvoy:
				h.Set(HeaderEnvoy, envoyElement("spiffe://x", []*x509.Certificate{p.leaf, p.inter, p.root}, false, true))
			case FormatTraefik:
				h.Set(HeaderTraefik, traefikHeader([]*x509.Certificate{p.leaf, p.inter, p.root}))
			case FormatRFC9440:
				h.Set(HeaderRFC9440Chain, rfc9440Chain([]*x509.Certificate{p.inter, p.root}))
			}
			if _, _, err := e.FromRequest(newReq(proxyAddr, h)); !errors.Is(err, ErrTooManyCerts) {
				t.Fatalf("MaxChain 2 with 3 certificates: %v", err)
			}
		})
	}
}

func TestTooLarge(t *testing.T) {
	p := getPKI(t)
	huge := strings.Repeat("A", DefaultMaxHeaderBytes+1)
	tests := []struct {
		f Format
		h http.Header
	}{
		{FormatNginx, hdr(HeaderNginx, huge)},
		{FormatEnvoy, hdr(HeaderEnvoy, `Cert="`+huge+`"`)},
		{FormatEnvoy, hdr(HeaderEnvoy, huge[:20000], HeaderEnvoy, huge[:20000])}, // total over two lines
		{FormatTraefik, hdr(HeaderTraefik, huge)},
		{FormatRFC9440, hdr(HeaderRFC9440, ":"+huge+":")},
		{FormatRFC9440, hdr(HeaderRFC9440, sfBytes(p.leaf), HeaderRFC9440Chain, ":"+huge+":")},
	}
	for i, tc := range tests {
		t.Run(fmt.Sprint(tc.f, i), func(t *testing.T) {
			e := newExtractor(t, Config{Format: tc.f})
			r := newReq(proxyAddr, tc.h)
			chain, fromProxy, err := e.FromRequest(r)
			if !errors.Is(err, ErrTooLarge) || chain != nil || !fromProxy {
				t.Fatalf("FromRequest = (%d certs, %v, %v), want ErrTooLarge", len(chain), fromProxy, err)
			}
			assertNoCertHeaders(t, r.Header)
		})
	}
	// A smaller configured limit applies to a real certificate.
	e := newExtractor(t, Config{Format: FormatTraefik, MaxHeaderBytes: 100})
	if _, _, err := e.FromRequest(newReq(proxyAddr, hdr(HeaderTraefik, traefikHeader(p.chain())))); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("MaxHeaderBytes 100: %v", err)
	}
}

func TestIPv4MappedPeer(t *testing.T) {
	p := getPKI(t)
	h := hdr(HeaderTraefik, traefikHeader(p.chain()))
	for _, tc := range []struct {
		prefix, remote string
		trusted        bool
	}{
		{"10.0.0.0/8", "[::ffff:10.1.2.3]:5000", true},
		{"10.0.0.0/8", "[::ffff:11.1.2.3]:5000", false},
		{"::ffff:10.0.0.0/104", "10.1.2.3:5000", true},       // mapped prefix, plain peer
		{"::ffff:10.0.0.0/104", "[::ffff:10.9.9.9]:1", true}, // mapped prefix, mapped peer
		{"127.0.0.1/32", "127.0.0.1:5000", true},
		{"::1/128", "[::1]:5000", true},
		{"::1/128", "127.0.0.1:5000", false},
		{"fe80::/10", "[fe80::1%eth0]:5000", true}, // zone ignored
		{"10.0.0.0/8", "10.1.2.3", true},           // bare IP, no port
	} {
		e := newExtractor(t, Config{Format: FormatTraefik, TrustedProxies: []netip.Prefix{netip.MustParsePrefix(tc.prefix)}})
		chain, fromProxy, err := e.FromRequest(newReq(tc.remote, h))
		if err != nil || fromProxy != tc.trusted || (len(chain) == 2) != tc.trusted {
			t.Errorf("prefix %s, peer %s: (%d certs, %v, %v), want trusted=%v", tc.prefix, tc.remote, len(chain), fromProxy, err, tc.trusted)
		}
	}
}

func TestHeaderOverride(t *testing.T) {
	p := getPKI(t)
	e := newExtractor(t, Config{Format: FormatNginx, Header: "x-client-cert-pem"})
	if e.Header() != "X-Client-Cert-Pem" {
		t.Fatalf("Header() = %q", e.Header())
	}
	// Read from the configured name only.
	r := newReq(proxyAddr, hdr("X-Client-Cert-PEM", nginxHeader(p.leaf), HeaderNginx, nginxHeader(p.other)))
	chain, _, err := e.FromRequest(r)
	if err != nil {
		t.Fatal(err)
	}
	sameChain(t, chain, []*x509.Certificate{p.leaf})
	if len(r.Header) != 0 {
		t.Fatalf("headers left: %v", r.Header)
	}
	// The default name alone is not read.
	chain, fromProxy, err := e.FromRequest(newReq(proxyAddr, hdr(HeaderNginx, nginxHeader(p.leaf))))
	if chain != nil || !fromProxy || err != nil {
		t.Fatalf("default name read: (%v, %v, %v)", chain, fromProxy, err)
	}
	// A spoofed override header from an untrusted peer is stripped.
	r = newReq(spoofAddr, hdr("X-Client-Cert-Pem", nginxHeader(p.leaf)))
	if chain, fromProxy, err := e.FromRequest(r); chain != nil || fromProxy || err != nil || len(r.Header) != 0 {
		t.Fatalf("spoofed override: (%v, %v, %v), headers %v", chain, fromProxy, err, r.Header)
	}

	// RFC 9440 with both names overridden.
	e = newExtractor(t, Config{Format: FormatRFC9440, Header: "Cf-Client-Cert", ChainHeader: "Cf-Client-Cert-Chain"})
	r = newReq(proxyAddr, hdr("Cf-Client-Cert", sfBytes(p.leaf), "Cf-Client-Cert-Chain", sfBytes(p.inter)))
	chain, _, err = e.FromRequest(r)
	if err != nil {
		t.Fatal(err)
	}
	sameChain(t, chain, p.chain())
	if len(r.Header) != 0 {
		t.Fatalf("headers left: %v", r.Header)
	}
}

func TestNew(t *testing.T) {
	ok := []netip.Prefix{proxyPrefix}
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"unknown format", Config{Format: "haproxy", TrustedProxies: ok}},
		{"empty format", Config{TrustedProxies: ok}},
		{"no trusted proxies", Config{Format: FormatNginx}},
		{"invalid prefix", Config{Format: FormatNginx, TrustedProxies: []netip.Prefix{{}}}},
		{"v4 /0", Config{Format: FormatNginx, TrustedProxies: []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}}},
		{"v6 /0", Config{Format: FormatNginx, TrustedProxies: []netip.Prefix{netip.MustParsePrefix("::/0")}}},
		{"mapped /96", Config{Format: FormatNginx, TrustedProxies: []netip.Prefix{netip.MustParsePrefix("::ffff:0.0.0.0/96")}}},
		{"negative MaxHeaderBytes", Config{Format: FormatNginx, TrustedProxies: ok, MaxHeaderBytes: -1}},
		{"negative MaxChain", Config{Format: FormatNginx, TrustedProxies: ok, MaxChain: -1}},
		{"bad header name", Config{Format: FormatNginx, TrustedProxies: ok, Header: "X Cert"}},
		{"bad chain header name", Config{Format: FormatRFC9440, TrustedProxies: ok, ChainHeader: "a:b"}},
		{"chain header on nginx", Config{Format: FormatNginx, TrustedProxies: ok, ChainHeader: "X-Chain"}},
		{"same header and chain header", Config{Format: FormatRFC9440, TrustedProxies: ok, ChainHeader: "client-cert"}},
		{"EnvoyAppendForward on traefik", Config{Format: FormatTraefik, TrustedProxies: ok, EnvoyAppendForward: true}},
	} {
		if _, err := New(tc.cfg); err == nil {
			t.Errorf("%s: New succeeded", tc.name)
		}
	}
	for f, want := range map[Format]string{
		FormatNginx: "X-Ssl-Client-Cert", FormatEnvoy: "X-Forwarded-Client-Cert",
		FormatTraefik: "X-Forwarded-Tls-Client-Cert", FormatRFC9440: "Client-Cert",
	} {
		e := newExtractor(t, Config{Format: f})
		if e.Header() != want || e.Format() != f {
			t.Errorf("%s: header %q, want %q", f, e.Header(), want)
		}
	}
}

func TestStripAll(t *testing.T) {
	p := getPKI(t)
	h := allFormatsHeader(p)
	for _, n := range KnownHeaders() {
		h.Set(n, "x")
	}
	h["x_forwarded_client_cert"] = []string{"x"}
	h.Set("X-Other", "kept")
	StripAll(h)
	if len(h) != 1 || h.Get("X-Other") != "kept" {
		t.Fatalf("after StripAll: %v", h)
	}
}

func TestConcurrent(t *testing.T) {
	p := getPKI(t)
	e := newExtractor(t, Config{Format: FormatEnvoy})
	v := envoyElement("spiffe://x", p.chain(), true, true)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 20; j++ {
				if chain, _, err := e.FromRequest(newReq(proxyAddr, hdr(HeaderEnvoy, v))); err != nil || len(chain) != 2 {
					t.Errorf("(%d, %v)", len(chain), err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// ---- real nginx ------------------------------------------------------------

// TestRealNginx runs the Debian nginx binary (if installed) on 127.0.0.1 with
// ssl_verify_client optional_no_ca in front of an httptest backend and checks
// that the Extractor reads the header nginx really sends, and that it is
// byte-for-byte what nginxHeader builds.
func TestRealNginx(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	nginxBin, err := exec.LookPath("nginx")
	if err != nil {
		for _, c := range []string{"/usr/sbin/nginx", "/usr/local/sbin/nginx"} {
			if _, serr := os.Stat(c); serr == nil {
				nginxBin = c
			}
		}
	}
	if nginxBin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("nginx is required under CI (.ci/run installs nginx-light)")
		}
		t.Skip("SKIPPING: nginx not installed")
	}
	p := getPKI(t)
	dir := t.TempDir()

	// Server certificate for nginx, issued by the test root.
	srvKey := mustKey()
	srv := mustCert(&x509.Certificate{
		Subject:     pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, p.root, &srvKey.PublicKey, p.rootKey)
	srvKeyDER, err := x509.MarshalECPrivateKey(srvKey)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, data []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	srvPath := write("server.pem", pemOf(srv))
	keyPath := write("server.key", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: srvKeyDER}))
	caPath := write("ca.pem", pemOf(p.root))

	type seen struct {
		raw       []string
		chain     []*x509.Certificate
		fromProxy bool
		err       error
		leftover  http.Header
	}
	results := make(chan seen, 10)
	ex := newExtractor(t, Config{Format: FormatNginx, TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := seen{raw: r.Header.Values(HeaderNginx)}
		s.chain, s.fromProxy, s.err = ex.FromRequest(r)
		s.leftover = r.Header.Clone()
		results <- s
	}))
	defer backend.Close()

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	for _, d := range []string{"body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	conf := fmt.Sprintf(`daemon off;
master_process off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log info;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path %[1]s/body;
  proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fastcgi;
  uwsgi_temp_path %[1]s/uwsgi;
  scgi_temp_path %[1]s/scgi;
  server {
    listen %[2]s ssl;
    ssl_certificate %[3]s;
    ssl_certificate_key %[4]s;
    ssl_verify_client optional_no_ca;
    ssl_client_certificate %[5]s;
    location / {
      proxy_pass %[6]s;
      proxy_set_header X-SSL-Client-Cert $ssl_client_escaped_cert;
      proxy_set_header X-SSL-Client-Verify $ssl_client_verify;
    }
  }
}
`, dir, addr, srvPath, keyPath, caPath, backend.URL)
	confPath := write("nginx.conf", []byte(conf))

	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, nginxBin, "-p", dir, "-c", confPath, "-e", filepath.Join(dir, "error.log"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Skipf("cannot start nginx: %v", err)
	}
	defer func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Logf("nginx output: %s\nerror.log:\n%s", out.String(), log)
		}
	}()

	roots := x509.NewCertPool()
	roots.AddCert(p.root)
	client := func(withCert bool) *http.Client {
		cfg := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
		if withCert {
			cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
				return &tls.Certificate{Certificate: [][]byte{p.leaf.Raw, p.inter.Raw}, PrivateKey: p.leafKey}, nil
			}
		}
		return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
	}
	get := func(c *http.Client, spoof string) (seen, error) {
		req, _ := http.NewRequest(http.MethodGet, "https://"+addr+"/", nil)
		if spoof != "" {
			req.Header.Set("X-SSL-Client-Cert", spoof)
			req.Header.Set("X-SSL-Client-Verify", "SUCCESS")
		}
		resp, err := c.Do(req)
		if err != nil {
			return seen{}, err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return seen{}, fmt.Errorf("status %s", resp.Status)
		}
		select {
		case s := <-results:
			return s, nil
		case <-time.After(5 * time.Second):
			return seen{}, errors.New("backend not reached")
		}
	}

	// Wait for nginx to listen.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx did not start listening on %s", addr)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// 1. Client certificate presented.
	s, err := get(client(true), "")
	if err != nil {
		t.Fatal(err)
	}
	if s.err != nil || !s.fromProxy {
		t.Fatalf("with certificate: (%d, %v, %v)", len(s.chain), s.fromProxy, s.err)
	}
	sameChain(t, s.chain, []*x509.Certificate{p.leaf}) // nginx forwards the leaf only
	if len(s.raw) != 1 || s.raw[0] != nginxHeader(p.leaf) {
		t.Fatalf("nginx header differs from the emulation:\n got %q\nwant %q", s.raw, nginxHeader(p.leaf))
	}
	if _, ok := s.leftover[HeaderNginx]; ok {
		t.Fatal("header not stripped")
	}
	if _, ok := s.leftover["X-Ssl-Client-Verify"]; ok {
		t.Fatal("X-SSL-Client-Verify not stripped")
	}
	var escapes []string
	for _, esc := range []string{"%20", "%0A", "%2B", "%2F", "%3D"} {
		if strings.Contains(s.raw[0], esc) {
			escapes = append(escapes, esc)
		}
	}
	t.Logf("real nginx header (%d bytes) starts %q; escapes seen: %v", len(s.raw[0]), s.raw[0][:60], escapes)

	// 2. No certificate, spoofed header: nginx drops the empty header.
	s, err = get(client(false), nginxHeader(p.other))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.raw) != 0 || s.chain != nil || !s.fromProxy || s.err != nil {
		t.Fatalf("without certificate: raw %q, (%v, %v, %v)", s.raw, s.chain, s.fromProxy, s.err)
	}

	// 3. Certificate and a spoofed header: nginx overwrites it.
	s, err = get(client(true), nginxHeader(p.other))
	if err != nil {
		t.Fatal(err)
	}
	if s.err != nil {
		t.Fatal(s.err)
	}
	sameChain(t, s.chain, []*x509.Certificate{p.leaf})
}

// ---- fuzzing ---------------------------------------------------------------

// FuzzFromRequest feeds arbitrary header values to every format (selected by
// which%8: format which%4, EnvoyAppendForward when which&4) from a trusted
// peer. It checks that nothing panics, that errors are *HeaderError wrapping
// one sentinel, that results respect MaxChain and that headers are stripped.
func FuzzFromRequest(f *testing.F) {
	p := getPKI(f)
	chainPEM := envoyElement("spiffe://x", p.chain(), true, true)
	f.Add(uint8(0), nginxHeader(p.leaf), "")
	f.Add(uint8(0), "%2D%2D%2D", "")
	f.Add(uint8(1), chainPEM, "")
	f.Add(uint8(5), `By=a;Subject="x\";,=";URI=`, chainPEM)
	f.Add(uint8(1), `Cert="`, "")
	f.Add(uint8(2), traefikHeader(p.chain()), "")
	f.Add(uint8(2), "QUJD,", "")
	f.Add(uint8(3), sfBytes(p.leaf), rfc9440Chain([]*x509.Certificate{p.inter, p.root}))
	f.Add(uint8(3), sfBytes(p.leaf)+`;a=1.5;b="\\";c=?1`, "(:AA==:)")
	f.Add(uint8(3), ":QQ:", ":QUI:, :QUJD:;x=-12")

	type fx struct {
		e      *Extractor
		header string
	}
	var exs []fx
	for i := 0; i < 8; i++ {
		c := Config{Format: allFormats()[i%4], TrustedProxies: []netip.Prefix{proxyPrefix}, MaxChain: 4}
		if i&4 != 0 && c.Format == FormatEnvoy {
			c.EnvoyAppendForward = true
		}
		e, err := New(c)
		if err != nil {
			f.Fatal(err)
		}
		exs = append(exs, fx{e, e.Header()})
	}
	f.Fuzz(func(t *testing.T, which uint8, v1, v2 string) {
		x := exs[int(which)%8]
		r := &http.Request{RemoteAddr: proxyAddr, Header: http.Header{}}
		r.Header[x.header] = []string{v1}
		if v2 != "" {
			switch x.e.Format() {
			case FormatRFC9440:
				r.Header[HeaderRFC9440Chain] = []string{v2}
			case FormatEnvoy:
				r.Header[x.header] = append(r.Header[x.header], v2)
			}
		}
		chain, fromProxy, err := x.e.FromRequest(r)
		if !fromProxy {
			t.Fatal("trusted peer reported as untrusted")
		}
		if len(r.Header) != 0 {
			t.Fatalf("headers left: %v", r.Header)
		}
		if err != nil {
			var he *HeaderError
			if chain != nil || !errors.As(err, &he) {
				t.Fatalf("error %v with %d certs", err, len(chain))
			}
			n := 0
			for _, s := range []error{ErrMalformed, ErrTooLarge, ErrTooManyCerts} {
				if errors.Is(err, s) {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("error %v wraps %d sentinels", err, n)
			}
			return
		}
		if len(chain) > 4 {
			t.Fatalf("%d certificates > MaxChain", len(chain))
		}
		for _, c := range chain {
			if c == nil {
				t.Fatal("nil certificate")
			}
		}
	})
}
