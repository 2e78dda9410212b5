//! Splits a line of `coffer shell` into words as a POSIX shell would for
//! plain words: blanks separate words; 'single quotes' keep everything
//! literally; "double quotes" keep everything but `\"` and `\\`; a backslash
//! outside quotes keeps the next character. No variables, globs or
//! substitutions: nothing is expanded, so a name is always what was typed.

/// Why a line has no words.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SplitError {
    #[error("unmatched quote")]
    UnmatchedQuote,
    #[error("a backslash ends the line")]
    TrailingBackslash,
}

/// The words of `line`.
pub fn split(line: &str) -> Result<Vec<String>, SplitError> {
    let mut words = Vec::new();
    let mut word = String::new();
    // A word exists once any of its characters (or an empty pair of quotes)
    // was seen, so `''` is an empty word and blanks alone are none.
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' | '\r' => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err(SplitError::UnmatchedQuote),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\')) => word.push(c),
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err(SplitError::UnmatchedQuote),
                        },
                        Some(c) => word.push(c),
                        None => return Err(SplitError::UnmatchedQuote),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some(c) => word.push(c),
                    None => return Err(SplitError::TrailingBackslash),
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(line: &str) -> Vec<String> {
        split(line).expect("splits")
    }

    #[test]
    fn blanks_separate_words() {
        assert_eq!(ok("  ls   --json\t"), ["ls", "--json"]);
        assert!(ok("").is_empty());
        assert!(ok(" \t ").is_empty());
    }

    #[test]
    fn quotes_and_backslashes_keep_what_they_hold() {
        assert_eq!(
            ok("rename abc 'my file.txt'"),
            ["rename", "abc", "my file.txt"]
        );
        assert_eq!(ok(r#"add "a \"b\" c" x\ y"#), ["add", r#"a "b" c"#, "x y"]);
        assert_eq!(ok(r"'a\b'"), [r"a\b"]);
        assert_eq!(ok(r#""a\nb\\""#), [r"a\nb\"]);
        assert_eq!(ok(r#"a'b'"c"d"#), ["abcd"]);
        assert_eq!(ok("'' \"\""), ["", ""]);
        assert_eq!(ok("$HOME *.txt ~"), ["$HOME", "*.txt", "~"]);
    }

    #[test]
    fn unfinished_lines_are_refused() {
        assert_eq!(split("a 'b"), Err(SplitError::UnmatchedQuote));
        assert_eq!(split("a \"b\\\""), Err(SplitError::UnmatchedQuote));
        assert_eq!(split("a\\"), Err(SplitError::TrailingBackslash));
    }
}
