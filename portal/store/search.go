package store

import (
	"context"
	"strings"
	"unicode/utf8"

	"gorm.io/gorm"

	"sceau.fr/sceau/portal/model"
	"sceau.fr/sceau/portal/rights"
)

// Search looks for the text in the names of the cases the account takes
// part in (actively), of the documents it may read in them, and of their
// participants. It is driven by the account's participations
// (participants_account index), so its cost depends on how many cases the
// account takes part in, not on the size of the platform; the words are
// then matched the way the directory matches them (every word, case and
// accents ignored, see wordMatch). Documents are filtered by the rights
// matrix in SQL (folderQuery), like the case page.

// SearchMinLength is the shortest query, in characters other than spaces.
const SearchMinLength = 3

// SearchLimit bounds each kind of result.
const SearchLimit = 50

// Search results (see package model).
type (
	SearchResults     = model.SearchResults
	SearchDocument    = model.SearchDocument
	SearchParticipant = model.SearchParticipant
)

// ErrSearchTooShort: the query has fewer than SearchMinLength characters.
var ErrSearchTooShort = model.ValidationErrors{{Field: "q", Message: "Saisissez au moins 3 caractères."}}

// words folds the query into its distinct words.
func searchWords(text string) ([]string, error) {
	text = strings.TrimSpace(text)
	if utf8.RuneCountInString(strings.Join(strings.Fields(text), "")) < SearchMinLength || utf8.RuneCountInString(text) > 200 {
		return nil, ErrSearchTooShort
	}
	var out []string
	seen := map[string]bool{}
	for _, w := range strings.Fields(fold(text)) {
		if !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	return out, nil
}

// matchAll is the condition that every word appears in hay.
func (s *Store) matchAll(hay string, words []string) (string, []any) {
	conds := make([]string, 0, len(words))
	args := make([]any, 0, len(words))
	for _, w := range words {
		c, a := s.wordMatch(hay, w)
		conds, args = append(conds, c), append(args, a)
	}
	return strings.Join(conds, " AND "), args
}

// Search runs the search for the account (see above). A query shorter
// than SearchMinLength gives ErrSearchTooShort (model.ValidationErrors).
func (s *Store) Search(ctx context.Context, accountID int64, text string) (*SearchResults, error) {
	words, err := searchWords(text)
	if err != nil {
		return nil, err
	}
	out := &SearchResults{}
	mine := "SELECT case_id FROM participants WHERE account_id = ? AND active = ?"
	err = s.gorm(ctx).Transaction(func(tx *gorm.DB) error {
		cond, args := s.matchAll("cases.name || ' ' || cases.rg_number", words)
		if err := tx.Raw(`SELECT cases.* FROM cases JOIN participants p ON p.case_id = cases.id
			WHERE p.account_id = ? AND p.active = ? AND `+cond+` ORDER BY cases.updated_at DESC, cases.id DESC LIMIT ?`,
			append(append([]any{accountID, true}, args...), SearchLimit)...).Scan(&out.Cases).Error; err != nil {
			return err
		}

		name := "COALESCE(NULLIF(a.display_name, ''), pt.display_name)"
		cond, args = s.matchAll(name, words)
		if err := tx.Raw(`SELECT pt.id AS id, pt.case_id AS case_id, `+name+` AS name, pt.role AS role, c.name AS case_name,
				pt.account_id IS NOT NULL AS has_account
			FROM participants pt JOIN cases c ON c.id = pt.case_id LEFT JOIN accounts a ON a.id = pt.account_id
			WHERE pt.case_id IN (`+mine+`) AND `+cond+` ORDER BY c.updated_at DESC, pt.case_id DESC, pt.id LIMIT ?`,
			append(append([]any{accountID, true}, args...), SearchLimit)...).Scan(&out.Participants).Error; err != nil {
			return err
		}

		// Documents: the cases with a document of that name first, then
		// in each, the documents the account may read (rights in SQL).
		cond, args = s.matchAll("d.file_name", words)
		var cases []int64
		if err := tx.Raw(`SELECT DISTINCT d.case_id FROM documents d WHERE d.case_id IN (`+mine+`) AND `+cond+` ORDER BY d.case_id DESC`,
			append([]any{accountID, true}, args...)...).Scan(&cases).Error; err != nil {
			return err
		}
		for _, caseID := range cases {
			if len(out.Documents) >= SearchLimit {
				break
			}
			p, st, err := participantAndState(tx, caseID, accountID)
			if err != nil {
				return err
			}
			var docs []SearchDocument
			folders := folderQuery(tx.Session(&gorm.Session{NewDB: true}), caseID, p, st, rights.ActionRead).Select("f.id")
			if err := tx.Raw(`SELECT d.id AS id, d.case_id AS case_id, d.folder_id AS folder_id, d.file_name AS file_name, d.kind AS kind,
					c.name AS case_name, f.name AS folder_name, d.deposited_at AS deposited_at
				FROM documents d JOIN cases c ON c.id = d.case_id JOIN folders f ON f.id = d.folder_id
				WHERE d.case_id = ? AND d.folder_id IN (?) AND `+cond+` ORDER BY d.deposited_at DESC, d.id DESC LIMIT ?`,
				append(append([]any{caseID, folders}, args...), SearchLimit-len(out.Documents))...).Scan(&docs).Error; err != nil {
				return err
			}
			out.Documents = append(out.Documents, docs...)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
