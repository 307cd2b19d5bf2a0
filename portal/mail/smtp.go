package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"sceau.fr/sceau/portal/model"
)

// Security modes of the connection to the relay.
const (
	SecuritySTARTTLS = "starttls" // plain connection upgraded by STARTTLS, which is mandatory
	SecurityTLS      = "tls"      // implicit TLS from the first byte (port 465)
	SecurityNone     = "none"     // no encryption: only to a relay on the loopback interface
)

// SMTPConfig says how to reach the relay.
type SMTPConfig struct {
	Host string
	// Port defaults to 587 (starttls), 465 (tls) or 25 (none).
	Port int
	// Security is "starttls" (the default), "tls" or "none".
	Security string
	// Username and Password authenticate to the relay when Username is set.
	Username, Password string
	// Timeout bounds the connection and each SMTP command; default 15s.
	Timeout time.Duration
	// TLSConfig is optional, for example RootCAs for a relay with a
	// private CA. ServerName defaults to Host, MinVersion to TLS 1.2.
	TLSConfig *tls.Config
	// From is the sender address (header and envelope); FromName its
	// display name, "Sceau" when empty.
	From, FromName string
}

// SMTPSender delivers messages to an SMTP relay, one connection per
// message. It is safe for concurrent use.
type SMTPSender struct {
	client   *gomail.Client
	from     string
	fromName string
}

// NewSMTPSender checks the configuration and prepares the client; it does
// not connect.
func NewSMTPSender(cfg SMTPConfig) (*SMTPSender, error) {
	if cfg.Host == "" {
		return nil, errors.New("mail: no SMTP host")
	}
	from, err := parseRecipient(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("mail: From address: %w", err)
	}
	fromName := cfg.FromName
	if fromName == "" {
		fromName = "Sceau"
	}
	if err := checkHeaderValue("from name", fromName); err != nil {
		return nil, err
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = gomail.DefaultTimeout
	}
	var tlsConf *tls.Config
	if cfg.TLSConfig != nil {
		tlsConf = cfg.TLSConfig.Clone()
	} else {
		tlsConf = &tls.Config{}
	}
	if tlsConf.ServerName == "" {
		tlsConf.ServerName = cfg.Host
	}
	if tlsConf.MinVersion == 0 {
		tlsConf.MinVersion = tls.VersionTLS12
	}

	opts := []gomail.Option{gomail.WithTimeout(timeout), gomail.WithTLSConfig(tlsConf)}
	port := cfg.Port
	security := strings.ToLower(cfg.Security)
	switch security {
	case "", SecuritySTARTTLS:
		security = SecuritySTARTTLS
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
		if port == 0 {
			port = 587
		}
	case SecurityTLS:
		opts = append(opts, gomail.WithSSL())
		if port == 0 {
			port = 465
		}
	case SecurityNone:
		if !isLoopback(cfg.Host) {
			return nil, fmt.Errorf("mail: security %q is only allowed to a relay on the loopback interface, not %q", SecurityNone, cfg.Host)
		}
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
		if port == 0 {
			port = 25
		}
	default:
		return nil, fmt.Errorf("mail: unknown SMTP security %q (want starttls, tls or none)", cfg.Security)
	}
	opts = append(opts, gomail.WithPort(port))
	if cfg.Username != "" {
		auth := gomail.SMTPAuthAutoDiscover
		if security == SecurityNone {
			// Loopback only (checked above): the password never leaves the host.
			auth = gomail.SMTPAuthPlainNoEnc
		}
		opts = append(opts, gomail.WithSMTPAuth(auth),
			gomail.WithUsername(cfg.Username), gomail.WithPassword(cfg.Password))
	}
	client, err := gomail.NewClient(cfg.Host, opts...)
	if err != nil {
		return nil, fmt.Errorf("mail: SMTP client: %w", err)
	}
	return &SMTPSender{client: client, from: from, fromName: fromName}, nil
}

// Send delivers one message. A message the relay accepted counts as sent
// even if closing the session then fails.
func (s *SMTPSender) Send(ctx context.Context, m *model.OutboxMessage) error {
	msg, err := buildMsg(m, s.from, s.fromName)
	if err != nil {
		return err
	}
	err = s.client.DialAndSendWithContext(ctx, msg)
	if msg.IsDelivered() {
		return nil
	}
	if err == nil {
		return errors.New("mail: relay session ended without accepting the message")
	}
	return err
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}
