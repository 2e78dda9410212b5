//! The SQLite index: schema migrations (refinery), connection settings, the
//! document rows and the vault's integrity record (the manifest).
//!
//! ```text
//! entry_mac = HMAC[K_manifest]("coffer/v1/entry" || id || u64be(size) || u64be(blob_len)
//!                              || header_hash || SHA-256(meta))
//! fold(m)   = HMAC[K_fold]("coffer/v2/fold" || m)
//! digest    = XOR of fold(entry_mac) over all live documents
//! state_mac = HMAC[K_manifest]("coffer/v2/state" || vault_id || u64be(header_generation)
//!                              || u64be(doc_count) || digest || u64be(audit_seq) || audit_head
//!                              || u64be(audit_base_seq) || audit_base_head
//!                              || u32be(trash_retention_days) || u64be(trash_count))
//!                                                                         ; "coffer/v3/state"
//! ```
//! An entry MAC pins each document to one exact blob (its header hash names the
//! blob's random salt, hence its key); the digest and count pin the set of
//! documents, so that a row removed, added or put back from an old copy is
//! noticed; the audit head pins the end of the audit log and the base its
//! start. Every write runs in one `BEGIN IMMEDIATE` transaction that checks the
//! state MAC before it changes anything, so concurrent writers serialize and a
//! tampered record is never re-signed.
//!
//! Why the fold: entry MACs are stored in clear, and every rename gives a
//! document a new valid row. Were the digest the XOR of the entry MACs
//! themselves (schema 1), an attacker holding old rows could pick, by linear
//! algebra over GF(2), a set of old rows whose MACs XOR to the same digest and
//! put them back unnoticed. `fold` is a PRF under a key whose outputs are
//! never stored: the attacker cannot compute the vectors to solve for, and
//! the XOR of PRF outputs over a set is a set MAC (XOR-MAC).
//!
//! The state MAC's label is `coffer/v3/state` since the trash (version 3,
//! which also signs how many days the trash keeps a document: a retention
//! an attacker could lower would make the next unlock purge the trash with
//! authentic audit entries). A version-2 record (`coffer/v2/state`, without
//! the retention) reads as the default retention, whatever the column holds,
//! and is re-signed as version 3 at its next write.
//!
//! Schema-1 records (`version` 1, `coffer/v1/state` without the base fields,
//! digest the plain XOR) are checked once under their own rule and re-signed
//! as version 2 at the next unlock.

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

/// How many days the trash keeps a document unless told otherwise.
pub const DEFAULT_TRASH_RETENTION_DAYS: u32 = 30;

/// The integrity record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    /// 3 (2: a record from before the trash, 1: a schema-1 record, until
    /// the next write re-signs it).
    pub version: u8,
    /// Newest header generation seen.
    pub header_generation: u64,
    /// Number of live documents.
    pub doc_count: u64,
    /// XOR of `fold(entry_mac)` over live documents.
    pub digest: [u8; 32],
    /// Sequence number of the newest audit entry.
    pub audit_seq: u64,
    /// MAC of the newest audit entry.
    pub audit_head: [u8; 32],
    /// The log starts after this entry (0 for a log from `init`; the old
    /// log's last entry after a `repair` that continued it).
    pub audit_base_seq: u64,
    /// That entry's MAC (zeros for 0).
    pub audit_base_head: [u8; 32],
    /// Days a document stays in the trash before it is purged; 0: never
    /// purged automatically (signed from version 3 on).
    pub trash_retention_days: u32,
    /// How many of the live rows are in the trash (signed from version 3
    /// on; 0 before: there was no trash). Lets an unlock skip the trash
    /// when it is empty; `verify` counts them.
    pub trash_count: u64,
    /// `state_mac` as stored.
    pub mac: [u8; 32],
}

impl State {
    /// The record of an empty vault.
    pub fn empty(header_generation: u64) -> State {
        State {
            version: 3,
            header_generation,
            doc_count: 0,
            digest: [0; 32],
            audit_seq: 0,
            audit_head: [0; 32],
            audit_base_seq: 0,
            audit_base_head: [0; 32],
            trash_retention_days: DEFAULT_TRASH_RETENTION_DAYS,
            trash_count: 0,
            mac: [0; 32],
        }
    }

    /// Computes `state_mac` (under the rule of `version`).
    pub fn compute_mac(&self, k: &Key32, vault_id: &[u8; 16]) -> [u8; 32] {
        let (gen, count, seq) = (
            self.header_generation.to_be_bytes(),
            self.doc_count.to_be_bytes(),
            self.audit_seq.to_be_bytes(),
        );
        if self.version == 1 {
            return crypto::hmac(
                k,
                &[
                    b"coffer/v1/state",
                    vault_id,
                    &gen,
                    &count,
                    &self.digest,
                    &seq,
                    &self.audit_head,
                ],
            );
        }
        let base = self.audit_base_seq.to_be_bytes();
        let days = self.trash_retention_days.to_be_bytes();
        let trashed = self.trash_count.to_be_bytes();
        let v2: [&[u8]; 9] = [
            b"coffer/v2/state",
            vault_id,
            &gen,
            &count,
            &self.digest,
            &seq,
            &self.audit_head,
            &base,
            &self.audit_base_head,
        ];
        if self.version == 2 {
            return crypto::hmac(k, &v2);
        }
        let mut v3: [&[u8]; 11] = [b"coffer/v3/state"; 11];
        v3[1..9].copy_from_slice(&v2[1..]);
        v3[9] = &days;
        v3[10] = &trashed;
        crypto::hmac(k, &v3)
    }

    /// Whether the stored MAC verifies.
    pub fn verifies(&self, k: &Key32, vault_id: &[u8; 16]) -> bool {
        crypto::ct_eq(&self.compute_mac(k, vault_id), &self.mac)
    }

    /// XORs `fold(entry_mac)` into (or out of) the digest.
    pub fn toggle(&mut self, f: &Folder, entry_mac: &[u8; 32]) {
        xor_into(&mut self.digest, &f.fold(entry_mac));
    }
}

fn xor_into(d: &mut [u8; 32], m: &[u8; 32]) {
    for (d, m) in d.iter_mut().zip(m) {
        *d ^= m;
    }
}

/// `fold` under `K_fold`, with the key schedule computed once.
pub struct Folder(ring::hmac::Key);

impl Folder {
    /// A folder under `k` (`K_fold`).
    pub fn new(k: &Key32) -> Folder {
        Folder(ring::hmac::Key::new(ring::hmac::HMAC_SHA256, k.expose()))
    }

    /// `HMAC[K_fold]("coffer/v2/fold" || entry_mac)`.
    pub fn fold(&self, entry_mac: &[u8; 32]) -> [u8; 32] {
        let mut ctx = ring::hmac::Context::with_key(&self.0);
        ctx.update(b"coffer/v2/fold");
        ctx.update(entry_mac);
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.sign().as_ref());
        out
    }
}

impl std::fmt::Debug for Folder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Folder(..)")
    }
}

/// Checks that the live rows are exactly the set the record signed: their
/// count, and the XOR of their folded entry MACs (or, for a schema-1 record,
/// of the entry MACs themselves). Reads only the MAC column.
pub fn check_manifest(conn: &Connection, f: &Folder, st: &State) -> Result<()> {
    let mut q = conn.prepare_cached(&format!(
        "SELECT entry_mac FROM documents WHERE state = {LIVE}"
    ))?;
    let mut rows = q.query([])?;
    let (mut count, mut digest) = (0u64, [0u8; 32]);
    while let Some(r) = rows.next()? {
        let mac: [u8; 32] = r
            .get_ref(0)?
            .as_blob()
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or(Error::IndexTampered("an entry MAC is not 32 bytes"))?;
        if st.version == 1 {
            xor_into(&mut digest, &mac);
        } else {
            xor_into(&mut digest, &f.fold(&mac));
        }
        count += 1;
    }
    if count != st.doc_count || !crypto::ct_eq(&digest, &st.digest) {
        return Err(Error::IndexTampered(
            "the index's documents are not the set its manifest signed",
        ));
    }
    Ok(())
}

/// Re-signs a checked schema-1 record's digest under the fold (the caller
/// writes it back with [`put_state`], which stores version 2).
pub fn upgrade_digest(conn: &Connection, f: &Folder, st: &mut State) -> Result<()> {
    if st.version != 1 {
        return Ok(());
    }
    check_manifest(conn, f, st)?;
    let mut digest = [0u8; 32];
    for_each_live(conn, |r| {
        xor_into(&mut digest, &f.fold(&r.entry_mac));
        Ok(())
    })?;
    st.digest = digest;
    st.version = 2;
    st.trash_retention_days = DEFAULT_TRASH_RETENTION_DAYS;
    st.trash_count = 0;
    Ok(())
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

/// A rollback journal beside the index. Coffer's index is in WAL mode, so it
/// never has one at rest; SQLite would play back a "hot" one (and delete the
/// super-journal it names, which can be any path), so one found there is
/// refused; `init` removes one left by an `init` interrupted before WAL mode
/// was set.
pub fn journal(name: &str) -> String {
    format!("{name}-journal")
}

/// Checks the index's entries: the database, `-wal` and `-shm` missing or
/// regular files with one link; no journal at all.
pub fn check_entries(dir: &Dir, name: &str) -> Result<bool> {
    let [db, wal, shm] = files(name);
    let exists = dir.check_file(&db, u64::MAX)?;
    dir.check_file(&wal, u64::MAX)?;
    dir.check_file(&shm, u64::MAX)?;
    let j = journal(name);
    if dir
        .kind(&j)
        .map_err(Error::io("reading the vault folder"))?
        .is_some()
    {
        return Err(dir.tampered(&j, "exists (Coffer's index never has a rollback journal)"));
    }
    Ok(exists)
}

/// The path SQLite opens for `name` in `dir` (links in the vault's own path
/// resolved, so that `SQLITE_OPEN_NOFOLLOW` refuses only links below it).
pub fn sqlite_path(dir: &Dir, name: &str) -> Result<std::path::PathBuf> {
    Ok(dir
        .real_path()
        .map_err(Error::io("locating the vault folder"))?
        .join(name))
}

/// Opens the index `name` in the vault folder `dir`. `create` allows a new
/// file. The index and its `-wal` and `-shm` files must be missing or
/// regular files with one link (a link, a FIFO or a hard link to a file
/// elsewhere is refused before SQLite sees it), and SQLite opens the index
/// with `SQLITE_OPEN_NOFOLLOW`. Migrations run under an exclusive lock on
/// `migrate.lock`, so two processes opening a new vault at once do not both
/// migrate it.
pub fn open(dir: &Dir, name: &str, create: bool) -> Result<Connection> {
    let exists = check_entries(dir, name)?;
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
        dir.create_file(name)
            .map_err(Error::io("creating the index"))?;
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    let checked = dir
        .identity(name)
        .map_err(Error::io("reading the vault folder"))?;
    let mut conn = Connection::open_with_flags(sqlite_path(dir, name)?, flags)?;
    // SQLite opened the file by name: make sure it opened the file that was
    // checked (a swap between the look and the open is refused before
    // anything is written), and look at the entries again.
    conn.query_row("PRAGMA schema_version", [], |_| Ok(()))?;
    if !sqlite_holds(
        &dir.real_path()
            .map_err(Error::io("locating the vault folder"))?
            .join(name),
        checked,
    ) {
        return Err(dir.tampered(name, "was swapped while it was opened"));
    }
    check_entries(dir, name)?;
    // Wait for another writer instead of failing at once.
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    // WAL: readers never block the writer; a crash never corrupts the file.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    check_entries(dir, name)?;
    // FULL: a committed transaction survives power loss, not only a crash.
    conn.pragma_update(None, "synchronous", "FULL")?;
    // Overwrite deleted rows (sealed metadata of removed documents).
    conn.pragma_update(None, "secure_delete", "ON")?;
    // The schema is ours; refuse functions from a tampered schema.
    conn.pragma_update(None, "trusted_schema", "OFF")?;
    // Defensive: no writes to the schema or to pages behind SQLite's back
    // (writable_schema, corrupting PRAGMAs) from this connection.
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true)?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    let lock = dir.open_lock(MIGRATE_LOCK)?;
    crate::dir::lock_within(&lock, false, LOCK_WAIT)?;
    // Nothing is written (not even refinery's history) into a schema Coffer
    // did not make: a planted trigger would run on that write.
    let res = check_schema(&conn, name, false).and_then(|()| {
        embedded::migrations::runner()
            .set_grouped(true)
            .run(&mut conn)
            .map(drop)
            .map_err(|e| Error::Migration(e.to_string()))
    });
    let _ = lock.unlock();
    res?;
    check_schema(&conn, name, true)?;
    Ok(conn)
}

/// One object of a schema as SQLite stores it: type, name, table, SQL.
type SchemaObject = (String, String, String, Option<String>);

fn schema_of(conn: &Connection) -> Result<std::collections::BTreeSet<SchemaObject>> {
    let mut st = conn.prepare("SELECT type, name, tbl_name, sql FROM sqlite_schema")?;
    let set = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(set)
}

/// The schema after each migration (the first: an empty file), made once in
/// memory by the same migrations.
fn reference_schemas() -> &'static [std::collections::BTreeSet<SchemaObject>] {
    static REF: std::sync::OnceLock<Vec<std::collections::BTreeSet<SchemaObject>>> =
        std::sync::OnceLock::new();
    REF.get_or_init(|| {
        let mut conn = Connection::open_in_memory().expect("an in-memory database opens");
        let mut out = vec![schema_of(&conn).expect("an empty schema reads")];
        let versions: Vec<_> = embedded::migrations::runner()
            .get_migrations()
            .iter()
            .map(|m| m.version())
            .collect();
        for v in versions {
            embedded::migrations::runner()
                .set_grouped(true)
                .set_target(refinery::Target::Version(v))
                .run(&mut conn)
                .expect("Coffer's migrations run on an empty database");
            out.push(schema_of(&conn).expect("the schema reads"));
        }
        out
    })
}

/// Refuses an index whose schema is not exactly one Coffer's migrations make
/// (`complete`: the newest; otherwise any step on the way). SQLite honours
/// whatever a database file declares: a trigger (which runs on Coffer's own
/// writes), an index or planner statistics that make two queries read
/// different rows, a view. None of them is in Coffer's schema, so any of
/// them is refused before the index is used.
pub fn check_schema(conn: &Connection, name: &str, complete: bool) -> Result<()> {
    let found = schema_of(conn)?;
    let refs = reference_schemas();
    let ok = if complete {
        refs.last() == Some(&found)
    } else {
        refs.contains(&found)
    };
    if ok {
        Ok(())
    } else {
        Err(Error::FolderTampered {
            entry: name.to_owned(),
            problem: "holds tables, indexes or triggers Coffer did not make",
        })
    }
}

/// Whether this process has the file with identity `id` open under `path`
/// (Linux: its open files, listed in `/proc/self/fd`; elsewhere assumed).
fn sqlite_holds(path: &std::path::Path, id: Option<(u64, u64)>) -> bool {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::MetadataExt;
        let Some(id) = id else { return false };
        let Ok(rd) = std::fs::read_dir("/proc/self/fd") else {
            return true;
        };
        rd.flatten().any(|e| {
            std::fs::read_link(e.path()).is_ok_and(|t| t == path)
                && std::fs::metadata(e.path())
                    .is_ok_and(|m| (m.dev(), m.ino()) == id && m.nlink() == 1)
        })
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (path, id);
        true
    }
}

/// How long Coffer waits for a lock another process holds before it says
/// the vault is in use (never forever). Locks are held for moments, except
/// by `repair` and `init`.
pub const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// The lock file held while migrations run.
pub const MIGRATE_LOCK: &str = "migrate.lock";

/// Reads the integrity record.
pub fn state(conn: &Connection) -> Result<Option<State>> {
    Ok(conn
        .query_row(
            "SELECT header_generation, doc_count, manifest_digest, audit_seq, audit_head, mac,
                    version, audit_base_seq, audit_base_head, trash_retention_days,
                    trash_count
             FROM vault_state WHERE id = 1",
            [],
            |r| {
                let version = match r.get::<_, i64>(6)? {
                    1 => 1,
                    2 => 2,
                    _ => 3,
                };
                Ok(State {
                    header_generation: r.get::<_, i64>(0)? as u64,
                    doc_count: r.get::<_, i64>(1)? as u64,
                    digest: blob32(r.get(2)?)?,
                    audit_seq: r.get::<_, i64>(3)? as u64,
                    audit_head: blob32(r.get(4)?)?,
                    mac: blob32(r.get(5)?)?,
                    version,
                    audit_base_seq: r.get::<_, i64>(7)? as u64,
                    audit_base_head: blob32(r.get(8)?)?,
                    // Unsigned before version 3: the default, never the
                    // column.
                    trash_retention_days: match version {
                        3 => u32::try_from(r.get::<_, i64>(9)?).unwrap_or(u32::MAX),
                        _ => DEFAULT_TRASH_RETENTION_DAYS,
                    },
                    trash_count: match version {
                        3 => r.get::<_, i64>(10)? as u64,
                        _ => 0,
                    },
                })
            },
        )
        .optional()?)
}

/// Seals (as version 3) and writes the integrity record.
pub fn put_state(conn: &Connection, s: &mut State, k: &Key32, vault_id: &[u8; 16]) -> Result<()> {
    debug_assert!(
        s.version >= 2,
        "schema-1 digests are upgraded before any write"
    );
    s.version = 3;
    s.mac = s.compute_mac(k, vault_id);
    conn.execute(
        "INSERT INTO vault_state (id, header_generation, doc_count, manifest_digest, audit_seq,
             audit_head, mac, version, audit_base_seq, audit_base_head, trash_retention_days,
             trash_count)
         VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, 3, ?7, ?8, ?9, ?10)
         ON CONFLICT(id) DO UPDATE SET header_generation = ?1, doc_count = ?2, manifest_digest = ?3,
             audit_seq = ?4, audit_head = ?5, mac = ?6, version = 3, audit_base_seq = ?7,
             audit_base_head = ?8, trash_retention_days = ?9, trash_count = ?10",
        params![
            s.header_generation as i64,
            s.doc_count as i64,
            &s.digest[..],
            s.audit_seq as i64,
            &s.audit_head[..],
            &s.mac[..],
            s.audit_base_seq as i64,
            &s.audit_base_head[..],
            i64::from(s.trash_retention_days),
            s.trash_count as i64
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

/// Every live row, read without a copy per row: sealed records are laid end
/// to end in `arena`.
pub struct LiveMeta {
    /// Ids.
    pub ids: Vec<[u8; 16]>,
    /// Plaintext sizes.
    pub sizes: Vec<u64>,
    /// Blob lengths, header hashes and entry MACs (to check each row).
    pub pins: Vec<(u64, [u8; 32], [u8; 32])>,
    /// `arena[ranges[i].0..ranges[i].1]` is row i's sealed metadata.
    pub ranges: Vec<(usize, usize)>,
    /// The sealed records.
    pub arena: Vec<u8>,
}

/// Reads every live row (see [`LiveMeta`]).
pub fn scan_live_meta(conn: &Connection) -> Result<LiveMeta> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT id, size, meta, blob_len, header_hash, entry_mac FROM documents WHERE state = {LIVE}"
    ))?;
    let mut rows = st.query([])?;
    let mut m = LiveMeta {
        ids: Vec::new(),
        sizes: Vec::new(),
        pins: Vec::new(),
        ranges: Vec::new(),
        arena: Vec::new(),
    };
    let bytes32 = |r: &rusqlite::Row<'_>, i: usize| -> Result<[u8; 32]> {
        r.get_ref(i)?
            .as_blob()
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or(Error::IndexTampered(
                "a hash or MAC in the index is not 32 bytes",
            ))
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
        m.pins
            .push((r.get::<_, i64>(3)? as u64, bytes32(r, 4)?, bytes32(r, 5)?));
        m.ranges.push((start, m.arena.len()));
    }
    Ok(m)
}

/// `entry_mac` under `K_manifest`, with the key schedule computed once (for
/// checking many rows; [`DocRow::compute_mac`] is the same function).
pub struct EntryKey(ring::hmac::Key);

impl EntryKey {
    /// The key `K_manifest`.
    pub fn new(k: &Key32) -> EntryKey {
        EntryKey(ring::hmac::Key::new(ring::hmac::HMAC_SHA256, k.expose()))
    }

    /// The entry MAC of a row with these fields.
    pub fn mac(
        &self,
        id: &[u8; 16],
        size: u64,
        blob_len: u64,
        header_hash: &[u8; 32],
        meta: &[u8],
    ) -> [u8; 32] {
        let mut ctx = ring::hmac::Context::with_key(&self.0);
        ctx.update(b"coffer/v1/entry");
        ctx.update(id);
        ctx.update(&size.to_be_bytes());
        ctx.update(&blob_len.to_be_bytes());
        ctx.update(header_hash);
        ctx.update(&crypto::sha256(&[meta]));
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.sign().as_ref());
        out
    }
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

/// Runs one statement through the connection's statement cache: the
/// statements of a bulk import run once per document, and parsing them each
/// time cost more than running them.
fn exec(conn: &Connection, sql: &str, p: impl rusqlite::Params) -> rusqlite::Result<usize> {
    conn.prepare_cached(sql)?.execute(p)
}

/// Records a document as being written.
pub fn insert_pending(conn: &Connection, id: &[u8; 16]) -> Result<()> {
    exec(
        conn,
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
    let n = exec(
        conn,
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

/// Points a live row at a new blob (a key rotation): header hash, blob
/// length and entry MAC, only if the MAC is still `old_mac`.
pub fn replace_blob(conn: &Connection, r: &DocRow, old_mac: &[u8; 32]) -> Result<()> {
    let n = conn.execute(
        &format!(
            "UPDATE documents SET header_hash = ?2, blob_len = ?3, entry_mac = ?4
             WHERE id = ?1 AND state = {LIVE} AND entry_mac = ?5"
        ),
        params![
            &r.id[..],
            &r.header_hash[..],
            r.blob_len as i64,
            &r.entry_mac[..],
            &old_mac[..]
        ],
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

/// Rows left pending or deleting by a process that did not finish, with
/// their state.
pub fn unfinished_rows(conn: &Connection) -> Result<Vec<([u8; 16], i64)>> {
    let mut st = conn.prepare(&format!(
        "SELECT id, state FROM documents WHERE state IN ({PENDING}, {DELETING})"
    ))?;
    let rows = st
        .query_map([], |r| Ok((blob16(r.get(0)?)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}
