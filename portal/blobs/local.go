package blobs

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// Layout of a Local folder:
//
//	tmp/<key>          uploads in progress and pending blobs (Sweep's only ground)
//	ab/cd/<key>        committed blobs, key = "abcd…" (32 hex characters)
//
// Committed files are read-only (0440) and are never replaced: Commit
// publishes with a hard link, which fails rather than overwrite.
const (
	tmpDir   = "tmp"
	keyBytes = 16 // 128 random bits
	keyLen   = 2 * keyBytes
	dirPerm  = 0o750
	tmpPerm  = 0o640
	blobPerm = 0o440
	// bufSize is the size of each copy buffer (see nBufs).
	bufSize = 128 << 10
)

// Local is a Store in a folder of the local filesystem (or any mounted
// filesystem with hard links and fsync: ext4, XFS, btrfs, ZFS, NFS).
// Every access goes through an os.Root, so no path can leave the folder.
type Local struct {
	dir  string
	root *os.Root

	// durable holds the fan-out folders ("ab/cd") whose creation is known
	// to be on disk, so Commit syncs their parents only once.
	durable sync.Map

	// wrapWriter, for tests, wraps the temporary file's writer in Put.
	wrapWriter func(io.Writer) io.Writer
}

var _ Store = (*Local)(nil)

// NewLocal opens (creating it if needed) a blob folder and checks that it
// is usable: a file can be created, written, synced, hard-linked and
// removed there. The folder should hold nothing but blobs.
func NewLocal(dir string) (*Local, error) {
	if dir == "" {
		return nil, errors.New("blobs: no storage folder given")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("blobs: storage folder %q: %w", dir, err)
	}
	if err := os.MkdirAll(abs, dirPerm); err != nil {
		return nil, fmt.Errorf("blobs: creating storage folder: %w", err)
	}
	root, err := os.OpenRoot(abs)
	if err != nil {
		return nil, fmt.Errorf("blobs: opening storage folder: %w", err)
	}
	l := &Local{dir: abs, root: root}
	if err := l.check(); err != nil {
		root.Close()
		return nil, fmt.Errorf("blobs: storage folder %s is not usable: %w", abs, err)
	}
	return l, nil
}

// check creates tmp/ and tries out what Put and Commit need there.
func (l *Local) check() error {
	if err := l.root.Mkdir(tmpDir, dirPerm); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	if err := l.syncDir("."); err != nil {
		return err
	}
	probe := tmpDir + "/probe-" + newKey()
	f, err := l.root.OpenFile(probe, os.O_WRONLY|os.O_CREATE|os.O_EXCL, tmpPerm)
	if err != nil {
		return err
	}
	defer l.root.Remove(probe)
	_, err = f.WriteString("sceau\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := l.root.Link(probe, probe+"-link"); err != nil {
		return fmt.Errorf("hard links are needed: %w", err)
	}
	return l.root.Remove(probe + "-link")
}

// Dir is the absolute path of the folder.
func (l *Local) Dir() string { return l.dir }

// Close releases the folder. Pending blobs can no longer be committed.
func (l *Local) Close() error { return l.root.Close() }

// Put implements Store. The file's data is synced before Put returns, so
// that Commit, which is meant to run inside a database transaction, stays
// short (a link and a folder sync).
func (l *Local) Put(ctx context.Context, r io.Reader, max int64) (_ *Pending, err error) {
	if max < 0 {
		return nil, fmt.Errorf("blobs: negative size limit %d", max)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("blobs: upload not started: %w", err)
	}
	key := newKey()
	name := tmpPath(key)
	f, err := l.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, tmpPerm)
	if err != nil {
		return nil, storageErr("creating temporary file", err)
	}
	closed := false
	defer func() {
		if err != nil {
			if !closed {
				f.Close()
			}
			l.root.Remove(name)
		}
	}()

	var w io.Writer = f
	if l.wrapWriter != nil {
		w = l.wrapWriter(f)
	}
	h := sha256.New()
	n, err := copyHashed(ctx, w, h, r, max)
	if err != nil {
		return nil, err
	}
	if err := f.Chmod(blobPerm); err != nil {
		return nil, storageErr("protecting temporary file", err)
	}
	if err := f.Sync(); err != nil {
		return nil, storageErr("syncing temporary file", err)
	}
	closed = true
	if err := f.Close(); err != nil {
		return nil, storageErr("closing temporary file", err)
	}
	p := &Pending{Key: key, Size: n, fin: l}
	h.Sum(p.SHA256[:0])
	return p, nil
}

// Copy buffers: a Put in progress holds nBufs buffers of bufSize, pooled.
// While the caller's goroutine reads the next buffer and writes one to the
// file, a helper goroutine hashes the previous ones: on a machine with a
// spare core, hashing then costs little extra time.
const nBufs = 4

var bufPool = sync.Pool{New: func() any { b := make([]byte, nBufs*bufSize); return &b }}

// copyHashed copies r to w and h until EOF, refusing more than max bytes
// and checking ctx between buffers.
func copyHashed(ctx context.Context, w io.Writer, h hash.Hash, r io.Reader, max int64) (n int64, err error) {
	bp := bufPool.Get().(*[]byte)
	free := make(chan []byte, nBufs)
	for i := range nBufs {
		free <- (*bp)[i*bufSize : (i+1)*bufSize : (i+1)*bufSize]
	}
	toHash := make(chan []byte, nBufs)
	hashed := make(chan struct{})
	go func() {
		defer close(hashed)
		for b := range toHash {
			h.Write(b)
			free <- b[:cap(b)]
		}
	}()
	defer func() {
		close(toHash)
		<-hashed // h is complete, and no buffer is in use any more
		bufPool.Put(bp)
	}()

	for {
		if err := ctx.Err(); err != nil {
			return n, fmt.Errorf("blobs: upload interrupted after %d bytes: %w", n, err)
		}
		buf := <-free
		nr, rerr := fill(r, buf)
		if nr > 0 {
			if int64(nr) > max-n {
				return n, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, max)
			}
			toHash <- buf[:nr]
			if _, werr := w.Write(buf[:nr]); werr != nil {
				return n, storageErr("writing temporary file", werr)
			}
			n += int64(nr)
		} else {
			free <- buf
		}
		switch {
		case rerr == io.EOF:
			return n, nil
		case rerr != nil:
			return n, fmt.Errorf("%w after %d bytes: %w", ErrSource, n, rerr)
		}
	}
}

// fill reads into buf until it is full or r fails: network bodies come in
// small pieces (a TLS record is at most 16 KiB), and fewer, larger writes
// are cheaper. A full buffer returns a nil error.
func fill(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		nr, err := r.Read(buf[n:])
		n += nr
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// commit publishes tmp/<key> as ab/cd/<key>: link, then sync the folder.
func (l *Local) commit(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("blobs: commit %s: %w", key, err)
	}
	if err := l.ensureDirs(key); err != nil {
		return err
	}
	final := finalPath(key)
	if err := l.root.Link(tmpPath(key), final); err != nil {
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("%w: pending blob %s is gone (swept as stale?)", ErrNotFound, key)
		case errors.Is(err, fs.ErrExist):
			return fmt.Errorf("blobs: commit %s: a blob with this key already exists", key)
		}
		return storageErr("publishing blob", err)
	}
	if err := l.syncDir(leafDir(key)); err != nil {
		// Not known to be durable: unpublish, so that Commit can be
		// retried and Abort cleans up the temporary file.
		l.root.Remove(final)
		return storageErr("syncing blob folder", err)
	}
	// The temporary name is no longer needed; if removing it fails, or a
	// crash comes first, Sweep removes it later (the blob keeps its data).
	l.root.Remove(tmpPath(key))
	return nil
}

func (l *Local) abort(_ context.Context, key string) error {
	if err := l.root.Remove(tmpPath(key)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("blobs: abort %s: %w", key, err)
	}
	return nil
}

// ensureDirs creates ab/ and ab/cd/ for key and makes their entries
// durable. It also syncs when the folders already existed: another Commit
// may have created them without having synced yet.
func (l *Local) ensureDirs(key string) error {
	leaf := leafDir(key)
	if _, ok := l.durable.Load(leaf); ok {
		return nil
	}
	top := key[:2]
	for _, d := range []string{top, leaf} {
		if err := l.root.Mkdir(d, dirPerm); err != nil && !errors.Is(err, fs.ErrExist) {
			return storageErr("creating blob folder", err)
		}
	}
	for _, d := range []string{".", top} {
		if err := l.syncDir(d); err != nil {
			return storageErr("syncing blob folder", err)
		}
	}
	l.durable.Store(leaf, struct{}{})
	return nil
}

// syncDir fsyncs a folder, so that the entries created in it survive a
// crash. Like PostgreSQL, it accepts EINVAL from filesystems that cannot
// sync folders.
func (l *Local) syncDir(name string) error {
	d, err := l.root.Open(name)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, syscall.EINVAL) {
		return nil
	}
	return err
}

// Open implements Store. The key is checked before any filesystem access.
func (l *Local) Open(ctx context.Context, key string) (io.ReadSeekCloser, int64, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	if !validKey(key) {
		return nil, 0, fmt.Errorf("%w: malformed key", ErrNotFound)
	}
	f, err := l.root.Open(finalPath(key))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, 0, fmt.Errorf("%w: %s", ErrNotFound, key)
		}
		return nil, 0, fmt.Errorf("blobs: open %s: %w", key, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("blobs: open %s: %w", key, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, 0, fmt.Errorf("%w: %s", ErrNotFound, key)
	}
	return f, fi.Size(), nil
}

// Sweep implements Store: it removes files in tmp/ last modified more than
// olderThan ago. Committed blobs are never touched.
func (l *Local) Sweep(ctx context.Context, olderThan time.Duration) (int, error) {
	if olderThan <= 0 {
		return 0, fmt.Errorf("blobs: sweep threshold must be positive, got %s", olderThan)
	}
	cutoff := time.Now().Add(-olderThan)
	d, err := l.root.Open(tmpDir)
	if err != nil {
		return 0, fmt.Errorf("blobs: sweep: %w", err)
	}
	defer d.Close()
	removed := 0
	var firstErr error
	for {
		entries, rerr := d.ReadDir(256)
		for _, e := range entries {
			if err := ctx.Err(); err != nil {
				return removed, fmt.Errorf("blobs: sweep: %w", err)
			}
			if !e.Type().IsRegular() {
				continue
			}
			info, err := e.Info()
			if err != nil || !info.ModTime().Before(cutoff) {
				continue // gone meanwhile, or fresh
			}
			switch err := l.root.Remove(tmpDir + "/" + e.Name()); {
			case err == nil:
				removed++
			case !errors.Is(err, fs.ErrNotExist) && firstErr == nil:
				firstErr = fmt.Errorf("blobs: sweep: %w", err)
			}
		}
		if rerr == io.EOF {
			return removed, firstErr
		}
		if rerr != nil {
			return removed, fmt.Errorf("blobs: sweep: %w", rerr)
		}
	}
}

// List implements Store: it walks the fan-out folders ab/cd/ and skips
// tmp/ and anything that is not a blob's name.
func (l *Local) List(ctx context.Context, fn func(Info) error) error {
	return fs.WalkDir(l.root.FS(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("blobs: list: %w", err)
		}
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		if d.IsDir() {
			if path == tmpDir {
				return fs.SkipDir
			}
			return nil
		}
		key := d.Name()
		if !d.Type().IsRegular() || !validKey(key) || path != finalPath(key) {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return fmt.Errorf("blobs: list: %w", err)
		}
		return fn(Info{Key: key, Size: info.Size(), Modified: info.ModTime()})
	})
}

// newKey returns 128 random bits in hex.
func newKey() string {
	var b [keyBytes]byte
	rand.Read(b[:]) // never fails (Go ≥ 1.24 crashes instead)
	return hex.EncodeToString(b[:])
}

// validKey accepts exactly what newKey produces: 32 lowercase hex digits.
func validKey(key string) bool {
	if len(key) != keyLen {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func tmpPath(key string) string   { return tmpDir + "/" + key }
func leafDir(key string) string   { return key[:2] + "/" + key[2:4] }
func finalPath(key string) string { return leafDir(key) + "/" + key }

// storageErr wraps a filesystem error, marking a full disk or quota.
func storageErr(op string, err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return fmt.Errorf("%w: %s: %w", ErrStorageFull, op, err)
	}
	return fmt.Errorf("blobs: %s: %w", op, err)
}
