package templates

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// literalRE finds the French literals handed to t, tf and th in a page,
// and the labels handed to field (its partial translates them).
var literalRE = regexp.MustCompile(`\b(t|tf|th|field "[^"]*") ("(?:[^"\\]|\\.)*"|\S+)`)

// pageLiterals returns the French literals of every page template, folded
// as the catalog keys are, and fails on th given anything but a literal
// (th trusts its text as HTML).
func pageLiterals(t *testing.T) map[string][]string {
	t.Helper()
	names, err := fs.Glob(files, "pages/*.html")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, n := range names {
		b, err := files.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		for _, action := range regexp.MustCompile(`{{-?(.*?)-?}}`).FindAllStringSubmatch(string(b), -1) {
			for _, m := range literalRE.FindAllStringSubmatch(action[1], -1) {
				if !strings.HasPrefix(m[2], `"`) {
					if m[1] == "th" {
						t.Errorf("%s: th %s: th takes only a literal (it is trusted as HTML)", n, m[2])
					}
					continue
				}
				lit, err := strconv.Unquote(m[2])
				if err != nil {
					t.Errorf("%s: %s: %v", n, m[2], err)
					continue
				}
				k := Key(lit)
				out[k] = append(out[k], n)
			}
		}
	}
	return out
}

// TestCatalogCoversPages: every French literal of a page has its English
// entry, so a page wrapped for translation is translated in full.
func TestCatalogCoversPages(t *testing.T) {
	en := catalogs[English]
	var missing []string
	for k, where := range pageLiterals(t) {
		if _, ok := en[k]; !ok {
			missing = append(missing, k+"  ("+strings.Join(where, ", ")+")")
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("no English for %q", m)
	}
}

// TestCatalogKeysUsed keeps the catalog honest: each key is a French text
// still written in a page template or in the Go sources (labels, notices,
// refusals rendered through t). A key nobody writes any more is dead.
func TestCatalogKeysUsed(t *testing.T) {
	var corpus strings.Builder
	for _, root := range []string{"../portal", "../templates", "../cmd"} {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if d.Name() == "node_modules" {
					return filepath.SkipDir
				}
				return nil
			}
			if strings.HasSuffix(p, "_test.go") || !(strings.HasSuffix(p, ".go") || strings.HasSuffix(p, ".html")) {
				return nil
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			corpus.WriteString(Key(string(b)))
			corpus.WriteByte('\n')
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	text := corpus.String()
	var unused []string
	for _, k := range CatalogKeys(English) {
		if !strings.Contains(text, k) && !strings.Contains(text, strings.ReplaceAll(k, `"`, `\"`)) { // as written in a literal
			unused = append(unused, k)
		}
	}
	sort.Strings(unused)
	for _, k := range unused {
		t.Errorf("catalog key used nowhere: %q", k)
	}
}

// TestCatalogFormats: an English format has the same verbs, in the same
// order, as its French key (tf hands both the same arguments).
func TestCatalogFormats(t *testing.T) {
	verbs := regexp.MustCompile(`%[-+# 0-9.]*[a-zA-Z%]`)
	for k, v := range catalogs[English] {
		if a, b := strings.Join(verbs.FindAllString(k, -1), " "), strings.Join(verbs.FindAllString(v, -1), " "); a != b {
			t.Errorf("%q: verbs %q in French, %q in English", k, a, b)
		}
	}
}

func TestT(t *testing.T) {
	for _, c := range []struct{ lang, in, want string }{
		{French, "Mon compte", "Mon compte"},
		{English, "Mon compte", "My account"},
		{English, "Mon   compte\n", "My account"}, // white space folded
		{English, "Texte absent", "Texte absent"}, // missing: French
		{"de", "Mon compte", "Mon compte"},
		{English, "", ""},
	} {
		if got := T(c.lang, c.in); got != c.want {
			t.Errorf("T(%q, %q) = %q, want %q", c.lang, c.in, got, c.want)
		}
	}
}
