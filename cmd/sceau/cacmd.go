package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"sceau.fr/sceau/ca"
	"sceau.fr/sceau/cmd/sceau/config"
	"sceau.fr/sceau/portal/store"
)

func newCACommand() *cobra.Command {
	var cfgPath string
	cmd := &cobra.Command{
		Use:   "ca",
		Short: "Operate Sceau's certificate authority",
		Long: `Sceau's own certificate authority issues litigants' client certificates
(and, in the embedded default, the listeners' server certificate).

Layout of the CA folder (ca.dir):
  root.crt, root.key                 root (20 years); root.key may be kept offline
  intermediate.crt, intermediate.key issuing CA (5 years, path length 0); with
                                     ca.pkcs11_uri the key lives in an HSM instead
  provisioner.jwe                    the key that signs Sceau's one-time issuance tokens
  archive/                           previous intermediates
Keys are encrypted with the password from ca.key_password_file.`,
	}
	cmd.PersistentFlags().StringVar(&cfgPath, "config", "", "configuration file (required)")
	cmd.AddCommand(newCAStatusCommand(&cfgPath), newCARevokeCommand(&cfgPath), newCACRLCommand(&cfgPath),
		newCARotateCommand(&cfgPath))
	return cmd
}

// withCA opens the database and the CA for one command.
func withCA(cmd *cobra.Command, cfgPath string, fn func(ctx context.Context, c *ca.CA, s *store.Store) error) error {
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := newLogger(cfg.Log, cmd.ErrOrStderr())
	if cfg.Database.ConnectAttempts == 0 {
		cfg.Database.ConnectAttempts = 5
	}
	s, err := openSchema(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer s.Close()
	c, err := ca.Open(ctx, caOptions(cfg, s, log))
	if err != nil {
		return err
	}
	defer c.Close()
	return fn(ctx, c, s)
}

func newCAStatusCommand(cfgPath *string) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show the CA chain, expiry dates, key location and counts",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withCA(cmd, *cfgPath, func(ctx context.Context, c *ca.CA, _ *store.Store) error {
				st, err := c.Status(ctx)
				if err != nil {
					return err
				}
				printStatus(cmd.OutOrStdout(), st)
				return nil
			})
		},
	}
}

func printStatus(w io.Writer, st ca.Status) {
	day := func(d time.Duration) string { return fmt.Sprintf("%d days", int(d.Hours()/24)) }
	fmt.Fprintf(w, "Root:          %s\n               expires %s (in %s)\n", st.Root.Subject, st.Root.NotAfter.UTC().Format("2006-01-02"), day(st.Root.ExpiresIn))
	online := "offline (not in the CA folder)"
	if st.RootKeyOnline {
		online = "present in the CA folder: move it offline once the CA is set up"
	}
	fmt.Fprintf(w, "Root key:      %s\n", online)
	fmt.Fprintf(w, "Intermediate:  %s\n               expires %s (in %s)\n", st.Intermediate.Subject, st.Intermediate.NotAfter.UTC().Format("2006-01-02"), day(st.Intermediate.ExpiresIn))
	fmt.Fprintf(w, "Issuing key:   %s\n", st.KeyLocation)
	for _, a := range st.Archived {
		fmt.Fprintf(w, "Previous:      %s, expires %s\n", a.Subject, a.NotAfter.UTC().Format("2006-01-02"))
	}
	fmt.Fprintf(w, "Certificates:  %d issued, %d valid, %d revoked\n", st.Counts.Issued, st.Counts.Valid, st.Counts.Revoked)
	if st.CRLNumber > 0 || !st.CRLNextUpdate.IsZero() {
		fmt.Fprintf(w, "CRL:           number %d, next update %s\n", st.CRLNumber, st.CRLNextUpdate.UTC().Format("2006-01-02 15:04 UTC"))
	}
	for _, warn := range st.Warnings {
		fmt.Fprintf(w, "WARNING:       %s\n", warn)
	}
}

func newCARevokeCommand(cfgPath *string) *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   "revoke SERIAL --reason REASON",
		Short: "Revoke a certificate by serial number (decimal or hex)",
		Long: `revoke records the revocation and regenerates the CRL at once. Revoking
twice is harmless. REASON is an RFC 5280 reason: unspecified, keyCompromise,
affiliationChanged, superseded, cessationOfOperation, certificateHold,
privilegeWithdrawn, cACompromise, aACompromise. Running instances see the
revocation within 2 seconds.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			serial, err := ca.ParseSerial(args[0])
			if err != nil {
				return err
			}
			r, err := ca.ParseReason(reason)
			if err != nil {
				return err
			}
			return withCA(cmd, *cfgPath, func(ctx context.Context, c *ca.CA, _ *store.Store) error {
				if err := c.Revoke(ctx, serial, r); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "revoked %s (%s); the CRL is updated\n", serial.String(), r)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "unspecified", "RFC 5280 revocation reason")
	return cmd
}

func newCACRLCommand(cfgPath *string) *cobra.Command {
	return &cobra.Command{
		Use:   "crl > FILE",
		Short: "Write the current CRL (DER) to standard output",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f, ok := cmd.OutOrStdout().(*os.File); ok {
				if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
					return errors.New("the CRL is binary (DER): redirect it to a file, e.g. `sceau ca crl --config … > sceau.crl`")
				}
			}
			return withCA(cmd, *cfgPath, func(ctx context.Context, c *ca.CA, _ *store.Store) error {
				der, err := c.CRL(ctx)
				if err != nil {
					return err
				}
				_, err = cmd.OutOrStdout().Write(der)
				return err
			})
		},
	}
}

func newCARotateCommand(cfgPath *string) *cobra.Command {
	var rootKey, rootPasswordFile string
	cmd := &cobra.Command{
		Use:   "rotate-intermediate [--root-key FILE] [--root-password-file FILE]",
		Short: "Issue a new intermediate CA with the root key",
		Long: `rotate-intermediate creates a new issuing key (in the HSM with ca.pkcs11_uri)
and signs its certificate with the root key, which you bring back from
offline storage for the occasion (--root-key, default ca.dir/root.key). The
previous intermediate moves to archive/: certificates it issued stay valid.
The root key password is read from --root-password-file, else from
SCEAU_CA_ROOT_KEY_PASSWORD, else it is the CA key password. Restart every
Sceau instance afterwards so they issue with the new intermediate.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(*cfgPath)
			if err != nil {
				return err
			}
			if rootKey == "" {
				rootKey = filepath.Join(cfg.CA.Dir, ca.RootKeyFile)
			}
			rootPW, err := rootPassword(cfg, rootPasswordFile)
			if err != nil {
				return err
			}
			var p11 *ca.PKCS11
			if cfg.CA.PKCS11URI != "" {
				p11 = &ca.PKCS11{URI: cfg.CA.PKCS11URI, Key: cfg.CA.PKCS11Key}
			}
			inter, err := ca.RotateIntermediate(cmd.Context(), cfg.CA.Dir, rootKey, rootPW, []byte(cfg.CA.KeyPassword.Value()), p11)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "new intermediate: %s, expires %s\nrestart every Sceau instance to use it\n",
				inter.Subject.CommonName, inter.NotAfter.UTC().Format("2006-01-02"))
			return nil
		},
	}
	cmd.Flags().StringVar(&rootKey, "root-key", "", "the root key file (default: ca.dir/root.key)")
	cmd.Flags().StringVar(&rootPasswordFile, "root-password-file", "", "file holding the root key password")
	return cmd
}

func rootPassword(cfg *config.Config, file string) ([]byte, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("--root-password-file: %w", unwrapPath(err))
		}
		return []byte(strings.TrimRight(string(b), "\r\n")), nil
	}
	if v := os.Getenv("SCEAU_CA_ROOT_KEY_PASSWORD"); v != "" {
		return []byte(v), nil
	}
	return []byte(cfg.CA.KeyPassword.Value()), nil
}
