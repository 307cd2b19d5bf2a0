// Journey 3 (issue 8): people browse the cases they are allowed to see.
// The demo expert creates a case, a party and its participants; a lawyer
// deposits a dire through the upload script (many files, per-file
// progress); the other lawyer and the supervising magistrate see it with
// the "nouveau" marker; the expert's contradictoire view shows who opened
// it; the expert of another case gets the French refusal page.
//
// The journey says "a litigant deposits": litigants only get a
// certificate at the retrieval counter (journeys 1–2), so until those run
// here the dire is deposited by the party's lawyer (dépôt intervenant
// lets both deposit).
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

before(async () => {
  if (skip) return;
  s = await sceau.start();
  br = await browser.launch();
  for (const who of ['expert-pierre-durand', 'avocate-sophie-lefevre', 'avocat-marc-nguyen', 'magistrat-claire-martin', 'experte-anne-moreau']) {
    ctx[who] = await browser.contextAs(br, s, who);
    page[who] = await ctx[who].newPage();
  }
});

after(async () => {
  if (br) await br.close();
  if (s) {
    const exit = await s.stop();
    assert.equal(exit.code, 0, `sceau serve did not stop cleanly: ${JSON.stringify(exit)}\n${s.log()}`);
  }
});

// Each step needs the previous ones: after a failure the rest is skipped,
// and every open page is saved under out/ to see what went wrong.
let broken = '';
function step(name, fn) {
  test(name, { skip: skip || false }, async (t) => {
    if (broken) { t.skip(`an earlier step failed: ${broken}`); return; }
    try {
      await fn(t);
    } catch (e) {
      broken = name;
      for (const [who, p] of Object.entries(page)) await browser.screenshot(p, `failed-journey3-${who}`).catch(() => {});
      throw e;
    }
  });
}

const rg = '25/04242';
let caseID;

step('journey 3: the demo people register with their certificates', async () => {
  await portal.register(page['expert-pierre-durand'], s, { fields: { 'Spécialités (séparées par des virgules)': 'Bâtiment, Structures' } });
  await portal.register(page['avocate-sophie-lefevre'], s, { fields: { 'Barreau *': 'Barreau de Rennes' } });
  await portal.register(page['avocat-marc-nguyen'], s, { fields: { 'Barreau *': 'Barreau de Nantes' } });
  await portal.register(page['magistrat-claire-martin'], s, { role: 'magistrate' });
  await portal.register(page['experte-anne-moreau'], s, { fields: { 'Spécialités (séparées par des virgules)': 'Médecine légale' } });
  const p = page['magistrat-claire-martin'];
  assert.match(await p.locator('h1').innerText(), /Bonjour Claire Martin/);
  assert.match(await p.locator('main').innerText(), /AC Justice Agents \(TEST\)/);
});

step('journey 3: the expert creates the case, its parties and participants', async () => {
  const p = page['expert-pierre-durand'];
  caseID = await portal.createCase(p, s, { applicant: 'Hélène Dupré-Lefèvre', defendant: 'SCI Les Tilleuls',
    jurisdiction: 'Tribunal judiciaire de Rennes', rg, ordonnance: '2026-10-15' });
  await portal.setState(p, s, caseID, 'En cours');
  await portal.addParty(p, s, caseID, 'Hélène Dupré-Lefèvre', 'Dépôt intervenant');
  await portal.addParty(p, s, caseID, 'SCI Les Tilleuls', 'Dépôt avocat');
  await portal.addParticipant(p, s, caseID, { roleLabel: 'Avocat', email: 'sophie.lefevre@avocats.test', parties: ['Hélène Dupré-Lefèvre'] });
  await portal.addParticipant(p, s, caseID, { roleLabel: 'Avocat', email: 'marc.nguyen@avocats.test', parties: ['SCI Les Tilleuls'] });
  await portal.addParticipant(p, s, caseID, { roleLabel: 'Magistrat', email: 'claire.martin@justice.test', supervising: true });
  const people = await p.locator('main table.list').nth(1).innerText();
  assert.match(people, /Sophie Lefèvre/);
  assert.match(people, /Claire Martin.*\(chargé du contrôle\)/);
  // The other expert runs a case of her own.
  await portal.createCase(page['experte-anne-moreau'], s, { applicant: 'M. Roux', defendant: 'Clinique du Parc',
    jurisdiction: 'Tribunal judiciaire d’Angers', rg: '25/00777', ordonnance: '2026-09-01' });
});

let dire;
step('journey 3: the lawyer deposits a dire with many files, each with its progress bar', async () => {
  const p = page['avocate-sophie-lefevre'];
  await p.goto(`${s.portal}/affaires/${caseID}`);
  // Her party's folders and the registry's, not the other party's.
  const folders = await p.locator('ul.tree > li', { has: p.locator('details.deposit') }).locator('h3').allTextContents();
  assert.deepEqual(folders.map((f) => f.replace(/\s+/g, ' ').trim()), ['Partie Hélène Dupré-Lefèvre Dires', 'Partie Hélène Dupré-Lefèvre Pièces', 'Greffe Communication vers le greffe']);
  const form = await portal.depositForm(p, 'Dires');
  const annex = (i) => ({ name: `annexe-${String(i).padStart(2, '0')}.txt`, mimeType: 'text/plain', buffer: Buffer.from(`Annexe ${i} au dire n°1\n`) });
  // Too many files: said next to the field, nothing sent.
  const fileInput = form.locator('input[type=file][name=file]');
  await fileInput.setInputFiles(Array.from({ length: 25 }, (_, i) => annex(i + 1)));
  const error = form.locator('.field-error');
  assert.match(await error.innerText(), /au plus 20 fichiers : vous en avez choisi 25/);
  assert.equal(await fileInput.getAttribute('aria-invalid'), 'true');
  assert.equal(await fileInput.getAttribute('aria-describedby'), await error.getAttribute('id'));
  await browser.screenshot(p, 'case-deposit-too-many');
  // A large dire and 19 annexes.
  const files = [{ name: 'dire-n1-helene-dupre-lefevre.pdf', mimeType: 'application/pdf',
    buffer: Buffer.concat([Buffer.from('%PDF-1.7\n% dire n°1\n'), Buffer.alloc(3 << 20, 'x')]) }];
  for (let i = 1; i <= 19; i++) files.push(annex(i));
  await form.getByLabel('Type').selectOption({ label: 'Dire' });
  await fileInput.setInputFiles(files);
  assert.equal(await error.innerText(), '');
  assert.match(await form.getByRole('status').innerText(), /20 fichier\(s\) prêt\(s\)/);
  // Slow the upload down so the progress bars can be seen moving.
  const cdp = await ctx['avocate-sophie-lefevre'].newCDPSession(p);
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 20, downloadThroughput: -1, uploadThroughput: 1 << 20 });
  const done = p.waitForURL(/\/recepisse(\?|$)/, { timeout: 60000 });
  await form.getByRole('button', { name: /Déposer dans/ }).click();
  const bars = form.locator('label.deposit-progress progress');
  await p.waitForFunction(() => document.querySelectorAll('label.deposit-progress progress').length === 20);
  // Midway: the first (large) file is partly sent, later ones not yet.
  await p.waitForFunction(() => { const b = document.querySelector('label.deposit-progress progress'); return b && b.value > 0 && b.value < 100; }, null, { timeout: 20000 });
  assert.equal(await bars.count(), 20);
  await browser.screenshot(p, 'case-deposit-progress');
  assert.equal(await bars.last().evaluate((b) => b.value), 0, 'the last file has not started while the first is sent');
  assert.match(await form.locator('[role=status]').innerText(), /Envoi/);
  await done;
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  const receipt = await p.locator('main').innerText();
  assert.match(receipt, /Récépissé de dépôt/);
  assert.match(receipt, /dire-n1-helene-dupre-lefevre\.pdf/);
  assert.match(receipt, /Sophie Lefèvre/);
  assert.match(receipt, /Autres fichiers du même dépôt/);
  assert.equal(await p.locator('table.documents tbody tr').count(), 19);
  // The receipt is the last file's; the others link to their own.
  const pdf = 'dire-n1-helene-dupre-lefevre.pdf';
  const url = new URL(p.url());
  if ((await p.locator('dd.file-name').innerText()) !== pdf) {
    url.pathname = await p.locator('table.documents').getByRole('link', { name: pdf, exact: true }).getAttribute('href');
  }
  dire = url.pathname.replace(/\/recepisse$/, '');
});

step('journey 3: the other lawyer and the supervising magistrate see it, marked nouveau', async () => {
  for (const who of ['avocat-marc-nguyen', 'magistrat-claire-martin']) {
    const p = page[who];
    await p.goto(`${s.portal}/`);
    await p.getByRole('link', { name: new RegExp(rg.replace('/', '\\/')) }).first().click();
    const row = portal.documentRow(p, 'dire-n1-helene-dupre-lefevre.pdf');
    await row.waitFor();
    assert.match(await row.innerText(), /nouveau/, `${who} sees the marker`);
    assert.match(await row.innerText(), /Sophie Lefèvre/);
  }
  // The magistrate opens it: the marker goes, for her only.
  const p = page['magistrat-claire-martin'];
  const [dl] = await Promise.all([p.waitForEvent('download'), p.getByRole('link', { name: 'dire-n1-helene-dupre-lefevre.pdf', exact: true }).click()]);
  const body = await require('node:fs/promises').readFile(await dl.path());
  assert.equal(body.subarray(0, 8).toString(), '%PDF-1.7');
  await p.reload();
  assert.doesNotMatch(await portal.documentRow(p, 'dire-n1-helene-dupre-lefevre.pdf').innerText(), /nouveau/);
  const m = page['avocat-marc-nguyen'];
  await m.reload();
  assert.match(await portal.documentRow(m, 'dire-n1-helene-dupre-lefevre.pdf').innerText(), /nouveau/);
});

step('journey 3: the expert’s contradictoire view shows who opened the dire', async () => {
  const p = page['expert-pierre-durand'];
  await p.goto(`${s.portal}/affaires/${caseID}`);
  await p.getByRole('link', { name: 'Contradictoire' }).click();
  const id = dire.split('/').pop();
  const section = p.locator(`section#document-${id}`);
  const row = (name) => section.locator('tr', { has: p.getByRole('cell', { name, exact: true }) });
  assert.match(await row('Claire Martin').innerText(), /ouvert le \d\d\/\d\d\/\d{4} à \d\d:\d\d/);
  assert.match(await row('Marc Nguyen').innerText(), /pas encore ouvert/);
  assert.match(await section.innerText(), /Déposé par Sophie Lefèvre/);
});

step('journey 3: the expert of another case gets the French refusal page, not the document', async () => {
  const p = page['experte-anne-moreau'];
  for (const path of [dire, `/affaires/${caseID}`, `${dire}/recepisse`]) {
    let resp;
    try {
      resp = await p.goto(s.portal + path);
    } catch (e) {
      assert.fail(`${path}: ${e.message}`);
    }
    assert.ok([403, 404].includes(resp.status()), `${path}: status ${resp.status()}`);
    assert.equal(await p.getAttribute('html', 'lang'), 'fr');
    const text = await p.locator('main').innerText();
    assert.match(text, /Page introuvable|Accès refusé/);
    assert.doesNotMatch(text, /dire n°1|Sophie Lefèvre|Dupré-Lefèvre/);
  }
});
