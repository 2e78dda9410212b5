//! Document metadata (name, media type, tags, time added): its encoding, and its
//! sealing in the index.
//!
//! ```text
//! metadata   = u8(1) fields                          ; a live document
//!            | u8(2) fields i64be(trashed_ms)        ; in the trash (index only)
//! fields     = u16be(len) name u8(len) media_type i64be(added_ms) u8(n) (u8(len) tag){n}
//! index_meta = nonce(12) || AEAD[K_meta, nonce, "coffer/v1/index-meta" || doc_id](metadata)
//! ```
//! The same `metadata` encoding is sealed into each blob's header (see
//! [`crate::blob`]) so that `repair` can rebuild the index from blobs alone;
//! a blob always holds the live form ([`Metadata::for_blob`]): the trash is
//! a state of the index, sealed here and so covered by the entry MAC and the
//! manifest like a name.

use crate::crypto::{self, NONCE_LEN};
use crate::secret::Key32;
use ring::aead;
use std::borrow::Cow;

/// Metadata of one document, in the clear (only ever in memory).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Metadata {
    /// The file name it was stored under.
    pub name: String,
    /// Its media type (guessed from the extension at import); the known ones
    /// are shared, not allocated per document.
    pub media_type: Cow<'static, str>,
    /// User tags.
    pub tags: Vec<String>,
    /// When it was added, in Unix milliseconds.
    pub added_ms: i64,
    /// When it was moved to the trash, in Unix milliseconds; `None` for a
    /// live document.
    pub trashed_ms: Option<i64>,
}

/// Longest encoded metadata accepted anywhere.
pub const MAX_ENCODED: usize = 16 * 1024;

impl Metadata {
    /// The byte encoding above.
    pub fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(72 + self.name.len());
        v.push(if self.trashed_ms.is_some() { 2 } else { 1 });
        v.extend_from_slice(&(self.name.len() as u16).to_be_bytes());
        v.extend_from_slice(self.name.as_bytes());
        let mt = &self.media_type.as_bytes()[..self.media_type.len().min(255)];
        v.push(mt.len() as u8);
        v.extend_from_slice(mt);
        v.extend_from_slice(&self.added_ms.to_be_bytes());
        v.push(self.tags.len().min(255) as u8);
        for t in self.tags.iter().take(255) {
            let t = &t.as_bytes()[..t.len().min(255)];
            v.push(t.len() as u8);
            v.extend_from_slice(t);
        }
        if let Some(t) = self.trashed_ms {
            v.extend_from_slice(&t.to_be_bytes());
        }
        v
    }

    /// The form sealed into a blob: the same, out of the trash (the trash is
    /// a state of the index only).
    pub fn for_blob(&self) -> Metadata {
        Metadata {
            trashed_ms: None,
            ..self.clone()
        }
    }

    /// Parses the encoding; `None` on any malformation (the caller turns that
    /// into a corruption error for the document).
    pub fn decode(b: &[u8]) -> Option<Metadata> {
        let mut r = b;
        let mut take = |n: usize| -> Option<&[u8]> {
            let (a, rest) = r.split_at_checked(n)?;
            r = rest;
            Some(a)
        };
        let trashed = match take(1)? {
            [1] => false,
            [2] => true,
            _ => return None,
        };
        let n = u16::from_be_bytes(take(2)?.try_into().ok()?) as usize;
        let name = String::from_utf8(take(n)?.to_vec()).ok()?;
        let n = take(1)?[0] as usize;
        let media_type = intern_media_type(std::str::from_utf8(take(n)?).ok()?);
        let added_ms = i64::from_be_bytes(take(8)?.try_into().ok()?);
        let count = take(1)?[0] as usize;
        let mut tags = Vec::with_capacity(count);
        for _ in 0..count {
            let n = take(1)?[0] as usize;
            tags.push(String::from_utf8(take(n)?.to_vec()).ok()?);
        }
        let trashed_ms = match trashed {
            true => Some(i64::from_be_bytes(take(8)?.try_into().ok()?)),
            false => None,
        };
        if !r.is_empty() {
            return None;
        }
        Some(Metadata {
            name,
            media_type,
            tags,
            added_ms,
            trashed_ms,
        })
    }
}

/// Seals and opens index metadata under `K_meta`, with the key schedule built
/// once (listing decrypts every row).
pub struct MetaSealer {
    key: aead::LessSafeKey,
}

impl MetaSealer {
    /// From `K_meta`.
    pub fn new(k_meta: &Key32) -> Self {
        MetaSealer {
            key: crypto::aead_key(k_meta),
        }
    }

    fn aad(doc_id: &[u8; 16]) -> [u8; 36] {
        let mut a = [0u8; 36];
        a[..20].copy_from_slice(b"coffer/v1/index-meta");
        a[20..].copy_from_slice(doc_id);
        a
    }

    /// `nonce || AEAD[K_meta, nonce, aad](metadata)` with a fresh random nonce.
    pub fn seal(&self, doc_id: &[u8; 16], m: &Metadata) -> Vec<u8> {
        let nonce: [u8; NONCE_LEN] = crypto::random_array();
        let mut out = nonce.to_vec();
        let mut body = m.encode();
        self.key
            .seal_in_place_append_tag(
                aead::Nonce::assume_unique_for_key(nonce),
                aead::Aad::from(Self::aad(doc_id)),
                &mut body,
            )
            .expect("metadata is small");
        out.extend_from_slice(&body);
        out
    }

    /// Opens a sealed record; `None` if it fails authentication or parsing.
    pub fn open(&self, doc_id: &[u8; 16], sealed: &[u8]) -> Option<Metadata> {
        let mut scratch = zeroize::Zeroizing::new(Vec::new());
        self.open_with(doc_id, sealed, &mut scratch)
    }

    /// [`MetaSealer::open`] decrypting in a caller's buffer, so that a listing
    /// of many records allocates (and wipes) one buffer. The caller wipes it.
    pub fn open_with(
        &self,
        doc_id: &[u8; 16],
        sealed: &[u8],
        scratch: &mut Vec<u8>,
    ) -> Option<Metadata> {
        let (nonce, ct) = sealed.split_at_checked(NONCE_LEN)?;
        if ct.len() > MAX_ENCODED + crypto::TAG_LEN {
            return None;
        }
        scratch.clear();
        scratch.extend_from_slice(ct);
        let pt = self
            .key
            .open_in_place(
                aead::Nonce::assume_unique_for_key(nonce.try_into().ok()?),
                aead::Aad::from(Self::aad(doc_id)),
                scratch.as_mut_slice(),
            )
            .ok()?;
        Metadata::decode(pt)
    }
}

/// Extensions and the media type each maps to.
const MEDIA_TYPES: &[(&[&str], &str)] = &[
    (&["pdf"], "application/pdf"),
    (&["txt", "text", "log"], "text/plain"),
    (&["md"], "text/markdown"),
    (&["csv"], "text/csv"),
    (&["json"], "application/json"),
    (&["xml"], "application/xml"),
    (&["html", "htm"], "text/html"),
    (&["png"], "image/png"),
    (&["jpg", "jpeg"], "image/jpeg"),
    (&["gif"], "image/gif"),
    (&["webp"], "image/webp"),
    (&["heic"], "image/heic"),
    (&["tif", "tiff"], "image/tiff"),
    (&["doc"], "application/msword"),
    (
        &["docx"],
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    (
        &["xlsx"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
    (
        &["pptx"],
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ),
    (&["odt"], "application/vnd.oasis.opendocument.text"),
    (&["ods"], "application/vnd.oasis.opendocument.spreadsheet"),
    (&["zip"], "application/zip"),
    (&["gz", "tgz"], "application/gzip"),
    (&["pem", "crt", "key"], "application/x-pem-file"),
    (&["asc", "gpg", "pgp"], "application/pgp-encrypted"),
    (&["kdbx"], "application/x-keepass2"),
];
const OCTET_STREAM: &str = "application/octet-stream";

/// A media type from the name's extension; `application/octet-stream` when
/// unknown. Only used for display and for the app's icons.
pub fn guess_media_type(name: &str) -> &'static str {
    let Some((_, ext)) = name.rsplit_once('.') else {
        return OCTET_STREAM;
    };
    let ext = ext.to_ascii_lowercase();
    MEDIA_TYPES
        .iter()
        .find(|(exts, _)| exts.contains(&ext.as_str()))
        .map_or(OCTET_STREAM, |(_, t)| t)
}

fn intern_media_type(t: &str) -> Cow<'static, str> {
    if t == OCTET_STREAM {
        return Cow::Borrowed(OCTET_STREAM);
    }
    match MEDIA_TYPES.iter().find(|(_, k)| *k == t) {
        Some((_, k)) => Cow::Borrowed(k),
        None => Cow::Owned(t.to_owned()),
    }
}

/// Normalizes user tags: trims nothing (validation refuses padding), drops
/// duplicates keeping the first spelling, sorts for a stable display.
pub fn normalize_tags(tags: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(tags.len());
    for t in tags {
        if !out.iter().any(|o| o.eq_ignore_ascii_case(t)) {
            out.push(t.clone());
        }
    }
    out.sort_by_key(|a| a.to_lowercase());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Metadata {
        Metadata {
            name: "Contrat signé.pdf".into(),
            media_type: Cow::Borrowed("application/pdf"),
            tags: vec!["legal".into(), "2026".into()],
            added_ms: 1_795_310_445_123,
            trashed_ms: None,
        }
    }

    #[test]
    fn encode_decode_round_trip_and_refusals() {
        let m = sample();
        let e = m.encode();
        assert_eq!(Metadata::decode(&e).unwrap(), m);
        for n in 0..e.len() {
            assert!(Metadata::decode(&e[..n]).is_none());
        }
        let mut long = e.clone();
        long.push(0);
        assert!(Metadata::decode(&long).is_none());
    }

    #[test]
    fn the_trash_state_round_trips_and_never_reaches_a_blob() {
        let m = Metadata {
            trashed_ms: Some(1_795_400_000_000),
            ..sample()
        };
        let e = m.encode();
        assert_eq!(e[0], 2);
        assert_eq!(Metadata::decode(&e).unwrap(), m);
        for n in 0..e.len() {
            assert!(Metadata::decode(&e[..n]).is_none());
        }
        // A live record with 8 bytes appended is not a trashed one.
        let mut live = sample().encode();
        live.extend_from_slice(&[0; 8]);
        assert!(Metadata::decode(&live).is_none());
        assert_eq!(m.for_blob().encode(), sample().encode());
        let mut bad = e.clone();
        bad[0] = 3;
        assert!(Metadata::decode(&bad).is_none());
    }

    #[test]
    fn sealed_metadata_is_bound_to_its_document() {
        let s = MetaSealer::new(&Key32::from_bytes([5; 32]));
        let sealed = s.seal(&[1; 16], &sample());
        assert_eq!(s.open(&[1; 16], &sealed).unwrap(), sample());
        assert!(s.open(&[2; 16], &sealed).is_none());
        let other = MetaSealer::new(&Key32::from_bytes([6; 32]));
        assert!(other.open(&[1; 16], &sealed).is_none());
        assert!(!sealed.windows(6).any(|w| w == b"Contra"));
    }
}
