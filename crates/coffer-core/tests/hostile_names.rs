//! The two name corpora.
//!
//! - `testdata/hostile-names.json` (55 names): the dangerous class. Every
//!   name is refused at input with a dangerous-class reason, and its export
//!   forms are one safe file name.
//! - `testdata/non-portable-names.json` (89 names): names some file systems
//!   refuse (Windows' forbidden characters, reserved device names, trailing
//!   dots and spaces). Every one is accepted and kept; its portable form is
//!   one portable file name.

use coffer_core::names::{
    classify, export_name, non_portable, portable_name, sanitize, validate, DocumentFields,
    NameClass,
};
use std::path::{Component, Path};

fn load(text: &str) -> Vec<String> {
    serde_json::from_str(text).expect("a corpus is a JSON array of strings")
}

fn hostile() -> Vec<String> {
    load(include_str!("../../../testdata/hostile-names.json"))
}

fn non_portable_corpus() -> Vec<String> {
    load(include_str!("../../../testdata/non-portable-names.json"))
}

/// `s` is exactly one normal component below any folder.
fn one_component(n: &str, s: &str) {
    let base = Path::new("/export/here");
    assert_eq!(validate(s), Ok(()), "{n:?} -> {s:?}");
    assert_eq!(base.join(s).parent(), Some(base), "{n:?} -> {s:?}");
    let comps: Vec<_> = Path::new(s).components().collect();
    assert!(
        matches!(comps.as_slice(), [Component::Normal(_)]),
        "{n:?} -> {s:?}"
    );
    assert!(s.len() <= 255);
    assert!(!s.starts_with('.'), "{n:?} -> {s:?}");
}

#[test]
fn the_corpora_are_large_enough() {
    assert!(hostile().len() >= 50);
    assert!(non_portable_corpus().len() >= 80);
}

#[test]
fn every_hostile_name_is_refused_at_input() {
    for n in hostile() {
        assert!(validate(&n).is_err(), "accepted: {n:?}");
        assert!(
            matches!(classify(&n), NameClass::Dangerous(_)),
            "not dangerous: {n:?}"
        );
        let f = DocumentFields {
            name: n.clone(),
            tags: vec![],
        };
        assert!(f.check().is_err(), "accepted by the input type: {n:?}");
    }
}

#[test]
fn every_export_form_of_a_hostile_name_is_one_safe_component() {
    for n in hostile() {
        let e = export_name(&n);
        one_component(&n, &e);
        let p = portable_name(&n);
        one_component(&n, &p);
        assert_eq!(non_portable(&p), None, "{n:?} -> {p:?}");
        // Both are idempotent.
        assert_eq!(export_name(&e), e);
        assert_eq!(portable_name(&p), p);
        assert_eq!(sanitize(&n), p);
    }
}

#[test]
fn every_non_portable_name_is_accepted_kept_and_has_a_portable_form() {
    for n in non_portable_corpus() {
        assert_eq!(validate(&n), Ok(()), "refused: {n:?}");
        assert!(
            matches!(classify(&n), NameClass::NonPortable(_)),
            "not classed non-portable: {n:?}"
        );
        let f = DocumentFields {
            name: n.clone(),
            tags: vec![],
        };
        assert!(f.check().is_ok(), "refused by the input type: {n:?}");
        // Kept exactly, but for a leading dot made visible.
        let e = export_name(&n);
        if n.starts_with('.') {
            assert_eq!(e, format!("_{n}"));
        } else {
            assert_eq!(e, n);
        }
        let p = portable_name(&n);
        one_component(&n, &p);
        assert_eq!(classify(&p), NameClass::Portable, "{n:?} -> {p:?}");
        assert_eq!(portable_name(&p), p);
    }
}
