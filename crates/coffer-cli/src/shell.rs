//! `coffer shell`: one unlock, then commands read line by line, each run by
//! the same code as the single command (`run_unlocked`), until the end of
//! input, `lock`/`exit`/`quit`, or the idle delay. The vault (and with it
//! every key) is dropped when the shell ends; nothing is written to disk to
//! keep it open.

use crate::cli::{Cli, Command};
use crate::secrets::Secrets;
use crate::{run_unlocked, unlock, CliError};
use clap::Parser;
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;
use zeroize::Zeroizing;

const HELP: &str = "\
Commands (each as after `coffer`, with its options; `CMD --help` for more):
  add FILE... [--name NAME] [--tag TAG]   import files
  ls [QUERY] [--sort name|size|date] [--reverse] [--json]
  get ID --out PATH [--force]             write a document's plaintext
  share ID --to age1... --out FILE.age    encrypt a document for others (age)
  share ID --share-passphrase-file F --out FILE.age   ... or for a passphrase
  export --all DIR                        write every document into DIR
  rename ID NAME                          rename a document
  tag ID [--add TAG] [--remove TAG]       change a document's tags
  rm ID [--now]                           move a document to the trash (--now: for good)
  trash ls [--json]                       list the trash
  trash restore ID                        bring a document back from the trash
  trash empty --yes                       remove everything in the trash for good
  trash retention [DAYS]                  how long the trash keeps documents
  verify [--json]                         decrypt and check everything
  log [--verify] [--json]                 show the audit log
  help                                    this list
  lock, exit, quit                        lock the vault and leave
Words split as in a shell: 'single' or \"double\" quotes, \\ escapes.
";

/// A line of standard input, wiped when dropped (the first may be the
/// passphrase).
type Line = Zeroizing<String>;

/// A line read, or a line that is not UTF-8 (a failed command: the shell
/// goes on).
type Read = Result<Line, NotText>;

/// A line of input that is not UTF-8.
struct NotText;

/// Reads standard input on its own thread, so the shell can wait for a
/// line with a time limit. Sends `None` at the end of input (or on a read
/// error, reported first).
fn spawn_reader() -> mpsc::Receiver<Option<Read>> {
    // One line read ahead at most.
    let (tx, rx) = mpsc::sync_channel(1);
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        loop {
            let mut bytes = Zeroizing::new(Vec::new());
            match stdin.read_until(b'\n', &mut bytes) {
                Ok(0) => {
                    let _ = tx.send(None);
                    return;
                }
                Ok(_) => {
                    let line = match std::str::from_utf8(&bytes) {
                        Ok(text) => Ok(Zeroizing::new(text.to_owned())),
                        Err(_) => Err(NotText),
                    };
                    if tx.send(Some(line)).is_err() {
                        return;
                    }
                }
                Err(e) => {
                    let _ = writeln!(
                        std::io::stderr(),
                        "coffer: error: cannot read standard input: {e}"
                    );
                    let _ = tx.send(None);
                    return;
                }
            }
        }
    });
    rx
}

/// Why the loop ended.
enum End {
    /// End of input, or `lock`/`exit`/`quit`.
    Asked,
    /// No input for the idle delay.
    Idle,
}

/// Runs the shell on the vault in `dir`. `passphrase_file`: whether the
/// passphrase comes from a file (else the terminal, else the first line of
/// standard input).
pub fn run(
    dir: &Path,
    secrets: &mut Secrets,
    passphrase_file: bool,
    auto_lock_minutes: f64,
) -> Result<(), CliError> {
    let interactive = std::io::stdin().is_terminal();
    crate::IN_SHELL.store(true, std::sync::atomic::Ordering::Relaxed);
    let idle = Duration::from_secs_f64(auto_lock_minutes * 60.0);
    // Through a pipe without a passphrase file, the first line is the
    // passphrase and the commands follow: one reader for both, so that no
    // command line is lost in a buffer.
    let (mut vault, rx) = if passphrase_file || interactive {
        let vault = unlock(dir, secrets)?;
        (vault, spawn_reader())
    } else {
        let rx = spawn_reader();
        let first = match rx.recv().ok().flatten() {
            Some(Ok(line)) => line,
            _ => Zeroizing::new(String::new()),
        };
        let pass = first.trim_end_matches(['\n', '\r']);
        if pass.is_empty() {
            return Err(CliError::Usage(
                "no secret on standard input (use --passphrase-file or a terminal)".into(),
            ));
        }
        let vault =
            crate::unlock_with(dir, &coffer_core::secret::Passphrase::new(pass.to_owned()))?;
        (vault, rx)
    };
    if interactive {
        let _ = writeln!(
            std::io::stderr(),
            "Unlocked. `help` lists the commands; `lock` or Ctrl-D locks and leaves."
        );
    }

    let mut failed = 0usize;
    let end = loop {
        if interactive {
            let mut err = std::io::stderr();
            let _ = write!(err, "coffer> ");
            let _ = err.flush();
        }
        let line = match rx.recv_timeout(idle) {
            Ok(Some(Ok(line))) => line,
            Ok(Some(Err(NotText))) => {
                let _ = writeln!(
                    std::io::stderr(),
                    "coffer: error: a line of input is not UTF-8 text; it was not run"
                );
                failed += 1;
                continue;
            }
            Ok(None) | Err(mpsc::RecvTimeoutError::Disconnected) => break End::Asked,
            Err(mpsc::RecvTimeoutError::Timeout) => break End::Idle,
        };
        match run_line(&mut vault, &line) {
            Step::Go(true) => {}
            Step::Go(false) => failed += 1,
            Step::Stop => break End::Asked,
        }
    };
    if interactive && matches!(end, End::Asked) {
        let _ = writeln!(std::io::stderr());
    }
    vault.lock()?;
    match end {
        End::Idle => Err(CliError::Idle(format!(
            "locked after {} without input",
            describe_minutes(auto_lock_minutes)
        ))),
        End::Asked if failed > 0 => Err(CliError::Failed(format!(
            "{failed} command(s) failed (reported above); the vault is locked"
        ))),
        End::Asked => Ok(()),
    }
}

/// `10 minutes`, `1 minute`, `1.5 seconds`.
fn describe_minutes(m: f64) -> String {
    if m >= 1.0 && m.fract() == 0.0 {
        format!("{m} minute{}", if m == 1.0 { "" } else { "s" })
    } else {
        let s = format!("{:.1}", m * 60.0);
        format!("{} seconds", s.trim_end_matches(".0"))
    }
}

/// What a line asks of the loop.
enum Step {
    /// Go on; whether the command succeeded.
    Go(bool),
    /// Lock and leave.
    Stop,
}

fn run_line(vault: &mut coffer_core::Vault, line: &str) -> Step {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return Step::Go(true);
    }
    let words = match crate::words::split(line) {
        Ok(w) => w,
        Err(e) => return fail(&format!("cannot read the line: {e}")),
    };
    match words.first().map(String::as_str) {
        None => return Step::Go(true),
        Some("lock" | "exit" | "quit") if words.len() == 1 => return Step::Stop,
        Some("help" | "?") if words.len() == 1 => {
            let _ = std::io::stdout().write_all(HELP.as_bytes());
            return Step::Go(true);
        }
        _ => {}
    }
    let cli = match Cli::try_parse_from(std::iter::once("coffer".to_owned()).chain(words)) {
        Ok(cli) => cli,
        // `CMD --help` prints on standard output and is no failure.
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return Step::Go(true);
        }
        // Otherwise clap's first line (its usage hints name `coffer`'s own
        // options, not the shell's).
        Err(e) => {
            let text = e.render().to_string();
            let first = text.lines().next().unwrap_or("cannot parse the line");
            return fail(first.strip_prefix("error: ").unwrap_or(first));
        }
    };
    if cli.vault.is_some() || cli.passphrase_file.is_some() {
        return fail("--vault and --passphrase-file are given to `coffer shell` itself");
    }
    match cli.command {
        c @ unlocked_commands!() => match run_unlocked(vault, c, &mut Secrets::files_only()) {
            Ok(()) => Step::Go(true),
            Err(e) => fail(&e.to_string()),
        },
        _ => fail("not a command of the shell (`help` lists them); run it as `coffer CMD` once the shell is locked"),
    }
}

/// Reports a failed line as the single command reports its error.
fn fail(message: &str) -> Step {
    let _ = writeln!(std::io::stderr(), "coffer: error: {message}");
    Step::Go(false)
}
