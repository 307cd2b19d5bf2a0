// Headless Debian Chromium driven by playwright-core (never a downloaded
// browser), with the flags of shared/research/mtls.md §5.3.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const args = ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic', '--disable-dev-shm-usage'];
const outDir = path.resolve(__dirname, '..', 'out');

// unavailable says why the suite cannot run, or '' when it can; under
// CI=true a missing browser is a failure, elsewhere a loud skip.
function unavailable() {
  if (fs.existsSync(executablePath)) return '';
  const why = `no Chromium at ${executablePath} (apt-get install -y chromium)`;
  if (process.env.CI === 'true') throw new Error(`e2e cannot run under CI=true: ${why}`);
  console.error(`\n*** e2e SKIPPED: ${why} ***\n`);
  return why;
}

async function launch(opts = {}) {
  const { chromium } = require('playwright-core');
  return chromium.launch({ executablePath, args, timeout: 60000, ...opts });
}

// contextAs opens a browser context presenting a demo identity's PKCS#12
// to the portal (Playwright's clientCertificates proxy), or none.
async function contextAs(browser, sceau, who, opts = {}) {
  const clientCertificates = [];
  if (who) {
    const id = sceau.ids[who];
    if (!id) throw new Error(`no demo identity ${who}`);
    clientCertificates.push({ origin: sceau.portal, pfxPath: id.p12, passphrase: id.password });
  }
  // ignoreHTTPSErrors: a PFX holding its CA chain replaces Node's trust
  // store for the proxy (mtls.md §5.3 caveat 3); the real trust path is
  // proven by the NSS test. bypassCSP: axe-core is injected inline.
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true, bypassCSP: true, locale: 'fr-FR',
    viewport: { width: 1280, height: 900 }, clientCertificates, ...opts });
  ctx.setDefaultTimeout(20000);
  ctx.setDefaultNavigationTimeout(30000);
  return ctx;
}

async function screenshot(page, name) {
  fs.mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, name + '.png');
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

// axe runs axe-core on the page and returns the serious and critical
// violations, one readable line each.
async function axe(page) {
  await page.addScriptTag({ path: require.resolve('axe-core/axe.min.js') });
  const result = await page.evaluate(async () => window.axe.run(document, { resultTypes: ['violations'] }));
  return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).slice(0, 5).join(' | ')}`);
}

// check runs axe-core and saves the page as it is now under out/pages/,
// at desktop and at phone width, and fails on serious or critical
// violations, on sideways scrolling (desktop or phone width) and on a
// stacked table (table.list, table.documents) whose values do not say
// their column on a phone, or do at desktop width (lib/tables.js).
async function check(page, name) {
  const assert = require('node:assert/strict');
  const { labelProblems } = require('./tables');
  const problems = await axe(page);
  const labelsWide = (await labelProblems(page, { stacked: false })).problems;
  await screenshot(page, `pages/${name}`);
  const wide = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  // SCEAU_E2E_DOCS=dir: also the first screen of each page, for the README.
  if (process.env.SCEAU_E2E_DOCS) {
    fs.mkdirSync(process.env.SCEAU_E2E_DOCS, { recursive: true });
    await page.screenshot({ path: path.join(process.env.SCEAU_E2E_DOCS, name + '.png') });
  }
  const vp = page.viewportSize();
  await page.setViewportSize({ width: 390, height: 844 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  const labelsPhone = (await labelProblems(page, { stacked: true })).problems;
  await screenshot(page, `pages/${name}-mobile`);
  await page.setViewportSize(vp);
  assert.deepEqual(problems, [], `${name}: axe-core violations`);
  assert.ok(wide <= 1, `${name}: ${wide}px of horizontal scrolling at desktop width`);
  assert.ok(overflow <= 1, `${name}: ${overflow}px of horizontal scrolling at phone width`);
  assert.deepEqual(labelsWide, [], `${name}: stacked-table labels at desktop width`);
  assert.deepEqual(labelsPhone, [], `${name}: stacked-table labels at phone width`);
}

module.exports = { check, launch, contextAs, screenshot, axe, unavailable, executablePath, args, outDir };
