package templates

import (
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var (
	// stackedTableRE finds a table that becomes one block per row on
	// phones (sceau.css: table.list, table.documents).
	stackedTableRE = regexp.MustCompile(`(?s)<table class="([^"]*)">(.*?)</table>`)
	theadRE        = regexp.MustCompile(`(?s)<thead>(.*?)</thead>`)
	tbodyRE        = regexp.MustCompile(`(?s)<tbody>(.*?)</tbody>`)
	headerCellRE   = regexp.MustCompile(`(?s)<th\b[^>]*>(.*?)</th>`)
	// A cell's opening tag; template actions inside it hold no '>'.
	bodyCellRE  = regexp.MustCompile(`<(td|th)\b([^>]*)>`)
	dataLabelRE = regexp.MustCompile(`data-label="((?:\{\{.*?\}\}|[^"])*)"`)
)

// TestStackedTablesLabelTheirCells: on phones the header row of table.list
// and table.documents is hidden and each cell shows its data-label before
// its value, so every <td> of such a table carries its column's header
// text, written exactly as the header writes it (same t literal, hence the
// same English). Exempt: a row header (<th scope="row">, the row's title)
// and an action cell (class="action", a button that names itself).
func TestStackedTablesLabelTheirCells(t *testing.T) {
	names, err := fs.Glob(files, "pages/*.html")
	if err != nil {
		t.Fatal(err)
	}
	tables := 0
	for _, n := range names {
		b, err := files.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		for i, m := range stackedTableRE.FindAllStringSubmatch(string(b), -1) {
			classes := strings.Fields(m[1])
			if !slices.Contains(classes, "list") && !slices.Contains(classes, "documents") {
				continue
			}
			tables++
			where := fmt.Sprintf("%s, table %d", n, i+1)
			head, body := theadRE.FindStringSubmatch(m[2]), tbodyRE.FindStringSubmatch(m[2])
			if head == nil || body == nil {
				t.Errorf("%s: no <thead> or <tbody>", where)
				continue
			}
			headers := headerCellRE.FindAllStringSubmatch(head[1], -1)
			cells := bodyCellRE.FindAllStringSubmatch(body[1], -1)
			if len(headers) != len(cells) {
				t.Errorf("%s: %d headers but %d cells per row", where, len(headers), len(cells))
				continue
			}
			for j, c := range cells {
				header := sameAction(headers[j][1])
				switch {
				case c[1] == "th":
					continue // the row's title
				case strings.Contains(c[2], `class="action"`):
					continue
				}
				l := dataLabelRE.FindStringSubmatch(c[2])
				if l == nil {
					t.Errorf("%s, column %d (%s): <td> without data-label", where, j+1, header)
					continue
				}
				if got := sameAction(l[1]); got != header {
					t.Errorf("%s, column %d: data-label %q, header %q", where, j+1, got, header)
				}
			}
		}
	}
	if tables < 10 {
		t.Errorf("only %d stacked tables found in the pages: is the pattern still right?", tables)
	}
}

// sameAction writes a header or a label the same way whether it is in the
// row (where the page is $) or in the header (where it is .).
func sameAction(s string) string {
	return strings.TrimSpace(strings.ReplaceAll(s, "$.", "."))
}
