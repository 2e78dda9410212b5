//! Sharing one document as a standard age file (<https://age-encryption.org/v1>):
//! who it may be for, and the encryptor that writes it.
//!
//! ```text
//! recipient  = "age1" 52*bech32char 6*bech32char   ; Bech32 (not Bech32m), HRP "age",
//!                                                   ; 32 bytes, lowercase, canonical padding
//! bech32char = "0" / "2"-"9" / "a" / "c"-"h" / "j"-"n" / "p"-"z"   ; no 1, b, i, o
//! share file = age v1 header (one X25519 stanza per recipient, or one scrypt
//!              stanza, N = 2^18) || 16-byte nonce || STREAM[ChaCha20-Poly1305](plaintext)
//! ```
//!
//! Only X25519 recipients are taken: no SSH keys (their stanzas name the key,
//! and `age` needs the matching SSH private key), no plugins (they run
//! programs), no secret keys pasted by mistake. A recipient is checked in
//! full (checksum, padding, the point not of small order) before any byte is
//! written, and the error says which one failed (its position) without
//! repeating its text: a pasted secret key must not reach a screen or a log.

use crate::secret::Passphrase;
use std::fmt;

/// Most recipients in one share.
pub const MAX_RECIPIENTS: usize = 20;

/// The shape of a recipient, for a UI's first check (the desktop app's
/// isolation hook): `age1` then 58 Bech32 characters, lowercase. The
/// checksum, the padding bits and the point are checked only here
/// ([`parse_recipient`]).
pub const RECIPIENT_PATTERN: &str = "^age1[02-9ac-hj-np-z]{58}$";

/// [`RECIPIENT_PATTERN`] with the padding rule too: 32 bytes are 256 bits in
/// 52 five-bit characters, so the 52nd leaves its last 4 bits zero (`q` = 0
/// or `s` = 16). Every canonical encoding matches; only the checksum and the
/// point remain for [`parse_recipient`].
pub const RECIPIENT_PATTERN_EXACT: &str = "^age1[02-9ac-hj-np-z]{51}[qs][02-9ac-hj-np-z]{6}$";

/// The scrypt work factor of a passphrase share: `N = 2^18` (256 MiB, about
/// a second), the `age` command's own default, so every age implementation
/// opens it (rage accepts up to its calibrated factor + 4, Go age up to 22).
pub const SCRYPT_LOG_N: u8 = 18;

/// Why a list of recipients is refused. `at` is the recipient's position in
/// the list, from 1; the recipient's text is never repeated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecipientError {
    /// The list is empty.
    #[error("no recipient given (an age public key, age1…)")]
    None,
    /// More than [`MAX_RECIPIENTS`].
    #[error("too many recipients: at most {max}")]
    TooMany {
        /// [`MAX_RECIPIENTS`].
        max: usize,
    },
    /// Whitespace or a control character anywhere (a key pasted with its
    /// line break, or two keys in one argument).
    #[error("recipient {at} holds a space, line break or control character; give each age1… key on its own, exactly")]
    Whitespace {
        /// Position, from 1.
        at: usize,
    },
    /// An age secret key (`AGE-SECRET-KEY-1…`): never share it.
    #[error("recipient {at} is an age secret key, not a public key: give its public key (age-keygen -y) and keep the secret key to yourself")]
    SecretKey {
        /// Position, from 1.
        at: usize,
    },
    /// An SSH public key.
    #[error("recipient {at} is an SSH key; only age X25519 public keys (age1…) are accepted")]
    Ssh {
        /// Position, from 1.
        at: usize,
    },
    /// A plugin recipient (`age1NAME1…`): plugins run programs.
    #[error("recipient {at} is an age plugin recipient; only age X25519 public keys (age1…) are accepted")]
    Plugin {
        /// Position, from 1.
        at: usize,
    },
    /// Not a valid X25519 recipient: wrong prefix, length, characters, case,
    /// checksum or padding.
    #[error("recipient {at} is not a valid age public key (age1 followed by 58 lowercase Bech32 characters)")]
    Malformed {
        /// Position, from 1.
        at: usize,
    },
    /// A point of small order: every X25519 share with it is the same
    /// (zero) secret, so anyone could open the file.
    #[error("recipient {at} is not a usable age public key (a point of small order)")]
    SmallOrder {
        /// Position, from 1.
        at: usize,
    },
    /// The same key twice.
    #[error("recipient {at} repeats recipient {first}")]
    Duplicate {
        /// Position, from 1.
        at: usize,
        /// The first position of the same key.
        first: usize,
    },
}

impl RecipientError {
    /// A stable code for scripts and the UI.
    pub fn code(&self) -> &'static str {
        match self {
            RecipientError::None => "no_recipients",
            RecipientError::TooMany { .. } => "too_many_recipients",
            RecipientError::Whitespace { .. } => "recipient_whitespace",
            RecipientError::SecretKey { .. } => "recipient_secret_key",
            RecipientError::Ssh { .. } => "recipient_ssh",
            RecipientError::Plugin { .. } => "recipient_plugin",
            RecipientError::Malformed { .. } => "bad_recipient",
            RecipientError::SmallOrder { .. } => "recipient_small_order",
            RecipientError::Duplicate { .. } => "duplicate_recipient",
        }
    }
}

/// Why one recipient string is refused (see [`RecipientError`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    Whitespace,
    SecretKey,
    Ssh,
    Plugin,
    Malformed,
    SmallOrder,
}

impl Refusal {
    fn at(self, at: usize) -> RecipientError {
        match self {
            Refusal::Whitespace => RecipientError::Whitespace { at },
            Refusal::SecretKey => RecipientError::SecretKey { at },
            Refusal::Ssh => RecipientError::Ssh { at },
            Refusal::Plugin => RecipientError::Plugin { at },
            Refusal::Malformed => RecipientError::Malformed { at },
            Refusal::SmallOrder => RecipientError::SmallOrder { at },
        }
    }
}

/// A checked X25519 recipient: its 32-byte public key.
#[derive(Clone, PartialEq, Eq)]
pub struct Recipient {
    key: [u8; 32],
    age: age::x25519::Recipient,
}

impl fmt::Debug for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Recipient({})", self.age)
    }
}

impl fmt::Display for Recipient {
    /// The canonical `age1…` form (the one it was parsed from).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.age)
    }
}

/// Parses one recipient: exactly the canonical lowercase Bech32 encoding of
/// an X25519 public key with HRP `age`, not of small order.
fn parse_one(s: &str) -> Result<Recipient, Refusal> {
    let lower = s.to_ascii_lowercase();
    if lower.starts_with("age-secret-key-") || lower.starts_with("age-plugin-") {
        return Err(Refusal::SecretKey);
    }
    if ["ssh-", "ecdsa-sha2-", "sk-ssh-", "sk-ecdsa-"]
        .iter()
        .any(|p| lower.starts_with(p))
    {
        return Err(Refusal::Ssh);
    }
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Refusal::Whitespace);
    }
    // Bech32's HRP ends at the last `1`, and `1` is no data character: a
    // `1` after `age1` makes an HRP `age1NAME`, a plugin's.
    if let Some(rest) = lower.strip_prefix("age1") {
        if rest.contains('1') {
            return Err(Refusal::Plugin);
        }
    }
    if !shape_ok(s) {
        return Err(Refusal::Malformed);
    }
    let key = decode(s).ok_or(Refusal::Malformed)?;
    // With a scalar clamped to a multiple of 8 (as every X25519 scalar is),
    // the shared secret is zero exactly when the point is of small order.
    // The age crate panics on such a key; age's Go tool refuses it.
    if x25519_dalek::x25519([0x55; 32], key) == [0; 32] {
        return Err(Refusal::SmallOrder);
    }
    let age: age::x25519::Recipient = s.parse().map_err(|_| Refusal::Malformed)?;
    // Canonical: the text is the one age writes for this key.
    if age.to_string() != s {
        return Err(Refusal::Malformed);
    }
    Ok(Recipient { key, age })
}

/// [`RECIPIENT_PATTERN`], without a regex engine.
fn shape_ok(s: &str) -> bool {
    const CHARSET: &str = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
    s.len() == 62
        && s.starts_with("age1")
        && s[4..].bytes().all(|b| CHARSET.as_bytes().contains(&b))
}

/// The 32 bytes of a Bech32 (not Bech32m) string with HRP `age`, its
/// checksum and padding checked.
fn decode(s: &str) -> Option<[u8; 32]> {
    use bech32::FromBase32;
    let (hrp, data, variant) = bech32::decode(s).ok()?;
    if hrp != "age" || variant != bech32::Variant::Bech32 {
        return None;
    }
    Vec::<u8>::from_base32(&data).ok()?.try_into().ok()
}

/// Checks one recipient; the error names it as position 1.
pub fn parse_recipient(s: &str) -> Result<Recipient, RecipientError> {
    parse_one(s).map_err(|r| r.at(1))
}

/// A checked, non-empty list of distinct X25519 recipients, at most
/// [`MAX_RECIPIENTS`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipients(Vec<Recipient>);

impl Recipients {
    /// Checks every recipient in order; the first refusal is returned.
    pub fn parse<S: AsRef<str>>(list: &[S]) -> Result<Recipients, RecipientError> {
        if list.is_empty() {
            return Err(RecipientError::None);
        }
        if list.len() > MAX_RECIPIENTS {
            return Err(RecipientError::TooMany {
                max: MAX_RECIPIENTS,
            });
        }
        let mut out: Vec<Recipient> = Vec::with_capacity(list.len());
        for (i, s) in list.iter().enumerate() {
            let r = parse_one(s.as_ref()).map_err(|e| e.at(i + 1))?;
            if let Some(first) = out.iter().position(|o| o.key == r.key) {
                return Err(RecipientError::Duplicate {
                    at: i + 1,
                    first: first + 1,
                });
            }
            out.push(r);
        }
        Ok(Recipients(out))
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Never: a list is refused when empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The recipients, in the order given.
    pub fn iter(&self) -> impl Iterator<Item = &Recipient> {
        self.0.iter()
    }
}

/// Who a share is for.
#[derive(Debug)]
pub enum ShareTo {
    /// Whoever holds the secret key of one of these recipients.
    Recipients(Recipients),
    /// Whoever knows this passphrase (age's scrypt recipient, `N = 2^18`).
    /// At least [`crate::secret::MIN_PASSPHRASE_CHARS`] characters.
    Passphrase(Passphrase),
}

impl ShareTo {
    /// The audit entry's detail: the document id and the kind of recipient
    /// with their count; never the keys (they are public, but which people
    /// a vault's owner shares with is the owner's business, and the log is
    /// readable without the passphrase).
    pub fn audit_detail(&self, id: &crate::DocumentId) -> String {
        match self {
            ShareTo::Recipients(r) => format!("id={id} to=x25519 count={}", r.len()),
            ShareTo::Passphrase(_) => format!("id={id} to=passphrase"),
        }
    }

    /// The kind, for logs: `x25519` or `passphrase`.
    pub fn kind(&self) -> &'static str {
        match self {
            ShareTo::Recipients(_) => "x25519",
            ShareTo::Passphrase(_) => "passphrase",
        }
    }

    /// Checks what the CLI or the app could not: a passphrase long enough,
    /// and none that reads as a recovery key (this vault's or any other:
    /// whoever receives the file would learn it).
    pub fn check(&self) -> crate::Result<()> {
        match self {
            ShareTo::Recipients(r) if r.is_empty() => {
                Err(crate::Error::Recipient(RecipientError::None))
            }
            ShareTo::Recipients(_) => Ok(()),
            ShareTo::Passphrase(p) => {
                let is_recovery_key = std::str::from_utf8(p.expose())
                    .is_ok_and(|t| crate::recovery::RecoveryKey::parse(t).is_ok());
                if is_recovery_key {
                    return Err(crate::Error::SharePassphraseIsRecoveryKey);
                }
                p.check_new()
            }
        }
    }

    /// age's encryptor for these recipients (for a passphrase, this runs
    /// scrypt once: about a second and 256 MiB).
    pub(crate) fn encryptor(&self) -> crate::Result<age::Encryptor> {
        self.check()?;
        match self {
            ShareTo::Recipients(r) => {
                let list: Vec<&dyn age::Recipient> =
                    r.iter().map(|r| &r.age as &dyn age::Recipient).collect();
                age::Encryptor::with_recipients(list.into_iter())
                    .map_err(|_| crate::Error::Invalid("age refused the recipients".into()))
            }
            ShareTo::Passphrase(p) => {
                let text = std::str::from_utf8(p.expose())
                    .expect("a Passphrase holds a String")
                    .to_owned();
                let mut r = age::scrypt::Recipient::new(age::secrecy::SecretString::from(text));
                r.set_work_factor(SCRYPT_LOG_N);
                age::Encryptor::with_recipients(std::iter::once(&r as &dyn age::Recipient))
                    .map_err(|_| crate::Error::Invalid("age refused the passphrase".into()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(list: &[&str]) -> &'static str {
        Recipients::parse(list).unwrap_err().code()
    }

    /// A valid recipient made from `key` (32 bytes) by the Bech32 encoder.
    fn encode(key: [u8; 32]) -> String {
        use bech32::ToBase32;
        bech32::encode("age", key.to_base32(), bech32::Variant::Bech32).unwrap()
    }

    fn fresh() -> String {
        age::x25519::Identity::generate().to_public().to_string()
    }

    #[test]
    fn generated_keys_parse_and_match_both_patterns() {
        let loose = regex::Regex::new(RECIPIENT_PATTERN).unwrap();
        let exact = regex::Regex::new(RECIPIENT_PATTERN_EXACT).unwrap();
        for _ in 0..200 {
            let k = fresh();
            assert!(loose.is_match(&k) && exact.is_match(&k), "{k}");
            assert_eq!(parse_recipient(&k).unwrap().to_string(), k);
        }
        // The rage test vector.
        let pk = "age1t7rxyev2z3rw82stdlrrepyc39nvn86l5078zqkf5uasdy86jp6svpy7pa";
        assert!(parse_recipient(pk).is_ok());
        // The pattern's class is exactly Bech32's alphabet.
        let class: String = ('0'..='z')
            .filter(|c| loose.is_match(&format!("age1{}", c.to_string().repeat(58))))
            .collect();
        let mut alphabet: Vec<char> = "qpzry9x8gf2tvdw0s3jn54khce6mua7l".chars().collect();
        alphabet.sort();
        assert_eq!(class, alphabet.into_iter().collect::<String>());
    }

    #[test]
    fn each_refusal_has_its_code() {
        let ok = fresh();
        let other = fresh();
        assert_eq!(code(&[]), "no_recipients");
        let many: Vec<String> = (0..=MAX_RECIPIENTS).map(|_| fresh()).collect();
        assert_eq!(
            Recipients::parse(&many).unwrap_err().code(),
            "too_many_recipients"
        );
        assert_eq!(
            Recipients::parse(&many[..MAX_RECIPIENTS]).unwrap().len(),
            MAX_RECIPIENTS
        );
        for ws in [
            format!(" {ok}"),
            format!("{ok}\n"),
            format!("{ok} {other}"),
            format!("{}\t{}", &ok[..10], &ok[10..]),
            format!("{ok}\u{0}"),
            format!("{ok}\u{a0}"),
        ] {
            assert_eq!(code(&[&ws]), "recipient_whitespace", "{ws:?}");
        }
        let sk = "AGE-SECRET-KEY-1GQ9778VQXMMJVE8SK7J6VT8UJ4HDQAJUVSFCWCM02D8GEWQ72PVQ2Y5J33";
        assert_eq!(code(&[sk]), "recipient_secret_key");
        assert_eq!(code(&[&sk.to_lowercase()]), "recipient_secret_key");
        for ssh in [
            "ssh-ed25519",
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHsKLqeplhpW+uObz5dvMgjz1OxfM/XXUB+VHtZ6isGN",
            "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ",
        ] {
            assert_eq!(code(&[ssh]), "recipient_ssh", "{ssh}");
        }
        assert_eq!(code(&["ssh-ed25519"]), "recipient_ssh");
        assert_eq!(code(&["ecdsa-sha2-nistp256"]), "recipient_ssh");
        assert_eq!(
            code(&["age1yubikey1qwt50d05nh5vutpdzmlg5wn80xq5negm4uj9ghv0snvdd3yysf5yw3rhl3t"]),
            "recipient_plugin"
        );
        assert_eq!(code(&["age1tag1qfoo"]), "recipient_plugin");
        for bad in [
            "",
            "age1",
            "age",
            &ok[..ok.len() - 1],
            &format!("{ok}q"),
            &ok.to_uppercase(),
            &format!("Age1{}", &ok[4..]),
            &format!("{}b{}", &ok[..10], &ok[11..]),
            &format!("{}{}", &ok[..61], if ok.ends_with('q') { 'p' } else { 'q' }),
        ] {
            assert_eq!(code(&[bad]), "bad_recipient", "{bad:?}");
        }
        // Bech32m of a valid key: same shape, other checksum constant.
        let key = [7u8; 32];
        let m = {
            use bech32::ToBase32;
            bech32::encode("age", key.to_base32(), bech32::Variant::Bech32m).unwrap()
        };
        assert!(regex::Regex::new(RECIPIENT_PATTERN).unwrap().is_match(&m));
        assert_eq!(code(&[&m]), "bad_recipient");
        assert!(parse_recipient(&encode(key)).is_ok());
        // Non-zero padding bits: the pattern's shape, refused.
        let mut chars: Vec<char> = encode(key).chars().collect();
        chars[4 + 51] = 'p';
        let padded: String = chars.into_iter().collect();
        assert!(regex::Regex::new(RECIPIENT_PATTERN)
            .unwrap()
            .is_match(&padded));
        assert!(!regex::Regex::new(RECIPIENT_PATTERN_EXACT)
            .unwrap()
            .is_match(&padded));
        assert_eq!(code(&[&padded]), "bad_recipient");
        // Another HRP of the same length is not a plugin but is refused.
        assert_eq!(code(&[&ok.replacen("age1", "agf1", 1)]), "bad_recipient");
        let e = Recipients::parse(&[ok.as_str(), other.as_str(), ok.as_str()]).unwrap_err();
        assert_eq!(e, RecipientError::Duplicate { at: 3, first: 1 });
        assert_eq!(e.code(), "duplicate_recipient");
    }

    #[test]
    fn small_order_points_are_refused_before_age_sees_them() {
        // The u-coordinates of Curve25519's points of order 1, 2, 4 and 8,
        // and their non-canonical forms (libsodium's list).
        let hexes = [
            "0000000000000000000000000000000000000000000000000000000000000000",
            "0100000000000000000000000000000000000000000000000000000000000000",
            "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
            "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
            "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
            "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
            "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        ];
        for h in hexes {
            let key: [u8; 32] = crate::crypto::unhex(h).unwrap().try_into().unwrap();
            let s = encode(key);
            assert_eq!(code(&[&s]), "recipient_small_order", "{h}");
        }
        // Why it is checked here: age itself takes the key and then panics
        // while encrypting to it.
        let zero: age::x25519::Recipient = encode([0; 32]).parse().unwrap();
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let r = std::panic::catch_unwind(|| {
            age::Encryptor::with_recipients(std::iter::once(&zero as &dyn age::Recipient))
        });
        std::panic::set_hook(hook);
        assert!(r.is_err(), "age 0.11 panics on a small-order recipient");
    }

    #[test]
    fn messages_never_repeat_the_recipient() {
        let sk = "AGE-SECRET-KEY-1GQ9778VQXMMJVE8SK7J6VT8UJ4HDQAJUVSFCWCM02D8GEWQ72PVQ2Y5J33";
        let ok = fresh();
        for list in [
            vec![ok.as_str(), sk],
            vec![ok.as_str(), "age1zzzz"],
            vec![ok.as_str(), ok.as_str()],
        ] {
            let e = Recipients::parse(&list).unwrap_err();
            let msg = crate::Error::from(e).public().message;
            assert!(msg.contains("recipient"), "{msg}");
            for s in &list {
                assert!(!msg.contains(&s[5..]), "{msg}");
            }
        }
        let msg = RecipientError::SecretKey { at: 2 }.to_string();
        assert!(msg.starts_with("recipient 2 "), "{msg}");
    }

    #[test]
    fn audit_detail_names_the_kind_and_count_only() {
        let a = fresh();
        let b = fresh();
        let id = crate::DocumentId([0xab; 16]);
        let to = ShareTo::Recipients(Recipients::parse(&[&a, &b]).unwrap());
        let d = to.audit_detail(&id);
        assert_eq!(d, format!("id={} to=x25519 count=2", "ab".repeat(16)));
        let p = ShareTo::Passphrase(Passphrase::new("a long share passphrase".into()));
        assert_eq!(
            p.audit_detail(&id),
            format!("id={} to=passphrase", "ab".repeat(16))
        );
        assert!(!format!("{p:?}").contains("long share"));
    }

    #[test]
    fn a_short_share_passphrase_is_refused() {
        let p = ShareTo::Passphrase(Passphrase::new("short".into()));
        assert_eq!(p.check().unwrap_err().code(), "weak_passphrase");
        assert!(p.encryptor().is_err());
    }
}
