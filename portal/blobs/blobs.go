// Package blobs stores the files deposited in Sceau: streamed in, never held
// whole in memory, hashed (SHA-256) and measured on the fly, and published
// only once the caller says so.
//
// A deposit is two steps. Put streams the upload into a new, invisible blob
// and returns a Pending carrying its key, size and SHA-256; the caller then
// checks what it needs (size, kind, rights), records the document and calls
// Commit, which publishes the blob durably, or Abort, which removes it. The
// usual shape is:
//
//	p, err := st.Put(ctx, body, maxBytes)
//	if err != nil { ... }                    // nothing was kept
//	defer p.Abort(context.WithoutCancel(ctx)) // no-op once committed
//	err = db.Transaction(func(tx) error {
//		insert the document row (p.Key, p.Size, p.SHA256)
//		return p.Commit(ctx)                 // inside the transaction
//	})
//
// Committing inside the database transaction, just before it commits, means
// a failed insert leaves no published blob. If what follows Commit fails
// (the audit entry, appended last, or the database commit itself), the
// blob stays as an orphan: that is the safe side (the
// outcome of a failed COMMIT can be unknown, and removing a blob that a row
// does point to would lose a deposit).
//
// Anything interrupted between Put and Commit (a crash, a cut connection, a
// forgotten Pending) leaves only a temporary object that Sweep removes. Keys
// are random and never derived from anything the user sent, so file names
// with "../", NUL bytes or bidi overrides never reach storage paths.
//
// Local keeps blobs in a folder; S3 in a bucket of an S3-compatible store
// (Put as a multipart upload to a staging key, Commit as a server-side copy
// to the final key, Abort as a delete, Sweep as listing stale staging
// objects and incomplete uploads, Open as ranged GETs). Both pass the same
// behavioural table (conformance_test.go).
package blobs

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"
)

// Store keeps blobs. Implementations are safe for concurrent use.
type Store interface {
	// Put streams r into a new blob, computing its size and SHA-256 as it
	// goes, and refuses more than max bytes (max >= 0) with ErrTooLarge.
	// The blob cannot be opened until the returned Pending is committed.
	// On any error nothing is kept. A failing r gives an error matching
	// ErrSource; a full disk or quota gives ErrStorageFull; a cancelled ctx
	// stops the copy between two reads (a Read blocked on a client stays
	// blocked until the client's connection is closed, which net/http does
	// when the request's context ends).
	Put(ctx context.Context, r io.Reader, max int64) (*Pending, error)

	// Open returns the content of a committed blob and its size. Unknown
	// keys, malformed keys and uncommitted blobs all give ErrNotFound.
	// The context bounds the opening (and, for remote stores, the reads).
	Open(ctx context.Context, key string) (io.ReadSeekCloser, int64, error)

	// Sweep removes what interrupted uploads left behind: temporary
	// objects untouched for longer than olderThan (which must be positive).
	// An upload still in progress keeps touching its temporary object, so
	// olderThan is an idle time; choose it well above the server's read
	// timeout and the longest expected gap between Put and Commit. A
	// Pending swept before its Commit fails to commit with ErrNotFound.
	Sweep(ctx context.Context, olderThan time.Duration) (removed int, err error)

	// List calls fn for every committed blob, in no particular order, and
	// stops at fn's first error. Temporary objects are not listed. It
	// reads no content (`sceau storage verify` uses it to find blobs that
	// no document points to).
	List(ctx context.Context, fn func(Info) error) error
}

// Info describes a committed blob.
type Info struct {
	Key      string
	Size     int64
	Modified time.Time
}

var (
	// ErrNotFound: no committed blob has this key.
	ErrNotFound = errors.New("blobs: not found")
	// ErrTooLarge: the upload exceeded the size limit given to Put.
	ErrTooLarge = errors.New("blobs: too large")
	// ErrStorageFull: the storage has no space left (or the quota is reached).
	ErrStorageFull = errors.New("blobs: storage full")
	// ErrSource: reading the upload failed (the client stopped sending, the
	// body was malformed...); the storage itself is fine. The reader's own
	// error is wrapped as well.
	ErrSource = errors.New("blobs: reading the upload failed")
	// ErrAborted: Commit was called on an aborted Pending.
	ErrAborted = errors.New("blobs: pending blob was aborted")
)

// Pending is a blob written by Put but not yet published. Exactly one of
// Commit or Abort should eventually be called; Abort after Commit does
// nothing, so deferring Abort is the simplest way to never leak one.
type Pending struct {
	Key    string   // opaque storage key: 32 lowercase hex characters
	Size   int64    // bytes read from the source
	SHA256 [32]byte // digest of those bytes

	fin   finisher
	mu    sync.Mutex
	state pendingState
}

type pendingState int

const (
	statePending pendingState = iota
	stateCommitted
	stateAborted
)

// finisher is what a backend does on Commit and Abort.
type finisher interface {
	commit(ctx context.Context, key string) error
	abort(ctx context.Context, key string) error
}

// Commit publishes the blob durably: once it returns nil, the blob can be
// opened and survives a crash. Committing twice is a no-op; committing an
// aborted Pending gives ErrAborted. After a failed Commit the blob is still
// unpublished: Commit may be retried, or Abort called.
func (p *Pending) Commit(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch p.state {
	case stateCommitted:
		return nil
	case stateAborted:
		return ErrAborted
	}
	if err := p.fin.commit(ctx, p.Key); err != nil {
		return err
	}
	p.state = stateCommitted
	return nil
}

// Abort removes an uncommitted blob; after Commit, or a first Abort, it
// does nothing. Pass a context that is not already cancelled when the
// backend is remote (context.WithoutCancel of the request's); the local
// store ignores it. If removal fails, the leftover is for Sweep.
func (p *Pending) Abort(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state != statePending {
		return nil
	}
	p.state = stateAborted
	return p.fin.abort(ctx, p.Key)
}
