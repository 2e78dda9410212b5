//! The blob header and chunk parser. Parsing and decrypting arbitrary bytes
//! under a fixed key never panics; a parsed header writes back byte for byte;
//! and whatever decrypts is the one canonical encoding of its contents
//! (re-encrypting with its salt gives the same bytes), so no mutation of a
//! valid blob is accepted. The seeds are valid blobs under this key (the test
//! vectors), so the fuzzer starts from inputs that reach the chunk loop.
#![no_main]
use coffer_core::blob::{self, BlobHeader};
use coffer_core::keys::MasterKey;
use coffer_core::secret::Key32;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((h, n)) = BlobHeader::parse(data) {
        assert_eq!(h.as_bytes(), &data[..n]);
    }
    let master = MasterKey::new([0x22; 16], Key32::from_bytes([0x11; 32]));
    let mut out = Vec::new();
    if let Ok(opened) = blob::decrypt(&master, &[0x33; 16], None, data, &mut out, &mut |_| {}) {
        let hdr = BlobHeader::with_salt(&master, [0x33; 16], opened.header.salt, &opened.meta);
        let mut again = Vec::new();
        blob::encrypt_with_header(hdr, &out[..], &mut again, &mut |_| {}).expect("in memory");
        assert_eq!(again, data);
    }
});
