// Package smtptest runs a real SMTP server (emersion/go-smtp) on the
// loopback interface for tests, and records what it receives.
//
// To simulate a relay that is down, call Close: the port is then closed
// and connections are refused. Restart listens again on the same port,
// keeping the recorded messages and settings.
package smtptest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Message is one message the server accepted.
type Message struct {
	From     string   // envelope sender (MAIL FROM)
	To       []string // envelope recipients (RCPT TO)
	Data     []byte   // the message as received, CRLF line ends
	TLS      bool     // the session was encrypted
	AuthUser string   // who authenticated, if anyone
}

// Option configures Start.
type Option func(*options)

type options struct {
	startTLS, implicitTLS bool
	user, password        string
}

// WithSTARTTLS offers STARTTLS with a certificate made for the test, valid
// for 127.0.0.1, ::1 and localhost; trust it with RootCAs.
func WithSTARTTLS() Option { return func(o *options) { o.startTLS = true } }

// WithImplicitTLS speaks TLS from the first byte (like port 465), with the
// same test certificate.
func WithImplicitTLS() Option { return func(o *options) { o.implicitTLS = true } }

// WithAuth requires AUTH PLAIN with this user and password before MAIL.
// Without TLS, AUTH is then allowed in clear text.
func WithAuth(user, password string) Option {
	return func(o *options) { o.user, o.password = user, password }
}

// Server is a running (or closed) test SMTP server.
type Server struct {
	opts    options
	tlsConf *tls.Config
	roots   *x509.CertPool
	port    int

	mu       sync.Mutex
	srv      *smtp.Server
	ln       net.Listener
	served   chan struct{} // closed when Serve returns
	msgs     []Message
	refuse   int
	rejected int
	changed  chan struct{} // closed and replaced on each new message
}

// Start runs a server on 127.0.0.1 with a free port; it is closed at the
// end of the test.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{changed: make(chan struct{})}
	for _, o := range opts {
		o(&s.opts)
	}
	if s.opts.startTLS || s.opts.implicitTLS {
		cert, roots, err := testCertificate()
		if err != nil {
			t.Fatalf("smtptest: certificate: %v", err)
		}
		s.tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		s.roots = roots
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtptest: listen: %v", err)
	}
	s.port = ln.Addr().(*net.TCPAddr).Port
	s.serve(ln)
	t.Cleanup(s.Close)
	return s
}

// Restart listens again on the same port after Close. Recorded messages
// and the SetRefuse setting are kept.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	running := s.srv != nil
	s.mu.Unlock()
	if running {
		t.Fatalf("smtptest: Restart of a running server")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		ln, err := net.Listen("tcp", s.Addr())
		if err == nil {
			s.serve(ln)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("smtptest: listen again on %s: %v", s.Addr(), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *Server) serve(ln net.Listener) {
	if s.opts.implicitTLS {
		ln = tls.NewListener(ln, s.tlsConf)
	}
	srv := smtp.NewServer(&backend{s: s})
	srv.Domain = "localhost"
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	srv.MaxMessageBytes = 10 << 20
	srv.MaxRecipients = 50
	srv.ErrorLog = log.New(io.Discard, "", 0)
	if s.opts.startTLS {
		srv.TLSConfig = s.tlsConf
	}
	srv.AllowInsecureAuth = !s.opts.startTLS && !s.opts.implicitTLS
	served := make(chan struct{})
	s.mu.Lock()
	s.srv, s.ln, s.served = srv, ln, served
	s.mu.Unlock()
	go func() {
		defer close(served)
		_ = srv.Serve(ln)
	}()
}

// Close stops listening and drops open sessions: the port refuses
// connections until Restart. It is safe to call more than once.
func (s *Server) Close() {
	s.mu.Lock()
	srv, ln, served := s.srv, s.ln, s.served
	s.srv, s.ln = nil, nil
	s.mu.Unlock()
	if srv == nil {
		return
	}
	// Closing the listener here too covers a Close that comes before the
	// Serve goroutine registered it with srv.
	_ = ln.Close()
	_ = srv.Close()
	<-served
}

// Addr is "127.0.0.1:port".
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// Host is "127.0.0.1".
func (s *Server) Host() string { return "127.0.0.1" }

// Port is the TCP port, the same across Restart.
func (s *Server) Port() int { return s.port }

// RootCAs trusts the server's test certificate (nil without TLS).
func (s *Server) RootCAs() *x509.CertPool { return s.roots }

// SetRefuse makes the server answer RCPT with this reply code (421 or 451
// for a temporary refusal, 550 for a permanent one, for example) until it
// is called again with 0, which accepts again.
func (s *Server) SetRefuse(code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuse = code
}

// Rejected counts the RCPT commands refused because of SetRefuse.
func (s *Server) Rejected() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rejected
}

// Messages returns a copy of the messages accepted so far, in order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, len(s.msgs))
	copy(out, s.msgs)
	return out
}

// WaitFor waits until at least n messages were accepted and returns them;
// it fails the test after timeout.
func (s *Server) WaitFor(t testing.TB, n int, timeout time.Duration) []Message {
	t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		s.mu.Lock()
		got, changed := len(s.msgs), s.changed
		s.mu.Unlock()
		if got >= n {
			return s.Messages()
		}
		select {
		case <-changed:
		case <-timer.C:
			t.Fatalf("smtptest: %d message(s) received within %v, want %d", got, timeout, n)
			return nil
		}
	}
}

func (s *Server) record(m Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, m)
	close(s.changed)
	s.changed = make(chan struct{})
}

// refusal returns the error for RCPT, counting it, or nil.
func (s *Server) refusal(to string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refuse == 0 {
		return nil
	}
	s.rejected++
	e := &smtp.SMTPError{Code: s.refuse, EnhancedCode: smtp.EnhancedCode{s.refuse / 100, 0, 0}}
	switch s.refuse {
	case 421:
		e.EnhancedCode, e.Message = smtp.EnhancedCode{4, 3, 2}, "Service not available, try again later"
	case 450, 451, 452:
		e.EnhancedCode, e.Message = smtp.EnhancedCode{4, 3, 0}, "<"+to+">: Temporary local problem, try again later"
	default:
		if s.refuse >= 500 {
			e.EnhancedCode, e.Message = smtp.EnhancedCode{5, 1, 1}, "<"+to+">: Recipient address rejected: User unknown"
		} else {
			e.Message = "Refused by smtptest"
		}
	}
	return e
}

type backend struct{ s *Server }

func (b *backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{s: b.s, conn: c}, nil
}

type session struct {
	s        *Server
	conn     *smtp.Conn
	authUser string
	from     string
	to       []string
}

func (se *session) AuthMechanisms() []string {
	if se.s.opts.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (se *session) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain || se.s.opts.user == "" {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if identity != "" && identity != username {
			return smtp.ErrAuthFailed
		}
		if username != se.s.opts.user || password != se.s.opts.password {
			return smtp.ErrAuthFailed
		}
		se.authUser = username
		return nil
	}), nil
}

func (se *session) Mail(from string, _ *smtp.MailOptions) error {
	if se.s.opts.user != "" && se.authUser == "" {
		return smtp.ErrAuthRequired
	}
	se.from, se.to = from, nil
	return nil
}

func (se *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if err := se.s.refusal(to); err != nil {
		return err
	}
	se.to = append(se.to, to)
	return nil
}

func (se *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if len(se.to) == 0 {
		return errors.New("no recipients")
	}
	_, isTLS := se.conn.TLSConnectionState()
	se.s.record(Message{
		From: se.from, To: append([]string(nil), se.to...), Data: data,
		TLS: isTLS, AuthUser: se.authUser,
	})
	return nil
}

func (se *session) Reset() { se.from, se.to = "", nil }

func (se *session) Logout() error { return nil }

// testCertificate makes a self-signed certificate for the loopback names,
// valid for an hour either side of now, and a pool that trusts it.
func testCertificate() (tls.Certificate, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "smtptest", Organization: []string{"Sceau tests"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool, nil
}

// String describes the server for test messages.
func (s *Server) String() string { return fmt.Sprintf("smtptest server at %s", s.Addr()) }
