// Chromium's own certificate stack (shared/research/mtls.md §5.4): a
// PKCS#12 bundle imported with pk12util into a throw-away NSS database
// under a throw-away HOME, and the AutoSelectCertificateForUrls policy so
// headless Chromium presents it without a chooser. The bundle is a
// parameter: a demo identity today, a litigant's collected bundle from the
// retrieval counter tomorrow.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const policyDir = process.env.CHROMIUM_POLICY_DIR || '/etc/chromium/policies/managed';

// unavailable says why this machine cannot run the test, or ''.
function unavailable() {
  for (const tool of ['pk12util', 'certutil']) {
    try { execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }); } catch { return `no ${tool} (apt-get install -y libnss3-tools)`; }
  }
  try {
    fs.mkdirSync(policyDir, { recursive: true });
    fs.accessSync(policyDir, fs.constants.W_OK);
  } catch (e) {
    return `cannot write Chromium policies in ${policyDir} (${e.code}): run as root`;
  }
  return '';
}

// nssHome makes HOME/.pki/nssdb trusting rootCA and holding the bundle.
function nssHome({ bundle, password, rootCA }) {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'sceau-e2e-home-'));
  const db = 'sql:' + path.join(home, '.pki', 'nssdb');
  fs.mkdirSync(path.join(home, '.pki', 'nssdb'), { recursive: true });
  const run = (cmd, args) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  run('certutil', ['-d', db, '-N', '--empty-password']);
  run('certutil', ['-d', db, '-A', '-t', 'C,,', '-n', 'Sceau (e2e) root', '-i', rootCA]);
  run('pk12util', ['-d', db, '-i', bundle, '-W', password, '-K', '']);
  const listed = run('certutil', ['-d', db, '-L']).toString();
  return { home, db, listed };
}

// withPolicy writes the AutoSelectCertificateForUrls policy for origins,
// runs fn, and removes the file whatever happens (also on exit or ^C).
async function withPolicy(origins, fn) {
  const file = path.join(policyDir, `sceau-e2e-${process.pid}.json`);
  const remove = () => { try { fs.unlinkSync(file); } catch { /* already gone */ } };
  const onSignal = (sig) => { remove(); process.kill(process.pid, sig); };
  fs.writeFileSync(file, JSON.stringify({
    AutoSelectCertificateForUrls: origins.map((o) => JSON.stringify({ pattern: o, filter: {} })),
  }, null, 2));
  process.once('exit', remove);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await fn(file);
  } finally {
    remove();
    process.removeListener('exit', remove);
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

// inChromium opens a fresh Chromium whose NSS database trusts the
// server's root and holds only `bundle` (any PKCS#12: a demo identity or a
// collected litigant bundle), with the policy selecting it for the portal,
// and runs fn(page, nssListing). No clientCertificates proxy, no ignored
// certificate errors.
async function inChromium(sceau, { bundle, password }, fn) {
  const browser = require('./browser');
  const { home, listed } = nssHome({ bundle, password, rootCA: sceau.rootCA });
  try {
    return await withPolicy([sceau.portal], async () => {
      const br = await browser.launch({ env: { ...process.env, HOME: home } });
      try {
        const ctx = await br.newContext({ locale: 'fr-FR', bypassCSP: true }); // bypassCSP: axe-core is injected inline
        ctx.setDefaultTimeout(20000);
        ctx.setDefaultNavigationTimeout(30000); // a certificate chooser would hang: fail instead
        return await fn(await ctx.newPage(), listed);
      } finally {
        await br.close();
      }
    });
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
}

module.exports = { unavailable, nssHome, withPolicy, inChromium, policyDir };
