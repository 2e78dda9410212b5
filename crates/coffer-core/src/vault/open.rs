//! Opening a vault: `init`, unlock, the checks of the vault folder's
//! layout, and the clean-up of what a crashed process left.

use super::*;
use crate::dir::{is_own_temp_name, Kind};
use std::io::Read;

/// A valid header is under 1 KiB (two slots); nothing larger is read.
pub(super) const MAX_HEADER_LEN: u64 = 4096;

/// Opens the folder the user named (links in its path are followed: their
/// choice). A missing folder holds no vault.
pub(super) fn open_root(path: &Path) -> Result<Dir> {
    match Dir::open(path) {
        Ok(d) => Ok(d),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(Error::NoVault),
        Err(e) if e.kind() == io::ErrorKind::NotADirectory => {
            Err(Error::Invalid("the vault path is not a folder".into()))
        }
        Err(e) => Err(Error::io("opening the vault folder")(e)),
    }
}

/// Reads and parses the header: a regular file of at most
/// [`MAX_HEADER_LEN`] bytes, never followed. Missing: [`Error::NoVault`], or
/// [`Error::HeaderMissing`] when the folder holds blobs.
pub(super) fn read_header(root: &Dir) -> Result<Header> {
    let Some(f) = root.open_file(HEADER_FILE, MAX_HEADER_LEN)? else {
        return Err(match count_blobs(root)? {
            0 => Error::NoVault,
            blobs => Error::HeaderMissing { blobs },
        });
    };
    let mut bytes = Vec::with_capacity(1024);
    f.take(MAX_HEADER_LEN + 1)
        .read_to_end(&mut bytes)
        .map_err(Error::io("reading the vault header"))?;
    if bytes.len() as u64 > MAX_HEADER_LEN {
        return Err(Error::HeaderCorrupt("larger than any valid header"));
    }
    Header::parse(&bytes)
}

/// Regular files in the shards of `blobs/` (none if there is no `blobs/`).
fn count_blobs(root: &Dir) -> Result<u64> {
    let Some(blobs) = root.subdir(BLOBS)? else {
        return Ok(0);
    };
    let mut n = 0;
    for (name, kind) in blobs.entries()? {
        if kind == Kind::Dir {
            if let Some(shard) = blobs.subdir(&name)? {
                n += shard
                    .entries()?
                    .iter()
                    .filter(|(_, k)| matches!(k, Kind::File { .. }))
                    .count() as u64;
            }
        }
    }
    Ok(n)
}

/// The vault's folders, checked: `blobs/` and `tmp/` are real folders
/// (created if a sync left them out), the lock files are missing or regular
/// files, every shard (`blobs/` + two hex digits) is a real folder, and no
/// entry of `blobs/` is a link, a FIFO or a device (a stray regular file is
/// listed by `verify`, never opened as a shard). Cheap: one listing of at
/// most 256 shards.
pub(super) fn check_layout(root: &Dir) -> Result<(Dir, Dir)> {
    let blobs = root.ensure_subdir(BLOBS)?;
    let tmp = root.ensure_subdir(TMP)?;
    // Opened by some commands only; checked by all, so that a planted entry
    // is reported the same way whatever the command.
    for lock in [LOCK, index::MIGRATE_LOCK, HEADER_LOCK] {
        root.check_file(lock, 4096)?;
    }
    for (name, kind) in blobs.entries()? {
        let shard_name = name.len() == 2 && name.bytes().all(|b| b.is_ascii_hexdigit());
        match kind {
            Kind::Other(what) => return Err(blobs.tampered(&name, what)),
            Kind::File { .. } if shard_name => {
                return Err(blobs.tampered(&name, "is a file, not a folder"))
            }
            _ => {}
        }
    }
    Ok((blobs, tmp))
}

/// Removes the regular files named like Coffer's temporary files in `dirs`.
pub(super) fn remove_own_temp_files(dirs: &[&Dir]) -> Result<()> {
    for dir in dirs {
        for (name, kind) in dir.entries()? {
            if is_own_temp_name(&name) && matches!(kind, Kind::File { .. }) {
                dir.remove_file(&name)
                    .map_err(Error::io("removing a temporary file"))?;
            }
        }
    }
    Ok(())
}

/// The detail of the audit entry that records a schema upgrade.
fn upgrade_detail(header_generation: u64) -> String {
    format!("manifest=2;header_generation={header_generation}")
}

/// Failed unlocks kept at most (each is one small row).
const MAX_FAILED_UNLOCKS: i64 = 10_000;
/// Failed unlocks chained into the audit log one by one; more are summed up.
const ITEMIZED_FAILED_UNLOCKS: usize = 100;

/// Moves the failed-unlock reports into the audit log and empties their
/// table. The rows were written without a key, so they are read
/// defensively: a row that is not an integer time is counted as tampering
/// and ignored, never a reason to fail the unlock; at most
/// [`ITEMIZED_FAILED_UNLOCKS`] are listed one by one, the rest counted.
fn chain_failed_unlocks(tx: &Connection, k_audit: &Key32, st: &mut State) -> Result<()> {
    use rusqlite::types::ValueRef;
    let (mut times, mut junk, mut more) = (Vec::new(), 0u64, 0u64);
    {
        let mut q = tx.prepare("SELECT at_ms FROM failed_unlocks")?;
        let mut rows = q.query([])?;
        while let Some(r) = rows.next()? {
            match r.get_ref(0)? {
                ValueRef::Integer(t) if times.len() < ITEMIZED_FAILED_UNLOCKS => times.push(t),
                ValueRef::Integer(_) => more += 1,
                _ => junk += 1,
            }
        }
    }
    times.sort_unstable();
    for at in &times {
        let d = format!(
            "unauthenticated report; attempted at {}",
            crate::time::rfc3339(*at)
        );
        audit::append(tx, k_audit, st, Event::FailedUnlock, &d)?;
    }
    if more > 0 {
        let d = format!("unauthenticated report; {more} more attempts");
        audit::append(tx, k_audit, st, Event::FailedUnlock, &d)?;
    }
    if junk > 0 {
        warn!(
            rows = junk,
            "failed-unlock rows that are not records were ignored"
        );
        let d = format!("{junk} planted rows ignored (not failed-unlock records)");
        audit::append(tx, k_audit, st, Event::FailedUnlock, &d)?;
    }
    tx.execute("DELETE FROM failed_unlocks", [])?;
    Ok(())
}

/// Refuses any folder but a missing or empty one, or the skeleton an
/// interrupted `init` leaves (no header, no blob; an index, lock files,
/// Coffer's own temporary files, empty shards); removes that skeleton's index
/// so that the new vault starts clean.
fn check_empty(root: &Dir) -> Result<()> {
    if root
        .kind(HEADER_FILE)
        .map_err(Error::io("reading the vault folder"))?
        .is_some()
    {
        return Err(Error::VaultExists("it has a vault header"));
    }
    let blobs = count_blobs(root)?;
    if blobs > 0 {
        return Err(Error::HeaderMissing { blobs });
    }
    let mut index_files = index::files(INDEX_FILE).to_vec();
    index_files.push(index::journal(INDEX_FILE));
    for (name, _) in root.entries()? {
        let own_file = [LOCK, index::MIGRATE_LOCK, HEADER_LOCK].contains(&name.as_str())
            || index_files.contains(&name)
            || is_own_temp_name(&name);
        if own_file {
            root.check_file(&name, u64::MAX)?;
        } else if name == BLOBS || name == TMP {
            let sub = root
                .subdir(&name)?
                .ok_or_else(|| root.tampered(&name, "disappeared"))?;
            for (n, k) in sub.entries()? {
                let empty_shard = name == BLOBS && k == Kind::Dir;
                let temp = name == TMP && is_own_temp_name(&n);
                if !empty_shard && !temp {
                    return Err(Error::VaultExists(
                        "it holds files that Coffer did not make",
                    ));
                }
                if let Kind::Other(what) = k {
                    return Err(sub.tampered(&n, what));
                }
            }
        } else {
            return Err(Error::VaultExists(
                "it holds files that Coffer did not make",
            ));
        }
    }
    // No header and no blob: whatever an index here lists is sealed under
    // keys that are gone with the header, and has no content. It is removed
    // without being opened (SQLite would play back a planted journal).
    for f in &index_files {
        root.remove_file(f)
            .map_err(Error::io("removing an index without a vault"))?;
    }
    Ok(())
}

impl Vault {
    /// Creates a vault in `dir` (which must be missing, empty, or left by an
    /// interrupted `init`) and returns it unlocked with the recovery key, to
    /// be shown once.
    #[instrument(skip_all)]
    pub fn create(
        dir: &Path,
        pass: &Passphrase,
        params: KdfParams,
    ) -> Result<(Vault, RecoveryKey)> {
        pass.check_new()?;
        params.check()?;
        let root = Dir::create(dir).map_err(Error::io("creating the vault folder"))?;
        check_empty(&root)?;
        let (blobs, tmp) = check_layout(&root)?;
        let _ = rustix::fs::fchmod(root.fd(), rustix::fs::Mode::from_raw_mode(0o700));

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

        let lock = root.open_lock(LOCK)?;
        crate::dir::lock_within(&lock, false, index::LOCK_WAIT)?;
        let mut conn = index::open(&root, INDEX_FILE, true)?;
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
        fsutil::write_atomic_in(&root, HEADER_FILE, &header_bytes)
            .map_err(Error::io("writing the vault header"))?;
        lock.lock_shared()
            .map_err(Error::io("taking the vault lock"))?;
        info!("vault created");
        let dirs = Dirs { root, blobs, tmp };
        Ok((Vault::assemble(dirs, master, header, conn, lock, None), rk))
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

    pub(super) fn open_with(dir: &Path, unlocker: &Unlocker<'_>, event: Event) -> Result<Vault> {
        let root = open_root(dir)?;
        let header = read_header(&root)?;
        let (blobs, tmp) = check_layout(&root)?;
        // The lock comes before the index: `repair` swaps the index only
        // under the exclusive lock, so the connection below is to the index
        // that is in place.
        let lock = root.open_lock(LOCK)?;
        // Alone (no other process has the vault open): the vault is held
        // exclusively until what a crashed process left is finished, then
        // shared. Otherwise shared from the start.
        let alone = lock.try_lock().is_ok();
        if alone {
            remove_own_temp_files(&[&tmp, &root])?;
        } else {
            crate::faults::point("open:before-shared-lock", dir);
            crate::dir::lock_within(&lock, true, index::LOCK_WAIT)?;
        }
        let mut conn = index::open(&root, INDEX_FILE, false)?;
        let index_id = root
            .identity(INDEX_FILE)
            .map_err(Error::io("reading the vault folder"))?;
        let master = match header.unlock(unlocker) {
            Ok(m) => m,
            Err(e) => {
                if matches!(e, Error::WrongSecret) {
                    warn!("unlock failed");
                    // Recorded without a key; bounded, so that a flood of
                    // attempts (or of planted rows) cannot grow the table.
                    let _ = conn.execute(
                        "INSERT INTO failed_unlocks (at_ms) SELECT ?1
                         WHERE (SELECT count(*) FROM failed_unlocks) < ?2",
                        [crate::time::now_ms(), MAX_FAILED_UNLOCKS],
                    );
                }
                return Err(e);
            }
        };
        let vault_id = header.vault_id;
        let (mut header, mut master) = (header, master);
        let mut pending = None;
        let mut stale_row = false;
        match rekey::load(&conn, &header, unlocker) {
            rekey::Row::None => {}
            rekey::Row::Stale => stale_row = true,
            rekey::Row::Pending(mut p) => {
                let committed = p.next.as_ref().is_some_and(|n| {
                    !p.switched
                        && index::state(&conn)
                            .ok()
                            .flatten()
                            .is_some_and(|s| s.verifies(&n.manifest_key(), &vault_id))
                });
                if committed {
                    // A key rotation committed its index but died before its
                    // header: put the next header in place and go on with
                    // the next key (the recovery slot is `rekey`'s last step).
                    fsutil::write_atomic_in(&root, HEADER_FILE, &p.header)
                        .map_err(Error::io("writing the vault header"))?;
                    warn!("finished a key rotation's header step");
                    header = Header::parse(&p.header)?;
                    master = p.next.take().expect("checked above");
                    p.switched = true;
                }
                pending = Some(p);
            }
        }
        let k_manifest = master.manifest_key();
        let k_audit = master.audit_key();
        let folder = index::Folder::new(&master.fold_key());
        let record = crate::seen::record_dir();
        let mut older = None;
        // Whether the state on disk, before this unlock wrote anything, is
        // exactly the one this machine recorded: only then is the trash
        // purged on its own (an old copy of the index, opened where no newer
        // state was seen, must never delete a document restored since).
        let mut recorded_here = false;
        let integrity = {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut upgraded = false;
            let checked = index::checked_state(&tx, &k_manifest, &vault_id).and_then(|mut st| {
                if st.version == 1 {
                    // A schema-1 record is accepted only from an index no
                    // newer Coffer has touched: the upgrade below moves the
                    // header's generation on, so a schema-1 record kept from
                    // before it (with its forgeable digest) no longer fits.
                    if st.header_generation != header.generation || !alone {
                        return Err(Error::IndexTampered(
                            "a schema-1 record older than its header (an old copy of the index), or a first open after the upgrade while another process holds the vault",
                        ));
                    }
                    index::upgrade_digest(&tx, &folder, &mut st)?;
                    upgraded = true;
                }
                // The rows must be the set the record signed, before
                // anything is shown or written.
                index::check_manifest(&tx, &folder, &st)?;
                Ok(st)
            });
            match checked {
                Ok(mut st) => {
                    if header.generation + 1 == st.header_generation
                        && audit::newest_is(
                            &tx,
                            &k_audit,
                            &st,
                            Event::Upgrade,
                            &upgrade_detail(st.header_generation),
                        )?
                    {
                        // An upgrade committed its index but died before its
                        // header: write the header's new generation now.
                        header.generation += 1;
                        let bytes = header.seal(&master);
                        fsutil::write_atomic_in(&root, HEADER_FILE, &bytes)
                            .map_err(Error::io("writing the vault header"))?;
                    }
                    if header.generation < st.header_generation {
                        return Err(Error::HeaderTampered(
                            "it is older than the index (rolled back)",
                        ));
                    }
                    let seen = record
                        .as_deref()
                        .and_then(|d| crate::seen::load(d, &vault_id));
                    let disk = crate::seen::Seen::of(&st, header.generation);
                    if let Some(s) = seen {
                        use crate::seen::{AtSeen, Standing};
                        let at_seen = if s.audit_seq < st.audit_base_seq {
                            AtSeen::BeforeLog
                        } else if s.audit_seq == st.audit_base_seq {
                            AtSeen::Entry(Some(st.audit_base_head))
                        } else {
                            AtSeen::Entry(audit::mac_of(&tx, s.audit_seq)?)
                        };
                        match crate::seen::standing(&disk, &s, at_seen) {
                            Standing::Older(o) => older = Some(o),
                            Standing::Same => recorded_here = true,
                            Standing::Later | Standing::Unproven => {}
                        }
                    }
                    if let Some(o) = older {
                        warn!(
                            now = o.now,
                            seen = o.seen,
                            "the vault is older than this machine saw"
                        );
                    } else {
                        st.header_generation = header.generation;
                        if stale_row {
                            // The header is past this rotation: it finished.
                            tx.execute("DELETE FROM rekey", [])?;
                        }
                        chain_failed_unlocks(&tx, &k_audit, &mut st)?;
                        audit::append(&tx, &k_audit, &mut st, event, "")?;
                        if upgraded {
                            st.header_generation = header.generation + 1;
                            let d = upgrade_detail(st.header_generation);
                            audit::append(&tx, &k_audit, &mut st, Event::Upgrade, &d)?;
                        }
                        index::put_state(&tx, &mut st, &k_manifest, &vault_id)?;
                        tx.commit()?;
                        if upgraded {
                            header.generation += 1;
                            let bytes = header.seal(&master);
                            fsutil::write_atomic_in(&root, HEADER_FILE, &bytes)
                                .map_err(Error::io("writing the vault header"))?;
                        }
                        if let Some(d) = &record {
                            crate::seen::store(
                                d,
                                &vault_id,
                                &crate::seen::Seen::of(&st, header.generation),
                            )?;
                        }
                    }
                    None
                }
                Err(Error::IndexTampered(why)) => {
                    warn!(
                        reason = why,
                        "index integrity check fails; only verify and repair are possible"
                    );
                    Some(why)
                }
                Err(e) => return Err(e),
            }
        };
        info!("vault unlocked");
        let mut v = Vault::assemble(
            Dirs { root, blobs, tmp },
            master,
            header,
            conn,
            lock,
            integrity,
        );
        v.older = older;
        v.pending = pending;
        if v.pending.is_some() {
            warn!("a key rotation is unfinished");
        }
        if alone {
            if v.integrity.is_none() && v.older.is_none() {
                v.finish_interrupted()?;
            }
            v._lock
                .unlock()
                .map_err(Error::io("releasing the vault lock"))?;
            crate::faults::point("open:before-shared-lock", dir);
            crate::dir::lock_within(&v._lock, true, index::LOCK_WAIT)?;
            // Between the two locks a `repair` may have swapped the index:
            // then this connection is to the old one, and the open starts over.
            let now = v
                .dirs
                .root
                .identity(INDEX_FILE)
                .map_err(Error::io("reading the vault folder"))?;
            if now != index_id {
                drop(v);
                return Self::open_with(dir, unlocker, event);
            }
        }
        // The trash's automatic purge, only where the vault can be written
        // (never on an index that failed its check, or one older than this
        // machine saw), no key rotation is unfinished, and the index was,
        // before this unlock, exactly the state this machine recorded last
        // (never on a machine without a record: an old copy of the index
        // there cannot be told from the newest). A failure is left for the
        // next unlock: it never locks the owner out.
        if recorded_here && v.integrity.is_none() && v.older.is_none() && v.pending.is_none() {
            match v.purge_expired(crate::faults::now_ms(dir)) {
                Ok(0) => {}
                Ok(n) => info!(count = n, "purged documents past the trash's retention"),
                Err(e) => warn!(code = e.code(), "the trash could not be purged"),
            }
        }
        Ok(v)
    }
}
