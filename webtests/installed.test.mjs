// The installed package starts: the app at $COFFER_E2E_APP (the .deb's
// /usr/bin/coffer-desktop) opens its first screen under Xvfb on a fresh vault
// folder, its IPC works under the isolation pattern, and the hook blocks a
// plugin call. Run by scripts/check-package.sh.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Session, startDriver } from './webdriver.mjs';

test('the installed app starts and its gates hold', async () => {
  const app = process.env.COFFER_E2E_APP;
  assert.ok(app, 'COFFER_E2E_APP names the installed binary');
  const work = mkdtempSync(join(tmpdir(), 'coffer-installed-'));
  const driver = await startDriver({ COFFER_VAULT: join(work, 'vault'), XDG_CONFIG_HOME: join(work, 'config'), XDG_STATE_HOME: join(work, 'state') }, { port: 4644, nativePort: 4645 });
  let s;
  try {
    s = await Session.start(driver.base, app);
    await s.visible('screen-create');
    const r = await s.execAsync(`
      const done = arguments[arguments.length - 1];
      const T = window.__TAURI_INTERNALS__;
      (async () => {
        const status = await T.invoke('vault_status');
        const fs = await T.invoke('plugin:fs|read_file', { path: '/etc/passwd' }).then(() => 'passed', (e) => e);
        return { status, fs };
      })().then(done, (e) => done({ error: String(e) }));
    `);
    assert.equal(r.status.exists, false, JSON.stringify(r));
    assert.equal(r.fs.code, 'blocked', JSON.stringify(r));
  } finally {
    if (s) await s.quit();
    await driver.stop();
    rmSync(work, { recursive: true, force: true });
  }
});
