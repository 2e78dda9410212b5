//! Verify and repair: checking every document and rebuilding the index.

use super::*;
use crate::dir::Kind;

impl Vault {
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
        if let Some(o) = self.older {
            problems.push(Problem {
                id: None,
                name: None,
                code: "rolled_back",
                message: Error::RolledBack {
                    now: o.now,
                    seen: o.seen,
                }
                .to_string(),
            });
        }
        if self.pending.is_some() {
            problems.push(Problem {
                id: None,
                name: None,
                code: "rekey_unfinished",
                message: "a key rotation is unfinished: run `coffer rekey` to finish it".into(),
            });
        }
        let mut digest = State::empty(0);
        let mut count = 0u64;
        let mut trashed: Vec<(DocumentId, Option<String>)> = Vec::new();
        let (mut checked, mut bytes) = (0u64, 0u64);
        for id in index::live_ids(&self.conn)? {
            let id = DocumentId(id);
            let Some(r) = index::live_row(&self.conn, &id.0)? else {
                continue;
            };
            count += 1;
            digest.toggle(&self.folder, &r.entry_mac);
            let meta = self.sealer.open(&id.0, &r.meta);
            let in_trash = meta.as_ref().is_some_and(|m| m.trashed_ms.is_some());
            let name = meta.map(|m| m.name);
            if in_trash {
                trashed.push((id, name.clone()));
            }
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
                    let len = self
                        .open_blob(&id.0)
                        .ok()
                        .flatten()
                        .and_then(|f| f.metadata().ok())
                        .map_or(0, |m| m.len());
                    if len != r.blob_len && self.pending.is_none() {
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
        if let Some(s) = state_ok {
            if s.trash_count != trashed.len() as u64 {
                problems.push(Problem {
                    id: None,
                    name: None,
                    code: "trash_mismatch",
                    message: format!(
                        "the index has {} documents in the trash but its record counts {}",
                        trashed.len(),
                        s.trash_count
                    ),
                });
            }
        }
        let entries = audit::entries(&self.conn)?;
        let chain = audit::verify(&entries, &self.k_audit, state_ok);
        if chain.ok && !trashed.is_empty() {
            // Each document in the trash went there by a recorded `trash`,
            // not undone by a later `restore`.
            let mut last = std::collections::HashMap::new();
            for e in &entries {
                if e.event == Event::Trash.as_str() || e.event == Event::Restore.as_str() {
                    last.insert(e.detail.as_str(), e.event.as_str());
                }
            }
            for (id, name) in &trashed {
                let detail = format!("id={id}");
                if last.get(detail.as_str()) != Some(&Event::Trash.as_str()) {
                    problems.push(Problem {
                        id: Some(id.to_string()),
                        name: name.clone(),
                        code: "trash_unrecorded",
                        message:
                            "it is in the trash, but the audit log does not record its move there"
                                .into(),
                    });
                }
            }
        }
        let known = index::all_ids(&self.conn)?;
        for f in scan_blobs(&self.dirs.blobs)? {
            let (code, message) = match (f.id, f.kind) {
                (Some(id), Kind::File { .. }) if f.canonical => {
                    if known.contains(&id) {
                        continue;
                    }
                    (
                        "unindexed_blob",
                        "a blob file is not in the index (run `coffer repair` to adopt it)",
                    )
                }
                (_, Kind::Other(_) | Kind::Dir) => (
                    "foreign_entry",
                    "an entry among the blobs is not a regular file; nothing was opened (remove it)",
                ),
                (Some(_), _) => (
                    "misplaced_blob",
                    "a blob is not at its place (wrong folder, or its name in capitals); `coffer repair` moves it",
                ),
                (None, _) => (
                    "foreign_entry",
                    "a file among the blobs is not a blob (remove it)",
                ),
            };
            problems.push(Problem {
                id: Some(f.entry),
                name: None,
                code,
                message: message.into(),
            });
        }
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
            trashed: trashed.len() as u64,
            problems,
            audit: chain,
        })
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

    /// Rebuilds the index from the blobs, under the vault's exclusive lock
    /// (taken before anything else is read). The new index is built beside
    /// the old one (`index.sqlite.rebuild`) from every blob that decrypts and
    /// authenticates in full, under the metadata sealed in it at import, and
    /// checked; only then is the old index moved aside (kept for inspection)
    /// and the new one put in its place. A failure before that leaves the old
    /// index where it was.
    ///
    /// A blob under a wrong shard or with its name in capitals is moved to its
    /// place; a second copy of a document, a file that is not a blob, or
    /// anything that is not a regular file is listed and left alone. Run
    /// again, repair finds the same documents (it is idempotent). The old
    /// audit log stays in the old index; the new log opens with a `repair`
    /// entry.
    #[instrument(skip_all)]
    pub fn repair(
        dir: &Path,
        unlocker: &Unlocker<'_>,
        progress: &mut dyn FnMut(u64),
    ) -> Result<RepairReport> {
        let root = open::open_root(dir)?;
        let lock = root.open_lock(LOCK)?;
        lock.try_lock().map_err(|_| Error::InUse)?;
        let header = open::read_header(&root)?;
        let master = header.unlock(unlocker)?;
        let (blobs, tmp) = open::check_layout(&root)?;
        index::check_entries(&root, INDEX_FILE)?;
        open::remove_own_temp_files(&[&tmp, &root])?;
        for f in index::files(REBUILD)
            .iter()
            .chain([&index::journal(REBUILD)])
        {
            // Left by an interrupted repair: ours by its name, a regular file.
            if root.check_file(f, u64::MAX)? {
                root.remove_file(f)
                    .map_err(Error::io("removing an unfinished index"))?;
            }
        }
        let sealer = MetaSealer::new(&master.metadata_key());
        let k_manifest = master.manifest_key();
        let k_audit = master.audit_key();
        let folder = index::Folder::new(&master.fold_key());
        let old = read_old_index(&root, &k_manifest, &k_audit, &folder, &header.vault_id);
        let record = crate::seen::record_dir();
        let seen = record
            .as_deref()
            .and_then(|d| crate::seen::load(d, &header.vault_id));
        let mut conn = index::open(&root, REBUILD, true)?;
        let mut report = RepairReport {
            continued_log: old.as_ref().and_then(|o| o.end).map(|(n, _)| n),
            old_record_broken: old.as_ref().is_some_and(|o| !o.record_ok),
            listing_unknown: old.as_ref().is_none_or(|o| o.live.is_none()),
            rotation_kept: false,
            not_listed_before: Vec::new(),
            recovered: Vec::new(),
            moved: Vec::new(),
            skipped: Vec::new(),
            failed: Vec::new(),
            old_index: None,
        };
        // A rotation in progress: blobs already under the next key are read
        // with it (its header opens with the passphrase), and the rotation is
        // kept for `rekey` to finish. Repair never loses the only way to M'.
        let rotation = old
            .as_ref()
            .and_then(|o| o.rotation.clone())
            .filter(|h| Header::parse(h).map_or(true, |n| n.generation > header.generation));
        let next = rotation.as_ref().and_then(|h| match unlocker {
            Unlocker::Passphrase(_) => Header::parse(h).ok()?.unlock(unlocker).ok(),
            Unlocker::Recovery(_) => None,
        });
        let mut rows = Vec::new();
        let mut found = std::collections::HashSet::new();
        let mut entries = scan_blobs(&blobs)?;
        // Blobs at their place first: a copy elsewhere never displaces one.
        entries.sort_by_key(|f| !f.canonical);
        for f in entries {
            let id = match (f.id, f.kind) {
                (_, Kind::Other(what)) => {
                    report
                        .skipped
                        .push((f.entry, format!("{what}; left alone")));
                    continue;
                }
                (_, Kind::Dir) => {
                    report
                        .skipped
                        .push((f.entry, "is a folder; left alone".into()));
                    continue;
                }
                (None, _) => {
                    report
                        .skipped
                        .push((f.entry, "not a blob file name; left alone".into()));
                    continue;
                }
                (Some(id), _) => id,
            };
            let h = crypto::hex(&id);
            if found.contains(&id) {
                report.skipped.push((
                    f.entry,
                    format!("a second copy of document {h}; left alone"),
                ));
                continue;
            }
            let res = f.open(&blobs).and_then(|file| {
                let len = file.metadata().map_err(Error::io("reading a blob"))?.len();
                let o = match blob::decrypt(&master, &id, None, file, &mut io::sink(), progress) {
                    Ok(o) => o,
                    Err(e) => match &next {
                        Some(next) => {
                            let again = f.open(&blobs)?;
                            blob::decrypt(next, &id, None, again, &mut io::sink(), progress)?
                        }
                        None => return Err(e),
                    },
                };
                Ok((o, len))
            });
            let (o, len) = match res {
                Ok(x) => x,
                Err(e) => {
                    report.failed.push((f.entry, e.public().message));
                    continue;
                }
            };
            if !f.canonical {
                let place = format!("{BLOBS}/{}/{h}", &h[..2]);
                let target = blobs.ensure_subdir(&h[..2])?;
                let from = blobs
                    .subdir(&f.shard)?
                    .ok_or_else(|| blobs.tampered(&f.shard, "disappeared"))?;
                // Flushed together, before the new index is put in place
                // (one `syncfs` below): a crash before leaves the old index,
                // and each blob under its old name or its new one, which
                // the next repair finds either way.
                match from.rename_new(&f.name, &target, &h) {
                    Ok(()) => report.moved.push((f.entry, place)),
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                        report.skipped.push((
                            f.entry,
                            format!("a copy of document {h} whose place is taken by a damaged file; left alone"),
                        ));
                        continue;
                    }
                    Err(e) => return Err(Error::io("moving a blob to its place")(e)),
                }
            }
            found.insert(id);
            let mut row = DocRow {
                id,
                size: o.size,
                blob_len: len,
                header_hash: o.header.hash(),
                meta: sealer.seal(&id, &o.meta),
                entry_mac: [0; 32],
            };
            row.entry_mac = row.compute_mac(&k_manifest);
            report
                .recovered
                .push(DocumentInfo::from_meta(&id, o.size, o.meta));
            rows.push(row);
        }
        if !report.moved.is_empty() {
            rustix::fs::syncfs(blobs.fd())
                .map_err(|e| Error::io("flushing moved blobs to disk")(io::Error::from(e)))?;
        }
        {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut st = State::empty(header.generation);
            match old.as_ref().and_then(|o| o.end.map(|e| (o, e))) {
                // The new log continues the old one: the old entries are
                // copied as they are (each MAC still verifies from the old
                // base), so the history, its deletions included, goes on.
                Some((o, (seq, head))) => {
                    for e in &o.entries {
                        tx.execute(
                            "INSERT INTO audit (seq, at_ms, event, detail, mac) VALUES (?1, ?2, ?3, ?4, ?5)",
                            rusqlite::params![e.seq as i64, e.at_ms, e.event, e.detail, &e.mac[..]],
                        )?;
                    }
                    (st.audit_seq, st.audit_head) = (seq, head);
                    (st.audit_base_seq, st.audit_base_head) = o.base;
                }
                // A new log starts after the newest entry this machine saw,
                // so that a repair never makes the vault look older than it
                // was here (nor newer than it is, elsewhere).
                None => {
                    let after = seen.map_or(0, |s| s.audit_seq);
                    (st.audit_seq, st.audit_base_seq) = (after, after);
                }
            }
            for r in &rows {
                index::insert_live(&tx, r)?;
                st.toggle(&folder, &r.entry_mac);
                st.doc_count += 1;
            }
            let detail = format!(
                "recovered={};failed={};{}",
                report.recovered.len(),
                report.failed.len(),
                match old.as_ref().and_then(|o| o.end) {
                    Some((n, _)) => format!("continues={n}"),
                    None => "new_log".to_owned(),
                }
            );
            audit::append(&tx, &k_audit, &mut st, Event::Repair, &detail)?;
            if let Some(h) = &rotation {
                tx.execute("INSERT INTO rekey (id, next_header) VALUES (1, ?1)", [h])?;
            }
            index::put_state(&tx, &mut st, &k_manifest, &header.vault_id)?;
            tx.commit()?;
        }
        // The new index must hold what it should before it replaces anything.
        let st = index::checked_state(&conn, &k_manifest, &header.vault_id)?;
        index::check_manifest(&conn, &folder, &st)?;
        if st.doc_count != rows.len() as u64 || index::live_ids(&conn)?.len() != rows.len() {
            return Err(Error::IndexTampered("the rebuilt index is inconsistent"));
        }
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        drop(conn);
        crate::faults::point("repair:before-swap", dir);
        report.old_index = swap_in(&root, REBUILD)?;
        report.rotation_kept = rotation.is_some();
        // Documents the previous index did not list (a deleted document whose
        // blob was kept, and brought back): shown, never silently restored.
        if let Some(o) = &old {
            report.not_listed_before = report
                .recovered
                .iter()
                .filter(|d| {
                    o.deleted.contains(&d.id.0)
                        || o.live.as_ref().is_some_and(|l| !l.contains(&d.id.0))
                })
                .cloned()
                .collect();
            report.not_listed_before.sort_by(|a, b| a.name.cmp(&b.name));
        }
        // The repaired state becomes the newest this machine saw, unless it is
        // older than that (a rolled-back folder repaired): then the next
        // unlock says so and the user must accept it.
        if let Some(d) = &record {
            let now = crate::seen::Seen::of(&st, header.generation);
            if seen.is_none_or(|p| crate::seen::older(&now, &p).is_none()) {
                crate::seen::store(d, &header.vault_id, &now)?;
            }
        }
        let _ = lock.unlock();
        info!(
            recovered = report.recovered.len(),
            failed = report.failed.len(),
            "index rebuilt"
        );
        report.recovered.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(report)
    }
}

/// What the old index, read as far as it can be trusted, says.
struct OldIndex {
    /// Where its audit log ends, when the whole chain verifies (from the
    /// base its integrity record names, or from the start when the record
    /// itself is broken): the new log continues from there.
    end: Option<(u64, [u8; 32])>,
    /// The documents it listed, when its record and manifest check out.
    live: Option<std::collections::HashSet<[u8; 16]>>,
    /// Documents whose deletion an authentic entry of its log records (an
    /// entry whose MAC verifies is authentic even when the record is broken).
    deleted: std::collections::HashSet<[u8; 16]>,
    /// Where its log started (the base its record names, or the start).
    base: (u64, [u8; 32]),
    /// Its whole log, when it verifies: copied into the new index, so the
    /// history (deletions included) survives any number of repairs.
    entries: Vec<audit::Entry>,
    /// Whether its integrity record verified (if not, its newest log entries
    /// cannot be vouched for: they may have been cut off).
    record_ok: bool,
    /// A key rotation in progress (the next header), kept across the repair.
    rotation: Option<Vec<u8>>,
}

/// Reads the index in place, if it is one: `None` if it cannot be opened.
fn read_old_index(
    root: &Dir,
    k_manifest: &Key32,
    k_audit: &Key32,
    folder: &index::Folder,
    vault_id: &[u8; 16],
) -> Option<OldIndex> {
    if !index::check_entries(root, INDEX_FILE).ok()? {
        return None;
    }
    let conn = Connection::open_with_flags(
        index::sqlite_path(root, INDEX_FILE).ok()?,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NOFOLLOW,
    )
    .ok()?;
    // Read only through the schema Coffer makes (a planted index, trigger
    // or statistics table could make two reads disagree).
    index::check_schema(&conn, INDEX_FILE, true).ok()?;
    let st = index::checked_state(&conn, k_manifest, vault_id).ok();
    let live = st
        .as_ref()
        .filter(|s| index::check_manifest(&conn, folder, s).is_ok())
        .and_then(|_| index::live_ids(&conn).ok())
        .map(|v| v.into_iter().collect());
    let entries = audit::entries(&conn).unwrap_or_default();
    let (mut seq, mut prev) = st
        .as_ref()
        .map_or((0, [0u8; 32]), |s| (s.audit_base_seq, s.audit_base_head));
    let mut deleted = std::collections::HashSet::new();
    let mut whole = true;
    for e in &entries {
        let mac = audit::entry_mac(k_audit, &prev, e.seq, e.at_ms, &e.event, &e.detail);
        if e.seq != seq + 1 || !crypto::ct_eq(&mac, &e.mac) {
            whole = false;
            break;
        }
        if e.event == Event::Delete.as_str() {
            if let Some(id) = e
                .detail
                .strip_prefix("id=")
                .and_then(crypto::unhex)
                .and_then(|v| <[u8; 16]>::try_from(v).ok())
            {
                deleted.insert(id);
            }
        }
        (seq, prev) = (e.seq, mac);
    }
    // With a valid record the log must also end where it says.
    let ends_right = st
        .as_ref()
        .is_none_or(|s| s.audit_seq == seq && crypto::ct_eq(&s.audit_head, &prev));
    let end = (whole && ends_right && seq > 0).then_some((seq, prev));
    Some(OldIndex {
        end,
        live,
        deleted,
        base: st
            .as_ref()
            .map_or((0, [0u8; 32]), |s| (s.audit_base_seq, s.audit_base_head)),
        entries: if end.is_some() { entries } else { Vec::new() },
        record_ok: st.is_some(),
        rotation: rekey::stored_header(&conn),
    })
}

/// Where `repair` builds the new index.
const REBUILD: &str = "index.sqlite.rebuild";

/// Moves the index in place (and any `-wal`/`-shm` file, which belongs to it
/// alone) aside as `index.sqlite.broken-<ms>`, then the files of `rebuilt`
/// into place, the database file last. A crash in between leaves no index,
/// which the next open reports and the next repair rebuilds; never an old
/// log paired with a new database. Returns where the old index went.
fn swap_in(root: &Dir, rebuilt: &str) -> Result<Option<PathBuf>> {
    let current = index::files(INDEX_FILE);
    let had_index = root.check_file(&current[0], u64::MAX)?;
    if had_index {
        // Fold the old index's log into it, so that it is whole once aside.
        if let Ok(c) = Connection::open_with_flags(
            index::sqlite_path(root, INDEX_FILE)?,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NOFOLLOW,
        ) {
            let _ = c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
        }
    }
    let aside = format!("{INDEX_FILE}.broken-{}", crate::time::now_ms());
    let mut moved_any = false;
    for (from, to) in current.iter().zip(index::files(&aside)).rev() {
        if root.check_file(from, u64::MAX)? {
            root.rename_new(from, root, &to)
                .map_err(Error::io("moving the old index aside"))?;
            moved_any = true;
        }
    }
    for (from, to) in index::files(rebuilt).iter().zip(&current).rev() {
        if root.check_file(from, u64::MAX)? {
            root.rename_new(from, root, to)
                .map_err(Error::io("moving the rebuilt index into place"))?;
        }
    }
    root.sync()
        .map_err(Error::io("flushing the vault folder"))?;
    Ok((had_index && moved_any).then(|| root.path().join(aside)))
}

/// One entry below `blobs/`.
struct Found {
    /// `blobs/<shard>/<name>`, shown escaped (a file name made by someone
    /// else may hold terminal control characters).
    entry: String,
    /// The shard folder's name (empty for an entry directly in `blobs/`).
    shard: String,
    /// The entry's own name.
    name: String,
    kind: Kind,
    /// The id its name encodes (32 hex digits, either case).
    id: Option<[u8; 16]>,
    /// A regular file named in lowercase in its own shard.
    canonical: bool,
}

impl Found {
    fn open(&self, blobs: &Dir) -> Result<File> {
        let dir = if self.shard.is_empty() {
            blobs
                .try_clone()
                .map_err(Error::io("opening the blobs folder"))?
        } else {
            blobs
                .subdir(&self.shard)?
                .ok_or_else(|| blobs.tampered(&self.shard, "disappeared"))?
        };
        dir.open_file(&self.name, u64::MAX)?
            .ok_or_else(|| dir.tampered(&self.name, "disappeared"))
    }
}

/// Every entry below `blobs/` (one level of shards), without opening any.
fn scan_blobs(blobs: &Dir) -> Result<Vec<Found>> {
    let shown = |s: &str| s.escape_debug().to_string();
    let parse = |n: &str| {
        (n.len() == 32 && n.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| crypto::unhex(&n.to_ascii_lowercase()))
            .flatten()
            .and_then(|v| <[u8; 16]>::try_from(v).ok())
    };
    let mut out = Vec::new();
    for (shard, kind) in blobs.entries()? {
        if kind != Kind::Dir {
            out.push(Found {
                entry: format!("{BLOBS}/{}", shown(&shard)),
                id: parse(&shard),
                name: shard,
                shard: String::new(),
                kind,
                canonical: false,
            });
            continue;
        }
        let dir = blobs
            .subdir(&shard)?
            .ok_or_else(|| blobs.tampered(&shard, "disappeared"))?;
        for (name, kind) in dir.entries()? {
            let id = parse(&name);
            let canonical = matches!(kind, Kind::File { .. })
                && id.is_some_and(|i| {
                    let h = crypto::hex(&i);
                    h == name && h[..2] == shard
                });
            out.push(Found {
                entry: format!("{BLOBS}/{}/{}", shown(&shard), shown(&name)),
                shard: shard.clone(),
                name,
                kind,
                id,
                canonical,
            });
        }
    }
    Ok(out)
}
