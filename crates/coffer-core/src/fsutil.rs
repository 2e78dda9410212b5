//! File writes that are atomic and never follow a link the user did not choose.
//!
//! A new file starts without a name where the OS allows it (Linux `O_TMPFILE`):
//! it is written and fsynced, and only then linked into place, so a process
//! killed half-way leaves nothing behind, not even a partial plaintext.
//! Elsewhere it starts as `.coffer-<random>.tmp`, created with `O_EXCL` (which
//! refuses to open through an existing symlink) and removed on failure.
//!
//! The final name is given by a hard link that fails if anything, a dangling
//! symlink included, already has that name (no-clobber), or by `rename`, which
//! replaces a symlink itself, never its target (`--force`).

use crate::crypto;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

/// A file being written. Dropped unpersisted, it disappears.
#[derive(Debug)]
pub struct TempFile {
    dir: PathBuf,
    file: Option<File>,
    /// The temporary name, if the file has one (empty once persisted).
    path: PathBuf,
    /// True while the file is unnamed (`O_TMPFILE`).
    anonymous: bool,
}

fn temp_name(dir: &Path) -> PathBuf {
    dir.join(format!(
        ".coffer-{}.tmp",
        crypto::hex(&crypto::random_array::<12>())
    ))
}

#[cfg(target_os = "linux")]
mod anon {
    use std::fs::File;
    use std::io;
    use std::os::fd::AsRawFd;
    use std::path::Path;

    /// An unnamed file in `dir`, or `None` where the file system or the
    /// platform cannot make one (then a named temporary file is used).
    pub fn create(dir: &Path) -> Option<File> {
        use rustix::fs::{openat, Mode, OFlags, CWD};
        if !Path::new("/proc/self/fd").is_dir() {
            return None;
        }
        let fd = openat(
            CWD,
            dir,
            OFlags::TMPFILE | OFlags::WRONLY | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        )
        .ok()?;
        Some(File::from(fd))
    }

    /// Gives the unnamed `file` the name `dest`; `AlreadyExists` if taken.
    pub fn link(file: &File, dest: &Path) -> io::Result<()> {
        use rustix::fs::{linkat, AtFlags, CWD};
        let src = format!("/proc/self/fd/{}", file.as_raw_fd());
        linkat(CWD, src.as_str(), CWD, dest, AtFlags::SYMLINK_FOLLOW).map_err(io::Error::from)
    }
}

#[cfg(not(target_os = "linux"))]
mod anon {
    use std::fs::File;
    use std::io;
    use std::path::Path;
    pub fn create(_: &Path) -> Option<File> {
        None
    }
    pub fn link(_: &File, _: &Path) -> io::Result<()> {
        Err(io::Error::from(io::ErrorKind::Unsupported))
    }
}

impl TempFile {
    /// Creates a new file in `dir` (mode 0600 on Unix): unnamed where
    /// possible, else under a random temporary name.
    pub fn create_in(dir: &Path) -> io::Result<TempFile> {
        if let Some(file) = anon::create(dir) {
            return Ok(TempFile {
                dir: dir.to_owned(),
                file: Some(file),
                path: PathBuf::new(),
                anonymous: true,
            });
        }
        Self::create_named_in(dir)
    }

    /// Creates a file under a random temporary name in `dir` (mode 0600).
    pub fn create_named_in(dir: &Path) -> io::Result<TempFile> {
        let path = temp_name(dir);
        let mut o = OpenOptions::new();
        o.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            o.mode(0o600);
        }
        let file = o.open(&path)?;
        Ok(TempFile {
            dir: dir.to_owned(),
            file: Some(file),
            path,
            anonymous: false,
        })
    }

    /// The open file.
    pub fn file(&mut self) -> &mut File {
        self.file.as_mut().expect("file is present until persisted")
    }

    /// Whether the file has no name yet (so a crash leaves nothing).
    pub fn is_anonymous(&self) -> bool {
        self.anonymous
    }

    /// Flushes the data to disk.
    pub fn sync(&mut self) -> io::Result<()> {
        self.file().sync_all()
    }

    /// Gives the file a random temporary name if it has none.
    fn ensure_named(&mut self) -> io::Result<()> {
        while self.anonymous {
            let name = temp_name(&self.dir);
            match anon::link(self.file.as_ref().expect("present"), &name) {
                Ok(()) => {
                    self.path = name;
                    self.anonymous = false;
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Moves the file to `dest`, replacing whatever is there (a symlink is
    /// replaced, not followed).
    pub fn persist_replace(mut self, dest: &Path) -> io::Result<()> {
        self.ensure_named()?;
        self.file.take();
        fs::rename(&self.path, dest)?;
        self.path = PathBuf::new();
        Ok(())
    }

    /// Moves the file to `dest` only if nothing has that name; fails with
    /// `AlreadyExists` otherwise. Atomic where hard links work.
    pub fn persist_new(mut self, dest: &Path) -> io::Result<()> {
        if self.try_persist_new(dest)? {
            Ok(())
        } else {
            Err(io::Error::from(io::ErrorKind::AlreadyExists))
        }
    }

    /// Gives the file the name `dest` only if nothing, not even a dangling
    /// symlink, has that name. `Ok(false)` when the name is taken: the
    /// temporary file stays, so another name can be tried.
    pub fn try_persist_new(&mut self, dest: &Path) -> io::Result<bool> {
        if self.anonymous {
            return match anon::link(self.file.as_ref().expect("present"), dest) {
                Ok(()) => {
                    self.file.take();
                    self.anonymous = false;
                    Ok(true)
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
                Err(e) => Err(e),
            };
        }
        match fs::hard_link(&self.path, dest) {
            Ok(()) => {
                self.file.take();
                fs::remove_file(&self.path)?;
                self.path = PathBuf::new();
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
            Err(_) => {
                // File systems without hard links: check, then rename. Racy
                // against another writer, never through a symlink.
                if fs::symlink_metadata(dest).is_ok() {
                    return Ok(false);
                }
                self.file.take();
                fs::rename(&self.path, dest)?;
                self.path = PathBuf::new();
                Ok(true)
            }
        }
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            self.file.take();
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Makes a directory's entries (a rename, a new file) durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// Writes `bytes` to `dest` atomically (temporary file, fsync, rename, fsync of
/// the directory).
pub fn write_atomic(dest: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let dir = dest.parent().unwrap_or(Path::new("."));
    let mut t = TempFile::create_in(dir)?;
    t.file().write_all(bytes)?;
    t.sync()?;
    t.persist_replace(dest)?;
    sync_dir(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn persist_new_never_writes_through_a_symlink() {
        let outside = tempfile::tempdir().unwrap();
        let target = outside.path().join("victim");
        fs::write(&target, b"keep").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("doc.txt");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let dangling = dir.path().join("dangling.txt");
        std::os::unix::fs::symlink(outside.path().join("nope"), &dangling).unwrap();

        for (dest, named) in [
            (&link, false),
            (&dangling, false),
            (&link, true),
            (&dangling, true),
        ] {
            let mut t = if named {
                TempFile::create_named_in(dir.path()).unwrap()
            } else {
                TempFile::create_in(dir.path()).unwrap()
            };
            io::Write::write_all(t.file(), b"evil").unwrap();
            let e = t.persist_new(dest).unwrap_err();
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
        let mut t = TempFile::create_in(dir.path()).unwrap();
        assert!(
            t.is_anonymous(),
            "O_TMPFILE is expected on Linux file systems used by tests"
        );
        io::Write::write_all(t.file(), b"secret plaintext").unwrap();
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
        t.sync().unwrap();
        t.persist_new(&dir.path().join("done")).unwrap();
        assert_eq!(
            fs::read(dir.path().join("done")).unwrap(),
            b"secret plaintext"
        );
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        // Replacing works from an unnamed file too.
        let mut t = TempFile::create_in(dir.path()).unwrap();
        io::Write::write_all(t.file(), b"v2").unwrap();
        t.persist_replace(&dir.path().join("done")).unwrap();
        assert_eq!(fs::read(dir.path().join("done")).unwrap(), b"v2");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        // Dropped unpersisted, it leaves nothing.
        let mut t = TempFile::create_in(dir.path()).unwrap();
        io::Write::write_all(t.file(), b"partial").unwrap();
        drop(t);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn persist_replace_replaces_the_link_not_its_target() {
        let outside = tempfile::tempdir().unwrap();
        let target = outside.path().join("victim");
        fs::write(&target, b"keep").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("out.txt");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let mut t = TempFile::create_in(dir.path()).unwrap();
        io::Write::write_all(t.file(), b"new").unwrap();
        t.persist_replace(&link).unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"keep");
        assert_eq!(fs::read(&link).unwrap(), b"new");
        assert!(!fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
    }
}
