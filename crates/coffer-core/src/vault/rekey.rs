//! Key rotation (`coffer rekey`): every document re-encrypted under a new
//! master key, a new recovery key, and a header that only the new keys open.
//! Changing the passphrase only rewraps the master key, so an old copy of the
//! header with an old passphrase (or a leaked recovery key) still opens every
//! document; after a rotation it opens none of them.
//!
//! Crash-safe and resumable, with the vault held exclusively throughout:
//!
//! ```text
//! start   one transaction stores H', the next header: generation + 1, one
//!         passphrase slot wrapping M' under the current passphrase, sealed
//!         under M'. M' is kept nowhere else: whoever holds a key the rotation
//!         revokes (M, the recovery key, an old header) cannot learn it; the
//!         passphrase, which the rotation keeps, opens it.
//! phase 1 each document: decrypted under M and re-encrypted under M' (a new
//!         salt, the current name and tags), streamed in memory, into an
//!         unnamed file. In batches (up to 256 documents, 256 MiB or half a
//!         second, as `add`): one `syncfs` makes the new blobs' contents
//!         durable, each replaces its old blob by rename, one `syncfs` makes
//!         the renames durable, then one transaction updates the batch's rows
//!         (still under M's keys). Readers unlocking with the passphrase open
//!         H' too and read a blob under whichever of M and M' its key
//!         commitment names; a resume recognises a blob already under M'
//!         whose row was not updated, authenticates it and updates the row.
//! phase 2 one transaction moves the index to M': every row's metadata
//!         re-sealed and entry MAC recomputed, the digest folded under K'_fold,
//!         the audit log re-MACed under K'_audit and a `rekey` entry appended,
//!         the record signed under K'_manifest.
//! phase 3 H' is written over the header; then a recovery slot for a new
//!         recovery key RK' is added (generation + 1 again), RK' is shown, and
//!         the rotation's row removed.
//! ```
//! A process that dies anywhere leaves a vault that opens: before phase 2
//! commits, with the old header; after it, an unlock with the passphrase
//! finds the record verifying under M' and writes H' itself. `coffer rekey`
//! again finishes the rotation. The row is removed only once the header is
//! past it (its generation lower than the header's); a row that cannot be
//! read is never removed by Coffer (it may hold the only way to M').

use super::*;
use std::io::Read;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use zeroize::Zeroizing;

/// A rotation in progress.
pub(super) struct Pending {
    /// M', when the passphrase opened H' (a recovery-key unlock cannot).
    pub(super) next: Option<MasterKey>,
    /// H' as stored.
    pub(super) header: Vec<u8>,
    /// The index and header are already under M' (the last step remains:
    /// the recovery slot).
    pub(super) switched: bool,
}

/// The next header stored in the index, if any.
pub(super) fn stored_header(conn: &Connection) -> Option<Vec<u8>> {
    use rusqlite::OptionalExtension;
    conn.query_row("SELECT next_header FROM rekey WHERE id = 1", [], |r| {
        r.get(0)
    })
    .optional()
    .ok()?
}

/// What the stored rotation row means against the header in place.
pub(super) enum Row {
    /// No row.
    None,
    /// A row the header is past (the rotation finished): safe to remove.
    Stale,
    /// A rotation in progress or awaiting its last step.
    Pending(Pending),
}

/// Reads the rotation row against `header`; opens H' with `unlocker` when it
/// is a passphrase (one Argon2id derivation).
pub(super) fn load(conn: &Connection, header: &Header, unlocker: &Unlocker<'_>) -> Row {
    let Some(bytes) = stored_header(conn) else {
        return Row::None;
    };
    let Ok(next) = Header::parse(&bytes) else {
        // Unreadable: kept (never removed by Coffer), a rotation whose key
        // is unknown.
        return Row::Pending(Pending {
            next: None,
            header: bytes,
            switched: false,
        });
    };
    if next.vault_id != header.vault_id || next.generation < header.generation {
        return Row::Stale;
    }
    let next_key = match unlocker {
        Unlocker::Passphrase(_) => next.unlock(unlocker).ok(),
        Unlocker::Recovery(_) => None,
    };
    Row::Pending(Pending {
        next: next_key,
        header: bytes,
        switched: next.generation == header.generation,
    })
}

/// Most documents re-encrypted, made durable and updated together in phase
/// 1 (as `add` batches; a few in the core's own tests, so that their
/// rotations span several batches).
const REKEY_BATCH_DOCS: usize = if cfg!(test) { 4 } else { ADD_BATCH_DOCS };

/// One document of a phase-1 batch.
struct Rekeyed {
    /// Its row as it is (under M's keys, naming the blob under M).
    old: DocRow,
    /// Its row once the blob under M' is in place.
    new: DocRow,
    /// The blob under M', unnamed and not yet flushed; `None` when it is
    /// already in place (left by a crash before its row was updated).
    blob: Option<TempFile>,
}

/// Sends what it is given, a buffer at a time, to a [`PipeReader`].
struct PipeWriter(SyncSender<Zeroizing<Vec<u8>>>);

impl io::Write for PipeWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .send(Zeroizing::new(buf.to_vec()))
            .map_err(|_| io::Error::other("the encrypting side stopped"))?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Reads what a [`PipeWriter`] sends; the end when the writer is dropped.
struct PipeReader {
    rx: Receiver<Zeroizing<Vec<u8>>>,
    buf: Zeroizing<Vec<u8>>,
    pos: usize,
}

impl Read for PipeReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.buf.len() {
            match self.rx.recv() {
                Ok(b) => {
                    self.buf = b;
                    self.pos = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl Vault {
    /// Whether a key rotation is unfinished (`coffer rekey` finishes it).
    pub fn rekey_pending(&self) -> bool {
        self.pending.is_some()
    }

    /// Re-encrypts every document under a new master key and returns the new
    /// recovery key, to be shown once. `pass` (the current passphrase) opens
    /// the new header too. Holds the vault exclusively; resumes a rotation a
    /// previous run left unfinished. Audited (`rekey`).
    #[instrument(skip_all)]
    pub fn rekey(
        &mut self,
        pass: &Passphrase,
        progress: &mut dyn FnMut(u64),
    ) -> Result<RecoveryKey> {
        self.writable()?;
        self.check_passphrase(pass)?;
        // No other process may read blobs while they change keys.
        self._lock.try_lock().map_err(|_| Error::InUse)?;
        let res = self.rekey_alone(pass, progress);
        let _ = self._lock.unlock();
        crate::dir::lock_within(&self._lock, true, index::LOCK_WAIT)?;
        res
    }

    fn rekey_alone(
        &mut self,
        pass: &Passphrase,
        progress: &mut dyn FnMut(u64),
    ) -> Result<RecoveryKey> {
        if self.pending.is_none() {
            self.start_rekey(pass)?;
        }
        let p = self.pending.as_mut().expect("a rotation is pending");
        if !p.switched {
            if p.next.is_none() {
                p.next = Some(Header::parse(&p.header)?.unlock(&Unlocker::Passphrase(pass))?);
            }
            self.rekey_documents(progress)?;
            self.switch_to_next()?;
            crate::faults::point("rekey:after-switch", self.dir());
            let p = self.pending.take().expect("a rotation is pending");
            // Phase 3, first step: the next header; the vault is under M'.
            fsutil::write_atomic_in(&self.dirs.root, HEADER_FILE, &p.header)
                .map_err(Error::io("writing the vault header"))?;
            let next = p.next.expect("opened above");
            self.adopt_keys(Header::parse(&p.header)?, next);
        }
        self.pending = None;
        // Last step: a recovery slot for a new recovery key (generation + 1),
        // then the row goes.
        let rk = RecoveryKey::generate();
        let mut h = self.header.clone();
        h.slots
            .retain(|s| matches!(s.kind, SlotKind::Passphrase(_)));
        h.slots.push(Slot::wrap(
            &h.vault_id,
            SlotKind::Recovery,
            &Unlocker::Recovery(&rk),
            &self.master,
        )?);
        h.generation += 1;
        let bytes = h.seal(&self.master);
        fsutil::write_atomic_in(&self.dirs.root, HEADER_FILE, &bytes)
            .map_err(Error::io("writing the vault header"))?;
        let generation = h.generation;
        self.header = h;
        self.write(|tx, st, v| {
            st.header_generation = generation;
            tx.execute("DELETE FROM rekey", [])?;
            audit::append(tx, &v.k_audit, st, Event::Rekey, "done")
        })?;
        info!("key rotation finished");
        Ok(rk)
    }

    /// Takes `header` and `master` as this vault's, with every derived key.
    pub(super) fn adopt_keys(&mut self, header: Header, master: MasterKey) {
        self.sealer = MetaSealer::new(&master.metadata_key());
        self.k_manifest = master.manifest_key();
        self.k_audit = master.audit_key();
        self.folder = index::Folder::new(&master.fold_key());
        self.master = master;
        self.header = header;
    }

    fn start_rekey(&mut self, pass: &Passphrase) -> Result<()> {
        let vault_id = self.header.vault_id;
        let next = MasterKey::generate(vault_id);
        let params = self
            .header
            .slots
            .iter()
            .find_map(|s| match s.kind {
                SlotKind::Passphrase(p) => Some(p),
                SlotKind::Recovery => None,
            })
            .unwrap_or(KdfParams::RFC9106_LOW_MEMORY);
        let mut h = Header {
            vault_id,
            generation: self.header.generation + 1,
            slots: vec![Slot::wrap(
                &vault_id,
                SlotKind::Passphrase(params),
                &Unlocker::Passphrase(pass),
                &next,
            )?],
            mac: [0; 32],
        };
        let header = h.seal(&next);
        self.write(|tx, st, v| {
            tx.execute(
                "INSERT INTO rekey (id, next_header) VALUES (1, ?1)
                 ON CONFLICT(id) DO UPDATE SET next_header = ?1",
                [&header],
            )?;
            audit::append(tx, &v.k_audit, st, Event::Rekey, "start")
        })?;
        self.pending = Some(Pending {
            next: Some(next),
            header,
            switched: false,
        });
        Ok(())
    }

    /// Phase 1: every live document re-encrypted under M', in batches made
    /// durable and live together ([`Vault::rekey_commit`]).
    fn rekey_documents(&self, progress: &mut dyn FnMut(u64)) -> Result<()> {
        let mut batch: Vec<Rekeyed> = Vec::new();
        let mut bytes = 0u64;
        let mut started = std::time::Instant::now();
        // In id order: a resume meets the documents in the same order (and
        // the blobs of one shard together).
        let mut ids = index::live_ids(&self.conn)?;
        ids.sort_unstable();
        for id in ids {
            let staged = match self.rekey_stage(&id, progress) {
                Ok(s) => s,
                Err(e) => {
                    // What was complete is kept (a resume would redo it).
                    self.rekey_commit(std::mem::take(&mut batch))?;
                    return Err(e);
                }
            };
            let Some(r) = staged else { continue };
            if batch.is_empty() {
                started = std::time::Instant::now();
            }
            bytes += r.old.size;
            batch.push(r);
            if batch.len() >= REKEY_BATCH_DOCS
                || bytes >= ADD_BATCH_BYTES
                || started.elapsed() >= ADD_BATCH_TIME
            {
                self.rekey_commit(std::mem::take(&mut batch))?;
                bytes = 0;
            }
        }
        self.rekey_commit(batch)
    }

    /// Phase 1 for one document: its blob re-encrypted under M' into an
    /// unnamed file in `tmp/`, nothing flushed yet. `None` when there is
    /// nothing to do (its blob and row already under M'); a blob already
    /// under M' whose row was not updated (a crash after the rename) is
    /// authenticated in full and only its row is to be updated.
    fn rekey_stage(&self, id: &[u8; 16], progress: &mut dyn FnMut(u64)) -> Result<Option<Rekeyed>> {
        let p = self.pending.as_ref().expect("a rotation is pending");
        let next = p
            .next
            .as_ref()
            .expect("the next key is open during phase 1");
        let doc = DocumentId(*id);
        let (row, meta) = self.checked_row(&doc)?;
        let h = crypto::hex(id);
        let shard = self.dirs.blobs.subdir(&h[..2])?.ok_or(Error::Corrupt {
            id: h.clone(),
            reason: "its blob is missing",
        })?;
        let mut f = shard.open_file(&h, u64::MAX)?.ok_or(Error::Corrupt {
            id: h.clone(),
            reason: "its blob is missing",
        })?;
        let head = blob::BlobHeader::read_from(&mut f).map_err(|e| e.with_id(id))?;
        let (header_hash, blob_len, blob) = if head.open(next, Some(id)).is_ok() {
            if head.hash() == row.header_hash {
                return Ok(None);
            }
            // Replaced before a crash, its row not yet updated. The blob is
            // authenticated in full before the row points at it.
            let f = shard.open_file(&h, u64::MAX)?.ok_or(Error::Corrupt {
                id: h.clone(),
                reason: "its blob is missing",
            })?;
            let len = f.metadata().map_err(Error::io("reading a blob"))?.len();
            let o = blob::decrypt(next, id, None, f, &mut io::sink(), &mut |_| {})?;
            if o.size != row.size {
                return Err(Error::Corrupt {
                    id: h,
                    reason: "its size differs from the index",
                });
            }
            (o.header.hash(), len, None)
        } else {
            let f = shard.open_file(&h, u64::MAX)?.ok_or(Error::Corrupt {
                id: h.clone(),
                reason: "its blob is missing",
            })?;
            let mut tmp = TempFile::create_in(&self.dirs.tmp)
                .map_err(Error::io("creating a temporary blob"))?;
            let (master, expected) = (&self.master, &row.header_hash);
            let (opened, sealed) = std::thread::scope(|s| {
                let (tx, rx) = sync_channel(4);
                let reader = s.spawn(move || {
                    let mut w = PipeWriter(tx);
                    blob::decrypt(master, id, Some(expected), f, &mut w, &mut |_| {})
                });
                let src = PipeReader {
                    rx,
                    buf: Zeroizing::new(Vec::new()),
                    pos: 0,
                };
                let sealed =
                    blob::encrypt(next, *id, &meta, src, Some(row.size), tmp.file(), progress);
                (
                    reader.join().expect("the decrypting thread does not panic"),
                    sealed,
                )
            });
            // The old blob must have decrypted in full: a failure there ends
            // the stream early, and that ciphertext is never kept.
            let opened = opened?;
            let sealed = sealed?;
            if opened.size != row.size || sealed.size != row.size {
                return Err(Error::Corrupt {
                    id: h,
                    reason: "its size differs from the index",
                });
            }
            (sealed.header_hash, sealed.blob_len, Some(tmp))
        };
        let mut new = DocRow {
            header_hash,
            blob_len,
            ..row.clone()
        };
        new.entry_mac = new.compute_mac(&self.k_manifest);
        Ok(Some(Rekeyed {
            old: row,
            new,
            blob,
        }))
    }

    /// Puts a batch of re-encrypted blobs in place and updates their rows,
    /// with two flushes of the file system for the whole batch:
    ///
    /// 1. `syncfs`: every new blob's contents are on disk (still unnamed: a
    ///    crash before this loses nothing, the old blobs are in place);
    /// 2. each new blob replaces its old one by rename (a crash from here
    ///    on leaves each blob under M or, complete and flushed, under M':
    ///    a reader opens either, and a resume recognises the latter);
    /// 3. `syncfs`: the renames are on disk;
    /// 4. one transaction updates every row of the batch (still under M's
    ///    keys) and the manifest.
    fn rekey_commit(&self, mut batch: Vec<Rekeyed>) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        if batch.iter().any(|r| r.blob.is_some()) {
            let flush = |what| move |e: rustix::io::Errno| Error::io(what)(io::Error::from(e));
            crate::faults::point("rekey:before-flush", self.dir());
            rustix::fs::syncfs(self.dirs.tmp.fd())
                .map_err(flush("flushing re-encrypted blobs to disk"))?;
            // Each shard is opened (and checked) once per batch.
            let mut shards: std::collections::HashMap<String, Dir> = Default::default();
            for r in &mut batch {
                let Some(b) = r.blob.take() else { continue };
                let h = crypto::hex(&r.new.id);
                let shard = match shards.entry(h[..2].to_owned()) {
                    std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                    std::collections::hash_map::Entry::Vacant(e) => {
                        let dir = self.dirs.blobs.subdir(&h[..2])?.ok_or(Error::Corrupt {
                            id: h.clone(),
                            reason: "its blob is missing",
                        })?;
                        e.insert(dir)
                    }
                };
                b.persist_replace(shard, &h)
                    .map_err(Error::io("moving a blob into place"))?;
                crate::faults::point("rekey:after-blob", self.dir());
            }
            rustix::fs::syncfs(self.dirs.tmp.fd())
                .map_err(flush("flushing re-encrypted blob names to disk"))?;
            crate::faults::point("rekey:after-batch", self.dir());
        }
        self.write(|tx, st, v| {
            for r in &batch {
                index::replace_blob(tx, &r.new, &r.old.entry_mac)?;
                st.toggle(&v.folder, &r.old.entry_mac);
                st.toggle(&v.folder, &r.new.entry_mac);
            }
            Ok(())
        })?;
        debug!(count = batch.len(), "documents re-encrypted");
        Ok(())
    }

    /// Phase 2: the index moves to the next key in one transaction.
    fn switch_to_next(&self) -> Result<()> {
        let p = self.pending.as_ref().expect("a rotation is pending");
        let next = p
            .next
            .as_ref()
            .expect("the next key is open during phase 2");
        let next_header = Header::parse(&p.header)?;
        let vault_id = self.header.vault_id;
        let (km, ka) = (next.manifest_key(), next.audit_key());
        let (folder, sealer) = (
            index::Folder::new(&next.fold_key()),
            MetaSealer::new(&next.metadata_key()),
        );
        let tx = rusqlite::Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
        let mut st = index::checked_state(&tx, &self.k_manifest, &vault_id)?;
        index::check_manifest(&tx, &self.folder, &st)?;
        let mut rows = Vec::new();
        index::for_each_live(&tx, |r| {
            rows.push(r);
            Ok(())
        })?;
        st.digest = [0; 32];
        for r in rows {
            let m = self.sealer.open(&r.id, &r.meta).ok_or(Error::Corrupt {
                id: crypto::hex(&r.id),
                reason: "its metadata in the index fails authentication",
            })?;
            let mut new = DocRow {
                meta: sealer.seal(&r.id, &m),
                ..r.clone()
            };
            new.entry_mac = new.compute_mac(&km);
            index::replace_meta(&tx, &new, &r.entry_mac)?;
            st.toggle(&folder, &new.entry_mac);
        }
        (st.audit_seq, st.audit_head) = audit::remac(&tx, &self.k_audit, &ka, &st)?;
        st.header_generation = next_header.generation;
        audit::append(&tx, &ka, &mut st, Event::Rekey, "switched")?;
        index::put_state(&tx, &mut st, &km, &vault_id)?;
        tx.commit()?;
        Ok(())
    }
}
