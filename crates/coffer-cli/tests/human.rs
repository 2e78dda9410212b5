//! `coffer ls` and `coffer log` for people and for scripts: on a terminal (a
//! pseudo-terminal made by util-linux `script`) a table with a header, sizes
//! in binary units and local time; through a pipe the tab-separated lines of
//! before, whatever the time zone, with `--sort`/`--reverse` applied.
#![allow(clippy::unwrap_used)] // a panic in a test is a failed test

mod common;
use common::*;
use std::process::Command;

/// `coffer ARGS` on the vault of `e`, its standard output a terminal, in the
/// time zone `tz`. Returns what the terminal showed, without `\r`.
fn on_terminal(e: &Env, tz: &str, args: &str) -> Option<String> {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("SKIPPED: util-linux `script` is not installed (scripts/test.sh installs it)");
        return None;
    }
    let cmd = format!(
        "{} --vault {} --passphrase-file {} {args}",
        bin(),
        e.vault.display(),
        e.pass_file.display()
    );
    let o = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env("TZ", tz)
        .env("XDG_STATE_HOME", state_home(&e.vault))
        .env_remove("COFFER_LOG")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    Some(String::from_utf8(o.stdout).unwrap().replace('\r', ""))
}

/// The piped listing as it has always been, built from `ls --json`.
fn listing_from_json(e: &Env, args: &[&str]) -> String {
    let mut a = vec!["ls", "--json"];
    a.extend_from_slice(args);
    let v: serde_json::Value = serde_json::from_str(&e.ok(&a)).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let tags: Vec<&str> = d["tags"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t.as_str().unwrap())
                .collect();
            format!(
                "{}\t{}\t{}\t{}\t{}\n",
                d["id"].as_str().unwrap(),
                d["name"].as_str().unwrap(),
                d["size"],
                d["added"].as_str().unwrap(),
                tags.join(",")
            )
        })
        .collect()
}

fn seeded() -> (Env, Vec<i64>) {
    let e = Env::new();
    e.add_bytes("b-small.txt", b"hello");
    e.add_bytes("a-big.bin", &pattern(1_234_567, 1));
    let f = e.path("c-mid.pdf");
    std::fs::write(&f, pattern(3000, 2)).unwrap();
    e.ok(&["add", f.to_str().unwrap(), "--tag", "tax", "--tag", "2026"]);
    let v: serde_json::Value = serde_json::from_str(&e.ok(&["ls", "--json"])).unwrap();
    let ms = v
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["added_ms"].as_i64().unwrap())
        .collect();
    (e, ms)
}

fn local(ms: i64, offset_secs: i32, fmt: &str) -> String {
    let tz = jiff::tz::TimeZone::fixed(jiff::tz::Offset::from_seconds(offset_secs).unwrap());
    jiff::Timestamp::from_millisecond(ms)
        .unwrap()
        .to_zoned(tz)
        .strftime(fmt)
        .to_string()
}

#[test]
fn piped_ls_is_the_tab_separated_form_in_any_time_zone() {
    let (e, _) = seeded();
    let want = listing_from_json(&e, &[]);
    assert_eq!(want.lines().count(), 3);
    for tz in ["UTC", "Asia/Kolkata", "America/St_Johns"] {
        let o = e.cmd(&["ls"]).env("TZ", tz).output().unwrap();
        assert!(o.status.success());
        assert_eq!(String::from_utf8(o.stdout).unwrap(), want, "TZ={tz}");
    }
    // Sorted by name, as before.
    let names: Vec<&str> = want
        .lines()
        .map(|l| l.split('\t').nth(1).unwrap())
        .collect();
    assert_eq!(names, ["a-big.bin", "b-small.txt", "c-mid.pdf"]);
}

#[test]
fn sort_and_reverse_apply_to_every_form() {
    let (e, _) = seeded();
    let names = |out: String| -> Vec<String> {
        out.lines()
            .map(|l| l.split('\t').nth(1).unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        names(e.ok(&["ls", "--sort", "size"])),
        ["b-small.txt", "c-mid.pdf", "a-big.bin"]
    );
    assert_eq!(
        names(e.ok(&["ls", "--sort", "size", "--reverse"])),
        ["a-big.bin", "c-mid.pdf", "b-small.txt"]
    );
    assert_eq!(
        names(e.ok(&["ls", "--sort", "date"])),
        ["b-small.txt", "a-big.bin", "c-mid.pdf"]
    );
    assert_eq!(
        names(e.ok(&["ls", "--reverse"])),
        ["c-mid.pdf", "b-small.txt", "a-big.bin"]
    );
    assert_eq!(
        e.ok(&["ls", "--sort", "size"]),
        listing_from_json(&e, &["--sort", "size"])
    );
    assert_eq!(names(e.ok(&["ls", "tag:TAX", "--reverse"])), ["c-mid.pdf"]);
    let o = e.run(&["ls", "--sort", "colour"]);
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("colour"));
}

#[test]
fn ls_on_a_terminal_is_a_table_in_local_time() {
    let (e, ms) = seeded();
    let Some(utc) = on_terminal(&e, "UTC", "ls") else {
        return;
    };
    let lines: Vec<&str> = utc.lines().collect();
    assert_eq!(lines.len(), 4, "{utc}");
    assert!(
        lines[0].starts_with("ID ") && lines[0].contains("NAME") && lines[0].ends_with("TAGS"),
        "{utc}"
    );
    assert!(
        lines[1].contains("a-big.bin") && lines[1].contains("1.2 MiB"),
        "{utc}"
    );
    assert!(
        lines[2].contains("b-small.txt") && lines[2].contains("  5 B  "),
        "{utc}"
    );
    assert!(
        lines[3].contains("2.9 KiB") && lines[3].ends_with("2026, tax"),
        "{utc}"
    );
    // Columns line up: every size ends where the header's SIZE ends.
    let end = lines[0].find("SIZE").unwrap() + 4;
    for l in &lines[1..] {
        assert!(l[..end].ends_with('B'), "{utc}");
    }
    assert!(
        lines[1].contains(&local(ms[0], 0, "%Y-%m-%d %H:%M")),
        "{utc}"
    );
    // Asia/Kolkata is UTC+05:30 all year: the same rows, shifted.
    let ist = on_terminal(&e, "Asia/Kolkata", "ls").unwrap();
    for (i, l) in ist.lines().skip(1).enumerate() {
        assert!(l.contains(&local(ms[i], 19_800, "%Y-%m-%d %H:%M")), "{ist}");
    }
    // Sorting works there too.
    let by_size = on_terminal(&e, "UTC", "ls --sort size --reverse").unwrap();
    assert!(
        by_size.lines().nth(1).unwrap().contains("a-big.bin"),
        "{by_size}"
    );
    assert!(
        by_size.lines().nth(3).unwrap().contains("b-small.txt"),
        "{by_size}"
    );
}

#[test]
fn accented_names_keep_the_columns_aligned() {
    let e = Env::new();
    let f = e.path("plain.txt");
    std::fs::write(&f, b"x").unwrap();
    // Control and bidi characters are refused in names and tags (and the
    // table escapes them all the same); what remains to get right is width
    // counted in characters.
    e.ok(&["add", f.to_str().unwrap(), "--name", "naïve résumé.txt"]);
    let Some(t) = on_terminal(&e, "UTC", "ls") else {
        return;
    };
    let lines: Vec<&str> = t.lines().collect();
    // Counted in characters, not bytes: "SIZE" ends where "1 B" ends.
    let col = |l: &str, s: &str| l[..l.find(s).unwrap()].chars().count();
    assert_eq!(col(lines[0], "SIZE") + 4, col(lines[1], "1 B") + 3, "{t}");
}

#[test]
fn log_on_a_terminal_is_a_table_and_piped_is_unchanged() {
    let (e, _) = seeded();
    let piped = e.ok(&["log"]);
    let first = piped.lines().next().unwrap();
    let fields: Vec<&str> = first.split('\t').collect();
    assert_eq!(fields.len(), 4, "{piped}");
    assert_eq!(fields[0], "1");
    assert!(
        fields[1].ends_with('Z') && fields[1].contains('T'),
        "{piped}"
    );
    let o = e.cmd(&["log"]).env("TZ", "Asia/Kolkata").output().unwrap();
    // The piped form never follows TZ (entries are appended by each run, so
    // compare the prefix both share).
    assert!(String::from_utf8(o.stdout).unwrap().starts_with(&piped));
    let Some(t) = on_terminal(&e, "Asia/Kolkata", "log") else {
        return;
    };
    let lines: Vec<&str> = t.lines().collect();
    assert!(
        lines[0].trim_start().starts_with("#  TIME") && lines[0].ends_with("DETAIL"),
        "{t}"
    );
    let at: jiff::Timestamp = fields[1].parse().unwrap();
    let want = local(at.as_millisecond(), 19_800, "%Y-%m-%d %H:%M:%S");
    assert!(lines[1].contains(&want), "{t}\nwant {want}");
    assert!(!t.contains('\t'), "{t}");
}
