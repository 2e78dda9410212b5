//! `coffer`: the command-line shell over `coffer-core`. It parses arguments,
//! reads secrets, draws progress and prints results; everything else is the
//! core's.
#![forbid(unsafe_code)]

mod cli;
mod secrets;

use clap::Parser;
use cli::{Cli, Command};
use coffer_core::header::Unlocker;
use coffer_core::kdf::KdfParams;
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "coffer: error: {e}");
            ExitCode::FAILURE
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
        Command::Add { files, name, tags } => {
            let vault = unlock(&dir, &mut secrets)?;
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
            vault.lock()?;
            if !report.refused.is_empty() {
                return Err(CliError::Failed(format!(
                    "{} file(s) were refused (listed above); the others were added",
                    report.refused.len()
                )));
            }
        }
        Command::Ls { query, json } => {
            let vault = unlock(&dir, &mut secrets)?;
            let catalog = vault.catalog()?;
            let docs: Vec<&coffer_core::DocumentInfo> = match query.as_deref() {
                None => catalog.all().iter().collect(),
                Some(q) => catalog.search(q),
            };
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            if json {
                print_json(&mut out, &docs);
            } else {
                let mut text = String::with_capacity(docs.len() * 80);
                coffer_core::catalog::write_listing(docs.iter().copied(), &mut text);
                let _ = out.write_all(text.as_bytes());
            }
            out.flush()
                .map_err(|e| CliError::Usage(format!("cannot write the listing: {e}")))?;
            drop(out);
            vault.lock()?;
        }
        Command::Get { id, out, force } => {
            let vault = unlock(&dir, &mut secrets)?;
            let id = vault.resolve(&id)?;
            let pb = bar(|| vault.info(&id).map_or(0, |d| d.size));
            let res = vault.export_to(&id, &out, force, &mut |n| pb.inc(n));
            pb.finish_and_clear();
            res?;
            vault.lock()?;
        }
        Command::Export {
            all: _,
            dir: target,
        } => {
            let vault = unlock(&dir, &mut secrets)?;
            let pb = bar(|| plaintext_total(&vault));
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
            vault.lock()?;
            if !report.failed.is_empty() {
                return Err(CliError::Failed(format!(
                    "{} document(s) failed their checks and were not exported (listed above); the others were",
                    report.failed.len()
                )));
            }
        }
        Command::Rename { id, name } => {
            let vault = unlock(&dir, &mut secrets)?;
            let id = vault.resolve(&id)?;
            let d = vault.edit(&id, Some(&name), None)?;
            let _ = writeln!(std::io::stdout(), "{}\t{}", d.id, d.name);
            vault.lock()?;
        }
        Command::Tag { id, add, remove } => {
            let vault = unlock(&dir, &mut secrets)?;
            let id = vault.resolve(&id)?;
            let mut tags = vault.info(&id)?.tags;
            tags.retain(|t| !remove.iter().any(|r| r.eq_ignore_ascii_case(t)));
            tags.extend(add);
            let d = vault.edit(&id, None, Some(&tags))?;
            let _ = writeln!(std::io::stdout(), "{}\t{}", d.id, d.tags.join(","));
            vault.lock()?;
        }
        Command::Rm { id } => {
            let vault = unlock(&dir, &mut secrets)?;
            let id = vault.resolve(&id)?;
            vault.remove(&id)?;
            vault.lock()?;
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
        Command::Verify { json, accept_older } => {
            let mut vault = unlock(&dir, &mut secrets)?;
            if accept_older {
                if let Some(o) = vault.older() {
                    vault.accept_older()?;
                    eprintln!(
                        "Accepted this vault as the newest: audit entry {} (this computer had seen {}); recorded in the audit log.",
                        o.now, o.seen
                    );
                }
            }
            let pb = bar(|| plaintext_total(&vault));
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
                    let _ = writeln!(
                        out,
                        "ok: {} documents, {} bytes authenticated; audit chain intact ({} entries)",
                        report.documents_checked, report.bytes_checked, report.audit.entries
                    );
                }
            }
            vault.lock()?;
            if !report.ok {
                return Err(CliError::Failed(format!(
                    "verify found {} problem(s)",
                    report.problems.len()
                )));
            }
        }
        // Answered above, before any vault is opened.
        Command::Policy { .. } => {}
        Command::Log { verify, json } => {
            let vault = unlock(&dir, &mut secrets)?;
            let (entries, status) = vault.audit_log()?;
            let mut out = std::io::stdout().lock();
            if json {
                let v = serde_json::json!({ "entries": entries, "chain": status });
                print_json(&mut out, &v);
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
            vault.lock()?;
            if verify && !status.ok {
                return Err(CliError::Failed("the audit log's chain is broken".into()));
            }
        }
    }
    Ok(())
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
    let vault = Vault::unlock(dir, &pass)?;
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
