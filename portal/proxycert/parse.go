package proxycert

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"net/url"
	"strconv"
	"strings"
)

// ---- nginx -----------------------------------------------------------------

// nginxChars are the bytes ngx_escape_uri(NGX_ESCAPE_URI_COMPONENT) leaves
// unescaped (ALPHA, DIGIT, "-", ".", "_", "~") plus "%" of its escapes.
func isNginxChar(c byte) bool {
	return isAlnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '%'
}

func (e *Extractor) parseNginx(v string) ([][]byte, error) {
	for i := 0; i < len(v); i++ {
		if !isNginxChar(v[i]) {
			return nil, e.errf(e.header, ErrMalformed,
				"character %q at offset %d is never produced by $ssl_client_escaped_cert (wrong escaping or wrong variable)", v[i], i)
		}
	}
	pemText, err := url.PathUnescape(v)
	if err != nil {
		return nil, e.errf(e.header, ErrMalformed, "bad percent-escaping: %v", err)
	}
	ders, err := e.splitPEM(e.header, pemText)
	if err != nil {
		return nil, err
	}
	if len(ders) != 1 {
		return nil, e.errf(e.header, ErrMalformed, "%d PEM certificates, nginx forwards exactly one (the leaf)", len(ders))
	}
	return ders, nil
}

// ---- PEM -------------------------------------------------------------------

const (
	pemBegin = "-----BEGIN CERTIFICATE-----"
	pemEnd   = "-----END CERTIFICATE-----"
)

// splitPEM strictly decodes a sequence of PEM CERTIFICATE blocks separated
// only by whitespace. Anything else (junk before, between or after blocks,
// other block types, PEM headers, bad base64) is an error. More than
// e.maxChain blocks is ErrTooManyCerts, detected before decoding the excess.
func (e *Extractor) splitPEM(header, s string) ([][]byte, error) {
	var ders [][]byte
	rest := s
	for {
		rest = strings.TrimLeft(rest, " \t\r\n")
		if rest == "" {
			break
		}
		if !strings.HasPrefix(rest, pemBegin) {
			if strings.HasPrefix(rest, "-----BEGIN ") {
				return nil, e.errf(header, ErrMalformed, "PEM block %d is not a CERTIFICATE", len(ders))
			}
			if len(ders) == 0 {
				return nil, e.errf(header, ErrMalformed, "not a PEM certificate")
			}
			return nil, e.errf(header, ErrMalformed, "unexpected data after PEM certificate %d", len(ders)-1)
		}
		end := strings.Index(rest, pemEnd)
		if end < 0 {
			return nil, e.errf(header, ErrMalformed, "PEM block %d has no END line", len(ders))
		}
		blockText := rest[:end+len(pemEnd)]
		if strings.Count(blockText, "-----BEGIN ") != 1 {
			return nil, e.errf(header, ErrMalformed, "PEM block %d is nested or unterminated", len(ders))
		}
		if len(ders) == e.maxChain {
			return nil, e.errf(header, ErrTooManyCerts, "more than %d certificates", e.maxChain)
		}
		block, tail := pem.Decode([]byte(blockText))
		if block == nil || strings.TrimSpace(string(tail)) != "" || block.Type != "CERTIFICATE" {
			return nil, e.errf(header, ErrMalformed, "PEM block %d is invalid (bad base64 or framing)", len(ders))
		}
		if len(block.Headers) != 0 {
			return nil, e.errf(header, ErrMalformed, "PEM block %d has PEM headers", len(ders))
		}
		ders = append(ders, block.Bytes)
		rest = rest[end+len(pemEnd):]
	}
	return ders, nil
}

// ---- Envoy XFCC ------------------------------------------------------------

type xfccPair struct{ key, val string }

// parseXFCC tokenises an x-forwarded-client-cert value into elements of
// key/value pairs. It returns a reason string on a syntax error.
func parseXFCC(s string) ([][]xfccPair, string) {
	var (
		elems [][]xfccPair
		cur   []xfccPair
		i     int
		n     = len(s)
	)
	for {
		i = skipOWS(s, i)
		start := i
		for i < n && s[i] != '=' && s[i] != ';' && s[i] != ',' {
			i++
		}
		key := trimOWS(s[start:i])
		if i >= n || s[i] != '=' {
			switch {
			case key != "":
				return nil, "field without '=' in element " + itoa(len(elems))
			case len(cur) == 0:
				return nil, "empty element " + itoa(len(elems))
			default:
				return nil, "empty field in element " + itoa(len(elems))
			}
		}
		if key == "" {
			return nil, "empty key in element " + itoa(len(elems))
		}
		if !validHeaderName(key) {
			return nil, "invalid key in element " + itoa(len(elems))
		}
		i = skipOWS(s, i+1)
		var val string
		if i < n && s[i] == '"' {
			i++
			var b strings.Builder
			closed := false
			for i < n {
				c := s[i]
				if c == '\\' {
					if i+1 >= n {
						break
					}
					b.WriteByte(s[i+1])
					i += 2
					continue
				}
				i++
				if c == '"' {
					closed = true
					break
				}
				b.WriteByte(c)
			}
			if !closed {
				return nil, "unterminated quoted value in element " + itoa(len(elems))
			}
			val = b.String()
			i = skipOWS(s, i)
			if i < n && s[i] != ';' && s[i] != ',' {
				return nil, "characters after a closing quote in element " + itoa(len(elems))
			}
		} else {
			start := i
			for i < n && s[i] != ';' && s[i] != ',' {
				if s[i] == '"' {
					return nil, "quote inside an unquoted value in element " + itoa(len(elems))
				}
				i++
			}
			val = trimOWS(s[start:i])
		}
		cur = append(cur, xfccPair{key: key, val: val})
		if i >= n {
			return append(elems, cur), ""
		}
		if s[i] == ',' {
			elems = append(elems, cur)
			cur = nil
		}
		i++
	}
}

// isEnvoyCertChar: what Envoy's URL-encoding leaves unescaped (ALPHA, DIGIT,
// "*", "-", ".", "_"), plus "~" and the base64 characters "+", "/", "=" that
// older encoders leave raw, plus "%".
func isEnvoyCertChar(c byte) bool {
	return isAlnum(c) || strings.IndexByte("-._~*%+/=", c) >= 0
}

func (e *Extractor) envoyPEM(key, v string) ([][]byte, error) {
	for i := 0; i < len(v); i++ {
		if !isEnvoyCertChar(v[i]) {
			return nil, e.errf(e.header, ErrMalformed, "%s value: character %q at offset %d is not URL-encoded PEM", key, v[i], i)
		}
	}
	pemText, err := url.PathUnescape(v)
	if err != nil {
		return nil, e.errf(e.header, ErrMalformed, "%s value: bad percent-escaping: %v", key, err)
	}
	ders, err := e.splitPEM(e.header, pemText)
	if err != nil {
		if he, ok := err.(*HeaderError); ok {
			he.Reason = key + " value: " + he.Reason
		}
		return nil, err
	}
	if len(ders) == 0 {
		return nil, e.errf(e.header, ErrMalformed, "%s value is empty", key)
	}
	return ders, nil
}

func (e *Extractor) parseEnvoy(v string) ([][]byte, error) {
	elems, reason := parseXFCC(v)
	if reason != "" {
		return nil, e.errf(e.header, ErrMalformed, "%s", reason)
	}
	if len(elems) > 1 && !e.appendXFCC {
		return nil, e.errf(e.header, ErrMalformed,
			"%d elements; Envoy with SANITIZE_SET sends exactly one (set EnvoyAppendForward for APPEND_FORWARD)", len(elems))
	}
	// The element describing the portal's client is the last one: the one
	// appended by the proxy nearest to the portal.
	el := elems[len(elems)-1]
	var cert, chain, hash *string
	for i := range el {
		var dst **string
		switch strings.ToLower(el[i].key) {
		case "cert":
			dst = &cert
		case "chain":
			dst = &chain
		case "hash":
			dst = &hash
		default:
			continue
		}
		if *dst != nil {
			return nil, e.errf(e.header, ErrMalformed, "duplicate %s key in the last element", el[i].key)
		}
		*dst = &el[i].val
	}
	var ders [][]byte
	switch {
	case cert == nil && chain == nil:
		return nil, e.errf(e.header, ErrMalformed,
			"the last element has no Cert or Chain (configure Envoy set_current_client_cert_details cert: true, chain: true)")
	case chain != nil:
		var err error
		if ders, err = e.envoyPEM("Chain", *chain); err != nil {
			return nil, err
		}
		if cert != nil {
			leaf, err := e.envoyPEM("Cert", *cert)
			if err != nil {
				return nil, err
			}
			if len(leaf) != 1 {
				return nil, e.errf(e.header, ErrMalformed, "Cert holds %d certificates, want 1", len(leaf))
			}
			if string(leaf[0]) != string(ders[0]) {
				return nil, e.errf(e.header, ErrMalformed, "Cert differs from the first certificate of Chain")
			}
		}
	default:
		var err error
		if ders, err = e.envoyPEM("Cert", *cert); err != nil {
			return nil, err
		}
		if len(ders) != 1 {
			return nil, e.errf(e.header, ErrMalformed, "Cert holds %d certificates, want 1", len(ders))
		}
	}
	if hash != nil {
		sum := sha256.Sum256(ders[0])
		if !strings.EqualFold(*hash, hex.EncodeToString(sum[:])) {
			return nil, e.errf(e.header, ErrMalformed, "Hash is not the SHA-256 of the client certificate")
		}
	}
	return ders, nil
}

// ---- Traefik ---------------------------------------------------------------

func (e *Extractor) parseTraefik(v string) ([][]byte, error) {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if isBase64Char(c) || c == ',' || c == ' ' || c == '\t' {
			continue
		}
		switch {
		case strings.Contains(v, "-----BEGIN"):
			return nil, e.errf(e.header, ErrMalformed, "PEM armour present; Traefik sends bare base64 DER")
		case c == '%':
			return nil, e.errf(e.header, ErrMalformed, "URL-escaped value (Traefik v1 format is not supported)")
		default:
			return nil, e.errf(e.header, ErrMalformed, "character %q at offset %d is not base64", c, i)
		}
	}
	if n := strings.Count(v, ",") + 1; n > e.maxChain {
		return nil, e.errf(e.header, ErrTooManyCerts, "%d certificates, more than %d", n, e.maxChain)
	}
	parts := strings.Split(v, ",")
	ders := make([][]byte, 0, len(parts))
	for i, p := range parts {
		p = trimOWS(p)
		if p == "" {
			return nil, e.errf(e.header, ErrMalformed, "empty element %d", i)
		}
		if strings.ContainsAny(p, " \t") {
			return nil, e.errf(e.header, ErrMalformed, "whitespace inside element %d", i)
		}
		der, err := base64.StdEncoding.Strict().DecodeString(p)
		if err != nil {
			return nil, e.errf(e.header, ErrMalformed, "element %d: bad base64: %v", i, err)
		}
		ders = append(ders, der)
	}
	return ders, nil
}

// ---- RFC 9440 (RFC 8941 structured fields) ---------------------------------

func (e *Extractor) parseRFC9440(leafField, chainField string, chainPresent bool) ([][]byte, error) {
	p := sfParser{s: leafField}
	leaf, reason := p.item()
	if reason != "" {
		return nil, e.errf(e.header, ErrMalformed, "%s", reason)
	}
	ders := [][]byte{leaf}
	if !chainPresent {
		return ders, nil
	}
	p = sfParser{s: chainField}
	for {
		p.skipOWS()
		if p.eof() {
			if len(ders) == 1 {
				return nil, e.errf(e.chainHeader, ErrMalformed, "empty list")
			}
			return nil, e.errf(e.chainHeader, ErrMalformed, "trailing comma")
		}
		if len(ders) == e.maxChain {
			return nil, e.errf(e.chainHeader, ErrTooManyCerts, "more than %d certificates with the leaf", e.maxChain)
		}
		switch p.peek() {
		case '(':
			return nil, e.errf(e.chainHeader, ErrMalformed, "member %d is an inner list, want a byte sequence", len(ders)-1)
		case ':':
		default:
			return nil, e.errf(e.chainHeader, ErrMalformed, "member %d is not a byte sequence (missing ':')", len(ders)-1)
		}
		der, reason := p.byteSeq()
		if reason == "" {
			reason = p.params()
		}
		if reason != "" {
			return nil, e.errf(e.chainHeader, ErrMalformed, "member %d: %s", len(ders)-1, reason)
		}
		ders = append(ders, der)
		p.skipOWS()
		if p.eof() {
			return ders, nil
		}
		if p.peek() != ',' {
			return nil, e.errf(e.chainHeader, ErrMalformed, "unexpected character after member %d", len(ders)-2)
		}
		p.i++
	}
}

type sfParser struct {
	s string
	i int
}

func (p *sfParser) eof() bool  { return p.i >= len(p.s) }
func (p *sfParser) peek() byte { return p.s[p.i] }

func (p *sfParser) skipSP() {
	for !p.eof() && p.s[p.i] == ' ' {
		p.i++
	}
}

func (p *sfParser) skipOWS() {
	for !p.eof() && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

// item parses a whole field as an Item whose bare item is a Byte Sequence.
func (p *sfParser) item() ([]byte, string) {
	p.skipSP()
	if p.eof() || p.peek() != ':' {
		return nil, "not a byte sequence (missing ':')"
	}
	der, reason := p.byteSeq()
	if reason != "" {
		return nil, reason
	}
	if reason := p.params(); reason != "" {
		return nil, reason
	}
	p.skipSP()
	if !p.eof() {
		return nil, "unexpected characters after the item"
	}
	return der, ""
}

// byteSeq parses ":base64:" (RFC 8941 §4.2.7); p.s[p.i] is ':'.
func (p *sfParser) byteSeq() ([]byte, string) {
	p.i++
	start := p.i
	for !p.eof() && p.peek() != ':' {
		if !isBase64Char(p.peek()) {
			return nil, "invalid character in byte sequence"
		}
		p.i++
	}
	if p.eof() {
		return nil, "byte sequence without closing ':'"
	}
	b64 := p.s[start:p.i]
	p.i++
	enc := base64.StdEncoding
	if !strings.Contains(b64, "=") && len(b64)%4 != 0 {
		enc = base64.RawStdEncoding // RFC 8941: accept missing padding
	}
	der, err := enc.DecodeString(b64)
	if err != nil {
		return nil, "bad base64 in byte sequence"
	}
	return der, ""
}

// params parses and discards parameters (RFC 8941 §4.2.3.2).
func (p *sfParser) params() string {
	for !p.eof() && p.peek() == ';' {
		p.i++
		p.skipSP()
		if p.eof() || !(isLcalpha(p.peek()) || p.peek() == '*') {
			return "invalid parameter key"
		}
		for !p.eof() && (isLcalpha(p.peek()) || isDigit(p.peek()) || strings.IndexByte("_-.*", p.peek()) >= 0) {
			p.i++
		}
		if !p.eof() && p.peek() == '=' {
			p.i++
			if reason := p.bareItem(); reason != "" {
				return reason
			}
		}
	}
	return ""
}

// bareItem parses and discards a bare item (RFC 8941 §4.2.3.1).
func (p *sfParser) bareItem() string {
	if p.eof() {
		return "missing parameter value"
	}
	c := p.peek()
	switch {
	case c == '-' || isDigit(c):
		return p.number()
	case c == '"':
		return p.sfString()
	case isAlpha(c) || c == '*':
		for !p.eof() && (isTchar(p.peek()) || p.peek() == ':' || p.peek() == '/') {
			p.i++
		}
		return ""
	case c == ':':
		_, reason := p.byteSeq()
		return reason
	case c == '?':
		p.i++
		if p.eof() || (p.peek() != '0' && p.peek() != '1') {
			return "invalid boolean"
		}
		p.i++
		return ""
	}
	return "invalid parameter value"
}

func (p *sfParser) number() string {
	if p.peek() == '-' {
		p.i++
	}
	if p.eof() || !isDigit(p.peek()) {
		return "invalid number"
	}
	intDigits, fracDigits, decimal := 0, 0, false
scan:
	for !p.eof() {
		c := p.peek()
		switch {
		case isDigit(c):
			if decimal {
				fracDigits++
			} else {
				intDigits++
			}
		case c == '.' && !decimal:
			if intDigits > 12 {
				return "invalid number"
			}
			decimal = true
		default:
			break scan
		}
		p.i++
		if (!decimal && intDigits > 15) || fracDigits > 3 {
			return "invalid number"
		}
	}
	if decimal && fracDigits == 0 {
		return "invalid number"
	}
	return ""
}

func (p *sfParser) sfString() string {
	p.i++
	for !p.eof() {
		c := p.peek()
		p.i++
		switch {
		case c == '\\':
			if p.eof() || (p.peek() != '"' && p.peek() != '\\') {
				return "invalid escape in string"
			}
			p.i++
		case c == '"':
			return ""
		case c < 0x20 || c > 0x7e:
			return "invalid character in string"
		}
	}
	return "unterminated string"
}

// ---- helpers ---------------------------------------------------------------

func isAlpha(c byte) bool   { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isLcalpha(c byte) bool { return c >= 'a' && c <= 'z' }
func isDigit(c byte) bool   { return c >= '0' && c <= '9' }
func isAlnum(c byte) bool   { return isAlpha(c) || isDigit(c) }
func isBase64Char(c byte) bool {
	return isAlnum(c) || c == '+' || c == '/' || c == '='
}

func skipOWS(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}

func itoa(n int) string { return strconv.Itoa(n) }
