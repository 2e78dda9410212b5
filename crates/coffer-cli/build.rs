//! Writes the manual page and the shell completions from the same clap
//! definitions the binary parses with (`src/cli.rs`), so they can never
//! describe another command line.
//!
//! Output: `$OUT_DIR/assets/`, and a copy in `assets/` beside the built
//! binary (`target/release/assets/` for a release build), where the Debian
//! packager (`tauri.conf.json`, `bundle.linux.deb.files`) picks them up next to
//! `target/release/coffer`:
//!
//! - `coffer.1` and `coffer.1.gz` (Debian ships gzipped manual pages),
//! - `coffer.bash`, `_coffer` (zsh), `coffer.fish`.

use clap::CommandFactory;
use clap_complete::Shell;
use std::io::Write;
use std::path::{Path, PathBuf};

#[allow(dead_code)] // the binary reads the fields; here only the definitions matter
#[path = "src/cli.rs"]
mod cli;

type BoxError = Box<dyn std::error::Error>;

fn main() -> Result<(), BoxError> {
    println!("cargo:rerun-if-changed=src/cli.rs");
    println!("cargo:rerun-if-changed=build.rs");
    let out =
        PathBuf::from(std::env::var_os("OUT_DIR").ok_or("OUT_DIR is not set")?).join("assets");
    std::fs::create_dir_all(&out)?;

    let page = manual_page()?;
    std::fs::write(out.join("coffer.1"), &page)?;
    std::fs::write(out.join("coffer.1.gz"), gzip(&page)?)?;
    for (shell, file) in [
        (Shell::Bash, "coffer.bash"),
        (Shell::Zsh, "_coffer"),
        (Shell::Fish, "coffer.fish"),
    ] {
        let mut buf = Vec::new();
        clap_complete::generate(shell, &mut cli::Cli::command(), "coffer", &mut buf);
        std::fs::write(out.join(file), buf)?;
    }

    // OUT_DIR is <target>/<profile>/build/coffer-cli-<hash>/out; the binary
    // is in <target>/<profile>/.
    let profile_dir = out
        .ancestors()
        .nth(4)
        .filter(|p| p.join("build").is_dir() && out.ancestors().nth(3) == Some(&p.join("build")));
    match profile_dir {
        Some(p) => copy_dir(&out, &p.join("assets"))?,
        None => println!(
            "cargo:warning=unexpected OUT_DIR layout; the manual page and completions are only in {}",
            out.display()
        ),
    }
    Ok(())
}

/// One page, `coffer(1)`: the global options, then every command with its
/// synopsis and options (no `coffer-add(1)`-style pages to chase).
fn manual_page() -> Result<Vec<u8>, BoxError> {
    use clap_mangen::roff::{bold, roman, Roff};
    let cmd = cli::Cli::command();
    let man = clap_mangen::Man::new(cmd.clone())
        .manual("User Commands")
        .source(format!("coffer {}", env!("CARGO_PKG_VERSION")));
    let mut page = Vec::new();
    man.render_title(&mut page)?;
    man.render_name_section(&mut page)?;
    man.render_synopsis_section(&mut page)?;
    man.render_description_section(&mut page)?;
    man.render_options_section(&mut page)?;

    let mut head = Roff::default();
    head.control("SH", ["COMMANDS"]);
    head.to_writer(&mut page)?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("coffer {}", sub.get_name());
        let mut r = Roff::default();
        r.control("SS", [name.as_str()]);
        if let Some(about) = sub.get_long_about().or_else(|| sub.get_about()) {
            for para in about.to_string().split("\n\n") {
                r.control("PP", []);
                r.text([roman(para.replace('\n', " "))]);
            }
        }
        r.control("PP", []);
        r.text([bold("Usage:")]);
        r.to_writer(&mut page)?;
        let sub_man = clap_mangen::Man::new(sub.clone().bin_name(&name));
        let mut body = Vec::new();
        sub_man.render_synopsis_section(&mut body)?;
        sub_man.render_options_section(&mut body)?;
        // Within a command, its synopsis and options are paragraphs, not
        // sections of their own.
        let body = String::from_utf8(body)?
            .lines()
            .map(|l| match l {
                ".SH SYNOPSIS" => ".PP",
                ".SH OPTIONS" => ".PP",
                l => l,
            })
            .collect::<Vec<_>>()
            .join("\n");
        page.extend_from_slice(body.as_bytes());
        page.push(b'\n');
    }

    let mut tail = Roff::default();
    tail.control("SH", ["ENVIRONMENT"]);
    for (var, what) in [
        ("COFFER_VAULT", "The vault folder when --vault is not given."),
        ("XDG_DATA_HOME", "The default vault is $XDG_DATA_HOME/coffer/vault (~/.local/share/coffer/vault)."),
        ("COFFER_LOG", "Log filter for standard error, for example debug. Nothing secret or naming a document is logged."),
        ("TZ", "The time zone of the tables that ls and log print on a terminal."),
    ] {
        tail.control("TP", []);
        tail.text([bold(var)]);
        tail.text([roman(what)]);
    }
    tail.control("SH", ["EXIT STATUS"]);
    tail.text([roman(
        "0 on success, 1 on any failure. coffer shell: 0 if every command succeeded, 1 if any failed, 2 if it locked itself after the idle delay.",
    )]);
    tail.control("SH", ["SEE ALSO"]);
    tail.text([roman("The README and SECURITY.md of the Coffer sources.")]);
    tail.to_writer(&mut page)?;
    man.render_version_section(&mut page)?;
    // Each render call starts with roff's two-line apostrophe preamble;
    // one is enough.
    let mut seen = [false; 2];
    let text = String::from_utf8(page)?
        .lines()
        .filter(|l| {
            let i = match *l {
                ".ie \\n(.g .ds Aq \\(aq" => 0,
                ".el .ds Aq '" => 1,
                _ => return true,
            };
            !std::mem::replace(&mut seen[i], true)
        })
        .collect::<Vec<_>>()
        .join("\n");
    Ok((text + "\n").into_bytes())
}

/// gzip at the best level, with no file name and a zero time in the header,
/// so that the same page always gives the same bytes.
fn gzip(data: &[u8]) -> Result<Vec<u8>, BoxError> {
    let mut gz = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::best());
    gz.write_all(data)?;
    Ok(gz.finish()?)
}

fn copy_dir(from: &Path, to: &Path) -> Result<(), BoxError> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        // Write then rename: a concurrent build never reads half a file.
        let tmp = to.join(format!(".{}.tmp", e.file_name().to_string_lossy()));
        std::fs::copy(e.path(), &tmp)?;
        std::fs::rename(&tmp, to.join(e.file_name()))?;
    }
    Ok(())
}
