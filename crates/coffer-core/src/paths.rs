//! Where the default vault lives, shared by the CLI and the desktop app so that
//! both open the same one.

use std::path::PathBuf;

/// `$COFFER_VAULT`, else the platform data directory + `coffer/vault`
/// (Linux: `$XDG_DATA_HOME/coffer/vault`, falling back to
/// `~/.local/share/coffer/vault`).
pub fn default_vault_dir() -> Option<PathBuf> {
    if let Some(v) = std::env::var_os("COFFER_VAULT").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(v));
    }
    data_dir().map(|d| d.join("coffer").join("vault"))
}

fn data_dir() -> Option<PathBuf> {
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from);
    if cfg!(target_os = "macos") {
        return home.map(|h| h.join("Library/Application Support"));
    }
    if cfg!(windows) {
        return std::env::var_os("APPDATA").map(PathBuf::from);
    }
    std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| home.map(|h| h.join(".local/share")))
}

/// Where this machine keeps its record of the newest state it saw of each
/// vault (see [`crate::seen`]): `$XDG_STATE_HOME/coffer/seen`, falling back to
/// `~/.local/state/coffer/seen` (macOS: `~/Library/Application
/// Support/coffer/seen`). Outside every vault folder.
pub fn seen_dir() -> Option<PathBuf> {
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from);
    if cfg!(target_os = "macos") {
        return home.map(|h| h.join("Library/Application Support/coffer/seen"));
    }
    std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| home.map(|h| h.join(".local/state")))
        .map(|d| d.join("coffer").join("seen"))
}
