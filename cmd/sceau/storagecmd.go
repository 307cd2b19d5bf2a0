package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"sceau.fr/sceau/portal/blobs"
	"sceau.fr/sceau/portal/model"
	"sceau.fr/sceau/portal/store"
)

// exitFilesDamaged is the exit code of `sceau storage verify` when a file
// is missing or altered (1 stays for errors that prevented the check).
const exitFilesDamaged = 2

func newStorageCommand() *cobra.Command {
	var cfgPath string
	cmd := &cobra.Command{
		Use:   "storage",
		Short: "Check the storage of deposited files",
	}
	cmd.PersistentFlags().StringVar(&cfgPath, "config", "", "configuration file (required)")
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Re-read every deposited file and compare it with its deposit record (exit status 2 on damage)",
		Long: `verify reads every deposited file (and courtesy copy) back from storage, the
local folder or the S3 bucket, and compares its size and SHA-256 with those
recorded at deposit, which the receipts show. It names each file that is
missing or altered and exits with status 2; status 0 means every file is
intact. It also lists the stored files, older than a day, that no document
points to (left by deposits that failed after storing their file); they are
reported, not removed. Each case checked gets an entry in its journal (the audit trail),
so the expert and the court can see when the files were last checked and
with what result. Files are streamed, one at a time.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cfgPath)
			if err != nil {
				return err
			}
			b, err := openBlobs(cfg)
			if err != nil {
				return err
			}
			if c, ok := b.(io.Closer); ok {
				defer c.Close()
			}
			return withConfigStore(cmd, cfg, func(ctx context.Context, s *store.Store) error {
				rep, err := verifyFiles(ctx, s, b, cmd.OutOrStdout())
				if err != nil {
					return err
				}
				if rep.damaged > 0 {
					return &exitError{code: exitFilesDamaged}
				}
				return nil
			})
		},
	}
	cmd.AddCommand(verify)
	return cmd
}

type filesReport struct {
	files, damaged int
	bytes          int64
}

// verifyFiles checks every document file, prints one line per damaged
// file and a summary, and records the outcome in each case's journal.
func verifyFiles(ctx context.Context, s *store.Store, b blobs.Store, w io.Writer) (filesReport, error) {
	var rep filesReport
	type caseResult struct {
		files   int
		damaged []string // "document:ID"
	}
	cases := map[int64]*caseResult{}
	referenced := map[string]bool{}
	var after int64
	for {
		files, err := s.DocumentFiles(ctx, after, 200)
		if err != nil {
			return rep, fmt.Errorf("reading the deposit records: %w", err)
		}
		if len(files) == 0 {
			break
		}
		for _, f := range files {
			if err := ctx.Err(); err != nil {
				return rep, err
			}
			after = f.DocumentID
			referenced[f.BlobKey] = true
			cr := cases[f.CaseID]
			if cr == nil {
				cr = &caseResult{}
				cases[f.CaseID] = cr
			}
			cr.files++
			rep.files++
			problem, n, err := checkFile(ctx, b, f)
			if err != nil {
				return rep, err
			}
			rep.bytes += n
			if problem != "" {
				rep.damaged++
				cr.damaged = append(cr.damaged, fmt.Sprintf("document:%d", f.DocumentID))
				what := "file"
				if f.Copy {
					what = "courtesy copy"
				}
				fmt.Fprintf(w, "DAMAGED: case %d, document %d, %s %q: %s\n", f.CaseID, f.DocumentID, what, f.FileName, problem)
			}
		}
	}
	ids := make([]int64, 0, len(cases))
	for id := range cases {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	actx := cliActor(ctx)
	for _, id := range ids {
		cr, caseID := cases[id], id
		detail := fmt.Sprintf("%d fichier(s) contrôlé(s), tous intacts", cr.files)
		if len(cr.damaged) > 0 {
			detail = fmt.Sprintf("%d fichier(s) contrôlé(s), %d manquant(s) ou altéré(s)", cr.files, len(cr.damaged))
		}
		if err := s.RecordAudit(actx, &model.AuditEntry{Action: model.AuditStorageVerify, CaseID: &caseID,
			Objects: strings.Join(cr.damaged, " "), Detail: detail}); err != nil {
			return rep, fmt.Errorf("recording the check of case %d: %w", id, err)
		}
	}
	if err := listOrphans(ctx, b, referenced, w); err != nil {
		return rep, err
	}
	if rep.damaged > 0 {
		fmt.Fprintf(w, "DAMAGED: %d of %d files (%d bytes read); each case's journal records its result\n", rep.damaged, rep.files, rep.bytes)
	} else {
		fmt.Fprintf(w, "OK: %d files in %d cases, %d bytes, all intact\n", rep.files, len(cases), rep.bytes)
	}
	return rep, nil
}

// orphanAge is how old a stored file no document points to must be before
// it is reported: a deposit publishes its file a moment before its record
// commits.
const orphanAge = 24 * time.Hour

// listOrphans prints the stored files that no document points to (left
// by a deposit that failed after its file was published). They are
// reported, never removed: removing a file is for a person to decide.
func listOrphans(ctx context.Context, b blobs.Store, referenced map[string]bool, w io.Writer) error {
	cutoff := time.Now().Add(-orphanAge)
	var n int
	var size int64
	err := b.List(ctx, func(i blobs.Info) error {
		if referenced[i.Key] || i.Modified.After(cutoff) {
			return nil
		}
		n++
		size += i.Size
		fmt.Fprintf(w, "ORPHAN: stored file %s (%d bytes, %s) belongs to no document\n", i.Key, i.Size, i.Modified.UTC().Format("2006-01-02 15:04 UTC"))
		return nil
	})
	if err != nil {
		return fmt.Errorf("listing the stored files: %w", err)
	}
	if n > 0 {
		fmt.Fprintf(w, "ORPHAN: %d stored files (%d bytes) belong to no document: deposits that failed after their file was stored; remove them once checked\n", n, size)
	}
	return nil
}

// checkFile streams one file through SHA-256. It returns what is wrong
// ("" when intact) and the bytes read; err is for failures that stop the
// whole check (the storage cannot be read at all).
func checkFile(ctx context.Context, b blobs.Store, f store.DocumentFile) (problem string, n int64, err error) {
	rc, size, err := b.Open(ctx, f.BlobKey)
	if errors.Is(err, blobs.ErrNotFound) {
		return "missing from storage", 0, nil
	}
	if err != nil {
		return "", 0, fmt.Errorf("opening document %d: %w", f.DocumentID, err)
	}
	defer rc.Close()
	h := sha256.New()
	n, err = io.Copy(h, rc)
	if err != nil {
		return "", n, fmt.Errorf("reading document %d: %w", f.DocumentID, err)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != f.SHA256 || n != f.Size || size != f.Size {
		return fmt.Sprintf("altered: %d bytes, SHA-256 %s; deposited: %d bytes, SHA-256 %s", n, sum, f.Size, f.SHA256), n, nil
	}
	return "", n, nil
}
