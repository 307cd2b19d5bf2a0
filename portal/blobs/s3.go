package blobs

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Layout of an S3 bucket:
//
//	tmp/<key>      uploads in progress and pending blobs (Sweep's only ground,
//	               with the incomplete multipart uploads under tmp/)
//	blobs/<key>    committed blobs
//
// Put streams the upload to tmp/<key> with a multipart upload of bounded
// parts; Commit copies it server-side to blobs/<key> and deletes tmp/<key>;
// Abort deletes tmp/<key>. The bucket may hold other things under other
// prefixes: Sweep only ever looks under tmp/.
const (
	s3TmpPrefix  = "tmp/"
	s3BlobPrefix = "blobs/"

	// S3MinPartSize is the size of each part of an upload, hence of the one
	// buffer a Put in progress holds (S3 wants at least 5 MiB per part
	// but the last). It grows only when the size limit given to Put needs
	// more than 10,000 parts of this size (above 80 GB).
	S3MinPartSize = 8 << 20
	s3MaxParts    = 10000
	s3MaxPartSize = 5 << 30
)

// S3Config is how to reach an S3-compatible bucket.
type S3Config struct {
	// Endpoint is the service's URL: https://host[:port] (TLS) or
	// http://host[:port] (no TLS, for a store on a trusted network).
	Endpoint        string
	Region          string // may be empty for stores that ignore it
	Bucket          string
	AccessKeyID     string
	SecretAccessKey string
	// CAFile, optional, is a PEM bundle trusted in addition to the
	// system's roots for the endpoint's certificate.
	CAFile string
	// PathStyle: nil lets the client choose (virtual-hosted style for
	// Amazon and a few known providers, path style otherwise); true forces
	// https://host/bucket/key; false forces https://bucket.host/key.
	PathStyle *bool
	// Timeout bounds the start-up checks (default 30s).
	Timeout time.Duration
}

// S3 is a Store in a bucket of an S3-compatible object store (Amazon S3,
// MinIO, Ceph RGW, Garage, Scaleway, OVH…). It never creates the bucket.
type S3 struct {
	client   *minio.Client
	bucket   string
	endpoint string // for messages
}

var _ Store = (*S3)(nil)

// NewS3 connects to the bucket and checks that it exists and that a probe
// object can be written, read back and removed under tmp/.
func NewS3(ctx context.Context, cfg S3Config) (*S3, error) {
	u, err := url.Parse(cfg.Endpoint)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("blobs: S3 endpoint %q must be a URL such as https://s3.example.fr", cfg.Endpoint)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return nil, fmt.Errorf("blobs: S3 endpoint %q must be only a scheme, a host and a port (the bucket is given apart)", cfg.Endpoint)
	}
	if cfg.Bucket == "" {
		return nil, errors.New("blobs: no S3 bucket given")
	}
	secure := u.Scheme == "https"
	tr, err := minio.DefaultTransport(secure)
	if err != nil {
		return nil, fmt.Errorf("blobs: S3 transport: %w", err)
	}
	if cfg.CAFile != "" {
		if !secure {
			return nil, fmt.Errorf("blobs: an S3 CA file is given but the endpoint %s is not https", cfg.Endpoint)
		}
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("blobs: S3 CA file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("blobs: S3 CA file %s holds no PEM certificate", cfg.CAFile)
		}
		if tr.TLSClientConfig == nil {
			tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		tr.TLSClientConfig.RootCAs = pool
	}
	lookup := minio.BucketLookupAuto
	if cfg.PathStyle != nil {
		lookup = minio.BucketLookupDNS
		if *cfg.PathStyle {
			lookup = minio.BucketLookupPath
		}
	}
	client, err := minio.New(u.Host, &minio.Options{
		Creds:        credentials.NewStaticV4(cfg.AccessKeyID, cfg.SecretAccessKey, ""),
		Secure:       secure,
		Region:       cfg.Region,
		BucketLookup: lookup,
		Transport:    tr,
		MaxRetries:   3,
	})
	if err != nil {
		return nil, fmt.Errorf("blobs: S3 client for %s: %w", cfg.Endpoint, err)
	}
	s := &S3{client: client, bucket: cfg.Bucket, endpoint: u.Scheme + "://" + u.Host}

	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ok, err := client.BucketExists(ctx, cfg.Bucket)
	if err != nil {
		return nil, fmt.Errorf("blobs: cannot reach bucket %q at %s: %w", cfg.Bucket, s.endpoint, err)
	}
	if !ok {
		return nil, fmt.Errorf("blobs: bucket %q does not exist at %s: create it first (Sceau never creates buckets)", cfg.Bucket, s.endpoint)
	}
	if err := s.check(ctx); err != nil {
		return nil, fmt.Errorf("blobs: bucket %q at %s is not usable: %w", cfg.Bucket, s.endpoint, err)
	}
	return s, nil
}

// check writes, reads and removes a probe object, so that missing
// permissions show at start rather than on the first deposit.
func (s *S3) check(ctx context.Context) error {
	name := s3TmpPrefix + "probe-" + newKey()
	const probe = "sceau\n"
	if _, err := s.client.PutObject(ctx, s.bucket, name, strings.NewReader(probe), int64(len(probe)),
		minio.PutObjectOptions{ContentType: "application/octet-stream"}); err != nil {
		return fmt.Errorf("writing a probe object: %w", err)
	}
	if _, err := s.client.StatObject(ctx, s.bucket, name, minio.StatObjectOptions{}); err != nil {
		s.client.RemoveObject(ctx, s.bucket, name, minio.RemoveObjectOptions{})
		return fmt.Errorf("reading a probe object: %w", err)
	}
	if err := s.client.RemoveObject(ctx, s.bucket, name, minio.RemoveObjectOptions{}); err != nil {
		return fmt.Errorf("removing a probe object: %w", err)
	}
	return nil
}

// Bucket is the bucket's name.
func (s *S3) Bucket() string { return s.bucket }

// partSize is the part size for an upload of at most max bytes.
func partSize(max int64) uint64 {
	size := int64(S3MinPartSize)
	if need := (max + s3MaxParts - 1) / s3MaxParts; need > size {
		size = min((need+(1<<20)-1)&^((1<<20)-1), s3MaxPartSize) // whole MiB
	}
	return uint64(size)
}

// Put implements Store. The upload is a multipart upload of parts of
// S3MinPartSize bytes (more only for limits above 80 GB): a Put in
// progress holds one such buffer, whatever the size of the file. When Put
// returns, the data is stored durably under tmp/.
func (s *S3) Put(ctx context.Context, r io.Reader, max int64) (*Pending, error) {
	if max < 0 {
		return nil, fmt.Errorf("blobs: negative size limit %d", max)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("blobs: upload not started: %w", err)
	}
	key := newKey()
	src := &hashingReader{ctx: ctx, r: r, h: sha256.New(), max: max}
	// An empty multipart upload is not valid everywhere: peek at the first
	// byte, and store an empty file with a plain PUT.
	var first [1]byte
	n, err := readSome(src, first[:])
	var body io.Reader = io.MultiReader(bytes.NewReader(first[:n]), src)
	size := int64(-1)
	if n == 0 && err == io.EOF {
		body, size = bytes.NewReader(nil), 0
	}
	if err == nil || err == io.EOF {
		_, err = s.client.PutObject(ctx, s.bucket, s3TmpPrefix+key, body, size, minio.PutObjectOptions{
			PartSize:    partSize(max),
			ContentType: "application/octet-stream",
		})
	}
	if err != nil {
		// The client aborts its multipart upload on failure, but with ctx,
		// which may be cancelled: clean up with a context of our own.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		s.client.RemoveIncompleteUpload(cctx, s.bucket, s3TmpPrefix+key)
		s.client.RemoveObject(cctx, s.bucket, s3TmpPrefix+key, minio.RemoveObjectOptions{})
		cancel()
		switch {
		case src.err != nil:
			return nil, src.err
		case ctx.Err() != nil:
			return nil, fmt.Errorf("blobs: upload interrupted after %d bytes: %w", src.n, ctx.Err())
		}
		return nil, s3Err("uploading", err)
	}
	p := &Pending{Key: key, Size: src.n, fin: &s3Pending{s: s, size: src.n}}
	src.h.Sum(p.SHA256[:0])
	return p, nil
}

// readSome reads until it gets a byte or an error.
func readSome(r io.Reader, p []byte) (int, error) {
	for {
		n, err := r.Read(p)
		if n > 0 || err != nil {
			return n, err
		}
	}
}

// s3Pending finishes one pending blob; it knows its size, to choose how
// to copy it.
type s3Pending struct {
	s    *S3
	size int64
}

func (p *s3Pending) commit(ctx context.Context, key string) error {
	return p.s.commit(ctx, key, p.size)
}
func (p *s3Pending) abort(ctx context.Context, key string) error { return p.s.abort(ctx, key) }

// hashingReader measures, hashes and limits what the S3 client reads, and
// remembers why it stopped so that Put can say whose fault it was.
type hashingReader struct {
	ctx context.Context
	r   io.Reader
	h   hash.Hash
	max int64
	n   int64
	err error
}

func (h *hashingReader) Read(p []byte) (int, error) {
	if h.err != nil {
		return 0, h.err
	}
	if err := h.ctx.Err(); err != nil {
		h.err = fmt.Errorf("blobs: upload interrupted after %d bytes: %w", h.n, err)
		return 0, h.err
	}
	n, err := h.r.Read(p)
	if int64(n) > h.max-h.n {
		h.err = fmt.Errorf("%w: more than %d bytes", ErrTooLarge, h.max)
		return 0, h.err
	}
	h.h.Write(p[:n])
	h.n += int64(n)
	if err != nil && err != io.EOF {
		h.err = fmt.Errorf("%w after %d bytes: %w", ErrSource, h.n, err)
		return n, h.err
	}
	return n, err
}

// commit copies tmp/<key> to blobs/<key> server-side (CopyObject, or a
// multipart copy above 5 GiB), then deletes tmp/<key>. The copy takes time
// in proportion to the size on most stores (about a second per few
// hundred MB), inside the caller's database transaction.
func (s *S3) commit(ctx context.Context, key string, size int64) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("blobs: commit %s: %w", key, err)
	}
	dst := minio.CopyDestOptions{Bucket: s.bucket, Object: s3BlobPrefix + key}
	src := minio.CopySrcOptions{Bucket: s.bucket, Object: s3TmpPrefix + key}
	var err error
	if size <= s3MaxPartSize {
		_, err = s.client.CopyObject(ctx, dst, src)
	} else {
		_, err = s.client.ComposeObject(ctx, dst, src)
	}
	if err != nil {
		if isNoSuchKey(err) {
			return fmt.Errorf("%w: pending blob %s is gone (swept as stale?)", ErrNotFound, key)
		}
		return s3Err("publishing blob", err)
	}
	// If this fails, Sweep removes the temporary object later.
	s.client.RemoveObject(ctx, s.bucket, s3TmpPrefix+key, minio.RemoveObjectOptions{})
	return nil
}

func (s *S3) abort(ctx context.Context, key string) error {
	if err := s.client.RemoveObject(ctx, s.bucket, s3TmpPrefix+key, minio.RemoveObjectOptions{}); err != nil && !isNoSuchKey(err) {
		return fmt.Errorf("blobs: abort %s: %w", key, err)
	}
	return nil
}

// Open implements Store. The returned reader fetches the object lazily and
// seeks with ranged GETs (http.ServeContent's Range requests read only the
// asked bytes); ctx bounds every request it makes.
func (s *S3) Open(ctx context.Context, key string) (io.ReadSeekCloser, int64, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	if !validKey(key) {
		return nil, 0, fmt.Errorf("%w: malformed key", ErrNotFound)
	}
	obj, err := s.client.GetObject(ctx, s.bucket, s3BlobPrefix+key, minio.GetObjectOptions{})
	if err != nil {
		return nil, 0, fmt.Errorf("blobs: open %s: %w", key, err)
	}
	info, err := obj.Stat()
	if err != nil {
		obj.Close()
		if isNoSuchKey(err) {
			return nil, 0, fmt.Errorf("%w: %s", ErrNotFound, key)
		}
		return nil, 0, fmt.Errorf("blobs: open %s: %w", key, err)
	}
	return obj, info.Size, nil
}

// Sweep implements Store: it removes the objects under tmp/ last modified
// more than olderThan ago, and aborts the multipart uploads under tmp/
// started more than olderThan ago (left by a crash mid-upload). On S3 an
// upload's age counts from its start, not its last part: olderThan must
// also exceed the longest upload (bounded by the server's read timeout).
// The cutoff is taken from this machine's clock, compared with the
// store's: keep both synchronised.
func (s *S3) Sweep(ctx context.Context, olderThan time.Duration) (int, error) {
	if olderThan <= 0 {
		return 0, fmt.Errorf("blobs: sweep threshold must be positive, got %s", olderThan)
	}
	cutoff := time.Now().Add(-olderThan)
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	removed := 0
	var firstErr error
	note := func(err error) {
		if firstErr == nil {
			firstErr = fmt.Errorf("blobs: sweep: %w", err)
		}
	}
	for obj := range s.client.ListObjects(lctx, s.bucket, minio.ListObjectsOptions{Prefix: s3TmpPrefix, Recursive: true}) {
		if obj.Err != nil {
			return removed, fmt.Errorf("blobs: sweep: listing %s: %w", s3TmpPrefix, obj.Err)
		}
		if !obj.LastModified.Before(cutoff) {
			continue
		}
		if err := s.client.RemoveObject(ctx, s.bucket, obj.Key, minio.RemoveObjectOptions{}); err != nil {
			note(err)
			continue
		}
		removed++
	}
	for up := range s.client.ListIncompleteUploads(lctx, s.bucket, s3TmpPrefix, true) {
		if up.Err != nil {
			return removed, fmt.Errorf("blobs: sweep: listing uploads: %w", up.Err)
		}
		if !up.Initiated.Before(cutoff) {
			continue
		}
		if err := s.client.RemoveIncompleteUpload(ctx, s.bucket, up.Key); err != nil {
			note(err)
			continue
		}
		removed++
	}
	return removed, firstErr
}

// List implements Store: it lists the objects under blobs/.
func (s *S3) List(ctx context.Context, fn func(Info) error) error {
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for obj := range s.client.ListObjects(lctx, s.bucket, minio.ListObjectsOptions{Prefix: s3BlobPrefix, Recursive: true}) {
		if obj.Err != nil {
			return fmt.Errorf("blobs: list: %w", obj.Err)
		}
		key := strings.TrimPrefix(obj.Key, s3BlobPrefix)
		if !validKey(key) {
			continue
		}
		if err := fn(Info{Key: key, Size: obj.Size, Modified: obj.LastModified}); err != nil {
			return err
		}
	}
	return nil
}

func isNoSuchKey(err error) bool {
	switch minio.ToErrorResponse(err).Code {
	case minio.NoSuchKey, "NotFound":
		return true
	}
	return false
}

// s3Err wraps an S3 error, marking a full store or a reached quota.
func s3Err(op string, err error) error {
	resp := minio.ToErrorResponse(err)
	switch resp.Code {
	case "XMinioStorageFull", "QuotaExceeded", "XMinioAdminBucketQuotaExceeded":
		return fmt.Errorf("%w: %s: %w", ErrStorageFull, op, err)
	}
	if resp.StatusCode == http.StatusInsufficientStorage {
		return fmt.Errorf("%w: %s: %w", ErrStorageFull, op, err)
	}
	return fmt.Errorf("blobs: %s: %w", op, err)
}
