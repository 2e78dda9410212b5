//! Secrets in types that wipe their memory on drop and print nothing in `Debug`.

use std::fmt;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// A 256-bit symmetric key. Wiped on drop; `Debug` prints no byte of it.
#[derive(Clone, Zeroize, ZeroizeOnDrop, PartialEq, Eq)]
pub struct Key32([u8; 32]);

impl Key32 {
    /// Wraps raw key bytes (the caller's copy should be wiped by the caller).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Key32(bytes)
    }

    /// A fresh random key from the OS CSPRNG.
    pub fn random() -> Self {
        let mut k = [0u8; 32];
        crate::crypto::fill_random(&mut k);
        Key32(k)
    }

    /// The key bytes. Keep the borrow short.
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for Key32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key32(<redacted>)")
    }
}

/// A passphrase as typed. Wiped on drop; `Debug` prints nothing of it.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Passphrase(String);

/// Fewest characters a new passphrase may have.
pub const MIN_PASSPHRASE_CHARS: usize = 8;

impl Passphrase {
    /// Wraps a passphrase, taking ownership so that only one copy remains.
    pub fn new(s: String) -> Self {
        Passphrase(s)
    }

    /// Reads a passphrase from the first line of some text, without keeping
    /// other copies (the line ending is dropped).
    pub fn from_first_line(text: Zeroizing<String>) -> Self {
        let line = text.split('\n').next().unwrap_or("");
        let line = line.strip_suffix('\r').unwrap_or(line);
        Passphrase(line.to_owned())
    }

    /// The passphrase's bytes for the KDF.
    pub fn expose(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// Refuses passphrases too weak to protect a new vault or slot.
    pub fn check_new(&self) -> crate::Result<()> {
        if self.0.chars().count() < MIN_PASSPHRASE_CHARS {
            return Err(crate::Error::WeakPassphrase {
                min: MIN_PASSPHRASE_CHARS,
            });
        }
        Ok(())
    }
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passphrase(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_prints_no_secret() {
        let k = Key32::from_bytes([0xAB; 32]);
        let p = Passphrase::new("hunter2hunter2".into());
        let s = format!("{k:?} {p:?}");
        assert!(!s.contains("ab") && !s.contains("AB") && !s.contains("171"));
        assert!(!s.contains("hunter2"));
    }

    #[test]
    fn first_line_only() {
        let p = Passphrase::from_first_line(Zeroizing::new("correct horse\r\nsecond".into()));
        assert_eq!(p.expose(), b"correct horse");
    }

    #[test]
    fn short_passphrases_are_refused() {
        assert!(Passphrase::new("1234567".into()).check_new().is_err());
        assert!(Passphrase::new("12345678".into()).check_new().is_ok());
    }
}
