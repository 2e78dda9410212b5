//! The trash from the command line: `coffer rm` moves a document there,
//! `coffer trash ls|restore|empty|retention` manage it, `coffer rm --now`
//! removes at once; all of it in `coffer shell` too.
#![allow(clippy::unwrap_used)] // a panic in a test is a failed test

mod common;
use common::*;
use std::io::Write;
use std::process::{Command, Stdio};

const DAY_MS: i64 = 86_400_000;

fn events(e: &Env) -> Vec<(String, String)> {
    e.ok(&["log"])
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[2].to_owned(), f[3].to_owned())
        })
        .collect()
}

fn trash_json(e: &Env) -> Vec<serde_json::Value> {
    let v: serde_json::Value = serde_json::from_str(&e.ok(&["trash", "ls", "--json"])).unwrap();
    v.as_array().unwrap().clone()
}

#[test]
fn rm_moves_to_the_trash_and_restore_brings_it_back() {
    let e = Env::new();
    let a = e.add_bytes("lease.pdf", b"terms");
    let b = e.add_bytes("scan.png", b"pixels");
    let o = e.run(&["rm", &a[..8]]);
    assert!(o.status.success());
    assert_eq!(
        String::from_utf8(o.stdout).unwrap(),
        format!("{a}\tlease.pdf\n")
    );
    let msg = String::from_utf8(o.stderr).unwrap();
    assert!(
        msg.contains("Moved to the trash") && msg.contains("after 30 days"),
        "{msg}"
    );
    // Out of listings, search and exports; refused by get with its reason.
    let ls = e.ok(&["ls"]);
    assert!(!ls.contains(&a) && ls.contains(&b), "{ls}");
    assert_eq!(e.ok(&["ls", "lease"]), "");
    let err = e.get(&a).unwrap_err();
    assert!(err.contains("is in the trash"), "{err}");
    let all = e.path("all");
    e.ok(&["export", "--all", all.to_str().unwrap()]);
    assert!(!all.join("lease.pdf").exists() && all.join("scan.png").exists());
    assert!(e.blob(&a).exists(), "still encrypted on disk");
    // Listed in the trash: id, name, bytes, when trashed, when purged.
    let line = e.ok(&["trash", "ls"]);
    let f: Vec<&str> = line.trim_end().split('\t').collect();
    assert_eq!(&f[..3], [a.as_str(), "lease.pdf", "5"]);
    let j = trash_json(&e);
    assert_eq!(j.len(), 1);
    let (t, p) = (
        j[0]["trashed_ms"].as_i64().unwrap(),
        j[0]["purge_at_ms"].as_i64().unwrap(),
    );
    assert_eq!(p - t, 30 * DAY_MS);
    assert_eq!(f[3], j[0]["trashed"].as_str().unwrap());
    assert_eq!(f[4], j[0]["purge_at"].as_str().unwrap());
    assert!(
        e.ok(&["verify"])
            .starts_with("ok: 2 documents (1 in the trash), "),
        "verify names the trash"
    );
    let v = e.verify_json().1;
    assert_eq!(
        (v["documents_checked"].as_u64(), v["trashed"].as_u64()),
        (Some(2), Some(1))
    );
    // Restore: back in the listing, readable.
    assert_eq!(e.ok(&["trash", "restore", &a]), format!("{a}\tlease.pdf\n"));
    assert_eq!(e.get(&a).unwrap(), b"terms");
    assert_eq!(e.ok(&["trash", "ls"]), "");
    let err = e.fails(&["trash", "restore", &a]);
    assert!(err.contains("is not in the trash"), "{err}");
    let ev = events(&e);
    assert!(ev.contains(&("trash".into(), format!("id={a}"))), "{ev:?}");
    assert!(
        ev.contains(&("restore".into(), format!("id={a}"))),
        "{ev:?}"
    );
    e.ok(&["verify"]);
}

#[test]
fn empty_asks_refuses_without_a_terminal_and_rm_now_skips_the_trash() {
    let e = Env::new();
    let a = e.add_bytes("a.txt", b"a");
    let b = e.add_bytes("b.txt", b"b");
    let c = e.add_bytes("c.txt", b"c");
    e.ok(&["rm", &a]);
    e.ok(&["rm", &b]);
    // Piped (here: no) standard input and no --yes: refused, nothing purged.
    let err = e.fails(&["trash", "empty"]);
    assert!(err.contains("--yes"), "{err}");
    let mut child = e
        .cmd(&["trash", "empty"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"y\n").unwrap();
    assert!(!child.wait_with_output().unwrap().status.success());
    assert_eq!(trash_json(&e).len(), 2);
    assert!(e.blob(&a).exists());
    let o = e.run(&["trash", "empty", "--yes"]);
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("Removed 2 documents for good"));
    assert!(!e.blob(&a).exists() && !e.blob(&b).exists());
    assert!(trash_json(&e).is_empty());
    let ev = events(&e);
    let i = ev
        .iter()
        .position(|x| x == &("empty_trash".to_owned(), "count=2".to_owned()))
        .unwrap();
    let mut deleted: Vec<&str> = ev[i + 1..i + 3].iter().map(|x| x.1.as_str()).collect();
    deleted.sort();
    let mut want = [format!("id={a}"), format!("id={b}")];
    want.sort();
    assert_eq!(deleted, want);
    // rm --now: gone at once, never in the trash.
    e.ok(&["rm", "--now", &c]);
    assert!(!e.blob(&c).exists());
    assert!(trash_json(&e).is_empty());
    assert!(events(&e).contains(&("delete".into(), format!("id={c}"))));
    assert!(!events(&e).contains(&("trash".into(), format!("id={c}"))));
    e.ok(&["verify"]);
}

#[test]
fn retention_is_shown_set_and_bounded() {
    let e = Env::new();
    let a = e.add_bytes("a.txt", b"a");
    assert_eq!(e.ok(&["trash", "retention"]), "30\n");
    e.ok(&["trash", "retention", "7"]);
    assert_eq!(e.ok(&["trash", "retention"]), "7\n");
    e.ok(&["rm", &a]);
    let j = trash_json(&e);
    assert_eq!(
        j[0]["purge_at_ms"].as_i64().unwrap() - j[0]["trashed_ms"].as_i64().unwrap(),
        7 * DAY_MS
    );
    e.ok(&["trash", "retention", "0"]);
    assert!(e.ok(&["trash", "ls"]).trim_end().ends_with("\tnever"));
    assert!(trash_json(&e)[0]["purge_at"].is_null());
    let err = e.fails(&["trash", "retention", "36501"]);
    assert!(err.contains("36500"), "{err}");
    let ev = events(&e);
    assert!(ev.contains(&("trash_retention".into(), "days=7".into())));
    assert!(ev.contains(&("trash_retention".into(), "days=0".into())));
    e.ok(&["verify"]);
}

/// `coffer ARGS` with a pseudo-terminal (util-linux `script`) as standard
/// input and output, fed `input`. Returns the status and what it showed.
fn on_terminal(e: &Env, args: &str, input: &[u8]) -> Option<(bool, String)> {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("SKIPPED: util-linux `script` is not installed (scripts/test.sh installs it)");
        return None;
    }
    let cmd = format!(
        "{} --vault {} --passphrase-file {} {args}",
        bin(),
        e.vault.display(),
        e.pass_file.display()
    );
    let mut child = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env("TZ", "UTC")
        .env("XDG_STATE_HOME", state_home(&e.vault))
        .env_remove("COFFER_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input).unwrap();
    // Kept open until the command ends: `script` ends its session when its
    // input does.
    let o = child.wait_with_output().unwrap();
    drop(stdin);
    Some((
        o.status.success(),
        String::from_utf8(o.stdout).unwrap().replace('\r', ""),
    ))
}

#[test]
fn on_a_terminal_trash_ls_is_a_table_and_empty_asks_first() {
    let e = Env::new();
    let a = e.add_bytes("lease.pdf", b"terms");
    e.ok(&["rm", &a]);
    let Some((ok, table)) = on_terminal(&e, "trash ls", b"") else {
        return;
    };
    assert!(ok, "{table}");
    let mut lines = table.lines();
    let head = lines.next().unwrap();
    for col in ["ID", "NAME", "SIZE", "TRASHED", "PURGED"] {
        assert!(head.contains(col), "{table}");
    }
    let j = &trash_json(&e)[0];
    let day = |k: &str| j[k].as_str().unwrap()[..10].to_owned();
    let row = lines.next().unwrap();
    assert!(
        row.starts_with(&a[..12])
            && row.contains("lease.pdf")
            && row.contains(&day("trashed"))
            && row.contains(&day("purge_at")),
        "{table}"
    );
    // Asked, and "n" keeps the trash.
    let (ok, shown) = on_terminal(&e, "trash empty", b"n\n").unwrap();
    assert!(
        !ok && shown.contains("Remove the 1 document in the trash for good? [y/N]"),
        "{shown}"
    );
    assert!(e.blob(&a).exists());
    let (ok, shown) = on_terminal(&e, "trash empty", b"y\n").unwrap();
    assert!(ok, "{shown}");
    assert!(!e.blob(&a).exists());
}

#[test]
fn the_shell_has_the_trash_and_never_empties_it_without_yes() {
    let e = Env::new();
    let a = e.add_bytes("a.txt", b"a");
    let input = format!(
        "rm {a}\ntrash ls\ntrash empty\ntrash restore {a}\nrm {a}\ntrash empty --yes\ntrash retention\n"
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
    let (out, err) = (
        String::from_utf8(o.stdout).unwrap(),
        String::from_utf8(o.stderr).unwrap(),
    );
    // One failure: the empty without --yes.
    assert!(!o.status.success());
    assert!(
        err.contains("1 command(s) failed") && err.contains("--yes"),
        "{err}"
    );
    assert!(
        out.starts_with(&format!("{a}\ta.txt\n{a}\ta.txt\t1\t")),
        "{out}"
    );
    assert!(out.ends_with("30\n"), "{out}");
    assert!(!e.blob(&a).exists());
    let ev: Vec<String> = events(&e).into_iter().map(|x| x.0).collect();
    let i = ev.iter().position(|x| x == "trash").unwrap();
    assert_eq!(
        ev[i..i + 6],
        ["trash", "restore", "trash", "empty_trash", "delete", "lock"]
    );
}
