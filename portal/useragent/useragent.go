// Package useragent guesses, from a browser's User-Agent header, which
// certificate install guide the retrieval counter should show and whether
// the "moderne" PKCS#12 profile (AES-256/PBKDF2/SHA-256) is known to import
// there. The guess only picks defaults: the person can always choose another
// guide, and the bundle profile stays "compatible" (3DES/SHA-1 MAC) unless
// they opt in where ModernOK allows it.
//
// The parser is a few ordered substring checks on purpose: the counter needs
// seven buckets, not a full browser database, and a table-driven parser such
// as uap-go would add a regex corpus to keep updated for no better answer.
// User-Agent strings are frozen or reduced by the browsers themselves
// (Windows 11 says "Windows NT 10.0", every macOS says 10_15_7, Chrome on
// Android says "Android 10; K"), so finer detail is not there to parse.
//
// Sources for ModernOK: /work/shared/research/anchors-pki.md §3.3.
package useragent

import (
	"net/http"
	"strconv"
	"strings"
)

// Guide identifies one install guide. The string is used in URLs
// (?guide=windows) and in template names (guide_windows).
type Guide string

// The guides, one per certificate store a person may meet.
const (
	GuideWindows Guide = "windows" // Chrome, Edge (and other Chromium browsers) on Windows: the Windows store
	GuideMacOS   Guide = "macos"   // Safari, Chrome on macOS: the Keychain
	GuideFirefox Guide = "firefox" // Firefox on any desktop system: its own NSS store
	GuideLinux   Guide = "linux"   // Chrome/Chromium on Linux: the NSS database in ~/.pki/nssdb
	GuideAndroid Guide = "android" // any browser on Android: the system KeyChain
	GuideIOS     Guide = "ios"     // any browser on iPhone/iPad: a configuration profile, used by Safari
	GuideOther   Guide = "autre"   // anything else: generic advice
)

// GuideInfo is one entry of the guide selector.
type GuideInfo struct {
	ID    Guide
	Label string // French, for the select box or links
}

var guides = []GuideInfo{
	{GuideWindows, "Windows (Chrome, Edge)"},
	{GuideMacOS, "Mac (Safari, Chrome)"},
	{GuideFirefox, "Firefox sur ordinateur (Windows, Mac, Linux)"},
	{GuideLinux, "Linux (Chrome, Chromium)"},
	{GuideAndroid, "Android (téléphone, tablette)"},
	{GuideIOS, "iPhone, iPad"},
	{GuideOther, "Autre système"},
}

// Guides lists every guide in display order. The slice is a copy.
func Guides() []GuideInfo {
	return append([]GuideInfo(nil), guides...)
}

// Label is the French label of g ("" when g is not a known guide).
func (g Guide) Label() string {
	for _, i := range guides {
		if i.ID == g {
			return i.Label
		}
	}
	return ""
}

// ParseGuide reads a guide id as found in a URL or form (case and
// surrounding spaces ignored). It answers false for anything unknown.
func ParseGuide(s string) (Guide, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	for _, i := range guides {
		if string(i.ID) == s {
			return i.ID, true
		}
	}
	return "", false
}

// Detection is what Detect makes of a User-Agent.
type Detection struct {
	Guide Guide
	// System and Browser are French display labels ("Windows 10 ou 11",
	// "Chrome"); empty when not recognised.
	System, Browser string
	// ModernOK is true only where the moderne PKCS#12 profile is known to
	// import for this system and browser; false when unsure.
	ModernOK bool
}

// Label is a French phrase for the page: "Chrome sur Windows 10 ou 11",
// "Firefox", "Android", or "" when nothing was recognised.
func (d Detection) Label() string {
	switch {
	case d.Browser != "" && d.System != "":
		return d.Browser + " sur " + d.System
	case d.Browser != "":
		return d.Browser
	default:
		return d.System
	}
}

// maxLen bounds the work done on a hostile header; real User-Agents are a
// few hundred bytes and the tokens we look for come early.
const maxLen = 1024

// Detect guesses the guide from a User-Agent header value.
//
// iPadOS (13 and later) asks for desktop sites by default and then sends
// exactly the User-Agent of Safari on macOS ("Macintosh; Intel Mac OS X
// 10_15_7"); nothing in the header tells them apart. Such an iPad is
// therefore detected as a Mac: the macOS guide says to pick the iPhone/iPad
// guide on an iPad, and nothing is lost on the bundle because ModernOK is
// false on both.
func Detect(userAgent string) Detection {
	ua := userAgent
	if len(ua) > maxLen {
		ua = ua[:maxLen]
	}
	d := Detection{Browser: browser(ua)}
	switch {
	case strings.Contains(ua, "Windows Phone") || strings.Contains(ua, "Windows Mobile"):
		d.System = "Windows Phone"
		d.Guide = GuideOther
	case strings.Contains(ua, "iPhone") || strings.Contains(ua, "iPad") || strings.Contains(ua, "iPod"):
		d.System = iosDevice(ua)
		d.Guide = GuideIOS
	case strings.Contains(ua, "Android"):
		d.System = "Android"
		d.Guide = GuideAndroid
	case strings.Contains(ua, "CrOS"):
		d.System = "ChromeOS"
		d.Guide = GuideOther
	case strings.Contains(ua, "Windows"):
		d.System = windowsVersion(ua)
		d.Guide = GuideWindows
	case strings.Contains(ua, "Macintosh") || strings.Contains(ua, "Mac OS X"):
		d.System = "macOS"
		d.Guide = GuideMacOS
	case strings.Contains(ua, "Linux") || strings.Contains(ua, "X11") || strings.Contains(ua, "BSD"):
		d.System = "Linux"
		if strings.Contains(ua, "BSD") {
			d.System = "BSD"
		}
		d.Guide = GuideLinux
	default:
		d.Guide = GuideOther
	}
	// Firefox on a desktop system imports into its own store whatever the
	// system (Firefox on Android and iOS uses the system's).
	if d.Browser == "Firefox" && (d.Guide == GuideWindows || d.Guide == GuideMacOS || d.Guide == GuideLinux) {
		d.Guide = GuideFirefox
	}
	d.ModernOK = modernOK(d)
	return d
}

// modernOK encodes anchors-pki.md §3.3: Firefox's NSS store and
// Chromium's NSS database on Linux import AES-256/PBKDF2 bundles; macOS
// 12–15, iOS and Android up to 13 do not, and Android's real version is
// hidden by User-Agent reduction; "Windows NT 10.0" also covers Windows 10
// 1607 and Server 2016, which fail, so Windows needs the client hint (see
// DetectHeaders).
func modernOK(d Detection) bool {
	switch d.Guide {
	case GuideFirefox:
		return true
	case GuideLinux:
		return chromium(d.Browser)
	}
	return false
}

func chromium(b string) bool {
	switch b {
	case "Chrome", "Chromium", "Chrome sans interface", "Edge", "Opera", "Vivaldi":
		return true
	}
	return false
}

// AcceptCH is the value of an Accept-CH response header that asks
// Chromium browsers to send Sec-CH-UA-Platform-Version on later requests,
// which lets DetectHeaders tell Windows 10 versions and Windows 11 apart.
const AcceptCH = "Sec-CH-UA-Platform-Version"

// DetectHeaders is Detect on the User-Agent header, refined by the
// Sec-CH-UA-Platform-Version client hint when a Chromium browser on Windows
// sends it (only after the server asked with Accept-CH: AcceptCH). On
// Windows that hint is the UniversalApiContract version: 5 is Windows 10
// 1709, the first to import AES-256/PBKDF2 bundles, and 13 or more is
// Windows 11.
func DetectHeaders(h http.Header) Detection {
	d := Detect(h.Get("User-Agent"))
	if d.Guide != GuideWindows || d.System != "Windows 10 ou 11" {
		return d
	}
	v := strings.Trim(strings.TrimSpace(h.Get("Sec-CH-UA-Platform-Version")), `"`)
	if v == "" {
		return d
	}
	major, _, _ := strings.Cut(v, ".")
	n, err := strconv.Atoi(major)
	if err != nil || n < 0 {
		return d
	}
	switch {
	case n >= 13:
		d.System = "Windows 11"
		d.ModernOK = true
	case n >= 5:
		d.System = "Windows 10"
		d.ModernOK = true
	case n >= 1:
		d.System = "Windows 10"
	}
	return d
}

func windowsVersion(ua string) string {
	switch {
	case strings.Contains(ua, "Windows NT 10.0"):
		return "Windows 10 ou 11" // Windows 11 still says 10.0
	case strings.Contains(ua, "Windows NT 6.3"):
		return "Windows 8.1"
	case strings.Contains(ua, "Windows NT 6.2"):
		return "Windows 8"
	case strings.Contains(ua, "Windows NT 6.1"):
		return "Windows 7"
	}
	return "Windows"
}

func iosDevice(ua string) string {
	switch {
	case strings.Contains(ua, "iPad"):
		return "iPad"
	case strings.Contains(ua, "iPod"):
		return "iPod"
	}
	return "iPhone"
}

// browser names the browser; the order matters because most browsers
// also carry the tokens of the ones they imitate ("Chrome/… Safari/…").
func browser(ua string) string {
	switch {
	case has(ua, "Edg/", "EdgA/", "EdgiOS/", "Edge/"):
		return "Edge"
	case has(ua, "OPR/", "OPiOS/", "Opera"):
		return "Opera"
	case has(ua, "SamsungBrowser/"):
		return "Samsung Internet"
	case has(ua, "Vivaldi/"):
		return "Vivaldi"
	case has(ua, "Epiphany/"):
		return "GNOME Web"
	case has(ua, "Firefox/", "FxiOS/"):
		return "Firefox"
	case has(ua, "HeadlessChrome/"):
		return "Chrome sans interface"
	case has(ua, "Chromium/"):
		return "Chromium"
	case has(ua, "Chrome/", "CriOS/"):
		return "Chrome"
	case has(ua, "MSIE ", "Trident/"):
		return "Internet Explorer"
	case has(ua, "Safari/") && has(ua, "Version/"):
		return "Safari"
	}
	return ""
}

func has(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
