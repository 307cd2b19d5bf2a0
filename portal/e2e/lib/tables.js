// Stacked tables: under 40rem, sceau.css turns table.list and
// table.documents into one block per row and hides the header row, so each
// cell shows its column's label (data-label) before its value.
'use strict';

// labelProblems checks every table.list and table.documents of the page as
// it is now and returns { tables, rows, problems } (problems: one readable
// line each). Every body cell but a row header (<th scope="row">, the row's
// title) and an action cell (td.action, a button naming itself) has a
// data-label equal to the text of the header at the same column index.
// stacked (phone width): the cells are blocks and each labelled cell of a
// visible row shows "<header> : " (French) or "<header>: " (English) in its
// ::before; a cell with nothing in it is left out (display: none). Not
// stacked (desktop): the cells are table cells and no label is shown
// (::before content 'none'), the <th> headers do the work.
//
async function labelProblems(page, { stacked }) {
  return page.evaluate(([stacked]) => {
    const problems = [];
    let rows = 0;
    // "Nom\u00a0: " or "Name: " as getComputedStyle gives it, back to "Nom".
    const shown = (content) => {
      const m = /^"((?:[^"\\]|\\.)*)"$/.exec(content);
      if (!m) return null;
      const text = m[1].replace(/\\([0-9a-fA-F]{1,6}) ?/g, (_, h) => String.fromCodePoint(parseInt(h, 16)))
        .replace(/\\(.)/g, '$1');
      const sep = document.documentElement.lang === 'fr' ? '\u00a0: ' : ': ';
      return text.endsWith(sep) ? text.slice(0, -sep.length) : `(no "${sep}" at the end of "${text}")`;
    };
    const tables = [...document.querySelectorAll('table.list, table.documents')];
    tables.forEach((table, ti) => {
      const name = `table ${ti + 1} (${table.className}${table.caption ? ', ' + table.caption.textContent.trim() : ''})`;
      const headers = [...table.querySelectorAll('thead > tr > th')].map((th) => th.textContent.replace(/\s+/g, ' ').trim());
      [...table.tBodies].flatMap((b) => [...b.rows]).forEach((tr, ri) => {
        const where = `${name}, row ${ri + 1}`;
        const cells = [...tr.cells];
        if (cells.length !== headers.length) {
          problems.push(`${where}: ${cells.length} cells under ${headers.length} headers`);
          return;
        }
        const visible = tr.checkVisibility();
        if (visible) rows++;
        cells.forEach((cell, ci) => {
          const header = headers[ci];
          const at = `${where}, column ${ci + 1} "${header}"`;
          if (cell.tagName === 'TH') return;
          const label = cell.getAttribute('data-label');
          const cs = getComputedStyle(cell);
          const before = getComputedStyle(cell, '::before').content;
          if (label === null) {
            if (!cell.classList.contains('action')) problems.push(`${at}: no data-label`);
            else if (before !== 'none') problems.push(`${at}: action cell shows ${before}`);
            return;
          }
          if (label !== header) problems.push(`${at}: data-label "${label}" is not the header`);
          if (!stacked) {
            if (cs.display !== 'table-cell') problems.push(`${at}: display ${cs.display} at desktop width`);
            if (before !== 'none') problems.push(`${at}: label ${before} shown at desktop width`);
            return;
          }
          if (!visible) return;
          if (cell.matches(':empty')) {
            if (cs.display !== 'none') problems.push(`${at}: an empty cell is still shown`);
            return;
          }
          if (cs.display !== 'block') problems.push(`${at}: display ${cs.display} at phone width (not stacked)`);
          const text = shown(before);
          if (text !== header) problems.push(`${at}: shows ${JSON.stringify(text)} (content ${before}) before its value`);
        });
      });
    });
    return { tables: tables.length, rows, problems };
  }, [stacked]);
}

module.exports = { labelProblems };
