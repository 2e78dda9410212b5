//! The app's one error type and the form it takes on the wire: `{code, message}`,
//! a stable code for the UI to branch on and a message fit to show. Nothing from
//! the OS, SQLite or serde reaches the UI as text (it can carry paths or names);
//! core errors go through [`coffer_core::Error::public`].

use coffer_core::ipc_policy::Refusal;
use serde::ser::SerializeStruct;

/// Everything a command can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// From the core (wrong passphrase, corrupt document, full disk, …).
    #[error(transparent)]
    Core(#[from] coffer_core::Error),
    /// Refused by the IPC policy, in the hook (`report_blocked`) or in Rust.
    #[error("refused by Coffer's IPC policy ({}): {refusal}", refusal.code())]
    Refused {
        /// Why.
        refusal: Refusal,
    },
    /// An argument passed the policy's shape check but not its meaning.
    #[error("invalid {field}: {why}")]
    Invalid {
        /// Which argument.
        field: &'static str,
        /// What is wrong (never the value itself).
        why: String,
    },
    /// The command needs an unlocked vault.
    #[error("the vault is locked")]
    Locked,
    /// `create_vault` or `unlock` while the vault is already open.
    #[error("the vault is already unlocked")]
    AlreadyUnlocked,
    /// No vault exists yet.
    #[error("no vault yet: create one first")]
    NoVault,
    /// The user closed a native dialog without choosing.
    #[error("cancelled")]
    Cancelled,
    /// `import_dropped` with nothing dropped since the last import.
    #[error("no dropped files are waiting to be imported")]
    NothingDropped,
    /// A path that did not come from a dialog or a drop, or fails the path rules.
    #[error("this path is not one you chose in a dialog or dropped on the window")]
    NotGranted,
    /// A path that fails Coffer's path rules (traversal, symlink, NUL, …).
    #[error("refused path: {0}")]
    BadPath(&'static str),
    /// Lengthening the auto-lock delay without the passphrase.
    #[error("lengthening the auto-lock delay needs the passphrase")]
    PassphraseNeeded,
    /// A native dialog is already open: one at a time.
    #[error("another dialog is already open: answer it first")]
    DialogOpen,
    /// The document is of a type the preview window does not show.
    #[error("no preview for this type of document; export it to open it")]
    NoPreview,
    /// Something inside the app failed; the detail is in the log, not here.
    #[error("internal error: {0}")]
    Internal(&'static str),
}

/// Result with [`AppError`].
pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    /// The stable code the UI sees.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Core(e) => e.code(),
            AppError::Refused { .. } => "blocked",
            AppError::Invalid { .. } => "invalid_argument",
            AppError::Locked => "locked",
            AppError::AlreadyUnlocked => "already_unlocked",
            AppError::NoVault => "no_vault",
            AppError::Cancelled => "cancelled",
            AppError::NothingDropped => "nothing_dropped",
            AppError::NotGranted => "not_granted",
            AppError::BadPath(_) => "bad_path",
            AppError::DialogOpen => "dialog_open",
            AppError::PassphraseNeeded => "passphrase_needed",
            AppError::NoPreview => "no_preview",
            AppError::Internal(_) => "internal",
        }
    }

    /// The message the UI sees.
    pub fn message(&self) -> String {
        match self {
            AppError::Core(e) => e.public().message,
            other => other.to_string(),
        }
    }

    pub(crate) fn invalid(field: &'static str, why: impl Into<String>) -> Self {
        AppError::Invalid {
            field,
            why: why.into(),
        }
    }
}

impl serde::Serialize for AppError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("AppError", 2)?;
        st.serialize_field("code", self.code())?;
        st.serialize_field("message", &self.message())?;
        st.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_text_never_reaches_the_ui() {
        let io = std::io::Error::other("/home/alice/Medical/hiv-test.pdf: permission denied");
        let e = AppError::from(coffer_core::Error::io("reading a file to add")(io));
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["code"], "io");
        assert!(!v["message"].as_str().unwrap().contains("alice"), "{v}");
        assert_eq!(
            serde_json::to_value(AppError::Locked).unwrap(),
            serde_json::json!({"code": "locked", "message": "the vault is locked"})
        );
        let r = AppError::Refused {
            refusal: Refusal::UnknownCommand,
        };
        assert_eq!(serde_json::to_value(&r).unwrap()["code"], "blocked");
    }
}
