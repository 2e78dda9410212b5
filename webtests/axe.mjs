// Accessibility: runs axe-core (npm, pinned) in the page a WebDriver session
// is on, and fails on any serious or critical violation. WebDriver runs the
// script in the page itself, so the app's CSP needs no exception for it.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(new URL('..', import.meta.url).pathname);
const AXE = readFileSync(join(root, 'node_modules/axe-core/axe.min.js'), 'utf8');

/** The serious and critical violations on the current page (`[]` if none). */
export async function axeViolations(s) {
  const r = await s.execAsync(`${AXE}
    ;(function () {
      const done = arguments[arguments.length - 1];
      axe.run(document, { resultTypes: ['violations'] }).then((res) => done(res.violations
        .filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ')) }))),
      (e) => done({ error: String(e) }));
    }).apply(null, arguments);`);
  if (r && r.error) throw new Error(`axe-core failed: ${r.error}`);
  return r;
}

/** Fails with the list of serious or critical violations on this screen. */
export async function assertAccessible(s, screen) {
  const v = await axeViolations(s);
  if (v.length) throw new Error(`accessibility (${screen}): ${JSON.stringify(v, null, 1)}`);
}
