package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"sceau.fr/sceau/cmd/sceau/config"
	"sceau.fr/sceau/portal/store"
)

func newAccountCommand() *cobra.Command {
	var cfgPath string
	cmd := &cobra.Command{
		Use:   "account",
		Short: "List, show, suspend and reactivate portal accounts",
		Long: `Accounts are created when a professional first signs in with a recognised
certificate (or, for litigants, by the expert's certificate order). A
suspended account is refused at the portal with a page that says so.`,
	}
	cmd.PersistentFlags().StringVar(&cfgPath, "config", "", "configuration file (required)")
	var role string
	list := &cobra.Command{
		Use: "list [--role ROLE]", Short: "List accounts, newest first", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withStore(cmd, cfgPath, func(ctx context.Context, s *store.Store) error {
				accounts, err := s.Accounts(ctx, role, 1000, 0)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tROLE\tNAME\tEMAIL\tSTATE")
				for _, a := range accounts {
					state := "active"
					if a.Suspended() {
						state = "suspended"
					}
					fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", a.ID, a.Role, a.DisplayName, a.Email, state)
				}
				return tw.Flush()
			})
		},
	}
	list.Flags().StringVar(&role, "role", "", "only this role (magistrate, clerk, lawyer, expert, party_member, sapiteur)")
	show := &cobra.Command{
		Use: "show ID", Short: "Show an account, its certificates and last logins", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := accountID(args[0])
			if err != nil {
				return err
			}
			return withStore(cmd, cfgPath, func(ctx context.Context, s *store.Store) error {
				a, certs, logins, err := s.Account(ctx, id)
				if err != nil {
					return fmt.Errorf("account %d: %w", id, err)
				}
				w := cmd.OutOrStdout()
				fmt.Fprintf(w, "Account %d: %s <%s>\nRole: %s (domain %s)\n", a.ID, a.DisplayName, a.Email, a.Role, a.Domain)
				if a.Suspended() {
					fmt.Fprintf(w, "SUSPENDED since %s: %s\n", a.SuspendedAt.UTC().Format("2006-01-02 15:04 UTC"), a.SuspendedReason)
				}
				fmt.Fprintf(w, "Terms accepted: %s\n", a.TermsVersion)
				for _, c := range certs {
					state := "in use"
					if c.RemovedAt != nil {
						state = "removed"
					}
					fmt.Fprintf(w, "Certificate: %s, serial %s, issuer %s, expires %s, %s\n", c.Subject, c.Serial, c.Issuer,
						c.NotAfter.UTC().Format("2006-01-02"), state)
				}
				for _, l := range logins {
					fmt.Fprintf(w, "Login: %s from %s with serial %s\n", l.At.UTC().Format("2006-01-02 15:04:05 UTC"), l.RemoteAddr, l.Serial)
				}
				return nil
			})
		},
	}
	var reason string
	suspend := &cobra.Command{
		Use: "suspend ID --reason TEXT", Short: "Suspend an account (refused at the portal)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return setSuspended(cmd, cfgPath, args[0], true, reason)
		},
	}
	suspend.Flags().StringVar(&reason, "reason", "", "why (shown to the person)")
	reactivate := &cobra.Command{
		Use: "reactivate ID", Short: "Lift a suspension", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return setSuspended(cmd, cfgPath, args[0], false, "")
		},
	}
	cmd.AddCommand(list, show, suspend, reactivate)
	return cmd
}

func accountID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("%q is not an account id (see `sceau account list`)", s)
	}
	return id, nil
}

func setSuspended(cmd *cobra.Command, cfgPath, arg string, suspend bool, reason string) error {
	id, err := accountID(arg)
	if err != nil {
		return err
	}
	if suspend && reason == "" {
		return fmt.Errorf("--reason is required: it is shown to the person")
	}
	return withStore(cmd, cfgPath, func(ctx context.Context, s *store.Store) error {
		if err := s.SetSuspended(cliActor(ctx), id, suspend, reason); err != nil {
			return fmt.Errorf("account %d: %w", id, err)
		}
		verb := "reactivated"
		if suspend {
			verb = "suspended"
		}
		fmt.Fprintf(cmd.OutOrStdout(), "account %d %s\n", id, verb)
		return nil
	})
}

// withStore opens the database (migrating SQLite) for one command.
func withStore(cmd *cobra.Command, cfgPath string, fn func(ctx context.Context, s *store.Store) error) error {
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		return err
	}
	return withConfigStore(cmd, cfg, fn)
}

// withConfigStore is withStore for a command that needs the configuration
// too (it loaded it already).
func withConfigStore(cmd *cobra.Command, cfg *config.Config, fn func(ctx context.Context, s *store.Store) error) error {
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if cfg.Database.ConnectAttempts == 0 {
		cfg.Database.ConnectAttempts = 5
	}
	s, err := openSchema(ctx, cfg, newLogger(cfg.Log, cmd.ErrOrStderr()))
	if err != nil {
		return err
	}
	defer s.Close()
	return fn(ctx, s)
}
