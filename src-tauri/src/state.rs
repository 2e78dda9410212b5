//! What the app holds between calls: the open vault (and a cached catalog),
//! the settings, the paths the user granted by dropping files, the refused
//! calls recorded for the auditor, and the channel on which Rust tells the UI
//! that the vault locked or files were dropped.

use std::collections::VecDeque;
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
    events: Mutex<Option<Channel<Notice>>>,
    /// Which hook bindings were admitted (each call once, per page session).
    calls: Mutex<coffer_core::ipc_policy::CallWindow>,
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

    /// Marks the user as active (resets the auto-lock timer).
    pub fn touch(&self) {
        *guard(&self.activity) = Instant::now();
    }

    /// How long since the last call.
    pub fn idle_for(&self) -> Duration {
        guard(&self.activity).elapsed()
    }

    /// The current settings.
    pub fn settings(&self) -> Settings {
        guard(&self.settings).clone()
    }

    /// Changes the auto-lock delay and saves it.
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
