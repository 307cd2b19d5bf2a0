// Command sceau runs Sceau: a secure exchange platform for French
// court-ordered expert procedures, with its own certificate authority.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// Set at build time with -ldflags "-X main.version=…".
var (
	version = "dev"
	commit  = ""
)

func main() {
	if err := newRootCommand().Execute(); err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			os.Exit(ee.code)
		}
		fmt.Fprintln(os.Stderr, "sceau:", err)
		os.Exit(1)
	}
}

// exitError carries an exit code for errors already reported to the user.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "sceau",
		Short: "Secure case spaces for French court-ordered expert procedures",
		Long: `Sceau gives each court-ordered expertise (expertise judiciaire) a secure space
where the expert, magistrates, clerks, lawyers and the parties exchange
documents. Everyone signs in with a client certificate; litigants without one
collect a certificate issued by Sceau's own certificate authority.

Start with:
  sceau init --data ./data      write a configuration and data folder
  sceau serve --config ./data/sceau.toml

Settings come from the configuration file and SCEAU_… environment variables;
secrets only from files or the environment, never from the command line.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newInitCommand(), newServeCommand(), newMigrateCommand(), newCACommand(), newAccountCommand(), newAuditCommand(), newStorageCommand(), newVersionCommand())
	return root
}

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of this binary",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := version
			if commit != "" {
				v += " (" + commit + ")"
			}
			fmt.Fprintln(cmd.OutOrStdout(), "sceau", v)
			return nil
		},
	}
}
