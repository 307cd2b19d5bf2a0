// Package storetest gives tests real databases: a fresh SQLite file, or a
// throw-away PostgreSQL database created on the server named by
// SCEAU_TEST_DATABASE_URL (make test starts one when it is unset). Under
// CI=true a missing PostgreSQL fails the test instead of skipping it.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver for admin statements

	"sceau.fr/sceau/portal/store"
)

// EnvURL names the PostgreSQL server tests create their databases on.
const EnvURL = "SCEAU_TEST_DATABASE_URL"

// Dialects are the databases every storage test runs against.
var Dialects = []string{"sqlite", "postgres"}

// Each runs fn once per dialect, each with a fresh, migrated store.
func Each(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	t.Helper()
	for _, d := range Dialects {
		t.Run(d, func(t *testing.T) {
			fn(t, Open(t, d))
		})
	}
}

// Open returns a fresh, migrated store of the given dialect, closed at the
// end of the test.
func Open(t testing.TB, dialect string) *store.Store {
	t.Helper()
	s := OpenEmpty(t, dialect)
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatalf("migrate %s: %v", dialect, err)
	}
	return s
}

// OpenEmpty returns a store on a fresh database with no schema.
func OpenEmpty(t testing.TB, dialect string) *store.Store {
	t.Helper()
	opts := store.Options{Driver: dialect, DSN: DSN(t, dialect), MaxOpenConns: 8}
	s, err := store.Open(context.Background(), opts)
	if err != nil {
		t.Fatalf("open %s: %v", dialect, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// DSN creates a fresh database of the dialect and returns its connection
// string; the database is dropped at the end of the test.
func DSN(t testing.TB, dialect string) string {
	t.Helper()
	switch dialect {
	case "sqlite":
		return store.SQLiteDSN(filepath.Join(t.TempDir(), "sceau.db"))
	case "postgres":
		return PostgresURL(t)
	}
	t.Fatalf("unknown dialect %q", dialect)
	return ""
}

// AdminURL returns the server URL from the environment, skipping the test
// (or failing it under CI) when there is none.
func AdminURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(EnvURL)
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set: under CI the PostgreSQL tests must run (use make test)", EnvURL)
		}
		t.Skipf("SKIPPING PostgreSQL: %s is not set; run `make test`, which starts a throw-away cluster", EnvURL)
	}
	return u
}

// PostgresURL creates a throw-away database and returns its URL.
func PostgresURL(t testing.TB) string {
	t.Helper()
	admin := AdminURL(t)
	name := "sceau_test_" + randomHex(6)
	db, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name+" TEMPLATE template0 ENCODING 'UTF8'"); err != nil {
		t.Fatalf("postgres at %s: cannot create a test database: %v", redact(admin), err)
	}
	t.Cleanup(func() { drop(admin, name) })
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("%s is not a URL: %v", EnvURL, err)
	}
	u.Path = "/" + name
	return u.String()
}

func drop(admin, name string) {
	db, err := sql.Open("pgx", admin)
	if err != nil {
		return
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, _ = db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// Describe names the dialect of a store for messages.
func Describe(s *store.Store) string { return fmt.Sprint(s.Dialect()) }

// EachEmpty runs fn once per dialect with a fresh database without schema.
func EachEmpty(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	t.Helper()
	for _, d := range Dialects {
		t.Run(d, func(t *testing.T) {
			fn(t, OpenEmpty(t, d))
		})
	}
}

// OpenPair returns two stores with separate connection pools on the same
// fresh, migrated database, as two Sceau instances would have.
func OpenPair(t testing.TB, dialect string) (*store.Store, *store.Store) {
	t.Helper()
	dsn := DSN(t, dialect)
	var out [2]*store.Store
	for i := range out {
		s, err := store.Open(context.Background(), store.Options{Driver: dialect, DSN: dsn, MaxOpenConns: 8})
		if err != nil {
			t.Fatalf("open %s: %v", dialect, err)
		}
		t.Cleanup(func() { _ = s.Close() })
		out[i] = s
	}
	if _, err := out[0].Migrate(context.Background()); err != nil {
		t.Fatalf("migrate %s: %v", dialect, err)
	}
	return out[0], out[1]
}

// EachPair runs fn once per dialect with two instances' stores on one database.
func EachPair(t *testing.T, fn func(t *testing.T, a, b *store.Store)) {
	t.Helper()
	for _, d := range Dialects {
		t.Run(d, func(t *testing.T) {
			a, b := OpenPair(t, d)
			fn(t, a, b)
		})
	}
}
