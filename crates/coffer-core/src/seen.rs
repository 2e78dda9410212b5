//! This machine's record of the newest state it saw of each vault, kept
//! outside the vault folder, so that a vault folder (or only its index) put
//! back from an older copy is noticed on a machine that saw the newer one.
//!
//! ```text
//! record = "CofSeen1" || vault_id || u64be(header_generation) || u64be(audit_seq)
//!          || audit_head || HMAC[K_seen]("coffer/v2/seen" || everything before)
//! ```
//! One file per vault, named by the vault id in hex, in
//! [`crate::paths::seen_dir`]. It is rewritten after every committed write. A
//! record that is missing, unreadable, of another vault or failing its MAC
//! counts as none (first use on this machine): an attacker who can delete it
//! can only make this machine forget, never accept an older state as newer.
//!
//! `K_seen` is this machine's own: 32 random bytes in `key` beside the
//! records (owner-only), made at first use. It is not derived from the vault's
//! master key, so a key rotation (`rekey`) does not make the machine forget,
//! and whoever holds an old master key still cannot forge a record here.

use crate::crypto;
use crate::fsutil;
use crate::index::State;
use crate::secret::Key32;
use crate::Result;
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 8] = b"CofSeen1";
const LEN: usize = 8 + 16 + 8 + 8 + 32 + 32;

/// The newest state this machine saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seen {
    /// The header's generation.
    pub header_generation: u64,
    /// The newest audit entry's sequence number.
    pub audit_seq: u64,
    /// Its MAC.
    pub audit_head: [u8; 32],
}

impl Seen {
    /// What `st` (with the header generation `header_generation`) shows.
    pub fn of(st: &State, header_generation: u64) -> Seen {
        Seen {
            header_generation,
            audit_seq: st.audit_seq,
            audit_head: st.audit_head,
        }
    }
}

/// How the vault on disk compares with what this machine saw last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Older {
    /// The newest audit entry of the vault on disk.
    pub now: u64,
    /// The newest audit entry this machine saw.
    pub seen: u64,
}

/// `Some` when the vault on disk is older than `seen`, or has another history
/// (the same entry number with another MAC, or an older header).
pub fn older(disk: &Seen, seen: &Seen) -> Option<Older> {
    let o = Older {
        now: disk.audit_seq,
        seen: seen.audit_seq,
    };
    let forked =
        disk.audit_seq == seen.audit_seq && !crypto::ct_eq(&disk.audit_head, &seen.audit_head);
    (disk.audit_seq < seen.audit_seq || forked || disk.header_generation < seen.header_generation)
        .then_some(o)
}

/// How the vault on disk stands to this machine's record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Exactly the state recorded: same header generation, entry number and
    /// head. Only then does an unlock purge the trash on its own.
    Same,
    /// A later state of the same history: the recorded head is the entry
    /// of the log on disk at the recorded number.
    Later,
    /// Later by its numbers, but the log on disk can no longer show the
    /// recorded entry: it starts after it (a `repair` began a new log), or
    /// a newer header re-signed it (a key rotation). Accepted.
    Unproven,
    /// Older, or another history: reported, refused for writing.
    Older(Older),
}

/// Where the log on disk stands at the recorded entry number: what
/// [`standing`] needs from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AtSeen {
    /// The log on disk starts after that entry.
    BeforeLog,
    /// The MAC of the log's entry at that number (`None`: there is none).
    Entry(Option<[u8; 32]>),
}

/// Compares the vault on disk with this machine's record. A vault with more
/// entries whose log does not hold the recorded head at the recorded number
/// (under the same header generation) is another history, the same as an
/// older one: an old copy of the index opened elsewhere and written to
/// since (its entry numbers then pass those recorded here).
pub fn standing(disk: &Seen, seen: &Seen, at_seen: AtSeen) -> Standing {
    if let Some(o) = older(disk, seen) {
        return Standing::Older(o);
    }
    if disk.audit_seq == seen.audit_seq {
        // Same head here (another one is `older`).
        return if disk.header_generation == seen.header_generation {
            Standing::Same
        } else {
            Standing::Later
        };
    }
    match at_seen {
        AtSeen::Entry(Some(m)) if crypto::ct_eq(&m, &seen.audit_head) => Standing::Later,
        _ if disk.header_generation > seen.header_generation => Standing::Unproven,
        AtSeen::BeforeLog => Standing::Unproven,
        AtSeen::Entry(_) => Standing::Older(Older {
            now: disk.audit_seq,
            seen: seen.audit_seq,
        }),
    }
}

fn file(dir: &Path, vault_id: &[u8; 16]) -> PathBuf {
    dir.join(crypto::hex(vault_id))
}

fn body(vault_id: &[u8; 16], s: &Seen) -> Vec<u8> {
    let mut b = Vec::with_capacity(LEN);
    b.extend_from_slice(MAGIC);
    b.extend_from_slice(vault_id);
    b.extend_from_slice(&s.header_generation.to_be_bytes());
    b.extend_from_slice(&s.audit_seq.to_be_bytes());
    b.extend_from_slice(&s.audit_head);
    b
}

fn mac(k: &Key32, body: &[u8]) -> [u8; 32] {
    crypto::hmac(k, &[b"coffer/v2/seen", body])
}

/// This machine's `K_seen` in `dir`, made (32 random bytes, owner-only, never
/// replacing one that exists) at first use.
fn machine_key(dir: &Path) -> Result<Key32> {
    let path = dir.join("key");
    if let Some(b) = fsutil::read_regular(&path, 32)? {
        let k: [u8; 32] = b
            .try_into()
            .map_err(|_| crate::Error::Invalid("this machine's state key is damaged".into()))?;
        return Ok(Key32::from_bytes(k));
    }
    let d = crate::dir::Dir::open(dir).map_err(crate::Error::io("opening the state folder"))?;
    let mut t =
        fsutil::TempFile::create_in(&d).map_err(crate::Error::io("creating the state key"))?;
    let k: [u8; 32] = crypto::random_array();
    std::io::Write::write_all(t.file(), &k).map_err(crate::Error::io("writing the state key"))?;
    t.sync()
        .map_err(crate::Error::io("writing the state key"))?;
    // Two processes at once: the first link wins, the other reads it.
    if !t
        .try_persist_new(&d, "key")
        .map_err(crate::Error::io("writing the state key"))?
    {
        return machine_key(dir);
    }
    Ok(Key32::from_bytes(k))
}

fn make_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(crate::Error::io("creating the folder of the state record"))
}

/// Reads the record of `vault_id` in `dir`; `None` if there is none that
/// verifies.
pub fn load(dir: &Path, vault_id: &[u8; 16]) -> Option<Seen> {
    let bytes = fsutil::read_regular(&file(dir, vault_id), LEN as u64)
        .ok()
        .flatten()?;
    if bytes.len() != LEN || &bytes[..8] != MAGIC || bytes[8..24] != vault_id[..] {
        return None;
    }
    let k = machine_key(dir).ok()?;
    let (b, m) = bytes.split_at(LEN - 32);
    if !crypto::ct_eq(&mac(&k, b), m) {
        return None;
    }
    let u64_at = |i: usize| u64::from_be_bytes(b[i..i + 8].try_into().expect("8 bytes"));
    Some(Seen {
        header_generation: u64_at(24),
        audit_seq: u64_at(32),
        audit_head: b[40..72].try_into().expect("32 bytes"),
    })
}

/// Writes the record (the folder is created, owner-only, if missing).
pub fn store(dir: &Path, vault_id: &[u8; 16], s: &Seen) -> Result<()> {
    make_dir(dir)?;
    let k = machine_key(dir)?;
    let mut bytes = body(vault_id, s);
    let m = mac(&k, &bytes);
    bytes.extend_from_slice(&m);
    fsutil::write_atomic(&file(dir, vault_id), &bytes)
        .map_err(crate::Error::io("writing the state record"))
}

/// The folder records are kept in: [`crate::paths::seen_dir`], or in the
/// core's own unit tests the folder a test set for its thread (none by
/// default, so tests never write to the user's home).
pub fn record_dir() -> Option<PathBuf> {
    #[cfg(test)]
    {
        TEST_DIR.with(|d| d.borrow().clone())
    }
    #[cfg(not(test))]
    {
        crate::paths::seen_dir()
    }
}

#[cfg(test)]
thread_local! {
    /// The record folder of this test thread.
    pub(crate) static TEST_DIR: std::cell::RefCell<Option<PathBuf>> = const { std::cell::RefCell::new(None) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_round_trips_and_refuses_edits() {
        let t = tempfile::tempdir().unwrap();
        let id = [1u8; 16];
        let s = Seen {
            header_generation: 3,
            audit_seq: 42,
            audit_head: [9; 32],
        };
        assert_eq!(load(t.path(), &id), None);
        store(t.path(), &id, &s).unwrap();
        assert_eq!(load(t.path(), &id), Some(s));
        assert_eq!(load(t.path(), &[2; 16]), None);
        // Another machine's key: the record does not verify.
        let key = t.path().join("key");
        let mine = std::fs::read(&key).unwrap();
        std::fs::write(&key, [7u8; 32]).unwrap();
        assert_eq!(load(t.path(), &id), None);
        std::fs::write(&key, &mine).unwrap();
        let p = file(t.path(), &id);
        let mut b = std::fs::read(&p).unwrap();
        b[35] ^= 1;
        std::fs::write(&p, &b).unwrap();
        assert_eq!(load(t.path(), &id), None);
    }

    #[test]
    fn older_fewer_entries_another_history_or_an_older_header() {
        let s = Seen {
            header_generation: 2,
            audit_seq: 10,
            audit_head: [1; 32],
        };
        let at = |g, n, h| Seen {
            header_generation: g,
            audit_seq: n,
            audit_head: [h; 32],
        };
        assert_eq!(older(&at(2, 10, 1), &s), None);
        assert_eq!(older(&at(2, 11, 7), &s), None);
        assert_eq!(older(&at(2, 9, 1), &s), Some(Older { now: 9, seen: 10 }));
        assert!(older(&at(2, 10, 2), &s).is_some());
        assert!(older(&at(1, 12, 2), &s).is_some());
    }

    #[test]
    fn more_entries_of_another_history_stand_as_older() {
        let s = Seen {
            header_generation: 2,
            audit_seq: 10,
            audit_head: [1; 32],
        };
        let at = |g, n, h| Seen {
            header_generation: g,
            audit_seq: n,
            audit_head: [h; 32],
        };
        let entry = |h| AtSeen::Entry(Some([h; 32]));
        assert_eq!(standing(&at(2, 10, 1), &s, entry(1)), Standing::Same);
        assert_eq!(standing(&at(3, 10, 1), &s, entry(1)), Standing::Later);
        assert_eq!(standing(&at(2, 12, 7), &s, entry(1)), Standing::Later);
        // The recorded head is not the log's entry 10: a fork.
        let fork = Standing::Older(Older { now: 12, seen: 10 });
        assert_eq!(standing(&at(2, 12, 7), &s, entry(5)), fork);
        assert_eq!(standing(&at(2, 12, 7), &s, AtSeen::Entry(None)), fork);
        // A log re-signed under a newer header, or begun after entry 10.
        assert_eq!(standing(&at(3, 12, 7), &s, entry(5)), Standing::Unproven);
        assert_eq!(
            standing(&at(2, 12, 7), &s, AtSeen::BeforeLog),
            Standing::Unproven
        );
        assert!(matches!(
            standing(&at(2, 9, 1), &s, entry(1)),
            Standing::Older(_)
        ));
    }
}
