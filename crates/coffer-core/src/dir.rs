//! Folders as handles. Below a folder that Coffer opened, every entry is
//! reached with `*at` calls relative to that handle and nothing is followed:
//!
//! - the folder the user named is opened once (the path may itself be a link:
//!   that is the user's choice);
//! - below it, every open carries `O_NOFOLLOW` (and `O_DIRECTORY` for
//!   folders), and `O_NONBLOCK`, so that a FIFO never blocks an open;
//! - an entry is looked at (`lstat`) before it is opened, so a device or a
//!   FIFO is never opened at all, and the opened handle is checked again
//!   (`fstat`): the same entry, a real folder where a folder belongs, a
//!   regular file with exactly one link and a size within bounds where a
//!   file belongs.
//!
//! Anything else is refused with [`Error::FolderTampered`], which names the
//! entry (Coffer's own names only, never a document name). Nothing is
//! "cleaned": the only files Coffer deletes are ones it can prove it made
//! (see [`is_own_temp_name`]).

use crate::{crypto, Error, Result};
use rustix::fs::{self as rfs, AtFlags, FileType, Mode, OFlags};
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

/// An open folder.
#[derive(Debug)]
pub struct Dir {
    fd: OwnedFd,
    /// Where it was opened: for SQLite, which opens by path, and for messages
    /// the user asked for (the export folder).
    path: PathBuf,
    /// Its place below the folder the user named, for error messages
    /// (`""` for that folder itself, `"blobs/ab"` below it).
    rel: String,
}

/// An entry as `lstat` sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A regular file.
    File {
        /// Its size in bytes.
        len: u64,
        /// Its number of hard links.
        links: u64,
    },
    /// A real folder (not a link to one).
    Dir,
    /// Anything else: a symbolic link, a FIFO, a socket, a device.
    Other(&'static str),
}

/// [`Kind::Other`] of a symbolic link.
pub const SYMLINK: &str = "is a symbolic link";

/// What an entry that is not a regular file or a folder is, in words.
fn describe(ft: FileType) -> &'static str {
    match ft {
        FileType::Symlink => SYMLINK,
        FileType::Fifo => "is a FIFO",
        FileType::Socket => "is a socket",
        FileType::CharacterDevice | FileType::BlockDevice => "is a device",
        FileType::Directory => "is a folder",
        FileType::RegularFile => "is a file",
        _ => "is of an unknown type",
    }
}

// `st_nlink` and `st_size` have other widths on other targets.
#[allow(clippy::unnecessary_cast)]
fn kind_of(st: &rfs::Stat) -> Kind {
    match FileType::from_raw_mode(st.st_mode) {
        FileType::RegularFile => Kind::File {
            len: st.st_size as u64,
            links: st.st_nlink as u64,
        },
        FileType::Directory => Kind::Dir,
        other => Kind::Other(describe(other)),
    }
}

/// Whether `name` is a temporary name that Coffer gives its own files
/// (`.coffer-` + 24 lowercase hex digits + `.tmp`), the only names it ever
/// removes without an index row that names them.
pub fn is_own_temp_name(name: &str) -> bool {
    name.strip_prefix(".coffer-")
        .and_then(|r| r.strip_suffix(".tmp"))
        .is_some_and(|h| {
            h.len() == 24
                && h.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        })
}

/// A fresh temporary name (see [`is_own_temp_name`]).
pub fn temp_name() -> String {
    format!(".coffer-{}.tmp", crypto::hex(&crypto::random_array::<12>()))
}

const NOFOLLOW: OFlags = OFlags::NOFOLLOW
    .union(OFlags::CLOEXEC)
    .union(OFlags::NONBLOCK)
    .union(OFlags::NOCTTY);

impl Dir {
    /// Opens the folder at `path`. Links in `path` itself are followed: the
    /// user chose it.
    pub fn open(path: &Path) -> io::Result<Dir> {
        let fd = rfs::openat(
            rfs::CWD,
            path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        Ok(Dir {
            fd,
            path: path.to_owned(),
            rel: String::new(),
        })
    }

    /// Creates the folder at `path` (and its parents, mode 0700) if missing,
    /// then opens it.
    pub fn create(path: &Path) -> io::Result<Dir> {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(path)?;
        Dir::open(path)
    }

    /// A second handle on the same folder.
    pub fn try_clone(&self) -> io::Result<Dir> {
        Ok(Dir {
            fd: self.fd.try_clone()?,
            path: self.path.clone(),
            rel: self.rel.clone(),
        })
    }

    /// The path this folder was opened at (for messages).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where this folder is now, with every link in its path resolved (the
    /// kernel's name for the handle): what SQLite, which opens by path and
    /// refuses links anywhere in it (`SQLITE_OPEN_NOFOLLOW`), is given.
    pub fn real_path(&self) -> io::Result<PathBuf> {
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            std::fs::read_link(format!("/proc/self/fd/{}", self.fd.as_raw_fd()))
        }
        #[cfg(not(target_os = "linux"))]
        {
            std::fs::canonicalize(&self.path)
        }
    }

    /// The device and inode of the entry `name` (not followed).
    pub fn identity(&self, name: &str) -> io::Result<Option<(u64, u64)>> {
        match rfs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW) {
            #[allow(clippy::unnecessary_cast)]
            Ok(st) => Ok(Some((st.st_dev as u64, st.st_ino as u64))),
            Err(rustix::io::Errno::NOENT) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// `name`'s place below the folder the user named, as shown in errors.
    pub fn entry(&self, name: &str) -> String {
        if self.rel.is_empty() {
            name.to_owned()
        } else {
            format!("{}/{name}", self.rel)
        }
    }

    /// The error for an entry that is not what it should be.
    pub fn tampered(&self, name: &str, problem: &'static str) -> Error {
        Error::FolderTampered {
            entry: self.entry(name),
            problem,
        }
    }

    /// What `name` is, without following it; `None` if it does not exist.
    pub fn kind(&self, name: &str) -> io::Result<Option<Kind>> {
        match rfs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => Ok(Some(kind_of(&st))),
            Err(rustix::io::Errno::NOENT) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Checks that `name` is missing or a regular file with one link and at
    /// most `max_len` bytes; returns whether it exists.
    pub fn check_file(&self, name: &str, max_len: u64) -> Result<bool> {
        match self
            .kind(name)
            .map_err(Error::io("reading the vault folder"))?
        {
            None => Ok(false),
            Some(k) => self.file_ok(name, k, max_len).map(|()| true),
        }
    }

    fn file_ok(&self, name: &str, k: Kind, max_len: u64) -> Result<()> {
        match k {
            Kind::File { links, .. } if links != 1 => {
                Err(self.tampered(name, "has more than one hard link"))
            }
            Kind::File { len, .. } if len > max_len => {
                Err(self.tampered(name, "is larger than Coffer ever writes it"))
            }
            Kind::File { .. } => Ok(()),
            Kind::Dir => Err(self.tampered(name, "is a folder")),
            Kind::Other(what) => Err(self.tampered(name, what)),
        }
    }

    /// Opens the subfolder `name`; `None` if it does not exist. Anything but
    /// a real folder is refused.
    pub fn subdir(&self, name: &str) -> Result<Option<Dir>> {
        match self
            .kind(name)
            .map_err(Error::io("reading the vault folder"))?
        {
            None => return Ok(None),
            Some(Kind::Dir) => {}
            Some(Kind::File { .. }) => return Err(self.tampered(name, "is a file, not a folder")),
            Some(Kind::Other(what)) => return Err(self.tampered(name, what)),
        }
        let fd = rfs::openat(
            &self.fd,
            name,
            NOFOLLOW | OFlags::RDONLY | OFlags::DIRECTORY,
            Mode::empty(),
        )
        .map_err(|e| match e {
            rustix::io::Errno::LOOP | rustix::io::Errno::NOTDIR => {
                self.tampered(name, "changed into something other than a folder")
            }
            e => Error::io("opening a folder in the vault")(e.into()),
        })?;
        Ok(Some(Dir {
            fd,
            path: self.path.join(name),
            rel: self.entry(name),
        }))
    }

    /// Opens the subfolder `name`, creating it (mode 0700) if missing.
    pub fn ensure_subdir(&self, name: &str) -> Result<Dir> {
        match rfs::mkdirat(&self.fd, name, Mode::from_raw_mode(0o700)) {
            Ok(()) | Err(rustix::io::Errno::EXIST) => {}
            Err(e) => return Err(Error::io("creating a folder in the vault")(e.into())),
        }
        self.subdir(name)?
            .ok_or_else(|| self.tampered(name, "disappeared while it was created"))
    }

    /// Opens the regular file `name` for reading; `None` if it does not
    /// exist. Refused: anything but a regular file with one link and at most
    /// `max_len` bytes, or an entry that changed between the look and the
    /// open.
    pub fn open_file(&self, name: &str, max_len: u64) -> Result<Option<File>> {
        self.open_checked(name, max_len, OFlags::RDONLY)
    }

    fn open_checked(&self, name: &str, max_len: u64, access: OFlags) -> Result<Option<File>> {
        let before = match self
            .kind(name)
            .map_err(Error::io("reading the vault folder"))?
        {
            None => return Ok(None),
            Some(k) => k,
        };
        self.file_ok(name, before, max_len)?;
        let fd = match rfs::openat(&self.fd, name, NOFOLLOW | access, Mode::empty()) {
            Ok(fd) => fd,
            Err(rustix::io::Errno::NOENT) => return Ok(None),
            Err(rustix::io::Errno::LOOP | rustix::io::Errno::NXIO) => {
                return Err(self.tampered(name, "changed into something other than a file"))
            }
            Err(e) => return Err(Error::io("opening a file in the vault")(e.into())),
        };
        let st = rfs::fstat(&fd).map_err(|e| Error::io("reading a file in the vault")(e.into()))?;
        self.file_ok(name, kind_of(&st), max_len)?;
        Ok(Some(File::from(fd)))
    }

    /// Opens (creating if missing, mode 0600) the lock file `name`. A link
    /// (even a dangling one), a FIFO or anything else is refused, and nothing
    /// is created through it.
    pub fn open_lock(&self, name: &str) -> Result<File> {
        for _ in 0..3 {
            if let Some(f) = self.open_checked(name, 4096, OFlags::RDWR)? {
                return Ok(f);
            }
            match rfs::openat(
                &self.fd,
                name,
                NOFOLLOW | OFlags::RDWR | OFlags::CREATE | OFlags::EXCL,
                Mode::from_raw_mode(0o600),
            ) {
                Ok(fd) => return Ok(File::from(fd)),
                // Made by another process meanwhile (or a link appeared): look again.
                Err(rustix::io::Errno::EXIST) => continue,
                Err(e) => return Err(Error::io("creating a lock file")(e.into())),
            }
        }
        Err(self.tampered(name, "keeps changing"))
    }

    /// Creates the regular file `name` (mode 0600) if nothing has that name.
    pub fn create_file(&self, name: &str) -> io::Result<()> {
        match rfs::openat(
            &self.fd,
            name,
            NOFOLLOW | OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL,
            Mode::from_raw_mode(0o600),
        ) {
            Ok(_) | Err(rustix::io::Errno::EXIST) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Removes the entry `name` (a file or a link, never what a link points
    /// to); `Ok` if it is already gone.
    pub fn remove_file(&self, name: &str) -> io::Result<()> {
        match rfs::unlinkat(&self.fd, name, AtFlags::empty()) {
            Ok(()) | Err(rustix::io::Errno::NOENT) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Renames `from` in this folder to `to` in `dest`, replacing an entry
    /// named `to` (never following it).
    pub fn rename(&self, from: &str, dest: &Dir, to: &str) -> io::Result<()> {
        rfs::renameat(&self.fd, from, &dest.fd, to).map_err(Into::into)
    }

    /// Renames `from` to `to` in this folder only if nothing is named `to`.
    pub fn rename_new(&self, from: &str, dest: &Dir, to: &str) -> io::Result<()> {
        rfs::renameat_with(&self.fd, from, &dest.fd, to, rfs::RenameFlags::NOREPLACE)
            .map_err(Into::into)
    }

    /// Makes this folder's entries (new names, renames, removals) durable.
    pub fn sync(&self) -> io::Result<()> {
        rfs::fsync(&self.fd).map_err(Into::into)
    }

    /// The names in this folder with what each is (`.` and `..` left out),
    /// sorted by name. Names that are not UTF-8 are given lossily: they are
    /// never Coffer's own.
    pub fn entries(&self) -> Result<Vec<(String, Kind)>> {
        let rd = rfs::Dir::read_from(&self.fd)
            .map_err(|e| Error::io("listing a folder in the vault")(e.into()))?;
        let mut out = Vec::new();
        for e in rd {
            let e = e.map_err(|e| Error::io("listing a folder in the vault")(e.into()))?;
            let name = e.file_name().to_string_lossy().into_owned();
            if name == "." || name == ".." {
                continue;
            }
            let kind = match e.file_type() {
                FileType::RegularFile | FileType::Unknown => match self
                    .kind(&name)
                    .map_err(Error::io("listing a folder in the vault"))?
                {
                    Some(k) => k,
                    None => continue,
                },
                FileType::Directory => Kind::Dir,
                other => Kind::Other(describe(other)),
            };
            out.push((name, kind));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    pub(crate) fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// This folder's device and inode numbers (`fstat` of the handle).
    #[allow(clippy::unnecessary_cast)]
    pub fn own_identity(&self) -> io::Result<(u64, u64)> {
        let st = rfs::fstat(&self.fd)?;
        Ok((st.st_dev as u64, st.st_ino as u64))
    }

    /// The device and inode numbers of this folder's parent (`..` from the
    /// handle; the folder itself at the root of the file system).
    #[allow(clippy::unnecessary_cast)]
    pub fn parent_identity(&self) -> io::Result<(u64, u64)> {
        let st = rfs::statat(&self.fd, "..", AtFlags::empty())?;
        Ok((st.st_dev as u64, st.st_ino as u64))
    }
}

/// Takes `lock` (shared or exclusive), waiting at most `wait` for another
/// process to release it; then [`Error::InUse`]. A lock file someone holds
/// forever cannot hang Coffer.
pub fn lock_within(lock: &File, shared: bool, wait: std::time::Duration) -> Result<()> {
    let start = std::time::Instant::now();
    let mut pause = std::time::Duration::from_millis(1);
    loop {
        let got = if shared {
            lock.try_lock_shared()
        } else {
            lock.try_lock()
        };
        match got {
            Ok(()) => return Ok(()),
            Err(std::fs::TryLockError::WouldBlock) if start.elapsed() < wait => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(std::time::Duration::from_millis(50));
            }
            Err(std::fs::TryLockError::WouldBlock) => return Err(Error::InUse),
            Err(std::fs::TryLockError::Error(e)) => return Err(Error::io("taking a lock")(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn setup() -> (tempfile::TempDir, Dir, PathBuf) {
        let t = tempfile::tempdir().unwrap();
        let outside = t.path().join("outside");
        std::fs::create_dir(&outside).unwrap();
        std::fs::write(outside.join("victim"), b"keep").unwrap();
        let d = Dir::create(&t.path().join("v")).unwrap();
        (t, d, outside)
    }

    #[test]
    fn links_fifos_folders_and_hard_links_are_refused_and_never_followed() {
        let (t, d, outside) = setup();
        let v = t.path().join("v");
        symlink(&outside, v.join("to_dir")).unwrap();
        symlink(outside.join("victim"), v.join("to_file")).unwrap();
        symlink(outside.join("made"), v.join("dangling")).unwrap();
        rustix::fs::mkfifoat(rustix::fs::CWD, v.join("fifo"), Mode::from_raw_mode(0o600)).unwrap();
        std::fs::create_dir(v.join("folder")).unwrap();
        std::fs::hard_link(outside.join("victim"), v.join("hard")).unwrap();
        for name in ["to_dir", "to_file", "dangling", "fifo", "folder", "hard"] {
            let e = d.open_file(name, 1 << 20).unwrap_err();
            assert_eq!(e.code(), "folder_tampered", "{name}");
            assert!(e.to_string().starts_with(&format!("{name} ")), "{e}");
            assert_eq!(d.open_lock(name).unwrap_err().code(), "folder_tampered");
            if name != "folder" {
                assert_eq!(d.subdir(name).unwrap_err().code(), "folder_tampered");
            }
        }
        assert!(!outside.join("made").exists());
        assert_eq!(std::fs::read(outside.join("victim")).unwrap(), b"keep");
        assert_eq!(
            d.subdir("to_dir").unwrap_err().to_string(),
            "to_dir is a symbolic link: the vault folder was tampered with"
        );
    }

    #[test]
    fn a_file_over_its_bound_is_refused_and_a_lock_is_created_once() {
        let (t, d, _) = setup();
        std::fs::write(t.path().join("v/big"), vec![0u8; 100]).unwrap();
        assert!(d.open_file("big", 100).unwrap().is_some());
        assert_eq!(
            d.open_file("big", 99).unwrap_err().code(),
            "folder_tampered"
        );
        assert!(d.open_file("missing", 1).unwrap().is_none());
        d.open_lock("lock").unwrap();
        d.open_lock("lock").unwrap();
        assert!(t.path().join("v/lock").is_file());
    }

    #[test]
    fn own_temp_names_are_recognised_exactly() {
        assert!(is_own_temp_name(&temp_name()));
        for n in [
            ".coffer-.tmp",
            ".coffer-0123456789abcdef0123456.tmp",
            ".coffer-0123456789ABCDEF01234567.tmp",
            "coffer-0123456789abcdef01234567.tmp",
            ".coffer-0123456789abcdef01234567.tmp~",
            "notes.txt",
        ] {
            assert!(!is_own_temp_name(n), "{n}");
        }
    }
}
