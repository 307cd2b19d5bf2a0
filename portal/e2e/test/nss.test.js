// Chromium's own client-certificate stack: a PKCS#12 bundle imported into
// NSS with pk12util is presented by Chromium itself (no test proxy), and
// the portal recognises the person. Trust in the server comes from Sceau's
// root in the same NSS database: no certificate error is ignored.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const sceau = require('../lib/sceau');
const browser = require('../lib/browser');
const nss = require('../lib/nss');
const portal = require('../lib/portal');

const skip = browser.unavailable() || nss.unavailable();
if (skip && process.env.CI === 'true') throw new Error(`NSS test cannot run under CI=true: ${skip}`);
if (skip) console.error(`\n*** NSS test SKIPPED: ${skip} ***\n`);
let s;

before(async () => { if (!skip) s = await sceau.start(); });
after(async () => { if (s) await s.stop(); });

test('NSS: Chromium presents an imported demo PKCS#12 and the portal recognises the expert', { skip: skip || false }, async () => {
  const id = s.ids['expert-pierre-durand'];
  await nss.inChromium(s, { bundle: id.p12, password: id.password }, async (page, listed) => {
    assert.match(listed, /Pierre Durand/, 'pk12util imported the identity');
    const resp = await page.goto(s.portal + '/');
    assert.equal(resp.status(), 200);
    assert.match(page.url(), /\/inscription$/);
    assert.match(await page.locator('main').innerText(), /AC Experts judiciaires \(TEST\)/);
    assert.equal(await page.getByLabel(/^Nom affiché/).inputValue(), 'Pierre Durand');
    await portal.register(page, s, { fields: { 'Spécialités (séparées par des virgules)': 'Bâtiment' } });
    assert.match(await page.locator('h1').innerText(), /Bonjour Pierre Durand/);
    await browser.screenshot(page, 'nss-dashboard');
  });
  assert.ok(!fs.readdirSync(nss.policyDir).some((f) => f.startsWith(`sceau-e2e-${process.pid}`)), 'the policy file is removed');
});

test('NSS: without a certificate Chromium gets the French refusal page, not a TLS error', { skip: skip || false }, async () => {
  const br = await browser.launch();
  try {
    const ctx = await br.newContext({ ignoreHTTPSErrors: true, locale: 'fr-FR' });
    const page = await ctx.newPage();
    const resp = await page.goto(s.portal + '/', { timeout: 30000 });
    assert.equal(resp.status(), 403);
    assert.equal(await page.getAttribute('html', 'lang'), 'fr');
    assert.match(await page.locator('main').innerText(), /certificat/i);
    await browser.screenshot(page, 'refusal-no-certificate');
  } finally {
    await br.close();
  }
});
