package store

import (
	"context"
	"strings"
	"unicode"

	"gorm.io/gorm"

	"sceau.fr/sceau/portal/model"
)

// Cases of a court. A magistrate's or a clerk's account names their court
// ("Tribunal judiciaire de Rennes"), and each case its jurisdiction, both
// typed freely ("TJ Rennes", "tribunal judiciaire de RENNES"). CourtKey
// reduces both to one key; the key of each case is stored with it
// (cases.jurisdiction_key, indexed) so that the dashboard reads a court's
// cases with one index range, whatever the number of cases.

// courtWords expands the usual abbreviations of French court names and
// drops the small words that vary between two spellings of one name.
var courtWords = map[string][]string{
	"tj": {"tribunal", "judiciaire"}, "ca": {"cour", "appel"},
	"st": {"saint"}, "ste": {"sainte"},
	"de": nil, "d": nil, "du": nil, "des": nil, "la": nil, "le": nil, "l": nil, "les": nil,
}

// CourtKey normalises the name of a court for comparison: case and
// accents ignored (the directory's folding), punctuation and hyphens as
// spaces, "TJ" read as "Tribunal judiciaire" and "CA" as "Cour d'appel",
// "St"/"Ste" as "Saint"/"Sainte", and the articles and "de"/"d'"/"du"
// dropped. "TJ Rennes", "Tribunal judiciaire de Rennes" and "TRIBUNAL
// JUDICIAIRE DE RENNES" give "tribunal judiciaire rennes". An empty key
// matches nothing.
//
// It does not know the courts: "Rennes" alone, an old name ("TGI de
// Rennes", the tribunal de grande instance before 2020), a chamber added
// to the name ("TJ Rennes, 2e chambre civile") or a typing error give
// other keys. Changing it requires a migration that empties
// cases.jurisdiction_key (Store.Migrate then recomputes it).
func CourtKey(name string) string {
	words := strings.FieldsFunc(strings.ToLower(fold(name)), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	out := make([]string, 0, len(words)+2)
	for _, w := range words {
		if repl, ok := courtWords[w]; ok {
			out = append(out, repl...)
			continue
		}
		out = append(out, w)
	}
	return strings.Join(out, " ")
}

// setJurisdictionKey stores the key of the case's jurisdiction.
func setJurisdictionKey(tx *gorm.DB, c *model.Case) error {
	return tx.Exec(`UPDATE cases SET jurisdiction_key = ? WHERE id = ?`, CourtKey(c.Jurisdiction), c.ID).Error
}

// fillJurisdictionKeys computes the keys the migration that added the
// column left empty (cases created before it), one jurisdiction at a time.
func (s *Store) fillJurisdictionKeys(ctx context.Context) error {
	var names []string
	if err := s.gorm(ctx).Raw(`SELECT DISTINCT jurisdiction FROM cases WHERE jurisdiction_key = ''`).Scan(&names).Error; err != nil {
		return err
	}
	for _, n := range names {
		if k := CourtKey(n); k != "" {
			if err := s.gorm(ctx).Exec(`UPDATE cases SET jurisdiction_key = ? WHERE jurisdiction = ? AND jurisdiction_key = ''`, k, n).Error; err != nil {
				return err
			}
		}
	}
	return nil
}

// CourtCasesLimit is the longest list CourtCases returns.
const CourtCasesLimit = 200

// CourtCases lists, for a magistrate or a clerk, the cases whose
// jurisdiction is their account's court (same CourtKey), the most recently
// changed first, at most limit (capped at CourtCasesLimit): metadata only,
// and whether the account takes part in each (as an active participant,
// the only way to open it). Any other account, a suspended one, or one
// without a court gets an empty list.
func (s *Store) CourtCases(ctx context.Context, accountID int64, limit int) ([]model.CourtCase, error) {
	if limit <= 0 || limit > CourtCasesLimit {
		limit = CourtCasesLimit
	}
	var accs []model.Account
	if err := s.gorm(ctx).Select("id, role, court").
		Where("id = ? AND role IN ? AND suspended_at IS NULL", accountID, []string{model.RoleMagistrate, model.RoleClerk}).
		Limit(1).Find(&accs).Error; err != nil {
		return nil, err
	}
	if len(accs) == 0 {
		return nil, nil
	}
	key := CourtKey(accs[0].Court)
	if key == "" {
		return nil, nil
	}
	var out []model.CourtCase
	err := s.gorm(ctx).Raw(`SELECT c.id AS id, c.name AS name, c.rg_number AS rg_number, c.jurisdiction AS jurisdiction,
			c.state AS state, c.ordonnance_date AS ordonnance_date, c.updated_at AS updated_at,
			COALESCE(a.display_name, '') AS expert_name,
			EXISTS (SELECT 1 FROM participants p WHERE p.case_id = c.id AND p.account_id = ? AND p.active = ?) AS participant
		FROM cases c LEFT JOIN accounts a ON a.id = c.owner_id
		WHERE c.jurisdiction_key = ?
		ORDER BY c.updated_at DESC, c.id DESC LIMIT ?`, accountID, true, key, limit).Scan(&out).Error
	return out, err
}
