//! The metadata decoder: never panics, and round-trips what it accepts.
#![no_main]
use coffer_core::meta::Metadata;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(m) = Metadata::decode(data) {
        assert_eq!(m.encode(), data);
    }
});
