//! The vault folder as the threat model's adversary leaves it (a sync
//! service, a backup, a shared copy): every entry replaced by a symlink to a
//! folder, to a file, a dangling symlink, a FIFO, a folder or a file, or a
//! hard link to a file outside, times every command. Nothing outside the
//! vault changes, no command hangs, and each command either refuses with an
//! error naming the entry or (for a blob it does not touch) works.
//!
//! Each case runs on its own vault; every command runs under a timeout.

#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

mod common;
use common::*;
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{symlink, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Long enough for any command here (they take milliseconds); a hang is
/// killed and reported.
const TIMEOUT: Duration = Duration::from_secs(20);

/// Runs `c` with no input; kills it and fails the test after [`TIMEOUT`].
pub fn run_bounded(mut c: Command, what: &str) -> Output {
    c.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running after {TIMEOUT:?} (hung)");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Every file, folder and link below `dir` with what it holds.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            let md = fs::symlink_metadata(&p).unwrap();
            let v = if md.file_type().is_symlink() {
                format!("link {:?}", fs::read_link(&p).unwrap())
            } else if md.is_dir() {
                stack.push(p.clone());
                "dir".to_owned()
            } else if md.file_type().is_file() {
                format!("file {} links {:?}", md.nlink(), fs::read(&p).unwrap())
            } else {
                "special".to_owned()
            };
            out.insert(p, v);
        }
    }
    out
}

#[derive(Clone, Copy, Debug)]
enum Plant {
    LinkToDir,
    LinkToFile,
    Dangling,
    Fifo,
    Folder,
    File,
    HardLink,
}

/// The outside world the attacker points at: a folder with files, a file,
/// a copy of the vault's own index (a valid SQLite file), and the name a
/// dangling link points to.
struct Outside {
    dir: PathBuf,
    file: PathBuf,
    sqlite: PathBuf,
    missing: PathBuf,
}

fn outside(e: &Env) -> Outside {
    let dir = e.path("outside");
    fs::create_dir_all(dir.join("sub")).unwrap();
    fs::write(dir.join("Documents.txt"), b"the user's own file").unwrap();
    fs::write(dir.join("sub/notes.txt"), b"more of them").unwrap();
    let file = dir.join("victim.txt");
    fs::write(&file, b"keep me").unwrap();
    let sqlite = dir.join("other.sqlite");
    fs::copy(e.vault.join("index.sqlite"), &sqlite).unwrap();
    Outside {
        missing: dir.join("created-through-a-link"),
        dir,
        file,
        sqlite,
    }
}

fn plant(at: &Path, how: Plant, o: &Outside) -> bool {
    let is_index = at
        .file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with("index.sqlite"));
    let target = if is_index { &o.sqlite } else { &o.file };
    if fs::symlink_metadata(at).is_ok_and(|m| m.is_dir()) {
        fs::remove_dir_all(at).unwrap();
    } else {
        let _ = fs::remove_file(at);
    }
    match how {
        Plant::LinkToDir => symlink(&o.dir, at).unwrap(),
        Plant::LinkToFile => symlink(target, at).unwrap(),
        Plant::Dangling => symlink(&o.missing, at).unwrap(),
        Plant::Fifo => {
            rustix::fs::mkfifoat(rustix::fs::CWD, at, rustix::fs::Mode::from_raw_mode(0o600))
                .unwrap()
        }
        Plant::Folder => fs::create_dir(at).unwrap(),
        Plant::File => fs::write(at, b"not what belongs here").unwrap(),
        Plant::HardLink => fs::hard_link(target, at).unwrap(),
    }
    true
}

/// Every command of the CLI, in an order that keeps the destructive ones
/// last; `init` must refuse whatever it finds.
fn commands(e: &Env, id: &str) -> Vec<Vec<String>> {
    let src = e.path("new.txt");
    fs::write(&src, b"new document").unwrap();
    let newpass = e.path("newpass");
    fs::write(&newpass, format!("{PASS}\n")).unwrap();
    let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
    let out = e.path("out.bin");
    let all = e.path("export-all");
    vec![
        s(&["ls"]),
        s(&["log", "--verify"]),
        s(&["verify"]),
        s(&["get", id, "--out", out.to_str().unwrap(), "--force"]),
        s(&["export", "--all", all.to_str().unwrap()]),
        s(&["add", src.to_str().unwrap()]),
        s(&["rename", id, "renamed.txt"]),
        s(&["tag", id, "--add", "x"]),
        s(&["passwd", "--new-passphrase-file", newpass.to_str().unwrap()]),
        s(&["rm", id]),
        s(&["rm", "--now", id]),
        s(&["trash", "ls"]),
        s(&["trash", "empty", "--yes"]),
        s(&["repair"]),
        s(&["init", "--kdf-memory-mib", "8", "--kdf-iterations", "1"]),
    ]
}

/// Entries that every command checks when it opens the vault.
const CHECKED_AT_OPEN: &[&str] = &[
    "coffer.header",
    "index.sqlite",
    "index.sqlite-wal",
    "index.sqlite-shm",
    "index.sqlite-journal",
    "lock",
    "migrate.lock",
    "header.lock",
    "blobs",
    "tmp",
    "SHARD",
];

fn plants_for(entry: &str) -> Vec<Plant> {
    let folder = matches!(entry, "blobs" | "tmp" | "SHARD");
    let mut p = vec![
        Plant::LinkToDir,
        Plant::LinkToFile,
        Plant::Dangling,
        Plant::Fifo,
    ];
    if folder {
        p.push(Plant::File);
    } else {
        p.extend([Plant::Folder, Plant::HardLink]);
    }
    p
}

fn one_case(entry: &str, how: Plant) {
    let e = Env::new();
    let id = e.add_bytes("doc.txt", b"a document");
    let o = outside(&e);
    let rel = match entry {
        "SHARD" => format!("blobs/{}", &id[..2]),
        "BLOB" => format!("blobs/{}/{id}", &id[..2]),
        other => other.to_owned(),
    };
    let at = e.vault.join(&rel);
    plant(&at, how, &o);
    let before = snapshot(&o.dir);
    let checked = CHECKED_AT_OPEN.contains(&entry);
    for args in commands(&e, &id) {
        let what = format!("{rel} as {how:?}: coffer {}", args[0]);
        let mut c = coffer_at(&e.vault, &e.pass_file);
        c.args(&args);
        let o2 = run_bounded(c, &what);
        let err = String::from_utf8_lossy(&o2.stderr);
        assert_eq!(
            snapshot(&o.dir),
            before,
            "{what} changed files outside the vault"
        );
        assert!(!o.missing.exists(), "{what} created a file through a link");
        if args[0] == "init" {
            assert!(!o2.status.success(), "{what}: init must refuse");
            continue;
        }
        if checked {
            assert!(!o2.status.success(), "{what} must refuse");
            assert!(
                err.contains(&format!("{rel} ")) && err.contains("tampered"),
                "{what}: the error must name the entry: {err}"
            );
            assert_eq!(err.lines().count(), 1, "{what}: one line: {err}");
        } else if matches!(args[0].as_str(), "get" | "verify" | "export") {
            assert!(!o2.status.success(), "{what} must report the blob");
        }
    }
    // The document is still in place for everything the attacker did not touch.
    if !checked {
        assert!(e.vault.join("coffer.header").is_file());
    }
}

fn matrix(entries: &[&str]) {
    for entry in entries {
        for how in plants_for(entry) {
            one_case(entry, how);
        }
    }
}

#[test]
fn header_and_index_files_replaced() {
    matrix(&[
        "coffer.header",
        "index.sqlite",
        "index.sqlite-wal",
        "index.sqlite-shm",
        "index.sqlite-journal",
    ]);
}

#[test]
fn lock_files_replaced() {
    matrix(&["lock", "migrate.lock", "header.lock"]);
}

#[test]
fn folders_replaced() {
    matrix(&["blobs", "tmp", "SHARD"]);
}

#[test]
fn a_blob_replaced() {
    matrix(&["BLOB"]);
}

/// The attack of the report: `tmp/` as a link to the user's documents; any
/// command, even with a wrong passphrase, used to delete every file there.
#[test]
fn tmp_as_a_link_to_documents_deletes_nothing_even_with_a_wrong_passphrase() {
    let e = Env::new();
    let o = outside(&e);
    fs::remove_dir(e.vault.join("tmp")).unwrap();
    symlink(&o.dir, e.vault.join("tmp")).unwrap();
    let before = snapshot(&o.dir);
    let wrong = e.path("wrong");
    fs::write(&wrong, "not the passphrase\n").unwrap();
    for pass in [&wrong, &e.pass_file] {
        let o2 = e.run_with(pass, &["ls"]);
        assert!(!o2.status.success());
        assert!(String::from_utf8_lossy(&o2.stderr)
            .contains("tmp is a symbolic link: the vault folder was tampered with"));
    }
    assert_eq!(snapshot(&o.dir), before);
}

/// `/dev/zero` as the header used to be read until memory ran out.
#[test]
fn a_header_that_never_ends_is_refused_at_once() {
    let e = Env::new();
    fs::remove_file(e.vault.join("coffer.header")).unwrap();
    symlink("/dev/zero", e.vault.join("coffer.header")).unwrap();
    let o = run_bounded(e.cmd(&["ls"]), "ls with /dev/zero as header");
    assert!(String::from_utf8_lossy(&o.stderr).contains("coffer.header is a symbolic link"));
    // A regular file that is far too large is refused without reading it.
    fs::remove_file(e.vault.join("coffer.header")).unwrap();
    let f = fs::File::create(e.vault.join("coffer.header")).unwrap();
    f.set_len(4 << 30).unwrap();
    let o = run_bounded(e.cmd(&["ls"]), "ls with a 4 GiB header");
    assert!(String::from_utf8_lossy(&o.stderr).contains("coffer.header is larger than"));
}

/// A sync that delivers `blobs/` before the header: `ls` must not send the
/// user to `init`, and `init` must not destroy the blobs.
#[test]
fn init_never_destroys_blobs_of_a_vault_without_its_header() {
    let e = Env::new();
    let id = e.add_bytes("contract.pdf", b"signed");
    let header = fs::read(e.vault.join("coffer.header")).unwrap();
    fs::remove_file(e.vault.join("coffer.header")).unwrap();
    let err = e.fails(&["ls"]);
    assert!(err.contains("1 blob(s) but no vault header"), "{err}");
    assert!(!err.contains("run `coffer init`"), "{err}");
    let err = e.fails(&["init", "--kdf-memory-mib", "8", "--kdf-iterations", "1"]);
    assert!(err.contains("no vault header"), "{err}");
    assert!(e.blob(&id).is_file());
    // With the header back, the document is there.
    fs::write(e.vault.join("coffer.header"), header).unwrap();
    assert_eq!(e.get(&id).unwrap(), b"signed");
    // And init refuses a folder of someone else's files too.
    let other = e.path("someone-else");
    fs::create_dir(&other).unwrap();
    fs::write(other.join("photo.jpg"), b"x").unwrap();
    let o = coffer_at(&other, &e.pass_file)
        .args(["init", "--kdf-memory-mib", "8", "--kdf-iterations", "1"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert_eq!(fs::read(other.join("photo.jpg")).unwrap(), b"x");
}

/// An `init` interrupted before its header (an index listing no document,
/// empty folders, locks) is finished by the next `init`.
#[test]
fn init_over_an_interrupted_init_works() {
    let e = Env::new();
    fs::remove_file(e.vault.join("coffer.header")).unwrap();
    e.ok(&["init", "--kdf-memory-mib", "8", "--kdf-iterations", "1"]);
    e.ok(&["verify"]);
}

/// Misplaced, upper-case, duplicated and foreign blobs: repair moves what it
/// can to its place, lists the rest, never empties the vault, and gives the
/// same vault when run twice.
#[test]
fn repair_handles_misplaced_duplicated_upper_case_and_foreign_blobs() {
    let e = Env::new();
    let a = e.add_bytes("a.txt", b"alpha");
    let b = e.add_bytes("b.txt", b"bravo");
    let c = e.add_bytes("c.txt", b"charlie");
    // a: moved to another shard; b: its name in capitals; c: a copy elsewhere.
    let other_shard = if &a[..2] == "00" { "01" } else { "00" };
    fs::create_dir_all(e.vault.join("blobs").join(other_shard)).unwrap();
    fs::rename(e.blob(&a), e.vault.join("blobs").join(other_shard).join(&a)).unwrap();
    let upper = e.vault.join("blobs").join(&b[..2]).join(b.to_uppercase());
    fs::rename(e.blob(&b), &upper).unwrap();
    fs::copy(e.blob(&c), e.vault.join("blobs").join(other_shard).join(&c)).unwrap();
    fs::write(
        e.vault
            .join("blobs")
            .join(other_shard)
            .join("notes\u{1b}[31m.txt"),
        b"x",
    )
    .unwrap();
    let (ok, codes) = e.verify_codes();
    assert!(!ok);
    assert!(
        codes.iter().any(|c| c == "misplaced_blob") && codes.iter().any(|c| c == "foreign_entry"),
        "{codes:?}"
    );
    for round in 0..2 {
        let out = e.ok(&["repair"]);
        assert_eq!(
            out.lines().filter(|l| l.starts_with("recovered\t")).count(),
            3,
            "{out}"
        );
        if round == 0 {
            assert!(out.contains(&format!(
                "moved\tblobs/{other_shard}/{a}\tblobs/{}/{a}",
                &a[..2]
            )));
            assert!(out.contains(&format!("\tblobs/{}/{b}\n", &b[..2])), "{out}");
        } else {
            assert!(!out.contains("moved\t"), "{out}");
        }
        assert!(
            out.contains(&format!("skipped\tblobs/{other_shard}/{c}\ta second copy")),
            "{out}"
        );
        // The foreign name is shown escaped, never as a terminal control.
        assert!(
            out.contains("notes\\u{1b}[31m.txt") && !out.contains('\u{1b}'),
            "{out}"
        );
    }
    for (id, want) in [(&a, &b"alpha"[..]), (&b, b"bravo"), (&c, b"charlie")] {
        assert_eq!(e.get(id).unwrap(), want);
    }
}

/// One blob copied to a second place used to make `repair` fail on a
/// UNIQUE constraint after it had moved the good index aside, leaving a vault
/// that listed as empty; each retry moved another index aside.
#[test]
fn a_duplicated_blob_never_empties_the_vault() {
    let e = Env::new();
    let a = e.add_bytes("a.txt", b"alpha");
    let other_shard = if &a[..2] == "00" { "01" } else { "00" };
    fs::create_dir_all(e.vault.join("blobs").join(other_shard)).unwrap();
    fs::copy(e.blob(&a), e.vault.join("blobs").join(other_shard).join(&a)).unwrap();
    for _ in 0..2 {
        let out = e.ok(&["repair"]);
        assert!(out.contains(&format!("recovered\t{a}\ta.txt")), "{out}");
        assert!(e.ok(&["ls"]).contains("a.txt"));
    }
    assert!(!e.vault.join("index.sqlite.rebuild").exists());
    // A planted index entry makes repair refuse before it builds anything.
    fs::remove_file(e.vault.join("index.sqlite")).unwrap();
    symlink(e.path("elsewhere.sqlite"), e.vault.join("index.sqlite")).unwrap();
    let err = e.fails(&["repair"]);
    assert!(err.contains("index.sqlite is a symbolic link"), "{err}");
    assert!(!e.path("elsewhere.sqlite").exists());
    assert!(!e.vault.join("index.sqlite.rebuild").exists());
}

/// Two documents with the same 255-byte name, and a folder in place of a
/// blob: `export --all` writes what it can and lists the rest.
#[test]
fn export_all_never_stops_for_one_document() {
    let e = Env::new();
    let long = format!("{}.pdf", "n".repeat(251));
    let src = e.path("long-src");
    fs::write(&src, b"one").unwrap();
    let one = e.ok(&["add", src.to_str().unwrap(), "--name", &long]);
    fs::write(&src, b"two").unwrap();
    e.ok(&["add", src.to_str().unwrap(), "--name", &long]);
    let broken = e.add_bytes("broken.txt", b"x");
    let fine = e.add_bytes("fine.txt", b"fine");
    fs::remove_file(e.blob(&broken)).unwrap();
    fs::create_dir(e.blob(&broken)).unwrap();
    let out_dir = e.path("exported");
    let o = e.run(&["export", "--all", out_dir.to_str().unwrap()]);
    assert!(!o.status.success());
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains(&format!("FAILED\t{broken}")), "{out}");
    assert!(out.contains(&fine), "{out}");
    let names: Vec<String> = fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
    assert!(names.iter().all(|n| n.len() <= 255));
    let mut bodies: Vec<Vec<u8>> = names
        .iter()
        .filter(|n| n.ends_with(".pdf"))
        .map(|n| fs::read(out_dir.join(n)).unwrap())
        .collect();
    bodies.sort();
    assert_eq!(bodies, vec![b"one".to_vec(), b"two".to_vec()]);
    assert!(one.contains('\t'));
}

/// `add` of a `/proc` file (size 0, endless), of a FIFO, and of a FIFO
/// reached through a link: refused at once, nothing added.
#[test]
fn add_refuses_endless_and_blocking_inputs() {
    let e = Env::new();
    let link = e.path("pagemap.pdf");
    symlink("/proc/self/pagemap", &link).unwrap();
    let fifo = e.path("fifo.txt");
    rustix::fs::mkfifoat(
        rustix::fs::CWD,
        &fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
    )
    .unwrap();
    let fifo_link = e.path("fifo-link.txt");
    symlink(&fifo, &fifo_link).unwrap();
    for p in [&link, &fifo, &fifo_link] {
        let o = run_bounded(
            e.cmd(&["add", p.to_str().unwrap()]),
            "add of a hostile input",
        );
        assert!(!o.status.success(), "{p:?}");
        // Refused on its own line; the command reports it, not an error of
        // the vault.
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(out.starts_with("REFUSED\t"), "{out}");
        assert!(
            out.contains("changed while it was imported") || out.contains("only regular files"),
            "{out}"
        );
    }
    assert_eq!(e.ok(&["ls"]), "");
    let (ok, _) = e.verify_json();
    assert!(ok);
    assert!(no_temp_files_in(&e.vault.join("tmp")));
}

/// SQLite plays back a "hot" rollback journal beside a database and then
/// deletes the super-journal the journal names, which can be any path. A
/// planted journal must be refused before SQLite sees it.
#[test]
fn a_planted_hot_journal_deletes_nothing_outside() {
    let e = Env::new();
    e.add_bytes("doc.txt", b"x");
    let precious = e.path("precious.txt");
    fs::write(&precious, b"the user's file").unwrap();
    let db = fs::read(e.vault.join("index.sqlite")).unwrap();
    let page = match u16::from_be_bytes([db[16], db[17]]) {
        1 => 65536u32,
        n => u32::from(n),
    };
    let magic = [0xd9, 0xd5, 0x05, 0xf9, 0x20, 0xa1, 0x63, 0xd7];
    let mut j = magic.to_vec();
    for v in [0, 0, db.len() as u32 / page, 512, page] {
        j.extend_from_slice(&v.to_be_bytes());
    }
    j.resize(512, 0);
    let victim = precious.to_str().unwrap().as_bytes();
    let sum = victim
        .iter()
        .fold(0u32, |a, &b| a.wrapping_add(b as i8 as i32 as u32));
    j.extend_from_slice(&(0x4000_0000 / page + 1).to_be_bytes());
    j.extend_from_slice(victim);
    j.extend_from_slice(&(victim.len() as u32).to_be_bytes());
    j.extend_from_slice(&sum.to_be_bytes());
    j.extend_from_slice(&magic);
    fs::write(e.vault.join("index.sqlite-journal"), &j).unwrap();
    let wrong = e.path("wrong");
    fs::write(&wrong, "not the passphrase\n").unwrap();
    for pass in [&wrong, &e.pass_file] {
        for cmd in [&["ls"][..], &["repair"][..], &["verify"][..]] {
            let o = e.run_with(pass, cmd);
            assert!(!o.status.success());
            assert!(
                precious.exists(),
                "coffer {cmd:?} deleted a file outside the vault"
            );
        }
    }
    let err = e.fails(&["ls"]);
    assert!(err.contains("index.sqlite-journal exists"), "{err}");
}

/// The vault's own path may go through links (the user's choice): only
/// entries below it are refused.
#[test]
fn a_vault_reached_through_a_symlinked_path_works() {
    let e = Env::new();
    let id = e.add_bytes("doc.txt", b"through a link");
    let link = e.path("vault-link");
    symlink(&e.vault, &link).unwrap();
    let o = coffer_at(&link, &e.pass_file)
        .args(["ls"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains(&id));
    // init through a linked parent folder.
    let real = e.path("real-parent");
    fs::create_dir(&real).unwrap();
    let parent = e.path("linked-parent");
    symlink(&real, &parent).unwrap();
    let v2 = parent.join("v2");
    let o = coffer_at(&v2, &e.pass_file)
        .args(["init", "--kdf-memory-mib", "8", "--kdf-iterations", "1"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = coffer_at(&v2, &e.pass_file)
        .args(["verify"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// A lock file that someone holds forever (a process of another user in a
/// shared folder) makes Coffer say the vault is in use, never hang.
#[test]
fn a_lock_held_forever_is_reported_not_waited_for() {
    let e = Env::new();
    let holder = std::process::Command::new("python3")
        .arg("-c")
        .arg(
            "import fcntl,sys,time; f=open(sys.argv[1],'a'); fcntl.flock(f, fcntl.LOCK_EX); \
             print('held', flush=True); time.sleep(120)",
        )
        .arg(e.vault.join("lock"))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut holder = scopeguard(holder);
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(holder.0.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line.trim(), "held");
    let o = run_bounded(e.cmd(&["ls"]), "ls while another process holds the lock");
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("in use by another process"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let _ = holder.0.kill();
}

/// Kills the child when dropped.
struct Guard(std::process::Child);
impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
fn scopeguard(c: std::process::Child) -> Guard {
    Guard(c)
}

/// A sparse file far larger than the free space is refused before a byte
/// is encrypted.
#[test]
fn a_file_larger_than_the_free_space_is_refused_at_once() {
    let e = Env::new();
    let p = e.path("sparse.bin");
    let fs_info = rustix::fs::statvfs(e.vault.as_path()).unwrap();
    let free = fs_info.f_bavail * fs_info.f_frsize;
    fs::File::create(&p)
        .unwrap()
        .set_len(free + (1 << 30))
        .unwrap();
    let o = run_bounded(
        e.cmd(&["add", p.to_str().unwrap()]),
        "add of a sparse file larger than the free space",
    );
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("disk is full"));
    assert_eq!(e.ok(&["ls"]), "");
}
