// Journeys 1 and 2 (issue 8), then journey 3 from the litigant's side.
// 1. The demo expert creates a case, a party in dépôt intervenant and a
//    member of it with an email, orders her certificate and notes the
//    collection code.
// 2. In a browser with no certificate, the litigant opens the link of the
//    email the development mail sink received, types the code, downloads
//    the PKCS#12 and its password; the bundle is imported with pk12util
//    into a throw-away NSS database and Chromium itself presents it:
//    "Tester mon certificat" shows the portal recognising her.
// 3. With that installed certificate she deposits a dire; her lawyer and
//    the supervising magistrate see it at once, marked nouveau; the
//    expert's contradictoire view shows who opened it.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const sceau = require('../lib/sceau');
const browser = require('../lib/browser');
const nss = require('../lib/nss');
const portal = require('../lib/portal');

const skip = browser.unavailable() || nss.unavailable();
if (skip && process.env.CI === 'true') throw new Error(`journeys 1–2 cannot run under CI=true: ${skip}`);
let s, br;
const page = {};

before(async () => {
  if (skip) return;
  s = await sceau.start();
  br = await browser.launch();
  for (const who of ['expert-pierre-durand', 'avocate-sophie-lefevre', 'magistrat-claire-martin', null]) {
    page[who] = await (await browser.contextAs(br, s, who)).newPage();
  }
  const resp = await page[null].goto(`${s.counter}/retrait`);
  if (resp.status() === 404) {
    broken = 'the retrieval counter (/retrait, issue 7) is not in this build';
    console.error(`\n*** journeys 1–2 SKIPPED: ${broken} ***\n`);
  }
});

after(async () => {
  if (br) await br.close();
  if (s) await s.stop();
});

// The retrieval counter (issue 7) is the lead's: until it answers, these
// journeys are skipped with a message, not faked.
let broken = '';

function step(name, fn) {
  test(name, { skip: skip || false }, async (t) => {
    if (broken) { t.skip(`an earlier step failed: ${broken}`); return; }
    try {
      await fn(t);
    } catch (e) {
      broken = name;
      for (const [who, p] of Object.entries(page)) await browser.screenshot(p, `failed-journey12-${who}`).catch(() => {});
      throw e;
    }
  });
}

const litigant = { name: 'Hélène Dupré-Lefèvre', email: 'helene.dupre-lefevre@exemple.test' };
let caseID, code, bundle, password, testURL;

step('journey 1: the expert creates the case, the party and its member, and orders her certificate', async () => {
  await portal.register(page['expert-pierre-durand'], s, { fields: { 'Spécialités (séparées par des virgules)': 'Bâtiment' } });
  await portal.register(page['avocate-sophie-lefevre'], s, { fields: { 'Barreau *': 'Barreau de Rennes' } });
  await portal.register(page['magistrat-claire-martin'], s, { role: 'magistrate' });
  const p = page['expert-pierre-durand'];
  caseID = await portal.createCase(p, s, { applicant: litigant.name, defendant: 'SCI Les Tilleuls',
    jurisdiction: 'Tribunal judiciaire de Rennes', rg: '25/05555', ordonnance: '2026-10-15' });
  await portal.setState(p, s, caseID, 'En cours');
  await portal.addParty(p, s, caseID, litigant.name, 'Dépôt intervenant');
  await portal.addParticipant(p, s, caseID, { roleLabel: 'Avocat', email: 'sophie.lefevre@avocats.test', parties: [litigant.name] });
  await portal.addParticipant(p, s, caseID, { roleLabel: 'Magistrat', email: 'claire.martin@justice.test', supervising: true });
  // The litigant herself: a party member, with her email.
  await p.goto(`${s.portal}/affaires/${caseID}/participants`);
  await p.getByLabel('Rôle', { exact: true }).selectOption({ label: 'Intervenant (partie)' });
  await p.getByLabel(/^Adresse électronique \(celle de son compte/).fill(litigant.email);
  await p.getByLabel(/^Nom \(intervenant/).fill(litigant.name);
  await p.getByRole('radio', { name: `${litigant.name} (intervenant de cette partie)` }).check();
  await p.getByRole('button', { name: 'Ajouter le participant' }).click();
  await p.waitForSelector('.notice:has-text("Le participant a été ajouté")');
  // Order her certificate.
  const section = p.locator('section.order', { has: p.getByRole('heading', { name: new RegExp(litigant.name) }) });
  await section.locator('summary', { hasText: 'Commander un certificat' }).click();
  await section.getByRole('button', { name: 'Commander le certificat' }).click();
  await p.waitForSelector('#code');
  code = (await p.locator('#code').innerText()).trim();
  assert.match(code, /^[A-Z2-9]{4}-?[A-Z2-9]{4}$/);
  assert.match(await p.locator('main').innerText(), new RegExp(`part vers ${litigant.email.replace(/\./g, '\\.')}`));
  await browser.check(p, 'order-code');
});

step('journey 2: the litigant opens the emailed link, types the code and collects her bundle', async () => {
  const p = page[null]; // no certificate at all
  await p.goto(`${s.counter}/dev/mail`);
  const mail = p.getByRole('link', { name: /certificat/i }).first();
  await mail.waitFor({ timeout: 15000 }).catch(async () => { await p.reload(); await mail.waitFor({ timeout: 15000 }); });
  await mail.click();
  const text = await p.locator('pre.mail-text').innerText();
  assert.match(await p.locator('main').innerText(), new RegExp(litigant.email.replace(/\./g, '\\.')));
  assert.ok(!text.includes(code.replace('-', '')) && !text.includes(code), 'the code is never in the email');
  const link = text.match(/https:\/\/\S+\/retrait\?jeton=\S+/);
  assert.ok(link, `a collection link in the email:\n${text}`);
  await p.goto(link[0]);
  assert.ok(!p.url().includes('jeton'), 'the token leaves the address bar');
  await browser.check(p, 'counter-code');
  await p.getByLabel('Code de retrait').fill(code);
  await p.getByRole('button', { name: 'Valider le code' }).click();
  await p.waitForSelector('form.collect');
  await browser.check(p, 'counter-collect');
  await p.getByRole('button', { name: 'Récupérer mon certificat' }).click();
  await p.waitForSelector('#password');
  password = (await p.locator('#password').innerText()).trim();
  const [dl] = await Promise.all([p.waitForEvent('download'), p.locator('#bundle').click()]);
  testURL = await p.getByRole('link', { name: 'Tester mon certificat' }).last().getAttribute('href');
  assert.equal(testURL, s.portal + '/');
  bundle = path.join(s.tmp, dl.suggestedFilename());
  await dl.saveAs(bundle);
  assert.ok(fs.statSync(bundle).size > 500, 'a PKCS#12 file');
  await browser.check(p, 'counter-delivered');
});

step('journey 2: the bundle imported into NSS, Chromium presents it and "Tester mon certificat" recognises her', async () => {
  await nss.inChromium(s, { bundle, password }, async (p, listed) => {
    assert.match(listed, /Hélène Dupré-Lefèvre|Helene/i, 'pk12util imported her certificate');
    // "Tester mon certificat" leads to the portal's home.
    const resp = await p.goto(testURL);
    assert.equal(resp.status(), 200, await p.locator('main').innerText());
    // Her account was made at the collection: first she accepts the terms.
    if (/conditions/.test(p.url())) {
      assert.match(await p.locator('h1').innerText(), /Bienvenue sur Sceau/, 'first terms, not "new" ones');
      await p.getByRole('button', { name: 'Continuer' }).click();
      const box = p.getByLabel('J’ai lu et j’accepte les conditions d’utilisation.');
      assert.equal(await box.getAttribute('aria-invalid'), 'true');
      assert.match(await p.locator('#terms-error').innerText(), /accepter les conditions/);
      await browser.check(p, 'terms');
      await box.check();
      await p.getByRole('button', { name: 'Continuer' }).click();
    }
    assert.match(await p.locator('h1').innerText(), new RegExp(`Bonjour ${litigant.name}`));
    assert.match(await p.locator('main').innerText(), /Connecté avec le certificat délivré par .*Sceau/); // Sceau's own CA
    await browser.check(p, 'dashboard-litigant');
    // Journey 3 from her side, with Chromium's own certificate stack.
    await p.getByRole('link', { name: /25\/05555/ }).first().click();
    const form = await portal.depositForm(p, 'Dires');
    await form.getByLabel('Type').selectOption({ label: 'Dire' });
    await form.locator('input[type=file][name=file]').setInputFiles([{ name: 'dire-de-la-partie.pdf', mimeType: 'application/pdf',
      buffer: Buffer.from('%PDF-1.7\n% dire de Mme Dupré-Lefèvre\n') }]);
    await form.getByRole('button', { name: /Déposer dans/ }).click();
    await p.waitForURL(/\/recepisse/);
    assert.match(await p.locator('dd.depositor').innerText(), new RegExp(litigant.name));
  });
});

step('journey 3: her lawyer and the supervising magistrate see her dire, marked nouveau; the expert sees who opened it', async () => {
  for (const who of ['avocate-sophie-lefevre', 'magistrat-claire-martin']) {
    const p = page[who];
    await p.goto(`${s.portal}/affaires/${caseID}`);
    const row = portal.documentRow(p, 'dire-de-la-partie.pdf');
    assert.match(await row.innerText(), new RegExp(`nouveau[\\s\\S]*${litigant.name}`), who);
  }
  const m = page['magistrat-claire-martin'];
  await Promise.all([m.waitForEvent('download'), m.getByRole('link', { name: 'dire-de-la-partie.pdf', exact: true }).click()]);
  const p = page['expert-pierre-durand'];
  await p.goto(`${s.portal}/affaires/${caseID}/contradictoire`);
  const section = p.locator('section.contradictoire', { has: p.getByRole('heading', { name: 'dire-de-la-partie.pdf' }) });
  const row = (name) => section.locator('tr', { has: p.getByRole('cell', { name, exact: true }) });
  assert.match(await row('Claire Martin').innerText(), /ouvert le/);
  assert.match(await row('Sophie Lefèvre').innerText(), /pas encore ouvert/);
  await browser.check(p, 'case-contradictoire-litigant-dire');
});
