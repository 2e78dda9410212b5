//! `coffer`: the command-line shell over `coffer-core`. It parses arguments,
//! reads secrets, draws progress and prints results; everything else is the
//! core's.
#![forbid(unsafe_code)]

/// The commands that run on an unlocked vault (one unlock each, or many in
/// `coffer shell`): one pattern for both matches.
macro_rules! unlocked_commands {
    () => {
        Command::Add { .. }
            | Command::Ls { .. }
            | Command::Get { .. }
            | Command::Share { .. }
            | Command::Export { .. }
            | Command::Rename { .. }
            | Command::Tag { .. }
            | Command::Rm { .. }
            | Command::Trash { .. }
            | Command::Verify { .. }
            | Command::Log { .. }
    };
}

mod cli;
mod secrets;
mod shell;
mod table;
mod words;

use clap::Parser;
use cli::{Cli, Command, SortBy, TrashAction};
use coffer_core::header::Unlocker;
use coffer_core::kdf::KdfParams;
use coffer_core::share::{Recipients, ShareTo};
use coffer_core::{AddEvent, AddOptions, Error, Vault};
use indicatif::{ProgressBar, ProgressStyle};
use secrets::Secrets;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// A failure of the CLI itself (as opposed to the core).
#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error(transparent)]
    Core(#[from] Error),
    #[error("{0}")]
    Usage(String),
    /// A check (verify, log --verify, repair) found problems; already reported.
    #[error("{0}")]
    Failed(String),
    /// `coffer shell` locked itself after its idle delay.
    #[error("{0}")]
    Idle(String),
}

impl CliError {
    /// 2 for a shell that locked itself when idle, 1 for anything else.
    fn exit_code(&self) -> ExitCode {
        match self {
            CliError::Idle(_) => ExitCode::from(2),
            _ => ExitCode::FAILURE,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "coffer: error: {e}");
            e.exit_code()
        }
    }
}

/// Logs go to standard error only when `COFFER_LOG` asks for them (for
/// example `COFFER_LOG=debug`). The core never logs secrets or names.
fn init_logging() {
    if let Ok(filter) = std::env::var("COFFER_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_writer(std::io::stderr)
            .with_ansi(false)
            .try_init();
    }
}

fn vault_dir(cli: &Cli) -> Result<PathBuf, CliError> {
    cli.vault
        .clone()
        .or_else(coffer_core::paths::default_vault_dir)
        .ok_or_else(|| CliError::Usage("no vault folder: pass --vault or set COFFER_VAULT".into()))
}

/// A progress bar on a terminal; hidden otherwise, and then `total` (which
/// may decrypt the catalog) is never computed.
fn bar(total: impl FnOnce() -> u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(total());
    pb.set_style(
        ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {binary_bytes_per_sec} {eta}")
            .expect("the template is valid"),
    );
    pb
}

fn run(cli: Cli) -> Result<(), CliError> {
    if let Command::Policy { json, js } = cli.command {
        let p = coffer_core::ipc_policy::policy();
        let text = match (json, js) {
            (true, _) => coffer_core::ipc_policy::POLICY_JSON.to_owned(),
            (_, true) => p.render_js(),
            _ => p.table(),
        };
        let _ = std::io::stdout().lock().write_all(text.as_bytes());
        return Ok(());
    }
    let dir = vault_dir(&cli)?;
    let mut secrets = Secrets::new(cli.passphrase_file.clone());
    match cli.command {
        Command::Init {
            kdf_memory_mib,
            kdf_iterations,
        } => {
            let params = match (kdf_memory_mib, kdf_iterations) {
                (None, None) => KdfParams::calibrate(),
                (m, t) => KdfParams {
                    memory_kib: m.unwrap_or(64).saturating_mul(1024),
                    iterations: t.unwrap_or(3),
                    parallelism: 1,
                },
            };
            let pass = secrets.new_passphrase(cli.passphrase_file.as_deref())?;
            let (vault, rk) = Vault::create(&dir, &pass, params)?;
            vault.lock()?;
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "Created a vault in {}", dir.display());
            let _ = writeln!(
                out,
                "Argon2id: {} MiB, {} passes, {} lane",
                params.memory_kib / 1024,
                params.iterations,
                params.parallelism
            );
            let _ = writeln!(out, "Recovery key (shown once: write it down and keep it offline; it can reset the passphrase):");
            let _ = writeln!(out, "{}", rk.to_text().as_str());
        }
        Command::Passwd {
            new_passphrase_file,
        } => {
            let mut vault = unlock(&dir, &mut secrets)?;
            let new = secrets.new_passphrase(new_passphrase_file.as_deref())?;
            vault.change_passphrase(&new, None)?;
            vault.lock()?;
            eprintln!(
                "Passphrase changed. No document was re-encrypted; the recovery key still works."
            );
        }
        Command::Recover {
            recovery_key_file,
            new_passphrase_file,
        } => {
            let rk = secrets.recovery_key(recovery_key_file.as_deref())?;
            let new = secrets.new_passphrase(new_passphrase_file.as_deref())?;
            let vault = Vault::recover(&dir, &rk, &new)?;
            vault.lock()?;
            eprintln!("Passphrase reset with the recovery key.");
        }
        Command::Rekey => {
            let pass = secrets.passphrase("Passphrase")?;
            let mut vault = Vault::unlock(&dir, &pass)?;
            let pb = bar(|| plaintext_total(&vault));
            let res = vault.rekey(&pass, &mut |n| pb.inc(n));
            pb.finish_and_clear();
            let rk = res?;
            vault.lock()?;
            let mut out = std::io::stdout().lock();
            let _ = writeln!(
                out,
                "Every document is now encrypted under a new master key."
            );
            let _ = writeln!(out, "The passphrase is unchanged; the old recovery key and old copies of the header open nothing any more.");
            let _ = writeln!(
                out,
                "New recovery key (shown once: write it down and keep it offline):"
            );
            let _ = writeln!(out, "{}", rk.to_text().as_str());
        }
        Command::RecoveryKey { new: _ } => {
            let mut vault = unlock(&dir, &mut secrets)?;
            let rk = vault.new_recovery_key()?;
            vault.lock()?;
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "New recovery key (shown once: write it down and keep it offline; the old one no longer opens this vault's header):");
            let _ = writeln!(out, "{}", rk.to_text().as_str());
        }
        Command::Repair { recovery_key_file } => {
            let report = match recovery_key_file {
                Some(f) => {
                    let rk = secrets.recovery_key(Some(&f))?;
                    Vault::repair(&dir, &Unlocker::Recovery(&rk), &mut |_| {})?
                }
                None => {
                    let pass = secrets.passphrase("Passphrase")?;
                    Vault::repair(&dir, &Unlocker::Passphrase(&pass), &mut |_| {})?
                }
            };
            let mut out = std::io::stdout().lock();
            for d in &report.recovered {
                let _ = writeln!(out, "recovered\t{}\t{}", d.id, d.name);
            }
            for (from, to) in &report.moved {
                let _ = writeln!(out, "moved\t{from}\t{to}");
            }
            for (entry, why) in &report.skipped {
                let _ = writeln!(out, "skipped\t{entry}\t{why}");
            }
            for (f, why) in &report.failed {
                let _ = writeln!(out, "unrecoverable\t{f}\t{why}");
            }
            for d in &report.not_listed_before {
                let _ = writeln!(
                    out,
                    "not-listed-before\t{}\t{}\tthe old index did not list it (deleted, and its blob kept?)",
                    d.id, d.name
                );
            }
            if let Some(p) = &report.old_index {
                let _ = writeln!(out, "The old index was kept as {}", p.display());
            }
            if report.old_record_broken {
                let _ = writeln!(
                    out,
                    "Warning: the old index's integrity record was broken: its newest audit entries cannot be vouched for (they may have been cut off)."
                );
            }
            if report.listing_unknown {
                let _ = writeln!(
                    out,
                    "Warning: which documents the old index listed cannot be told; only deletions its audit log records are named (not-listed-before)."
                );
            }
            if report.rotation_kept {
                let _ = writeln!(
                    out,
                    "A key rotation was in progress and is kept: run `coffer rekey` to finish it."
                );
            }
            match report.continued_log {
                Some(n) => {
                    let _ = writeln!(out, "The audit log continues after entry {n}.");
                }
                None => {
                    let _ = writeln!(
                        out,
                        "The old index could not be read or verified: a new audit log was started, and documents it did not list cannot be told apart."
                    );
                }
            }
            if !report.failed.is_empty() {
                return Err(CliError::Failed(format!(
                    "{} blob(s) could not be recovered (listed above)",
                    report.failed.len()
                )));
            }
        }
        unlocked_commands!() => {
            let mut vault = unlock(&dir, &mut secrets)?;
            let res = run_unlocked(&mut vault, cli.command, &mut secrets);
            // A check that found problems has done its work: the vault
            // locks as after a success. Any other error drops the vault
            // (its keys are wiped) without writing to it.
            if matches!(res, Ok(()) | Err(CliError::Failed(_))) {
                vault.lock()?;
            }
            return res;
        }
        Command::Shell { auto_lock } => {
            return shell::run(&dir, &mut secrets, cli.passphrase_file.is_some(), auto_lock);
        }
        // Answered above, before any vault is opened.
        Command::Policy { .. } => {}
    }
    Ok(())
}

/// Runs one of the commands that work in an unlocked vault, as `coffer CMD`
/// and as a line of `coffer shell`: the same output and the same errors.
/// Never locks: the caller does.
pub(crate) fn run_unlocked(
    vault: &mut Vault,
    command: Command,
    secrets: &mut Secrets,
) -> Result<(), CliError> {
    match command {
        Command::Add { files, name, tags } => {
            let pb = bar(|| {
                files
                    .iter()
                    .filter_map(|f| std::fs::metadata(f).ok())
                    .map(|m| m.len())
                    .sum()
            });
            let opts = AddOptions { name, tags };
            let mut out = std::io::stdout().lock();
            let res = vault.add_files(&files, &opts, &mut |n| pb.inc(n), &mut |ev| {
                match ev {
                    AddEvent::Added(d) => {
                        let _ = writeln!(out, "{}\t{}", d.id, d.name);
                    }
                    AddEvent::Refused { path, error } => {
                        let shown = path.to_string_lossy();
                        let _ = writeln!(
                            out,
                            "REFUSED\t{}\t{}: {}",
                            coffer_core::names::escaped(&shown),
                            error.code,
                            error.message
                        );
                    }
                }
                let _ = out.flush();
            });
            pb.finish_and_clear();
            let report = res?;
            if !report.refused.is_empty() {
                return Err(CliError::Failed(format!(
                    "{} file(s) were refused (listed above); the others were added",
                    report.refused.len()
                )));
            }
        }
        Command::Ls {
            query,
            json,
            sort,
            reverse,
        } => {
            let catalog = vault.catalog()?;
            let sort = match sort {
                SortBy::Name => coffer_core::catalog::Sort::Name,
                SortBy::Size => coffer_core::catalog::Sort::Size,
                SortBy::Date => coffer_core::catalog::Sort::Date,
            };
            // The same matching rules as `Catalog::search`; by name and not
            // reversed, the catalog's own order.
            let docs = catalog
                .page(query.as_deref().unwrap_or(""), sort, reverse, 0, usize::MAX)
                .docs;
            let to_terminal = std::io::stdout().is_terminal();
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            if json {
                print_json(&mut out, &docs);
            } else if to_terminal {
                let _ = out.write_all(table::listing(docs.iter().copied()).as_bytes());
            } else {
                let mut text = String::with_capacity(docs.len() * 80);
                coffer_core::catalog::write_listing(docs.iter().copied(), &mut text);
                let _ = out.write_all(text.as_bytes());
            }
            out.flush()
                .map_err(|e| CliError::Usage(format!("cannot write the listing: {e}")))?;
        }
        Command::Get { id, out, force } => {
            let id = vault.resolve(&id)?;
            let pb = bar(|| vault.info(&id).map_or(0, |d| d.size));
            let res = vault.export_to(&id, &out, force, &mut |n| pb.inc(n));
            pb.finish_and_clear();
            res?;
        }
        Command::Share {
            id,
            to,
            passphrase,
            share_passphrase_file,
            out,
            force,
        } => {
            let id = vault.resolve(&id)?;
            let to = if passphrase || share_passphrase_file.is_some() {
                ShareTo::Passphrase(secrets.share_passphrase(share_passphrase_file.as_deref())?)
            } else if to.is_empty() {
                return Err(CliError::Usage(
                    "give --to RECIPIENT (an age1… public key, repeatable) or --passphrase".into(),
                ));
            } else {
                ShareTo::Recipients(Recipients::parse(&to).map_err(Error::from)?)
            };
            let pb = bar(|| vault.info(&id).map_or(0, |d| d.size));
            let res = vault.share_to(&id, &to, &out, force, &mut |n| pb.inc(n));
            pb.finish_and_clear();
            res?;
        }
        Command::Export {
            all: _,
            dir: target,
        } => {
            let pb = bar(|| plaintext_total(vault));
            let res = vault.export_all(&target, &mut |n| pb.inc(n));
            pb.finish_and_clear();
            let report = res?;
            let mut out = std::io::stdout().lock();
            for e in &report.exported {
                let _ = write!(out, "{}\t{}", e.info.id, e.path.display());
                if !e.changes.is_empty() {
                    // The mapping: stored name (escaped), then why it changed.
                    let why: Vec<String> = e.changes.iter().map(|c| c.to_string()).collect();
                    let codes: Vec<&str> = e.changes.iter().map(|c| c.code()).collect();
                    let _ = write!(
                        out,
                        "\tRENAMED\t{}\t{}: {}",
                        coffer_core::names::escaped(&e.info.name),
                        codes.join(","),
                        why.join("; ")
                    );
                }
                let _ = writeln!(out);
            }
            for (id, e) in &report.failed {
                let _ = writeln!(out, "FAILED\t{id}\t{}: {}", e.code, e.message);
            }
            if !report.failed.is_empty() {
                return Err(CliError::Failed(format!(
                    "{} document(s) failed their checks and were not exported (listed above); the others were",
                    report.failed.len()
                )));
            }
        }
        Command::Rename { id, name } => {
            let id = vault.resolve(&id)?;
            let d = vault.edit(&id, Some(&name), None)?;
            let _ = writeln!(std::io::stdout(), "{}\t{}", d.id, d.name);
        }
        Command::Tag { id, add, remove } => {
            let id = vault.resolve(&id)?;
            let mut tags = vault.info(&id)?.tags;
            tags.retain(|t| !remove.iter().any(|r| r.eq_ignore_ascii_case(t)));
            tags.extend(add);
            let d = vault.edit(&id, None, Some(&tags))?;
            let _ = writeln!(std::io::stdout(), "{}\t{}", d.id, d.tags.join(","));
        }
        Command::Rm { id, now: true } => {
            let id = vault.resolve(&id)?;
            vault.purge(&id)?;
        }
        Command::Rm { id, now: false } => {
            let id = vault.resolve(&id)?;
            let d = vault.trash(&id)?;
            let _ = writeln!(std::io::stdout(), "{}\t{}", d.id, d.name);
            let when = match vault.trash_retention()? {
                0 => "it stays there until the trash is emptied".to_owned(),
                1 => "it is removed for good after 1 day".to_owned(),
                n => format!("it is removed for good after {n} days"),
            };
            eprintln!(
                "Moved to the trash; {when}. `coffer trash restore {}` brings it back.",
                d.id
            );
        }
        Command::Trash { action } => trash(vault, action)?,
        Command::Verify { json, accept_older } => {
            if accept_older {
                if let Some(o) = vault.older() {
                    vault.accept_older()?;
                    eprintln!(
                        "Accepted this vault as the newest: audit entry {} (this computer had seen {}); recorded in the audit log.",
                        o.now, o.seen
                    );
                }
            }
            let pb = bar(|| plaintext_total(vault));
            let report = vault.verify(&mut |n| pb.inc(n))?;
            pb.finish_and_clear();
            let mut out = std::io::stdout().lock();
            if json {
                print_json(&mut out, &report);
            } else {
                for p in &report.problems {
                    let _ = writeln!(
                        out,
                        "BAD\t{}\t{}\t{}: {}",
                        p.id.as_deref().unwrap_or("-"),
                        p.name.as_deref().unwrap_or("-"),
                        p.code,
                        p.message
                    );
                }
                if report.ok {
                    let trash = match report.trashed {
                        0 => String::new(),
                        n => format!(" ({n} in the trash)"),
                    };
                    let _ = writeln!(
                        out,
                        "ok: {} documents{trash}, {} bytes authenticated; audit chain intact ({} entries)",
                        report.documents_checked, report.bytes_checked, report.audit.entries
                    );
                }
            }
            if !report.ok {
                return Err(CliError::Failed(format!(
                    "verify found {} problem(s)",
                    report.problems.len()
                )));
            }
        }
        Command::Log { verify, json } => {
            let (entries, status) = vault.audit_log()?;
            let mut out = std::io::stdout().lock();
            if json {
                let v = serde_json::json!({ "entries": entries, "chain": status });
                print_json(&mut out, &v);
            } else {
                if std::io::stdout().is_terminal() {
                    let _ = out.write_all(table::audit_log(&entries).as_bytes());
                } else {
                    for e in &entries {
                        let _ = writeln!(
                            out,
                            "{}\t{}\t{}\t{}",
                            e.seq,
                            coffer_core::time::rfc3339(e.at_ms),
                            e.event,
                            e.detail
                        );
                    }
                }
                if verify {
                    match &status.problem {
                        None => {
                            let _ = writeln!(out, "chain: ok ({} entries)", status.entries);
                        }
                        Some(p) => {
                            let _ = writeln!(out, "chain: BROKEN: {p}");
                        }
                    }
                }
            }
            if verify && !status.ok {
                return Err(CliError::Failed("the audit log's chain is broken".into()));
            }
        }
        _ => {
            return Err(CliError::Usage(
                "this command does not run in an unlocked session".into(),
            ));
        }
    }
    Ok(())
}

/// Set while `coffer shell` runs: its standard input is the command
/// stream, so nothing else may read a confirmation from it.
pub(crate) static IN_SHELL: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// `coffer trash ...`.
fn trash(vault: &mut Vault, action: TrashAction) -> Result<(), CliError> {
    match action {
        TrashAction::Ls { json } => {
            let docs = vault.trash_list()?;
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            if json {
                print_json(&mut out, &docs);
            } else if std::io::stdout().is_terminal() {
                let _ = out.write_all(table::trash_listing(&docs).as_bytes());
            } else {
                for d in &docs {
                    let _ = writeln!(
                        out,
                        "{}\t{}\t{}\t{}\t{}",
                        d.info.id,
                        d.info.name,
                        d.info.size,
                        coffer_core::time::rfc3339(d.trashed_ms),
                        d.purge_at_ms
                            .map_or_else(|| "never".to_owned(), coffer_core::time::rfc3339)
                    );
                }
            }
            out.flush()
                .map_err(|e| CliError::Usage(format!("cannot write the listing: {e}")))?;
        }
        TrashAction::Restore { id } => {
            let id = vault.resolve(&id)?;
            let d = vault.restore(&id)?;
            let _ = writeln!(std::io::stdout(), "{}\t{}", d.id, d.name);
        }
        TrashAction::Empty { yes } => {
            if !yes {
                let n = vault.trash_list()?.len();
                if n == 0 {
                    eprintln!("The trash is empty.");
                    return Ok(());
                }
                confirm_empty(n)?;
            }
            let n = vault.empty_trash()?;
            eprintln!(
                "Removed {n} document{} for good.",
                if n == 1 { "" } else { "s" }
            );
        }
        TrashAction::Retention { days: None } => {
            let _ = writeln!(std::io::stdout(), "{}", vault.trash_retention()?);
        }
        TrashAction::Retention { days: Some(days) } => {
            vault.set_trash_retention(days)?;
            let _ = writeln!(std::io::stdout(), "{days}");
        }
    }
    Ok(())
}

/// Asks on the terminal before the trash is emptied; refuses without a
/// terminal (or in `coffer shell`, whose input is its commands).
fn confirm_empty(n: usize) -> Result<(), CliError> {
    let refuse = || {
        CliError::Usage(
            "emptying the trash removes its documents for good: pass --yes (standard input is not a terminal to ask on)"
                .into(),
        )
    };
    if IN_SHELL.load(std::sync::atomic::Ordering::Relaxed) || !std::io::stdin().is_terminal() {
        return Err(refuse());
    }
    let mut err = std::io::stderr();
    let _ = write!(
        err,
        "Remove the {n} document{} in the trash for good? [y/N] ",
        if n == 1 { "" } else { "s" }
    );
    let _ = err.flush();
    let mut answer = String::new();
    std::io::stdin()
        .read_line(&mut answer)
        .map_err(|e| CliError::Usage(format!("cannot read the answer: {e}")))?;
    match answer.trim() {
        "y" | "Y" | "yes" | "YES" | "Yes" => Ok(()),
        _ => Err(CliError::Usage(
            "the trash was not emptied (not confirmed)".into(),
        )),
    }
}

/// Pretty JSON on its own line (values here always serialize).
fn print_json(out: &mut impl Write, v: &impl serde::Serialize) {
    let _ = writeln!(
        out,
        "{}",
        serde_json::to_string_pretty(v).expect("CLI values serialize to JSON")
    );
}

/// Bytes of plaintext in the vault, for a progress bar (0 if unreadable:
/// the command itself reports the problem).
fn plaintext_total(vault: &Vault) -> u64 {
    vault
        .catalog()
        .map_or(0, |c| c.all().iter().map(|d| d.size).sum())
}

/// Unlocks, and says on standard error when the vault is older than this
/// computer last saw (reads work; writes are refused).
fn unlock(dir: &Path, secrets: &mut Secrets) -> Result<Vault, CliError> {
    let pass = secrets.passphrase("Passphrase")?;
    unlock_with(dir, &pass)
}

/// [`unlock`] with a passphrase already read.
fn unlock_with(dir: &Path, pass: &coffer_core::secret::Passphrase) -> Result<Vault, CliError> {
    let vault = Vault::unlock(dir, pass)?;
    if vault.rekey_pending() {
        let _ = writeln!(
            std::io::stderr(),
            "coffer: warning: a key rotation is unfinished; run `coffer rekey` to finish it"
        );
    }
    if let Some(o) = vault.older() {
        let e = Error::RolledBack {
            now: o.now,
            seen: o.seen,
        };
        let _ = writeln!(std::io::stderr(), "coffer: warning: {e}");
    }
    Ok(vault)
}
