// The first script of the isolation app, right after Tauri's own: Tauri's
// listener may encrypt messages as soon as it runs, and hook.js arrives later
// in the page. Until hook.js is ready, every message waits here for it; none
// is ever encrypted unchecked.
'use strict';
(function () {
  var real = null, ready;
  var waiting = new Promise(function (r) { ready = r; });
  Object.defineProperty(window, '__TAURI_ISOLATION_HOOK__', {
    value: function (msg) { return real ? real(msg) : waiting.then(function (h) { return h(msg); }); },
    writable: false, configurable: false,
  });
  Object.defineProperty(window, '__COFFER_HOOK_READY__', {
    value: function (h) { if (real === null) { real = h; ready(h); } },
    writable: false, configurable: false,
  });
})();
