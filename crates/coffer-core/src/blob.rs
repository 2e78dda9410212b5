//! One document's ciphertext file: a header naming the vault and the document,
//! sealed metadata for `repair`, and the STREAM payload ([`crate::stream`]).
//!
//! ```text
//! blob       = header payload
//! header     = fixed meta_ct
//! fixed      = magic version chunk_size vault_id doc_id salt commitment meta_len   ; 114 bytes
//! magic      = "CoFfErBl"
//! version    = u16be(1)
//! chunk_size = u32be(65536)
//! vault_id   = 16 bytes    doc_id = 16 bytes    salt = 32 random bytes
//! meta_len   = u32be(|meta_ct|)                  ; at most 16 KiB + 16
//! PRK        = HKDF-Extract(salt, master_key)
//! K_payload  = HKDF-Expand(PRK, "coffer/v1/payload"      || vault_id || doc_id, 32)
//! K_bmeta    = HKDF-Expand(PRK, "coffer/v1/blob-meta"    || vault_id || doc_id, 32)
//! commitment = HKDF-Expand(PRK, "coffer/v1/commit"       || vault_id || doc_id, 32)
//! prefix     = HKDF-Expand(PRK, "coffer/v1/nonce-prefix" || vault_id || doc_id, 4)
//! meta_ct    = AEAD[K_bmeta, 0^12, fixed](metadata)   ; K_bmeta is used once
//! payload    = STREAM[K_payload, prefix, aad = SHA-256(header)](contents)
//! ```
//!
//! The commitment is checked before anything is decrypted: a blob header can
//! only be valid under the one master key it was derived from, so no
//! ciphertext decrypts to two different plaintexts under two keys.

use crate::crypto::{self, TAG_LEN};
use crate::keys::MasterKey;
use crate::meta::{self, Metadata};
use crate::secret::Key32;
use crate::stream::{self, Decryptor, Encryptor, PayloadKey, CHUNK_SIZE, ENCRYPTED_CHUNK_SIZE};
use crate::Error;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use zeroize::Zeroizing;

/// First bytes of every blob.
pub const MAGIC: &[u8; 8] = b"CoFfErBl";
/// Blob format version.
pub const VERSION: u16 = 1;
/// Length of the fixed part of the header.
pub const FIXED_LEN: usize = 114;
const MAX_META_CT: usize = meta::MAX_ENCODED + TAG_LEN;

/// Why a blob is refused; turned into [`Error::Corrupt`] with the document id.
#[derive(Debug)]
pub enum BlobError {
    /// The bytes are not a valid blob for this vault and document.
    Corrupt(&'static str),
    /// Reading or writing failed.
    Io(Error),
}

impl BlobError {
    /// The core error, naming the document.
    pub fn with_id(self, id: &[u8; 16]) -> Error {
        match self {
            BlobError::Corrupt(reason) => Error::Corrupt {
                id: crypto::hex(id),
                reason,
            },
            BlobError::Io(e) => e,
        }
    }
}

impl From<stream::StreamError> for BlobError {
    fn from(e: stream::StreamError) -> Self {
        BlobError::Corrupt(match e {
            stream::StreamError::Auth => "contents fail authentication",
            stream::StreamError::Truncated => "contents are truncated",
            stream::StreamError::EmptyLastChunk => "contents are malformed",
            stream::StreamError::TooLong => "contents are too long",
        })
    }
}

/// Keys of one blob.
pub struct BlobKeys {
    payload: Key32,
    meta: Key32,
    commitment: [u8; 32],
    prefix: [u8; 4],
}

impl BlobKeys {
    /// Derives a blob's keys (see the module docs).
    pub fn derive(master: &MasterKey, salt: &[u8; 32], doc_id: &[u8; 16]) -> BlobKeys {
        let ikm = master.key().expose();
        let vid = master.vault_id();
        let mut commitment = [0u8; 32];
        let mut prefix = [0u8; 4];
        crypto::hkdf(
            salt,
            ikm,
            &[b"coffer/v1/commit", vid, doc_id],
            &mut commitment,
        );
        crypto::hkdf(
            salt,
            ikm,
            &[b"coffer/v1/nonce-prefix", vid, doc_id],
            &mut prefix,
        );
        BlobKeys {
            payload: crypto::hkdf_key(salt, ikm, &[b"coffer/v1/payload", vid, doc_id]),
            meta: crypto::hkdf_key(salt, ikm, &[b"coffer/v1/blob-meta", vid, doc_id]),
            commitment,
            prefix,
        }
    }
}

/// A parsed blob header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobHeader {
    /// The vault it belongs to.
    pub vault_id: [u8; 16],
    /// The document it belongs to.
    pub doc_id: [u8; 16],
    /// Its random salt.
    pub salt: [u8; 32],
    /// Its key commitment.
    pub commitment: [u8; 32],
    /// Sealed metadata.
    pub meta_ct: Vec<u8>,
    raw: Vec<u8>,
}

impl BlobHeader {
    /// A new header for `doc_id` with `metadata` sealed in, and its keys.
    pub fn new(
        master: &MasterKey,
        doc_id: [u8; 16],
        metadata: &Metadata,
    ) -> (BlobHeader, BlobKeys) {
        Self::with_salt(master, doc_id, crypto::random_array(), metadata)
    }

    /// [`BlobHeader::new`] with a chosen salt. **Only for test vectors**: a
    /// salt must never be reused, or two payloads share a key and nonces.
    #[doc(hidden)]
    pub fn with_salt(
        master: &MasterKey,
        doc_id: [u8; 16],
        salt: [u8; 32],
        metadata: &Metadata,
    ) -> (BlobHeader, BlobKeys) {
        let keys = BlobKeys::derive(master, &salt, &doc_id);
        let encoded = Zeroizing::new(metadata.for_blob().encode());
        let meta_len = (encoded.len() + TAG_LEN) as u32;
        let mut raw = Vec::with_capacity(FIXED_LEN + meta_len as usize);
        raw.extend_from_slice(MAGIC);
        raw.extend_from_slice(&VERSION.to_be_bytes());
        raw.extend_from_slice(&(CHUNK_SIZE as u32).to_be_bytes());
        raw.extend_from_slice(master.vault_id());
        raw.extend_from_slice(&doc_id);
        raw.extend_from_slice(&salt);
        raw.extend_from_slice(&keys.commitment);
        raw.extend_from_slice(&meta_len.to_be_bytes());
        let meta_ct = crypto::seal(&keys.meta, [0; 12], &raw, &encoded);
        raw.extend_from_slice(&meta_ct);
        let h = BlobHeader {
            vault_id: *master.vault_id(),
            doc_id,
            salt,
            commitment: keys.commitment,
            meta_ct,
            raw,
        };
        (h, keys)
    }

    /// Parses a header from the start of `bytes`; returns it and the number of
    /// bytes it took. Checks structure only, not keys.
    pub fn parse(bytes: &[u8]) -> Result<(BlobHeader, usize), BlobError> {
        let fixed = bytes
            .get(..FIXED_LEN)
            .ok_or(BlobError::Corrupt("blob header is truncated"))?;
        if &fixed[..8] != MAGIC {
            return Err(BlobError::Corrupt("not a Coffer blob"));
        }
        if u16::from_be_bytes([fixed[8], fixed[9]]) != VERSION {
            return Err(BlobError::Corrupt("unsupported blob version"));
        }
        if u32::from_be_bytes(fixed[10..14].try_into().expect("4 bytes")) != CHUNK_SIZE as u32 {
            return Err(BlobError::Corrupt("unsupported chunk size"));
        }
        let meta_len = u32::from_be_bytes(fixed[110..114].try_into().expect("4 bytes")) as usize;
        if !(TAG_LEN..=MAX_META_CT).contains(&meta_len) {
            return Err(BlobError::Corrupt("blob metadata length out of range"));
        }
        let total = FIXED_LEN + meta_len;
        let raw = bytes
            .get(..total)
            .ok_or(BlobError::Corrupt("blob header is truncated"))?
            .to_vec();
        let arr = |r: std::ops::Range<usize>| -> Vec<u8> { raw[r].to_vec() };
        let h = BlobHeader {
            vault_id: arr(14..30).try_into().expect("16 bytes"),
            doc_id: arr(30..46).try_into().expect("16 bytes"),
            salt: arr(46..78).try_into().expect("32 bytes"),
            commitment: arr(78..110).try_into().expect("32 bytes"),
            meta_ct: arr(FIXED_LEN..total),
            raw,
        };
        Ok((h, total))
    }

    /// Reads and parses a header from the start of a stream.
    pub fn read_from<R: Read>(r: &mut R) -> Result<BlobHeader, BlobError> {
        let mut buf = vec![0u8; FIXED_LEN];
        let n =
            read_full(r, &mut buf).map_err(|e| BlobError::Io(Error::io("reading a blob")(e)))?;
        if n < FIXED_LEN {
            return Err(BlobError::Corrupt("blob header is truncated"));
        }
        let meta_len = u32::from_be_bytes(buf[110..114].try_into().expect("4 bytes")) as usize;
        if meta_len <= MAX_META_CT {
            buf.resize(FIXED_LEN + meta_len, 0);
            let n = read_full(r, &mut buf[FIXED_LEN..])
                .map_err(|e| BlobError::Io(Error::io("reading a blob")(e)))?;
            if n < meta_len {
                return Err(BlobError::Corrupt("blob header is truncated"));
            }
        }
        Self::parse(&buf).map(|(h, _)| h)
    }

    /// The header's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.raw
    }

    /// `SHA-256(header)`: the chunks' associated data, and what the manifest
    /// records for this blob.
    pub fn hash(&self) -> [u8; 32] {
        crypto::sha256(&[&self.raw])
    }

    /// Checks the vault, the document, the key commitment and the metadata,
    /// and returns the keys and metadata.
    pub fn open(
        &self,
        master: &MasterKey,
        expected_doc: Option<&[u8; 16]>,
    ) -> Result<(BlobKeys, Metadata), BlobError> {
        if &self.vault_id != master.vault_id() {
            return Err(BlobError::Corrupt("blob belongs to another vault"));
        }
        if expected_doc.is_some_and(|d| d != &self.doc_id) {
            return Err(BlobError::Corrupt("blob belongs to another document"));
        }
        let keys = BlobKeys::derive(master, &self.salt, &self.doc_id);
        if !crypto::ct_eq(&keys.commitment, &self.commitment) {
            return Err(BlobError::Corrupt("key commitment does not match"));
        }
        let pt = crypto::open(&keys.meta, [0; 12], &self.raw[..FIXED_LEN], &self.meta_ct)
            .ok_or(BlobError::Corrupt("blob metadata fails authentication"))?;
        let m = Metadata::decode(&pt).ok_or(BlobError::Corrupt("blob metadata is malformed"))?;
        Ok((keys, m))
    }

    fn payload_key(&self, keys: &BlobKeys) -> PayloadKey {
        PayloadKey::new(&keys.payload, keys.prefix, self.hash())
    }
}

/// What encrypting a document produced.
#[derive(Debug, Clone)]
pub struct Sealed {
    /// `SHA-256(header)`.
    pub header_hash: [u8; 32],
    /// Bytes written (header + payload).
    pub blob_len: u64,
    /// Plaintext bytes read.
    pub size: u64,
}

/// What decrypting a blob found.
#[derive(Debug)]
pub struct Opened {
    /// The header.
    pub header: BlobHeader,
    /// The metadata sealed in the header.
    pub meta: Metadata,
    /// Plaintext bytes released.
    pub size: u64,
}

/// Chunks per buffer handed to the writer thread (256 KiB of I/O).
const BATCH: usize = 4;
/// Buffers in flight between the crypto and the writer thread.
const DEPTH: usize = 3;

/// Encrypts `src` into `dst` as a blob. Reading and encryption run on this
/// thread while a second thread writes, so crypto overlaps with I/O; memory
/// stays at a few buffers whatever the size.
///
/// `len_hint` is the length `src` is expected to have, when known: a
/// document shorter than a chunk then gets a buffer of its own size (every
/// buffer is wiped whole when dropped, so a 64 KiB buffer for a 4 KiB scan
/// is paid per document). A source longer than its hint is still read in
/// full.
pub fn encrypt<R: Read, W: Write + Send>(
    master: &MasterKey,
    doc_id: [u8; 16],
    metadata: &Metadata,
    src: R,
    len_hint: Option<u64>,
    dst: &mut W,
    progress: &mut dyn FnMut(u64),
) -> Result<Sealed, Error> {
    encrypt_sized(
        BlobHeader::new(master, doc_id, metadata),
        src,
        len_hint,
        dst,
        progress,
    )
}

/// [`encrypt`] under a header made by the caller. **Only for test vectors**
/// (see [`BlobHeader::with_salt`]).
#[doc(hidden)]
pub fn encrypt_with_header<R: Read, W: Write + Send>(
    header: (BlobHeader, BlobKeys),
    src: R,
    dst: &mut W,
    progress: &mut dyn FnMut(u64),
) -> Result<Sealed, Error> {
    encrypt_sized(header, src, None, dst, progress)
}

fn encrypt_sized<R: Read, W: Write + Send>(
    (header, keys): (BlobHeader, BlobKeys),
    src: R,
    len_hint: Option<u64>,
    dst: &mut W,
    progress: &mut dyn FnMut(u64),
) -> Result<Sealed, Error> {
    let mut enc = Encryptor::new(header.payload_key(&keys));
    let mut src = BufReader::with_capacity(CHUNK_SIZE, src);
    let header_len = header.as_bytes().len() as u64;
    let mut first = Some(header.as_bytes().to_vec());
    // The first chunk's room: one byte more than the hint, so that a source
    // that is longer shows it without another read.
    let first_room = len_hint
        .and_then(|n| usize::try_from(n).ok())
        .map_or(CHUNK_SIZE, |n| n.saturating_add(1).min(CHUNK_SIZE));
    let mut size = 0u64;
    let mut chunks = 0u64;
    write_behind(dst, |sink| {
        let mut done = false;
        while !done {
            let (per_buffer, room) = match &first {
                Some(h) => (1, h.len() + first_room + TAG_LEN),
                None => (BATCH, BATCH * ENCRYPTED_CHUNK_SIZE),
            };
            let mut out = sink.buffer(room);
            if let Some(h) = first.take() {
                out.extend_from_slice(&h);
            }
            for _ in 0..per_buffer {
                let start = out.len();
                let want = if chunks == 0 { first_room } else { CHUNK_SIZE };
                out.resize(start + want, 0);
                let mut n = read_full(&mut src, &mut out[start..])
                    .map_err(Error::io("reading the file to add"))?;
                if n == want && want < CHUNK_SIZE {
                    // Longer than its hint: the chunk goes on in a buffer
                    // of full size (a new one, never a reallocation that
                    // would leave a copy of the plaintext unwiped).
                    let mut full = sink.buffer(ENCRYPTED_CHUNK_SIZE + start);
                    full.extend_from_slice(&out[..start + n]);
                    drop(std::mem::replace(&mut out, full));
                    out.resize(start + CHUNK_SIZE, 0);
                    n += read_full(&mut src, &mut out[start + n..])
                        .map_err(Error::io("reading the file to add"))?;
                }
                let last = n < CHUNK_SIZE
                    || src
                        .fill_buf()
                        .map_err(Error::io("reading the file to add"))?
                        .is_empty();
                out.truncate(start + n);
                let tag = enc
                    .seal_chunk(&mut out[start..], last)
                    .map_err(|_| Error::Invalid("the file is too large".into()))?;
                out.extend_from_slice(&tag);
                size += n as u64;
                chunks += 1;
                progress(n as u64);
                if last {
                    done = true;
                    break;
                }
            }
            sink.send(out)?;
        }
        Ok(())
    })?;
    Ok(Sealed {
        header_hash: header.hash(),
        blob_len: header_len + size + chunks * TAG_LEN as u64,
        size,
    })
}

/// Decrypts the blob in `src` into `dst`, releasing only authenticated chunks.
/// On `Err`, `dst` may hold a prefix of authenticated plaintext: callers write
/// to a temporary file and delete it on failure.
pub fn decrypt<R: Read, W: Write + Send>(
    master: &MasterKey,
    expected_doc: &[u8; 16],
    expected_header_hash: Option<&[u8; 32]>,
    src: R,
    dst: &mut W,
    progress: &mut dyn FnMut(u64),
) -> Result<Opened, Error> {
    let fail = |e: BlobError| e.with_id(expected_doc);
    let mut src = BufReader::with_capacity(ENCRYPTED_CHUNK_SIZE, src);
    let header = BlobHeader::read_from(&mut src).map_err(fail)?;
    if expected_header_hash.is_some_and(|h| !crypto::ct_eq(h, &header.hash())) {
        return Err(fail(BlobError::Corrupt(
            "blob does not match the index (replaced or swapped)",
        )));
    }
    let (keys, meta) = header.open(master, Some(expected_doc)).map_err(fail)?;
    let mut dec = Decryptor::new(header.payload_key(&keys));
    let mut size = 0u64;
    write_behind(dst, |sink| {
        let mut per_buffer = 1;
        while !dec.is_finished() {
            let mut out = sink.buffer(per_buffer * ENCRYPTED_CHUNK_SIZE);
            for _ in 0..per_buffer {
                let start = out.len();
                out.resize(start + ENCRYPTED_CHUNK_SIZE, 0);
                let n =
                    read_full(&mut src, &mut out[start..]).map_err(Error::io("reading a blob"))?;
                let last = n < ENCRYPTED_CHUNK_SIZE
                    || src
                        .fill_buf()
                        .map_err(Error::io("reading a blob"))?
                        .is_empty();
                let pt = dec
                    .open_chunk(&mut out[start..start + n], last)
                    .map_err(|e| fail(e.into()))?;
                out.truncate(start + pt);
                size += pt as u64;
                progress(pt as u64);
                if last {
                    break;
                }
            }
            sink.send(out)?;
            per_buffer = BATCH;
        }
        Ok(())
    })?;
    Ok(Opened { header, meta, size })
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
pub fn read_full<R: Read + ?Sized>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

type Buf = Zeroizing<Vec<u8>>;

/// The writer thread, once started: its queue, recycled buffers, handle.
type Pipe<'scope> = (
    SyncSender<Buf>,
    Receiver<Buf>,
    std::thread::ScopedJoinHandle<'scope, io::Result<()>>,
);

/// The producer's end of the output. A blob that fits in one buffer (most
/// documents: up to `BATCH` chunks) is written on the caller's thread; a
/// writer thread is started only for a second buffer, so large files are
/// written while the next chunks are sealed, and small ones pay no thread.
struct Sink<'scope, 'env, W: Write + Send> {
    scope: &'scope std::thread::Scope<'scope, 'env>,
    /// The destination, until the writer thread takes it.
    dst: Option<&'env mut W>,
    /// The first buffer, held until it is known whether a second follows.
    held: Option<Buf>,
    pipe: Option<Pipe<'scope>>,
}

impl<'scope, 'env, W: Write + Send> Sink<'scope, 'env, W> {
    /// A recycled (or new) empty buffer with room for `bytes`. The first
    /// buffer of a blob holds one chunk, no more than the document needs: a
    /// buffer is wiped whole when dropped, so its size is paid per document.
    fn buffer(&mut self, bytes: usize) -> Buf {
        let recycled = self
            .pipe
            .as_ref()
            .and_then(|(_, back, _)| back.try_recv().ok())
            .filter(|b| b.capacity() >= bytes);
        let mut b = recycled.unwrap_or_else(|| Zeroizing::new(Vec::with_capacity(bytes)));
        b.clear();
        b
    }

    fn send(&mut self, b: Buf) -> Result<(), Error> {
        if self.pipe.is_none() {
            let Some(first) = self.held.take() else {
                self.held = Some(b);
                return Ok(());
            };
            let dst = self
                .dst
                .take()
                .expect("the destination until the pipe starts");
            let (tx, rx) = sync_channel::<Buf>(DEPTH);
            let (btx, brx) = sync_channel::<Buf>(DEPTH + 2);
            let writer = self.scope.spawn(move || -> io::Result<()> {
                for buf in rx {
                    dst.write_all(&buf)?;
                    let _ = btx.try_send(buf);
                }
                dst.flush()
            });
            self.pipe = Some((tx, brx, writer));
            self.send(first)?;
        }
        let (tx, _, _) = self.pipe.as_ref().expect("started above");
        tx.send(b).map_err(|_| Error::Io {
            op: "writing",
            source: io::Error::from(io::ErrorKind::BrokenPipe),
        })
    }

    /// Writes what is held (unless the producer failed), or waits for the
    /// writer thread to finish.
    fn finish(mut self, produced: bool) -> io::Result<()> {
        match self.pipe.take() {
            Some((tx, _, writer)) => {
                drop(tx);
                writer.join().expect("the writer thread does not panic")
            }
            None => {
                let dst = self.dst.take().expect("not taken without a pipe");
                match self.held.take() {
                    Some(b) if produced => dst.write_all(&b)?,
                    _ => {}
                }
                dst.flush()
            }
        }
    }
}

/// Runs `produce` on this thread and writes what it sends to `dst`: on this
/// thread for a single buffer, else from a scoped writer thread. A write
/// error stops the producer at its next send and is the error returned.
fn write_behind<W: Write + Send>(
    dst: &mut W,
    produce: impl FnOnce(&mut Sink<'_, '_, W>) -> Result<(), Error>,
) -> Result<(), Error> {
    std::thread::scope(|scope| {
        let mut sink = Sink {
            scope,
            dst: Some(dst),
            held: None,
            pipe: None,
        };
        let produced = produce(&mut sink);
        sink.finish(produced.is_ok())
            .map_err(Error::io("writing"))?;
        produced
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn master() -> MasterKey {
        MasterKey::new([1; 16], Key32::from_bytes([2; 32]))
    }

    fn meta() -> Metadata {
        Metadata {
            name: "scan.pdf".into(),
            media_type: "application/pdf".into(),
            tags: vec![],
            added_ms: 1,
            trashed_ms: None,
        }
    }

    fn seal(pt: &[u8], id: [u8; 16]) -> (Vec<u8>, Sealed) {
        let mut out = Vec::new();
        let s = encrypt(&master(), id, &meta(), pt, None, &mut out, &mut |_| {}).unwrap();
        (out, s)
    }

    /// A length hint only sizes the first buffer: a source shorter or
    /// longer than its hint (a file that changed, a wrong caller) is still
    /// sealed in full, chunked exactly as without a hint.
    #[test]
    fn a_wrong_length_hint_changes_nothing_stored() {
        for n in [
            0,
            1,
            4096,
            CHUNK_SIZE - 1,
            CHUNK_SIZE,
            CHUNK_SIZE + 1,
            3 * CHUNK_SIZE + 7,
        ] {
            let pt: Vec<u8> = (0..n).map(|i| (i % 251) as u8).collect();
            let (plain_ct, _) = seal(&pt, [7; 16]);
            for hint in [0, 1, n / 2, n, n + 1, n + 5000, CHUNK_SIZE, 1 << 40] {
                let mut ct = Vec::new();
                let s = encrypt(
                    &master(),
                    [7; 16],
                    &meta(),
                    &pt[..],
                    Some(hint as u64),
                    &mut ct,
                    &mut |_| {},
                )
                .unwrap();
                assert_eq!(s.size, n as u64, "n={n} hint={hint}");
                assert_eq!(ct.len(), plain_ct.len(), "n={n} hint={hint}");
                assert_eq!(open(&ct, [7; 16]).unwrap(), pt, "n={n} hint={hint}");
            }
        }
    }

    fn open(ct: &[u8], id: [u8; 16]) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        decrypt(&master(), &id, None, ct, &mut out, &mut |_| {})?;
        Ok(out)
    }

    #[test]
    fn round_trip_sizes() {
        for n in [
            0,
            1,
            CHUNK_SIZE - 1,
            CHUNK_SIZE,
            CHUNK_SIZE + 1,
            5 * CHUNK_SIZE + 3,
            9 * CHUNK_SIZE,
        ] {
            let pt: Vec<u8> = (0..n).map(|i| (i % 251) as u8).collect();
            let (ct, s) = seal(&pt, [7; 16]);
            assert_eq!(s.size, n as u64);
            assert_eq!(s.blob_len, ct.len() as u64);
            assert_eq!(open(&ct, [7; 16]).unwrap(), pt, "n={n}");
        }
    }

    #[test]
    fn a_blob_is_bound_to_its_document_vault_and_key() {
        let (ct, _) = seal(b"hello", [7; 16]);
        assert!(matches!(open(&ct, [8; 16]), Err(Error::Corrupt { .. })));
        let other = MasterKey::new([1; 16], Key32::from_bytes([3; 32]));
        let mut out = Vec::new();
        let e = decrypt(&other, &[7; 16], None, &ct[..], &mut out, &mut |_| {}).unwrap_err();
        assert!(matches!(
            e,
            Error::Corrupt {
                reason: "key commitment does not match",
                ..
            }
        ));
        let other_vault = MasterKey::new([9; 16], Key32::from_bytes([2; 32]));
        let e = decrypt(&other_vault, &[7; 16], None, &ct[..], &mut out, &mut |_| {}).unwrap_err();
        assert!(matches!(
            e,
            Error::Corrupt {
                reason: "blob belongs to another vault",
                ..
            }
        ));
    }

    #[test]
    fn every_header_byte_is_authenticated() {
        let (ct, _) = seal(b"hello world", [7; 16]);
        let hlen = FIXED_LEN + (meta().encode().len() + TAG_LEN);
        for i in 0..hlen {
            let mut bad = ct.clone();
            bad[i] ^= 0x80;
            assert!(open(&bad, [7; 16]).is_err(), "byte {i}");
        }
    }

    #[test]
    fn truncation_and_extension_are_refused() {
        let pt = vec![5u8; 2 * CHUNK_SIZE];
        let (ct, _) = seal(&pt, [7; 16]);
        for cut in [
            0,
            10,
            FIXED_LEN,
            ct.len() - ENCRYPTED_CHUNK_SIZE,
            ct.len() - 1,
        ] {
            assert!(open(&ct[..cut], [7; 16]).is_err(), "cut={cut}");
        }
        let mut long = ct.clone();
        long.extend_from_slice(&[0; 17]);
        assert!(open(&long, [7; 16]).is_err());
    }

    #[test]
    fn a_header_from_another_version_of_the_document_is_refused_by_hash() {
        let (a, sa) = seal(b"version one", [7; 16]);
        let (b, _) = seal(b"version two", [7; 16]);
        let mut out = Vec::new();
        // Both are valid blobs for the document, but the index names only one.
        assert!(decrypt(
            &master(),
            &[7; 16],
            Some(&sa.header_hash),
            &a[..],
            &mut out,
            &mut |_| {}
        )
        .is_ok());
        let e = decrypt(
            &master(),
            &[7; 16],
            Some(&sa.header_hash),
            &b[..],
            &mut out,
            &mut |_| {},
        )
        .unwrap_err();
        assert!(matches!(e, Error::Corrupt { .. }));
    }

    #[test]
    fn a_failing_writer_stops_encryption_with_its_error() {
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::from(io::ErrorKind::StorageFull))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let pt = vec![0u8; 50 * CHUNK_SIZE];
        let e = encrypt(
            &master(),
            [7; 16],
            &meta(),
            &pt[..],
            None,
            &mut Full,
            &mut |_| {},
        )
        .unwrap_err();
        assert_eq!(e.code(), "disk_full");
    }
}
