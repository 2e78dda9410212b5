//! Paths the user granted, and the rules every path meets before Rust touches
//! it. A path reaches the app only from a native dialog or a drop on the
//! window (both received by Rust); each is registered in tauri-plugin-fs's
//! scope (drops are registered by the plugin itself), and is used only if the
//! scope allows it and it passes the rules here: absolute, no `..` or `.`
//! component, no NUL, no symlink where a symlink could redirect a write, and a
//! file name that passes the core's name rules where Coffer names the file.

use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

use tauri::{AppHandle, Runtime};
use tauri_plugin_fs::FsExt;

use crate::error::{AppError, AppResult};

/// Most files one dropped folder may contribute.
pub const MAX_FILES_PER_DROP: usize = 10_000;
/// Deepest folder nesting followed in a drop.
pub const MAX_DEPTH: usize = 32;

/// The shape rules, without touching the file system.
pub fn check_shape(p: &Path) -> AppResult<()> {
    if !p.is_absolute() {
        return Err(AppError::BadPath("not an absolute path"));
    }
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        if p.as_os_str().as_bytes().contains(&0) {
            return Err(AppError::BadPath("contains NUL"));
        }
    }
    if p.components()
        .any(|c| matches!(c, Component::ParentDir | Component::CurDir))
    {
        return Err(AppError::BadPath("contains `..` or `.`"));
    }
    Ok(())
}

fn allowed<R: Runtime>(app: &AppHandle<R>, p: &Path) -> AppResult<()> {
    match app.fs_scope().is_allowed(p) {
        true => Ok(()),
        false => Err(AppError::NotGranted),
    }
}

/// Registers a file the user picked in the import dialog.
pub fn grant_file<R: Runtime>(app: &AppHandle<R>, p: PathBuf) -> AppResult<PathBuf> {
    check_shape(&p)?;
    app.fs_scope()
        .allow_file(&p)
        .map_err(|_| AppError::Internal("registering a granted path"))?;
    Ok(p)
}

/// The regular files to import for one granted path, with their sizes: the
/// file itself, or (for a dropped folder) the regular files under it, never
/// following a symlink inside it.
pub fn import_sources<R: Runtime>(app: &AppHandle<R>, p: &Path) -> AppResult<Vec<(PathBuf, u64)>> {
    check_shape(p)?;
    allowed(app, p)?;
    let md = fs::symlink_metadata(p).map_err(coffer_core::Error::io("reading a file to add"))?;
    if md.is_file() {
        return Ok(vec![(p.to_owned(), md.len())]);
    }
    if md.file_type().is_symlink() {
        // The user chose the link itself: follow it only to a regular file.
        let target = fs::metadata(p).map_err(coffer_core::Error::io("reading a file to add"))?;
        return match target.is_file() {
            true => Ok(vec![(p.to_owned(), target.len())]),
            false => Err(AppError::BadPath(
                "a symbolic link to something other than a file",
            )),
        };
    }
    if !md.is_dir() {
        return Err(AppError::BadPath("not a regular file or folder"));
    }
    let mut out = Vec::new();
    walk(app, p, 0, &mut out).map_err(coffer_core::Error::io("reading a dropped folder"))?;
    out.sort();
    Ok(out)
}

fn walk<R: Runtime>(
    app: &AppHandle<R>,
    dir: &Path,
    depth: usize,
    out: &mut Vec<(PathBuf, u64)>,
) -> io::Result<()> {
    if depth > MAX_DEPTH {
        return Ok(());
    }
    for e in fs::read_dir(dir)? {
        let e = e?;
        let ft = e.file_type()?;
        let path = e.path();
        // Symlinks inside a folder could point anywhere: never followed.
        if ft.is_symlink() || check_shape(&path).is_err() || allowed(app, &path).is_err() {
            continue;
        }
        if ft.is_dir() {
            walk(app, &path, depth + 1, out)?;
        } else if ft.is_file() && out.len() < MAX_FILES_PER_DROP {
            out.push((path, e.metadata()?.len()));
        }
    }
    Ok(())
}

/// Checks and registers the file the user chose in the save dialog. Returns
/// the path to write and whether it replaces an existing regular file (the
/// native dialog asked the user to confirm that). Never writes through a
/// symlink or onto anything but a regular file.
pub fn grant_save_target<R: Runtime>(app: &AppHandle<R>, p: PathBuf) -> AppResult<(PathBuf, bool)> {
    check_shape(&p)?;
    let name = p
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or(AppError::BadPath("no file name"))?;
    coffer_core::names::validate(name).map_err(|_| AppError::BadPath("an unsafe file name"))?;
    let parent = p.parent().ok_or(AppError::BadPath("no folder"))?;
    let parent =
        fs::canonicalize(parent).map_err(|_| AppError::BadPath("the folder does not exist"))?;
    if !parent.is_dir() {
        return Err(AppError::BadPath("the folder does not exist"));
    }
    let dest = parent.join(name);
    let replace = match fs::symlink_metadata(&dest) {
        Ok(m) if m.file_type().is_symlink() => return Err(AppError::BadPath("a symbolic link")),
        Ok(m) if m.is_file() => true,
        Ok(_) => return Err(AppError::BadPath("not a regular file")),
        Err(e) if e.kind() == io::ErrorKind::NotFound => false,
        Err(e) => return Err(coffer_core::Error::io("checking the destination")(e).into()),
    };
    app.fs_scope()
        .allow_file(&dest)
        .map_err(|_| AppError::Internal("registering a granted path"))?;
    allowed(app, &dest)?;
    Ok((dest, replace))
}

/// Checks and registers the folder the user chose for `export_all`.
pub fn grant_folder<R: Runtime>(app: &AppHandle<R>, p: PathBuf) -> AppResult<PathBuf> {
    check_shape(&p)?;
    let dir = fs::canonicalize(&p).map_err(|_| AppError::BadPath("the folder does not exist"))?;
    if !dir.is_dir() {
        return Err(AppError::BadPath("not a folder"));
    }
    app.fs_scope()
        .allow_directory(&dir, false)
        .map_err(|_| AppError::Internal("registering a granted path"))?;
    allowed(app, &dir)?;
    Ok(dir)
}

/// The last component of a path, for the UI (the user's own file name).
pub fn display_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_rules() {
        assert!(check_shape(Path::new("/home/a/b.pdf")).is_ok());
        for bad in ["relative.pdf", "/home/a/../../etc/passwd", "./a", ""] {
            assert!(check_shape(Path::new(bad)).is_err(), "{bad}");
        }
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            let p = Path::new(std::ffi::OsStr::from_bytes(b"/tmp/a\0b"));
            assert!(check_shape(p).is_err());
        }
    }
}
