//! Through the real binary: every dangerous name of the corpus is refused by
//! `add --name` and nothing is stored; a file whose own name is dangerous is
//! reported and skipped while the others of the same `add` are imported;
//! names that are only not portable are taken and kept.

mod common;
use common::*;

/// The messages of the dangerous class (`invalid document name: …`).
pub const DANGEROUS: [&str; 7] = [
    "the name is empty",
    "the name is longer than 255 bytes",
    "the name is not valid UTF-8",
    "the name is `.` or `..`",
    "the name contains a path separator",
    "the name contains a control character",
    "the name contains a bidirectional control character",
];

fn is_dangerous_reason(msg: &str) -> bool {
    msg.strip_prefix("invalid document name: ")
        .is_some_and(|m| DANGEROUS.contains(&m.trim_end()))
}

#[test]
fn add_refuses_every_hostile_name() {
    let e = Env::new();
    let corpus: Vec<String> =
        serde_json::from_str(include_str!("../../../testdata/hostile-names.json")).unwrap();
    let f = e.path("plain.txt");
    std::fs::write(&f, b"x").unwrap();
    for n in &corpus {
        if n.contains('\0') {
            // An argument cannot carry NUL; the core test covers it.
            continue;
        }
        let o = e
            .cmd(&["add", f.to_str().unwrap(), "--name"])
            .arg(n)
            .output()
            .unwrap();
        assert!(!o.status.success(), "accepted {n:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        let msg = err.strip_prefix("coffer: error: ").unwrap_or(&err);
        assert!(is_dangerous_reason(msg), "{n:?}: {err}");
        assert_eq!(err.lines().count(), 1);
    }
    assert_eq!(e.ok(&["ls"]), "");
    assert_eq!(std::fs::read_dir(e.vault.join("blobs")).unwrap().count(), 0);
}

/// The issue's own example: one refused file no longer fails the batch.
#[test]
fn one_refused_file_never_fails_the_batch() {
    let e = Env::new();
    let good = e.path("good.txt");
    std::fs::write(&good, b"good").unwrap();
    let colon = e.path("Meeting notes: 2026.pdf");
    std::fs::write(&colon, b"notes").unwrap();
    let bidi = e.path("invoice\u{202e}fdp.exe");
    std::fs::write(&bidi, b"x").unwrap();
    let newline = e.path("two\nlines.txt");
    std::fs::write(&newline, b"x").unwrap();
    let missing = e.path("missing.txt");
    let folder = e.path("a folder");
    std::fs::create_dir(&folder).unwrap();
    let o = e
        .cmd(&["add"])
        .args([&good, &bidi, &colon, &newline, &missing, &folder])
        .output()
        .unwrap();
    assert!(!o.status.success());
    let out = String::from_utf8(o.stdout).unwrap();
    let err = String::from_utf8(o.stderr).unwrap();
    assert_eq!(
        err,
        "coffer: error: 4 file(s) were refused (listed above); the others were added\n"
    );
    let mut added = Vec::new();
    let mut refused = Vec::new();
    for line in out.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        if f[0] == "REFUSED" {
            assert_eq!(f.len(), 3, "{line:?}");
            refused.push((f[1].to_owned(), f[2].to_owned()));
        } else {
            assert_eq!(f.len(), 2, "{line:?}");
            added.push((f[0].to_owned(), f[1].to_owned()));
        }
    }
    // Each refused file on its own line, its name escaped, with its reason.
    let shown = |p: &std::path::Path| p.to_str().unwrap().to_owned();
    assert_eq!(refused.len(), 4, "{out}");
    let bidi_shown = shown(&bidi).replace('\u{202e}', "\\u{202e}");
    let nl_shown = shown(&newline).replace('\n', "\\u{a}");
    for (path, why) in [
        (bidi_shown, "invalid_name: invalid document name: the name contains a bidirectional control character"),
        (nl_shown, "invalid_name: invalid document name: the name contains a control character"),
    ] {
        assert!(refused.contains(&(path.clone(), why.to_owned())), "{path:?} {refused:?}");
    }
    assert!(refused
        .iter()
        .any(|(p, why)| *p == shown(&missing) && why.starts_with("io: ")));
    assert!(refused
        .iter()
        .any(|(p, why)| *p == shown(&folder) && why.contains("only regular files")));
    // Every document printed is in the vault, under its exact name.
    let names: Vec<&str> = added.iter().map(|(_, n)| n.as_str()).collect();
    assert_eq!(names, ["good.txt", "Meeting notes: 2026.pdf"]);
    for (id, _) in &added {
        assert!(e.get(id).is_ok());
    }
    let ls = e.ok(&["ls"]);
    assert_eq!(ls.lines().count(), 2, "{ls}");
    assert!(ls.contains("Meeting notes: 2026.pdf"));
    let (ok, _) = e.verify_json();
    assert!(ok);
}

#[test]
fn a_file_whose_own_name_is_dangerous_is_refused_unless_renamed() {
    let e = Env::new();
    for bad in ["x\u{202e}fdp.exe", "bell\u{7}.txt", "line\u{2028}sep"] {
        let p = e.path(bad);
        std::fs::write(&p, b"x").unwrap();
        let o = e.run(&["add", p.to_str().unwrap()]);
        assert!(!o.status.success());
        let out = String::from_utf8(o.stdout).unwrap();
        assert!(out.starts_with("REFUSED\t"), "{out}");
        assert_eq!(out.lines().count(), 1, "{out}");
        let out = e.ok(&["add", p.to_str().unwrap(), "--name", "renamed.txt"]);
        assert!(out.ends_with("\trenamed.txt\n"));
    }
}

/// The names that used to be refused as not portable: taken as real files
/// in one `add`, listed, and exported under exactly those names.
#[test]
fn non_portable_names_are_taken_and_exported_exactly() {
    let e = Env::new();
    let corpus: Vec<String> =
        serde_json::from_str(include_str!("../../../testdata/non-portable-names.json")).unwrap();
    let src = e.path("src");
    std::fs::create_dir(&src).unwrap();
    let mut paths = Vec::new();
    for (i, n) in corpus.iter().enumerate() {
        let p = src.join(n);
        std::fs::write(&p, format!("body {i}")).unwrap();
        paths.push(p);
    }
    let o = e.cmd(&["add"]).args(&paths).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8(o.stdout).unwrap();
    assert_eq!(out.lines().count(), corpus.len());
    let dest = e.path("out");
    let out = e.ok(&["export", "--all", dest.to_str().unwrap()]);
    assert_eq!(out.lines().count(), corpus.len());
    for (i, n) in corpus.iter().enumerate() {
        let written = if n.starts_with('.') {
            format!("_{n}")
        } else {
            n.clone()
        };
        assert_eq!(
            std::fs::read(dest.join(&written)).unwrap(),
            format!("body {i}").into_bytes(),
            "{n:?}"
        );
    }
    assert_eq!(std::fs::read_dir(&dest).unwrap().count(), corpus.len());
}
