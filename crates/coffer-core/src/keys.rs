//! The master key and every key derived from it.
//!
//! ```text
//! K_header   = HKDF[vault_id, "coffer/v1/header-mac"](master_key, 32)
//! K_meta     = HKDF[vault_id, "coffer/v1/metadata"](master_key, 32)
//! K_manifest = HKDF[vault_id, "coffer/v1/manifest"](master_key, 32)
//! K_audit    = HKDF[vault_id, "coffer/v1/audit"](master_key, 32)
//! ```
//! Per-document keys are derived in [`crate::blob`].

use crate::crypto;
use crate::secret::Key32;

/// The vault's random 256-bit master key, with the vault id it belongs to.
/// Wiped on drop (through [`Key32`]).
#[derive(Debug)]
pub struct MasterKey {
    vault_id: [u8; 16],
    key: Key32,
}

impl MasterKey {
    /// Pairs a key with its vault id.
    pub fn new(vault_id: [u8; 16], key: Key32) -> Self {
        MasterKey { vault_id, key }
    }

    /// A fresh random master key for a new vault.
    pub fn generate(vault_id: [u8; 16]) -> Self {
        Self::new(vault_id, Key32::random())
    }

    /// The raw key (for slot wrapping and per-document derivation).
    pub fn key(&self) -> &Key32 {
        &self.key
    }

    /// The vault id.
    pub fn vault_id(&self) -> &[u8; 16] {
        &self.vault_id
    }

    fn derive(&self, label: &[u8]) -> Key32 {
        crypto::hkdf_key(&self.vault_id, self.key.expose(), &[label])
    }

    /// `K_header`.
    pub fn header_mac_key(&self) -> Key32 {
        self.derive(b"coffer/v1/header-mac")
    }
    /// `K_meta`.
    pub fn metadata_key(&self) -> Key32 {
        self.derive(b"coffer/v1/metadata")
    }
    /// `K_manifest`.
    pub fn manifest_key(&self) -> Key32 {
        self.derive(b"coffer/v1/manifest")
    }
    /// `K_audit`.
    pub fn audit_key(&self) -> Key32 {
        self.derive(b"coffer/v1/audit")
    }
    /// `K_fold`: folds entry MACs into the manifest digest (never stored).
    pub fn fold_key(&self) -> Key32 {
        self.derive(b"coffer/v2/manifest-fold")
    }
    /// `K_rekey`: wraps the next master key and recovery key during a key
    /// rotation.
    pub fn rekey_key(&self) -> Key32 {
        self.derive(b"coffer/v2/rekey")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_keys_are_distinct() {
        let m = MasterKey::new([3; 16], Key32::from_bytes([9; 32]));
        let ks = [
            m.header_mac_key(),
            m.metadata_key(),
            m.manifest_key(),
            m.audit_key(),
            m.fold_key(),
            m.rekey_key(),
        ];
        for i in 0..ks.len() {
            for j in i + 1..ks.len() {
                assert_ne!(ks[i], ks[j]);
            }
            assert_ne!(&ks[i], m.key());
        }
        let other_vault = MasterKey::new([4; 16], Key32::from_bytes([9; 32]));
        assert_ne!(other_vault.metadata_key(), m.metadata_key());
    }
}
