// Package templates embeds Sceau's HTML pages and mail templates and parses
// them once at start. Pages are rendered into a buffer before anything is
// written, so a template error never leaves a half page.
package templates

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"path"
	"sort"
	"strings"
	texttemplate "text/template"
)

//go:embed pages/*.html mail/*.html mail/*.txt static i18n/*.json
var files embed.FS

// Static returns the embedded assets (CSS, images) served under /static/.
func Static() fs.FS {
	sub, err := fs.Sub(files, "static")
	if err != nil {
		panic(err)
	}
	return sub
}

// Set holds every parsed template. Pages are parsed once per language
// (see i18n.go): the French set's t is the identity, the English one looks
// the French text up in the catalog.
type Set struct {
	pages    map[string]*htmltemplate.Template // French
	english  map[string]*htmltemplate.Template
	mailHTML map[string]*htmltemplate.Template
	mailText map[string]*texttemplate.Template
}

// Load parses all templates; it fails on the first broken one.
func Load() (*Set, error) {
	s := &Set{
		pages:    map[string]*htmltemplate.Template{},
		english:  map[string]*htmltemplate.Template{},
		mailHTML: map[string]*htmltemplate.Template{},
		mailText: map[string]*texttemplate.Template{},
	}
	if err := s.loadPages(); err != nil {
		return nil, err
	}
	if err := s.loadMail(); err != nil {
		return nil, err
	}
	return s, nil
}

// MustLoad is Load for tests and init paths where templates are known good.
func MustLoad() *Set {
	s, err := Load()
	if err != nil {
		panic(err)
	}
	return s
}

func (s *Set) loadPages() error {
	names, err := fs.Glob(files, "pages/*.html")
	if err != nil {
		return err
	}
	for _, n := range names {
		base := path.Base(n)
		if strings.HasPrefix(base, "_") {
			continue // layouts and partials
		}
		for _, lang := range Langs {
			t, err := htmltemplate.New(base).Funcs(funcs).Funcs(langFuncs(lang)).ParseFS(files, "pages/_*.html", n)
			if err != nil {
				return fmt.Errorf("template %s: %w", n, err)
			}
			s.byLang(lang)[strings.TrimSuffix(base, ".html")] = t
		}
	}
	return nil
}

func (s *Set) byLang(lang string) map[string]*htmltemplate.Template {
	if lang == English {
		return s.english
	}
	return s.pages
}

func (s *Set) loadMail() error {
	names, err := fs.Glob(files, "mail/*.txt")
	if err != nil {
		return err
	}
	for _, n := range names {
		base := strings.TrimSuffix(path.Base(n), ".txt")
		if strings.HasPrefix(base, "_") {
			continue
		}
		tt, err := texttemplate.New(base+".txt").Funcs(texttemplate.FuncMap(funcs)).Funcs(langFuncs(French)).ParseFS(files, n)
		if err != nil {
			return fmt.Errorf("template %s: %w", n, err)
		}
		ht, err := htmltemplate.New("_layout.html").Funcs(funcs).Funcs(langFuncs(French)).ParseFS(files, "mail/_layout.html", "mail/"+base+".html")
		if err != nil {
			return fmt.Errorf("template mail/%s.html: %w", base, err)
		}
		s.mailText[base], s.mailHTML[base] = tt, ht
	}
	return nil
}

var funcs = htmltemplate.FuncMap{
	// field bundles what the "field" partial needs.
	"field": func(name, label, value string, errs interface{ For(string) string }, required bool) map[string]any {
		msg := ""
		if errs != nil {
			msg = errs.For(name)
		}
		return map[string]any{"Name": name, "Label": label, "Value": value, "Error": msg, "Required": required}
	},
	"courtLabel": func(domain string) string {
		if domain == "expert" {
			return "Cour d’appel de rattachement"
		}
		return "Juridiction"
	},
}

// Page renders the named page in French, without the language switch.
func (s *Set) Page(name string, data any) ([]byte, error) {
	return s.PageIn(French, name, data, "")
}

// frame is what the layout draws around a page: its language, the link of
// the language switch (empty: no switch) and the page's own data, which
// the page's "title" and "content" receive.
type frame struct {
	Lang, Switch string
	Data         any
}

// PageIn renders the named page (pages/NAME.html, drawn through its
// layout) in lang, French for an unknown language; switchURL is the link
// the header's language switch follows, or "" to leave the switch out.
func (s *Set) PageIn(lang, name string, data any, switchURL string) ([]byte, error) {
	if !Supported(lang) {
		lang = French
	}
	t, ok := s.byLang(lang)[name]
	if !ok {
		return nil, fmt.Errorf("no page template %q", name)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", frame{Lang: lang, Switch: switchURL, Data: data}); err != nil {
		return nil, fmt.Errorf("page %s: %w", name, err)
	}
	return buf.Bytes(), nil
}

// PageNames lists the pages that can be rendered (partials left out).
func (s *Set) PageNames() []string {
	names := make([]string, 0, len(s.pages))
	for n := range s.pages {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Mail is one rendered email.
type Mail struct {
	Subject, Text, HTML string
}

// Mail renders mail/NAME.txt (which defines "subject" and "body") and
// mail/NAME.html (which defines "content", drawn in mail/_layout.html).
func (s *Set) Mail(name string, data any) (Mail, error) {
	tt, ok := s.mailText[name]
	if !ok {
		return Mail{}, fmt.Errorf("no mail template %q", name)
	}
	var subj, text, html bytes.Buffer
	if err := tt.ExecuteTemplate(&subj, "subject", data); err != nil {
		return Mail{}, fmt.Errorf("mail %s subject: %w", name, err)
	}
	if err := tt.ExecuteTemplate(&text, "body", data); err != nil {
		return Mail{}, fmt.Errorf("mail %s text: %w", name, err)
	}
	if err := s.mailHTML[name].ExecuteTemplate(&html, "_layout.html", data); err != nil {
		return Mail{}, fmt.Errorf("mail %s html: %w", name, err)
	}
	return Mail{
		Subject: strings.Join(strings.Fields(subj.String()), " "),
		Text:    strings.TrimSpace(text.String()) + "\n",
		HTML:    html.String(),
	}, nil
}
