package templates

import (
	"bytes"
	"encoding/xml"
	"io"
	"regexp"
	"strings"
	"testing"

	"sceau.fr/sceau/portal/useragent"
)

// guidePartialData is the data contract of the guide partials.
type guidePartialData struct {
	PortalURL, FileName, Password string
}

// guidePageData is the data contract of the counter_guide page.
type guidePageData struct {
	Lang                          string
	Guide                         string
	Guides                        []useragent.GuideInfo
	PortalURL, FileName, Password string
}

const (
	samplePortal   = "https://portail.sceau.example/"
	sampleFile     = "certificat-sceau-dupont.p12"
	samplePassword = "K7QM-4TZP-9WXD-H2RB-6NFA"
)

// renderPartial runs one named partial through the real, embedded set.
func renderPartial(t *testing.T, s *Set, name string, data any) string {
	t.Helper()
	var buf bytes.Buffer
	if err := s.pages["counter_guide"].ExecuteTemplate(&buf, name, data); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return buf.String()
}

var headingRE = regexp.MustCompile(`<h([1-6])[ >]`)

// checkHeadings fails when a heading level skips one (h2 then h4) or the
// first heading is not at level first.
func checkHeadings(t *testing.T, name, html string, first int) {
	t.Helper()
	hs := headingRE.FindAllStringSubmatch(html, -1)
	if len(hs) == 0 {
		t.Errorf("%s: no heading", name)
		return
	}
	prev := first - 1
	for i, h := range hs {
		lvl := int(h[1][0] - '0')
		if (i == 0 && lvl != first) || lvl > prev+1 {
			t.Errorf("%s: heading h%d after h%d", name, lvl, prev)
		}
		prev = lvl
	}
}

// checkNesting fails when the elements are not properly closed and nested
// (the partials use no void elements, so a strict XML reader will do).
func checkNesting(t *testing.T, name, html string) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader("<root>" + html + "</root>"))
	for {
		_, err := d.Token()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Errorf("%s: badly nested HTML: %v", name, err)
			return
		}
	}
}

func TestGuidePartials(t *testing.T) {
	s := MustLoad()
	for _, g := range useragent.Guides() {
		name := "guide_" + string(g.ID)
		t.Run(string(g.ID), func(t *testing.T) {
			out := renderPartial(t, s, name, guidePartialData{PortalURL: samplePortal, FileName: sampleFile, Password: samplePassword})
			for _, want := range []string{
				"<ol>",                        // numbered steps
				sampleFile,                    // the file they look for
				samplePassword,                // what they paste
				`href="` + samplePortal + `"`, // Tester mon certificat
				">Tester mon certificat</a>",  //
				"Sceau Issuing CA",            // which certificate to pick
				"majuscules",                  // the password is case-sensitive
				"Copier",                      // use the copy button
				"Contactez l’expert",          // last resort
				"par votre nom",               // what success looks like
			} {
				if !strings.Contains(out, want) {
					t.Errorf("%s does not contain %q", name, want)
				}
			}
			if strings.Contains(out, "<h1") {
				t.Errorf("%s has an h1: the page around it owns it", name)
			}
			checkHeadings(t, name, out, 2)
			checkNesting(t, name, out)

			// The standalone page has no password: the text points to the
			// one shown at the counter.
			out = renderPartial(t, s, name, guidePartialData{PortalURL: samplePortal, FileName: sampleFile})
			if !strings.Contains(out, "le mot de passe affiché lors du retrait") || strings.Contains(out, "<code></code>") {
				t.Errorf("%s without a password does not point to the one shown at the counter", name)
			}
			// The dispatcher draws the same partial, whether .Guide is a
			// string or a useragent.Guide.
			if got := renderPartial(t, s, "guide", guidePageData{Guide: string(g.ID), PortalURL: samplePortal, FileName: sampleFile}); got != out {
				t.Errorf(`"guide" with .Guide=%q does not draw %s`, g.ID, name)
			}
			typed := struct {
				Guide                         useragent.Guide
				PortalURL, FileName, Password string
			}{g.ID, samplePortal, sampleFile, ""}
			if got := renderPartial(t, s, "guide", typed); got != out {
				t.Errorf(`"guide" with a typed .Guide=%q does not draw %s`, g.ID, name)
			}
		})
	}
}

func TestGuidePartialsEscape(t *testing.T) {
	s := MustLoad()
	out := renderPartial(t, s, "guide_linux", guidePartialData{PortalURL: "javascript:alert(1)", FileName: "<b>x</b>.p12", Password: `"><script>`})
	if strings.Contains(out, "<b>x</b>") || strings.Contains(out, "<script>") || strings.Contains(out, "javascript:") {
		t.Errorf("guide does not escape its data:\n%s", out)
	}
}

func TestCounterGuidePage(t *testing.T) {
	s := MustLoad()
	titles := map[useragent.Guide]string{
		useragent.GuideWindows: "sous Windows",
		useragent.GuideMacOS:   "sur Mac",
		useragent.GuideFirefox: "dans Firefox",
		useragent.GuideLinux:   "sous Linux",
		useragent.GuideAndroid: "sur Android",
		useragent.GuideIOS:     "sur iPhone ou iPad",
		useragent.GuideOther:   "sur un autre système",
	}
	ids := []string{""} // unknown id: the generic guide
	for _, g := range useragent.Guides() {
		ids = append(ids, string(g.ID))
	}
	for _, id := range ids {
		for _, password := range []string{"", samplePassword} {
			body, err := s.Page("counter_guide", guidePageData{Lang: "fr", Guide: id, Guides: useragent.Guides(), PortalURL: samplePortal, FileName: sampleFile, Password: password})
			if err != nil {
				t.Fatalf("guide %q: %v", id, err)
			}
			out := string(body)
			want := useragent.Guide(id)
			if id == "" {
				want = useragent.GuideOther
			}
			if !strings.Contains(out, "<h2 id=\"guide-titre\">Installer le certificat "+titles[want]) {
				t.Errorf("page for %q does not show the %s guide", id, want)
			}
			if strings.Count(out, `<h2 id="guide-titre">`) != 1 {
				t.Errorf("page for %q shows %d guides", id, strings.Count(out, `<h2 id="guide-titre">`))
			}
			for _, g := range useragent.Guides() {
				link := `href="?guide=` + string(g.ID) + `"`
				if !strings.Contains(out, link) {
					t.Errorf("page for %q has no link to the %s guide", id, g.ID)
				}
				current := strings.Contains(out, link+` aria-current="page"`)
				if current != (string(g.ID) == id) {
					t.Errorf("page for %q: aria-current on %s is %v", id, g.ID, current)
				}
			}
			if !strings.Contains(out, `<a class="button" href="`+samplePortal+`">Tester mon certificat</a>`) {
				t.Errorf("page for %q has no Tester mon certificat button", id)
			}
			if !strings.Contains(out, "<title>Installer votre certificat · Sceau</title>") || !strings.Contains(out, `<html lang="fr">`) {
				t.Errorf("page for %q is not drawn in the layout", id)
			}
			checkHeadings(t, "counter_guide "+id, out, 1)
		}
	}
}
