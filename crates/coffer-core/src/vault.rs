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
//! Crash safety of `add`: a `pending` row is committed first, the blob is
//! written to `tmp/`, fsynced and renamed into `blobs/`, and only then does one
//! transaction make the row live and update the manifest and audit log. A crash
//! before that commit leaves a pending row, whose blob (if any) the next open
//! removes; a crash after it leaves a complete document. `rm` is the mirror
//! image (`deleting` row, unlink, delete row).

use crate::audit::{self, Event};
use crate::blob;
use crate::catalog::Catalog;
use crate::crypto;
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
use std::collections::BTreeSet;
use std::fmt;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use tracing::{debug, info, instrument, warn};

const HEADER_FILE: &str = "coffer.header";
const INDEX_FILE: &str = "index.sqlite";
const BLOBS: &str = "blobs";
const TMP: &str = "tmp";
const LOCK: &str = "lock";
const MIGRATE_LOCK: &str = "migrate.lock";
const HEADER_LOCK: &str = "header.lock";
/// Files that `init` may find in a folder left by an interrupted `init`.
const OWN_FILES: &[&str] = &[
    INDEX_FILE,
    "index.sqlite-wal",
    "index.sqlite-shm",
    BLOBS,
    TMP,
    LOCK,
    MIGRATE_LOCK,
    HEADER_LOCK,
];
/// Documents committed per index transaction during a multi-file add.
const ADD_BATCH_DOCS: usize = 64;
/// Bytes committed per index transaction during a multi-file add.
const ADD_BATCH_BYTES: u64 = 256 << 20;

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
    /// Each problem found.
    pub problems: Vec<Problem>,
    /// The audit chain's status.
    pub audit: audit::ChainStatus,
}

/// The result of [`Vault::export_all`].
#[derive(Debug, Default)]
pub struct ExportReport {
    /// Each document written, and where.
    pub exported: Vec<(DocumentInfo, PathBuf)>,
    /// Each document that failed its checks and was not written.
    pub failed: Vec<(DocumentId, crate::error::Public)>,
}

/// The result of [`Vault::repair`].
#[derive(Debug, Clone, serde::Serialize)]
pub struct RepairReport {
    /// Documents brought back.
    pub recovered: Vec<DocumentInfo>,
    /// Blob files that could not be recovered, with the reason.
    pub failed: Vec<(String, String)>,
    /// Where the old index was moved, if there was one.
    pub old_index: Option<PathBuf>,
}

/// An unlocked vault. Dropping it wipes the master key and every derived key.
pub struct Vault {
    dir: PathBuf,
    master: MasterKey,
    header: Header,
    sealer: MetaSealer,
    k_manifest: Key32,
    k_audit: Key32,
    conn: Connection,
    /// Shared lock on `VAULT/lock` for as long as the vault is open.
    _lock: File,
    /// Why the integrity record failed at unlock, if it did: reads work,
    /// writes are refused until `repair`.
    integrity: Option<&'static str>,
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vault")
            .field("generation", &self.header.generation)
            .finish_non_exhaustive()
    }
}

/// A blob written and renamed into place, waiting for its index commit.
struct Staged {
    row: DocRow,
    info: DocumentInfo,
    shard: PathBuf,
}

fn blob_path(dir: &Path, id: &[u8; 16]) -> PathBuf {
    let h = crypto::hex(id);
    dir.join(BLOBS).join(&h[..2]).join(h)
}

fn read_header(dir: &Path) -> Result<Header> {
    let bytes = match fs::read(dir.join(HEADER_FILE)) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(Error::NoVault),
        Err(e) => return Err(Error::io("reading the vault header")(e)),
    };
    Header::parse(&bytes)
}

fn open_lock(dir: &Path) -> Result<File> {
    File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(LOCK))
        .map_err(Error::io("opening the vault lock"))
}

/// Takes the vault's shared lock; first, if no other process has the vault
/// open, finishes what a crashed process left (temporary files, pending and
/// deleting rows). Needs no key.
fn lock_and_clean(dir: &Path, conn: &Connection) -> Result<File> {
    let lock = open_lock(dir)?;
    if lock.try_lock().is_ok() {
        clean_unfinished(dir, conn)?;
        lock.unlock()
            .map_err(Error::io("releasing the vault lock"))?;
    }
    lock.lock_shared()
        .map_err(Error::io("taking the vault lock"))?;
    Ok(lock)
}

fn clean_unfinished(dir: &Path, conn: &Connection) -> Result<()> {
    if let Ok(rd) = fs::read_dir(dir.join(TMP)) {
        for e in rd.flatten() {
            let _ = fs::remove_file(e.path());
        }
    }
    let ids = index::unfinished(conn)?;
    for id in &ids {
        match fs::remove_file(blob_path(dir, id)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io("removing an unfinished blob")(e)),
        }
        index::delete_row(conn, id)?;
    }
    if !ids.is_empty() {
        info!(count = ids.len(), "finished interrupted writes");
    }
    Ok(())
}

impl Vault {
    /// Creates a vault in `dir` (which must be missing or empty) and returns it
    /// unlocked with the recovery key, to be shown once.
    #[instrument(skip_all)]
    pub fn create(
        dir: &Path,
        pass: &Passphrase,
        params: KdfParams,
    ) -> Result<(Vault, RecoveryKey)> {
        pass.check_new()?;
        params.check()?;
        if dir.join(HEADER_FILE).exists() {
            return Err(Error::VaultExists);
        }
        match fs::read_dir(dir) {
            Ok(rd) => {
                for e in rd.flatten() {
                    let n = e.file_name();
                    if !OWN_FILES.iter().any(|o| n == *o) {
                        return Err(Error::VaultExists);
                    }
                }
                // Left by an interrupted `init`: no header means no document.
                for o in OWN_FILES {
                    let p = dir.join(o);
                    let _ = fs::remove_dir_all(&p).or_else(|_| fs::remove_file(&p));
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io("reading the vault folder")(e)),
        }
        fs::create_dir_all(dir.join(BLOBS)).map_err(Error::io("creating the vault folder"))?;
        fs::create_dir_all(dir.join(TMP)).map_err(Error::io("creating the vault folder"))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = fs::set_permissions(dir, fs::Permissions::from_mode(0o700));
        }

        let vault_id: [u8; 16] = crypto::random_array();
        let master = MasterKey::generate(vault_id);
        let rk = RecoveryKey::generate();
        let slots = vec![
            Slot::wrap(
                &vault_id,
                SlotKind::Passphrase(params),
                &Unlocker::Passphrase(pass),
                &master,
            )?,
            Slot::wrap(
                &vault_id,
                SlotKind::Recovery,
                &Unlocker::Recovery(&rk),
                &master,
            )?,
        ];
        let mut header = Header {
            vault_id,
            generation: 1,
            slots,
            mac: [0; 32],
        };
        let header_bytes = header.seal(&master);

        let mut conn = index::open(&dir.join(INDEX_FILE), true, &dir.join(MIGRATE_LOCK))?;
        let k_manifest = master.manifest_key();
        let k_audit = master.audit_key();
        {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut st = State::empty(header.generation);
            audit::append(&tx, &k_audit, &mut st, Event::Create, "")?;
            index::put_state(&tx, &mut st, &k_manifest, &vault_id)?;
            tx.commit()?;
        }
        // The header is written last: a folder without one holds no vault.
        fsutil::write_atomic(&dir.join(HEADER_FILE), &header_bytes)
            .map_err(Error::io("writing the vault header"))?;
        let lock = open_lock(dir)?;
        lock.lock_shared()
            .map_err(Error::io("taking the vault lock"))?;
        info!("vault created");
        Ok((Vault::assemble(dir, master, header, conn, lock, None), rk))
    }

    /// Unlocks with the passphrase.
    #[instrument(skip_all)]
    pub fn unlock(dir: &Path, pass: &Passphrase) -> Result<Vault> {
        Self::open_with(dir, &Unlocker::Passphrase(pass), Event::Unlock)
    }

    /// Unlocks with the recovery key.
    #[instrument(skip_all)]
    pub fn unlock_with_recovery(dir: &Path, rk: &RecoveryKey) -> Result<Vault> {
        Self::open_with(dir, &Unlocker::Recovery(rk), Event::Unlock)
    }

    fn open_with(dir: &Path, unlocker: &Unlocker<'_>, event: Event) -> Result<Vault> {
        let header = read_header(dir)?;
        let mut conn = index::open(&dir.join(INDEX_FILE), false, &dir.join(MIGRATE_LOCK))?;
        let lock = lock_and_clean(dir, &conn)?;
        let master = match header.unlock(unlocker) {
            Ok(m) => m,
            Err(e) => {
                if matches!(e, Error::WrongSecret) {
                    warn!("unlock failed");
                    let _ = conn.execute(
                        "INSERT INTO failed_unlocks (at_ms) VALUES (?1)",
                        [crate::time::now_ms()],
                    );
                }
                return Err(e);
            }
        };
        let k_manifest = master.manifest_key();
        let k_audit = master.audit_key();
        let vault_id = header.vault_id;
        let integrity = {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            match index::checked_state(&tx, &k_manifest, &vault_id) {
                Ok(mut st) => {
                    if header.generation < st.header_generation {
                        return Err(Error::HeaderTampered(
                            "it is older than the index (rolled back)",
                        ));
                    }
                    st.header_generation = header.generation;
                    let failed: Vec<i64> = tx
                        .prepare("SELECT at_ms FROM failed_unlocks ORDER BY at_ms")?
                        .query_map([], |r| r.get(0))?
                        .collect::<rusqlite::Result<_>>()?;
                    for at in &failed {
                        let d = format!(
                            "unauthenticated report; attempted at {}",
                            crate::time::rfc3339(*at)
                        );
                        audit::append(&tx, &k_audit, &mut st, Event::FailedUnlock, &d)?;
                    }
                    tx.execute("DELETE FROM failed_unlocks", [])?;
                    audit::append(&tx, &k_audit, &mut st, event, "")?;
                    index::put_state(&tx, &mut st, &k_manifest, &vault_id)?;
                    tx.commit()?;
                    None
                }
                Err(Error::IndexTampered(why)) => {
                    warn!(
                        reason = why,
                        "index integrity record fails; opening read-only"
                    );
                    Some(why)
                }
                Err(e) => return Err(e),
            }
        };
        info!("vault unlocked");
        Ok(Vault::assemble(dir, master, header, conn, lock, integrity))
    }

    fn assemble(
        dir: &Path,
        master: MasterKey,
        header: Header,
        conn: Connection,
        lock: File,
        integrity: Option<&'static str>,
    ) -> Vault {
        Vault {
            dir: dir.to_owned(),
            sealer: MetaSealer::new(&master.metadata_key()),
            k_manifest: master.manifest_key(),
            k_audit: master.audit_key(),
            master,
            header,
            conn,
            _lock: lock,
            integrity,
        }
    }

    /// Records a `lock` event and wipes every key (by dropping the vault).
    #[instrument(skip_all)]
    pub fn lock(self) -> Result<()> {
        if self.integrity.is_none() {
            self.write(|tx, st, v| audit::append(tx, &v.k_audit, st, Event::Lock, ""))?;
        }
        info!("vault locked");
        Ok(())
    }

    /// The folder of this vault.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Why the index's integrity record failed at unlock, if it did.
    pub fn integrity_problem(&self) -> Option<&'static str> {
        self.integrity
    }

    /// Runs `f` in one immediate transaction with the checked integrity
    /// record, then seals and stores the record.
    fn write<T>(&self, f: impl FnOnce(&Connection, &mut State, &Vault) -> Result<T>) -> Result<T> {
        if let Some(why) = self.integrity {
            return Err(Error::IndexTampered(why));
        }
        let tx = rusqlite::Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
        let mut st = index::checked_state(&tx, &self.k_manifest, &self.header.vault_id)?;
        let out = f(&tx, &mut st, self)?;
        index::put_state(&tx, &mut st, &self.k_manifest, &self.header.vault_id)?;
        tx.commit()?;
        Ok(out)
    }

    // ----- passphrase and recovery -------------------------------------------

    /// Replaces the passphrase slot. Rewraps the master key only: no document is
    /// re-encrypted. Keeps the slot's Argon2id parameters unless `params` is given.
    #[instrument(skip_all)]
    pub fn change_passphrase(&mut self, new: &Passphrase, params: Option<KdfParams>) -> Result<()> {
        self.rewrite_passphrase_slot(new, params, Event::PassphraseChange)
    }

    /// Checks a passphrase against this vault's passphrase slot without
    /// opening anything (for a UI that asks for the current one before a
    /// change). Costs one Argon2id derivation.
    #[instrument(skip_all)]
    pub fn check_passphrase(&self, pass: &Passphrase) -> Result<()> {
        self.header.unlock(&Unlocker::Passphrase(pass)).map(drop)
    }

    /// A number that changes when another connection (another process, such
    /// as the CLI) commits to the index; a cached [`Catalog`] is stale when it
    /// moves. Writes through this vault do not move it.
    pub fn data_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))?)
    }

    /// Unlocks with the recovery key and sets a new passphrase.
    #[instrument(skip_all)]
    pub fn recover(dir: &Path, rk: &RecoveryKey, new: &Passphrase) -> Result<Vault> {
        new.check_new()?;
        let mut v = Self::open_with(dir, &Unlocker::Recovery(rk), Event::Unlock)?;
        v.rewrite_passphrase_slot(new, None, Event::Recover)?;
        Ok(v)
    }

    fn rewrite_passphrase_slot(
        &mut self,
        new: &Passphrase,
        params: Option<KdfParams>,
        event: Event,
    ) -> Result<()> {
        new.check_new()?;
        if let Some(why) = self.integrity {
            return Err(Error::IndexTampered(why));
        }
        let hl = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.dir.join(HEADER_LOCK))
            .map_err(Error::io("opening the header lock"))?;
        hl.lock().map_err(Error::io("taking the header lock"))?;
        // Re-read: another process may have rewritten it since we unlocked.
        let mut header = read_header(&self.dir)?;
        if header.vault_id != self.header.vault_id {
            return Err(Error::HeaderTampered("the header now names another vault"));
        }
        let current = header.clone();
        let old_params = current.slots.iter().find_map(|s| match s.kind {
            SlotKind::Passphrase(p) => Some(p),
            SlotKind::Recovery => None,
        });
        let p = params
            .or(old_params)
            .unwrap_or(KdfParams::RFC9106_LOW_MEMORY);
        p.check()?;
        // The MAC of the header on disk must verify under our key before we
        // replace it.
        let expect = {
            let mut h = current.clone();
            h.seal(&self.master);
            h.mac
        };
        if !crypto::ct_eq(&expect, &current.mac) {
            return Err(Error::HeaderTampered("header MAC does not verify"));
        }
        let slot = Slot::wrap(
            &header.vault_id,
            SlotKind::Passphrase(p),
            &Unlocker::Passphrase(new),
            &self.master,
        )?;
        header
            .slots
            .retain(|s| !matches!(s.kind, SlotKind::Passphrase(_)));
        header.slots.insert(0, slot);
        header.generation += 1;
        let bytes = header.seal(&self.master);
        fsutil::write_atomic(&self.dir.join(HEADER_FILE), &bytes)
            .map_err(Error::io("writing the vault header"))?;
        let generation = header.generation;
        self.header = header;
        self.write(|tx, st, v| {
            st.header_generation = generation;
            audit::append(tx, &v.k_audit, st, event, "")
        })?;
        let _ = hl.unlock();
        info!(generation, "passphrase slot rewritten");
        Ok(())
    }

    // ----- adding --------------------------------------------------------------

    /// Imports files. Each document's line is reported through `on_added` only
    /// after its index transaction committed, so a reported document survives
    /// a crash. Stops at the first failure, after committing what was complete.
    #[instrument(skip_all, fields(count = paths.len()))]
    pub fn add_files(
        &self,
        paths: &[PathBuf],
        opts: &AddOptions,
        progress: &mut dyn FnMut(u64),
        on_added: &mut dyn FnMut(&DocumentInfo),
    ) -> Result<Vec<DocumentInfo>> {
        if opts.name.is_some() && paths.len() != 1 {
            return Err(Error::Invalid("--name needs exactly one file".into()));
        }
        let tags = meta::normalize_tags(&opts.tags);
        // Check every name before writing anything.
        let mut names = Vec::with_capacity(paths.len());
        for p in paths {
            let name = match &opts.name {
                Some(n) => n.clone(),
                None => p
                    .file_name()
                    .ok_or(Error::InvalidName(names::NameError::Empty))?
                    .to_str()
                    .ok_or(Error::InvalidName(names::NameError::NotUtf8))?
                    .to_owned(),
            };
            DocumentFields {
                name: name.clone(),
                tags: tags.clone(),
            }
            .check()?;
            names.push(name);
        }
        let mut done = Vec::with_capacity(paths.len());
        let mut batch: Vec<Staged> = Vec::new();
        let mut batch_bytes = 0u64;
        for (p, name) in paths.iter().zip(names) {
            // Refuse FIFOs and devices before opening: opening a FIFO blocks.
            let staged = fs::metadata(p)
                .map_err(Error::io("opening a file to add"))
                .and_then(|md| match md.is_file() {
                    true => File::open(p).map_err(Error::io("opening a file to add")),
                    false => Err(Error::Invalid("only regular files can be added".into())),
                })
                .and_then(|f| {
                    let md = f.metadata().map_err(Error::io("reading a file to add"))?;
                    if !md.is_file() {
                        return Err(Error::Invalid("only regular files can be added".into()));
                    }
                    self.stage(name, tags.clone(), f, progress)
                });
            match staged {
                Ok(s) => {
                    batch_bytes += s.row.size;
                    batch.push(s);
                }
                Err(e) => {
                    self.commit_staged(std::mem::take(&mut batch), &mut done, on_added)?;
                    return Err(e);
                }
            }
            if batch.len() >= ADD_BATCH_DOCS || batch_bytes >= ADD_BATCH_BYTES {
                self.commit_staged(std::mem::take(&mut batch), &mut done, on_added)?;
                batch_bytes = 0;
            }
        }
        self.commit_staged(batch, &mut done, on_added)?;
        Ok(done)
    }

    /// Imports one document from a stream.
    #[instrument(skip_all)]
    pub fn add_reader(
        &self,
        name: &str,
        tags: &[String],
        src: impl io::Read,
        progress: &mut dyn FnMut(u64),
    ) -> Result<DocumentInfo> {
        let tags = meta::normalize_tags(tags);
        DocumentFields {
            name: name.to_owned(),
            tags: tags.clone(),
        }
        .check()?;
        let s = self.stage(name.to_owned(), tags, src, progress)?;
        let mut done = Vec::with_capacity(1);
        self.commit_staged(vec![s], &mut done, &mut |_| {})?;
        Ok(done.remove(0))
    }

    /// Writes one blob: pending row, temporary file, fsync, rename.
    fn stage(
        &self,
        name: String,
        tags: Vec<String>,
        src: impl io::Read,
        progress: &mut dyn FnMut(u64),
    ) -> Result<Staged> {
        if let Some(why) = self.integrity {
            return Err(Error::IndexTampered(why));
        }
        let id = DocumentId::random();
        let m = Metadata {
            media_type: meta::guess_media_type(&name).into(),
            name,
            tags,
            added_ms: crate::time::now_ms(),
        };
        index::insert_pending(&self.conn, &id.0)?;
        let res = (|| -> Result<Staged> {
            let mut tmp = TempFile::create_in(&self.dir.join(TMP))
                .map_err(Error::io("creating a temporary blob"))?;
            let sealed = blob::encrypt(&self.master, id.0, &m, src, tmp.file(), progress)?;
            tmp.sync().map_err(Error::io("flushing a blob to disk"))?;
            let dest = blob_path(&self.dir, &id.0);
            let shard = dest.parent().expect("blob paths have a parent").to_owned();
            if !shard.exists() {
                fs::create_dir_all(&shard).map_err(Error::io("creating a blob folder"))?;
                fsutil::sync_dir(&self.dir.join(BLOBS))
                    .map_err(Error::io("flushing a blob folder"))?;
            }
            tmp.persist_new(&dest)
                .map_err(Error::io("moving a blob into place"))?;
            let mut row = DocRow {
                id: id.0,
                size: sealed.size,
                blob_len: sealed.blob_len,
                header_hash: sealed.header_hash,
                meta: self.sealer.seal(&id.0, &m),
                entry_mac: [0; 32],
            };
            row.entry_mac = row.compute_mac(&self.k_manifest);
            debug!(id = %id, size = sealed.size, "blob written");
            Ok(Staged {
                info: DocumentInfo::from_meta(&id.0, sealed.size, m.clone()),
                row,
                shard,
            })
        })();
        if res.is_err() {
            let _ = fs::remove_file(blob_path(&self.dir, &id.0));
            let _ = index::delete_row(&self.conn, &id.0);
        }
        res
    }

    fn commit_staged(
        &self,
        batch: Vec<Staged>,
        done: &mut Vec<DocumentInfo>,
        on_added: &mut dyn FnMut(&DocumentInfo),
    ) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let shards: BTreeSet<&Path> = batch.iter().map(|s| s.shard.as_path()).collect();
        for s in shards {
            fsutil::sync_dir(s).map_err(Error::io("flushing a blob folder"))?;
        }
        self.write(|tx, st, v| {
            for s in &batch {
                index::make_live(tx, &s.row)?;
                st.toggle(&s.row.entry_mac);
                st.doc_count += 1;
                audit::append(
                    tx,
                    &v.k_audit,
                    st,
                    Event::Add,
                    &format!("id={};size={}", s.info.id, s.row.size),
                )?;
            }
            Ok(())
        })?;
        info!(count = batch.len(), "documents added");
        for s in batch {
            on_added(&s.info);
            done.push(s.info);
        }
        Ok(())
    }

    // ----- reading -------------------------------------------------------------

    /// The decrypted catalog of every document (see [`Catalog`]).
    #[instrument(skip_all)]
    pub fn catalog(&self) -> Result<Catalog> {
        let c = Catalog::load(&self.conn, &self.sealer)?;
        debug!(count = c.len(), "catalog loaded");
        Ok(c)
    }

    /// Every document, or those matching `query` (see [`Catalog::search`]),
    /// sorted by name.
    pub fn list(&self, query: Option<&str>) -> Result<Vec<DocumentInfo>> {
        let c = self.catalog()?;
        Ok(match query {
            None => c.all().to_vec(),
            Some(q) => c.search(q).into_iter().cloned().collect(),
        })
    }

    /// Finds the live document whose id is `s` or starts with `s` (at least 6
    /// hex digits).
    pub fn resolve(&self, s: &str) -> Result<DocumentId> {
        let s = s.trim().to_ascii_lowercase();
        if s.len() < 6 || s.len() > 32 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::BadId);
        }
        if s.len() == 32 {
            let id: [u8; 16] = crypto::unhex(&s)
                .and_then(|v| v.try_into().ok())
                .ok_or(Error::BadId)?;
            return match index::live_row(&self.conn, &id)? {
                Some(_) => Ok(DocumentId(id)),
                None => Err(Error::NotFound(s)),
            };
        }
        let mut found = None;
        for id in index::live_ids(&self.conn)? {
            if crypto::hex(&id).starts_with(&s) {
                if found.is_some() {
                    return Err(Error::AmbiguousId(s));
                }
                found = Some(id);
            }
        }
        found.map(DocumentId).ok_or(Error::NotFound(s))
    }

    fn checked_row(&self, id: &DocumentId) -> Result<(DocRow, Metadata)> {
        let r =
            index::live_row(&self.conn, &id.0)?.ok_or_else(|| Error::NotFound(id.to_string()))?;
        if !crypto::ct_eq(&r.compute_mac(&self.k_manifest), &r.entry_mac) {
            return Err(Error::Corrupt {
                id: id.to_string(),
                reason: "its index entry fails its MAC",
            });
        }
        let m = self
            .sealer
            .open(&id.0, &r.meta)
            .ok_or_else(|| Error::Corrupt {
                id: id.to_string(),
                reason: "its metadata in the index fails authentication",
            })?;
        Ok((r, m))
    }

    /// One document's listing.
    pub fn info(&self, id: &DocumentId) -> Result<DocumentInfo> {
        let (r, m) = self.checked_row(id)?;
        Ok(DocumentInfo::from_meta(&id.0, r.size, m))
    }

    /// Decrypts a document into `dst`, checking it against the index. On
    /// failure `dst` may hold a prefix of authenticated plaintext.
    fn decrypt_into<W: io::Write + Send>(
        &self,
        id: &DocumentId,
        r: &DocRow,
        dst: &mut W,
        progress: &mut dyn FnMut(u64),
    ) -> Result<u64> {
        let f = match File::open(blob_path(&self.dir, &id.0)) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(Error::Corrupt {
                    id: id.to_string(),
                    reason: "its blob is missing",
                })
            }
            Err(e) => return Err(Error::io("opening a blob")(e)),
        };
        let opened = blob::decrypt(&self.master, &id.0, Some(&r.header_hash), f, dst, progress)?;
        if opened.size != r.size {
            return Err(Error::Corrupt {
                id: id.to_string(),
                reason: "its size differs from the index",
            });
        }
        Ok(opened.size)
    }

    /// Writes a document's plaintext to `out` atomically: a temporary file in
    /// the same folder, fsync, then rename (`force`) or a no-clobber link. On
    /// any failure nothing is left at `out` and no temporary file remains.
    #[instrument(skip_all, fields(id = %id))]
    pub fn export_to(
        &self,
        id: &DocumentId,
        out: &Path,
        force: bool,
        progress: &mut dyn FnMut(u64),
    ) -> Result<DocumentInfo> {
        let (r, m) = self.checked_row(id)?;
        if out.is_dir() {
            return Err(Error::Invalid(
                "the destination is a folder; give a file path".into(),
            ));
        }
        if !force && fs::symlink_metadata(out).is_ok() {
            return Err(Error::DestinationExists);
        }
        let parent = match out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        let mut tmp =
            TempFile::create_in(&parent).map_err(Error::io("creating the output file"))?;
        self.decrypt_into(id, &r, tmp.file(), progress)?;
        tmp.sync().map_err(Error::io("flushing the output file"))?;
        if force {
            tmp.persist_replace(out)
                .map_err(Error::io("moving the output file into place"))?;
        } else {
            tmp.persist_new(out).map_err(|e| match e.kind() {
                io::ErrorKind::AlreadyExists => Error::DestinationExists,
                _ => Error::io("moving the output file into place")(e),
            })?;
        }
        fsutil::sync_dir(&parent).map_err(Error::io("flushing the output folder"))?;
        self.write(|tx, st, v| {
            audit::append(tx, &v.k_audit, st, Event::Export, &format!("id={id}"))
        })?;
        info!("document exported");
        Ok(DocumentInfo::from_meta(&id.0, r.size, m))
    }

    /// Writes every document into `dir` under its stored name (made safe
    /// again), never replacing anything: a clash gets ` (1)`, ` (2)`… before
    /// the extension. Never writes through a symlink already in `dir`.
    #[instrument(skip_all)]
    pub fn export_all(&self, dir: &Path, progress: &mut dyn FnMut(u64)) -> Result<ExportReport> {
        fs::create_dir_all(dir).map_err(Error::io("creating the export folder"))?;
        let mut report = ExportReport::default();
        for id in index::live_ids(&self.conn)? {
            let id = DocumentId(id);
            match self.export_one_into(&id, dir, progress) {
                Ok(done) => report.exported.push(done),
                // A damaged document does not stop the others; a full disk does.
                Err(e @ (Error::Corrupt { .. } | Error::NotFound(_))) => {
                    report.failed.push((id, e.public()))
                }
                Err(e) => return Err(e),
            }
        }
        fsutil::sync_dir(dir).map_err(Error::io("flushing the export folder"))?;
        info!(
            count = report.exported.len(),
            failed = report.failed.len(),
            "documents exported"
        );
        Ok(report)
    }

    fn export_one_into(
        &self,
        id: &DocumentId,
        dir: &Path,
        progress: &mut dyn FnMut(u64),
    ) -> Result<(DocumentInfo, PathBuf)> {
        let (r, m) = self.checked_row(id)?;
        let mut tmp = TempFile::create_in(dir).map_err(Error::io("creating an exported file"))?;
        self.decrypt_into(id, &r, tmp.file(), progress)?;
        tmp.sync().map_err(Error::io("flushing an exported file"))?;
        let safe = names::sanitize(&m.name);
        let mut n = 0u32;
        let dest = loop {
            let candidate = dir.join(numbered(&safe, n));
            if tmp
                .try_persist_new(&candidate)
                .map_err(Error::io("moving an exported file into place"))?
            {
                break candidate;
            }
            n += 1;
            if n > 100_000 {
                return Err(Error::Invalid(
                    "too many files with this name in the export folder".into(),
                ));
            }
        };
        self.write(|tx, st, v| {
            audit::append(tx, &v.k_audit, st, Event::Export, &format!("id={id}"))
        })?;
        Ok((DocumentInfo::from_meta(&id.0, r.size, m), dest))
    }

    /// Renames a document and/or replaces its tags. Only the index changes:
    /// the blob keeps the metadata sealed at import (what `repair` restores).
    #[instrument(skip_all, fields(id = %id))]
    pub fn edit(
        &self,
        id: &DocumentId,
        name: Option<&str>,
        tags: Option<&[String]>,
    ) -> Result<DocumentInfo> {
        let (old, mut m) = self.checked_row(id)?;
        if let Some(n) = name {
            m.name = n.to_owned();
            m.media_type = meta::guess_media_type(n).into();
        }
        if let Some(t) = tags {
            m.tags = meta::normalize_tags(t);
        }
        DocumentFields {
            name: m.name.clone(),
            tags: m.tags.clone(),
        }
        .check()?;
        let mut row = DocRow {
            meta: self.sealer.seal(&id.0, &m),
            ..old.clone()
        };
        row.entry_mac = row.compute_mac(&self.k_manifest);
        self.write(|tx, st, v| {
            index::replace_meta(tx, &row, &old.entry_mac)?;
            st.toggle(&old.entry_mac);
            st.toggle(&row.entry_mac);
            audit::append(tx, &v.k_audit, st, Event::Edit, &format!("id={id}"))
        })?;
        info!("document edited");
        Ok(DocumentInfo::from_meta(&id.0, row.size, m))
    }

    /// Removes a document: its row, its blob, and its place in the manifest.
    #[instrument(skip_all, fields(id = %id))]
    pub fn remove(&self, id: &DocumentId) -> Result<()> {
        let (r, _) = self.checked_row(id)?;
        self.write(|tx, st, v| {
            index::set_state(tx, &id.0, index::DELETING)?;
            st.toggle(&r.entry_mac);
            st.doc_count = st.doc_count.saturating_sub(1);
            audit::append(tx, &v.k_audit, st, Event::Delete, &format!("id={id}"))
        })?;
        let p = blob_path(&self.dir, &id.0);
        match fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io("removing a blob")(e)),
        }
        if let Some(shard) = p.parent() {
            fsutil::sync_dir(shard).map_err(Error::io("flushing a blob folder"))?;
        }
        index::delete_row(&self.conn, &id.0)?;
        info!("document removed");
        Ok(())
    }

    // ----- integrity -----------------------------------------------------------

    /// Decrypts every document and checks it, the manifest, the integrity
    /// record, the set of blob files and the audit chain.
    #[instrument(skip_all)]
    pub fn verify(&self, progress: &mut dyn FnMut(u64)) -> Result<VerifyReport> {
        let mut problems = Vec::new();
        let state = index::state(&self.conn)?;
        let vid = self.header.vault_id;
        let state_ok = state
            .as_ref()
            .filter(|s| s.verifies(&self.k_manifest, &vid));
        if state_ok.is_none() {
            problems.push(Problem {
                id: None,
                name: None,
                code: "index_tampered",
                message: "the index's integrity record is missing or fails its MAC".into(),
            });
        }
        if let Some(s) = state_ok {
            if self.header.generation < s.header_generation {
                problems.push(Problem {
                    id: None,
                    name: None,
                    code: "header_tampered",
                    message: "the vault header is older than the index (rolled back)".into(),
                });
            }
        }
        let mut digest = State::empty(0);
        let mut count = 0u64;
        let (mut checked, mut bytes) = (0u64, 0u64);
        for id in index::live_ids(&self.conn)? {
            let id = DocumentId(id);
            let Some(r) = index::live_row(&self.conn, &id.0)? else {
                continue;
            };
            count += 1;
            digest.toggle(&r.entry_mac);
            let name = self.sealer.open(&id.0, &r.meta).map(|m| m.name);
            let mut push = |code: &'static str, message: String, name: &Option<String>| {
                problems.push(Problem {
                    id: Some(id.to_string()),
                    name: name.clone(),
                    code,
                    message,
                })
            };
            if !crypto::ct_eq(&r.compute_mac(&self.k_manifest), &r.entry_mac) {
                push("corrupt", "its index entry fails its MAC".into(), &name);
                continue;
            }
            if name.is_none() {
                push(
                    "corrupt",
                    "its metadata in the index fails authentication".into(),
                    &name,
                );
                continue;
            }
            match self.decrypt_into(&id, &r, &mut io::sink(), progress) {
                Ok(n) => {
                    checked += 1;
                    bytes += n;
                    let len = fs::metadata(blob_path(&self.dir, &id.0))
                        .map(|m| m.len())
                        .unwrap_or(0);
                    if len != r.blob_len {
                        push(
                            "corrupt",
                            "its blob's length differs from the index".into(),
                            &name,
                        );
                    }
                }
                Err(e) => push(e.code(), e.to_string(), &name),
            }
        }
        if let Some(s) = state_ok {
            if s.doc_count != count || !crypto::ct_eq(&s.digest, &digest.digest) {
                problems.push(Problem {
                    id: None,
                    name: None,
                    code: "manifest_mismatch",
                    message: format!(
                        "the index lists {count} documents but the manifest records {}: rows were removed, added or altered",
                        s.doc_count
                    ),
                });
            }
        }
        let known = index::all_ids(&self.conn)?;
        for (id, path) in self.blob_files()? {
            if !id.is_some_and(|i| known.contains(&i)) {
                let shown = id.map(|i| crypto::hex(&i)).unwrap_or_else(|| {
                    path.file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default()
                });
                problems.push(Problem {
                    id: Some(shown),
                    name: None,
                    code: "unindexed_blob",
                    message: "a blob file is not in the index (run `coffer repair` to adopt it)"
                        .into(),
                });
            }
        }
        let entries = audit::entries(&self.conn)?;
        let chain = audit::verify(&entries, &self.k_audit, state_ok);
        if !chain.ok {
            problems.push(Problem {
                id: None,
                name: None,
                code: "audit_chain",
                message: chain.problem.clone().unwrap_or_default(),
            });
        }
        info!(checked, problems = problems.len(), "verified");
        Ok(VerifyReport {
            ok: problems.is_empty(),
            documents_checked: checked,
            bytes_checked: bytes,
            problems,
            audit: chain,
        })
    }

    /// Every file under `blobs/`, with the id its name encodes (if it does).
    fn blob_files(&self) -> Result<Vec<(Option<[u8; 16]>, PathBuf)>> {
        blob_files(&self.dir)
    }

    /// The audit log and the status of its chain.
    pub fn audit_log(&self) -> Result<(Vec<audit::Entry>, audit::ChainStatus)> {
        let entries = audit::entries(&self.conn)?;
        let state = index::state(&self.conn)?;
        let ok_state = state
            .as_ref()
            .filter(|s| s.verifies(&self.k_manifest, &self.header.vault_id));
        let status = audit::verify(&entries, &self.k_audit, ok_state);
        Ok((entries, status))
    }

    /// Rebuilds the index from the blobs: moves the old index aside (kept for
    /// inspection), decrypts and authenticates every blob in full, and records
    /// each one that passes under the metadata sealed in it at import. The old
    /// audit log stays in the old index; the new log opens with a `repair` entry.
    #[instrument(skip_all)]
    pub fn repair(
        dir: &Path,
        unlocker: &Unlocker<'_>,
        progress: &mut dyn FnMut(u64),
    ) -> Result<RepairReport> {
        let header = read_header(dir)?;
        let master = header.unlock(unlocker)?;
        let lock = open_lock(dir)?;
        lock.try_lock().map_err(|_| Error::InUse)?;
        let index_path = dir.join(INDEX_FILE);
        let mut old_index = None;
        if index_path.exists() {
            let aside = dir.join(format!("{INDEX_FILE}.broken-{}", crate::time::now_ms()));
            fs::rename(&index_path, &aside).map_err(Error::io("moving the old index aside"))?;
            for ext in ["-wal", "-shm"] {
                let p = dir.join(format!("{INDEX_FILE}{ext}"));
                if p.exists() {
                    let _ = fs::rename(&p, format!("{}{ext}", aside.display()));
                }
            }
            old_index = Some(aside);
        }
        if let Ok(rd) = fs::read_dir(dir.join(TMP)) {
            for e in rd.flatten() {
                let _ = fs::remove_file(e.path());
            }
        }
        fs::create_dir_all(dir.join(TMP)).map_err(Error::io("creating the vault folder"))?;
        let mut conn = index::open(&index_path, true, &dir.join(MIGRATE_LOCK))?;
        let sealer = MetaSealer::new(&master.metadata_key());
        let k_manifest = master.manifest_key();
        let k_audit = master.audit_key();
        let mut recovered = Vec::new();
        let mut failed = Vec::new();
        let mut rows = Vec::new();
        for (id, path) in blob_files(dir)? {
            let shown = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let Some(id) = id else {
                failed.push((shown, "not a blob file name".to_string()));
                continue;
            };
            let res = File::open(&path)
                .map_err(Error::io("opening a blob"))
                .and_then(|f| blob::decrypt(&master, &id, None, f, &mut io::sink(), progress));
            match res {
                Ok(o) => {
                    let len = fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
                    let mut row = DocRow {
                        id,
                        size: o.size,
                        blob_len: len,
                        header_hash: o.header.hash(),
                        meta: sealer.seal(&id, &o.meta),
                        entry_mac: [0; 32],
                    };
                    row.entry_mac = row.compute_mac(&k_manifest);
                    recovered.push(DocumentInfo::from_meta(&id, o.size, o.meta));
                    rows.push(row);
                }
                Err(e) => failed.push((crypto::hex(&id), e.to_string())),
            }
        }
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut st = State::empty(header.generation);
        for r in &rows {
            index::insert_live(&tx, r)?;
            st.toggle(&r.entry_mac);
            st.doc_count += 1;
        }
        let detail = format!("recovered={};failed={}", recovered.len(), failed.len());
        audit::append(&tx, &k_audit, &mut st, Event::Repair, &detail)?;
        index::put_state(&tx, &mut st, &k_manifest, &header.vault_id)?;
        tx.commit()?;
        let _ = lock.unlock();
        info!(
            recovered = recovered.len(),
            failed = failed.len(),
            "index rebuilt"
        );
        recovered.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(RepairReport {
            recovered,
            failed,
            old_index,
        })
    }

    /// Test and benchmark support: the raw connection.
    #[doc(hidden)]
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Test support: the path of a document's blob.
    #[doc(hidden)]
    pub fn blob_path(&self, id: &DocumentId) -> PathBuf {
        blob_path(&self.dir, &id.0)
    }
}

fn blob_files(dir: &Path) -> Result<Vec<(Option<[u8; 16]>, PathBuf)>> {
    let mut out = Vec::new();
    let rd = match fs::read_dir(dir.join(BLOBS)) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(Error::io("listing blobs")(e)),
    };
    for shard in rd.flatten() {
        if !shard.file_type().is_ok_and(|t| t.is_dir()) {
            out.push((None, shard.path()));
            continue;
        }
        for e in fs::read_dir(shard.path())
            .map_err(Error::io("listing blobs"))?
            .flatten()
        {
            let id = e
                .file_name()
                .to_str()
                .filter(|n| n.len() == 32)
                .and_then(crypto::unhex)
                .and_then(|v| <[u8; 16]>::try_from(v).ok());
            out.push((id, e.path()));
        }
    }
    out.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(out)
}

/// `name` for 0, else `stem (n).ext`.
fn numbered(name: &str, n: u32) -> String {
    if n == 0 {
        return name.to_owned();
    }
    match name.rfind('.') {
        Some(i) if i > 0 => format!("{} ({n}){}", &name[..i], &name[i..]),
        _ => format!("{name} ({n})"),
    }
}

#[cfg(test)]
#[path = "vault_tests.rs"]
mod tests;
