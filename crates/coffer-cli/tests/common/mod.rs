//! A vault in a temporary folder and a way to run the real `coffer` binary on it.
#![allow(dead_code)]
#![allow(clippy::unwrap_used)] // helpers of tests: a panic here is a failed test

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub const PASS: &str = "correct horse battery staple";
pub const CHUNK: usize = 64 * 1024;

pub struct Env {
    pub tmp: tempfile::TempDir,
    pub vault: PathBuf,
    pub pass_file: PathBuf,
    pub recovery_key: String,
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_coffer")
}

impl Env {
    /// A new vault with fast KDF parameters (the CLI's floor: 8 MiB, 1 pass).
    pub fn new() -> Env {
        let tmp = tempfile::tempdir().unwrap();
        let vault = tmp.path().join("vault");
        let pass_file = tmp.path().join("pass");
        std::fs::write(&pass_file, format!("{PASS}\n")).unwrap();
        let mut e = Env {
            tmp,
            vault,
            pass_file,
            recovery_key: String::new(),
        };
        let out = e.ok(&["init", "--kdf-memory-mib", "8", "--kdf-iterations", "1"]);
        e.recovery_key = out.lines().last().unwrap().to_owned();
        assert_eq!(e.recovery_key.len(), 69, "{out}");
        e
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = coffer_at(&self.vault, &self.pass_file);
        c.args(args);
        c
    }

    /// The same vault with another passphrase file.
    pub fn run_with(&self, pass: &Path, args: &[&str]) -> Output {
        coffer_at(&self.vault, pass).args(args).output().unwrap()
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    /// Runs and asserts success; returns standard output.
    pub fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(
            o.status.success(),
            "coffer {args:?} failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8(o.stdout).unwrap()
    }

    /// Runs and asserts failure; returns standard error.
    pub fn fails(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(
            !o.status.success(),
            "coffer {args:?} should fail; stdout: {}",
            String::from_utf8_lossy(&o.stdout)
        );
        let err = String::from_utf8(o.stderr).unwrap();
        assert_eq!(
            err.lines().count(),
            1,
            "one clear line on stderr, got: {err}"
        );
        err
    }

    /// Writes a file and adds it; returns the document id.
    pub fn add_bytes(&self, name: &str, data: &[u8]) -> String {
        let p = self.path(name);
        std::fs::write(&p, data).unwrap();
        let out = self.ok(&["add", p.to_str().unwrap()]);
        let (id, n) = out.trim_end().split_once('\t').unwrap();
        assert_eq!(n, name);
        id.to_owned()
    }

    pub fn get(&self, id: &str) -> Result<Vec<u8>, String> {
        let out = self.path(&format!("out-{id}"));
        let _ = std::fs::remove_file(&out);
        let o = self.run(&["get", id, "--out", out.to_str().unwrap()]);
        if o.status.success() {
            Ok(std::fs::read(&out).unwrap())
        } else {
            assert!(!out.exists(), "a failed get left a file behind");
            Err(String::from_utf8_lossy(&o.stderr).into_owned())
        }
    }

    pub fn blob(&self, id: &str) -> PathBuf {
        self.vault.join("blobs").join(&id[..2]).join(id)
    }

    /// `verify`'s success and the code of each problem it found.
    pub fn verify_codes(&self) -> (bool, Vec<String>) {
        let (ok, v) = self.verify_json();
        let codes = v["problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["code"].as_str().unwrap().to_owned())
            .collect();
        (ok, codes)
    }

    pub fn verify_json(&self) -> (bool, serde_json::Value) {
        let o = self.run(&["verify", "--json"]);
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        (o.status.success(), v)
    }
}

/// `coffer --vault VAULT --passphrase-file PASS`, with no standard input and
/// no logging unless a test asks for it.
pub fn coffer_at(vault: &Path, pass: &Path) -> Command {
    let mut c = Command::new(bin());
    c.arg("--vault")
        .arg(vault)
        .arg("--passphrase-file")
        .arg(pass);
    c.stdin(Stdio::null()).env_remove("COFFER_LOG");
    // This machine's state records go beside the vault, never to the
    // user's home (each test's vault has its own).
    c.env("XDG_STATE_HOME", state_home(vault));
    c
}

/// Where `coffer_at` keeps the state records for `vault`.
pub fn state_home(vault: &Path) -> PathBuf {
    vault
        .parent()
        .map_or_else(|| PathBuf::from("/nonexistent"), |p| p.join("state"))
}

pub fn pattern(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ (i >> 8) as u8)
        .collect()
}

pub fn no_temp_files_in(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .all(|e| !e.file_name().to_string_lossy().ends_with(".tmp"))
}

/// `cp -a FROM TO`: a copy of a folder as a backup or a sync would keep it.
pub fn copy_folder(from: &Path, to: &Path) {
    let ok = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(ok.success());
}
