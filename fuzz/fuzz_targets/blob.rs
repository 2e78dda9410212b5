//! The blob header and chunk parser: parsing and decrypting arbitrary bytes
//! under a fixed key never panics, never succeeds on a forged input, and a
//! parsed header writes back byte for byte.
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
    let r = blob::decrypt(&master, &[0x33; 16], None, data, &mut out, &mut |_| {});
    // Without the key, no input authenticates (2^-128 per try).
    assert!(r.is_err());
});
