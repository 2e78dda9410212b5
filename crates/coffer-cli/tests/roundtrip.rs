//! Round trips through the real binary, and the passphrase lifecycle.

mod common;
use common::*;

#[test]
fn round_trip_sizes_through_the_cli() {
    let e = Env::new();
    for n in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 5 * 1024 * 1024 + 3] {
        let data = pattern(n, n as u8);
        let id = e.add_bytes(&format!("f{n}.bin"), &data);
        assert_eq!(e.get(&id).unwrap(), data, "size {n}");
    }
    let ls: serde_json::Value = serde_json::from_str(&e.ok(&["ls", "--json"])).unwrap();
    let arr = ls.as_array().unwrap();
    assert_eq!(arr.len(), 6);
    for d in arr {
        for k in ["id", "name", "size", "tags", "added"] {
            assert!(d.get(k).is_some(), "missing {k}");
        }
    }
    let sizes: Vec<u64> = arr.iter().map(|d| d["size"].as_u64().unwrap()).collect();
    assert!(sizes.contains(&(5 * 1024 * 1024 + 3)));
    assert!(e.ok(&["verify"]).starts_with("ok: 6 documents"));
}

#[test]
fn add_many_with_tags_and_search() {
    let e = Env::new();
    let a = e.path("lease.pdf");
    let b = e.path("scan.png");
    std::fs::write(&a, b"lease").unwrap();
    std::fs::write(&b, b"scan").unwrap();
    let out = e.ok(&[
        "add",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--tag",
        "home",
        "--tag",
        "2026",
    ]);
    assert_eq!(out.lines().count(), 2);
    assert!(out
        .lines()
        .all(|l| l.len() > 33 && l.as_bytes()[32] == b'\t'));
    let hits = e.ok(&["ls", "lea"]);
    assert_eq!(hits.lines().count(), 1);
    assert!(hits.contains("lease.pdf"));
    assert_eq!(e.ok(&["ls", "tag:HOME"]).lines().count(), 2);
    assert_eq!(e.ok(&["ls", "nothing-like-this"]).lines().count(), 0);
    // --name with a single file only
    e.fails(&[
        "add",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--name",
        "x.pdf",
    ]);
    let out = e.ok(&["add", a.to_str().unwrap(), "--name", "Lease 2026.pdf"]);
    assert!(out.ends_with("\tLease 2026.pdf\n"));
}

#[test]
fn get_refuses_to_overwrite_without_force_and_is_atomic() {
    let e = Env::new();
    let id = e.add_bytes("a.txt", b"new contents");
    let out = e.path("dest.txt");
    std::fs::write(&out, b"old").unwrap();
    let err = e.fails(&["get", &id, "--out", out.to_str().unwrap()]);
    assert!(err.contains("--force"));
    assert_eq!(std::fs::read(&out).unwrap(), b"old");
    e.ok(&["get", &id[..8], "--out", out.to_str().unwrap(), "--force"]);
    assert_eq!(std::fs::read(&out).unwrap(), b"new contents");
    assert!(no_temp_files_in(e.tmp.path()));
}

#[test]
fn wrong_passphrase_is_refused_with_one_line() {
    let e = Env::new();
    e.add_bytes("a.txt", b"x");
    let bad = e.path("bad");
    std::fs::write(&bad, "not it\n").unwrap();
    let o = e.run_with(&bad, &["ls"]);
    assert!(!o.status.success());
    assert_eq!(
        String::from_utf8_lossy(&o.stderr).trim(),
        "coffer: error: wrong passphrase or recovery key"
    );
    assert!(o.stdout.is_empty());
}

#[test]
fn passphrase_from_standard_input_first_line() {
    let e = Env::new();
    use std::io::Write;
    let mut c = std::process::Command::new(bin());
    c.env("XDG_STATE_HOME", state_home(&e.vault));
    c.args(["--vault", e.vault.to_str().unwrap(), "ls"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{PASS}\nignored\n").as_bytes())
        .unwrap();
    assert!(child.wait_with_output().unwrap().status.success());
}

#[test]
fn passphrase_change_and_recovery_key() {
    let e = Env::new();
    let id = e.add_bytes("will.pdf", b"last will");
    let blob_before = std::fs::read(e.blob(&id)).unwrap();
    let newp = e.path("new");
    std::fs::write(&newp, "a much better passphrase\n").unwrap();
    e.ok(&["passwd", "--new-passphrase-file", newp.to_str().unwrap()]);
    // No document was re-encrypted.
    assert_eq!(std::fs::read(e.blob(&id)).unwrap(), blob_before);
    // The old passphrase no longer works; the new one does.
    e.fails(&["ls"]);
    let with_new = |args: &[&str]| e.run_with(&newp, args);
    assert!(with_new(&["ls"]).status.success());
    // Forgot it: the recovery key sets another.
    let rk = e.path("rk");
    std::fs::write(&rk, format!("{}\n", e.recovery_key.to_lowercase())).unwrap();
    let third = e.path("third");
    std::fs::write(&third, "third passphrase here\n").unwrap();
    let recover = || {
        std::process::Command::new(bin())
            .env("XDG_STATE_HOME", state_home(&e.vault))
            .args(["--vault", e.vault.to_str().unwrap(), "recover"])
            .args(["--recovery-key-file", rk.to_str().unwrap()])
            .args(["--new-passphrase-file", third.to_str().unwrap()])
            .output()
            .unwrap()
    };
    let o = recover();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!with_new(&["ls"]).status.success());
    std::fs::copy(&third, &e.pass_file).unwrap();
    assert_eq!(e.get(&id).unwrap(), b"last will");
    // A mistyped recovery key says so.
    let mut typo = e.recovery_key.clone().into_bytes();
    typo[0] = if typo[0] == b'A' { b'B' } else { b'A' };
    std::fs::write(&rk, typo).unwrap();
    let o = recover();
    assert!(String::from_utf8_lossy(&o.stderr).contains("mistyped"));
    let log = e.ok(&["log", "--verify"]);
    for ev in [
        "create",
        "unlock",
        "add",
        "export",
        "passphrase_change",
        "recover",
        "failed_unlock",
        "lock",
    ] {
        assert!(log.contains(&format!("\t{ev}\t")), "no {ev} in log:\n{log}");
    }
}

#[test]
fn weak_passphrases_and_existing_vaults_are_refused() {
    let t = tempfile::tempdir().unwrap();
    let p = t.path().join("p");
    std::fs::write(&p, "short\n").unwrap();
    let o = coffer_at(&t.path().join("v"), &p)
        .arg("init")
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("at least 8"));
    let e = Env::new();
    let err = e.fails(&["init", "--kdf-memory-mib", "8", "--kdf-iterations", "1"]);
    assert!(err.contains("already"));
}

#[test]
fn every_command_has_help() {
    for c in [
        "init", "add", "ls", "get", "share", "export", "rm", "trash", "passwd", "recover",
        "repair", "verify", "log",
    ] {
        let o = std::process::Command::new(bin())
            .args([c, "--help"])
            .output()
            .unwrap();
        assert!(
            o.status.success() && String::from_utf8_lossy(&o.stdout).contains("Usage"),
            "{c}"
        );
    }
}

#[test]
fn rm_now_removes_and_export_all_resolves_clashes() {
    let e = Env::new();
    let a = e.add_bytes("same.txt", b"one");
    let p = e.path("same.txt");
    std::fs::write(&p, b"two").unwrap();
    e.ok(&["add", p.to_str().unwrap()]);
    let gone = e.add_bytes("gone.txt", b"bye");
    e.ok(&["rm", "--now", &gone]);
    assert!(!e.blob(&gone).exists());
    let dir = e.path("export");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("same.txt"), b"pre-existing").unwrap();
    let out = e.ok(&["export", "--all", dir.to_str().unwrap()]);
    assert_eq!(out.lines().count(), 2);
    assert_eq!(
        std::fs::read(dir.join("same.txt")).unwrap(),
        b"pre-existing"
    );
    let mut got: Vec<Vec<u8>> = ["same (1).txt", "same (2).txt"]
        .iter()
        .map(|n| std::fs::read(dir.join(n)).unwrap())
        .collect();
    got.sort();
    assert_eq!(got, [b"one".to_vec(), b"two".to_vec()]);
    assert!(no_temp_files_in(&dir));
    assert!(e.get(&a).is_ok());
    e.ok(&["verify"]);
}

#[test]
fn nothing_readable_is_left_on_disk() {
    let e = Env::new();
    let name = "Diagnosis-Oncology-Q3.pdf";
    let p = e.path(name);
    std::fs::write(&p, b"PLAINTEXT-MARKER-7731 ".repeat(1000)).unwrap();
    e.ok(&["add", p.to_str().unwrap(), "--tag", "TagMarker42"]);
    e.ok(&["ls", "Diagnosis"]);
    // Every byte of every file under the vault folder, SQLite WAL included.
    let mut files = vec![e.vault.clone()];
    let mut bytes = Vec::new();
    while let Some(f) = files.pop() {
        if f.is_dir() {
            files.extend(std::fs::read_dir(&f).unwrap().flatten().map(|d| d.path()));
        } else {
            bytes.extend(std::fs::read(&f).unwrap());
            let fname = f.file_name().unwrap().to_string_lossy().into_owned();
            assert!(
                !fname.contains("Diagnosis"),
                "a file is named after the document"
            );
        }
    }
    assert!(bytes.len() > 20_000);
    let utf16 = |s: &str| {
        s.encode_utf16()
            .flat_map(|u| u.to_le_bytes())
            .collect::<Vec<u8>>()
    };
    for needle in [
        "Diagnosis",
        "Oncology",
        "TagMarker42",
        "PLAINTEXT-MARKER",
        "application/pdf",
        PASS,
    ] {
        for pat in [needle.as_bytes().to_vec(), utf16(needle)] {
            assert!(
                !bytes.windows(pat.len()).any(|w| w == &pat[..]),
                "{needle:?} readable on disk"
            );
        }
    }
}

#[cfg(unix)]
#[test]
fn fifos_and_folders_are_refused_without_blocking_and_files_are_private() {
    let e = Env::new();
    let fifo = e.path("pipe");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    // Each is refused on its own line of standard output.
    e.fails(&["add", fifo.to_str().unwrap()]);
    let out = e.run(&["add", fifo.to_str().unwrap()]).stdout;
    let out = String::from_utf8_lossy(&out);
    assert!(out.contains("regular files"), "{out}");
    e.fails(&["add", e.tmp.path().to_str().unwrap()]);
    let out = e.run(&["add", e.tmp.path().to_str().unwrap()]).stdout;
    let out = String::from_utf8_lossy(&out);
    assert!(
        out.starts_with("REFUSED\t") && (out.contains("regular files") || out.contains("name")),
        "{out}"
    );
    e.add_bytes("x.txt", b"x");
    use std::os::unix::fs::PermissionsExt;
    for f in ["index.sqlite", "coffer.header"] {
        let mode = std::fs::metadata(e.vault.join(f))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode & 0o077, 0, "{f} is readable by others: {mode:o}");
    }
    let mode = std::fs::metadata(&e.vault).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
}

#[test]
fn rename_and_tag_change_the_index_only_and_are_audited() {
    let e = Env::new();
    let id = e.add_bytes("scan.pdf", b"scan");
    let blob = std::fs::read(e.blob(&id)).unwrap();
    let out = e.ok(&["rename", &id[..8], "Lease 2026.pdf"]);
    assert_eq!(out, format!("{id}\tLease 2026.pdf\n"));
    e.ok(&["tag", &id, "--add", "home", "--add", "Legal"]);
    let out = e.ok(&["tag", &id, "--remove", "HOME"]);
    assert_eq!(out, format!("{id}\tLegal\n"));
    let ls: serde_json::Value = serde_json::from_str(&e.ok(&["ls", "--json", "lease"])).unwrap();
    assert_eq!(ls[0]["name"], "Lease 2026.pdf");
    assert_eq!(ls[0]["tags"], serde_json::json!(["Legal"]));
    assert_eq!(
        std::fs::read(e.blob(&id)).unwrap(),
        blob,
        "the blob is untouched"
    );
    e.fails(&["rename", &id, "../escape.pdf"]);
    e.fails(&["tag", &id, "--add", "bad\u{7}tag"]);
    e.ok(&["verify"]);
    let log = e.ok(&["log", "--verify"]);
    assert_eq!(log.matches("\tedit\t").count(), 3, "{log}");
    assert!(!log.contains("Lease") && !log.contains("Legal"));
    assert_eq!(e.get(&id).unwrap(), b"scan");
}

/// A batch of an add holds each document's unnamed file open until it
/// commits: under a low limit on open files (a hard limit the process cannot
/// raise), an add of more files than the limit still imports every one.
#[test]
fn an_add_of_more_files_than_the_open_file_limit_imports_them_all() {
    let e = Env::new();
    let dir = e.path("many");
    std::fs::create_dir(&dir).unwrap();
    let mut args = vec!["--vault".to_owned(), e.vault.display().to_string()];
    args.extend([
        "--passphrase-file".to_owned(),
        e.pass_file.display().to_string(),
    ]);
    args.push("add".to_owned());
    for i in 0..1500 {
        let p = dir.join(format!("scan-{i:04}.pdf"));
        std::fs::write(&p, format!("page {i}")).unwrap();
        args.push(p.display().to_string());
    }
    // `ulimit -n` sets both limits: the process cannot raise them.
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg("ulimit -n 300 && exec \"$0\" \"$@\"")
        .arg(common::bin())
        .args(&args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().count(), 1500);
    assert_eq!(e.ok(&["ls"]).lines().count(), 1500);
    e.ok(&["verify"]);
}
