package portal

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
)

// minimalPDF builds a small but well-formed PDF whose metadata stream
// holds xmp (none when empty), with a correct xref table.
func minimalPDF(xmp string) []byte {
	var b bytes.Buffer
	var offs []int
	obj := func(s string) {
		offs = append(offs, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", len(offs), s)
	}
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	meta := ""
	if xmp != "" {
		meta = " /Metadata 4 0 R"
	}
	obj("<< /Type /Catalog /Pages 2 0 R" + meta + " >>")
	obj("<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
	obj("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>")
	if xmp != "" {
		packet := `<?xpacket begin="` + "\ufeff" + `" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
` + xmp + `
</rdf:RDF></x:xmpmeta>
<?xpacket end="w"?>`
		obj(fmt.Sprintf("<< /Type /Metadata /Subtype /XML /Length %d >>\nstream\n%s\nendstream", len(packet), packet))
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(offs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offs)+1, xref)
	return b.Bytes()
}

const (
	xmpAttr    = `<rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/" pdfaid:part="1" pdfaid:conformance="B"/>`
	xmpElement = `<rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/"><pdfaid:part>2</pdfaid:part><pdfaid:conformance>U</pdfaid:conformance></rdf:Description>`
)

func TestPDFAScanner(t *testing.T) {
	big := bytes.Repeat([]byte("0 0 m 10 10 l S\n"), 10000)
	withPadding := func(pdf []byte) []byte { // the metadata far from the start
		i := bytes.Index(pdf, []byte("1 0 obj"))
		return append(append(append([]byte{}, pdf[:i]...), append([]byte("% "), big...)...), pdf[i:]...)
	}
	for _, tc := range []struct {
		name string
		data []byte
		want bool
	}{
		{"attribute form", minimalPDF(xmpAttr), true},
		{"element form", minimalPDF(xmpElement), true},
		{"single quotes and blanks", minimalPDF(`<rdf:Description pdfaid:part = '3'/>`), true},
		{"far from the start", withPadding(minimalPDF(xmpAttr)), true},
		{"plain PDF", minimalPDF(""), false},
		{"PDF with other metadata", minimalPDF(`<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:format>application/pdf</dc:format></rdf:Description>`), false},
		{"marker without a part", minimalPDF(`<rdf:Description pdfaid:part=""/>`), false},
		{"part out of range", minimalPDF(`<pdfaid:part>9</pdfaid:part>`), false},
		{"not a PDF", []byte("texte\n" + xmpAttr), false},
		{"PDF header later", append([]byte(" "), minimalPDF(xmpAttr)...), false},
		{"empty", nil, false},
		{"header only", []byte("%PDF-"), false},
	} {
		// Every chunk size, down to single bytes, must give the same answer:
		// the marker cut anywhere is still found.
		for _, chunk := range []int{1, 2, 3, 7, 11, 63, 64, 65, 4096, 1 << 20} {
			var s pdfaScanner
			r := io.TeeReader(bytes.NewReader(tc.data), &s)
			buf := make([]byte, chunk)
			if _, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{r}, buf); err != nil {
				t.Fatal(err)
			}
			if s.PDFA() != tc.want {
				t.Errorf("%s, chunks of %d: PDFA() = %v, want %v", tc.name, chunk, s.PDFA(), tc.want)
			}
			if len(s.tail) > pdfaWindow {
				t.Errorf("%s: window grew to %d bytes", tc.name, len(s.tail))
			}
		}
	}
	if !strings.HasPrefix(string(minimalPDF("")), "%PDF-1.4") {
		t.Fatal("bad fixture")
	}
}
