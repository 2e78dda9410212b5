//! `coffer share`: a document as a standard age file, opened by Debian's
//! `age` (with keys it and the age crate make, and with a passphrase typed at
//! a pseudo-terminal), never by a stranger; memory flat in the document's
//! size; written where `get --out` would write and refused where it would
//! refuse; audited and logged without names or recipients; every bad
//! recipient refused without being repeated.
#![allow(clippy::unwrap_used)] // a panic in a test is a failed test

mod common;
use common::*;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Debian's `age`: installed here if missing (CI runs as root;
/// scripts/test.sh installs it too). These tests are the interop claim, so
/// they fail rather than skip without it.
fn need_age() {
    if Command::new("age").arg("--version").output().is_ok() {
        return;
    }
    let _ = Command::new("apt-get")
        .args(["install", "-y", "-qq", "age"])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status();
    assert!(
        Command::new("age").arg("--version").output().is_ok(),
        "Debian's `age` is missing and could not be installed (apt-get install age)"
    );
}

/// A key pair made by `age-keygen`: (identity file, public key).
fn keygen(e: &Env, name: &str) -> (PathBuf, String) {
    let key = e.path(name);
    let o = Command::new("age-keygen")
        .arg("-o")
        .arg(&key)
        .output()
        .unwrap();
    assert!(o.status.success());
    let o = Command::new("age-keygen")
        .arg("-y")
        .arg(&key)
        .output()
        .unwrap();
    (key, String::from_utf8(o.stdout).unwrap().trim().to_owned())
}

/// A key pair made by the age crate, its identity written as a key file.
fn crate_key(e: &Env, name: &str) -> (PathBuf, String) {
    use age::secrecy::ExposeSecret;
    let id = age::x25519::Identity::generate();
    let key = e.path(name);
    std::fs::write(&key, format!("{}\n", id.to_string().expose_secret())).unwrap();
    (key, id.to_public().to_string())
}

/// `age -d -i KEY FILE`: the plaintext, or age's error.
fn age_open(key: &Path, file: &Path) -> Result<Vec<u8>, String> {
    let o = Command::new("age")
        .arg("-d")
        .arg("-i")
        .arg(key)
        .arg(file)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    if o.status.success() {
        Ok(o.stdout)
    } else {
        Err(String::from_utf8_lossy(&o.stderr).into_owned())
    }
}

fn share(e: &Env, id: &str, to: &[&str], out: &Path) -> std::process::Output {
    let mut a = vec!["share", id];
    for r in to {
        a.extend(["--to", r]);
    }
    a.extend(["--out", out.to_str().unwrap()]);
    e.run(&a)
}

#[test]
fn shares_open_with_debians_age_for_each_recipient_and_for_no_stranger() {
    need_age();
    let e = Env::new();
    let (k1, r1) = keygen(&e, "k1");
    let (k2, r2) = keygen(&e, "k2");
    let (k3, r3) = crate_key(&e, "k3");
    let (stranger, _) = keygen(&e, "stranger");
    for n in [0, 1, CHUNK, CHUNK + 1, 5 * CHUNK + 17] {
        let data = pattern(n, 3);
        let id = e.add_bytes(&format!("doc{n}.bin"), &data);
        let out = e.path(&format!("doc{n}.age"));
        let o = share(&e, &id[..8], &[&r1, &r2, &r3], &out);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert!(o.stdout.is_empty());
        for k in [&k1, &k2, &k3] {
            assert_eq!(age_open(k, &out).unwrap(), data, "n={n}");
        }
        let err = age_open(&stranger, &out).unwrap_err();
        assert!(err.contains("no identity matched"), "{err}");
        // The file is the user's to send: mode 0600 like a `get`.
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    // One recipient alone, a crate-made key: only it opens the file.
    let id = e.add_bytes("solo.txt", b"for k3 only");
    let out = e.path("solo.age");
    assert!(share(&e, &id, &[&r3], &out).status.success());
    assert_eq!(age_open(&k3, &out).unwrap(), b"for k3 only");
    assert!(age_open(&k1, &out).is_err());
}

/// A command run under `script` (a pseudo-terminal): what it printed so
/// far, and lines typed once a prompt is shown.
struct Terminal {
    child: std::process::Child,
    input: std::process::ChildStdin,
    screen: Arc<Mutex<Vec<u8>>>,
}

impl Terminal {
    fn start(command: &str, dir: &Path) -> Terminal {
        let mut child = Command::new("script")
            .args(["-qefc", command, "/dev/null"])
            .current_dir(dir)
            .env("XDG_STATE_HOME", dir.join("state"))
            .env_remove("COFFER_LOG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let input = child.stdin.take().unwrap();
        let mut out = child.stdout.take().unwrap();
        let screen = Arc::new(Mutex::new(Vec::new()));
        let s = screen.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = out.read(&mut buf) {
                if n == 0 {
                    break;
                }
                s.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Terminal {
            child,
            input,
            screen,
        }
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.screen.lock().unwrap()).into_owned()
    }

    /// Waits until `prompt` has been shown `times` times, then types `line`.
    fn answer(&mut self, prompt: &str, times: usize, line: &str) {
        let start = Instant::now();
        while self.screen().matches(prompt).count() < times {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "no prompt {prompt:?}: {}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        // The prompt is written just before echo is turned off.
        std::thread::sleep(Duration::from_millis(200));
        self.input
            .write_all(format!("{line}\n").as_bytes())
            .unwrap();
        self.input.flush().unwrap();
    }

    fn finish(mut self) -> (bool, String) {
        let status = self.child.wait().unwrap();
        std::thread::sleep(Duration::from_millis(50));
        (status.success(), self.screen())
    }
}

fn sh_quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', "'\\''"))
}

#[test]
fn a_passphrase_share_opens_with_age_at_a_terminal_and_with_the_age_crate() {
    need_age();
    let e = Env::new();
    let data = pattern(3 * CHUNK + 5, 9);
    let id = e.add_bytes("p.bin", &data);
    let pass = "Bob's share passphrase 42";
    let pf = e.path("share-pass");
    std::fs::write(&pf, format!("{pass}\n")).unwrap();
    let out = e.path("p.age");
    e.ok(&[
        "share",
        &id,
        "--share-passphrase-file",
        pf.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    // The age crate.
    let ident = age::scrypt::Identity::new(age::secrecy::SecretString::from(pass.to_owned()));
    let d = age::Decryptor::new(std::fs::File::open(&out).unwrap()).unwrap();
    assert!(d.is_scrypt());
    let mut got = Vec::new();
    d.decrypt(std::iter::once(&ident as &dyn age::Identity))
        .unwrap()
        .read_to_end(&mut got)
        .unwrap();
    assert_eq!(got, data);
    // Debian's age, the passphrase typed at its prompt.
    let plain = e.path("p.out");
    let mut t = Terminal::start(
        &format!("age -d -o {} {}", sh_quote(&plain), sh_quote(&out)),
        e.tmp.path(),
    );
    t.answer("Enter passphrase", 1, pass);
    let (ok, screen) = t.finish();
    assert!(ok, "{screen}");
    assert_eq!(std::fs::read(&plain).unwrap(), data);
    // A wrong passphrase opens nothing.
    let plain2 = e.path("p2.out");
    let mut t = Terminal::start(
        &format!("age -d -o {} {}", sh_quote(&plain2), sh_quote(&out)),
        e.tmp.path(),
    );
    t.answer("Enter passphrase", 1, "not Bob's passphrase");
    let (ok, screen) = t.finish();
    assert!(!ok, "{screen}");
    assert!(std::fs::read(&plain2).map_or(true, |b| b.is_empty()));
}

#[test]
fn the_share_passphrase_is_asked_twice_at_a_terminal_and_never_echoed() {
    need_age();
    let e = Env::new();
    let id = e.add_bytes("t.txt", b"typed at a terminal");
    let pass = "Typed-Share-Secret-7731";
    let run = |first: &str, second: &str, out: &Path| {
        let cmd = format!(
            "{} --vault {} --passphrase-file {} share {id} --passphrase --out {}",
            sh_quote(Path::new(bin())),
            sh_quote(&e.vault),
            sh_quote(&e.pass_file),
            sh_quote(out)
        );
        let mut t = Terminal::start(&cmd, e.tmp.path());
        t.answer("Share passphrase: ", 1, first);
        t.answer("Share passphrase (again): ", 1, second);
        t.finish()
    };
    let out = e.path("t.age");
    let (ok, screen) = run(pass, pass, &out);
    assert!(ok, "{screen}");
    assert!(!screen.contains("Typed-Share"), "echoed: {screen}");
    let pf = e.path("typed");
    std::fs::write(&pf, pass).unwrap();
    let ident = age::scrypt::Identity::new(age::secrecy::SecretString::from(pass.to_owned()));
    let d = age::Decryptor::new(std::fs::File::open(&out).unwrap()).unwrap();
    let mut got = Vec::new();
    d.decrypt(std::iter::once(&ident as &dyn age::Identity))
        .unwrap()
        .read_to_end(&mut got)
        .unwrap();
    assert_eq!(got, b"typed at a terminal");
    // Two different entries: nothing written.
    let out2 = e.path("t2.age");
    let (ok, screen) = run(pass, "Typed-Share-Secret-7732", &out2);
    assert!(!ok);
    assert!(screen.contains("the two entries differ"), "{screen}");
    assert!(!out2.exists());
}

#[test]
fn share_passphrases_that_are_short_or_the_vaults_are_refused() {
    let e = Env::new();
    let id = e.add_bytes("x.txt", b"x");
    let out = e.path("x.age");
    let rk = e.recovery_key.clone();
    for (p, msg) in [
        ("short", "too short"),
        (PASS, "this vault's passphrase"),
        // The attack: the recovery key as a share passphrase.
        (rk.as_str(), "is a recovery key"),
    ] {
        let pf = e.path("sp");
        std::fs::write(&pf, format!("{p}\n")).unwrap();
        let err = e.fails(&[
            "share",
            &id,
            "--share-passphrase-file",
            pf.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(err.contains(msg), "{err}");
        assert!(!out.exists());
    }
    // From standard input, after the vault's passphrase.
    let stdin_pass = e.path("both");
    std::fs::write(&stdin_pass, format!("{PASS}\nfrom standard input\n")).unwrap();
    let o = Command::new(bin())
        .args(["--vault", e.vault.to_str().unwrap()])
        .args(["share", &id, "--passphrase", "--out", out.to_str().unwrap()])
        .env("XDG_STATE_HOME", state_home(&e.vault))
        .stdin(std::fs::File::open(&stdin_pass).unwrap())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let ident = age::scrypt::Identity::new(age::secrecy::SecretString::from(
        "from standard input".to_owned(),
    ));
    let d = age::Decryptor::new(std::fs::File::open(&out).unwrap()).unwrap();
    let mut got = Vec::new();
    d.decrypt(std::iter::once(&ident as &dyn age::Identity))
        .unwrap()
        .read_to_end(&mut got)
        .unwrap();
    assert_eq!(got, b"x");
}

/// Peak resident memory of `coffer ARGS`, in KiB (`/usr/bin/time -f %M`).
fn peak_kib(e: &Env, args: &[&str]) -> u64 {
    let o = Command::new("/usr/bin/time")
        .args(["-f", "%M"])
        .arg(bin())
        .arg("--vault")
        .arg(&e.vault)
        .arg("--passphrase-file")
        .arg(&e.pass_file)
        .args(args)
        .env("XDG_STATE_HOME", state_home(&e.vault))
        .env_remove("COFFER_LOG")
        .stdin(Stdio::null())
        .output()
        .expect("/usr/bin/time (package `time`; scripts/test.sh installs it)");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let err = String::from_utf8(o.stderr).unwrap();
    err.lines().last().unwrap().trim().parse().unwrap()
}

#[test]
fn sharing_256_mib_takes_no_more_memory_than_sharing_1_kib() {
    need_age();
    let e = Env::new();
    let (key, r) = keygen(&e, "k");
    let small = e.add_bytes("small.bin", &pattern(1024, 1));
    let big_file = e.path("big.bin");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&big_file).unwrap());
        let block = pattern(1 << 20, 2);
        for _ in 0..256 {
            f.write_all(&block).unwrap();
        }
    }
    let out = e.ok(&["add", big_file.to_str().unwrap()]);
    let big = out.split('\t').next().unwrap().to_owned();
    std::fs::remove_file(&big_file).unwrap();
    let so = e.path("small.age");
    let bo = e.path("big.age");
    let s = peak_kib(
        &e,
        &["share", &small, "--to", &r, "--out", so.to_str().unwrap()],
    );
    let b = peak_kib(
        &e,
        &["share", &big, "--to", &r, "--out", bo.to_str().unwrap()],
    );
    assert!(
        b <= s + 8 * 1024,
        "sharing 256 MiB peaked at {b} KiB, 1 KiB at {s} KiB"
    );
    // The big file is whole: opened by age, its size and its last MiB.
    let plain = e.path("big.out");
    let o = Command::new("age")
        .arg("-d")
        .arg("-i")
        .arg(&key)
        .arg("-o")
        .arg(&plain)
        .arg(&bo)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut f = std::fs::File::open(&plain).unwrap();
    assert_eq!(f.metadata().unwrap().len(), 256 << 20);
    use std::io::Seek;
    f.seek(std::io::SeekFrom::End(-(1 << 20))).unwrap();
    let mut last = Vec::new();
    f.read_to_end(&mut last).unwrap();
    assert!(last == pattern(1 << 20, 2), "the big share's end differs");
}

/// The outcome of `coffer ARGS` as a comparable value: success, or the
/// error line with the document id and the command's own words removed.
fn outcome(o: &std::process::Output) -> Result<(), String> {
    if o.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&o.stderr).trim().to_owned())
    }
}

#[test]
fn hostile_destinations_are_refused_as_get_refuses_them() {
    let e = Env::new();
    let (_, r) = crate_key(&e, "k");
    let id = e.add_bytes("doc.txt", b"shared contents");
    let victim = e.path("victim");
    std::fs::write(&victim, b"keep me").unwrap();
    let sub = e.path("sub");
    std::fs::create_dir(&sub).unwrap();
    let link = sub.join("link.age");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    let dangling = sub.join("dangling.age");
    std::os::unix::fs::symlink(e.path("planted"), &dangling).unwrap();
    let existing = sub.join("existing.age");
    std::fs::write(&existing, b"old").unwrap();
    let cases: Vec<(PathBuf, bool)> = vec![
        (link.clone(), false),
        (dangling.clone(), false),
        (existing.clone(), false),
        (sub.join(".."), false),
        (sub.join("..").join("sub"), false),
        (PathBuf::from("/"), false),
        (sub.clone(), true),
        (sub.join("missing").join("x.age"), false),
        (sub.join("..").join("through-dotdot.age"), false),
    ];
    for (out, force) in &cases {
        let mut s = vec!["share", &id, "--to", &r, "--out", out.to_str().unwrap()];
        let mut g = vec!["get", &id, "--out", out.to_str().unwrap()];
        if *force {
            s.push("--force");
            g.push("--force");
        }
        let shared = outcome(&e.run(&s));
        if shared.is_ok() {
            // Remove the share so that `get` meets the same destination.
            std::fs::remove_file(out).unwrap();
        }
        let got = outcome(&e.run(&g));
        assert_eq!(shared, got, "{out:?}");
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep me");
        assert!(!e.path("planted").exists());
        assert_eq!(std::fs::read(&existing).unwrap(), b"old");
    }
    // `..` before the name is the user's path: it names the parent folder.
    assert!(e.path("through-dotdot.age").exists());
    // With --force, a symlink is replaced, never followed.
    e.ok(&[
        "share",
        &id,
        "--to",
        &r,
        "--out",
        link.to_str().unwrap(),
        "--force",
    ]);
    assert_eq!(std::fs::read(&victim).unwrap(), b"keep me");
    assert!(!std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(std::fs::read(&link)
        .unwrap()
        .starts_with(b"age-encryption.org/v1\n"));
    assert!(no_temp_files_in(&sub));
}

#[test]
fn a_tampered_document_is_not_shared_and_leaves_nothing() {
    let e = Env::new();
    let (_, r) = crate_key(&e, "k");
    let id = e.add_bytes("t.bin", &pattern(4 * CHUNK, 5));
    let blob = e.blob(&id);
    let mut b = std::fs::read(&blob).unwrap();
    let n = b.len();
    b[n - 100] ^= 0x40;
    std::fs::write(&blob, &b).unwrap();
    let out = e.path("t.age");
    let err = e.fails(&["share", &id, "--to", &r, "--out", out.to_str().unwrap()]);
    assert!(err.contains("corrupt or was tampered with"), "{err}");
    assert!(!out.exists());
    assert!(no_temp_files_in(e.tmp.path()));
    assert!(!e.ok(&["log"]).contains("\tshare\t"));
}

#[test]
fn the_audit_log_records_the_id_and_count_and_logs_hold_no_name_or_recipient() {
    let e = Env::new();
    let name = "Qwv-Adoption-Papers-8812.pdf";
    let id = e.add_bytes(name, b"SHARE-PLAINTEXT-SENTINEL");
    let (_, r1) = crate_key(&e, "k1");
    let (_, r2) = crate_key(&e, "k2");
    let pf = e.path("sp");
    let share_pass = "share passphrase sentinel";
    std::fs::write(&pf, format!("{share_pass}\n")).unwrap();
    let mut stderr = String::new();
    for args in [
        vec!["share", &id, "--to", &r1, "--to", &r2, "--out", "a.age"],
        vec![
            "share",
            &id,
            "--share-passphrase-file",
            pf.to_str().unwrap(),
            "--out",
            "b.age",
        ],
        vec!["share", &id, "--to", &r1, "--to", &r1, "--out", "c.age"],
    ] {
        let o = e
            .cmd(&args)
            .current_dir(e.tmp.path())
            .env("COFFER_LOG", "trace")
            .output()
            .unwrap();
        stderr.push_str(&String::from_utf8_lossy(&o.stderr));
    }
    assert!(
        stderr.contains("document shared"),
        "no logs captured:\n{stderr}"
    );
    let log = e.ok(&["log", "--verify"]);
    let shares: Vec<&str> = log
        .lines()
        .filter(|l| l.split('\t').nth(2) == Some("share"))
        .map(|l| l.split('\t').nth(3).unwrap())
        .collect();
    assert_eq!(
        shares,
        [
            format!("id={id} to=x25519 count=2"),
            format!("id={id} to=passphrase")
        ]
    );
    for secret in [
        "Qwv",
        "Adoption",
        "SHARE-PLAINTEXT",
        &r1[4..],
        &r2[4..],
        share_pass,
        PASS,
    ] {
        assert!(
            !stderr.contains(secret),
            "logs leaked {secret:?}:\n{stderr}"
        );
        assert!(!log.contains(secret), "audit log leaked {secret:?}");
    }
}

#[test]
fn bad_recipients_are_refused_by_position_without_repeating_them() {
    let e = Env::new();
    let id = e.add_bytes("r.txt", b"r");
    let (_, good) = crate_key(&e, "k");
    let secret = "AGE-SECRET-KEY-1GQ9778VQXMMJVE8SK7J6VT8UJ4HDQAJUVSFCWCM02D8GEWQ72PVQ2Y5J33";
    let ssh = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHsKLqeplhpW+uObz5dvMgjz1OxfM/XXUB+VHtZ6isGN";
    let plugin = "age1yubikey1qwt50d05nh5vutpdzmlg5wn80xq5negm4uj9ghv0snvdd3yysf5yw3rhl3t";
    let zero = "age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq5cu47z";
    let broken = format!(
        "{}{}",
        &good[..61],
        if good.ends_with('q') { 'p' } else { 'q' }
    );
    let spaced = format!("{good}\n");
    let upper = good.to_uppercase();
    let many: Vec<String> = (0..21).map(|_| crate_key(&e, "m").1).collect();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec![&good, secret], "recipient 2 is an age secret key"),
        (vec![ssh], "recipient 1 is an SSH key"),
        (vec![plugin], "recipient 1 is an age plugin recipient"),
        (vec![zero], "recipient 1 is not a usable age public key"),
        (vec![&broken], "recipient 1 is not a valid age public key"),
        (vec![&upper], "recipient 1 is not a valid age public key"),
        (vec![&spaced], "recipient 1 holds a space"),
        (vec![&good, &good], "recipient 2 repeats recipient 1"),
        (
            many.iter().map(String::as_str).collect(),
            "too many recipients: at most 20",
        ),
    ];
    let out = e.path("r.age");
    for (to, msg) in cases {
        let o = share(&e, &id, &to, &out);
        assert!(!o.status.success());
        let err = String::from_utf8(o.stderr).unwrap();
        assert!(err.contains(msg), "{msg}: {err}");
        for r in &to {
            assert!(!err.contains(&r[5..r.len().min(30)]), "repeated: {err}");
        }
        assert!(!out.exists());
    }
    assert!(!e.ok(&["log"]).contains("\tshare\t"));
    // Neither --to nor --passphrase; both.
    let err = e.fails(&["share", &id, "--out", out.to_str().unwrap()]);
    assert!(err.contains("--to RECIPIENT"), "{err}");
    let o = e.run(&["share", &id, "--to", &good, "--passphrase", "--out", "x"]);
    assert!(!o.status.success());
}

#[test]
fn share_runs_in_coffer_shell_with_a_passphrase_from_a_file_only() {
    need_age();
    let e = Env::new();
    let id = e.add_bytes("s.txt", b"from the shell");
    let (k, r) = keygen(&e, "k");
    let a = e.path("a.age");
    let b = e.path("b.age");
    let pf = e.path("sp");
    std::fs::write(&pf, "a passphrase in a file\n").unwrap();
    let input = format!(
        "share {id} --to {r} --out {}\nshare {id} --passphrase --out {}\nshare {id} --share-passphrase-file {} --out {}\n",
        a.display(),
        e.path("never.age").display(),
        pf.display(),
        b.display()
    );
    let mut child = e
        .cmd(&["shell"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8(o.stderr).unwrap();
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 2, "{err}");
    assert!(err.contains("a secret comes from a file"), "{err}");
    assert_eq!(age_open(&k, &a).unwrap(), b"from the shell");
    assert!(!e.path("never.age").exists());
    let ident = age::scrypt::Identity::new(age::secrecy::SecretString::from(
        "a passphrase in a file".to_owned(),
    ));
    let d = age::Decryptor::new(std::fs::File::open(&b).unwrap()).unwrap();
    let mut got = Vec::new();
    d.decrypt(std::iter::once(&ident as &dyn age::Identity))
        .unwrap()
        .read_to_end(&mut got)
        .unwrap();
    assert_eq!(got, b"from the shell");
}
