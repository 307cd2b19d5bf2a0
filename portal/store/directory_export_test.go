package store

import (
	"context"

	"sceau.fr/sceau/migrations"
)

// FoldForTest is the directory's Go folding of the query.
func FoldForTest(s string) string { return fold(s) }

// FoldRunesForTest lists every rune the directory folds.
func FoldRunesForTest() string {
	var out []rune
	for r := range foldRunes {
		out = append(out, r)
	}
	return string(out)
}

// FoldInDatabaseForTest folds text with the SQL the directory runs on
// stored columns.
func (s *Store) FoldInDatabaseForTest(ctx context.Context, text string) (string, error) {
	expr := "sceau_fold(?)"
	if s.dialect == migrations.Postgres {
		expr = pgFold("CAST(? AS TEXT)")
	}
	var out string
	err := s.gorm(ctx).Raw("SELECT "+expr, text).Row().Scan(&out)
	return out, err
}
