//! What a document name may be. A stored name is one file name, never a path:
//! refused at input ([`validate`]), and made safe again at output ([`sanitize`])
//! so that a name from a forged or older index still cannot steer a write.

use validator::{Validate, ValidationError};

/// Longest name in bytes (the common file-system limit).
pub const MAX_NAME_BYTES: usize = 255;
/// Most tags on one document.
pub const MAX_TAGS: usize = 32;
/// Longest tag in bytes.
pub const MAX_TAG_BYTES: usize = 64;

/// Why a name is refused. The name itself is never repeated (it may be
/// sensitive, and errors reach logs and screens).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
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
    /// A bidirectional override or mark, which can disguise an extension.
    #[error("the name contains a bidirectional control character")]
    Bidi,
    /// One of `<>:"|?*`.
    #[error("the name contains a character Windows forbids (<>:\"|?*)")]
    WindowsForbidden,
    /// CON, PRN, AUX, NUL, COM0-9, LPT0-9 (any case, with or without extension).
    #[error("the name is reserved on Windows")]
    Reserved,
    /// Ends in a dot or a space.
    #[error("the name ends with a dot or a space")]
    TrailingDotOrSpace,
}

fn is_bidi(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn is_control(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')
}

fn is_windows_forbidden(c: char) -> bool {
    matches!(c, '<' | '>' | ':' | '"' | '|' | '?' | '*')
}

fn is_reserved(name: &str) -> bool {
    let base = name.split('.').next().unwrap_or("").trim_end_matches(' ');
    let upper = base.to_ascii_uppercase();
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

/// Accepts `name` only if it is one safe file name on every platform.
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
        if c == '/' || c == '\\' {
            return Err(NameError::Separator);
        }
        if is_control(c) {
            return Err(NameError::Control);
        }
        if is_bidi(c) {
            return Err(NameError::Bidi);
        }
        if is_windows_forbidden(c) {
            return Err(NameError::WindowsForbidden);
        }
    }
    if name.ends_with('.') || name.ends_with(' ') {
        return Err(NameError::TrailingDotOrSpace);
    }
    if is_reserved(name) {
        return Err(NameError::Reserved);
    }
    Ok(())
}

/// Turns any string into a name that passes [`validate`]: unsafe characters
/// become `_`, reserved names get a leading `_`, and long names are cut at a
/// character boundary keeping a short extension.
pub fn sanitize(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| {
            if c == '/' || c == '\\' || is_control(c) || is_bidi(c) || is_windows_forbidden(c) {
                '_'
            } else {
                c
            }
        })
        .collect();
    while s.ends_with('.') || s.ends_with(' ') {
        s.pop();
        s.push('_');
        if s.chars().all(|c| c == '_') {
            break;
        }
    }
    if s.is_empty() || s == "." || s == ".." {
        s = "_".into();
    }
    if is_reserved(&s) {
        s.insert(0, '_');
    }
    if s.len() > MAX_NAME_BYTES {
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
        // Cutting may leave a trailing dot or space before the extension.
        if s.ends_with('.') || s.ends_with(' ') {
            s.pop();
            s.push('_');
        }
    }
    debug_assert!(validate(&s).is_ok());
    s
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
    fn ordinary_names_pass() {
        for n in [
            "report.pdf",
            "Contrat signé.pdf",
            ".env",
            "a",
            "résumé (final) v2.docx",
            "日本語.txt",
            "con-notes.txt",
            "COM10.txt",
        ] {
            assert_eq!(validate(n), Ok(()), "{n}");
            assert_eq!(sanitize(n), n);
        }
    }

    #[test]
    fn each_rule_has_its_reason() {
        assert_eq!(validate(""), Err(NameError::Empty));
        assert_eq!(validate(&"a".repeat(256)), Err(NameError::TooLong));
        assert_eq!(validate(".."), Err(NameError::DotName));
        assert_eq!(validate("a/b"), Err(NameError::Separator));
        assert_eq!(validate("a\\b"), Err(NameError::Separator));
        assert_eq!(validate("a\0b"), Err(NameError::Control));
        assert_eq!(validate("a\u{202E}fdp.exe"), Err(NameError::Bidi));
        assert_eq!(validate("a:b"), Err(NameError::WindowsForbidden));
        assert_eq!(validate("nul.txt"), Err(NameError::Reserved));
        assert_eq!(validate("LPT¹"), Err(NameError::Reserved));
        assert_eq!(validate("a."), Err(NameError::TrailingDotOrSpace));
    }

    #[test]
    fn validator_rules_apply_to_fields() {
        let ok = DocumentFields {
            name: "a.txt".into(),
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
        let s = sanitize(&format!("{}.pdf", "é".repeat(200)));
        assert!(s.len() <= 255 && s.ends_with(".pdf"));
        assert_eq!(validate(&s), Ok(()));
    }
}
