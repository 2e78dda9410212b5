//! Tables for people: what `coffer ls` and `coffer log` print on a terminal.
//! Sizes in binary units, times in the local time zone (`TZ`, else the
//! system's), names escaped so that a control or bidi character cannot break
//! the table. Scripts get the tab-separated form instead (see `main.rs`).

use coffer_core::names::escaped;
use coffer_core::DocumentInfo;

/// A size for reading: `512 B`, `1.2 MiB`, `3.0 GiB`.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut v = bytes as f64 / 1024.0;
    let mut unit = 0;
    // 1023.96 KiB would print as "1024.0 KiB": move up a unit before that.
    while v >= 1023.95 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

/// Local time for Unix milliseconds, in a `strftime` format.
pub fn local_time(ms: i64, tz: &jiff::tz::TimeZone, format: &str) -> String {
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(t) => t.to_zoned(tz.clone()).strftime(format).to_string(),
        // Outside jiff's range (years -9999..=9999): the UTC form says more
        // than nothing.
        Err(_) => coffer_core::time::rfc3339(ms),
    }
}

/// The time zone of the tables: `TZ`, else the system's, else UTC.
pub fn time_zone() -> jiff::tz::TimeZone {
    jiff::tz::TimeZone::system()
}

/// How a column lines up.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// Renders `rows` under `header`, two spaces between columns, each as wide
/// as its widest cell counted in characters. The last column is not padded,
/// so no line ends in spaces.
pub fn render(header: &[(&str, Align)], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|(h, _)| h.chars().count()).collect();
    for r in rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut l = String::new();
        for (i, cell) in cells.enumerate() {
            let last = i + 1 == header.len();
            let pad = widths[i].saturating_sub(cell.chars().count());
            if i > 0 {
                l.push_str("  ");
            }
            match header[i].1 {
                Align::Right => {
                    l.extend(std::iter::repeat_n(' ', pad));
                    l.push_str(cell);
                }
                Align::Left => {
                    l.push_str(cell);
                    if !last {
                        l.extend(std::iter::repeat_n(' ', pad));
                    }
                }
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(&mut header.iter().map(|(h, _)| *h));
    for r in rows {
        line(&mut r.iter().map(String::as_str));
    }
    out
}

/// How many hex digits of an id the table shows: enough to be unique in any
/// real vault, and `coffer get`/`rename`/`tag`/`rm` take it as a prefix.
pub const SHORT_ID: usize = 12;

/// `coffer ls` for people.
pub fn listing<'a>(docs: impl IntoIterator<Item = &'a DocumentInfo>) -> String {
    let tz = time_zone();
    let rows: Vec<Vec<String>> = docs
        .into_iter()
        .map(|d| {
            let id = d.id.to_string();
            vec![
                id[..SHORT_ID.min(id.len())].to_owned(),
                escaped(&d.name).into_owned(),
                human_size(d.size),
                local_time(d.added_ms, &tz, "%Y-%m-%d %H:%M"),
                d.tags
                    .iter()
                    .map(|t| escaped(t).into_owned())
                    .collect::<Vec<_>>()
                    .join(", "),
            ]
        })
        .collect();
    render(
        &[
            ("ID", Align::Left),
            ("NAME", Align::Left),
            ("SIZE", Align::Right),
            ("ADDED", Align::Left),
            ("TAGS", Align::Left),
        ],
        &rows,
    )
}

/// `coffer trash ls` for people: when each document was trashed and when
/// it will be purged, in local time.
pub fn trash_listing(docs: &[coffer_core::TrashedInfo]) -> String {
    let tz = time_zone();
    let rows: Vec<Vec<String>> = docs
        .iter()
        .map(|d| {
            let id = d.info.id.to_string();
            vec![
                id[..SHORT_ID.min(id.len())].to_owned(),
                escaped(&d.info.name).into_owned(),
                human_size(d.info.size),
                local_time(d.trashed_ms, &tz, "%Y-%m-%d %H:%M"),
                d.purge_at_ms.map_or_else(
                    || "never".to_owned(),
                    |t| local_time(t, &tz, "%Y-%m-%d %H:%M"),
                ),
            ]
        })
        .collect();
    render(
        &[
            ("ID", Align::Left),
            ("NAME", Align::Left),
            ("SIZE", Align::Right),
            ("TRASHED", Align::Left),
            ("PURGED", Align::Left),
        ],
        &rows,
    )
}

/// `coffer log` for people.
pub fn audit_log(entries: &[coffer_core::audit::Entry]) -> String {
    let tz = time_zone();
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| {
            vec![
                e.seq.to_string(),
                local_time(e.at_ms, &tz, "%Y-%m-%d %H:%M:%S"),
                escaped(&e.event.to_string()).into_owned(),
                escaped(&e.detail).into_owned(),
            ]
        })
        .collect();
    render(
        &[
            ("#", Align::Right),
            ("TIME", Align::Left),
            ("EVENT", Align::Left),
            ("DETAIL", Align::Left),
        ],
        &rows,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_in_binary_units() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(1023), "1023 B");
        assert_eq!(human_size(1024), "1.0 KiB");
        assert_eq!(human_size(1_234_567), "1.2 MiB");
        assert_eq!(human_size(1024 * 1024 - 1), "1.0 MiB");
        assert_eq!(human_size(3 * 1024 * 1024 * 1024), "3.0 GiB");
        assert_eq!(human_size(u64::MAX), "16.0 EiB");
    }

    #[test]
    fn local_time_follows_the_zone() {
        let ms = 1_795_310_445_123; // 2026-11-22T01:20:45.123Z
        let utc = jiff::tz::TimeZone::UTC;
        assert_eq!(local_time(ms, &utc, "%Y-%m-%d %H:%M"), "2026-11-22 01:20");
        let ist = jiff::tz::TimeZone::fixed(jiff::tz::offset(5)); // whole hours
        assert_eq!(local_time(ms, &ist, "%Y-%m-%d %H:%M"), "2026-11-22 06:20");
    }

    #[test]
    fn names_and_tags_are_escaped_in_the_table() {
        let d = DocumentInfo {
            id: coffer_core::DocumentId([0xab; 16]),
            name: "invoice\u{202e}fdp.exe\nline".into(),
            size: 2048,
            media_type: "text/plain".into(),
            tags: vec!["a\tb".into(), "c".into()],
            added_ms: 0,
        };
        let t = listing([&d]);
        assert_eq!(t.lines().count(), 2, "{t}");
        assert!(!t.contains('\u{202e}') && !t.contains('\t'), "{t}");
        assert!(
            t.contains("abababababab  invoice\\u{202e}fdp.exe\\u{a}line  2.0 KiB"),
            "{t}"
        );
        assert!(t.ends_with("a\\u{9}b, c\n"), "{t}");
    }

    #[test]
    fn columns_align_by_characters_and_lines_end_clean() {
        let t = render(
            &[("A", Align::Left), ("N", Align::Right), ("Z", Align::Left)],
            &[
                vec!["é".into(), "1".into(), "".into()],
                vec!["abc".into(), "100".into(), "x".into()],
            ],
        );
        assert_eq!(t, "A      N  Z\né      1\nabc  100  x\n");
    }
}
