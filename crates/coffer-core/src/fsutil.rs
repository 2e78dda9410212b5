//! File writes that are atomic and never follow a link the user did not choose.
//!
//! Every file is written in a [`Dir`] handle. A new file starts without a
//! name where the OS allows it (Linux `O_TMPFILE`): it is written and fsynced,
//! and only then linked into place, so a process killed half-way leaves
//! nothing behind, not even a partial plaintext. Elsewhere it starts under
//! one of Coffer's own temporary names (`.coffer-<24 hex>.tmp`, created with
//! `O_EXCL|O_NOFOLLOW`) and is removed on failure.
//!
//! Three ways to give the file its final name:
//! - [`TempFile::try_persist_new`]: a hard link that fails if anything, a
//!   dangling symlink included, already has that name (no-clobber);
//! - [`TempFile::persist_over`]: for plaintext replacing a file (`get
//!   --force`): the old entry is removed, then the complete file is linked;
//!   a kill in between leaves neither, never a named plaintext;
//! - [`TempFile::persist_replace`]: an atomic `rename` over the old entry (a
//!   symlink is replaced, never followed), for files that must never be
//!   missing (the vault header, settings). It names the file for an instant
//!   under a temporary name, which the next open of the vault removes.

use crate::dir::{temp_name, Dir, Kind};
use std::fs::File;
use std::io;
use std::path::Path;

/// A file being written. Dropped unpersisted, it disappears.
#[derive(Debug)]
pub struct TempFile {
    dir: Dir,
    file: Option<File>,
    /// Its temporary name in `dir`, if it has one.
    name: Option<String>,
}

#[cfg(target_os = "linux")]
mod anon {
    use crate::dir::Dir;
    use std::fs::File;
    use std::io;
    use std::os::fd::AsRawFd;

    /// An unnamed file in `dir`, or `None` where the file system or the
    /// platform cannot make one (then a named temporary file is used).
    pub fn create(dir: &Dir) -> Option<File> {
        use rustix::fs::{openat, Mode, OFlags};
        if !std::path::Path::new("/proc/self/fd").is_dir() {
            return None;
        }
        let fd = openat(
            dir.fd(),
            ".",
            OFlags::TMPFILE | OFlags::RDWR | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        )
        .ok()?;
        Some(File::from(fd))
    }

    /// Gives the unnamed `file` the name `name` in `dir`; `AlreadyExists` if
    /// taken (by anything, a dangling symlink included).
    pub fn link(file: &File, dir: &Dir, name: &str) -> io::Result<()> {
        use rustix::fs::{linkat, AtFlags, CWD};
        let src = format!("/proc/self/fd/{}", file.as_raw_fd());
        linkat(CWD, src.as_str(), dir.fd(), name, AtFlags::SYMLINK_FOLLOW).map_err(io::Error::from)
    }
}

#[cfg(not(target_os = "linux"))]
mod anon {
    use crate::dir::Dir;
    use std::fs::File;
    use std::io;
    pub fn create(_: &Dir) -> Option<File> {
        None
    }
    pub fn link(_: &File, _: &Dir, _: &str) -> io::Result<()> {
        Err(io::Error::from(io::ErrorKind::Unsupported))
    }
}

impl TempFile {
    /// Creates a new file in `dir` (mode 0600): unnamed where possible, else
    /// under a temporary name.
    pub fn create_in(dir: &Dir) -> io::Result<TempFile> {
        if let Some(file) = anon::create(dir) {
            return Ok(TempFile {
                dir: dir.try_clone()?,
                file: Some(file),
                name: None,
            });
        }
        Self::create_named_in(dir)
    }

    /// Creates a file under a temporary name in `dir` (mode 0600).
    pub fn create_named_in(dir: &Dir) -> io::Result<TempFile> {
        use rustix::fs::{openat, Mode, OFlags};
        loop {
            let name = temp_name();
            match openat(
                dir.fd(),
                name.as_str(),
                OFlags::RDWR | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::from_raw_mode(0o600),
            ) {
                Ok(fd) => {
                    return Ok(TempFile {
                        dir: dir.try_clone()?,
                        file: Some(File::from(fd)),
                        name: Some(name),
                    })
                }
                Err(rustix::io::Errno::EXIST) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// The open file.
    pub fn file(&mut self) -> &mut File {
        self.file.as_mut().expect("file is present until persisted")
    }

    /// Whether the file has no name yet (so a crash leaves nothing).
    pub fn is_anonymous(&self) -> bool {
        self.name.is_none() && self.file.is_some()
    }

    /// Flushes the data to disk.
    pub fn sync(&mut self) -> io::Result<()> {
        self.file().sync_all()
    }

    /// Gives the file the name `name` in `dest` (on the same file system)
    /// only if nothing, not even a dangling symlink, has that name. `Ok(false)`
    /// when the name is taken: the temporary file stays, so another name can
    /// be tried.
    pub fn try_persist_new(&mut self, dest: &Dir, name: &str) -> io::Result<bool> {
        let res = match &self.name {
            None => anon::link(self.file.as_ref().expect("present"), dest, name),
            Some(tmp) => self.dir.rename_new(tmp, dest, name),
        };
        match res {
            Ok(()) => {
                self.file.take();
                self.name = None;
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// [`TempFile::try_persist_new`], failing with `AlreadyExists` when the
    /// name is taken.
    pub fn persist_new(mut self, dest: &Dir, name: &str) -> io::Result<()> {
        if self.try_persist_new(dest, name)? {
            Ok(())
        } else {
            Err(io::Error::from(io::ErrorKind::AlreadyExists))
        }
    }

    /// Replaces whatever file or link is named `name` in `dest` (never a
    /// folder) by this file, without ever giving this file another name: the
    /// old entry is removed, then this one linked. For plaintext.
    /// Only a regular file or a symbolic link is replaced: a folder, a FIFO,
    /// a socket or a device there is refused ([`is_not_replaceable`]).
    pub fn persist_over(mut self, dest: &Dir, name: &str) -> io::Result<()> {
        if self.name.is_some() {
            // No unnamed files here: a rename is the best there is.
            check_replaceable(dest, name)?;
            return self.persist_replace(dest, name);
        }
        for _ in 0..8 {
            if self.try_persist_new(dest, name)? {
                return Ok(());
            }
            check_replaceable(dest, name)?;
            dest.remove_file(name)?;
        }
        Err(io::Error::from(io::ErrorKind::AlreadyExists))
    }

    /// Moves the file to `name` in `dest` atomically, replacing whatever
    /// file or link has that name (a symlink is replaced, not followed).
    pub fn persist_replace(mut self, dest: &Dir, name: &str) -> io::Result<()> {
        while self.name.is_none() {
            let tmp = temp_name();
            match anon::link(self.file.as_ref().expect("present"), &self.dir, &tmp) {
                Ok(()) => self.name = Some(tmp),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            }
        }
        let tmp = self.name.clone().expect("named above");
        self.file.take();
        self.dir.rename(&tmp, dest, name)?;
        self.name = None;
        Ok(())
    }
}

/// The error of [`TempFile::persist_over`] for an entry it does not replace
/// (a FIFO, a socket, a device).
#[derive(Debug)]
struct NotReplaceable(&'static str);

impl std::fmt::Display for NotReplaceable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the destination {}", self.0)
    }
}

impl std::error::Error for NotReplaceable {}

/// Whether `e` says that the destination is not a file or a link, so it was
/// not replaced.
pub fn is_not_replaceable(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|i| i.is::<NotReplaceable>())
}

/// `Ok` when `name` in `dest` is missing, a regular file or a symbolic link.
fn check_replaceable(dest: &Dir, name: &str) -> io::Result<()> {
    match dest.kind(name)? {
        Some(Kind::Dir) => Err(io::Error::new(
            io::ErrorKind::IsADirectory,
            "the destination is a folder",
        )),
        Some(Kind::Other(what)) if what != crate::dir::SYMLINK => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            NotReplaceable(what),
        )),
        _ => Ok(()),
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(n) = self.name.take() {
            self.file.take();
            let _ = self.dir.remove_file(&n);
        }
    }
}

/// Makes a directory's entries (a rename, a new file) durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    Dir::open(dir)?.sync()
}

/// Writes `bytes` as `name` in `dir` atomically (temporary file, fsync,
/// rename, fsync of the folder).
pub fn write_atomic_in(dir: &Dir, name: &str, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let mut t = TempFile::create_in(dir)?;
    t.file().write_all(bytes)?;
    t.sync()?;
    t.persist_replace(dir, name)?;
    dir.sync()
}

/// [`write_atomic_in`] for a path: its folder is opened (following links in
/// the path the user chose), its file name never followed.
pub fn write_atomic(dest: &Path, bytes: &[u8]) -> io::Result<()> {
    let (dir, name) = split(dest)?;
    write_atomic_in(&Dir::open(&dir)?, &name, bytes)
}

/// A path's folder and its final name (which must be valid UTF-8).
pub fn split(p: &Path) -> io::Result<(std::path::PathBuf, String)> {
    let name = p
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no usable file name"))?
        .to_owned();
    let dir = match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => std::path::PathBuf::from("."),
    };
    Ok((dir, name))
}

/// Reads the regular file at `path` (links in the path followed: the user's
/// choice) if it exists, refusing anything but a regular file and anything
/// over `max_len` bytes. Never blocks on a FIFO.
pub fn read_regular(path: &Path, max_len: u64) -> crate::Result<Option<Vec<u8>>> {
    use std::io::Read;
    let (dir, name) = split(path).map_err(crate::Error::io("reading a file"))?;
    let dir = match Dir::open(&dir) {
        Ok(d) => d,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(crate::Error::io("reading a file")(e)),
    };
    let Some(f) = dir.open_file(&name, max_len)? else {
        return Ok(None);
    };
    let mut out = Vec::new();
    f.take(max_len + 1)
        .read_to_end(&mut out)
        .map_err(crate::Error::io("reading a file"))?;
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn open(p: &Path) -> Dir {
        Dir::open(p).unwrap()
    }

    #[test]
    fn persist_new_never_writes_through_a_symlink() {
        let outside = tempfile::tempdir().unwrap();
        let target = outside.path().join("victim");
        fs::write(&target, b"keep").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let d = open(dir.path());
        std::os::unix::fs::symlink(&target, dir.path().join("doc.txt")).unwrap();
        std::os::unix::fs::symlink(outside.path().join("nope"), dir.path().join("dangling.txt"))
            .unwrap();
        for (dest, named) in [
            ("doc.txt", false),
            ("dangling.txt", false),
            ("doc.txt", true),
            ("dangling.txt", true),
        ] {
            let mut t = if named {
                TempFile::create_named_in(&d).unwrap()
            } else {
                TempFile::create_in(&d).unwrap()
            };
            io::Write::write_all(t.file(), b"evil").unwrap();
            let e = t.persist_new(&d, dest).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
        }
        assert_eq!(fs::read(&target).unwrap(), b"keep");
        assert!(!outside.path().join("nope").exists());
        // No temporary file is left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn an_unfinished_file_has_no_name() {
        let dir = tempfile::tempdir().unwrap();
        let d = open(dir.path());
        let mut t = TempFile::create_in(&d).unwrap();
        assert!(
            t.is_anonymous(),
            "O_TMPFILE is expected on Linux file systems used by tests"
        );
        io::Write::write_all(t.file(), b"secret plaintext").unwrap();
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
        t.sync().unwrap();
        t.persist_new(&d, "done").unwrap();
        assert_eq!(
            fs::read(dir.path().join("done")).unwrap(),
            b"secret plaintext"
        );
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        // Replacing works from an unnamed file too, both ways.
        let mut t = TempFile::create_in(&d).unwrap();
        io::Write::write_all(t.file(), b"v2").unwrap();
        t.persist_replace(&d, "done").unwrap();
        assert_eq!(fs::read(dir.path().join("done")).unwrap(), b"v2");
        let mut t = TempFile::create_in(&d).unwrap();
        io::Write::write_all(t.file(), b"v3").unwrap();
        t.persist_over(&d, "done").unwrap();
        assert_eq!(fs::read(dir.path().join("done")).unwrap(), b"v3");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        // Dropped unpersisted, it leaves nothing.
        let mut t = TempFile::create_in(&d).unwrap();
        io::Write::write_all(t.file(), b"partial").unwrap();
        drop(t);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn replacing_replaces_the_link_not_its_target() {
        let outside = tempfile::tempdir().unwrap();
        let target = outside.path().join("victim");
        fs::write(&target, b"keep").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let d = open(dir.path());
        let link = dir.path().join("out.txt");
        for over in [false, true] {
            let _ = fs::remove_file(&link);
            std::os::unix::fs::symlink(&target, &link).unwrap();
            let mut t = TempFile::create_in(&d).unwrap();
            io::Write::write_all(t.file(), b"new").unwrap();
            if over {
                t.persist_over(&d, "out.txt").unwrap();
            } else {
                t.persist_replace(&d, "out.txt").unwrap();
            }
            assert_eq!(fs::read(&target).unwrap(), b"keep");
            assert_eq!(fs::read(&link).unwrap(), b"new");
            assert!(!fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink());
        }
        // Never over a folder.
        fs::create_dir(dir.path().join("folder")).unwrap();
        let t = TempFile::create_in(&d).unwrap();
        assert!(t.persist_over(&d, "folder").is_err());
        assert!(dir.path().join("folder").is_dir());
    }

    #[test]
    fn read_regular_refuses_fifos_links_and_oversized_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        fs::write(p.join("ok"), b"{}").unwrap();
        assert_eq!(read_regular(&p.join("ok"), 2).unwrap().unwrap(), b"{}");
        assert!(read_regular(&p.join("ok"), 1).is_err());
        assert!(read_regular(&p.join("missing"), 10).unwrap().is_none());
        rustix::fs::mkfifoat(
            rustix::fs::CWD,
            p.join("fifo"),
            rustix::fs::Mode::from_raw_mode(0o600),
        )
        .unwrap();
        assert!(read_regular(&p.join("fifo"), 10).is_err());
        std::os::unix::fs::symlink("/dev/zero", p.join("zero")).unwrap();
        assert!(read_regular(&p.join("zero"), 10).is_err());
    }
}
