//! The primitives, all from `ring`: AES-256-GCM, HKDF-SHA256, HMAC-SHA256,
//! SHA-256 and the OS CSPRNG. Nothing else in the core touches `ring` directly
//! except the STREAM hot loop in [`crate::stream`].
//!
//! Notation as in `SECURITY.md`: `HKDF[salt, info](ikm, L)`, `HMAC[key](msg)`,
//! `AEAD[key, nonce, aad](plaintext)`.

use crate::secret::Key32;
use rand::SecureRandom;
use ring::{aead, digest, hkdf, hmac, rand};

/// AES-GCM tag length.
pub const TAG_LEN: usize = 16;
/// AES-GCM nonce length.
pub const NONCE_LEN: usize = 12;

/// Fills `buf` from the OS CSPRNG. Aborts if the OS has no randomness: there is
/// no safe way to continue.
pub fn fill_random(buf: &mut [u8]) {
    rand::SystemRandom::new()
        .fill(buf)
        .expect("the OS random number generator failed");
}

/// `n` fresh random bytes.
pub fn random_array<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    fill_random(&mut b);
    b
}

struct Len(usize);
impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

/// `HKDF[salt, info](ikm, out.len())` with SHA-256; `info` is the concatenation
/// of the parts.
pub fn hkdf(salt: &[u8], ikm: &[u8], info: &[&[u8]], out: &mut [u8]) {
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, salt).extract(ikm);
    prk.expand(info, Len(out.len()))
        .and_then(|okm| okm.fill(out))
        .expect("HKDF output length is at most 255*32 bytes");
}

/// A 256-bit key from HKDF.
pub fn hkdf_key(salt: &[u8], ikm: &[u8], info: &[&[u8]]) -> Key32 {
    let mut out = zeroize::Zeroizing::new([0u8; 32]);
    hkdf(salt, ikm, info, out.as_mut());
    Key32::from_bytes(*out)
}

/// `HMAC[key](parts[0] || parts[1] || ...)` with SHA-256.
pub fn hmac(key: &Key32, parts: &[&[u8]]) -> [u8; 32] {
    let k = hmac::Key::new(hmac::HMAC_SHA256, key.expose());
    let mut ctx = hmac::Context::with_key(&k);
    for p in parts {
        ctx.update(p);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.sign().as_ref());
    out
}

/// SHA-256 of the concatenated parts.
pub fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut ctx = digest::Context::new(&digest::SHA256);
    for p in parts {
        ctx.update(p);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// Compares two byte strings in time independent of where they differ.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    subtle::ConstantTimeEq::ct_eq(a, b).into()
}

/// An AES-256-GCM key ready for use.
pub fn aead_key(key: &Key32) -> aead::LessSafeKey {
    aead::LessSafeKey::new(
        aead::UnboundKey::new(&aead::AES_256_GCM, key.expose())
            .expect("32 bytes is an AES-256 key"),
    )
}

/// `AEAD[key, nonce, aad](plaintext)`: returns `ciphertext || tag`.
pub fn seal(key: &Key32, nonce: [u8; NONCE_LEN], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(plaintext.len() + TAG_LEN);
    buf.extend_from_slice(plaintext);
    aead_key(key)
        .seal_in_place_append_tag(
            aead::Nonce::assume_unique_for_key(nonce),
            aead::Aad::from(aad),
            &mut buf,
        )
        .expect("plaintext is shorter than AES-GCM's limit");
    buf
}

/// Opens `ciphertext || tag`; `None` if it does not authenticate.
pub fn open(
    key: &Key32,
    nonce: [u8; NONCE_LEN],
    aad: &[u8],
    sealed: &[u8],
) -> Option<zeroize::Zeroizing<Vec<u8>>> {
    let mut buf = zeroize::Zeroizing::new(sealed.to_vec());
    let len = aead_key(key)
        .open_in_place(
            aead::Nonce::assume_unique_for_key(nonce),
            aead::Aad::from(aad),
            buf.as_mut_slice(),
        )
        .ok()?
        .len();
    buf.truncate(len);
    Some(buf)
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// Parses hex (either case); `None` on any other character or odd length.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let nib = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    s.as_bytes()
        .chunks(2)
        .map(|p| Some(nib(p[0])? << 4 | nib(p[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_refusals() {
        let k = Key32::from_bytes([7; 32]);
        let ct = seal(&k, [1; 12], b"aad", b"hello");
        assert_eq!(open(&k, [1; 12], b"aad", &ct).unwrap().as_slice(), b"hello");
        assert!(open(&k, [1; 12], b"aaX", &ct).is_none());
        assert!(open(&k, [2; 12], b"aad", &ct).is_none());
        assert!(open(&Key32::from_bytes([8; 32]), [1; 12], b"aad", &ct).is_none());
        let mut bad = ct.clone();
        bad[0] ^= 1;
        assert!(open(&k, [1; 12], b"aad", &bad).is_none());
        assert!(open(&k, [1; 12], b"aad", &ct[..ct.len() - 1]).is_none());
    }

    #[test]
    fn hkdf_matches_rfc5869_case_1() {
        let ikm = [0x0b; 22];
        let salt = unhex("000102030405060708090a0b0c").unwrap();
        let info = unhex("f0f1f2f3f4f5f6f7f8f9").unwrap();
        let mut okm = [0u8; 42];
        hkdf(&salt, &ikm, &[&info], &mut okm);
        assert_eq!(
            hex(&okm),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
        );
    }

    #[test]
    fn hex_round_trip_and_refusals() {
        assert_eq!(hex(&[0, 0xff, 0x1a]), "00ff1a");
        assert_eq!(unhex("00FF1a").unwrap(), vec![0, 0xff, 0x1a]);
        assert!(unhex("0").is_none());
        assert!(unhex("zz").is_none());
        assert!(ct_eq(b"abc", b"abc") && !ct_eq(b"abc", b"abd") && !ct_eq(b"ab", b"abc"));
    }
}
