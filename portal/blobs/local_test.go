package blobs_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"sceau.fr/sceau/portal/blobs"
)

// ---- helpers ----

const MiB = 1 << 20

// source is a deterministic pseudo-random stream: the same seed gives the
// same bytes, without holding them.
func source(seed uint64, n int64) io.Reader {
	var s [32]byte
	s[0], s[1] = byte(seed), byte(seed>>8)
	return io.LimitReader(rand.NewChaCha8(s), n)
}

func digest(t testing.TB, r io.Reader) ([32]byte, int64) {
	t.Helper()
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		t.Fatal(err)
	}
	var sum [32]byte
	h.Sum(sum[:0])
	return sum, n
}

func newLocal(t testing.TB) (*blobs.Local, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "files")
	l, err := blobs.NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, dir
}

// files lists the regular files under dir, relative to it.
func files(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// assertFiles checks that dir holds exactly the committed blobs keys, and
// nothing in tmp/.
func assertFiles(t testing.TB, dir string, keys ...string) {
	t.Helper()
	want := map[string]bool{}
	for _, k := range keys {
		want[filepath.Join(k[:2], k[2:4], k)] = true
	}
	got := files(t, dir)
	for _, f := range got {
		if !want[f] {
			t.Errorf("unexpected file left in storage: %s", f)
		}
		delete(want, f)
	}
	for f := range want {
		t.Errorf("missing blob %s", f)
	}
}

func mustPut(t testing.TB, s blobs.Store, data []byte) *blobs.Pending {
	t.Helper()
	p, err := s.Put(context.Background(), bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func readBlob(t testing.TB, s blobs.Store, key string) []byte {
	t.Helper()
	rc, size, err := s.Open(context.Background(), key)
	if err != nil {
		t.Fatalf("Open(%s): %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(b)) != size {
		t.Fatalf("Open says %d bytes, read %d", size, len(b))
	}
	return b
}

// failingReader yields n bytes of data, then err.
type failingReader struct {
	r   io.Reader
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, f.err
	}
	return n, err
}

// ---- streaming and limits ----

func TestPutStreamsWithoutGrowingMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 256 MiB")
	}
	const size = 256 * MiB
	l, dir := newLocal(t)

	// Sample the heap while Put runs, from inside the source.
	var peak uint64
	var ms runtime.MemStats
	sampled := &sampler{r: source(1, size), every: 16 * MiB, sample: func() {
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapAlloc)
	}}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	peak = before.HeapAlloc

	start := time.Now()
	p, err := l.Put(context.Background(), sampled, size)
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	peak = max(peak, after.HeapAlloc)

	growth := int64(peak) - int64(before.HeapAlloc)
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("256 MiB in %v (%.0f MB/s): heap growth %d KiB, allocated %d KiB in all, %d samples",
		elapsed.Round(time.Millisecond), float64(size)/1e6/elapsed.Seconds(), growth>>10, allocated>>10, sampled.samples)
	if growth > 16*MiB {
		t.Errorf("heap grew by %d MiB while streaming 256 MiB", growth/MiB)
	}
	if allocated > 16*MiB {
		t.Errorf("Put allocated %d MiB in all for 256 MiB", allocated/MiB)
	}
	if sampled.samples < 10 {
		t.Errorf("only %d heap samples", sampled.samples)
	}

	wantSum, wantSize := digest(t, source(1, size))
	if p.Size != wantSize || p.SHA256 != wantSum {
		t.Fatalf("Put says %d bytes %x, want %d bytes %x", p.Size, p.SHA256, wantSize, wantSum)
	}
	if err := p.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	rc, n, err := l.Open(context.Background(), p.Key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	gotSum, gotSize := digest(t, rc)
	if n != size || gotSize != size || gotSum != wantSum {
		t.Fatalf("stored blob: %d/%d bytes %x, want %d %x", n, gotSize, gotSum, size, wantSum)
	}
	assertFiles(t, dir, p.Key)
}

type sampler struct {
	r       io.Reader
	every   int64
	next    int64
	read    int64
	samples int
	sample  func()
}

func (s *sampler) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.read += int64(n)
	if s.read >= s.next {
		s.sample()
		s.samples++
		s.next += s.every
	}
	return n, err
}

func TestPutLimit(t *testing.T) {
	l, dir := newLocal(t)
	ctx := context.Background()
	data := make([]byte, 3*MiB+17)
	rand.NewChaCha8([32]byte{2}).Read(data)

	// Exactly at the limit: accepted.
	p, err := l.Put(ctx, bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("Put at exactly max: %v", err)
	}
	if p.Size != int64(len(data)) || p.SHA256 != sha256.Sum256(data) {
		t.Fatalf("size %d sum %x", p.Size, p.SHA256)
	}
	if err := p.Commit(ctx); err != nil {
		t.Fatal(err)
	}

	// One byte over, in one read or spread over many: refused, nothing kept.
	for name, r := range map[string]io.Reader{
		"one read":   bytes.NewReader(data),
		"tiny reads": &oneByteAtATimeAfter{r: bytes.NewReader(data), after: len(data) - 3},
		"huge":       source(3, 1<<40), // a declared size that lies: we stop at max+1
	} {
		t.Run(name, func(t *testing.T) {
			_, err := l.Put(ctx, r, int64(len(data))-1)
			if !errors.Is(err, blobs.ErrTooLarge) {
				t.Fatalf("Put over max: got %v, want ErrTooLarge", err)
			}
			assertFiles(t, dir, p.Key)
		})
	}

	// max 0 allows only an empty blob.
	if _, err := l.Put(ctx, strings.NewReader("x"), 0); !errors.Is(err, blobs.ErrTooLarge) {
		t.Fatalf("one byte with max 0: %v", err)
	}
	if _, err := l.Put(ctx, strings.NewReader(""), -1); err == nil {
		t.Fatal("negative max accepted")
	}
	assertFiles(t, dir, p.Key)
}

type oneByteAtATimeAfter struct {
	r     io.Reader
	after int
	n     int
}

func (o *oneByteAtATimeAfter) Read(p []byte) (int, error) {
	if o.n >= o.after && len(p) > 1 {
		p = p[:1]
	} else if len(p) > o.after-o.n && o.after > o.n {
		p = p[:o.after-o.n]
	}
	n, err := o.r.Read(p)
	o.n += n
	return n, err
}

func TestZeroByteBlob(t *testing.T) {
	l, dir := newLocal(t)
	ctx := context.Background()
	for _, max := range []int64{0, 10} {
		p, err := l.Put(ctx, strings.NewReader(""), max)
		if err != nil {
			t.Fatalf("max %d: %v", max, err)
		}
		if p.Size != 0 || p.SHA256 != sha256.Sum256(nil) {
			t.Fatalf("empty blob: size %d sum %x", p.Size, p.SHA256)
		}
		if err := p.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		if b := readBlob(t, l, p.Key); len(b) != 0 {
			t.Fatalf("read %d bytes from an empty blob", len(b))
		}
		assertFiles(t, dir, p.Key)
		os.Remove(filepath.Join(dir, p.Key[:2], p.Key[2:4], p.Key))
	}
}

// ---- interrupted uploads ----

func TestPutSourceFailsMidway(t *testing.T) {
	l, dir := newLocal(t)
	r := &failingReader{r: source(4, 5*MiB), err: io.ErrUnexpectedEOF}
	p, err := l.Put(context.Background(), r, 100*MiB)
	if p != nil || !errors.Is(err, blobs.ErrSource) || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("got %v, %v; want ErrSource wrapping io.ErrUnexpectedEOF", p, err)
	}
	if errors.Is(err, blobs.ErrStorageFull) || errors.Is(err, blobs.ErrTooLarge) {
		t.Fatalf("a failing client is not a storage problem: %v", err)
	}
	assertFiles(t, dir)
}

// TestPutConnectionCut streams an HTTP request body into Put and cuts the
// TCP connection half-way, as a browser closed mid-upload would.
func TestPutConnectionCut(t *testing.T) {
	l, dir := newLocal(t)
	result := make(chan error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := l.Put(r.Context(), r.Body, 64*MiB)
		if err == nil {
			err = p.Commit(r.Context())
		}
		result <- err
	}))
	defer srv.Close()

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "POST /depot HTTP/1.1\r\nHost: sceau\r\nContent-Length: %d\r\n\r\n", 32*MiB)
	if _, err := io.Copy(conn, source(5, 4*MiB)); err != nil {
		t.Fatal(err)
	}
	// Wait until the upload is really on disk, then cut.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if fs := files(t, dir); len(fs) == 1 {
			if fi, err := os.Stat(filepath.Join(dir, fs[0])); err == nil && fi.Size() > 0 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("upload never reached the disk")
		}
		time.Sleep(5 * time.Millisecond)
	}
	t0 := time.Now()
	conn.Close()

	select {
	case err := <-result:
		if !errors.Is(err, blobs.ErrSource) && !errors.Is(err, context.Canceled) {
			t.Fatalf("cut upload: got %v", err)
		}
		t.Logf("cut upload after %v: %v", time.Since(t0), err)
	case <-time.After(10 * time.Second):
		t.Fatal("Put did not return after the connection was cut")
	}
	assertFiles(t, dir)
}

func TestPutContextCancelled(t *testing.T) {
	l, dir := newLocal(t)

	t.Run("mid-copy", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		// The source cancels the context once 2 MiB have been read, and
		// would go on for ever.
		r := &sampler{r: source(6, 1<<40), every: 2 * MiB, next: 2 * MiB, sample: cancel}
		p, err := l.Put(ctx, r, 1<<40)
		if p != nil || !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, %v; want context.Canceled", p, err)
		}
		if r.read > 3*MiB {
			t.Errorf("read %d bytes after cancellation", r.read)
		}
		assertFiles(t, dir)
	})
	t.Run("before", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := l.Put(ctx, strings.NewReader("x"), 1); !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v", err)
		}
		assertFiles(t, dir)
	})
	t.Run("commit", func(t *testing.T) {
		p := mustPut(t, l, []byte("pièce 1"))
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := p.Commit(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("Commit with a cancelled context: %v", err)
		}
		if err := p.Abort(ctx); err != nil { // Abort must work with a dead context
			t.Fatal(err)
		}
		assertFiles(t, dir)
	})
}

// ---- commit, abort, open ----

func TestCommitThenOpen(t *testing.T) {
	l, dir := newLocal(t)
	ctx := context.Background()
	data := []byte("Dire n°3 — pièce jointe\x00\n")
	p := mustPut(t, l, data)
	if len(p.Key) != 32 || strings.Trim(p.Key, "0123456789abcdef") != "" {
		t.Fatalf("key %q is not 32 lowercase hex digits", p.Key)
	}
	if p.Size != int64(len(data)) || p.SHA256 != sha256.Sum256(data) {
		t.Fatalf("size %d sum %x", p.Size, p.SHA256)
	}

	// Invisible until committed.
	if _, _, err := l.Open(ctx, p.Key); !errors.Is(err, blobs.ErrNotFound) {
		t.Fatalf("Open before Commit: %v", err)
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
	if got := readBlob(t, l, p.Key); !bytes.Equal(got, data) {
		t.Fatalf("read %q, want %q", got, data)
	}
	assertFiles(t, dir, p.Key)

	// Seekable (http.ServeContent needs it), read-only on disk.
	rc, size, err := l.Open(ctx, p.Key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if off, err := rc.Seek(-2, io.SeekEnd); err != nil || off != size-2 {
		t.Fatalf("Seek: %d, %v", off, err)
	}
	if tail, _ := io.ReadAll(rc); string(tail) != "\x00\n" {
		t.Fatalf("tail %q", tail)
	}
	if w, ok := rc.(io.Writer); ok {
		if _, err := w.Write([]byte("x")); err == nil {
			t.Fatal("an opened blob is writable")
		}
	}
	fi, err := os.Stat(filepath.Join(dir, p.Key[:2], p.Key[2:4], p.Key))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm()&0o222 != 0 {
		t.Errorf("committed blob has mode %v, want read-only", fi.Mode())
	}

	// Keys are random, so the same content twice is two blobs.
	q := mustPut(t, l, data)
	if q.Key == p.Key || q.SHA256 != p.SHA256 {
		t.Fatalf("second Put: key %s sum %x", q.Key, q.SHA256)
	}
	q.Abort(ctx)
}

func TestAbort(t *testing.T) {
	l, dir := newLocal(t)
	ctx := context.Background()
	p := mustPut(t, l, []byte("convocation"))
	if len(files(t, dir)) != 1 {
		t.Fatalf("a pending blob should be one temporary file: %v", files(t, dir))
	}
	if err := p.Abort(ctx); err != nil {
		t.Fatal(err)
	}
	assertFiles(t, dir)
	if err := p.Abort(ctx); err != nil {
		t.Fatalf("second Abort: %v", err)
	}
	if err := p.Commit(ctx); !errors.Is(err, blobs.ErrAborted) {
		t.Fatalf("Commit after Abort: %v", err)
	}
	if _, _, err := l.Open(ctx, p.Key); !errors.Is(err, blobs.ErrNotFound) {
		t.Fatalf("Open after Abort: %v", err)
	}
	assertFiles(t, dir)
}

// TestCommitAbortRace: whoever wins, the outcome is consistent.
func TestCommitAbortRace(t *testing.T) {
	l, dir := newLocal(t)
	ctx := context.Background()
	var committed []string
	for i := range 20 {
		p := mustPut(t, l, []byte{byte(i)})
		var cerr, aerr error
		var wg sync.WaitGroup
		wg.Go(func() { cerr = p.Commit(ctx) })
		wg.Go(func() { aerr = p.Abort(ctx) })
		wg.Wait()
		if aerr != nil {
			t.Fatal(aerr)
		}
		_, _, oerr := l.Open(ctx, p.Key)
		switch {
		case cerr == nil && oerr == nil:
			committed = append(committed, p.Key)
		case errors.Is(cerr, blobs.ErrAborted) && errors.Is(oerr, blobs.ErrNotFound):
		default:
			t.Fatalf("Commit %v, Open %v", cerr, oerr)
		}
	}
	assertFiles(t, dir, committed...)
}

func TestOpenRejectsBadKeys(t *testing.T) {
	l, dir := newLocal(t)
	ctx := context.Background()
	parent := filepath.Dir(dir)

	// Canaries a naive filepath.Join(dir, key) could reach.
	secret := []byte("secret outside the storage folder")
	os.WriteFile(filepath.Join(parent, "x"), secret, 0o600)
	os.WriteFile(filepath.Join(parent, "0123456789abcdef0123456789abcdef"), secret, 0o600)
	p := mustPut(t, l, []byte("pending"))

	valid := "0123456789abcdef0123456789abcdef"
	for _, key := range []string{
		"", "../x", "..", ".", "/etc/passwd", "tmp", "tmp/" + p.Key, p.Key, // pending is not openable
		valid[:31], valid + "0", strings.ToUpper(valid), "0123456789abcdef0123456789abcdeg",
		"../../../../../../../../../etc/pas", "01/23/0123456789abcdef0123456789", "\x00" + valid[1:],
		valid[:30] + "\u202e", "01234567\\89abcdef0123456789abcdef", valid, // well formed but unknown
		"..\\..\\..\\..\\..\\..\\..\\..\\..\\..\\x.",
	} {
		rc, _, err := l.Open(ctx, key)
		if !errors.Is(err, blobs.ErrNotFound) {
			if rc != nil {
				rc.Close()
			}
			t.Errorf("Open(%q): %v, want ErrNotFound", key, err)
		}
	}
	p.Abort(ctx)

	// Even a symbolic link planted inside the folder cannot lead out.
	evil := "fedcba9876543210fedcba9876543210"
	os.MkdirAll(filepath.Join(dir, "fe", "dc"), 0o750)
	if err := os.Symlink(filepath.Join(parent, "x"), filepath.Join(dir, "fe", "dc", evil)); err != nil {
		t.Fatal(err)
	}
	if rc, _, err := l.Open(ctx, evil); err == nil {
		b, _ := io.ReadAll(rc)
		rc.Close()
		t.Fatalf("Open followed a symlink out of the folder and read %q", b)
	}
}

// ---- storage failures ----

func TestStorageFullInjected(t *testing.T) {
	l, dir := newLocal(t)
	blobs.SetWriteHook(l, func(w io.Writer) io.Writer { return &fullAfter{w: w, left: 2 * MiB} })
	_, err := l.Put(context.Background(), source(7, 10*MiB), 100*MiB)
	if !errors.Is(err, blobs.ErrStorageFull) || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("got %v, want ErrStorageFull", err)
	}
	if errors.Is(err, blobs.ErrSource) {
		t.Fatalf("a full disk is not the client's fault: %v", err)
	}
	assertFiles(t, dir)
}

// fullAfter writes left bytes, then fails as a full disk does.
type fullAfter struct {
	w    io.Writer
	left int
}

func (f *fullAfter) Write(p []byte) (int, error) {
	if len(p) > f.left {
		n, _ := f.w.Write(p[:f.left])
		f.left = 0
		return n, &fs.PathError{Op: "write", Path: "tmp/x", Err: syscall.ENOSPC}
	}
	f.left -= len(p)
	return f.w.Write(p)
}

// TestStorageFullTmpfs fills a real 1 MiB tmpfs (needs root and mount).
func TestStorageFullTmpfs(t *testing.T) {
	mnt := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", mnt).CombinedOutput()
	if err != nil {
		t.Skipf("cannot mount a small tmpfs (%v: %s); the injected test covers ENOSPC", err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			t.Errorf("umount: %v: %s", err, out)
		}
	})
	l, err := blobs.NewLocal(mnt)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx := context.Background()

	_, err = l.Put(ctx, source(8, 4*MiB), 100*MiB)
	if !errors.Is(err, blobs.ErrStorageFull) {
		t.Fatalf("Put on a full disk: %v, want ErrStorageFull", err)
	}
	t.Logf("full disk: %v", err)
	assertFiles(t, mnt)

	// The space was given back: a small deposit still works.
	p, err := l.Put(ctx, source(9, 256<<10), MiB)
	if err != nil {
		t.Fatalf("Put after a failed one: %v", err)
	}
	if err := p.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	assertFiles(t, mnt, p.Key)
}

// ---- sweeping ----

func TestSweep(t *testing.T) {
	l, dir := newLocal(t)
	ctx := context.Background()
	old := time.Now().Add(-2 * time.Hour)

	stale := mustPut(t, l, []byte("abandoned between Put and Commit"))
	fresh := mustPut(t, l, []byte("about to be committed"))
	done := mustPut(t, l, []byte("committed long ago"))
	if err := done.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	// A crash mid-upload leaves a half-written temporary file.
	crashed := filepath.Join(dir, "tmp", "0000000000000000000000000000dead")
	if err := os.WriteFile(crashed, []byte("half"), 0o640); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{
		filepath.Join(dir, "tmp", stale.Key), crashed,
		filepath.Join(dir, done.Key[:2], done.Key[2:4], done.Key),
	} {
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}

	if _, err := l.Sweep(ctx, 0); err == nil {
		t.Fatal("Sweep(0) would remove uploads in progress")
	}
	n, err := l.Sweep(ctx, time.Hour)
	if err != nil || n != 2 {
		t.Fatalf("Sweep: %d, %v; want 2 removed", n, err)
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
	readBlob(t, l, done.Key)
	assertFiles(t, dir, done.Key, fresh.Key)
	if n, err := l.Sweep(ctx, time.Nanosecond); err != nil || n != 0 {
		t.Fatalf("second Sweep: %d, %v", n, err)
	}
	assertFiles(t, dir, done.Key, fresh.Key)
}

// ---- concurrency ----

func TestConcurrentPuts(t *testing.T) {
	l, dir := newLocal(t)
	ctx := context.Background()
	const workers, each = 16, 8
	type result struct {
		key  string
		sum  [32]byte
		keep bool
	}
	results := make(chan result, workers*each)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				seed := uint64(w*each + i)
				size := int64(seed*9*1024 + seed) // 0 to ~1.1 MiB, odd sizes
				p, err := l.Put(ctx, source(seed, size), size)
				if err != nil {
					t.Error(err)
					return
				}
				keep := i%2 == 0
				if keep {
					err = p.Commit(ctx)
				} else {
					err = p.Abort(ctx)
				}
				if err != nil {
					t.Error(err)
				}
				results <- result{p.Key, p.SHA256, keep}
			}
		})
	}
	wg.Wait()
	close(results)

	seen := map[string]bool{}
	var kept []string
	for r := range results {
		if seen[r.key] {
			t.Fatalf("key %s given twice", r.key)
		}
		seen[r.key] = true
		if !r.keep {
			continue
		}
		kept = append(kept, r.key)
		if got := sha256.Sum256(readBlob(t, l, r.key)); got != r.sum {
			t.Errorf("blob %s: content differs", r.key)
		}
	}
	if len(seen) != workers*each {
		t.Fatalf("%d results", len(seen))
	}
	assertFiles(t, dir, kept...)
}

// ---- opening the folder ----

func TestNewLocal(t *testing.T) {
	base := t.TempDir()
	l, err := blobs.NewLocal(filepath.Join(base, "a", "b", "files"))
	if err != nil {
		t.Fatal(err)
	}
	if !filepath.IsAbs(l.Dir()) {
		t.Errorf("Dir %q is not absolute", l.Dir())
	}
	assertFiles(t, l.Dir()) // the writability probe left nothing
	l.Close()

	// Reopening an existing folder keeps its blobs.
	l, err = blobs.NewLocal(filepath.Join(base, "a", "b", "files"))
	if err != nil {
		t.Fatal(err)
	}
	p := mustPut(t, l, []byte("rapport définitif"))
	p.Commit(context.Background())
	l.Close()
	l, err = blobs.NewLocal(filepath.Join(base, "a", "b", "files"))
	if err != nil {
		t.Fatal(err)
	}
	readBlob(t, l, p.Key)
	l.Close()

	if _, err := blobs.NewLocal(""); err == nil {
		t.Error("empty path accepted")
	}
	file := filepath.Join(base, "plain")
	os.WriteFile(file, nil, 0o600)
	if _, err := blobs.NewLocal(file); err == nil {
		t.Error("a regular file accepted as storage folder")
	}
	if _, err := blobs.NewLocal(filepath.Join(file, "sub")); err == nil {
		t.Error("a path under a regular file accepted")
	}
	// tmp/ taken by a file: unusable, said at start rather than at the first deposit.
	bad := filepath.Join(base, "bad")
	os.MkdirAll(bad, 0o750)
	os.WriteFile(filepath.Join(bad, "tmp"), nil, 0o600)
	if _, err := blobs.NewLocal(bad); err == nil {
		t.Error("folder with a file named tmp accepted")
	}
}

// ---- benchmark ----

// BenchmarkPut compares Put+Commit (SHA-256, size limit, fsync, link, folder
// sync) with plain io.Copy into a file over the same 64 MiB source.
func BenchmarkPut(b *testing.B) {
	const size = 64 * MiB
	block := make([]byte, MiB)
	rand.NewChaCha8([32]byte{10}).Read(block)
	newSrc := func() io.Reader { return &repeat{block: block, left: size} }

	b.Run("Put+Commit", func(b *testing.B) {
		l, _ := newLocal(b)
		ctx := context.Background()
		b.SetBytes(size)
		for b.Loop() {
			p, err := l.Put(ctx, newSrc(), size)
			if err != nil {
				b.Fatal(err)
			}
			if err := p.Commit(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	// Baselines: a plain copy, the same with fsync, and the naive
	// implementation (hash and write one after the other, then fsync).
	for _, c := range []struct {
		name       string
		hash, sync bool
	}{{"io.Copy", false, false}, {"io.Copy+fsync", false, true}, {"io.Copy+SHA-256+fsync", true, true}} {
		b.Run(c.name, func(b *testing.B) {
			dir := b.TempDir()
			b.SetBytes(size)
			i := 0
			for b.Loop() {
				f, err := os.Create(filepath.Join(dir, fmt.Sprint(i)))
				if err != nil {
					b.Fatal(err)
				}
				var w io.Writer = f
				if c.hash {
					w = io.MultiWriter(f, sha256.New())
				}
				if _, err := io.Copy(w, newSrc()); err != nil {
					b.Fatal(err)
				}
				if c.sync {
					if err := f.Sync(); err != nil {
						b.Fatal(err)
					}
				}
				f.Close()
				i++
			}
		})
	}
}

// repeat serves left bytes by cycling over block: a source that costs
// next to nothing, so the benchmark measures the sink.
type repeat struct {
	block []byte
	off   int
	left  int64
}

func (r *repeat) Read(p []byte) (int, error) {
	if r.left == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.left {
		p = p[:r.left]
	}
	n := copy(p, r.block[r.off:])
	r.off = (r.off + n) % len(r.block)
	r.left -= int64(n)
	return n, nil
}
