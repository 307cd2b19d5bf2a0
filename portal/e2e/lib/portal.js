// What a person does on the portal, step by step, through the page (labels
// and buttons as a person reads them, not form posts).
'use strict';
const assert = require('node:assert/strict');

// register completes the registration form of a demo identity (prefilled
// from the certificate) and returns on the dashboard.
async function register(page, sceau, extra = {}) {
  await page.goto(sceau.portal + '/');
  await page.waitForSelector('h1');
  if (!/inscription/.test(page.url())) {
    assert.match(await page.locator('h1').innerText(), /Création de votre compte|Bonjour/);
  }
  if (await page.locator('h1', { hasText: 'Création de votre compte' }).count() === 0) return;
  if (extra.role) await page.locator(`input[name=role][value=${extra.role}]`).check();
  for (const [label, value] of Object.entries(extra.fields || {})) {
    await page.getByLabel(label).fill(value);
  }
  await page.getByLabel('J’ai lu et j’accepte les conditions d’utilisation.').check();
  await page.getByRole('button', { name: 'Créer mon compte' }).click();
  await page.waitForSelector('h1:has-text("Bonjour")');
}

async function createCase(page, sceau, f) {
  await page.goto(sceau.portal + '/');
  await page.getByRole('link', { name: 'Créer une expertise' }).click();
  await page.getByLabel('Premier demandeur').fill(f.applicant);
  await page.getByLabel('Premier défendeur').fill(f.defendant);
  await page.getByLabel('Juridiction').fill(f.jurisdiction);
  await page.getByLabel('Numéro RG').fill(f.rg);
  await page.getByLabel('Date de l’ordonnance').fill(f.ordonnance);
  await page.getByRole('button', { name: 'Créer l’expertise' }).click();
  await page.waitForURL(/\/affaires\/\d+$/);
  return page.url().match(/\/affaires\/(\d+)$/)[1];
}

// setState asks for the next state from the case page and confirms it.
async function setState(page, sceau, caseID, label) {
  await page.goto(`${sceau.portal}/affaires/${caseID}`);
  await page.locator('.state-actions').getByRole('button', { name: label }).click();
  await page.waitForSelector('h1:has-text("Passer l’expertise")');
  await page.getByRole('button', { name: 'Confirmer' }).click();
  await page.waitForURL(new RegExp(`/affaires/${caseID}`));
}

async function addParty(page, sceau, caseID, name, modeLabel) {
  await page.goto(`${sceau.portal}/affaires/${caseID}/participants`);
  await page.getByLabel('Nom de la partie').fill(name);
  await page.getByLabel('Mode de dépôt').selectOption({ label: modeLabel });
  await page.getByRole('button', { name: 'Ajouter la partie' }).click();
  await page.waitForSelector('.notice:has-text("La partie a été ajoutée")');
}

// addParticipant adds a professional by the address of their account.
async function addParticipant(page, sceau, caseID, { roleLabel, email, parties = [], supervising = false }) {
  await page.goto(`${sceau.portal}/affaires/${caseID}/participants`);
  await page.getByLabel('Rôle', { exact: true }).selectOption({ label: roleLabel });
  await page.getByLabel(/^Adresse électronique/).fill(email);
  for (const p of parties) await page.getByRole('checkbox', { name: p, exact: true }).check();
  if (supervising) await page.getByLabel('Magistrat chargé du contrôle de l’expertise').check();
  await page.getByRole('button', { name: 'Ajouter le participant' }).click();
  await page.waitForSelector('.notice:has-text("Le participant a été ajouté")');
}

// documentRow is the row of a document on the case page.
function documentRow(page, fileName) {
  return page.locator('table.documents tr', { has: page.getByRole('link', { name: fileName, exact: true }) });
}

// depositForm opens the folded deposit form of a folder and returns it.
async function depositForm(page, folderName, nth = 0) {
  const box = page.locator('details.deposit', { has: page.locator('summary', { hasText: `« ${folderName} »` }) }).nth(nth);
  if (!(await box.evaluate((d) => d.open))) await box.locator('summary').click();
  return box.locator('form.deposit');
}

module.exports = { depositForm, register, createCase, setState, addParty, addParticipant, documentRow };
