package store_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"sceau.fr/sceau/portal/store/storetest"
)

// BenchmarkCourtCasesAtScale measures the "Expertises de ma juridiction"
// list of a magistrate's or clerk's dashboard (CourtCases, 51 rows asked
// as the page does) with the data set of BenchmarkCaseQueriesAtScale at
// 1 k and 100 k cases on PostgreSQL, in two layouts: every case in one
// court (the generated "TJ Rennes", the worst case: 100 k cases for one
// key), then spread over 10 courts. The keys are computed by Store.Migrate
// from the jurisdictions, as for cases created before the column existed
// (its duration is logged). It reports p50/p95/max and, at 100 k, the
// p95 ratio to 1 k. Run it with
//
//	.ci/with-postgres go test -run '^$' -bench BenchmarkCourtCasesAtScale -benchtime 1x ./portal/store/
func BenchmarkCourtCasesAtScale(b *testing.B) {
	if testing.Short() {
		b.Skip("generates 100 k cases and 1 M documents: not under -short")
	}
	p95 := map[string]float64{}
	for _, n := range []int{1_000, 100_000} {
		b.Run(fmt.Sprintf("cases=%d", n), func(b *testing.B) {
			s := storetest.Open(b, "postgres")
			ctx := context.Background()
			generateScaleData(b, s, n)
			db := s.GormForTest()
			metrics := map[string]float64{} // reported at the end: ResetTimer drops them
			layouts := []struct {
				name, key string
				sql       []string
			}{
				{"one-court", "tribunal judiciaire rennes", []string{
					`UPDATE accounts SET court = 'Tribunal judiciaire de Rennes' WHERE role IN ('magistrate', 'clerk')`,
				}},
				{"10-courts", "tribunal judiciaire ville 3", []string{
					`UPDATE cases SET jurisdiction = 'TJ Ville ' || (id % 10), jurisdiction_key = ''`,
					`UPDATE accounts SET court = 'Tribunal judiciaire de Ville ' || (id % 10) WHERE role IN ('magistrate', 'clerk')`,
				}},
			}
			for _, l := range layouts {
				for _, q := range l.sql {
					if err := db.Exec(q).Error; err != nil {
						b.Fatal(err)
					}
				}
				start := time.Now()
				if _, err := s.Migrate(ctx); err != nil { // fills the keys
					b.Fatal(err)
				}
				b.Logf("cases=%d %s: keys filled by Migrate in %v", n, l.name, time.Since(start).Round(time.Millisecond))
				for _, t := range []string{"cases", "accounts"} {
					if err := db.Exec("VACUUM ANALYZE " + t).Error; err != nil {
						b.Fatal(err)
					}
				}
				var justice []int64
				if err := db.Raw(`SELECT id FROM accounts WHERE role IN ('magistrate', 'clerk') ORDER BY md5(id::text) LIMIT 300`).Scan(&justice).Error; err != nil {
					b.Fatal(err)
				}
				for _, id := range justice[:20] { // warm-up
					if _, err := s.CourtCases(ctx, id, 51); err != nil {
						b.Fatal(err)
					}
				}
				var d []time.Duration
				b.ResetTimer()
				for range b.N {
					d = d[:0]
					for _, id := range justice {
						t0 := time.Now()
						got, err := s.CourtCases(ctx, id, 51)
						d = append(d, time.Since(t0))
						if err != nil || len(got) != 51 {
							b.Fatalf("CourtCases(%d): %d rows, %v", id, len(got), err)
						}
					}
				}
				b.StopTimer()
				slices.Sort(d)
				key := l.name
				p50, p, mx := ms(pct(d, 50)), ms(pct(d, 95)), ms(d[len(d)-1])
				metrics[key+"-p50-ms"], metrics[key+"-p95-ms"], metrics[key+"-max-ms"] = p50, p, mx
				b.Logf("cases=%d CourtCases %-9s p50 %7.3f ms  p95 %7.3f ms  max %7.3f ms  (%d samples)", n, l.name, p50, p, mx, len(d))
				if small, ok := p95[key]; ok && small > 0 {
					metrics[key+"-p95-ratio"] = p / small
					b.Logf("cases=%d CourtCases %-9s p95 ratio to 1k: %.2f", n, l.name, p/small)
				} else {
					p95[key] = p
				}
				if n == 100_000 {
					var plan []string
					if err := db.Raw(`EXPLAIN (ANALYZE, BUFFERS) SELECT c.id, a.display_name,
							EXISTS (SELECT 1 FROM participants p WHERE p.case_id = c.id AND p.account_id = ? AND p.active)
						FROM cases c LEFT JOIN accounts a ON a.id = c.owner_id
						WHERE c.jurisdiction_key = ? ORDER BY c.updated_at DESC, c.id DESC LIMIT 51`, justice[0], l.key).Scan(&plan).Error; err != nil {
						b.Fatal(err)
					}
					// One line (benchmark logs are cut after ten lines):
					// the scan used and the execution time.
					var short []string
					for _, line := range plan {
						if strings.Contains(line, "Scan") || strings.Contains(line, "Execution Time") {
							short = append(short, strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(line), "->")))
						}
					}
					b.Logf("cases=%d %s plan: %s", n, l.name, strings.Join(short, " | "))
				}
			}
			for k, v := range metrics {
				b.ReportMetric(v, k)
			}
		})
	}
}
