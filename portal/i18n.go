package portal

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"sceau.fr/sceau/templates"
)

// Pages speak French unless the person chose English with the switch in
// the header (remembered in a cookie on both listeners) or, before any
// choice, their browser prefers English to French.
const (
	langCookie = "sceau_lang"
	langPath   = "/langue"
	langAge    = 365 * 24 * time.Hour
)

// requestLang is the language of the pages answered to r: the cookie
// first, then Accept-Language, else French.
func requestLang(r *http.Request) string {
	if c, err := r.Cookie(langCookie); err == nil && templates.Supported(c.Value) {
		return c.Value
	}
	return acceptLang(r.Header.Get("Accept-Language"))
}

// acceptLang reads an Accept-Language header: English when the browser
// ranks some English above any French, French otherwise (no header, "*",
// only other languages, or French first).
func acceptLang(h string) string {
	type pref struct {
		lang string
		q    float64
	}
	var prefs []pref
	for _, part := range strings.Split(h, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		primary, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
		if primary != templates.French && primary != templates.English {
			continue
		}
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					q = f
				}
			}
		}
		if q > 0 {
			prefs = append(prefs, pref{primary, q})
		}
	}
	sort.SliceStable(prefs, func(i, j int) bool { return prefs[i].q > prefs[j].q }) // ties keep the browser's order
	if len(prefs) > 0 && prefs[0].lang == templates.English {
		return templates.English
	}
	return templates.French
}

// tr translates a French string built in Go (a notice, a refusal) into
// the language of r; strings missing from the catalog stay French, and so
// does everything answered to the JSON API (its problems carry French
// texts with English ones beside them, whatever the browser says).
func (s *Server) tr(r *http.Request, french string) string {
	if isAPIRequest(r) {
		return french
	}
	return templates.T(requestLang(r), french)
}

// trf is tr for a fmt format.
func (s *Server) trf(r *http.Request, format string, a ...any) string {
	return fmt.Sprintf(s.tr(r, format), a...)
}

// langSwitchURL is the link of the header's switch: to the other language,
// back to this page. A page answered to a form (POST) cannot be asked for
// again: the switch then returns to the page the form was on when the
// browser says so (same origin), and is left out otherwise — so switching
// never loses a page shown once, such as the counter's password.
func langSwitchURL(r *http.Request) string {
	back := ""
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		back = r.URL.RequestURI()
	default:
		if ref, err := url.Parse(r.Referer()); err == nil && ref.Host == r.Host && ref.Host != "" {
			back = ref.RequestURI()
		}
	}
	if !localPath(back) || strings.HasPrefix(back, langPath) {
		return ""
	}
	other := templates.English
	if requestLang(r) == templates.English {
		other = templates.French
	}
	return langPath + "?" + url.Values{"l": {other}, "retour": {back}}.Encode()
}

// localPath accepts only a path on this host: "/x", never "//host",
// "/\host" (read as "//host" by browsers), a scheme or control characters.
func localPath(p string) bool {
	if p == "" || p[0] != '/' || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") {
		return false
	}
	for _, c := range p {
		if c < 0x20 || c == 0x7f || c == '\\' {
			return false
		}
	}
	u, err := url.Parse(p)
	return err == nil && u.Scheme == "" && u.Host == "" && u.User == nil
}

// switchLang is GET /langue?l=en&retour=/path, on both listeners and
// without a certificate (the refusal page has the switch too): it
// remembers the choice and goes back to the page, only ever a local one.
func (s *Server) switchLang(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	lang := q.Get("l")
	if !templates.Supported(lang) {
		s.renderError(w, r, http.StatusBadRequest)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: langCookie, Value: lang, Path: "/", MaxAge: int(langAge.Seconds()),
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	back := q.Get("retour")
	if !localPath(back) || strings.HasPrefix(back, langPath) {
		back = "/"
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, back, http.StatusSeeOther)
}
