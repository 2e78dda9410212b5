//! The app's commands: exactly those in `policy/ipc.json`. Each takes
//! [`Checked`] first (the policy, enforced again in Rust), then typed arguments
//! parsed and validated in `args.rs`, calls the core off the main thread, and
//! maps errors to `{code, message}`. No command takes a path or file contents:
//! paths come from native dialogs and drops, and Rust reads and writes the files.

use std::path::PathBuf;

use coffer_core::ipc_policy::{policy, CommandRule, Refusal};
use coffer_core::vault::{AddEvent, AddItem, DocumentInfo, Vault};
use serde::Serialize;
use tauri::ipc::Channel;
use tauri::{AppHandle, Runtime, State};

use crate::args::{
    BlockedReport, Checked, CurrentPassphrase, Descending, DocId, DocName, EventFilter, Limit,
    Minutes, NewKeyChoice, NewPassphrase, Offset, OptionalPassphrase, Query, RecoveryKeyText,
    ShareRecipients, SortBy, Tags,
};
use crate::error::{AppError, AppResult};
use crate::state::{Notice, Open, RefusalCount, Refused, Shared};
use crate::{dialogs, grants};

/// Most audit entries one `audit_log` answer carries (newest first).
pub const AUDIT_PAGE: usize = 200;

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> AppResult<T> + Send + 'static,
) -> AppResult<T> {
    tauri::async_runtime::spawn_blocking(f)
        .await
        .map_err(|_| AppError::Internal("a background task failed"))?
}

/// What the first screen needs.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// A vault exists in the folder.
    pub exists: bool,
    /// It is unlocked in this app.
    pub unlocked: bool,
    /// The folder (the CLI's default too).
    pub vault_dir: String,
    /// Auto-lock delay.
    pub auto_lock_minutes: u32,
}

#[tauri::command]
pub async fn vault_status<R: Runtime>(
    _c: Checked<R>,
    state: State<'_, Shared<R>>,
) -> AppResult<Status> {
    let s = state.inner();
    Ok(Status {
        exists: s.config.vault_dir.join("coffer.header").is_file(),
        unlocked: s.is_unlocked(),
        vault_dir: s.config.vault_dir.display().to_string(),
        auto_lock_minutes: s.settings().auto_lock_minutes,
    })
}

/// The recovery key, shown once.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Created {
    /// Its text form (14 groups).
    pub recovery_key: String,
}

#[tauri::command]
pub async fn create_vault<R: Runtime>(
    _c: Checked<R>,
    passphrase: NewPassphrase,
    state: State<'_, Shared<R>>,
) -> AppResult<Created> {
    let s = state.inner().clone();
    blocking(move || {
        let mut slot = s.slot();
        if slot.is_some() {
            return Err(AppError::AlreadyUnlocked);
        }
        let params = s
            .config
            .kdf
            .unwrap_or_else(coffer_core::kdf::KdfParams::calibrate);
        let (vault, rk) = Vault::create(&s.config.vault_dir, &passphrase.0, params)?;
        s.touch();
        *slot = Some(Open {
            vault,
            catalog: None,
        });
        Ok(Created {
            recovery_key: rk.to_text().to_string(),
        })
    })
    .await
}

/// What unlocking found that the user must be told.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Unlocked {
    /// Set when the vault is older than this computer last saw it (a
    /// rollback, or a backup restored): documents can be read, nothing can
    /// be changed until the user accepts it with the CLI.
    pub warning: Option<String>,
}

#[tauri::command]
pub async fn unlock<R: Runtime>(
    _c: Checked<R>,
    passphrase: CurrentPassphrase,
    state: State<'_, Shared<R>>,
) -> AppResult<Unlocked> {
    let s = state.inner().clone();
    blocking(move || {
        if s.is_unlocked() {
            return Err(AppError::AlreadyUnlocked);
        }
        // Wrong passphrases are recorded by the core (chained into the log
        // at the next unlock) and slow the next attempt down. The check's
        // turn is taken before the vault slot, as everywhere (no deadlock
        // with a `change_passphrase` waiting out its delay).
        let vault =
            s.check_passphrase(|| Ok(Vault::unlock(&s.config.vault_dir, &passphrase.0)?))?;
        let mut slot = s.slot();
        if slot.is_some() {
            // Another unlock won the race; this one's keys are dropped.
            return Err(AppError::AlreadyUnlocked);
        }
        s.touch();
        let warning = vault.older().map(|o| {
            coffer_core::Error::RolledBack {
                now: o.now,
                seen: o.seen,
            }
            .to_string()
        });
        *slot = Some(Open {
            vault,
            catalog: None,
        });
        Ok(Unlocked { warning })
    })
    .await
}

#[tauri::command]
pub async fn lock<R: Runtime>(_c: Checked<R>, state: State<'_, Shared<R>>) -> AppResult<()> {
    let s = state.inner().clone();
    blocking(move || {
        s.lock("user");
        Ok(())
    })
    .await
}

/// One page of the catalog.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Listing {
    /// The documents of the page, in order.
    pub documents: Vec<DocumentInfo>,
    /// Where the page starts among the matches.
    pub offset: usize,
    /// How many match in all.
    pub matched: usize,
    /// How many the vault holds.
    pub total: usize,
    /// The distinct tags of every match (sorted, bounded).
    pub tags: Vec<String>,
}

fn fresh_catalog(open: &mut Open) -> AppResult<&coffer_core::catalog::Catalog> {
    let version = open.vault.data_version()?;
    if open.catalog.as_ref().map(|(v, _)| *v) != Some(version) {
        open.catalog = Some((version, open.vault.catalog()?));
    }
    open.catalog
        .as_ref()
        .map(|(_, c)| c)
        .ok_or(AppError::Internal("catalog"))
}

/// A page of the matching documents: the list in the window is virtualized,
/// so it asks only for the rows it shows, and answers stay small at any
/// vault size.
#[tauri::command]
pub async fn list_documents<R: Runtime>(
    _c: Checked<R>,
    query: Query,
    sort: SortBy,
    order: Descending,
    offset: Offset,
    limit: Limit,
    state: State<'_, Shared<R>>,
) -> AppResult<Listing> {
    let s = state.inner().clone();
    blocking(move || {
        s.with_open(|open| {
            let cat = fresh_catalog(open)?;
            let page = cat.page(query.0.trim(), sort.0, order.0, offset.0, limit.0);
            Ok(Listing {
                documents: page.docs.into_iter().cloned().collect(),
                offset: offset.0,
                matched: page.matched,
                total: cat.len(),
                tags: page.tags,
            })
        })
    })
    .await
}

/// Progress of a long operation, sent on its channel (small messages only:
/// they are delivered by script evaluation, never through the IPC fetch path).
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    /// Plaintext bytes done.
    pub bytes: u64,
    /// Plaintext bytes in all.
    pub total: u64,
    /// Files done.
    pub files: usize,
    /// Files in all.
    pub files_total: usize,
}

/// Sends progress at most every 50 ms.
struct Reporter<'a> {
    ch: &'a Channel<Progress>,
    p: Progress,
    last: std::time::Instant,
}

impl<'a> Reporter<'a> {
    fn new(ch: &'a Channel<Progress>, total: u64, files_total: usize) -> Self {
        let p = Progress {
            bytes: 0,
            total,
            files: 0,
            files_total,
        };
        let _ = ch.send(p);
        Reporter {
            ch,
            p,
            last: std::time::Instant::now(),
        }
    }
    fn bytes(&mut self, n: u64) {
        self.p.bytes = self.p.bytes.saturating_add(n);
        if self.last.elapsed() >= std::time::Duration::from_millis(50) {
            self.last = std::time::Instant::now();
            let _ = self.ch.send(self.p);
        }
    }
    fn file_done(&mut self) {
        self.p.files += 1;
        let _ = self.ch.send(self.p);
    }
}

/// One file that was not imported or exported, and why.
#[derive(Debug, Serialize)]
pub struct Failure {
    /// The file's name (import) or the document id (export).
    pub item: String,
    /// Stable code.
    pub code: &'static str,
    /// Message.
    pub message: String,
}

/// What an import did.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Imported {
    /// Documents added.
    pub added: Vec<DocumentInfo>,
    /// Files refused.
    pub failed: Vec<Failure>,
    /// Files inside dropped folders that were not imported: past the file
    /// limit, or in folders past the depth limit (counted as folders).
    pub left_out: LeftOut,
    /// The user stopped the import: the files not read yet were not
    /// imported (every document in `added` is in the vault).
    pub cancelled: bool,
}

/// What a folder walk left out, so the user is told rather than guessing.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LeftOut {
    /// Regular files past the limit of files per dropped folder.
    pub files: usize,
    /// That limit.
    pub file_limit: usize,
    /// Folders deeper than the depth limit, not entered.
    pub folders: usize,
    /// That limit.
    pub depth_limit: usize,
    /// Symbolic links and special files inside, never followed.
    pub not_regular: usize,
    /// Hidden files and folders inside (outside what the drop granted).
    pub hidden: usize,
}

fn import_paths<R: Runtime>(
    s: &Shared<R>,
    app: &AppHandle<R>,
    paths: Vec<PathBuf>,
    progress: &Channel<Progress>,
) -> AppResult<Imported> {
    let mut failed = Vec::new();
    let mut files = Vec::new();
    let mut left_out = LeftOut {
        file_limit: grants::MAX_FILES_PER_DROP,
        depth_limit: grants::MAX_DEPTH,
        ..LeftOut::default()
    };
    for p in paths {
        match grants::import_sources(app, &p) {
            Ok(mut found) => {
                files.append(&mut found.files);
                left_out.files += found.left_out;
                left_out.folders += found.too_deep;
                left_out.not_regular += found.not_regular;
                left_out.hidden += found.not_granted;
            }
            Err(e) => failed.push(Failure {
                item: grants::display_name(&p),
                code: e.code(),
                message: e.message(),
            }),
        }
    }
    let total = files.iter().map(|f| f.len).sum();
    let rep = std::cell::RefCell::new(Reporter::new(progress, total, files.len()));
    let failed = std::cell::RefCell::new(failed);
    // The name of the file being read, for a refusal (the core sees only
    // `/proc/self/fd/N`).
    let current = std::cell::RefCell::new(String::new());
    s.import_cancelled(true);
    let report = s.with_open(|open| {
        // Each file is opened (no link followed) only when its turn comes,
        // and read from that descriptor; the core commits in groups.
        let items = files.iter().filter_map(|src| {
            let item = src
                .name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            *current.borrow_mut() = item.clone();
            match open_source(src) {
                Ok(i) => Some(i),
                Err(e) => {
                    failed.borrow_mut().push(Failure {
                        item,
                        code: e.code(),
                        message: e.message(),
                    });
                    rep.borrow_mut().file_done();
                    None
                }
            }
        });
        let r = open.vault.add_items(
            items,
            &[],
            &mut |n| rep.borrow_mut().bytes(n),
            &mut |ev| match ev {
                AddEvent::Added(_) => rep.borrow_mut().file_done(),
                AddEvent::Refused { error, .. } => {
                    failed.borrow_mut().push(Failure {
                        item: current.borrow().clone(),
                        code: error.code,
                        message: error.message.clone(),
                    });
                    rep.borrow_mut().file_done();
                }
            },
            &|| s.import_cancelled(false),
        );
        open.catalog = None;
        Ok(r?)
    })?;
    Ok(Imported {
        added: report.added,
        failed: failed.into_inner(),
        left_out,
        cancelled: report.stopped,
    })
}

/// Opens one source for the core: the file [`grants::Source::open`] opened
/// (no link followed, `fstat`ed), which the core reopens through
/// `/proc/self/fd` and checks to be that same file, so whatever the path
/// names by now does not matter.
fn open_source(src: &grants::Source) -> AppResult<AddItem> {
    use std::os::fd::AsRawFd;
    let name = src
        .name()
        .and_then(|n| n.to_str())
        .ok_or(coffer_core::Error::InvalidName(
            coffer_core::names::NameError::NotUtf8,
        ))?;
    let fd = src.open()?;
    Ok(AddItem {
        path: PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd())),
        name: Some(name.to_owned()),
        hold: Some(fd),
    })
}

/// Stops the running import between two files (see [`Imported::cancelled`]).
#[tauri::command]
pub async fn cancel_import<R: Runtime>(
    _c: Checked<R>,
    state: State<'_, Shared<R>>,
) -> AppResult<()> {
    state.cancel_import();
    Ok(())
}

#[tauri::command]
pub async fn import_files<R: Runtime>(
    _c: Checked<R>,
    progress: Channel<Progress>,
    app: AppHandle<R>,
    state: State<'_, Shared<R>>,
) -> AppResult<Imported> {
    let s = state.inner().clone();
    blocking(move || {
        s.require_unlocked()?;
        let start = dialogs::start_folder(&app);
        let picked = s
            .with_dialog(|| s.config.dialogs.pick_files(&app, start.as_deref()))?
            .filter(|p| !p.is_empty())
            .ok_or(AppError::Cancelled)?;
        let granted = picked
            .into_iter()
            .map(|p| grants::grant_file(&app, p))
            .collect::<AppResult<Vec<_>>>()?;
        import_paths(&s, &app, granted, &progress)
    })
    .await
}

#[tauri::command]
pub async fn import_dropped<R: Runtime>(
    _c: Checked<R>,
    progress: Channel<Progress>,
    app: AppHandle<R>,
    state: State<'_, Shared<R>>,
) -> AppResult<Imported> {
    let s = state.inner().clone();
    blocking(move || {
        s.require_unlocked()?;
        let dropped = s.take_dropped();
        if dropped.is_empty() {
            return Err(AppError::NothingDropped);
        }
        import_paths(&s, &app, dropped, &progress)
    })
    .await
}

/// Where a document went.
#[derive(Debug, Serialize)]
pub struct Exported {
    /// The file written.
    pub path: String,
}

#[tauri::command]
pub async fn export_document<R: Runtime>(
    _c: Checked<R>,
    id: DocId,
    app: AppHandle<R>,
    state: State<'_, Shared<R>>,
) -> AppResult<Exported> {
    let s = state.inner().clone();
    blocking(move || {
        // The vault is not held while the dialog is open (auto-lock still works).
        let name = s.with_open(|o| Ok(o.vault.info(&id.0)?.name))?;
        // The stored name as it can be a file name (never a hidden one);
        // the user may change it in the dialog.
        let suggested = coffer_core::names::export_name(&name).into_owned();
        let start = dialogs::start_folder(&app);
        let chosen = s
            .with_dialog(|| {
                s.config
                    .dialogs
                    .save_file(&app, start.as_deref(), &suggested)
            })?
            .ok_or(AppError::Cancelled)?;
        let (dest, replace) = grants::grant_save_target(&app, chosen)?;
        s.with_open(|o| {
            o.vault.export_to(&id.0, &dest, replace, &mut |_| {})?;
            Ok(())
        })?;
        Ok(Exported {
            path: dest.display().to_string(),
        })
    })
    .await
}

/// What `export_all` did.
#[derive(Debug, Serialize)]
pub struct ExportedAll {
    /// The folder.
    pub folder: String,
    /// Documents written.
    pub exported: usize,
    /// Documents that failed their checks and were not written.
    pub failed: Vec<Failure>,
    /// Documents written under another name than the stored one (a leading
    /// dot, a name the folder's file system refused, a clash).
    pub renamed: Vec<Renamed>,
}

/// A document exported under another name, and why.
#[derive(Debug, Serialize)]
pub struct Renamed {
    /// The stored name.
    pub name: String,
    /// The file name written (in the chosen folder).
    pub written: String,
    /// Why, as stable codes (`leading_dot`, `portable`, `numbered`, `repaired`).
    pub why: Vec<&'static str>,
}

#[tauri::command]
pub async fn export_all<R: Runtime>(
    _c: Checked<R>,
    progress: Channel<Progress>,
    app: AppHandle<R>,
    state: State<'_, Shared<R>>,
) -> AppResult<ExportedAll> {
    let s = state.inner().clone();
    blocking(move || {
        let (total, count) = s.with_open(|o| {
            let c = fresh_catalog(o)?;
            Ok((c.all().iter().map(|d| d.size).sum::<u64>(), c.len()))
        })?;
        let start = dialogs::start_folder(&app);
        let chosen = s
            .with_dialog(|| s.config.dialogs.pick_folder(&app, start.as_deref()))?
            .ok_or(AppError::Cancelled)?;
        let folder = grants::grant_folder(&app, chosen)?;
        let mut rep = Reporter::new(&progress, total, count);
        let report = s.with_open(|o| Ok(o.vault.export_all(&folder, &mut |n| rep.bytes(n))?))?;
        rep.p.files = report.exported.len();
        let _ = progress.send(rep.p);
        Ok(ExportedAll {
            folder: folder.display().to_string(),
            exported: report.exported.len(),
            renamed: report
                .exported
                .iter()
                .filter(|e| !e.changes.is_empty())
                .map(|e| Renamed {
                    name: e.info.name.clone(),
                    written: grants::display_name(&e.path),
                    why: e.changes.iter().map(|c| c.code()).collect(),
                })
                .collect(),
            failed: report
                .failed
                .into_iter()
                .map(|(id, e)| Failure {
                    item: id.to_string(),
                    code: e.code,
                    message: e.message,
                })
                .collect(),
        })
    })
    .await
}

#[tauri::command]
pub async fn delete_document<R: Runtime>(
    _c: Checked<R>,
    id: DocId,
    app: AppHandle<R>,
    state: State<'_, Shared<R>>,
) -> AppResult<()> {
    let s = state.inner().clone();
    blocking(move || {
        let name = s.with_open(|o| Ok(o.vault.info(&id.0)?.name))?;
        // The confirmation is Rust's own: a compromised UI cannot skip it.
        let days = s.with_open(|o| Ok(o.vault.trash_retention()?))?;
        let kept = match days {
            0 => "until the trash is emptied".to_owned(),
            1 => "for a day".to_owned(),
            n => format!("for {n} days"),
        };
        let yes = s.with_dialog(|| {
            s.config.dialogs.confirm(
                &app,
                "Move to the trash",
                &format!("Move “{name}” to the trash? It can be restored {kept}."),
                "Move to the trash",
            )
        })?;
        if !yes {
            return Err(AppError::Cancelled);
        }
        s.change(|v| Ok(v.trash(&id.0).map(drop)?))
    })
    .await
}

/// Opens a preview window for one document: Rust decrypts it into memory
/// and serves it to that window only ([`crate::preview`]). The answer says
/// only what kind of preview opened, never the contents.
#[tauri::command]
pub async fn preview_document<R: Runtime>(
    _c: Checked<R>,
    id: DocId,
    app: AppHandle<R>,
    state: State<'_, Shared<R>>,
) -> AppResult<crate::preview::Opened> {
    use crate::preview::{self, Kind};
    let s = state.inner().clone();
    blocking(move || {
        let (info, bytes) =
            s.with_open(|o| Ok(o.vault.read_to_memory(&id.0, preview::MAX_MEDIA)?))?;
        let kind = Kind::sniff(&bytes).ok_or(AppError::NoPreview)?;
        if bytes.len() as u64 > kind.max() {
            return Err(AppError::NoPreview);
        }
        let (token, label) = s.previews.add(kind, bytes);
        if preview::open_window(&app, &label, &token, &info.name).is_err() {
            s.previews.forget(&label);
            return Err(AppError::Internal("the preview window could not open"));
        }
        Ok(preview::Opened {
            kind: kind.family(),
        })
    })
    .await
}

/// Most documents one `list_trash` answer carries.
pub const TRASH_PAGE: usize = 200;

/// One page of the trash, most recently trashed first.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrashView {
    /// Documents in the trash.
    pub total: usize,
    /// Days a document stays there (0: until emptied).
    pub retention_days: u32,
    /// This page.
    pub documents: Vec<coffer_core::vault::TrashedInfo>,
}

#[tauri::command]
pub async fn list_trash<R: Runtime>(
    _c: Checked<R>,
    offset: Offset,
    state: State<'_, Shared<R>>,
) -> AppResult<TrashView> {
    let s = state.inner().clone();
    blocking(move || {
        s.with_open(|o| {
            let all = o.vault.trash_list()?;
            Ok(TrashView {
                total: all.len(),
                retention_days: o.vault.trash_retention()?,
                documents: all.into_iter().skip(offset.0).take(TRASH_PAGE).collect(),
            })
        })
    })
    .await
}

#[tauri::command]
pub async fn restore_document<R: Runtime>(
    _c: Checked<R>,
    id: DocId,
    state: State<'_, Shared<R>>,
) -> AppResult<DocumentInfo> {
    let s = state.inner().clone();
    blocking(move || s.change(|v| Ok(v.restore(&id.0)?))).await
}

/// Removes every document in the trash for good, after Rust's own
/// confirmation (a script cannot skip it). Returns how many.
#[tauri::command]
pub async fn empty_trash<R: Runtime>(
    _c: Checked<R>,
    app: AppHandle<R>,
    state: State<'_, Shared<R>>,
) -> AppResult<usize> {
    let s = state.inner().clone();
    blocking(move || {
        let n = s.with_open(|o| Ok(o.vault.trash_list()?.len()))?;
        if n == 0 {
            return Ok(0);
        }
        let what = if n == 1 {
            "the document".to_owned()
        } else {
            format!("all {n} documents")
        };
        let yes = s.with_dialog(|| {
            s.config.dialogs.confirm(
                &app,
                "Empty the trash",
                &format!("Remove {what} in the trash for good? This cannot be undone."),
                "Empty the trash",
            )
        })?;
        if !yes {
            return Err(AppError::Cancelled);
        }
        s.change(|v| Ok(v.empty_trash()?))
    })
    .await
}

#[tauri::command]
pub async fn rename_document<R: Runtime>(
    _c: Checked<R>,
    id: DocId,
    name: DocName,
    state: State<'_, Shared<R>>,
) -> AppResult<DocumentInfo> {
    let s = state.inner().clone();
    blocking(move || s.change(|v| Ok(v.edit(&id.0, Some(&name.0), None)?))).await
}

#[tauri::command]
pub async fn set_tags<R: Runtime>(
    _c: Checked<R>,
    id: DocId,
    tags: Tags,
    state: State<'_, Shared<R>>,
) -> AppResult<DocumentInfo> {
    let s = state.inner().clone();
    blocking(move || s.change(|v| Ok(v.edit(&id.0, None, Some(&tags.0))?))).await
}

#[tauri::command]
pub async fn change_passphrase<R: Runtime>(
    _c: Checked<R>,
    current: CurrentPassphrase,
    next: NewPassphrase,
    state: State<'_, Shared<R>>,
) -> AppResult<()> {
    let s = state.inner().clone();
    blocking(move || {
        s.check_passphrase(|| s.with_open(|o| Ok(o.vault.check_passphrase(&current.0)?)))?;
        s.with_open(|o| Ok(o.vault.change_passphrase(&next.0, None)?))
    })
    .await
}

/// What recovery did.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Recovered {
    /// The new recovery key when one was asked for, shown once.
    pub recovery_key: Option<String>,
    /// Something the user must be told: the vault is older than this
    /// computer last saw (as for [`unlock`]), or the recovery key could not
    /// be replaced (the passphrase was reset all the same).
    pub warning: Option<String>,
}

/// Unlocks a locked vault with the recovery key and sets a new passphrase
/// (`Vault::recover`, audited `unlock` then `recover`); with `new_key`, also
/// replaces the recovery key (audited `recovery_key_change`) and returns the
/// new one, once. A mistyped key (its checksum) is refused before anything
/// is tried; a wrong one is recorded by the core (`failed_unlock`) and slows
/// the next check, passphrase or recovery key alike.
#[tauri::command]
pub async fn recover<R: Runtime>(
    _c: Checked<R>,
    key: RecoveryKeyText,
    passphrase: NewPassphrase,
    new_key: NewKeyChoice,
    state: State<'_, Shared<R>>,
) -> AppResult<Recovered> {
    let s = state.inner().clone();
    blocking(move || {
        if s.is_unlocked() {
            return Err(AppError::AlreadyUnlocked);
        }
        let rk = coffer_core::recovery::RecoveryKey::parse(&key.0)?;
        drop(key);
        let mut vault = s.check_passphrase(|| {
            Ok(Vault::recover(&s.config.vault_dir, &rk, &passphrase.0)?)
        })?;
        drop(rk);
        let mut warning = vault.older().map(|o| {
            coffer_core::Error::RolledBack {
                now: o.now,
                seen: o.seen,
            }
            .to_string()
        });
        let recovery_key = match new_key.0 {
            false => None,
            true => match vault.new_recovery_key() {
                Ok(rk) => Some(rk.to_text().to_string()),
                Err(e) => {
                    warning = Some(format!(
                        "Your passphrase was reset, but the recovery key was not replaced ({}). Replace it in Settings.",
                        e.public().message
                    ));
                    None
                }
            },
        };
        let mut slot = s.slot();
        if slot.is_some() {
            // Another unlock won the race; this one's keys are dropped (the
            // new passphrase and key are set all the same).
            return Err(AppError::AlreadyUnlocked);
        }
        s.touch();
        *slot = Some(Open {
            vault,
            catalog: None,
        });
        Ok(Recovered {
            recovery_key,
            warning,
        })
    })
    .await
}

/// Replaces the recovery key after checking the passphrase (slowed and
/// audited like every check); the new key is returned once, to be shown once.
#[tauri::command]
pub async fn replace_recovery_key<R: Runtime>(
    _c: Checked<R>,
    passphrase: CurrentPassphrase,
    state: State<'_, Shared<R>>,
) -> AppResult<Created> {
    let s = state.inner().clone();
    blocking(move || {
        s.check_passphrase(|| s.with_open(|o| Ok(o.vault.check_passphrase(&passphrase.0)?)))?;
        let rk = s.with_open(|o| Ok(o.vault.new_recovery_key()?))?;
        Ok(Created {
            recovery_key: rk.to_text().to_string(),
        })
    })
    .await
}

/// Shares one document as a standard age file for the recipients: Rust opens
/// the save dialog (suggesting `<name>.age`) and the core writes the file as
/// an export does (audited `share`, with the number of recipients, never the
/// keys). The recipients were checked in full before the dialog opens.
#[tauri::command]
pub async fn share_document<R: Runtime>(
    _c: Checked<R>,
    id: DocId,
    recipients: ShareRecipients,
    app: AppHandle<R>,
    state: State<'_, Shared<R>>,
) -> AppResult<Exported> {
    let s = state.inner().clone();
    blocking(move || {
        let name = s.with_open(|o| Ok(o.vault.info(&id.0)?.name))?;
        // A file name whatever the stored name is (never hidden, cut to 255
        // bytes keeping `.age`); only ever a plain string for the dialog.
        let suggested = coffer_core::names::export_name(&format!("{name}.age")).into_owned();
        let start = dialogs::start_folder(&app);
        let chosen = s
            .with_dialog(|| {
                s.config
                    .dialogs
                    .save_share(&app, start.as_deref(), &suggested)
            })?
            .ok_or(AppError::Cancelled)?;
        let (dest, replace) = grants::grant_save_target(&app, chosen)?;
        let to = coffer_core::share::ShareTo::Recipients(recipients.0);
        s.with_open(|o| {
            o.vault.share_to(&id.0, &to, &dest, replace, &mut |_| {})?;
            Ok(())
        })?;
        Ok(Exported {
            path: dest.display().to_string(),
        })
    })
    .await
}

/// One page of the audit log as the auditor reads it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditView {
    /// Newest first, at most [`AUDIT_PAGE`], after skipping `offset` of the
    /// entries that match.
    pub entries: Vec<coffer_core::audit::Entry>,
    /// How many entries match the filter in all.
    pub matched: usize,
    /// How many entries the log holds.
    pub total: usize,
    /// The chain's status (of the whole log).
    pub chain: coffer_core::audit::ChainStatus,
}

#[tauri::command]
pub async fn audit_log<R: Runtime>(
    _c: Checked<R>,
    event: EventFilter,
    offset: Offset,
    state: State<'_, Shared<R>>,
) -> AppResult<AuditView> {
    let s = state.inner().clone();
    blocking(move || {
        s.with_open(|o| {
            let (entries, chain) = o.vault.audit_log()?;
            let total = entries.len();
            let matching: Vec<_> = entries
                .into_iter()
                .rev()
                .filter(|e| event.0.is_empty() || e.event == event.0)
                .collect();
            Ok(AuditView {
                matched: matching.len(),
                total,
                entries: matching
                    .into_iter()
                    .skip(offset.0)
                    .take(AUDIT_PAGE)
                    .collect(),
                chain,
            })
        })
    })
    .await
}

/// The policy Rust enforces, and what was refused.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyView {
    /// Every command the UI may call.
    pub commands: &'static [CommandRule],
    /// Refused calls since start.
    pub refused_total: u64,
    /// The latest refused calls, newest first.
    pub refused: Vec<Refused>,
    /// Refusals counted per gate and command since start (never dropped).
    pub refused_counts: Vec<RefusalCount>,
}

#[tauri::command]
pub async fn ipc_policy<R: Runtime>(
    _c: Checked<R>,
    state: State<'_, Shared<R>>,
) -> AppResult<PolicyView> {
    let (refused_total, refused) = state.refusals();
    Ok(PolicyView {
        commands: &policy().commands,
        refused_total,
        refused,
        refused_counts: state.refusal_counts(),
    })
}

/// Changes the auto-lock delay. Shortening it needs nothing; lengthening it
/// needs the passphrase (checked like any other: slowed and audited), so a
/// script in the page cannot keep an unattended vault open for a day.
#[tauri::command]
pub async fn set_auto_lock<R: Runtime>(
    _c: Checked<R>,
    minutes: Minutes,
    passphrase: OptionalPassphrase,
    state: State<'_, Shared<R>>,
) -> AppResult<()> {
    let s = state.inner().clone();
    blocking(move || {
        if minutes.0 > s.settings().auto_lock_minutes {
            let pass = passphrase.0.ok_or(AppError::PassphraseNeeded)?;
            s.check_passphrase(|| s.with_open(|o| Ok(o.vault.check_passphrase(&pass)?)))?;
        }
        s.set_auto_lock(minutes.0)
    })
    .await
}

/// User activity in the window (keys, pointer): the only call that
/// postpones the auto-lock.
#[tauri::command]
pub async fn keep_alive<R: Runtime>(_c: Checked<R>, state: State<'_, Shared<R>>) -> AppResult<()> {
    state.touch();
    Ok(())
}

#[tauri::command]
pub async fn subscribe<R: Runtime>(
    _c: Checked<R>,
    events: Channel<Notice>,
    state: State<'_, Shared<R>>,
) -> AppResult<()> {
    state.subscribe(events);
    Ok(())
}

/// The isolation hook rewrites every call it refuses into this command: it is
/// recorded and rejected, so the UI's promise settles with a clear error.
#[tauri::command]
pub async fn report_blocked<R: Runtime>(
    _c: Checked<R>,
    command: BlockedReport,
    reason: BlockedReport,
    state: State<'_, Shared<R>>,
) -> AppResult<()> {
    state.record_refusal(&command.0, &reason.0, "hook");
    let refusal = match reason.0.as_str() {
        "hook_only" => Refusal::HookOnly,
        "bad_message" => Refusal::BadMessage,
        "bad_options" => Refusal::BadOptions,
        "missing_argument" => Refusal::MissingArgument("?".into()),
        "extra_argument" => Refusal::ExtraArgument,
        "bad_argument" => Refusal::BadArgument("?".into()),
        _ => Refusal::UnknownCommand,
    };
    Err(AppError::Refused { refusal })
}
