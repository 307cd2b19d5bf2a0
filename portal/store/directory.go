package store

import (
	"context"
	"database/sql/driver"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	gosqlite "github.com/glebarez/go-sqlite"

	"sceau.fr/sceau/migrations"
	"sceau.fr/sceau/portal/model"
)

// The directory search ignores case and accents the same way on both
// databases, without depending on the server's locale or on extensions.
// One table, foldRunes, folds the query in Go: ASCII capitals to lower
// case, accented Latin letters to their base letter, ligatures to two
// letters, typographic apostrophes to '. A word of the query then matches
// stored text whose folding contains it:
//   - on SQLite, the same Go function folds the stored text (registered
//     with the driver as sceau_fold) before a LIKE;
//   - on PostgreSQL, where translate() with a long list is slow (a third
//     of a second on 30,000 lawyers), the ligatures are expanded with
//     replace() and the word becomes a regular expression in which each
//     letter is the class of every letter that folds to it ("é" gives
//     [eEÈÉÊËèéêë…]): ten times faster, and the same result.
//
// Letters outside the table (Greek, Cyrillic…) are compared as typed.
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

// pgExpand is the PostgreSQL expression that expands the ligatures of the
// text expression x (œ → oe, Œ → OE…): what is left folds letter by letter.
var pgExpand = func() func(x string) string {
	head, tail := "", ""
	keys := make([]rune, 0, len(foldRunes))
	for r, to := range foldRunes {
		if utf8.RuneCountInString(to) > 1 {
			keys = append(keys, r)
		}
	}
	slices.Sort(keys)
	for _, r := range keys {
		to := foldRunes[r]
		if unicode.IsUpper(r) {
			to = strings.ToUpper(to)
		}
		head = "replace(" + head
		tail += ", '" + string(r) + "', '" + to + "')"
	}
	return func(x string) string { return head + x + tail }
}()

// pgClasses maps each folded letter to the bracket expression of every
// letter that folds to it, itself included.
var pgClasses = func() map[rune]string {
	sources := map[rune][]rune{}
	for r, to := range foldRunes {
		if utf8.RuneCountInString(to) == 1 {
			c, _ := utf8.DecodeRuneInString(to)
			sources[c] = append(sources[c], r)
		}
	}
	out := map[rune]string{}
	for c, rs := range sources {
		slices.Sort(rs)
		out[c] = "[" + string(c) + string(rs) + "]"
	}
	return out
}()

// pgRegexp is the PostgreSQL regular expression (ARE) matching the folded
// word w in text whose ligatures are expanded.
func pgRegexp(w string) string {
	var b strings.Builder
	for _, r := range w {
		switch {
		case pgClasses[r] != "":
			b.WriteString(pgClasses[r])
		case r < utf8.RuneSelf && !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9'):
			// ASCII punctuation may be an operator: a backslash before a
			// character that is not alphanumeric makes it literal (%, _,
			// ., \, (, [, *…). Other characters are never operators.
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// likeEscaper makes the user's text literal in a LIKE pattern (ESCAPE '\').
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// wordMatch is the condition that the folded word w appears in the text
// expression hay, and its argument.
func (s *Store) wordMatch(hay, w string) (string, any) {
	if s.dialect == migrations.Postgres {
		return pgExpand(hay) + " ~ ?", pgRegexp(w)
	}
	return "sceau_fold(" + hay + `) LIKE ? ESCAPE '\'`, "%" + likeEscaper.Replace(w) + "%"
}

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

	where := []string{"role IN ?", "suspended_at IS NULL"}
	args := []any{q.Roles()}
	// Each word must appear in the haystack: the fields joined by a space,
	// which a word (never containing a space) cannot straddle.
	match := func(text string, fields ...string) {
		if text == "" {
			return
		}
		hay := strings.Join(fields, " || ' ' || ")
		seen := map[string]bool{}
		for _, w := range strings.Fields(fold(text)) {
			if seen[w] {
				continue
			}
			seen[w] = true
			cond, arg := s.wordMatch(hay, w)
			where, args = append(where, cond), append(args, arg)
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
