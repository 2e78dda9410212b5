//! What the app holds between calls: the open vault (and a cached catalog),
//! the settings, the paths the user granted by dropping files, the refused
//! calls recorded for the auditor, and the channel on which Rust tells the UI
//! that the vault locked or files were dropped.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use coffer_core::catalog::Catalog;
use coffer_core::kdf::KdfParams;
use coffer_core::vault::Vault;
use serde::Serialize;
use tauri::ipc::Channel;
use tauri::Runtime;
use tracing::{info, warn};

use crate::dialogs::Dialogs;
use crate::error::{AppError, AppResult};
use crate::settings::Settings;

/// How many refused calls are kept for the audit page.
pub const REFUSALS_KEPT: usize = 200;

/// The delay before the next passphrase check after `failures` wrong ones in
/// a row: none after the first (a typo), then 1 s, 2 s, 4 s… up to 60 s, on
/// top of Argon2id's own cost. Checks wait their turn one at a time, so calls
/// in parallel gain nothing.
pub fn check_delay(failures: u32) -> Duration {
    match failures {
        0 | 1 => Duration::ZERO,
        n => Duration::from_secs(1u64 << (n - 2).min(6)).min(Duration::from_secs(60)),
    }
}

/// How many calls a gate refused for one command, never dropped: a flood of
/// bogus calls cannot push a refusal by Rust out of sight.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RefusalCount {
    /// `hook` or `rust`.
    pub gate: &'static str,
    /// A command of the policy, or `(not in the policy)`.
    pub command: String,
    /// How many.
    pub count: u64,
}

/// The name refusals are counted under for a command the policy does not list
/// (the hook reports whatever name the page used: unbounded, so not a key).
pub const UNLISTED: &str = "(not in the policy)";

/// The app's state, shared by commands and the auto-lock timer.
pub type Shared<R> = Arc<Inner<R>>;

/// An unlocked vault and what is cached for it. Dropping it wipes every key.
pub struct Open {
    /// The vault.
    pub vault: Vault,
    /// The decrypted catalog and the index's `data_version` when it was read.
    pub catalog: Option<(i64, Catalog)>,
}

/// A call refused by a gate, kept in memory for the audit page.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Refused {
    /// When, Unix milliseconds.
    pub at_ms: i64,
    /// The command as reported (cleaned by the hook and checked by the policy).
    pub command: String,
    /// The policy's reason code.
    pub reason: String,
    /// Which gate refused it: `hook` or `rust`.
    pub gate: &'static str,
}

/// Something Rust tells the UI without being asked.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Notice {
    /// The vault locked (`idle`: the auto-lock timer).
    Locked {
        /// `idle` or `user`.
        reason: &'static str,
    },
    /// Files were dropped on the window and wait for `import_dropped`.
    Dropped {
        /// How many paths.
        count: usize,
    },
}

/// Configuration fixed at start.
pub struct Config<R: Runtime> {
    /// The vault folder.
    pub vault_dir: PathBuf,
    /// Where settings are kept.
    pub settings_file: Option<PathBuf>,
    /// Argon2id parameters for a new vault (`None`: calibrate on this machine).
    pub kdf: Option<KdfParams>,
    /// The native dialogs (or a stand-in in tests).
    pub dialogs: Box<dyn Dialogs<R>>,
}

/// The shared state.
pub struct Inner<R: Runtime> {
    /// Fixed configuration.
    pub config: Config<R>,
    open: Mutex<Option<Open>>,
    settings: Mutex<Settings>,
    activity: Mutex<Instant>,
    dropped: Mutex<Vec<PathBuf>>,
    refused: Mutex<(u64, VecDeque<Refused>)>,
    refusal_counts: Mutex<BTreeMap<(&'static str, String), u64>>,
    /// Held while a native dialog is open: one at a time.
    dialog: Mutex<()>,
    /// Set by `cancel_import`; the running import stops between files.
    cancel: std::sync::atomic::AtomicBool,
    /// Wrong passphrases in a row, and when the next check may run; held
    /// for the whole check, so checks run one at a time.
    checks: Mutex<(u32, Instant)>,
    events: Mutex<Option<Channel<Notice>>>,
    /// Which hook bindings were admitted (each call once, per page session).
    calls: Mutex<coffer_core::ipc_policy::CallWindow>,
    /// Open preview windows and their one-shot tokens.
    pub previews: crate::preview::Previews,
    /// The running app, to close preview windows at a lock (set when the
    /// app starts).
    pub app: std::sync::OnceLock<tauri::AppHandle<R>>,
}

fn guard<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding a lock leaves plain data behind; keep going.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl<R: Runtime> Inner<R> {
    /// State for `config`, with settings read from its file.
    pub fn new(config: Config<R>) -> Shared<R> {
        let settings = Settings::load(config.settings_file.as_deref());
        Arc::new(Inner {
            config,
            open: Mutex::new(None),
            settings: Mutex::new(settings),
            activity: Mutex::new(Instant::now()),
            dropped: Mutex::new(Vec::new()),
            refused: Mutex::new((0, VecDeque::new())),
            refusal_counts: Mutex::new(BTreeMap::new()),
            dialog: Mutex::new(()),
            cancel: std::sync::atomic::AtomicBool::new(false),
            checks: Mutex::new((0, Instant::now())),
            previews: Default::default(),
            app: std::sync::OnceLock::new(),
            events: Mutex::new(None),
            calls: Mutex::new(Default::default()),
        })
    }

    /// Admits a call's binding once (see [`coffer_core::ipc_policy::CallWindow`]).
    pub fn admit(
        &self,
        b: coffer_core::ipc_policy::Binding,
    ) -> Result<(), coffer_core::ipc_policy::Refusal> {
        guard(&self.calls).admit(b)
    }

    /// Marks the user as active (resets the auto-lock timer). Only user
    /// activity counts: `keep_alive` (input in the window), an unlock, and a
    /// native dialog the user answered; other calls never postpone the lock.
    pub fn touch(&self) {
        *guard(&self.activity) = Instant::now();
    }

    /// Runs `f` with the one native dialog slot, or refuses at once when a
    /// dialog is already open (a loop of calls never stacks prompts). The
    /// user's answer counts as activity.
    pub fn with_dialog<T>(&self, f: impl FnOnce() -> T) -> AppResult<T> {
        // A panic while a dialog was open leaves the slot poisoned, not held.
        let _slot = match self.dialog.try_lock() {
            Ok(g) => g,
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return Err(AppError::DialogOpen),
        };
        let out = f();
        self.touch();
        Ok(out)
    }

    /// Asks the running import to stop between two files.
    pub fn cancel_import(&self) {
        self.cancel.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Whether the running import was asked to stop; `reset` clears the
    /// request at the start of an import.
    pub fn import_cancelled(&self, reset: bool) -> bool {
        match reset {
            true => self.cancel.swap(false, std::sync::atomic::Ordering::SeqCst),
            false => self.cancel.load(std::sync::atomic::Ordering::SeqCst),
        }
    }

    /// Runs a passphrase check `f`, one at a time, after the delay that
    /// earlier wrong passphrases earned (see [`check_delay`]). A wrong one
    /// lengthens the next delay; a right one clears it.
    pub fn check_passphrase<T>(&self, f: impl FnOnce() -> AppResult<T>) -> AppResult<T> {
        let mut g = guard(&self.checks);
        let wait = g.1.saturating_duration_since(Instant::now());
        if !wait.is_zero() {
            std::thread::sleep(wait);
        }
        let r = f();
        match &r {
            Err(AppError::Core(coffer_core::Error::WrongSecret)) => {
                g.0 = g.0.saturating_add(1);
                g.1 = Instant::now() + check_delay(g.0);
                warn!(failures = g.0, "wrong passphrase");
            }
            Ok(_) => *g = (0, Instant::now()),
            Err(_) => {}
        }
        r
    }

    /// Wrong passphrases in a row, and how long until the next check may run.
    pub fn check_state(&self) -> (u32, Duration) {
        let g = guard(&self.checks);
        (g.0, g.1.saturating_duration_since(Instant::now()))
    }

    /// How long since the last user activity.
    pub fn idle_for(&self) -> Duration {
        guard(&self.activity).elapsed()
    }

    /// The current settings.
    pub fn settings(&self) -> Settings {
        guard(&self.settings).clone()
    }

    /// Changes the auto-lock delay and saves it (the caller checked the
    /// passphrase when it grows).
    pub fn set_auto_lock(&self, minutes: u32) -> AppResult<()> {
        let mut s = guard(&self.settings);
        s.auto_lock_minutes = minutes;
        s.save(self.config.settings_file.as_deref())
    }

    /// Whether a vault is unlocked.
    pub fn is_unlocked(&self) -> bool {
        guard(&self.open).is_some()
    }

    /// `Locked` unless a vault is unlocked (checked before opening a dialog).
    pub fn require_unlocked(&self) -> AppResult<()> {
        match self.is_unlocked() {
            true => Ok(()),
            false => Err(AppError::Locked),
        }
    }

    /// The open-vault slot (for create and unlock).
    pub fn slot(&self) -> MutexGuard<'_, Option<Open>> {
        guard(&self.open)
    }

    /// Runs `f` on the unlocked vault.
    pub fn with_open<T>(&self, f: impl FnOnce(&mut Open) -> AppResult<T>) -> AppResult<T> {
        let mut slot = guard(&self.open);
        let open = slot.as_mut().ok_or(AppError::Locked)?;
        f(open)
    }

    /// Runs a change on the unlocked vault and drops the cached catalog (this
    /// connection's own writes do not move `data_version`).
    pub fn change<T>(&self, f: impl FnOnce(&Vault) -> AppResult<T>) -> AppResult<T> {
        self.with_open(|open| {
            open.catalog = None;
            f(&open.vault)
        })
    }

    /// Locks: records the event, drops the vault (wiping its keys), forgets
    /// dropped paths, and tells the UI.
    pub fn lock(&self, reason: &'static str) -> bool {
        let taken = guard(&self.open).take();
        guard(&self.dropped).clear();
        // Every preview token is forgotten and every preview window closed.
        let previews = self.previews.revoke_all();
        if let Some(app) = self.app.get() {
            crate::preview::close_all(app, previews);
        }
        let was_open = taken.is_some();
        if let Some(open) = taken {
            drop(open.catalog);
            if let Err(e) = open.vault.lock() {
                warn!(
                    code = e.code(),
                    "recording the lock failed; keys wiped anyway"
                );
            }
            info!(reason, "vault locked");
            self.notify(Notice::Locked { reason });
        }
        was_open
    }

    /// Locks if the vault has been idle longer than the setting. Called by the
    /// timer; never waits for a running operation (which counts as activity).
    pub fn lock_if_idle(&self) -> bool {
        self.lock_if_idle_after(self.idle_for())
    }

    /// Locks if `idle` exceeds the auto-lock setting (the timer's decision,
    /// separated so tests need not wait minutes).
    pub fn lock_if_idle_after(&self, idle: Duration) -> bool {
        let limit = Duration::from_secs(u64::from(self.settings().auto_lock_minutes) * 60);
        if idle < limit {
            return false;
        }
        match self.open.try_lock() {
            Ok(slot) if slot.is_some() => {}
            _ => return false,
        }
        self.lock("idle")
    }

    /// Keeps the paths of a drop for `import_dropped` (replacing an earlier one).
    pub fn set_dropped(&self, paths: Vec<PathBuf>) {
        let n = paths.len();
        *guard(&self.dropped) = paths;
        self.notify(Notice::Dropped { count: n });
    }

    /// Takes the paths of the last drop.
    pub fn take_dropped(&self) -> Vec<PathBuf> {
        std::mem::take(&mut *guard(&self.dropped))
    }

    /// Records a refused call for the audit page (bounded, oldest dropped).
    pub fn record_refusal(&self, command: &str, reason: &str, gate: &'static str) {
        let command: String = command
            .chars()
            .map(|c| match c {
                'A'..='Z' | 'a'..='z' | '0'..='9' | '_' | ':' | '|' | '.' | '-' => c,
                _ => '_',
            })
            .take(64)
            .collect();
        warn!(gate, reason, "IPC call refused");
        let key = match coffer_core::ipc_policy::policy().command(&command) {
            Some(rule) => rule.name.clone(),
            None => UNLISTED.to_owned(),
        };
        *guard(&self.refusal_counts).entry((gate, key)).or_insert(0) += 1;
        let mut r = guard(&self.refused);
        r.0 += 1;
        if r.1.len() == REFUSALS_KEPT {
            r.1.pop_front();
        }
        r.1.push_back(Refused {
            at_ms: coffer_core::time::now_ms(),
            command,
            reason: reason.chars().take(32).collect(),
            gate,
        });
    }

    /// Refused calls: the total, and the newest first.
    pub fn refusals(&self) -> (u64, Vec<Refused>) {
        let r = guard(&self.refused);
        (r.0, r.1.iter().rev().cloned().collect())
    }

    /// Refusals counted per gate and command, Rust's gate first.
    pub fn refusal_counts(&self) -> Vec<RefusalCount> {
        let mut out: Vec<RefusalCount> = guard(&self.refusal_counts)
            .iter()
            .map(|((gate, command), n)| RefusalCount {
                gate,
                command: command.clone(),
                count: *n,
            })
            .collect();
        out.sort_by_key(|c| (c.gate != "rust", std::cmp::Reverse(c.count)));
        out
    }

    /// Sets the channel for notices.
    pub fn subscribe(&self, ch: Channel<Notice>) {
        *guard(&self.events) = Some(ch);
    }

    fn notify(&self, n: Notice) {
        if let Some(ch) = guard(&self.events).as_ref() {
            let _ = ch.send(n);
        }
    }
}
