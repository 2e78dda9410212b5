//! The manual page and shell completions that build.rs writes from the clap
//! definitions: every command is in the page, bash completes commands, and
//! the copy beside the binary (what the .deb packs) is the same.
#![allow(clippy::unwrap_used)] // a panic in a test is a failed test

use clap::CommandFactory;
use std::path::{Path, PathBuf};
use std::process::Command;

#[allow(dead_code)] // the definitions only
#[path = "../src/cli.rs"]
mod cli;

fn out_assets() -> PathBuf {
    Path::new(env!("OUT_DIR")).join("assets")
}

fn read(name: &str) -> String {
    std::fs::read_to_string(out_assets().join(name)).expect("build.rs wrote it")
}

#[test]
fn the_manual_page_names_every_command_and_option() {
    let page = read("coffer.1");
    assert_eq!(page.matches(".TH coffer 1 ").count(), 1);
    assert_eq!(page.matches(".ds Aq '").count(), 1);
    let cmd = cli::Cli::command();
    for sub in cmd.get_subcommands() {
        assert!(
            page.contains(&format!(".SS \"coffer {}\"", sub.get_name()))
                || page.contains(&format!(".SS coffer {}", sub.get_name())),
            "no section for {}",
            sub.get_name()
        );
        for arg in sub.get_arguments().filter_map(|a| a.get_long()) {
            assert!(
                page.contains(&format!("\\-\\-{}", arg.replace('-', "\\-"))),
                "coffer {} --{arg} is not in the page",
                sub.get_name()
            );
        }
    }
    for section in [
        "NAME",
        "SYNOPSIS",
        "DESCRIPTION",
        "OPTIONS",
        "COMMANDS",
        "ENVIRONMENT",
        "\"EXIT STATUS\"",
    ] {
        assert!(page.contains(&format!(".SH {section}\n")), "no {section}");
    }
    // `man` renders it without a warning, where man is installed.
    if let Ok(o) = Command::new("man")
        .args(["--warnings", "-l"])
        .arg(out_assets().join("coffer.1"))
        .env("MANWIDTH", "80")
        .output()
    {
        if o.status.success() {
            let text = String::from_utf8_lossy(&o.stdout);
            assert!(text.contains("coffer shell"), "{text}");
            assert!(
                o.stderr.is_empty(),
                "{}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
    }
}

#[test]
fn the_gzipped_page_is_the_page() {
    let o = Command::new("gzip")
        .arg("-dc")
        .arg(out_assets().join("coffer.1.gz"))
        .output()
        .unwrap();
    assert!(o.status.success());
    assert_eq!(String::from_utf8(o.stdout).unwrap(), read("coffer.1"));
}

#[test]
fn bash_completes_commands_and_options() {
    let file = out_assets().join("coffer.bash");
    let complete = |words: &str, cword: usize| -> String {
        let script = format!(
            "source '{}'; COMP_WORDS=({words}); COMP_CWORD={cword}; COMP_LINE='{words}'; COMP_POINT=${{#COMP_LINE}}; _coffer coffer \"${{COMP_WORDS[$COMP_CWORD]}}\" \"${{COMP_WORDS[$COMP_CWORD-1]}}\"; echo \"${{COMPREPLY[@]}}\"",
            file.display()
        );
        let o = Command::new("bash")
            .args(["--norc", "-c", &script])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap().trim().to_owned()
    };
    assert_eq!(complete("coffer l", 1), "ls log");
    assert_eq!(complete("coffer sh", 1), "share shell");
    assert!(complete("coffer share x --t", 3).contains("--to"));
    assert!(complete("coffer ls --s", 2).contains("--sort"));
    assert_eq!(complete("coffer ls --sort s", 3), "size");
}

#[test]
fn zsh_and_fish_completions_name_the_commands() {
    let zsh = read("_coffer");
    assert!(zsh.starts_with("#compdef coffer"), "{}", &zsh[..40]);
    let fish = read("coffer.fish");
    for sub in cli::Cli::command().get_subcommands() {
        assert!(
            zsh.contains(&format!("'{}:", sub.get_name())),
            "zsh: {}",
            sub.get_name()
        );
        assert!(
            fish.contains(&format!("-a \"{}\"", sub.get_name())),
            "fish: {}",
            sub.get_name()
        );
    }
}

#[test]
fn the_packager_finds_the_same_files_beside_the_binary() {
    // tauri.conf.json maps target/release/assets/* into the .deb; in a test
    // build the same layout is target/debug/assets/.
    let beside = Path::new(env!("CARGO_BIN_EXE_coffer"))
        .parent()
        .unwrap()
        .join("assets");
    for f in [
        "coffer.1",
        "coffer.1.gz",
        "coffer.bash",
        "_coffer",
        "coffer.fish",
    ] {
        assert_eq!(
            std::fs::read(beside.join(f)).unwrap(),
            std::fs::read(out_assets().join(f)).unwrap(),
            "{f}"
        );
    }
    let conf: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tauri.conf.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let files = conf["bundle"]["linux"]["deb"]["files"].as_object().unwrap();
    for (dest, src) in [
        (
            "/usr/share/man/man1/coffer.1.gz",
            "target/release/assets/coffer.1.gz",
        ),
        (
            "/usr/share/bash-completion/completions/coffer",
            "target/release/assets/coffer.bash",
        ),
        (
            "/usr/share/zsh/vendor-completions/_coffer",
            "target/release/assets/_coffer",
        ),
        (
            "/usr/share/fish/vendor_completions.d/coffer.fish",
            "target/release/assets/coffer.fish",
        ),
    ] {
        assert_eq!(
            files.get(dest).and_then(|v| v.as_str()),
            Some(src),
            "{dest}"
        );
    }
}
