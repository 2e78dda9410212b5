// Coffer's UI. It holds decrypted names only while the vault is unlocked and
// wipes them on lock. It never sees a path it could choose, nor file contents:
// Rust opens the dialogs and reads and writes the files. Every string from the
// vault goes into the page as text (textContent), never as HTML.
import { call, channel, CofferError } from './ipc.js';
import { strength } from './strength.js';

const $ = (id) => document.getElementById(id);
const el = (tag, props = {}, ...children) => {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'class') n.className = v;
    else if (k === 'text') n.textContent = v;
    else if (k.startsWith('on')) n.addEventListener(k.slice(2), v);
    else n.setAttribute(k, v);
  }
  for (const c of children) n.append(c);
  return n;
};

// ----- state (wiped on lock) -------------------------------------------------
let activeTag = null;
let status = null;

function wipe() {
  resetList();
  activeTag = null;
  $('docs-body').replaceChildren();
  $('tag-filter').replaceChildren();
  $('audit-body').replaceChildren();
  $('refused-body').replaceChildren();
  $('refused-counts-body').replaceChildren();
  $('search').value = '';
  $('list-summary').textContent = '';
  for (const id of ['unlock-pass', 'create-pass', 'create-pass2', 'autolock-passphrase', 'passwd-current', 'passwd-new', 'passwd-new2',
    'recover-key', 'recover-pass', 'recover-pass2', 'rk-passphrase', 'share-recipients']) $(id).value = '';
  $('recovery-key').textContent = '';
  closeNewKey();
  if ($('share-dialog').open) $('share-dialog').close();
  $('toasts').replaceChildren();
  if ($('edit-dialog').open) $('edit-dialog').close();
  $('edit-input').value = '';
  hideProgress();
}

// ----- screens, views, messages ---------------------------------------------
function show(screen) {
  for (const s of document.querySelectorAll('.screen')) s.hidden = s.id !== `screen-${screen}`;
  const focus = { create: 'create-pass', unlock: 'unlock-pass', recover: 'recover-key', main: 'search' }[screen];
  if (focus) setTimeout(() => $(focus).focus(), 0);
}

function view(name) {
  for (const v of ['docs', 'trash', 'settings', 'audit']) {
    $(`view-${v}`).hidden = v !== name;
    const tab = $(`tab-${v}`);
    if (v === name) tab.setAttribute('aria-current', 'page'); else tab.removeAttribute('aria-current');
  }
  if (name === 'audit') loadAudit();
  if (name === 'trash') { trashShown = 0; loadTrash(); }
  if (name === 'settings') $('autolock-minutes').value = status?.autoLockMinutes ?? 10;
  if (name === 'docs') refresh();
}

function toast(text, kind = '') {
  const t = el('div', { class: `toast ${kind}`, role: kind === 'error' ? 'alert' : 'status', text });
  $('toasts').append(t);
  setTimeout(() => t.remove(), kind === 'error' ? 8000 : 4000);
}

function explain(e) {
  if (!(e instanceof CofferError)) return 'Something went wrong.';
  if (e.code === 'blocked') return `Blocked by Coffer’s isolation policy: ${e.message}`;
  return e.message.charAt(0).toUpperCase() + e.message.slice(1);
}

function fail(e) {
  if (e instanceof CofferError && e.code === 'cancelled') return;
  if (e instanceof CofferError && e.code === 'locked') { onLocked(); return; }
  toast(explain(e), 'error');
}

const size = (n) => {
  if (n < 1024) return `${n} B`;
  const u = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024, i = 0;
  while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${u[i]}`;
};
const when = (ms) => new Date(ms).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });

// ----- start -------------------------------------------------------------------
async function start() {
  try {
    status = await call('vault_status');
  } catch (e) {
    toast(explain(e), 'error');
    return;
  }
  $('create-dir').textContent = status.vaultDir;
  $('unlock-dir').textContent = status.vaultDir;
  const [events] = channel(onNotice);
  call('subscribe', { events }).catch(fail);
  if (status.unlocked) { show('main'); view('docs'); }
  else show(status.exists ? 'unlock' : 'create');
}

function onNotice(n) {
  if (!n || typeof n !== 'object') return;
  if (n.kind === 'locked') onLocked(n.reason === 'idle' ? 'Locked after inactivity.' : null);
  if (n.kind === 'dropped') importWith('import_dropped');
}

function onLocked(message) {
  wipe();
  if (status) status.unlocked = false;
  show('unlock');
  if (message) toast(message);
}

// ----- create ------------------------------------------------------------------
function meter(input, bar, text, repeat, submit) {
  const update = () => {
    const s = strength(input.value);
    bar.className = s.label ? `s${Math.max(1, s.score)}` : '';
    text.textContent = s.label ? `${s.label}. ${s.hint}` : s.hint;
    submit.disabled = !(s.acceptable && repeat.value === input.value);
  };
  input.addEventListener('input', update);
  repeat.addEventListener('input', update);
  update();
}

meter($('create-pass'), $('create-strength-bar'), $('create-strength-text'), $('create-pass2'), $('create-submit'));
$('create-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  $('create-error').textContent = '';
  $('create-submit').disabled = true;
  $('create-submit').textContent = 'Creating… (deriving keys)';
  try {
    const { recoveryKey } = await call('create_vault', { passphrase: $('create-pass').value });
    $('create-pass').value = '';
    $('create-pass2').value = '';
    $('recovery-key').textContent = recoveryKey;
    $('recovery-saved').checked = false;
    $('recovery-continue').disabled = true;
    status.exists = true;
    status.unlocked = true;
    show('recovery');
  } catch (e) {
    $('create-error').textContent = explain(e);
    $('create-submit').disabled = false;
  } finally {
    $('create-submit').textContent = 'Create vault';
  }
});
$('recovery-saved').addEventListener('change', () => { $('recovery-continue').disabled = !$('recovery-saved').checked; });
$('recovery-continue').addEventListener('click', () => {
  $('recovery-key').textContent = '';
  show('main');
  view('docs');
});

// ----- unlock and lock -----------------------------------------------------------
$('unlock-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  $('unlock-error').textContent = '';
  $('unlock-submit').disabled = true;
  $('unlock-submit').textContent = 'Unlocking…';
  try {
    const r = await call('unlock', { passphrase: $('unlock-pass').value });
    $('unlock-pass').value = '';
    status.unlocked = true;
    show('main');
    view('docs');
    // A vault older than this computer last saw: readable, not changeable.
    if (r && typeof r.warning === 'string') toast(r.warning, 'error');
  } catch (e) {
    if (e instanceof CofferError && e.code === 'already_unlocked') { show('main'); view('docs'); return; }
    $('unlock-error').textContent = explain(e);
    $('unlock-pass').select();
  } finally {
    $('unlock-submit').disabled = false;
    $('unlock-submit').textContent = 'Unlock';
  }
});

// ----- recovery with the recovery key ---------------------------------------------
// A recovery key is 56 symbols of Crockford's base 32 (no U; I, L and O are
// read as 1, 1 and 0), in groups or not: the policy's shape, checked here
// first for a friendly message. Rust checks the shape and the checksum again.
const RECOVERY_KEY = /^[ -]*(?:[0-9A-TV-Za-tv-z][ -]*){56}$/u;

$('unlock-use-key').addEventListener('click', () => {
  $('unlock-pass').value = '';
  $('unlock-error').textContent = '';
  $('recover-error').textContent = '';
  show('recover');
});
$('recover-back').addEventListener('click', () => {
  for (const id of ['recover-key', 'recover-pass', 'recover-pass2']) $(id).value = '';
  $('recover-newkey').checked = false;
  $('recover-pass').dispatchEvent(new Event('input'));
  show('unlock');
});
meter($('recover-pass'), $('recover-strength-bar'), $('recover-strength-text'), $('recover-pass2'), $('recover-submit'));
$('recover-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  $('recover-error').textContent = '';
  const key = $('recover-key').value.trim();
  if (!RECOVERY_KEY.test(key)) {
    $('recover-error').textContent = 'A recovery key is 56 letters and digits (14 groups of 4), separated by dashes or spaces or not at all. The letter U never appears in one.';
    $('recover-key').focus();
    return;
  }
  $('recover-submit').disabled = true;
  $('recover-submit').textContent = 'Checking the key… (deriving keys)';
  try {
    const r = await call('recover', { key, passphrase: $('recover-pass').value, newKey: $('recover-newkey').checked ? 'yes' : 'no' });
    for (const id of ['recover-key', 'recover-pass', 'recover-pass2']) $(id).value = '';
    $('recover-newkey').checked = false;
    status.unlocked = true;
    show('main');
    view('docs');
    toast('Passphrase reset with the recovery key.', 'ok');
    if (r && typeof r.warning === 'string') toast(r.warning, 'error');
    if (r && typeof r.recoveryKey === 'string') showNewKey(r.recoveryKey);
  } catch (e) {
    if (e instanceof CofferError && e.code === 'already_unlocked') { show('main'); view('docs'); return; }
    $('recover-error').textContent = e instanceof CofferError && e.code === 'wrong_secret'
      ? 'This recovery key does not open this vault (it may have been replaced by a newer one).'
      : explain(e);
    $('recover-key').focus();
  } finally {
    $('recover-submit').textContent = 'Reset passphrase and unlock';
    $('recover-pass').dispatchEvent(new Event('input'));
  }
});

// A new recovery key is shown once, in a dialog that cannot be dismissed
// before the user says it is saved; closing it (or locking) wipes it from the
// page. The UI keeps no other copy.
function showNewKey(text) {
  $('key-text').textContent = text;
  $('key-saved').checked = false;
  $('key-done').disabled = true;
  $('key-dialog').showModal();
}
function closeNewKey() {
  $('key-text').textContent = '';
  $('key-saved').checked = false;
  $('key-done').disabled = true;
  if ($('key-dialog').open) $('key-dialog').close();
}
$('key-saved').addEventListener('change', () => { $('key-done').disabled = !$('key-saved').checked; });
$('key-done').addEventListener('click', closeNewKey);
$('key-dialog').addEventListener('cancel', (ev) => { if (!$('key-saved').checked) ev.preventDefault(); });
$('key-dialog').addEventListener('close', () => { $('key-text').textContent = ''; });

async function lockNow() {
  try { await call('lock'); } catch (e) { fail(e); }
  onLocked();
}
$('lock-btn').addEventListener('click', lockNow);
document.addEventListener('keydown', (ev) => {
  if (ev.ctrlKey && (ev.key === 'l' || ev.key === 'L') && !$('screen-main').hidden) { ev.preventDefault(); lockNow(); }
});

// Activity keeps the vault open; Rust's timer locks it otherwise.
let lastPing = 0;
for (const type of ['keydown', 'mousedown', 'mousemove', 'wheel', 'touchstart']) {
  document.addEventListener(type, () => {
    const now = Date.now();
    if (status?.unlocked && now - lastPing > 30_000) {
      lastPing = now;
      call('keep_alive').catch(fail);
    }
  }, { passive: true });
}

// ----- documents -------------------------------------------------------------------
// The list is virtualized: Rust sorts and filters the whole catalog and hands
// out pages of PAGE rows; only the rows in view (and a margin) are in the DOM,
// so a vault of 100,000 documents scrolls and searches like one of ten.
const ROW = 40; // px: every row is one line tall
const PAGE = 200;
const MARGIN = 15; // rows drawn above and below the visible ones
let list;
function resetList() {
  list = { gen: (list?.gen ?? 0) + 1, query: '', sort: 'name', order: 'asc', matched: 0, total: 0, tags: [], pages: new Map(), pending: new Set(), focus: -1 };
  $('docs-body').replaceChildren();
}
resetList();

$('search').addEventListener('input', () => refresh({ top: true }));
$('search').addEventListener('keydown', (ev) => {
  if (ev.key === 'ArrowDown' && list.matched) { ev.preventDefault(); focusRow(0); }
  if (ev.key === 'Escape') { $('search').value = ''; activeTag = null; refresh({ top: true }); }
});
for (const th of document.querySelectorAll('#docs th[data-sort]')) {
  th.querySelector('button').addEventListener('click', () => {
    const key = th.dataset.sort;
    list.order = list.sort === key && list.order === 'asc' ? 'desc' : 'asc';
    list.sort = key;
    refresh({ top: true });
  });
}
$('docs-wrap').addEventListener('scroll', () => requestAnimationFrame(draw), { passive: true });

// Starts the listing again (new query or sort, or after a change): every
// cached page is dropped; `top` scrolls back to the first row.
function refresh({ top = false } = {}) {
  if (!status?.unlocked) return;
  const text = $('search').value.trim();
  list.query = activeTag !== null && text === '' ? `tag:${activeTag}` : text;
  list.gen += 1;
  list.pages = new Map();
  list.pending = new Set();
  if (top) { $('docs-wrap').scrollTop = 0; list.focus = -1; }
  const first = Math.floor($('docs-wrap').scrollTop / ROW / PAGE);
  return loadPage(first, list.gen);
}

async function loadPage(n, gen) {
  if (list.pages.has(n) || list.pending.has(n)) return;
  list.pending.add(n);
  try {
    const r = await call('list_documents', { query: list.query, sort: list.sort, order: list.order, offset: n * PAGE, limit: PAGE });
    if (gen !== list.gen) return; // a newer query or sort answered first
    list.pages.set(n, r.documents);
    Object.assign(list, { matched: r.matched, total: r.total, tags: r.tags });
    summarize();
    draw();
  } catch (e) { if (gen === list.gen) fail(e); }
  finally { if (gen === list.gen) list.pending.delete(n); }
}

function docAt(i) {
  return list.pages.get(Math.floor(i / PAGE))?.[i % PAGE];
}

function draw() {
  const wrap = $('docs-wrap');
  const height = wrap.clientHeight || 600;
  const first = Math.max(0, Math.floor(wrap.scrollTop / ROW) - MARGIN);
  const last = Math.min(list.matched, Math.ceil((wrap.scrollTop + height) / ROW) + MARGIN);
  for (let p = Math.floor(first / PAGE); last > first && p <= Math.floor((last - 1) / PAGE); p++) loadPage(p, list.gen);
  const rows = [];
  for (let i = first; i < last; i++) {
    const d = docAt(i);
    rows.push(d ? row(d, i) : el('tr', { class: 'loading', 'aria-hidden': 'true' }, el('td', { colspan: '5', text: '…' })));
  }
  const spacer = (h) => { const tr = el('tr', { class: 'spacer', 'aria-hidden': 'true' }); tr.style.height = `${h}px`; return tr; };
  const had = document.activeElement?.closest?.('#docs-body') ? list.focus : -1;
  $('docs-body').replaceChildren(spacer(first * ROW), ...rows, spacer((list.matched - last) * ROW));
  $('docs').setAttribute('aria-rowcount', String(list.matched + 1));
  if (had >= first && had < last) $('docs-body').querySelector(`tr[data-index="${had}"]`)?.focus({ preventScroll: true });
  for (const th of document.querySelectorAll('#docs th[data-sort]')) {
    th.setAttribute('aria-sort', th.dataset.sort === list.sort ? (list.order === 'asc' ? 'ascending' : 'descending') : 'none');
  }
}

function summarize() {
  $('empty').hidden = list.total !== 0;
  $('docs').hidden = list.total === 0;
  $('list-summary').textContent = list.total === 0 ? ''
    : list.matched === list.total ? `${list.total} document${list.total === 1 ? '' : 's'}`
    : `${list.matched} of ${list.total} documents match`;
  const tags = [...list.tags];
  if (activeTag !== null && !tags.includes(activeTag)) tags.unshift(activeTag);
  $('tag-filter').replaceChildren(...tags.map((t) => el('button', {
    class: 'chip', 'aria-pressed': String(t === activeTag), text: t,
    onclick: () => { activeTag = activeTag === t ? null : t; $('search').value = ''; refresh({ top: true }); },
  })));
}

// Moves the keyboard focus to row `i`, scrolling it into view first.
function focusRow(i) {
  if (list.matched === 0) return;
  i = Math.max(0, Math.min(list.matched - 1, i));
  list.focus = i;
  const wrap = $('docs-wrap');
  const head = $('docs').tHead.offsetHeight;
  if (i * ROW < wrap.scrollTop) wrap.scrollTop = i * ROW;
  else if ((i + 1) * ROW + head > wrap.scrollTop + wrap.clientHeight) wrap.scrollTop = (i + 1) * ROW + head - wrap.clientHeight;
  draw();
  $('docs-body').querySelector(`tr[data-index="${i}"]`)?.focus({ preventScroll: true });
}

function row(d, i) {
  const tr = el('tr', { tabindex: '0', 'data-id': d.id, 'data-index': String(i), 'aria-rowindex': String(i + 2) });
  tr.append(
    el('td', { class: 'name', text: d.name, title: d.name }),
    el('td', {}, ...d.tags.map((t) => el('span', { class: 'chip', text: t }))),
    el('td', { class: 'num', text: size(d.size) }),
    el('td', { text: when(d.added_ms), title: d.added }),
    el('td', { class: 'actions' },
      el('button', { class: 'small', text: 'Preview', 'aria-label': `Preview ${d.name}`, onclick: () => previewDoc(d) }),
      el('button', { class: 'small', text: 'Export…', 'aria-label': `Export ${d.name}`, onclick: () => exportDoc(d) }),
      el('button', { class: 'small', text: 'Share…', 'aria-label': `Share ${d.name}`, onclick: () => shareDoc(d) }),
      el('button', { class: 'small', text: 'Rename', 'aria-label': `Rename ${d.name}`, onclick: () => renameDoc(d) }),
      el('button', { class: 'small', text: 'Tags', 'aria-label': `Edit tags of ${d.name}`, onclick: () => tagDoc(d) }),
      el('button', { class: 'small danger', text: 'Delete', 'aria-label': `Delete ${d.name}`, onclick: () => deleteDoc(d) }),
    ),
  );
  tr.addEventListener('focus', () => { list.focus = i; });
  tr.addEventListener('keydown', (ev) => {
    if (ev.target !== tr) return;
    const page = Math.max(1, Math.floor($('docs-wrap').clientHeight / ROW) - 1);
    const to = { ArrowDown: i + 1, ArrowUp: i - 1, PageDown: i + page, PageUp: i - page, Home: 0, End: list.matched - 1 }[ev.key];
    if (to !== undefined) {
      ev.preventDefault();
      if (to < 0) $('search').focus(); else focusRow(to);
    }
    if (ev.key === 'Enter') { ev.preventDefault(); exportDoc(d); }
    if (ev.key === ' ') { ev.preventDefault(); previewDoc(d); }
    if (ev.key === 'F2') { ev.preventDefault(); renameDoc(d); }
    if (ev.key === 'Delete') { ev.preventDefault(); deleteDoc(d); }
  });
  return tr;
}

// ----- import / export with progress --------------------------------------------
function showProgress(label, p) {
  $('progress').hidden = false;
  const pct = p.total > 0 ? Math.floor((p.bytes / p.total) * 100) : (p.filesTotal ? Math.floor((p.files / p.filesTotal) * 100) : 0);
  $('progress-label').textContent = `${label} ${Math.min(p.files + 1, p.filesTotal)} of ${p.filesTotal} — ${size(p.bytes)} of ${size(p.total)} (${pct}%)`;
  $('progress-bar').style.width = `${pct}%`;
}
function hideProgress() { $('progress').hidden = true; $('progress-bar').style.width = '0'; $('progress-cancel').hidden = true; }
$('progress-cancel').addEventListener('click', () => {
  $('progress-cancel').disabled = true;
  call('cancel_import').catch(fail);
});

let busy = false;
async function importWith(cmd) {
  if (busy) { toast('Another import or export is running.'); return; }
  busy = true;
  const [progress, close] = channel((p) => showProgress('Encrypting file', p));
  $('progress-cancel').hidden = false;
  $('progress-cancel').disabled = false;
  try {
    const r = await call(cmd, { progress });
    if (r.cancelled) toast(`Import stopped: ${r.added.length} document${r.added.length === 1 ? ' was' : 's were'} imported; the files not read yet were not.`);
    const n = r.added.length;
    if (n) toast(`Imported ${n} document${n === 1 ? '' : 's'}.`, 'ok');
    for (const f of r.failed) toast(`Not imported: ${f.item} — ${f.message}`, 'error');
    const left = r.leftOut;
    if (left.files) toast(`${left.files} more file${left.files === 1 ? ' was' : 's were'} left out: a dropped folder adds at most ${left.fileLimit} files. Drop its subfolders one by one.`, 'error');
    if (left.folders) toast(`${left.folders} folder${left.folders === 1 ? ' was' : 's were'} not opened: they are more than ${left.depthLimit} levels deep.`, 'error');
    if (left.hidden) toast(`${left.hidden} hidden file${left.hidden === 1 ? ' or folder was' : 's or folders were'} left out of the dropped folder (names starting with a dot). Import them with Import files… if you need them.`);
    if (left.notRegular) toast(`${left.notRegular} symbolic link${left.notRegular === 1 ? '' : 's'} or special file${left.notRegular === 1 ? ' was' : 's were'} skipped: links are never followed.`);
  } catch (e) { fail(e); }
  finally { close(); hideProgress(); busy = false; refresh(); }
}
$('import-btn').addEventListener('click', () => importWith('import_files'));

// Rust opens a window of its own and shows the document there from memory:
// this page never receives its contents.
async function previewDoc(d) {
  try {
    await call('preview_document', { id: d.id });
  } catch (e) {
    if (e instanceof CofferError && e.code === 'no_preview') toast(`No preview for ${d.name}: export it to open it.`);
    else fail(e);
  }
}

async function exportDoc(d) {
  try {
    const r = await call('export_document', { id: d.id });
    toast(`Saved to ${r.path}`, 'ok');
  } catch (e) { fail(e); }
}

$('export-all-btn').addEventListener('click', async () => {
  if (busy) { toast('Another import or export is running.'); return; }
  busy = true;
  const [progress, close] = channel((p) => showProgress('Decrypting', p));
  try {
    const r = await call('export_all', { progress });
    toast(`Exported ${r.exported} document${r.exported === 1 ? '' : 's'} to ${r.folder}.`, 'ok');
    for (const f of r.failed) toast(`Not exported: ${f.item} — ${f.message}`, 'error');
    const why = { leading_dot: 'a name starting with a dot is never written as a hidden file', portable: 'the folder’s file system refused the name', numbered: 'another file had that name', repaired: 'the stored name could not be a file name' };
    for (const n of r.renamed) toast(`Written as “${n.written}” instead of “${n.name}”: ${n.why.map((w) => why[w] ?? w).join('; ')}.`);
  } catch (e) { fail(e); }
  finally { close(); hideProgress(); busy = false; }
});

// ----- share as an age file ---------------------------------------------------------
// The policy's shape of one recipient (share::RECIPIENT_PATTERN_EXACT); Rust
// checks each in full (checksum, padding, the point) whatever passes here.
const RECIPIENT = /^age1[02-9ac-hj-np-z]{51}[qs][02-9ac-hj-np-z]{6}$/u;
const MAX_RECIPIENTS = 20;

// Why the list cannot be sent, or null. Never repeats a recipient's text (a
// secret key pasted by mistake must not be shown back).
function recipientProblem(list) {
  if (list.length === 0) return 'Give at least one recipient: an age public key (age1…).';
  if (list.length > MAX_RECIPIENTS) return `At most ${MAX_RECIPIENTS} recipients.`;
  for (const [i, r] of list.entries()) {
    if (/^age-secret-key-/i.test(r)) return `Recipient ${i + 1} is an age secret key: give its public key (age-keygen -y) and keep the secret key to yourself.`;
    if (!RECIPIENT.test(r)) return `Recipient ${i + 1} is not an age public key (age1 followed by 58 lowercase letters and digits).`;
    const first = list.indexOf(r);
    if (first !== i) return `Recipient ${i + 1} repeats recipient ${first + 1}.`;
  }
  return null;
}

function shareDoc(d) {
  const dlg = $('share-dialog');
  $('share-title').textContent = 'Share as an age file';
  $('share-doc').textContent = d.name;
  $('share-error').textContent = '';
  $('share-recipients').value = '';
  $('share-save').disabled = false;
  const submit = async (ev) => {
    ev.preventDefault();
    const recipients = $('share-recipients').value.split(/[\s,]+/u).filter(Boolean);
    const problem = recipientProblem(recipients);
    $('share-error').textContent = problem ?? '';
    if (problem) return;
    $('share-save').disabled = true;
    try {
      // Rust opens the save dialog (suggesting "<name>.age") and writes the file.
      const r = await call('share_document', { id: d.id, recipients });
      done();
      toast(`Shared ${d.name} with ${recipients.length} recipient${recipients.length === 1 ? '' : 's'}: saved to ${r.path}`, 'ok');
    } catch (e) {
      if (e instanceof CofferError && e.code === 'cancelled') { $('share-save').disabled = false; return; }
      if (e instanceof CofferError && e.code === 'locked') { done(); onLocked(); return; }
      $('share-error').textContent = explain(e);
      $('share-save').disabled = false;
    }
  };
  const cancel = () => done();
  const cleanup = () => {
    $('share-form').removeEventListener('submit', submit);
    $('share-cancel').removeEventListener('click', cancel);
    dlg.removeEventListener('close', cleanup);
    $('share-recipients').value = '';
  };
  const done = () => { if (dlg.open) dlg.close(); cleanup(); };
  $('share-form').addEventListener('submit', submit);
  $('share-cancel').addEventListener('click', cancel);
  dlg.addEventListener('close', cleanup);
  dlg.showModal();
  $('share-recipients').focus();
}

async function deleteDoc(d) {
  // Rust asks for confirmation in a native dialog of its own.
  try {
    await call('delete_document', { id: d.id });
    toast(`Moved ${d.name} to the trash.`, 'ok');
    refresh();
  } catch (e) { fail(e); }
}

// ----- trash -----------------------------------------------------------------------------
// Pages of 200 (most recently trashed first); Rust asks before emptying.
let trashShown = 0;
async function loadTrash() {
  try {
    const t = await call('list_trash', { offset: trashShown });
    const rows = t.documents.map((d) => el('tr', {},
      el('td', { class: 'name', text: d.name, title: d.name }),
      el('td', { class: 'num', text: size(d.size) }),
      el('td', { text: when(d.trashed_ms), title: d.trashed }),
      el('td', { text: d.purge_at_ms === null ? 'when the trash is emptied' : when(d.purge_at_ms), title: d.purge_at ?? '' }),
      el('td', { class: 'actions' },
        el('button', { class: 'small', text: 'Restore', 'aria-label': `Restore ${d.name}`, onclick: () => restoreDoc(d) })),
    ));
    if (trashShown === 0) $('trash-body').replaceChildren(...rows); else $('trash-body').append(...rows);
    trashShown += t.documents.length;
    const kept = t.retentionDays === 0 ? 'until you empty it' : `for ${t.retentionDays} day${t.retentionDays === 1 ? '' : 's'}`;
    $('trash-summary').textContent = t.total
      ? `${t.total} document${t.total === 1 ? '' : 's'} in the trash, kept ${kept} (still encrypted).`
      : 'The trash is empty.';
    $('trash-older').hidden = trashShown >= t.total;
    $('empty-trash-btn').disabled = t.total === 0;
  } catch (e) { fail(e); }
}
$('trash-older').addEventListener('click', loadTrash);

async function restoreDoc(d) {
  try {
    await call('restore_document', { id: d.id });
    toast(`Restored ${d.name}.`, 'ok');
    trashShown = 0;
    loadTrash();
  } catch (e) { fail(e); }
}

$('empty-trash-btn').addEventListener('click', async () => {
  try {
    const n = await call('empty_trash');
    if (n) toast(`Removed ${n} document${n === 1 ? '' : 's'} for good.`, 'ok');
  } catch (e) { fail(e); }
  trashShown = 0;
  loadTrash();
});

// ----- rename and tags -------------------------------------------------------------
function ask({ title, label, value, hint }) {
  return new Promise((resolve) => {
    const dlg = $('edit-dialog');
    $('edit-title').textContent = title;
    $('edit-label').textContent = label;
    $('edit-hint').textContent = hint;
    $('edit-error').textContent = '';
    $('edit-input').value = value;
    const done = (v) => { dlg.close(); cleanup(); resolve(v); };
    const onSubmit = (ev) => { ev.preventDefault(); done($('edit-input').value); };
    const onCancel = () => done(null);
    const onClose = () => { cleanup(); resolve(null); };
    const cleanup = () => {
      $('edit-form').removeEventListener('submit', onSubmit);
      $('edit-cancel').removeEventListener('click', onCancel);
      dlg.removeEventListener('cancel', onClose);
    };
    $('edit-form').addEventListener('submit', onSubmit);
    $('edit-cancel').addEventListener('click', onCancel);
    dlg.addEventListener('cancel', onClose);
    dlg.showModal();
    $('edit-input').select();
  });
}

async function renameDoc(d) {
  const name = await ask({ title: 'Rename document', label: 'Name', value: d.name, hint: 'No slashes, control characters or reserved names; at most 255 bytes.' });
  if (name === null || name === d.name) return;
  try {
    await call('rename_document', { id: d.id, name });
    refresh();
  } catch (e) { fail(e); }
}

async function tagDoc(d) {
  const text = await ask({ title: 'Tags', label: 'Tags, separated by commas', value: d.tags.join(', '), hint: 'Up to 32 tags of at most 64 bytes each.' });
  if (text === null) return;
  const tags = [...new Set(text.split(',').map((t) => t.trim()).filter(Boolean))];
  try {
    await call('set_tags', { id: d.id, tags });
    refresh();
  } catch (e) { fail(e); }
}

// ----- settings ----------------------------------------------------------------------
$('autolock-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const minutes = Number($('autolock-minutes').value);
  $('autolock-error').textContent = '';
  try {
    await call('set_auto_lock', { minutes, passphrase: $('autolock-passphrase').value });
    $('autolock-passphrase').value = '';
    status.autoLockMinutes = minutes;
    toast(`The vault now locks after ${minutes} minute${minutes === 1 ? '' : 's'} without activity.`, 'ok');
  } catch (e) { $('autolock-error').textContent = explain(e); }
});

meter($('passwd-new'), $('passwd-strength-bar'), $('passwd-strength-text'), $('passwd-new2'), $('passwd-submit'));
$('passwd-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  $('passwd-error').textContent = '';
  $('passwd-submit').disabled = true;
  try {
    await call('change_passphrase', { current: $('passwd-current').value, next: $('passwd-new').value });
    for (const id of ['passwd-current', 'passwd-new', 'passwd-new2']) $(id).value = '';
    toast('Passphrase changed.', 'ok');
  } catch (e) {
    $('passwd-error').textContent = explain(e);
    $('passwd-submit').disabled = false;
  }
});

$('rk-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  $('rk-error').textContent = '';
  $('rk-submit').disabled = true;
  try {
    const r = await call('replace_recovery_key', { passphrase: $('rk-passphrase').value });
    $('rk-passphrase').value = '';
    showNewKey(r.recoveryKey);
  } catch (e) {
    if (e instanceof CofferError && e.code === 'locked') { onLocked(); return; }
    $('rk-error').textContent = explain(e);
  } finally {
    $('rk-submit').disabled = false;
  }
});

// ----- audit ---------------------------------------------------------------------------
function describe(rule) {
  switch (rule.type) {
    case 'string': return rule.pattern ? `string matching ${rule.pattern}` : `string of ${rule.minBytes ?? 0}–${rule.maxBytes ?? 1024} bytes`;
    case 'integer': return `integer ${rule.min}–${rule.max}`;
    case 'array': return `up to ${rule.maxItems} × ${describe(rule.items)}`;
    case 'channel': return 'channel (progress or notices from Rust)';
    default: return rule.type;
  }
}

async function loadAudit() {
  try {
    const p = await call('ipc_policy');
    $('policy-body').replaceChildren(...p.commands.map((c) => el('tr', {},
      el('td', {}, el('code', { text: c.name })),
      el('td', { text: Object.keys(c.args).length ? Object.entries(c.args).map(([k, r]) => `${k}: ${describe(r)}`).join('; ') : '(none)' }),
      el('td', { text: c.hookOnly ? `${c.purpose} (isolation layer only)` : c.purpose }),
    )));
    $('refused-count').textContent = String(p.refusedTotal);
    $('refused-counts-body').replaceChildren(...p.refusedCounts.map((c) => el('tr', {},
      el('td', { text: c.gate }), el('td', {}, el('code', { text: c.command })), el('td', { class: 'num', text: String(c.count) }),
    )));
    $('refused-body').replaceChildren(...(p.refused.length ? p.refused.map((r) => el('tr', {},
      el('td', { text: when(r.atMs) }), el('td', {}, el('code', { text: r.command || '(none)' })),
      el('td', { text: r.reason }), el('td', { text: r.gate }),
    )) : [el('tr', {}, el('td', { colspan: '4', class: 'muted', text: 'No call has been refused since Coffer started.' }))]));
  } catch (e) { fail(e); }
  await loadAuditPage();
}

// The audit log, one page (200 entries) at a time, newest first.
const AUDIT_PAGE = 200;
const AUDIT_EVENTS = ['create', 'unlock', 'failed_unlock', 'failed_check', 'lock', 'add', 'export', 'delete', 'edit',
  'passphrase_change', 'recover', 'repair', 'accept_older', 'recovery_key_change', 'rekey', 'upgrade',
  'trash', 'restore', 'empty_trash', 'trash_expired', 'trash_retention', 'share'];
for (const ev of AUDIT_EVENTS) $('audit-event').append(el('option', { value: ev, text: ev }));
let auditOffset = 0;
$('audit-event').addEventListener('change', () => { auditOffset = 0; loadAuditPage(); });
$('audit-newer').addEventListener('click', () => { auditOffset = Math.max(0, auditOffset - AUDIT_PAGE); loadAuditPage(); });
$('audit-older').addEventListener('click', () => { auditOffset += AUDIT_PAGE; loadAuditPage(); });

async function loadAuditPage() {
  try {
    const a = await call('audit_log', { event: $('audit-event').value, offset: auditOffset });
    $('audit-range').textContent = a.matched
      ? `${auditOffset + 1}–${auditOffset + a.entries.length} of ${a.matched}${a.matched === a.total ? '' : ` (of ${a.total} entries)`}`
      : 'no entry';
    $('audit-newer').disabled = auditOffset === 0;
    $('audit-older').disabled = auditOffset + a.entries.length >= a.matched;
    const badge = $('chain-status');
    badge.textContent = a.chain.ok ? `chain intact · ${a.chain.entries} entries` : `chain broken: ${a.chain.problem ?? 'unknown'}`;
    badge.className = `badge ${a.chain.ok ? 'ok' : 'bad'}`;
    $('audit-body').replaceChildren(...a.entries.map((e) => el('tr', {},
      el('td', { class: 'num', text: String(e.seq) }), el('td', { text: when(e.at_ms) }),
      el('td', { text: e.event }), el('td', {}, el('code', { text: e.detail })),
    )));
  } catch (e) { fail(e); }
}

for (const v of ['docs', 'trash', 'settings', 'audit']) $(`tab-${v}`).addEventListener('click', () => view(v));

start();
