//! Preview windows: one document, decrypted into memory by Rust, shown in a
//! window of its own that the main window cannot script and that can call
//! nothing.
//!
//! - The window is a separate webview labelled `preview-N`. No capability
//!   names it, so Tauri's ACL refuses every command and plugin call it makes.
//! - Its page and the document come from the `coffer-preview:` scheme,
//!   answered by Rust from memory ([`Previews::serve`]): only to the webview
//!   the token was made for, the document itself once (a one-shot token),
//!   and never after a lock, which closes every preview window and forgets
//!   every token. Every answer says `Cache-Control: no-store`, and the
//!   webview is ephemeral (`incognito`), so WebKit keeps nothing on disk.
//! - The main window never receives the document's bytes: the command
//!   answers with the kind of preview only.
//! - Text is shown as text (`textContent`), never as HTML; images through
//!   `<img>`; PDF through pdf.js (from npm, built into the binary and served
//!   to preview windows only), with scripting and `eval` off.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use serde::Serialize;
use tauri::http::{header, Request, Response, StatusCode};
use tauri::{AppHandle, Manager, Runtime};
use zeroize::Zeroizing;

/// The scheme preview pages and documents are served on.
pub const SCHEME: &str = "coffer-preview";
/// Labels of preview windows start with this.
pub const LABEL_PREFIX: &str = "preview-";
/// Largest text shown (bigger text is for an editor: export it).
pub const MAX_TEXT: u64 = 4 << 20;
/// Largest image or PDF held in memory for a preview.
pub const MAX_MEDIA: u64 = 64 << 20;

/// The page's own policy: its scripts and nothing else; the document only as
/// data it fetched (`blob:` images); no frame, form, plugin or other origin.
const CSP: &str = "default-src 'none'; script-src 'self'; worker-src 'self'; \
    connect-src 'self'; img-src blob:; style-src 'self'; font-src 'self' data: blob:; \
    object-src 'none'; frame-src 'none'; base-uri 'none'; form-action 'none'; \
    frame-ancestors 'none'";

const PAGE_JS: &[u8] = include_bytes!("../preview/preview.js");
const PAGE_CSS: &[u8] = include_bytes!("../preview/preview.css");
const PDF_JS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/pdf.min.mjs"));
const PDF_WORKER: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/pdf.worker.min.mjs"));

/// What a document is, from its first bytes (never from its name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// UTF-8 text without control characters other than whitespace.
    Text,
    /// PNG image.
    Png,
    /// JPEG image.
    Jpeg,
    /// GIF image.
    Gif,
    /// WebP image.
    Webp,
    /// PDF document.
    Pdf,
}

impl Kind {
    /// The kind of `b`, or `None` for a type with no preview.
    pub fn sniff(b: &[u8]) -> Option<Kind> {
        let kind = if b.starts_with(b"\x89PNG\r\n\x1a\n") {
            Kind::Png
        } else if b.starts_with(&[0xff, 0xd8, 0xff]) {
            Kind::Jpeg
        } else if b.starts_with(b"GIF87a") || b.starts_with(b"GIF89a") {
            Kind::Gif
        } else if b.len() >= 12 && &b[..4] == b"RIFF" && &b[8..12] == b"WEBP" {
            Kind::Webp
        } else if b.starts_with(b"%PDF-") {
            Kind::Pdf
        } else if std::str::from_utf8(b).is_ok()
            && !b
                .iter()
                .any(|&c| c < 0x20 && !matches!(c, b'\t' | b'\n' | b'\r' | 0x0c))
        {
            Kind::Text
        } else {
            return None;
        };
        Some(kind)
    }

    fn media_type(self) -> &'static str {
        match self {
            Kind::Text => "text/plain; charset=utf-8",
            Kind::Png => "image/png",
            Kind::Jpeg => "image/jpeg",
            Kind::Gif => "image/gif",
            Kind::Webp => "image/webp",
            Kind::Pdf => "application/pdf",
        }
    }

    /// How the page shows it: `text`, `image` or `pdf`.
    pub fn family(self) -> &'static str {
        match self {
            Kind::Text => "text",
            Kind::Pdf => "pdf",
            _ => "image",
        }
    }

    /// Largest document of this kind shown.
    pub fn max(self) -> u64 {
        match self {
            Kind::Text => MAX_TEXT,
            _ => MAX_MEDIA,
        }
    }
}

struct Entry {
    label: String,
    kind: Kind,
    /// Taken by the first request for it.
    bytes: Option<Zeroizing<Vec<u8>>>,
}

/// The open previews: a token per window, each bound to its window's label.
#[derive(Default)]
pub struct Previews {
    by_token: Mutex<HashMap<String, Entry>>,
    next: AtomicU64,
}

/// What the main window learns of a preview it asked for.
#[derive(Debug, Serialize)]
pub struct Opened {
    /// `text`, `image` or `pdf`.
    pub kind: &'static str,
}

fn guard<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn answer(status: StatusCode, kind: &str, body: Vec<u8>) -> Response<Vec<u8>> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, kind)
        .header(header::CACHE_CONTROL, "no-store")
        .header("X-Content-Type-Options", "nosniff")
        .header("Content-Security-Policy", CSP)
        .header("Referrer-Policy", "no-referrer")
        .header("Cross-Origin-Resource-Policy", "same-origin")
        .body(body)
        .unwrap_or_default()
}

fn refused() -> Response<Vec<u8>> {
    answer(StatusCode::NOT_FOUND, "text/plain", b"not found".to_vec())
}

impl Previews {
    /// Holds `bytes` for a new preview window; returns its token and label.
    pub fn add(&self, kind: Kind, bytes: Zeroizing<Vec<u8>>) -> (String, String) {
        let token = coffer_core::crypto::hex(&coffer_core::crypto::random_array::<16>());
        let label = format!(
            "{LABEL_PREFIX}{}",
            self.next.fetch_add(1, Ordering::Relaxed)
        );
        guard(&self.by_token).insert(
            token.clone(),
            Entry {
                label: label.clone(),
                kind,
                bytes: Some(bytes),
            },
        );
        (token, label)
    }

    /// Forgets the preview of window `label` (closed by the user).
    pub fn forget(&self, label: &str) {
        guard(&self.by_token).retain(|_, e| e.label != label);
    }

    /// Forgets every token (wiping what was not yet shown); returns the
    /// labels of their windows.
    pub fn revoke_all(&self) -> Vec<String> {
        guard(&self.by_token)
            .drain()
            .map(|(_, e)| e.label)
            .collect()
    }

    /// How many previews are open (tests).
    pub fn count(&self) -> usize {
        guard(&self.by_token).len()
    }

    /// Answers a request of webview `label` for `path`
    /// (`/<token>/<file>`): only the webview the token was made for gets
    /// anything, and the document only once.
    pub fn serve(&self, label: &str, path: &str) -> Response<Vec<u8>> {
        let mut parts = path.trim_start_matches('/').splitn(2, '/');
        let (Some(token), Some(file)) = (parts.next(), parts.next()) else {
            return refused();
        };
        let mut map = guard(&self.by_token);
        let Some(e) = map.get_mut(token).filter(|e| e.label == label) else {
            return refused();
        };
        match file {
            "" => answer(
                StatusCode::OK,
                "text/html; charset=utf-8",
                page(e.kind.family()).into_bytes(),
            ),
            "content" => match e.bytes.take() {
                // Handed to WebKit, which needs its own copy: this one is
                // wiped when dropped here.
                Some(b) => answer(StatusCode::OK, e.kind.media_type(), b.to_vec()),
                None => answer(StatusCode::GONE, "text/plain", b"already shown".to_vec()),
            },
            "preview.js" => answer(StatusCode::OK, "text/javascript", PAGE_JS.to_vec()),
            "preview.css" => answer(StatusCode::OK, "text/css", PAGE_CSS.to_vec()),
            "pdf.mjs" if e.kind == Kind::Pdf => {
                answer(StatusCode::OK, "text/javascript", PDF_JS.to_vec())
            }
            "pdf.worker.mjs" if e.kind == Kind::Pdf => {
                answer(StatusCode::OK, "text/javascript", PDF_WORKER.to_vec())
            }
            _ => refused(),
        }
    }
}

/// The page: fixed, with the family of the document as its only variable.
fn page(family: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Preview</title><link rel=\"stylesheet\" href=\"preview.css\">\
         <script type=\"module\" src=\"preview.js\"></script></head>\
         <body data-kind=\"{family}\"><p id=\"status\" role=\"status\">Decrypting…</p>\
         <main id=\"view\"></main></body></html>"
    )
}

/// The scheme's handler: what a webview asks of `coffer-preview:`.
pub fn handle<R: Runtime>(
    app: &AppHandle<R>,
    label: &str,
    req: &Request<Vec<u8>>,
) -> Response<Vec<u8>> {
    let ok_origin = req.uri().host() == Some("localhost");
    let previews = app.try_state::<crate::state::Shared<R>>();
    match previews {
        Some(s) if ok_origin && label.starts_with(LABEL_PREFIX) => {
            s.previews.serve(label, req.uri().path())
        }
        _ => refused(),
    }
}

/// Whether window `label` may go to `url`: a preview window only to its own
/// page under its token.
pub fn may_navigate(url: &tauri::Url, token: &str) -> bool {
    url.scheme() == SCHEME
        && url.host_str() == Some("localhost")
        && url.port().is_none()
        && url.path().starts_with(&format!("/{token}/"))
}

/// Opens the preview window for `token`.
pub fn open_window<R: Runtime>(
    app: &AppHandle<R>,
    label: &str,
    token: &str,
    name: &str,
) -> tauri::Result<()> {
    let url: tauri::Url = format!("{SCHEME}://localhost/{token}/")
        .parse()
        .map_err(tauri::Error::InvalidUrl)?;
    let own = token.to_owned();
    let window =
        tauri::WebviewWindowBuilder::new(app, label, tauri::WebviewUrl::CustomProtocol(url))
            // The name is shown as the window's title: plain text for GTK.
            .title(format!("{name} — Coffer preview"))
            .inner_size(900.0, 700.0)
            // Ephemeral: WebKit keeps nothing of it. (WebKitWebDriver drives
            // only webviews of the app's own data store, so the end-to-end
            // build leaves this off and the test scans for traces without it:
            // the stricter case.)
            .incognito(!cfg!(feature = "e2e"))
            .disable_drag_drop_handler()
            .proxy_url(crate::NOWHERE.parse().map_err(tauri::Error::InvalidUrl)?)
            .on_navigation(move |u| may_navigate(u, &own))
            .on_new_window(|_, _| tauri::webview::NewWindowResponse::Deny)
            .build()?;
    crate::harden_webview(&window);
    Ok(())
}

/// Closes every preview window (after a lock).
pub fn close_all<R: Runtime>(app: &AppHandle<R>, labels: Vec<String>) {
    for l in labels {
        if let Some(w) = app.get_webview_window(&l) {
            let _ = w.destroy();
        }
    }
    // Windows whose token was already forgotten (closed as the lock came).
    for (l, w) in app.webview_windows() {
        if l.starts_with(LABEL_PREFIX) {
            let _ = w.destroy();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_come_from_the_bytes_never_the_name() {
        assert_eq!(Kind::sniff(b"\x89PNG\r\n\x1a\nrest"), Some(Kind::Png));
        assert_eq!(Kind::sniff(&[0xff, 0xd8, 0xff, 0xe0]), Some(Kind::Jpeg));
        assert_eq!(Kind::sniff(b"GIF89a..."), Some(Kind::Gif));
        assert_eq!(Kind::sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some(Kind::Webp));
        assert_eq!(Kind::sniff(b"%PDF-1.7\n"), Some(Kind::Pdf));
        assert_eq!(Kind::sniff("naïve text\n".as_bytes()), Some(Kind::Text));
        // HTML is text, shown as text.
        assert_eq!(Kind::sniff(b"<script>alert(1)</script>"), Some(Kind::Text));
        assert_eq!(Kind::sniff(b"\xff\xfe not utf-8"), None);
        assert_eq!(Kind::sniff(b"text\0with nul"), None);
        assert_eq!(Kind::sniff(b"PK\x03\x04zip"), None);
    }

    #[test]
    fn only_the_window_of_a_token_gets_it_and_the_document_once() {
        let p = Previews::default();
        let (token, label) = p.add(Kind::Text, Zeroizing::new(b"secret".to_vec()));
        let path = format!("/{token}/content");
        assert_eq!(p.serve("main", &path).status(), StatusCode::NOT_FOUND);
        assert_eq!(p.serve("preview-99", &path).status(), StatusCode::NOT_FOUND);
        assert_eq!(
            p.serve(&label, "/0123/content").status(),
            StatusCode::NOT_FOUND
        );
        let page = p.serve(&label, &format!("/{token}/"));
        assert_eq!(page.status(), StatusCode::OK);
        assert_eq!(page.headers()[header::CACHE_CONTROL], "no-store");
        assert!(page.headers()["Content-Security-Policy"]
            .to_str()
            .unwrap()
            .contains("script-src 'self'"));
        let doc = p.serve(&label, &path);
        assert_eq!(doc.status(), StatusCode::OK);
        assert_eq!(doc.body(), b"secret");
        assert_eq!(
            doc.headers()[header::CONTENT_TYPE],
            "text/plain; charset=utf-8"
        );
        assert_eq!(p.serve(&label, &path).status(), StatusCode::GONE);
        // pdf.js only to a PDF preview.
        assert_eq!(
            p.serve(&label, &format!("/{token}/pdf.mjs")).status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(p.revoke_all(), vec![label.clone()]);
        assert_eq!(
            p.serve(&label, &format!("/{token}/")).status(),
            StatusCode::NOT_FOUND
        );
    }

    #[test]
    fn a_preview_window_stays_on_its_own_page() {
        let ok = |u: &str| may_navigate(&u.parse().unwrap(), "abc");
        assert!(ok("coffer-preview://localhost/abc/"));
        assert!(!ok("coffer-preview://localhost/abd/"));
        assert!(!ok("coffer-preview://evil/abc/"));
        assert!(!ok("tauri://localhost/"));
        assert!(!ok("http://127.0.0.1:8000/abc/"));
    }
}
