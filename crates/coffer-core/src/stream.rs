//! STREAM: document contents as a sequence of AES-256-GCM chunks, in the style
//! of age's payload encryption, with a per-document key.
//!
//! ```text
//! payload = chunk{n}                        ; n >= 1
//! chunk_i = AEAD[K_payload, nonce_i, aad](plaintext_i)
//! nonce_i = prefix(4) || u56be(i) || last   ; last = 0x01 on the final chunk, else 0x00
//! aad     = SHA-256(blob header)            ; binds vault, document, salt and metadata
//! |plaintext_i| = CHUNK_SIZE for every chunk but the last;
//! the last holds 0..=CHUNK_SIZE bytes and is empty only when it is the only chunk.
//! ```
//!
//! What this rules out: reordering (the counter is in the nonce), truncation at
//! a chunk boundary (the new final chunk was sealed with `last = 0`), appended
//! data (nothing may follow a `last = 1` chunk), and moving chunks between
//! documents (each document has its own key, and `aad` names the document).
//!
//! **A payload key must never encrypt two payloads**: the nonces repeat. Keys
//! come from a fresh 256-bit salt per blob (see [`crate::blob`]), so a key is
//! never reused.

use crate::crypto::TAG_LEN;
use crate::secret::Key32;
use ring::aead;

/// Plaintext bytes per chunk.
pub const CHUNK_SIZE: usize = 64 * 1024;
/// Ciphertext bytes per full chunk.
pub const ENCRYPTED_CHUNK_SIZE: usize = CHUNK_SIZE + TAG_LEN;
/// The counter has 56 bits.
const MAX_COUNTER: u64 = (1 << 56) - 1;

/// Why a chunk is refused. Deliberately coarse: an attacker learns nothing
/// about which byte failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StreamError {
    /// A chunk failed authentication (flipped bit, wrong key, reordered,
    /// truncated at a boundary, or moved from another document).
    #[error("a chunk failed authentication")]
    Auth,
    /// The payload ends inside a chunk's tag, or has no final chunk.
    #[error("the payload is truncated")]
    Truncated,
    /// An empty final chunk after other chunks: not a valid encoding.
    #[error("the payload has an empty final chunk")]
    EmptyLastChunk,
    /// More chunks than the counter can number.
    #[error("the payload is too large")]
    TooLong,
}

/// The key material of one payload. Holds the expanded AES key (ring does not
/// expose a way to wipe it; see SECURITY.md) and the nonce prefix.
pub struct PayloadKey {
    key: aead::LessSafeKey,
    prefix: [u8; 4],
    aad: [u8; 32],
}

impl std::fmt::Debug for PayloadKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PayloadKey(<redacted>)")
    }
}

impl PayloadKey {
    /// Builds the payload key from its parts.
    pub fn new(key: &Key32, prefix: [u8; 4], aad: [u8; 32]) -> Self {
        PayloadKey {
            key: crate::crypto::aead_key(key),
            prefix,
            aad,
        }
    }

    fn nonce(&self, counter: u64, last: bool) -> aead::Nonce {
        let mut n = [0u8; 12];
        n[..4].copy_from_slice(&self.prefix);
        n[4..11].copy_from_slice(&counter.to_be_bytes()[1..]);
        n[11] = u8::from(last);
        aead::Nonce::assume_unique_for_key(n)
    }
}

/// Seals chunks in order. Call [`Encryptor::seal_chunk`] with `last = true`
/// exactly once, on the final chunk; a payload without it will not decrypt.
pub struct Encryptor {
    key: PayloadKey,
    counter: u64,
    finished: bool,
}

impl Encryptor {
    /// Starts a payload.
    pub fn new(key: PayloadKey) -> Self {
        Encryptor {
            key,
            counter: 0,
            finished: false,
        }
    }

    /// Encrypts `chunk` in place and returns its tag, to be written right after
    /// it. `chunk` must be exactly [`CHUNK_SIZE`] bytes unless `last`.
    pub fn seal_chunk(
        &mut self,
        chunk: &mut [u8],
        last: bool,
    ) -> Result<[u8; TAG_LEN], StreamError> {
        assert!(!self.finished, "STREAM: chunk sealed after the final chunk");
        assert!(chunk.len() <= CHUNK_SIZE && (last || chunk.len() == CHUNK_SIZE));
        if self.counter > MAX_COUNTER {
            return Err(StreamError::TooLong);
        }
        let tag = self
            .key
            .key
            .seal_in_place_separate_tag(
                self.key.nonce(self.counter, last),
                aead::Aad::from(&self.key.aad),
                chunk,
            )
            .map_err(|_| StreamError::TooLong)?;
        self.counter += 1;
        self.finished = last;
        let mut t = [0u8; TAG_LEN];
        t.copy_from_slice(tag.as_ref());
        Ok(t)
    }
}

/// Opens chunks in order and enforces the payload's framing rules.
pub struct Decryptor {
    key: PayloadKey,
    counter: u64,
    finished: bool,
}

impl Decryptor {
    /// Starts reading a payload.
    pub fn new(key: PayloadKey) -> Self {
        Decryptor {
            key,
            counter: 0,
            finished: false,
        }
    }

    /// Decrypts one encrypted chunk (`ciphertext || tag`) in place and returns
    /// the plaintext length. `last` says whether the input ends after it.
    /// Nothing in `chunk` is plaintext unless this returns `Ok`.
    pub fn open_chunk(&mut self, chunk: &mut [u8], last: bool) -> Result<usize, StreamError> {
        if self.finished {
            return Err(StreamError::Auth);
        }
        if chunk.len() < TAG_LEN {
            return Err(StreamError::Truncated);
        }
        if chunk.len() > ENCRYPTED_CHUNK_SIZE || (!last && chunk.len() != ENCRYPTED_CHUNK_SIZE) {
            return Err(StreamError::Auth);
        }
        if self.counter > MAX_COUNTER {
            return Err(StreamError::TooLong);
        }
        let n = self
            .key
            .key
            .open_in_place(
                self.key.nonce(self.counter, last),
                aead::Aad::from(&self.key.aad),
                chunk,
            )
            .map_err(|_| StreamError::Auth)?
            .len();
        if last && n == 0 && self.counter > 0 {
            return Err(StreamError::EmptyLastChunk);
        }
        self.counter += 1;
        self.finished = last;
        Ok(n)
    }

    /// Whether the final chunk has been opened.
    pub fn is_finished(&self) -> bool {
        self.finished
    }
}

/// Encrypts a whole payload held in memory (tests, vectors, small inputs).
pub fn encrypt_all(key: PayloadKey, plaintext: &[u8]) -> Vec<u8> {
    let mut e = Encryptor::new(key);
    let mut out =
        Vec::with_capacity(plaintext.len() + (plaintext.len() / CHUNK_SIZE + 1) * TAG_LEN);
    let mut chunks = plaintext.chunks(CHUNK_SIZE).peekable();
    if chunks.peek().is_none() {
        let tag = e.seal_chunk(&mut [], true).expect("one chunk");
        out.extend_from_slice(&tag);
    }
    while let Some(c) = chunks.next() {
        let start = out.len();
        out.extend_from_slice(c);
        let tag = e
            .seal_chunk(&mut out[start..], chunks.peek().is_none())
            .expect("in-memory payloads are far below the limit");
        out.extend_from_slice(&tag);
    }
    out
}

/// Decrypts a whole payload held in memory.
pub fn decrypt_all(key: PayloadKey, ciphertext: &[u8]) -> Result<Vec<u8>, StreamError> {
    let mut d = Decryptor::new(key);
    let mut out = Vec::with_capacity(ciphertext.len());
    let mut rest = ciphertext;
    loop {
        let take = rest.len().min(ENCRYPTED_CHUNK_SIZE);
        let last = take == rest.len();
        let mut c = rest[..take].to_vec();
        let n = d.open_chunk(&mut c, last)?;
        out.extend_from_slice(&c[..n]);
        rest = &rest[take..];
        if last {
            return Ok(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> PayloadKey {
        PayloadKey::new(&Key32::from_bytes([b; 32]), [1, 2, 3, 4], [b; 32])
    }

    fn data(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 31 + 7) as u8).collect()
    }

    #[test]
    fn round_trips_at_the_boundaries() {
        for n in [
            0,
            1,
            CHUNK_SIZE - 1,
            CHUNK_SIZE,
            CHUNK_SIZE + 1,
            3 * CHUNK_SIZE,
            3 * CHUNK_SIZE + 5,
        ] {
            let pt = data(n);
            let ct = encrypt_all(key(1), &pt);
            assert_eq!(
                ct.len(),
                n + n.div_ceil(CHUNK_SIZE).max(1) * TAG_LEN,
                "n={n}"
            );
            assert_eq!(decrypt_all(key(1), &ct).unwrap(), pt, "n={n}");
        }
    }

    #[test]
    fn stream_fails_to_decrypt_truncated_payload() {
        let ct = encrypt_all(key(1), &data(2 * CHUNK_SIZE + 10));
        // At a chunk boundary, inside a chunk, inside a tag, and to nothing.
        for cut in [
            ENCRYPTED_CHUNK_SIZE,
            2 * ENCRYPTED_CHUNK_SIZE,
            ENCRYPTED_CHUNK_SIZE + 100,
            ct.len() - 1,
            5,
            0,
        ] {
            assert!(decrypt_all(key(1), &ct[..cut]).is_err(), "cut={cut}");
        }
    }

    #[test]
    fn stream_fails_on_appended_data() {
        let mut ct = encrypt_all(key(1), &data(CHUNK_SIZE));
        let extra = encrypt_all(key(1), &data(5));
        ct.extend_from_slice(&extra);
        assert!(decrypt_all(key(1), &ct).is_err());
        let mut ct2 = encrypt_all(key(1), &data(10));
        ct2.push(0);
        assert!(decrypt_all(key(1), &ct2).is_err());
    }

    #[test]
    fn stream_fails_on_reordered_chunks() {
        let ct = encrypt_all(key(1), &data(3 * CHUNK_SIZE));
        let (a, rest) = ct.split_at(ENCRYPTED_CHUNK_SIZE);
        let (b, c) = rest.split_at(ENCRYPTED_CHUNK_SIZE);
        let swapped = [b, a, c].concat();
        assert_eq!(decrypt_all(key(1), &swapped), Err(StreamError::Auth));
    }

    #[test]
    fn stream_fails_under_another_key_or_aad() {
        let ct = encrypt_all(key(1), &data(100));
        assert!(decrypt_all(key(2), &ct).is_err());
        let other_aad = PayloadKey::new(&Key32::from_bytes([1; 32]), [1, 2, 3, 4], [9; 32]);
        assert!(decrypt_all(other_aad, &ct).is_err());
        let other_prefix = PayloadKey::new(&Key32::from_bytes([1; 32]), [1, 2, 3, 5], [1; 32]);
        assert!(decrypt_all(other_prefix, &ct).is_err());
    }

    #[test]
    fn every_flipped_bit_is_detected_in_a_small_payload() {
        let ct = encrypt_all(key(1), &data(40));
        for i in 0..ct.len() * 8 {
            let mut bad = ct.clone();
            bad[i / 8] ^= 1 << (i % 8);
            assert!(decrypt_all(key(1), &bad).is_err(), "bit {i}");
        }
    }

    #[test]
    fn empty_final_chunk_after_data_is_refused() {
        // A full chunk sealed as non-final, followed by an empty final chunk.
        let mut e = Encryptor::new(key(1));
        let mut c = data(CHUNK_SIZE);
        let t = e.seal_chunk(&mut c, false).unwrap();
        c.extend_from_slice(&t);
        let t2 = e.seal_chunk(&mut [], true).unwrap();
        c.extend_from_slice(&t2);
        assert_eq!(decrypt_all(key(1), &c), Err(StreamError::EmptyLastChunk));
    }
}
