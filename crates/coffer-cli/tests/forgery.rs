//! Collection integrity against an attacker who keeps old copies, worked the
//! way the report did it: plain SQLite edits of the vault folder while Coffer
//! is not running.
//!
//! - The linear-algebra forgery: every `tag` gives a document a new valid
//!   row; with the old rows kept, a set of old rows whose entry MACs XOR to
//!   the same value as the new ones is found by Gaussian elimination over
//!   GF(2) and written back (a silent revert), or combined with hiding one
//!   document and bringing a deleted one back (count unchanged).
//! - Rolling back the index alone, or the whole folder, on the machine that
//!   saw the newer state.
#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

mod common;
use common::*;
use rusqlite::{params, Connection};
use std::fs;
use std::path::Path;

type V = [u64; 4];

fn vec_of(mac: &[u8]) -> V {
    let mut v = [0u64; 4];
    for (i, w) in v.iter_mut().enumerate() {
        *w = u64::from_be_bytes(mac[i * 8..i * 8 + 8].try_into().unwrap());
    }
    v
}

fn xor(a: &mut V, b: &V) {
    for i in 0..4 {
        a[i] ^= b[i];
    }
}

fn top_bit(v: &V) -> Option<usize> {
    (0..256).find(|&b| v[b / 64] >> (63 - b % 64) & 1 == 1)
}

/// A subset of `deltas` (as indices) whose XOR is `target` (zero: a
/// non-empty subset whose XOR is zero), by elimination over GF(2).
fn solve(deltas: &[V], target: V) -> Option<Vec<usize>> {
    let n = deltas.len();
    let words = n.div_ceil(64);
    // Each basis row: its vector, and which deltas make it up.
    let mut basis: Vec<(usize, V, Vec<u64>)> = Vec::new();
    let reduce = |basis: &[(usize, V, Vec<u64>)], mut v: V, mut combo: Vec<u64>| {
        for (bit, b, c) in basis {
            if v[bit / 64] >> (63 - bit % 64) & 1 == 1 {
                xor(&mut v, b);
                for (x, y) in combo.iter_mut().zip(c) {
                    *x ^= y;
                }
            }
        }
        (v, combo)
    };
    let members = |combo: &[u64]| -> Vec<usize> {
        (0..n)
            .filter(|&i| combo[i / 64] >> (i % 64) & 1 == 1)
            .collect()
    };
    for (i, d) in deltas.iter().enumerate() {
        let mut combo = vec![0u64; words];
        combo[i / 64] |= 1 << (i % 64);
        let (v, combo) = reduce(&basis, *d, combo);
        match top_bit(&v) {
            None if target == [0; 4] => return Some(members(&combo)),
            None => {}
            Some(bit) => {
                // Keep the basis reduced on this bit.
                for (_, b, c) in basis.iter_mut() {
                    if b[bit / 64] >> (63 - bit % 64) & 1 == 1 {
                        xor(b, &v);
                        for (x, y) in c.iter_mut().zip(&combo) {
                            *x ^= y;
                        }
                    }
                }
                basis.push((bit, v, combo));
            }
        }
    }
    if target == [0; 4] {
        return None;
    }
    let (rest, combo) = reduce(&basis, target, vec![0u64; words]);
    (rest == [0; 4]).then(|| members(&combo))
}

#[derive(Clone)]
struct Row {
    id: Vec<u8>,
    size: i64,
    blob_len: i64,
    header_hash: Vec<u8>,
    meta: Vec<u8>,
    mac: Vec<u8>,
}

fn rows(vault: &Path) -> Vec<Row> {
    let c = Connection::open(vault.join("index.sqlite")).unwrap();
    let mut st = c
        .prepare(
            "SELECT id, size, blob_len, header_hash, meta, entry_mac FROM documents
             WHERE state = 1 ORDER BY id",
        )
        .unwrap();
    st.query_map([], |r| {
        Ok(Row {
            id: r.get(0)?,
            size: r.get(1)?,
            blob_len: r.get(2)?,
            header_hash: r.get(3)?,
            meta: r.get(4)?,
            mac: r.get(5)?,
        })
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

fn put_back(vault: &Path, old: &[&Row]) {
    let c = Connection::open(vault.join("index.sqlite")).unwrap();
    for r in old {
        c.execute(
            "INSERT INTO documents (id, state, size, blob_len, header_hash, meta, entry_mac)
             VALUES (?1, 1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT(id) DO UPDATE SET meta = ?5, entry_mac = ?6",
            params![r.id, r.size, r.blob_len, r.header_hash, r.meta, r.mac],
        )
        .unwrap();
    }
}

/// A vault of `n` documents, each tagged once after its old row was saved.
fn tagged_vault(n: usize) -> (Env, Vec<Row>, Vec<Row>) {
    let e = Env::new();
    let src = e.path("src");
    fs::create_dir(&src).unwrap();
    let mut args = vec!["add".to_owned()];
    for i in 0..n {
        let p = src.join(format!("doc{i:03}.txt"));
        fs::write(&p, format!("document {i}")).unwrap();
        args.push(p.to_str().unwrap().to_owned());
    }
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    e.ok(&a);
    let old = rows(&e.vault);
    for r in &old {
        let id = hex(&r.id);
        e.ok(&["tag", &id, "--add", "reviewed"]);
    }
    let new = rows(&e.vault);
    (e, old, new)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn deltas(old: &[Row], new: &[Row]) -> Vec<V> {
    old.iter()
        .zip(new)
        .map(|(o, n)| {
            assert_eq!(o.id, n.id);
            let mut d = vec_of(&o.mac);
            xor(&mut d, &vec_of(&n.mac));
            d
        })
        .collect()
}

/// The forged index must be refused: `ls` shows nothing of it, `verify`
/// fails, nothing can be written.
fn assert_refused(e: &Env) {
    let err = e.fails(&["ls"]);
    assert!(
        err.contains("integrity check"),
        "ls showed a forged state: {err}"
    );
    let (ok, codes) = e.verify_codes();
    assert!(
        !ok && codes
            .iter()
            .any(|c| c == "manifest_mismatch" || c == "index_tampered")
    );
    let err = e.fails(&["tag", "000000", "--add", "x"]);
    assert!(err.contains("integrity check"), "{err}");
}

#[test]
fn old_rows_put_back_by_linear_algebra_are_detected() {
    let (e, old, new) = tagged_vault(300);
    let subset =
        solve(&deltas(&old, &new), [0; 4]).expect("300 deltas in 256 dimensions are dependent");
    assert!(!subset.is_empty());
    // Under a plain XOR of entry MACs, these old rows leave the digest as it is.
    let mut check = [0u64; 4];
    for &i in &subset {
        xor(&mut check, &vec_of(&old[i].mac));
        xor(&mut check, &vec_of(&new[i].mac));
    }
    assert_eq!(check, [0; 4]);
    let chosen: Vec<&Row> = subset.iter().map(|&i| &old[i]).collect();
    put_back(&e.vault, &chosen);
    assert_refused(&e);
}

#[test]
fn hiding_one_document_and_bringing_a_deleted_one_back_is_detected() {
    let (e, old, new) = tagged_vault(300);
    // A document deleted after the attacker saved its row and blob.
    let gone_src = e.path("gone.txt");
    fs::write(&gone_src, b"deleted on purpose").unwrap();
    let line = e.ok(&["add", gone_src.to_str().unwrap()]);
    let gone_id = line.split('\t').next().unwrap().to_owned();
    let gone_row = rows(&e.vault)
        .into_iter()
        .find(|r| hex(&r.id) == gone_id)
        .unwrap();
    let gone_blob = fs::read(e.blob(&gone_id)).unwrap();
    e.ok(&["rm", "--now", &gone_id]);
    // Hide `new[0]`, bring `gone` back: the digest changes by both MACs,
    // which a subset of the other deltas cancels.
    let hidden = &new[0];
    let mut target = vec_of(&gone_row.mac);
    xor(&mut target, &vec_of(&hidden.mac));
    let ds = deltas(&old[1..], &new[1..]);
    let subset = solve(&ds, target).expect("the deltas span the space");
    let c = Connection::open(e.vault.join("index.sqlite")).unwrap();
    c.execute("DELETE FROM documents WHERE id = ?1", [&hidden.id])
        .unwrap();
    drop(c);
    let mut chosen: Vec<&Row> = subset.iter().map(|&i| &old[i + 1]).collect();
    chosen.push(&gone_row);
    put_back(&e.vault, &chosen);
    fs::create_dir_all(e.blob(&gone_id).parent().unwrap()).unwrap();
    fs::write(e.blob(&gone_id), gone_blob).unwrap();
    assert_refused(&e);
}

fn copy_index(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for f in ["index.sqlite", "index.sqlite-wal", "index.sqlite-shm"] {
        let _ = fs::remove_file(to.join(f));
        if from.join(f).exists() {
            fs::copy(from.join(f), to.join(f)).unwrap();
        }
    }
}

#[test]
fn an_index_rolled_back_alone_is_reported_and_refused_for_writing() {
    let e = Env::new();
    let id = e.add_bytes("lease.pdf", b"terms");
    let saved = e.path("saved-index");
    copy_index(&e.vault, &saved);
    // Later changes: a rename, a tag, an export, a failed unlock.
    e.ok(&["rename", &id, "Lease 2026.pdf"]);
    e.ok(&["tag", &id, "--add", "legal"]);
    e.get(&id).unwrap();
    copy_index(&saved, &e.vault);
    // Reads work and say so; verify fails; writes are refused.
    let o = e.run(&["ls"]);
    assert!(o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("this vault is older than the one this computer last saw"),
        "{err}"
    );
    let (ok, codes) = e.verify_codes();
    assert!(!ok && codes.iter().any(|c| c == "rolled_back"), "{codes:?}");
    let o = e.run(&["rename", &id, "x.pdf"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr)
        .contains("accept it with `coffer verify --accept-older`"));
    // Restoring on purpose stays possible, and is audited.
    e.ok(&["verify", "--accept-older"]);
    let log = e.ok(&["log", "--verify"]);
    assert!(log.contains("accept_older"), "{log}");
    e.ok(&["rename", &id, "Lease (restored).pdf"]);
    // On another machine (no record) the same older index opens: the record
    // is what remembers.
    let elsewhere = e.path("other-machine");
    let o = coffer_at(&e.vault, &e.pass_file)
        .env("XDG_STATE_HOME", &elsewhere)
        .args(["ls"])
        .output()
        .unwrap();
    assert!(o.status.success());
}

#[test]
fn a_whole_folder_rolled_back_is_reported_on_the_machine_that_saw_it() {
    let e = Env::new();
    e.add_bytes("a.txt", b"a");
    let copy = e.path("vault-copy");
    copy_folder(&e.vault, &copy);
    e.add_bytes("b.txt", b"b");
    fs::remove_dir_all(&e.vault).unwrap();
    fs::rename(&copy, &e.vault).unwrap();
    let o = e.run(&["ls"]);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("older than the one this computer last saw")
    );
    let (ok, codes) = e.verify_codes();
    assert!(!ok && codes.iter().any(|c| c == "rolled_back"));
    let src = e.path("c.txt");
    fs::write(&src, b"c").unwrap();
    assert!(!e.run(&["add", src.to_str().unwrap()]).status.success());
}

#[test]
fn get_and_export_with_a_broken_state_record_write_nothing() {
    let e = Env::new();
    let id = e.add_bytes("secret.txt", b"plaintext that must not leak");
    let c = Connection::open(e.vault.join("index.sqlite")).unwrap();
    c.execute("UPDATE vault_state SET doc_count = doc_count + 1", [])
        .unwrap();
    drop(c);
    let out = e.path("out.txt");
    let o = e.run(&["get", &id, "--out", out.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(!out.exists(), "get left plaintext behind");
    let dir = e.path("all");
    let o = e.run(&["export", "--all", dir.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(!dir.exists() || fs::read_dir(&dir).unwrap().count() == 0);
}

#[test]
fn junk_in_failed_unlocks_never_locks_the_owner_out() {
    let e = Env::new();
    let wrong = e.path("wrong");
    fs::write(&wrong, "not the passphrase\n").unwrap();
    assert!(!e.run_with(&wrong, &["ls"]).status.success());
    let c = Connection::open(e.vault.join("index.sqlite")).unwrap();
    c.execute("INSERT INTO failed_unlocks (at_ms) VALUES ('x')", [])
        .unwrap();
    c.execute("INSERT INTO failed_unlocks (at_ms) VALUES (x'00ff')", [])
        .unwrap();
    drop(c);
    e.ok(&["ls"]);
    let log = e.ok(&["log", "--verify"]);
    assert!(
        log.contains("failed_unlock\tunauthenticated report; attempted at"),
        "{log}"
    );
    assert!(log.contains("2 planted rows ignored"), "{log}");
    e.ok(&["verify"]);
}

#[test]
fn repair_after_a_deletion_names_the_document_it_brings_back() {
    let e = Env::new();
    let keep = e.add_bytes("keep.txt", b"keep");
    let gone = e.add_bytes("gone.txt", b"deleted");
    let blob = fs::read(e.blob(&gone)).unwrap();
    e.ok(&["rm", "--now", &gone]);
    // The attacker puts the blob back and breaks the state record, so that
    // the owner runs repair.
    fs::write(e.blob(&gone), blob).unwrap();
    let c = Connection::open(e.vault.join("index.sqlite")).unwrap();
    c.execute("UPDATE vault_state SET mac = zeroblob(32)", [])
        .unwrap();
    drop(c);
    let out = e.ok(&["repair"]);
    assert!(out.contains(&format!("recovered\t{keep}")), "{out}");
    assert!(out.contains(&format!("not-listed-before\t{gone}")), "{out}");
    // The old log (intact) is continued.
    assert!(!out.contains("a new audit log was started"), "{out}");
    e.ok(&["log", "--verify"]);
}

/// SQLite honours whatever schema a database file declares. A planted
/// covering index (pointed at `documents` through `writable_schema`) with
/// planner statistics made the manifest check read the signed rows while the
/// listing read forged ones (an old row, a deleted document's row). Any
/// object Coffer did not make is refused before the index is used.
#[test]
fn a_planted_index_or_trigger_cannot_split_what_is_checked_from_what_is_shown() {
    let e = Env::new();
    let keep = e.add_bytes("keep.txt", b"kept");
    let gone = e.add_bytes("gone.txt", b"deleted on purpose");
    let gone_row = rows(&e.vault)
        .into_iter()
        .find(|r| hex(&r.id) == gone)
        .unwrap();
    let gone_blob = fs::read(e.blob(&gone)).unwrap();
    e.ok(&["rm", "--now", &gone]);
    fs::create_dir_all(e.blob(&gone).parent().unwrap()).unwrap();
    fs::write(e.blob(&gone), gone_blob).unwrap();
    let c = Connection::open(e.vault.join("index.sqlite")).unwrap();
    c.execute_batch(
        "CREATE TABLE shadow (id BLOB PRIMARY KEY, state INTEGER NOT NULL, size INTEGER NOT NULL,
           blob_len INTEGER NOT NULL, header_hash BLOB NOT NULL, meta BLOB NOT NULL,
           entry_mac BLOB NOT NULL) WITHOUT ROWID;
         INSERT INTO shadow SELECT * FROM documents;
         CREATE INDEX idx ON shadow(state, entry_mac);",
    )
    .unwrap();
    put_back(&e.vault, &[&gone_row]);
    c.execute_batch(
        "ANALYZE;
         PRAGMA writable_schema = ON;
         UPDATE sqlite_master SET tbl_name = 'documents',
           sql = 'CREATE INDEX idx ON documents(state, entry_mac)' WHERE name = 'idx';
         UPDATE sqlite_stat1 SET tbl = 'documents', stat = '1000 1000 1' WHERE idx = 'idx';
         DELETE FROM sqlite_master WHERE name = 'shadow';
         DELETE FROM sqlite_stat1 WHERE tbl = 'shadow';",
    )
    .unwrap();
    let v: i64 = c
        .query_row("PRAGMA schema_version", [], |r| r.get(0))
        .unwrap();
    c.execute_batch(&format!(
        "PRAGMA schema_version = {}; PRAGMA writable_schema = OFF; PRAGMA wal_checkpoint(TRUNCATE);",
        v + 1
    ))
    .unwrap();
    drop(c);
    let err = e.fails(&["ls"]);
    assert!(
        err.contains("index.sqlite holds tables, indexes or triggers Coffer did not make"),
        "{err}"
    );
    let out = e.path("stolen.txt");
    let o = e.run(&["get", &gone, "--out", out.to_str().unwrap()]);
    assert!(!o.status.success() && !out.exists());
    assert!(e.get(&keep).is_err());
    // A trigger planted on a table Coffer writes without a key: refused
    // too, before anything is written (its text never reaches the user).
    let e = Env::new();
    let c = Connection::open(e.vault.join("index.sqlite")).unwrap();
    c.execute_batch(
        "CREATE TRIGGER t BEFORE DELETE ON failed_unlocks BEGIN SELECT RAISE(ABORT, 'nope'); END;",
    )
    .unwrap();
    drop(c);
    let err = e.fails(&["ls"]);
    assert!(
        err.contains("did not make") && !err.contains("nope"),
        "{err}"
    );
}

/// A pending row planted over a kept blob of a deleted document: the
/// deletion is in the audit log, so the blob is not adopted back.
#[test]
fn a_planted_pending_row_never_brings_a_deleted_document_back() {
    let e = Env::new();
    e.add_bytes("keep.txt", b"kept");
    let gone = e.add_bytes("gone.txt", b"deleted on purpose");
    let blob = fs::read(e.blob(&gone)).unwrap();
    e.ok(&["rm", "--now", &gone]);
    fs::write(e.blob(&gone), blob).unwrap();
    let c = Connection::open(e.vault.join("index.sqlite")).unwrap();
    let id: Vec<u8> = (0..16)
        .map(|i| u8::from_str_radix(&gone[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    c.execute(
        "INSERT INTO documents VALUES (?1, 0, 0, 0, x'', x'', x'')",
        [&id],
    )
    .unwrap();
    drop(c);
    let listed = e.ok(&["ls"]);
    assert!(!listed.contains(&gone), "{listed}");
    assert!(e.get(&gone).is_err());
    assert!(e.blob(&gone).exists(), "the blob is left alone, for verify");
}

/// A deletion survives a repair: the new index carries the old log, so a
/// later repair still names the document brought back.
#[test]
fn a_deletion_recorded_before_a_repair_is_still_named_by_the_next_repair() {
    let e = Env::new();
    let keep = e.add_bytes("keep.txt", b"kept");
    e.add_bytes("other.txt", b"other");
    let gone = e.add_bytes("gone.txt", b"deleted on purpose");
    let blob = fs::read(e.blob(&gone)).unwrap();
    e.ok(&["rm", "--now", &gone]);
    let break_record = || {
        let c = Connection::open(e.vault.join("index.sqlite")).unwrap();
        c.execute("UPDATE vault_state SET mac = zeroblob(32)", [])
            .unwrap();
    };
    break_record();
    let out = e.ok(&["repair"]);
    assert!(!out.contains(&gone), "{out}");
    // Later: the blob put back, one live row removed (the manifest fails,
    // the record still verifies), and the owner repairs again.
    fs::write(e.blob(&gone), blob).unwrap();
    let c = Connection::open(e.vault.join("index.sqlite")).unwrap();
    let id: Vec<u8> = (0..16)
        .map(|i| u8::from_str_radix(&keep[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    c.execute("DELETE FROM documents WHERE id = ?1", [&id])
        .unwrap();
    drop(c);
    let out = e.ok(&["repair"]);
    assert!(out.contains(&format!("not-listed-before\t{gone}")), "{out}");
    assert!(
        out.contains("which documents the old index listed cannot be told"),
        "{out}"
    );
}

/// The record is this machine's, not the vault's: a whole folder put back
/// from before a key rotation is still reported as older.
#[test]
fn a_folder_rolled_back_across_a_key_rotation_is_still_reported() {
    let e = Env::new();
    e.add_bytes("a.txt", b"a");
    let copy = e.path("vault-copy");
    copy_folder(&e.vault, &copy);
    e.ok(&["rekey"]);
    e.add_bytes("b.txt", b"b");
    fs::remove_dir_all(&e.vault).unwrap();
    fs::rename(&copy, &e.vault).unwrap();
    let o = e.run(&["ls"]);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("older than the one this computer last saw")
    );
    let src = e.path("c.txt");
    fs::write(&src, b"c").unwrap();
    let o = e.run(&["add", src.to_str().unwrap()]);
    assert!(!o.status.success());
    // The refused add left nothing that a later acceptance would adopt.
    e.ok(&["verify", "--accept-older"]);
    assert!(!e.ok(&["ls"]).contains("c.txt"));
}

// ----- the trash ------------------------------------------------------------

/// The row of a document saved before `coffer rm` (trash), put back with
/// the old index's help: the document would reappear in listings. The
/// manifest refuses it like any old row; so is the row saved while it was
/// in the trash, put back after a restore (it would have the next unlock
/// purge the document).
#[test]
fn an_old_row_from_before_trash_or_restore_is_refused() {
    let e = Env::new();
    e.add_bytes("keep.txt", b"kept");
    let id = e.add_bytes("lease.pdf", b"terms");
    let find = |e: &Env| {
        rows(&e.vault)
            .into_iter()
            .find(|r| hex(&r.id) == id)
            .unwrap()
    };
    let live = find(&e);
    e.ok(&["rm", &id]);
    let trashed = find(&e);
    put_back(&e.vault, &[&live]);
    assert_refused(&e);
    put_back(&e.vault, &[&trashed]);
    e.ok(&["verify"]);
    e.ok(&["trash", "restore", &id]);
    put_back(&e.vault, &[&trashed]);
    assert_refused(&e);
    let err = e.fails(&["trash", "empty", "--yes"]);
    assert!(err.contains("integrity check"), "{err}");
    assert!(e.blob(&id).exists());
}

/// The trash flag lives in the sealed metadata: flipping any byte of it (to
/// move a document in or out of the trash without the key) fails its
/// authentication, and `verify` names the document.
#[test]
fn a_forged_trash_flag_is_detected() {
    let e = Env::new();
    let id = e.add_bytes("lease.pdf", b"terms");
    e.ok(&["rm", &id]);
    let c = Connection::open(e.vault.join("index.sqlite")).unwrap();
    // The encoding's first byte (1 live, 2 trashed) sits right after the
    // 12-byte nonce, under the AEAD.
    let mut meta: Vec<u8> = c
        .query_row("SELECT meta FROM documents", [], |r| r.get(0))
        .unwrap();
    meta[12] ^= 3;
    c.execute("UPDATE documents SET meta = ?1", [&meta])
        .unwrap();
    drop(c);
    let (ok, v) = e.verify_json();
    assert!(!ok);
    let p = &v["problems"][0];
    assert_eq!(p["code"], "corrupt", "{v}");
    assert_eq!(p["id"], id.as_str());
    let err = e.fails(&["trash", "restore", &id]);
    assert!(err.contains("corrupt"), "{err}");
}

/// The retention and the trash's count are in the signed record: lowering
/// the retention to have the next unlock purge the trash (with authentic
/// audit entries) fails the record's MAC, and the unlock purges nothing.
#[test]
fn a_forged_retention_is_refused_and_purges_nothing() {
    let e = Env::new();
    let id = e.add_bytes("lease.pdf", b"terms");
    e.ok(&["rm", &id]);
    for forge in [
        "UPDATE vault_state SET trash_retention_days = 0",
        "UPDATE vault_state SET trash_retention_days = 1",
        "UPDATE vault_state SET trash_count = 0",
    ] {
        let c = Connection::open(e.vault.join("index.sqlite")).unwrap();
        let saved: (i64, i64) = c
            .query_row(
                "SELECT trash_retention_days, trash_count FROM vault_state",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        c.execute(forge, []).unwrap();
        drop(c);
        let (ok, codes) = e.verify_codes();
        assert!(
            !ok && codes.iter().any(|c| c == "index_tampered"),
            "{forge}"
        );
        let err = e.fails(&["trash", "retention"]);
        assert!(err.contains("integrity check"), "{forge}: {err}");
        assert!(e.blob(&id).exists(), "{forge}");
        let c = Connection::open(e.vault.join("index.sqlite")).unwrap();
        c.execute(
            "UPDATE vault_state SET trash_retention_days = ?1, trash_count = ?2",
            [saved.0, saved.1],
        )
        .unwrap();
    }
    e.ok(&["verify"]);
    assert_eq!(e.ok(&["trash", "retention"]), "30\n");
}

/// The attack of the trash review: a copy of the index kept while a
/// document was in the trash is put back after its restore, and opened and
/// written to on another machine (or after the state folder was wiped) until
/// its entry numbers pass the newest this machine saw. This machine reports
/// another history and refuses writes, as for an older index. (That such an
/// unlock never purges the restored document is played, with a moved
/// clock, by the core's
/// `an_old_index_from_when_a_restored_document_was_in_the_trash_purges_nothing`.)
#[test]
fn an_old_index_written_to_elsewhere_is_reported_on_the_machine_that_saw_the_newer_one() {
    let e = Env::new();
    let id = e.add_bytes("report.txt", b"quarterly secrets");
    e.add_bytes("other.txt", b"other");
    e.ok(&["rm", &id]);
    let old = e.path("old-index");
    copy_index(&e.vault, &old);
    e.ok(&["trash", "restore", &id]);
    copy_index(&old, &e.vault);
    let elsewhere = e.path("other-machine");
    for _ in 0..4 {
        let o = coffer_at(&e.vault, &e.pass_file)
            .env("XDG_STATE_HOME", &elsewhere)
            .args(["ls"])
            .output()
            .unwrap();
        assert!(o.status.success());
    }
    let o = e.run(&["ls"]);
    assert!(o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("this vault is older than the one this computer last saw"),
        "{err}"
    );
    let (ok, codes) = e.verify_codes();
    assert!(!ok && codes.iter().any(|c| c == "rolled_back"), "{codes:?}");
    let o = e.run(&["trash", "empty", "--yes"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("error: this vault is older") && err.contains("another history"),
        "{err}"
    );
}

/// The attack: `get --out` / `share --out` / `export --all` aimed into the
/// vault folder (the header, another document's blob) with `--force`.
#[test]
fn outputs_into_the_vault_folder_are_refused() {
    let e = Env::new();
    let a = e.add_bytes("a.txt", b"a");
    let b = e.add_bytes("b.txt", b"b");
    let header = fs::read(e.vault.join("coffer.header")).unwrap();
    let blob_b = fs::read(e.blob(&b)).unwrap();
    let key = age::x25519::Identity::generate().to_public().to_string();
    let key = key.as_str();
    for out in [e.vault.join("coffer.header"), e.blob(&b)] {
        let out = out.to_str().unwrap();
        let err = e.fails(&["get", &a, "--out", out, "--force"]);
        assert!(err.contains("inside the vault folder"), "{err}");
        let err = e.fails(&["share", &a, "--to", key, "--out", out, "--force"]);
        assert!(err.contains("inside the vault folder"), "{err}");
    }
    let blobs = e.vault.join("blobs");
    let o = e.run(&["export", "--all", blobs.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("inside the vault folder"));
    assert_eq!(fs::read(e.vault.join("coffer.header")).unwrap(), header);
    assert_eq!(fs::read(e.blob(&b)).unwrap(), blob_b);
    assert_eq!(e.get(&b).unwrap(), b"b");
    let (ok, codes) = e.verify_codes();
    assert!(ok, "{codes:?}");
}

/// The attack: `--force` onto a FIFO removed it. Only a file or a link is
/// replaced.
#[test]
fn force_never_removes_a_fifo() {
    let e = Env::new();
    let a = e.add_bytes("a.txt", b"a");
    let fifo = e.path("fifo");
    let st = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(st.success());
    let err = e.fails(&["get", &a, "--out", fifo.to_str().unwrap(), "--force"]);
    assert!(err.contains("not a file"), "{err}");
    use std::os::unix::fs::FileTypeExt;
    assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
}
