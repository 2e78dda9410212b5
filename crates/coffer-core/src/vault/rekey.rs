//! Key rotation (`coffer rekey`): every document re-encrypted under a new
//! master key, a new recovery key, and a header that only the new keys open.
//! Changing the passphrase only rewraps the master key, so an old copy of the
//! header with an old passphrase (or a leaked recovery key) still opens every
//! document; after a rotation it opens none of them.
//!
//! Crash-safe and resumable, with the vault held exclusively throughout:
//!
//! ```text
//! start   one transaction stores the rotation: AEAD[K_rekey, nonce, aad](M' || RK')
//!         with aad = "coffer/v2/rekey" || vault_id || SHA-256(H'), and H', the
//!         next header (passphrase and recovery slots for M', generation + 1),
//!         sealed under M'.
//! phase 1 each document: decrypted under M and re-encrypted under M' (a new
//!         salt, the current name and tags), streamed in memory; the new blob
//!         replaces the old by rename; then its row (still under M's keys) is
//!         updated. Readers meanwhile open a blob under whichever of M and M'
//!         its key commitment names.
//! phase 2 one transaction moves the index to M': every row's metadata
//!         re-sealed and entry MAC recomputed, the digest folded under K'_fold,
//!         the audit log re-MACed under K'_audit and a `rekey` entry appended,
//!         the record signed under K'_manifest.
//! phase 3 H' is written over the header, the rotation row removed.
//! ```
//! A process that dies anywhere leaves a vault that opens: before phase 2
//! commits, with the old header (blobs already rotated are read with M');
//! after it, the old header's unlock sees that the record verifies under M'
//! and puts H' in place itself. `coffer rekey` again finishes the rotation
//! (the same M' and RK', from the stored row). The phase column is never
//! trusted: only a record that verifies under M' moves the header forward.

use super::*;
use std::io::Read;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use zeroize::Zeroizing;

/// A rotation in progress: the next master key, recovery key and header.
pub(super) struct Pending {
    pub(super) next: MasterKey,
    rk: RecoveryKey,
    pub(super) header: Vec<u8>,
}

fn aad(vault_id: &[u8; 16], next_header: &[u8]) -> Vec<u8> {
    let mut a = b"coffer/v2/rekey".to_vec();
    a.extend_from_slice(vault_id);
    a.extend_from_slice(&crypto::sha256(&[next_header]));
    a
}

/// The rotation stored in the index, if its row opens under `master` and
/// names a header of this vault sealed under the next key. Anything else
/// (no row, a planted or stale row) is `None`.
pub(super) fn load(conn: &Connection, master: &MasterKey) -> Option<Pending> {
    use rusqlite::OptionalExtension;
    let (nonce, wrapped, header): (Vec<u8>, Vec<u8>, Vec<u8>) = conn
        .query_row(
            "SELECT nonce, wrapped, next_header FROM rekey WHERE id = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()
        .ok()??;
    let nonce: [u8; 12] = nonce.try_into().ok()?;
    let pt = Zeroizing::new(crypto::open(
        &master.rekey_key(),
        nonce,
        &aad(master.vault_id(), &header),
        &wrapped,
    )?);
    if pt.len() != 64 {
        return None;
    }
    let mut k = Zeroizing::new([0u8; 32]);
    k.copy_from_slice(&pt[..32]);
    let next = MasterKey::new(*master.vault_id(), Key32::from_bytes(*k));
    k.copy_from_slice(&pt[32..]);
    let rk = RecoveryKey::from_bytes(*k);
    let h = Header::parse(&header).ok()?;
    let mut check = h.clone();
    check.seal(&next);
    if h.vault_id != *master.vault_id() || !crypto::ct_eq(&check.mac, &h.mac) {
        return None;
    }
    Some(Pending { next, rk, header })
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
        self.readable()?;
        if let Some(o) = self.older {
            return Err(Error::RolledBack {
                now: o.now,
                seen: o.seen,
            });
        }
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
        for id in index::live_ids(&self.conn)? {
            self.rekey_one(&id, progress)?;
        }
        self.switch_to_next()?;
        crate::faults::point("rekey:after-switch", self.dir());
        let p = self.pending.take().expect("a rotation is pending");
        // Phase 3: the next header; from here on the vault is under M'.
        fsutil::write_atomic_in(&self.dirs.root, HEADER_FILE, &p.header)
            .map_err(Error::io("writing the vault header"))?;
        self.adopt_keys(Header::parse(&p.header)?, p.next);
        self.write(|tx, st, v| {
            tx.execute("DELETE FROM rekey", [])?;
            audit::append(tx, &v.k_audit, st, Event::Rekey, "done")
        })?;
        info!("key rotation finished");
        Ok(p.rk)
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
        let rk = RecoveryKey::generate();
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
            slots: vec![
                Slot::wrap(
                    &vault_id,
                    SlotKind::Passphrase(params),
                    &Unlocker::Passphrase(pass),
                    &next,
                )?,
                Slot::wrap(
                    &vault_id,
                    SlotKind::Recovery,
                    &Unlocker::Recovery(&rk),
                    &next,
                )?,
            ],
            mac: [0; 32],
        };
        let header = h.seal(&next);
        let nonce: [u8; 12] = crypto::random_array();
        let mut both = Zeroizing::new(Vec::with_capacity(64));
        both.extend_from_slice(next.key().expose());
        both.extend_from_slice(rk.expose());
        let wrapped = crypto::seal(
            &self.master.rekey_key(),
            nonce,
            &aad(&vault_id, &header),
            &both,
        );
        self.write(|tx, st, v| {
            tx.execute(
                "INSERT INTO rekey (id, phase, nonce, wrapped, next_header) VALUES (1, 1, ?1, ?2, ?3)
                 ON CONFLICT(id) DO UPDATE SET phase = 1, nonce = ?1, wrapped = ?2, next_header = ?3",
                rusqlite::params![&nonce[..], wrapped, header],
            )?;
            audit::append(tx, &v.k_audit, st, Event::Rekey, "start")
        })?;
        self.pending = Some(Pending { next, rk, header });
        Ok(())
    }

    /// Phase 1 for one document (idempotent: a blob already under M' is
    /// left as it is, its row brought up to date).
    fn rekey_one(&self, id: &[u8; 16], progress: &mut dyn FnMut(u64)) -> Result<()> {
        let p = self.pending.as_ref().expect("a rotation is pending");
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
        let (header_hash, blob_len) = if head.open(&p.next, Some(id)).is_ok() {
            if head.hash() == row.header_hash {
                return Ok(());
            }
            // Replaced before a crash, its row not yet updated. The blob is
            // authenticated in full before the row points at it.
            let f = shard.open_file(&h, u64::MAX)?.ok_or(Error::Corrupt {
                id: h.clone(),
                reason: "its blob is missing",
            })?;
            let len = f.metadata().map_err(Error::io("reading a blob"))?.len();
            let o = blob::decrypt(&p.next, id, None, f, &mut io::sink(), &mut |_| {})?;
            if o.size != row.size {
                return Err(Error::Corrupt {
                    id: h,
                    reason: "its size differs from the index",
                });
            }
            (o.header.hash(), len)
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
                let sealed = blob::encrypt(&p.next, *id, &meta, src, tmp.file(), progress);
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
            tmp.sync().map_err(Error::io("flushing a blob to disk"))?;
            tmp.persist_replace(&shard, &h)
                .map_err(Error::io("moving a blob into place"))?;
            shard.sync().map_err(Error::io("flushing a blob folder"))?;
            crate::faults::point("rekey:after-blob", self.dir());
            (sealed.header_hash, sealed.blob_len)
        };
        let mut new = DocRow {
            header_hash,
            blob_len,
            ..row.clone()
        };
        new.entry_mac = new.compute_mac(&self.k_manifest);
        self.write(|tx, st, v| {
            index::replace_blob(tx, &new, &row.entry_mac)?;
            st.toggle(&v.folder, &row.entry_mac);
            st.toggle(&v.folder, &new.entry_mac);
            Ok(())
        })
    }

    /// Phase 2: the index moves to the next key in one transaction.
    fn switch_to_next(&self) -> Result<()> {
        let p = self.pending.as_ref().expect("a rotation is pending");
        let next_header = Header::parse(&p.header)?;
        let vault_id = self.header.vault_id;
        let (km, ka) = (p.next.manifest_key(), p.next.audit_key());
        let (folder, sealer) = (
            index::Folder::new(&p.next.fold_key()),
            MetaSealer::new(&p.next.metadata_key()),
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
        tx.execute("UPDATE rekey SET phase = 2", [])?;
        index::put_state(&tx, &mut st, &km, &vault_id)?;
        tx.commit()?;
        Ok(())
    }
}
