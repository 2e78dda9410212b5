// A passphrase strength estimate for feedback while typing. Deliberately
// simple and conservative (no dictionary download, no dependency): it guesses
// the bits an attacker who knows common patterns would still face. Rust
// enforces the hard minimum (8 characters) on its own.
const COMMON = new Set([
  'password', 'passw0rd', 'password1', '12345678', '123456789', '1234567890', 'qwertyuiop',
  'qwerty123', 'iloveyou', 'sunshine', 'princess', 'football', 'baseball', 'welcome1',
  'letmein1', 'trustno1', 'dragon12', 'monkey12', 'abcdefgh', 'abc12345', 'superman',
  'correct horse battery staple', 'coffer123', 'changeme', 'administrator', 'whatever',
]);

function poolSize(s) {
  let pool = 0;
  if (/[a-z]/.test(s)) pool += 26;
  if (/[A-Z]/.test(s)) pool += 26;
  if (/[0-9]/.test(s)) pool += 10;
  if (/[^A-Za-z0-9\s]/.test(s) && /[\x21-\x7e]/.test(s.replace(/[A-Za-z0-9]/g, ''))) pool += 33;
  if (/\s/.test(s)) pool += 1;
  if (/[^\x00-\x7f]/.test(s)) pool += 100;
  return Math.max(pool, 1);
}

// Collapses runs ("aaaa") and straight sequences ("abcd", "4321") that add
// almost nothing, so they count as one character each.
function effectiveLength(chars) {
  let n = 0;
  for (let i = 0; i < chars.length; i++) {
    if (i >= 2) {
      const a = chars[i - 2].codePointAt(0), b = chars[i - 1].codePointAt(0), c = chars[i].codePointAt(0);
      if (c - b === b - a && Math.abs(c - b) <= 1) continue;
    }
    n++;
  }
  return n;
}

/** @returns {{score: 0|1|2|3|4, label: string, hint: string, acceptable: boolean}} */
export function strength(pass) {
  const chars = [...pass];
  if (chars.length === 0) return { score: 0, label: '', hint: 'At least 8 characters. Several unrelated words work well.', acceptable: false };
  if (chars.length < 8) return { score: 0, label: 'Too short', hint: `${8 - chars.length} more character${chars.length === 7 ? '' : 's'} at least.`, acceptable: false };
  const lower = pass.toLowerCase();
  if (COMMON.has(lower) || COMMON.has(lower.replace(/[0-9!]+$/, ''))) {
    return { score: 0, label: 'Too common', hint: 'This passphrase is on every attacker’s list.', acceptable: false };
  }
  let bits = effectiveLength(chars) * Math.log2(poolSize(pass));
  const words = pass.trim().split(/[\s\-_.]+/).filter((w) => w.length >= 3);
  if (words.length >= 4) bits = Math.max(bits, words.length * 11);
  const unique = new Set(chars).size;
  if (unique < 5) bits = Math.min(bits, 20);
  const score = bits < 28 ? 0 : bits < 40 ? 1 : bits < 60 ? 2 : bits < 80 ? 3 : 4;
  const label = ['Too weak', 'Weak', 'Fair', 'Good', 'Strong'][score];
  const hint = score >= 3
    ? 'Good choice. Store it somewhere only you can reach.'
    : 'Longer is stronger: add another unrelated word or two.';
  return { score, label, hint, acceptable: score >= 2 };
}
