// Package s3test runs an S3 protocol server on a loopback listener, for
// tests of the S3 blob store: gofakes3 with its in-memory backend, behind
// real HTTPS over TCP (a test certificate for 127.0.0.1, trusted through
// CAFile). Only tests import it.
//
// StartPlain serves plain http instead (storage.s3.endpoint http://, TLS
// off): the S3 client then signs payloads chunk by chunk (aws-chunked),
// which gofakes3 does not decode for multipart parts nor for empty
// objects; a shim in front of it checks the framing and decodes them, as
// every real S3 does.
package s3test

import (
	"bufio"
	"bytes"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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
// its certificate to caFile; with caFile "", it serves plain http.
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
	s.srv = httptest.NewUnstartedServer(decodeChunked(fake.Server()))
	s.srv.Listener.Close()
	s.srv.Listener = ln
	s.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // gofakes3 writes some headers twice
	if caFile == "" {
		s.srv.Start()
		s.URL = s.srv.URL
		return s, nil
	}
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

// StartPlain serves plain http (no TLS) on a new loopback port until the
// test ends.
func StartPlain(t testing.TB, buckets ...string) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s, err := Serve(ln, "", buckets...)
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// decodeChunked turns an aws-chunked request body (streaming signature
// V4) into the plain body it carries. Chunk signatures are not checked,
// like gofakes3 checks no signature, but the framing and the decoded
// length are: a malformed body gets 400.
func decodeChunked(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.Header.Get("X-Amz-Content-Sha256"), "STREAMING-") {
			next.ServeHTTP(w, r)
			return
		}
		want, err := strconv.ParseInt(r.Header.Get("X-Amz-Decoded-Content-Length"), 10, 64)
		var body []byte
		if err == nil {
			body, err = readChunks(bufio.NewReader(r.Body))
		}
		if err == nil && int64(len(body)) != want {
			err = fmt.Errorf("decoded %d bytes, header says %d", len(body), want)
		}
		if err != nil {
			http.Error(w, "aws-chunked body: "+err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		r.Header.Set("Content-Length", strconv.Itoa(len(body)))
		r.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
		r.Header.Del("X-Amz-Decoded-Content-Length")
		next.ServeHTTP(w, r)
	})
}

// readChunks reads "<hex size>;chunk-signature=<sig>\r\n<data>\r\n"
// chunks up to the empty one.
func readChunks(br *bufio.Reader) ([]byte, error) {
	var out bytes.Buffer
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return nil, err
		}
		hexSize, _, _ := strings.Cut(strings.TrimSpace(line), ";")
		n, err := strconv.ParseInt(hexSize, 16, 64)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("bad chunk header %q", line)
		}
		if n == 0 {
			return out.Bytes(), nil
		}
		if _, err := io.CopyN(&out, br, n); err != nil {
			return nil, err
		}
		var crlf [2]byte
		if _, err := io.ReadFull(br, crlf[:]); err != nil || string(crlf[:]) != "\r\n" {
			return nil, errors.New("chunk not followed by CRLF")
		}
	}
}

// SetClockOffset shifts the server's clock: objects written and uploads
// started meanwhile are dated now+d.
func (s *Server) SetClockOffset(d time.Duration) { s.offset.Store(int64(d)) }

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }
