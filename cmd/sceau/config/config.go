// Package config reads Sceau's configuration: one TOML file, overridden by
// SCEAU_… environment variables, with secrets read from files (…_file) or the
// environment, never from the command line. Validate reports every problem at
// once, one readable line each, naming the field.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"
)

// Config is the whole configuration of one Sceau instance.
type Config struct {
	// Dir is the folder of the configuration file; relative paths in the
	// file are resolved against it. Not read from the file.
	Dir string `toml:"-"`

	Organisation string   `toml:"organisation"`
	Log          Log      `toml:"log"`
	Server       Server   `toml:"server"`
	Database     Database `toml:"database"`
	Storage      Storage  `toml:"storage"`
	Mail         Mail     `toml:"mail"`
	// Notifications: the daily digest (see Notifications).
	Notifications Notifications `toml:"notifications"`
	CA            CA            `toml:"ca"`
	Trust         Trust         `toml:"trust"`
	// Retrieval is the retrieval counter (litigant certificate orders).
	Retrieval Retrieval `toml:"retrieval"`
}

// Retrieval configures the retrieval counter: the orders experts place
// for litigants' certificates and how they are collected.
type Retrieval struct {
	LinkDays        int `toml:"link_days"`        // collection link lifetime (7)
	MaxLinkDays     int `toml:"max_link_days"`    // the most an expert may choose (30)
	MaxDownloads    int `toml:"max_downloads"`    // downloads an expert may allow per order (3)
	CodeAttempts    int `toml:"code_attempts"`    // wrong codes before an order locks (5)
	AddressAttempts int `toml:"address_attempts"` // wrong codes per address per hour (20)
	// KeyType of the keys made at the counter: ecdsa-p256 (default),
	// rsa-2048 or rsa-3072.
	KeyType string `toml:"key_type"`
	// Automatic revocation of litigant certificates (both default true):
	// when the participant is made inactive, when the case is finished
	// or archived.
	RevokeOnRemoval *bool `toml:"revoke_on_removal"`
	RevokeOnClose   *bool `toml:"revoke_on_close"`
	// ExpiryWarningDays: warn the person and the expert this many days
	// before a certificate expires while its case is open (14).
	ExpiryWarningDays int `toml:"expiry_warning_days"`
	// SMS carries collection codes by text message when the expert asks:
	// "" (off) or "log" (development: the message goes to the log). No
	// provider is built in.
	SMS string `toml:"sms"`
}

// Log chooses the format and level of the structured logs.
type Log struct {
	Format string `toml:"format"` // text or json
	Level  string `toml:"level"`  // debug, info, warn, error
}

// Server describes the three listeners and their limits.
type Server struct {
	Portal  Listener `toml:"portal"`
	Counter Listener `toml:"counter"`
	Admin   Admin    `toml:"admin"`
	TLS     TLS      `toml:"tls"`
	Proxy   Proxy    `toml:"proxy"`

	ReadHeaderTimeout Duration `toml:"read_header_timeout"`
	ReadTimeout       Duration `toml:"read_timeout"`
	WriteTimeout      Duration `toml:"write_timeout"`
	IdleTimeout       Duration `toml:"idle_timeout"`
	ShutdownTimeout   Duration `toml:"shutdown_timeout"`
	MaxBodyBytes      int64    `toml:"max_body_bytes"`
	// MaxUploadBytes is the size limit of one deposited file (2 GiB); the
	// deposit route gets it instead of max_body_bytes.
	MaxUploadBytes int64 `toml:"max_upload_bytes"`
	MaxHeaderBytes int   `toml:"max_header_bytes"`
	// Development enables pages that must never be public, such as the
	// mail sink viewer.
	Development bool `toml:"development"`
	// SessionKey signs session cookies and form tokens; every instance
	// behind one address must share it. Unset: random at each start.
	SessionKey Secret `toml:"session_key_file"`
	// AccountCache bounds how long a suspension or a removed certificate
	// made elsewhere (another instance, the CLI) takes to apply (10s).
	AccountCache Duration `toml:"account_cache"`
}

// Listener is one public HTTPS listener. When the portal and the counter
// share an address they are told apart by Host (TLS SNI).
type Listener struct {
	Listen    string `toml:"listen"`
	Host      string `toml:"host"`       // expected host name (SNI and Host)
	PublicURL string `toml:"public_url"` // as users reach it, for links in mails
}

// Proxy takes client certificates from a TLS-terminating reverse proxy's
// header, only when the request comes from one of TrustedProxies. Off when
// Format is empty.
type Proxy struct {
	Format         string   `toml:"format"` // nginx, envoy, traefik or rfc9440
	Header         string   `toml:"header"` // optional header name override
	TrustedProxies []string `toml:"trusted_proxies"`
}

// Admin is the loopback listener for metrics and probes.
type Admin struct {
	Listen string `toml:"listen"`
}

// TLS chooses the server certificate of both public listeners: issued by
// Sceau's own CA and renewed automatically ("ca", the embedded default), or
// read from files and reloaded when they change ("files", e.g. from a
// public CA so litigants' browsers trust the counter as is).
type TLS struct {
	Source   string   `toml:"source"`
	Names    []string `toml:"names"` // DNS names and IPs, for source "ca"
	CertFile string   `toml:"cert_file"`
	KeyFile  string   `toml:"key_file"`
}

// Database selects SQLite (embedded default) or PostgreSQL.
type Database struct {
	Driver string `toml:"driver"` // sqlite or postgres
	Path   string `toml:"path"`   // sqlite file
	// URL is the PostgreSQL connection URL. It may hold a password, so it is
	// a secret: url_file or SCEAU_DATABASE_URL.
	URL             Secret   `toml:"url_file"`
	MaxOpenConns    int      `toml:"max_open_conns"`
	ConnectTimeout  Duration `toml:"connect_timeout"`
	ConnectAttempts int      `toml:"connect_attempts"` // 0 = retry forever
}

// Storage selects where deposited files live.
type Storage struct {
	Backend string `toml:"backend"` // local or s3
	Path    string `toml:"path"`
	S3      S3     `toml:"s3"`
}

// S3 is an S3-compatible object store. The bucket must exist; serve checks
// it at start.
type S3 struct {
	// Endpoint is https://host[:port] (TLS on) or http://host[:port] (TLS
	// off: a trusted network only).
	Endpoint        string `toml:"endpoint"`
	Region          string `toml:"region"`
	Bucket          string `toml:"bucket"`
	AccessKeyID     string `toml:"access_key_id"`
	SecretAccessKey Secret `toml:"secret_access_key_file"`
	// CAFile trusts a private CA for the endpoint's certificate.
	CAFile string `toml:"ca_file"`
	// PathStyle forces https://host/bucket/key URLs; by default the client
	// uses virtual-hosted style (https://bucket.host/key) with Amazon and
	// a few known providers, path style with others.
	PathStyle bool `toml:"path_style"`
}

// Mail configures outgoing mail: a local sink or an SMTP relay.
type Mail struct {
	Transport string   `toml:"transport"` // sink or smtp
	From      string   `toml:"from"`
	FromName  string   `toml:"from_name"`
	SinkDir   string   `toml:"sink_dir"`
	SMTP      SMTP     `toml:"smtp"`
	Interval  Duration `toml:"poll_interval"`
}

// Notifications configures the notices mailed to participants.
type Notifications struct {
	// DigestTime is when the previous day's digest goes out, "HH:MM" in
	// Paris time (default 07:00).
	DigestTime string `toml:"digest_time"`
}

// DigestClock is DigestTime as an hour and a minute.
func (n Notifications) DigestClock() (hour, minute int, err error) {
	t, err := time.Parse("15:04", n.DigestTime)
	if err != nil {
		return 0, 0, fmt.Errorf("%q is not a time of day like 07:00", n.DigestTime)
	}
	return t.Hour(), t.Minute(), nil
}

// SMTP is the relay the outbox worker sends through.
type SMTP struct {
	Host     string   `toml:"host"`
	Port     int      `toml:"port"`
	Security string   `toml:"security"` // starttls, tls or none (loopback only)
	Username string   `toml:"username"`
	Password Secret   `toml:"password_file"`
	Timeout  Duration `toml:"timeout"`
	// CAFile trusts a private CA for the relay's certificate.
	CAFile string `toml:"ca_file"`
}

// CA configures Sceau's own certificate authority.
type CA struct {
	Dir         string `toml:"dir"`
	KeyPassword Secret `toml:"key_password_file"`
	// PKCS11URI, when set, holds the intermediate key in a token.
	PKCS11URI string `toml:"pkcs11_uri"`
	PKCS11Key string `toml:"pkcs11_key"`
	// CRLURL is written in every certificate; default: the counter's
	// public URL + /ca/crl.
	CRLURL     string   `toml:"crl_url"`
	PolicyOIDs []string `toml:"policy_oids"`
	// Litigant certificates: default and maximum validity in days.
	DefaultValidityDays int `toml:"default_validity_days"`
	MaxValidityDays     int `toml:"max_validity_days"`
}

// Trust lists the certificate families accepted on the portal listener.
// Sceau's own CA is always accepted as the "internal" domain (party
// members, outside technicians).
type Trust struct {
	Domains []TrustDomain `toml:"domain"`
}

// TrustDomain is one family of client certificates (justice, bar, …).
type TrustDomain struct {
	Name  string `toml:"name"`
	Label string `toml:"label"` // shown on refusal pages
	// CAFiles are PEM bundles of the domain's roots and intermediates.
	CAFiles []string `toml:"ca_files"`
	// PolicyOIDs: when set, a leaf must carry at least one of them.
	PolicyOIDs []string `toml:"policy_oids"`
	Roles      []string `toml:"roles"`
	// CRLs are files or http(s) URLs; with none, no revocation check.
	CRLs       []string `toml:"crls"`
	CRLRefresh Duration `toml:"crl_refresh"`
	CRLGrace   Duration `toml:"crl_grace"`
}

// KnownRoles are the roles a trust domain may grant.
var KnownRoles = []string{"magistrate", "clerk", "lawyer", "expert", "party_member", "sapiteur"}

// Duration reads "30s", "5m" or "1h30m" from the file.
type Duration struct{ time.Duration }

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration (use 30s, 5m, 1h)", b)
	}
	d.Duration = v
	return nil
}

// MarshalText writes the duration back as text.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.Duration.String()), nil }

// Secret is a value read from a file named in the configuration (key
// …_file) or taken from the environment. Its String never shows the value.
type Secret struct {
	File  string // path as written in the configuration
	value string
}

// UnmarshalText records the file name; Load reads it.
func (s *Secret) UnmarshalText(b []byte) error { s.File = string(b); return nil }

// MarshalText writes the file name back, never the value.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.File), nil }

// Value returns the secret itself.
func (s Secret) Value() string { return s.value }

// IsSet reports whether a value was provided.
func (s Secret) IsSet() bool { return s.value != "" }

// String hides the value from logs and error messages.
func (s Secret) String() string {
	if s.value == "" {
		return "(unset)"
	}
	return "(secret)"
}

// Problems is the list of everything wrong with a configuration.
type Problems []string

func (p Problems) Error() string { return strings.Join(p, "\n") }

// Load reads path, applies environment overrides from environ (as
// os.Environ), reads secret files, fills defaults and validates. The error
// lists every problem, one per line.
func Load(path string, environ []string) (*Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read configuration %s: %w", path, unwrapPathError(err))
	}
	cfg, err := Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	abs, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, err
	}
	cfg.Dir = abs
	var problems Problems
	problems = append(problems, applyEnv(cfg, environ)...)
	cfg.resolvePaths()
	problems = append(problems, cfg.readSecrets(environ)...)
	cfg.applyDefaults()
	problems = append(problems, cfg.Validate()...)
	if len(problems) > 0 {
		return nil, problems
	}
	return cfg, nil
}

// Parse decodes TOML strictly: an unknown key is an error naming it.
func Parse(raw []byte) (*Config, error) {
	cfg := &Config{}
	dec := toml.NewDecoder(bytes.NewReader(raw)).DisallowUnknownFields()
	if err := dec.Decode(cfg); err != nil {
		return nil, describeTOMLError(err)
	}
	return cfg, nil
}

func describeTOMLError(err error) error {
	var strict *toml.StrictMissingError
	if errors.As(err, &strict) {
		var p Problems
		for _, e := range strict.Errors {
			row, _ := e.Position()
			p = append(p, fmt.Sprintf("line %d: unknown setting %q", row, strings.Join(e.Key(), ".")))
		}
		return p
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		row, col := de.Position()
		key := strings.Join(de.Key(), ".")
		if key != "" {
			return fmt.Errorf("line %d, column %d (%s): %s", row, col, key, de.Error())
		}
		return fmt.Errorf("line %d, column %d: %s", row, col, de.Error())
	}
	return err
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// resolvePaths makes every relative path relative to the config folder.
func (c *Config) resolvePaths() {
	for _, p := range []*string{&c.Server.TLS.CertFile, &c.Server.TLS.KeyFile, &c.Database.Path,
		&c.Storage.Path, &c.Storage.S3.CAFile, &c.Mail.SinkDir, &c.Mail.SMTP.CAFile, &c.CA.Dir} {
		*p = c.abs(*p)
	}
	for _, s := range []*Secret{&c.Server.SessionKey, &c.Database.URL, &c.Storage.S3.SecretAccessKey, &c.Mail.SMTP.Password, &c.CA.KeyPassword} {
		s.File = c.abs(s.File)
	}
	for i := range c.Trust.Domains {
		for j, f := range c.Trust.Domains[i].CAFiles {
			c.Trust.Domains[i].CAFiles[j] = c.abs(f)
		}
		for j, f := range c.Trust.Domains[i].CRLs {
			if !strings.HasPrefix(f, "http://") && !strings.HasPrefix(f, "https://") {
				c.Trust.Domains[i].CRLs[j] = c.abs(f)
			}
		}
	}
}

func (c *Config) abs(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.Dir, p)
}

// Revocation says which automatic revocations are on (both by default).
func (r Retrieval) Revocation() (onRemoval, onClose bool) {
	onRemoval, onClose = true, true
	if r.RevokeOnRemoval != nil {
		onRemoval = *r.RevokeOnRemoval
	}
	if r.RevokeOnClose != nil {
		onClose = *r.RevokeOnClose
	}
	return onRemoval, onClose
}
