//! The app's settings (not secret): kept as JSON in the user's config folder.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{AppError, AppResult};

/// Minutes of inactivity before the vault locks itself, unless set.
pub const DEFAULT_AUTO_LOCK_MINUTES: u32 = 10;

/// What the user can set.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Settings {
    /// Auto-lock delay in minutes (1–1440).
    pub auto_lock_minutes: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            auto_lock_minutes: DEFAULT_AUTO_LOCK_MINUTES,
        }
    }
}

impl Settings {
    /// Reads `file`, falling back to defaults for a missing or bad file. A
    /// FIFO, a device, a link or anything over 64 KiB counts as bad: it is
    /// never followed, opened as a stream or read in full.
    pub fn load(file: Option<&Path>) -> Settings {
        let s: Settings = file
            .and_then(|f| {
                coffer_core::fsutil::read_regular(f, 64 << 10)
                    .ok()
                    .flatten()
            })
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        if (1..=1440).contains(&s.auto_lock_minutes) {
            s
        } else {
            Settings::default()
        }
    }

    /// Writes `file` atomically (nothing when there is no file).
    pub fn save(&self, file: Option<&Path>) -> AppResult<()> {
        let Some(f) = file else { return Ok(()) };
        if let Some(dir) = f.parent() {
            std::fs::create_dir_all(dir)
                .map_err(coffer_core::Error::io("creating the settings folder"))?;
        }
        let bytes = serde_json::to_vec_pretty(self).map_err(|_| AppError::Internal("settings"))?;
        coffer_core::fsutil::write_atomic(f, &bytes)
            .map_err(coffer_core::Error::io("writing the settings"))?;
        Ok(())
    }
}

/// `$XDG_CONFIG_HOME/coffer/desktop.json`, else `~/.config/coffer/desktop.json`.
pub fn default_file() -> Option<PathBuf> {
    std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .map(|d| d.join("coffer").join("desktop.json"))
}
