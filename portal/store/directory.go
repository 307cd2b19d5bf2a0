package store

import (
	"context"
	"database/sql/driver"
	"fmt"
	"slices"
	"strings"

	gosqlite "github.com/glebarez/go-sqlite"

	"sceau.fr/sceau/migrations"
	"sceau.fr/sceau/portal/model"
)

// The directory search ignores case and accents the same way on both
// databases, without depending on the server's locale or on extensions:
// stored text and the query are both folded with one table, foldRunes,
// before a LIKE. On PostgreSQL the table becomes a translate() (plus a
// replace() for the letters that fold to two); on SQLite it is a Go
// function registered with the driver. Letters outside the table (Greek,
// Cyrillic…) are compared as typed.
var foldRunes = func() map[rune]string {
	m := map[rune]string{}
	groups := map[string]string{
		"a":  "ÀÁÂÃÄÅàáâãäåĀāĂăĄą",
		"c":  "ÇçĆćČč",
		"d":  "ĎďĐđ",
		"e":  "ÈÉÊËèéêëĒēĖėĘęĚě",
		"i":  "ÌÍÎÏìíîïĪīĮįİı",
		"l":  "ŁłĽľĹĺ",
		"n":  "ÑñŃńŇň",
		"o":  "ÒÓÔÕÖØòóôõöøŌōŐő",
		"r":  "ŔŕŘř",
		"s":  "ŚśŠšŞşȘș",
		"t":  "ŤťŢţȚț",
		"u":  "ÙÚÛÜùúûüŪūŮůŰűŲų",
		"y":  "ÝýÿŸ",
		"z":  "ŹźŻżŽž",
		"'":  "’‘ʼ",
		" ":  "\u00a0\u202f",
		"oe": "Œœ",
		"ae": "Ææ",
		"ss": "ß",
	}
	for to, from := range groups {
		for _, r := range from {
			m[r] = to
		}
	}
	for r := 'A'; r <= 'Z'; r++ {
		m[r] = string(r + 'a' - 'A')
	}
	return m
}()

func init() {
	gosqlite.MustRegisterDeterministicScalarFunction("sceau_fold", 1,
		func(_ *gosqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
			switch v := args[0].(type) {
			case nil:
				return nil, nil
			case string:
				return fold(v), nil
			case []byte:
				return fold(string(v)), nil
			default:
				return v, nil
			}
		})
}

// fold lower-cases ASCII and strips the accents of Latin letters.
func fold(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if to, ok := foldRunes[r]; ok {
			b.WriteString(to)
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// pgFold is the PostgreSQL expression folding the text expression x.
var pgFold = func() func(x string) string {
	var from, to strings.Builder
	var multi []rune
	keys := make([]rune, 0, len(foldRunes))
	for r := range foldRunes {
		keys = append(keys, r)
	}
	slices.Sort(keys)
	for _, r := range keys {
		if t := foldRunes[r]; len(t) == 1 {
			from.WriteRune(r)
			to.WriteString(t)
		} else {
			multi = append(multi, r)
		}
	}
	head := "translate("
	tail := ", " + sqlString(from.String()) + ", " + sqlString(to.String()) + ")"
	for _, r := range multi {
		head = "replace(" + head
		tail += ", " + sqlString(string(r)) + ", " + sqlString(foldRunes[r]) + ")"
	}
	return func(x string) string { return head + x + tail }
}()

// sqlString quotes a constant for SQL.
func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// likeEscaper makes the user's text literal in a LIKE pattern (ESCAPE '\').
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// directoryColumns are the fields the directory shows; the others (phone,
// terms, suspension, dates) stay in the database.
const directoryColumns = "id, role, domain, display_name, email, court, bar, cnbf, specialties, national_list"

// SearchDirectory finds active professionals for the directory (see
// model.DirectoryQuery), in ascending id order. Suspended accounts and
// litigants never appear. Only the public fields of the accounts are
// filled. An invalid query returns its model.ValidationErrors.
func (s *Store) SearchDirectory(ctx context.Context, q model.DirectoryQuery) ([]model.Account, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	limit := q.Limit
	if limit == 0 {
		limit = model.DirectoryPageSize
	}
	limit = min(limit, model.DirectoryMaxLimit)
	foldSQL := func(x string) string { return "sceau_fold(" + x + ")" }
	if s.dialect == migrations.Postgres {
		foldSQL = pgFold
	}

	where := []string{"role IN ?", "suspended_at IS NULL"}
	args := []any{q.Roles()}
	// Each word must appear in the haystack: the fields joined by a space,
	// which a word (never containing a space) cannot straddle.
	match := func(text string, fields ...string) {
		if text == "" {
			return
		}
		hay := foldSQL(strings.Join(fields, " || ' ' || "))
		seen := map[string]bool{}
		for _, w := range strings.Fields(fold(text)) {
			if seen[w] {
				continue
			}
			seen[w] = true
			where = append(where, hay+` LIKE ? ESCAPE '\'`)
			args = append(args, "%"+likeEscaper.Replace(w)+"%")
		}
	}
	switch q.Kind {
	case model.DirectoryExperts:
		match(q.Text, "display_name")
		match(q.Court, "court")
		match(q.Specialty, "specialties")
	case model.DirectoryLawyers:
		match(q.Text, "display_name", "email", "cnbf")
		match(q.Court, "bar")
	case model.DirectoryJustice:
		match(q.Text, "display_name")
		match(q.Court, "court")
	}
	order := "id"
	switch {
	case q.AfterID > 0:
		where, args = append(where, "id > ?"), append(args, q.AfterID)
	case q.BeforeID > 0:
		// The page before: the closest ids below, put back in order below.
		where, args = append(where, "id < ?"), append(args, q.BeforeID)
		order = "id DESC"
	}
	query := fmt.Sprintf("SELECT %s FROM accounts WHERE %s ORDER BY %s LIMIT ?",
		directoryColumns, strings.Join(where, " AND "), order)
	args = append(args, limit)
	var out []model.Account
	if err := s.gorm(ctx).Raw(query, args...).Scan(&out).Error; err != nil {
		return nil, err
	}
	if q.BeforeID > 0 {
		slices.Reverse(out)
	}
	return out, nil
}
