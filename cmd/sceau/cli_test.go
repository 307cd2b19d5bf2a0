package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sceau.fr/sceau/configs"
)

func TestHelpDescribesEachCommand(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--help"}, []string{"court-ordered expert", "init", "serve", "migrate", "version",
			"Write a working configuration", "Run the server", "Apply pending database migrations", "Print the version"}},
		{[]string{"init", "--help"}, []string{"--data", "--demo", "sceau.toml", "refuses to overwrite"}},
		{[]string{"serve", "--help"}, []string{"--config", "portal", "counter", "admin", "/healthz", "/readyz", "sceau migrate"}},
		{[]string{"migrate", "--help"}, []string{"--config", "--status", "applied", "PostgreSQL"}},
		{[]string{"version", "--help"}, []string{"Print the version"}},
		{[]string{"help", "serve"}, []string{"SIGINT", "--config"}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			stdout, stderr, err := execute(t, tc.args...)
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(stdout, w) {
					t.Errorf("help does not mention %q:\n%s", w, stdout)
				}
			}
			if stderr != "" {
				t.Errorf("stderr = %q, want nothing", stderr)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	stdout, _, err := execute(t, "version")
	if err != nil {
		t.Fatal(err)
	}
	if stdout != "sceau "+version+"\n" {
		t.Errorf("version printed %q", stdout)
	}
	if _, _, err := execute(t, "version", "extra"); err == nil {
		t.Error("version with an argument succeeded")
	}
}

func TestUnknownCommandIsAnError(t *testing.T) {
	_, _, err := execute(t, "servez")
	if err == nil || !strings.Contains(err.Error(), `unknown command "servez"`) {
		t.Fatalf("err = %v, want unknown command", err)
	}
}

func TestInitWritesDataFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	stdout, _, err := execute(t, "init", "--data", dir)
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "sceau.toml")
	for _, w := range []string{"Initialised " + dir, "sceau serve --config " + cfgPath} {
		if !strings.Contains(stdout, w) {
			t.Errorf("init output lacks %q:\n%s", w, stdout)
		}
	}
	got, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, configs.Embedded) {
		t.Error("sceau.toml is not the embedded default configuration")
	}
	for name, mode := range map[string]os.FileMode{
		"ca/root.crt": 0o644, "ca/intermediate.crt": 0o644, "ca/root.key": 0o600, "ca/intermediate.key": 0o600,
		"ca/provisioner.jwe": 0o600, "secrets/ca-key-password": 0o600, "sceau.toml": 0o640,
		"secrets": os.ModeDir | 0o700,
	} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("init did not create %s: %v", name, err)
			continue
		}
		if fi.Mode() != mode {
			t.Errorf("%s mode = %v, want %v", name, fi.Mode(), mode)
		}
	}
	for _, name := range []string{"files", "mail", "ca"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || !fi.IsDir() {
			t.Errorf("init did not create the folder %s: %v", name, err)
		} else if fi.Mode().Perm()&0o027 != 0 {
			t.Errorf("%s mode = %v: group-writable or world-readable", name, fi.Mode())
		}
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, "*", ".tmp-*"))
	top, _ := filepath.Glob(filepath.Join(dir, ".tmp-*"))
	if len(leftovers)+len(top) > 0 {
		t.Errorf("temporary files left behind: %v %v", leftovers, top)
	}
	// The written configuration is valid as is (with the environment of
	// this test, which sets no SCEAU_ variable that breaks it).
	if _, err := loadConfig(cfgPath); err != nil {
		t.Errorf("the configuration written by init does not load: %v", err)
	}
}

func TestInitRefusesToOverwrite(t *testing.T) {
	dir, cfgPath := initData(t)
	cert := filepath.Join(dir, "ca", "root.crt")
	before, _ := os.ReadFile(cert)
	if err := os.WriteFile(cfgPath, []byte("# edited by the operator\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	stdout, _, err := execute(t, "init", "--data", dir)
	if err == nil {
		t.Fatalf("second init succeeded:\n%s", stdout)
	}
	for _, w := range []string{cfgPath, "already exists", "refusing to overwrite"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %q", err, w)
		}
	}
	if got, _ := os.ReadFile(cfgPath); string(got) != "# edited by the operator\n" {
		t.Error("second init overwrote sceau.toml")
	}
	if after, _ := os.ReadFile(cert); !bytes.Equal(before, after) {
		t.Error("second init replaced the CA")
	}
}

func TestInitRequiresData(t *testing.T) {
	_, _, err := execute(t, "init")
	if err == nil || !strings.Contains(err.Error(), "--data is required") {
		t.Fatalf("err = %v, want --data is required", err)
	}
}

func TestInitIntoAFileFails(t *testing.T) {
	file := filepath.Join(t.TempDir(), "occupied")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := execute(t, "init", "--data", file)
	if err == nil || !strings.Contains(err.Error(), file) {
		t.Fatalf("err = %v, want an error naming %s", err, file)
	}
}

// TestInitDemo: --demo adds trusted test families and importable identities.
func TestInitDemo(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	stdout, _, err := execute(t, "init", "--data", dir, "--demo")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout, "LISEZ-MOI.txt") || !strings.Contains(stdout, "demo/identities") {
		t.Errorf("init --demo does not say where the identities are:\n%s", stdout)
	}
	cfg, err := loadConfig(filepath.Join(dir, "sceau.toml"))
	if err != nil {
		t.Fatal(err)
	}
	names := []string{}
	for _, d := range cfg.Trust.Domains {
		names = append(names, d.Name)
	}
	if strings.Join(names, ",") != "justice,bar,expert" {
		t.Errorf("trust domains %v", names)
	}
	p12s, _ := filepath.Glob(filepath.Join(dir, "demo", "identities", "*.p12"))
	if len(p12s) != 6 {
		t.Errorf("%d demo identities", len(p12s))
	}
}
