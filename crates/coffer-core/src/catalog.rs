//! The decrypted catalog of documents: loaded once after unlock, searched in
//! memory. Loading reads the index in one pass and decrypts the sealed
//! metadata on every core.

use crate::index;
use crate::meta::MetaSealer;
use crate::secret::Key32;
use crate::vault::DocumentInfo;
use crate::{Error, Result};
use rusqlite::Connection;
use zeroize::Zeroizing;

/// Every live document's metadata (the trash left out), sorted by name, with lower-cased names and
/// tags kept for searching.
#[derive(Debug, Default)]
pub struct Catalog {
    docs: Vec<DocumentInfo>,
    /// `docs[i].name` lower-cased, then each tag lower-cased, `\u{0}`-separated.
    keys: Vec<String>,
}

impl Catalog {
    /// Reads every live row, checks its entry MAC under `K_manifest` (so a
    /// row that the vault never signed is never shown) and decrypts it.
    pub fn load(conn: &Connection, sealer: &MetaSealer, k_manifest: &Key32) -> Result<Catalog> {
        let live = index::scan_live_meta(conn)?;
        let entry_key = index::EntryKey::new(k_manifest);
        let n = live.ids.len();
        let threads = std::thread::available_parallelism()
            .map_or(1, |p| p.get())
            .clamp(1, 8);
        let per = n.div_ceil(threads).max(1024);
        let mut parts: Vec<Result<Vec<(String, DocumentInfo)>>> = Vec::new();
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..n)
                .step_by(per)
                .map(|start| {
                    let live = &live;
                    let entry_key = &entry_key;
                    s.spawn(move || {
                        let end = (start + per).min(n);
                        let mut scratch = Zeroizing::new(Vec::with_capacity(512));
                        let mut out = Vec::with_capacity(end - start);
                        for i in start..end {
                            let (a, b) = live.ranges[i];
                            let id = &live.ids[i];
                            let (blob_len, header_hash, entry_mac) = &live.pins[i];
                            let sealed = &live.arena[a..b];
                            let want =
                                entry_key.mac(id, live.sizes[i], *blob_len, header_hash, sealed);
                            if !crate::crypto::ct_eq(&want, entry_mac) {
                                return Err(Error::Corrupt {
                                    id: crate::crypto::hex(id),
                                    reason: "its index entry fails its MAC",
                                });
                            }
                            let m = sealer
                                .open_with(id, &live.arena[a..b], &mut scratch)
                                .ok_or_else(|| Error::Corrupt {
                                    id: crate::crypto::hex(id),
                                    reason: "its metadata in the index fails authentication",
                                })?;
                            // The trash is listed by `Vault::trash_list`.
                            if m.trashed_ms.is_some() {
                                continue;
                            }
                            let mut key = m.name.to_lowercase();
                            for t in &m.tags {
                                key.push('\0');
                                key.push_str(&t.to_lowercase());
                            }
                            out.push((key, DocumentInfo::from_meta(id, live.sizes[i], m)));
                        }
                        Ok(out)
                    })
                })
                .collect();
            parts = handles
                .into_iter()
                .map(|h| h.join().expect("catalog workers do not panic"))
                .collect();
        });
        let mut keys = Vec::with_capacity(n);
        let mut docs = Vec::with_capacity(n);
        for p in parts {
            for (k, d) in p? {
                keys.push(k);
                docs.push(d);
            }
        }
        // Fewer than the rows read when some are in the trash.
        let n = docs.len();
        // Sort small (prefix, index) pairs: comparing the first 16 bytes of
        // each name in place avoids a cache miss per comparison; ties (rare)
        // fall back to the full name, the time added and the id.
        let name_of = |i: u32| -> &str {
            let k = &keys[i as usize];
            &k[..k.find('\0').unwrap_or(k.len())]
        };
        let mut order: Vec<(u128, u32)> = (0..n as u32)
            .map(|i| {
                let mut p = [0u8; 16];
                let b = name_of(i).as_bytes();
                let l = b.len().min(16);
                p[..l].copy_from_slice(&b[..l]);
                (u128::from_be_bytes(p), i)
            })
            .collect();
        order.sort_unstable_by(|&(pa, a), &(pb, b)| {
            pa.cmp(&pb).then_with(|| {
                let (da, db) = (&docs[a as usize], &docs[b as usize]);
                name_of(a)
                    .cmp(name_of(b))
                    .then(da.added_ms.cmp(&db.added_ms))
                    .then(da.id.cmp(&db.id))
            })
        });
        let order: Vec<u32> = order.into_iter().map(|(_, i)| i).collect();
        let mut keys: Vec<Option<String>> = keys.into_iter().map(Some).collect();
        let mut docs: Vec<Option<DocumentInfo>> = docs.into_iter().map(Some).collect();
        let keys = order
            .iter()
            .map(|&i| keys[i as usize].take().expect("each index once"))
            .collect();
        let docs = order
            .iter()
            .map(|&i| docs[i as usize].take().expect("each index once"))
            .collect();
        Ok(Catalog { docs, keys })
    }

    /// Every document, sorted by name.
    pub fn all(&self) -> &[DocumentInfo] {
        &self.docs
    }

    /// Number of documents.
    pub fn len(&self) -> usize {
        self.docs.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    /// Documents matching `query`: `tag:T` matches a tag exactly (ignoring
    /// case); anything else is a case-insensitive substring of the name or of
    /// a tag.
    pub fn search(&self, query: &str) -> Vec<&DocumentInfo> {
        if let Some(t) = query.strip_prefix("tag:") {
            let t = t.to_lowercase();
            return self
                .keys
                .iter()
                .zip(&self.docs)
                .filter(|(k, _)| k.split('\0').skip(1).any(|x| x == t))
                .map(|(_, d)| d)
                .collect();
        }
        let q = query.to_lowercase();
        self.keys
            .iter()
            .zip(&self.docs)
            .filter(|(k, _)| k.split('\0').any(|x| x.contains(&q)))
            .map(|(_, d)| d)
            .collect()
    }
}

/// The order of a listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    /// By name (case-insensitive, as the catalog keeps it).
    #[default]
    Name,
    /// By size, then name.
    Size,
    /// By date added, then name.
    Date,
}

/// One page of a listing, and what the whole listing holds.
#[derive(Debug)]
pub struct Page<'a> {
    /// The documents of the page, in order.
    pub docs: Vec<&'a DocumentInfo>,
    /// How many documents match in all.
    pub matched: usize,
    /// The distinct tags of every matching document (sorted, at most
    /// [`PAGE_TAGS`]).
    pub tags: Vec<String>,
}

/// Most tags a [`Page`] lists.
pub const PAGE_TAGS: usize = 200;

impl Catalog {
    /// Indices (in name order) of the documents matching `query`, with the
    /// rules of [`Catalog::search`].
    fn matching(&self, query: &str) -> Vec<usize> {
        let keys = self.keys.iter().enumerate();
        if let Some(t) = query.strip_prefix("tag:") {
            let t = t.to_lowercase();
            return keys
                .filter(|(_, k)| k.split('\0').skip(1).any(|x| x == t))
                .map(|(i, _)| i)
                .collect();
        }
        let q = query.to_lowercase();
        if q.is_empty() {
            return (0..self.docs.len()).collect();
        }
        keys.filter(|(_, k)| k.split('\0').any(|x| x.contains(&q)))
            .map(|(i, _)| i)
            .collect()
    }

    /// The documents matching `query`, sorted by `sort` (reversed when
    /// `descending`), from `offset`, at most `limit`: what a paged,
    /// virtualized list asks for. Costs one pass over the catalog, plus a
    /// sort of the matches when not by name.
    pub fn page(
        &self,
        query: &str,
        sort: Sort,
        descending: bool,
        offset: usize,
        limit: usize,
    ) -> Page<'_> {
        let mut idx = self.matching(query);
        match sort {
            Sort::Name => {}
            Sort::Size => idx.sort_by_key(|&i| self.docs[i].size),
            Sort::Date => idx.sort_by_key(|&i| self.docs[i].added_ms),
        }
        if descending {
            idx.reverse();
        }
        let mut tags = std::collections::BTreeSet::new();
        for &i in &idx {
            for t in &self.docs[i].tags {
                if tags.len() < PAGE_TAGS || tags.contains(t) {
                    tags.insert(t.clone());
                }
            }
        }
        Page {
            matched: idx.len(),
            docs: idx
                .iter()
                .skip(offset)
                .take(limit)
                .map(|&i| &self.docs[i])
                .collect(),
            tags: tags.into_iter().collect(),
        }
    }
}

/// Decrypted names and tags are wiped when the catalog goes (at lock, or when
/// a newer one replaces it), not left in freed memory.
impl Drop for Catalog {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        for d in &mut self.docs {
            d.name.zeroize();
            for t in &mut d.tags {
                t.zeroize();
            }
        }
        for k in &mut self.keys {
            k.zeroize();
        }
    }
}

/// Appends the text listing of `coffer ls` for `docs` to `out`: one line per
/// document, tab-separated: id, name, size, time added, comma-joined tags.
pub fn write_listing<'a>(docs: impl IntoIterator<Item = &'a DocumentInfo>, out: &mut String) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let docs = docs.into_iter();
    out.reserve(docs.size_hint().0 * 96);
    for d in docs {
        let mut id = [0u8; 33];
        for (i, b) in d.id.0.iter().enumerate() {
            id[2 * i] = DIGITS[(b >> 4) as usize];
            id[2 * i + 1] = DIGITS[(b & 15) as usize];
        }
        id[32] = b'\t';
        out.push_str(std::str::from_utf8(&id).expect("hex digits are ASCII"));
        out.push_str(&d.name);
        out.push('\t');
        let mut n = [0u8; 20];
        let mut i = n.len();
        let mut v = d.size;
        loop {
            i -= 1;
            n[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        out.push_str(std::str::from_utf8(&n[i..]).expect("digits are ASCII"));
        out.push('\t');
        crate::time::write_rfc3339(d.added_ms, out);
        out.push('\t');
        for (i, t) in d.tags.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(t);
        }
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::DocumentId;

    fn doc(i: u8, name: &str, size: u64, added_ms: i64, tags: &[&str]) -> DocumentInfo {
        DocumentInfo {
            id: DocumentId([i; 16]),
            name: name.into(),
            size,
            media_type: "text/plain".into(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            added_ms,
        }
    }

    #[test]
    fn pages_are_sorted_filtered_and_cut() {
        let docs = vec![
            doc(1, "a.txt", 30, 3, &["x"]),
            doc(2, "B.txt", 10, 1, &["y"]),
            doc(3, "c.txt", 20, 2, &["x", "z"]),
        ];
        let keys = docs
            .iter()
            .map(|d| {
                let mut k = d.name.to_lowercase();
                for t in &d.tags {
                    k.push('\0');
                    k.push_str(&t.to_lowercase());
                }
                k
            })
            .collect();
        let c = Catalog { docs, keys };
        let names = |p: Page<'_>| p.docs.iter().map(|d| d.name.clone()).collect::<Vec<_>>();
        assert_eq!(
            names(c.page("", Sort::Name, false, 0, 10)),
            ["a.txt", "B.txt", "c.txt"]
        );
        assert_eq!(
            names(c.page("", Sort::Size, false, 0, 10)),
            ["B.txt", "c.txt", "a.txt"]
        );
        assert_eq!(
            names(c.page("", Sort::Date, true, 0, 10)),
            ["a.txt", "c.txt", "B.txt"]
        );
        assert_eq!(names(c.page("", Sort::Name, true, 1, 1)), ["B.txt"]);
        let p = c.page("tag:X", Sort::Name, false, 0, 1);
        assert_eq!(
            (p.matched, p.tags.clone()),
            (2, vec!["x".to_owned(), "z".to_owned()])
        );
        assert_eq!(names(p), ["a.txt"]);
        assert_eq!(c.page("b.", Sort::Name, false, 0, 10).matched, 1);
        assert!(c.page("", Sort::Name, false, 5, 10).docs.is_empty());
    }

    #[test]
    fn listing_lines_have_five_tab_separated_fields() {
        let d = DocumentInfo {
            id: DocumentId([0xab; 16]),
            name: "a b.pdf".into(),
            size: 1_234_567,
            media_type: "application/pdf".into(),
            tags: vec!["x".into(), "y z".into()],
            added_ms: 0,
        };
        let zero = DocumentInfo {
            size: 0,
            tags: vec![],
            ..d.clone()
        };
        let mut out = String::new();
        write_listing([&d, &zero], &mut out);
        assert_eq!(
            out,
            format!(
                "{}\ta b.pdf\t1234567\t1970-01-01T00:00:00.000Z\tx,y z\n{}\ta b.pdf\t0\t1970-01-01T00:00:00.000Z\t\n",
                "ab".repeat(16),
                "ab".repeat(16)
            )
        );
    }

    #[test]
    fn search_by_name_and_tag_ignores_case() {
        let mk = |name: &str, tags: &[&str]| {
            (
                name.to_lowercase(),
                tags.iter().map(|t| t.to_string()).collect::<Vec<_>>(),
            )
        };
        let mut c = Catalog::default();
        for (i, (name, tags)) in [mk("Lease.PDF", &["Home"]), mk("scan.png", &["tax", "2026"])]
            .into_iter()
            .enumerate()
        {
            let mut key = name.clone();
            for t in &tags {
                key.push('\0');
                key.push_str(&t.to_lowercase());
            }
            c.keys.push(key);
            c.docs.push(DocumentInfo {
                id: DocumentId([i as u8; 16]),
                name,
                size: 1,
                media_type: "text/plain".into(),
                tags,
                added_ms: 0,
            });
        }
        assert_eq!(c.search("LEASE").len(), 1);
        assert_eq!(c.search("tag:home").len(), 1);
        assert_eq!(c.search("tag:hom").len(), 0);
        assert_eq!(c.search("20").len(), 1);
        assert_eq!(c.search("zzz").len(), 0);
    }
}
