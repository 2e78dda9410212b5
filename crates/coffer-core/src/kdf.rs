//! Argon2id: the passphrase slot's key-encryption key, its parameters, their
//! accepted range and their calibration at `init`.

use crate::secret::{Key32, Passphrase};
use crate::{Error, Result};
use std::time::{Duration, Instant};

/// Argon2id cost parameters as stored in a passphrase slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfParams {
    /// Memory in KiB (`m`).
    pub memory_kib: u32,
    /// Passes over memory (`t`).
    pub iterations: u32,
    /// Lanes (`p`).
    pub parallelism: u32,
}

/// Least memory accepted: 8 MiB. Below it a header is refused, so that a forged
/// header cannot silently weaken a slot.
pub const MIN_MEMORY_KIB: u32 = 8 * 1024;
/// Most memory accepted: 1 GiB, the most `init` ever chooses, so that an
/// edited header cannot exhaust memory or make one unlock take minutes.
pub const MAX_MEMORY_KIB: u32 = 1024 * 1024;
/// Most passes accepted: 16, for the same reason.
pub const MAX_ITERATIONS: u32 = 16;
/// Most lanes accepted.
pub const MAX_PARALLELISM: u32 = 16;

/// What `init` aims for: about half a second to unlock on the machine at hand.
pub const TARGET: Duration = Duration::from_millis(500);

impl KdfParams {
    /// RFC 9106's second recommended option (64 MiB, t=3, p=1), used as the
    /// starting point of calibration.
    pub const RFC9106_LOW_MEMORY: KdfParams = KdfParams {
        memory_kib: 64 * 1024,
        iterations: 3,
        parallelism: 1,
    };

    /// Refuses parameters outside the accepted range.
    pub fn check(&self) -> Result<()> {
        if self.memory_kib < MIN_MEMORY_KIB {
            return Err(Error::KdfParams("memory below 8 MiB"));
        }
        if self.memory_kib > MAX_MEMORY_KIB {
            return Err(Error::KdfParams("memory above 1 GiB"));
        }
        if self.iterations == 0 || self.iterations > MAX_ITERATIONS {
            return Err(Error::KdfParams("iterations must be 1..=16"));
        }
        if self.parallelism == 0 || self.parallelism > MAX_PARALLELISM {
            return Err(Error::KdfParams("parallelism must be 1..=16"));
        }
        if self.memory_kib < 8 * self.parallelism {
            return Err(Error::KdfParams("memory below 8 KiB per lane"));
        }
        Ok(())
    }

    /// Picks parameters that take about [`TARGET`] here: t=3, p=1 and as much
    /// memory as fits the time, never below 64 MiB (on a slow machine the time
    /// grows instead) and never above 1 GiB. A small probe gives a first guess,
    /// then up to two full-size runs correct it (memory cost is not linear:
    /// caches, page faults), so `init` spends about a second here.
    pub fn calibrate() -> KdfParams {
        let salt = [0u8; 32];
        let pass = Passphrase::new("calibration".into());
        let time = |p: &KdfParams| {
            let start = Instant::now();
            let _ = derive(&pass, &salt, p);
            start.elapsed().as_secs_f64()
        };
        let clamp = |kib: f64| ((kib as u64 / 1024) * 1024).clamp(64 * 1024, 1024 * 1024) as u32;
        let probe = KdfParams {
            memory_kib: 32 * 1024,
            iterations: 1,
            parallelism: 1,
        };
        let per_kib_pass = time(&probe) / f64::from(probe.memory_kib);
        let mut p = KdfParams {
            memory_kib: clamp(TARGET.as_secs_f64() / (per_kib_pass * 3.0)),
            iterations: 3,
            parallelism: 1,
        };
        for _ in 0..2 {
            let ratio = TARGET.as_secs_f64() / time(&p);
            if (0.92..=1.08).contains(&ratio) {
                break;
            }
            let next = clamp(f64::from(p.memory_kib) * ratio);
            if next == p.memory_kib {
                break;
            }
            p.memory_kib = next;
        }
        p
    }
}

/// `Argon2id(passphrase, salt, m, t, p) -> 32 bytes`.
pub fn derive(pass: &Passphrase, salt: &[u8], p: &KdfParams) -> Result<Key32> {
    p.check()?;
    let params = argon2::Params::new(p.memory_kib, p.iterations, p.parallelism, Some(32))
        .map_err(|_| Error::KdfParams("rejected by Argon2"))?;
    let a = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut out = zeroize::Zeroizing::new([0u8; 32]);
    a.hash_password_into(pass.expose(), salt, out.as_mut())
        .map_err(|_| Error::KdfParams("rejected by Argon2"))?;
    Ok(Key32::from_bytes(*out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_is_enforced() {
        let ok = KdfParams {
            memory_kib: MIN_MEMORY_KIB,
            iterations: 1,
            parallelism: 1,
        };
        assert!(ok.check().is_ok());
        for bad in [
            KdfParams {
                memory_kib: MIN_MEMORY_KIB - 1,
                ..ok
            },
            KdfParams {
                memory_kib: MAX_MEMORY_KIB + 1,
                ..ok
            },
            KdfParams {
                iterations: 0,
                ..ok
            },
            KdfParams {
                iterations: 65,
                ..ok
            },
            KdfParams {
                parallelism: 0,
                ..ok
            },
            KdfParams {
                parallelism: 17,
                ..ok
            },
        ] {
            assert!(bad.check().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn argon2id_matches_rfc9106_style_vector_shape() {
        // Determinism and sensitivity: same inputs, same key; any change, another key.
        let p = KdfParams {
            memory_kib: MIN_MEMORY_KIB,
            iterations: 1,
            parallelism: 1,
        };
        let pw = Passphrase::new("correct horse battery".into());
        let a = derive(&pw, &[1; 32], &p).unwrap();
        assert_eq!(a, derive(&pw, &[1; 32], &p).unwrap());
        assert_ne!(a, derive(&pw, &[2; 32], &p).unwrap());
        assert_ne!(
            a,
            derive(&pw, &[1; 32], &KdfParams { iterations: 2, ..p }).unwrap()
        );
        let other = Passphrase::new("correct horse batterz".into());
        assert_ne!(a, derive(&other, &[1; 32], &p).unwrap());
    }
}
