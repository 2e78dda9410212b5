//! Paths the user granted, and the rules every path meets before Rust touches
//! it. A path reaches the app only from a native dialog or a drop on the
//! window (both received by Rust); each is registered in tauri-plugin-fs's
//! scope (drops are registered by the plugin itself), and is used only if the
//! scope allows it and it passes the rules here: absolute, no `..` or `.`
//! component, no NUL, no symlink where a symlink could redirect a write, and a
//! file name that passes the core's name rules where Coffer names the file.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use rustix::fs::{self as rfs, AtFlags, FileType, Mode, OFlags};

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

/// One file to import, as the walk found it. When it is imported it is
/// reached again from its root, one `openat` with `O_NOFOLLOW` per step, and
/// checked with `fstat` on the opened file: a file or folder swapped for a
/// symbolic link after the walk is refused, never followed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Source {
    /// The granted path: the file itself, or the dropped folder it is in.
    pub root: PathBuf,
    /// Below the root: its folders, then its name (empty for the root file).
    pub below: Vec<OsString>,
    /// Its size when the walk saw it.
    pub len: u64,
}

impl Source {
    /// Where it is (for the fs scope check).
    pub fn path(&self) -> PathBuf {
        let mut p = self.root.clone();
        p.extend(&self.below);
        p
    }

    /// Its own name, shown to the user and kept as the document's name.
    pub fn name(&self) -> Option<&OsStr> {
        self.below
            .last()
            .map(OsString::as_os_str)
            .or(self.root.file_name())
    }

    /// Opens it without following any link below the root (see [`Source`]).
    pub fn open(&self) -> AppResult<OwnedFd> {
        let swapped = |e: rustix::io::Errno| match e {
            rustix::io::Errno::LOOP | rustix::io::Errno::NOTDIR => {
                AppError::BadPath("it was replaced by a symbolic link after it was chosen")
            }
            e => coffer_core::Error::io("opening a file to add")(e.into()).into(),
        };
        let dirs = OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
        let file =
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
        let fd = match self.below.split_last() {
            // A file chosen itself: its folder is the user's path, the file
            // is never a link.
            None => {
                let (parent, name) = match (self.root.parent(), self.root.file_name()) {
                    (Some(p), Some(n)) => (p, n),
                    _ => return Err(AppError::BadPath("no file name")),
                };
                let dir = rfs::open(parent, OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
                    .map_err(swapped)?;
                rfs::openat(&dir, name, file, Mode::empty()).map_err(swapped)?
            }
            Some((name, folders)) => {
                let mut dir = rfs::open(&self.root, dirs, Mode::empty()).map_err(swapped)?;
                for f in folders {
                    dir = rfs::openat(&dir, f.as_os_str(), dirs, Mode::empty()).map_err(swapped)?;
                }
                rfs::openat(&dir, name.as_os_str(), file, Mode::empty()).map_err(swapped)?
            }
        };
        let st = rfs::fstat(&fd).map_err(swapped)?;
        match FileType::from_raw_mode(st.st_mode) {
            FileType::RegularFile => Ok(fd),
            _ => Err(AppError::BadPath("not a regular file")),
        }
    }
}

/// What walking one granted path found.
#[derive(Debug, Default)]
pub struct Found {
    /// The regular files, in order.
    pub files: Vec<Source>,
    /// Regular files past [`MAX_FILES_PER_DROP`] (counted, not imported).
    pub left_out: usize,
    /// Folders deeper than [`MAX_DEPTH`] (not entered).
    pub too_deep: usize,
    /// Symbolic links, FIFOs, sockets and devices inside (never followed).
    pub not_regular: usize,
    /// Files and folders the drop did not grant (tauri-plugin-fs leaves
    /// hidden ones, `.env` or `.git/`, out of a dropped folder's scope).
    pub not_granted: usize,
}

/// The regular files to import for one granted path: the file itself, or
/// (for a dropped folder) the regular files under it. Nothing is followed:
/// a granted path that is a symbolic link is refused, and links inside a
/// folder are counted and skipped.
pub fn import_sources<R: Runtime>(app: &AppHandle<R>, p: &Path) -> AppResult<Found> {
    check_shape(p)?;
    allowed(app, p)?;
    let md = fs::symlink_metadata(p).map_err(coffer_core::Error::io("reading a file to add"))?;
    let mut found = Found::default();
    if md.is_file() {
        found.files.push(Source {
            root: p.to_owned(),
            below: Vec::new(),
            len: md.len(),
        });
        return Ok(found);
    }
    if md.file_type().is_symlink() {
        return Err(AppError::BadPath(
            "a symbolic link: choose the file it points to",
        ));
    }
    if !md.is_dir() {
        return Err(AppError::BadPath("not a regular file or folder"));
    }
    let dir = rfs::open(
        p,
        OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| coffer_core::Error::io("reading a dropped folder")(e.into()))?;
    let mut below = Vec::new();
    walk(app, p, &dir, &mut below, &mut found)
        .map_err(coffer_core::Error::io("reading a dropped folder"))?;
    found.files.sort();
    Ok(found)
}

fn walk<R: Runtime>(
    app: &AppHandle<R>,
    root: &Path,
    dir: &OwnedFd,
    below: &mut Vec<OsString>,
    found: &mut Found,
) -> io::Result<()> {
    for e in rfs::Dir::read_from(dir)? {
        let e = e?;
        let name = OsStr::from_bytes(e.file_name().to_bytes());
        if name == "." || name == ".." {
            continue;
        }
        let st = rfs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)?;
        below.push(name.to_owned());
        let source = Source {
            root: root.to_owned(),
            below: below.clone(),
            len: st.st_size as u64,
        };
        let ft = FileType::from_raw_mode(st.st_mode);
        // (The scope resolves links, so a link's target is what it checks.)
        let granted = || allowed(app, &source.path()).is_ok();
        match ft {
            FileType::Directory | FileType::RegularFile if !granted() => found.not_granted += 1,
            FileType::Directory if below.len() > MAX_DEPTH => found.too_deep += 1,
            FileType::Directory => {
                let sub = rfs::openat(
                    dir,
                    name,
                    OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
                    Mode::empty(),
                )?;
                walk(app, root, &sub, below, found)?;
            }
            FileType::RegularFile if found.files.len() < MAX_FILES_PER_DROP => {
                found.files.push(source);
            }
            FileType::RegularFile => found.left_out += 1,
            _ => found.not_regular += 1,
        }
        below.pop();
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
