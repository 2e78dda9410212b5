//! The recovery key: 256 random bits shown once at `init`, which open the
//! recovery slot when the passphrase is lost.
//!
//! ```text
//! text     = group ("-" group){13}            ; 14 groups of 4 characters
//! payload  = key(32 bytes) || SHA-256("coffer/v1/recovery-check" || key)[0..3]
//! text     = Crockford-base32(payload)        ; 35 bytes -> 56 characters
//! ```
//! Decoding ignores case, spaces and dashes, and reads `I`/`L` as `1` and `O` as
//! `0`. The 24-bit checksum turns a typo into [`Error::RecoveryKeyFormat`]
//! instead of a misleading "wrong key".

use crate::crypto;
use crate::{Error, Result};
use std::fmt;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A recovery key. Wiped on drop; `Debug` prints nothing of it.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct RecoveryKey([u8; 32]);

impl RecoveryKey {
    /// A fresh random recovery key.
    pub fn generate() -> Self {
        RecoveryKey(crypto::random_array())
    }

    /// The key bytes, for the slot's HKDF.
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }

    fn check(key: &[u8; 32]) -> [u8; 3] {
        let d = crypto::sha256(&[b"coffer/v1/recovery-check", key]);
        [d[0], d[1], d[2]]
    }

    /// The text form to show the user once.
    pub fn to_text(&self) -> Zeroizing<String> {
        let mut payload = Zeroizing::new([0u8; 35]);
        payload[..32].copy_from_slice(&self.0);
        payload[32..].copy_from_slice(&Self::check(&self.0));
        let mut out = Zeroizing::new(String::with_capacity(69));
        let (mut acc, mut bits, mut n) = (0u64, 0u32, 0usize);
        for &b in payload.iter() {
            acc = (acc << 8) | u64::from(b);
            bits += 8;
            while bits >= 5 {
                bits -= 5;
                if n > 0 && n % 4 == 0 {
                    out.push('-');
                }
                out.push(ALPHABET[((acc >> bits) & 31) as usize] as char);
                n += 1;
            }
        }
        acc.zeroize();
        out
    }

    /// Parses the text form.
    pub fn parse(text: &str) -> Result<Self> {
        let mut payload = Zeroizing::new(Vec::with_capacity(35));
        let (mut acc, mut bits, mut n) = (0u64, 0u32, 0usize);
        for c in text.chars() {
            if c == '-' || c.is_whitespace() {
                continue;
            }
            let v = match c.to_ascii_uppercase() {
                'I' | 'L' => 1,
                'O' => 0,
                u => ALPHABET
                    .iter()
                    .position(|&a| a as char == u)
                    .ok_or(Error::RecoveryKeyFormat)? as u64,
            };
            acc = (acc << 5) | v;
            bits += 5;
            n += 1;
            if bits >= 8 {
                bits -= 8;
                payload.push((acc >> bits) as u8);
            }
        }
        acc.zeroize();
        if n != 56 || payload.len() != 35 {
            return Err(Error::RecoveryKeyFormat);
        }
        let mut key = [0u8; 32];
        key.copy_from_slice(&payload[..32]);
        let rk = RecoveryKey(key);
        key.zeroize();
        if !crypto::ct_eq(&Self::check(&rk.0), &payload[32..]) {
            return Err(Error::RecoveryKeyFormat);
        }
        Ok(rk)
    }
}

impl fmt::Debug for RecoveryKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecoveryKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_lenient_reading() {
        let k = RecoveryKey::generate();
        let t = k.to_text();
        assert_eq!(t.len(), 56 + 13);
        assert_eq!(RecoveryKey::parse(&t).unwrap().0, k.0);
        let sloppy = t
            .to_lowercase()
            .replace('-', " ")
            .replace('1', "l")
            .replace('0', "o");
        assert_eq!(RecoveryKey::parse(&sloppy).unwrap().0, k.0);
    }

    #[test]
    fn typos_are_caught_by_the_checksum() {
        let k = RecoveryKey::generate();
        let t = k.to_text().to_string();
        let mut caught = 0;
        for i in (0..t.len()).filter(|&i| t.as_bytes()[i] != b'-') {
            let mut b = t.clone().into_bytes();
            b[i] = if b[i] == b'A' { b'B' } else { b'A' };
            let s = String::from_utf8(b).unwrap();
            if matches!(RecoveryKey::parse(&s), Err(Error::RecoveryKeyFormat)) {
                caught += 1;
            }
        }
        assert_eq!(caught, 56);
        assert!(RecoveryKey::parse(&t[..t.len() - 1]).is_err());
        assert!(RecoveryKey::parse(&format!("{t}A")).is_err());
        assert!(RecoveryKey::parse("!!").is_err());
    }
}
