// Stacked tables on a phone (375×740, under sceau.css's 40rem): the header
// row is hidden, so every value of table.list and table.documents says
// which column it is in, with the header's own text ("Déposé par : …",
// "Deposited by: …" in English); at desktop width no such label is shown
// and the real <th> headers apply. On the demo case (init --demo-case), as
// the expert, the lawyer and the magistrate; axe-core at phone width too.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const sceau = require('../lib/sceau');
const browser = require('../lib/browser');
const { labelProblems } = require('../lib/tables');

const skip = browser.unavailable();
const phone = { width: 375, height: 740 };
const desktop = { width: 1280, height: 900 };
let s, br, caseURL;
const page = {};

before(async () => {
  if (skip) return;
  s = await sceau.start({ demoCase: true });
  br = await browser.launch();
  for (const who of ['expert-pierre-durand', 'avocate-sophie-lefevre', 'magistrat-claire-martin']) {
    page[who] = await (await browser.contextAs(br, s, who, { viewport: phone })).newPage();
  }
  const p = page['expert-pierre-durand'];
  await p.goto(s.portal + '/');
  await p.getByRole('link', { name: /25\/01234/ }).first().click();
  await p.waitForURL(/\/affaires\/\d+$/);
  caseURL = p.url();
});

after(async () => {
  if (br) await br.close();
  if (s) await s.stop();
});

// labelled opens url at phone width and checks its stacked tables (at
// least min of them, each with a visible row) and axe-core, then the same
// page at desktop width, without labels.
async function labelled(p, url, min, name) {
  await p.setViewportSize(phone);
  const resp = await p.goto(url);
  assert.equal(resp.status(), 200, `${name}: ${url}`);
  const small = await labelProblems(p, { stacked: true });
  assert.deepEqual(small.problems, [], `${name} at phone width`);
  assert.ok(small.tables >= min, `${name}: ${small.tables} stacked tables, want at least ${min}`);
  assert.ok(small.rows >= small.tables, `${name}: ${small.rows} visible rows in ${small.tables} tables`);
  assert.deepEqual(await browser.axe(p), [], `${name}: axe-core violations at phone width`);
  await browser.screenshot(p, `tables/${name}-phone`);
  await p.setViewportSize(desktop);
  const wide = await labelProblems(p, { stacked: false });
  assert.deepEqual(wide.problems, [], `${name} at desktop width`);
  await p.setViewportSize(phone);
  return small;
}

test('tables: the expert’s case page, participants and dashboard label every value on a phone', { skip: skip || false }, async () => {
  const p = page['expert-pierre-durand'];
  await labelled(p, caseURL, 3, 'case'); // three folders with documents
  await labelled(p, caseURL + '/participants', 2, 'case-participants'); // parties, participants
  await labelled(p, s.portal + '/', 1, 'dashboard');
  await labelled(p, caseURL + '/contradictoire', 1, 'case-contradictoire');
  await labelled(p, caseURL + '/journal', 1, 'case-journal');
  await labelled(p, s.portal + '/compte', 1, 'account');
});

test('tables: the lawyer’s case page and the magistrate’s dashboard and participants', { skip: skip || false }, async () => {
  await labelled(page['avocate-sophie-lefevre'], caseURL, 1, 'case-lawyer');
  const m = page['magistrat-claire-martin'];
  await labelled(m, s.portal + '/', 1, 'dashboard-magistrate');
  await labelled(m, caseURL + '/participants', 2, 'case-participants-magistrate');
});

test('tables: in English the labels are the English headers', { skip: skip || false }, async () => {
  const p = await (await browser.contextAs(br, s, 'expert-pierre-durand', { viewport: phone, locale: 'en-GB' })).newPage();
  await p.goto(s.portal + '/');
  assert.equal(await p.getAttribute('html', 'lang'), 'en');
  await labelled(p, caseURL, 3, 'case-en');
  const by = p.locator('table.documents td[data-label]').nth(2);
  assert.equal(await by.getAttribute('data-label'), 'Deposited by');
  assert.equal(await by.evaluate((td) => getComputedStyle(td, '::before').content), '"Deposited by: "');
  await labelled(p, caseURL + '/participants', 2, 'case-participants-en');
});

test('tables: the check itself fails on a missing, wrong or hidden label', { skip: skip || false }, async () => {
  const p = page['expert-pierre-durand'];
  await p.setViewportSize(phone);
  await p.goto(caseURL);
  assert.deepEqual((await labelProblems(p, { stacked: true })).problems, []);
  await p.evaluate(() => {
    const cells = document.querySelectorAll('table.documents tbody tr:first-child td[data-label]');
    cells[1].removeAttribute('data-label');
    cells[2].setAttribute('data-label', 'Le');
  });
  const broken = (await labelProblems(p, { stacked: true })).problems.join('\n');
  assert.match(broken, /column 2 "Type": no data-label/);
  assert.match(broken, /column 3 "Déposé par": data-label "Le" is not the header/);
  assert.match(broken, /column 3 "Déposé par": shows "Le"/);
  // Labels no longer drawn on a phone (a stylesheet regression).
  await p.goto(caseURL);
  await p.addStyleTag({ content: 'table.documents td[data-label]::before { content: none !important; }' });
  assert.match((await labelProblems(p, { stacked: true })).problems.join('\n'), /"Déposé par": shows null \(content none\)/);
  // Labels drawn at desktop width too.
  await p.setViewportSize(desktop);
  await p.goto(caseURL);
  await p.addStyleTag({ content: 'table.documents td[data-label]::before { content: attr(data-label) " : "; }' });
  assert.match((await labelProblems(p, { stacked: false })).problems.join('\n'), /label "Document : " shown at desktop width/);
  await p.setViewportSize(phone);
});
