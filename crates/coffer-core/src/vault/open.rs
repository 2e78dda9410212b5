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

/// If no other process has the vault open, finishes what a crashed process
/// left (temporary files, pending and deleting rows). Needs no key. The
/// index is opened for this under the exclusive lock and closed again, so
/// that the connection the vault keeps is opened under the shared lock.
fn clean_if_alone(root: &Dir, blobs: &Dir, tmp: &Dir, lock: &File) -> Result<()> {
    if lock.try_lock().is_err() {
        return Ok(());
    }
    let res = index::open(root, INDEX_FILE, false)
        .and_then(|conn| clean_unfinished(root, blobs, tmp, &conn));
    lock.unlock()
        .map_err(Error::io("releasing the vault lock"))?;
    res
}

/// Removes Coffer's own temporary files (by name and type, in the real
/// `tmp/` and in the vault folder itself) and the blobs of pending and
/// deleting rows. Nothing else is ever removed.
fn clean_unfinished(root: &Dir, blobs: &Dir, tmp: &Dir, conn: &Connection) -> Result<()> {
    remove_own_temp_files(&[tmp, root])?;
    let ids = index::unfinished(conn)?;
    for id in &ids {
        let h = crypto::hex(id);
        if let Some(shard) = blobs.subdir(&h[..2])? {
            // Only a regular file of ours is removed; anything else is refused.
            if shard.check_file(&h, u64::MAX)? {
                shard
                    .remove_file(&h)
                    .map_err(Error::io("removing an unfinished blob"))?;
            }
        }
        index::delete_row(conn, id)?;
    }
    if !ids.is_empty() {
        info!(count = ids.len(), "finished interrupted writes");
    }
    Ok(())
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

/// Refuses any folder but a missing or empty one, or the skeleton an
/// interrupted `init` leaves (no header, no blob, an index listing no
/// document, lock files, Coffer's own temporary files); removes that
/// skeleton's index so that the new vault starts clean.
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
    let index_files = index::files(INDEX_FILE);
    for (name, kind) in root.entries()? {
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
            let _ = kind;
            return Err(Error::VaultExists(
                "it holds files that Coffer did not make",
            ));
        }
    }
    if root.check_file(INDEX_FILE, u64::MAX)? {
        if index::lists_documents(root, INDEX_FILE)? {
            return Err(Error::VaultExists("its index lists documents"));
        }
        for f in index_files {
            root.remove_file(&f)
                .map_err(Error::io("removing an empty index"))?;
        }
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
        lock.lock().map_err(|_| Error::InUse)?;
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
        clean_if_alone(&root, &blobs, &tmp, &lock)?;
        crate::faults::point("open:before-shared-lock", dir);
        lock.lock_shared()
            .map_err(Error::io("taking the vault lock"))?;
        let mut conn = index::open(&root, INDEX_FILE, false)?;
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
        Ok(Vault::assemble(
            Dirs { root, blobs, tmp },
            master,
            header,
            conn,
            lock,
            integrity,
        ))
    }
}
