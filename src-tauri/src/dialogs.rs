//! Native dialogs, opened by Rust: the only way a path reaches the app besides
//! a drop on the window. The webview never names a path.
//!
//! [`Native`] is what every build uses. With the `e2e` feature only (never in a
//! release or a package), [`Scripted`] answers from a JSON file named by
//! `COFFER_E2E_DIALOGS`, so WebDriver tests can import and export under Xvfb.

use std::path::{Path, PathBuf};

use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_dialog::{DialogExt, MessageDialogButtons, MessageDialogKind};

/// The folder file dialogs open in: the user's documents folder (never a
/// place the UI names), else the home folder.
pub fn start_folder<R: Runtime>(app: &AppHandle<R>) -> Option<PathBuf> {
    let p = app.path();
    p.document_dir()
        .ok()
        .filter(|d| d.is_dir())
        .or_else(|| p.home_dir().ok())
}

/// The dialogs a command may open. Each returns `None` when cancelled. File
/// and folder dialogs open in `start` (see [`start_folder`]).
pub trait Dialogs<R: Runtime>: Send + Sync {
    /// Files to import.
    fn pick_files(&self, app: &AppHandle<R>, start: Option<&Path>) -> Option<Vec<PathBuf>>;
    /// Where to save one document, suggesting its (sanitized) name.
    fn save_file(
        &self,
        app: &AppHandle<R>,
        start: Option<&Path>,
        suggested: &str,
    ) -> Option<PathBuf>;
    /// Where to save a document shared as an age file, suggesting
    /// `<name>.age` (sanitized). The same dialog as [`Dialogs::save_file`]
    /// unless a backend titles it differently.
    fn save_share(
        &self,
        app: &AppHandle<R>,
        start: Option<&Path>,
        suggested: &str,
    ) -> Option<PathBuf> {
        self.save_file(app, start, suggested)
    }
    /// A folder to export into.
    fn pick_folder(&self, app: &AppHandle<R>, start: Option<&Path>) -> Option<PathBuf>;
    /// A yes/no question; `true` only when the user chose `yes`.
    fn confirm(&self, app: &AppHandle<R>, title: &str, message: &str, yes: &str) -> bool;
}

/// The platform's dialogs (GTK on Linux), through tauri-plugin-dialog.
pub struct Native;

impl<R: Runtime> Dialogs<R> for Native {
    fn pick_files(&self, app: &AppHandle<R>, start: Option<&Path>) -> Option<Vec<PathBuf>> {
        let mut d = app.dialog().file().set_title("Import into Coffer");
        if let Some(s) = start {
            d = d.set_directory(s);
        }
        let picked = d.blocking_pick_files()?;
        Some(
            picked
                .into_iter()
                .filter_map(|p| p.into_path().ok())
                .collect(),
        )
    }

    fn save_file(
        &self,
        app: &AppHandle<R>,
        start: Option<&Path>,
        suggested: &str,
    ) -> Option<PathBuf> {
        native_save(app, "Export from Coffer", start, suggested)
    }

    fn save_share(
        &self,
        app: &AppHandle<R>,
        start: Option<&Path>,
        suggested: &str,
    ) -> Option<PathBuf> {
        native_save(app, "Share as an age file", start, suggested)
    }

    fn pick_folder(&self, app: &AppHandle<R>, start: Option<&Path>) -> Option<PathBuf> {
        let mut d = app.dialog().file().set_title("Export every document into…");
        if let Some(s) = start {
            d = d.set_directory(s);
        }
        d.blocking_pick_folder()?.into_path().ok()
    }

    fn confirm(&self, app: &AppHandle<R>, title: &str, message: &str, yes: &str) -> bool {
        app.dialog()
            .message(printf_literal(message))
            .title(title)
            .kind(MessageDialogKind::Warning)
            .buttons(MessageDialogButtons::OkCancelCustom(
                yes.to_owned(),
                "Cancel".to_owned(),
            ))
            .blocking_show()
    }
}

/// The native save dialog. The suggested name is set as a plain string
/// (GTK's file chooser never formats it).
fn native_save<R: Runtime>(
    app: &AppHandle<R>,
    title: &str,
    start: Option<&Path>,
    suggested: &str,
) -> Option<PathBuf> {
    let mut d = app
        .dialog()
        .file()
        .set_title(title)
        .set_file_name(suggested);
    if let Some(s) = start {
        d = d.set_directory(s);
    }
    d.blocking_save_file()?.into_path().ok()
}

/// `text` as a printf format that prints `text` itself.
///
/// On Linux, rfd's GTK message dialog (behind tauri-plugin-dialog's
/// `message`) hands the description to `gtk_message_dialog_format_secondary_text`
/// as the *format*: a `%s` or `%n` in a document name would read or write
/// memory that is not there (a name like `Lease 100%s%s%n.pdf` crashed the
/// app). Every `%` is doubled, so the format has no conversion left. The
/// title is passed safely (through `"%s"`), and file dialogs take names as
/// plain strings.
pub fn printf_literal(text: &str) -> String {
    // rfd uses GTK on Linux and the BSDs; macOS and Windows show text as is.
    if cfg!(all(unix, not(target_os = "macos"))) {
        text.replace('%', "%%")
    } else {
        text.to_owned()
    }
}

/// Test builds only: answers read from the JSON file `$COFFER_E2E_DIALOGS` at
/// each call: `{"pick": [paths], "save": path, "folder": path, "confirm": bool}`;
/// a missing key means "cancelled".
#[cfg(feature = "e2e")]
pub struct Scripted;

#[cfg(feature = "e2e")]
impl Scripted {
    /// Marker string the packaging check looks for: it must never be in a
    /// release binary.
    pub const MARKER: &'static str = "COFFER_E2E_DIALOGS";

    fn answers() -> serde_json::Value {
        std::env::var_os(Self::MARKER)
            .and_then(|p| std::fs::read(p).ok())
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }
}

#[cfg(feature = "e2e")]
impl<R: Runtime> Dialogs<R> for Scripted {
    fn pick_files(&self, _: &AppHandle<R>, _: Option<&Path>) -> Option<Vec<PathBuf>> {
        let a = Self::answers();
        let list = a.get("pick")?.as_array()?;
        Some(
            list.iter()
                .filter_map(|p| p.as_str().map(PathBuf::from))
                .collect(),
        )
    }
    fn save_file(&self, _: &AppHandle<R>, _: Option<&Path>, suggested: &str) -> Option<PathBuf> {
        let a = Self::answers();
        let dir = PathBuf::from(a.get("save")?.as_str()?);
        Some(if dir.is_dir() {
            dir.join(suggested)
        } else {
            dir
        })
    }
    fn pick_folder(&self, _: &AppHandle<R>, _: Option<&Path>) -> Option<PathBuf> {
        Self::answers().get("folder")?.as_str().map(PathBuf::from)
    }
    fn confirm(&self, _: &AppHandle<R>, _: &str, _: &str, _: &str) -> bool {
        Self::answers().get("confirm").and_then(|v| v.as_bool()) == Some(true)
    }
}

#[cfg(test)]
mod tests {
    use super::printf_literal;

    /// What printf prints for `format` with no arguments; `None` if the
    /// format holds a conversion (which would read an argument that is not
    /// there).
    fn printf(format: &str) -> Option<String> {
        let mut out = String::new();
        let mut chars = format.chars();
        while let Some(c) = chars.next() {
            if c != '%' {
                out.push(c);
            } else if chars.next()? == '%' {
                out.push('%');
            } else {
                return None;
            }
        }
        Some(out)
    }

    #[test]
    fn dialog_text_is_shown_never_interpreted() {
        for name in [
            "Lease 100%s%s%s%n signed.pdf",
            "%n%n%n%n",
            "100%% sure.txt",
            "%",
            "trailing %",
            "\u{202E}gpj.exe \u{200B}zero\u{200D}width %x",
            "plain name.pdf",
        ] {
            let message = format!("Delete \u{201C}{name}\u{201D}? This cannot be undone.");
            let f = printf_literal(&message);
            if cfg!(all(unix, not(target_os = "macos"))) {
                assert_eq!(printf(&f).as_deref(), Some(message.as_str()), "{name}");
            }
        }
    }
}
