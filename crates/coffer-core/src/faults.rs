//! Named points in the write paths where a test can stop a thread, so that a
//! race is played in one fixed order instead of hoping for a timing. Outside
//! the core's own tests, [`point`] compiles to nothing.
//!
//! | point                      | where                                         |
//! |----------------------------|-----------------------------------------------|
//! | `open:before-shared-lock`  | unlock, before it waits for the shared lock   |
//! | `edit:before-tx`           | rename/tag, before its transaction            |
//! | `remove:before-tx`         | purge (rm --now, emptying), before its tx     |
//! | `remove:after-tx`          | purge, rows marked deleting, before unlinking |
//! | `repair:before-swap`       | repair, the new index built, before the swap  |
//! | `rekey:before-flush`       | rekey, a batch re-encrypted, before `syncfs`  |
//! | `rekey:after-blob`         | rekey, a blob of a batch replaced (renamed)   |
//! | `rekey:after-batch`        | rekey, a batch renamed and flushed, before tx |
//! | `rekey:after-switch`       | rekey, the index switched, before the header  |
//! | `trash:before-tx`          | trash/restore, before its transaction         |
//!
//! A test can also move a vault's clock ([`Clock::advance`]): [`now_ms`]
//! then answers later for that vault (the trash's automatic purge at unlock
//! is played without waiting 30 days).
//!
//! A test can also make a point *crash* the thread ([`Crash::at`]): it panics
//! there, leaving the vault folder as a killed process would.
//!
//! And a test can make a folder answer like a FAT or NTFS file system mounted
//! on Linux ([`FatLike::at`]): [`refuses_name`] then says that a name that is
//! not portable gets `EINVAL` there, so the export fallback is played without
//! such a file system.

use std::path::Path;

/// Marks a point; a test may stop the calling thread here (only for the
/// vault at `dir`, so tests running side by side do not meet).
#[inline(always)]
pub fn point(name: &'static str, dir: &Path) {
    #[cfg(test)]
    imp::hit(name, dir);
    #[cfg(not(test))]
    let _ = (name, dir);
}

/// Whether the folder at `dir` is to refuse `name` as FAT does (`EINVAL`
/// for a name that is not portable). Only for folders a test marked with
/// [`FatLike::at`]; outside the core's own tests, never.
#[inline(always)]
pub fn refuses_name(dir: &Path, name: &str) -> bool {
    #[cfg(test)]
    return imp::refuses_name(dir, name);
    #[cfg(not(test))]
    {
        let _ = (dir, name);
        false
    }
}

/// The time for the vault at `dir`, in Unix milliseconds: the clock, moved
/// on by [`Clock::advance`] in the core's own tests.
#[inline(always)]
pub fn now_ms(dir: &Path) -> i64 {
    #[cfg(test)]
    return crate::time::now_ms() + imp::clock_offset(dir);
    #[cfg(not(test))]
    {
        let _ = dir;
        crate::time::now_ms()
    }
}

#[cfg(test)]
pub(crate) use imp::{Clock, Crash, FatLike, Pause};

#[cfg(test)]
mod imp {
    use std::path::{Path, PathBuf};
    use std::sync::{Arc, Condvar, Mutex};

    #[derive(Default)]
    struct State {
        reached: bool,
        released: bool,
    }

    /// Stops the first thread that reaches `name` for the vault at `dir`
    /// until [`Pause::release`] (or drop).
    #[derive(Clone)]
    pub(crate) struct Pause {
        name: &'static str,
        dir: PathBuf,
        state: Arc<(Mutex<State>, Condvar)>,
    }

    static PAUSES: Mutex<Vec<Pause>> = Mutex::new(Vec::new());
    static CRASHES: Mutex<Vec<(&'static str, PathBuf)>> = Mutex::new(Vec::new());

    /// Makes the first thread that reaches `name` for the vault at `dir`
    /// panic there, as if the process had been killed.
    pub(crate) struct Crash;

    impl Crash {
        pub(crate) fn at(name: &'static str, dir: &Path) {
            CRASHES
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((name, dir.to_owned()));
        }
    }

    static FAT_LIKE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
    static CLOCKS: Mutex<Vec<(PathBuf, i64)>> = Mutex::new(Vec::new());

    /// Moves the clock of the vault at `dir`.
    pub(crate) struct Clock;

    impl Clock {
        /// From now on, [`super::now_ms`] for `dir` answers `ms` later.
        pub(crate) fn advance(dir: &Path, ms: i64) {
            let mut all = CLOCKS.lock().unwrap_or_else(|e| e.into_inner());
            all.retain(|(d, _)| d != dir);
            all.push((dir.to_owned(), ms));
        }
    }

    pub(super) fn clock_offset(dir: &Path) -> i64 {
        let all = CLOCKS.lock().unwrap_or_else(|e| e.into_inner());
        all.iter().find(|(d, _)| d == dir).map_or(0, |(_, o)| *o)
    }

    /// Makes the folder at `dir` refuse names that are not portable, with
    /// `EINVAL`, as a FAT or NTFS file system mounted on Linux does.
    pub(crate) struct FatLike;

    impl FatLike {
        pub(crate) fn at(dir: &Path) {
            FAT_LIKE
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(dir.to_owned());
        }
    }

    pub(super) fn refuses_name(dir: &Path, name: &str) -> bool {
        let fat = FAT_LIKE.lock().unwrap_or_else(|e| e.into_inner());
        fat.iter().any(|d| d == dir) && crate::names::non_portable(name).is_some()
    }

    pub(super) fn hit(name: &'static str, dir: &Path) {
        let crash = {
            let mut all = CRASHES.lock().unwrap_or_else(|e| e.into_inner());
            let i = all.iter().position(|(n, d)| *n == name && d == dir);
            i.map(|i| all.remove(i)).is_some()
        };
        if crash {
            panic!("crash injected at {name}");
        }
        let found = {
            let mut all = PAUSES.lock().unwrap_or_else(|e| e.into_inner());
            let i = all.iter().position(|p| p.name == name && p.dir == dir);
            i.map(|i| all.remove(i))
        };
        if let Some(p) = found {
            let (m, cv) = &*p.state;
            let mut s = m.lock().unwrap_or_else(|e| e.into_inner());
            s.reached = true;
            cv.notify_all();
            while !s.released {
                s = cv.wait(s).unwrap_or_else(|e| e.into_inner());
            }
        }
    }

    impl Pause {
        /// Arms a pause at `name` for the vault at `dir`.
        pub(crate) fn at(name: &'static str, dir: &Path) -> Pause {
            let p = Pause {
                name,
                dir: dir.to_owned(),
                state: Arc::default(),
            };
            PAUSES
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(p.clone());
            p
        }

        /// Waits until a thread is stopped here.
        pub(crate) fn wait_reached(&self) {
            let (m, cv) = &*self.state;
            let mut s = m.lock().unwrap_or_else(|e| e.into_inner());
            while !s.reached {
                s = cv.wait(s).unwrap_or_else(|e| e.into_inner());
            }
        }

        /// Lets the stopped thread (or the next to come) go on.
        pub(crate) fn release(&self) {
            let (m, cv) = &*self.state;
            m.lock().unwrap_or_else(|e| e.into_inner()).released = true;
            cv.notify_all();
        }
    }
}
