// A vault of many documents in the real app (WebKitGTK under Xvfb): the list
// is virtualized and paged, so unlocking, scrolling to the end and searching
// as you type stay fast at any size. The vault is seeded through the CLI.
//
//   COFFER_SCALE_DOCS   documents (CI: 10000; the README's figures: 100000)
//   COFFER_CLI          the `coffer` binary (default target/release/coffer)
//   COFFER_E2E_APP      the app binary (as for e2e.test.mjs)
//
// It measures and reports; it asserts behaviour (rows found, DOM kept small,
// the end reachable), never a time, so a busy machine cannot make it flaky.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, readdirSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Session, startDriver, sleep } from './webdriver.mjs';

const root = resolve(new URL('..', import.meta.url).pathname);
const app = resolve(process.env.COFFER_E2E_APP ?? join(root, 'target/e2e/coffer-desktop'));
const cli = resolve(process.env.COFFER_CLI ?? join(root, 'target/release/coffer'));
const N = Number(process.env.COFFER_SCALE_DOCS ?? 10_000);
const PASS = 'scale test passphrase one';
const work = mkdtempSync(join(tmpdir(), 'coffer-scale-'));
const vault = join(work, 'vault');
const env = { ...process.env, XDG_STATE_HOME: join(work, 'state'), COFFER_VAULT: vault };
const report = { documents: N };
let s;
let driver;

const name = (i) => `doc-${String(i).padStart(6, '0')}.txt`;

before(async () => {
  // Seed: N small files, added through the CLI in batches.
  const files = join(work, 'files');
  mkdirSync(files);
  for (let i = 0; i < N; i++) writeFileSync(join(files, name(i)), `document ${i}\n`);
  writeFileSync(join(work, 'pass'), `${PASS}\n`);
  const C = (...args) => execFileSync(cli, ['--vault', vault, '--passphrase-file', join(work, 'pass'), ...args], { env, maxBuffer: 1 << 28 });
  C('init', '--kdf-memory-mib', '64', '--kdf-iterations', '1');
  const all = readdirSync(files).sort();
  const t0 = performance.now();
  for (let i = 0; i < all.length; i += 2000) C('add', ...all.slice(i, i + 2000).map((f) => join(files, f)));
  report.seedMs = Math.round(performance.now() - t0);
  rmSync(files, { recursive: true });
  driver = await startDriver({ COFFER_VAULT: vault, XDG_CONFIG_HOME: join(work, 'config'), XDG_STATE_HOME: env.XDG_STATE_HOME },
    { port: Number(process.env.COFFER_SCALE_PORT ?? 4564), nativePort: Number(process.env.COFFER_SCALE_PORT ?? 4564) + 1 });
  s = await Session.start(driver.base, app);
  await s.visible('screen-unlock');
});

after(async () => {
  if (s) await s.quit();
  if (driver) await driver.stop();
  rmSync(work, { recursive: true, force: true });
  console.log('# scale', JSON.stringify(report));
  if (process.env.COFFER_SCALE_REPORT) writeFileSync(process.env.COFFER_SCALE_REPORT, JSON.stringify(report, null, 2));
});

const rows = () => s.exec('return document.querySelectorAll("#docs-body tr").length');

test('unlock shows the first screen of a large vault', async () => {
  await s.type('#unlock-pass', PASS);
  const t = await s.execAsync(`
    const done = arguments[arguments.length - 1];
    const t0 = performance.now();
    document.querySelector('#unlock-form button[type=submit]').click();
    const check = () => {
      const first = document.querySelector('#docs-body tr[data-id] td.name');
      if (first && first.textContent === ${JSON.stringify(name(0))}) done(performance.now() - t0);
      else requestAnimationFrame(check);
    };
    check();
  `);
  report.unlockToFirstRowsMs = Math.round(t);
  assert.equal(await s.exec('return document.getElementById("list-summary").textContent'), `${N} documents`);
  const n = await rows();
  assert.ok(n < 200, `${n} rows in the DOM for ${N} documents`);
});

test('scrolling and the keyboard reach the last document without loading the list into the DOM', async () => {
  const t = await s.execAsync(`
    const done = arguments[arguments.length - 1];
    const wrap = document.getElementById('docs-wrap');
    const t0 = performance.now();
    wrap.scrollTop = wrap.scrollHeight;
    const check = () => {
      const last = document.querySelector('#docs-body tr[data-index="${N - 1}"] td.name');
      if (last) done([performance.now() - t0, last.textContent]);
      else requestAnimationFrame(check);
    };
    check();
  `);
  report.scrollToEndMs = Math.round(t[0]);
  assert.equal(t[1], name(N - 1));
  assert.ok(await rows() < 200);
  // Home and End from the keyboard.
  await s.exec(`const w = document.getElementById('docs-wrap'); w.scrollTop = 0; w.dispatchEvent(new Event('scroll'));`);
  await s.waitFor('return !!document.querySelector("#docs-body tr[data-index=\\"0\\"]")', 'back at the top');
  await s.exec('document.querySelector("#docs-body tr[data-index=\\"0\\"]").focus()');
  const key = (k) => s.cmd('POST', '/actions', { actions: [{ type: 'key', id: 'kb', actions: [{ type: 'keyDown', value: k }, { type: 'keyUp', value: k }] }] });
  await key('\uE010'); // End
  await s.waitFor(`return document.activeElement?.dataset?.index === "${N - 1}"`, 'End focuses the last row');
  await key('\uE011'); // Home
  await s.waitFor('return document.activeElement?.dataset?.index === "0"', 'Home focuses the first row');
  assert.ok(await rows() < 200);
});

test('sorting by size and date, both ways, pages through Rust', async () => {
  await s.exec('document.querySelector("#docs th[data-sort=name] button").click()'); // name, descending
  await s.waitFor(`return document.querySelector('#docs-body tr[data-index="0"] td.name')?.textContent === ${JSON.stringify(name(N - 1))}`, 'name descending');
  await s.exec('document.querySelector("#docs th[data-sort=date] button").click()');
  await s.waitFor('return document.querySelector("#docs th[data-sort=date]").getAttribute("aria-sort") === "ascending"', 'date ascending');
  await s.exec('document.querySelector("#docs th[data-sort=name] button").click()');
  await s.waitFor(`return document.querySelector('#docs-body tr[data-index="0"] td.name')?.textContent === ${JSON.stringify(name(0))}`, 'name ascending');
});

test('search as you type: each keystroke to rendered results', async () => {
  // Queries whose number of matches changes at every step (names are
  // doc-000000 … doc-NNNNNN), typed and erased one key at a time.
  const digits = String(N - 1).length;
  const seq = [];
  for (const stem of ['1', '2', '3', '4', '5']) {
    const full = `doc-${'0'.repeat(6 - digits)}${stem}234`.slice(0, 10);
    for (let k = 8; k <= full.length; k++) seq.push(full.slice(0, k));
    for (let k = full.length - 1; k >= 8; k--) seq.push(full.slice(0, k));
  }
  const expect = (q) => { let n = 0; for (let i = 0; i < N; i++) if (name(i).includes(q)) n++; return n; };
  const steps = seq.map((q) => ({ q, n: expect(q) })).filter((x, i, a) => x.n > 0 && (i === 0 || x.n !== a[i - 1].n));
  const times = await s.execAsync(`
    const done = arguments[arguments.length - 1];
    const steps = ${JSON.stringify(steps)};
    const total = ${N};
    const input = document.getElementById('search');
    const summary = document.getElementById('list-summary');
    const out = [];
    const want = (n) => n === total ? total + ' documents' : n + ' of ' + total + ' documents match';
    (async () => {
      for (const { q, n } of steps) {
        const t0 = performance.now();
        input.value = q;
        input.dispatchEvent(new Event('input'));
        await new Promise((resolve) => {
          const check = () => {
            const first = document.querySelector('#docs-body tr[data-id] td.name');
            if (summary.textContent === want(n) && first && first.textContent.includes(q)) resolve();
            else setTimeout(check, 0);
          };
          check();
        });
        out.push(performance.now() - t0);
        await new Promise((r) => setTimeout(r, 30));
      }
      return out;
    })().then(done, (e) => done({ error: String(e) }));
  `);
  assert.ok(Array.isArray(times), JSON.stringify(times));
  const sorted = [...times].sort((a, b) => a - b);
  const q = (p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
  report.searchKeystrokeMs = { keystrokes: times.length, median: Math.round(q(0.5)), p95: Math.round(q(0.95)), max: Math.round(sorted[sorted.length - 1]) };
  assert.ok(times.length >= 10);
  await sleep(10);
});
