package main

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"sceau.fr/sceau/ca"
	"sceau.fr/sceau/ca/demo"
	"sceau.fr/sceau/cmd/sceau/config"
	"sceau.fr/sceau/configs"
)

func newInitCommand() *cobra.Command {
	var dataDir string
	var demo, demoCase bool
	cmd := &cobra.Command{
		Use:   "init --data DIR [--demo]",
		Short: "Write a working configuration and data folder",
		Long: `init creates DIR (if needed) and writes into it:
  sceau.toml        the embedded-default configuration (SQLite, local files,
                    development mail sink), paths relative to DIR
  files/ mail/ ca/  deposited files, development mail, the certificate authority

  ca/               Sceau's certificate authority: a root (20 years) and an
                    issuing intermediate (5 years), keys encrypted with a
                    random password written to secrets/ca-key-password

It refuses to overwrite an existing sceau.toml. With --demo it also creates
test-only certificate authorities that look like the real families (AC
Justice, AC Avocats, AC Experts, all marked TEST), trusts them, and writes
demo identities (a magistrate, a clerk, two lawyers, two experts) as PKCS#12
files under DIR/demo/identities, with their passwords in DIR/demo/LISEZ-MOI.txt.

--demo-case (implies --demo, used by "make run") also fills the database with
a demo case in progress: the demo expert, a lawyer, the supervising
magistrate and the clerk have their accounts, two parties, three documents.
The other demo identities stay unregistered.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dataDir == "" {
				return errors.New("--data is required: the folder to create")
			}
			return runInit(cmd, dataDir, demo || demoCase, demoCase)
		},
	}
	cmd.Flags().StringVar(&dataDir, "data", "", "folder to create (required)")
	cmd.Flags().BoolVar(&demo, "demo", false, "add demonstration material")
	cmd.Flags().BoolVar(&demoCase, "demo-case", false, "add demonstration material and a demo case with accounts and documents")
	return cmd
}

func runInit(cmd *cobra.Command, dataDir string, demoMode, demoCase bool) error {
	cfgPath := filepath.Join(dataDir, "sceau.toml")
	if _, err := os.Stat(cfgPath); err == nil {
		return fmt.Errorf("%s already exists: refusing to overwrite it (remove the folder to start again)", cfgPath)
	}
	for _, d := range []string{"", "files", "mail", "secrets"} {
		if err := os.MkdirAll(filepath.Join(dataDir, d), 0o750); err != nil {
			return fmt.Errorf("cannot create %s: %w", filepath.Join(dataDir, d), unwrapPath(err))
		}
	}
	if err := os.Chmod(filepath.Join(dataDir, "secrets"), 0o700); err != nil {
		return err
	}
	cfg, err := config.Parse(configs.Embedded)
	if err != nil {
		return err
	}
	password, err := randomSecret()
	if err != nil {
		return err
	}
	if err := writeFile(filepath.Join(dataDir, "secrets", "ca-key-password"), []byte(password+"\n"), 0o600); err != nil {
		return err
	}
	sessionKey, err := randomSecret()
	if err != nil {
		return err
	}
	if err := writeFile(filepath.Join(dataDir, "secrets", "session-key"), []byte(sessionKey+"\n"), 0o600); err != nil {
		return err
	}
	caDir := filepath.Join(dataDir, "ca")
	if err := ca.Bootstrap(cmd.Context(), ca.BootstrapOptions{Dir: caDir, Organisation: cfg.Organisation, Password: []byte(password)}); err != nil {
		return fmt.Errorf("creating the certificate authority: %w", err)
	}
	cfgText := configs.Embedded
	var made *demo.Made
	if demoMode {
		if made, err = demo.Create(filepath.Join(dataDir, "demo")); err != nil {
			return fmt.Errorf("creating the demonstration certificates: %w", err)
		}
		cfgText = append(append([]byte{}, cfgText...), demoTrustDomains()...)
	}
	// The configuration is written last: its presence means init finished.
	if err := writeFile(cfgPath, cfgText, 0o640); err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "Initialised %s\n  configuration: %s\n  certificate authority: %s (root: %s)\n",
		dataDir, cfgPath, caDir, filepath.Join(caDir, ca.RootCertFile))
	if made != nil {
		fmt.Fprintf(out, "  demonstration identities (PKCS#12, test authorities only): %s\n", filepath.Dir(made.Identities[0].P12))
		fmt.Fprintf(out, "  their passwords and how to import them: %s\n", made.Readme)
	}
	if demoCase {
		c, n, err := seedDemoCase(cmd.Context(), cfgPath, made)
		if err != nil {
			// Without its configuration the folder can be removed and init run again.
			_ = os.Remove(cfgPath)
			return fmt.Errorf("creating the demo case (remove %s and run init again): %w", dataDir, err)
		}
		fmt.Fprintf(out, "  demo case: %s (%d documents), owned by the demo expert (expert-pierre-durand.p12)\n", c.Name, n)
	}
	fmt.Fprintf(out, "Run: sceau serve --config %s\n", cfgPath)
	return nil
}

// writeFile writes atomically: a temporary file renamed into place.
func writeFile(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", path, unwrapPath(err))
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// randomSecret returns 256 random bits, base64url-encoded.
func randomSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// demoTrustDomains declares the demo families in the configuration.
func demoTrustDomains() []byte {
	var b strings.Builder
	b.WriteString("\n# Demonstration trust domains (sceau init --demo): TEST authorities only.\n")
	for _, f := range demo.Families {
		fmt.Fprintf(&b, "[[trust.domain]]\nname = %q\nlabel = %q\nca_files = [%q]\nroles = [", f.Domain, f.Label, "demo/trust/"+f.Domain+".pem")
		for i, r := range f.Roles {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%q", r)
		}
		b.WriteString("]\n\n")
	}
	return []byte(b.String())
}
