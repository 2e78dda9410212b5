//! Reading: the catalog, id lookup, decryption and export.

use super::*;

impl Vault {
    // ----- reading -------------------------------------------------------------

    /// The decrypted catalog of every document (see [`Catalog`]).
    #[instrument(skip_all)]
    pub fn catalog(&self) -> Result<Catalog> {
        self.readable()?;
        let c = Catalog::load(&self.conn, &self.sealer, &self.k_manifest)?;
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

    /// Finds the document whose id is `s` or starts with `s` (at least 6
    /// hex digits), in the trash or not: reading one in the trash then
    /// fails with [`Error::InTrash`], which says more than "not found", and
    /// `restore` finds it the same way.
    pub fn resolve(&self, s: &str) -> Result<DocumentId> {
        self.readable()?;
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

    pub(super) fn checked_row(&self, id: &DocumentId) -> Result<(DocRow, Metadata)> {
        self.checked_row_in(&self.conn, id)
    }

    /// The live row of `id` read through `conn` (a transaction, for writes),
    /// its entry MAC and sealed metadata checked.
    pub(super) fn checked_row_in(
        &self,
        conn: &Connection,
        id: &DocumentId,
    ) -> Result<(DocRow, Metadata)> {
        self.readable()?;
        let r = index::live_row(conn, &id.0)?.ok_or_else(|| Error::NotFound(id.to_string()))?;
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

    /// [`Vault::checked_row_in`] for a document out of the trash:
    /// [`Error::InTrash`] for one in it (reads, exports and edits refuse it).
    pub(super) fn checked_live_row_in(
        &self,
        conn: &Connection,
        id: &DocumentId,
    ) -> Result<(DocRow, Metadata)> {
        let (r, m) = self.checked_row_in(conn, id)?;
        if m.trashed_ms.is_some() {
            return Err(Error::InTrash(id.to_string()));
        }
        Ok((r, m))
    }

    pub(super) fn checked_live_row(&self, id: &DocumentId) -> Result<(DocRow, Metadata)> {
        self.checked_live_row_in(&self.conn, id)
    }

    /// One document's listing; [`Error::InTrash`] for a document in the
    /// trash (see [`Vault::trash_list`]).
    pub fn info(&self, id: &DocumentId) -> Result<DocumentInfo> {
        let (r, m) = self.checked_live_row(id)?;
        Ok(DocumentInfo::from_meta(&id.0, r.size, m))
    }

    /// Decrypts a whole document into memory (wiped when dropped), for a
    /// preview that never touches the disk: refused with
    /// [`Error::TooLarge`] above `max` bytes, before anything is decrypted.
    /// The buffer is sized once from the index, so no reallocation leaves an
    /// unwiped copy. Audited as `preview` (the id only).
    #[instrument(skip_all, fields(id = %id))]
    pub fn read_to_memory(
        &self,
        id: &DocumentId,
        max: u64,
    ) -> Result<(DocumentInfo, zeroize::Zeroizing<Vec<u8>>)> {
        self.readable()?;
        let (r, m) = self.checked_live_row(id)?;
        if r.size > max {
            return Err(Error::TooLarge(r.size));
        }
        let len = usize::try_from(r.size).map_err(|_| Error::TooLarge(r.size))?;
        let mut buf = zeroize::Zeroizing::new(Vec::with_capacity(len));
        self.decrypt_into(id, &r, &mut Bounded(&mut buf), &mut |_| {})?;
        self.write(|tx, st, v| {
            audit::append(tx, &v.k_audit, st, Event::Preview, &format!("id={id}"))
        })?;
        Ok((DocumentInfo::from_meta(&id.0, r.size, m), buf))
    }

    /// Decrypts a document into `dst`, checking it against the index. On
    /// failure `dst` may hold a prefix of authenticated plaintext.
    pub(super) fn decrypt_into<W: io::Write + Send>(
        &self,
        id: &DocumentId,
        r: &DocRow,
        dst: &mut W,
        progress: &mut dyn FnMut(u64),
    ) -> Result<u64> {
        let missing = || Error::Corrupt {
            id: id.to_string(),
            reason: "its blob is missing",
        };
        let f = self.open_blob(&id.0)?.ok_or_else(missing)?;
        // During a key rotation a blob may already be under the next key:
        // its key commitment (checked before any plaintext) says which.
        // A blob under the next key was made by this rotation (no one else
        // holds that key); its row may lag it by one write after a crash, so
        // its header hash is not required to match (its size still is).
        let next = self.pending.as_ref().and_then(|p| p.next.as_ref());
        let (master, expected) = match next {
            Some(next) => {
                let mut peek = self.open_blob(&id.0)?.ok_or_else(missing)?;
                match blob::BlobHeader::read_from(&mut peek) {
                    Ok(h) if h.open(next, Some(&id.0)).is_ok() => (next, None),
                    _ => (&self.master, Some(&r.header_hash)),
                }
            }
            None => (&self.master, Some(&r.header_hash)),
        };
        let opened = blob::decrypt(master, &id.0, expected, f, dst, progress)?;
        if opened.size != r.size {
            return Err(Error::Corrupt {
                id: id.to_string(),
                reason: "its size differs from the index",
            });
        }
        Ok(opened.size)
    }

    /// Writes a document's plaintext to `out`: an unnamed file in the same
    /// folder, fsync, the audit entry, then a no-clobber link (or, with
    /// `force`, the old entry removed and the new file linked: never a rename
    /// from a temporary name, so a process killed at any moment leaves no
    /// named plaintext). On any failure nothing is left at `out`. The folder
    /// of `out` is the user's choice (links in it are followed); the final
    /// name is never followed.
    #[instrument(skip_all, fields(id = %id))]
    pub fn export_to(
        &self,
        id: &DocumentId,
        out: &Path,
        force: bool,
        progress: &mut dyn FnMut(u64),
    ) -> Result<DocumentInfo> {
        self.writable()?;
        let (r, m) = self.checked_live_row(id)?;
        let (dir, name) = self.destination(out, force)?;
        let mut tmp = TempFile::create_in(&dir).map_err(Error::io("creating the output file"))?;
        self.decrypt_into(id, &r, tmp.file(), progress)?;
        tmp.sync().map_err(Error::io("flushing the output file"))?;
        // Recorded before the file gets its name: an export the log cannot
        // record leaves no plaintext behind.
        self.write(|tx, st, v| {
            audit::append(tx, &v.k_audit, st, Event::Export, &format!("id={id}"))
        })?;
        place_output(tmp, &dir, &name, force)?;
        info!("document exported");
        Ok(DocumentInfo::from_meta(&id.0, r.size, m))
    }

    /// Refuses an export before any byte is written when the index cannot
    /// record it (its integrity check failed, or the vault is older than this
    /// machine saw): an export must be audited.
    pub(super) fn writable(&self) -> Result<()> {
        self.readable()?;
        match self.older {
            Some(o) => Err(Error::RolledBack {
                now: o.now,
                seen: o.seen,
            }),
            None => Ok(()),
        }
    }

    /// Writes every document (out of the trash) into `dir` under its stored name, never
    /// replacing anything. The name is the stored one where the folder's file
    /// system takes it, but for a leading dot (`_` is put before it: an export
    /// plants no hidden file) and a name a forged index made unsafe
    /// (repaired); where the file system refuses it (`EINVAL`, as FAT and
    /// NTFS do), its portable form ([`names::portable_name`]). A clash gets
    /// ` (1)`, ` (2)`… before the extension (the stem shortened if the name
    /// would grow past 255 bytes). Each change is reported
    /// ([`Exported::changes`]). Every file is one entry directly in `dir`,
    /// never written through a symlink already there. A document that fails
    /// (damaged, its blob missing or replaced by something else, a name no
    /// form of which the file system takes) is listed and the others are
    /// written; only a full disk or an index that cannot record the exports
    /// stops it.
    #[instrument(skip_all)]
    pub fn export_all(&self, dir: &Path, progress: &mut dyn FnMut(u64)) -> Result<ExportReport> {
        self.writable()?;
        let dir = Dir::create(dir).map_err(Error::io("creating the export folder"))?;
        self.refuse_vault_folder(&dir)?;
        let mut report = ExportReport::default();
        for id in index::live_ids(&self.conn)? {
            let id = DocumentId(id);
            match self.export_one_into(&id, &dir, progress) {
                Ok(done) => report.exported.push(done),
                // The trash is not exported.
                Err(Error::InTrash(_)) => {}
                Err(e @ (Error::DiskFull(_) | Error::IndexTampered(_))) => return Err(e),
                Err(e) => report.failed.push((id, e.public())),
            }
        }
        dir.sync()
            .map_err(Error::io("flushing the export folder"))?;
        info!(
            count = report.exported.len(),
            failed = report.failed.len(),
            renamed = report
                .exported
                .iter()
                .filter(|e| !e.changes.is_empty())
                .count(),
            "documents exported"
        );
        Ok(report)
    }

    /// Refuses `dir` when it is the vault folder, its `tmp/`, its `blobs/`
    /// or a shard of it (a folder whose parent is `blobs/`), by device and
    /// inode, whatever path named it: a file written there could replace
    /// the header, the index or a blob.
    pub(super) fn refuse_vault_folder(&self, dir: &Dir) -> Result<()> {
        let own = [&self.dirs.root, &self.dirs.tmp, &self.dirs.blobs]
            .iter()
            .map(|d| d.own_identity())
            .collect::<io::Result<Vec<_>>>()
            .map_err(Error::io("reading the vault folder"))?;
        let this = dir
            .own_identity()
            .map_err(Error::io("reading the destination folder"))?;
        let parent = dir
            .parent_identity()
            .map_err(Error::io("reading the destination folder"))?;
        if own.contains(&this) || parent == own[2] {
            return Err(Error::DestinationInVault);
        }
        Ok(())
    }

    /// The folder and final name of an output file the user named (`get
    /// --out`, `share --out`): the folder is opened following links (the
    /// user's choice), the final name is never followed. Refuses a path
    /// without a file name (`..`, `/`), a folder of the vault
    /// ([`Vault::refuse_vault_folder`]), a folder, a FIFO, a socket or a
    /// device at the name, and, without `force`, any existing entry (a
    /// dangling symlink included).
    pub(super) fn destination(&self, out: &Path, force: bool) -> Result<(Dir, String)> {
        let (parent, name) = fsutil::split(out)
            .map_err(|_| Error::Invalid("the destination needs a file name in UTF-8".into()))?;
        let dir = Dir::open(&parent).map_err(Error::io("opening the destination folder"))?;
        self.refuse_vault_folder(&dir)?;
        match dir
            .kind(&name)
            .map_err(Error::io("reading the destination folder"))?
        {
            Some(crate::dir::Kind::Dir) => {
                return Err(Error::Invalid(
                    "the destination is a folder; give a file path".into(),
                ))
            }
            Some(crate::dir::Kind::Other(what)) if what != crate::dir::SYMLINK => {
                return Err(Error::DestinationNotAFile)
            }
            Some(_) if !force => return Err(Error::DestinationExists),
            _ => {}
        }
        Ok((dir, name))
    }

    fn export_one_into(
        &self,
        id: &DocumentId,
        dir: &Dir,
        progress: &mut dyn FnMut(u64),
    ) -> Result<Exported> {
        let (r, m) = self.checked_live_row(id)?;
        let mut tmp = TempFile::create_in(dir).map_err(Error::io("creating an exported file"))?;
        self.decrypt_into(id, &r, tmp.file(), progress)?;
        tmp.sync().map_err(Error::io("flushing an exported file"))?;
        self.write(|tx, st, v| {
            audit::append(tx, &v.k_audit, st, Event::Export, &format!("id={id}"))
        })?;
        let (name, changes) = place(&mut tmp, dir, &m.name)?;
        Ok(Exported {
            info: DocumentInfo::from_meta(&id.0, r.size, m),
            path: dir.path().join(name),
            changes,
        })
    }
}

/// Whether an error from naming a file says that the file system does not
/// take that name (FAT, exFAT and NTFS on Linux answer `EINVAL`).
fn refused_name(e: &io::Error) -> bool {
    e.raw_os_error() == Some(rustix::io::Errno::INVAL.raw_os_error())
}

/// Gives the finished, synced `tmp` the name `name` in `dir`: a no-clobber
/// link, or with `force` the old entry removed first (a symlink there is
/// replaced, never followed), then the folder synced.
pub(super) fn place_output(tmp: TempFile, dir: &Dir, name: &str, force: bool) -> Result<()> {
    let placed = if crate::faults::refuses_name(dir.path(), name) {
        Err(io::Error::from(rustix::io::Errno::INVAL))
    } else if force {
        tmp.persist_over(dir, name)
    } else {
        tmp.persist_new(dir, name)
    };
    placed.map_err(|e| match e.kind() {
        _ if refused_name(&e) => Error::NameNotAccepted,
        _ if fsutil::is_not_replaceable(&e) => Error::DestinationNotAFile,
        io::ErrorKind::AlreadyExists if !force => Error::DestinationExists,
        _ => Error::io("moving the output file into place")(e),
    })?;
    dir.sync().map_err(Error::io("flushing the output folder"))
}

/// Gives the finished `tmp` its name in `dir` for the stored name `stored`:
/// [`names::export_name`], else (the file system refused it)
/// [`names::portable_name`]; numbered on a clash, never replacing anything.
/// Returns the name and what was changed.
fn place(tmp: &mut TempFile, dir: &Dir, stored: &str) -> Result<(String, Vec<NameChange>)> {
    let mut changes = Vec::new();
    if names::validate(stored).is_err() {
        changes.push(NameChange::Repaired);
    } else if stored.starts_with('.') {
        changes.push(NameChange::LeadingDot);
    }
    let first = names::export_name(stored);
    let portable = names::portable_name(stored);
    let mut forms = vec![first];
    if portable != forms[0] {
        forms.push(portable);
    }
    let last = forms.len() - 1;
    for (k, base) in forms.iter().enumerate() {
        if k > 0 {
            debug!("the export folder refused a name; trying its portable form");
            changes.push(NameChange::Portable);
        }
        let mut n = 0u32;
        loop {
            let candidate = numbered(base, n);
            let res = if crate::faults::refuses_name(dir.path(), &candidate) {
                Err(io::Error::from(rustix::io::Errno::INVAL))
            } else {
                tmp.try_persist_new(dir, &candidate)
            };
            match res {
                Ok(true) => {
                    if n > 0 {
                        changes.push(NameChange::Numbered);
                    }
                    return Ok((candidate, changes));
                }
                Ok(false) => {}
                Err(e) if refused_name(&e) && k < last => break,
                Err(e) if refused_name(&e) => return Err(Error::NameNotAccepted),
                Err(e) => return Err(Error::io("moving an exported file into place")(e)),
            }
            n += 1;
            if n > 100_000 {
                return Err(Error::Invalid(
                    "too many files with this name in the export folder".into(),
                ));
            }
        }
    }
    Err(Error::NameNotAccepted)
}

/// `name` for 0, else `stem (n).ext`, the stem shortened (at a character
/// boundary) so that the result stays within [`names::MAX_NAME_BYTES`].
fn numbered(name: &str, n: u32) -> String {
    if n == 0 {
        return name.to_owned();
    }
    let suffix = format!(" ({n})");
    let max = names::MAX_NAME_BYTES;
    let (stem, ext) = match name.rfind('.') {
        Some(i) if i > 0 && name.len() - i + suffix.len() < max => name.split_at(i),
        _ => (name, ""),
    };
    let mut cut = stem.len().min(max - suffix.len() - ext.len());
    while !stem.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{suffix}{ext}", &stem[..cut])
}

/// Appends to a vector without ever growing it past its capacity (a
/// reallocation would leave an unwiped copy of the plaintext behind).
struct Bounded<'a>(&'a mut Vec<u8>);

impl io::Write for Bounded<'_> {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        if self.0.len() + b.len() > self.0.capacity() {
            return Err(io::Error::other("longer than the index says"));
        }
        self.0.extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod numbered_tests {
    use super::numbered;

    #[test]
    fn numbered_names_stay_within_255_bytes_and_keep_the_extension() {
        assert_eq!(numbered("a.txt", 0), "a.txt");
        assert_eq!(numbered("a.txt", 2), "a (2).txt");
        assert_eq!(numbered(".hidden", 1), ".hidden (1)");
        for base in [
            "x".repeat(251) + ".pdf",
            "é".repeat(125) + ".pdf",
            "y".repeat(255),
        ] {
            for n in [1, 99_999] {
                let s = numbered(&base, n);
                assert!(s.len() <= 255, "{} bytes", s.len());
                assert!(s.contains(&format!(" ({n})")));
                if base.ends_with(".pdf") {
                    assert!(s.ends_with(".pdf"), "{s}");
                }
            }
        }
    }
}
