//! Test vectors for the formats in SECURITY.md, as files in `testdata/vectors/`,
//! each opening with `expect: success` or `expect: failure`. One test checks
//! them all; `cargo test -p coffer-core --test vectors -- --ignored` writes
//! them anew (only when the format changes on purpose).
//!
//! Blob vector fields: `master_key`, `vault_id`, `doc_id`, `salt` (hex);
//! `name`, `media_type`, `added_ms`, `tags` (the sealed metadata);
//! `plaintext` (hex, or `pattern(N)`: N bytes, byte i = i mod 251);
//! `expected_doc_id` (hex, the document the reader expects); `blob` (hex).
//! Header vector fields: `passphrase` or `recovery_key`, `header` (hex),
//! `master_key` (hex, expected on success).

#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

use coffer_core::blob::{self, BlobHeader};
use coffer_core::crypto::{hex, unhex};
use coffer_core::header::{Header, Slot, SlotKind, Unlocker};
use coffer_core::kdf::KdfParams;
use coffer_core::keys::MasterKey;
use coffer_core::meta::Metadata;
use coffer_core::recovery::RecoveryKey;
use coffer_core::secret::{Key32, Passphrase};
use std::collections::BTreeMap;
use std::path::PathBuf;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/vectors")
}

fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}

fn parse(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn h<const N: usize>(m: &BTreeMap<String, String>, k: &str) -> [u8; N] {
    unhex(&m[k]).unwrap().try_into().unwrap()
}

fn plaintext(m: &BTreeMap<String, String>) -> Vec<u8> {
    let p = &m["plaintext"];
    match p.strip_prefix("pattern(").and_then(|r| r.strip_suffix(')')) {
        Some(n) => pattern(n.parse().unwrap()),
        None => unhex(p).unwrap(),
    }
}

fn meta(m: &BTreeMap<String, String>) -> Metadata {
    Metadata {
        name: m["name"].clone(),
        media_type: m["media_type"].clone().into(),
        tags: m["tags"]
            .split(',')
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect(),
        added_ms: m["added_ms"].parse().unwrap(),
        trashed_ms: None,
    }
}

#[test]
fn all_vectors() {
    let mut n = 0;
    let mut entries: Vec<_> = std::fs::read_dir(dir()).unwrap().flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let text = std::fs::read_to_string(e.path()).unwrap();
        let m = parse(&text);
        let name = e.file_name().to_string_lossy().into_owned();
        let ok = match m["expect"].as_str() {
            "success" => true,
            "failure" => false,
            other => panic!("{name}: unknown expectation {other}"),
        };
        if name.starts_with("blob-") {
            check_blob(&name, &m, ok);
        } else if name.starts_with("header-") {
            check_header(&name, &m, ok);
        } else {
            panic!("{name}: unknown vector kind");
        }
        n += 1;
    }
    assert!(n >= 12, "only {n} vectors");
}

fn check_blob(name: &str, m: &BTreeMap<String, String>, ok: bool) {
    let master = MasterKey::new(h(m, "vault_id"), Key32::from_bytes(h(m, "master_key")));
    let want_doc: [u8; 16] = h(m, "expected_doc_id");
    let blob_bytes = unhex(&m["blob"]).unwrap();
    let mut out = Vec::new();
    let res = blob::decrypt(
        &master,
        &want_doc,
        None,
        &blob_bytes[..],
        &mut out,
        &mut |_| {},
    );
    if ok {
        let opened = res.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(out, plaintext(m), "{name}: plaintext");
        assert_eq!(opened.meta, meta(m), "{name}: metadata");
        // Encryption with the same salt reproduces the exact bytes.
        let hdr = BlobHeader::with_salt(&master, h(m, "doc_id"), h(m, "salt"), &meta(m));
        let mut again = Vec::new();
        blob::encrypt_with_header(hdr, &plaintext(m)[..], &mut again, &mut |_| {}).unwrap();
        assert_eq!(hex(&again), m["blob"], "{name}: re-encryption differs");
    } else {
        assert!(res.is_err(), "{name}: expected failure");
    }
}

fn check_header(name: &str, m: &BTreeMap<String, String>, ok: bool) {
    let bytes = unhex(&m["header"]).unwrap();
    let res = Header::parse(&bytes).and_then(|hd| {
        if let Some(p) = m.get("passphrase") {
            hd.unlock(&Unlocker::Passphrase(&Passphrase::new(p.clone())))
        } else {
            hd.unlock(&Unlocker::Recovery(
                &RecoveryKey::parse(&m["recovery_key"]).unwrap(),
            ))
        }
    });
    if ok {
        let master = res.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(hex(master.key().expose()), m["master_key"], "{name}");
    } else {
        assert!(res.is_err(), "{name}: expected failure");
    }
}

// ----- generation -------------------------------------------------------------

struct Blob {
    file: &'static str,
    desc: &'static str,
    plaintext: String,
    tags: &'static str,
}

struct BlobVector {
    md: Metadata,
    tags: &'static str,
    plaintext: String,
    vault_id: [u8; 16],
    doc_id: [u8; 16],
    salt: [u8; 32],
}

impl BlobVector {
    fn text(
        &self,
        expect: &str,
        desc: &str,
        blob: &[u8],
        expected_doc: [u8; 16],
        mk: [u8; 32],
    ) -> String {
        format!(
            "# Coffer blob vector: {desc}\nexpect: {expect}\nmaster_key: {}\nvault_id: {}\ndoc_id: {}\nexpected_doc_id: {}\nsalt: {}\nname: {}\nmedia_type: {}\nadded_ms: {}\ntags: {}\nplaintext: {}\nblob: {}\n",
            hex(&mk),
            hex(&self.vault_id),
            hex(&self.doc_id),
            hex(&expected_doc),
            hex(&self.salt),
            self.md.name,
            self.md.media_type,
            self.md.added_ms,
            self.tags,
            self.plaintext,
            hex(blob)
        )
    }
}

#[test]
#[ignore = "writes testdata/vectors; run only when the format changes on purpose"]
fn regenerate() {
    let d = dir();
    std::fs::create_dir_all(&d).unwrap();
    for e in std::fs::read_dir(&d).unwrap().flatten() {
        std::fs::remove_file(e.path()).unwrap();
    }
    let master_key = [0x11u8; 32];
    let vault_id = [0x22u8; 16];
    let doc_id = [0x33u8; 16];
    let salt = [0x44u8; 32];
    let master = MasterKey::new(vault_id, Key32::from_bytes(master_key));
    let chunk = coffer_core::stream::CHUNK_SIZE;
    let cases = [
        Blob {
            file: "blob-01-empty",
            desc: "empty document: one empty final chunk",
            plaintext: String::new(),
            tags: "",
        },
        Blob {
            file: "blob-02-one-byte",
            desc: "one byte",
            plaintext: "2a".into(),
            tags: "a",
        },
        Blob {
            file: "blob-03-hello",
            desc: "short text with tags",
            plaintext: hex(b"hello, coffer\n"),
            tags: "legal,2026",
        },
        Blob {
            file: "blob-04-chunk",
            desc: "exactly one chunk (full final chunk)",
            plaintext: format!("pattern({chunk})"),
            tags: "",
        },
        Blob {
            file: "blob-05-chunk-plus-one",
            desc: "one chunk and one byte",
            plaintext: format!("pattern({})", chunk + 1),
            tags: "",
        },
    ];
    let mut blobs = Vec::new();
    for c in &cases {
        let md = Metadata {
            name: "Contrat signé.pdf".into(),
            media_type: "application/pdf".into(),
            tags: c
                .tags
                .split(',')
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect(),
            added_ms: 1_795_310_445_123,
            trashed_ms: None,
        };
        let mut fields = BTreeMap::new();
        fields.insert("plaintext".to_owned(), c.plaintext.clone());
        let pt = plaintext(&fields);
        let hdr = BlobHeader::with_salt(&master, doc_id, salt, &md);
        let mut out = Vec::new();
        blob::encrypt_with_header(hdr, &pt[..], &mut out, &mut |_| {}).unwrap();
        let v = BlobVector {
            md,
            tags: c.tags,
            plaintext: c.plaintext.clone(),
            vault_id,
            doc_id,
            salt,
        };
        std::fs::write(
            d.join(c.file),
            v.text("success", c.desc, &out, doc_id, master_key),
        )
        .unwrap();
        blobs.push((v, out));
    }
    // Failures derived from the valid blobs.
    let (v5, b5) = &blobs[4];
    let hlen = b5.len() - (chunk + 1) - 2 * 16;
    let enc = chunk + 16;
    let fail = |file: &str, desc: &str, blob: &[u8], doc: [u8; 16], mk: [u8; 32]| {
        std::fs::write(d.join(file), v5.text("failure", desc, blob, doc, mk)).unwrap();
    };
    fail(
        "blob-10-truncated-at-boundary",
        "the final chunk removed: the first chunk was sealed as not final",
        &b5[..hlen + enc],
        doc_id,
        master_key,
    );
    fail(
        "blob-11-truncated-in-tag",
        "the last byte removed",
        &b5[..b5.len() - 1],
        doc_id,
        master_key,
    );
    let mut appended = b5.clone();
    appended.push(0);
    fail(
        "blob-12-appended-byte",
        "one byte after the final chunk",
        &appended,
        doc_id,
        master_key,
    );
    let mut flipped = b5.clone();
    flipped[hlen + 100] ^= 1;
    fail(
        "blob-13-flipped-payload-bit",
        "one bit of the first chunk flipped",
        &flipped,
        doc_id,
        master_key,
    );
    let mut meta_flip = b5.clone();
    meta_flip[hlen - 1] ^= 1;
    fail(
        "blob-14-flipped-metadata-bit",
        "one bit of the sealed metadata flipped",
        &meta_flip,
        doc_id,
        master_key,
    );
    fail(
        "blob-15-other-document",
        "a valid blob read as another document",
        b5,
        [0x55; 16],
        master_key,
    );
    fail(
        "blob-16-other-master-key",
        "a valid blob read under another master key (key commitment)",
        b5,
        doc_id,
        [0x12; 32],
    );
    let mut commit = b5.clone();
    commit[78] ^= 1;
    fail(
        "blob-17-bad-commitment",
        "the key commitment altered",
        &commit,
        doc_id,
        master_key,
    );

    // Headers: a real one (random salts and nonces), unlocked by both slots.
    let params = KdfParams {
        memory_kib: coffer_core::kdf::MIN_MEMORY_KIB,
        iterations: 1,
        parallelism: 1,
    };
    let pass = Passphrase::new("correct horse battery staple".into());
    let rk = RecoveryKey::generate();
    let slots = vec![
        Slot::wrap(
            &vault_id,
            SlotKind::Passphrase(params),
            &Unlocker::Passphrase(&pass),
            &master,
        )
        .unwrap(),
        Slot::wrap(
            &vault_id,
            SlotKind::Recovery,
            &Unlocker::Recovery(&rk),
            &master,
        )
        .unwrap(),
    ];
    let mut hd = Header {
        vault_id,
        generation: 7,
        slots,
        mac: [0; 32],
    };
    let bytes = hd.seal(&master);
    let rkt = rk.to_text();
    let hv = |file: &str, desc: &str, expect: &str, secret: &str, b: &[u8]| {
        std::fs::write(
            d.join(file),
            format!("# Coffer header vector: {desc}\nexpect: {expect}\n{secret}\nheader: {}\nmaster_key: {}\n", hex(b), hex(&master_key)),
        )
        .unwrap();
    };
    hv(
        "header-01-passphrase",
        "opened by the passphrase slot",
        "success",
        "passphrase: correct horse battery staple",
        &bytes,
    );
    hv(
        "header-02-recovery",
        "opened by the recovery slot",
        "success",
        &format!("recovery_key: {}", rkt.as_str()),
        &bytes,
    );
    hv(
        "header-03-wrong-passphrase",
        "a wrong passphrase",
        "failure",
        "passphrase: correct horse battery stapler",
        &bytes,
    );
    let mut gen = bytes.clone();
    gen[33] ^= 1;
    hv(
        "header-04-generation-changed",
        "generation rolled back by one: the MAC fails",
        "failure",
        "passphrase: correct horse battery staple",
        &gen,
    );
    let mut kdf = bytes.clone();
    kdf[38] ^= 1;
    hv(
        "header-05-kdf-memory-changed",
        "Argon2id memory changed: the slot's AAD fails",
        "failure",
        "passphrase: correct horse battery staple",
        &kdf,
    );
}
