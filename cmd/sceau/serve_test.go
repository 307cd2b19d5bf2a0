package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sceau.fr/sceau/configs"
	"sceau.fr/sceau/migrations"
)

// TestInitThenServe is the first-run flow: init, serve, every listener
// answers, the embedded SQLite becomes ready, cancellation stops cleanly.
func TestInitThenServe(t *testing.T) {
	_, cfgPath := initData(t)
	a := setListeners(t)
	r := startServe(t, cfgPath)

	r.waitStatus("admin", "/readyz", 200)
	for _, l := range []string{"portal", "counter", "admin"} {
		r.mustStatus(l, "/healthz", 200)
		r.mustStatus(l, "/readyz", 200)
	}
	r.mustStatus("admin", "/metrics", 200)
	r.mustStatus("counter", "/", 200)

	out := r.stdout.String()
	_, port, _ := net.SplitHostPort(a.portal)
	for _, w := range []string{"Sceau is running", "https://localhost:" + port, "http://" + a.admin + "/metrics"} {
		if !strings.Contains(out, w) {
			t.Errorf("serve output lacks %q:\n%s", w, out)
		}
	}
	if err := r.stop(); err != nil {
		t.Fatalf("runServe after cancellation = %v, want nil", err)
	}
	assertNotListening(t, a.all()...)
}

// TestServeCommandStopsOnSIGINT drives the real `sceau serve` command and
// stops it the way an operator does.
func TestServeCommandStopsOnSIGINT(t *testing.T) {
	_, cfgPath := initData(t)
	a := setListeners(t)
	root := newRootCommand()
	var stdout, stderr syncBuffer
	root.SetArgs([]string{"serve", "--config", cfgPath})
	root.SetOut(&stdout)
	root.SetErr(&stderr)
	done := make(chan error, 1)
	go func() { done <- root.Execute() }()

	// A probe client on the listeners of the command.
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	r := &running{t: t, cfg: cfg, a: a, done: make(chan struct{}),
		https: httpsClient(t, trustAnchor(cfg)), http: &http.Client{Timeout: 5 * time.Second}}
	deadline := time.Now().Add(startDeadline)
	for {
		code, _, err := r.get("admin", "/readyz")
		if err == nil && code == 200 {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("serve exited before becoming ready: %v\n%s", err, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			interruptSelf(t)
			t.Fatalf("serve not ready after %s (last: %d %v)\n%s", startDeadline, code, err, stderr.String())
		}
		time.Sleep(pollEvery)
	}
	r.mustStatus("portal", "/healthz", 200)
	r.https.CloseIdleConnections()
	r.http.CloseIdleConnections()

	interruptSelf(t)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve after SIGINT = %v, want nil", err)
		}
	case <-time.After(startDeadline):
		t.Fatalf("serve did not stop within %s of SIGINT\n%s", startDeadline, stderr.String())
	}
	if !strings.Contains(stderr.String(), "shutting down") {
		t.Errorf("no shutdown line in the log:\n%s", stderr.String())
	}
	assertNotListening(t, a.all()...)
}

// TestEmbeddedMigratesItselfAtStart: SQLite applies its migrations when
// serve starts, and a second start finds nothing to apply.
func TestEmbeddedMigratesItselfAtStart(t *testing.T) {
	_, cfgPath := initData(t)
	setListeners(t)

	stdout, _, err := execute(t, "migrate", "--config", cfgPath, "--status")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout, "00001_outbox.sql") || !strings.Contains(stdout, fmt.Sprintf("%d pending", migrations.Count(migrations.SQLite))) {
		t.Errorf("status of a new data folder:\n%s", stdout)
	}

	first := startServe(t, cfgPath)
	first.waitStatus("admin", "/readyz", 200)
	if log := first.stderr.String(); lineOf(log, "migration applied") < 0 || !strings.Contains(log, "00001_outbox.sql") {
		t.Errorf("first start applied no migration:\n%s", log)
	}
	if err := first.stop(); err != nil {
		t.Fatal(err)
	}

	second := startServe(t, cfgPath)
	second.waitStatus("admin", "/readyz", 200)
	if log := second.stderr.String(); strings.Contains(log, "migration applied") {
		t.Errorf("second start applied a migration again:\n%s", log)
	}
	if err := second.stop(); err != nil {
		t.Fatal(err)
	}

	stdout, _, err = execute(t, "migrate", "--config", cfgPath, "--status")
	if err != nil {
		t.Fatal(err)
	}
	row := strings.Split(stdout, "\n")[max(lineOf(stdout, "00001_outbox.sql"), 0)]
	if !strings.Contains(stdout, "0 pending") || strings.Contains(row, "pending") || !strings.Contains(row, "UTC") {
		t.Errorf("status after serve:\n%s", stdout)
	}
	stdout, _, err = execute(t, "migrate", "--config", cfgPath)
	if err != nil || !strings.Contains(stdout, "schema already up to date") {
		t.Errorf("migrate after serve = %v:\n%s", err, stdout)
	}
}

// writeConfig replaces the configuration of an initialised folder with
// the embedded one after the given replacements (old, new pairs).
func writeConfig(t *testing.T, cfgPath string, replace ...string) {
	t.Helper()
	s := string(configs.Embedded)
	for i := 0; i < len(replace); i += 2 {
		if !strings.Contains(s, replace[i]) {
			t.Fatalf("the embedded configuration has no %q", replace[i])
		}
		s = strings.Replace(s, replace[i], replace[i+1], 1)
	}
	if err := os.WriteFile(cfgPath, []byte(s), 0o640); err != nil {
		t.Fatal(err)
	}
}

func TestServeRejectsInvalidConfiguration(t *testing.T) {
	for _, tc := range []struct {
		name    string
		replace []string
		env     map[string]string
		// want are substrings that must each appear, every one on its own
		// line of the error.
		want []string
		// separate: each of want is a different problem, on its own line.
		separate bool
	}{
		{name: "broken TOML", replace: []string{`format = "text"`, `format = "text`},
			want: []string{"sceau.toml", fmt.Sprintf("line %d", lineOf(string(configs.Embedded), `format = "text"`)+1)}},
		{name: "unknown key", replace: []string{`path = "files"`, `path = "files"` + "\npaht = \"x\""},
			want: []string{`unknown setting "storage.paht"`}},
		{name: "wrong type", replace: []string{"max_body_bytes = 1048576", `max_body_bytes = "big"`},
			want: []string{"server.max_body_bytes"}},
		{name: "bad duration", replace: []string{`idle_timeout = "2m"`, `idle_timeout = "soon"`},
			want: []string{"idle_timeout", `"soon" is not a duration`}},
		{name: "unknown driver", replace: []string{`driver = "sqlite"`, `driver = "oracle"`},
			want: []string{`database.driver: "oracle" is not one of sqlite, postgres`}},
		{name: "admin not loopback", env: map[string]string{"SCEAU_SERVER_ADMIN_LISTEN": "0.0.0.0:0"},
			want: []string{"server.admin.listen", "loopback"}},
		{name: "missing mail.from", replace: []string{`from = "sceau@localhost"` + "\n", ""},
			want: []string{"mail.from: is required"}},
		{name: "bad environment value", env: map[string]string{"SCEAU_SERVER_DEVELOPMENT": "maybe"},
			want: []string{`SCEAU_SERVER_DEVELOPMENT: "maybe" is not true or false`}},
		{name: "postgres without URL", env: map[string]string{"SCEAU_DATABASE_DRIVER": "postgres"},
			want: []string{"database.url_file: is required"}},
		{name: "several problems at once",
			replace:  []string{`driver = "sqlite"`, `driver = "oracle"`, `from = "sceau@localhost"` + "\n", ""},
			env:      map[string]string{"SCEAU_SERVER_ADMIN_LISTEN": "0.0.0.0:0", "SCEAU_LOG_LEVEL": "chatty"},
			want:     []string{"database.driver", "mail.from", "server.admin.listen", "log.level"},
			separate: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, cfgPath := initData(t)
			a := setListeners(t)
			for k, v := range tc.env {
				if v == "0.0.0.0:0" {
					// a real port, so that "nothing listens" means something
					_, port, _ := net.SplitHostPort(freeAddrs(t, 1)[0])
					v = "0.0.0.0:" + port
					a.admin = v
				}
				t.Setenv(k, v)
			}
			writeConfig(t, cfgPath, tc.replace...)
			stdout, _, err := execute(t, "serve", "--config", cfgPath)
			if err == nil {
				t.Fatalf("serve accepted the configuration:\n%s", stdout)
			}
			msg := err.Error()
			t.Logf("sceau: %s", msg)
			seen := map[int]string{}
			for _, w := range tc.want {
				i := lineOf(msg, w)
				if i < 0 {
					t.Errorf("error does not mention %q:\n%s", w, msg)
					continue
				}
				if tc.separate {
					if other, dup := seen[i]; dup {
						t.Errorf("%q and %q are reported on the same line:\n%s", w, other, msg)
					}
					seen[i] = w
				}
			}
			if strings.Contains(stdout, "Sceau is running") {
				t.Errorf("serve printed that it runs:\n%s", stdout)
			}
			assertNotListening(t, a.all()...)
		})
	}
}

func TestServeConfigFlagFaults(t *testing.T) {
	_, _, err := execute(t, "serve")
	if err == nil || !strings.Contains(err.Error(), "--config is required") {
		t.Errorf("serve without --config = %v", err)
	}
	missing := filepath.Join(t.TempDir(), "nowhere.toml")
	_, _, err = execute(t, "serve", "--config", missing)
	if err == nil || !strings.Contains(err.Error(), missing) || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("serve with a missing file = %v", err)
	}
	_, _, err = execute(t, "migrate")
	if err == nil || !strings.Contains(err.Error(), "--config is required") {
		t.Errorf("migrate without --config = %v", err)
	}
}

func TestServePortTaken(t *testing.T) {
	for _, taken := range []string{"portal", "counter", "admin"} {
		t.Run(taken, func(t *testing.T) {
			_, cfgPath := initData(t)
			a := setListeners(t)
			addr := map[string]string{"portal": a.portal, "counter": a.counter, "admin": a.admin}[taken]
			holder, err := net.Listen("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer holder.Close()

			stdout, _, err := execute(t, "serve", "--config", cfgPath)
			if err == nil {
				t.Fatalf("serve started although %s was taken:\n%s", addr, stdout)
			}
			for _, want := range []string{taken + " listener: cannot listen on " + addr, "address already in use"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("err = %q, want it to contain %q", err, want)
				}
			}
			var others []string
			for name, a := range addr2map(a) {
				if name != taken {
					others = append(others, a)
				}
			}
			assertNotListening(t, others...)
			// The holder is untouched.
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Errorf("the other listener on %s was disturbed: %v", addr, err)
			} else {
				c.Close()
			}
		})
	}
}

func addr2map(a addrs) map[string]string {
	return map[string]string{"portal": a.portal, "counter": a.counter, "admin": a.admin}
}

func TestServeDataFolderFaults(t *testing.T) {
	for _, tc := range []struct {
		name string
		// setup breaks the data folder dir and returns the message
		// expected in the error.
		setup func(t *testing.T, dir string) []string
	}{
		{"storage path is a file", func(t *testing.T, dir string) []string {
			p := filepath.Join(dir, "files")
			mustRemove(t, p)
			mustWrite(t, p)
			return []string{"storage folder " + p + " cannot be created: not a directory"}
		}},
		{"storage parent is a file", func(t *testing.T, dir string) []string {
			blocker := filepath.Join(dir, "blocker")
			mustWrite(t, blocker)
			p := filepath.Join(blocker, "files")
			t.Setenv("SCEAU_STORAGE_PATH", p)
			return []string{"storage folder " + p + " cannot be created: not a directory"}
		}},
		{"mail sink is a file", func(t *testing.T, dir string) []string {
			p := filepath.Join(dir, "mail")
			mustRemove(t, p)
			mustWrite(t, p)
			return []string{"mail sink folder " + p}
		}},
		{"database folder under a file", func(t *testing.T, dir string) []string {
			blocker := filepath.Join(dir, "blocker")
			mustWrite(t, blocker)
			t.Setenv("SCEAU_DATABASE_PATH", filepath.Join(blocker, "sceau.db"))
			return []string{"database folder " + blocker}
		}},
		{"storage not writable", func(t *testing.T, dir string) []string {
			if os.Geteuid() == 0 {
				t.Skip("root bypasses permissions; the file cases cover this path")
			}
			p := filepath.Join(dir, "files")
			if err := os.Chmod(p, 0o500); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = os.Chmod(p, 0o750) })
			return []string{"storage folder " + p + " is not writable: permission denied"}
		}},
		{"CA key missing", func(t *testing.T, dir string) []string {
			p := filepath.Join(dir, "ca", "intermediate.key")
			mustRemove(t, p)
			return []string{"CA key", p, "missing"}
		}},
		{"wrong CA key password", func(t *testing.T, dir string) []string {
			if err := os.WriteFile(filepath.Join(dir, "secrets", "ca-key-password"), []byte("not the password\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			return []string{"wrong CA key password"}
		}},
		{"server certificate files missing", func(t *testing.T, dir string) []string {
			t.Setenv("SCEAU_SERVER_TLS_SOURCE", "files")
			t.Setenv("SCEAU_SERVER_TLS_CERT_FILE", filepath.Join(dir, "nope.crt"))
			t.Setenv("SCEAU_SERVER_TLS_KEY_FILE", filepath.Join(dir, "nope.key"))
			return []string{"server certificate", "nope.crt", "no such file"}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, cfgPath := initData(t)
			a := setListeners(t)
			want := tc.setup(t, dir)
			stdout, _, err := execute(t, "serve", "--config", cfgPath)
			if err == nil {
				t.Fatalf("serve started:\n%s", stdout)
			}
			for _, w := range want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %q, want it to contain %q", err, w)
				}
			}
			assertNotListening(t, a.all()...)
		})
	}
}

func mustRemove(t *testing.T, p string) {
	t.Helper()
	if err := os.RemoveAll(p); err != nil {
		t.Fatal(err)
	}
}

func mustWrite(t *testing.T, p string) {
	t.Helper()
	if err := os.WriteFile(p, []byte("not a folder\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}
