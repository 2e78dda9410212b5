// A small W3C WebDriver client over fetch, for tauri-driver (no dependency).
const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf';

export class Session {
  constructor(base, id) {
    this.base = base;
    this.id = id;
  }

  static async start(base, application, timeoutMs = 60_000) {
    const r = await request(base, 'POST', '/session', {
      capabilities: { alwaysMatch: { 'tauri:options': { application } } },
    }, timeoutMs);
    return new Session(base, r.sessionId);
  }

  cmd(method, path, body) {
    return request(this.base, method, `/session/${this.id}${path}`, body);
  }

  async quit() {
    try { await this.cmd('DELETE', ''); } catch { /* already gone */ }
  }

  /** Runs `body` (a function body) in the page with `args`; returns its value. */
  exec(body, ...args) {
    return this.cmd('POST', '/execute/sync', { script: body, args });
  }

  /** Runs an async function body; its last argument is the done callback. */
  execAsync(body, ...args) {
    return this.cmd('POST', '/execute/async', { script: body, args });
  }

  async find(css) {
    const r = await this.cmd('POST', '/element', { using: 'css selector', value: css });
    return r[ELEMENT];
  }

  async click(css) {
    await this.cmd('POST', `/element/${await this.find(css)}/click`, {});
  }

  async type(css, text, { clear = true } = {}) {
    const el = await this.find(css);
    if (clear) await this.cmd('POST', `/element/${el}/clear`, {});
    if (text !== '') await this.cmd('POST', `/element/${el}/value`, { text });
  }

  async screenshot() {
    return Buffer.from(await this.cmd('GET', '/screenshot'), 'base64');
  }

  /** Polls `body` in the page until it returns a truthy value. */
  async waitFor(body, what, timeoutMs = 20_000, ...args) {
    const end = Date.now() + timeoutMs;
    let last;
    while (Date.now() < end) {
      last = await this.exec(body, ...args);
      if (last) return last;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
  }

  visible(id) {
    return this.waitFor('const e = document.getElementById(arguments[0]); return !!e && !e.hidden && e.offsetParent !== null;', `#${id} visible`, 20_000, id);
  }
}

async function request(base, method, path, body, timeoutMs = 30_000) {
  const res = await fetch(base + path, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const json = await res.json().catch(() => ({}));
  if (!res.ok || (json.value && json.value.error)) {
    throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json.value ?? json)}`);
  }
  return json.value;
}

/**
 * Starts Xvfb (when there is no display) and tauri-driver with `env` (which
 * the app inherits). Returns the driver's base URL and a stop function.
 */
export async function startDriver(env, { port = 4544, nativePort = 4545 } = {}) {
  const { spawn } = await import('node:child_process');
  const { existsSync } = await import('node:fs');
  const children = [];
  const full = { ...process.env, ...env };
  if (!full.DISPLAY) {
    const display = `:${90 + (process.pid % 9)}`;
    children.push(spawn('Xvfb', [display, '-screen', '0', '1280x860x24', '-nolisten', 'tcp'], { stdio: 'ignore' }));
    full.DISPLAY = display;
    const sock = `/tmp/.X11-unix/X${display.slice(1)}`;
    for (let i = 0; i < 100 && !existsSync(sock); i++) await sleep(50);
  }
  children.push(spawn('tauri-driver', ['--port', String(port), '--native-port', String(nativePort)], { env: full, stdio: ['ignore', 'inherit', 'inherit'] }));
  const base = `http://127.0.0.1:${port}`;
  const end = Date.now() + 30_000;
  for (;;) {
    try { if ((await fetch(`${base}/status`, { signal: AbortSignal.timeout(1000) })).ok) break; } catch { /* not yet */ }
    if (Date.now() > end) throw new Error('tauri-driver did not start');
    await sleep(100);
  }
  const stop = async () => {
    // SIGTERM: tauri-driver then stops WebKitWebDriver too.
    for (const c of children.reverse()) c.kill('SIGTERM');
    await sleep(300);
  };
  return { base, stop };
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
