//! A full disk gives one clear error and loses nothing: on a small tmpfs, an
//! import that does not fit fails with "disk is full", leaves no partial blob,
//! and the vault still verifies; an export to a full folder leaves no file.
//! Needs root to mount tmpfs (CI runs as root); elsewhere it says so and
//! passes, but under CI (`CI` set) a skip fails the test.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

struct Mount(PathBuf);
impl Mount {
    fn new(at: &Path, size: &str) -> Option<Mount> {
        std::fs::create_dir_all(at).ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .status()
            .ok()?
            .success();
        ok.then(|| Mount(at.to_owned()))
    }
}
impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0\n"))
        .unwrap_or(false)
}

/// A skip is allowed on a developer's machine only: under CI it is a failure,
/// so a CI run can never pass this test without running it.
fn skip(why: &str) {
    if std::env::var_os("CI").is_some() {
        panic!("full-disk test could not run under CI: {why}");
    }
    eprintln!("SKIPPED: {why}");
}

#[test]
fn a_full_disk_loses_nothing() {
    if !is_root() {
        skip("mounting tmpfs needs root (CI runs this as root)");
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let mnt = work.path().join("small");
    let Some(_m) = Mount::new(&mnt, "3m") else {
        skip("this machine refuses to mount tmpfs even as root");
        return;
    };
    let pass = work.path().join("pass");
    std::fs::write(&pass, format!("{PASS}\n")).unwrap();
    let vault = mnt.join("vault");
    let state = work.path().join("state");
    let on = |vault: &Path, args: &[&str]| {
        Command::new(bin())
            .env("XDG_STATE_HOME", &state)
            .args([
                "--vault",
                vault.to_str().unwrap(),
                "--passphrase-file",
                pass.to_str().unwrap(),
            ])
            .args(args)
            .output()
            .unwrap()
    };
    let run = |args: &[&str]| on(&vault, args);
    assert!(
        run(&["init", "--kdf-memory-mib", "8", "--kdf-iterations", "1"])
            .status
            .success()
    );
    let small = work.path().join("small.txt");
    std::fs::write(&small, b"fits").unwrap();
    let o = run(&["add", small.to_str().unwrap()]);
    assert!(o.status.success());
    let id = String::from_utf8_lossy(&o.stdout)
        .split('\t')
        .next()
        .unwrap()
        .to_owned();

    let big = work.path().join("big.bin");
    std::fs::write(&big, pattern(5 << 20, 9)).unwrap();
    let o = run(&["add", big.to_str().unwrap()]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("disk is full") && err.lines().count() == 1,
        "{err}"
    );

    // Nothing half-written remains and the vault is whole.
    assert_eq!(std::fs::read_dir(vault.join("tmp")).unwrap().count(), 0);
    let v = run(&["verify"]);
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stdout));
    let ls = String::from_utf8_lossy(&run(&["ls"]).stdout).into_owned();
    assert_eq!(ls.lines().count(), 1);

    // Exporting into a full folder leaves no file there.
    let dest_mnt = work.path().join("dest");
    let _d = Mount::new(&dest_mnt, "1m").expect("a second tmpfs mounts where the first did");
    let big_vault = work.path().join("v2");
    let run2 = |args: &[&str]| on(&big_vault, args);
    assert!(
        run2(&["init", "--kdf-memory-mib", "8", "--kdf-iterations", "1"])
            .status
            .success()
    );
    let o = run2(&["add", big.to_str().unwrap()]);
    let big_id = String::from_utf8_lossy(&o.stdout)
        .split('\t')
        .next()
        .unwrap()
        .to_owned();
    let out = dest_mnt.join("big.bin");
    let o = run2(&["get", &big_id, "--out", out.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("disk is full"));
    assert_eq!(
        std::fs::read_dir(&dest_mnt).unwrap().count(),
        0,
        "a partial file was left"
    );
    // The small document is still there and readable.
    let got = work.path().join("got.txt");
    assert!(run(&["get", &id, "--out", got.to_str().unwrap()])
        .status
        .success());
    assert_eq!(std::fs::read(&got).unwrap(), b"fits");
}
