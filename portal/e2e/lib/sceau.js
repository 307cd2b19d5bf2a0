// Starts a throw-away Sceau: `sceau init --data <tmp> --demo`, then
// `sceau serve` on free loopback ports, waits for /readyz and stops it by
// its PID. The binary is $SCEAU_BIN, else bin/sceau (built by `make build`
// when missing).
'use strict';
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const repo = path.resolve(__dirname, '..', '..', '..');

function binary() {
  if (process.env.SCEAU_BIN) return path.resolve(process.env.SCEAU_BIN);
  const bin = path.join(repo, 'bin', 'sceau');
  if (!fs.existsSync(bin)) execFileSync('make', ['build'], { cwd: repo, stdio: 'inherit' });
  return bin;
}

// freePorts holds n loopback ports open at once, then releases them.
async function freePorts(n) {
  const servers = [];
  for (let i = 0; i < n; i++) {
    const s = net.createServer();
    await new Promise((ok, ko) => { s.once('error', ko); s.listen(0, '127.0.0.1', ok); });
    servers.push(s);
  }
  const ports = servers.map((s) => s.address().port);
  await Promise.all(servers.map((s) => new Promise((ok) => s.close(ok))));
  return ports;
}

function get(url) {
  return new Promise((ok, ko) => {
    const req = http.get(url, (res) => { res.resume(); res.on('end', () => ok(res.statusCode)); });
    req.on('error', ko);
    req.setTimeout(2000, () => req.destroy(new Error('timeout')));
  });
}

// identities reads the demo PKCS#12 files and their passwords from
// LISEZ-MOI.txt, keyed by file name without .p12.
function identities(dataDir) {
  const text = fs.readFileSync(path.join(dataDir, 'demo', 'LISEZ-MOI.txt'), 'utf8');
  const out = {};
  for (const m of text.matchAll(/^\s+(\S+)\.p12\s+(\w+)\s+(\S+)\s*$/gm)) {
    out[m[1]] = { name: m[1], role: m[2], password: m[3], p12: path.join(dataDir, 'demo', 'identities', m[1] + '.p12') };
  }
  return out;
}

// demoCase: init with --demo-case (what `make run` does) instead of --demo.
async function start({ env = {}, demoCase = false } = {}) {
  const bin = binary();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sceau-e2e-'));
  const dataDir = path.join(tmp, 'data');
  const initOut = execFileSync(bin, ['init', '--data', dataDir, demoCase ? '--demo-case' : '--demo'], { stdio: ['ignore', 'pipe', 'inherit'] }).toString();
  const [portal, counter, admin] = await freePorts(3);
  const log = fs.openSync(path.join(tmp, 'serve.log'), 'a');
  const child = spawn(bin, ['serve', '--config', path.join(dataDir, 'sceau.toml')], {
    env: {
      ...process.env,
      SCEAU_SERVER_PORTAL_LISTEN: `127.0.0.1:${portal}`,
      SCEAU_SERVER_COUNTER_LISTEN: `127.0.0.1:${counter}`,
      SCEAU_SERVER_ADMIN_LISTEN: `127.0.0.1:${admin}`,
      SCEAU_MAIL_POLL_INTERVAL: '200ms',
      ...env,
    },
    stdio: ['ignore', log, log],
  });
  fs.closeSync(log);
  let exited = null;
  child.on('exit', (code, signal) => { exited = { code, signal }; });
  const s = {
    tmp, dataDir, pid: child.pid, initOut,
    portal: `https://localhost:${portal}`,
    counter: `https://localhost:${counter}`,
    admin: `http://127.0.0.1:${admin}`,
    rootCA: path.join(dataDir, 'ca', 'root.crt'),
    ids: identities(dataDir),
    finalLog: null,
    log() { return this.finalLog ?? fs.readFileSync(path.join(tmp, 'serve.log'), 'utf8'); },
    // stop ends the server by its PID (SIGINT, then SIGKILL after 20 s) and
    // removes its data folder, unless SCEAU_E2E_KEEP is set (to read
    // serve.log and the data after a failure).
    async stop() {
      if (!exited) {
        process.kill(child.pid, 'SIGINT');
        const t0 = Date.now();
        while (!exited && Date.now() - t0 < 20000) await new Promise((r) => setTimeout(r, 100));
        if (!exited) { process.kill(child.pid, 'SIGKILL'); await new Promise((r) => setTimeout(r, 200)); }
      }
      this.finalLog = fs.readFileSync(path.join(tmp, 'serve.log'), 'utf8');
      if (process.env.SCEAU_E2E_KEEP) console.error(`e2e: kept ${tmp} (serve.log, data/)`);
      else fs.rmSync(tmp, { recursive: true, force: true });
      return exited;
    },
  };
  // Never leave the server behind, even when the test process dies.
  process.once('exit', () => { if (!exited) try { process.kill(child.pid, 'SIGKILL'); } catch { /* gone */ } });
  const t0 = Date.now();
  for (;;) {
    if (exited) throw new Error(`sceau serve exited (${JSON.stringify(exited)}):\n${s.log()}`);
    try { if ((await get(s.admin + '/readyz')) === 200) break; } catch { /* not yet */ }
    if (Date.now() - t0 > 60000) { await s.stop(); throw new Error(`sceau serve not ready after 60 s:\n${s.log()}`); }
    await new Promise((r) => setTimeout(r, 200));
  }
  return s;
}

module.exports = { start, identities, repo, freePorts };
