package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

func newMigrateCommand() *cobra.Command {
	var cfgPath string
	var status bool
	cmd := &cobra.Command{
		Use:   "migrate --config FILE [--status]",
		Short: "Apply pending database migrations, or show their status",
		Long: `migrate brings the database schema up to this binary's version. Each
migration runs in its own transaction; on PostgreSQL an advisory lock lets
only one instance migrate at a time. With --status it only lists the
migrations and whether each is applied.

The embedded default (SQLite) migrates itself when serving; with PostgreSQL,
serve refuses an outdated schema and asks for this command.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cfgPath)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			log := newLogger(cfg.Log, cmd.ErrOrStderr())
			if cfg.Database.ConnectAttempts == 0 {
				cfg.Database.ConnectAttempts = 5 // an operator is waiting: do not retry forever
			}
			s, err := connect(ctx, cfg, log)
			if err != nil {
				return err
			}
			defer s.Close()
			out := cmd.OutOrStdout()
			if status {
				states, err := s.MigrationStatus(ctx)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "VERSION\tMIGRATION\tAPPLIED")
				pending := 0
				for _, st := range states {
					at := "pending"
					if st.Applied {
						at = st.AppliedAt.UTC().Format("2006-01-02 15:04:05 UTC")
					} else {
						pending++
					}
					fmt.Fprintf(tw, "%d\t%s\t%s\n", st.Version, st.Name, at)
				}
				tw.Flush()
				fmt.Fprintf(out, "%d pending\n", pending)
				return nil
			}
			applied, err := s.Migrate(ctx)
			for _, a := range applied {
				fmt.Fprintf(out, "applied %s (%s)\n", a.Name, a.Duration.Round(1e6))
			}
			if err != nil {
				return err
			}
			if len(applied) == 0 {
				fmt.Fprintln(out, "schema already up to date")
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&cfgPath, "config", "", "configuration file (required)")
	cmd.Flags().BoolVar(&status, "status", false, "only show which migrations are applied")
	return cmd
}
