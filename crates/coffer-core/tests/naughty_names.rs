//! The Big List of Naughty Strings (`testdata/blns.json`, MIT, see
//! `testdata/blns.LICENSE`) against the name rules: every string is either
//! refused as dangerous or accepted, and every export form of it is one safe,
//! visible file name; the portable form is portable. The binary's tests
//! (`coffer-cli/tests/names_corpora.rs`) run the same strings end to end.

use coffer_core::names::{classify, export_name, portable_name, validate, NameClass};
use std::path::{Component, Path};

#[test]
fn every_naughty_string_is_classified_and_its_export_forms_are_safe() {
    let all: Vec<String> =
        serde_json::from_str(include_str!("../../../testdata/blns.json")).unwrap();
    let (mut dangerous, mut kept) = (0, 0);
    for s in &all {
        match classify(s) {
            NameClass::Dangerous(e) => {
                dangerous += 1;
                assert_eq!(validate(s), Err(e));
            }
            NameClass::NonPortable(_) | NameClass::Portable => {
                kept += 1;
                let e = export_name(s);
                if s.starts_with('.') {
                    assert_eq!(e, format!("_{s}"));
                } else {
                    assert_eq!(e, s.as_str());
                }
            }
        }
        for form in [export_name(s), portable_name(s)] {
            assert_eq!(validate(&form), Ok(()), "{s:?} -> {form:?}");
            assert!(!form.starts_with('.'));
            let comps: Vec<_> = Path::new(&*form).components().collect();
            assert!(matches!(comps.as_slice(), [Component::Normal(_)]), "{s:?}");
        }
        assert_eq!(classify(&portable_name(s)), NameClass::Portable, "{s:?}");
    }
    assert!(
        kept > 200 && dangerous > 0,
        "{kept} kept, {dangerous} refused"
    );
}
