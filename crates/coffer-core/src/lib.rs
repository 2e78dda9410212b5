//! Coffer's vault: the on-disk format, its cryptography, the SQLite index and the
//! audit log. No GUI and no terminal code lives here: the `coffer` CLI and the
//! desktop app are thin shells over [`Vault`].
//!
//! The format is specified in `SECURITY.md`; each module owns one piece of it:
//!
//! | module       | owns                                                        |
//! |--------------|-------------------------------------------------------------|
//! | [`crypto`]   | the primitives (AES-256-GCM, HKDF, HMAC, SHA-256, CSPRNG)   |
//! | [`secret`]   | key and passphrase types that wipe themselves               |
//! | [`kdf`]      | Argon2id parameters and their calibration                   |
//! | [`keys`]     | the master key and the keys derived from it                 |
//! | [`header`]   | the vault header file and its key slots                     |
//! | [`recovery`] | the recovery key's text form                                |
//! | [`seen`]     | this machine's record of the newest state of each vault      |
//! | [`stream`]   | the chunked STREAM AEAD for document contents               |
//! | [`blob`]     | one document's ciphertext file                              |
//! | [`share`]    | one document shared as an age file: recipients, encryptor   |
//! | [`catalog`]  | the decrypted catalog, searched in memory                   |
//! | [`meta`]     | sealed document metadata (name, type, tags, time)           |
//! | [`names`]    | what a document name may be, at input and at output          |
//! | [`index`]    | the SQLite index, its migrations and the manifest           |
//! | [`ipc_policy`] | the desktop app's IPC policy, shared by every gate        |
//! | [`audit`]    | the HMAC-chained audit log                                  |
//! | [`dir`]      | folders as handles: nothing below them is followed          |
//! | [`faults`]   | named points where tests stop a thread to play a race       |
//! | [`fsutil`]   | atomic, no-follow file writes                               |
//! | [`vault`]    | the vault API that ties it together                         |
#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(not(unix))]
compile_error!("coffer-core needs a Unix file-system API (openat, O_NOFOLLOW and friends)");

pub mod audit;
pub mod blob;
pub mod catalog;
pub mod crypto;
pub mod dir;
pub mod error;
pub mod faults;
pub mod fsutil;
pub mod header;
pub mod index;
pub mod ipc_policy;
pub mod kdf;
pub mod keys;
pub mod meta;
pub mod names;
pub mod paths;
pub mod recovery;
pub mod secret;
pub mod seen;
pub mod share;
pub mod stream;
pub mod time;
pub mod vault;

pub use error::{Error, Result};
pub use vault::{
    AddEvent, AddOptions, AddReport, DocumentId, DocumentInfo, ExportReport, Exported, NameChange,
    TrashedInfo, Vault,
};
