// Package migrations holds Sceau's schema as versioned SQL files, one folder
// per dialect, embedded in the binary and applied explicitly with goose.
// The two folders must describe the same tables and columns; a test in
// portal/store checks it.
package migrations

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed postgres/*.sql sqlite/*.sql
var files embed.FS

// versionTable records which migrations were applied.
const versionTable = "schema_migrations"

// Dialect is the SQL flavour of a folder.
type Dialect string

const (
	Postgres Dialect = "postgres"
	SQLite   Dialect = "sqlite"
)

func provider(db *sql.DB, d Dialect) (*goose.Provider, error) {
	sub, err := fs.Sub(files, string(d))
	if err != nil {
		return nil, err
	}
	opts := []goose.ProviderOption{goose.WithTableName(versionTable), goose.WithDisableGlobalRegistry(true)}
	var gd goose.Dialect
	switch d {
	case Postgres:
		gd = goose.DialectPostgres
		// Several instances may start at once: an advisory lock serialises them.
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return nil, err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	case SQLite:
		gd = goose.DialectSQLite3
	default:
		return nil, fmt.Errorf("unknown dialect %q", d)
	}
	return goose.NewProvider(gd, db, sub, opts...)
}

// Applied is one migration that Up applied.
type Applied struct {
	Name     string
	Duration time.Duration
}

// Up applies every pending migration, each in its own transaction.
func Up(ctx context.Context, db *sql.DB, d Dialect) ([]Applied, error) {
	p, err := provider(db, d)
	if err != nil {
		return nil, err
	}
	res, err := p.Up(ctx)
	var out []Applied
	for _, r := range res {
		out = append(out, Applied{Name: r.Source.Path, Duration: r.Duration})
	}
	if err != nil {
		return out, fmt.Errorf("migration failed: %w", err)
	}
	return out, nil
}

// State is one migration file and whether the database has it.
type State struct {
	Version   int64
	Name      string
	Applied   bool
	AppliedAt time.Time
}

// Status lists every migration of the binary and whether it was applied.
func Status(ctx context.Context, db *sql.DB, d Dialect) ([]State, error) {
	p, err := provider(db, d)
	if err != nil {
		return nil, err
	}
	st, err := p.Status(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]State, 0, len(st))
	for _, s := range st {
		out = append(out, State{Version: s.Source.Version, Name: s.Source.Path,
			Applied: s.State == goose.StateApplied, AppliedAt: s.AppliedAt})
	}
	return out, nil
}

// OutdatedError says the database schema does not match this binary.
type OutdatedError struct {
	Current, Target int64
}

func (e *OutdatedError) Error() string {
	if e.Current > e.Target {
		return fmt.Sprintf("the database schema is at version %d, newer than this binary knows (%d): run a newer sceau", e.Current, e.Target)
	}
	return fmt.Sprintf("the database schema is at version %d but this binary needs version %d: run `sceau migrate --config FILE` first", e.Current, e.Target)
}

// ErrOutdated matches any *OutdatedError with errors.Is.
var ErrOutdated = errors.New("database schema outdated")

func (e *OutdatedError) Is(target error) bool { return target == ErrOutdated }

// Check returns an *OutdatedError unless every migration is applied and the
// database knows no newer one.
func Check(ctx context.Context, db *sql.DB, d Dialect) error {
	p, err := provider(db, d)
	if err != nil {
		return err
	}
	current, err := p.GetDBVersion(ctx)
	if err != nil {
		return err
	}
	sources := p.ListSources()
	target := sources[len(sources)-1].Version
	pending, err := p.HasPending(ctx)
	if err != nil {
		return err
	}
	if pending || current != target {
		return &OutdatedError{Current: current, Target: target}
	}
	return nil
}

// Count is the number of migrations of a dialect in this binary.
func Count(d Dialect) int {
	names, _ := fs.Glob(files, string(d)+"/*.sql")
	return len(names)
}
