//! Names no one here wrote, through the real binary.
//!
//! - `testdata/blns.json`: the Big List of Naughty Strings (MIT, see
//!   `testdata/blns.LICENSE`). Every string goes through `add --name`, and,
//!   where Linux allows it as a file name, as a real file in one `add`:
//!   each is stored and exported as exactly one file in the export folder
//!   (under that very name unless the export reports a mapping), or refused
//!   with a reason of the dangerous class. Nothing panics; `verify` passes.
//! - `testdata/real-life-names.json`: names people give files (colons in
//!   times, quotes, `?`, `%`, `*`, `<>`, `|`, emoji, CJK, right-to-left text,
//!   trailing dots and spaces, device names, `-rf`): every one round-trips
//!   byte for byte on Linux.
#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

mod common;
use common::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// The messages of the dangerous class (`invalid document name: …`).
const DANGEROUS: [&str; 7] = [
    "the name is empty",
    "the name is longer than 255 bytes",
    "the name is not valid UTF-8",
    "the name is `.` or `..`",
    "the name contains a path separator",
    "the name contains a control character",
    "the name contains a bidirectional control character",
];

fn blns() -> Vec<String> {
    serde_json::from_str(include_str!("../../../testdata/blns.json"))
        .expect("blns.json is a JSON array of strings")
}

fn real_life() -> Vec<String> {
    serde_json::from_str(include_str!("../../../testdata/real-life-names.json"))
        .expect("real-life-names.json is a JSON array of strings")
}

/// Whether Linux takes `s` as one file name.
fn linux_file_name(s: &str) -> bool {
    !s.is_empty() && !s.contains(['/', '\0']) && s.len() <= 255 && s != "." && s != ".."
}

/// The reason after `invalid document name: `, checked to be dangerous.
fn assert_dangerous(msg: &str, what: &str) {
    let m = msg
        .strip_prefix("invalid document name: ")
        .unwrap_or_else(|| panic!("{what}: not a name refusal: {msg:?}"));
    assert!(DANGEROUS.contains(&m.trim_end()), "{what}: {msg:?}");
}

/// Runs `export --all` into a new folder and checks every line: one file
/// directly in the folder per stored document, named exactly as stored
/// unless the line reports the mapping (a leading dot, a clash), with the
/// contents of `bodies`. Returns the names written.
fn export_and_check(e: &Env, stored: &BTreeMap<String, (String, Vec<u8>)>) -> BTreeSet<String> {
    let dest = e.path("export");
    let out = e.ok(&["export", "--all", dest.to_str().unwrap()]);
    let mut written = BTreeSet::new();
    for line in out.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let (name, body) = &stored[f[0]];
        let path = PathBuf::from(f[1]);
        assert_eq!(path.parent(), Some(dest.as_path()), "{line:?}");
        let file = path.file_name().unwrap().to_str().unwrap().to_owned();
        match f.len() {
            2 => assert_eq!(&file, name, "{line:?}"),
            5 => {
                assert_eq!(f[2], "RENAMED", "{line:?}");
                let codes = f[4].split(':').next().unwrap();
                for c in codes.split(',') {
                    assert!(c == "leading_dot" || c == "numbered", "{line:?}");
                }
                if codes.contains("leading_dot") {
                    assert!(name.starts_with('.'), "{line:?}");
                    assert!(file.starts_with('_'), "{line:?}");
                }
                if codes == "leading_dot" {
                    assert_eq!(file, format!("_{name}"));
                }
            }
            _ => panic!("unexpected export line {line:?}"),
        }
        assert!(!file.starts_with('.'), "{line:?}");
        assert_eq!(&std::fs::read(&path).unwrap(), body, "{line:?}");
        assert!(written.insert(file), "{line:?}");
    }
    assert_eq!(written.len(), stored.len());
    assert_eq!(std::fs::read_dir(&dest).unwrap().count(), stored.len());
    written
}

fn verify_ok(e: &Env) {
    let (ok, v) = e.verify_json();
    assert!(ok, "{v}");
}

/// One `add` of many files: parses its lines into what was stored and what
/// was refused (by path), checking the exit status matches.
/// Pairs of strings: `(id, name)` or `(shown path, reason)`.
type Lines = Vec<(String, String)>;

fn add_many(e: &Env, paths: &[PathBuf]) -> (Lines, Lines) {
    let o = e.cmd(&["add"]).args(paths).output().unwrap();
    let out = String::from_utf8(o.stdout).unwrap();
    let err = String::from_utf8(o.stderr).unwrap();
    let mut added = Vec::new();
    let mut refused = Vec::new();
    for line in out.lines() {
        let f: Vec<&str> = line.splitn(3, '\t').collect();
        if f[0] == "REFUSED" {
            refused.push((f[1].to_owned(), f[2].to_owned()));
        } else {
            added.push((f[0].to_owned(), line[f[0].len() + 1..].to_owned()));
        }
    }
    assert_eq!(o.status.success(), refused.is_empty(), "{err}");
    assert_eq!(added.len() + refused.len(), paths.len(), "{out}");
    (added, refused)
}

#[test]
fn the_naughty_strings_are_all_there() {
    let all = blns();
    assert!(all.len() >= 500, "{}", all.len());
    assert!(!all.iter().any(|s| s.starts_with('#')));
}

/// Every string as a stored name, through `add --name`.
#[test]
fn every_naughty_string_as_a_name_is_stored_and_exported_or_refused_as_dangerous() {
    let e = Env::new();
    let all = blns();
    // Four processes at a time (each unlocks: the cheap KDF still costs).
    let results: Vec<(usize, std::process::Output)> = std::thread::scope(|sc| {
        let workers: Vec<_> = (0..4)
            .map(|w| {
                let (e, all) = (&e, &all);
                sc.spawn(move || {
                    let f = e.path(&format!("plain-{w}.txt"));
                    let mut out = Vec::new();
                    for (i, s) in all.iter().enumerate().skip(w).step_by(4) {
                        std::fs::write(&f, format!("naughty {i}")).unwrap();
                        // `--name=…` so that a string starting with `-` is a value.
                        let o = e
                            .cmd(&["add", f.to_str().unwrap()])
                            .arg(format!("--name={s}"))
                            .output()
                            .unwrap();
                        out.push((i, o));
                    }
                    out
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    assert_eq!(results.len(), all.len());
    let mut stored = BTreeMap::new();
    let mut refused = 0;
    for (i, o) in results {
        let s = &all[i];
        let body = format!("naughty {i}").into_bytes();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!err.contains("panicked"), "{s:?}: {err}");
        if o.status.success() {
            let out = String::from_utf8(o.stdout).unwrap();
            let (id, name) = out.trim_end_matches('\n').split_once('\t').unwrap();
            assert_eq!(name, s, "stored under another name");
            assert_eq!(coffer_core::names::validate(s), Ok(()));
            stored.insert(id.to_owned(), (s.clone(), body));
        } else {
            refused += 1;
            assert_eq!(err.lines().count(), 1, "{s:?}: {err}");
            let msg = err.strip_prefix("coffer: error: ").unwrap();
            assert_dangerous(msg, s);
            assert!(coffer_core::names::validate(s).is_err(), "{s:?}");
        }
    }
    assert!(stored.len() > 200, "{} stored", stored.len());
    assert!(refused > 0);
    let ls = e.ok(&["ls", "--json"]);
    let listed: Vec<serde_json::Value> = serde_json::from_str(&ls).unwrap();
    assert_eq!(listed.len(), stored.len());
    for d in &listed {
        let (name, _) = &stored[d["id"].as_str().unwrap()];
        assert_eq!(d["name"].as_str().unwrap(), name);
    }
    export_and_check(&e, &stored);
    verify_ok(&e);
}

/// Every string Linux takes as a file name, as a real file, all in one `add`.
#[test]
fn every_naughty_string_as_a_file_name_is_stored_and_exported_or_refused_as_dangerous() {
    let e = Env::new();
    let src = e.path("src");
    std::fs::create_dir(&src).unwrap();
    let mut paths = Vec::new();
    let mut by_path = BTreeMap::new();
    let strings: BTreeSet<String> = blns().into_iter().filter(|s| linux_file_name(s)).collect();
    for (i, s) in strings.iter().enumerate() {
        let p = src.join(s);
        let body = format!("file {i}").into_bytes();
        std::fs::write(&p, &body).unwrap();
        by_path.insert(p.clone(), (s.clone(), body));
        paths.push(p);
    }
    assert!(paths.len() > 300);
    let (added, refused) = add_many(&e, &paths);
    let mut stored = BTreeMap::new();
    let bodies: BTreeMap<&str, &Vec<u8>> = by_path.values().map(|(s, b)| (s.as_str(), b)).collect();
    for (id, name) in added {
        assert_eq!(coffer_core::names::validate(&name), Ok(()));
        let body = bodies[name.as_str()].clone();
        stored.insert(id, (name, body));
    }
    for (shown, why) in &refused {
        // The path is shown with its control and bidi characters escaped:
        // one line per file, always.
        assert!(shown.starts_with(src.to_str().unwrap()), "{shown:?}");
        let msg = why
            .strip_prefix("invalid_name: ")
            .unwrap_or_else(|| panic!("{why}"));
        assert_dangerous(msg, shown);
    }
    // Exactly the strings the core's rules refuse were refused.
    let expect_refused = strings
        .iter()
        .filter(|s| coffer_core::names::validate(s).is_err())
        .count();
    assert_eq!(refused.len(), expect_refused);
    export_and_check(&e, &stored);
    verify_ok(&e);
}

/// Real-life names round-trip byte for byte: one `add`, `ls`, `export
/// --all` and `get` give exactly those names and contents.
#[test]
fn real_life_names_round_trip_byte_for_byte() {
    let e = Env::new();
    let names = real_life();
    assert!(names
        .iter()
        .any(|n| n.len() == 255 && n.chars().count() < 100));
    let src = e.path("src");
    std::fs::create_dir(&src).unwrap();
    let mut paths = Vec::new();
    for (i, n) in names.iter().enumerate() {
        let p = src.join(n);
        std::fs::write(&p, pattern(1000 + i, i as u8)).unwrap();
        paths.push(p);
    }
    let (added, refused) = add_many(&e, &paths);
    assert!(refused.is_empty(), "{refused:?}");
    let got: Vec<&str> = added.iter().map(|(_, n)| n.as_str()).collect();
    assert_eq!(got, names.iter().map(String::as_str).collect::<Vec<_>>());
    let listed: Vec<serde_json::Value> = serde_json::from_str(&e.ok(&["ls", "--json"])).unwrap();
    let listed: BTreeSet<&str> = listed.iter().map(|d| d["name"].as_str().unwrap()).collect();
    assert_eq!(listed, names.iter().map(String::as_str).collect());
    let stored: BTreeMap<String, (String, Vec<u8>)> = added
        .iter()
        .enumerate()
        .map(|(i, (id, n))| (id.clone(), (n.clone(), pattern(1000 + i, i as u8))))
        .collect();
    let written = export_and_check(&e, &stored);
    for n in &names {
        let expect = if n.starts_with('.') {
            format!("_{n}")
        } else {
            n.clone()
        };
        assert!(written.contains(&expect), "{n:?}");
    }
    // `get` writes the path given, whatever the name.
    for (i, (id, n)) in added.iter().enumerate() {
        let out = e.path("got").join(n);
        std::fs::create_dir_all(out.parent().unwrap()).unwrap();
        e.ok(&["get", id, "--out", out.to_str().unwrap()]);
        assert_eq!(std::fs::read(&out).unwrap(), pattern(1000 + i, i as u8));
        if i > 5 {
            break;
        }
    }
    verify_ok(&e);
}
