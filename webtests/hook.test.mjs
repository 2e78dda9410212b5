// The isolation hook on its own, under Node's test runner (`node --test`):
// every call the policy allows passes unchanged, and a catalogue of hostile
// calls is rewritten into `report_blocked` with the right reason. The hook
// runs in a fresh V8 context, as in its iframe: only JS built-ins, no DOM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import vm from 'node:vm';

const here = new URL('../dist-isolation/', import.meta.url);
const policyJson = JSON.parse(readFileSync(new URL('../policy/ipc.json', import.meta.url), 'utf8'));

function loadHook() {
  // The iframe has Web Crypto; so does the context (for the session id).
  const ctx = vm.createContext({ crypto: globalThis.crypto });
  vm.runInContext('var window = this;', ctx);
  vm.runInContext(readFileSync(new URL('gate.js', here), 'utf8'), ctx, { filename: 'gate.js' });
  vm.runInContext(readFileSync(new URL('policy.js', here), 'utf8'), ctx, { filename: 'policy.js' });
  vm.runInContext(readFileSync(new URL('hook.js', here), 'utf8'), ctx, { filename: 'hook.js' });
  // Messages are built inside the context, as structured clone builds them in the iframe.
  const make = (src) => vm.runInContext(`(${src})`, ctx);
  const hook = (msgSrc) => {
    const out = vm.runInContext('window.__TAURI_ISOLATION_HOOK__', ctx)(make(msgSrc));
    return JSON.parse(JSON.stringify(out ?? null));
  };
  return { ctx, hook, make };
}

const { ctx, hook } = loadHook();
const ID = '0123456789abcdef0123456789abcdef';
// A recovery key as the app shows it (14 groups of 4), and an age public key.
const RK = 'ABCD-EFGH-JKMN-PQRS-TVWX-YZ01-2345-6789-ABCD-EFGH-JKMN-PQRS-TVWX-YZ01';
const AGE = 'age1esfezslzuh0dafnv2frgrv7utq3mz6wy8q23mevyn80jcahplfdqk8ylcl';
const RK_PATTERN = policyJson.commands.find((c) => c.name === 'recover').args.key.pattern;
const AGE_PATTERN = policyJson.commands.find((c) => c.name === 'share_document').args.recipients.items.pattern;

// One valid value per argument rule, derived from the policy itself.
function validValue(rule) {
  switch (rule.type) {
    case 'string':
      if (rule.pattern === '^[0-9a-f]{32}$') return ID;
      if (rule.pattern === RK_PATTERN) return RK;
      if (rule.pattern === AGE_PATTERN) return AGE;
      if (rule.pattern && rule.pattern.startsWith('^(')) return rule.pattern.slice(2).split(/[|)]/)[0];
      return 'x'.repeat(Math.max(rule.minBytes ?? 0, 1));
    case 'integer': return rule.min;
    case 'array': return [validValue(rule.items)];
    case 'channel': return '__CHANNEL__:42';
    default: throw new Error(`unknown rule ${rule.type}`);
  }
}
function validPayload(c) {
  return Object.fromEntries(Object.entries(c.args).map(([k, r]) => [k, validValue(r)]));
}
function msg(cmd, payload, extra = '') {
  return `{cmd: ${JSON.stringify(cmd)}, callback: 11, error: 12, payload: ${typeof payload === 'string' ? payload : JSON.stringify(payload)}, options: undefined ${extra}}`;
}
function assertBlocked(out, reason, command) {
  assert.equal(out.cmd, 'report_blocked', JSON.stringify(out));
  assert.equal(out.payload.reason, reason);
  if (command !== undefined) assert.equal(out.payload.command, command);
  assert.equal(out.callback, 11);
  assert.equal(out.error, 12);
  // The report itself satisfies the policy Rust checks.
  const rule = policyJson.commands.find((c) => c.name === 'report_blocked');
  assert.match(out.payload.command, new RegExp(rule.args.command.pattern));
  assert.ok(Buffer.byteLength(out.payload.command) <= rule.args.command.maxBytes);
  assert.match(out.payload.reason, new RegExp(rule.args.reason.pattern));
}

test('every command the policy allows passes with exactly its arguments, bound to itself and its turn', () => {
  const allowed = policyJson.commands.filter((c) => !c.hookOnly);
  assert.ok(allowed.length >= 10);
  let session, last = 0;
  for (const c of allowed) {
    const payload = validPayload(c);
    const out = hook(msg(c.name, payload));
    const { __call: call, ...args } = out.payload;
    assert.deepEqual({ ...out, payload: args }, { cmd: c.name, callback: 11, error: 12, payload }, c.name);
    // The binding Rust checks: this command, one session per load, a turn
    // that only grows.
    assert.equal(call.cmd, c.name);
    assert.match(call.session, /^[0-9a-f]{32}$/);
    session ??= call.session;
    assert.equal(call.session, session);
    assert.ok(call.seq > last, `${call.seq} after ${last}`);
    last = call.seq;
    assert.deepEqual(Object.keys(call).sort(), ['cmd', 'seq', 'session']);
  }
  // Refusals are bound too (to report_blocked), and a new load is a new session.
  const blocked = hook(msg('plugin:fs|read_file', {}));
  assert.equal(blocked.payload.__call.cmd, 'report_blocked');
  assert.ok(blocked.payload.__call.seq > last);
  assert.notEqual(loadHook().hook(msg('lock', {})).payload.__call.session, session);
});

test('a payload that tries to carry its own binding is blocked', () => {
  const out = hook(msg('lock', { __call: { cmd: 'lock', session: '0'.repeat(32), seq: 1 } }));
  assertBlocked(out, 'extra_argument');
});

test('boundary values pass: longest name, most tags, largest integer, multibyte text', () => {
  const name = 'é'.repeat(127) + 'a'; // 255 bytes
  assert.equal(hook(msg('rename_document', { id: ID, name })).cmd, 'rename_document');
  const tags = Array.from({ length: 32 }, (_, i) => `t${i}`);
  assert.equal(hook(msg('set_tags', { id: ID, tags })).cmd, 'set_tags');
  assert.equal(hook(msg('set_tags', { id: ID, tags: [] })).cmd, 'set_tags');
  assert.equal(hook(msg('set_auto_lock', { minutes: 1440, passphrase: '' })).cmd, 'set_auto_lock');
  assert.equal(hook(msg('list_documents', { query: '', sort: 'name', order: 'asc', offset: 0, limit: 500 })).cmd, 'list_documents');
  assert.equal(hook(msg('unlock', { passphrase: '🔑'.repeat(256) })).cmd, 'unlock');
});

test('unknown commands and every plugin command are blocked', () => {
  for (const cmd of [
    'plugin:fs|read_file', 'plugin:fs|write_file', 'plugin:fs|read_dir', 'plugin:fs|remove',
    'plugin:dialog|open', 'plugin:dialog|save', 'plugin:event|listen', 'plugin:event|emit',
    'plugin:window|close', 'plugin:webview|create_webview', 'plugin:path|resolve_directory',
    'plugin:__TAURI_CHANNEL__|fetch', 'plugin:shell|execute', 'plugin:opener|open_url',
    'export_to_path', 'add_path', 'read_document', 'eval', '', 'UNLOCK', 'unlock ',
    '__proto__', 'constructor', 'hasOwnProperty', 'toString', 'x'.repeat(5000),
  ]) {
    const out = hook(msg(cmd, {}));
    assertBlocked(out, 'unknown_command');
  }
});

test('the reported name is cut and cleaned, never a new hole', () => {
  const out = hook(msg('plugin:fs|read_file\n<script>../../etc/passwd', {}));
  assertBlocked(out, 'unknown_command', 'plugin:fs|read_file__script_.._.._etc_passwd');
  assert.equal(hook(msg('y'.repeat(300), {})).payload.command.length, 64);
});

test('the report command itself cannot be sent by the UI', () => {
  assertBlocked(hook(msg('report_blocked', { command: 'x', reason: 'unknown_command' })), 'hook_only');
});

test('missing, extra and ill-typed arguments are blocked', () => {
  const cases = [
    ['rename_document', { id: ID }, 'missing_argument'],
    ['rename_document', { name: 'a' }, 'missing_argument'],
    ['unlock', {}, 'missing_argument'],
    ['rename_document', { id: ID, name: 'a', path: '/etc/passwd' }, 'extra_argument'],
    ['lock', { force: true }, 'extra_argument'],
    ['import_files', { progress: '__CHANNEL__:1', paths: ['/etc/shadow'] }, 'extra_argument'],
    ['export_document', { id: ID, path: '/tmp/out' }, 'extra_argument'],
    ['rename_document', { id: ID, name: 5 }, 'bad_argument'],
    ['rename_document', { id: ID, name: '' }, 'bad_argument'],
    ['rename_document', { id: ID, name: 'a'.repeat(256) }, 'bad_argument'],
    ['rename_document', { id: ID, name: 'é'.repeat(128) }, 'bad_argument'],
    ['rename_document', { id: ID, name: 'a\u0000b' }, 'bad_argument'],
    ['rename_document', { id: ID.toUpperCase(), name: 'a' }, 'bad_argument'],
    ['rename_document', { id: ID + '0', name: 'a' }, 'bad_argument'],
    ['rename_document', { id: `${ID}\n`, name: 'a' }, 'bad_argument'],
    ['rename_document', { id: [ID], name: 'a' }, 'bad_argument'],
    ['rename_document', { id: { toString: ID }, name: 'a' }, 'bad_argument'],
    ['rename_document', { id: null, name: 'a' }, 'bad_argument'],
    ['export_document', { id: '../../../etc/passwd' }, 'bad_argument'],
    ['delete_document', { id: '*' }, 'bad_argument'],
    ['set_tags', { id: ID, tags: 'a,b' }, 'bad_argument'],
    ['set_tags', { id: ID, tags: [''] }, 'bad_argument'],
    ['set_tags', { id: ID, tags: [1] }, 'bad_argument'],
    ['set_tags', { id: ID, tags: ['x'.repeat(65)] }, 'bad_argument'],
    ['set_tags', { id: ID, tags: Array.from({ length: 33 }, (_, i) => `t${i}`) }, 'bad_argument'],
    ['set_auto_lock', { minutes: 0, passphrase: '' }, 'bad_argument'],
    ['set_auto_lock', { minutes: 1441, passphrase: '' }, 'bad_argument'],
    ['set_auto_lock', { minutes: 2.5, passphrase: '' }, 'bad_argument'],
    ['set_auto_lock', { minutes: '5', passphrase: '' }, 'bad_argument'],
    ['set_auto_lock', { minutes: 1e300, passphrase: '' }, 'bad_argument'],
    ['create_vault', { passphrase: 'short' }, 'bad_argument'],
    ['unlock', { passphrase: 'x'.repeat(1025) }, 'bad_argument'],
    ['unlock', { passphrase: '' }, 'bad_argument'],
    ['import_files', { progress: '/home/user/secret.pdf' }, 'bad_argument'],
    ['import_files', { progress: '__CHANNEL__:1 ' }, 'bad_argument'],
    ['import_files', { progress: 7 }, 'bad_argument'],
    ['list_documents', { query: 'q'.repeat(257), sort: 'name', order: 'asc', offset: 0, limit: 500 }, 'bad_argument'],
    ['list_documents', { query: '', sort: 'name;', order: 'asc', offset: 0, limit: 500 }, 'bad_argument'],
    ['list_documents', { query: '', sort: 'name', order: 'up', offset: 0, limit: 500 }, 'bad_argument'],
    ['list_documents', { query: '', sort: 'name', order: 'asc', offset: -1, limit: 500 }, 'bad_argument'],
    ['list_documents', { query: '', sort: 'name', order: 'asc', offset: 0, limit: 501 }, 'bad_argument'],
    ['list_documents', { query: '', sort: 'name', order: 'asc', offset: 0, limit: 0 }, 'bad_argument'],
  ];
  for (const [cmd, payload, reason] of cases) {
    assertBlocked(hook(msg(cmd, payload)), reason, cmd);
  }
  // A lone surrogate cannot be encoded for Rust.
  assertBlocked(hook(msg('rename_document', `{id: ${JSON.stringify(ID)}, name: 'a\\uD800b'}`)), 'bad_argument');
  // NaN and Infinity do not survive JSON.
  assertBlocked(hook(msg('set_auto_lock', '{minutes: NaN, passphrase: ""}')), 'bad_argument');
  assertBlocked(hook(msg('set_auto_lock', '{minutes: Infinity, passphrase: ""}')), 'bad_argument');
});

test('malformed messages and options are blocked, and still settle', () => {
  assertBlocked(hook(msg('lock', '[]')), 'bad_message', 'lock');
  assertBlocked(hook(msg('lock', 'null')), 'bad_message');
  assertBlocked(hook(msg('lock', '"x"')), 'bad_message');
  assertBlocked(hook(msg('lock', 'new Uint8Array([1,2,3])')), 'bad_message');
  assertBlocked(hook(msg('lock', 'new Map()')), 'bad_message');
  assertBlocked(hook(msg('lock', '{}').replace('options: undefined', "options: {headers: {'Tauri-Channel-Id': '1'}}")), 'bad_options');
  assertBlocked(hook(msg('lock', '{}').replace('options: undefined', 'options: {}')), 'bad_options');
  const noCmd = hook('{callback: 11, error: 12, payload: {}}');
  assertBlocked(noCmd, 'bad_message', '');
  const numCmd = hook('{cmd: 5, callback: 11, error: 12, payload: {}}');
  assertBlocked(numCmd, 'bad_message', '');
  // Even a message that is not an object gets an answer Tauri can send.
  const weird = hook('null');
  assert.equal(weird.cmd, 'report_blocked');
  assert.equal(weird.payload.reason, 'bad_message');
});

test('prototype pollution and getters do not change the verdict', () => {
  // A payload inheriting an argument is missing it.
  assertBlocked(hook(msg('rename_document', `Object.assign(Object.create({id: ${JSON.stringify(ID)}}), {name: 'a'})`)), 'bad_message');
  // The realm's prototypes are frozen after the hook loads.
  assert.throws(() => vm.runInContext("'use strict'; Object.prototype.polluted = 1", ctx));
  assert.throws(() => vm.runInContext("'use strict'; window.__TAURI_ISOLATION_HOOK__ = () => ({})", ctx));
  assert.throws(() => vm.runInContext("'use strict'; COFFER_POLICY.commands.plugin = {args: {}}", ctx));
  assert.throws(() => vm.runInContext("'use strict'; COFFER_POLICY.commands.unlock.args.passphrase.maxBytes = 1e9", ctx));
});

test('an allowed call is rebuilt: nothing but its listed arguments goes on', () => {
  const out = hook(msg('lock', '{}'));
  assert.deepEqual(Object.keys(out).sort(), ['callback', 'cmd', 'error', 'payload']);
  // Callback ids that are not numbers are replaced, never passed through.
  const o2 = hook('{cmd: "lock", callback: "x", error: {}, payload: {}}');
  assert.equal(o2.callback, 0);
  assert.equal(o2.error, 0);
  assert.equal(o2.cmd, 'report_blocked');
  assert.equal(o2.payload.reason, 'bad_message');
});

test('callback and channel ids outside 32 bits are blocked', () => {
  for (const [cb, er] of [[4294967296, 12], [11, 2 ** 53], [-1, 12], [11, 1.5]]) {
    const out = hook(`{cmd: "lock", callback: ${cb}, error: ${er}, payload: {}}`);
    assert.equal(out.cmd, 'report_blocked');
    assert.equal(out.payload.reason, 'bad_message');
    assert.ok(out.callback <= 4294967295 && out.error <= 4294967295);
  }
  assert.equal(hook('{cmd: "lock", callback: 4294967295, error: 0, payload: {}}').cmd, 'lock');
  assert.equal(hook(msg('import_files', { progress: '__CHANNEL__:4294967295' })).cmd, 'import_files');
  for (const ch of ['__CHANNEL__:4294967296', '__CHANNEL__:9999999999']) {
    assertBlocked(hook(msg('import_files', { progress: ch })), 'bad_argument');
  }
});

test('recovery: the key passes in groups, with dashes or spaces or none, in any case; nothing else does', () => {
  const ok = (key, newKey = 'no') => hook(msg('recover', { key, passphrase: 'a new passphrase', newKey }));
  const bare = RK.replaceAll('-', '');
  for (const key of [RK, RK.toLowerCase(), RK.replaceAll('-', ' '), bare, bare.toLowerCase(), RK.replaceAll('-', ' - '),
    ` ${RK} `, bare.split('').join(' '), RK.replaceAll('0', 'O').replaceAll('1', 'l')]) {
    const out = ok(key);
    assert.equal(out.cmd, 'recover', key);
    assert.equal(out.payload.key, key);
  }
  assert.equal(ok(RK, 'yes').cmd, 'recover');
  const cases = [
    [{ key: RK }, 'missing_argument'],
    [{ key: RK, passphrase: 'a new passphrase' }, 'missing_argument'],
    [{ key: RK, passphrase: 'a new passphrase', newKey: 'no', dir: '/tmp' }, 'extra_argument'],
    [{ key: RK.slice(0, -1), passphrase: 'a new passphrase', newKey: 'no' }, 'bad_argument'], // 55 symbols
    [{ key: `${RK}A`, passphrase: 'a new passphrase', newKey: 'no' }, 'bad_argument'], // 57
    [{ key: `U${RK.slice(1)}`, passphrase: 'a new passphrase', newKey: 'no' }, 'bad_argument'], // no U in Crockford
    [{ key: RK.replace('-', '\n'), passphrase: 'a new passphrase', newKey: 'no' }, 'bad_argument'],
    [{ key: RK.replace('-', '\t'), passphrase: 'a new passphrase', newKey: 'no' }, 'bad_argument'],
    [{ key: RK.replace('-', '_'), passphrase: 'a new passphrase', newKey: 'no' }, 'bad_argument'],
    [{ key: RK.replace('A', 'Ä'), passphrase: 'a new passphrase', newKey: 'no' }, 'bad_argument'],
    [{ key: RK + ' '.repeat(200), passphrase: 'a new passphrase', newKey: 'no' }, 'bad_argument'], // > 256 bytes
    [{ key: [RK], passphrase: 'a new passphrase', newKey: 'no' }, 'bad_argument'],
    [{ key: RK, passphrase: 'short', newKey: 'no' }, 'bad_argument'],
    [{ key: RK, passphrase: 'x'.repeat(1025), newKey: 'no' }, 'bad_argument'],
    [{ key: RK, passphrase: 'a new passphrase', newKey: true }, 'bad_argument'],
    [{ key: RK, passphrase: 'a new passphrase', newKey: 'true' }, 'bad_argument'],
    [{ key: RK, passphrase: 'a new passphrase', newKey: 'yes ' }, 'bad_argument'],
  ];
  for (const [payload, reason] of cases) assertBlocked(hook(msg('recover', payload)), reason, 'recover');
  // Replacing the key takes the passphrase and nothing else.
  assert.equal(hook(msg('replace_recovery_key', { passphrase: 'p' })).cmd, 'replace_recovery_key');
  assertBlocked(hook(msg('replace_recovery_key', { passphrase: '' })), 'bad_argument');
  assertBlocked(hook(msg('replace_recovery_key', {})), 'missing_argument');
  assertBlocked(hook(msg('replace_recovery_key', { passphrase: 'p', key: RK })), 'extra_argument');
});

test('share: 1 to 20 age public keys of the exact shape, and never a path', () => {
  const share = (recipients, extra = {}) => hook(msg('share_document', { id: ID, recipients, ...extra }));
  assert.equal(share([AGE]).cmd, 'share_document');
  // Twenty distinct-looking keys of the right shape pass (Rust checks each in full).
  const twenty = Array.from({ length: 20 }, (_, i) => AGE.slice(0, 10) + 'qpzry9x8gf2tvdw0s3jn54khce6mua7l'[i] + AGE.slice(11));
  assert.equal(share(twenty).cmd, 'share_document');
  // The empty list has the shape; Rust refuses it (no_recipients).
  assert.equal(share([]).cmd, 'share_document');
  const padding = AGE.slice(0, 55) + 'p' + AGE.slice(56); // the 52nd symbol must be q or s
  for (const [recipients, why] of [
    [[...twenty, AGE], 'more than 20'],
    [[AGE.toUpperCase()], 'uppercase'],
    [[`${AGE} `], 'trailing space'],
    [[`${AGE}\n`], 'line break'],
    [[`${AGE},${AGE}`], 'two in one'],
    [[AGE.slice(0, -1)], 'too short'],
    [[`${AGE}q`], 'too long'],
    [[AGE.replace('age1', 'age2')], 'wrong prefix'],
    [[AGE.slice(0, 20) + 'b' + AGE.slice(21)], 'b is not Bech32'],
    [[AGE.slice(0, 20) + '1' + AGE.slice(21)], 'a plugin separator'],
    [[padding], 'non-zero padding bits'],
    [['AGE-SECRET-KEY-1GQ9778VQXMMJVE8SK7J6VT8UJ4HDQAJUVSFCWCM02D8GEWQ72PVQ2Y5J33'], 'a secret key'],
    [['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHsKLqeplhpW+uObz5dvMgjz1OxfM/XXUB+VHtZ6isGN'], 'an SSH key'],
    [['age1yubikey1qwt50d05nh5vutpdzmlg5wn80xq5negm4uj9ghv0snvdd3yysf5yw3rhl3t'], 'a plugin recipient'],
    [AGE, 'not a list'],
    [[[AGE]], 'nested'],
    [[null], 'null'],
    [{ 0: AGE, length: 1 }, 'array-like'],
  ]) {
    assertBlocked(share(recipients), 'bad_argument', 'share_document');
    assert.ok(why);
  }
  assertBlocked(share([AGE], { path: '/tmp/out.age' }), 'extra_argument');
  assertBlocked(share([AGE], { passphrase: 'share passphrase' }), 'extra_argument');
  assertBlocked(hook(msg('share_document', { recipients: [AGE] })), 'missing_argument');
  assertBlocked(hook(msg('share_document', { id: '../../etc/passwd', recipients: [AGE] })), 'bad_argument');
  // The hook's pattern is the core's exact one.
  assert.equal(AGE_PATTERN, '^age1[02-9ac-hj-np-z]{51}[qs][02-9ac-hj-np-z]{6}$');
});
