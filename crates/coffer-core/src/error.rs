//! The core's one error type: every variant is documented, carries context that
//! is safe to show (ids, counts, operation names), and never a secret, a
//! passphrase, plaintext or a document name.

use std::io;

/// Result with the core's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the core.
///
/// `Display` is the human message; [`Error::code`] is a stable, machine-readable
/// code for the CLI's JSON and the app's IPC. Neither ever contains key
/// material, a passphrase, plaintext or a document name.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The passphrase or recovery key does not open any key slot. Deliberately
    /// says nothing about which check failed.
    #[error("wrong passphrase or recovery key")]
    WrongSecret,
    /// A recovery key was typed with a mistake: its checksum does not match.
    #[error("the recovery key is mistyped (checksum mismatch); check each group")]
    RecoveryKeyFormat,
    /// A new passphrase is too weak to accept.
    #[error("the passphrase is too short: use at least {min} characters")]
    WeakPassphrase {
        /// Minimum length in characters.
        min: usize,
    },
    /// No vault at the given folder, and nothing of one either.
    #[error("no vault found in this folder (`coffer init` creates one)")]
    NoVault,
    /// The folder holds documents but no header: the header must be restored
    /// (without it nothing can be decrypted). `init` refuses such a folder.
    #[error(
        "this folder holds {blobs} blob(s) but no vault header (coffer.header): restore the header from a backup or another synced copy; without it no document can be decrypted, and `coffer init` refuses this folder so that nothing is lost"
    )]
    HeaderMissing {
        /// How many blob files were found.
        blobs: u64,
    },
    /// `init` on a folder that already holds a vault or other files.
    #[error("this folder already holds a vault or other files ({0}); `coffer init` needs an empty folder")]
    VaultExists(&'static str),
    /// An entry of the vault folder is not what Coffer made: a symbolic link,
    /// a FIFO, a device, a folder where a file belongs, a file with a second
    /// hard link, or one larger than Coffer writes it. Nothing was followed,
    /// opened or removed.
    #[error("{entry} {problem}: the vault folder was tampered with")]
    FolderTampered {
        /// The entry, relative to the vault folder (Coffer's own names only).
        entry: String,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// The vault header cannot be parsed.
    #[error("the vault header is corrupt: {0}")]
    HeaderCorrupt(&'static str),
    /// The header parses and unlocks but its MAC fails, or it is older than the
    /// index says it must be (a rollback).
    #[error("the vault header was tampered with or rolled back: {0}")]
    HeaderTampered(&'static str),
    /// A format version this build does not read.
    #[error("unsupported format version {0}")]
    UnsupportedVersion(u16),
    /// Argon2id parameters outside the accepted range.
    #[error("key-derivation parameters out of range: {0}")]
    KdfParams(&'static str),
    /// No document with this id (or the prefix matches none).
    #[error("no document with id {0}")]
    NotFound(String),
    /// The document is in the trash: it cannot be read, exported or edited
    /// until it is restored.
    #[error("document {0} is in the trash (`coffer trash restore` brings it back)")]
    InTrash(String),
    /// The document is larger than the caller can hold in memory (a
    /// preview).
    #[error("the document is too large for a preview ({0} bytes); export it")]
    TooLarge(u64),
    /// The document is not in the trash (restore of a live document).
    #[error("document {0} is not in the trash")]
    NotInTrash(String),
    /// An id prefix matches several documents.
    #[error("the id prefix {0} matches several documents")]
    AmbiguousId(String),
    /// A string that is not a document id.
    #[error("not a document id (expected 32 hex digits or a unique prefix of at least 6)")]
    BadId,
    /// A document's ciphertext fails authentication or does not match the index.
    #[error("document {id} is corrupt or was tampered with: {reason}")]
    Corrupt {
        /// The document id (hex).
        id: String,
        /// Which check failed.
        reason: &'static str,
    },
    /// The index's own integrity record fails: rows were edited, added or removed
    /// outside Coffer. Writes are refused until `coffer repair`.
    #[error(
        "the index fails its integrity check ({0}); run `coffer verify`, then `coffer repair`"
    )]
    IndexTampered(&'static str),
    /// The vault is older than the one this machine last saw (a rollback, or
    /// a backup restored): writes are refused until the user accepts it.
    #[error(
        "this vault is older than the one this computer last saw (audit entry {now} vs {seen}), or another history of it: it was rolled back or restored from a backup; nothing can be changed until you accept it with `coffer verify --accept-older`"
    )]
    RolledBack {
        /// The newest audit entry on disk.
        now: u64,
        /// The newest audit entry this machine saw.
        seen: u64,
    },
    /// A name refused at input (the name itself is not repeated here).
    #[error("invalid document name: {0}")]
    InvalidName(#[from] crate::names::NameError),
    /// A tag refused at input.
    #[error("invalid tag: {0}")]
    InvalidTag(&'static str),
    /// Input arguments that fail validation.
    #[error("invalid input: {0}")]
    Invalid(String),
    /// A recipient of a share is refused (its position is named, never its
    /// text); [`crate::share::RecipientError::code`] is the code.
    #[error(transparent)]
    Recipient(#[from] crate::share::RecipientError),
    /// A share's passphrase is the vault's own: whoever receives the file
    /// would learn the passphrase of the whole vault.
    #[error("the share passphrase is this vault's passphrase; choose another one for the people you share with")]
    SharePassphraseReused,
    /// A share's passphrase has the form of a recovery key (this vault's or
    /// not): whoever receives the file would learn it.
    #[error("the share passphrase is a recovery key; never give a recovery key to others: choose another passphrase for the people you share with")]
    SharePassphraseIsRecoveryKey,
    /// Another process holds a lock this operation needs.
    #[error("the vault is in use by another process; try again when it has finished")]
    InUse,
    /// The destination of `get` exists and `--force` was not given.
    #[error("the destination already exists (use --force to replace it)")]
    DestinationExists,
    /// The destination (or the export folder) is the vault folder, its
    /// `blobs/`, a shard of it or its `tmp/`: writing there could replace
    /// the header or a blob.
    #[error("the destination is inside the vault folder; choose a folder outside the vault")]
    DestinationInVault,
    /// The destination is a FIFO, a socket or a device: `--force` replaces
    /// only a file or a symbolic link.
    #[error("the destination is not a file (a FIFO, a socket or a device); --force replaces only a file or a symbolic link")]
    DestinationNotAFile,
    /// The destination's file system does not take this file name (FAT,
    /// exFAT and NTFS refuse `<>:"|?*`, device names such as `CON`, and
    /// trailing dots or spaces). Nothing was left there.
    #[error("the destination's file system does not accept this file name; choose another name (without <>:\"|?*, a trailing dot or space, or a device name such as CON)")]
    NameNotAccepted,
    /// The disk is full. Nothing was committed.
    #[error("the disk is full while {0}; nothing was changed")]
    DiskFull(&'static str),
    /// Any other I/O failure, with the operation that failed.
    #[error("I/O error while {op}: {source}")]
    Io {
        /// What Coffer was doing.
        op: &'static str,
        /// The OS error (never includes a path).
        #[source]
        source: io::Error,
    },
    /// SQLite failed.
    #[error("index error: {0}")]
    Index(#[from] rusqlite::Error),
    /// A schema migration failed.
    #[error("index migration failed: {0}")]
    Migration(String),
}

impl Error {
    /// A stable code for scripts and the UI. Codes never change meaning.
    pub fn code(&self) -> &'static str {
        match self {
            Error::WrongSecret => "wrong_secret",
            Error::RecoveryKeyFormat => "recovery_key_format",
            Error::WeakPassphrase { .. } => "weak_passphrase",
            Error::NoVault => "no_vault",
            Error::HeaderMissing { .. } => "header_missing",
            Error::VaultExists(_) => "vault_exists",
            Error::FolderTampered { .. } => "folder_tampered",
            Error::HeaderCorrupt(_) => "header_corrupt",
            Error::HeaderTampered(_) => "header_tampered",
            Error::UnsupportedVersion(_) => "unsupported_version",
            Error::KdfParams(_) => "kdf_params",
            Error::NotFound(_) => "not_found",
            Error::InTrash(_) => "in_trash",
            Error::TooLarge(_) => "too_large",
            Error::NotInTrash(_) => "not_in_trash",
            Error::AmbiguousId(_) => "ambiguous_id",
            Error::BadId => "bad_id",
            Error::Corrupt { .. } => "corrupt",
            Error::IndexTampered(_) => "index_tampered",
            Error::RolledBack { .. } => "rolled_back",
            Error::InvalidName(_) => "invalid_name",
            Error::InvalidTag(_) => "invalid_tag",
            Error::Invalid(_) => "invalid_input",
            Error::Recipient(e) => e.code(),
            Error::SharePassphraseReused => "share_passphrase_reused",
            Error::SharePassphraseIsRecoveryKey => "share_passphrase_is_recovery_key",
            Error::DestinationInVault => "destination_in_vault",
            Error::DestinationNotAFile => "destination_not_a_file",
            Error::InUse => "in_use",
            Error::DestinationExists => "destination_exists",
            Error::NameNotAccepted => "name_not_accepted",
            Error::DiskFull(_) => "disk_full",
            Error::Io { .. } => "io",
            Error::Index(e) if is_busy(e) => "in_use",
            Error::Index(_) => "index",
            Error::Migration(_) => "migration",
        }
    }

    /// Wraps an I/O error with the operation that failed, mapping a full disk to
    /// [`Error::DiskFull`].
    pub fn io(op: &'static str) -> impl FnOnce(io::Error) -> Error {
        move |source| {
            if source.kind() == io::ErrorKind::StorageFull
                || source.kind() == io::ErrorKind::QuotaExceeded
            {
                Error::DiskFull(op)
            } else {
                Error::Io { op, source }
            }
        }
    }
}

/// What crosses to a user interface (the desktop app's IPC, the CLI's JSON):
/// a stable code and a message safe to show.
///
/// The message is the error's own text only for variants whose text is fully
/// ours; errors carrying text from elsewhere (the OS, SQLite, a migration) get
/// a fixed message instead, so nothing a lower layer put in its text (a path,
/// a fragment of SQL) reaches the screen.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Public {
    /// [`Error::code`].
    pub code: &'static str,
    /// A message for people.
    pub message: String,
}

impl Error {
    /// The form of this error that may be shown or sent to a UI.
    pub fn public(&self) -> Public {
        let message = match self {
            Error::Io { op, .. } => format!("a file operation failed while {op}"),
            Error::Index(_) if self.code() == "in_use" => Error::InUse.to_string(),
            Error::Index(_) => "the index could not be read or written".to_owned(),
            Error::Migration(_) => "the index could not be upgraded".to_owned(),
            other => other.to_string(),
        };
        Public {
            code: self.code(),
            message,
        }
    }
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_errors_pin_code_and_message_and_hide_foreign_text() {
        let io = Error::io("writing a blob")(io::Error::other("/home/alice/Secret Diagnosis.pdf"));
        assert_eq!(
            io.public(),
            Public {
                code: "io",
                message: "a file operation failed while writing a blob".into()
            }
        );
        let sql = Error::Index(rusqlite::Error::InvalidColumnName(
            "Secret Diagnosis".into(),
        ));
        assert_eq!(
            sql.public().message,
            "the index could not be read or written"
        );
        assert_eq!(
            Error::Migration("near \"x\": syntax".into())
                .public()
                .message,
            "the index could not be upgraded"
        );
        assert_eq!(
            Error::WrongSecret.public(),
            Public {
                code: "wrong_secret",
                message: "wrong passphrase or recovery key".into()
            }
        );
        let json = serde_json::to_string(&Error::DestinationExists.public()).unwrap();
        assert_eq!(
            json,
            r#"{"code":"destination_exists","message":"the destination already exists (use --force to replace it)"}"#
        );
        // Every variant whose text is ours names no document: names are never
        // put in an error (NameError does not carry the name).
        let e = Error::InvalidName(crate::names::NameError::Separator);
        assert_eq!(
            e.public().message,
            "invalid document name: the name contains a path separator"
        );
    }

    #[test]
    fn disk_full_maps_to_its_own_code() {
        let e = Error::io("writing")(io::Error::from(io::ErrorKind::StorageFull));
        assert_eq!(e.code(), "disk_full");
        assert!(e.to_string().contains("nothing was changed"));
        let e = Error::io("writing")(io::Error::from(io::ErrorKind::PermissionDenied));
        assert_eq!(e.code(), "io");
    }
}
