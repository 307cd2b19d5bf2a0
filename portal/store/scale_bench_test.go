package store_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"sceau.fr/sceau/portal/model"
	"sceau.fr/sceau/portal/store"
	"sceau.fr/sceau/portal/store/storetest"
)

// BenchmarkCaseQueriesAtScale measures the dashboard (CasesFor) and the
// case page (Case, FoldersReadable, DocumentsReadable) on PostgreSQL with a
// generated data set of 1 k and 100 k cases (10 documents, 8 participants,
// 3 parties and 14 folders a case; half as many accounts as cases, so each
// account takes part in about 16 cases at either size). It reports
// p50/p95/max in milliseconds per query and size, and at 100 k the ratio of
// the p95 to the one at 1 k: sub-linear means far below 100. Run it with
//
//	.ci/with-postgres go test -run '^$' -bench BenchmarkCaseQueriesAtScale -benchtime 1x ./portal/store/
func BenchmarkCaseQueriesAtScale(b *testing.B) {
	if testing.Short() {
		b.Skip("generates 100 k cases and 1 M documents: not under -short")
	}
	p95 := map[int]map[string]float64{}
	for _, n := range []int{1_000, 100_000} {
		b.Run(fmt.Sprintf("cases=%d", n), func(b *testing.B) {
			s := storetest.Open(b, "postgres")
			ctx := context.Background()
			start := time.Now()
			generateScaleData(b, s, n)
			b.Logf("cases=%d: data generated in %v", n, time.Since(start).Round(time.Millisecond))
			pairs := samplePairs(b, s, 300)
			b.ResetTimer()
			var got map[string][]time.Duration
			for range b.N {
				got = measureCaseQueries(b, ctx, s, pairs)
			}
			b.StopTimer()
			p95[n] = map[string]float64{}
			for _, q := range scaleQueries {
				d := got[q]
				slices.Sort(d)
				p50, p, mx := ms(pct(d, 50)), ms(pct(d, 95)), ms(d[len(d)-1])
				p95[n][q] = p
				b.ReportMetric(p50, q+"-p50-ms")
				b.ReportMetric(p, q+"-p95-ms")
				b.ReportMetric(mx, q+"-max-ms")
				b.Logf("cases=%d %-18s p50 %7.3f ms  p95 %7.3f ms  max %7.3f ms  (%d samples)", n, q, p50, p, mx, len(d))
				if small, ok := p95[1_000][q]; ok && n != 1_000 && small > 0 {
					b.ReportMetric(p/small, q+"-p95-ratio")
					b.Logf("cases=%d %-18s p95 ratio to 1k: %.2f", n, q, p/small)
				}
			}
			if n == 100_000 {
				explainSlowest(b, s, pairs)
			}
		})
	}
}

var scaleQueries = []string{"CasesFor", "Case", "FoldersReadable", "DocumentsReadable"}

type scalePair struct{ Account, CaseID int64 }

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func pct(sorted []time.Duration, p int) time.Duration {
	i := (len(sorted)*p + 99) / 100
	if i < 1 {
		i = 1
	}
	return sorted[i-1]
}

// generateScaleData fills the database with n cases and the rest in
// proportion, set-based, with explicit ids computed from the case number:
// case c has parties 3(c-1)+1..3, participants 8(c-1)+1..8, folders
// 14(c-1)+1..14 and documents 10(c-1)+1..10.
func generateScaleData(b *testing.B, s *store.Store, n int) {
	b.Helper()
	accounts := n / 2
	step := accounts / 8
	stmts := []string{
		`SET LOCAL synchronous_commit = off`,
		fmt.Sprintf(`INSERT INTO accounts (id, role, domain, display_name, email, created_at, updated_at)
			SELECT a, (ARRAY['expert','magistrate','clerk','lawyer','party_member'])[1 + a %% 5], 'scale',
				'Compte ' || a, 'a' || a || '@exemple.test', now(), now()
			FROM generate_series(1, %d) a`, accounts),
		// The account of participant slot j (1..8) of case c; the eight
		// slots of a case get distinct accounts.
		`CREATE TEMP TABLE scale_slot (c BIGINT, j INT, account BIGINT) ON COMMIT DROP`,
		fmt.Sprintf(`INSERT INTO scale_slot SELECT c, j, ((c * 7 + j * %d) %% %d) + 1
			FROM generate_series(1, %d) c, generate_series(1, 8) j`, step, accounts, n),
		fmt.Sprintf(`INSERT INTO cases (id, name, first_applicant, first_defendant, jurisdiction, rg_number,
				ordonnance_date, state, owner_id, created_at, updated_at)
			SELECT c, 'Affaire ' || c, 'Demandeur ' || c, 'Défendeur ' || c, 'TJ Rennes', 'RG ' || c,
				now() - interval '1 year',
				CASE c %% 10 WHEN 0 THEN 'finished' WHEN 1 THEN 'paused' WHEN 2 THEN 'creation' ELSE 'in_progress' END,
				((c * 7 + %d) %% %d) + 1, now() - c * interval '1 minute', now() - ((c * 7919) %% %d) * interval '1 second'
			FROM generate_series(1, %d) c`, step, accounts, n, n),
		fmt.Sprintf(`INSERT INTO parties (id, case_id, name, deposit_mode, created_at)
			SELECT 3 * (c - 1) + k, c, 'Partie ' || k, (ARRAY['member','lawyer','paper'])[k], now()
			FROM generate_series(1, %d) c, generate_series(1, 3) k`, n),
		// Slots: 1 expert (the owner), 2 supervising magistrate, 3 clerk,
		// 4..6 lawyers of parties 1..3, 7..8 members of parties 1..2; slot 8
		// is inactive in one case out of five.
		`INSERT INTO participants (id, case_id, account_id, role, party_id, active, supervising, added_at)
			SELECT 8 * (c - 1) + j, c, account,
				(ARRAY['expert','magistrate','clerk','lawyer','lawyer','lawyer','party_member','party_member'])[j],
				CASE WHEN j >= 7 THEN 3 * (c - 1) + (j - 6) END,
				NOT (j = 8 AND c % 5 = 0), j = 2, now()
			FROM scale_slot`,
		fmt.Sprintf(`INSERT INTO participant_parties (participant_id, party_id)
			SELECT 8 * (c - 1) + j, 3 * (c - 1) + (j - 3)
			FROM generate_series(1, %d) c, generate_series(4, 6) j`, n),
		fmt.Sprintf(`INSERT INTO folders (id, case_id, kind, party_id, name, position, created_at)
			SELECT 14 * (c - 1) + k, c,
				(ARRAY['expert_designation','expert_convocations','expert_notes','expert_prereport',
					'registry_outbound','final_report','magistrate','confidential',
					'party_dires','party_pieces','party_dires','party_pieces','party_dires','party_pieces'])[k],
				CASE WHEN k >= 9 THEN 3 * (c - 1) + (k - 7) / 2 END,
				'Dossier ' || k, k, now()
			FROM generate_series(1, %d) c, generate_series(1, 14) k`, n),
		// Documents spread over folders 1, 4, 7, 10, 13, 2, 5, 8, 11, 14,
		// deposited by the expert.
		fmt.Sprintf(`INSERT INTO documents (id, case_id, folder_id, kind, file_name, content_type, size, sha256,
				blob_key, depositor_participant_id, depositor_account_id, deposited_at)
			SELECT d, c, 14 * (c - 1) + ((i * 3) %% 14) + 1, 'autre', 'doc' || d || '.pdf', 'application/pdf',
				1000 + d, md5(d::text) || md5((d + 1)::text), 'blob/' || d, 8 * (c - 1) + 1,
				((c * 7 + %d) %% %d) + 1, now() - d * interval '1 second'
			FROM (SELECT d, (d - 1) / 10 + 1 AS c, (d - 1) %% 10 AS i FROM generate_series(1, %d) d) x`,
			step, accounts, 10*n),
		// One first opening per document, by a participant of its case.
		`INSERT INTO document_openings (document_id, participant_id, case_id, first_opened_at)
			SELECT id, 8 * (case_id - 1) + (id % 8) + 1, case_id, deposited_at + interval '1 hour' FROM documents`,
	}
	err := s.GormForTest().Transaction(func(tx *gorm.DB) error {
		for _, q := range stmts {
			if err := tx.Exec(q).Error; err != nil {
				return fmt.Errorf("%.80s…: %w", strings.TrimSpace(q), err)
			}
		}
		return nil
	})
	if err != nil {
		b.Fatalf("generate: %v", err)
	}
	for _, t := range []string{"accounts", "cases", "parties", "participants", "participant_parties", "folders", "documents", "document_openings"} {
		if err := s.GormForTest().Exec("VACUUM ANALYZE " + t).Error; err != nil {
			b.Fatalf("analyze %s: %v", t, err)
		}
	}
}

// samplePairs draws active (account, case) participant pairs at random
// (with a fixed seed).
func samplePairs(b *testing.B, s *store.Store, k int) []scalePair {
	b.Helper()
	var pairs []scalePair
	err := s.GormForTest().Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec(`SELECT setseed(0.42)`).Error; err != nil {
			return err
		}
		return tx.Raw(`SELECT account_id AS account, case_id FROM participants
			WHERE active AND account_id IS NOT NULL ORDER BY random() LIMIT ?`, k).Scan(&pairs).Error
	})
	if err != nil || len(pairs) != k {
		b.Fatalf("sample: %v (%d pairs)", err, len(pairs))
	}
	return pairs
}

// measureCaseQueries times each query once per pair, after one warm-up
// pass over the first pairs.
func measureCaseQueries(b *testing.B, ctx context.Context, s *store.Store, pairs []scalePair) map[string][]time.Duration {
	b.Helper()
	run := func(q string, p scalePair) error {
		var err error
		switch q {
		case "CasesFor":
			var cs []model.Case
			cs, err = s.CasesFor(ctx, p.Account)
			if err == nil && len(cs) == 0 {
				err = fmt.Errorf("no case for account %d", p.Account)
			}
		case "Case":
			_, err = s.Case(ctx, p.CaseID, p.Account)
		case "FoldersReadable":
			_, err = s.FoldersReadable(ctx, p.CaseID, p.Account)
		case "DocumentsReadable":
			_, err = s.DocumentsReadable(ctx, p.CaseID, p.Account)
		}
		return err
	}
	for _, p := range pairs[:20] {
		for _, q := range scaleQueries {
			if err := run(q, p); err != nil {
				b.Fatalf("%s(%+v): %v", q, p, err)
			}
		}
	}
	out := map[string][]time.Duration{}
	for _, p := range pairs {
		for _, q := range scaleQueries {
			t0 := time.Now()
			if err := run(q, p); err != nil {
				b.Fatalf("%s(%+v): %v", q, p, err)
			}
			out[q] = append(out[q], time.Since(t0))
		}
	}
	return out
}

// explainSlowest logs the plans of the dashboard and of the documents
// query for one sampled pair, so that a sequential scan shows.
func explainSlowest(b *testing.B, s *store.Store, pairs []scalePair) {
	b.Helper()
	p := pairs[0]
	queries := []string{
		fmt.Sprintf(`SELECT cases.* FROM cases JOIN participants p ON p.case_id = cases.id
			WHERE p.account_id = %d AND p.active = true ORDER BY cases.updated_at DESC, cases.id DESC`, p.Account),
		fmt.Sprintf(`SELECT * FROM documents WHERE case_id = %d AND folder_id IN (SELECT f.id FROM folders f
			JOIN cases c ON c.id = f.case_id LEFT JOIN parties pa ON pa.id = f.party_id AND pa.case_id = f.case_id
			WHERE f.case_id = %d AND c.state = c.state) ORDER BY folder_id, deposited_at, id`, p.CaseID, p.CaseID),
		fmt.Sprintf(`SELECT * FROM document_openings WHERE participant_id = (SELECT id FROM participants
			WHERE case_id = %d AND account_id = %d) AND case_id = %d`, p.CaseID, p.Account, p.CaseID),
	}
	for _, q := range queries {
		var lines []string
		if err := s.GormForTest().Raw("EXPLAIN (ANALYZE, BUFFERS) " + q).Scan(&lines).Error; err != nil {
			b.Fatalf("explain: %v", err)
		}
		b.Logf("EXPLAIN %s\n%s", strings.Join(strings.Fields(q), " "), strings.Join(lines, "\n"))
	}
}
