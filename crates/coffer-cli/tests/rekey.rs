//! Key rotation: `rekey` re-encrypts every document under a new master key,
//! so that an old copy of the header with the passphrase, or an old recovery
//! key, opens nothing; `recovery-key --new` replaces the recovery key alone.
#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

mod common;
use common::*;
use std::fs;
use std::path::Path;

fn recovery_key_of(out: &str) -> String {
    out.lines().last().unwrap().trim().to_owned()
}

/// `coffer recover` with the recovery key `rk` (text) and a new passphrase.
fn recover(e: &Env, vault: &Path, rk: &str) -> std::process::Output {
    let rkf = e.path("rk-try");
    fs::write(&rkf, format!("{rk}\n")).unwrap();
    let newp = e.path("np-try");
    fs::write(&newp, "recovered passphrase\n").unwrap();
    coffer_at(vault, &e.pass_file)
        .args(["recover", "--recovery-key-file", rkf.to_str().unwrap()])
        .args(["--new-passphrase-file", newp.to_str().unwrap()])
        .output()
        .unwrap()
}

#[test]
fn rekey_leaves_old_keys_and_old_headers_opening_nothing() {
    let e = Env::new();
    let docs: Vec<(String, Vec<u8>)> = [0usize, 10, 3 * CHUNK + 7]
        .iter()
        .enumerate()
        .map(|(i, &n)| {
            (
                e.add_bytes(&format!("doc{i}.bin"), &pattern(n, i as u8)),
                pattern(n, i as u8),
            )
        })
        .collect();
    e.ok(&["rename", &docs[1].0, "renamed.bin"]);
    let old_header = fs::read(e.vault.join("coffer.header")).unwrap();
    let old_blob = fs::read(e.blob(&docs[2].0)).unwrap();
    let out = e.ok(&["rekey"]);
    let new_rk = recovery_key_of(&out);
    assert_eq!(new_rk.len(), 69, "{out}");
    assert_ne!(new_rk, e.recovery_key);
    // Every document is intact, re-encrypted, and keeps its current name.
    for (id, data) in &docs {
        assert_eq!(&e.get(id).unwrap(), data);
    }
    assert_ne!(fs::read(e.blob(&docs[2].0)).unwrap(), old_blob);
    assert!(e.ok(&["ls"]).contains("renamed.bin"));
    e.ok(&["verify"]);
    let log = e.ok(&["log", "--verify"]);
    assert!(
        log.contains("rekey\tstart") && log.contains("rekey\tdone"),
        "{log}"
    );
    // The old recovery key opens nothing; the new one works.
    assert!(!recover(&e, &e.vault, &e.recovery_key).status.success());
    // An attacker's old copy of the header, with the passphrase, opens no
    // document of the rotated vault.
    let copy = e.path("vault-with-old-header");
    copy_folder(&e.vault, &copy);
    fs::write(copy.join("coffer.header"), &old_header).unwrap();
    let o = coffer_at(&copy, &e.pass_file)
        .args(["ls"])
        .output()
        .unwrap();
    assert!(
        !o.status.success(),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let out = e.path("stolen.bin");
    let o = coffer_at(&copy, &e.pass_file)
        .args(["get", &docs[2].0, "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!o.status.success() && !out.exists());
    assert!(recover(&e, &e.vault, &new_rk).status.success());
}

#[test]
fn a_new_recovery_key_replaces_the_old_one_and_touches_no_document() {
    let e = Env::new();
    let id = e.add_bytes("will.pdf", b"last will");
    let blob = fs::read(e.blob(&id)).unwrap();
    let out = e.ok(&["recovery-key", "--new"]);
    let rk = recovery_key_of(&out);
    assert_eq!(rk.len(), 69);
    assert_eq!(fs::read(e.blob(&id)).unwrap(), blob);
    assert!(!recover(&e, &e.vault, &e.recovery_key).status.success());
    assert!(recover(&e, &e.vault, &rk).status.success());
    let log = coffer_at(&e.vault, &e.path("np-try"))
        .args(["log", "--verify"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&log.stdout).contains("recovery_key_change"));
}
