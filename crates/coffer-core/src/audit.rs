//! The audit log: security events in an append-only table, each entry chained
//! to the one before by an HMAC, and the newest entry pinned by the index's
//! integrity record.
//!
//! ```text
//! mac_0 = 0^32
//! mac_i = HMAC[K_audit]("coffer/v1/audit" || mac_{i-1} || u64be(seq_i) || i64be(at_ms_i)
//!                       || u8(|event_i|) || event_i || u32be(|detail_i|) || detail_i)
//! ```
//! seq numbers start at 1 (or, after a `repair` that continued the old log,
//! right after the old log's last entry, whose MAC is `mac_0`; the integrity
//! record holds that base) and have no gaps. An edited entry breaks its own MAC;
//! a removed or reordered one breaks the next entry's chain; removing the newest
//! entries leaves a head that differs from the one the integrity record holds.
//! Details name document ids and counts, never names or tags.

use crate::crypto;
use crate::index::State;
use crate::secret::Key32;
use crate::Result;
use rusqlite::{params, Connection};

/// The kinds of event recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// The vault was created.
    Create,
    /// The vault was unlocked.
    Unlock,
    /// An unlock failed (recorded without a key, chained at the next unlock).
    FailedUnlock,
    /// The vault was locked.
    Lock,
    /// A document was added.
    Add,
    /// A document's plaintext was written out.
    Export,
    /// A document was removed.
    Delete,
    /// The passphrase was changed.
    PassphraseChange,
    /// The passphrase was reset with the recovery key.
    Recover,
    /// The index was rebuilt from the blobs.
    Repair,
    /// A document's name or tags changed.
    Edit,
    /// A vault older than this machine last saw was accepted by the user.
    AcceptOlder,
    /// The recovery key was replaced.
    RecoveryKeyChange,
    /// A key rotation started (`start`) or finished (`done`).
    Rekey,
    /// The index's record was upgraded to schema 2 (and the header's
    /// generation moved on, so no schema-1 copy fits any more).
    Upgrade,
    /// A document was moved to the trash.
    Trash,
    /// A document was brought back from the trash.
    Restore,
    /// The trash was emptied on request (followed by one `delete` per
    /// document, in the same transaction).
    EmptyTrash,
    /// Documents kept in the trash longer than the retention were purged
    /// (followed by one `delete` per document, in the same transaction).
    TrashExpired,
    /// The trash's retention was changed.
    TrashRetention,
    /// A passphrase check on an unlocked vault failed (before a change of
    /// passphrase or of the auto-lock delay).
    FailedCheck,
    /// A document was written out encrypted for others as an age file
    /// (`id=… to=x25519 count=N` or `id=… to=passphrase`: never the keys).
    Share,
    /// A document was decrypted into memory for a preview window (never
    /// written to disk).
    Preview,
}

impl Event {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Event::Create => "create",
            Event::Unlock => "unlock",
            Event::FailedUnlock => "failed_unlock",
            Event::Lock => "lock",
            Event::Add => "add",
            Event::Export => "export",
            Event::Delete => "delete",
            Event::PassphraseChange => "passphrase_change",
            Event::Recover => "recover",
            Event::Repair => "repair",
            Event::Edit => "edit",
            Event::AcceptOlder => "accept_older",
            Event::RecoveryKeyChange => "recovery_key_change",
            Event::Rekey => "rekey",
            Event::Upgrade => "upgrade",
            Event::FailedCheck => "failed_check",
            Event::Trash => "trash",
            Event::Restore => "restore",
            Event::EmptyTrash => "empty_trash",
            Event::TrashExpired => "trash_expired",
            Event::TrashRetention => "trash_retention",
            Event::Share => "share",
            Event::Preview => "preview",
        }
    }
}

/// One stored entry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Entry {
    /// Sequence number, from 1.
    pub seq: u64,
    /// Unix milliseconds.
    pub at_ms: i64,
    /// Event name.
    pub event: String,
    /// Detail (ids, counts).
    pub detail: String,
    /// Chain MAC (hex in JSON).
    #[serde(serialize_with = "hex_ser")]
    pub mac: [u8; 32],
}

fn hex_ser<S: serde::Serializer>(m: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crypto::hex(m))
}

/// The chain MAC of one entry.
pub fn entry_mac(
    k: &Key32,
    prev: &[u8; 32],
    seq: u64,
    at_ms: i64,
    event: &str,
    detail: &str,
) -> [u8; 32] {
    crypto::hmac(
        k,
        &[
            b"coffer/v1/audit",
            prev,
            &seq.to_be_bytes(),
            &at_ms.to_be_bytes(),
            &[event.len() as u8],
            event.as_bytes(),
            &(detail.len() as u32).to_be_bytes(),
            detail.as_bytes(),
        ],
    )
}

/// Appends an entry inside the caller's transaction and advances `state`'s
/// head (the caller writes `state` back in the same transaction).
pub fn append(
    conn: &Connection,
    k: &Key32,
    state: &mut State,
    event: Event,
    detail: &str,
) -> Result<()> {
    let seq = state.audit_seq + 1;
    let at = crate::time::now_ms();
    let mac = entry_mac(k, &state.audit_head, seq, at, event.as_str(), detail);
    // Cached: a bulk import appends one entry per document.
    conn.prepare_cached(
        "INSERT INTO audit (seq, at_ms, event, detail, mac) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![seq as i64, at, event.as_str(), detail, &mac[..]])?;
    state.audit_seq = seq;
    state.audit_head = mac;
    Ok(())
}

/// Every stored entry in sequence order.
pub fn entries(conn: &Connection) -> Result<Vec<Entry>> {
    let mut st = conn.prepare("SELECT seq, at_ms, event, detail, mac FROM audit ORDER BY seq")?;
    let v = st
        .query_map([], entry_row)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(v)
}

fn entry_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Entry> {
    let mac: Vec<u8> = r.get(4)?;
    Ok(Entry {
        seq: r.get::<_, i64>(0)? as u64,
        at_ms: r.get(1)?,
        event: r.get(2)?,
        detail: r.get(3)?,
        mac: mac.try_into().unwrap_or([0; 32]),
    })
}

/// The stored entries of `event` whose detail is exactly `detail`.
pub fn entries_with(conn: &Connection, event: Event, detail: &str) -> Result<Vec<Entry>> {
    let mut st = conn.prepare(
        "SELECT seq, at_ms, event, detail, mac FROM audit WHERE event = ?1 AND detail = ?2",
    )?;
    let v = st
        .query_map(params![event.as_str(), detail], entry_row)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(v)
}

/// The stored MAC of entry `seq`, if there is one.
pub fn mac_of(conn: &Connection, seq: u64) -> Result<Option<[u8; 32]>> {
    use rusqlite::OptionalExtension;
    Ok(conn
        .query_row("SELECT mac FROM audit WHERE seq = ?1", [seq as i64], |r| {
            r.get::<_, Vec<u8>>(0)
        })
        .optional()?
        .and_then(|m| m.try_into().ok()))
}

/// Whether the newest entry, as pinned by `state`, is `event` with exactly
/// `detail` (its MAC must be the head the record pins, and verify).
pub fn newest_is(
    conn: &Connection,
    k: &Key32,
    state: &State,
    event: Event,
    detail: &str,
) -> Result<bool> {
    use rusqlite::OptionalExtension;
    let Some(e) = conn
        .query_row(
            "SELECT seq, at_ms, event, detail, mac FROM audit WHERE seq = ?1",
            [state.audit_seq as i64],
            entry_row,
        )
        .optional()?
    else {
        return Ok(false);
    };
    let prev = if e.seq == state.audit_base_seq + 1 {
        Some(state.audit_base_head)
    } else {
        mac_of(conn, e.seq - 1)?
    };
    Ok(e.event == event.as_str()
        && e.detail == detail
        && crypto::ct_eq(&e.mac, &state.audit_head)
        && prev.is_some_and(|p| {
            crypto::ct_eq(
                &entry_mac(k, &p, e.seq, e.at_ms, &e.event, &e.detail),
                &e.mac,
            )
        }))
}

/// Re-MACs the whole log under `k_new` (a key rotation), after checking it
/// under `k_old` against `state` (its base and its end); returns the new
/// head. A log that does not verify is refused, never re-signed.
pub fn remac(
    conn: &Connection,
    k_old: &Key32,
    k_new: &Key32,
    state: &State,
) -> Result<(u64, [u8; 32])> {
    let entries = entries(conn)?;
    let status = verify(&entries, k_old, Some(state));
    if !status.ok {
        return Err(crate::Error::IndexTampered(
            "the audit log fails its chain; run `coffer log --verify`",
        ));
    }
    let (mut seq, mut prev) = (state.audit_base_seq, state.audit_base_head);
    for e in &entries {
        let mac = entry_mac(k_new, &prev, e.seq, e.at_ms, &e.event, &e.detail);
        conn.execute(
            "UPDATE audit SET mac = ?1 WHERE seq = ?2",
            params![&mac[..], e.seq as i64],
        )?;
        (seq, prev) = (e.seq, mac);
    }
    Ok((seq, prev))
}

/// The result of checking the chain.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChainStatus {
    /// Whether every check passed.
    pub ok: bool,
    /// Entries read.
    pub entries: u64,
    /// The first failure, if any.
    pub problem: Option<String>,
}

/// Checks the chain against `k` and the head pinned by `state` (`None` if the
/// integrity record itself failed, in which case the chain is reported broken).
pub fn verify(entries: &[Entry], k: &Key32, state: Option<&State>) -> ChainStatus {
    let fail = |p: String| ChainStatus {
        ok: false,
        entries: entries.len() as u64,
        problem: Some(p),
    };
    // A log continued by `repair` starts after the old log's last entry,
    // which the (authenticated) integrity record names.
    let (base_seq, mut prev) =
        state.map_or((0, [0u8; 32]), |s| (s.audit_base_seq, s.audit_base_head));
    for (i, e) in entries.iter().enumerate() {
        let want_seq = base_seq + i as u64 + 1;
        if e.seq != want_seq {
            return fail(format!(
                "entry {want_seq} is missing or out of order (found {})",
                e.seq
            ));
        }
        let mac = entry_mac(k, &prev, e.seq, e.at_ms, &e.event, &e.detail);
        if !crypto::ct_eq(&mac, &e.mac) {
            return fail(format!(
                "entry {} was altered, or one before it removed",
                e.seq
            ));
        }
        prev = mac;
    }
    let Some(state) = state else {
        return fail(
            "the index's integrity record fails, so the log's end cannot be checked".into(),
        );
    };
    let last = base_seq + entries.len() as u64;
    if state.audit_seq != last || !crypto::ct_eq(&state.audit_head, &prev) {
        return fail(format!(
            "the log ends at entry {last} but the integrity record expects entry {}: newest entries were removed or added",
            state.audit_seq
        ));
    }
    ChainStatus {
        ok: true,
        entries: entries.len() as u64,
        problem: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: usize) -> (Vec<Entry>, State, Key32) {
        let k = Key32::from_bytes([4; 32]);
        let mut s = State::empty(1);
        let mut v = Vec::new();
        for i in 0..n {
            let seq = s.audit_seq + 1;
            let detail = format!("id={i}");
            let mac = entry_mac(&k, &s.audit_head, seq, 1000 + i as i64, "add", &detail);
            v.push(Entry {
                seq,
                at_ms: 1000 + i as i64,
                event: "add".into(),
                detail,
                mac,
            });
            s.audit_seq = seq;
            s.audit_head = mac;
        }
        (v, s, k)
    }

    #[test]
    fn intact_chain_verifies() {
        let (v, s, k) = chain(5);
        assert!(verify(&v, &k, Some(&s)).ok);
    }

    #[test]
    fn edits_deletions_reorders_and_truncation_are_detected() {
        let (v, s, k) = chain(5);
        let mut edited = v.clone();
        edited[2].detail = "id=99".into();
        assert!(!verify(&edited, &k, Some(&s)).ok);
        let mut time_edit = v.clone();
        time_edit[1].at_ms += 1;
        assert!(!verify(&time_edit, &k, Some(&s)).ok);
        let mut deleted = v.clone();
        deleted.remove(2);
        assert!(!verify(&deleted, &k, Some(&s)).ok);
        let mut reordered = v.clone();
        reordered.swap(1, 2);
        assert!(!verify(&reordered, &k, Some(&s)).ok);
        let newest_gone = &v[..4];
        let st = verify(newest_gone, &k, Some(&s));
        assert!(!st.ok && st.problem.unwrap().contains("newest"));
        assert!(!verify(&v, &Key32::from_bytes([5; 32]), Some(&s)).ok);
        assert!(!verify(&v, &k, None).ok);
    }
}
