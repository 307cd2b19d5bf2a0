// Package store is the only holder of Sceau's *gorm.DB. Each exported
// method is one transaction; authorisation filters live in the queries.
package store

import (
	"context"
	"database/sql"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"sceau.fr/sceau/migrations"
	"sceau.fr/sceau/portal/model"
)

// Options says which database to open.
type Options struct {
	Driver       string // "sqlite" or "postgres"
	DSN          string
	MaxOpenConns int
}

// Store wraps the database.
type Store struct {
	db      *gorm.DB
	sql     *sql.DB
	dialect migrations.Dialect
	// notices renders the mails of notices (notifications.go).
	notices atomic.Pointer[NoticeRenderers]
	// auditHead is this instance's guess of the audit chain head (audit.go).
	auditHead auditHeadCache
}

// Open connects and checks the connection with a ping. It does not touch
// the schema: call Migrate or CheckSchema.
func Open(ctx context.Context, o Options) (*Store, error) {
	var dialector gorm.Dialector
	var dialect migrations.Dialect
	switch o.Driver {
	case "postgres":
		dialector, dialect = postgres.Open(o.DSN), migrations.Postgres
	case "sqlite":
		dialector, dialect = sqlite.Open(o.DSN), migrations.SQLite
	default:
		return nil, fmt.Errorf("unknown database driver %q", o.Driver)
	}
	db, err := gorm.Open(dialector, &gorm.Config{
		Logger:                 logger.Discard,
		NowFunc:                func() time.Time { return time.Now().UTC() },
		SkipDefaultTransaction: true,
		TranslateError:         true,
		// gorm's own ping has no context or timeout; Open pings below with ctx.
		DisableAutomaticPing: true,
	})
	if err != nil {
		return nil, err
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	if o.MaxOpenConns > 0 {
		sqlDB.SetMaxOpenConns(o.MaxOpenConns)
		sqlDB.SetMaxIdleConns(o.MaxOpenConns)
	}
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	s := &Store{db: db, sql: sqlDB, dialect: dialect}
	if err := s.Ping(ctx); err != nil {
		_ = sqlDB.Close()
		return nil, err
	}
	return s, nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.sql.PingContext(ctx) }

// Close releases the connections.
func (s *Store) Close() error { return s.sql.Close() }

// Dialect is the SQL flavour in use.
func (s *Store) Dialect() migrations.Dialect { return s.dialect }

// Migrate applies pending migrations, then fills the derived columns a
// migration cannot compute in SQL (fillJurisdictionKeys).
func (s *Store) Migrate(ctx context.Context) ([]migrations.Applied, error) {
	applied, err := migrations.Up(ctx, s.sql, s.dialect)
	if err != nil {
		return applied, err
	}
	return applied, s.fillJurisdictionKeys(ctx)
}

// MigrationStatus lists the migrations and whether each is applied.
func (s *Store) MigrationStatus(ctx context.Context) ([]migrations.State, error) {
	return migrations.Status(ctx, s.sql, s.dialect)
}

// CheckSchema fails with a migrations.OutdatedError when the schema does
// not match this binary.
func (s *Store) CheckSchema(ctx context.Context) error {
	return migrations.Check(ctx, s.sql, s.dialect)
}

// ErrNotFound is returned when a record does not exist (or is not visible).
var ErrNotFound = model.ErrNotFound

// DB exposes the gorm handle to tests in this module's store packages.
func (s *Store) gorm(ctx context.Context) *gorm.DB { return s.db.WithContext(ctx) }

// SQLiteDSN is the connection string for a SQLite file: foreign keys on,
// WAL so readers never wait for the writer, and immediate transactions so
// two writers queue on busy_timeout instead of failing on lock upgrade.
func SQLiteDSN(path string) string {
	return "file:" + path + "?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)&_txlock=immediate"
}
