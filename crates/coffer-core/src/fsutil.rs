//! File writes that are atomic and never follow a link the user did not choose.
//!
//! Every new file is first created as `.coffer-<random>.tmp` with `O_EXCL`
//! (which refuses to open through an existing symlink), written, fsynced, and
//! only then given its final name: by `rename` when replacing is wanted (which
//! replaces a symlink itself, never its target), or by a hard link that fails if
//! anything, a dangling symlink included, already has that name.

use crate::crypto;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

/// A temporary file that is removed on drop unless [`TempFile::keep`] was called.
#[derive(Debug)]
pub struct TempFile {
    path: PathBuf,
    file: Option<File>,
}

impl TempFile {
    /// Creates a fresh temporary file in `dir` (mode 0600 on Unix).
    pub fn create_in(dir: &Path) -> io::Result<TempFile> {
        let name = format!(".coffer-{}.tmp", crypto::hex(&crypto::random_array::<12>()));
        let path = dir.join(name);
        let mut o = OpenOptions::new();
        o.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            o.mode(0o600);
        }
        let file = o.open(&path)?;
        Ok(TempFile {
            path,
            file: Some(file),
        })
    }

    /// The open file.
    pub fn file(&mut self) -> &mut File {
        self.file.as_mut().expect("file is present until keep()")
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Flushes the data to disk and closes the file.
    pub fn sync(&mut self) -> io::Result<()> {
        self.file().sync_all()
    }

    /// Moves the file to `dest`, replacing whatever is there (a symlink is
    /// replaced, not followed).
    pub fn persist_replace(mut self, dest: &Path) -> io::Result<()> {
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

        for dest in [&link, &dangling] {
            let mut t = TempFile::create_in(dir.path()).unwrap();
            io::Write::write_all(t.file(), b"evil").unwrap();
            let e = t.persist_new(dest).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
        }
        assert_eq!(fs::read(&target).unwrap(), b"keep");
        assert!(!outside.path().join("nope").exists());
        // No temporary file is left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
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
