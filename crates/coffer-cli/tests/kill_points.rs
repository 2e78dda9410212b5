//! `coffer get --force` killed at every file-system call it makes, the way
//! the report reproduced it: strace stops the process with SIGKILL at the
//! n-th call of each kind (no sleeps, no luck). Whatever the moment, the
//! output folder holds the old file, the complete new one, or (between the
//! removal of the old and the link of the new) neither: never a second name
//! holding plaintext.

#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

mod common;
use common::*;
use std::fs;
use std::process::Command;

/// Calls where a kill could leave a file behind.
const CALLS: &[&str] = &[
    "openat",
    "linkat",
    "link",
    "unlinkat",
    "unlink",
    "renameat",
    "renameat2",
    "rename",
    "fsync",
    "fdatasync",
    "write",
    "pwrite64",
    "ftruncate",
];

fn strace() -> Option<&'static str> {
    let ok = Command::new("strace")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok && std::env::var_os("CI").is_some() {
        panic!("strace is missing: scripts/test.sh installs it; CI must run this test");
    }
    ok.then_some("strace")
}

#[test]
fn get_force_killed_at_any_call_leaves_no_named_plaintext() {
    let Some(strace) = strace() else {
        eprintln!("skipped: strace is not installed");
        return;
    };
    let e = Env::new();
    let secret = pattern(3 * CHUNK + 5, 9);
    let id = e.add_bytes("secret.bin", &secret);
    let dir = e.path("out");
    fs::create_dir(&dir).unwrap();
    let out = dir.join("report.bin");
    let old = b"the old version of the report".to_vec();
    let mut killed = 0;
    for call in CALLS {
        for nth in 1..=3 {
            fs::write(&out, &old).unwrap();
            let o = Command::new(strace)
                .env("XDG_STATE_HOME", state_home(&e.vault))
                .args(["-f", "-qq", "-o", "/dev/null", "-e"])
                .arg(format!("inject={call}:signal=SIGKILL:when={nth}"))
                .arg(bin())
                .arg("--vault")
                .arg(&e.vault)
                .arg("--passphrase-file")
                .arg(&e.pass_file)
                .args(["get", &id, "--out", out.to_str().unwrap(), "--force"])
                .output()
                .unwrap();
            if !o.status.success() {
                killed += 1;
            }
            let names: Vec<String> = fs::read_dir(&dir)
                .unwrap()
                .map(|d| d.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            let what = format!("killed at {call} #{nth}");
            match names.as_slice() {
                [] => {}
                [one] if one == "report.bin" => {
                    let body = fs::read(&out).unwrap();
                    assert!(body == old || body == secret, "{what}: a partial file");
                }
                other => panic!("{what}: left {other:?}"),
            }
        }
    }
    assert!(killed > 10, "the kills must land: {killed}");
    // And nothing stays in the vault's own tmp/ either.
    assert!(no_temp_files_in(&e.vault.join("tmp")));
    e.ok(&["verify"]);
}

/// `coffer rm` (to the trash) and `coffer trash empty` killed at every
/// file-system call of the kinds above: each document is afterwards in its
/// old state or its new one (live or in the trash; in the trash or gone
/// with its blob), never between, and `verify` passes.
#[test]
fn trash_and_empty_killed_at_any_call_leave_each_document_whole() {
    let Some(strace) = strace() else {
        eprintln!("skipped: strace is not installed");
        return;
    };
    let e = Env::new();
    let killed_run = |args: &[&str], call: &str, nth: u32| {
        Command::new(strace)
            .env("XDG_STATE_HOME", state_home(&e.vault))
            .args(["-f", "-qq", "-o", "/dev/null", "-e"])
            .arg(format!("inject={call}:signal=SIGKILL:when={nth}"))
            .arg(bin())
            .arg("--vault")
            .arg(&e.vault)
            .arg("--passphrase-file")
            .arg(&e.pass_file)
            .args(args)
            .output()
            .unwrap()
            .status
            .success()
    };
    let in_trash = |id: &str| e.ok(&["trash", "ls"]).contains(id);
    let listed = |id: &str| e.ok(&["ls"]).contains(id);
    let mut killed = 0;
    for call in CALLS {
        for nth in 1..=3 {
            let what = format!("killed at {call} #{nth}");
            let a = e.add_bytes("a.txt", b"alpha");
            let b = e.add_bytes("b.txt", b"bravo");
            e.ok(&["rm", &b]);
            if !killed_run(&["rm", &a], call, nth) {
                killed += 1;
            }
            // Live, or in the trash; exactly one.
            assert!(listed(&a) != in_trash(&a), "{what}: rm left {a} between");
            assert!(e.blob(&a).exists(), "{what}");
            if in_trash(&a) {
                e.ok(&["trash", "restore", &a]);
            }
            if !killed_run(&["trash", "empty", "--yes"], call, nth) {
                killed += 1;
            }
            // In the trash with its blob, or gone with it (an interrupted
            // purge is finished by the next unlock, the `ls` above).
            let still = in_trash(&b);
            assert!(!listed(&b), "{what}");
            assert_eq!(e.blob(&b).exists(), still, "{what}: {b}");
            let (ok, codes) = e.verify_codes();
            assert!(ok, "{what}: {codes:?}");
            e.ok(&["rm", "--now", &a]);
            if still {
                e.ok(&["rm", "--now", &b]);
            }
        }
    }
    assert!(killed > 10, "the kills must land: {killed}");
    e.ok(&["log", "--verify"]);
}
