// The English switch in a real browser: reached with the keyboard from the
// header, it turns the portal's pages into English (<html lang="en">), and
// back; axe-core finds no serious or critical violation on the English
// pages; a browser whose language is English gets the counter, its guide
// and the refusal page in English at once.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const sceau = require('../lib/sceau');
const browser = require('../lib/browser');

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

// tabTo presses Tab from the top of the page until the link named name
// has the focus, as a keyboard user would.
async function tabTo(p, name) {
  for (let i = 0; i < 8; i++) {
    await p.keyboard.press('Tab');
    const focused = await p.evaluate(() => document.activeElement && document.activeElement.textContent.trim());
    if (focused === name) return;
  }
  assert.fail(`the ${name} link is not reached with Tab`);
}

test('english: the expert switches the portal to English with the keyboard, and back', { skip: skip || false }, async () => {
  const p = await (await browser.contextAs(br, s, 'expert-pierre-durand')).newPage();
  await p.goto(s.portal + '/');
  assert.equal(await p.getAttribute('html', 'lang'), 'fr');
  await tabTo(p, 'English');
  await p.keyboard.press('Enter');
  await p.waitForSelector('html[lang=en]');
  assert.match(await p.locator('h1').innerText(), /Hello Pierre Durand/);
  await browser.check(p, 'en-dashboard');

  // Remembered from page to page.
  await p.getByRole('link', { name: /25\/01234/ }).first().click();
  await p.waitForSelector('h2:has-text("Documents")');
  assert.match(await p.locator('main').innerText(), /Deposited by/);
  await browser.check(p, 'en-case');
  await p.getByRole('link', { name: 'Parties and participants' }).click();
  await p.waitForSelector('h1:has-text("Parties and participants")');
  await browser.check(p, 'en-participants');
  await p.goto(s.portal + '/compte');
  await p.waitForSelector('h1:has-text("My account")');
  await browser.check(p, 'en-account');

  await p.goto(s.portal + '/');
  await tabTo(p, 'Français');
  await p.keyboard.press('Enter');
  await p.waitForSelector('html[lang=fr]');
  assert.match(await p.locator('h1').innerText(), /Bonjour Pierre Durand/);
});

test('english: a browser in English gets the counter, its guide and the refusal page in English', { skip: skip || false }, async () => {
  const p = await (await browser.contextAs(br, s, null, { locale: 'en-GB' })).newPage();
  await p.goto(s.counter + '/');
  await p.waitForSelector('html[lang=en]');
  assert.match(await p.locator('h1').innerText(), /Certificate collection counter/);
  await browser.check(p, 'en-counter-home');
  await p.goto(s.counter + '/retrait/guide/windows');
  assert.match(await p.locator('h2').first().innerText(), /Install the certificate on Windows/);
  await browser.check(p, 'en-counter-guide');
  await p.goto(s.portal + '/');
  assert.match(await p.locator('h1').innerText(), /No certificate presented/);
  await browser.check(p, 'en-refusal');
  // The switch says where it leads, in the other language.
  assert.equal(await p.locator('a.lang-switch').getAttribute('lang'), 'fr');
});
