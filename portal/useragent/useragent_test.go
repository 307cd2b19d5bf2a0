package useragent

import (
	"net/http"
	"strings"
	"testing"
)

func TestDetect(t *testing.T) {
	cases := []struct {
		name, ua        string
		guide           Guide
		system, browser string
		modern          bool
	}{
		{"Windows Chrome",
			"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36",
			GuideWindows, "Windows 10 ou 11", "Chrome", false},
		{"Windows Edge",
			"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36 Edg/142.0.0.0",
			GuideWindows, "Windows 10 ou 11", "Edge", false},
		{"Windows 7 Chrome",
			"Mozilla/5.0 (Windows NT 6.1; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/109.0.0.0 Safari/537.36",
			GuideWindows, "Windows 7", "Chrome", false},
		{"Windows 8.1 Internet Explorer",
			"Mozilla/5.0 (Windows NT 6.3; Trident/7.0; rv:11.0) like Gecko",
			GuideWindows, "Windows 8.1", "Internet Explorer", false},
		{"Windows Firefox",
			"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:145.0) Gecko/20100101 Firefox/145.0",
			GuideFirefox, "Windows 10 ou 11", "Firefox", true},
		{"macOS Safari",
			"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.5 Safari/605.1.15",
			GuideMacOS, "macOS", "Safari", false},
		{"macOS Chrome",
			"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36",
			GuideMacOS, "macOS", "Chrome", false},
		{"macOS Firefox",
			"Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:145.0) Gecko/20100101 Firefox/145.0",
			GuideFirefox, "macOS", "Firefox", true},
		{"iPhone Safari",
			"Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.6 Mobile/15E148 Safari/604.1",
			GuideIOS, "iPhone", "Safari", false},
		{"iPhone Chrome",
			"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1",
			GuideIOS, "iPhone", "Chrome", false},
		{"iPhone Firefox",
			"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/125.0 Mobile/15E148 Safari/605.1.15",
			GuideIOS, "iPhone", "Firefox", false},
		{"iPad in mobile mode",
			"Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
			GuideIOS, "iPad", "Safari", false},
		// iPadOS 13+ in its default desktop mode is byte for byte macOS
		// Safari: it gets the macOS guide (which points iPad users to the
		// iOS guide) and the compatible profile either way.
		{"iPad desktop mode",
			"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
			GuideMacOS, "macOS", "Safari", false},
		{"Android Chrome",
			"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Mobile Safari/537.36",
			GuideAndroid, "Android", "Chrome", false},
		{"Android Samsung Internet",
			"Mozilla/5.0 (Linux; Android 14; SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36",
			GuideAndroid, "Android", "Samsung Internet", false},
		{"Android Firefox",
			"Mozilla/5.0 (Android 14; Mobile; rv:145.0) Gecko/145.0 Firefox/145.0",
			GuideAndroid, "Android", "Firefox", false},
		{"Linux Chromium",
			"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chromium/120.0.6099.224 Chrome/120.0.6099.224 Safari/537.36",
			GuideLinux, "Linux", "Chromium", true},
		{"Linux Chrome",
			"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36",
			GuideLinux, "Linux", "Chrome", true},
		{"Linux Firefox",
			"Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:145.0) Gecko/20100101 Firefox/145.0",
			GuideFirefox, "Linux", "Firefox", true},
		{"Linux Epiphany",
			"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15 Epiphany/46.0",
			GuideLinux, "Linux", "GNOME Web", false},
		{"HeadlessChrome on Linux",
			"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/142.0.0.0 Safari/537.36",
			GuideLinux, "Linux", "Chrome sans interface", true},
		{"ChromeOS",
			"Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36",
			GuideOther, "ChromeOS", "Chrome", false},
		{"Windows Phone Edge",
			"Mozilla/5.0 (Windows Phone 10.0; Android 6.0.1; Microsoft; Lumia 950) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/52.0.2743.116 Mobile Safari/537.36 Edge/15.15063",
			GuideOther, "Windows Phone", "Edge", false},
		{"curl", "curl/8.5.0", GuideOther, "", "", false},
		{"empty", "", GuideOther, "", "", false},
		{"spaces", "   ", GuideOther, "", "", false},
		{"garbage", "\x00\xff<script>alert(1)</script>", GuideOther, "", "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := Detect(c.ua)
			want := Detection{Guide: c.guide, System: c.system, Browser: c.browser, ModernOK: c.modern}
			if d != want {
				t.Errorf("Detect(%q)\n got %+v\nwant %+v", c.ua, d, want)
			}
			if _, ok := ParseGuide(string(d.Guide)); !ok {
				t.Errorf("detected guide %q is not a known guide", d.Guide)
			}
		})
	}
}

func TestDetectHugeHeader(t *testing.T) {
	// A hostile header of a megabyte: answered from its first bytes, and
	// tokens hidden far away are not looked at.
	huge := strings.Repeat("A", 1<<20) + " Windows NT 10.0 Firefox/145.0"
	if d := Detect(huge); d.Guide != GuideOther || d.ModernOK {
		t.Errorf("huge garbage header: %+v", d)
	}
	real := "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36 "
	if d := Detect(real + strings.Repeat("x", 1<<20)); d.Guide != GuideWindows || d.Browser != "Chrome" {
		t.Errorf("real header with a huge tail: %+v", d)
	}
}

func TestDetectHeadersWindowsClientHint(t *testing.T) {
	const chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36"
	cases := []struct {
		ua, hint, system string
		modern           bool
	}{
		{chrome, "", "Windows 10 ou 11", false},
		{chrome, `"15.0.0"`, "Windows 11", true},
		{chrome, `"10.0.0"`, "Windows 10", true},       // 2004 to 22H2
		{chrome, `"5.0.0"`, "Windows 10", true},        // 1709
		{chrome, `"3.0.0"`, "Windows 10", false},       // 1607, also Server 2016
		{chrome, `"0.0.0"`, "Windows 10 ou 11", false}, // 7/8.1 report 0, never with NT 10.0
		{chrome, `"garbage"`, "Windows 10 ou 11", false},
		{chrome, `"-4.0.0"`, "Windows 10 ou 11", false},
	}
	for _, c := range cases {
		h := http.Header{}
		h.Set("User-Agent", c.ua)
		if c.hint != "" {
			h.Set("Sec-CH-UA-Platform-Version", c.hint)
		}
		d := DetectHeaders(h)
		if d.Guide != GuideWindows || d.System != c.system || d.ModernOK != c.modern {
			t.Errorf("hint %s: got %+v, want system %q modern %v", c.hint, d, c.system, c.modern)
		}
	}
	// The hint never turns macOS or Android into a moderne candidate.
	h := http.Header{}
	h.Set("User-Agent", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36")
	h.Set("Sec-CH-UA-Platform-Version", `"26.1.0"`)
	if d := DetectHeaders(h); d.ModernOK || d.Guide != GuideMacOS {
		t.Errorf("macOS with hint: %+v", d)
	}
}

func TestGuidesAndParse(t *testing.T) {
	all := Guides()
	want := []Guide{GuideWindows, GuideMacOS, GuideFirefox, GuideLinux, GuideAndroid, GuideIOS, GuideOther}
	if len(all) != len(want) {
		t.Fatalf("Guides() = %v", all)
	}
	for i, g := range all {
		if g.ID != want[i] || g.Label == "" || g.ID.Label() != g.Label {
			t.Errorf("Guides()[%d] = %+v, want id %q with a label", i, g, want[i])
		}
		if p, ok := ParseGuide(" " + strings.ToUpper(string(g.ID)) + " "); !ok || p != g.ID {
			t.Errorf("ParseGuide(%q) = %q, %v", g.ID, p, ok)
		}
	}
	all[0].Label = "changed"
	if Guides()[0].Label == "changed" {
		t.Error("Guides() hands out its internal slice")
	}
	for _, bad := range []string{"", "other", "guide_windows", "win dows", "../windows"} {
		if g, ok := ParseGuide(bad); ok {
			t.Errorf("ParseGuide(%q) = %q, true", bad, g)
		}
	}
	if Guide("nope").Label() != "" {
		t.Error("unknown guide has a label")
	}
}

func TestDetectionLabel(t *testing.T) {
	for _, c := range []struct {
		d    Detection
		want string
	}{
		{Detection{System: "Windows 10 ou 11", Browser: "Chrome"}, "Chrome sur Windows 10 ou 11"},
		{Detection{System: "Android"}, "Android"},
		{Detection{Browser: "Firefox"}, "Firefox"},
		{Detection{}, ""},
	} {
		if got := c.d.Label(); got != c.want {
			t.Errorf("%+v.Label() = %q, want %q", c.d, got, c.want)
		}
	}
}

// FuzzDetect: any header gives a known guide, and ModernOK only where the
// research says the moderne profile imports.
func FuzzDetect(f *testing.F) {
	for _, s := range []string{"", "curl/8", "Mozilla/5.0 (Windows NT 10.0; rv:145.0) Gecko/20100101 Firefox/145.0", "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ua string) {
		d := Detect(ua)
		if _, ok := ParseGuide(string(d.Guide)); !ok {
			t.Fatalf("Detect(%q) = unknown guide %q", ua, d.Guide)
		}
		if d.ModernOK && d.Guide != GuideFirefox && d.Guide != GuideLinux {
			t.Fatalf("Detect(%q) offers moderne on %q", ua, d.Guide)
		}
	})
}
