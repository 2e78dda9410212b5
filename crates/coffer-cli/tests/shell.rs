//! `coffer shell`: one unlock for several commands, each printing what the
//! single command prints; failures reported and passed over; locked at the
//! end of input, on `lock`, and after the idle delay; the same at a real
//! terminal (tmux).
#![allow(clippy::unwrap_used)] // a panic in a test is a failed test

mod common;
use common::*;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs `coffer shell ARGS` with `input` on standard input.
fn shell(e: &Env, args: &[&str], input: impl AsRef<[u8]>) -> std::process::Output {
    let mut a = vec!["shell"];
    a.extend_from_slice(args);
    let mut child = e
        .cmd(&a)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_ref())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// The audit log's events, in order.
fn events(e: &Env) -> Vec<String> {
    e.ok(&["log"])
        .lines()
        .map(|l| l.split('\t').nth(2).unwrap().to_owned())
        .collect()
}

#[test]
fn commands_print_as_alone_and_the_vault_is_unlocked_once() {
    let e = Env::new();
    let id = e.add_bytes("a.txt", b"first");
    let before = e.ok(&["ls"]);
    let f = e.path("c.txt");
    std::fs::write(&f, b"second one").unwrap();
    // (the log's own lock comes after what it shows)
    let events_before = events(&e).len() + 1;

    let input = format!(
        "ls\nadd {}\nls\nrename {id} b.txt\n\nverify\nlock\nls\n",
        f.display()
    );
    let o = shell(&e, &[], &input);
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        o.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    // Now, as single commands.
    let after = e.ok(&["ls"]);
    let new_id = after
        .lines()
        .find(|l| l.contains("\tc.txt\t"))
        .unwrap()
        .split('\t')
        .next()
        .unwrap()
        .to_owned();
    // What `ls` showed between the add and the rename: today's listing
    // with the old name (a.txt and b.txt sort alike before c.txt).
    let middle = after.replace("\tb.txt\t", "\ta.txt\t");
    let verify_line = e.ok(&["verify"]);
    let verify_prefix = &verify_line[..verify_line.find("audit chain intact").unwrap()];
    let mut rest = out.as_str();
    for want in [
        before.as_str(),
        &format!("{new_id}\tc.txt\n"),
        &middle,
        &format!("{id}\tb.txt\n"),
        verify_prefix,
    ] {
        assert!(
            rest.starts_with(want),
            "expected {want:?} at {rest:?}\nfull: {out}"
        );
        rest = &rest[want.len()..];
    }
    assert!(
        rest.starts_with("audit chain intact (") && rest.lines().count() == 1,
        "{out}"
    );

    // One unlock and one lock for the whole session, with the session's
    // writes between them; `ls` after `lock` was never run.
    let ev = events(&e);
    let new = &ev[events_before..];
    let end = new.iter().position(|x| x == "lock").unwrap();
    let session: Vec<&str> = new[..=end].iter().map(String::as_str).collect();
    assert_eq!(session, ["unlock", "add", "edit", "lock"], "{ev:?}");
}

#[test]
fn a_failed_command_is_reported_and_the_shell_goes_on() {
    let e = Env::new();
    let id = e.add_bytes("doc.txt", b"x");
    let o = shell(
        &e,
        &[],
        format!("rename 000000 x\nbogus\nls --sort colour\ninit\nls --vault /tmp\nadd 'unclosed\nrename {id} 'new name.txt'\nhelp\nls --help\n"),
    );
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8(o.stderr).unwrap();
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 7, "{err}");
    assert!(
        lines.iter().all(|l| l.starts_with("coffer: error: ")),
        "{err}"
    );
    assert!(
        lines[0].contains("no document")
            || lines[0].contains("not a document id")
            || lines[0].contains("not found"),
        "{err}"
    );
    assert!(
        lines[1].contains("bogus") && lines[2].contains("colour"),
        "{err}"
    );
    assert!(lines[3].contains("not a command of the shell"), "{err}");
    assert!(lines[4].contains("given to `coffer shell` itself"), "{err}");
    assert!(lines[5].contains("unmatched quote"), "{err}");
    assert!(lines[6].contains("6 command(s) failed"), "{err}");
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(out.starts_with(&format!("{id}\tnew name.txt\n")), "{out}");
    assert!(
        out.contains("rename ID NAME") && out.contains("--reverse"),
        "{out}"
    );
    assert_eq!(e.ok(&["ls"]).split('\t').nth(1), Some("new name.txt"));
}

#[test]
fn the_passphrase_may_come_first_on_standard_input() {
    let e = Env::new();
    e.add_bytes("doc.txt", b"x");
    let want = e.ok(&["ls"]);
    let run = |input: &str| {
        let mut child = Command::new(bin())
            .arg("--vault")
            .arg(&e.vault)
            .arg("shell")
            .env("XDG_STATE_HOME", state_home(&e.vault))
            .env_remove("COFFER_LOG")
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
        child.wait_with_output().unwrap()
    };
    let o = run(&format!("{PASS}\nls\nls\n"));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        String::from_utf8(o.stdout).unwrap(),
        format!("{want}{want}")
    );
    // A wrong passphrase runs nothing.
    let o = run("not the passphrase\nls\n");
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
    let o = run("");
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no secret on standard input"));
}

#[test]
fn it_locks_itself_after_the_idle_delay() {
    let e = Env::new();
    e.add_bytes("doc.txt", b"x");
    // 0.02 minutes: 1.2 s. Standard input stays open (the test holds it).
    let mut child = e
        .cmd(&["shell", "--auto-lock", "0.02"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"ls\n").unwrap();
    stdin.flush().unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the shell did not lock itself"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(start.elapsed() >= Duration::from_millis(1100));
    assert_eq!(status.code(), Some(2));
    drop(stdin);
    let o = child.wait_with_output().unwrap();
    assert!(String::from_utf8(o.stdout).unwrap().contains("\tdoc.txt\t"));
    let err = String::from_utf8(o.stderr).unwrap();
    assert_eq!(
        err,
        "coffer: error: locked after 1.2 seconds without input\n"
    );
    let ev = events(&e);
    // The shell's unlock and lock, then this log's unlock.
    assert_eq!(ev[ev.len() - 3..], ["unlock", "lock", "unlock"], "{ev:?}");
    // Zero, negative or absurd delays are refused.
    for bad in ["0", "-1", "nan", "inf", "100000"] {
        assert!(
            !e.run(&["shell", "--auto-lock", bad]).status.success(),
            "{bad}"
        );
    }
}

/// tmux on a private socket, ended when dropped.
struct Tmux {
    socket: std::path::PathBuf,
}

impl Tmux {
    fn cmd(&self) -> Command {
        let mut c = Command::new("tmux");
        c.arg("-S").arg(&self.socket);
        c
    }
    fn screen(&self) -> String {
        let o = self
            .cmd()
            .args(["capture-pane", "-p", "-t", "t"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    }
    fn wait_for(&self, what: &str) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if s.contains(what) {
                return s;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "waited for {what:?}; screen:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    fn keys(&self, keys: &[&str]) {
        assert!(self
            .cmd()
            .args(["send-keys", "-t", "t"])
            .args(keys)
            .status()
            .unwrap()
            .success());
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd().arg("kill-server").output();
    }
}

#[test]
fn at_a_terminal_it_asks_once_prompts_and_prints_tables() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("SKIPPED: tmux is not installed (scripts/test.sh installs it for CI)");
        return;
    }
    let e = Env::new();
    e.add_bytes("report.pdf", &pattern(5000, 3));
    let t = Tmux {
        socket: e.path("tmux.sock"),
    };
    // `remain-on-exit` keeps the last screen (and the exit status) after
    // the shell ends.
    let cmd = format!(
        "env TZ=UTC XDG_STATE_HOME={} {} --vault {} shell",
        state_home(&e.vault).display(),
        bin(),
        e.vault.display()
    );
    let ok = t
        .cmd()
        .args([
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-s",
            "t",
            "-x",
            "200",
            "-y",
            "50",
            &cmd,
            ";",
            "set-option",
            "-t",
            "t",
            "remain-on-exit",
            "on",
        ])
        .status()
        .unwrap();
    assert!(ok.success());
    t.wait_for("Passphrase:");
    t.keys(&[PASS, "Enter"]);
    t.wait_for("coffer>");
    let s = t.screen();
    assert!(!s.contains(PASS), "the passphrase was echoed:\n{s}");
    t.keys(&["ls", "Enter"]);
    let s = t.wait_for("4.9 KiB");
    assert!(s.contains("NAME") && s.contains("report.pdf"), "{s}");
    t.keys(&["rename nothing x", "Enter"]);
    t.wait_for("coffer: error:");
    t.keys(&["lock", "Enter"]);
    // The shell's last words (printed after the vault is locked); tmux's own
    // "Pane is dead" line is not shown by every version.
    let s = t.wait_for("the vault is locked");
    assert!(s.contains("1 command(s) failed"), "{s}");
    let ev = events(&e);
    assert_eq!(ev.iter().filter(|x| *x == "unlock").count(), 3, "{ev:?}"); // add, shell, this log
    assert_eq!(ev[ev.len() - 2], "lock", "{ev:?}");
}

/// A line that is not UTF-8 is a failed command, not the end of input: the
/// lines after it run, and the exit status says something failed.
#[test]
fn a_line_that_is_not_text_fails_and_the_shell_goes_on() {
    let e = Env::new();
    let f = e.path("after.txt");
    std::fs::write(&f, b"after").unwrap();
    let mut input = b"ls \xff\n".to_vec();
    input.extend_from_slice(format!("add {}\n", f.display()).as_bytes());
    let o = shell(&e, &[], input);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("not UTF-8"), "{err}");
    assert!(String::from_utf8_lossy(&o.stdout).ends_with("\tafter.txt\n"));
    assert!(e.ok(&["ls"]).contains("\tafter.txt\t"));
}
