// The UI's only door to Rust. Every call goes through Tauri's invoke, which
// passes the isolation hook (dist-isolation/hook.js) before anything is sent.
// No npm package: Tauri's own internals are the whole client.
const T = window.__TAURI_INTERNALS__;

/** An error from Coffer: a stable code and a message fit to show. */
export class CofferError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

/** Calls a command; rejects with a CofferError. */
export async function call(cmd, args = {}) {
  try {
    return await T.invoke(cmd, args);
  } catch (e) {
    if (e && typeof e === 'object' && typeof e.code === 'string') {
      throw new CofferError(e.code, typeof e.message === 'string' ? e.message : 'Something went wrong.');
    }
    // Tauri's own refusals (the ACL) are plain strings: never shown raw.
    throw new CofferError('refused', 'This action was refused by the app’s security policy.');
  }
}

/**
 * A channel Rust can send small messages on, as the argument `__CHANNEL__:<id>`.
 * Returns [argument, close].
 */
export function channel(onMessage) {
  let open = true;
  const id = T.transformCallback((m) => {
    if (open && m && typeof m === 'object' && 'message' in m) onMessage(m.message);
  }, false);
  return [`__CHANNEL__:${id}`, () => { open = false; }];
}
