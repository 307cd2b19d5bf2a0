package config

import (
	"fmt"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// bucketName is what S3 accepts as a bucket name.
var bucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

// applyDefaults fills what the file left out with the embedded default.
func (c *Config) applyDefaults() {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	defDur := func(d *Duration, v time.Duration) {
		if d.Duration == 0 {
			d.Duration = v
		}
	}
	def(&c.Organisation, "Sceau")
	def(&c.Log.Format, "text")
	def(&c.Log.Level, "info")
	def(&c.Server.Admin.Listen, "127.0.0.1:9090")
	def(&c.Server.TLS.Source, "files")
	if c.Server.TLS.Source == "ca" && len(c.Server.TLS.Names) == 0 {
		c.Server.TLS.Names = []string{"localhost", "127.0.0.1", "::1"}
	}
	for i := range c.Trust.Domains {
		d := &c.Trust.Domains[i]
		defDur(&d.CRLRefresh, time.Hour)
		def(&d.Label, d.Name)
	}
	if c.CA.DefaultValidityDays == 0 {
		c.CA.DefaultValidityDays = 180
	}
	if c.CA.MaxValidityDays == 0 {
		c.CA.MaxValidityDays = 365
	}
	defInt := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	defInt(&c.Retrieval.LinkDays, 7)
	defInt(&c.Retrieval.MaxLinkDays, 30)
	defInt(&c.Retrieval.MaxDownloads, 3)
	defInt(&c.Retrieval.CodeAttempts, 5)
	defInt(&c.Retrieval.AddressAttempts, 20)
	defInt(&c.Retrieval.ExpiryWarningDays, 14)
	def(&c.Retrieval.KeyType, "ecdsa-p256")
	defDur(&c.Server.ReadHeaderTimeout, 10*time.Second)
	defDur(&c.Server.IdleTimeout, 120*time.Second)
	defDur(&c.Server.ShutdownTimeout, 30*time.Second)
	// Uploads of 2 GiB over slow links take long: no overall read or write
	// timeout by default, only per-header and idle ones.
	if c.Server.MaxBodyBytes == 0 {
		c.Server.MaxBodyBytes = 1 << 20
	}
	if c.Server.MaxUploadBytes == 0 {
		c.Server.MaxUploadBytes = 2 << 30
	}
	if c.Server.MaxHeaderBytes == 0 {
		c.Server.MaxHeaderBytes = 64 << 10
	}
	def(&c.Database.Driver, "sqlite")
	if c.Database.MaxOpenConns == 0 {
		c.Database.MaxOpenConns = 10
	}
	defDur(&c.Database.ConnectTimeout, 5*time.Second)
	def(&c.Storage.Backend, "local")
	def(&c.Mail.Transport, "sink")
	def(&c.Mail.FromName, "Sceau")
	defDur(&c.Mail.Interval, 5*time.Second)
	def(&c.Notifications.DigestTime, "07:00")
	def(&c.Mail.SMTP.Security, "starttls")
	defDur(&c.Mail.SMTP.Timeout, 30*time.Second)
	if c.Mail.SMTP.Port == 0 {
		switch c.Mail.SMTP.Security {
		case "tls":
			c.Mail.SMTP.Port = 465
		case "none":
			c.Mail.SMTP.Port = 25
		default:
			c.Mail.SMTP.Port = 587
		}
	}
	defer func() {
		if c.CA.CRLURL == "" && c.Server.Counter.PublicURL != "" {
			c.CA.CRLURL = strings.TrimSuffix(c.Server.Counter.PublicURL, "/") + "/ca/crl"
		}
	}()
	for _, l := range []*Listener{&c.Server.Portal, &c.Server.Counter} {
		if l.PublicURL == "" && l.Listen != "" {
			host := l.Host
			_, port, _ := net.SplitHostPort(l.Listen)
			if host == "" {
				host, _, _ = net.SplitHostPort(l.Listen)
				if host == "" || host == "0.0.0.0" || host == "::" {
					host = "localhost"
				}
			}
			if port == "443" {
				l.PublicURL = "https://" + host
			} else {
				l.PublicURL = "https://" + net.JoinHostPort(host, port)
			}
		}
	}
}

// SharedAddress reports whether the portal and the counter share one
// listening address and are told apart by host name.
func (s Server) SharedAddress() bool { return s.Portal.Listen == s.Counter.Listen }

// Validate returns one line per problem, each naming the setting.
func (c *Config) Validate() Problems {
	var p Problems
	bad := func(field, format string, args ...any) {
		p = append(p, field+": "+fmt.Sprintf(format, args...))
	}
	oneOf := func(field, v string, allowed ...string) {
		for _, a := range allowed {
			if v == a {
				return
			}
		}
		bad(field, "%q is not one of %s", v, strings.Join(allowed, ", "))
	}
	oneOf("log.format", c.Log.Format, "text", "json")
	oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error")

	c.validateListeners(bad)

	if px := c.Server.Proxy; px.Format != "" {
		oneOf("server.proxy.format", px.Format, "nginx", "envoy", "traefik", "rfc9440")
		if len(px.TrustedProxies) == 0 {
			bad("server.proxy.trusted_proxies", "is required with a proxy format: the addresses the proxy connects from")
		}
		for _, a := range px.TrustedProxies {
			if pfx, err := netip.ParsePrefix(a); err != nil {
				if _, err := netip.ParseAddr(a); err != nil {
					bad("server.proxy.trusted_proxies", "%q is neither an address nor a prefix such as 10.0.0.0/8", a)
				}
			} else if pfx.Bits() == 0 {
				bad("server.proxy.trusted_proxies", "%q would trust everyone", a)
			}
		}
	}
	oneOf("server.tls.source", c.Server.TLS.Source, "ca", "files")
	if c.Server.TLS.Source == "files" {
		if c.Server.TLS.CertFile == "" {
			bad("server.tls.cert_file", "is required with source \"files\"")
		}
		if c.Server.TLS.KeyFile == "" {
			bad("server.tls.key_file", "is required with source \"files\"")
		}
	}
	if c.Server.MaxBodyBytes < 0 {
		bad("server.max_body_bytes", "must be positive")
	}
	if c.Server.MaxUploadBytes < 0 {
		bad("server.max_upload_bytes", "must be positive")
	}

	oneOf("database.driver", c.Database.Driver, "sqlite", "postgres")
	switch c.Database.Driver {
	case "sqlite":
		if c.Database.Path == "" {
			bad("database.path", "is required with driver \"sqlite\"")
		}
	case "postgres":
		if !c.Database.URL.IsSet() && c.Database.URL.File == "" {
			bad("database.url_file", "is required with driver \"postgres\" (or set SCEAU_DATABASE_URL)")
		} else if c.Database.URL.IsSet() {
			u, err := url.Parse(c.Database.URL.Value())
			if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
				bad("database.url_file", "does not hold a postgres:// URL")
			}
		}
	}
	if c.Database.MaxOpenConns < 1 {
		bad("database.max_open_conns", "must be at least 1")
	}
	if c.Database.ConnectAttempts < 0 {
		bad("database.connect_attempts", "must be 0 (forever) or more")
	}

	oneOf("storage.backend", c.Storage.Backend, "local", "s3")
	switch c.Storage.Backend {
	case "local":
		if c.Storage.Path == "" {
			bad("storage.path", "is required with backend \"local\"")
		}
	case "s3":
		s3 := c.Storage.S3
		if s3.Bucket == "" {
			bad("storage.s3.bucket", "is required with backend \"s3\"")
		} else if !bucketName.MatchString(s3.Bucket) || strings.Contains(s3.Bucket, "..") {
			bad("storage.s3.bucket", "%q is not a bucket name (3 to 63 lowercase letters, digits, dots and hyphens)", s3.Bucket)
		}
		u, err := url.Parse(s3.Endpoint)
		switch {
		case s3.Endpoint == "" || err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
			bad("storage.s3.endpoint", "must be a URL such as https://s3.example.fr (https: TLS on; http: TLS off, trusted network only)")
		case (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil:
			bad("storage.s3.endpoint", "must hold only a scheme, a host and a port (the bucket is storage.s3.bucket)")
		case s3.CAFile != "" && u.Scheme != "https":
			bad("storage.s3.ca_file", "is only used with an https endpoint")
		}
		if s3.CAFile != "" {
			if _, err := os.Stat(s3.CAFile); err != nil {
				bad("storage.s3.ca_file", "cannot read %s: %v", s3.CAFile, unwrapPathError(err))
			}
		}
		if c.Storage.S3.AccessKeyID == "" {
			bad("storage.s3.access_key_id", "is required with backend \"s3\"")
		}
		if !c.Storage.S3.SecretAccessKey.IsSet() {
			bad("storage.s3.secret_access_key_file", "is required with backend \"s3\"")
		}
	}

	c.validateMail(bad, oneOf)

	if c.CA.Dir == "" {
		bad("ca.dir", "is required")
	}
	if (c.CA.PKCS11URI == "") != (c.CA.PKCS11Key == "") {
		bad("ca.pkcs11_key", "pkcs11_uri and pkcs11_key go together")
	}
	if c.CA.PKCS11URI != "" && !strings.HasPrefix(c.CA.PKCS11URI, "pkcs11:") {
		bad("ca.pkcs11_uri", "must start with pkcs11:")
	}
	if c.CA.PKCS11Key != "" && !strings.HasPrefix(c.CA.PKCS11Key, "pkcs11:") {
		bad("ca.pkcs11_key", "must start with pkcs11: (e.g. pkcs11:id=01;object=sceau-intermediate)")
	}
	if c.CA.DefaultValidityDays < 1 || c.CA.MaxValidityDays < 1 {
		bad("ca.default_validity_days", "validity must be at least one day")
	} else if c.CA.DefaultValidityDays > c.CA.MaxValidityDays {
		bad("ca.default_validity_days", "%d exceeds ca.max_validity_days (%d)", c.CA.DefaultValidityDays, c.CA.MaxValidityDays)
	}
	r := c.Retrieval
	if r.LinkDays < 1 || r.MaxLinkDays < 1 || r.LinkDays > r.MaxLinkDays {
		bad("retrieval.link_days", "must be between 1 and retrieval.max_link_days (%d)", r.MaxLinkDays)
	}
	if r.MaxDownloads < 1 || r.MaxDownloads > 20 {
		bad("retrieval.max_downloads", "must be between 1 and 20")
	}
	if r.CodeAttempts < 1 || r.CodeAttempts > 20 {
		bad("retrieval.code_attempts", "must be between 1 and 20")
	}
	if r.AddressAttempts < 1 {
		bad("retrieval.address_attempts", "must be at least 1")
	}
	if r.ExpiryWarningDays < 1 {
		bad("retrieval.expiry_warning_days", "must be at least 1")
	}
	switch r.KeyType {
	case "ecdsa-p256", "rsa-2048", "rsa-3072":
	default:
		bad("retrieval.key_type", "%q: ecdsa-p256, rsa-2048 or rsa-3072", r.KeyType)
	}
	switch r.SMS {
	case "":
	case "log":
		if !c.Server.Development {
			bad("retrieval.sms", "\"log\" writes collection codes to the log: development only (server.development = true)")
		}
	default:
		bad("retrieval.sms", "%q: empty (off) or \"log\" (development); no SMS provider is built in", r.SMS)
	}
	if u, err := url.Parse(c.CA.CRLURL); c.CA.CRLURL != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
		bad("ca.crl_url", "%q must be an http(s):// URL", c.CA.CRLURL)
	}
	for _, oid := range c.CA.PolicyOIDs {
		if !validOID(oid) {
			bad("ca.policy_oids", "%q is not a dotted OID such as 1.2.250.1.xxx", oid)
		}
	}

	seen := map[string]bool{}
	for i, d := range c.Trust.Domains {
		field := fmt.Sprintf("trust.domain[%d]", i)
		if d.Name == "" {
			bad(field+".name", "is required")
		} else if seen[d.Name] {
			bad(field+".name", "%q is defined twice", d.Name)
		}
		seen[d.Name] = true
		if len(d.CAFiles) == 0 {
			bad(field+".ca_files", "lists no CA certificate")
		}
		if d.Name == "internal" {
			bad(field+".name", "\"internal\" is Sceau's own CA and is always trusted: choose another name")
		}
		for _, f := range d.CAFiles {
			if _, err := os.Stat(f); err != nil {
				bad(field+".ca_files", "cannot read %s: %v", f, unwrapPathError(err))
			}
		}
		if len(d.Roles) == 0 {
			bad(field+".roles", "lists no role (one or more of %s)", strings.Join(KnownRoles, ", "))
		}
		for _, r := range d.Roles {
			if !contains(KnownRoles, r) {
				bad(field+".roles", "%q is not a role (use %s)", r, strings.Join(KnownRoles, ", "))
			}
		}
		for _, oid := range d.PolicyOIDs {
			if !validOID(oid) {
				bad(field+".policy_oids", "%q is not a dotted OID", oid)
			}
		}
		for _, crl := range d.CRLs {
			if strings.HasPrefix(crl, "http://") || strings.HasPrefix(crl, "https://") {
				if u, err := url.Parse(crl); err != nil || u.Host == "" {
					bad(field+".crls", "%q is not a URL", crl)
				}
			} else if _, err := os.Stat(crl); err != nil {
				bad(field+".crls", "cannot read %s: %v", crl, unwrapPathError(err))
			}
		}
	}
	return p
}

func (c *Config) validateListeners(bad func(field, format string, args ...any)) {
	for _, l := range []struct {
		name string
		addr string
	}{{"server.portal.listen", c.Server.Portal.Listen}, {"server.counter.listen", c.Server.Counter.Listen}, {"server.admin.listen", c.Server.Admin.Listen}} {
		if l.addr == "" {
			bad(l.name, "is required (host:port, for example 127.0.0.1:8443)")
			continue
		}
		host, port, err := net.SplitHostPort(l.addr)
		if err != nil {
			bad(l.name, "%q is not host:port", l.addr)
			continue
		}
		if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			bad(l.name, "port %q is not a number between 0 and 65535", port)
		}
		if l.name == "server.admin.listen" {
			if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
				bad(l.name, "%q must be a loopback address: metrics are not public", l.addr)
			}
		}
	}
	if c.Server.Portal.Listen != "" && c.Server.Portal.Listen == c.Server.Admin.Listen {
		bad("server.admin.listen", "must differ from server.portal.listen")
	}
	if c.Server.SharedAddress() {
		if c.Server.Portal.Host == "" || c.Server.Counter.Host == "" {
			bad("server.counter.host", "portal and counter share %s: both server.portal.host and server.counter.host are required to tell them apart", c.Server.Portal.Listen)
		} else if strings.EqualFold(c.Server.Portal.Host, c.Server.Counter.Host) {
			bad("server.counter.host", "must differ from server.portal.host when both share %s", c.Server.Portal.Listen)
		}
	}
	for _, l := range []struct {
		name string
		url  string
	}{{"server.portal.public_url", c.Server.Portal.PublicURL}, {"server.counter.public_url", c.Server.Counter.PublicURL}} {
		if l.url == "" {
			continue
		}
		u, err := url.Parse(l.url)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			bad(l.name, "%q must be an https:// URL", l.url)
		}
	}
}

func (c *Config) validateMail(bad func(field, format string, args ...any), oneOf func(field, v string, allowed ...string)) {
	oneOf("mail.transport", c.Mail.Transport, "sink", "smtp")
	if _, _, err := c.Notifications.DigestClock(); err != nil {
		bad("notifications.digest_time", "%v", err)
	}
	if c.Mail.From == "" {
		bad("mail.from", "is required (the sender address, for example sceau@tribunal.example.fr)")
	} else if _, err := mail.ParseAddress(c.Mail.From); err != nil {
		bad("mail.from", "%q is not an email address", c.Mail.From)
	}
	switch c.Mail.Transport {
	case "sink":
		if c.Mail.SinkDir == "" {
			bad("mail.sink_dir", "is required with transport \"sink\"")
		}
	case "smtp":
		s := c.Mail.SMTP
		if s.Host == "" {
			bad("mail.smtp.host", "is required with transport \"smtp\"")
		}
		if s.Port < 1 || s.Port > 65535 {
			bad("mail.smtp.port", "%d is not a port number", s.Port)
		}
		oneOf("mail.smtp.security", s.Security, "starttls", "tls", "none")
		if s.Security == "none" && s.Host != "" {
			ip := net.ParseIP(s.Host)
			if s.Host != "localhost" && (ip == nil || !ip.IsLoopback()) {
				bad("mail.smtp.security", "\"none\" sends in clear text: only allowed to a loopback relay, not %s", s.Host)
			}
		}
		if s.Username != "" && !s.Password.IsSet() {
			bad("mail.smtp.password_file", "is required when mail.smtp.username is set")
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func validOID(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) < 2 {
		return false
	}
	for _, p := range parts {
		if n, err := strconv.Atoi(p); err != nil || n < 0 || len(p) > 9 {
			return false
		}
	}
	return true
}
