//! The write path: passphrase slot, adding documents, editing and removing.

use super::*;

/// A file given to `add`, opened without blocking and checked to be a
/// regular file; it is read for exactly the size `fstat` reported.
struct Input {
    file: File,
    len: u64,
    before: rustix::fs::Stat,
}

impl Input {
    /// Opens `p` (links in the path are followed: the user chose it). A
    /// FIFO, a device or a socket is refused before it is opened, and again
    /// after (`O_NONBLOCK`: a path swapped for a FIFO never blocks).
    fn open(p: &Path) -> Result<Input> {
        use rustix::fs::{fstat, openat, stat, FileType, Mode, OFlags, CWD};
        let not_regular = || Error::Invalid("only regular files can be added".into());
        let io_err = |e: rustix::io::Errno| Error::io("opening a file to add")(e.into());
        let st = stat(p).map_err(io_err)?;
        if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
            return Err(not_regular());
        }
        let fd = openat(
            CWD,
            p,
            OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(io_err)?;
        let before = fstat(&fd).map_err(io_err)?;
        if FileType::from_raw_mode(before.st_mode) != FileType::RegularFile
            || (before.st_dev, before.st_ino) != (st.st_dev, st.st_ino)
        {
            return Err(not_regular());
        }
        Ok(Input {
            file: File::from(fd),
            len: before.st_size as u64,
            before,
        })
    }

    /// Refuses a file larger than the free space of the vault's file
    /// system (a sparse file of a terabyte would otherwise be encrypted
    /// until the disk is full).
    fn check_fits(&self, tmp: &Dir) -> Result<()> {
        #[allow(clippy::unnecessary_cast)]
        if let Ok(fs) = rustix::fs::fstatvfs(tmp.fd()) {
            let free = (fs.f_bavail as u64).saturating_mul(fs.f_frsize as u64);
            if self.len > free {
                return Err(Error::DiskFull("adding a file larger than the free space"));
            }
        }
        Ok(())
    }

    fn reader(self) -> Exact {
        Exact {
            left: self.len,
            input: self,
            changed: false,
            source_failed: false,
        }
    }
}

/// Yields exactly the size `fstat` reported at open, and notes whether the
/// file turned out longer or shorter (a file that grows while it is read,
/// or a `/proc` file that says it is empty and streams without end).
struct Exact {
    input: Input,
    left: u64,
    changed: bool,
    /// Reading the file itself failed (the failure is the file's, not the
    /// vault's).
    source_failed: bool,
}

impl io::Read for Exact {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Ok(0);
        }
        let want = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.input.file.read(&mut buf[..want]).inspect_err(|_| {
            self.source_failed = true;
        })?;
        if n == 0 {
            self.changed = true;
            return Err(io::Error::other("the file shrank while it was read"));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

impl Exact {
    fn changed() -> Error {
        Error::Invalid(
            "the file changed while it was imported (or is not a real file, such as one in /proc); it was not added"
                .into(),
        )
    }

    /// After the last byte: the file must end there and still have the size,
    /// the modification time and the identity it had at open.
    fn check_unchanged(&mut self) -> Result<()> {
        self.source_failed = true;
        let mut one = [0u8; 1];
        let longer = !matches!(io::Read::read(&mut self.input.file, &mut one), Ok(0));
        let after = rustix::fs::fstat(&self.input.file)
            .map_err(|e| Error::io("reading a file to add")(e.into()))?;
        let b = &self.input.before;
        // The change time cannot be set back by a user (unlike mtime).
        if self.changed
            || longer
            || after.st_size != b.st_size
            || (after.st_mtime, after.st_mtime_nsec) != (b.st_mtime, b.st_mtime_nsec)
            || (after.st_ctime, after.st_ctime_nsec) != (b.st_ctime, b.st_ctime_nsec)
        {
            return Err(Self::changed());
        }
        self.source_failed = false;
        Ok(())
    }
}

/// Why one file of an `add` was not staged.
enum StageError {
    /// Its own problem (its name, its type, reading it, a change while it
    /// was read): it is reported and the others go on.
    File(Error),
    /// The vault's (locked, rolled back, disk full, a write that failed):
    /// the command stops.
    Fatal(Error),
}

/// Most documents one batch of an add holds: each holds two open files (its
/// unnamed blob and a handle on `tmp/`) until the batch commits. The soft
/// limit on open files is raised toward the hard one once (the soft limit is
/// the process's own to move: Debian starts it at 1024), and a batch stays
/// well inside whatever limit results.
fn batch_docs_limit() -> usize {
    use rustix::process::{getrlimit, setrlimit, Resource};
    static LIMIT: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *LIMIT.get_or_init(|| {
        // Two per document, and room for everything else the process holds.
        const SPARE: u64 = 256;
        let want = ADD_BATCH_DOCS as u64 * 2 + SPARE;
        let now = getrlimit(Resource::Nofile);
        if let Some(cur) = now.current.filter(|c| *c < want) {
            let raised = now.maximum.map_or(want, |max| max.min(want));
            if raised > cur {
                let mut l = now;
                l.current = Some(raised);
                let _ = setrlimit(Resource::Nofile, l);
            }
        }
        let cur = getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX);
        let docs = cur.saturating_sub(SPARE) / 2;
        usize::try_from(docs).map_or(ADD_BATCH_DOCS, |d| d.clamp(8, ADD_BATCH_DOCS))
    })
}

/// The stored name a file gets from its own name.
fn own_name(p: &Path) -> Result<String> {
    Ok(p.file_name()
        .ok_or(Error::InvalidName(names::NameError::Empty))?
        .to_str()
        .ok_or(Error::InvalidName(names::NameError::NotUtf8))?
        .to_owned())
}

impl Vault {
    // ----- passphrase and recovery -------------------------------------------

    /// Replaces the passphrase slot. Rewraps the master key only: no document is
    /// re-encrypted. Keeps the slot's Argon2id parameters unless `params` is given.
    #[instrument(skip_all)]
    pub fn change_passphrase(&mut self, new: &Passphrase, params: Option<KdfParams>) -> Result<()> {
        self.rewrite_passphrase_slot(new, params, Event::PassphraseChange)
    }

    /// Checks a passphrase against this vault's passphrase slot without
    /// opening anything (for a UI that asks for the current one before a
    /// change). Costs one Argon2id derivation. A wrong passphrase is
    /// audited (`failed_check`) where the vault can be written.
    #[instrument(skip_all)]
    pub fn check_passphrase(&self, pass: &Passphrase) -> Result<()> {
        let r = self.header.unlock(&Unlocker::Passphrase(pass)).map(drop);
        if matches!(r, Err(Error::WrongSecret)) && self.writable().is_ok() {
            self.write(|tx, st, v| {
                audit::append(tx, &v.k_audit, st, Event::FailedCheck, "")?;
                Ok(())
            })?;
        }
        r
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
        self.replace_slot(
            |current| {
                let old_params = current.slots.iter().find_map(|s| match s.kind {
                    SlotKind::Passphrase(p) => Some(p),
                    SlotKind::Recovery => None,
                });
                let p = params
                    .or(old_params)
                    .unwrap_or(KdfParams::RFC9106_LOW_MEMORY);
                p.check()?;
                Ok((SlotKind::Passphrase(p), Unlocker::Passphrase(new)))
            },
            event,
        )
    }

    /// Replaces the recovery slot with one for a new recovery key, returned
    /// to be shown once. The old recovery key no longer opens this header
    /// (an old copy of the header still opens with it: see `rekey`).
    #[instrument(skip_all)]
    pub fn new_recovery_key(&mut self) -> Result<RecoveryKey> {
        let rk = RecoveryKey::generate();
        self.replace_slot(
            |_| Ok((SlotKind::Recovery, Unlocker::Recovery(&rk))),
            Event::RecoveryKeyChange,
        )?;
        Ok(rk)
    }

    /// Rewrites the header with the slot of one kind replaced: under the
    /// header lock, after re-reading the header on disk and checking that it
    /// is this vault's, not older than the one unlocked, and that its MAC
    /// verifies under this master key (so nothing of a forged header, its
    /// Argon2id parameters included, is carried over). Rewraps the master key
    /// only: no document is re-encrypted.
    fn replace_slot<'a>(
        &mut self,
        make: impl FnOnce(&Header) -> Result<(SlotKind, Unlocker<'a>)>,
        event: Event,
    ) -> Result<()> {
        self.readable()?;
        if self.pending.is_some() {
            return Err(Error::Invalid(
                "a key rotation is unfinished: run `coffer rekey` to finish it first".into(),
            ));
        }
        let hl = self.dirs.root.open_lock(HEADER_LOCK)?;
        crate::dir::lock_within(&hl, false, index::LOCK_WAIT)?;
        // Re-read: another process may have rewritten it since we unlocked.
        let mut header = open::read_header(&self.dirs.root)?;
        if header.vault_id != self.header.vault_id {
            return Err(Error::HeaderTampered("the header now names another vault"));
        }
        if header.generation < self.header.generation {
            return Err(Error::HeaderTampered(
                "it is older than the one this vault was unlocked with (rolled back)",
            ));
        }
        // The MAC of the header on disk must verify under our key before
        // anything of it is used or replaced.
        let expect = {
            let mut h = header.clone();
            h.seal(&self.master);
            h.mac
        };
        if !crypto::ct_eq(&expect, &header.mac) {
            return Err(Error::HeaderTampered("header MAC does not verify"));
        }
        let (kind, unlocker) = make(&header)?;
        let slot = Slot::wrap(&header.vault_id, kind, &unlocker, &self.master)?;
        let is_passphrase = matches!(kind, SlotKind::Passphrase(_));
        header
            .slots
            .retain(|s| matches!(s.kind, SlotKind::Passphrase(_)) != is_passphrase);
        if is_passphrase {
            header.slots.insert(0, slot);
        } else {
            header.slots.push(slot);
        }
        header.generation += 1;
        let bytes = header.seal(&self.master);
        fsutil::write_atomic_in(&self.dirs.root, HEADER_FILE, &bytes)
            .map_err(Error::io("writing the vault header"))?;
        let generation = header.generation;
        self.header = header;
        self.write(|tx, st, v| {
            st.header_generation = generation;
            audit::append(tx, &v.k_audit, st, event, "")
        })?;
        let _ = hl.unlock();
        info!(generation, "key slot rewritten");
        Ok(())
    }

    // ----- adding --------------------------------------------------------------

    /// Imports files. A file refused for itself (its own name, when
    /// `opts.name` is not given; not a regular file; missing or unreadable;
    /// changed while it was read) is reported through `on_event` as
    /// [`AddEvent::Refused`], nothing of it kept, and the others go on. Each
    /// document is reported as [`AddEvent::Added`] only after its index
    /// transaction committed, so a reported document survives a crash.
    /// What is not about one file (the vault locked by another process,
    /// rolled back, its index tampered with, a full disk, a failed write in
    /// the vault) stops the import after committing what was complete.
    /// `opts.name` and the tags are checked before anything is read.
    #[instrument(skip_all, fields(count = paths.len()))]
    pub fn add_files(
        &self,
        paths: &[PathBuf],
        opts: &AddOptions,
        progress: &mut dyn FnMut(u64),
        on_event: &mut dyn FnMut(AddEvent<'_>),
    ) -> Result<AddReport> {
        if opts.name.is_some() && paths.len() != 1 {
            return Err(Error::Invalid("--name needs exactly one file".into()));
        }
        if let Some(n) = &opts.name {
            names::validate(n)?;
        }
        let items = paths.iter().map(|p| AddItem {
            path: p.clone(),
            name: opts.name.clone(),
            hold: None,
        });
        self.add_items(items, &opts.tags, progress, on_event, &|| false)
    }

    /// [`Vault::add_files`] over items produced one at a time (a caller can
    /// open each file itself and name it), stopping between files when
    /// `stop` says so: what was read is committed and reported, and the
    /// report says it stopped.
    pub fn add_items(
        &self,
        items: impl IntoIterator<Item = AddItem>,
        tags: &[String],
        progress: &mut dyn FnMut(u64),
        on_event: &mut dyn FnMut(AddEvent<'_>),
        stop: &dyn Fn() -> bool,
    ) -> Result<AddReport> {
        let tags = meta::normalize_tags(tags);
        DocumentFields::check_tags(&tags)?;
        let batch_docs = batch_docs_limit();
        let mut report = AddReport::default();
        let mut batch: Vec<Staged> = Vec::new();
        let mut batch_bytes = 0u64;
        let mut batch_started = std::time::Instant::now();
        for item in items {
            if stop() {
                report.stopped = true;
                break;
            }
            let p = &item.path;
            let staged = match &item.name {
                Some(n) => names::validate(n).map(|()| n.clone()).map_err(Into::into),
                None => {
                    own_name(p).and_then(|n| names::validate(&n).map(|()| n).map_err(Into::into))
                }
            }
            .map_err(StageError::File)
            .and_then(|name| self.stage_file(p, name, &tags, progress));
            drop(item.hold);
            match staged {
                Ok(s) => {
                    if batch.is_empty() {
                        batch_started = std::time::Instant::now();
                    }
                    batch_bytes += s.row.size;
                    batch.push(s);
                }
                Err(StageError::File(e)) => {
                    let public = e.public();
                    on_event(AddEvent::Refused {
                        path: p,
                        error: &public,
                    });
                    report.refused.push((p.clone(), public));
                }
                Err(StageError::Fatal(e)) => {
                    self.commit_staged(std::mem::take(&mut batch), &mut report.added, &mut |d| {
                        on_event(AddEvent::Added(d))
                    })?;
                    return Err(e);
                }
            }
            if batch.len() >= batch_docs
                || batch_bytes >= ADD_BATCH_BYTES
                || (!batch.is_empty() && batch_started.elapsed() >= ADD_BATCH_TIME)
            {
                self.commit_staged(std::mem::take(&mut batch), &mut report.added, &mut |d| {
                    on_event(AddEvent::Added(d))
                })?;
                batch_bytes = 0;
            }
        }
        self.commit_staged(batch, &mut report.added, &mut |d| {
            on_event(AddEvent::Added(d))
        })?;
        if !report.refused.is_empty() {
            info!(count = report.refused.len(), "files refused");
        }
        Ok(report)
    }

    /// Stages the file at `p` under `name`, telling its own failures from
    /// the vault's.
    fn stage_file(
        &self,
        p: &Path,
        name: String,
        tags: &[String],
        progress: &mut dyn FnMut(u64),
    ) -> std::result::Result<Staged, StageError> {
        let input = Input::open(p).map_err(|e| match e {
            Error::DiskFull(_) => StageError::Fatal(e),
            e => StageError::File(e),
        })?;
        input
            .check_fits(&self.dirs.tmp)
            .map_err(StageError::Fatal)?;
        let len = input.len;
        let mut reader = input.reader();
        let res = self.stage(
            name,
            tags.to_vec(),
            &mut reader,
            Some(len),
            progress,
            Exact::check_unchanged,
        );
        match res {
            Ok(s) => Ok(s),
            Err(_) if reader.changed => Err(StageError::File(Exact::changed())),
            Err(e @ Error::DiskFull(_)) => Err(StageError::Fatal(e)),
            Err(e) if reader.source_failed => Err(StageError::File(e)),
            Err(e) => Err(StageError::Fatal(e)),
        }
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
        let mut src = src;
        let s = self.stage(name.to_owned(), tags, &mut src, None, progress, |_| Ok(()))?;
        let mut done = Vec::with_capacity(1);
        self.commit_staged(vec![s], &mut done, &mut |_| {})?;
        Ok(done.remove(0))
    }

    /// Encrypts one document into an unnamed file in `tmp/`; once
    /// `done_reading` accepts the source, it is ready for
    /// [`Vault::link_staged`]. Nothing is flushed or named yet: the batch is
    /// made durable together.
    pub(super) fn stage<R: io::Read>(
        &self,
        name: String,
        tags: Vec<String>,
        src: &mut R,
        len_hint: Option<u64>,
        progress: &mut dyn FnMut(u64),
        done_reading: impl FnOnce(&mut R) -> Result<()>,
    ) -> Result<Staged> {
        // Refused before anything is written: an index that cannot record
        // the document (integrity failed, or older than this machine saw).
        self.writable()?;
        let id = DocumentId::random();
        let m = Metadata {
            media_type: meta::guess_media_type(&name).into(),
            name,
            tags,
            added_ms: crate::time::now_ms(),
            trashed_ms: None,
        };
        let mut blob =
            TempFile::create_in(&self.dirs.tmp).map_err(Error::io("creating a temporary blob"))?;
        let sealed = blob::encrypt(
            &self.master,
            id.0,
            &m,
            &mut *src,
            len_hint,
            blob.file(),
            progress,
        )?;
        done_reading(src)?;
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
            info: DocumentInfo::from_meta(&id.0, sealed.size, m),
            row,
            blob: Some(blob),
        })
    }

    /// Makes a batch of staged blobs durable and puts them in place, with
    /// two flushes of the file system for the whole batch (group commit):
    ///
    /// 1. `syncfs`: every blob's contents are on disk;
    /// 2. one transaction records a pending row per blob (so that a crash
    ///    from here on is finished at the next unlock: adopted, never lost);
    /// 3. each blob is linked, never clobbering, into its shard;
    /// 4. `syncfs`: the names (and any new shard) are on disk.
    ///
    /// A blob that cannot be linked is dropped, and its row removed. Returns
    /// the blobs now in place, each still pending.
    pub(super) fn link_staged(&self, batch: Vec<Staged>) -> Result<Vec<Staged>> {
        if batch.is_empty() {
            return Ok(batch);
        }
        let flush = |what| move |e: rustix::io::Errno| Error::io(what)(io::Error::from(e));
        rustix::fs::syncfs(self.dirs.tmp.fd()).map_err(flush("flushing new blobs to disk"))?;
        {
            let tx = rusqlite::Transaction::new_unchecked(
                &self.conn,
                rusqlite::TransactionBehavior::Immediate,
            )?;
            for s in batch.iter().filter(|s| s.blob.is_some()) {
                index::insert_pending(&tx, &s.row.id)?;
            }
            tx.commit()?;
        }
        let mut placed = Vec::with_capacity(batch.len());
        let mut failed = None;
        // Each shard is opened (and checked) once per batch, not per blob.
        let mut shards: std::collections::HashMap<String, Dir> = Default::default();
        for s in batch {
            let Staged { row, info, blob } = s;
            let h = crypto::hex(&row.id);
            let linked = (|| -> Result<()> {
                let shard = match shards.entry(h[..2].to_owned()) {
                    std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                    std::collections::hash_map::Entry::Vacant(e) => {
                        let dir = match self.dirs.blobs.subdir(&h[..2])? {
                            Some(shard) => shard,
                            None => self.dirs.blobs.ensure_subdir(&h[..2])?,
                        };
                        e.insert(dir)
                    }
                };
                match blob {
                    Some(b) => b
                        .persist_new(shard, &h)
                        .map_err(Error::io("moving a blob into place")),
                    // Linked by an earlier call.
                    None => Ok(()),
                }
            })();
            match linked {
                Ok(()) => placed.push(Staged {
                    row,
                    info,
                    blob: None,
                }),
                Err(e) => {
                    let _ = index::delete_row(&self.conn, &row.id);
                    failed.get_or_insert(e);
                }
            }
        }
        rustix::fs::syncfs(self.dirs.tmp.fd()).map_err(flush("flushing blob names to disk"))?;
        match failed {
            // The others are in place and pending: the caller commits them
            // before reporting the error.
            Some(e) if placed.is_empty() => Err(e),
            Some(e) => {
                warn!(code = e.code(), "a blob could not be put in place");
                Ok(placed)
            }
            None => Ok(placed),
        }
    }

    /// Links a batch ([`Vault::link_staged`]) and makes it live in one
    /// transaction; only then is each document reported (`on_added`): a
    /// document reported survives a crash.
    pub(super) fn commit_staged(
        &self,
        batch: Vec<Staged>,
        done: &mut Vec<DocumentInfo>,
        on_added: &mut dyn FnMut(&DocumentInfo),
    ) -> Result<()> {
        let batch = self.link_staged(batch)?;
        if batch.is_empty() {
            return Ok(());
        }
        self.write(|tx, st, v| {
            for s in &batch {
                index::make_live(tx, &s.row)?;
                st.toggle(&v.folder, &s.row.entry_mac);
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

    /// Finishes what a process that died left, with the key and the vault
    /// held exclusively, after the integrity check passed:
    ///
    /// - a row left pending whose blob is in place: the blob was linked only
    ///   once complete and flushed, so it is adopted (made live, audited as
    ///   an `add` after an interruption) if it decrypts and the log records no
    ///   deletion of it, and never deleted; an old copy of the index that
    ///   shows a reported document as pending cannot make Coffer delete it,
    ///   and a planted pending row cannot bring a deleted document back;
    /// - a row left deleting: its blob is removed only if the audit log holds
    ///   the `delete` entry for it (with a valid MAC), so a planted row cannot
    ///   remove a blob; otherwise the blob stays, and `verify` reports it.
    ///
    /// The rows themselves are removed (a pending row without a blob is an
    /// add that never finished).
    pub(super) fn finish_interrupted(&self) -> Result<()> {
        let rows = index::unfinished_rows(&self.conn)?;
        for (id, state) in &rows {
            let h = crypto::hex(id);
            let shard = self.dirs.blobs.subdir(&h[..2])?;
            let present = match &shard {
                Some(s) => s.check_file(&h, u64::MAX)?,
                None => false,
            };
            // A document whose deletion the log records is never adopted
            // back (a planted pending row over a kept blob).
            if *state == index::PENDING && present && !self.deletion_recorded(id)? {
                if self.adopt(id).is_ok() {
                    continue;
                }
                warn!("a blob left by an interrupted add does not decrypt; left for verify");
            }
            if *state == index::DELETING && present && self.deletion_recorded(id)? {
                let shard = shard.expect("present implies the shard");
                shard
                    .remove_file(&h)
                    .map_err(Error::io("removing a blob"))?;
                shard.sync().map_err(Error::io("flushing a blob folder"))?;
            }
            index::delete_row(&self.conn, id)?;
        }
        if !rows.is_empty() {
            info!(count = rows.len(), "finished interrupted writes");
        }
        Ok(())
    }

    /// Makes a pending row live from its complete blob.
    fn adopt(&self, id: &[u8; 16]) -> Result<()> {
        let f = self
            .open_blob(id)?
            .ok_or(Error::Invalid("the blob disappeared".into()))?;
        let len = f.metadata().map_err(Error::io("reading a blob"))?.len();
        let o = blob::decrypt(&self.master, id, None, f, &mut io::sink(), &mut |_| {})?;
        let mut row = DocRow {
            id: *id,
            size: o.size,
            blob_len: len,
            header_hash: o.header.hash(),
            meta: self.sealer.seal(id, &o.meta),
            entry_mac: [0; 32],
        };
        row.entry_mac = row.compute_mac(&self.k_manifest);
        self.write(|tx, st, v| {
            index::make_live(tx, &row)?;
            st.toggle(&v.folder, &row.entry_mac);
            st.doc_count += 1;
            let d = format!(
                "id={};size={};after an interrupted add",
                crypto::hex(id),
                row.size
            );
            audit::append(tx, &v.k_audit, st, Event::Add, &d)
        })
    }

    /// Whether the audit log holds an authentic `delete` entry for `id`.
    fn deletion_recorded(&self, id: &[u8; 16]) -> Result<bool> {
        let detail = format!("id={}", crypto::hex(id));
        let st = index::state(&self.conn)?;
        let base = st.map_or((0, [0u8; 32]), |s| (s.audit_base_seq, s.audit_base_head));
        for e in audit::entries_with(&self.conn, Event::Delete, &detail)? {
            let prev = if e.seq == base.0 + 1 {
                Some(base.1)
            } else {
                audit::mac_of(&self.conn, e.seq - 1)?
            };
            if let Some(prev) = prev {
                let want =
                    audit::entry_mac(&self.k_audit, &prev, e.seq, e.at_ms, &e.event, &e.detail);
                if crypto::ct_eq(&want, &e.mac) {
                    return Ok(true);
                }
            }
        }
        Ok(false)
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
        // An edit that changes nothing writes nothing and is not audited
        // (a script repeating a rename cannot fill the log). Read outside
        // the transaction: a concurrent change orders after this no-op.
        let (r, current) = self.checked_live_row(id)?;
        let unchanged = name.is_none_or(|n| n == current.name)
            && tags.is_none_or(|t| meta::normalize_tags(t) == current.tags);
        if unchanged {
            return Ok(DocumentInfo::from_meta(&id.0, r.size, current));
        }
        crate::faults::point("edit:before-tx", self.dir());
        // The row is read and checked inside the transaction, so a
        // concurrent edit or removal is seen, never overwritten.
        let info = self.write(|tx, st, v| {
            let (old, mut m) = v.checked_live_row_in(tx, id)?;
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
                meta: v.sealer.seal(&id.0, &m),
                ..old.clone()
            };
            row.entry_mac = row.compute_mac(&v.k_manifest);
            index::replace_meta(tx, &row, &old.entry_mac)?;
            st.toggle(&v.folder, &old.entry_mac);
            st.toggle(&v.folder, &row.entry_mac);
            audit::append(tx, &v.k_audit, st, Event::Edit, &format!("id={id}"))?;
            Ok(DocumentInfo::from_meta(&id.0, row.size, m))
        })?;
        info!("document edited");
        Ok(info)
    }
}
