//! The SQLite index: schema migrations (refinery), connection settings, the
//! document rows and the vault's integrity record (the manifest).
//!
//! ```text
//! entry_mac = HMAC[K_manifest]("coffer/v1/entry" || id || u64be(size) || u64be(blob_len)
//!                              || header_hash || SHA-256(meta))
//! digest    = XOR of entry_mac over all live documents
//! state_mac = HMAC[K_manifest]("coffer/v1/state" || vault_id || u64be(header_generation)
//!                              || u64be(doc_count) || digest || u64be(audit_seq) || audit_head)
//! ```
//! An entry MAC pins each document to one exact blob (its header hash names the
//! blob's random salt, hence its key); the digest and count pin the set of
//! documents, so that a row removed from the index is noticed; the audit head
//! pins the end of the audit log. Every write runs in one `BEGIN IMMEDIATE`
//! transaction that checks the state MAC before it changes anything, so
//! concurrent writers serialize and a tampered record is never re-signed.

use crate::crypto;
use crate::dir::Dir;
use crate::secret::Key32;
use crate::{Error, Result};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};

mod embedded {
    refinery::embed_migrations!("migrations");
}

/// A row being written (its blob may exist in part).
pub const PENDING: i64 = 0;
/// A complete document.
pub const LIVE: i64 = 1;
/// A document whose blob is being removed.
pub const DELETING: i64 = 2;

/// The integrity record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    /// Newest header generation seen.
    pub header_generation: u64,
    /// Number of live documents.
    pub doc_count: u64,
    /// XOR of live entry MACs.
    pub digest: [u8; 32],
    /// Sequence number of the newest audit entry.
    pub audit_seq: u64,
    /// MAC of the newest audit entry.
    pub audit_head: [u8; 32],
    /// `state_mac` as stored.
    pub mac: [u8; 32],
}

impl State {
    /// The record of an empty vault.
    pub fn empty(header_generation: u64) -> State {
        State {
            header_generation,
            doc_count: 0,
            digest: [0; 32],
            audit_seq: 0,
            audit_head: [0; 32],
            mac: [0; 32],
        }
    }

    /// Computes `state_mac`.
    pub fn compute_mac(&self, k: &Key32, vault_id: &[u8; 16]) -> [u8; 32] {
        crypto::hmac(
            k,
            &[
                b"coffer/v1/state",
                vault_id,
                &self.header_generation.to_be_bytes(),
                &self.doc_count.to_be_bytes(),
                &self.digest,
                &self.audit_seq.to_be_bytes(),
                &self.audit_head,
            ],
        )
    }

    /// Whether the stored MAC verifies.
    pub fn verifies(&self, k: &Key32, vault_id: &[u8; 16]) -> bool {
        crypto::ct_eq(&self.compute_mac(k, vault_id), &self.mac)
    }

    /// XORs an entry MAC into (or out of) the digest.
    pub fn toggle(&mut self, entry_mac: &[u8; 32]) {
        for (d, m) in self.digest.iter_mut().zip(entry_mac) {
            *d ^= m;
        }
    }
}

/// One document row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocRow {
    /// Document id.
    pub id: [u8; 16],
    /// Plaintext size.
    pub size: u64,
    /// Blob file size.
    pub blob_len: u64,
    /// `SHA-256(blob header)`.
    pub header_hash: [u8; 32],
    /// Sealed metadata.
    pub meta: Vec<u8>,
    /// `entry_mac` as stored.
    pub entry_mac: [u8; 32],
}

/// A row's values as SQL parameters.
type RowParams<'a> = (&'a [u8], i64, i64, &'a [u8], &'a [u8], &'a [u8]);

impl DocRow {
    /// `?1..?6`: id, size, blob_len, header_hash, meta, entry_mac.
    fn sql_params(&self) -> RowParams<'_> {
        (
            &self.id,
            self.size as i64,
            self.blob_len as i64,
            &self.header_hash,
            &self.meta,
            &self.entry_mac,
        )
    }

    /// Computes `entry_mac`.
    pub fn compute_mac(&self, k: &Key32) -> [u8; 32] {
        crypto::hmac(
            k,
            &[
                b"coffer/v1/entry",
                &self.id,
                &self.size.to_be_bytes(),
                &self.blob_len.to_be_bytes(),
                &self.header_hash,
                &crypto::sha256(&[&self.meta]),
            ],
        )
    }
}

fn blob32(v: Vec<u8>) -> rusqlite::Result<[u8; 32]> {
    v.try_into().map_err(|_| {
        rusqlite::Error::InvalidColumnType(0, "32-byte blob".into(), rusqlite::types::Type::Blob)
    })
}

fn blob16(v: Vec<u8>) -> rusqlite::Result<[u8; 16]> {
    v.try_into().map_err(|_| {
        rusqlite::Error::InvalidColumnType(0, "16-byte blob".into(), rusqlite::types::Type::Blob)
    })
}

/// The files SQLite keeps for the index named `name`.
pub fn files(name: &str) -> [String; 3] {
    [
        name.to_owned(),
        format!("{name}-wal"),
        format!("{name}-shm"),
    ]
}

/// Opens the index `name` in the vault folder `dir`. `create` allows a new
/// file. The index and its `-wal` and `-shm` files must be missing or
/// regular files with one link (a link, a FIFO or a hard link to a file
/// elsewhere is refused before SQLite sees it), and SQLite opens the index
/// with `SQLITE_OPEN_NOFOLLOW`. Migrations run under an exclusive lock on
/// `migrate.lock`, so two processes opening a new vault at once do not both
/// migrate it.
pub fn open(dir: &Dir, name: &str, create: bool) -> Result<Connection> {
    let [db, wal, shm] = files(name);
    let exists = dir.check_file(&db, u64::MAX)?;
    dir.check_file(&wal, u64::MAX)?;
    dir.check_file(&shm, u64::MAX)?;
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_NOFOLLOW;
    if !exists {
        if !create {
            return Err(Error::IndexTampered("the index is missing"));
        }
        // Owner only, like the blobs (SQLite gives -wal and -shm the same
        // mode); made here, without following anything, so SQLite opens an
        // empty file of ours.
        dir.create_file(&db)
            .map_err(Error::io("creating the index"))?;
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    let mut conn = Connection::open_with_flags(dir.path().join(&db), flags)?;
    // Look again now that SQLite holds it open: the same checks, so a swap
    // between the look and the open is caught before anything is written.
    dir.check_file(&db, u64::MAX)?;
    // Wait for another writer instead of failing at once.
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    // WAL: readers never block the writer; a crash never corrupts the file.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    dir.check_file(&wal, u64::MAX)?;
    dir.check_file(&shm, u64::MAX)?;
    // FULL: a committed transaction survives power loss, not only a crash.
    conn.pragma_update(None, "synchronous", "FULL")?;
    // Overwrite deleted rows (sealed metadata of removed documents).
    conn.pragma_update(None, "secure_delete", "ON")?;
    // The schema is ours; refuse functions from a tampered schema.
    conn.pragma_update(None, "trusted_schema", "OFF")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    let lock = dir.open_lock(MIGRATE_LOCK)?;
    lock.lock()
        .map_err(Error::io("taking the migration lock"))?;
    let res = embedded::migrations::runner()
        .set_grouped(true)
        .run(&mut conn)
        .map_err(|e| Error::Migration(e.to_string()));
    let _ = lock.unlock();
    res?;
    Ok(conn)
}

/// The lock file held while migrations run.
pub const MIGRATE_LOCK: &str = "migrate.lock";

/// Whether the index `name` in `dir` lists any document at all (any state).
/// Opened read-only; an index that cannot be read counts as listing some.
pub fn lists_documents(dir: &Dir, name: &str) -> Result<bool> {
    for f in files(name) {
        dir.check_file(&f, u64::MAX)?;
    }
    let conn = match Connection::open_with_flags(
        dir.path().join(name),
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NOFOLLOW,
    ) {
        Ok(c) => c,
        Err(_) => return Ok(true),
    };
    let count = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0));
    match count("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'documents'") {
        Ok(0) => Ok(false),
        Ok(_) => Ok(count("SELECT count(*) FROM documents").map_or(true, |n| n > 0)),
        Err(_) => Ok(true),
    }
}

/// Reads the integrity record.
pub fn state(conn: &Connection) -> Result<Option<State>> {
    Ok(conn
        .query_row(
            "SELECT header_generation, doc_count, manifest_digest, audit_seq, audit_head, mac
             FROM vault_state WHERE id = 1",
            [],
            |r| {
                Ok(State {
                    header_generation: r.get::<_, i64>(0)? as u64,
                    doc_count: r.get::<_, i64>(1)? as u64,
                    digest: blob32(r.get(2)?)?,
                    audit_seq: r.get::<_, i64>(3)? as u64,
                    audit_head: blob32(r.get(4)?)?,
                    mac: blob32(r.get(5)?)?,
                })
            },
        )
        .optional()?)
}

/// Seals and writes the integrity record.
pub fn put_state(conn: &Connection, s: &mut State, k: &Key32, vault_id: &[u8; 16]) -> Result<()> {
    s.mac = s.compute_mac(k, vault_id);
    conn.execute(
        "INSERT INTO vault_state (id, header_generation, doc_count, manifest_digest, audit_seq, audit_head, mac)
         VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT(id) DO UPDATE SET header_generation = ?1, doc_count = ?2, manifest_digest = ?3,
             audit_seq = ?4, audit_head = ?5, mac = ?6",
        params![
            s.header_generation as i64,
            s.doc_count as i64,
            &s.digest[..],
            s.audit_seq as i64,
            &s.audit_head[..],
            &s.mac[..]
        ],
    )?;
    Ok(())
}

/// Reads the record and checks its MAC; [`Error::IndexTampered`] if either fails.
pub fn checked_state(conn: &Connection, k: &Key32, vault_id: &[u8; 16]) -> Result<State> {
    let s = state(conn)?.ok_or(Error::IndexTampered("the integrity record is missing"))?;
    if !s.verifies(k, vault_id) {
        return Err(Error::IndexTampered(
            "the integrity record's MAC does not verify",
        ));
    }
    Ok(s)
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DocRow> {
    Ok(DocRow {
        id: blob16(r.get(0)?)?,
        size: r.get::<_, i64>(1)? as u64,
        blob_len: r.get::<_, i64>(2)? as u64,
        header_hash: blob32(r.get(3)?)?,
        meta: r.get(4)?,
        entry_mac: blob32(r.get(5)?)?,
    })
}

const COLS: &str = "id, size, blob_len, header_hash, meta, entry_mac";

/// The live row with this id.
pub fn live_row(conn: &Connection, id: &[u8; 16]) -> Result<Option<DocRow>> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLS} FROM documents WHERE id = ?1 AND state = {LIVE}"),
            [&id[..]],
            row,
        )
        .optional()?)
}

/// Calls `f` on every live row (streaming, no full copy in memory).
pub fn for_each_live(conn: &Connection, mut f: impl FnMut(DocRow) -> Result<()>) -> Result<()> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {COLS} FROM documents WHERE state = {LIVE}"
    ))?;
    let mut rows = st.query([])?;
    while let Some(r) = rows.next()? {
        f(row(r)?)?;
    }
    Ok(())
}

/// The id, size and sealed metadata of every live row, read without a copy
/// per row: sealed records are laid end to end in `arena`.
pub struct LiveMeta {
    /// Ids.
    pub ids: Vec<[u8; 16]>,
    /// Plaintext sizes.
    pub sizes: Vec<u64>,
    /// `arena[ranges[i].0..ranges[i].1]` is row i's sealed metadata.
    pub ranges: Vec<(usize, usize)>,
    /// The sealed records.
    pub arena: Vec<u8>,
}

/// Reads [`LiveMeta`] in one pass.
pub fn scan_live_meta(conn: &Connection) -> Result<LiveMeta> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT id, size, meta FROM documents WHERE state = {LIVE}"
    ))?;
    let mut rows = st.query([])?;
    let mut m = LiveMeta {
        ids: Vec::new(),
        sizes: Vec::new(),
        ranges: Vec::new(),
        arena: Vec::new(),
    };
    while let Some(r) = rows.next()? {
        let id: [u8; 16] = r
            .get_ref(0)?
            .as_blob()
            .map_err(|_| Error::IndexTampered("a document id is not a blob"))?
            .try_into()
            .map_err(|_| Error::IndexTampered("a document id is not 16 bytes"))?;
        let meta = r
            .get_ref(2)?
            .as_blob()
            .map_err(|_| Error::IndexTampered("sealed metadata is not a blob"))?;
        let start = m.arena.len();
        m.arena.extend_from_slice(meta);
        m.ids.push(id);
        m.sizes.push(r.get::<_, i64>(1)? as u64);
        m.ranges.push((start, m.arena.len()));
    }
    Ok(m)
}

/// Ids of every row in any state.
pub fn all_ids(conn: &Connection) -> Result<std::collections::HashSet<[u8; 16]>> {
    let mut st = conn.prepare("SELECT id FROM documents")?;
    let ids = st
        .query_map([], |r| blob16(r.get(0)?))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(ids)
}

/// Ids of live rows.
pub fn live_ids(conn: &Connection) -> Result<Vec<[u8; 16]>> {
    let mut st = conn.prepare_cached(&format!("SELECT id FROM documents WHERE state = {LIVE}"))?;
    let ids = st
        .query_map([], |r| blob16(r.get(0)?))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(ids)
}

/// Records a document as being written.
pub fn insert_pending(conn: &Connection, id: &[u8; 16]) -> Result<()> {
    conn.execute(
        &format!(
            "INSERT INTO documents (id, state, size, blob_len, header_hash, meta, entry_mac)
                  VALUES (?1, {PENDING}, 0, 0, x'', x'', x'')"
        ),
        [&id[..]],
    )?;
    Ok(())
}

/// Turns a pending row into a live one.
pub fn make_live(conn: &Connection, r: &DocRow) -> Result<()> {
    let n = conn.execute(
        &format!(
            "UPDATE documents SET state = {LIVE}, size = ?2, blob_len = ?3, header_hash = ?4,
                  meta = ?5, entry_mac = ?6 WHERE id = ?1 AND state = {PENDING}"
        ),
        r.sql_params(),
    )?;
    if n != 1 {
        return Err(Error::IndexTampered("a pending document row vanished"));
    }
    Ok(())
}

/// Inserts a live row directly (repair).
pub fn insert_live(conn: &Connection, r: &DocRow) -> Result<()> {
    conn.execute(
        &format!(
            "INSERT INTO documents (id, state, size, blob_len, header_hash, meta, entry_mac)
                  VALUES (?1, {LIVE}, ?2, ?3, ?4, ?5, ?6)"
        ),
        r.sql_params(),
    )?;
    Ok(())
}

/// Replaces a live row's sealed metadata and entry MAC, if the row still has
/// `old_mac` (so a concurrent edit is not silently overwritten).
pub fn replace_meta(conn: &Connection, r: &DocRow, old_mac: &[u8; 32]) -> Result<()> {
    let n = conn.execute(
        &format!("UPDATE documents SET meta = ?2, entry_mac = ?3 WHERE id = ?1 AND state = {LIVE} AND entry_mac = ?4"),
        params![&r.id[..], &r.meta, &r.entry_mac[..], &old_mac[..]],
    )?;
    if n != 1 {
        return Err(Error::InUse);
    }
    Ok(())
}

/// Sets a row's state.
pub fn set_state(conn: &Connection, id: &[u8; 16], state: i64) -> Result<()> {
    conn.execute(
        "UPDATE documents SET state = ?2 WHERE id = ?1",
        params![&id[..], state],
    )?;
    Ok(())
}

/// Deletes a row.
pub fn delete_row(conn: &Connection, id: &[u8; 16]) -> Result<()> {
    conn.execute("DELETE FROM documents WHERE id = ?1", [&id[..]])?;
    Ok(())
}

/// Rows left pending or deleting by a process that did not finish.
pub fn unfinished(conn: &Connection) -> Result<Vec<[u8; 16]>> {
    let mut st = conn.prepare(&format!(
        "SELECT id FROM documents WHERE state IN ({PENDING}, {DELETING})"
    ))?;
    let ids = st
        .query_map([], |r| blob16(r.get(0)?))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(ids)
}
