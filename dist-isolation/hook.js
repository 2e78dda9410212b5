// Coffer's isolation hook: the first of three gates (hook, ACL, Rust).
//
// Tauri runs this file in a sandboxed iframe on its own origin, which the UI
// cannot script. Every IPC message from the UI arrives here as one object
// {cmd, callback, error, payload, options}; whatever this hook returns is what
// Tauri encrypts (the payload only, AES-GCM) and sends to Rust.
//
// The rule: a call passes only if policy.js (rendered from policy/ipc.json)
// lists its command and its payload has exactly the listed arguments, each of
// the listed type, length and form. Anything else is rewritten into the one
// command `report_blocked`, which Rust records for the auditor and always
// rejects, so the UI's promise settles with a clear error instead of hanging
// (returning null or throwing here would leave it pending forever).
//
// Plain JS, no dependency, no bundler. Nothing here trusts the UI.
'use strict';
(function () {
  var policy = COFFER_POLICY;
  var hasOwn = Object.prototype.hasOwnProperty;
  var REPORT = 'report_blocked';
  var MAX_NAME_BYTES = 64;

  // Nothing in this realm may be changed after this point.
  function deepFreeze(o) {
    if (o !== null && typeof o === 'object' && !Object.isFrozen(o)) {
      Object.freeze(o);
      Object.keys(o).forEach(function (k) { deepFreeze(o[k]); });
    }
    return o;
  }
  deepFreeze(policy);
  [Object, Array, Function, String, Number, Boolean, RegExp, Promise, Map, Set]
    .forEach(function (C) { Object.freeze(C.prototype); Object.freeze(C); });

  var channelRe = new RegExp(policy.channelPattern, 'u');
  var loneSurrogate = /\p{Surrogate}/u;
  var patterns = Object.create(null);
  function pattern(p) {
    if (!hasOwn.call(patterns, p)) patterns[p] = new RegExp(p, 'u');
    return patterns[p];
  }

  // Length in UTF-8 bytes, as Rust measures it.
  function utf8Bytes(s) {
    var n = 0;
    for (var i = 0; i < s.length; i++) {
      var c = s.codePointAt(i);
      if (c > 0xffff) i++;
      n += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
    }
    return n;
  }

  function isPlainObject(v) {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
    var proto = Object.getPrototypeOf(v);
    return proto === Object.prototype || proto === null;
  }

  function accepts(rule, v) {
    switch (rule.type) {
      case 'string':
        if (typeof v !== 'string' || loneSurrogate.test(v) || v.indexOf('\0') !== -1) return false;
        var n = utf8Bytes(v);
        if (n < (rule.minBytes || 0) || n > (rule.maxBytes === undefined ? 1024 : rule.maxBytes)) return false;
        return rule.pattern === undefined || pattern(rule.pattern).test(v);
      case 'integer':
        return typeof v === 'number' && Number.isInteger(v) && v >= rule.min && v <= rule.max;
      case 'array':
        if (!Array.isArray(v) || v.length > rule.maxItems) return false;
        for (var i = 0; i < v.length; i++) if (!accepts(rule.items, v[i])) return false;
        return true;
      case 'channel':
        return typeof v === 'string' && channelRe.test(v) && isId(Number(v.slice(v.indexOf(':') + 1)));
      default:
        return false;
    }
  }

  // Callback and channel ids are 32-bit in Tauri (Rust reads them as u32).
  var MAX_ID = 4294967295;
  function isId(v) {
    return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= MAX_ID;
  }

  // Returns a refusal reason, or null when the call matches the policy.
  function refusal(msg) {
    if (!isPlainObject(msg) || typeof msg.cmd !== 'string') return 'bad_message';
    if (!isId(msg.callback) || !isId(msg.error)) return 'bad_message';
    if (!hasOwn.call(policy.commands, msg.cmd)) return 'unknown_command';
    var rule = policy.commands[msg.cmd];
    if (rule.hookOnly) return 'hook_only';
    if (msg.options !== undefined && msg.options !== null) return 'bad_options';
    var p = msg.payload;
    if (!isPlainObject(p)) return 'bad_message';
    var keys = Object.keys(p);
    for (var i = 0; i < keys.length; i++) if (!hasOwn.call(rule.args, keys[i])) return 'extra_argument';
    var names = Object.keys(rule.args);
    for (var j = 0; j < names.length; j++) {
      if (!hasOwn.call(p, names[j])) return 'missing_argument';
      if (!accepts(rule.args[names[j]], p[names[j]])) return 'bad_argument';
    }
    return null;
  }

  // The refused command's name as Rust will accept it in a report: at most 64
  // bytes of [A-Za-z0-9_:|.-], anything else replaced.
  function reportName(cmd) {
    if (typeof cmd !== 'string') return '';
    var out = cmd.replace(/[^A-Za-z0-9_:|.-]/g, '_');
    return out.length > MAX_NAME_BYTES ? out.slice(0, MAX_NAME_BYTES) : out;
  }

  function id(v) {
    return isId(v) ? v : 0;
  }

  // Every call this hook passes is bound, inside the encrypted payload, to
  // its command, this page's session (new at every load) and its turn. Rust
  // admits each binding once and never a replaced session, so a ciphertext
  // replayed under the same or another command, an empty body (which Tauri
  // never decrypts) or a hand-made message is refused.
  var BINDING = '__call';
  var session = (function () {
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    var h = '';
    for (var i = 0; i < b.length; i++) h += (b[i] < 16 ? '0' : '') + b[i].toString(16);
    return h;
  })();
  var turn = 0;
  function bind(cmd, payload) {
    turn += 1;
    payload[BINDING] = { cmd: cmd, session: session, seq: turn };
    return payload;
  }

  function hook(msg) {
    var why;
    try {
      why = refusal(msg);
    } catch (e) {
      why = 'bad_message';
    }
    var cmd = msg !== null && typeof msg === 'object' ? msg.cmd : undefined;
    var callback = msg !== null && typeof msg === 'object' ? id(msg.callback) : 0;
    var error = msg !== null && typeof msg === 'object' ? id(msg.error) : 0;
    if (why === null) {
      // A fresh message holding only what the policy lists.
      var payload = {};
      Object.keys(policy.commands[cmd].args).forEach(function (k) { payload[k] = msg.payload[k]; });
      return { cmd: cmd, callback: callback, error: error, payload: bind(cmd, payload), options: undefined };
    }
    return {
      cmd: REPORT,
      callback: callback,
      error: error,
      payload: bind(REPORT, { command: reportName(cmd), reason: why }),
      options: undefined,
    };
  }

  // gate.js defined __TAURI_ISOLATION_HOOK__ and holds messages until now.
  window.__COFFER_HOOK_READY__(hook);
})();
