package main

import (
	"context"
	"fmt"
	"os/user"

	"github.com/spf13/cobra"

	"sceau.fr/sceau/portal/model"
	"sceau.fr/sceau/portal/store"
)

// exitAuditBroken is the exit code of `sceau audit verify` when the chain
// is broken (1 stays for errors that prevented the check).
const exitAuditBroken = 2

func newAuditCommand() *cobra.Command {
	var cfgPath string
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Check the audit trail",
		Long: `Every action on the portal (logins, refusals at the gate, views, downloads,
deposits, locks, state changes, participant changes, certificate orders and
collections) is recorded in an append-only audit trail, each entry carrying
the SHA-256 of its content and of the entry before it.`,
	}
	cmd.PersistentFlags().StringVar(&cfgPath, "config", "", "configuration file (required)")
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Check the whole chain; name the first broken entry (exit status 2)",
		Long: `verify reads the whole audit trail in order and checks that the entries are
numbered from 1 without gap, that each one's hash is the SHA-256 of its
content, that each one names the hash of the entry before it, and that the
last one is the chain head. It names the first entry that was changed,
removed, inserted or reordered and exits with status 2; status 0 means the
chain holds. Record the head it prints somewhere else (a ticket, a signed
mail): a chain rewritten from its first change to its end by someone with
write access to the database can only be caught against such a copy.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withStore(cmd, cfgPath, func(ctx context.Context, s *store.Store) error {
				rep, err := s.VerifyAudit(ctx)
				if err != nil {
					return fmt.Errorf("reading the audit trail: %w", err)
				}
				w := cmd.OutOrStdout()
				if rep.Broken != nil {
					fmt.Fprintf(w, "BROKEN: %v\n", rep.Broken)
					fmt.Fprintf(w, "%d entries before it are intact; chain head: entry %d, %s\n", rep.Entries, rep.HeadSeq, rep.HeadHash)
					return &exitError{code: exitAuditBroken}
				}
				fmt.Fprintf(w, "OK: %d entries, chain head: entry %d, %s\n", rep.Entries, rep.HeadSeq, rep.HeadHash)
				return nil
			})
		},
	}
	cmd.AddCommand(verify)
	return cmd
}

// The audit trail and the ZIP opening for the portal (see portal.Audit).

func (l lazyAccounts) RecordAudit(ctx context.Context, e *model.AuditEntry) error {
	return do(l, func(s *store.Store) error { return s.RecordAudit(ctx, e) })
}

func (l lazyAccounts) RecordCaseView(ctx context.Context, caseID, accountID int64) (model.JournalAccess, error) {
	return with(l, func(s *store.Store) (model.JournalAccess, error) { return s.RecordCaseView(ctx, caseID, accountID) })
}

func (l lazyAccounts) CaseAudit(ctx context.Context, caseID, accountID int64, export bool, limit int) ([]model.AuditRow, error) {
	return with(l, func(s *store.Store) ([]model.AuditRow, error) {
		return s.CaseAudit(ctx, caseID, accountID, export, limit)
	})
}

func (l lazyAccounts) OpenDocuments(ctx context.Context, caseID int64, docIDs []int64, accountID int64) ([]*model.Document, error) {
	return with(l, func(s *store.Store) ([]*model.Document, error) {
		return s.OpenDocuments(ctx, caseID, docIDs, accountID)
	})
}

// cliActor names, for the audit trail, the system user who runs a command
// that changes something ("cli:alice"): the command line has no
// certificate nor account.
func cliActor(ctx context.Context) context.Context {
	who := "cli"
	if u, err := user.Current(); err == nil {
		who += ":" + u.Username
	}
	return model.WithActor(ctx, &model.Actor{RequestID: who})
}
