//! Through the real binary: every name of the corpus is refused by `add
//! --name`, nothing is stored, and a file whose own name is hostile is refused.

mod common;
use common::*;

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
        assert!(
            err.starts_with("coffer: error: invalid document name"),
            "{n:?}: {err}"
        );
        assert_eq!(err.lines().count(), 1);
    }
    assert_eq!(e.ok(&["ls"]), "");
    assert_eq!(std::fs::read_dir(e.vault.join("blobs")).unwrap().count(), 0);
}

#[test]
fn a_file_whose_own_name_is_hostile_is_refused_unless_renamed() {
    let e = Env::new();
    for bad in ["a:b.txt", "CON.txt", "x\u{202e}fdp.exe", "trailing."] {
        let p = e.path(bad);
        std::fs::write(&p, b"x").unwrap();
        e.fails(&["add", p.to_str().unwrap()]);
        let out = e.ok(&["add", p.to_str().unwrap(), "--name", "renamed.txt"]);
        assert!(out.ends_with("\trenamed.txt\n"));
    }
}
