//! Sharing: one document decrypted chunk by chunk straight into age's
//! encryptor, written where the user asked as `get --out` writes.

use super::read::place_output;
use super::*;
use crate::share::ShareTo;

impl Vault {
    /// Writes document `id` to `out` as a standard age file for `to`
    /// ([`crate::share`]). Streaming: each authenticated chunk of the blob
    /// goes into age's STREAM writer, so memory does not grow with the
    /// document. The file is written as [`Vault::export_to`] writes: an
    /// unnamed file in `out`'s folder, fsync, the audit entry (`share`, the
    /// id and the kind and number of recipients), then a no-clobber link
    /// (with `force`, the old entry removed first; a symlink at `out` is
    /// never followed). On any failure (a recipient refused, a damaged
    /// blob, a full disk, a log that cannot record it) nothing is left at
    /// `out`. Recipients are checked before the blob is opened; a
    /// passphrase that is the vault's own is refused.
    #[instrument(skip_all, fields(id = %id, to = to.kind()))]
    pub fn share_to(
        &self,
        id: &DocumentId,
        to: &ShareTo,
        out: &Path,
        force: bool,
        progress: &mut dyn FnMut(u64),
    ) -> Result<DocumentInfo> {
        self.writable()?;
        to.check()?;
        if let ShareTo::Passphrase(p) = to {
            // One Argon2id run; only a match refuses (nothing is audited:
            // this is no failed unlock).
            if self.header.unlock(&Unlocker::Passphrase(p)).is_ok() {
                return Err(Error::SharePassphraseReused);
            }
        }
        let (r, m) = self.checked_live_row(id)?;
        let (dir, name) = self.destination(out, force)?;
        let encryptor = to.encryptor()?;
        let mut tmp = TempFile::create_in(&dir).map_err(Error::io("creating the output file"))?;
        let mut age_out = encryptor
            .wrap_output(tmp.file())
            .map_err(Error::io("writing the output file"))?;
        self.decrypt_into(id, &r, &mut age_out, progress)?;
        age_out
            .finish()
            .map_err(Error::io("writing the output file"))?;
        tmp.sync().map_err(Error::io("flushing the output file"))?;
        // Recorded before the file gets its name, as for an export.
        self.write(|tx, st, v| {
            audit::append(tx, &v.k_audit, st, Event::Share, &to.audit_detail(id))
        })?;
        place_output(tmp, &dir, &name, force)?;
        info!("document shared");
        Ok(DocumentInfo::from_meta(&id.0, r.size, m))
    }
}
