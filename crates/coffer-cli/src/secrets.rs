//! Where secrets come from: a file named on the command line, else the
//! terminal (no echo), else standard input, one secret per line in the order
//! the command asks for them. Never an argument or an environment variable.

use crate::CliError;
use coffer_core::recovery::RecoveryKey;
use coffer_core::secret::Passphrase;
use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

pub struct Secrets {
    passphrase_file: Option<PathBuf>,
    /// Lines of standard input not yet used, read once when first needed.
    stdin_lines: Option<Vec<Zeroizing<String>>>,
    /// Whether secrets may come from the terminal or standard input: not in
    /// `coffer shell`, whose reader thread owns standard input (a secret
    /// typed there could be read as a command line).
    interactive: bool,
}

fn read_first_line(path: &Path) -> Result<Zeroizing<String>, CliError> {
    let text = std::fs::read(path)
        .map_err(|e| CliError::Usage(format!("cannot read the secret file: {e}")))
        .map(Zeroizing::new)?;
    let s = std::str::from_utf8(&text)
        .map_err(|_| CliError::Usage("the secret file is not UTF-8".into()))?;
    let line = s.split('\n').next().unwrap_or("");
    Ok(Zeroizing::new(
        line.strip_suffix('\r').unwrap_or(line).to_owned(),
    ))
}

impl Secrets {
    pub fn new(passphrase_file: Option<PathBuf>) -> Self {
        Secrets {
            passphrase_file,
            stdin_lines: None,
            interactive: true,
        }
    }

    /// For the commands of `coffer shell`: secrets from files only.
    pub fn files_only() -> Self {
        Secrets {
            passphrase_file: None,
            stdin_lines: None,
            interactive: false,
        }
    }

    fn next_stdin_line(&mut self) -> Result<Zeroizing<String>, CliError> {
        if self.stdin_lines.is_none() {
            let mut all = Zeroizing::new(Vec::new());
            std::io::stdin()
                .read_to_end(&mut all)
                .map_err(|e| CliError::Usage(format!("cannot read standard input: {e}")))?;
            let s = std::str::from_utf8(&all)
                .map_err(|_| CliError::Usage("standard input is not UTF-8".into()))?;
            let mut lines: Vec<Zeroizing<String>> = s
                .split('\n')
                .map(|l| Zeroizing::new(l.strip_suffix('\r').unwrap_or(l).to_owned()))
                .collect();
            lines.reverse();
            self.stdin_lines = Some(lines);
        }
        self.stdin_lines
            .as_mut()
            .and_then(|l| l.pop())
            .filter(|l| !l.is_empty())
            .ok_or_else(|| {
                CliError::Usage(
                    "no secret on standard input (use --passphrase-file or a terminal)".into(),
                )
            })
    }

    fn ask(
        &mut self,
        file: Option<&Path>,
        prompt: &str,
        confirm: bool,
    ) -> Result<Zeroizing<String>, CliError> {
        if let Some(f) = file {
            return read_first_line(f);
        }
        if !self.interactive {
            return Err(CliError::Usage(
                "in coffer shell a secret comes from a file (--share-passphrase-file FILE), never from the terminal or standard input".into(),
            ));
        }
        if std::io::stdin().is_terminal() {
            let a = Zeroizing::new(
                rpassword::prompt_password(format!("{prompt}: "))
                    .map_err(|e| CliError::Usage(format!("cannot read from the terminal: {e}")))?,
            );
            if confirm {
                let b = Zeroizing::new(
                    rpassword::prompt_password(format!("{prompt} (again): ")).map_err(|e| {
                        CliError::Usage(format!("cannot read from the terminal: {e}"))
                    })?,
                );
                if *a != *b {
                    return Err(CliError::Usage("the two entries differ".into()));
                }
            }
            return Ok(a);
        }
        self.next_stdin_line()
    }

    /// The current passphrase.
    pub fn passphrase(&mut self, prompt: &str) -> Result<Passphrase, CliError> {
        let file = self.passphrase_file.clone();
        let s = self.ask(file.as_deref(), prompt, false)?;
        Ok(Passphrase::new(s.to_string()))
    }

    /// A new passphrase from `file`, else the terminal (asked twice), else
    /// the next line of standard input. Refused if too short.
    pub fn new_passphrase(&mut self, file: Option<&Path>) -> Result<Passphrase, CliError> {
        let s = self.ask(file, "New passphrase", true)?;
        let p = Passphrase::new(s.to_string());
        p.check_new()?;
        Ok(p)
    }

    /// A passphrase for a share, from `file`, else the terminal (asked
    /// twice, no echo), else the next line of standard input. Refused if too
    /// short.
    pub fn share_passphrase(&mut self, file: Option<&Path>) -> Result<Passphrase, CliError> {
        let s = self.ask(file, "Share passphrase", true)?;
        let p = Passphrase::new(s.to_string());
        p.check_new()?;
        Ok(p)
    }

    /// The recovery key.
    pub fn recovery_key(&mut self, file: Option<&Path>) -> Result<RecoveryKey, CliError> {
        let s = self.ask(file, "Recovery key", false)?;
        Ok(RecoveryKey::parse(&s)?)
    }
}
