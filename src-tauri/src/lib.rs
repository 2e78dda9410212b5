//! Coffer's desktop app: a thin Tauri shell over `coffer-core`.
//!
//! Three gates stand between the UI and the vault, each on its own:
//! 1. the isolation hook (`dist-isolation/hook.js`), which passes only the calls
//!    `policy/ipc.json` lists, with arguments of the listed shape;
//! 2. Tauri's ACL: `build.rs` generates a permission per command from the same
//!    policy, and `capabilities/main.json` grants the main window exactly those
//!    (no plugin permission at all);
//! 3. Rust: every command re-checks the policy ([`args::Checked`]) and parses
//!    its arguments into validated types; paths come only from native dialogs
//!    and drops ([`grants`]).
#![forbid(unsafe_code)]

pub mod args;
pub mod commands;
pub mod dialogs;
pub mod error;
pub mod grants;
pub mod preview;
pub mod settings;
pub mod state;

#[cfg(test)]
mod tests;

use std::time::Duration;

use tauri::{DragDropEvent, Manager, Runtime, WindowEvent};

use crate::state::{Config, Inner, Shared};

/// How often the auto-lock timer looks at the idle time.
const AUTO_LOCK_TICK: Duration = Duration::from_secs(5);

/// Whether `url` is the app's own origin: `tauri://localhost` where Tauri
/// serves the app through its own scheme (Linux, macOS), and
/// `http(s)://tauri.localhost` only where it serves it so (Windows,
/// Android). Elsewhere that host is not the app: the window would leave it.
pub fn stays_in_app(url: &tauri::Url) -> bool {
    match url.scheme() {
        "tauri" => url.host_str() == Some("localhost"),
        "http" | "https" if cfg!(any(windows, target_os = "android")) => {
            url.host_str() == Some("tauri.localhost") && url.port().is_none()
        }
        _ => false,
    }
}

/// The webview's proxy: an address no server can listen on.
pub const NOWHERE: &str = "http://127.0.0.1:0";

/// Builds the main window from its configuration (`tauri.conf.json` marks it
/// `create: false` so that it is built only here): new windows are refused
/// (`window.open`, `target=_blank`), and on Linux the WebKit features that
/// reach the network outside the CSP are off (WebRTC and media capture, DNS
/// prefetching, `<a ping>`), along with storage the app never uses.
pub fn main_window<R: Runtime, M: Manager<R>>(app: &M) -> tauri::Result<tauri::WebviewWindow<R>> {
    let config = app
        .config()
        .app
        .windows
        .iter()
        .find(|w| w.label == "main")
        .cloned()
        .unwrap_or_default();
    let window = tauri::WebviewWindowBuilder::from_config(app, &config)?
        // Every network connection the webview makes goes to a proxy that
        // cannot exist (port 0): what the CSP does not govern (a
        // `<link rel=preconnect>` opened a TCP connection to any host) never
        // reaches the network, and no host name is resolved. The app's own
        // schemes (`tauri:`, `ipc:`, the isolation iframe's) are served in
        // process and never proxied.
        .proxy_url(NOWHERE.parse().map_err(tauri::Error::InvalidUrl)?)
        .on_new_window(|_, _| {
            tracing::warn!("a new window was refused");
            tauri::webview::NewWindowResponse::Deny
        })
        .build()?;
    harden_webview(&window);
    Ok(window)
}

#[cfg(target_os = "linux")]
pub(crate) fn harden_webview<R: Runtime>(window: &tauri::WebviewWindow<R>) {
    let done = window.with_webview(|w| {
        use webkit2gtk::{SettingsExt, WebViewExt};
        if let Some(s) = w.inner().settings() {
            s.set_enable_webrtc(false);
            s.set_enable_media_stream(false);
            s.set_enable_mediasource(false);
            s.set_enable_media(false);
            s.set_enable_dns_prefetching(false);
            // (A no-op on WebKitGTK 2.50: `<a ping>` is stopped by the proxy.)
            s.set_enable_hyperlink_auditing(false);
            s.set_enable_html5_database(false);
            s.set_enable_html5_local_storage(false);
            s.set_enable_offline_web_application_cache(false);
            s.set_enable_page_cache(false);
            s.set_javascript_can_open_windows_automatically(false);
        }
    });
    if done.is_err() {
        tracing::warn!("the webview's settings could not be hardened");
    }
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn harden_webview<R: Runtime>(_: &tauri::WebviewWindow<R>) {}

/// Registers Coffer's state, plugins, commands and window events on `builder`.
/// `run` builds the real app with it; tests build it on the mock runtime.
pub fn app_builder<R: Runtime>(builder: tauri::Builder<R>, config: Config<R>) -> tauri::Builder<R> {
    let shared: Shared<R> = Inner::new(config);
    let timer = shared.clone();
    let with_app = shared.clone();
    std::thread::Builder::new()
        .name("coffer-auto-lock".into())
        .spawn(move || loop {
            std::thread::sleep(AUTO_LOCK_TICK);
            timer.lock_if_idle();
        })
        .ok();
    builder
        // The window never leaves the app: a script in the page (a meta
        // refresh, `location`, a link) cannot take it, or the passphrase typed
        // into it, anywhere else. The CSP does not govern top-level
        // navigation; Tauri allows every URL unless a handler says no. (Tauri
        // itself lets its isolation iframe load.)
        .plugin(
            tauri::plugin::Builder::<R>::new("coffer-window")
                .setup(move |app, _| {
                    let _ = with_app.app.set(app.clone());
                    Ok(())
                })
                .on_navigation(|webview, url| {
                    // A preview window stays on its own scheme (its builder
                    // holds it to its own token).
                    let ok = if webview.label().starts_with(preview::LABEL_PREFIX) {
                        url.scheme() == preview::SCHEME
                    } else {
                        stays_in_app(url)
                    };
                    if !ok {
                        tracing::warn!("navigation away from the app refused");
                    }
                    ok
                })
                .build(),
        )
        .plugin(tauri_plugin_fs::init())
        .plugin(tauri_plugin_dialog::init())
        .manage(shared)
        .register_uri_scheme_protocol(preview::SCHEME, |ctx, req| {
            preview::handle(ctx.app_handle(), ctx.webview_label(), &req)
        })
        .on_window_event(|window, event| {
            if let WindowEvent::Destroyed = event {
                if window.label().starts_with(preview::LABEL_PREFIX) {
                    window.state::<Shared<R>>().previews.forget(window.label());
                }
            }
            if window.label() != "main" {
                return;
            }
            if let WindowEvent::DragDrop(DragDropEvent::Drop { paths, .. }) = event {
                let s = window.state::<Shared<R>>();
                // A drop on a locked vault is forgotten; tauri-plugin-fs has
                // already put the paths in its scope.
                if s.is_unlocked() {
                    s.set_dropped(paths.clone());
                }
            }
        })
        .invoke_handler(tauri::generate_handler![
            commands::vault_status,
            commands::create_vault,
            commands::unlock,
            commands::lock,
            commands::list_documents,
            commands::import_files,
            commands::cancel_import,
            commands::import_dropped,
            commands::export_document,
            commands::export_all,
            commands::delete_document,
            commands::preview_document,
            commands::list_trash,
            commands::restore_document,
            commands::empty_trash,
            commands::rename_document,
            commands::set_tags,
            commands::change_passphrase,
            commands::recover,
            commands::replace_recovery_key,
            commands::share_document,
            commands::audit_log,
            commands::ipc_policy,
            commands::set_auto_lock,
            commands::keep_alive,
            commands::subscribe,
            commands::report_blocked,
        ])
}

/// The generated context: configuration, assets (UI and isolation app),
/// capabilities and the ACL manifest.
#[cfg(not(test))]
fn context() -> tauri::Context<tauri::Wry> {
    tauri::generate_context!()
}

#[cfg(all(feature = "e2e", not(test)))]
fn dialogs() -> Box<dyn dialogs::Dialogs<tauri::Wry>> {
    Box::new(dialogs::Scripted)
}

#[cfg(all(not(feature = "e2e"), not(test)))]
fn dialogs() -> Box<dyn dialogs::Dialogs<tauri::Wry>> {
    Box::new(dialogs::Native)
}

#[cfg(not(test))]
fn init_logging() {
    // Logs only when asked (`COFFER_LOG=debug`), to stderr; they never hold a
    // secret or a document name (see crates/coffer-core/tests/logs.rs).
    if let Ok(filter) = std::env::var("COFFER_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_writer(std::io::stderr)
            .try_init();
    }
}

/// Starts the app on the default vault (the CLI's too).
#[cfg(not(test))]
pub fn run() {
    init_logging();
    let Some(vault_dir) = coffer_core::paths::default_vault_dir() else {
        eprintln!("coffer: no home folder to keep the vault in; set COFFER_VAULT");
        std::process::exit(2);
    };
    let config = Config {
        vault_dir,
        settings_file: settings::default_file(),
        kdf: None,
        dialogs: dialogs(),
    };
    let app = app_builder(tauri::Builder::default(), config)
        .setup(|app| {
            main_window(app)?;
            Ok(())
        })
        .build(context());
    match app {
        Ok(app) => app.run(|handle, event| {
            if let tauri::RunEvent::Exit = event {
                handle.state::<Shared<tauri::Wry>>().lock("exit");
            }
        }),
        Err(e) => {
            eprintln!("coffer: the app could not start: {e}");
            std::process::exit(1);
        }
    }
}
