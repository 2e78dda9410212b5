//! The vault header parser: never panics, and whatever it accepts it writes
//! back byte for byte.
#![no_main]
use coffer_core::header::Header;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(h) = Header::parse(data) {
        assert_eq!(h.to_bytes(), data);
    }
});
