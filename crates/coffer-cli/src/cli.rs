//! The command line, as scripts and tests depend on it.

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Coffer: an encrypted vault for sensitive documents.
///
/// The passphrase is read from --passphrase-file (its first line), else asked
/// on the terminal without echo, else read from the first line of standard
/// input. Never from an argument or an environment variable.
///
/// On a terminal, `coffer ls` and `coffer log` print a table for people
/// (header, sizes in KiB/MiB/GiB, local time); through a pipe they print
/// tab-separated lines for scripts. `coffer shell` runs several commands in
/// one unlock.
#[derive(Debug, Parser)]
#[command(name = "coffer", version)]
pub struct Cli {
    /// Vault folder [default: $COFFER_VAULT, else $XDG_DATA_HOME/coffer/vault]
    #[arg(long, global = true, value_name = "DIR")]
    pub vault: Option<PathBuf>,
    /// Read the passphrase from the first line of FILE
    #[arg(long, global = true, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a vault and print its recovery key once
    Init {
        /// Argon2id memory in MiB [default: calibrated to ~0.5 s here]
        #[arg(long, value_name = "MIB")]
        kdf_memory_mib: Option<u32>,
        /// Argon2id passes [default: calibrated]
        #[arg(long, value_name = "N")]
        kdf_iterations: Option<u32>,
    },
    /// Import files; prints one line per document: its id, a tab, its name
    Add {
        /// Files to import
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Store under this name (only with a single file)
        #[arg(long)]
        name: Option<String>,
        /// Add a tag (repeatable)
        #[arg(long = "tag", value_name = "TAG")]
        tags: Vec<String>,
    },
    /// List documents, or those matching QUERY (name or tag; `tag:T` for a tag):
    /// a table on a terminal, tab-separated lines (id, name, bytes, UTC time
    /// added, tags) through a pipe
    Ls {
        /// Search text
        query: Option<String>,
        /// Print a JSON array
        #[arg(long)]
        json: bool,
        /// Order by
        #[arg(long, value_enum, default_value_t = SortBy::Name)]
        sort: SortBy,
        /// Reverse the order
        #[arg(long)]
        reverse: bool,
    },
    /// Write a document's plaintext to PATH (atomically)
    Get {
        /// Document id (or a unique prefix of at least 6 hex digits)
        id: String,
        /// Destination file
        #[arg(long, value_name = "PATH")]
        out: PathBuf,
        /// Replace PATH if it exists
        #[arg(long)]
        force: bool,
    },
    /// Write a document as a standard age file for others: for each
    /// --to RECIPIENT (an age X25519 public key, age1…, at most 20), or for
    /// a passphrase (--passphrase); `age -d` opens it
    ///
    /// The share passphrase comes from --share-passphrase-file (its first
    /// line), else the terminal (asked twice, no echo), else the next line of
    /// standard input; at least 8 characters, and not the vault's. The file
    /// is written as `get --out` writes (never through a symbolic link, never
    /// replacing a file without --force) and the audit log records `share`
    /// with the id and the number of recipients, never who they are.
    Share {
        /// Document id (or a unique prefix of at least 6 hex digits)
        id: String,
        /// An age public key (age1…) to encrypt to (repeatable)
        #[arg(long = "to", value_name = "RECIPIENT", conflicts_with_all = ["passphrase", "share_passphrase_file"])]
        to: Vec<String>,
        /// Encrypt with a passphrase instead (age's scrypt recipient)
        #[arg(long)]
        passphrase: bool,
        /// Read the share passphrase from the first line of FILE (implies --passphrase)
        #[arg(long, value_name = "FILE")]
        share_passphrase_file: Option<PathBuf>,
        /// Destination file (FILE.age)
        #[arg(long, value_name = "PATH")]
        out: PathBuf,
        /// Replace PATH if it exists
        #[arg(long)]
        force: bool,
    },
    /// Write every document into DIR under its stored name, never overwriting
    Export {
        /// Export every document (required: there is no partial export yet)
        #[arg(long, required = true)]
        all: bool,
        /// Destination folder (created if missing)
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
    /// Rename a document
    Rename {
        /// Document id (or a unique prefix)
        id: String,
        /// The new name
        name: String,
    },
    /// Add or remove tags of a document
    Tag {
        /// Document id (or a unique prefix)
        id: String,
        /// Add a tag (repeatable)
        #[arg(long = "add", value_name = "TAG")]
        add: Vec<String>,
        /// Remove a tag (repeatable)
        #[arg(long = "remove", value_name = "TAG")]
        remove: Vec<String>,
    },
    /// Move a document to the trash (restorable until it is purged, after
    /// the trash's retention: 30 days unless set); --now removes it for good
    Rm {
        /// Document id (or a unique prefix)
        id: String,
        /// Remove it for good at once, without the trash
        #[arg(long)]
        now: bool,
    },
    /// The trash: list, restore, empty, and how long it keeps documents
    Trash {
        #[command(subcommand)]
        action: TrashAction,
    },
    /// Change the passphrase (re-encrypts no document)
    Passwd {
        /// Read the new passphrase from the first line of FILE
        #[arg(long, value_name = "FILE")]
        new_passphrase_file: Option<PathBuf>,
    },
    /// Set a new passphrase using the recovery key
    Recover {
        /// Read the recovery key from FILE
        #[arg(long, value_name = "FILE")]
        recovery_key_file: Option<PathBuf>,
        /// Read the new passphrase from the first line of FILE
        #[arg(long, value_name = "FILE")]
        new_passphrase_file: Option<PathBuf>,
    },
    /// Re-encrypt every document under a new master key and print a new
    /// recovery key (old header copies, passphrases and recovery keys then
    /// open nothing); resumes an interrupted rotation
    Rekey,
    /// Replace the recovery key (printed once; the old one stops opening
    /// this header)
    RecoveryKey {
        /// Make a new recovery key
        #[arg(long, required = true)]
        new: bool,
    },
    /// Rebuild a lost or corrupt index from the blobs
    Repair {
        /// Unlock with the recovery key in FILE instead of the passphrase
        #[arg(long, value_name = "FILE")]
        recovery_key_file: Option<PathBuf>,
    },
    /// Decrypt every document and check it against the index
    Verify {
        /// Print the report as JSON
        #[arg(long)]
        json: bool,
        /// Accept a vault older than this computer last saw (a backup you
        /// restored on purpose); recorded in the audit log
        #[arg(long)]
        accept_older: bool,
    },
    /// Show the audit log: a table in local time on a terminal,
    /// tab-separated lines (number, UTC time, event, detail) through a pipe
    Log {
        /// Check the chain; exit non-zero if it is broken
        #[arg(long)]
        verify: bool,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Unlock once, then run commands read line by line (add, ls, get,
    /// share, export, rename, tag, rm, trash, verify, log; help; lock, exit or quit
    /// to end)
    ///
    /// Each command prints what it prints on its own; a failed one prints its
    /// error and the shell goes on. The vault locks at the end of input, on
    /// `lock`/`exit`/`quit`, and after MINUTES without input. Exit status: 0
    /// if every command succeeded, 1 if any failed, 2 if it locked itself
    /// after the idle delay. When the passphrase comes from standard input,
    /// the commands follow on the next lines.
    Shell {
        /// Lock and exit after this many minutes without input (fractions allowed)
        #[arg(long, value_name = "MINUTES", default_value_t = 10.0, value_parser = minutes)]
        auto_lock: f64,
    },
    /// Print the desktop app's IPC policy: every call its UI may make (no vault needed)
    Policy {
        /// Print the policy file as JSON
        #[arg(long, conflicts_with = "js")]
        json: bool,
        /// Print it as the isolation hook loads it (dist-isolation/policy.js)
        #[arg(long)]
        js: bool,
    },
}

/// What `coffer trash` does.
#[derive(Debug, Subcommand)]
pub enum TrashAction {
    /// List the documents in the trash, most recently trashed first: a
    /// table on a terminal, tab-separated lines (id, name, bytes, UTC time
    /// trashed, UTC time it will be purged or `never`) through a pipe
    Ls {
        /// Print a JSON array
        #[arg(long)]
        json: bool,
    },
    /// Bring a document back from the trash
    Restore {
        /// Document id (or a unique prefix)
        id: String,
    },
    /// Remove every document in the trash for good (asks on a terminal)
    Empty {
        /// Do not ask (required when standard input is not a terminal)
        #[arg(long)]
        yes: bool,
    },
    /// Print how many days the trash keeps a document, or set it (0: until
    /// the trash is emptied; a shorter time applies from the next unlock)
    Retention {
        /// New number of days (0 to 36500)
        days: Option<u32>,
    },
}

/// The order of `coffer ls`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SortBy {
    /// By name, ignoring case
    Name,
    /// By size, smallest first
    Size,
    /// By the time added, oldest first
    Date,
}

/// A positive, finite number of minutes (at most a week).
fn minutes(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(m) if m.is_finite() && m > 0.0 && m <= 7.0 * 24.0 * 60.0 => Ok(m),
        _ => Err("expected a number of minutes above 0 (at most 10080)".into()),
    }
}
