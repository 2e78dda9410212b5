// The isolation iframe's start-up, emulated in document order with Tauri's
// own iframe script (read from the cargo registry, the version Cargo.lock
// names): Tauri's listener is live as soon as its script has run, and
// WebKitGTK reads a custom-scheme page in 8 KiB chunks, so a message posted
// by the page can arrive before hook.js has run. Unless gate.js holds it, it
// is encrypted unchecked, and a script in the page gets an encryption
// oracle (any command, any binding). The test posts a forged call in that
// gap, with and without gate.js.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import vm from 'node:vm';

const root = new URL('..', import.meta.url).pathname;
const lock = readFileSync(join(root, 'Cargo.lock'), 'utf8');
const version = (name) => lock.match(new RegExp(`name = "${name}"\\nversion = "([^"]+)"`))[1];
const registry = join(process.env.CARGO_HOME ?? join(process.env.HOME, '.cargo'), 'registry', 'src');
function crateFile(crate, file) {
  for (const index of existsSync(registry) ? readdirSync(registry) : []) {
    const p = join(registry, index, `${crate}-${version(crate)}`, file);
    if (existsSync(p)) return readFileSync(p, 'utf8');
  }
  throw new Error(`${crate} ${version(crate)} is not in ${registry}: build the app first`);
}

const dir = join(root, 'dist-isolation');
const read = (f) => readFileSync(join(dir, f), 'utf8');

async function startUp({ withGate }) {
  const key = Array.from(crypto.getRandomValues(new Uint8Array(32)));
  const tauri = crateFile('tauri-utils', 'src/pattern/isolation.js')
    .replace('__TEMPLATE_origin__', JSON.stringify('tauri://localhost'))
    .replace('__TEMPLATE_runtime_aes_gcm_key__', JSON.stringify(key))
    .replace('__RAW_process_ipc_message_fn__', crateFile('tauri', 'scripts/process-ipc-message-fn.js'));
  const listeners = [];
  const posted = [];
  const ctx = vm.createContext({ crypto: globalThis.crypto, TextEncoder, setTimeout, console, document: { currentScript: null } });
  vm.runInContext('var window = this;', ctx);
  ctx.window.addEventListener = (type, f) => { if (type === 'message') listeners.push(f); };
  ctx.window.parent = { postMessage: (m) => posted.push(m) };
  vm.runInContext(tauri, ctx);
  if (withGate) vm.runInContext(read('gate.js'), ctx);
  // The parser waits for the next chunk: the event loop turns, and the page
  // posts a forged call (its own binding included) into the iframe.
  await new Promise((r) => setTimeout(r, 10));
  const forged = vm.runInContext(`({ cmd: 'lock', callback: 1, error: 2, options: undefined,
    payload: { __call: { cmd: 'lock', session: '${'a'.repeat(32)}', seq: 1 } } })`, ctx);
  const delivered = Promise.all(listeners.map((f) => f({ origin: 'tauri://localhost', data: forged })));
  await new Promise((r) => setTimeout(r, 10));
  vm.runInContext(read('policy.js'), ctx);
  if (!withGate) vm.runInContext(read('gate.js'), ctx);
  vm.runInContext(read('hook.js'), ctx);
  await delivered;
  const k = await crypto.subtle.importKey('raw', new Uint8Array(key), 'AES-GCM', false, ['decrypt']);
  return Promise.all(posted.map(async (m) => ({
    cmd: m.cmd,
    payload: JSON.parse(new TextDecoder().decode(await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: new Uint8Array(m.payload.nonce) }, k, new Uint8Array(m.payload.payload)))),
  })));
}

test('without the gate, a call posted while the iframe loads is encrypted unchecked', { timeout: 10_000 }, async () => {
  const out = await startUp({ withGate: false });
  assert.equal(out.length, 1);
  assert.equal(out[0].cmd, 'lock', 'the emulation reproduces the gap');
});

test('with the gate, that call waits for the hook and is refused', { timeout: 10_000 }, async () => {
  const out = await startUp({ withGate: true });
  assert.equal(out.length, 1);
  assert.equal(out[0].cmd, 'report_blocked', JSON.stringify(out[0]));
  assert.equal(out[0].payload.reason, 'extra_argument');
  assert.equal(out[0].payload.__call.cmd, 'report_blocked');
});

test('the gate is the first script of the page and lands in the same 8 KiB read as Tauri\'s', () => {
  const html = read('index.html');
  const scripts = [...html.matchAll(/<script src="([^"]+)"/g)].map((m) => m[1]);
  assert.deepEqual(scripts, ['gate.js', 'policy.js', 'hook.js']);
  assert.ok(html.indexOf('gate.js') < html.indexOf('</head>'), 'gate.js is in <head>');
  // Tauri prepends its script to <head>; what comes before the gate's end
  // (our markup, Tauri's script with its key, the gate) must fit in WebKit's
  // first 8192-byte read, so no event runs between the two scripts.
  const tauriLen = crateFile('tauri-utils', 'src/pattern/isolation.js').length
    + crateFile('tauri', 'scripts/process-ipc-message-fn.js').length + 32 * 4 + 64;
  const before = html.slice(0, html.indexOf('<script src="gate.js"></script>')).length;
  const total = before + tauriLen + read('gate.js').length + 64;
  assert.ok(total < 8192, `${total} bytes before the gate has run`);
});
