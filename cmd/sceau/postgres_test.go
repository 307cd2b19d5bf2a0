package main

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"sceau.fr/sceau/migrations"
	"sceau.fr/sceau/portal/store/storetest"
)

// usePostgres points the initialised configuration at url through the
// environment, as a production deployment does.
func usePostgres(t *testing.T, url string) {
	t.Helper()
	t.Setenv("SCEAU_DATABASE_DRIVER", "postgres")
	t.Setenv("SCEAU_DATABASE_URL", url)
}

// TestPostgresDownAtStart: serve starts while PostgreSQL is unreachable,
// answers /healthz but not /readyz, retries with backoff, and becomes ready
// once the database appears.
func TestPostgresDownAtStart(t *testing.T) {
	dbURL := storetest.PostgresURL(t)
	_, cfgPath := initData(t)
	a := setListeners(t)

	usePostgres(t, dbURL)
	stdout, _, err := execute(t, "migrate", "--config", cfgPath)
	if err != nil {
		t.Fatalf("migrate: %v\n%s", err, stdout)
	}

	// A first run with the database up issues and caches the server
	// certificate (Sceau's own CA), as any installation has after its first
	// start; later starts serve TLS with it before the database answers.
	first := startServe(t, cfgPath)
	first.waitStatus("admin", "/readyz", 200)
	if err := first.stop(); err != nil {
		t.Fatal(err)
	}

	// The database will appear on this port, behind a forwarder.
	pgAddr := freeAddrs(t, 1)[0]
	t.Setenv("SCEAU_DATABASE_URL", viaTCP(t, dbURL, pgAddr))
	r := startServe(t, cfgPath)

	r.waitLog("database unreachable, retrying")
	r.waitStatus("admin", "/healthz", 200)
	for _, l := range []string{"portal", "counter", "admin"} {
		r.mustStatus(l, "/healthz", 200)
		r.mustStatus(l, "/readyz", 503)
	}

	network, backend := pgBackend(t, dbURL)
	forward(t, pgAddr, network, backend)

	r.waitStatus("admin", "/readyz", 200)
	r.mustStatus("portal", "/readyz", 200)
	log := r.stderr.String()
	if !strings.Contains(log, "database reachable again") {
		t.Errorf("no recovery line in the log:\n%s", log)
	}
	if strings.Contains(log, dbURL) || strings.Contains(log, viaTCP(t, dbURL, pgAddr)) {
		t.Errorf("the log shows the database URL:\n%s", log)
	}
	if err := r.stop(); err != nil {
		t.Fatalf("runServe after cancellation = %v, want nil", err)
	}
	assertNotListening(t, a.all()...)
}

// TestPostgresDownCancelled: SIGINT while still waiting for the database
// stops serve cleanly.
func TestPostgresDownCancelled(t *testing.T) {
	_, cfgPath := initData(t)
	a := setListeners(t)
	usePostgres(t, "postgres://sceau@"+freeAddrs(t, 1)[0]+"/sceau?sslmode=disable")
	r := startServe(t, cfgPath)
	r.waitLog("database unreachable, retrying")
	r.mustStatus("admin", "/readyz", 503)
	if err := r.stop(); err != nil {
		t.Fatalf("runServe cancelled while connecting = %v, want nil", err)
	}
	assertNotListening(t, a.all()...)
}

// TestPostgresGivesUpAfterAttempts: with database.connect_attempts set,
// serve stops with an error instead of retrying forever, after retries
// whose delay doubles.
func TestPostgresGivesUpAfterAttempts(t *testing.T) {
	_, cfgPath := initData(t)
	a := setListeners(t)
	usePostgres(t, "postgres://sceau@"+freeAddrs(t, 1)[0]+"/sceau?sslmode=disable")
	t.Setenv("SCEAU_DATABASE_CONNECT_ATTEMPTS", "3")
	_, stderr, err := execute(t, "serve", "--config", cfgPath)
	if err == nil || !strings.Contains(err.Error(), "database unreachable after 3 attempts") {
		t.Fatalf("err = %v, want database unreachable after 3 attempts", err)
	}
	for _, w := range []string{"attempt=1 retry_in=500ms", "attempt=2 retry_in=1s"} {
		if !strings.Contains(stderr, w) {
			t.Errorf("log lacks %q:\n%s", w, stderr)
		}
	}
	if strings.Contains(stderr, "attempt=3 retry_in") {
		t.Errorf("a retry was announced after the last attempt:\n%s", stderr)
	}
	assertNotListening(t, a.all()...)
}

// TestPostgresOutdatedSchema: a fresh PostgreSQL database is not migrated
// by serve; serve stops and asks for `sceau migrate`, which then lets it
// start. migrate --status shows the migration pending, then applied.
func TestPostgresOutdatedSchema(t *testing.T) {
	dbURL := storetest.PostgresURL(t)
	_, cfgPath := initData(t)
	a := setListeners(t)
	usePostgres(t, dbURL)

	stdout, _, err := execute(t, "serve", "--config", cfgPath)
	if err == nil {
		t.Fatalf("serve started on an unmigrated database:\n%s", stdout)
	}
	if !errors.Is(err, migrations.ErrOutdated) || !strings.Contains(err.Error(), "sceau migrate") {
		t.Errorf("err = %v, want an outdated schema telling to run sceau migrate", err)
	}
	assertNotListening(t, a.all()...)

	// The same, as a process: a non-zero exit and the advice on stderr.
	_, stderr, code := runMain(t, "serve", "--config", cfgPath)
	if code == 0 || !strings.Contains(stderr, "sceau: ") || !strings.Contains(stderr, "sceau migrate") {
		t.Errorf("sceau serve on an unmigrated database: exit %d, stderr:\n%s", code, stderr)
	}
	assertNotListening(t, a.all()...)

	stdout, _, err = execute(t, "migrate", "--config", cfgPath, "--status")
	if err != nil {
		t.Fatal(err)
	}
	row := lineOf(stdout, "00001_outbox.sql")
	if row < 0 || !strings.HasSuffix(strings.Split(stdout, "\n")[row], "pending") || !strings.Contains(stdout, fmt.Sprintf("%d pending", migrations.Count(migrations.Postgres))) {
		t.Errorf("status before migrate:\n%s", stdout)
	}

	stdout, _, err = execute(t, "migrate", "--config", cfgPath)
	if err != nil || !strings.Contains(stdout, "applied 00001_outbox.sql") {
		t.Fatalf("migrate = %v:\n%s", err, stdout)
	}

	stdout, _, err = execute(t, "migrate", "--config", cfgPath, "--status")
	if err != nil {
		t.Fatal(err)
	}
	row = lineOf(stdout, "00001_outbox.sql")
	if line := strings.Split(stdout, "\n")[max(row, 0)]; row < 0 || strings.Contains(line, "pending") ||
		!strings.HasSuffix(line, "UTC") || !strings.Contains(stdout, "0 pending") {
		t.Errorf("status after migrate:\n%s", stdout)
	}

	stdout, _, err = execute(t, "migrate", "--config", cfgPath)
	if err != nil || !strings.Contains(stdout, "schema already up to date") {
		t.Errorf("second migrate = %v:\n%s", err, stdout)
	}

	r := startServe(t, cfgPath)
	r.waitStatus("admin", "/readyz", 200)
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
}
