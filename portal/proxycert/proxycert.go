// Package proxycert reads the TLS client certificate that a TLS-terminating
// reverse proxy forwards in a request header, for the portal listener when it
// runs behind such a proxy.
//
// # Trust model
//
// A client-certificate header is only meaningful when the proxy wrote it. The
// Extractor therefore accepts the header only from a TCP peer (r.RemoteAddr,
// never X-Forwarded-For) inside Config.TrustedProxies. From any other peer
// every known client-certificate header is removed from the request and
// ignored. From a trusted proxy the configured header is parsed and then every
// known client-certificate header is removed as well, so that handlers never
// see any of them. A malformed header is an error: the caller must refuse the
// request, never fall back to anything else.
//
// The Extractor only decodes what the proxy forwarded. It does not verify the
// chain: the caller must run the same verification (trust anchors, key usage,
// revocation) as for a certificate received over a direct TLS connection.
// The application's plain-HTTP listener should be reachable by the proxy only
// (loopback or a private interface).
//
// # Formats
//
// FormatNginx ("nginx"): the header holds nginx's $ssl_client_escaped_cert,
// i.e. the leaf certificate in PEM, escaped by ngx_escape_uri with
// NGX_ESCAPE_URI_COMPONENT: every byte except ALPHA, DIGIT, "-", ".", "_" and
// "~" becomes %XX (upper-case hex), so the PEM's space, newline, "+", "/" and
// "=" arrive as %20, %0A, %2B, %2F and %3D. nginx forwards the leaf only. The
// header name must match the nginx configuration; with the default name that
// is
//
//	proxy_set_header X-SSL-Client-Cert $ssl_client_escaped_cert;
//
// in every location that proxies to the portal. nginx drops a header whose
// value is empty, so a request without a client certificate arrives without
// the header, and a spoofed header sent by the client is overwritten or
// dropped. Parsing rules: a single field line; only the characters
// [A-Za-z0-9-._~%] (anything else means the value was not produced by
// $ssl_client_escaped_cert, e.g. "+" from query-style escaping); percent-
// decoding with url.PathUnescape semantics (never QueryUnescape, which would
// turn "+" into a space); the result must be exactly one PEM "CERTIFICATE"
// block without PEM headers, with nothing but whitespace around it.
//
// FormatEnvoy ("envoy"): x-forwarded-client-cert (XFCC) as written by Envoy's
// forward_client_cert_details / set_current_client_cert_details. The value
// is a comma-separated list of elements, each a semicolon-separated list of
// key=value pairs; keys are case-insensitive; a value may be double-quoted,
// and inside quotes a backslash escapes the next character (Envoy documents
// \" for a quote), so ";", "," and "=" inside quotes are data. Envoy writes
// Cert="…" (URL-encoded PEM of the leaf) and Chain="…" (URL-encoded PEM of
// the whole chain, leaf first). Parsing rules: the whole header is tokenised
// (an unterminated quote, a quote inside an unquoted value, characters after
// a closing quote, a pair without "=", an empty key or an empty element is an
// error); the element describing the client is the LAST one, the one appended
// by the proxy nearest to the portal (Envoy appends its element after the
// existing ones with APPEND_FORWARD and replaces the header with
// SANITIZE_SET). By default exactly one element is accepted, which is what
// SANITIZE_SET produces: Envoy writes the URI and DNS values of the client's
// own certificate unquoted and unescaped, so a certificate whose SAN contains
// ",Cert=…" can forge an extra element; with SANITIZE_SET that shows up as a
// second element and is refused. Set Config.EnvoyAppendForward to accept
// several elements (APPEND_FORWARD) and use the last one. In the chosen
// element: Cert and Chain may each appear at most once; their values may only
// contain [A-Za-z0-9-._~*%+/=] and are decoded with url.PathUnescape, then as
// one (Cert) or several (Chain) PEM CERTIFICATE blocks. When both are
// present, the first certificate of Chain must be the Cert certificate; the
// result is Chain, else [Cert]. An element with neither is an error (Envoy
// must be configured with set_current_client_cert_details cert: true and/or
// chain: true). When a Hash key is present it must be the hex SHA-256 of the
// leaf's DER. By, Subject, URI, DNS and unknown keys are ignored. Several
// field lines are joined with "," before parsing (HTTP list semantics).
// Recommended Envoy settings: forward_client_cert_details: SANITIZE_SET,
// set_current_client_cert_details: {cert: true, chain: true}.
//
// FormatTraefik ("traefik"): X-Forwarded-Tls-Client-Cert as written by
// Traefik v2/v3's passTLSClientCert middleware with pem: true: each
// certificate's PEM with the BEGIN/END lines and newlines removed, i.e.
// standard padded base64 of the DER, joined with "," in the order the client
// sent them (leaf first); the value may hold only the leaf or the leaf and its
// chain. Parsing rules: a single field line; only base64 characters and ","
// (optional spaces or tabs around each element); no empty element; each
// element decoded with strict, padded standard base64 (Traefik v1's
// URL-escaped form is rejected). Traefik sets the header only when the client
// presented a certificate and does not remove a client-sent one otherwise:
// strip it in a preceding middleware for requests without a certificate.
//
// FormatRFC9440 ("rfc9440"): RFC 9440 Client-Cert and Client-Cert-Chain
// (RFC 8941 structured fields). Client-Cert is an Item: a Byte Sequence
// ":base64(DER):" followed by optional parameters, which are parsed per RFC
// 8941 and ignored; it must be a single field line. Client-Cert-Chain is a
// List of Byte Sequence Items (parameters allowed and ignored; inner lists
// and other item types are errors), the certificates after the leaf; several
// field lines are joined with ",". The byte sequence must have both colons and
// only base64 characters; missing "=" padding is accepted, as RFC 8941
// recommends. Client-Cert-Chain without Client-Cert is an error. The result is
// the leaf followed by the chain.
//
// All formats: each header's total size (all its field lines) is limited by
// Config.MaxHeaderBytes and the number of certificates by Config.MaxChain,
// both checked before any certificate is parsed; every certificate must be a
// DER X.509 certificate with no trailing data.
package proxycert

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// Format names a proxy's convention for forwarding the client certificate.
type Format string

// The supported formats.
const (
	FormatNginx   Format = "nginx"
	FormatEnvoy   Format = "envoy"
	FormatTraefik Format = "traefik"
	FormatRFC9440 Format = "rfc9440"
)

// Default header names per format.
const (
	// HeaderNginx must match the name in the nginx configuration:
	// proxy_set_header X-SSL-Client-Cert $ssl_client_escaped_cert;
	HeaderNginx = "X-Ssl-Client-Cert"
	// HeaderEnvoy is Envoy's x-forwarded-client-cert.
	HeaderEnvoy = "X-Forwarded-Client-Cert"
	// HeaderTraefik is set by Traefik's passTLSClientCert middleware.
	HeaderTraefik = "X-Forwarded-Tls-Client-Cert"
	// HeaderRFC9440 and HeaderRFC9440Chain are defined by RFC 9440.
	HeaderRFC9440      = "Client-Cert"
	HeaderRFC9440Chain = "Client-Cert-Chain"
)

// Defaults for the limits.
const (
	DefaultMaxHeaderBytes = 32 << 10
	DefaultMaxChain       = 8
)

// knownHeaders lists the client-certificate headers of the supported formats
// and of common proxy conventions (HAProxy, Caddy, nginx companions). All of
// them are removed from every request, trusted or not, so that no handler
// can be fooled by one.
var knownHeaders = []string{
	HeaderNginx,
	"X-Ssl-Client-Cert-Chain",
	"X-Ssl-Client-Verify",
	"X-Ssl-Client-Dn",
	"X-Ssl-Client-S-Dn",
	"X-Ssl-Client-I-Dn",
	"X-Ssl-Client-Escaped-Cert",
	HeaderEnvoy,
	HeaderTraefik,
	"X-Forwarded-Tls-Client-Cert-Info",
	HeaderRFC9440,
	HeaderRFC9440Chain,
	"X-Client-Cert",
	"X-Client-Verify",
}

// KnownHeaders returns the header names that StripAll removes.
func KnownHeaders() []string {
	return append([]string(nil), knownHeaders...)
}

// Errors returned by FromRequest wrap exactly one of these (test with
// errors.Is); the concrete type is *HeaderError.
var (
	// ErrMalformed: the header is not what the configured proxy produces.
	ErrMalformed = errors.New("malformed client certificate header")
	// ErrTooLarge: the header is longer than Config.MaxHeaderBytes.
	ErrTooLarge = errors.New("client certificate header too large")
	// ErrTooManyCerts: more than Config.MaxChain certificates.
	ErrTooManyCerts = errors.New("too many certificates in client certificate header")
)

// HeaderError describes why a client-certificate header from a trusted proxy
// was refused. Its message never contains the header's value.
type HeaderError struct {
	Format Format
	Header string
	Reason string
	Err    error // ErrMalformed, ErrTooLarge or ErrTooManyCerts
}

func (e *HeaderError) Error() string {
	return fmt.Sprintf("proxycert: %s header %s: %v: %s", e.Format, e.Header, e.Err, e.Reason)
}

func (e *HeaderError) Unwrap() error { return e.Err }

// Config configures an Extractor.
type Config struct {
	// Format of the header: "nginx", "envoy", "traefik" or "rfc9440".
	Format Format
	// Header optionally overrides the header name. Defaults: nginx
	// "X-SSL-Client-Cert" (it must match the nginx configuration
	// `proxy_set_header X-SSL-Client-Cert $ssl_client_escaped_cert;`),
	// envoy "X-Forwarded-Client-Cert", traefik "X-Forwarded-Tls-Client-Cert",
	// rfc9440 "Client-Cert".
	Header string
	// ChainHeader optionally overrides the rfc9440 chain header name
	// (default "Client-Cert-Chain"). Only valid with rfc9440.
	ChainHeader string
	// TrustedProxies: only requests whose TCP peer (r.RemoteAddr) is inside
	// one of these prefixes may carry the header. IPv4-mapped IPv6 peers and
	// prefixes are matched as IPv4. Required; a /0 prefix is refused.
	TrustedProxies []netip.Prefix
	// MaxHeaderBytes limits each header's value (all its field lines
	// together); 0 means DefaultMaxHeaderBytes (32 KiB).
	MaxHeaderBytes int
	// MaxChain limits the number of certificates; 0 means DefaultMaxChain (8).
	MaxChain int
	// EnvoyAppendForward accepts several XFCC elements (Envoy's
	// APPEND_FORWARD) and uses the last one. By default exactly one element
	// (SANITIZE_SET) is accepted. Only valid with envoy.
	EnvoyAppendForward bool
}

// Extractor reads client certificates from proxy headers. It is immutable
// and safe for concurrent use.
type Extractor struct {
	format      Format
	header      string // canonical
	chainHeader string // canonical, rfc9440 only
	trusted     []netip.Prefix
	maxBytes    int
	maxChain    int
	appendXFCC  bool
	stripNames  map[string]struct{} // normalised names
}

var defaultHeader = map[Format]string{
	FormatNginx:   HeaderNginx,
	FormatEnvoy:   HeaderEnvoy,
	FormatTraefik: HeaderTraefik,
	FormatRFC9440: HeaderRFC9440,
}

// New validates c and precomputes everything FromRequest needs.
func New(c Config) (*Extractor, error) {
	f := Format(strings.ToLower(strings.TrimSpace(string(c.Format))))
	def, ok := defaultHeader[f]
	if !ok {
		return nil, fmt.Errorf("proxycert: unknown format %q (want nginx, envoy, traefik or rfc9440)", c.Format)
	}
	e := &Extractor{format: f, appendXFCC: c.EnvoyAppendForward}

	e.header = def
	if c.Header != "" {
		if !validHeaderName(c.Header) {
			return nil, fmt.Errorf("proxycert: invalid header name %q", c.Header)
		}
		e.header = http.CanonicalHeaderKey(c.Header)
	}
	if c.ChainHeader != "" && f != FormatRFC9440 {
		return nil, fmt.Errorf("proxycert: ChainHeader is only used with format rfc9440")
	}
	if c.EnvoyAppendForward && f != FormatEnvoy {
		return nil, fmt.Errorf("proxycert: EnvoyAppendForward is only used with format envoy")
	}
	if f == FormatRFC9440 {
		e.chainHeader = HeaderRFC9440Chain
		if c.ChainHeader != "" {
			if !validHeaderName(c.ChainHeader) {
				return nil, fmt.Errorf("proxycert: invalid chain header name %q", c.ChainHeader)
			}
			e.chainHeader = http.CanonicalHeaderKey(c.ChainHeader)
		}
		if strings.EqualFold(e.header, e.chainHeader) {
			return nil, fmt.Errorf("proxycert: Header and ChainHeader must differ")
		}
	}

	if len(c.TrustedProxies) == 0 {
		return nil, fmt.Errorf("proxycert: no trusted proxy addresses configured")
	}
	for _, p := range c.TrustedProxies {
		if !p.IsValid() {
			return nil, fmt.Errorf("proxycert: invalid trusted proxy prefix %v", p)
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		if p.Bits() == 0 {
			return nil, fmt.Errorf("proxycert: trusted proxy prefix %v would trust every peer", p)
		}
		e.trusted = append(e.trusted, p.Masked())
	}

	switch {
	case c.MaxHeaderBytes < 0:
		return nil, fmt.Errorf("proxycert: negative MaxHeaderBytes")
	case c.MaxHeaderBytes == 0:
		e.maxBytes = DefaultMaxHeaderBytes
	default:
		e.maxBytes = c.MaxHeaderBytes
	}
	switch {
	case c.MaxChain < 0:
		return nil, fmt.Errorf("proxycert: negative MaxChain")
	case c.MaxChain == 0:
		e.maxChain = DefaultMaxChain
	default:
		e.maxChain = c.MaxChain
	}

	e.stripNames = make(map[string]struct{}, len(knownHeaders)+2)
	for _, n := range knownHeaders {
		e.stripNames[normName(n)] = struct{}{}
	}
	for _, n := range []string{e.header, e.chainHeader} {
		if n != "" {
			e.stripNames[normName(n)] = struct{}{}
		}
	}
	return e, nil
}

// Format returns the extractor's format.
func (e *Extractor) Format() Format { return e.format }

// Header returns the (canonical) header name the extractor reads.
func (e *Extractor) Header() string { return e.header }

// Trusted reports whether remoteAddr (as in http.Request.RemoteAddr, "ip:port"
// or a bare IP) is inside one of the trusted proxy prefixes.
func (e *Extractor) Trusted(remoteAddr string) bool {
	var addr netip.Addr
	if ap, err := netip.ParseAddrPort(remoteAddr); err == nil {
		addr = ap.Addr()
	} else if a, err := netip.ParseAddr(remoteAddr); err == nil {
		addr = a
	} else {
		return false
	}
	addr = addr.WithZone("").Unmap()
	for _, p := range e.trusted {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// FromRequest returns the presented chain (leaf first) for a request.
//
// From an untrusted peer the client-certificate headers (those of every
// format, plus the configured names) are removed from r.Header and
// (nil, false, nil) is returned: a spoofed header is ignored and stripped.
//
// From a trusted proxy the configured header is parsed: absent or empty gives
// (nil, true, nil) (the proxy saw no certificate); malformed, too large or
// with too many certificates gives (nil, true, err) with err a *HeaderError,
// and the caller must refuse the request. In every case the headers are
// removed from r.Header before FromRequest returns.
//
// The chain is only decoded, not verified.
func (e *Extractor) FromRequest(r *http.Request) (chain []*x509.Certificate, fromProxy bool, err error) {
	if r == nil {
		return nil, false, errors.New("proxycert: nil request")
	}
	if !e.Trusted(r.RemoteAddr) {
		e.strip(r.Header)
		return nil, false, nil
	}
	defer e.strip(r.Header)

	ders, err := e.extract(r.Header)
	if err != nil {
		return nil, true, err
	}
	if len(ders) == 0 {
		return nil, true, nil
	}
	chain = make([]*x509.Certificate, 0, len(ders))
	for i, der := range ders {
		c, perr := x509.ParseCertificate(der)
		if perr != nil {
			h := e.header
			if e.format == FormatRFC9440 && i > 0 {
				h = e.chainHeader // RFC 9440 carries the chain separately
			}
			return nil, true, e.errf(h, ErrMalformed, "certificate %d: %v", i, perr)
		}
		chain = append(chain, c)
	}
	return chain, true, nil
}

// extract returns the DER certificates (leaf first) of the configured header,
// or none when it is absent or empty.
func (e *Extractor) extract(h http.Header) ([][]byte, error) {
	switch e.format {
	case FormatNginx:
		v, present, err := e.single(h, e.header)
		if err != nil || !present {
			return nil, err
		}
		return e.parseNginx(v)
	case FormatEnvoy:
		v, present, err := e.list(h, e.header)
		if err != nil || !present {
			return nil, err
		}
		return e.parseEnvoy(v)
	case FormatTraefik:
		v, present, err := e.single(h, e.header)
		if err != nil || !present {
			return nil, err
		}
		return e.parseTraefik(v)
	case FormatRFC9440:
		leaf, present, err := e.single(h, e.header)
		if err != nil {
			return nil, err
		}
		chain, chainPresent, err := e.list(h, e.chainHeader)
		if err != nil {
			return nil, err
		}
		if !present {
			if chainPresent {
				return nil, e.errf(e.chainHeader, ErrMalformed, "chain header without %s header", e.header)
			}
			return nil, nil
		}
		return e.parseRFC9440(leaf, chain, chainPresent)
	}
	return nil, fmt.Errorf("proxycert: unknown format %q", e.format)
}

// lines returns the field lines of header name (matched case-insensitively,
// so non-canonical map keys are seen too) and their total size.
func (e *Extractor) lines(h http.Header, name string) ([]string, error) {
	var vals []string
	keys := 0
	for k, vs := range h {
		if strings.EqualFold(k, name) {
			keys++
			vals = append(vals, vs...)
		}
	}
	if keys > 1 {
		return nil, e.errf(name, ErrMalformed, "header present under several spellings")
	}
	total := 0
	for _, v := range vals {
		total += len(v)
		if total > e.maxBytes {
			return nil, e.errf(name, ErrTooLarge, "longer than %d bytes", e.maxBytes)
		}
	}
	return vals, nil
}

// single returns the value of a header that must have at most one field line.
// present is false when the header is absent or its value is empty.
func (e *Extractor) single(h http.Header, name string) (v string, present bool, err error) {
	vals, err := e.lines(h, name)
	if err != nil {
		return "", false, err
	}
	switch len(vals) {
	case 0:
		return "", false, nil
	case 1:
		v = trimOWS(vals[0])
		return v, v != "", nil
	default:
		return "", false, e.errf(name, ErrMalformed, "%d field lines, want one", len(vals))
	}
}

// list returns the field lines of a list-valued header joined with ",".
func (e *Extractor) list(h http.Header, name string) (v string, present bool, err error) {
	vals, err := e.lines(h, name)
	if err != nil {
		return "", false, err
	}
	if len(vals) == 0 {
		return "", false, nil
	}
	if len(vals) == 1 {
		v = trimOWS(vals[0])
		return v, v != "", nil
	}
	// RFC 9110 §5.3: several field lines form one comma-separated list;
	// empty lines contribute nothing.
	nonEmpty := vals[:0:0]
	for _, x := range vals {
		if x = trimOWS(x); x != "" {
			nonEmpty = append(nonEmpty, x)
		}
	}
	v = strings.Join(nonEmpty, ",")
	return v, v != "", nil
}

func (e *Extractor) errf(header string, kind error, format string, args ...any) error {
	return &HeaderError{Format: e.format, Header: header, Reason: fmt.Sprintf(format, args...), Err: kind}
}

func (e *Extractor) strip(h http.Header) {
	stripNames(h, e.stripNames)
}

var knownNorm = func() map[string]struct{} {
	m := make(map[string]struct{}, len(knownHeaders))
	for _, n := range knownHeaders {
		m[normName(n)] = struct{}{}
	}
	return m
}()

// StripAll removes every known client-certificate header (see KnownHeaders),
// whatever its spelling (case, "_" for "-"). Use it when proxy mode is off.
func StripAll(h http.Header) {
	stripNames(h, knownNorm)
}

func stripNames(h http.Header, names map[string]struct{}) {
	for k := range h {
		if _, ok := names[normName(k)]; ok {
			delete(h, k)
		}
	}
}

// normName folds case and maps "_" to "-", so that "X_SSL_Client_Cert" is
// removed along with "X-SSL-Client-Cert" (some gateways treat them alike).
func normName(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case c >= 'A' && c <= 'Z':
			b[i] = c + 'a' - 'A'
		case c == '_':
			b[i] = '-'
		}
	}
	return string(b)
}

func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTchar(s[i]) {
			return false
		}
	}
	return true
}

// isTchar reports whether c is an RFC 9110 token character.
func isTchar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

func trimOWS(s string) string {
	return strings.Trim(s, " \t")
}
