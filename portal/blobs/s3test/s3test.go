// Package s3test runs an S3 protocol server on a loopback listener, for
// tests of the S3 blob store: gofakes3 with its in-memory backend, behind
// real HTTPS over TCP (a test certificate for 127.0.0.1, trusted through
// CAFile). Only tests import it.
//
// HTTPS is also what production uses; over plain http the S3 client signs
// payloads in aws-chunked encoding, which gofakes3 does not decode for
// multipart parts.
package s3test

import (
	"encoding/pem"
	"io"
	"log"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// Credentials the server accepts (it checks none).
const (
	AccessKey = "SCEAUTESTKEY"
	SecretKey = "sceau-test-secret-key"
)

// Server is a running fake S3 service.
type Server struct {
	URL    string // https://127.0.0.1:port
	CAFile string // PEM of the server's certificate
	offset atomic.Int64
	srv    *httptest.Server
}

// clock is the server's time, shifted by SetClockOffset.
type clock struct{ s *Server }

func (c clock) Now() time.Time {
	return time.Now().UTC().Add(time.Duration(c.s.offset.Load()))
}
func (c clock) Since(t time.Time) time.Duration { return c.Now().Sub(t) }

// Serve serves HTTPS on ln with the given buckets until Close, and writes
// its certificate to caFile.
func Serve(ln net.Listener, caFile string, buckets ...string) (*Server, error) {
	s := &Server{CAFile: caFile}
	backend := s3mem.New(s3mem.WithTimeSource(clock{s}))
	for _, b := range buckets {
		if err := backend.CreateBucket(b); err != nil {
			return nil, err
		}
	}
	fake := gofakes3.New(backend,
		gofakes3.WithTimeSource(clock{s}),
		gofakes3.WithTimeSkewLimit(0), // the clock may be shifted on purpose
		gofakes3.WithLogger(gofakes3.DiscardLog()))
	s.srv = httptest.NewUnstartedServer(fake.Server())
	s.srv.Listener.Close()
	s.srv.Listener = ln
	s.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // gofakes3 writes some headers twice
	s.srv.StartTLS()
	s.URL = s.srv.URL
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.srv.Certificate().Raw})
	if err := os.WriteFile(caFile, cert, 0o644); err != nil {
		s.srv.Close()
		return nil, err
	}
	return s, nil
}

// Start serves on a new loopback port until the test ends.
func Start(t testing.TB, buckets ...string) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s, err := Serve(ln, filepath.Join(t.TempDir(), "s3-ca.pem"), buckets...)
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// SetClockOffset shifts the server's clock: objects written and uploads
// started meanwhile are dated now+d.
func (s *Server) SetClockOffset(d time.Duration) { s.offset.Store(int64(d)) }

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }
