//! The hostile-name corpus (`testdata/hostile-names.json`, 144 names): every
//! name is refused at input, and its sanitized form is one safe file name.

use coffer_core::names::{sanitize, validate, DocumentFields};
use std::path::{Component, Path};

fn corpus() -> Vec<String> {
    let text = include_str!("../../../testdata/hostile-names.json");
    serde_json::from_str(text).expect("the corpus is a JSON array of strings")
}

#[test]
fn the_corpus_is_large_enough() {
    assert!(corpus().len() >= 100);
}

#[test]
fn every_hostile_name_is_refused_at_input() {
    for n in corpus() {
        assert!(validate(&n).is_err(), "accepted: {n:?}");
        let f = DocumentFields {
            name: n.clone(),
            tags: vec![],
        };
        assert!(f.check().is_err(), "accepted by the input type: {n:?}");
    }
}

#[test]
fn every_sanitized_name_is_one_safe_component() {
    let base = Path::new("/export/here");
    for n in corpus() {
        let s = sanitize(&n);
        assert_eq!(validate(&s), Ok(()), "{n:?} -> {s:?}");
        let joined = base.join(&s);
        assert_eq!(joined.parent(), Some(base), "{n:?} -> {s:?}");
        let comps: Vec<_> = Path::new(&s).components().collect();
        assert!(
            matches!(comps.as_slice(), [Component::Normal(_)]),
            "{n:?} -> {s:?}"
        );
        assert!(s.len() <= 255);
        // Sanitizing is idempotent.
        assert_eq!(sanitize(&s), s);
    }
}
