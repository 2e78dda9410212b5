//! The vault header file `coffer.header`: format version, vault id, generation
//! and key slots, each wrapping the same master key, all under a MAC keyed from
//! the master key.
//!
//! ```text
//! header   = magic version vault_id generation slot_count slot{slot_count} mac
//! magic    = "CoFfErHd"                      ; 8 bytes
//! version  = u16be(1)
//! vault_id = 16 random bytes
//! generation = u64be                         ; +1 on every rewrite
//! slot_count = u8                            ; 1..=8
//! slot     = kind params salt nonce wrapped
//! kind     = u8: 1 = passphrase (Argon2id), 2 = recovery key (HKDF)
//! params   = u32be(m_kib) u32be(t) u32be(p)   ; kind 1 only
//! salt     = 32 random bytes
//! nonce    = 12 random bytes
//! wrapped  = AEAD[KEK, nonce, slot_aad](master_key)   ; 48 bytes
//! slot_aad = "coffer/v1/slot" magic version vault_id kind params salt
//! KEK      = Argon2id(passphrase, salt, m, t, p)                 ; kind 1
//!          | HKDF[salt, "coffer/v1/slot-recovery"](recovery, 32)  ; kind 2
//! mac      = HMAC[K_header](all preceding bytes)
//! K_header = HKDF[vault_id, "coffer/v1/header-mac"](master_key, 32)
//! ```

use crate::crypto;
use crate::kdf::{self, KdfParams};
use crate::keys::MasterKey;
use crate::recovery::RecoveryKey;
use crate::secret::{Key32, Passphrase};
use crate::{Error, Result};

/// The header's first eight bytes.
pub const MAGIC: &[u8; 8] = b"CoFfErHd";
/// The header format version this build writes and reads.
pub const VERSION: u16 = 1;
/// Most slots a header may hold.
pub const MAX_SLOTS: usize = 8;
const WRAPPED_LEN: usize = 32 + crypto::TAG_LEN;

/// How a slot's key-encryption key is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotKind {
    /// Argon2id over a passphrase.
    Passphrase(KdfParams),
    /// HKDF over a 256-bit recovery key.
    Recovery,
}

/// One way to unlock: the master key wrapped under one key-encryption key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    /// How the KEK is derived.
    pub kind: SlotKind,
    /// KDF salt.
    pub salt: [u8; 32],
    /// AES-GCM nonce of the wrap.
    pub nonce: [u8; 12],
    /// `AEAD[KEK, nonce, slot_aad](master_key)`.
    pub wrapped: [u8; WRAPPED_LEN],
}

/// The parsed header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Random id of the vault; salt of every master-key derivation.
    pub vault_id: [u8; 16],
    /// Incremented on every rewrite; the index remembers the newest it saw.
    pub generation: u64,
    /// Key slots.
    pub slots: Vec<Slot>,
    /// The MAC as read (zero until [`Header::seal`]).
    pub mac: [u8; 32],
}

/// A secret that opens a slot.
pub enum Unlocker<'a> {
    /// A passphrase, for passphrase slots.
    Passphrase(&'a Passphrase),
    /// A recovery key, for recovery slots.
    Recovery(&'a RecoveryKey),
}

impl Slot {
    fn kind_bytes(&self) -> Vec<u8> {
        match self.kind {
            SlotKind::Passphrase(p) => {
                let mut v = vec![1u8];
                v.extend_from_slice(&p.memory_kib.to_be_bytes());
                v.extend_from_slice(&p.iterations.to_be_bytes());
                v.extend_from_slice(&p.parallelism.to_be_bytes());
                v
            }
            SlotKind::Recovery => vec![2u8],
        }
    }

    fn aad(&self, vault_id: &[u8; 16]) -> Vec<u8> {
        let mut a = b"coffer/v1/slot".to_vec();
        a.extend_from_slice(MAGIC);
        a.extend_from_slice(&VERSION.to_be_bytes());
        a.extend_from_slice(vault_id);
        a.extend_from_slice(&self.kind_bytes());
        a.extend_from_slice(&self.salt);
        a
    }

    fn kek(&self, unlocker: &Unlocker<'_>) -> Option<Result<Key32>> {
        match (self.kind, unlocker) {
            (SlotKind::Passphrase(p), Unlocker::Passphrase(pw)) => {
                Some(kdf::derive(pw, &self.salt, &p))
            }
            (SlotKind::Recovery, Unlocker::Recovery(rk)) => Some(Ok(crypto::hkdf_key(
                &self.salt,
                rk.expose(),
                &[b"coffer/v1/slot-recovery"],
            ))),
            _ => None,
        }
    }

    /// A new slot of `kind` wrapping `master` under the KEK from `unlocker`.
    pub fn wrap(
        vault_id: &[u8; 16],
        kind: SlotKind,
        unlocker: &Unlocker<'_>,
        master: &MasterKey,
    ) -> Result<Slot> {
        let mut slot = Slot {
            kind,
            salt: crypto::random_array(),
            nonce: crypto::random_array(),
            wrapped: [0; WRAPPED_LEN],
        };
        let kek = slot
            .kek(unlocker)
            .ok_or(Error::Invalid("slot kind and secret differ".into()))??;
        let ct = crypto::seal(&kek, slot.nonce, &slot.aad(vault_id), master.key().expose());
        slot.wrapped.copy_from_slice(&ct);
        Ok(slot)
    }

    fn unwrap_master(&self, vault_id: &[u8; 16], unlocker: &Unlocker<'_>) -> Option<MasterKey> {
        let kek = self.kek(unlocker)?.ok()?;
        let pt = crypto::open(&kek, self.nonce, &self.aad(vault_id), &self.wrapped)?;
        let mut k = zeroize::Zeroizing::new([0u8; 32]);
        k.copy_from_slice(&pt);
        Some(MasterKey::new(*vault_id, Key32::from_bytes(*k)))
    }
}

impl Header {
    /// Serializes everything but the MAC.
    fn body(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(64 + self.slots.len() * 120);
        b.extend_from_slice(MAGIC);
        b.extend_from_slice(&VERSION.to_be_bytes());
        b.extend_from_slice(&self.vault_id);
        b.extend_from_slice(&self.generation.to_be_bytes());
        b.push(self.slots.len() as u8);
        for s in &self.slots {
            b.extend_from_slice(&s.kind_bytes());
            b.extend_from_slice(&s.salt);
            b.extend_from_slice(&s.nonce);
            b.extend_from_slice(&s.wrapped);
        }
        b
    }

    /// Computes the MAC under `master` and returns the full encoding.
    pub fn seal(&mut self, master: &MasterKey) -> Vec<u8> {
        let body = self.body();
        self.mac = crypto::hmac(&master.header_mac_key(), &[&body]);
        let mut out = body;
        out.extend_from_slice(&self.mac);
        out
    }

    /// The encoding with the MAC as stored (no key needed): what
    /// [`Header::parse`] read, byte for byte.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.body();
        out.extend_from_slice(&self.mac);
        out
    }

    /// Opens the first slot that `unlocker` fits and checks the MAC.
    pub fn unlock(&self, unlocker: &Unlocker<'_>) -> Result<MasterKey> {
        let master = self
            .slots
            .iter()
            .find_map(|s| s.unwrap_master(&self.vault_id, unlocker))
            .ok_or(Error::WrongSecret)?;
        let expect = crypto::hmac(&master.header_mac_key(), &[&self.body()]);
        if !crypto::ct_eq(&expect, &self.mac) {
            return Err(Error::HeaderTampered("header MAC does not verify"));
        }
        Ok(master)
    }

    /// Parses a header. Refuses anything malformed, unknown, out of range or
    /// followed by trailing bytes. Does not check the MAC (that needs the key).
    pub fn parse(bytes: &[u8]) -> Result<Header> {
        let mut r = Reader(bytes);
        if r.take(8)? != MAGIC {
            return Err(Error::HeaderCorrupt("not a Coffer vault header"));
        }
        let version = r.u16()?;
        if version != VERSION {
            return Err(Error::UnsupportedVersion(version));
        }
        let vault_id = r.array::<16>()?;
        let generation = r.u64()?;
        let n = r.u8()? as usize;
        if n == 0 || n > MAX_SLOTS {
            return Err(Error::HeaderCorrupt("slot count out of range"));
        }
        let mut slots = Vec::with_capacity(n);
        for _ in 0..n {
            let kind = match r.u8()? {
                1 => {
                    let p = KdfParams {
                        memory_kib: r.u32()?,
                        iterations: r.u32()?,
                        parallelism: r.u32()?,
                    };
                    p.check()?;
                    SlotKind::Passphrase(p)
                }
                2 => SlotKind::Recovery,
                _ => return Err(Error::HeaderCorrupt("unknown slot kind")),
            };
            slots.push(Slot {
                kind,
                salt: r.array()?,
                nonce: r.array()?,
                wrapped: r.array()?,
            });
        }
        // Coffer writes one slot of each kind; more would only let an edited
        // header multiply the Argon2id work of one unlock attempt.
        let passphrase_slots = slots
            .iter()
            .filter(|s| matches!(s.kind, SlotKind::Passphrase(_)))
            .count();
        if passphrase_slots > 1 || slots.len() - passphrase_slots > 1 {
            return Err(Error::HeaderCorrupt("more than one slot of a kind"));
        }
        let mac = r.array::<32>()?;
        if !r.0.is_empty() {
            return Err(Error::HeaderCorrupt("trailing bytes"));
        }
        Ok(Header {
            vault_id,
            generation,
            slots,
            mac,
        })
    }
}

struct Reader<'a>(&'a [u8]);
impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let (a, b) = self
            .0
            .split_at_checked(n)
            .ok_or(Error::HeaderCorrupt("truncated"))?;
        self.0 = b;
        Ok(a)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.array::<1>()?[0])
    }
    fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_be_bytes(self.array()?))
    }
    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_be_bytes(self.array()?))
    }
    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_be_bytes(self.array()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAST: KdfParams = KdfParams {
        memory_kib: kdf::MIN_MEMORY_KIB,
        iterations: 1,
        parallelism: 1,
    };

    fn sample() -> (Header, Vec<u8>, Passphrase, RecoveryKey) {
        let vault_id = crypto::random_array();
        let master = MasterKey::new(vault_id, Key32::random());
        let pw = Passphrase::new("correct horse battery".into());
        let rk = RecoveryKey::generate();
        let slots = vec![
            Slot::wrap(
                &vault_id,
                SlotKind::Passphrase(FAST),
                &Unlocker::Passphrase(&pw),
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
        let mut h = Header {
            vault_id,
            generation: 1,
            slots,
            mac: [0; 32],
        };
        let bytes = h.seal(&master);
        (h, bytes, pw, rk)
    }

    #[test]
    fn round_trip_and_both_slots_open_the_same_key() {
        let (h, bytes, pw, rk) = sample();
        let parsed = Header::parse(&bytes).unwrap();
        assert_eq!(parsed, h);
        let a = parsed.unlock(&Unlocker::Passphrase(&pw)).unwrap();
        let b = parsed.unlock(&Unlocker::Recovery(&rk)).unwrap();
        assert_eq!(a.key(), b.key());
    }

    #[test]
    fn wrong_passphrase_is_refused() {
        let (h, _, _, _) = sample();
        let bad = Passphrase::new("correct horse batterx".into());
        assert!(matches!(
            h.unlock(&Unlocker::Passphrase(&bad)),
            Err(Error::WrongSecret)
        ));
        let other = RecoveryKey::generate();
        assert!(matches!(
            h.unlock(&Unlocker::Recovery(&other)),
            Err(Error::WrongSecret)
        ));
    }

    #[test]
    fn every_flipped_byte_is_refused() {
        let (_, bytes, pw, _) = sample();
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x01;
            let ok = Header::parse(&b).and_then(|h| h.unlock(&Unlocker::Passphrase(&pw)));
            assert!(ok.is_err(), "flip at byte {i} went unnoticed");
        }
    }

    #[test]
    fn rolled_back_generation_is_refused_by_the_mac() {
        let (_, bytes, pw, _) = sample();
        let mut b = bytes.clone();
        // generation sits after magic(8) version(2) vault_id(16)
        b[26..34].copy_from_slice(&0u64.to_be_bytes());
        let h = Header::parse(&b).unwrap();
        assert!(matches!(
            h.unlock(&Unlocker::Passphrase(&pw)),
            Err(Error::HeaderTampered(_))
        ));
    }

    #[test]
    fn truncations_and_trailing_bytes_are_refused() {
        let (_, bytes, _, _) = sample();
        for n in 0..bytes.len() {
            assert!(Header::parse(&bytes[..n]).is_err());
        }
        let mut long = bytes.clone();
        long.push(0);
        assert!(Header::parse(&long).is_err());
    }
}
