// Every main page, as the people who see it: axe-core finds no serious or
// critical violation, a screenshot is saved under out/pages/ (desktop and
// phone width) to be looked at, the keyboard reaches every control with a
// visible focus, and forms say what is wrong next to the field.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const sceau = require('../lib/sceau');
const browser = require('../lib/browser');
const portal = require('../lib/portal');

const skip = browser.unavailable();
let s, br;
const ctx = {};
const page = {};
let caseID, docPath;

before(async () => {
  if (skip) return;
  s = await sceau.start();
  br = await browser.launch();
  for (const who of ['expert-pierre-durand', 'avocate-sophie-lefevre', 'magistrat-claire-martin', null]) {
    ctx[who] = await browser.contextAs(br, s, who);
    page[who] = await ctx[who].newPage();
  }
});

after(async () => {
  if (br) await br.close();
  if (s) await s.stop();
});

const check = browser.check;

test('pages: registration, with its errors next to the fields', { skip: skip || false }, async () => {
  const p = page['expert-pierre-durand'];
  await p.goto(s.portal + '/');
  await p.waitForURL(/\/inscription$/);
  await check(p, 'register');
  await p.getByRole('button', { name: 'Créer mon compte' }).click();
  await p.waitForSelector('.form-errors');
  // The specialties field and the terms checkbox say what is wrong, and
  // the field points to its message.
  const field = p.getByLabel(/^Spécialités/);
  assert.equal(await field.getAttribute('aria-invalid'), 'true');
  const msg = p.locator('#' + await field.getAttribute('aria-describedby'));
  assert.match(await msg.innerText(), /obligatoire/);
  assert.match(await p.locator('#terms-error').innerText(), /./);
  await check(p, 'register-errors');
  await portal.register(p, s, { fields: { 'Spécialités (séparées par des virgules)': 'Bâtiment, Structures' } });
  await portal.register(page['avocate-sophie-lefevre'], s, { fields: { 'Barreau *': 'Barreau de Rennes' } });
  await portal.register(page['magistrat-claire-martin'], s, { role: 'magistrate' });
});

test('pages: the expert’s pages', { skip: skip || false }, async () => {
  const p = page['expert-pierre-durand'];
  await p.goto(s.portal + '/affaires/nouvelle');
  await check(p, 'case-new');
  await p.getByRole('button', { name: 'Créer l’expertise' }).click();
  await p.waitForSelector('.form-errors');
  for (const label of ['Premier demandeur', 'Juridiction', 'Numéro RG']) {
    const f = p.getByLabel(label, { exact: false }).first();
    assert.equal(await f.getAttribute('aria-invalid'), 'true', label);
    assert.ok(await p.locator('#' + await f.getAttribute('aria-describedby')).isVisible(), `${label}: message next to the field`);
  }
  await check(p, 'case-new-errors');
  caseID = await portal.createCase(p, s, { applicant: 'Hélène Dupré-Lefèvre', defendant: 'SCI Les Tilleuls',
    jurisdiction: 'Tribunal judiciaire de Rennes', rg: '25/04242', ordonnance: '2026-10-15' });
  await check(p, 'case-creation');
  await p.locator('.state-actions').getByRole('button', { name: 'En cours' }).click();
  await p.waitForSelector('h1:has-text("Passer l’expertise")');
  await check(p, 'case-transition');
  await p.getByRole('button', { name: 'Confirmer' }).click();
  await portal.addParty(p, s, caseID, 'Hélène Dupré-Lefèvre', 'Dépôt intervenant');
  await portal.addParty(p, s, caseID, 'SCI Les Tilleuls', 'Ne dématérialise pas (papier)');
  await portal.addParticipant(p, s, caseID, { roleLabel: 'Avocat', email: 'sophie.lefevre@avocats.test', parties: ['Hélène Dupré-Lefèvre'] });
  await portal.addParticipant(p, s, caseID, { roleLabel: 'Magistrat', email: 'claire.martin@justice.test', supervising: true });
  // An unknown address: said next to the field.
  await p.getByLabel('Rôle', { exact: true }).selectOption({ label: 'Avocat' });
  await p.getByLabel(/^Adresse électronique/).fill('inconnu@avocats.test');
  await p.getByRole('button', { name: 'Ajouter le participant' }).click();
  const email = p.getByLabel(/^Adresse électronique/);
  await p.waitForSelector('.field-error');
  assert.equal(await email.getAttribute('aria-invalid'), 'true');
  assert.match(await p.locator('#' + await email.getAttribute('aria-describedby')).innerText(), /Aucun compte actif/);
  await check(p, 'case-participants');
  await p.goto(`${s.portal}/affaires/${caseID}/modifier`);
  await check(p, 'case-edit');
  // A deposit, its receipt, the case page and the contradictoire.
  await p.goto(`${s.portal}/affaires/${caseID}`);
  const form = await portal.depositForm(p, 'Désignation');
  await form.locator('input[type=file][name=file]').setInputFiles([
    { name: 'ordonnance-de-designation.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.7\n%ordonnance\n') },
    { name: 'convocation-reunion-1.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.7\n%convocation\n') }]);
  await form.getByRole('button', { name: /Déposer dans/ }).click();
  await p.waitForURL(/\/recepisse/);
  docPath = new URL(p.url()).pathname.replace(/\/recepisse$/, '');
  await check(p, 'document-receipt');
  await p.goto(`${s.portal}/affaires/${caseID}`);
  await check(p, 'case');
  await p.goto(`${s.portal}/affaires/${caseID}/contradictoire`);
  await check(p, 'case-contradictoire');
  await p.goto(`${s.portal}/`);
  await check(p, 'dashboard');
  await p.goto(`${s.portal}/compte`);
  await check(p, 'account');
  // Pages other issues add, checked once their routes answer.
  for (const [name, url] of [['case-journal', `/affaires/${caseID}/journal`], ['search', '/recherche?q=rapport'], ['notifications', '/compte/notifications']]) {
    const resp = await p.goto(s.portal + url);
    if (resp.status() === 404) { console.error(`pages: ${url} not in this build, not checked`); continue; }
    assert.equal(resp.status(), 200, url);
    await check(p, name);
  }
  await p.goto(`${s.portal}/annuaire?type=expert&q=du`);
  await check(p, 'directory-errors');
  await p.goto(`${s.portal}/annuaire?type=lawyer&q=lef`);
  await check(p, 'directory');
});

test('pages: the lawyer and the magistrate', { skip: skip || false }, async () => {
  const l = page['avocate-sophie-lefevre'];
  await l.goto(`${s.portal}/affaires/${caseID}`);
  await check(l, 'case-lawyer');
  const m = page['magistrat-claire-martin'];
  await m.goto(`${s.portal}/`);
  await check(m, 'dashboard-magistrate');
  await m.goto(`${s.portal}/affaires/${caseID}/participants`);
  await check(m, 'case-participants-magistrate');
});

test('pages: refusals and errors', { skip: skip || false }, async () => {
  const n = page[null];
  await n.goto(`${s.portal}/`);
  await check(n, 'refusal-no-certificate');
  const p = page['expert-pierre-durand'];
  await p.goto(`${s.portal}/affaires/999`);
  await check(p, 'error-not-found');
});

test('pages: the counter and the development mail sink', { skip: skip || false }, async () => {
  const n = page[null];
  await n.goto(`${s.counter}/`);
  await check(n, 'counter-home');
  await n.goto(`${s.counter}/dev/mail`);
  await check(n, 'dev-mail');
  const first = n.locator('main table a').first();
  if (await first.count()) {
    await first.click();
    await n.waitForSelector('pre.mail-text');
    await check(n, 'dev-mail-message');
  }
});

test('pages: the keyboard reaches every control of the case page, with a visible focus', { skip: skip || false }, async () => {
  const p = page['expert-pierre-durand'];
  await p.goto(`${s.portal}/affaires/${caseID}`);
  const want = await p.evaluate(() => [...document.querySelectorAll('a[href], button:not([disabled]), input:not([type=hidden]), select, textarea')]
    .filter((e) => e.checkVisibility()).length);
  const seen = new Set();
  let invisible = [];
  for (let i = 0; i < want + 5; i++) {
    await p.keyboard.press('Tab');
    const info = await p.evaluate(() => {
      const e = document.activeElement;
      if (!e || e === document.body) return null;
      const cs = getComputedStyle(e);
      const shown = (cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) > 0) || cs.boxShadow !== 'none';
      if (!e.dataset.e2e) e.dataset.e2e = String(Math.random());
      return { id: e.dataset.e2e, tag: e.tagName + (e.name ? `[name=${e.name}]` : '') + ' ' + (e.textContent || '').trim().slice(0, 30), shown };
    });
    if (!info) continue;
    seen.add(info.id);
    if (!info.shown) invisible.push(info.tag);
  }
  assert.ok(seen.size >= want, `Tab reached ${seen.size} of ${want} controls`);
  assert.deepEqual(invisible, [], 'controls without a visible focus');
  // A folded deposit form opens from the keyboard.
  const summary = p.locator('details.deposit summary').first();
  await summary.focus();
  await p.keyboard.press('Enter');
  assert.ok(await p.locator('details.deposit').first().evaluate((d) => d.open), 'Enter opens the deposit form');
  await p.keyboard.press('Tab');
  assert.equal(await p.evaluate(() => document.activeElement.name), 'kind', 'Tab then reaches the document type');
  // The skip link comes first and leads to the content.
  await p.goto(`${s.portal}/affaires/${caseID}`);
  await p.keyboard.press('Tab');
  assert.match(await p.evaluate(() => document.activeElement.textContent), /Aller au contenu/);
});
