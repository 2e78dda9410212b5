//! Vault-level tests that need private access: tamper cases that require the
//! master key to forge, and the manifest's bookkeeping.

use super::*;
use crate::stream::CHUNK_SIZE;
use std::fs;

pub(crate) const FAST: KdfParams = KdfParams {
    memory_kib: crate::kdf::MIN_MEMORY_KIB,
    iterations: 1,
    parallelism: 1,
};

fn pw() -> Passphrase {
    Passphrase::new("correct horse battery staple".into())
}

fn new_vault() -> (tempfile::TempDir, Vault, RecoveryKey) {
    let t = tempfile::tempdir().unwrap();
    let (v, rk) = Vault::create(&t.path().join("v"), &pw(), FAST).unwrap();
    (t, v, rk)
}

fn add(v: &Vault, name: &str, data: &[u8]) -> DocumentId {
    let d = v.add_reader(name, &[], data, &mut |_| {}).unwrap();
    d.id
}

fn read(v: &Vault, id: &DocumentId) -> Result<Vec<u8>> {
    let (r, _) = v.checked_row(id)?;
    let mut out = Vec::new();
    v.decrypt_into(id, &r, &mut out, &mut |_| {})?;
    Ok(out)
}

fn codes(v: &Vault) -> Vec<&'static str> {
    v.verify(&mut |_| {})
        .unwrap()
        .problems
        .iter()
        .map(|p| p.code)
        .collect()
}

#[test]
fn round_trip_at_chunk_boundaries() {
    let (_t, v, _) = new_vault();
    for n in [
        0,
        1,
        CHUNK_SIZE - 1,
        CHUNK_SIZE,
        CHUNK_SIZE + 1,
        3 * CHUNK_SIZE + 7,
    ] {
        let data: Vec<u8> = (0..n).map(|i| (i % 253) as u8).collect();
        let id = add(&v, &format!("f{n}.bin"), &data);
        assert_eq!(read(&v, &id).unwrap(), data, "n={n}");
        assert_eq!(v.info(&id).unwrap().size, n as u64);
    }
    assert!(v.verify(&mut |_| {}).unwrap().ok);
}

#[test]
fn an_older_version_of_a_blob_is_detected() {
    let (_t, v, _) = new_vault();
    let id = add(&v, "contract.pdf", b"signed version");
    // A valid blob for the same document, as an earlier write would have left.
    let m = v.checked_row(&id).unwrap().1;
    let mut older = Vec::new();
    blob::encrypt(
        &v.master,
        id.0,
        &m,
        &b"draft version"[..],
        None,
        &mut older,
        &mut |_| {},
    )
    .unwrap();
    fs::write(v.blob_path(&id), &older).unwrap();
    let e = read(&v, &id).unwrap_err();
    assert_eq!(e.code(), "corrupt");
    assert!(codes(&v).contains(&"corrupt"));
}

#[test]
fn an_edited_index_entry_is_detected() {
    let (_t, v, _) = new_vault();
    let id = add(&v, "a.txt", b"aaaa");
    v.conn
        .execute("UPDATE documents SET size = 3 WHERE id = ?1", [&id.0[..]])
        .unwrap();
    assert_eq!(read(&v, &id).unwrap_err().code(), "corrupt");
    assert!(codes(&v).contains(&"corrupt"));
}

#[test]
fn a_removed_index_row_is_detected_and_writes_are_refused_after_a_forged_state() {
    let (_t, v, _) = new_vault();
    add(&v, "a.txt", b"aaaa");
    let b = add(&v, "b.txt", b"bbbb");
    v.conn
        .execute("DELETE FROM documents WHERE id = ?1", [&b.0[..]])
        .unwrap();
    let c = codes(&v);
    assert!(
        c.contains(&"manifest_mismatch") && c.contains(&"unindexed_blob"),
        "{c:?}"
    );
    // Adding more keeps the discrepancy: the digest is updated, never recomputed.
    add(&v, "c.txt", b"cccc");
    assert!(codes(&v).contains(&"manifest_mismatch"));
    // Editing the integrity record itself fails its MAC; writes are refused.
    v.conn
        .execute("UPDATE vault_state SET doc_count = 2", [])
        .unwrap();
    assert!(codes(&v).contains(&"index_tampered"));
    let e = v
        .add_reader("d.txt", &[], &b"d"[..], &mut |_| {})
        .unwrap_err();
    assert_eq!(e.code(), "index_tampered");
}

#[test]
fn removing_a_document_keeps_the_manifest_consistent() {
    let (_t, v, _) = new_vault();
    let a = add(&v, "a.txt", b"aaaa");
    add(&v, "b.txt", b"bbbb");
    v.remove(&a).unwrap();
    assert!(!v.blob_path(&a).exists());
    let r = v.verify(&mut |_| {}).unwrap();
    assert!(r.ok, "{:?}", r.problems);
    assert_eq!(v.list(None).unwrap().len(), 1);
    assert!(matches!(v.resolve(&a.to_string()), Err(Error::NotFound(_))));
}

#[test]
fn interrupted_writes_are_finished_at_the_next_open() {
    let (t, v, _) = new_vault();
    let keep = add(&v, "keep.txt", b"keep");
    // A crash after the blob was linked into place, before the commit: the
    // blob is complete (it is linked only then), so it is adopted.
    let staged = v
        .stage(
            "late.txt".into(),
            vec![],
            &mut &b"late"[..],
            None,
            &mut |_| {},
            |_| Ok(()),
        )
        .unwrap();
    let late = staged.info.id;
    let linked = v.link_staged(vec![staged]).unwrap();
    drop(linked);
    // A crash before the batch was linked leaves an unnamed file: nothing.
    let unlinked = v
        .stage(
            "never.txt".into(),
            vec![],
            &mut &b"never"[..],
            None,
            &mut |_| {},
            |_| Ok(()),
        )
        .unwrap();
    drop(unlinked);
    fs::write(
        t.path().join("v/tmp").join(crate::dir::temp_name()),
        b"partial",
    )
    .unwrap();
    // Not a name of ours: left alone.
    fs::write(t.path().join("v/tmp/.coffer-x.tmp"), b"foreign").unwrap();
    // A crash in the middle of a removal (the row deleting, the audit entry
    // written, the blob still there): the blob goes.
    let gone = add(&v, "gone.txt", b"gone");
    let r = index::live_row(&v.conn, &gone.0).unwrap().unwrap();
    v.write(|tx, st, v| {
        index::set_state(tx, &gone.0, index::DELETING)?;
        st.toggle(&v.folder, &r.entry_mac);
        st.doc_count -= 1;
        audit::append(tx, &v.k_audit, st, Event::Delete, &format!("id={gone}"))
    })
    .unwrap();
    let gone_path = v.blob_path(&gone);
    drop(v);
    let v = Vault::unlock(&t.path().join("v"), &pw()).unwrap();
    assert!(!gone_path.exists());
    assert_eq!(read(&v, &late).unwrap(), b"late");
    assert_eq!(fs::read_dir(t.path().join("v/tmp")).unwrap().count(), 1);
    assert_eq!(
        fs::read(t.path().join("v/tmp/.coffer-x.tmp")).unwrap(),
        b"foreign"
    );
    assert_eq!(read(&v, &keep).unwrap(), b"keep");
    let rep = v.verify(&mut |_| {}).unwrap();
    assert!(rep.ok, "{:?}", rep.problems);
}

/// Rows nobody can authenticate (the state column has no MAC) never make
/// Coffer delete a blob: a pending row over a blob that does not decrypt, a
/// deleting row with no `delete` entry in the audit log, or an old copy of
/// the index in which a reported document was still pending.
#[test]
fn planted_or_old_unfinished_rows_never_delete_a_blob() {
    let (t, v, _) = new_vault();
    let dir = t.path().join("v");
    // An old copy of the index taken while "kept.txt" was pending.
    let staged = v
        .stage(
            "kept.txt".into(),
            vec![],
            &mut &b"reported"[..],
            None,
            &mut |_| {},
            |_| Ok(()),
        )
        .unwrap();
    let staged = v.link_staged(vec![staged]).unwrap();
    v.conn
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .unwrap();
    let old_copy = fs::read(dir.join(INDEX_FILE)).unwrap();
    let mut done = Vec::new();
    v.commit_staged(staged, &mut done, &mut |_| {}).unwrap();
    let kept = done[0].id;
    // A live document whose row the attacker marks deleting, and a blob
    // planted under a pending row.
    let victim = add(&v, "victim.txt", b"victim");
    let ghost = DocumentId::random();
    index::insert_pending(&v.conn, &ghost.0).unwrap();
    fs::create_dir_all(v.blob_path(&ghost).parent().unwrap()).unwrap();
    fs::write(v.blob_path(&ghost), b"not a blob").unwrap();
    v.conn
        .execute(
            "UPDATE documents SET state = 2 WHERE id = ?1",
            [&victim.0[..]],
        )
        .unwrap();
    let (kept_blob, victim_blob, ghost_blob) = (
        v.blob_path(&kept),
        v.blob_path(&victim),
        v.blob_path(&ghost),
    );
    drop(v);
    // With a wrong passphrase nothing at all is removed.
    let wrong = Vault::unlock(&dir, &Passphrase::new("not the passphrase".into()));
    assert!(matches!(wrong, Err(Error::WrongSecret)));
    // The planted deleting row fails the manifest (the live set changed):
    // nothing is finished, nothing removed.
    let v = Vault::unlock(&dir, &pw()).unwrap();
    assert!(v.integrity_problem().is_some());
    drop(v);
    assert!(victim_blob.exists() && ghost_blob.exists() && kept_blob.exists());
    // Put the old copy back (no WAL): "kept.txt" is pending there.
    fs::write(dir.join(INDEX_FILE), &old_copy).unwrap();
    for f in ["index.sqlite-wal", "index.sqlite-shm"] {
        let _ = fs::remove_file(dir.join(f));
    }
    let v = Vault::unlock(&dir, &pw()).unwrap();
    assert!(kept_blob.exists() && victim_blob.exists() && ghost_blob.exists());
    // The reported document is back (adopted), nothing was lost.
    assert_eq!(read(&v, &kept).unwrap(), b"reported");
}

#[test]
fn audit_log_records_events_and_detects_truncation() {
    let (_t, v, _) = new_vault();
    let id = add(&v, "a.txt", b"a");
    v.remove(&id).unwrap();
    let (entries, status) = v.audit_log().unwrap();
    assert!(status.ok);
    let events: Vec<&str> = entries.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(events, ["create", "add", "delete"]);
    v.conn
        .execute(
            "DELETE FROM audit WHERE seq = (SELECT max(seq) FROM audit)",
            [],
        )
        .unwrap();
    assert!(!v.audit_log().unwrap().1.ok);
}

#[test]
fn an_edit_that_changes_nothing_writes_and_audits_nothing() {
    let (_t, v, _) = new_vault();
    let id = add(&v, "a.txt", b"a");
    v.edit(&id, None, Some(&["x".to_owned(), "y".to_owned()]))
        .unwrap();
    let before = (v.audit_log().unwrap().0.len(), v.data_version().unwrap());
    let fold = v
        .conn
        .query_row("SELECT count(*) FROM audit", [], |r| r.get::<_, i64>(0))
        .unwrap();
    for _ in 0..50 {
        v.edit(&id, Some("a.txt"), None).unwrap();
        v.edit(&id, None, Some(&["y".to_owned(), "x".to_owned()]))
            .unwrap();
        let d = v
            .edit(
                &id,
                Some("a.txt"),
                Some(&["y".to_owned(), "x".to_owned(), "x".to_owned()]),
            )
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(d.name, "a.txt");
    }
    let (entries, status) = v.audit_log().unwrap();
    assert!(status.ok);
    assert_eq!(entries.len(), before.0, "a no-op edit was audited");
    assert_eq!(
        v.conn
            .query_row("SELECT count(*) FROM audit", [], |r| r.get::<_, i64>(0))
            .unwrap(),
        fold
    );
    // A real change still is.
    v.edit(&id, Some("b.txt"), None).unwrap();
    assert_eq!(v.audit_log().unwrap().0.len(), before.0 + 1);
}

#[test]
fn a_failed_unlock_is_chained_in_at_the_next_unlock() {
    let (t, v, _) = new_vault();
    drop(v);
    let dir = t.path().join("v");
    let bad = Passphrase::new("not the passphrase".into());
    assert!(matches!(Vault::unlock(&dir, &bad), Err(Error::WrongSecret)));
    let v = Vault::unlock(&dir, &pw()).unwrap();
    let (entries, status) = v.audit_log().unwrap();
    assert!(status.ok);
    let events: Vec<&str> = entries.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(events, ["create", "failed_unlock", "unlock"]);
}

#[test]
fn a_rolled_back_header_is_refused() {
    let (t, mut v, _) = new_vault();
    let dir = t.path().join("v");
    let old = fs::read(dir.join(HEADER_FILE)).unwrap();
    let new = Passphrase::new("a brand new passphrase".into());
    v.change_passphrase(&new, None).unwrap();
    drop(v);
    fs::write(dir.join(HEADER_FILE), &old).unwrap();
    let e = Vault::unlock(&dir, &pw()).unwrap_err();
    assert_eq!(e.code(), "header_tampered");
}

#[test]
fn repair_rebuilds_everything_from_blobs() {
    let (t, v, rk) = new_vault();
    let dir = t.path().join("v");
    let a = add(&v, "a.txt", b"alpha");
    let b = add(&v, "b.pdf", &vec![7u8; 3 * CHUNK_SIZE]);
    drop(v);
    fs::remove_file(dir.join(INDEX_FILE)).unwrap();
    let _ = fs::remove_file(dir.join("index.sqlite-wal"));
    assert!(Vault::unlock(&dir, &pw()).is_err());
    let rep = Vault::repair(&dir, &Unlocker::Recovery(&rk), &mut |_| {}).unwrap();
    assert_eq!(rep.recovered.len(), 2);
    assert!(rep.failed.is_empty());
    let v = Vault::unlock(&dir, &pw()).unwrap();
    assert_eq!(read(&v, &a).unwrap(), b"alpha");
    assert_eq!(read(&v, &b).unwrap(), vec![7u8; 3 * CHUNK_SIZE]);
    let names: Vec<String> = v.list(None).unwrap().into_iter().map(|d| d.name).collect();
    assert_eq!(names, ["a.txt", "b.pdf"]);
    assert!(v.verify(&mut |_| {}).unwrap().ok);
}

/// Names that a forged or older index could hold: the export still writes
/// only inside the chosen folder, never through a symlink already there.
#[cfg(unix)]
#[test]
fn export_never_writes_outside_the_folder_even_with_hostile_stored_names() {
    let (t, v, _) = new_vault();
    let corpus: Vec<String> =
        serde_json::from_str(include_str!("../../../../testdata/hostile-names.json")).unwrap();
    let mut ids = Vec::new();
    for (i, n) in corpus.iter().enumerate() {
        // Bypass input validation on purpose, as a tampered index would.
        let s = v
            .stage(
                n.clone(),
                vec![],
                &mut &format!("doc {i}").into_bytes()[..],
                None,
                &mut |_| {},
                |_| Ok(()),
            )
            .unwrap();
        let mut done = Vec::new();
        v.commit_staged(vec![s], &mut done, &mut |_| {}).unwrap();
        ids.push(done.remove(0).id.to_string());
    }
    let outside = t.path().join("outside");
    fs::create_dir(&outside).unwrap();
    let export = t.path().join("export");
    fs::create_dir(&export).unwrap();
    // Traps: symlinks named like the export names, to a file and a folder outside.
    fs::write(outside.join("victim"), b"untouched").unwrap();
    for n in ["_", "_.._etc_passwd", "_..", "_.", "a_b"] {
        assert!(corpus.iter().any(|c| crate::names::export_name(c) == n));
        std::os::unix::fs::symlink(outside.join("victim"), export.join(n)).unwrap();
    }
    std::os::unix::fs::symlink(&outside, export.join("report.pdf_.exe")).unwrap();

    let report = v.export_all(&export, &mut |_| {}).unwrap();
    assert!(report.failed.is_empty());
    let written = report.exported;
    assert_eq!(written.len(), corpus.len());
    for e in &written {
        let p = &e.path;
        assert_eq!(p.parent(), Some(export.as_path()), "{p:?}");
        let md = fs::symlink_metadata(p).unwrap();
        assert!(md.file_type().is_file(), "{p:?}");
        assert_eq!(e.changes.first(), Some(&NameChange::Repaired), "{p:?}");
        assert!(!p.file_name().unwrap().to_str().unwrap().starts_with('.'));
    }
    assert_eq!(fs::read(outside.join("victim")).unwrap(), b"untouched");
    assert_eq!(fs::read_dir(&outside).unwrap().count(), 1);
    // Every document landed, once, in the export folder.
    let regular = fs::read_dir(&export)
        .unwrap()
        .flatten()
        .filter(|e| e.file_type().unwrap().is_file())
        .count();
    assert_eq!(regular, corpus.len());
    assert!(fs::read_dir(&export)
        .unwrap()
        .flatten()
        .all(|e| !e.file_name().to_string_lossy().ends_with(".tmp")));
}

fn non_portable_corpus() -> Vec<String> {
    serde_json::from_str(include_str!("../../../../testdata/non-portable-names.json")).unwrap()
}

/// Every non-portable name is stored as given and exported byte for byte
/// where the folder takes it (a leading dot made visible).
#[test]
fn non_portable_names_are_exported_as_stored_where_the_folder_takes_them() {
    let (t, v, _) = new_vault();
    let corpus = non_portable_corpus();
    let mut body = std::collections::HashMap::new();
    for (i, n) in corpus.iter().enumerate() {
        let id = add(&v, n, format!("doc {i}").as_bytes());
        assert_eq!(v.info(&id).unwrap().name, *n);
        body.insert(id, format!("doc {i}").into_bytes());
    }
    let out = t.path().join("native");
    let r = v.export_all(&out, &mut |_| {}).unwrap();
    assert!(r.failed.is_empty());
    assert_eq!(r.exported.len(), corpus.len());
    for e in &r.exported {
        let n = &e.info.name;
        let written = e.path.file_name().unwrap().to_str().unwrap();
        assert_eq!(e.path.parent(), Some(out.as_path()));
        if let Some(rest) = written.strip_prefix('_').filter(|_| n.starts_with('.')) {
            assert_eq!(rest, n);
            assert_eq!(e.changes, [NameChange::LeadingDot]);
        } else {
            assert_eq!(written, n);
            assert!(e.changes.is_empty(), "{n:?}: {:?}", e.changes);
        }
        assert_eq!(fs::read(&e.path).unwrap(), body[&e.info.id]);
    }
}

/// A folder that refuses names as FAT does (`EINVAL`): each document falls
/// back to its portable form, numbered on a clash, never replacing a file.
#[test]
fn a_folder_that_refuses_a_name_gets_its_portable_form_never_clobbering() {
    let (t, v, _) = new_vault();
    let corpus = non_portable_corpus();
    let mut body = std::collections::HashMap::new();
    for (i, n) in corpus.iter().enumerate() {
        let id = add(&v, n, format!("doc {i}").as_bytes());
        body.insert(id, format!("doc {i}").into_bytes());
    }
    add(&v, "fine.txt", b"portable");
    let fat = t.path().join("fat");
    fs::create_dir(&fat).unwrap();
    crate::faults::FatLike::at(&fat);
    // Already there: the portable form of `con.txt`, and of `a:b`.
    fs::write(fat.join("con_.txt"), b"keep").unwrap();
    fs::write(fat.join("a_b"), b"keep too").unwrap();
    let r = v.export_all(&fat, &mut |_| {}).unwrap();
    assert!(r.failed.is_empty(), "{:?}", r.failed);
    assert_eq!(r.exported.len(), corpus.len() + 1);
    for e in &r.exported {
        let n = &e.info.name;
        let written = e.path.file_name().unwrap().to_str().unwrap();
        assert_eq!(e.path.parent(), Some(fat.as_path()));
        assert_eq!(names::classify(written), names::NameClass::Portable);
        if n == "fine.txt" {
            assert_eq!(written, n);
            assert!(e.changes.is_empty());
            continue;
        }
        let portable = names::portable_name(n);
        assert!(
            written == portable || e.changes.contains(&NameChange::Numbered),
            "{n:?} -> {written:?}"
        );
        if names::non_portable(&names::export_name(n)).is_some() {
            assert!(e.changes.contains(&NameChange::Portable), "{n:?}");
        }
        assert_eq!(fs::read(&e.path).unwrap(), body[&e.info.id]);
    }
    let con = r
        .exported
        .iter()
        .find(|e| e.info.name == "con.txt")
        .unwrap();
    assert_eq!(con.path, fat.join("con_ (1).txt"));
    assert_eq!(con.changes, [NameChange::Portable, NameChange::Numbered]);
    assert_eq!(fs::read(fat.join("con_.txt")).unwrap(), b"keep");
    assert_eq!(fs::read(fat.join("a_b")).unwrap(), b"keep too");
    assert_eq!(fs::read_dir(&fat).unwrap().count(), corpus.len() + 3);

    // `get` to a name the folder refuses: a typed error, nothing left.
    let id = v.list(Some("a:b")).unwrap()[0].id;
    let e = v
        .export_to(&id, &fat.join("out:put.txt"), false, &mut |_| {})
        .unwrap_err();
    assert_eq!(e.code(), "name_not_accepted");
    assert_eq!(fs::read_dir(&fat).unwrap().count(), corpus.len() + 3);
    v.export_to(&id, &fat.join("output.txt"), false, &mut |_| {})
        .unwrap();
}

#[test]
fn check_passphrase_and_data_version() {
    let (dir, v, _) = new_vault();
    v.check_passphrase(&pw()).unwrap();
    assert!(matches!(
        v.check_passphrase(&Passphrase::new("not the passphrase".into())),
        Err(Error::WrongSecret)
    ));
    let (entries, status) = v.audit_log().unwrap();
    assert!(status.ok);
    assert_eq!(entries.last().unwrap().event, "failed_check");
    assert_eq!(
        entries.iter().filter(|e| e.event == "failed_check").count(),
        1
    );
    let before = v.data_version().unwrap();
    add(&v, "own.txt", b"x");
    assert_eq!(
        v.data_version().unwrap(),
        before,
        "own writes do not move it"
    );
    let other = Vault::unlock(&dir.path().join("v"), &pw()).unwrap();
    add(&other, "other.txt", b"y");
    assert_ne!(
        v.data_version().unwrap(),
        before,
        "another connection's commit moves it"
    );
}

// ----- races, played in a fixed order through crate::faults ------------------

/// A vault in `t/v` with one document, unlocked twice (two "processes").
fn two_handles() -> (tempfile::TempDir, PathBuf, DocumentId) {
    let (t, v, _) = new_vault();
    let id = add(&v, "shared.txt", b"shared");
    drop(v);
    let dir = t.path().join("v");
    (t, dir, id)
}

#[test]
fn rm_racing_rm_removes_once_and_keeps_the_manifest() {
    let (_t, dir, id) = two_handles();
    let pause = crate::faults::Pause::at("remove:before-tx", &dir);
    let d = dir.clone();
    let first = std::thread::spawn(move || {
        let v = Vault::unlock(&d, &pw()).unwrap();
        v.remove(&id).map_err(|e| e.code())
    });
    pause.wait_reached();
    let v = Vault::unlock(&dir, &pw()).unwrap();
    v.remove(&id).unwrap();
    pause.release();
    assert_eq!(first.join().unwrap(), Err("not_found"));
    let rep = v.verify(&mut |_| {}).unwrap();
    assert!(rep.ok, "{:?}", rep.problems);
}

#[test]
fn rm_racing_rename_keeps_the_manifest() {
    let (_t, dir, id) = two_handles();
    let pause = crate::faults::Pause::at("remove:before-tx", &dir);
    let d = dir.clone();
    let remover = std::thread::spawn(move || {
        let v = Vault::unlock(&d, &pw()).unwrap();
        v.remove(&id).map_err(|e| e.code())
    });
    pause.wait_reached();
    let v = Vault::unlock(&dir, &pw()).unwrap();
    v.edit(&id, Some("renamed.txt"), None).unwrap();
    pause.release();
    assert_eq!(remover.join().unwrap(), Ok(()));
    let rep = v.verify(&mut |_| {}).unwrap();
    assert!(rep.ok, "{:?}", rep.problems);
    assert!(v.list(None).unwrap().is_empty());
}

#[test]
fn rename_racing_rename_keeps_the_manifest() {
    let (_t, dir, id) = two_handles();
    let pause = crate::faults::Pause::at("edit:before-tx", &dir);
    let d = dir.clone();
    let slow = std::thread::spawn(move || {
        let v = Vault::unlock(&d, &pw()).unwrap();
        v.edit(&id, None, Some(&["late".to_owned()])).map(|_| ())
    });
    pause.wait_reached();
    let v = Vault::unlock(&dir, &pw()).unwrap();
    v.edit(&id, Some("first.txt"), None).unwrap();
    pause.release();
    slow.join().unwrap().unwrap();
    let rep = v.verify(&mut |_| {}).unwrap();
    assert!(rep.ok, "{:?}", rep.problems);
    // Both edits stand: the later one saw the earlier.
    let d = v.info(&id).unwrap();
    assert_eq!(
        (d.name.as_str(), d.tags),
        ("first.txt", vec!["late".to_owned()])
    );
}

#[test]
fn add_racing_repair_lands_in_the_index_that_stays() {
    let (_t, dir, _) = two_handles();
    let swap = crate::faults::Pause::at("repair:before-swap", &dir);
    let d = dir.clone();
    let repair = std::thread::spawn(move || {
        Vault::repair(&d, &Unlocker::Passphrase(&pw()), &mut |_| {}).map(|r| r.recovered.len())
    });
    swap.wait_reached();
    // The adder starts while repair holds the vault and has built its index.
    let waiting = crate::faults::Pause::at("open:before-shared-lock", &dir);
    let d = dir.clone();
    let adder = std::thread::spawn(move || {
        let v = Vault::unlock(&d, &pw()).unwrap();
        v.add_reader("late.txt", &[], &b"added during repair"[..], &mut |_| {})
            .unwrap()
            .id
    });
    waiting.wait_reached();
    waiting.release();
    swap.release();
    assert_eq!(repair.join().unwrap().unwrap(), 1);
    let added = adder.join().unwrap();
    let v = Vault::unlock(&dir, &pw()).unwrap();
    assert_eq!(read(&v, &added).unwrap(), b"added during repair");
    let rep = v.verify(&mut |_| {}).unwrap();
    assert!(rep.ok, "{:?}", rep.problems);
}

#[test]
fn passwd_refuses_a_header_rolled_back_since_unlock() {
    let (t, mut v, _) = new_vault();
    let header = t.path().join("v").join(HEADER_FILE);
    let old = fs::read(&header).unwrap();
    v.change_passphrase(&Passphrase::new("a second passphrase".into()), None)
        .unwrap();
    fs::write(&header, &old).unwrap();
    let e = v
        .change_passphrase(&Passphrase::new("a third passphrase!".into()), None)
        .unwrap_err();
    assert_eq!(e.code(), "header_tampered");
}

#[test]
fn a_file_that_grows_while_it_is_read_is_refused() {
    let (t, v, _) = new_vault();
    let p = t.path().join("growing.log");
    fs::write(&p, vec![7u8; 3 * CHUNK_SIZE]).unwrap();
    let mut grown = false;
    let report = v
        .add_files(
            std::slice::from_ref(&p),
            &AddOptions::default(),
            &mut |_| {
                if !grown {
                    use std::io::Write;
                    let mut f = fs::OpenOptions::new().append(true).open(&p).unwrap();
                    f.write_all(b"appended while Coffer reads").unwrap();
                    grown = true;
                }
            },
            &mut |_| {},
        )
        .unwrap();
    assert!(report.added.is_empty());
    assert_eq!(report.refused.len(), 1);
    let e = &report.refused[0].1;
    assert_eq!(e.code, "invalid_input");
    assert!(e.message.contains("changed while it was imported"), "{e:?}");
    assert!(v.list(None).unwrap().is_empty());
    let rep = v.verify(&mut |_| {}).unwrap();
    assert!(rep.ok, "{:?}", rep.problems);
    // The same file, no longer changing, is taken.
    v.add_files(&[p], &AddOptions::default(), &mut |_| {}, &mut |_| {})
        .unwrap();
}

#[test]
fn headers_that_multiply_or_inflate_the_kdf_are_refused() {
    let (t, v, _) = new_vault();
    drop(v);
    let path = t.path().join("v").join(HEADER_FILE);
    let bytes = fs::read(&path).unwrap();
    let h = Header::parse(&bytes).unwrap();
    // A second passphrase slot: two Argon2id runs per attempt.
    let mut two = h.clone();
    two.slots.push(h.slots[0].clone());
    assert_eq!(
        Header::parse(&two.to_bytes()).unwrap_err().to_string(),
        "the vault header is corrupt: more than one slot of a kind"
    );
    // Parameters above what init ever chooses (here 4 GiB, 64 passes).
    for (m, it) in [(4 * 1024 * 1024, 3), (64 * 1024, 64)] {
        let mut big = h.clone();
        big.slots[0].kind = SlotKind::Passphrase(KdfParams {
            memory_kib: m,
            iterations: it,
            parallelism: 1,
        });
        assert_eq!(
            Header::parse(&big.to_bytes()).unwrap_err().code(),
            "kdf_params"
        );
    }
}

/// Parameters edited in the header on disk after unlock (while the vault is
/// open) are never carried into the new passphrase slot: the header MAC is
/// checked before its parameters are read.
#[test]
fn passwd_never_inherits_forged_kdf_parameters() {
    let (t, mut v, _) = new_vault();
    let path = t.path().join("v").join(HEADER_FILE);
    let bytes = fs::read(&path).unwrap();
    let h = Header::parse(&bytes).unwrap();
    // The same header with other parameters (its MAC kept as it was).
    let mut forged = h.clone();
    forged.slots[0].kind = SlotKind::Passphrase(KdfParams {
        memory_kib: crate::kdf::MIN_MEMORY_KIB + 1024,
        iterations: 1,
        parallelism: 1,
    });
    fs::write(&path, forged.to_bytes()).unwrap();
    let e = v
        .change_passphrase(&Passphrase::new("a new passphrase".into()), None)
        .unwrap_err();
    assert_eq!(e.code(), "header_tampered");
    assert_eq!(
        fs::read(&path).unwrap(),
        forged.to_bytes(),
        "nothing written"
    );
}

/// Runs `rekey` on the vault at `dir` in a thread that dies at `seam`, as a
/// killed process would.
fn die_in_rekey_at(dir: &Path, seam: &'static str) {
    crate::faults::Crash::at(seam, dir);
    let d = dir.to_owned();
    let died = std::thread::spawn(move || {
        let mut v = Vault::unlock(&d, &pw()).unwrap();
        v.rekey(&pw(), &mut |_| {}).map(drop)
    })
    .join();
    assert!(died.is_err(), "{seam}: the crash was injected");
}

/// A rotation that dies right after a blob was replaced, or right after the
/// index moved to the next key (before the header): the vault opens with the
/// old header each time (the second time it puts the next header in place
/// itself), and the next `rekey` finishes the rotation.
#[test]
fn a_rotation_that_dies_at_either_seam_resumes() {
    let (t, v, _) = new_vault();
    let dir = t.path().join("v");
    let a = add(&v, "a.bin", &vec![1u8; 3 * CHUNK_SIZE + 5]);
    let b = add(&v, "b.bin", b"bravo");
    drop(v);
    for seam in ["rekey:after-blob", "rekey:after-switch"] {
        die_in_rekey_at(&dir, seam);
        // The old header still opens; every document reads.
        let v = Vault::unlock(&dir, &pw()).unwrap();
        assert_eq!(read(&v, &b).unwrap(), b"bravo", "{seam}");
        if seam == "rekey:after-switch" {
            // The unlock put the next header in place; the recovery slot
            // (the last step) is still to come.
            assert!(v.rekey_pending());
            assert_eq!(
                v.header.slots.len(),
                1,
                "the next header, passphrase slot only"
            );
        }
        drop(v);
    }
    let mut v = Vault::unlock(&dir, &pw()).unwrap();
    v.rekey(&pw(), &mut |_| {}).unwrap();
    assert!(!v.rekey_pending());
    assert_eq!(v.header.slots.len(), 2, "passphrase and recovery slots");
    assert_eq!(read(&v, &a).unwrap(), vec![1u8; 3 * CHUNK_SIZE + 5]);
    let rep = v.verify(&mut |_| {}).unwrap();
    assert!(rep.ok, "{:?}", rep.problems);
}

/// Phase 1 in batches (4 documents each in these tests), killed at each of
/// its seams in turn, each run resuming the last:
///
/// - before the batch's first flush: nothing renamed, every old blob and
///   row as it was, no temporary file left;
/// - after a whole batch was renamed and flushed, before its transaction:
///   those blobs are under the next key, every row still names the old
///   blob, and every document reads;
/// - mid-batch, one blob renamed: the resume recognised the blobs the
///   previous run put in place (their rows updated without re-encrypting
///   them again), and the rest are as they were.
///
/// The last run finishes: every document intact, every blob changed,
/// `verify` and the audit chain pass.
#[test]
fn a_rotation_killed_mid_batch_loses_nothing_and_resumes() {
    let (t, v, _) = new_vault();
    let dir = t.path().join("v");
    let docs: Vec<(DocumentId, Vec<u8>)> = (0..10u8)
        .map(|i| {
            let data = if i == 3 {
                vec![i; 2 * CHUNK_SIZE + 9]
            } else {
                format!("document {i}").into_bytes()
            };
            (add(&v, &format!("d{i}"), &data), data)
        })
        .collect();
    let blob_of = |id: &DocumentId| {
        let h = crypto::hex(&id.0);
        fs::read(dir.join(BLOBS).join(&h[..2]).join(&h)).unwrap()
    };
    let hash_of = |v: &Vault, id: &DocumentId| {
        index::live_row(&v.conn, &id.0)
            .unwrap()
            .unwrap()
            .header_hash
    };
    let old_blobs: Vec<Vec<u8>> = docs.iter().map(|(id, _)| blob_of(id)).collect();
    let old_hashes: Vec<[u8; 32]> = docs.iter().map(|(id, _)| hash_of(&v, id)).collect();
    drop(v);
    let changed = || -> usize {
        docs.iter()
            .zip(&old_blobs)
            .filter(|((id, _), old)| blob_of(id) != **old)
            .count()
    };
    let all_read = |v: &Vault, seam: &str| {
        for (id, data) in &docs {
            assert_eq!(&read(v, id).unwrap(), data, "{seam}");
        }
    };
    let updated = |v: &Vault| -> usize {
        docs.iter()
            .zip(&old_hashes)
            .filter(|((id, _), old)| hash_of(v, id) != **old)
            .count()
    };

    die_in_rekey_at(&dir, "rekey:before-flush");
    let v = Vault::unlock(&dir, &pw()).unwrap();
    assert!(v.rekey_pending());
    assert_eq!(changed(), 0, "nothing replaced before the flush");
    assert_eq!(updated(&v), 0);
    assert!(
        fs::read_dir(dir.join(TMP)).unwrap().next().is_none(),
        "tmp/ is empty"
    );
    all_read(&v, "before-flush");
    drop(v);

    die_in_rekey_at(&dir, "rekey:after-batch");
    let v = Vault::unlock(&dir, &pw()).unwrap();
    assert_eq!(changed(), 4, "one whole batch renamed");
    assert_eq!(
        updated(&v),
        0,
        "no row updated before the batch's transaction"
    );
    all_read(&v, "after-batch");
    drop(v);

    die_in_rekey_at(&dir, "rekey:after-blob");
    let v = Vault::unlock(&dir, &pw()).unwrap();
    // The 4 left in place were recognised (a batch of row updates only,
    // nothing re-encrypted again), then one blob of the next batch renamed.
    assert_eq!(updated(&v), 4);
    assert_eq!(changed(), 5);
    all_read(&v, "after-blob");
    drop(v);

    let mut v = Vault::unlock(&dir, &pw()).unwrap();
    v.rekey(&pw(), &mut |_| {}).unwrap();
    assert!(!v.rekey_pending());
    assert_eq!(changed(), docs.len());
    all_read(&v, "done");
    let rep = v.verify(&mut |_| {}).unwrap();
    assert!(rep.ok, "{:?}", rep.problems);
    let (_, status) = v.audit_log().unwrap();
    assert!(status.ok, "{status:?}");
}

/// The next master key is never stored under a key the rotation revokes: an
/// index copied mid-rotation, with the old header and the old recovery key
/// (or the old master key), does not give the next master key away. Only the
/// passphrase opens the stored next header.
#[test]
fn a_copy_taken_mid_rotation_does_not_give_the_next_key_away() {
    let (t, v, rk) = new_vault();
    let dir = t.path().join("v");
    add(&v, "a.bin", b"alpha");
    drop(v);
    die_in_rekey_at(&dir, "rekey:after-blob");
    let v = Vault::unlock_with_recovery(&dir, &rk).unwrap();
    let next = rekey::stored_header(&v.conn).unwrap();
    let h = Header::parse(&next).unwrap();
    assert_eq!(h.slots.len(), 1, "no recovery slot in the next header");
    assert!(h.unlock(&Unlocker::Recovery(&rk)).is_err());
    // The stored row holds nothing else: the next header is the whole of it.
    let cols: i64 = v
        .conn
        .query_row("SELECT count(*) FROM pragma_table_info('rekey')", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(cols, 2);
    // A planted or damaged row is never removed by an unlock.
    v.conn
        .execute("UPDATE rekey SET next_header = x'00'", [])
        .unwrap();
    drop(v);
    let v = Vault::unlock(&dir, &pw()).unwrap();
    assert!(rekey::stored_header(&v.conn).is_some());
}

/// Writes the schema-1 record a Coffer before the fold would have kept for
/// this index: plain XOR of the entry MACs, `coffer/v1/state`, version 1.
fn plant_schema1_record(v: &Vault) -> State {
    let mut st = index::state(&v.conn).unwrap().unwrap();
    let mut digest = [0u8; 32];
    index::for_each_live(&v.conn, |r| {
        for (d, m) in digest.iter_mut().zip(r.entry_mac) {
            *d ^= m;
        }
        Ok(())
    })
    .unwrap();
    st.version = 1;
    st.digest = digest;
    st.audit_base_seq = 0;
    st.audit_base_head = [0; 32];
    st.mac = st.compute_mac(&v.k_manifest, &v.header.vault_id);
    v.conn
        .execute(
            "UPDATE vault_state SET version = 1, manifest_digest = ?1, mac = ?2",
            rusqlite::params![&st.digest[..], &st.mac[..]],
        )
        .unwrap();
    st
}

/// A vault from before the fold opens once, is upgraded (the header's
/// generation moves on), and a schema-1 record kept from before the upgrade
/// (whose plain-XOR digest the GF(2) forgery defeats) is refused afterwards.
#[test]
fn a_schema1_record_is_upgraded_once_and_never_accepted_again() {
    let (t, v, _) = new_vault();
    let dir = t.path().join("v");
    add(&v, "a.txt", b"a");
    let gen_before = v.header.generation;
    let old = plant_schema1_record(&v);
    drop(v);
    let v = Vault::unlock(&dir, &pw()).unwrap();
    assert!(v.integrity_problem().is_none());
    assert_eq!(v.header.generation, gen_before + 1);
    let st = index::state(&v.conn).unwrap().unwrap();
    assert_eq!((st.version, st.header_generation), (3, gen_before + 1));
    let (entries, status) = v.audit_log().unwrap();
    assert!(status.ok, "{status:?}");
    assert!(entries.iter().any(|e| e.event == "upgrade"));
    // Put the kept schema-1 record back (the downgrade).
    v.conn
        .execute(
            "UPDATE vault_state SET version = 1, header_generation = ?1, doc_count = ?2,
             manifest_digest = ?3, audit_seq = ?4, audit_head = ?5, mac = ?6",
            rusqlite::params![
                old.header_generation as i64,
                old.doc_count as i64,
                &old.digest[..],
                old.audit_seq as i64,
                &old.audit_head[..],
                &old.mac[..]
            ],
        )
        .unwrap();
    drop(v);
    let v = Vault::unlock(&dir, &pw()).unwrap();
    assert!(
        v.integrity_problem().is_some(),
        "a schema-1 record older than its header"
    );
    assert_eq!(v.list(None).unwrap_err().code(), "index_tampered");
}

/// A repair during an unfinished rotation keeps the rotation (the next
/// header, the only way to the next key) and reads blobs already under the
/// next key with it; `rekey` then finishes.
#[test]
fn a_repair_during_a_rotation_keeps_it() {
    let (t, v, _) = new_vault();
    let dir = t.path().join("v");
    let ids: Vec<_> = (0..3)
        .map(|i| add(&v, &format!("d{i}"), format!("doc {i}").as_bytes()))
        .collect();
    drop(v);
    die_in_rekey_at(&dir, "rekey:after-blob");
    let r = Vault::repair(&dir, &Unlocker::Passphrase(&pw()), &mut |_| {}).unwrap();
    assert!(r.failed.is_empty(), "{:?}", r.failed);
    assert_eq!(r.recovered.len(), 3);
    assert!(r.rotation_kept);
    let mut v = Vault::unlock(&dir, &pw()).unwrap();
    assert!(v.rekey_pending());
    v.rekey(&pw(), &mut |_| {}).unwrap();
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(read(&v, id).unwrap(), format!("doc {i}").as_bytes());
    }
    let rep = v.verify(&mut |_| {}).unwrap();
    assert!(rep.ok, "{:?}", rep.problems);
}

#[test]
fn an_import_stopped_between_files_keeps_what_it_read_and_nothing_else() {
    let (t, v, _) = new_vault();
    let src = t.path().join("src");
    fs::create_dir(&src).unwrap();
    let paths: Vec<PathBuf> = (0..400)
        .map(|i| {
            let p = src.join(format!("f{i:03}.txt"));
            fs::write(&p, format!("file {i}")).unwrap();
            p
        })
        .collect();
    let asked = std::cell::Cell::new(0);
    let mut reported = 0;
    let items = paths.iter().map(|p| AddItem {
        path: p.clone(),
        name: None,
        hold: None,
    });
    let r = v
        .add_items(
            items,
            &[],
            &mut |_| {},
            &mut |e| {
                if let AddEvent::Added(_) = e {
                    reported += 1
                }
            },
            &|| {
                asked.set(asked.get() + 1);
                asked.get() > 300
            },
        )
        .unwrap();
    assert!(r.stopped);
    assert_eq!(r.added.len(), 300);
    assert_eq!(reported, 300);
    assert_eq!(v.list(None).unwrap().len(), 300);
    assert_eq!(fs::read_dir(t.path().join("v/tmp")).unwrap().count(), 0);
    let rep = v.verify(&mut |_| {}).unwrap();
    assert!(rep.ok, "{:?}", rep.problems);
}

// ----- the trash ---------------------------------------------------------------

const DAY: i64 = 86_400_000;

fn events(v: &Vault) -> Vec<(String, String)> {
    v.audit_log()
        .unwrap()
        .0
        .into_iter()
        .map(|e| (e.event, e.detail))
        .collect()
}

fn assert_ok(v: &Vault) -> VerifyReport {
    let r = v.verify(&mut |_| {}).unwrap();
    assert!(r.ok, "{:?}", r.problems);
    r
}

#[test]
fn a_document_in_the_trash_leaves_listings_and_refuses_reads_until_restored() {
    let (t, v, _) = new_vault();
    let a = add(&v, "lease.pdf", b"terms");
    let b = add(&v, "scan.png", b"pixels");
    let before = crate::time::now_ms();
    let d = v.trash(&a).unwrap();
    assert_eq!(d.name, "lease.pdf");
    // Out of every listing and search, the catalog's pages included.
    let names: Vec<_> = v.list(None).unwrap().into_iter().map(|d| d.name).collect();
    assert_eq!(names, ["scan.png"]);
    assert!(v.list(Some("lease")).unwrap().is_empty());
    let c = v.catalog().unwrap();
    assert_eq!(
        c.page("", crate::catalog::Sort::Name, false, 0, 100)
            .docs
            .len(),
        1
    );
    // Still found by id, refused with its own code.
    assert_eq!(v.resolve(&a.to_string()[..8]).unwrap(), a);
    assert_eq!(v.info(&a).unwrap_err().code(), "in_trash");
    let out = t.path().join("out.pdf");
    let e = v.export_to(&a, &out, false, &mut |_| {}).unwrap_err();
    assert_eq!(e.code(), "in_trash");
    assert!(!out.exists());
    assert_eq!(
        v.edit(&a, Some("x.pdf"), None).unwrap_err().code(),
        "in_trash"
    );
    assert_eq!(v.trash(&a).unwrap_err().code(), "in_trash");
    assert_eq!(v.restore(&b).unwrap_err().code(), "not_in_trash");
    // export --all leaves it out and reports no failure.
    let rep = v.export_all(&t.path().join("all"), &mut |_| {}).unwrap();
    assert_eq!(rep.exported.len(), 1);
    assert!(rep.failed.is_empty());
    assert!(!t.path().join("all/lease.pdf").exists());
    // Listed in the trash, with when it goes.
    let l = v.trash_list().unwrap();
    assert_eq!(l.len(), 1);
    assert_eq!(l[0].info.id, a);
    assert!(l[0].trashed_ms >= before);
    assert_eq!(l[0].purge_at_ms, Some(l[0].trashed_ms + 30 * DAY));
    // Still encrypted, still in the manifest, still verified.
    assert!(v.blob_path(&a).exists());
    let r = assert_ok(&v);
    assert_eq!((r.documents_checked, r.trashed), (2, 1));
    // Back, intact.
    assert_eq!(v.restore(&a).unwrap().name, "lease.pdf");
    assert_eq!(read(&v, &a).unwrap(), b"terms");
    assert_eq!(v.list(None).unwrap().len(), 2);
    assert!(v.trash_list().unwrap().is_empty());
    assert_eq!(assert_ok(&v).trashed, 0);
    let moves: Vec<_> = events(&v)
        .into_iter()
        .filter(|(e, _)| e == "trash" || e == "restore")
        .collect();
    assert_eq!(
        moves,
        [
            ("trash".into(), format!("id={a}")),
            ("restore".into(), format!("id={a}"))
        ]
    );
}

#[test]
fn purge_and_empty_trash_remove_blob_row_and_manifest_entry_with_audit() {
    let (_t, v, _) = new_vault();
    let ids: Vec<_> = (0..4)
        .map(|i| add(&v, &format!("d{i}.txt"), b"x"))
        .collect();
    // rm --now of a live document.
    v.purge(&ids[0]).unwrap();
    assert!(!v.blob_path(&ids[0]).exists());
    // Purge of a document in the trash.
    v.trash(&ids[1]).unwrap();
    v.purge(&ids[1]).unwrap();
    assert!(v.trash_list().unwrap().is_empty());
    assert_ok(&v);
    // Emptying takes the trash and nothing else.
    v.trash(&ids[2]).unwrap();
    assert_eq!(v.empty_trash().unwrap(), 1);
    assert!(!v.blob_path(&ids[2]).exists());
    assert_eq!(read(&v, &ids[3]).unwrap(), b"x");
    assert_eq!(v.empty_trash().unwrap(), 0);
    let ev = events(&v);
    let n = ev.len();
    assert_eq!(ev[n - 2], ("empty_trash".into(), "count=1".into()));
    assert_eq!(ev[n - 1], ("delete".into(), format!("id={}", ids[2])));
    assert_eq!(
        index::checked_state(&v.conn, &v.k_manifest, &v.header.vault_id)
            .unwrap()
            .trash_count,
        0
    );
    let r = assert_ok(&v);
    assert_eq!((r.documents_checked, r.trashed), (1, 0));
}

#[test]
fn the_trash_purges_after_its_retention_and_never_with_retention_zero() {
    let (_t, v, _) = new_vault();
    let a = add(&v, "a.txt", b"a");
    let keep = add(&v, "keep.txt", b"k");
    v.trash(&a).unwrap();
    let at = v.trash_list().unwrap()[0].trashed_ms;
    assert_eq!(v.trash_retention().unwrap(), 30);
    assert_eq!(v.purge_expired(at + 30 * DAY - 1).unwrap(), 0);
    v.set_trash_retention(0).unwrap();
    assert_eq!(v.trash_list().unwrap()[0].purge_at_ms, None);
    assert_eq!(v.purge_expired(at + 3650 * DAY).unwrap(), 0);
    v.set_trash_retention(2).unwrap();
    assert_eq!(v.trash_list().unwrap()[0].purge_at_ms, Some(at + 2 * DAY));
    assert_eq!(v.purge_expired(at + 2 * DAY).unwrap(), 1);
    assert!(!v.blob_path(&a).exists());
    assert_eq!(read(&v, &keep).unwrap(), b"k");
    let ev = events(&v);
    let n = ev.len();
    assert_eq!(ev[n - 2], ("trash_expired".into(), "count=1;days=2".into()));
    assert_eq!(ev[n - 1], ("delete".into(), format!("id={a}")));
    assert!(ev.contains(&("trash_retention".into(), "days=0".into())));
    assert_eq!(
        v.set_trash_retention(MAX_TRASH_RETENTION_DAYS + 1)
            .unwrap_err()
            .code(),
        "invalid_input"
    );
    // Setting the current value writes nothing.
    let before = ev.len();
    v.set_trash_retention(2).unwrap();
    assert_eq!(events(&v).len(), before);
    assert_ok(&v);
}

#[test]
fn an_unlock_purges_expired_documents_unless_the_index_fails_its_check() {
    let (t, v, _) = new_vault();
    on_machine(Some(&t.path().join("machine")));
    let dir = t.path().join("v");
    let a = add(&v, "a.txt", b"a");
    let b = add(&v, "b.txt", b"b");
    v.trash(&a).unwrap();
    drop(v);
    // 29 days later: kept.
    crate::faults::Clock::advance(&dir, 29 * DAY);
    let v = Vault::unlock(&dir, &pw()).unwrap();
    assert_eq!(v.trash_list().unwrap().len(), 1);
    v.trash(&b).unwrap();
    // A forged record (any byte the MAC covers): the unlock purges nothing.
    let st = index::state(&v.conn).unwrap().unwrap();
    v.conn
        .execute("UPDATE vault_state SET doc_count = 7", [])
        .unwrap();
    drop(v);
    crate::faults::Clock::advance(&dir, 61 * DAY);
    let v = Vault::unlock(&dir, &pw()).unwrap();
    assert!(v.integrity_problem().is_some());
    assert!(v.blob_path(&a).exists() && v.blob_path(&b).exists());
    assert_eq!(index::live_ids(&v.conn).unwrap().len(), 2);
    v.conn
        .execute(
            "UPDATE vault_state SET doc_count = ?1",
            [st.doc_count as i64],
        )
        .unwrap();
    drop(v);
    // Checked again: both expired, both purged, audited.
    let v = Vault::unlock(&dir, &pw()).unwrap();
    assert!(v.integrity_problem().is_none());
    assert!(!v.blob_path(&a).exists() && !v.blob_path(&b).exists());
    assert!(events(&v).contains(&("trash_expired".into(), "count=2;days=30".into())));
    assert_ok(&v);
}

#[test]
fn a_forged_retention_or_trash_count_fails_the_record_and_purges_nothing() {
    let (t, v, _) = new_vault();
    let dir = t.path().join("v");
    let a = add(&v, "a.txt", b"a");
    v.trash(&a).unwrap();
    drop(v);
    crate::faults::Clock::advance(&dir, 2 * DAY);
    for forge in [
        "UPDATE vault_state SET trash_retention_days = 1",
        "UPDATE vault_state SET trash_count = 0",
        // A record relabelled as from before the trash (whose retention is
        // the default, unsigned): its MAC is under the other label.
        "UPDATE vault_state SET version = 2",
    ] {
        let c = rusqlite::Connection::open(dir.join(INDEX_FILE)).unwrap();
        let saved: (i64, i64, i64) = c
            .query_row(
                "SELECT trash_retention_days, trash_count, version FROM vault_state",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        c.execute(forge, []).unwrap();
        drop(c);
        let v = Vault::unlock(&dir, &pw()).unwrap();
        assert!(v.integrity_problem().is_some(), "{forge}");
        assert!(v.blob_path(&a).exists(), "{forge}: nothing purged");
        assert!(codes(&v).contains(&"index_tampered"), "{forge}");
        assert_eq!(v.empty_trash().unwrap_err().code(), "index_tampered");
        assert_eq!(
            v.set_trash_retention(5).unwrap_err().code(),
            "index_tampered"
        );
        drop(v);
        let c = rusqlite::Connection::open(dir.join(INDEX_FILE)).unwrap();
        c.execute(
            "UPDATE vault_state SET trash_retention_days = ?1, trash_count = ?2, version = ?3",
            [saved.0, saved.1, saved.2],
        )
        .unwrap();
    }
    let v = Vault::unlock(&dir, &pw()).unwrap();
    assert!(v.integrity_problem().is_none());
    assert_eq!(v.trash_list().unwrap().len(), 1);
}

/// A record written before the trash (version 2) reads as the default
/// retention whatever its column says, and is re-signed as version 3.
#[test]
fn a_record_from_before_the_trash_reads_the_default_retention() {
    let (t, v, _) = new_vault();
    let dir = t.path().join("v");
    add(&v, "a.txt", b"a");
    let mut st = index::state(&v.conn).unwrap().unwrap();
    st.version = 2;
    st.mac = st.compute_mac(&v.k_manifest, &v.header.vault_id);
    v.conn
        .execute(
            "UPDATE vault_state SET version = 2, mac = ?1, trash_retention_days = 1",
            [&st.mac[..]],
        )
        .unwrap();
    drop(v);
    let v = Vault::unlock(&dir, &pw()).unwrap();
    assert!(v.integrity_problem().is_none());
    assert_eq!(v.trash_retention().unwrap(), 30);
    assert_eq!(index::state(&v.conn).unwrap().unwrap().version, 3);
}

/// The sealed metadata and entry MAC of the row of `id`, as stored now.
fn row_of(v: &Vault, id: &DocumentId) -> (Vec<u8>, Vec<u8>) {
    v.conn
        .query_row(
            "SELECT meta, entry_mac FROM documents WHERE id = ?1",
            [&id.0[..]],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
}

fn put_row(v: &Vault, id: &DocumentId, row: &(Vec<u8>, Vec<u8>)) {
    v.conn
        .execute(
            "UPDATE documents SET meta = ?2, entry_mac = ?3 WHERE id = ?1",
            rusqlite::params![&id.0[..], &row.0, &row.1],
        )
        .unwrap();
}

/// An attacker who kept the row of a document from before it went to the
/// trash puts it back (to bring it back unnoticed), or the row from when it
/// was in the trash after a restore (to have it purged): both are old rows,
/// refused by the manifest.
#[test]
fn an_old_row_from_before_trash_or_restore_is_detected() {
    let (t, v, _) = new_vault();
    let dir = t.path().join("v");
    let a = add(&v, "a.txt", b"a");
    add(&v, "b.txt", b"b");
    let live = row_of(&v, &a);
    v.trash(&a).unwrap();
    let trashed = row_of(&v, &a);
    put_row(&v, &a, &live);
    assert!(codes(&v).contains(&"manifest_mismatch"));
    drop(v);
    let v = Vault::unlock(&dir, &pw()).unwrap();
    assert!(v.integrity_problem().is_some());
    assert_eq!(v.list(None).unwrap_err().code(), "index_tampered");
    put_row(&v, &a, &trashed);
    drop(v);
    let v = Vault::unlock(&dir, &pw()).unwrap();
    assert!(v.integrity_problem().is_none());
    v.restore(&a).unwrap();
    put_row(&v, &a, &trashed);
    drop(v);
    crate::faults::Clock::advance(&dir, 31 * DAY);
    let v = Vault::unlock(&dir, &pw()).unwrap();
    assert!(v.integrity_problem().is_some());
    assert!(
        v.blob_path(&a).exists(),
        "an old trashed row purges nothing"
    );
    // The flag itself cannot be set without the key: any change to the
    // sealed metadata fails it.
    let mut forged = row_of(&v, &a);
    let last = forged.0.len() - 1;
    forged.0[last] ^= 1;
    put_row(&v, &a, &forged);
    assert!(codes(&v).contains(&"corrupt"));
}

/// Someone holding the keys (or a bug) puts a document in the trash with
/// every MAC right but no `trash` in the audit log: `verify` says so.
#[test]
fn verify_reports_a_document_in_the_trash_that_the_log_does_not_explain() {
    let (_t, v, _) = new_vault();
    let a = add(&v, "a.txt", b"a");
    v.write(|tx, st, v| {
        let (old, mut m) = v.checked_row_in(tx, &a)?;
        m.trashed_ms = Some(crate::time::now_ms());
        let mut row = DocRow {
            meta: v.sealer.seal(&a.0, &m),
            ..old.clone()
        };
        row.entry_mac = row.compute_mac(&v.k_manifest);
        index::replace_meta(tx, &row, &old.entry_mac)?;
        st.toggle(&v.folder, &old.entry_mac);
        st.toggle(&v.folder, &row.entry_mac);
        Ok(())
    })
    .unwrap();
    let c = codes(&v);
    assert!(
        c.contains(&"trash_unrecorded") && c.contains(&"trash_mismatch"),
        "{c:?}"
    );
}

/// A purge of the trash that dies after its transaction (rows deleting,
/// `delete` entries written, blobs still there) is finished at the next
/// unlock; one that dies before it changes nothing.
#[test]
fn an_emptying_of_the_trash_that_dies_at_either_side_of_its_commit_is_whole() {
    let (t, v, _) = new_vault();
    let dir = t.path().join("v");
    let ids: Vec<_> = (0..3)
        .map(|i| add(&v, &format!("d{i}.txt"), b"x"))
        .collect();
    v.trash(&ids[0]).unwrap();
    v.trash(&ids[1]).unwrap();
    drop(v);
    for (seam, gone) in [("remove:before-tx", false), ("remove:after-tx", true)] {
        crate::faults::Crash::at(seam, &dir);
        let d = dir.clone();
        let died = std::thread::spawn(move || {
            let v = Vault::unlock(&d, &pw()).unwrap();
            v.empty_trash().map(drop)
        })
        .join();
        assert!(died.is_err(), "{seam}: the crash was injected");
        let v = Vault::unlock(&dir, &pw()).unwrap();
        for id in &ids[..2] {
            assert_eq!(v.blob_path(id).exists(), !gone, "{seam}");
        }
        assert_eq!(v.trash_list().unwrap().len(), if gone { 0 } else { 2 });
        assert_eq!(
            index::all_ids(&v.conn).unwrap().len(),
            if gone { 1 } else { 3 }
        );
        assert_eq!(read(&v, &ids[2]).unwrap(), b"x");
        assert_ok(&v);
    }
    // A move to the trash that dies before its transaction changed nothing.
    crate::faults::Crash::at("trash:before-tx", &dir);
    let (d, id) = (dir.clone(), ids[2]);
    let died = std::thread::spawn(move || {
        let v = Vault::unlock(&d, &pw()).unwrap();
        v.trash(&id).map(drop)
    })
    .join();
    assert!(died.is_err());
    let v = Vault::unlock(&dir, &pw()).unwrap();
    assert_eq!(v.list(None).unwrap().len(), 1);
    assert_ok(&v);
}

/// A restore that lands while the trash is being emptied keeps its
/// document: the purge re-reads each row in its transaction.
#[test]
fn restore_racing_empty_trash_keeps_the_restored_document() {
    let (_t, dir, id) = two_handles();
    let v = Vault::unlock(&dir, &pw()).unwrap();
    v.trash(&id).unwrap();
    let pause = crate::faults::Pause::at("remove:before-tx", &dir);
    let d = dir.clone();
    let emptier = std::thread::spawn(move || {
        let v = Vault::unlock(&d, &pw()).unwrap();
        v.empty_trash().map_err(|e| e.code())
    });
    pause.wait_reached();
    v.restore(&id).unwrap();
    pause.release();
    assert_eq!(emptier.join().unwrap(), Ok(0));
    assert_eq!(read(&v, &id).unwrap(), b"shared");
    assert_ok(&v);
}

/// A key rotation re-encrypts documents in the trash too and keeps them
/// there; a blob never holds the trash state, so `repair` brings a
/// document in the trash back as a live one (documented).
#[test]
fn rekey_keeps_the_trash_and_repair_restores_it() {
    let (t, v, _) = new_vault();
    let dir = t.path().join("v");
    let a = add(&v, "a.txt", b"alpha");
    v.trash(&a).unwrap();
    drop(v);
    let mut v = Vault::unlock(&dir, &pw()).unwrap();
    v.rekey(&pw(), &mut |_| {}).unwrap();
    assert_eq!(v.trash_list().unwrap().len(), 1);
    assert_eq!(assert_ok(&v).trashed, 1);
    drop(v);
    fs::remove_file(dir.join(INDEX_FILE)).unwrap();
    let _ = fs::remove_file(dir.join("index.sqlite-wal"));
    let _ = fs::remove_file(dir.join("index.sqlite-shm"));
    Vault::repair(&dir, &Unlocker::Passphrase(&pw()), &mut |_| {}).unwrap();
    let v = Vault::unlock(&dir, &pw()).unwrap();
    assert_eq!(v.list(None).unwrap().len(), 1);
    assert_eq!(read(&v, &a).unwrap(), b"alpha");
    assert_ok(&v);
}

// ----- sharing as age files ---------------------------------------------------

mod sharing {
    use super::*;
    use crate::share::{Recipients, ShareTo};
    use std::io::Read;

    fn to(ids: &[&age::x25519::Identity]) -> ShareTo {
        let keys: Vec<String> = ids.iter().map(|i| i.to_public().to_string()).collect();
        ShareTo::Recipients(Recipients::parse(&keys).unwrap())
    }

    fn open_age(file: &Path, id: &dyn age::Identity) -> std::result::Result<Vec<u8>, String> {
        let f = fs::File::open(file).unwrap();
        let d = age::Decryptor::new(f).map_err(|e| e.to_string())?;
        let mut r = d.decrypt(std::iter::once(id)).map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        r.read_to_end(&mut out).map_err(|e| e.to_string())?;
        Ok(out)
    }

    #[test]
    fn a_share_opens_with_each_recipient_key_at_chunk_boundaries() {
        let (t, v, _) = new_vault();
        let (a, b) = (
            age::x25519::Identity::generate(),
            age::x25519::Identity::generate(),
        );
        let stranger = age::x25519::Identity::generate();
        let dest = to(&[&a, &b]);
        for n in [
            0,
            1,
            CHUNK_SIZE - 1,
            CHUNK_SIZE,
            CHUNK_SIZE + 1,
            5 * CHUNK_SIZE + 3,
        ] {
            let data: Vec<u8> = (0..n).map(|i| (i % 251) as u8).collect();
            let id = add(&v, &format!("doc{n}.bin"), &data);
            let out = t.path().join(format!("s{n}.age"));
            let mut seen = 0;
            let info = v
                .share_to(&id, &dest, &out, false, &mut |k| seen += k)
                .unwrap();
            assert_eq!((info.size, seen), (n as u64, n as u64));
            assert!(fs::read(&out)
                .unwrap()
                .starts_with(b"age-encryption.org/v1\n"));
            assert_eq!(open_age(&out, &a).unwrap(), data, "n={n}");
            assert_eq!(open_age(&out, &b).unwrap(), data, "n={n}");
            assert!(open_age(&out, &stranger).is_err());
        }
    }

    #[test]
    fn a_passphrase_share_opens_with_the_passphrase_only() {
        let (t, v, _) = new_vault();
        let data = b"passphrase share ".repeat(9000);
        let id = add(&v, "p.txt", &data);
        let out = t.path().join("p.age");
        let pass = "a passphrase for Bob only";
        let to = ShareTo::Passphrase(Passphrase::new(pass.into()));
        v.share_to(&id, &to, &out, false, &mut |_| {}).unwrap();
        let ok = age::scrypt::Identity::new(age::secrecy::SecretString::from(pass.to_owned()));
        assert_eq!(open_age(&out, &ok).unwrap(), data);
        let wrong = age::scrypt::Identity::new(age::secrecy::SecretString::from(
            "a passphrase for Eve".to_owned(),
        ));
        assert!(open_age(&out, &wrong).is_err());
        // The header's scrypt stanza carries the fixed work factor.
        let head = fs::read(&out).unwrap();
        let text = String::from_utf8_lossy(&head[..200]);
        assert!(
            text.contains("-> scrypt ") && text.contains(" 18\n"),
            "{text}"
        );
    }

    #[test]
    fn the_vault_passphrase_and_short_ones_are_refused_for_a_share() {
        let (t, v, _) = new_vault();
        let id = add(&v, "p.txt", b"x");
        let out = t.path().join("p.age");
        for (p, code) in [
            ("correct horse battery staple", "share_passphrase_reused"),
            ("short", "weak_passphrase"),
        ] {
            let to = ShareTo::Passphrase(Passphrase::new(p.into()));
            let e = v.share_to(&id, &to, &out, false, &mut |_| {}).unwrap_err();
            assert_eq!(e.code(), code);
            assert!(!out.exists());
        }
        let (entries, status) = v.audit_log().unwrap();
        assert!(status.ok);
        assert!(entries
            .iter()
            .all(|e| e.event != "share" && e.event != "failed_check"));
    }

    #[test]
    fn a_share_is_audited_with_the_id_and_the_count_only() {
        let (t, v, _) = new_vault();
        let a = age::x25519::Identity::generate();
        let id = add(&v, "Secret Name.pdf", b"contents");
        v.share_to(&id, &to(&[&a]), &t.path().join("o.age"), false, &mut |_| {})
            .unwrap();
        let (entries, status) = v.audit_log().unwrap();
        assert!(status.ok);
        let e = entries.last().unwrap();
        assert_eq!(e.event, "share");
        assert_eq!(e.detail, format!("id={id} to=x25519 count=1"));
    }

    #[test]
    fn a_damaged_blob_or_a_refused_destination_leaves_nothing() {
        let (t, v, _) = new_vault();
        let a = age::x25519::Identity::generate();
        let data = vec![7u8; 3 * CHUNK_SIZE];
        let id = add(&v, "d.bin", &data);
        let before = v.audit_log().unwrap().0.len();
        // The last chunk flipped: the first chunks are authentic and would
        // be encrypted already, but no file appears.
        let path = v.blob_path(&id);
        let mut blob = fs::read(&path).unwrap();
        let n = blob.len();
        blob[n - 5] ^= 1;
        fs::write(&path, &blob).unwrap();
        let out = t.path().join("d.age");
        let e = v
            .share_to(&id, &to(&[&a]), &out, false, &mut |_| {})
            .unwrap_err();
        assert_eq!(e.code(), "corrupt");
        assert_eq!(fs::read_dir(t.path()).unwrap().count(), 1, "only the vault");
        // An existing file is kept without force; a symlink is not followed.
        fs::write(&out, b"keep").unwrap();
        let id2 = add(&v, "e.bin", b"e");
        let e = v
            .share_to(&id2, &to(&[&a]), &out, false, &mut |_| {})
            .unwrap_err();
        assert_eq!(e.code(), "destination_exists");
        assert_eq!(fs::read(&out).unwrap(), b"keep");
        let link = t.path().join("l.age");
        std::os::unix::fs::symlink(&out, &link).unwrap();
        v.share_to(&id2, &to(&[&a]), &link, true, &mut |_| {})
            .unwrap();
        assert_eq!(fs::read(&out).unwrap(), b"keep");
        assert!(!fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(open_age(&link, &a).unwrap(), b"e");
        let shares = v.audit_log().unwrap().0[before..]
            .iter()
            .filter(|e| e.event == "share")
            .count();
        assert_eq!(shares, 1, "only the share that was written is audited");
    }
}

/// This machine's record folder for the test's thread (`None`: a machine
/// without one).
fn on_machine(d: Option<&Path>) {
    crate::seen::TEST_DIR.with(|t| *t.borrow_mut() = d.map(Path::to_owned));
}

/// Copies the index (and its `-wal`, `-shm` if any) from folder `from` to
/// folder `to`, replacing what `to` has.
fn copy_index_files(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for f in index::files(INDEX_FILE) {
        let _ = fs::remove_file(to.join(&f));
        if from.join(&f).exists() {
            fs::copy(from.join(&f), to.join(&f)).unwrap();
        }
    }
}

/// The attack: a copy of the index kept while a document was in the trash,
/// put back after the owner restored it. An unlock more than the retention
/// later, on a machine with no record (or none of this vault), must not
/// purge the live document's blob. The machine that saw the restore says
/// the vault is older and purges nothing either.
#[test]
fn an_old_index_from_when_a_restored_document_was_in_the_trash_purges_nothing() {
    let t = tempfile::tempdir().unwrap();
    let (a_rec, b_rec) = (t.path().join("machine-a"), t.path().join("machine-b"));
    on_machine(Some(&a_rec));
    let dir = t.path().join("v");
    let (v, _) = Vault::create(&dir, &pw(), FAST).unwrap();
    let x = add(&v, "report.txt", b"quarterly secrets");
    v.trash(&x).unwrap();
    drop(v);
    let old = t.path().join("old");
    copy_index_files(&dir, &old);
    let v = Vault::unlock(&dir, &pw()).unwrap();
    v.restore(&x).unwrap();
    drop(v);
    let new = t.path().join("new");
    copy_index_files(&dir, &new);
    copy_index_files(&old, &dir);
    crate::faults::Clock::advance(&dir, 31 * DAY);
    for machine in [None, Some(&b_rec), Some(&a_rec)] {
        on_machine(machine.map(|p| p.as_path()));
        let v = Vault::unlock(&dir, &pw()).unwrap();
        assert!(v.integrity_problem().is_none());
        assert!(
            v.blob_path(&x).exists(),
            "{machine:?}: an old index purges nothing"
        );
        drop(v);
    }
    // The newest index back: the document is whole.
    copy_index_files(&new, &dir);
    on_machine(Some(&a_rec));
    let v = Vault::unlock(&dir, &pw()).unwrap();
    assert!(v.older().is_none());
    assert_eq!(read(&v, &x).unwrap(), b"quarterly secrets");
    assert_ok(&v);
}

/// The vault used on one machine purges its trash at unlock; on a machine
/// that has no record of it, or whose record is not the state on disk,
/// nothing is purged until an unlock there finds the state it recorded.
#[test]
fn an_unlock_purges_only_where_this_machine_recorded_the_state_on_disk() {
    let t = tempfile::tempdir().unwrap();
    let rec = t.path().join("machine");
    on_machine(None);
    let dir = t.path().join("v");
    let (v, _) = Vault::create(&dir, &pw(), FAST).unwrap();
    let x = add(&v, "a.txt", b"a");
    v.trash(&x).unwrap();
    drop(v);
    crate::faults::Clock::advance(&dir, 31 * DAY);
    // No record folder at all, then a first unlock with one: kept.
    let v = Vault::unlock(&dir, &pw()).unwrap();
    assert!(v.blob_path(&x).exists(), "no record: nothing purged");
    drop(v);
    on_machine(Some(&rec));
    let v = Vault::unlock(&dir, &pw()).unwrap();
    assert!(
        v.blob_path(&x).exists(),
        "first unlock here: nothing purged"
    );
    drop(v);
    // The state on disk is the one this machine recorded: purged.
    let v = Vault::unlock(&dir, &pw()).unwrap();
    assert!(!v.blob_path(&x).exists(), "the recorded state purges");
    assert!(events(&v).contains(&("trash_expired".into(), "count=1;days=30".into())));
    assert_ok(&v);
}

/// The second finding: the machine that saw the newest state (the restore)
/// meets an old index that another machine opened and wrote to since, so
/// that its entry numbers passed the recorded one. Another history: it is
/// reported and refused for writing, as an older one is.
#[test]
fn a_fork_with_more_entries_is_reported_on_the_machine_that_saw_the_newer_state() {
    let t = tempfile::tempdir().unwrap();
    let (a_rec, b_rec) = (t.path().join("machine-a"), t.path().join("machine-b"));
    on_machine(Some(&a_rec));
    let dir = t.path().join("v");
    let (v, _) = Vault::create(&dir, &pw(), FAST).unwrap();
    let x = add(&v, "report.txt", b"quarterly secrets");
    add(&v, "other.txt", b"other");
    v.trash(&x).unwrap();
    drop(v);
    let old = t.path().join("old");
    copy_index_files(&dir, &old);
    let v = Vault::unlock(&dir, &pw()).unwrap();
    v.restore(&x).unwrap();
    drop(v);
    copy_index_files(&old, &dir);
    on_machine(Some(&b_rec));
    for _ in 0..4 {
        drop(Vault::unlock(&dir, &pw()).unwrap());
    }
    on_machine(Some(&a_rec));
    let v = Vault::unlock(&dir, &pw()).unwrap();
    let o = v.older().expect("another history is reported");
    assert!(o.now > o.seen, "{o:?}");
    assert_eq!(v.trash(&x).unwrap_err().code(), "rolled_back");
    assert!(codes(&v).contains(&"rolled_back"));
    // A later state of the same history is not: accept it, write, reopen.
    let mut v = v;
    v.accept_older().unwrap();
    v.restore(&x).unwrap();
    drop(v);
    let v = Vault::unlock(&dir, &pw()).unwrap();
    assert!(v.older().is_none());
    drop(v);
    // Two processes on one machine: one writes after the other recorded.
    let v1 = Vault::unlock(&dir, &pw()).unwrap();
    let v2 = Vault::unlock(&dir, &pw()).unwrap();
    add(&v1, "c.txt", b"c");
    add(&v2, "d.txt", b"d");
    drop((v1, v2));
    let v = Vault::unlock(&dir, &pw()).unwrap();
    assert!(v.older().is_none());
    assert_ok(&v);
}

/// Where `get --out`, `share --out` and `export --all` may write.
mod destinations {
    use super::*;
    use crate::share::{Recipients, ShareTo};

    fn age_to() -> ShareTo {
        let id = age::x25519::Identity::generate();
        ShareTo::Recipients(Recipients::parse(&[id.to_public().to_string()]).unwrap())
    }

    /// The attack: `--out $VAULT/coffer.header --force` replaced the header,
    /// `--out $VAULT/blobs/xx/<id> --force` another document's blob. Every
    /// folder of the vault is refused, by what the folder is (device and
    /// inode), whatever path names it; nothing is written or audited.
    #[test]
    fn no_output_lands_in_the_vault_folder_its_blobs_a_shard_or_tmp() {
        let (t, v, _) = new_vault();
        let dir = t.path().join("v");
        let a = add(&v, "a.txt", b"a");
        let b = add(&v, "b.txt", b"b");
        let header = fs::read(dir.join(HEADER_FILE)).unwrap();
        let blob_b = fs::read(v.blob_path(&b)).unwrap();
        let link = t.path().join("link-to-vault");
        std::os::unix::fs::symlink(&dir, &link).unwrap();
        let shard_b = v.blob_path(&b).parent().unwrap().to_owned();
        let events_before = v.audit_log().unwrap().0.len();
        let targets = [
            dir.join(HEADER_FILE),
            dir.join(INDEX_FILE),
            dir.join("new-file"),
            link.join(HEADER_FILE),
            dir.join(BLOBS).join("x"),
            v.blob_path(&b),
            shard_b.join("new-file"),
            dir.join(BLOBS).join("00").join("new-file"),
            dir.join(TMP).join("x"),
            dir.join(BLOBS).join("..").join(HEADER_FILE),
        ];
        fs::create_dir_all(dir.join(BLOBS).join("00")).unwrap();
        for out in &targets {
            for force in [false, true] {
                let e = v.export_to(&a, out, force, &mut |_| {}).unwrap_err();
                assert_eq!(e.code(), "destination_in_vault", "get {out:?} {force}");
                let e = v
                    .share_to(&a, &age_to(), out, force, &mut |_| {})
                    .unwrap_err();
                assert_eq!(e.code(), "destination_in_vault", "share {out:?} {force}");
            }
        }
        for folder in [
            dir.clone(),
            link.clone(),
            dir.join(BLOBS),
            shard_b.clone(),
            dir.join(TMP),
        ] {
            let e = v.export_all(&folder, &mut |_| {}).unwrap_err();
            assert_eq!(e.code(), "destination_in_vault", "export {folder:?}");
        }
        assert_eq!(fs::read(dir.join(HEADER_FILE)).unwrap(), header);
        assert_eq!(fs::read(v.blob_path(&b)).unwrap(), blob_b);
        assert!(!dir.join("new-file").exists() && !shard_b.join("new-file").exists());
        assert_eq!(
            v.audit_log().unwrap().0.len(),
            events_before,
            "nothing audited"
        );
        drop(v);
        let v = Vault::unlock(&dir, &pw()).unwrap();
        assert_eq!(read(&v, &b).unwrap(), b"b");
        assert_ok(&v);
        // A folder beside the vault, or inside a folder of the user's in
        // it, is fine.
        v.export_to(&a, &t.path().join("a.txt"), false, &mut |_| {})
            .unwrap();
    }

    /// The attack: a recovery key given as a share passphrase (the vault's
    /// own, another vault's, typed in lower case with spaces): refused,
    /// whether or not it opens this vault.
    #[test]
    fn a_recovery_key_is_refused_as_a_share_passphrase() {
        let (t, v, rk) = new_vault();
        let id = add(&v, "p.txt", b"x");
        let out = t.path().join("p.age");
        let own = rk.to_text().to_string();
        let other = RecoveryKey::generate().to_text().to_string();
        for p in [own.clone(), own.to_lowercase().replace('-', " "), other] {
            let to = ShareTo::Passphrase(Passphrase::new(p));
            let e = v.share_to(&id, &to, &out, false, &mut |_| {}).unwrap_err();
            assert_eq!(e.code(), "share_passphrase_is_recovery_key");
            assert!(!out.exists());
        }
        assert!(v.audit_log().unwrap().0.iter().all(|e| e.event != "share"));
    }

    /// The attack: `--force` onto a FIFO, a socket or a device removed it.
    /// Only a regular file or a symbolic link is replaced; anything else is
    /// refused, kept, and nothing is written or audited.
    #[test]
    fn force_replaces_only_a_file_or_a_link() {
        let (t, v, _) = new_vault();
        let id = add(&v, "a.txt", b"a");
        let fifo = t.path().join("fifo");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        let sock = t.path().join("sock");
        let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        let mut targets = vec![fifo, sock];
        // A character device (null's numbers) where the tests may make one.
        let dev = t.path().join("chardev");
        if rustix::fs::mknodat(
            rustix::fs::CWD,
            &dev,
            rustix::fs::FileType::CharacterDevice,
            rustix::fs::Mode::from_raw_mode(0o600),
            rustix::fs::makedev(1, 3),
        )
        .is_ok()
        {
            targets.push(dev);
        }
        let before = v.audit_log().unwrap().0.len();
        for out in &targets {
            let kind = fs::symlink_metadata(out).unwrap().file_type();
            let e = v.export_to(&id, out, true, &mut |_| {}).unwrap_err();
            assert_eq!(e.code(), "destination_not_a_file", "{out:?}");
            let e = v
                .share_to(&id, &age_to(), out, true, &mut |_| {})
                .unwrap_err();
            assert_eq!(e.code(), "destination_not_a_file", "{out:?}");
            assert_eq!(fs::symlink_metadata(out).unwrap().file_type(), kind);
        }
        assert_eq!(v.audit_log().unwrap().0.len(), before);
        // A file and a link are replaced (the link, never followed).
        let file = t.path().join("file");
        fs::write(&file, b"old").unwrap();
        let link = t.path().join("link");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        v.export_to(&id, &file, true, &mut |_| {}).unwrap();
        v.export_to(&id, &link, true, &mut |_| {}).unwrap();
        assert_eq!(fs::read(&file).unwrap(), b"a");
        assert!(fs::symlink_metadata(&link).unwrap().is_file());
    }
}

#[test]
fn a_preview_reads_into_memory_within_its_cap_and_is_audited() {
    let (_t, v, _) = new_vault();
    let id = add(&v, "note.txt", b"only in memory");
    let (info, bytes) = v.read_to_memory(&id, 1024).unwrap();
    assert_eq!(info.name, "note.txt");
    assert_eq!(&bytes[..], b"only in memory");
    assert_eq!(bytes.capacity(), bytes.len(), "sized once from the index");
    assert!(matches!(v.read_to_memory(&id, 5), Err(Error::TooLarge(14))));
    let log = v.audit_log().unwrap().0;
    assert_eq!(log.iter().filter(|e| e.event == "preview").count(), 1);
    assert_eq!(log.last().unwrap().detail, format!("id={id}"));
    v.trash(&id).unwrap();
    assert!(matches!(
        v.read_to_memory(&id, 1024),
        Err(Error::InTrash(_))
    ));
}
