package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"sceau.fr/sceau/ca"
	"sceau.fr/sceau/configs"
)

func newInitCommand() *cobra.Command {
	var dataDir string
	var demo bool
	cmd := &cobra.Command{
		Use:   "init --data DIR [--demo]",
		Short: "Write a working configuration and data folder",
		Long: `init creates DIR (if needed) and writes into it:
  sceau.toml        the embedded-default configuration (SQLite, local files,
                    development mail sink), paths relative to DIR
  tls/              a server certificate for localhost
  files/ mail/ ca/  deposited files, development mail, the certificate authority

It refuses to overwrite an existing sceau.toml. With --demo, demonstration
material is added as well.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dataDir == "" {
				return errors.New("--data is required: the folder to create")
			}
			return runInit(cmd, dataDir, demo)
		},
	}
	cmd.Flags().StringVar(&dataDir, "data", "", "folder to create (required)")
	cmd.Flags().BoolVar(&demo, "demo", false, "add demonstration material")
	return cmd
}

func runInit(cmd *cobra.Command, dataDir string, demo bool) error {
	cfgPath := filepath.Join(dataDir, "sceau.toml")
	if _, err := os.Stat(cfgPath); err == nil {
		return fmt.Errorf("%s already exists: refusing to overwrite it (remove the folder to start again)", cfgPath)
	}
	for _, d := range []string{"", "tls", "files", "mail", "ca", "secrets"} {
		if err := os.MkdirAll(filepath.Join(dataDir, d), 0o750); err != nil {
			return fmt.Errorf("cannot create %s: %w", filepath.Join(dataDir, d), unwrapPath(err))
		}
	}
	if err := os.Chmod(filepath.Join(dataDir, "secrets"), 0o700); err != nil {
		return err
	}
	cert, key, err := ca.SelfSignedServer("Sceau", []string{"localhost", "127.0.0.1", "::1"}, 825*24*time.Hour)
	if err != nil {
		return err
	}
	if err := writeFile(filepath.Join(dataDir, "tls", "server.crt"), cert, 0o644); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(dataDir, "tls", "server.key"), key, 0o600); err != nil {
		return err
	}
	// The configuration is written last: its presence means init finished.
	if err := writeFile(cfgPath, configs.Embedded, 0o640); err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "Initialised %s\n  configuration: %s\n", dataDir, cfgPath)
	if demo {
		fmt.Fprintln(out, "  demo: no demonstration data exists yet in this version")
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
