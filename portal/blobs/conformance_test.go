package blobs_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"sceau.fr/sceau/portal/blobs"
	"sceau.fr/sceau/portal/blobs/s3test"
)

// The conformance suite: every Store implementation must pass the same
// behavioural table (TestConformance), Local on a folder and S3 against a
// real S3 protocol server over TCP (gofakes3 on a loopback listener).

const bucket = "sceau-test"

// inspector looks at a backend's storage from outside the Store.
type inspector interface {
	// contents lists the committed keys, and everything else the storage
	// holds (temporary objects, incomplete uploads, temporary files).
	contents(t *testing.T) (committed, leftovers []string)
	// backdate runs fn so that whatever it writes looks two hours old.
	backdate(t *testing.T, fn func())
	// crash leaves what an upload cut by a crash of the server leaves.
	crash(t *testing.T)
}

type backend struct {
	name string
	// open returns a new, empty store. big: the store will take a 256
	// MiB file while the test measures the heap, so no part of the
	// storage may live in the test's process.
	open func(t *testing.T, big bool) (blobs.Store, inspector)
}

var backends = []backend{
	{"local", func(t *testing.T, _ bool) (blobs.Store, inspector) {
		l, dir := newLocal(t)
		return l, &localInspector{dir: dir}
	}},
	{"s3", func(t *testing.T, big bool) (blobs.Store, inspector) {
		var (
			url, ca string
			srv     *s3test.Server
		)
		if big {
			url, ca = startS3Process(t)
		} else {
			srv = s3test.Start(t, bucket)
			url, ca = srv.URL, srv.CAFile
		}
		st, err := blobs.NewS3(context.Background(), s3Config(url, ca, bucket))
		if err != nil {
			t.Fatal(err)
		}
		return st, &s3Inspector{srv: srv, client: s3Client(t, url, ca)}
	}},
	// storage.s3.endpoint = "http://…": TLS off, payloads signed chunk by
	// chunk (aws-chunked) instead.
	{"s3 over plain http", func(t *testing.T, big bool) (blobs.Store, inspector) {
		if big {
			t.Skip("the 256 MiB test runs over https")
		}
		srv := s3test.StartPlain(t, bucket)
		st, err := blobs.NewS3(context.Background(), s3Config(srv.URL, "", bucket))
		if err != nil {
			t.Fatal(err)
		}
		return st, &s3Inspector{srv: srv, client: s3Client(t, srv.URL, "")}
	}},
}

func s3Config(url, ca, bucket string) blobs.S3Config {
	path := true
	return blobs.S3Config{Endpoint: url, Region: "fr-par", Bucket: bucket, CAFile: ca,
		AccessKeyID: s3test.AccessKey, SecretAccessKey: s3test.SecretKey, PathStyle: &path}
}

// s3Client is a client of the test's own, to look at the bucket.
func s3Client(t *testing.T, url, ca string) *minio.Client {
	opts := &minio.Options{
		Creds:        credentials.NewStaticV4(s3test.AccessKey, s3test.SecretKey, ""),
		Region:       "fr-par",
		BucketLookup: minio.BucketLookupPath,
	}
	if ca != "" {
		pemData, err := os.ReadFile(ca)
		if err != nil {
			t.Fatal(err)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pemData)
		opts.Secure = true
		opts.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	}
	host := strings.TrimPrefix(strings.TrimPrefix(url, "https://"), "http://")
	c, err := minio.New(host, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// ---- local ----

type localInspector struct{ dir string }

func (l *localInspector) contents(t *testing.T) (committed, leftovers []string) {
	for _, f := range files(t, l.dir) {
		if strings.HasPrefix(f, "tmp"+string(filepath.Separator)) {
			leftovers = append(leftovers, f)
		} else {
			committed = append(committed, filepath.Base(f))
		}
	}
	return committed, leftovers
}

func (l *localInspector) backdate(t *testing.T, fn func()) {
	before := files(t, l.dir)
	fn()
	old := time.Now().Add(-2 * time.Hour)
	for _, f := range files(t, l.dir) {
		if !slices.Contains(before, f) {
			if err := os.Chtimes(filepath.Join(l.dir, f), old, old); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func (l *localInspector) crash(t *testing.T) {
	if err := os.WriteFile(filepath.Join(l.dir, "tmp", "0000000000000000000000000000dead"), []byte("half"), 0o640); err != nil {
		t.Fatal(err)
	}
}

// ---- S3 ----

type s3Inspector struct {
	srv    *s3test.Server // nil when the server runs in another process
	client *minio.Client
}

func (s *s3Inspector) contents(t *testing.T) (committed, leftovers []string) {
	ctx := context.Background()
	for obj := range s.client.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			t.Fatal(obj.Err)
		}
		if k, ok := strings.CutPrefix(obj.Key, "blobs/"); ok {
			committed = append(committed, k)
		} else {
			leftovers = append(leftovers, obj.Key)
		}
	}
	for up := range s.client.ListIncompleteUploads(ctx, bucket, "", true) {
		if up.Err != nil {
			t.Fatal(up.Err)
		}
		leftovers = append(leftovers, "incomplete upload of "+up.Key)
	}
	return committed, leftovers
}

func (s *s3Inspector) backdate(t *testing.T, fn func()) {
	s.srv.SetClockOffset(-2 * time.Hour)
	defer s.srv.SetClockOffset(0)
	fn()
}

func (s *s3Inspector) crash(t *testing.T) {
	ctx := context.Background()
	core := &minio.Core{Client: s.client}
	name := "tmp/0000000000000000000000000000dead"
	id, err := core.NewMultipartUpload(ctx, bucket, name, minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := core.PutObjectPart(ctx, bucket, name, id, 1, strings.NewReader("half"), 4, minio.PutObjectPartOptions{}); err != nil {
		t.Fatal(err)
	}
}

// startS3Process runs the fake S3 server in a child process (this test
// binary, see TestMain), so that what it stores does not count in this
// process's heap.
func startS3Process(t *testing.T) (url, caFile string) {
	caFile = filepath.Join(t.TempDir(), "s3-ca.pem")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "SCEAU_S3TEST_SERVE="+caFile)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close() // the child stops when its input closes
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("fake S3 process: %v", err)
	}
	return strings.TrimSpace(line), caFile
}

func TestMain(m *testing.M) {
	if ca := os.Getenv("SCEAU_S3TEST_SERVE"); ca != "" {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		srv, err := s3test.Serve(ln, ca, bucket)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println(srv.URL)
		io.Copy(io.Discard, os.Stdin)
		srv.Close()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// ---- the table ----

func TestConformance(t *testing.T) {
	cases := []struct {
		name string
		run  func(t *testing.T, open func(t *testing.T, big bool) (blobs.Store, inspector))
	}{
		{"put commit read", conformPutCommitRead},
		{"abort leaves nothing", conformAbort},
		{"failing source leaves nothing", conformFailingSource},
		{"too large leaves nothing", conformTooLarge},
		{"cancelled upload leaves nothing", conformCancelled},
		{"sweep", conformSweep},
		{"open refuses bad keys", conformBadKeys},
		{"concurrent puts", conformConcurrent},
		{"big file streamed", conformBig},
		{"list committed blobs", conformList},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) { c.run(t, b.open) })
			}
		})
	}
}

// assertContents checks that the storage holds exactly the committed keys
// and nothing else.
func assertContents(t *testing.T, in inspector, keys ...string) {
	t.Helper()
	committed, leftovers := in.contents(t)
	slices.Sort(committed)
	keys = slices.Sorted(slices.Values(keys))
	if !slices.Equal(committed, keys) {
		t.Errorf("committed blobs %v, want %v", committed, keys)
	}
	if len(leftovers) > 0 {
		t.Errorf("left in storage: %v", leftovers)
	}
}

func conformPutCommitRead(t *testing.T, open func(*testing.T, bool) (blobs.Store, inspector)) {
	st, in := open(t, false)
	ctx := context.Background()
	var keys []string
	// Sizes around S3's 8 MiB parts: empty, tiny, one part, three parts.
	for i, size := range []int64{0, 1, 5*MiB + 3, 2*blobs.S3MinPartSize + 1} {
		data, _ := io.ReadAll(source(uint64(10+i), size))
		wantSum, _ := digest(t, bytes.NewReader(data))
		p, err := st.Put(ctx, bytes.NewReader(data), size)
		if err != nil {
			t.Fatalf("Put(%d bytes): %v", size, err)
		}
		if p.Size != size || p.SHA256 != wantSum {
			t.Fatalf("Put says %d bytes %x, want %d %x", p.Size, p.SHA256, size, wantSum)
		}
		if _, _, err := st.Open(ctx, p.Key); !errors.Is(err, blobs.ErrNotFound) {
			t.Fatalf("an uncommitted blob opens: %v", err)
		}
		if err := p.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		if err := p.Commit(ctx); err != nil {
			t.Fatalf("second Commit: %v", err)
		}
		if err := p.Abort(ctx); err != nil {
			t.Fatalf("Abort after Commit: %v", err)
		}
		if got := readBlob(t, st, p.Key); !bytes.Equal(got, data) {
			t.Fatalf("%d bytes: read back differs", size)
		}
		keys = append(keys, p.Key)

		// Ranges: seek from the start and from the end, as
		// http.ServeContent does for a Range request.
		if size < 100 {
			continue
		}
		rc, n, err := st.Open(ctx, p.Key)
		if err != nil {
			t.Fatal(err)
		}
		if end, err := rc.Seek(0, io.SeekEnd); err != nil || end != size || n != size {
			t.Fatalf("Seek(0, End) = %d, %v; Open says %d; want %d", end, err, n, size)
		}
		for _, off := range []int64{size / 2, size - 7, 3} {
			if _, err := rc.Seek(off, io.SeekStart); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 7)
			if _, err := io.ReadFull(rc, buf); err != nil {
				t.Fatalf("reading 7 bytes at %d: %v", off, err)
			}
			if !bytes.Equal(buf, data[off:off+7]) {
				t.Fatalf("range at %d: got %x, want %x", off, buf, data[off:off+7])
			}
		}
		rc.Close()
	}
	assertContents(t, in, keys...)
}

func conformAbort(t *testing.T, open func(*testing.T, bool) (blobs.Store, inspector)) {
	st, in := open(t, false)
	ctx := context.Background()
	p := mustPut(t, st, []byte("pièce retirée avant enregistrement"))
	if err := p.Abort(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.Commit(ctx); !errors.Is(err, blobs.ErrAborted) {
		t.Fatalf("Commit after Abort: %v, want ErrAborted", err)
	}
	if _, _, err := st.Open(ctx, p.Key); !errors.Is(err, blobs.ErrNotFound) {
		t.Fatalf("an aborted blob opens: %v", err)
	}
	assertContents(t, in)
}

// conformList: List gives every committed blob with its size, never a
// pending one, and stops at the callback's first error.
func conformList(t *testing.T, open func(*testing.T, bool) (blobs.Store, inspector)) {
	st, _ := open(t, false)
	ctx := context.Background()
	want := map[string]int64{}
	for _, content := range []string{"", "rapport d’expertise", strings.Repeat("plan ", 1000)} {
		p := mustPut(t, st, []byte(content))
		if err := p.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		want[p.Key] = int64(len(content))
	}
	pending := mustPut(t, st, []byte("pas encore enregistré"))
	defer pending.Abort(ctx)
	got := map[string]int64{}
	before := time.Now().Add(-time.Hour)
	err := st.List(ctx, func(b blobs.Info) error {
		if _, dup := got[b.Key]; dup {
			t.Errorf("%s listed twice", b.Key)
		}
		if b.Modified.Before(before) {
			t.Errorf("%s: modified %s", b.Key, b.Modified)
		}
		got[b.Key] = b.Size
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(got, want) {
		t.Errorf("List gave %v, want %v (pending %s)", got, want, pending.Key)
	}
	stop := errors.New("enough")
	calls := 0
	if err := st.List(ctx, func(blobs.Info) error { calls++; return stop }); !errors.Is(err, stop) || calls != 1 {
		t.Errorf("List after the callback's error: %v, %d calls", err, calls)
	}
}

var errCut = errors.New("connection reset by peer")

func conformFailingSource(t *testing.T, open func(*testing.T, bool) (blobs.Store, inspector)) {
	st, in := open(t, false)
	// Fails after more than one S3 part has gone out.
	r := &failingReader{r: source(20, blobs.S3MinPartSize+5*MiB), err: errCut}
	p, err := st.Put(context.Background(), r, 100*MiB)
	if p != nil || !errors.Is(err, blobs.ErrSource) || !errors.Is(err, errCut) {
		t.Fatalf("got %v, %v; want ErrSource wrapping the reader's error", p, err)
	}
	if errors.Is(err, blobs.ErrStorageFull) || errors.Is(err, blobs.ErrTooLarge) {
		t.Fatalf("a failing client is not a storage problem: %v", err)
	}
	assertContents(t, in)
}

func conformTooLarge(t *testing.T, open func(*testing.T, bool) (blobs.Store, inspector)) {
	st, in := open(t, false)
	ctx := context.Background()
	const size = blobs.S3MinPartSize + 3*MiB
	p, err := st.Put(ctx, source(21, size), size-1)
	if p != nil || !errors.Is(err, blobs.ErrTooLarge) {
		t.Fatalf("got %v, %v; want ErrTooLarge", p, err)
	}
	assertContents(t, in)
	p, err = st.Put(ctx, source(21, size), size)
	if err != nil {
		t.Fatalf("exactly the limit: %v", err)
	}
	if err := p.Abort(ctx); err != nil {
		t.Fatal(err)
	}
	assertContents(t, in)
}

func conformCancelled(t *testing.T, open func(*testing.T, bool) (blobs.Store, inspector)) {
	st, in := open(t, false)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The source cancels the context once more than one S3 part has
	// been read, and would go on for ever.
	r := &sampler{r: source(22, 1<<40), every: blobs.S3MinPartSize + MiB, next: blobs.S3MinPartSize + MiB, sample: cancel}
	p, err := st.Put(ctx, r, 64<<30) // 8 MiB parts
	if p != nil || !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, %v; want context.Canceled", p, err)
	}
	// At most one more buffer (an S3 part) is read after cancellation.
	if r.read > 2*blobs.S3MinPartSize+MiB {
		t.Errorf("read %d bytes in all, cancelled after %d", r.read, blobs.S3MinPartSize+MiB)
	}
	assertContents(t, in)
}

func conformSweep(t *testing.T, open func(*testing.T, bool) (blobs.Store, inspector)) {
	st, in := open(t, false)
	ctx := context.Background()
	var stale, done *blobs.Pending
	in.backdate(t, func() {
		stale = mustPut(t, st, []byte("abandoned between Put and Commit"))
		done = mustPut(t, st, []byte("committed long ago"))
		if err := done.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		in.crash(t)
	})
	fresh := mustPut(t, st, []byte("about to be committed"))

	if _, err := st.Sweep(ctx, 0); err == nil {
		t.Fatal("Sweep(0) would remove uploads in progress")
	}
	n, err := st.Sweep(ctx, time.Hour)
	if err != nil || n != 2 {
		t.Fatalf("Sweep: %d, %v; want 2 removed (a pending blob, a crashed upload)", n, err)
	}
	if err := stale.Commit(ctx); !errors.Is(err, blobs.ErrNotFound) {
		t.Fatalf("Commit of a swept blob: %v, want ErrNotFound", err)
	}
	if err := stale.Abort(ctx); err != nil {
		t.Fatal(err)
	}
	if err := fresh.Commit(ctx); err != nil {
		t.Fatalf("a fresh pending blob was swept: %v", err)
	}
	readBlob(t, st, done.Key)
	assertContents(t, in, done.Key, fresh.Key)
	if n, err := st.Sweep(ctx, time.Hour); err != nil || n != 0 {
		t.Fatalf("second Sweep: %d, %v", n, err)
	}
}

func conformBadKeys(t *testing.T, open func(*testing.T, bool) (blobs.Store, inspector)) {
	st, _ := open(t, false)
	ctx := context.Background()
	p := mustPut(t, st, []byte("pending"))
	defer p.Abort(ctx)
	for _, key := range []string{"", "../../etc/passwd", strings.ToUpper(p.Key), p.Key + "0",
		"tmp/" + p.Key, "../tmp/" + p.Key[:24], p.Key} {
		if rc, _, err := st.Open(ctx, key); !errors.Is(err, blobs.ErrNotFound) {
			if rc != nil {
				rc.Close()
			}
			t.Errorf("Open(%q): %v, want ErrNotFound", key, err)
		}
	}
}

func conformConcurrent(t *testing.T, open func(*testing.T, bool) (blobs.Store, inspector)) {
	st, in := open(t, false)
	ctx := context.Background()
	const n = 6
	keys := make([]string, n)
	errs := make(chan error, n)
	for i := range n {
		go func() {
			size := int64(MiB + i*333)
			p, err := st.Put(ctx, source(uint64(40+i), size), size)
			if err == nil {
				keys[i] = p.Key
				if i%2 == 0 {
					err = p.Commit(ctx)
				} else {
					err = p.Abort(ctx)
				}
			}
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	var committed []string
	for i, k := range keys {
		if i%2 != 0 {
			continue
		}
		committed = append(committed, k)
		rc, size, err := st.Open(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := digest(t, rc)
		rc.Close()
		want, wantSize := digest(t, source(uint64(40+i), int64(MiB+i*333)))
		if got != want || size != wantSize {
			t.Errorf("blob %d: %d bytes %x, want %d %x", i, size, got, wantSize, want)
		}
	}
	assertContents(t, in, committed...)
}

func conformBig(t *testing.T, open func(*testing.T, bool) (blobs.Store, inspector)) {
	if testing.Short() {
		t.Skip("streams 256 MiB")
	}
	const size = 256 * MiB
	st, in := open(t, true)

	var peak uint64
	var ms runtime.MemStats
	sampled := &sampler{r: source(30, size), every: 4 * MiB, sample: func() {
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapAlloc)
	}}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	peak = before.HeapAlloc

	start := time.Now()
	p, err := st.Put(context.Background(), sampled, size)
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	peak = max(peak, after.HeapAlloc)
	growth := int64(peak) - int64(before.HeapAlloc)
	t.Logf("256 MiB in %v (%.0f MB/s): heap growth %d KiB, allocated %d KiB in all, %d samples",
		elapsed.Round(time.Millisecond), float64(size)/1e6/elapsed.Seconds(), growth>>10,
		(after.TotalAlloc-before.TotalAlloc)>>10, sampled.samples)
	// Local holds 512 KiB of buffers, S3 one 8 MiB part.
	if growth > 32*MiB {
		t.Errorf("heap grew by %d MiB while streaming 256 MiB", growth/MiB)
	}

	wantSum, wantSize := digest(t, source(30, size))
	if p.Size != wantSize || p.SHA256 != wantSum {
		t.Fatalf("Put says %d bytes %x, want %d bytes %x", p.Size, p.SHA256, wantSize, wantSum)
	}
	if err := p.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	rc, n, err := st.Open(context.Background(), p.Key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	gotSum, gotSize := digest(t, rc)
	if n != size || gotSize != size || gotSum != wantSum {
		t.Fatalf("stored blob: %d/%d bytes %x, want %d %x", n, gotSize, gotSum, size, wantSum)
	}
	assertContents(t, in, p.Key)
}

// ---- S3 only: start-up checks ----

func TestS3MissingBucket(t *testing.T) {
	srv := s3test.Start(t, bucket)
	_, err := blobs.NewS3(context.Background(), s3Config(srv.URL, srv.CAFile, "absent"))
	if err == nil || !strings.Contains(err.Error(), `bucket "absent" does not exist`) {
		t.Fatalf("missing bucket: %v", err)
	}
	t.Log(err)
}

func TestS3Unreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ln.Close() // nothing listens there any more
	cfg := s3Config(url, "", bucket)
	cfg.Timeout = 5 * time.Second
	start := time.Now()
	_, err = blobs.NewS3(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "cannot reach bucket") {
		t.Fatalf("unreachable store: %v", err)
	}
	if strings.Contains(err.Error(), s3test.SecretKey) {
		t.Fatalf("the secret key is in the error: %v", err)
	}
	t.Logf("after %v: %v", time.Since(start).Round(time.Millisecond), err)
}

func TestS3BadConfig(t *testing.T) {
	for _, tc := range []struct {
		edit func(*blobs.S3Config)
		want string
	}{
		{func(c *blobs.S3Config) { c.Endpoint = "s3.example.fr" }, "must be a URL"},
		{func(c *blobs.S3Config) { c.Endpoint = "ftp://s3.example.fr" }, "must be a URL"},
		{func(c *blobs.S3Config) { c.Endpoint = "https://s3.example.fr/bucket" }, "only a scheme, a host and a port"},
		{func(c *blobs.S3Config) { c.Bucket = "" }, "no S3 bucket"},
		{func(c *blobs.S3Config) { c.CAFile = "/nonexistent/ca.pem" }, "is not https"},
		{func(c *blobs.S3Config) { c.Endpoint = "https://127.0.0.1:1"; c.CAFile = "/nonexistent/ca.pem" }, "S3 CA file"},
	} {
		cfg := s3Config("http://127.0.0.1:1", "", bucket)
		tc.edit(&cfg)
		_, err := blobs.NewS3(context.Background(), cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: got %v, want %q", cfg, err, tc.want)
		}
	}
}
