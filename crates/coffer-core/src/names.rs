//! What a document name may be, and what file name it gets on the way out.
//!
//! A stored name is one file name, never a path. Names fall in three classes
//! ([`classify`]):
//!
//! - **dangerous** ([`NameError`]): could escape a folder or mislead a person
//!   (empty, `.`, `..`, a path separator, NUL or another control character, a
//!   line or paragraph separator, a bidirectional override or isolate, more
//!   than 255 bytes). Refused at input ([`validate`]).
//! - **not portable** ([`NonPortable`]): fine on the user's system, refused by
//!   some file systems (Windows' forbidden characters `<>:"|?*`, reserved
//!   device names such as `CON` or `aux.c`, a trailing dot or space). These
//!   are facts about a target, not about the document: accepted and kept
//!   exactly.
//! - **portable**: everything else.
//!
//! At output a name is made safe again, so that a name from a forged or older
//! index still cannot steer a write: export first tries [`export_name`] (the
//! stored name, with a leading dot made visible), and where the target file
//! system refuses it, [`portable_name`] (one documented form that every file
//! system takes).

use std::borrow::Cow;
use validator::{Validate, ValidationError};

/// Longest name in bytes (the common file-system limit).
pub const MAX_NAME_BYTES: usize = 255;
/// Most tags on one document.
pub const MAX_TAGS: usize = 32;
/// Longest tag in bytes.
pub const MAX_TAG_BYTES: usize = 64;
/// What replaces a character a name may not hold in a file name, and what
/// goes before a name that starts with a dot.
pub const REPLACEMENT: char = '_';

/// Why a name is refused: the dangerous class. The name itself is never
/// repeated (it may be sensitive, and errors reach logs and screens).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    /// Empty.
    #[error("the name is empty")]
    Empty,
    /// Over [`MAX_NAME_BYTES`].
    #[error("the name is longer than 255 bytes")]
    TooLong,
    /// Not valid UTF-8 (a file on disk may have such a name).
    #[error("the name is not valid UTF-8")]
    NotUtf8,
    /// `.` or `..`.
    #[error("the name is `.` or `..`")]
    DotName,
    /// `/` or `\`.
    #[error("the name contains a path separator")]
    Separator,
    /// NUL, another control character, or a line/paragraph separator.
    #[error("the name contains a control character")]
    Control,
    /// A bidirectional override, isolate or mark, which can disguise an
    /// extension.
    #[error("the name contains a bidirectional control character")]
    Bidi,
}

impl NameError {
    /// A stable code for the reason (the error's own code is
    /// `invalid_name`; this says which rule).
    pub fn code(&self) -> &'static str {
        match self {
            NameError::Empty => "empty",
            NameError::TooLong => "too_long",
            NameError::NotUtf8 => "not_utf8",
            NameError::DotName => "dot_name",
            NameError::Separator => "separator",
            NameError::Control => "control",
            NameError::Bidi => "bidi",
        }
    }
}

/// Why an accepted name may not be a file name on every file system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NonPortable {
    /// One of `<>:"|?*` (Windows, FAT, exFAT, NTFS in its Windows mode).
    WindowsForbidden,
    /// CON, PRN, AUX, NUL, CONIN$, CONOUT$, COM0-9, LPT0-9 (superscript digits
    /// included), any case, with or without an extension (`aux.c`).
    Reserved,
    /// Ends in a dot or a space (Windows drops them).
    TrailingDotOrSpace,
}

/// The class of a name (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameClass {
    /// Refused at input.
    Dangerous(NameError),
    /// Accepted and kept; export may need its portable form.
    NonPortable(NonPortable),
    /// A file name everywhere.
    Portable,
}

fn is_bidi(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn is_control(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')
}

fn is_separator(c: char) -> bool {
    c == '/' || c == '\\'
}

fn is_dangerous_char(c: char) -> bool {
    is_separator(c) || is_control(c) || is_bidi(c)
}

fn is_windows_forbidden(c: char) -> bool {
    matches!(c, '<' | '>' | ':' | '"' | '|' | '?' | '*')
}

/// The part of a name Windows compares with its device names: up to the
/// first dot, trailing spaces ignored.
fn reserved_base(name: &str) -> &str {
    name.split('.').next().unwrap_or("").trim_end_matches(' ')
}

fn is_reserved(name: &str) -> bool {
    let upper = reserved_base(name).to_ascii_uppercase();
    if matches!(
        upper.as_str(),
        "CON" | "PRN" | "AUX" | "NUL" | "CONIN$" | "CONOUT$"
    ) {
        return true;
    }
    let mut it = upper.chars();
    let head: String = it.by_ref().take(3).collect();
    let tail: Vec<char> = it.collect();
    (head == "COM" || head == "LPT")
        && tail.len() == 1
        && (tail[0].is_ascii_digit() || matches!(tail[0], '¹' | '²' | '³'))
}

/// Accepts `name` unless it is dangerous (see [`NameError`]). Names that are
/// not portable are accepted: see [`non_portable`].
pub fn validate(name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name.len() > MAX_NAME_BYTES {
        return Err(NameError::TooLong);
    }
    if name == "." || name == ".." {
        return Err(NameError::DotName);
    }
    for c in name.chars() {
        if is_separator(c) {
            return Err(NameError::Separator);
        }
        if is_control(c) {
            return Err(NameError::Control);
        }
        if is_bidi(c) {
            return Err(NameError::Bidi);
        }
    }
    Ok(())
}

/// Why `name` is not a file name on every file system, if it is not.
pub fn non_portable(name: &str) -> Option<NonPortable> {
    if name.chars().any(is_windows_forbidden) {
        Some(NonPortable::WindowsForbidden)
    } else if name.ends_with('.') || name.ends_with(' ') {
        Some(NonPortable::TrailingDotOrSpace)
    } else if is_reserved(name) {
        Some(NonPortable::Reserved)
    } else {
        None
    }
}

/// The class of `name`.
pub fn classify(name: &str) -> NameClass {
    match validate(name) {
        Err(e) => NameClass::Dangerous(e),
        Ok(()) => match non_portable(name) {
            Some(why) => NameClass::NonPortable(why),
            None => NameClass::Portable,
        },
    }
}

/// Cuts `s` to [`MAX_NAME_BYTES`] at a character boundary, keeping a short
/// extension.
fn cut_to_limit(s: &mut String) {
    if s.len() <= MAX_NAME_BYTES {
        return;
    }
    let ext = match s.rfind('.') {
        Some(i) if s.len() - i <= 16 && i > 0 => s[i..].to_owned(),
        _ => String::new(),
    };
    let mut cut = MAX_NAME_BYTES - ext.len();
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    s.truncate(cut);
    s.push_str(&ext);
}

/// The file name export tries first for a stored name: the name itself,
/// except that
///
/// - a name that starts with a dot gets a visible `_` before it (an export
///   never plants a hidden file, and never meets Coffer's own temporary
///   names, which start with a dot);
/// - a name that could not come from [`validate`] (a forged or older index)
///   is repaired: each separator, control or bidirectional character becomes
///   `_`, an empty name becomes `_`, and a name over 255 bytes is cut at a
///   character boundary keeping a short extension.
///
/// Non-portable characters are kept: where the target refuses them, export
/// uses [`portable_name`]. The result always passes [`validate`].
pub fn export_name(name: &str) -> Cow<'_, str> {
    if validate(name).is_ok() && !name.starts_with('.') {
        return Cow::Borrowed(name);
    }
    let mut s: String = name
        .chars()
        .map(|c| if is_dangerous_char(c) { REPLACEMENT } else { c })
        .collect();
    if s.starts_with('.') || s.is_empty() {
        s.insert(0, REPLACEMENT);
    }
    cut_to_limit(&mut s);
    debug_assert!(validate(&s).is_ok() && !s.starts_with('.'));
    Cow::Owned(s)
}

/// The one portable form of a name, for file systems that refuse the stored
/// one (FAT and NTFS sticks, Windows): [`export_name`], then
///
/// - each of `<>:"|?*` becomes `_` (`Notes: 10:30.pdf` → `Notes_ 10_30.pdf`);
/// - trailing dots and spaces are dropped (`report.` → `report`), and a name
///   left empty becomes `_`;
/// - a reserved device name gets `_` after its base (`CON.txt` → `CON_.txt`,
///   `aux` → `aux_`);
/// - a name over 255 bytes is cut as in [`export_name`].
///
/// The result passes [`validate`], is portable, never starts with a dot, and
/// is its own portable form.
pub fn portable_name(name: &str) -> Cow<'_, str> {
    let first = export_name(name);
    if non_portable(&first).is_none() {
        return first;
    }
    let mut s: String = first
        .chars()
        .map(|c| {
            if is_windows_forbidden(c) {
                REPLACEMENT
            } else {
                c
            }
        })
        .collect();
    loop {
        while s.ends_with('.') || s.ends_with(' ') {
            s.pop();
        }
        if s.is_empty() {
            s.push(REPLACEMENT);
        }
        if is_reserved(&s) {
            let at = reserved_base(&s).len();
            s.insert(at, REPLACEMENT);
        }
        let before = s.len();
        cut_to_limit(&mut s);
        if s.len() == before {
            break;
        }
    }
    debug_assert!(validate(&s).is_ok() && non_portable(&s).is_none() && !s.starts_with('.'));
    Cow::Owned(s)
}

/// `s` for a line of text output: every control, line-separator and
/// bidirectional character written as `\u{…}`, so that a name from disk
/// cannot break a line, fake a column or reorder what is shown. Text that
/// holds none is returned as it is.
pub fn escaped(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_control_or_bidi) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_control_or_bidi(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn is_control_or_bidi(c: char) -> bool {
    is_control(c) || is_bidi(c)
}

/// The form of a name that every file system takes (see [`portable_name`]);
/// kept for callers that suggest a file name without knowing the target.
pub fn sanitize(name: &str) -> String {
    portable_name(name).into_owned()
}

/// Checks one tag: 1 to 64 bytes, no control or bidirectional character.
pub fn validate_tag(tag: &str) -> Result<(), &'static str> {
    if tag.is_empty() || tag.len() > MAX_TAG_BYTES {
        return Err("a tag must be 1 to 64 bytes");
    }
    if tag.chars().any(|c| is_control(c) || is_bidi(c)) {
        return Err("a tag may not contain control characters");
    }
    if tag.trim() != tag {
        return Err("a tag may not start or end with white space");
    }
    Ok(())
}

fn name_rule(name: &str) -> Result<(), ValidationError> {
    validate(name)
        .map_err(|e| ValidationError::new("document_name").with_message(e.to_string().into()))
}

fn tags_rule(tags: &[String]) -> Result<(), ValidationError> {
    for t in tags {
        validate_tag(t).map_err(|m| ValidationError::new("tag").with_message(m.into()))?;
    }
    Ok(())
}

/// A document's user-given fields as they arrive from the CLI or the app,
/// checked with `validator` before anything is written.
#[derive(Debug, Clone, Validate)]
pub struct DocumentFields {
    /// The document name.
    #[validate(custom(function = "name_rule"))]
    pub name: String,
    /// Its tags.
    #[validate(
        length(max = 32, message = "at most 32 tags"),
        custom(function = "tags_rule")
    )]
    pub tags: Vec<String>,
}

impl DocumentFields {
    /// Checks tags alone (the name rule is [`validate`]).
    pub fn check_tags(tags: &[String]) -> crate::Result<()> {
        DocumentFields {
            name: "tags".into(),
            tags: tags.to_vec(),
        }
        .check()
    }

    /// Runs the rules and maps a failure to the core's error, without echoing
    /// the offending value.
    pub fn check(&self) -> crate::Result<()> {
        validate(&self.name)?;
        if let Err(errs) = self.validate() {
            let msg = errs
                .field_errors()
                .values()
                .flat_map(|v| v.iter())
                .filter_map(|e| e.message.as_ref().map(|m| m.to_string()))
                .next()
                .unwrap_or_else(|| "invalid fields".into());
            return Err(crate::Error::Invalid(msg));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_names_pass_and_are_their_own_export_names() {
        for n in [
            "report.pdf",
            "Contrat signé.pdf",
            "a",
            "résumé (final) v2.docx",
            "日本語.txt",
            "con-notes.txt",
            "COM10.txt",
            "100% & more.txt",
        ] {
            assert_eq!(classify(n), NameClass::Portable, "{n}");
            assert_eq!(export_name(n), n);
            assert_eq!(portable_name(n), n);
            assert_eq!(sanitize(n), n);
        }
    }

    #[test]
    fn each_dangerous_rule_has_its_reason() {
        for (n, why) in [
            ("", NameError::Empty),
            (&*"a".repeat(256), NameError::TooLong),
            (".", NameError::DotName),
            ("..", NameError::DotName),
            ("a/b", NameError::Separator),
            ("a\\b", NameError::Separator),
            ("a\0b", NameError::Control),
            ("a\nb", NameError::Control),
            ("c1\u{85}x", NameError::Control),
            ("line\u{2028}sep", NameError::Control),
            ("a\u{202E}fdp.exe", NameError::Bidi),
            ("a\u{2066}b", NameError::Bidi),
        ] {
            assert_eq!(validate(n), Err(why), "{n:?}");
            assert_eq!(classify(n), NameClass::Dangerous(why), "{n:?}");
        }
        assert_eq!(NameError::Bidi.code(), "bidi");
    }

    #[test]
    fn each_non_portable_rule_is_accepted_and_named() {
        for (n, why) in [
            ("Meeting notes: 2026.pdf", NonPortable::WindowsForbidden),
            ("What?.txt", NonPortable::WindowsForbidden),
            ("Q&A \"final\".txt", NonPortable::WindowsForbidden),
            ("a<b>c|d*e", NonPortable::WindowsForbidden),
            ("report.", NonPortable::TrailingDotOrSpace),
            ("report ", NonPortable::TrailingDotOrSpace),
            ("aux.c", NonPortable::Reserved),
            ("CON", NonPortable::Reserved),
            ("nul.txt", NonPortable::Reserved),
            ("COM1", NonPortable::Reserved),
            ("LPT¹", NonPortable::Reserved),
            ("COM¹.txt", NonPortable::Reserved),
            ("CON .txt", NonPortable::Reserved),
            ("conin$.log", NonPortable::Reserved),
        ] {
            assert_eq!(validate(n), Ok(()), "{n:?}");
            assert_eq!(classify(n), NameClass::NonPortable(why), "{n:?}");
            // Kept exactly where the target takes it.
            assert_eq!(export_name(n), n);
        }
    }

    #[test]
    fn the_portable_form_is_documented_and_stable() {
        for (n, p) in [
            (
                "Meeting notes: 2026-12-02 10:30.pdf",
                "Meeting notes_ 2026-12-02 10_30.pdf",
            ),
            ("What?.txt", "What_.txt"),
            ("Q&A \"final\".txt", "Q&A _final_.txt"),
            ("report.", "report"),
            ("report. . ", "report"),
            ("...", "_"),
            (" ", "_"),
            ("CON.txt", "CON_.txt"),
            ("con", "con_"),
            ("aux.c", "aux_.c"),
            ("CON .txt", "CON_ .txt"),
            ("COM¹.txt", "COM¹_.txt"),
            ("CON.", "CON_"),
            (".env", "_.env"),
            (".hidden:x", "_.hidden_x"),
        ] {
            assert_eq!(portable_name(n), p, "{n:?}");
            assert_eq!(classify(p), NameClass::Portable, "{n:?} -> {p:?}");
            assert_eq!(portable_name(p), p, "idempotent: {p:?}");
        }
    }

    #[test]
    fn a_leading_dot_is_accepted_and_made_visible_at_export() {
        for n in [".env", "...", ".. x", ". ."] {
            assert_eq!(validate(n), Ok(()), "{n:?}");
            let e = export_name(n);
            assert_eq!(e, format!("_{n}"));
            assert!(!portable_name(n).starts_with('.'));
        }
    }

    #[test]
    fn names_from_a_forged_index_are_repaired_at_export() {
        for n in [
            "",
            ".",
            "..",
            "../../etc/passwd",
            "a\\b",
            "x\u{202e}fdp.exe",
            "a\0b",
            &*"é".repeat(200),
            &*format!(".{}", "x".repeat(255)),
        ] {
            for out in [export_name(n), portable_name(n)] {
                assert_eq!(validate(&out), Ok(()), "{n:?} -> {out:?}");
                assert!(!out.starts_with('.'), "{n:?} -> {out:?}");
                assert!(out.len() <= MAX_NAME_BYTES);
            }
        }
        assert_eq!(export_name("../x"), "_.._x");
    }

    #[test]
    fn validator_rules_apply_to_fields() {
        let ok = DocumentFields {
            name: "a: b?.txt".into(),
            tags: vec!["tax".into()],
        };
        assert!(ok.check().is_ok());
        let bad_tag = DocumentFields {
            name: "a.txt".into(),
            tags: vec!["\u{7}".into()],
        };
        assert!(bad_tag.check().is_err());
        let many = DocumentFields {
            name: "a.txt".into(),
            tags: (0..33).map(|i| i.to_string()).collect(),
        };
        assert!(many.check().is_err());
        let bad_name = DocumentFields {
            name: "../x".into(),
            tags: vec![],
        };
        assert!(matches!(
            bad_name.check(),
            Err(crate::Error::InvalidName(_))
        ));
    }

    #[test]
    fn long_names_are_cut_keeping_the_extension() {
        let s = portable_name(&format!("{}.pdf", "é".repeat(200))).into_owned();
        assert!(s.len() <= 255 && s.ends_with(".pdf"));
        assert_eq!(validate(&s), Ok(()));
        // A cut that ends in a dot or a space is tidied in the portable form.
        let s = portable_name(&format!("{}:", "a. ".repeat(100))).into_owned();
        assert!(s.len() <= 255 && non_portable(&s).is_none(), "{s:?}");
    }
}
