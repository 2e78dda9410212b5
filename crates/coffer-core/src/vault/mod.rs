//! The vault: a folder holding the header, the index and one blob per document,
//! and the operations on it. Both the CLI and the desktop app use this API.
//!
//! ```text
//! VAULT/coffer.header        key slots (header.rs)
//! VAULT/index.sqlite         index, metadata, manifest, audit log (index.rs)
//! VAULT/blobs/ab/ab…(32 hex) one blob per document (blob.rs)
//! VAULT/tmp/                 blobs being written
//! VAULT/lock, migrate.lock, header.lock   advisory locks
//! ```
//!
//! Everything below `VAULT` is reached through directory handles and never
//! followed ([`crate::dir`]); an entry that is not what Coffer made is refused
//! with [`Error::FolderTampered`].
//!
//! Crash safety of `add`: a `pending` row is committed first, the blob is
//! written to `tmp/`, fsynced and renamed into `blobs/`, and only then does one
//! transaction make the row live and update the manifest and audit log. A crash
//! before that commit leaves a pending row, whose blob (if any) the next open
//! removes; a crash after it leaves a complete document. A purge is the
//! mirror image (`deleting` row, unlink, delete row); moving to the trash and
//! back is one transaction on the row's sealed metadata (see `trash.rs`).

use crate::audit::{self, Event};
use crate::blob;
use crate::catalog::Catalog;
use crate::crypto;
use crate::dir::Dir;
use crate::fsutil::{self, TempFile};
use crate::header::{Header, Slot, SlotKind, Unlocker};
use crate::index::{self, DocRow, State};
use crate::kdf::KdfParams;
use crate::keys::MasterKey;
use crate::meta::{self, MetaSealer, Metadata};
use crate::names::{self, DocumentFields};
use crate::recovery::RecoveryKey;
use crate::secret::{Key32, Passphrase};
use crate::{Error, Result};
use rusqlite::{Connection, TransactionBehavior};
use std::fmt;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use tracing::{debug, info, instrument, warn};

const HEADER_FILE: &str = "coffer.header";
const INDEX_FILE: &str = "index.sqlite";
const BLOBS: &str = "blobs";
const TMP: &str = "tmp";
const LOCK: &str = "lock";
const HEADER_LOCK: &str = "header.lock";
/// Most documents made durable and committed together during a multi-file
/// add (one `syncfs` for their contents, one for their names, one
/// transaction): each holds an open, unnamed file until then, so a batch is
/// also kept inside the limit on open files (`batch_docs_limit`). 2,048
/// small files commit in about a third of a second here; smaller batches
/// paid more flushes (256: 1.8 s for 10,000 files of 4 KiB; 2,048: 1.3 s).
const ADD_BATCH_DOCS: usize = 2048;
/// Most plaintext bytes in one batch.
const ADD_BATCH_BYTES: u64 = 256 << 20;
/// Longest a batch waits before it is committed (and its documents
/// reported), so progress stays smooth on slow sources.
const ADD_BATCH_TIME: std::time::Duration = std::time::Duration::from_millis(500);

/// A document id: 128 random bits, shown as 32 hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DocumentId(pub [u8; 16]);

impl DocumentId {
    fn random() -> Self {
        DocumentId(crypto::random_array())
    }
}

impl fmt::Display for DocumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut buf = [0u8; 32];
        for (i, b) in self.0.iter().enumerate() {
            buf[2 * i] = DIGITS[(b >> 4) as usize];
            buf[2 * i + 1] = DIGITS[(b & 15) as usize];
        }
        f.write_str(std::str::from_utf8(&buf).expect("hex digits are ASCII"))
    }
}

impl fmt::Debug for DocumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DocumentId({self})")
    }
}

/// What the user gives with an import.
#[derive(Debug, Clone, Default)]
pub struct AddOptions {
    /// Stored name; the file's own name when `None`.
    pub name: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
}

/// What happened to one file given to [`Vault::add_files`], told as it
/// happens.
#[derive(Debug, Clone, Copy)]
pub enum AddEvent<'a> {
    /// Committed to the index: it survives a crash.
    Added(&'a DocumentInfo),
    /// Refused for itself, nothing of it kept; the other files go on.
    Refused {
        /// The path as given.
        path: &'a Path,
        /// Why, safe to show (it never repeats the name).
        error: &'a crate::error::Public,
    },
}

/// The result of [`Vault::add_files`].
#[derive(Debug, Default)]
pub struct AddReport {
    /// Documents added, in order.
    pub added: Vec<DocumentInfo>,
    /// Files refused, each with why.
    pub refused: Vec<(PathBuf, crate::error::Public)>,
    /// The caller asked to stop before every file was read ([`Vault::add_items`]).
    pub stopped: bool,
}

/// One file for [`Vault::add_items`]: where to read it, and the name to keep.
#[derive(Debug)]
pub struct AddItem {
    /// The file (any path `open` accepts: `/proc/self/fd/N` for a file the
    /// caller opened itself, checked to be that same file).
    pub path: PathBuf,
    /// The document's name; the file's own name when `None`.
    pub name: Option<String>,
    /// Kept open until the file is read (the descriptor `path` names).
    pub hold: Option<std::os::fd::OwnedFd>,
}

/// A document as listed. In JSON it also carries `added`, the time in RFC 3339.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentInfo {
    /// Its id (32 hex digits when shown).
    pub id: DocumentId,
    /// Stored name.
    pub name: String,
    /// Plaintext size in bytes.
    pub size: u64,
    /// Media type.
    pub media_type: std::borrow::Cow<'static, str>,
    /// Tags.
    pub tags: Vec<String>,
    /// When it was added (Unix milliseconds).
    pub added_ms: i64,
}

impl serde::Serialize for DocumentInfo {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("DocumentInfo", 7)?;
        st.serialize_field("id", &self.id.to_string())?;
        st.serialize_field("name", &self.name)?;
        st.serialize_field("size", &self.size)?;
        st.serialize_field("media_type", &self.media_type)?;
        st.serialize_field("tags", &self.tags)?;
        st.serialize_field("added", &self.added())?;
        st.serialize_field("added_ms", &self.added_ms)?;
        st.end()
    }
}

impl DocumentInfo {
    /// Builds the listing of a document from its decrypted metadata.
    pub fn from_meta(id: &[u8; 16], size: u64, m: Metadata) -> Self {
        DocumentInfo {
            id: DocumentId(*id),
            added_ms: m.added_ms,
            name: m.name,
            size,
            media_type: m.media_type,
            tags: m.tags,
        }
    }

    /// When it was added, RFC 3339 in UTC.
    pub fn added(&self) -> String {
        crate::time::rfc3339(self.added_ms)
    }
}

/// One problem found by [`Vault::verify`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// The document concerned, if any.
    pub id: Option<String>,
    /// Its name, when the index still yields it.
    pub name: Option<String>,
    /// Stable code.
    pub code: &'static str,
    /// What is wrong.
    pub message: String,
}

/// The result of [`Vault::verify`].
#[derive(Debug, Clone, serde::Serialize)]
pub struct VerifyReport {
    /// Whether everything checked out.
    pub ok: bool,
    /// Documents decrypted in full.
    pub documents_checked: u64,
    /// Plaintext bytes authenticated.
    pub bytes_checked: u64,
    /// Documents in the trash (checked like the others).
    pub trashed: u64,
    /// Each problem found.
    pub problems: Vec<Problem>,
    /// The audit chain's status.
    pub audit: audit::ChainStatus,
}

/// Why an exported file's name is not exactly the stored name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum NameChange {
    /// The stored name cannot be a file name (a forged or older index): it
    /// was repaired ([`names::export_name`]).
    Repaired,
    /// It starts with a dot: written with `_` before it, never as a hidden
    /// file.
    LeadingDot,
    /// The folder's file system refused it (`EINVAL`, as FAT and NTFS do for
    /// `<>:"|?*`, device names, trailing dots): written in its portable form
    /// ([`names::portable_name`]).
    Portable,
    /// Another entry of the folder has that name: ` (n)` was added.
    Numbered,
}

impl NameChange {
    /// A stable code.
    pub fn code(&self) -> &'static str {
        match self {
            NameChange::Repaired => "repaired",
            NameChange::LeadingDot => "leading_dot",
            NameChange::Portable => "portable",
            NameChange::Numbered => "numbered",
        }
    }
}

impl fmt::Display for NameChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NameChange::Repaired => "the stored name cannot be a file name; it was repaired",
            NameChange::LeadingDot => "the name starts with a dot; `_` was put before it",
            NameChange::Portable => {
                "the folder's file system refuses this name; its portable form was used"
            }
            NameChange::Numbered => {
                "the folder already has a file of that name; a number was added"
            }
        })
    }
}

/// One document written by [`Vault::export_all`].
#[derive(Debug, Clone)]
pub struct Exported {
    /// The document.
    pub info: DocumentInfo,
    /// The file written: always directly in the export folder.
    pub path: PathBuf,
    /// Why its name differs from the stored name, in the order applied;
    /// empty when it is the stored name, byte for byte.
    pub changes: Vec<NameChange>,
}

/// The result of [`Vault::export_all`].
#[derive(Debug, Default)]
pub struct ExportReport {
    /// Each document written, where, and how its name was mapped.
    pub exported: Vec<Exported>,
    /// Each document that failed its checks and was not written.
    pub failed: Vec<(DocumentId, crate::error::Public)>,
}

/// The result of [`Vault::repair`]. Entries are named relative to the vault
/// folder (`blobs/ab/…`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct RepairReport {
    /// Documents brought back.
    pub recovered: Vec<DocumentInfo>,
    /// Where the old audit log ended, when the new log continues it (the old
    /// index was readable and verified); `None` when a new log was started.
    pub continued_log: Option<u64>,
    /// The old index's integrity record did not verify: its newest log
    /// entries cannot be vouched for (they may have been cut off).
    pub old_record_broken: bool,
    /// The documents the old index listed could not be told (its record or
    /// manifest failed): only deletions its log records are named below.
    pub listing_unknown: bool,
    /// A key rotation was in progress and is kept: `coffer rekey` (with the
    /// passphrase) finishes it.
    pub rotation_kept: bool,
    /// Recovered documents that the old index did not list, or whose
    /// deletion its audit log records (a deleted document whose blob was
    /// kept and has come back); empty when the old index could not be read.
    pub not_listed_before: Vec<DocumentInfo>,
    /// Blobs moved to their place: from, to.
    pub moved: Vec<(String, String)>,
    /// Entries left alone (a second copy, a file that is not a blob,
    /// anything that is not a regular file), with the reason.
    pub skipped: Vec<(String, String)>,
    /// Blob files that could not be recovered, with the reason.
    pub failed: Vec<(String, String)>,
    /// Where the old index was moved, if there was one.
    pub old_index: Option<PathBuf>,
}

/// The vault folder and its two subfolders, opened as handles (see
/// [`crate::dir`]): nothing below the vault folder is ever followed.
struct Dirs {
    root: Dir,
    blobs: Dir,
    tmp: Dir,
}

/// An unlocked vault. Dropping it wipes the master key and every derived key.
pub struct Vault {
    dirs: Dirs,
    master: MasterKey,
    header: Header,
    sealer: MetaSealer,
    k_manifest: Key32,
    k_audit: Key32,
    folder: index::Folder,
    conn: Connection,
    /// Shared lock on `VAULT/lock` for as long as the vault is open.
    _lock: File,
    /// Why the integrity check failed at unlock, if it did: the index is not
    /// a state the vault signed, so only `verify` and `repair` work.
    integrity: Option<&'static str>,
    /// Set when the vault is older than this machine last saw it (a rollback
    /// or a restored backup): reads work, writes are refused until the user
    /// accepts it ([`Vault::accept_older`]).
    older: Option<crate::seen::Older>,
    /// This machine's folder of state records, if any.
    record: Option<PathBuf>,
    /// A key rotation in progress (its blobs may be under the next key).
    pending: Option<rekey::Pending>,
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vault")
            .field("generation", &self.header.generation)
            .finish_non_exhaustive()
    }
}

/// A blob written and linked into place, waiting for its index commit.
struct Staged {
    row: DocRow,
    info: DocumentInfo,
    /// The encrypted blob, complete but unnamed (or under a temporary name)
    /// until the batch is linked (then taken).
    blob: Option<crate::fsutil::TempFile>,
}

mod integrity;
mod open;
mod read;
mod rekey;
mod share;
mod trash;
mod write;

pub use trash::{TrashedInfo, MAX_TRASH_RETENTION_DAYS};

impl Vault {
    fn assemble(
        dirs: Dirs,
        master: MasterKey,
        header: Header,
        conn: Connection,
        lock: File,
        integrity: Option<&'static str>,
    ) -> Vault {
        Vault {
            dirs,
            sealer: MetaSealer::new(&master.metadata_key()),
            k_manifest: master.manifest_key(),
            k_audit: master.audit_key(),
            folder: index::Folder::new(&master.fold_key()),
            master,
            header,
            conn,
            _lock: lock,
            integrity,
            older: None,
            record: crate::seen::record_dir(),
            pending: None,
        }
    }

    /// Records a `lock` event and wipes every key (by dropping the vault).
    #[instrument(skip_all)]
    pub fn lock(self) -> Result<()> {
        if self.integrity.is_none() && self.older.is_none() {
            self.write(|tx, st, v| audit::append(tx, &v.k_audit, st, Event::Lock, ""))?;
        }
        info!("vault locked");
        Ok(())
    }

    /// The folder of this vault.
    pub fn dir(&self) -> &Path {
        self.dirs.root.path()
    }

    /// Why the index's integrity check failed at unlock, if it did.
    pub fn integrity_problem(&self) -> Option<&'static str> {
        self.integrity
    }

    /// Whether the vault is older than this machine last saw it.
    pub fn older(&self) -> Option<crate::seen::Older> {
        self.older
    }

    /// Accepts a vault older than this machine last saw (a backup restored on
    /// purpose): records an `accept_older` audit entry naming both entry
    /// numbers, and from then on this state is the newest seen.
    #[instrument(skip_all)]
    pub fn accept_older(&mut self) -> Result<()> {
        let Some(o) = self.older.take() else {
            return Ok(());
        };
        let res = self.write(|tx, st, v| {
            let d = format!("now={};seen={}", o.now, o.seen);
            audit::append(tx, &v.k_audit, st, Event::AcceptOlder, &d)
        });
        if res.is_err() {
            self.older = Some(o);
        }
        res
    }

    /// Refuses reads of an index whose integrity check failed: it is not a
    /// state the vault signed.
    pub(super) fn readable(&self) -> Result<()> {
        match self.integrity {
            Some(why) => Err(Error::IndexTampered(why)),
            None => Ok(()),
        }
    }

    /// Runs `f` in one immediate transaction with the checked integrity
    /// record, then seals and stores the record, and notes the new state as
    /// the newest this machine saw.
    pub(super) fn write<T>(
        &self,
        f: impl FnOnce(&Connection, &mut State, &Vault) -> Result<T>,
    ) -> Result<T> {
        self.writable()?;
        let tx = rusqlite::Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
        let mut st = index::checked_state(&tx, &self.k_manifest, &self.header.vault_id)?;
        let out = f(&tx, &mut st, self)?;
        index::put_state(&tx, &mut st, &self.k_manifest, &self.header.vault_id)?;
        tx.commit()?;
        self.note_seen(&st)?;
        Ok(out)
    }

    /// Stores `st` as the newest state this machine saw.
    pub(super) fn note_seen(&self, st: &State) -> Result<()> {
        match &self.record {
            Some(d) => crate::seen::store(
                d,
                &self.header.vault_id,
                &crate::seen::Seen::of(st, self.header.generation),
            ),
            None => Ok(()),
        }
    }

    /// Opens a document's blob: a regular file with one link at
    /// `blobs/<2 hex>/<32 hex>`, never followed; `None` if there is none.
    pub(super) fn open_blob(&self, id: &[u8; 16]) -> Result<Option<File>> {
        let h = crypto::hex(id);
        match self.dirs.blobs.subdir(&h[..2])? {
            Some(shard) => shard.open_file(&h, u64::MAX),
            None => Ok(None),
        }
    }

    /// Test and benchmark support: the raw connection.
    #[doc(hidden)]
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Test support: the path of a document's blob.
    #[doc(hidden)]
    pub fn blob_path(&self, id: &DocumentId) -> PathBuf {
        let h = crypto::hex(&id.0);
        self.dir().join(BLOBS).join(&h[..2]).join(h)
    }
}

#[cfg(test)]
mod tests;
