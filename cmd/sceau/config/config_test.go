package config_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sceau.fr/sceau/cmd/sceau/config"
	"sceau.fr/sceau/configs"
)

// writeConfig writes body as sceau.toml in a fresh folder, with the files
// the embedded default refers to, and returns its path.
func writeConfig(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "sceau.toml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	// sceau init writes the CA key password next to the embedded default.
	mustWrite(t, filepath.Join(dir, "secrets", "ca-key-password"), "generated-by-init\n")
	mustWrite(t, filepath.Join(dir, "secrets", "session-key"), "generated-by-init\n")
	return p
}

func problems(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		t.Fatal("expected the configuration to be refused")
	}
	var p config.Problems
	if !errors.As(err, &p) {
		return []string{err.Error()}
	}
	return p
}

func mustContainLine(t *testing.T, lines []string, want ...string) {
	t.Helper()
	for _, l := range lines {
		ok := true
		for _, w := range want {
			if !strings.Contains(l, w) {
				ok = false
				break
			}
		}
		if ok {
			return
		}
	}
	t.Errorf("no problem line contains all of %q; got:\n%s", want, strings.Join(lines, "\n"))
}

func TestEmbeddedExampleIsValid(t *testing.T) {
	p := writeConfig(t, string(configs.Embedded))
	cfg, err := config.Load(p, nil)
	if err != nil {
		t.Fatalf("configs/embedded.toml is invalid: %v", err)
	}
	dir := filepath.Dir(p)
	if cfg.Database.Driver != "sqlite" || cfg.Database.Path != filepath.Join(dir, "sceau.db") {
		t.Errorf("database not resolved next to the file: %+v", cfg.Database)
	}
	if cfg.Server.Portal.PublicURL != "https://localhost:8443" || cfg.Server.Counter.PublicURL != "https://localhost:8444" {
		t.Errorf("public URLs: %q %q", cfg.Server.Portal.PublicURL, cfg.Server.Counter.PublicURL)
	}
	if cfg.Server.SharedAddress() {
		t.Error("embedded default must use two ports")
	}
}

// The production example refers to secret files and CA bundles; the test
// provides them where the example says, so every other setting is checked.
func TestProductionExampleIsValid(t *testing.T) {
	p := writeConfig(t, string(configs.Production))
	cfg, err := config.Parse(configs.Production)
	if err != nil {
		t.Fatalf("configs/production.toml does not parse: %v", err)
	}
	dir := filepath.Dir(p)
	secrets := map[string]string{
		cfg.Database.URL.File:               "postgres://sceau:pw@db.internal:5432/sceau?sslmode=verify-full",
		cfg.Storage.S3.SecretAccessKey.File: "s3-secret",
		cfg.Mail.SMTP.Password.File:         "smtp-secret",
		cfg.CA.KeyPassword.File:             "ca-secret",
		cfg.Server.SessionKey.File:          "session-secret",
	}
	for f, v := range secrets {
		mustWrite(t, filepath.Join(dir, f), v)
	}
	for _, d := range cfg.Trust.Domains {
		for _, f := range d.CAFiles {
			mustWrite(t, filepath.Join(dir, f), "-----BEGIN CERTIFICATE-----\n")
		}
	}
	loaded, err := config.Load(p, nil)
	if err != nil {
		t.Fatalf("configs/production.toml is invalid: %v", err)
	}
	if !loaded.Server.SharedAddress() || loaded.Database.Driver != "postgres" || loaded.Storage.S3.Bucket == "" ||
		loaded.Mail.Transport != "smtp" || loaded.CA.PKCS11URI == "" {
		t.Errorf("production example lost its point: %+v", loaded)
	}
	if got := loaded.Mail.SMTP.Password.Value(); got != "smtp-secret" {
		t.Errorf("SMTP password read from file = %q", got)
	}
}

func mustWrite(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestBrokenConfigsNameTheField(t *testing.T) {
	base := string(configs.Embedded)
	cases := []struct {
		name string
		body string
		env  []string
		want [][]string // each: fragments one problem line must hold
	}{
		{"not TOML", "organisation = \n[server", nil, [][]string{{"line 1"}}},
		{"unknown key", strings.Replace(base, "[server.portal]", "[server.portal]\nlisten_on = 1", 1), nil, [][]string{{"server.portal.listen_on"}}},
		{"table defined twice", base + "\n[server.portal]\nlisten = \"x\"\n", nil, [][]string{{"line", "server.portal", "already exists"}}},
		{"unknown key in a section", strings.Replace(base, "[database]", "[database]\nhost = \"x\"", 1), nil, [][]string{{"unknown setting", "database.host"}}},
		{"bad driver", strings.Replace(base, `driver = "sqlite"`, `driver = "oracle"`, 1), nil, [][]string{{"database.driver", "oracle", "sqlite, postgres"}}},
		{"bad duration", strings.Replace(base, `idle_timeout = "2m"`, `idle_timeout = "two minutes"`, 1), nil, [][]string{{"idle_timeout", "not a duration"}}},
		{"public admin", strings.Replace(base, `listen = "127.0.0.1:9090"`, `listen = "0.0.0.0:9090"`, 1), nil, [][]string{{"server.admin.listen", "loopback"}}},
		{"missing from, bad level", strings.Replace(strings.Replace(base, `from = "sceau@localhost"`, "", 1), `level = "info"`, `level = "loud"`, 1), nil,
			[][]string{{"mail.from", "required"}, {"log.level", "loud"}}},
		{"bad port", strings.Replace(base, `listen = "127.0.0.1:8443"`, `listen = "127.0.0.1:84430"`, 1), nil, [][]string{{"server.portal.listen", "84430"}}},
		{"shared address without hosts", strings.Replace(strings.Replace(base, `listen = "127.0.0.1:8444"`, `listen = "127.0.0.1:8443"`, 1), `host = "localhost"`, `host = ""`, -1), nil,
			[][]string{{"server.counter.host", "share"}}},
		{"postgres without URL", base, []string{"SCEAU_DATABASE_DRIVER=postgres"}, [][]string{{"database.url_file", "required"}}},
		{"postgres URL not postgres", base, []string{"SCEAU_DATABASE_DRIVER=postgres", "SCEAU_DATABASE_URL=mysql://x"}, [][]string{{"database.url_file", "postgres://"}}},
		{"missing secret file", base, []string{"SCEAU_MAIL_TRANSPORT=smtp", "SCEAU_MAIL_SMTP_HOST=smtp.example.fr", "SCEAU_MAIL_SMTP_USERNAME=u", "SCEAU_MAIL_SMTP_PASSWORD_FILE=/nonexistent/pw"},
			[][]string{{"mail.smtp.password_file", "/nonexistent/pw", "no such file"}}},
		{"plain SMTP to a remote relay", base, []string{"SCEAU_MAIL_TRANSPORT=smtp", "SCEAU_MAIL_SMTP_HOST=smtp.example.fr", "SCEAU_MAIL_SMTP_SECURITY=none"},
			[][]string{{"mail.smtp.security", "clear text"}}},
		{"env not a number", base, []string{"SCEAU_DATABASE_MAX_OPEN_CONNS=many"}, [][]string{{"SCEAU_DATABASE_MAX_OPEN_CONNS", "whole number"}}},
		{"s3 without settings", base, []string{"SCEAU_STORAGE_BACKEND=s3"}, [][]string{{"storage.s3.bucket", "required"},
			{"storage.s3.endpoint", "https://"}, {"storage.s3.access_key_id", "required"}, {"storage.s3.secret_access_key_file", "required"}}},
		{"s3 bad settings", base, []string{"SCEAU_STORAGE_BACKEND=s3", "SCEAU_STORAGE_S3_ENDPOINT=http://s3.example.fr/sceau",
			"SCEAU_STORAGE_S3_BUCKET=Sceau_Docs", "SCEAU_STORAGE_S3_ACCESS_KEY_ID=k", "SCEAU_STORAGE_S3_SECRET_ACCESS_KEY=s",
			"SCEAU_STORAGE_S3_CA_FILE=/nonexistent/ca.pem", "SCEAU_STORAGE_S3_PATH_STYLE=perhaps"},
			[][]string{{"storage.s3.endpoint", "only a scheme, a host and a port"}, {"storage.s3.bucket", "Sceau_Docs"},
				{"storage.s3.ca_file", "/nonexistent/ca.pem"}, {"SCEAU_STORAGE_S3_PATH_STYLE", "true or false"}}},
		{"s3 CA file over http", base, []string{"SCEAU_STORAGE_BACKEND=s3", "SCEAU_STORAGE_S3_ENDPOINT=http://minio.internal:9000",
			"SCEAU_STORAGE_S3_BUCKET=sceau", "SCEAU_STORAGE_S3_ACCESS_KEY_ID=k", "SCEAU_STORAGE_S3_SECRET_ACCESS_KEY=s", "SCEAU_STORAGE_S3_CA_FILE=/etc/hostname"},
			[][]string{{"storage.s3.ca_file", "https"}}},
		{"validity", strings.Replace(base, "default_validity_days = 180", "default_validity_days = 400", 1), nil, [][]string{{"ca.default_validity_days", "400", "max_validity_days"}}},
		{"bad policy OID", strings.Replace(base, "# policy_oids = [\"1.2.250.1.xxx.1.1\"]", "policy_oids = [\"1.2.x\"]", 1), nil, [][]string{{"ca.policy_oids", "1.2.x"}}},
		{"bad TLS source", strings.Replace(base, `source = "ca"`, `source = "acme"`, 1), nil, [][]string{{"server.tls.source", "acme"}}},
		{"files without files", strings.Replace(base, `source = "ca"`, `source = "files"`, 1), nil, [][]string{{"server.tls.cert_file", "required"}, {"server.tls.key_file", "required"}}},
		{"trust domain without files", base + "\n[[trust.domain]]\nname = \"justice\"\n", nil, [][]string{{"trust.domain[0].ca_files"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := config.Load(writeConfig(t, c.body), c.env)
			lines := problems(t, err)
			for _, w := range c.want {
				mustContainLine(t, lines, w...)
			}
			for _, l := range lines {
				if strings.Contains(l, "\n") {
					t.Errorf("problem spans several lines: %q", l)
				}
			}
		})
	}
}

func TestUnreadableFile(t *testing.T) {
	_, err := config.Load(filepath.Join(t.TempDir(), "missing.toml"), nil)
	if err == nil || !strings.Contains(err.Error(), "missing.toml") || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("err = %v", err)
	}
}

func TestEnvironmentOverridesAndSecrets(t *testing.T) {
	p := writeConfig(t, string(configs.Embedded))
	pw := filepath.Join(filepath.Dir(p), "smtp-password")
	mustWrite(t, pw, "s3cr3t\n")
	cfg, err := config.Load(p, []string{
		"SCEAU_SERVER_PORTAL_LISTEN=0.0.0.0:443",
		"SCEAU_SERVER_PORTAL_HOST=portail.example.fr",
		"SCEAU_SERVER_COUNTER_LISTEN=0.0.0.0:443",
		"SCEAU_SERVER_COUNTER_HOST=retrait.example.fr",
		"SCEAU_SERVER_IDLE_TIMEOUT=45s",
		"SCEAU_SERVER_DEVELOPMENT=false",
		"SCEAU_MAIL_TRANSPORT=smtp",
		"SCEAU_MAIL_SMTP_HOST=smtp.example.fr",
		"SCEAU_MAIL_SMTP_USERNAME=sceau",
		"SCEAU_MAIL_SMTP_PASSWORD_FILE=smtp-password",
		"SCEAU_DATABASE_DRIVER=postgres",
		"SCEAU_DATABASE_URL=postgres://u:pw@db/sceau",
		"OTHER=ignored",
	})
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Server.SharedAddress() || cfg.Server.Portal.PublicURL != "https://portail.example.fr" {
		t.Errorf("shared listener: %+v", cfg.Server.Portal)
	}
	if cfg.Server.IdleTimeout.Seconds() != 45 || cfg.Server.Development {
		t.Errorf("overrides not applied: idle %v dev %v", cfg.Server.IdleTimeout, cfg.Server.Development)
	}
	if cfg.Mail.SMTP.Password.Value() != "s3cr3t" {
		t.Errorf("password from relative file = %q", cfg.Mail.SMTP.Password.Value())
	}
	if cfg.Database.URL.Value() != "postgres://u:pw@db/sceau" {
		t.Errorf("database URL from environment = %q", cfg.Database.URL.Value())
	}
	if cfg.Mail.SMTP.Port != 587 {
		t.Errorf("STARTTLS default port = %d", cfg.Mail.SMTP.Port)
	}
}

func TestSecretsNeverPrinted(t *testing.T) {
	p := writeConfig(t, string(configs.Embedded))
	cfg, err := config.Load(p, []string{"SCEAU_DATABASE_URL=postgres://u:hunter2@db/sceau"})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{cfg.Database.URL.String(), strings.Join(strings.Fields(fmtAny(cfg)), " ")} {
		if strings.Contains(s, "hunter2") {
			t.Fatalf("secret printed: %s", s)
		}
	}
}

func fmtAny(v any) string { return fmt.Sprintf("%+v %v", v, v) }
