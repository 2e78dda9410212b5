//! Every kind of corruption the format promises to detect is detected by both
//! `get` (which then writes nothing) and `verify` (which names the document).

#![allow(clippy::unwrap_used)] // helpers of tests: a panic here is a failed test

mod common;
use common::*;
use std::fs;

const ENC_CHUNK: usize = CHUNK + 16;

struct Setup {
    e: Env,
    a: String,
    b: String,
    c: String,
}

fn setup() -> Setup {
    let e = Env::new();
    let a = e.add_bytes("alpha.pdf", &pattern(3 * CHUNK + 100, 1));
    let b = e.add_bytes("bravo.txt", &pattern(2 * CHUNK, 2));
    let c = e.add_bytes("charlie.bin", &pattern(10, 3));
    Setup { e, a, b, c }
}

/// Length of a blob's header (fixed part + sealed metadata).
fn header_len(blob: &[u8]) -> usize {
    114 + u32::from_be_bytes(blob[110..114].try_into().unwrap()) as usize
}

fn assert_detected(s: &Setup, bad: &[&str], what: &str) {
    for id in bad {
        let err = s.e.get(id).expect_err(what);
        assert!(
            err.contains(&format!("document {id} is corrupt or was tampered with")),
            "{what}: get {id} failed for another reason: {err}"
        );
    }
    let (ok, report) = s.e.verify_json();
    assert!(!ok, "{what}: verify passed");
    let named: Vec<&str> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["id"].as_str())
        .collect();
    for id in bad {
        assert!(
            named.contains(id),
            "{what}: verify did not name {id}: {report}"
        );
    }
    let text = s.e.run(&["verify"]);
    assert!(!text.status.success());
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(bad.iter().all(|id| stdout.contains(id)), "{what}: {stdout}");
}

fn mutate(path: &std::path::Path, f: impl FnOnce(&mut Vec<u8>)) {
    let mut b = fs::read(path).unwrap();
    f(&mut b);
    fs::write(path, b).unwrap();
}

#[test]
fn flipped_bytes_anywhere_in_a_blob() {
    let probe = setup();
    let blob = fs::read(probe.e.blob(&probe.a)).unwrap();
    let h = header_len(&blob);
    let len = blob.len();
    drop(probe);
    for (what, at) in [
        ("magic", 0),
        ("vault id", 20),
        ("doc id", 40),
        ("salt", 60),
        ("commitment", 100),
        ("sealed metadata", h - 5),
        ("first chunk", h + 10),
        ("second chunk", h + ENC_CHUNK + 77),
        ("last tag", len - 1),
    ] {
        let s = setup();
        mutate(&s.e.blob(&s.a), |b| b[at] ^= 0x20);
        assert_detected(&s, &[&s.a], what);
        // The others are untouched.
        assert_eq!(s.e.get(&s.b).unwrap(), pattern(2 * CHUNK, 2));
    }
}

#[test]
fn truncation_at_and_between_chunk_boundaries() {
    for cut in [
        "to zero",
        "inside header",
        "after header",
        "at a boundary",
        "mid-chunk",
        "last byte",
    ] {
        let s = setup();
        mutate(&s.e.blob(&s.b), |b| {
            let h = header_len(b);
            let n = match cut {
                "to zero" => 0,
                "inside header" => 50,
                "after header" => h,
                "at a boundary" => h + ENC_CHUNK,
                "mid-chunk" => h + ENC_CHUNK + 1000,
                _ => b.len() - 1,
            };
            b.truncate(n);
        });
        assert_detected(&s, &[&s.b], cut);
    }
}

#[test]
fn appended_data_and_reordered_chunks() {
    let s = setup();
    mutate(&s.e.blob(&s.b), |b| b.push(0));
    assert_detected(&s, &[&s.b], "one appended byte");

    let s = setup();
    mutate(&s.e.blob(&s.b), |b| {
        let h = header_len(b);
        let first = b[h..h + ENC_CHUNK].to_vec();
        b.extend_from_slice(&first);
    });
    assert_detected(&s, &[&s.b], "an appended copy of a chunk");

    let s = setup();
    mutate(&s.e.blob(&s.a), |b| {
        let h = header_len(b);
        let (c0, c1) = (
            b[h..h + ENC_CHUNK].to_vec(),
            b[h + ENC_CHUNK..h + 2 * ENC_CHUNK].to_vec(),
        );
        b[h..h + ENC_CHUNK].copy_from_slice(&c1);
        b[h + ENC_CHUNK..h + 2 * ENC_CHUNK].copy_from_slice(&c0);
    });
    assert_detected(&s, &[&s.a], "two chunks swapped");

    let s = setup();
    // A chunk from another document at the same position.
    let other = fs::read(s.e.blob(&s.b)).unwrap();
    let oh = header_len(&other);
    mutate(&s.e.blob(&s.a), |b| {
        let h = header_len(b);
        b[h..h + ENC_CHUNK].copy_from_slice(&other[oh..oh + ENC_CHUNK]);
    });
    assert_detected(&s, &[&s.a], "a chunk from another document");
}

#[test]
fn blobs_moved_swapped_or_deleted() {
    let s = setup();
    fs::copy(s.e.blob(&s.a), s.e.blob(&s.c)).unwrap();
    assert_detected(&s, &[&s.c], "a blob copied over another document");

    let s = setup();
    let (pa, pb) = (s.e.blob(&s.a), s.e.blob(&s.b));
    let tmp = pa.with_extension("x");
    fs::rename(&pa, &tmp).unwrap();
    fs::rename(&pb, &pa).unwrap();
    fs::rename(&tmp, &pb).unwrap();
    assert_detected(&s, &[&s.a, &s.b], "two blobs swapped");

    let s = setup();
    fs::remove_file(s.e.blob(&s.c)).unwrap();
    assert_detected(&s, &[&s.c], "a blob deleted");
}

#[test]
fn index_rows_deleted_or_edited() {
    let s = setup();
    let conn = rusqlite::Connection::open(s.e.vault.join("index.sqlite")).unwrap();
    let id = coffer_id(&s.c);
    conn.execute("DELETE FROM documents WHERE id = ?1", [&id[..]])
        .unwrap();
    drop(conn);
    let (ok, codes) = s.e.verify_codes();
    assert!(!ok);
    assert!(
        codes.iter().any(|c| c == "manifest_mismatch")
            && codes.iter().any(|c| c == "unindexed_blob"),
        "{codes:?}"
    );

    let s = setup();
    let conn = rusqlite::Connection::open(s.e.vault.join("index.sqlite")).unwrap();
    // Point document a at document b's blob identity.
    conn.execute(
        "UPDATE documents SET header_hash = (SELECT header_hash FROM documents WHERE id = ?2) WHERE id = ?1",
        [&coffer_id(&s.a)[..], &coffer_id(&s.b)[..]],
    )
    .unwrap();
    drop(conn);
    assert_detected(&s, &[&s.a], "an index entry edited");
}

#[test]
fn deleting_the_index_and_repairing_brings_every_document_back() {
    let s = setup();
    let before = s.e.ok(&["ls"]);
    for f in ["index.sqlite", "index.sqlite-wal", "index.sqlite-shm"] {
        let _ = fs::remove_file(s.e.vault.join(f));
    }
    let err = s.e.fails(&["ls"]);
    assert!(err.contains("repair"), "{err}");
    let out = s.e.ok(&["repair"]);
    assert_eq!(
        out.lines().filter(|l| l.starts_with("recovered\t")).count(),
        3
    );
    // Same ids, names and sizes (times come from the blobs).
    let strip = |s: &str| -> Vec<String> {
        s.lines()
            .map(|l| l.split('\t').take(3).collect::<Vec<_>>().join("\t"))
            .collect()
    };
    assert_eq!(strip(&s.e.ok(&["ls"])), strip(&before));
    assert_eq!(s.e.get(&s.a).unwrap(), pattern(3 * CHUNK + 100, 1));
    s.e.ok(&["verify"]);
    s.e.ok(&["log", "--verify"]);
}

#[test]
fn a_corrupt_index_is_repaired_and_a_bad_blob_is_reported() {
    let s = setup();
    fs::write(
        s.e.vault.join("index.sqlite"),
        b"this is not a database at all, sorry",
    )
    .unwrap();
    let _ = fs::remove_file(s.e.vault.join("index.sqlite-wal"));
    let _ = fs::remove_file(s.e.vault.join("index.sqlite-shm"));
    s.e.fails(&["ls"]);
    mutate(&s.e.blob(&s.c), |b| {
        let n = b.len();
        b[n - 3] ^= 1
    });
    let o = s.e.run(&["repair"]);
    assert!(
        !o.status.success(),
        "repair must say it could not recover everything"
    );
    let out = String::from_utf8_lossy(&o.stdout);
    let bad = format!("unrecoverable\tblobs/{}/{}\t", &s.c[..2], s.c);
    assert!(out.contains(&bad), "{out}");
    assert_eq!(
        out.lines().filter(|l| l.starts_with("recovered\t")).count(),
        2
    );
    assert_eq!(s.e.get(&s.b).unwrap(), pattern(2 * CHUNK, 2));
}

#[test]
fn audit_log_edits_and_truncation_are_detected() {
    for what in ["delete newest", "edit", "delete middle"] {
        let s = setup();
        s.e.ok(&["log", "--verify"]);
        let conn = rusqlite::Connection::open(s.e.vault.join("index.sqlite")).unwrap();
        let sql = match what {
            "delete newest" => "DELETE FROM audit WHERE seq = (SELECT max(seq) FROM audit)",
            "edit" => "UPDATE audit SET detail = 'id=0' WHERE event = 'add'",
            _ => "DELETE FROM audit WHERE seq = 3",
        };
        conn.execute(sql, []).unwrap();
        drop(conn);
        let o = s.e.run(&["log", "--verify"]);
        assert!(!o.status.success(), "{what}");
        assert!(
            String::from_utf8_lossy(&o.stdout).contains("chain: BROKEN"),
            "{what}"
        );
        assert!(!s.e.run(&["verify"]).status.success(), "{what}");
    }
}

#[test]
fn header_parameters_and_generation_are_authenticated() {
    // Argon2 memory field of the first slot (after magic, version, vault id,
    // generation, slot count and kind).
    // Each change keeps the value in the accepted range, so only the
    // authentication can catch it.
    // A changed parameter or salt derives another key, so the slot no
    // longer opens (the passphrase is refused, never weakened); a changed
    // generation fails the header MAC.
    for (what, at, x, want) in [
        ("kdf memory", 38, 0x01, "wrong passphrase"),
        ("kdf passes", 43, 0x02, "wrong passphrase"),
        ("slot salt", 60, 0x01, "wrong passphrase"),
        ("generation", 33, 0x02, "the vault header was tampered with"),
    ] {
        let s = setup();
        mutate(&s.e.vault.join("coffer.header"), |b| b[at] ^= x);
        let err = s.e.fails(&["ls"]);
        assert!(err.contains(want), "{what}: {err}");
    }
}

fn coffer_id(hex: &str) -> Vec<u8> {
    (0..16)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

#[test]
fn export_all_writes_every_good_document_and_names_the_bad_one() {
    let s = setup();
    mutate(&s.e.blob(&s.b), |b| {
        let n = b.len();
        b[n - 1] ^= 1
    });
    let dir = s.e.path("out");
    let o = s.e.run(&["export", "--all", dir.to_str().unwrap()]);
    assert!(!o.status.success());
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains(&format!("FAILED\t{}\tcorrupt", s.b)),
        "{stdout}"
    );
    assert_eq!(
        fs::read(dir.join("alpha.pdf")).unwrap(),
        pattern(3 * CHUNK + 100, 1)
    );
    assert_eq!(fs::read(dir.join("charlie.bin")).unwrap(), pattern(10, 3));
    assert!(!dir.join("bravo.txt").exists());
    assert_eq!(fs::read_dir(&dir).unwrap().count(), 2, "no partial file");
}
