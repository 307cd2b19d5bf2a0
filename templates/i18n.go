package templates

import (
	"encoding/json"
	"fmt"
	htmltemplate "html/template"
	"reflect"
	"strings"
)

// French is the source language: every page is written in French and
// English is a catalog keyed by the French text (templates/i18n/en.json).
// A string missing from the catalog stays French, so a page never breaks
// for want of a translation.
const (
	French  = "fr"
	English = "en"
)

// Langs are the languages a page can be drawn in, French first.
var Langs = []string{French, English}

// catalogs maps a language to its translations, keyed by the French text
// with its whitespace folded (see Key).
var catalogs = map[string]map[string]string{}

func init() {
	b, err := files.ReadFile("i18n/en.json")
	if err != nil {
		panic(err)
	}
	raw := map[string]string{}
	if err := json.Unmarshal(b, &raw); err != nil {
		panic(fmt.Errorf("templates/i18n/en.json: %w", err))
	}
	en := make(map[string]string, len(raw))
	for k, v := range raw {
		en[Key(k)] = v
	}
	catalogs[English] = en
}

// Key folds runs of white space (line breaks of a template included) into
// single spaces, so a sentence wrapped over two lines in a template finds
// its one-line catalog entry.
func Key(french string) string {
	return strings.Join(strings.Fields(french), " ")
}

// Supported reports whether lang is one of Langs.
func Supported(lang string) bool {
	return lang == French || lang == English
}

// T translates a French text into lang; French, an unknown language or a
// text missing from the catalog give the French text back unchanged.
func T(lang, french string) string {
	if lang == French || french == "" {
		return french
	}
	if v, ok := catalogs[lang][Key(french)]; ok {
		return v
	}
	return french
}

// CatalogKeys returns the French keys of lang's catalog (for tests).
func CatalogKeys(lang string) []string {
	keys := make([]string, 0, len(catalogs[lang]))
	for k := range catalogs[lang] {
		keys = append(keys, k)
	}
	return keys
}

// langFuncs are the functions whose result depends on the language a page
// set is parsed for:
//
//	{{t "Mon compte"}}                 a French literal, or a French
//	{{t .Title}}                       string built in Go (labels, notices)
//	{{tf "Bonjour %s" .Name}}          a translated fmt format
//	{{th "Gardez <strong>ce</strong>…"}} a literal with markup, trusted
//	                                   as HTML: never a value from data
//	{{lang}}                           "fr" or "en"
func langFuncs(lang string) map[string]any {
	return map[string]any{
		"t": func(v any) string { return T(lang, asText(v)) },
		"tf": func(format string, args ...any) string {
			return fmt.Sprintf(T(lang, format), args...)
		},
		"th": func(french string) htmltemplate.HTML {
			return htmltemplate.HTML(T(lang, french)) // #nosec: template literals and the embedded catalog only (checked by TestCatalog)
		},
		"lang": func() string { return lang },
	}
}

// asText turns what a template hands to t into a string: strings and types
// built on string (labels keyed by state, role…), Stringers, else fmt.
func asText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case fmt.Stringer:
		return x.String()
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.String {
		return rv.String()
	}
	return fmt.Sprint(v)
}
