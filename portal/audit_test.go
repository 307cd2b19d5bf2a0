package portal

import "testing"

func TestCSVCellDefusesFormulas(t *testing.T) {
	for in, want := range map[string]string{
		"=HYPERLINK(\"x\")": "'=HYPERLINK(\"x\")", "+33 6": "'+33 6", "-1": "'-1", "@SUM(A1)": "'@SUM(A1)",
		"rapport.pdf": "rapport.pdf", "": "", "piece « =a.pdf »": "piece « =a.pdf »",
	} {
		if got := csvCell(in); got != want {
			t.Errorf("csvCell(%q) = %q, want %q", in, got, want)
		}
	}
}
