package store

import (
	"context"
	"strings"
)

// FoldForTest is the directory's Go folding of the query.
func FoldForTest(s string) string { return fold(s) }

// FoldRunesForTest lists every rune the directory folds.
func FoldRunesForTest() []rune {
	var out []rune
	for r := range foldRunes {
		out = append(out, r)
	}
	return out
}

// MatchesInDatabaseForTest says whether the directory's condition finds
// the word (folded here, as the search does) in the stored text.
func (s *Store) MatchesInDatabaseForTest(ctx context.Context, stored, word string) (bool, error) {
	w := fold(word)
	if strings.ContainsFunc(w, func(r rune) bool { return r == ' ' }) || w == "" {
		panic("one word, please")
	}
	cond, arg := s.wordMatch("CAST(? AS TEXT)", w)
	var n int
	err := s.gorm(ctx).Raw("SELECT CASE WHEN "+cond+" THEN 1 ELSE 0 END", stored, arg).Row().Scan(&n)
	return n == 1, err
}
