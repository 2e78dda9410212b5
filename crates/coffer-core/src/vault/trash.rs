//! The trash: moving a document there and back, purging it, and the
//! retention after which the trash purges it by itself.
//!
//! A document in the trash keeps its row, its blob and its place in the
//! manifest; only its sealed metadata changes (`trashed_ms`, see
//! [`crate::meta`]), in one transaction like a rename. The flag and its time
//! are therefore covered by the entry MAC and the manifest digest: a row put
//! back from before a `trash` (or before a `restore`) is an old row like any
//! other, and the manifest refuses it. The retention and the number of
//! documents in the trash are in the integrity record, under its MAC
//! ([`crate::index::State`]).
//!
//! Purging is what `rm` always was: one transaction marks the rows
//! `deleting`, takes them out of the manifest and records one `delete` per
//! document (after an `empty_trash` or `trash_expired` entry when it purges
//! the trash); then the blobs are unlinked and the rows deleted. A crash in
//! between is finished at the next unlock, which removes a blob only when
//! the log holds its `delete` entry.
//!
//! Documents kept in the trash longer than the retention are purged at every
//! unlock that can write (the integrity check passed, the vault is not older
//! than this machine saw, no key rotation is unfinished), audited as
//! `trash_expired`; retention 0 keeps them until the trash is emptied.

use super::*;

/// Most days the trash can keep a document (about a century).
pub const MAX_TRASH_RETENTION_DAYS: u32 = 36_500;
/// One day in milliseconds.
const DAY_MS: i64 = 86_400_000;

/// A document in the trash, as listed by [`Vault::trash_list`]. In JSON it
/// also carries `trashed` and `purge_at`, the times in RFC 3339.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrashedInfo {
    /// The document as it was listed before.
    pub info: DocumentInfo,
    /// When it was moved to the trash (Unix milliseconds).
    pub trashed_ms: i64,
    /// When the trash purges it by itself; `None` when the retention is 0.
    pub purge_at_ms: Option<i64>,
}

impl serde::Serialize for TrashedInfo {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let d = &self.info;
        let mut st = s.serialize_struct("TrashedInfo", 11)?;
        st.serialize_field("id", &d.id.to_string())?;
        st.serialize_field("name", &d.name)?;
        st.serialize_field("size", &d.size)?;
        st.serialize_field("media_type", &d.media_type)?;
        st.serialize_field("tags", &d.tags)?;
        st.serialize_field("added", &d.added())?;
        st.serialize_field("added_ms", &d.added_ms)?;
        st.serialize_field("trashed", &crate::time::rfc3339(self.trashed_ms))?;
        st.serialize_field("trashed_ms", &self.trashed_ms)?;
        st.serialize_field("purge_at", &self.purge_at_ms.map(crate::time::rfc3339))?;
        st.serialize_field("purge_at_ms", &self.purge_at_ms)?;
        st.end()
    }
}

/// When a document trashed at `trashed_ms` is purged under `days` of
/// retention (`None`: never by itself).
fn purge_at(trashed_ms: i64, days: u32) -> Option<i64> {
    (days > 0).then(|| trashed_ms.saturating_add(i64::from(days) * DAY_MS))
}

/// Which documents a purge takes.
#[derive(Clone, Copy)]
enum Pick {
    /// One document, in the trash or not (`rm --now`).
    One,
    /// Every document in the trash.
    Trash,
    /// Those in the trash since before `now - retention`.
    Expired { now: i64 },
}

impl Pick {
    fn takes(self, m: &Metadata, st: &State) -> bool {
        match (self, m.trashed_ms) {
            (Pick::One, _) => true,
            (_, None) => false,
            (Pick::Trash, Some(_)) => true,
            (Pick::Expired { now }, Some(t)) => {
                purge_at(t, st.trash_retention_days).is_some_and(|at| at <= now)
            }
        }
    }
}

impl Vault {
    /// Moves a document to the trash: it leaves listings, search and
    /// exports, and stays encrypted, in the manifest and restorable until it
    /// is purged. [`Error::InTrash`] if it is there already.
    #[instrument(skip_all, fields(id = %id))]
    pub fn trash(&self, id: &DocumentId) -> Result<DocumentInfo> {
        let at = crate::faults::now_ms(self.dir());
        let d = self.set_trashed(id, Some(at))?;
        info!("document moved to the trash");
        Ok(d)
    }

    /// Brings a document back from the trash. [`Error::NotInTrash`] if it is
    /// not there.
    #[instrument(skip_all, fields(id = %id))]
    pub fn restore(&self, id: &DocumentId) -> Result<DocumentInfo> {
        let d = self.set_trashed(id, None)?;
        info!("document restored from the trash");
        Ok(d)
    }

    /// One transaction: the row's sealed metadata gets (or loses) the trash
    /// time, its entry MAC and the manifest follow, the count of trashed
    /// documents moves, and the audit log records `trash` or `restore`.
    fn set_trashed(&self, id: &DocumentId, to: Option<i64>) -> Result<DocumentInfo> {
        crate::faults::point("trash:before-tx", self.dir());
        self.write(|tx, st, v| {
            // Read and checked inside the transaction: a racing purge,
            // edit or second trash is seen, never overwritten.
            let (old, mut m) = v.checked_row_in(tx, id)?;
            match (m.trashed_ms, to) {
                (Some(_), Some(_)) => return Err(Error::InTrash(id.to_string())),
                (None, None) => return Err(Error::NotInTrash(id.to_string())),
                _ => {}
            }
            m.trashed_ms = to;
            let mut row = DocRow {
                meta: v.sealer.seal(&id.0, &m),
                ..old.clone()
            };
            row.entry_mac = row.compute_mac(&v.k_manifest);
            index::replace_meta(tx, &row, &old.entry_mac)?;
            st.toggle(&v.folder, &old.entry_mac);
            st.toggle(&v.folder, &row.entry_mac);
            let event = match to {
                Some(_) => {
                    st.trash_count += 1;
                    Event::Trash
                }
                None => {
                    st.trash_count = st.trash_count.saturating_sub(1);
                    Event::Restore
                }
            };
            audit::append(tx, &v.k_audit, st, event, &format!("id={id}"))?;
            Ok(DocumentInfo::from_meta(&id.0, row.size, m))
        })
    }

    /// Removes a document for good, in the trash or not: its row, its blob
    /// and its place in the manifest (audited as `delete`).
    #[instrument(skip_all, fields(id = %id))]
    pub fn purge(&self, id: &DocumentId) -> Result<()> {
        self.purge_ids(&[*id], Pick::One, None)?;
        info!("document removed");
        Ok(())
    }

    /// The same as [`Vault::purge`] (its name before the trash).
    pub fn remove(&self, id: &DocumentId) -> Result<()> {
        self.purge(id)
    }

    /// The documents in the trash, most recently trashed first.
    #[instrument(skip_all)]
    pub fn trash_list(&self) -> Result<Vec<TrashedInfo>> {
        self.readable()?;
        let days = self.trash_retention()?;
        let mut out = Vec::new();
        self.for_each_trashed(|id, size, m| {
            let t = m.trashed_ms.unwrap_or_default();
            out.push(TrashedInfo {
                info: DocumentInfo::from_meta(id, size, m),
                trashed_ms: t,
                purge_at_ms: purge_at(t, days),
            });
        })?;
        out.sort_by(|a, b| {
            b.trashed_ms
                .cmp(&a.trashed_ms)
                .then(a.info.id.cmp(&b.info.id))
        });
        Ok(out)
    }

    /// Purges every document in the trash; returns how many. Audited as one
    /// `empty_trash` entry (`count=N`) and one `delete` per document.
    #[instrument(skip_all)]
    pub fn empty_trash(&self) -> Result<usize> {
        let n = self.purge_trashed(Pick::Trash)?;
        info!(count = n, "trash emptied");
        Ok(n)
    }

    /// Purges the documents kept in the trash longer than the retention, as
    /// of `now_ms`; returns how many. Audited as one `trash_expired` entry
    /// (`count=N;days=D`) and one `delete` per document. Nothing when the
    /// retention is 0. Every unlock that can write calls it.
    #[instrument(skip_all)]
    pub fn purge_expired(&self, now_ms: i64) -> Result<usize> {
        self.purge_trashed(Pick::Expired { now: now_ms })
    }

    /// How many days the trash keeps a document before it purges it; 0:
    /// until the trash is emptied. Read from the integrity record, under its
    /// MAC.
    pub fn trash_retention(&self) -> Result<u32> {
        self.readable()?;
        Ok(
            index::checked_state(&self.conn, &self.k_manifest, &self.header.vault_id)?
                .trash_retention_days,
        )
    }

    /// Sets the retention (0 to [`MAX_TRASH_RETENTION_DAYS`]; 0 keeps
    /// documents until the trash is emptied). Audited as `trash_retention`
    /// (`days=N`); setting the current value writes nothing. A shorter
    /// retention takes effect at the next unlock (or [`Vault::purge_expired`]).
    #[instrument(skip_all)]
    pub fn set_trash_retention(&self, days: u32) -> Result<()> {
        if days > MAX_TRASH_RETENTION_DAYS {
            return Err(Error::Invalid(format!(
                "the trash keeps documents at most {MAX_TRASH_RETENTION_DAYS} days (0: until it is emptied)"
            )));
        }
        if self.trash_retention()? == days {
            return Ok(());
        }
        self.write(|tx, st, v| {
            st.trash_retention_days = days;
            audit::append(
                tx,
                &v.k_audit,
                st,
                Event::TrashRetention,
                &format!("days={days}"),
            )
        })?;
        info!(days, "trash retention set");
        Ok(())
    }

    /// Calls `f` on every document in the trash whose row checks out (entry
    /// MAC and sealed metadata); one that does not is left to `verify`.
    fn for_each_trashed(&self, mut f: impl FnMut(&[u8; 16], u64, Metadata)) -> Result<()> {
        index::for_each_live(&self.conn, |r| {
            if !crypto::ct_eq(&r.compute_mac(&self.k_manifest), &r.entry_mac) {
                return Ok(());
            }
            if let Some(m) = self.sealer.open(&r.id, &r.meta) {
                if m.trashed_ms.is_some() {
                    f(&r.id, r.size, m);
                }
            }
            Ok(())
        })
    }

    /// Purges the documents of the trash that `pick` takes.
    fn purge_trashed(&self, pick: Pick) -> Result<usize> {
        self.writable()?;
        let st = index::checked_state(&self.conn, &self.k_manifest, &self.header.vault_id)?;
        if st.trash_count == 0 {
            return Ok(0);
        }
        let mut ids = Vec::new();
        self.for_each_trashed(|id, _, m| {
            if pick.takes(&m, &st) {
                ids.push(DocumentId(*id));
            }
        })?;
        if ids.is_empty() {
            return Ok(0);
        }
        let summary = match pick {
            Pick::Trash => (Event::EmptyTrash, String::new()),
            _ => (
                Event::TrashExpired,
                format!(";days={}", st.trash_retention_days),
            ),
        };
        self.purge_ids(&ids, pick, Some(summary))
    }

    /// Purges `ids`: their blobs are checked to be files Coffer can remove
    /// (a planted entry is refused with nothing changed); one transaction
    /// re-reads each row, keeps those `pick` still takes (a document
    /// restored meanwhile stays), marks them deleting, takes them out of the
    /// manifest and records `summary` (`count=N` and its detail) and one
    /// `delete` each; then the blobs are unlinked and the rows deleted.
    /// With [`Pick::One`] a row that is gone is an error; otherwise skipped.
    fn purge_ids(
        &self,
        ids: &[DocumentId],
        pick: Pick,
        summary: Option<(Event, String)>,
    ) -> Result<usize> {
        for id in ids {
            let h = crypto::hex(&id.0);
            if let Some(shard) = self.dirs.blobs.subdir(&h[..2])? {
                shard.check_file(&h, u64::MAX)?;
            }
        }
        crate::faults::point("remove:before-tx", self.dir());
        let taken = self.write(|tx, st, v| {
            let mut taken = Vec::with_capacity(ids.len());
            for id in ids {
                let (r, m) = match v.checked_row_in(tx, id) {
                    Ok(x) => x,
                    Err(e) if matches!(pick, Pick::One) => return Err(e),
                    Err(_) => continue,
                };
                if pick.takes(&m, st) {
                    taken.push((*id, r, m.trashed_ms.is_some()));
                }
            }
            if let Some((event, detail)) = &summary {
                let d = format!("count={}{detail}", taken.len());
                audit::append(tx, &v.k_audit, st, *event, &d)?;
            }
            for (id, r, trashed) in &taken {
                index::set_state(tx, &id.0, index::DELETING)?;
                st.toggle(&v.folder, &r.entry_mac);
                st.doc_count = st.doc_count.saturating_sub(1);
                if *trashed {
                    st.trash_count = st.trash_count.saturating_sub(1);
                }
                audit::append(tx, &v.k_audit, st, Event::Delete, &format!("id={id}"))?;
            }
            Ok(taken)
        })?;
        crate::faults::point("remove:after-tx", self.dir());
        for (id, _, _) in &taken {
            let h = crypto::hex(&id.0);
            if let Some(shard) = self.dirs.blobs.subdir(&h[..2])? {
                // Only a regular file is removed; anything else is refused.
                if shard.check_file(&h, u64::MAX)? {
                    shard
                        .remove_file(&h)
                        .map_err(Error::io("removing a blob"))?;
                }
                shard.sync().map_err(Error::io("flushing a blob folder"))?;
            }
            index::delete_row(&self.conn, &id.0)?;
        }
        Ok(taken.len())
    }
}
