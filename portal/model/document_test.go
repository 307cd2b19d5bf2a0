package model_test

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"sceau.fr/sceau/portal/model"
)

func TestSafeFileName(t *testing.T) {
	long := strings.Repeat("é", 150) + strings.Repeat("a", 150) + ".pdf" // 300+ characters, 454 bytes
	cases := []struct {
		name, in, want string // want "" means refused
	}{
		{"plain", "Rapport d’expertise.pdf", "Rapport d’expertise.pdf"},
		{"parent dirs", "../../etc/passwd", "passwd"},
		{"parent dirs only", "../", ""},
		{"windows path", `..\..\Windows\system32\rapport.docx`, "rapport.docx"},
		{"absolute path", "/home/martin/pièce 1.pdf", "pièce 1.pdf"},
		{"NUL byte", "note\x00.pdf.exe", "note.pdf.exe"},
		{"control characters", "a\r\nb\tc\x7f\u0085.txt", "abc.txt"},
		{"RTL override", "facture\u202Efdp.exe", "facturefdp.exe"},
		{"isolates and marks", "\u2066x\u2067y\u2068z\u2069\u200E\u200F\u061C\u202A\u202B\u202C\u202D.pdf", "xyz.pdf"},
		{"only dots", "...", ""},
		{"dot", ".", ""},
		{"dots and spaces", " . .. ", ""},
		{"empty", "", ""},
		{"hidden file", ".htaccess", "htaccess"},
		{"trailing dots and spaces", "  rapport.pdf. . ", "rapport.pdf"},
		{"invalid UTF-8", "r\xffapport.pdf", "rapport.pdf"},
		{"only controls", "\x00\x01\u202E", ""},
		{"300 characters", strings.Repeat("x", 300), strings.Repeat("x", 200)},
		{"300 characters with extension", long, strings.Repeat("é", 98) + ".pdf"},
		{"long extension is not kept", strings.Repeat("y", 150) + "." + strings.Repeat("z", 150), strings.Repeat("y", 150) + "." + strings.Repeat("z", 49)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := model.SafeFileName(c.in)
			if c.want == "" {
				var v model.ValidationErrors
				if err == nil || !errors.As(err, &v) || v.For("file_name") == "" {
					t.Fatalf("SafeFileName(%q) = %q, %v; want a validation error", c.in, got, err)
				}
				if !strings.Contains(v.For("file_name"), "nom de fichier") {
					t.Errorf("message not in French: %q", v.For("file_name"))
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("SafeFileName(%q) = %q, %v; want %q", c.in, got, err, c.want)
			}
			if len(got) > model.FileNameMax || !utf8.ValidString(got) {
				t.Errorf("result %q: %d bytes, valid UTF-8 %v", got, len(got), utf8.ValidString(got))
			}
			// Idempotent: the store re-checks names with it.
			if again, err := model.SafeFileName(got); err != nil || again != got {
				t.Errorf("not idempotent: %q → %q, %v", got, again, err)
			}
		})
	}
}

func TestDocumentValidate(t *testing.T) {
	ok := func() *model.Document {
		return &model.Document{Kind: model.DocDire, FileName: "dire.pdf", ContentType: "application/pdf", Size: 3,
			SHA256: strings.Repeat("a", 64), BlobKey: strings.Repeat("b", 32)}
	}
	if err := ok().Validate(); err != nil {
		t.Fatalf("valid document: %v", err)
	}
	for name, mut := range map[string]func(d *model.Document){
		"kind":      func(d *model.Document) { d.Kind = "virus" },
		"file_name": func(d *model.Document) { d.FileName = "../x.pdf" },
		"file":      func(d *model.Document) { d.SHA256 = "zz" },
		"copy":      func(d *model.Document) { d.CopyFileName = "orphan.docx" },
		"copy_file_name": func(d *model.Document) {
			k := strings.Repeat("c", 32)
			d.CopyBlobKey = &k
			d.CopyFileName = "..."
			d.CopySHA256 = strings.Repeat("d", 64)
		},
	} {
		d := ok()
		mut(d)
		var v model.ValidationErrors
		if err := d.Validate(); !errors.As(err, &v) || v.For(name) == "" {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := model.ValidateLockReason("  "); err == nil {
		t.Error("empty lock reason accepted")
	}
}
