package portal

import "bytes"

// pdfaScanner is an io.Writer fed with a file's bytes as they stream to
// storage (through an io.TeeReader): it reports whether the file is a PDF
// (it starts with "%PDF-") whose XMP metadata claims PDF/A conformance,
// either as an attribute (pdfaid:part="1") or as an element
// (<pdfaid:part>1</pdfaid:part>). It holds only a small window across
// chunk boundaries, never the file.
type pdfaScanner struct {
	head   []byte // the first bytes, up to len(pdfMagic)
	tail   []byte // the last pdfaWindow bytes seen
	found  bool
	notPDF bool
}

var (
	pdfMagic   = []byte("%PDF-")
	pdfaMarker = []byte("pdfaid:part")
)

// pdfaWindow bounds a marker with its value (about 35 bytes at most): a
// marker cut by a chunk boundary lies whole in the window and the start
// of the next chunk.
const pdfaWindow = 64

// PDFA reports whether the bytes written so far are a PDF claiming PDF/A.
func (s *pdfaScanner) PDFA() bool { return s.found && !s.notPDF }

func (s *pdfaScanner) Write(p []byte) (int, error) {
	n := len(p)
	if s.found || s.notPDF {
		return n, nil
	}
	if len(s.head) < len(pdfMagic) {
		take := min(len(pdfMagic)-len(s.head), len(p))
		s.head = append(s.head, p[:take]...)
		if !bytes.HasPrefix(pdfMagic, s.head) {
			s.notPDF = true
			return n, nil
		}
	}
	// Across the boundary: the window and the start of this chunk.
	if len(s.tail) > 0 {
		joint := append(append(make([]byte, 0, 2*pdfaWindow), s.tail...), p[:min(len(p), pdfaWindow)]...)
		if hasPDFAMarker(joint) {
			s.found = true
			return n, nil
		}
	}
	if hasPDFAMarker(p) {
		s.found = true
		return n, nil
	}
	if len(p) >= pdfaWindow {
		s.tail = append(s.tail[:0], p[len(p)-pdfaWindow:]...)
	} else {
		s.tail = append(s.tail, p...)
		if len(s.tail) > pdfaWindow {
			s.tail = append(s.tail[:0], s.tail[len(s.tail)-pdfaWindow:]...)
		}
	}
	return n, nil
}

// hasPDFAMarker looks for pdfaid:part followed by a part number, in
// attribute (= "1" or = '1') or element (>1) form.
func hasPDFAMarker(b []byte) bool {
	for {
		i := bytes.Index(b, pdfaMarker)
		if i < 0 {
			return false
		}
		b = b[i+len(pdfaMarker):]
		if pdfaValue(b) {
			return true
		}
	}
}

func pdfaValue(b []byte) bool {
	b = skipSpace(b)
	switch {
	case len(b) > 0 && b[0] == '=':
		b = skipSpace(b[1:])
		if len(b) == 0 || (b[0] != '"' && b[0] != '\'') {
			return false
		}
		b = skipSpace(b[1:])
	case len(b) > 0 && b[0] == '>':
		b = skipSpace(b[1:])
	default:
		return false
	}
	return len(b) > 0 && b[0] >= '1' && b[0] <= '4'
}

// skipSpace skips at most 8 blanks, keeping a marker within the window.
func skipSpace(b []byte) []byte {
	for i := 0; i < 8 && len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\r' || b[0] == '\n'); i++ {
		b = b[1:]
	}
	return b
}
