// The demo a newcomer gets from `make run` (sceau init --demo-case): the
// demo expert opens the portal and lands on the demo case with its
// documents; the supervising magistrate sees the lawyer's dire as new.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const sceau = require('../lib/sceau');
const browser = require('../lib/browser');
const portal = require('../lib/portal');

const skip = browser.unavailable();
let s, br;

before(async () => {
  if (skip) return;
  s = await sceau.start({ demoCase: true });
  br = await browser.launch();
});
after(async () => {
  if (br) await br.close();
  if (s) await s.stop();
});

test('demo: init --demo-case says what it made', { skip: skip || false }, () => {
  assert.match(s.initOut, /demo case: Hélène Dupré-Lefèvre c\/ SCI Les Tilleuls .*\(3 documents\)/);
});

test('demo: the demo expert lands on the demo case and its documents', { skip: skip || false }, async () => {
  const p = await (await browser.contextAs(br, s, 'expert-pierre-durand')).newPage();
  await p.goto(s.portal + '/');
  assert.match(await p.locator('h1').innerText(), /Bonjour Pierre Durand/);
  await browser.screenshot(p, 'demo-dashboard');
  await p.getByRole('link', { name: /25\/01234/ }).first().click();
  for (const name of ['ordonnance-de-designation.pdf', 'convocation-premiere-reunion.pdf', 'dire-n1-helene-dupre-lefevre.pdf']) {
    assert.equal(await portal.documentRow(p, name).count(), 1, name);
  }
  assert.match(await portal.documentRow(p, 'dire-n1-helene-dupre-lefevre.pdf').innerText(), /nouveau.*Sophie Lefèvre/s);
  await browser.screenshot(p, 'demo-case');
  const [dl] = await Promise.all([p.waitForEvent('download'), p.getByRole('link', { name: 'ordonnance-de-designation.pdf', exact: true }).click()]);
  const pdf = await require('node:fs/promises').readFile(await dl.path());
  assert.match(pdf.toString('latin1'), /^%PDF-1\.4[\s\S]*%%EOF\n$/);
});

test('demo: the magistrate is already registered and sees the dire as new', { skip: skip || false }, async () => {
  const p = await (await browser.contextAs(br, s, 'magistrat-claire-martin')).newPage();
  await p.goto(s.portal + '/');
  await p.getByRole('link', { name: /25\/01234/ }).first().click();
  assert.match(await portal.documentRow(p, 'dire-n1-helene-dupre-lefevre.pdf').innerText(), /nouveau/);
  // An identity left for trying the registration form.
  const q = await (await browser.contextAs(br, s, 'experte-anne-moreau')).newPage();
  await q.goto(s.portal + '/');
  assert.match(q.url(), /\/inscription$/);
});
