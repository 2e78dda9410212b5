//! Commands and the ACL through Tauri's mock runtime, built with the app's real
//! generated context (`generate_context!(test = true)`: its capabilities and
//! the ACL manifest from `build.rs`), so a refused command is refused by the
//! real ACL. These calls skip the isolation iframe (the hook is tested under
//! Node and in the real webview), so every hostile argument here meets Rust's
//! own checks.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use coffer_core::ipc_policy::policy;
use coffer_core::kdf::KdfParams;
use serde_json::{json, Value};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{mock_builder, MockRuntime, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::{AppHandle, Manager, WebviewWindow, WebviewWindowBuilder};

use crate::dialogs::Dialogs;
use crate::state::{Config, Shared};

const PASS: &str = "correct horse battery staple";

/// The first page of every document, by name.
static LIST_ALL: std::sync::LazyLock<Value> = std::sync::LazyLock::new(
    || json!({"query": "", "sort": "name", "order": "asc", "offset": 0, "limit": 500}),
);

/// Dialog answers set by each test.
#[derive(Default)]
struct Answers {
    pick: Option<Vec<PathBuf>>,
    /// The exact file chosen in the save dialog.
    save: Option<PathBuf>,
    /// A folder where the user keeps the suggested name.
    save_in: Option<PathBuf>,
    folder: Option<PathBuf>,
    confirm: bool,
    confirmed: Vec<String>,
    /// The folder each file dialog opened in.
    starts: Vec<Option<PathBuf>>,
    /// While set, a confirmation waits for a message on it (the user is
    /// slow to answer).
    hold: Option<Arc<Mutex<std::sync::mpsc::Receiver<()>>>>,
    /// How many dialogs opened.
    opened: usize,
}

#[derive(Clone, Default)]
struct TestDialogs(Arc<Mutex<Answers>>);

impl TestDialogs {
    fn opened(&self, start: Option<&Path>) -> std::sync::MutexGuard<'_, Answers> {
        let mut a = self.0.lock().unwrap();
        a.opened += 1;
        a.starts.push(start.map(Path::to_owned));
        a
    }
}

impl Dialogs<MockRuntime> for TestDialogs {
    fn pick_files(&self, _: &AppHandle<MockRuntime>, start: Option<&Path>) -> Option<Vec<PathBuf>> {
        self.opened(start).pick.clone()
    }
    fn save_file(
        &self,
        _: &AppHandle<MockRuntime>,
        start: Option<&Path>,
        suggested: &str,
    ) -> Option<PathBuf> {
        let a = self.opened(start);
        a.save
            .clone()
            .or_else(|| a.save_in.as_ref().map(|d| d.join(suggested)))
    }
    fn pick_folder(&self, _: &AppHandle<MockRuntime>, start: Option<&Path>) -> Option<PathBuf> {
        self.opened(start).folder.clone()
    }
    fn confirm(&self, _: &AppHandle<MockRuntime>, _: &str, message: &str, _: &str) -> bool {
        let hold = {
            let mut a = self.0.lock().unwrap();
            a.opened += 1;
            a.confirmed.push(message.to_owned());
            a.hold.clone()
        };
        if let Some(rx) = hold {
            let _ = rx.lock().unwrap().recv();
        }
        self.0.lock().unwrap().confirm
    }
}

struct Harness {
    dir: tempfile::TempDir,
    app: tauri::App<MockRuntime>,
    main: WebviewWindow<MockRuntime>,
    dialogs: TestDialogs,
}

fn harness() -> Harness {
    // The core's state records (one per vault id) go to a folder of the
    // test run, never to the user's home.
    std::env::set_var(
        "XDG_STATE_HOME",
        std::env::temp_dir().join(format!("coffer-app-tests-{}", std::process::id())),
    );
    let dir = tempfile::tempdir().unwrap();
    let dialogs = TestDialogs::default();
    let config = Config {
        vault_dir: dir.path().join("vault"),
        settings_file: Some(dir.path().join("config/desktop.json")),
        kdf: Some(KdfParams {
            memory_kib: coffer_core::kdf::MIN_MEMORY_KIB,
            iterations: 1,
            parallelism: 1,
        }),
        dialogs: Box::new(dialogs.clone()),
    };
    let app = crate::app_builder(mock_builder(), config)
        .build(tauri::generate_context!(test = true))
        .unwrap();
    // The window as the app builds it (new windows refused).
    let main = crate::main_window(&app).unwrap();
    Harness {
        dir,
        app,
        main,
        dialogs,
    }
}

fn request(cmd: &str, body: InvokeBody) -> InvokeRequest {
    InvokeRequest {
        cmd: cmd.into(),
        callback: CallbackFn(0),
        error: CallbackFn(1),
        url: "tauri://localhost".parse().unwrap(),
        body,
        headers: Default::default(),
        invoke_key: INVOKE_KEY.to_string(),
    }
}

/// This test process's hook session, and its turn counter: every call made
/// through [`invoke_on`] is bound as the isolation hook binds it.
const SESSION: &str = "5e5510a05e5510a05e5510a05e5510a0";
static TURN: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn bind(cmd: &str, mut args: Value) -> Value {
    let seq = TURN.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
    if let Value::Object(m) = &mut args {
        m.insert(
            coffer_core::ipc_policy::BINDING_KEY.into(),
            json!({"cmd": cmd, "session": SESSION, "seq": seq}),
        );
    }
    args
}

fn invoke_on(w: &WebviewWindow<MockRuntime>, cmd: &str, args: Value) -> Result<Value, Value> {
    invoke_raw(w, cmd, bind(cmd, args))
}

/// A call exactly as given (no binding added).
fn invoke_raw(w: &WebviewWindow<MockRuntime>, cmd: &str, body: Value) -> Result<Value, Value> {
    tauri::test::get_ipc_response(w, request(cmd, InvokeBody::Json(body)))
        .map(|b| b.deserialize::<Value>().unwrap())
}

impl Harness {
    fn call(&self, cmd: &str, args: Value) -> Result<Value, Value> {
        invoke_on(&self.main, cmd, args)
    }
    fn ok(&self, cmd: &str, args: Value) -> Value {
        self.call(cmd, args)
            .unwrap_or_else(|e| panic!("{cmd} failed: {e}"))
    }
    fn code(&self, cmd: &str, args: Value) -> String {
        match self.call(cmd, args) {
            Ok(v) => panic!("{cmd} succeeded unexpectedly: {v}"),
            Err(e) => e["code"]
                .as_str()
                .unwrap_or_else(|| panic!("no code in {e}"))
                .to_owned(),
        }
    }
    fn shared(&self) -> Shared<MockRuntime> {
        self.app.state::<Shared<MockRuntime>>().inner().clone()
    }
    fn answers(&self) -> std::sync::MutexGuard<'_, Answers> {
        self.dialogs.0.lock().unwrap()
    }
    fn file(&self, name: &str, data: &[u8]) -> PathBuf {
        let d = self.dir.path().join("outside");
        std::fs::create_dir_all(&d).unwrap();
        let p = d.join(name);
        std::fs::write(&p, data).unwrap();
        p
    }
    fn created(&self) -> String {
        let r = self.ok("create_vault", json!({"passphrase": PASS}));
        r["recoveryKey"].as_str().unwrap().to_owned()
    }
    fn import(&self, files: &[PathBuf]) -> Value {
        self.answers().pick = Some(files.to_vec());
        self.ok("import_files", json!({"progress": "__CHANNEL__:7"}))
    }
    fn list(&self, query: &str) -> Vec<Value> {
        self.ok(
            "list_documents",
            json!({"query": query, "sort": "name", "order": "asc", "offset": 0, "limit": 500}),
        )["documents"]
            .as_array()
            .unwrap()
            .clone()
    }
}

fn id_of(doc: &Value) -> String {
    doc["id"].as_str().unwrap().to_owned()
}

#[test]
fn a_user_session_through_every_command() {
    let h = harness();
    let st = h.ok("vault_status", json!({}));
    assert_eq!(st["exists"], false);
    assert_eq!(st["unlocked"], false);
    assert_eq!(h.code("unlock", json!({"passphrase": PASS})), "no_vault");

    let rk = h.created();
    assert_eq!(rk.split('-').count(), 14, "{rk}");
    assert_eq!(h.ok("vault_status", json!({}))["unlocked"], true);
    assert_eq!(
        h.code("create_vault", json!({"passphrase": PASS})),
        "already_unlocked"
    );

    // Import through the (stand-in) native dialog.
    let a = h.file("Lease agreement.pdf", b"lease terms");
    let b = h.file("blood-test.txt", &vec![7u8; 300_000]);
    let r = h.import(&[a.clone(), b.clone()]);
    assert_eq!(r["added"].as_array().unwrap().len(), 2, "{r}");
    assert!(r["failed"].as_array().unwrap().is_empty());
    let all = h.ok("list_documents", LIST_ALL.clone());
    assert_eq!(all["total"], 2);
    let docs = h.list("lease");
    assert_eq!(docs.len(), 1);
    let lease = id_of(&docs[0]);
    assert_eq!(docs[0]["size"], 11);

    // Rename and tag; search by tag.
    let renamed = h.ok(
        "rename_document",
        json!({"id": lease, "name": "Lease 2026.pdf"}),
    );
    assert_eq!(renamed["name"], "Lease 2026.pdf");
    h.ok("set_tags", json!({"id": lease, "tags": ["legal", "home"]}));
    let tagged = h.list("tag:legal");
    assert_eq!(tagged.len(), 1);
    assert_eq!(tagged[0]["name"], "Lease 2026.pdf");
    assert!(h.list("tag:leg").is_empty(), "tag: matches whole tags");

    // Export one document through the save dialog, then every document.
    let out = h.dir.path().join("exports");
    std::fs::create_dir_all(&out).unwrap();
    h.answers().save_in = Some(out.clone());
    let e = h.ok("export_document", json!({"id": lease}));
    let written = PathBuf::from(e["path"].as_str().unwrap());
    assert_eq!(written, out.canonicalize().unwrap().join("Lease 2026.pdf"));
    assert_eq!(std::fs::read(&written).unwrap(), b"lease terms");
    let all_dir = h.dir.path().join("all");
    std::fs::create_dir_all(&all_dir).unwrap();
    h.answers().folder = Some(all_dir.clone());
    let ea = h.ok("export_all", json!({"progress": "__CHANNEL__:8"}));
    assert_eq!(ea["exported"], 2);
    assert_eq!(
        std::fs::read(all_dir.join("blood-test.txt")).unwrap(),
        vec![7u8; 300_000]
    );

    // Delete: Rust asks; "no" keeps the document, "yes" moves it to the
    // trash, from where it can be restored; emptying the trash asks again.
    let blood = id_of(&h.list("blood")[0]);
    assert_eq!(h.code("delete_document", json!({"id": blood})), "cancelled");
    assert_eq!(h.list("").len(), 2);
    assert_eq!(h.ok("list_trash", json!({"offset": 0}))["total"], 0);
    h.answers().confirm = true;
    h.ok("delete_document", json!({"id": blood}));
    assert_eq!(h.list("").len(), 1);
    assert!(h.answers().confirmed[0].contains("blood-test.txt"));
    assert!(h.answers().confirmed[0].contains("30 days"));
    let trash = h.ok("list_trash", json!({"offset": 0}));
    assert_eq!(trash["total"], 1);
    assert_eq!(trash["retentionDays"], 30);
    assert_eq!(trash["documents"][0]["id"], blood);
    assert!(trash["documents"][0]["purge_at_ms"].as_i64().unwrap() > 0);
    assert_eq!(h.code("export_document", json!({"id": blood})), "in_trash");
    assert_eq!(
        h.code("restore_document", json!({"id": lease})),
        "not_in_trash"
    );
    h.ok("restore_document", json!({"id": blood}));
    assert_eq!(h.list("").len(), 2);
    assert_eq!(h.ok("list_trash", json!({"offset": 0}))["total"], 0);
    // Nothing to empty: no dialog.
    let asked = h.answers().confirmed.len();
    assert_eq!(h.ok("empty_trash", json!({})), 0);
    assert_eq!(h.answers().confirmed.len(), asked);
    h.ok("delete_document", json!({"id": blood}));
    h.answers().confirm = false;
    assert_eq!(h.code("empty_trash", json!({})), "cancelled");
    assert_eq!(h.ok("list_trash", json!({"offset": 0}))["total"], 1);
    h.answers().confirm = true;
    assert_eq!(h.ok("empty_trash", json!({})), 1);
    assert!(h.answers().confirmed.last().unwrap().contains("for good"));
    assert_eq!(h.ok("list_trash", json!({"offset": 0}))["total"], 0);
    assert_eq!(
        h.code("restore_document", json!({"id": blood})),
        "not_found"
    );
    assert_eq!(h.list("").len(), 1);

    // Passphrase change checks the current one.
    assert_eq!(
        h.code(
            "change_passphrase",
            json!({"current": "wrong passphrase", "next": "new secret phrase 1"})
        ),
        "wrong_secret"
    );
    h.ok(
        "change_passphrase",
        json!({"current": PASS, "next": "new secret phrase 1"}),
    );

    // Audit and policy views.
    let audit = h.ok("audit_log", json!({"event": "", "offset": 0}));
    assert_eq!(audit["chain"]["ok"], true, "{audit}");
    let events: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    for ev in [
        "create",
        "add",
        "edit",
        "export",
        "delete",
        "passphrase_change",
    ] {
        assert!(events.contains(&ev), "{ev} in {events:?}");
    }
    let pol = h.ok("ipc_policy", json!({}));
    assert_eq!(
        pol["commands"].as_array().unwrap().len(),
        policy().commands.len()
    );

    // Settings, keep-alive, notices.
    h.ok("set_auto_lock", json!({"minutes": 3, "passphrase": ""}));
    assert_eq!(h.ok("vault_status", json!({}))["autoLockMinutes"], 3);
    let saved = std::fs::read_to_string(h.dir.path().join("config/desktop.json")).unwrap();
    assert!(saved.contains("\"autoLockMinutes\": 3"), "{saved}");
    h.ok("keep_alive", json!({}));
    h.ok("subscribe", json!({"events": "__CHANNEL__:9"}));

    // Lock wipes the keys: nothing readable until unlocked again.
    h.ok("lock", json!({}));
    assert_eq!(h.code("list_documents", LIST_ALL.clone()), "locked");
    assert_eq!(
        h.code("import_files", json!({"progress": "__CHANNEL__:1"})),
        "locked"
    );
    assert_eq!(
        h.code("unlock", json!({"passphrase": PASS})),
        "wrong_secret"
    );
    h.ok("unlock", json!({"passphrase": "new secret phrase 1"}));
    assert_eq!(h.list("").len(), 1);
    // The CLI's core opens the same vault with the same passphrase.
    h.ok("lock", json!({}));
    let v = coffer_core::vault::Vault::unlock(
        &h.dir.path().join("vault"),
        &coffer_core::secret::Passphrase::new("new secret phrase 1".into()),
    )
    .unwrap();
    assert_eq!(v.list(None).unwrap()[0].name, "Lease 2026.pdf");
}

#[test]
fn the_acl_refuses_what_the_capability_does_not_grant() {
    let h = harness();
    // Plugin commands: registered (fs, dialog) or core, none granted.
    for cmd in [
        "plugin:fs|read_file",
        "plugin:fs|write_file",
        "plugin:fs|read_dir",
        "plugin:dialog|open",
        "plugin:dialog|save",
        "plugin:event|listen",
        "plugin:event|emit",
        "plugin:window|close",
        "plugin:webview|create_webview_window",
        "plugin:path|resolve_directory",
        "plugin:app|version",
    ] {
        let e = h.call(cmd, json!({"path": "/etc/passwd"})).unwrap_err();
        let text = e.as_str().unwrap_or_default();
        assert!(
            text.contains("not allowed") || text.contains("not found"),
            "{cmd}: {e}"
        );
    }
    // App commands from a window the capability does not name: the manifest
    // makes Tauri check app commands, so even `vault_status` is refused.
    let other = WebviewWindowBuilder::new(&h.app, "other", Default::default())
        .build()
        .unwrap();
    for c in &policy().commands {
        let e = invoke_on(&other, &c.name, json!({})).unwrap_err();
        assert!(
            e.as_str().unwrap_or_default().contains("not allowed"),
            "{}: {e}",
            c.name
        );
    }
    // An app command that does not exist.
    let e = h.call("read_document", json!({})).unwrap_err();
    assert!(
        e.as_str().unwrap_or_default().contains("not allowed"),
        "{e}"
    );
}

#[test]
fn the_capability_the_acl_and_the_commands_match_the_policy() {
    let cap: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/capabilities/main.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let granted: BTreeSet<String> = cap["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_owned())
        .collect();
    let want: BTreeSet<String> = policy()
        .commands
        .iter()
        .map(|c| format!("allow-{}", c.name.replace('_', "-")))
        .collect();
    assert_eq!(
        granted, want,
        "capabilities/main.json drifted from policy/ipc.json"
    );
    assert_eq!(cap["windows"], json!(["main"]));
    let dirs: Vec<_> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/capabilities"))
        .unwrap()
        .collect();
    assert_eq!(dirs.len(), 1, "one capability file, nothing else grants");

    // Every policy command is registered: an empty call reaches Rust's own
    // policy check (a stable code), never "command not found".
    let h = harness();
    for c in &policy().commands {
        let r = h.call(&c.name, json!({"unexpected": 1}));
        let e = r.unwrap_err();
        assert_eq!(e["code"], "blocked", "{}: {e}", c.name);
    }
}

#[test]
fn the_built_config_is_isolated_strict_and_frozen() {
    let h = harness();
    let sec = &h.app.config().app.security;
    assert!(sec.freeze_prototype);
    assert!(matches!(
        sec.pattern,
        tauri::utils::config::PatternKind::Isolation { .. }
    ));
    let csp = sec.csp.as_ref().expect("a CSP is set").to_string();
    assert!(csp.contains("default-src 'self'"), "{csp}");
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(csp.contains("object-src 'none'"), "{csp}");
    for bad in ["unsafe-inline", "unsafe-eval", "https:", "http:*", "*"] {
        assert!(!csp.contains(bad), "{bad} in {csp}");
    }
    assert!(!h.app.config().app.with_global_tauri);
}

#[test]
fn hostile_arguments_meet_rusts_own_checks() {
    let h = harness();
    h.created();
    let doc = h.import(&[h.file("a.txt", b"a")])["added"][0].clone();
    let id = id_of(&doc);
    let cases: Vec<(&str, Value, &str)> = vec![
        // Extra, missing and ill-shaped arguments: the policy, in Rust.
        (
            "rename_document",
            json!({"id": id, "name": "b", "path": "/etc/passwd"}),
            "blocked",
        ),
        ("rename_document", json!({"id": id}), "blocked"),
        (
            "rename_document",
            json!({"id": id.to_uppercase(), "name": "b"}),
            "blocked",
        ),
        ("rename_document", json!({"id": id, "name": 5}), "blocked"),
        (
            "rename_document",
            json!({"id": id, "name": "x".repeat(256)}),
            "blocked",
        ),
        (
            "rename_document",
            json!({"id": id, "name": "a\u{0}b"}),
            "blocked",
        ),
        (
            "export_document",
            json!({"id": "../../etc/passwd"}),
            "blocked",
        ),
        (
            "import_files",
            json!({"progress": "__CHANNEL__:1", "paths": ["/etc/shadow"]}),
            "blocked",
        ),
        (
            "import_files",
            json!({"progress": "/etc/shadow"}),
            "blocked",
        ),
        (
            "set_auto_lock",
            json!({"minutes": 0, "passphrase": ""}),
            "blocked",
        ),
        (
            "set_auto_lock",
            json!({"minutes": 2.5, "passphrase": ""}),
            "blocked",
        ),
        (
            "set_auto_lock",
            json!({"minutes": "5", "passphrase": ""}),
            "blocked",
        ),
        (
            "set_tags",
            json!({"id": id, "tags": ["x".repeat(65)]}),
            "blocked",
        ),
        ("lock", json!([]), "blocked"),
        // Shaped right, meaning wrong: the typed arguments and the core.
        (
            "rename_document",
            json!({"id": id, "name": "../escape"}),
            "invalid_argument",
        ),
        (
            "rename_document",
            json!({"id": id, "name": "a\u{2028}b.txt"}),
            "invalid_argument",
        ),
        (
            "rename_document",
            json!({"id": id, "name": "a\u{202e}fdp.exe"}),
            "invalid_argument",
        ),
        (
            "rename_document",
            json!({"id": id, "name": "dir/name"}),
            "invalid_argument",
        ),
        (
            "set_tags",
            json!({"id": id, "tags": ["bad\ttag"]}),
            "invalid_argument",
        ),
        (
            "change_passphrase",
            json!({"current": PASS, "next": "éééé"}),
            "invalid_argument",
        ),
        (
            "rename_document",
            json!({"id": "0".repeat(32), "name": "b"}),
            "not_found",
        ),
        (
            "delete_document",
            json!({"id": "f".repeat(32)}),
            "not_found",
        ),
        (
            "import_dropped",
            json!({"progress": "__CHANNEL__:1"}),
            "nothing_dropped",
        ),
    ];
    for (cmd, args, want) in cases {
        let r = h.call(cmd, args.clone());
        let e = r.expect_err(cmd);
        assert_eq!(e["code"], want, "{cmd} {args}: {e}");
        let msg = e["message"].as_str().unwrap();
        assert!(
            !msg.is_empty() && !msg.contains("serde") && !msg.contains("invalid type"),
            "{msg}"
        );
    }
    // A raw (non-JSON) body is refused too.
    let raw =
        tauri::test::get_ipc_response(&h.main, request("lock", InvokeBody::Raw(vec![1, 2, 3])));
    assert_eq!(raw.unwrap_err()["code"], "blocked");
    // Nothing changed.
    let docs = h.list("");
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0]["name"], "a.txt");
    // Each refusal is recorded for the auditor, as refused by Rust.
    let pol = h.ok("ipc_policy", json!({}));
    assert!(pol["refusedTotal"].as_u64().unwrap() >= 15, "{pol}");
    assert_eq!(pol["refused"][0]["gate"], "rust");
}

#[test]
fn the_hooks_reports_are_recorded_and_rejected() {
    let h = harness();
    let e = h
        .call(
            "report_blocked",
            json!({"command": "plugin:fs|read_file", "reason": "unknown_command"}),
        )
        .unwrap_err();
    assert_eq!(e["code"], "blocked");
    assert!(e["message"]
        .as_str()
        .unwrap()
        .contains("not in Coffer's IPC policy"));
    // A report that does not fit the policy is itself refused, and recorded.
    let e = h
        .call(
            "report_blocked",
            json!({"command": "<script>", "reason": "x"}),
        )
        .unwrap_err();
    assert_eq!(e["code"], "blocked");
    let pol = h.ok("ipc_policy", json!({}));
    assert_eq!(pol["refusedTotal"], 2);
    assert_eq!(pol["refused"][1]["command"], "plugin:fs|read_file");
    assert_eq!(pol["refused"][1]["gate"], "hook");
    assert_eq!(pol["refused"][0]["command"], "report_blocked");
    assert_eq!(pol["refused"][0]["gate"], "rust");
}

#[test]
fn paths_come_only_from_grants_and_meet_the_rules() {
    let h = harness();
    h.created();
    let s = h.shared();
    // A drop Rust never received (not in the fs scope) is not imported.
    let stray = h.file("stray.txt", b"s");
    s.set_dropped(vec![stray.clone()]);
    let r = h.ok("import_dropped", json!({"progress": "__CHANNEL__:1"}));
    assert_eq!(r["failed"][0]["code"], "not_granted", "{r}");
    assert!(h.list("").is_empty());

    // A dropped folder (as tauri-plugin-fs registers it): its files are
    // imported, a symlink inside it is not followed.
    let folder = h.dir.path().join("dropped");
    std::fs::create_dir_all(folder.join("sub")).unwrap();
    std::fs::write(folder.join("one.txt"), b"1").unwrap();
    std::fs::write(folder.join("sub/two.txt"), b"2").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink("/etc/hostname", folder.join("link.txt")).unwrap();
    use tauri_plugin_fs::FsExt;
    h.app.fs_scope().allow_directory(&folder, true).unwrap();
    s.set_dropped(vec![folder.clone()]);
    let r = h.ok("import_dropped", json!({"progress": "__CHANNEL__:1"}));
    let names: BTreeSet<String> = h
        .list("")
        .iter()
        .map(|d| d["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        names,
        BTreeSet::from(["one.txt".to_owned(), "two.txt".to_owned()]),
        "{r}"
    );

    // Relative, `..` and unsafe names from a dialog are refused.
    for bad in ["relative.txt", "/tmp/../etc/passwd"] {
        h.answers().pick = Some(vec![PathBuf::from(bad)]);
        assert_eq!(
            h.code("import_files", json!({"progress": "__CHANNEL__:1"})),
            "bad_path",
            "{bad}"
        );
    }
    let id = id_of(&h.list("one")[0]);
    // Never through a symlink, never onto a folder, never an unsafe name.
    let out = h.dir.path().join("out");
    std::fs::create_dir_all(out.join("folder")).unwrap();
    let victim = h.file("victim.txt", b"keep me");
    #[cfg(unix)]
    std::os::unix::fs::symlink(&victim, out.join("link.txt")).unwrap();
    for (target, want) in [
        (out.join("link.txt"), "bad_path"),
        (out.join("folder"), "bad_path"),
        (out.join("gpj.\u{202E}exe"), "bad_path"),
        (out.join("missing-dir/x.txt"), "bad_path"),
    ] {
        h.answers().save = Some(target.clone());
        assert_eq!(
            h.code("export_document", json!({"id": id})),
            want,
            "{}",
            target.display()
        );
    }
    assert_eq!(std::fs::read(&victim).unwrap(), b"keep me");
    // Cancelling a dialog is a clean, silent outcome.
    h.answers().save = None;
    assert_eq!(h.code("export_document", json!({"id": id})), "cancelled");
    h.answers().pick = None;
    assert_eq!(
        h.code("import_files", json!({"progress": "__CHANNEL__:1"})),
        "cancelled"
    );
    // Replacing an existing regular file the user confirmed in the dialog.
    let existing = h.file("existing.txt", b"old");
    h.answers().save = Some(existing.clone());
    h.ok("export_document", json!({"id": id}));
    assert_eq!(std::fs::read(&existing).unwrap(), b"1");
}

#[test]
fn auto_lock_wipes_keys_after_idle_and_notices_the_ui() {
    let h = harness();
    h.created();
    let s = h.shared();
    assert!(!s.lock_if_idle_after(Duration::from_secs(5)));
    assert!(s.is_unlocked());
    h.ok("set_auto_lock", json!({"minutes": 1, "passphrase": ""}));
    assert!(s.lock_if_idle_after(Duration::from_secs(61)));
    assert!(!s.is_unlocked());
    assert_eq!(h.code("list_documents", LIST_ALL.clone()), "locked");
}

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn no_log_line_from_the_app_holds_a_secret_a_name_or_plaintext() {
    // Commands run on other threads: the capture is the process's global
    // subscriber (this is the only test that installs one).
    let cap = Capture::default();
    let writer = cap.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .try_init()
        .unwrap();
    let h = harness();
    let rk = h.created();
    let f = h.file("Secret Diagnosis Sentinel.pdf", b"PLAINTEXT-SENTINEL");
    let id = id_of(&h.import(&[f])["added"][0]);
    h.ok(
        "rename_document",
        json!({"id": id, "name": "Renamed Sentinel.pdf"}),
    );
    h.ok("set_tags", json!({"id": id, "tags": ["tagsentinel"]}));
    let out = h.dir.path().join("logout");
    std::fs::create_dir_all(&out).unwrap();
    h.answers().save_in = Some(out);
    h.ok("export_document", json!({"id": id}));
    let _ = h.call(
        "rename_document",
        json!({"id": id, "name": "../Hostile Sentinel"}),
    );
    let _ = h.call(
        "report_blocked",
        json!({"command": "plugin:fs|read_file", "reason": "unknown_command"}),
    );
    h.ok(
        "change_passphrase",
        json!({"current": PASS, "next": "second passphrase sentinel"}),
    );
    h.ok("lock", json!({}));
    let _ = h.call("unlock", json!({"passphrase": "wrong passphrase sentinel"}));
    // Recovery, a new recovery key (twice) and a share.
    let spaced = rk.replace('-', " ").to_lowercase();
    let r = h.ok(
        "recover",
        json!({"key": spaced, "passphrase": "third passphrase sentinel", "newKey": "yes"}),
    );
    let rk2 = r["recoveryKey"].as_str().unwrap().to_owned();
    let r = h.ok(
        "replace_recovery_key",
        json!({"passphrase": "third passphrase sentinel"}),
    );
    let rk3 = r["recoveryKey"].as_str().unwrap().to_owned();
    let friend = age::x25519::Identity::generate().to_public().to_string();
    h.ok(
        "share_document",
        json!({"id": id, "recipients": [friend.clone()]}),
    );
    h.ok("lock", json!({}));
    let logs = String::from_utf8(cap.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("IPC call refused"),
        "logs were produced:\n{logs}"
    );
    assert!(logs.contains("vault locked"));
    for secret in [
        PASS,
        "second passphrase sentinel",
        "wrong passphrase sentinel",
        rk.as_str(),
        spaced.as_str(),
        rk2.as_str(),
        rk3.as_str(),
        "third passphrase sentinel",
        friend.as_str(),
        "Sentinel",
        "sentinel",
        "PLAINTEXT",
    ] {
        assert!(!logs.contains(secret), "{secret:?} in the logs:\n{logs}");
    }
}

/// The app opens and imports through the core's folder handles: a vault
/// folder tampered with is refused at unlock with the entry named, and a
/// folder swapped for a link while the vault is open is never written
/// through. Nothing outside the vault changes.
#[test]
fn a_tampered_vault_folder_is_refused_and_never_followed() {
    use std::os::unix::fs::symlink;
    let h = harness();
    h.created();
    let a = h.file("a.txt", b"alpha");
    h.import(&[a]);
    h.ok("lock", json!({}));
    let vault = h.dir.path().join("vault");
    let victims = h.dir.path().join("documents");
    std::fs::create_dir(&victims).unwrap();
    std::fs::write(victims.join("keep.txt"), b"the user's file").unwrap();
    let listing = || {
        let mut v: Vec<_> = std::fs::read_dir(&victims)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        v.sort();
        v
    };
    let before = listing();

    // tmp/ as a link to the user's documents: refused, even with a wrong
    // passphrase, and nothing there is removed.
    std::fs::remove_dir(vault.join("tmp")).unwrap();
    symlink(&victims, vault.join("tmp")).unwrap();
    for pass in ["not the passphrase", PASS] {
        let e = h.call("unlock", json!({"passphrase": pass})).unwrap_err();
        assert_eq!(e["code"], "folder_tampered", "{e}");
        assert!(e["message"]
            .as_str()
            .unwrap()
            .starts_with("tmp is a symbolic link"));
    }
    assert_eq!(listing(), before);
    std::fs::remove_file(vault.join("tmp")).unwrap();
    std::fs::create_dir(vault.join("tmp")).unwrap();

    // blobs/ swapped for a link while the vault is open: the import goes to
    // the folder the vault opened, never through the link.
    h.ok("unlock", json!({"passphrase": PASS}));
    std::fs::rename(vault.join("blobs"), vault.join("blobs.moved")).unwrap();
    symlink(&victims, vault.join("blobs")).unwrap();
    let b = h.file("b.txt", b"bravo");
    h.import(&[b]);
    assert_eq!(listing(), before);
    h.ok("lock", json!({}));
    let e = h.call("unlock", json!({"passphrase": PASS})).unwrap_err();
    assert_eq!(e["code"], "folder_tampered", "{e}");
    std::fs::remove_file(vault.join("blobs")).unwrap();
    std::fs::rename(vault.join("blobs.moved"), vault.join("blobs")).unwrap();
    h.ok("unlock", json!({"passphrase": PASS}));
    assert_eq!(h.list("").len(), 2);
}

/// The app says in plain words when the vault is older than this computer
/// last saw (an index put back from an old copy), and refuses changes.
#[test]
fn a_rolled_back_vault_is_reported_at_unlock_and_refuses_changes() {
    let h = harness();
    h.created();
    let a = h.file("a.txt", b"alpha");
    h.import(&[a]);
    let id = id_of(&h.list("")[0]);
    h.ok("lock", json!({}));
    let vault = h.dir.path().join("vault");
    let saved = h.dir.path().join("saved");
    std::fs::create_dir(&saved).unwrap();
    let copy = |from: &std::path::Path, to: &std::path::Path| {
        for f in ["index.sqlite", "index.sqlite-wal", "index.sqlite-shm"] {
            let _ = std::fs::remove_file(to.join(f));
            if from.join(f).exists() {
                std::fs::copy(from.join(f), to.join(f)).unwrap();
            }
        }
    };
    copy(&vault, &saved);
    let r = h.ok("unlock", json!({"passphrase": PASS}));
    assert!(r["warning"].is_null(), "{r}");
    h.ok("rename_document", json!({"id": id, "name": "b.txt"}));
    h.ok("lock", json!({}));
    copy(&saved, &vault);
    let r = h.ok("unlock", json!({"passphrase": PASS}));
    let w = r["warning"].as_str().unwrap();
    assert!(
        w.starts_with("this vault is older than the one this computer last saw"),
        "{w}"
    );
    assert_eq!(h.list("").len(), 1, "reads work");
    assert_eq!(
        h.code("rename_document", json!({"id": id, "name": "c.txt"})),
        "rolled_back"
    );
}

/// Every call must carry the hook's binding: an empty body (which Tauri
/// never decrypts), a call approved for another command, a repeated turn, or
/// a turn from a page that was replaced is refused and recorded, whatever
/// command it names (zero-argument ones included).
#[test]
fn calls_are_bound_to_their_command_and_their_turn() {
    let h = harness();
    h.created();
    let ok = |body: Value, cmd: &str| invoke_raw(&h.main, cmd, body);
    let refused = |r: Result<Value, Value>, why: &str| {
        let e = r.expect_err(why);
        assert_eq!(e["code"], "blocked", "{why}: {e}");
    };
    // Unbound: the empty body and a hand-made one, for zero-argument commands.
    for cmd in [
        "lock",
        "vault_status",
        "audit_log",
        "ipc_policy",
        "keep_alive",
    ] {
        refused(ok(json!({}), cmd), "empty body");
    }
    // A bound call passes once; its exact replay does not.
    let session = "0badc0de0badc0de0badc0de0badc0de";
    let call = |cmd: &str, seq: u64, args: Value| {
        let mut a = args;
        a.as_object_mut().unwrap().insert(
            "__call".into(),
            json!({"cmd": cmd, "session": session, "seq": seq}),
        );
        a
    };
    let status = call("vault_status", 1, json!({}));
    ok(status.clone(), "vault_status").unwrap();
    refused(ok(status.clone(), "vault_status"), "replayed");
    // The same ciphertext under another command.
    refused(ok(status, "lock"), "another command");
    ok(call("vault_status", 3, json!({})), "vault_status").unwrap();
    ok(call("vault_status", 2, json!({})), "vault_status").unwrap();
    refused(
        ok(call("vault_status", 2, json!({})), "vault_status"),
        "late and seen",
    );
    // A new page replaces the session; the old one never comes back.
    ok(
        call("vault_status", 1, json!({})).tap_session("feedfacefeedfacefeedfacefeedface"),
        "vault_status",
    )
    .unwrap();
    refused(
        ok(call("vault_status", 4, json!({})), "vault_status"),
        "replaced session",
    );
    // The unlocked vault was never locked by any of it.
    assert!(h.shared().is_unlocked());
    let reasons: Vec<String> = h
        .shared()
        .refusals()
        .1
        .iter()
        .map(|r| r.reason.clone())
        .collect();
    for want in ["unbound", "replayed", "wrong_command"] {
        assert!(
            reasons.iter().any(|r| r == want),
            "{want} recorded: {reasons:?}"
        );
    }
}

trait TapSession {
    fn tap_session(self, s: &str) -> Self;
}
impl TapSession for Value {
    fn tap_session(mut self, s: &str) -> Self {
        self["__call"]["session"] = json!(s);
        self
    }
}

/// The only place the window may go is the app itself.
#[test]
fn navigation_stays_in_the_app() {
    for ok in ["tauri://localhost/", "tauri://localhost/index.html#x"] {
        assert!(crate::stays_in_app(&ok.parse().unwrap()), "{ok}");
    }
    // Only where Tauri serves the app from that host.
    assert_eq!(
        crate::stays_in_app(&"http://tauri.localhost/".parse().unwrap()),
        cfg!(any(windows, target_os = "android"))
    );
    for no in [
        "http://127.0.0.1:8080/?p=secret",
        "https://example.com/",
        "tauri://evil/",
        "http://tauri.localhost:8080/",
        "http://tauri.localhost.evil.com/",
        "data:text/html,<b>x</b>",
        "javascript:alert(1)",
        "file:///etc/passwd",
        "about:blank",
        "blob:tauri://localhost/1234",
        "ftp://tauri.localhost/",
    ] {
        assert!(!crate::stays_in_app(&no.parse().unwrap()), "{no}");
    }
}

/// Refusals are counted per gate and command, and the counts are never
/// dropped: a flood of thousands of bogus reports from the page cannot push
/// a refusal by Rust out of the auditor's sight.
#[test]
fn a_flood_of_refusals_never_hides_one_by_rust() {
    let h = harness();
    h.created();
    // One call Rust refuses (unbound: it never passed the hook).
    invoke_raw(&h.main, "lock", json!({})).unwrap_err();
    // Then the page floods the hook's report channel.
    for i in 0..(crate::state::REFUSALS_KEPT * 3) {
        let cmd = if i % 2 == 0 {
            "plugin:fs|read_file"
        } else {
            "export_all"
        };
        h.call(
            "report_blocked",
            json!({"command": cmd, "reason": "unknown_command"}),
        )
        .unwrap_err();
    }
    let pol = h.ok("ipc_policy", json!({}));
    // The itemized list kept only the newest, all from the hook...
    let listed = pol["refused"].as_array().unwrap();
    assert_eq!(listed.len(), crate::state::REFUSALS_KEPT);
    assert!(listed.iter().all(|r| r["gate"] == "hook"));
    // ...but the counts still show Rust's refusal, first.
    let counts = pol["refusedCounts"].as_array().unwrap();
    assert_eq!(
        counts[0],
        json!({"gate": "rust", "command": "lock", "count": 1}),
        "{pol}"
    );
    let count = |gate: &str, cmd: &str| {
        counts
            .iter()
            .find(|c| c["gate"] == gate && c["command"] == cmd)
            .map(|c| c["count"].as_u64().unwrap())
    };
    assert_eq!(
        count("hook", crate::state::UNLISTED),
        Some(crate::state::REFUSALS_KEPT as u64 * 3 / 2)
    );
    assert_eq!(
        count("hook", "export_all"),
        Some(crate::state::REFUSALS_KEPT as u64 * 3 / 2)
    );
    // Names the page made up are not keys: the table stays small.
    assert!(counts.len() <= 3, "{counts:?}");
    // A value of the right shape that Rust refuses is counted too.
    assert_eq!(
        h.code(
            "rename_document",
            json!({"id": "0".repeat(32), "name": "../escape"})
        ),
        "invalid_argument"
    );
    let pol = h.ok("ipc_policy", json!({}));
    assert!(
        pol["refusedCounts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == &json!({"gate": "rust", "command": "rename_document", "count": 1})),
        "{pol}"
    );
}

/// `unlock` and the other passphrase checks take their turn and the vault
/// slot in the same order: an unlock never waits forever behind a
/// `change_passphrase` or `set_auto_lock` that is waiting out its delay.
#[test]
fn passphrase_checks_and_unlock_never_deadlock() {
    let h = harness();
    h.created();
    h.ok("lock", json!({}));
    for _ in 0..3 {
        assert_eq!(
            h.code("unlock", json!({"passphrase": "guess"})),
            "wrong_secret"
        );
    }
    let main = h.main.clone();
    let waiting = std::thread::spawn(move || {
        invoke_on(
            &main,
            "set_auto_lock",
            json!({"minutes": 1440, "passphrase": "guess"}),
        )
    });
    std::thread::sleep(Duration::from_millis(300));
    let (tx, rx) = std::sync::mpsc::channel();
    let main = h.main.clone();
    std::thread::spawn(move || {
        let _ = tx.send(invoke_on(&main, "unlock", json!({"passphrase": PASS})));
    });
    let r = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("unlock never finished: a deadlock");
    r.unwrap();
    assert!(waiting.join().unwrap().is_err());
    assert!(h.shared().is_unlocked());
}

/// Only user activity postpones the auto-lock: a script calling commands in
/// a loop does not keep the vault open; `keep_alive` (input in the window)
/// does.
#[test]
fn only_user_activity_postpones_the_auto_lock() {
    let h = harness();
    h.created();
    let s = h.shared();
    std::thread::sleep(Duration::from_millis(120));
    for _ in 0..20 {
        h.ok("vault_status", json!({}));
        h.ok("list_documents", LIST_ALL.clone());
        h.ok("ipc_policy", json!({}));
    }
    assert!(
        s.idle_for() >= Duration::from_millis(120),
        "a call postponed the lock"
    );
    h.ok("keep_alive", json!({}));
    assert!(s.idle_for() < Duration::from_millis(120));
}

/// Lengthening the auto-lock delay asks for the passphrase (checked, slowed
/// and audited like any other check); shortening it does not.
#[test]
fn lengthening_the_auto_lock_needs_the_passphrase() {
    let h = harness();
    h.created();
    let minutes = |h: &Harness| h.ok("vault_status", json!({}))["autoLockMinutes"].clone();
    h.ok("set_auto_lock", json!({"minutes": 2, "passphrase": ""}));
    assert_eq!(
        h.code("set_auto_lock", json!({"minutes": 1440, "passphrase": ""})),
        "passphrase_needed"
    );
    assert_eq!(
        h.code(
            "set_auto_lock",
            json!({"minutes": 1440, "passphrase": "not the passphrase"})
        ),
        "wrong_secret"
    );
    assert_eq!(minutes(&h), 2);
    h.ok(
        "set_auto_lock",
        json!({"minutes": 1440, "passphrase": PASS}),
    );
    assert_eq!(minutes(&h), 1440);
    let audit = h.ok("audit_log", json!({"event": "failed_check", "offset": 0}));
    assert_eq!(audit["matched"], 1, "{audit}");
}

/// Wrong passphrases slow the next check down (one at a time, growing
/// delays), and each is in the audit log.
#[test]
fn failed_passphrase_checks_are_slowed_and_audited() {
    let h = harness();
    h.created();
    h.ok("lock", json!({}));
    let s = h.shared();
    for _ in 0..3 {
        assert_eq!(
            h.code("unlock", json!({"passphrase": "guess"})),
            "wrong_secret"
        );
    }
    let (failures, wait) = s.check_state();
    assert_eq!(failures, 3);
    assert!(
        wait > Duration::from_millis(1500),
        "no delay after 3 failures"
    );
    assert_eq!(crate::state::check_delay(1), Duration::ZERO);
    assert!(crate::state::check_delay(4) > crate::state::check_delay(3));
    assert_eq!(crate::state::check_delay(1000), Duration::from_secs(60));
    // The right passphrase waits out the delay, then clears it.
    let t = std::time::Instant::now();
    h.ok("unlock", json!({"passphrase": PASS}));
    assert!(t.elapsed() >= Duration::from_millis(1500));
    assert_eq!(s.check_state().0, 0);
    assert_eq!(
        h.code(
            "change_passphrase",
            json!({"current": "guess", "next": "new secret phrase 1"})
        ),
        "wrong_secret"
    );
    let failed = |ev: &str| h.ok("audit_log", json!({"event": ev, "offset": 0}))["matched"].clone();
    assert_eq!(failed("failed_unlock"), 3);
    assert_eq!(failed("failed_check"), 1);
}

/// One native dialog at a time: while a confirmation waits for the user,
/// every other call that would open a dialog is refused at once, so a loop
/// of calls never stacks prompts.
#[test]
fn one_native_dialog_at_a_time() {
    let h = harness();
    h.created();
    let a = h.file("a.txt", b"a");
    let id = id_of(&h.import(std::slice::from_ref(&a))["added"][0]);
    let (tx, rx) = std::sync::mpsc::channel();
    {
        let mut ans = h.answers();
        ans.hold = Some(Arc::new(Mutex::new(rx)));
        ans.confirm = false;
        ans.opened = 0;
    }
    let main = h.main.clone();
    let first = {
        let id = id.clone();
        std::thread::spawn(move || invoke_on(&main, "delete_document", json!({ "id": id })))
    };
    while h.answers().opened == 0 {
        std::thread::sleep(Duration::from_millis(5));
    }
    for _ in 0..20 {
        assert_eq!(
            h.code("delete_document", json!({ "id": id })),
            "dialog_open"
        );
    }
    assert_eq!(
        h.code("import_files", json!({"progress": "__CHANNEL__:3"})),
        "dialog_open"
    );
    assert_eq!(
        h.code("export_document", json!({ "id": id })),
        "dialog_open"
    );
    assert_eq!(h.answers().opened, 1, "a second dialog opened");
    tx.send(()).unwrap();
    let e = first.join().unwrap().unwrap_err();
    assert_eq!(e["code"], "cancelled");
    h.answers().hold = None;
    // Once answered, the next dialog opens.
    h.answers().confirm = true;
    h.ok("delete_document", json!({ "id": id }));
}

/// File dialogs open in the user's documents folder (else home), never in a
/// place the page could name.
#[test]
fn file_dialogs_open_in_the_documents_folder() {
    let h = harness();
    h.created();
    let a = h.file("a.txt", b"a");
    let id = id_of(&h.import(std::slice::from_ref(&a))["added"][0]);
    h.answers().save_in = Some(h.dir.path().join("outside"));
    h.answers().folder = Some(h.dir.path().join("outside"));
    std::fs::remove_file(&a).unwrap();
    h.ok("export_document", json!({ "id": id }));
    let out = h.dir.path().join("all");
    std::fs::create_dir(&out).unwrap();
    h.answers().folder = Some(out);
    h.ok("export_all", json!({"progress": "__CHANNEL__:4"}));
    let want = crate::dialogs::start_folder(h.app.handle());
    assert!(want.as_ref().is_some_and(|p| p.is_absolute()), "{want:?}");
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let docs = tauri::Manager::path(h.app.handle()).document_dir().ok();
    assert!(want == docs || want == home, "{want:?}");
    let starts = h.answers().starts.clone();
    assert_eq!(starts.len(), 3);
    assert!(starts.iter().all(|s| *s == want), "{starts:?}");
}

/// Between the walk of a dropped folder and the import, a file swapped for
/// a symbolic link, a folder swapped for a link to another folder, or a file
/// swapped for a FIFO is refused: every step is opened with `O_NOFOLLOW`
/// relative to the walked folder and checked with `fstat`.
#[test]
fn imports_never_follow_a_swapped_link() {
    use std::os::unix::fs::symlink;
    use tauri_plugin_fs::FsExt;
    let h = harness();
    h.created();
    let secret = h.file("secret.txt", b"SECRET: outside the drop");
    let elsewhere = h.dir.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::write(elsewhere.join("two.txt"), b"SECRET: another folder").unwrap();
    let folder = h.dir.path().join("dropped");
    std::fs::create_dir_all(folder.join("sub")).unwrap();
    std::fs::write(folder.join("one.txt"), b"1").unwrap();
    std::fs::write(folder.join("sub/two.txt"), b"2").unwrap();
    std::fs::write(folder.join("three.txt"), b"3").unwrap();
    h.app.fs_scope().allow_directory(&folder, true).unwrap();
    let found = crate::grants::import_sources(h.app.handle(), &folder).unwrap();
    assert_eq!(found.files.len(), 3);
    assert!(found.files.iter().all(|f| f.open().is_ok()));

    // The swaps an attacker with write access to the folder would race in.
    std::fs::remove_file(folder.join("one.txt")).unwrap();
    symlink(&secret, folder.join("one.txt")).unwrap();
    std::fs::rename(folder.join("sub"), folder.join("sub.old")).unwrap();
    symlink(&elsewhere, folder.join("sub")).unwrap();
    std::fs::remove_file(folder.join("three.txt")).unwrap();
    let fifo = std::process::Command::new("mkfifo")
        .arg(folder.join("three.txt"))
        .status()
        .unwrap();
    assert!(fifo.success());
    for f in &found.files {
        let e = f.open().expect_err("a swapped entry was opened");
        assert_eq!(e.code(), "bad_path", "{f:?}: {e}");
    }
    // The same through the import: nothing from outside lands in the vault.
    let s = h.shared();
    s.set_dropped(vec![folder.clone()]);
    let r = h.ok("import_dropped", json!({"progress": "__CHANNEL__:1"}));
    let names: Vec<&str> = r["added"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["two.txt"], "{r}");
    assert_eq!(r["leftOut"]["notRegular"], 3, "{r}");
    let id = id_of(&r["added"][0]);
    let out = h.dir.path().join("check");
    std::fs::create_dir(&out).unwrap();
    h.answers().save_in = Some(out.clone());
    h.ok("export_document", json!({ "id": id }));
    assert_eq!(std::fs::read(out.join("two.txt")).unwrap(), b"2");

    // A file picked in the dialog that is itself a link is not followed.
    let link = h.dir.path().join("outside/picked-link.txt");
    symlink(&secret, &link).unwrap();
    let r = h.import(&[link]);
    assert_eq!(r["failed"][0]["code"], "bad_path", "{r}");
    assert!(r["added"].as_array().unwrap().is_empty());
}

/// A folder walk that stops at its limits says how much it left out.
#[test]
fn a_folder_walk_counts_what_it_leaves_out() {
    use tauri_plugin_fs::FsExt;
    let h = harness();
    let folder = h.dir.path().join("big");
    let mut deep = folder.clone();
    for i in 0..=crate::grants::MAX_DEPTH {
        deep.push(format!("d{i}"));
    }
    std::fs::create_dir_all(&deep).unwrap();
    std::fs::write(deep.join("too-deep.txt"), b"x").unwrap();
    let many = folder.join("many");
    std::fs::create_dir_all(&many).unwrap();
    for i in 0..crate::grants::MAX_FILES_PER_DROP + 7 {
        std::fs::write(many.join(format!("{i}.txt")), b"").unwrap();
    }
    std::fs::write(folder.join(".env"), b"hidden").unwrap();
    h.app.fs_scope().allow_directory(&folder, true).unwrap();
    let found = crate::grants::import_sources(h.app.handle(), &folder).unwrap();
    assert_eq!(found.files.len(), crate::grants::MAX_FILES_PER_DROP);
    assert_eq!(found.left_out, 7);
    assert_eq!(found.too_deep, 1);
    // Hidden files are outside what a drop grants: counted, not silent.
    assert_eq!(found.not_granted, 1);
}

/// Issue 12 in the app: a batch never fails for one file. Non-portable names
/// are kept exactly, a dangerous one is refused with its reason while the
/// others import, and an export says which names it had to change.
#[test]
fn a_mixed_import_keeps_every_acceptable_name_and_reports_the_rest() {
    let h = harness();
    h.created();
    let good = [
        "Meeting notes: 2026-12-02 10:30.pdf",
        "What?.txt",
        "Q&A \"final\".txt",
        "report.",
        "aux.c",
        ".env",
    ];
    let mut files: Vec<PathBuf> = good.iter().map(|n| h.file(n, n.as_bytes())).collect();
    files.insert(2, h.file("invoice\u{202E}fdp.exe", b"x"));
    let r = h.import(&files);
    let added: BTreeSet<&str> = r["added"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(added, good.iter().copied().collect(), "{r}");
    let failed = r["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 1, "{r}");
    assert_eq!(failed[0]["item"], "invoice\u{202E}fdp.exe");
    assert_eq!(failed[0]["code"], "invalid_name");
    // Export all: every stored name as is on Linux, except the leading dot.
    let out = h.dir.path().join("exported");
    std::fs::create_dir(&out).unwrap();
    h.answers().folder = Some(out.clone());
    let e = h.ok("export_all", json!({"progress": "__CHANNEL__:5"}));
    assert_eq!(e["exported"], good.len(), "{e}");
    assert_eq!(
        e["renamed"],
        json!([{"name": ".env", "written": "_.env", "why": ["leading_dot"]}])
    );
    for n in good.iter().filter(|n| !n.starts_with('.')) {
        assert_eq!(std::fs::read(out.join(n)).unwrap(), n.as_bytes(), "{n}");
    }
    assert!(!out.join(".env").exists());
}

/// `cancel_import` asks the running import to stop between files (the core
/// keeps what it read: `vault::tests::an_import_stopped_between_files_keeps_what_it_read_and_nothing_else`);
/// a request left from before is cleared when the next import starts, and a
/// folder import reports every file it read.
#[test]
fn an_import_can_be_stopped_and_a_folder_imports_in_groups() {
    use tauri_plugin_fs::FsExt;
    let h = harness();
    h.created();
    let s = h.shared();
    h.ok("cancel_import", json!({}));
    assert!(s.import_cancelled(false));
    let folder = h.dir.path().join("many");
    std::fs::create_dir(&folder).unwrap();
    for i in 0..600 {
        std::fs::write(folder.join(format!("scan-{i:03}.pdf")), format!("{i}")).unwrap();
    }
    h.app.fs_scope().allow_directory(&folder, true).unwrap();
    s.set_dropped(vec![folder]);
    let r = h.ok("import_dropped", json!({"progress": "__CHANNEL__:1"}));
    assert_eq!(r["cancelled"], false, "an old request stopped a new import");
    assert_eq!(r["added"].as_array().unwrap().len(), 600);
    assert_eq!(h.ok("list_documents", LIST_ALL.clone())["total"], 600);
}

/// A panic while a native dialog was open does not leave the one dialog
/// slot taken for the rest of the session.
#[test]
fn a_panic_in_a_dialog_does_not_block_the_next_one() {
    let h = harness();
    let s = h.shared();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        s.with_dialog(|| panic!("the dialog failed"))
    }));
    assert!(r.is_err());
    assert_eq!(s.with_dialog(|| 7).ok(), Some(7));
}

/// A preview opens a window of its own and tells the main window only the
/// kind; a window that is not main (a preview) can call nothing; a lock
/// closes every preview window and forgets its token.
#[test]
fn a_preview_opens_its_own_window_that_can_call_nothing_and_a_lock_closes_it() {
    let h = harness();
    h.created();
    let text = h.file("note.txt", b"PREVIEW-SENTINEL text");
    let bin = h.file("tool.bin", &[0u8, 159, 146, 150, 0, 1]);
    h.import(&[text, bin]);
    let note = id_of(&h.list("note")[0]);
    let tool = id_of(&h.list("tool")[0]);
    let opened = h.ok("preview_document", json!({ "id": note }));
    assert_eq!(
        opened,
        json!({"kind": "text"}),
        "the answer holds no content"
    );
    assert_eq!(h.shared().previews.count(), 1);
    let label = h
        .app
        .webview_windows()
        .into_keys()
        .find(|l| l.starts_with(crate::preview::LABEL_PREFIX))
        .expect("a preview window");
    let preview = h.app.get_webview_window(&label).unwrap();
    // The preview window is in no capability: every command is refused
    // there, even one the main window may call, bound like the hook binds.
    for cmd in ["vault_status", "list_documents", "preview_document", "lock"] {
        let e = invoke_on(&preview, cmd, json!({ "id": note })).unwrap_err();
        assert!(
            e.to_string().contains("not allowed") || e.to_string().contains("denied"),
            "{cmd}: {e}"
        );
    }
    assert_eq!(h.ok("vault_status", json!({}))["unlocked"], true);
    assert_eq!(
        h.code("preview_document", json!({ "id": tool })),
        "no_preview"
    );
    h.ok("lock", json!({}));
    assert_eq!(h.shared().previews.count(), 0, "tokens forgotten at lock");
    assert_eq!(h.code("preview_document", json!({ "id": note })), "locked");
}

// ----- recovery and sharing ----------------------------------------------------

/// A recovery key of the right form (its checksum holds) that opens nothing.
fn stranger_key() -> String {
    coffer_core::recovery::RecoveryKey::generate()
        .to_text()
        .to_string()
}

/// Events of the audit log named `ev`, counted.
fn audited(h: &Harness, ev: &str) -> u64 {
    h.ok("audit_log", json!({"event": ev, "offset": 0}))["matched"]
        .as_u64()
        .unwrap()
}

/// Recovery from the unlock screen: the key is read with or without dashes,
/// with spaces, in any case; a mistyped key is told apart from a wrong one;
/// a wrong one is audited (`failed_unlock`) and slowed like a wrong
/// passphrase; the right one sets the new passphrase (the old one stops
/// working) and, when asked, replaces the recovery key: the new one is
/// returned once and the old one stops opening the vault.
#[test]
fn recovery_with_the_key_resets_the_passphrase_and_can_replace_the_key() {
    let h = harness();
    let rk = h.created();
    h.import(&[h.file("will.odt", b"the will")]);
    let recover = |key: &str, pass: &str, new_key: &str| {
        h.call(
            "recover",
            json!({"key": key, "passphrase": pass, "newKey": new_key}),
        )
    };
    // Not while the vault is open.
    let e = recover(&rk, "a new passphrase 1", "no").unwrap_err();
    assert_eq!(e["code"], "already_unlocked", "{e}");
    h.ok("lock", json!({}));

    // A typo: the checksum says so, nothing is tried, nothing slows down.
    let mut typo = rk.clone().into_bytes();
    typo[0] = if typo[0] == b'A' { b'B' } else { b'A' };
    let typo = String::from_utf8(typo).unwrap();
    let e = recover(&typo, "a new passphrase 1", "no").unwrap_err();
    assert_eq!(e["code"], "recovery_key_format", "{e}");
    assert!(e["message"].as_str().unwrap().contains("mistyped"), "{e}");
    assert_eq!(h.shared().check_state().0, 0);

    // A wrong key (well formed): a clear error, audited, and slowed down
    // with the passphrase checks' own counter.
    for _ in 0..3 {
        let e = recover(&stranger_key(), "a new passphrase 1", "no").unwrap_err();
        assert_eq!(e["code"], "wrong_secret", "{e}");
        assert_eq!(e["message"], "wrong passphrase or recovery key");
    }
    let (failures, wait) = h.shared().check_state();
    assert_eq!(failures, 3);
    assert!(
        wait > Duration::from_millis(1500),
        "no delay after 3 failures"
    );
    assert_eq!(
        h.code("unlock", json!({"passphrase": "guess"})),
        "wrong_secret"
    );
    assert_eq!(h.shared().check_state().0, 4, "one counter for both");
    assert!(!h.shared().is_unlocked());

    // The right key, typed in lowercase with spaces: waits out the delay,
    // unlocks, sets the new passphrase; the key is kept.
    let t = std::time::Instant::now();
    let spaced = rk.replace('-', " ").to_lowercase();
    let r = recover(&spaced, "a new passphrase 1", "no").unwrap();
    assert!(t.elapsed() >= Duration::from_millis(1500));
    assert_eq!(r["recoveryKey"], Value::Null, "{r}");
    assert_eq!(r["warning"], Value::Null, "{r}");
    assert_eq!(h.shared().check_state().0, 0);
    assert!(h.shared().is_unlocked());
    assert_eq!(h.list("").len(), 1);
    assert_eq!(audited(&h, "failed_unlock"), 4);
    assert_eq!(audited(&h, "recover"), 1);
    h.ok("lock", json!({}));
    assert_eq!(
        h.code("unlock", json!({"passphrase": PASS})),
        "wrong_secret"
    );
    h.ok("unlock", json!({"passphrase": "a new passphrase 1"}));
    h.ok("lock", json!({}));

    // Without any separator, asking for a new key: returned once, in the
    // same form as at creation.
    let bare = rk.replace('-', "");
    let r = recover(&bare, "a new passphrase 2", "yes").unwrap();
    let rk2 = r["recoveryKey"].as_str().unwrap().to_owned();
    assert_eq!(rk2.split('-').count(), 14, "{rk2}");
    assert_ne!(rk2, rk);
    assert_eq!(audited(&h, "recovery_key_change"), 1);
    // The status never repeats it.
    let st = h.ok("vault_status", json!({}));
    assert!(!st.to_string().contains(&rk2));
    h.ok("lock", json!({}));

    // The old key opens nothing now; the new one does.
    let e = recover(&rk, "a new passphrase 3", "no").unwrap_err();
    assert_eq!(e["code"], "wrong_secret", "{e}");
    recover(&rk2, "a new passphrase 3", "no").unwrap();
    assert_eq!(h.list("")[0]["name"], "will.odt");
    // The CLI's core agrees.
    h.ok("lock", json!({}));
    let k2 = coffer_core::recovery::RecoveryKey::parse(&rk2).unwrap();
    coffer_core::vault::Vault::unlock_with_recovery(&h.dir.path().join("vault"), &k2).unwrap();
}

/// Replacing the recovery key in Settings asks for the passphrase (a wrong
/// one is audited `failed_check` and changes nothing); the new key is
/// returned once, and the old one stops working.
#[test]
fn replacing_the_recovery_key_asks_the_passphrase() {
    let h = harness();
    let rk = h.created();
    assert_eq!(
        h.code("replace_recovery_key", json!({"passphrase": "not it"})),
        "wrong_secret"
    );
    assert_eq!(audited(&h, "failed_check"), 1);
    assert_eq!(audited(&h, "recovery_key_change"), 0);
    // Shape refused by Rust's policy check (no hook in these calls).
    assert_eq!(
        h.code("replace_recovery_key", json!({"passphrase": ""})),
        "blocked"
    );
    assert_eq!(h.code("replace_recovery_key", json!({})), "blocked");
    let r = h.ok("replace_recovery_key", json!({"passphrase": PASS}));
    let rk2 = r["recoveryKey"].as_str().unwrap().to_owned();
    assert_ne!(rk2, rk);
    assert_eq!(audited(&h, "recovery_key_change"), 1);
    h.ok("lock", json!({}));
    assert_eq!(
        h.code(
            "recover",
            json!({"key": rk, "passphrase": "a new passphrase 1", "newKey": "no"})
        ),
        "wrong_secret"
    );
    h.ok(
        "recover",
        json!({"key": rk2, "passphrase": "a new passphrase 1", "newKey": "no"}),
    );
    // Locked: nothing to replace.
    h.ok("lock", json!({}));
    assert_eq!(
        h.code("replace_recovery_key", json!({"passphrase": PASS})),
        "locked"
    );
}

/// Recovery arguments of the wrong shape never reach the core, hook or no
/// hook: Rust's own policy check refuses them, and records it.
#[test]
fn hostile_recovery_arguments_meet_rusts_own_checks() {
    let h = harness();
    let rk = h.created();
    h.ok("lock", json!({}));
    let ok_pass = "a new passphrase 1";
    let with_u = format!("U{}", &rk[1..]);
    let short = rk[..rk.len() - 1].to_owned();
    let long = format!("{rk}A");
    let newline = rk.replacen('-', "\n", 1);
    let tab = rk.replacen('-', "\t", 1);
    let padded = format!("{rk}{}", " ".repeat(200));
    let cases: Vec<Value> = vec![
        json!({"key": with_u, "passphrase": ok_pass, "newKey": "no"}),
        json!({"key": short, "passphrase": ok_pass, "newKey": "no"}),
        json!({"key": long, "passphrase": ok_pass, "newKey": "no"}),
        json!({"key": newline, "passphrase": ok_pass, "newKey": "no"}),
        json!({"key": tab, "passphrase": ok_pass, "newKey": "no"}),
        json!({"key": padded, "passphrase": ok_pass, "newKey": "no"}),
        json!({"key": rk, "passphrase": "short", "newKey": "no"}),
        json!({"key": rk, "passphrase": ok_pass, "newKey": "true"}),
        json!({"key": rk, "passphrase": ok_pass, "newKey": true}),
        json!({"key": rk, "passphrase": ok_pass}),
        json!({"key": rk, "passphrase": ok_pass, "newKey": "no", "dir": "/tmp"}),
        json!({"key": [rk], "passphrase": ok_pass, "newKey": "no"}),
    ];
    let n = cases.len() as u64;
    for args in cases {
        let e = h.call("recover", args.clone()).unwrap_err();
        assert_eq!(e["code"], "blocked", "{args}: {e}");
    }
    // None of them counted as a guess, none unlocked, each recorded.
    assert_eq!(h.shared().check_state().0, 0);
    assert!(!h.shared().is_unlocked());
    let pol = h.ok("ipc_policy", json!({}));
    assert_eq!(pol["refusedTotal"], n, "{pol}");
    assert_eq!(pol["refused"][0]["gate"], "rust");
    assert_eq!(pol["refused"][0]["command"], "recover");
    // The typed argument holds the same line on its own (should the policy
    // ever be loosened).
    use crate::args::{FromArg, RecoveryKeyText};
    for bad in [
        with_u.as_str(),
        short.as_str(),
        long.as_str(),
        newline.as_str(),
        "",
        "-",
    ] {
        assert!(RecoveryKeyText::parse(&json!(bad)).is_err(), "{bad:?}");
    }
    for good in [
        rk.clone(),
        rk.to_lowercase(),
        rk.replace('-', " "),
        rk.replace('-', ""),
    ] {
        assert!(RecoveryKeyText::parse(&json!(good)).is_ok(), "{good:?}");
    }
}

/// Reads an age file with one identity.
fn open_age(file: &Path, id: &age::x25519::Identity) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let f = std::fs::File::open(file).map_err(|e| e.to_string())?;
    let d = age::Decryptor::new(f).map_err(|e| e.to_string())?;
    let mut r = d
        .decrypt(std::iter::once(id as &dyn age::Identity))
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    r.read_to_end(&mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

/// Share: Rust opens the save dialog suggesting `<name>.age` (a hostile name
/// stays a plain string, a leading dot never makes a hidden file), writes a
/// standard age file that each recipient's identity opens and no other, and
/// audits it with the number of recipients, never the keys.
#[test]
fn share_writes_an_age_file_only_the_recipients_open() {
    let h = harness();
    h.created();
    let data = vec![42u8; 200_000];
    let f = h.file("Lease 100%s%n.pdf", &data);
    let dot = h.file(".env", b"TOKEN=1");
    let added = h.import(&[f, dot]);
    let docs = added["added"].as_array().unwrap();
    let (lease, env) = (id_of(&docs[0]), id_of(&docs[1]));
    let (alice, bob, eve) = (
        age::x25519::Identity::generate(),
        age::x25519::Identity::generate(),
        age::x25519::Identity::generate(),
    );
    let to = json!([alice.to_public().to_string(), bob.to_public().to_string()]);
    let out = h.dir.path().join("shares");
    std::fs::create_dir_all(&out).unwrap();

    // Cancelled: nothing written, nothing audited.
    assert_eq!(
        h.code("share_document", json!({"id": lease, "recipients": to})),
        "cancelled"
    );
    assert_eq!(audited(&h, "share"), 0);

    h.answers().save_in = Some(out.clone());
    let r = h.ok("share_document", json!({"id": lease, "recipients": to}));
    let written = PathBuf::from(r["path"].as_str().unwrap());
    assert_eq!(
        written,
        out.canonicalize().unwrap().join("Lease 100%s%n.pdf.age")
    );
    let bytes = std::fs::read(&written).unwrap();
    assert!(bytes.starts_with(b"age-encryption.org/v1\n"));
    assert_eq!(open_age(&written, &alice).unwrap(), data);
    assert_eq!(open_age(&written, &bob).unwrap(), data);
    assert!(open_age(&written, &eve).is_err());

    // Audited: the id and how many, never a key.
    let a = h.ok("audit_log", json!({"event": "share", "offset": 0}));
    assert_eq!(a["matched"], 1, "{a}");
    let detail = a["entries"][0]["detail"].as_str().unwrap();
    assert_eq!(detail, format!("id={lease} to=x25519 count=2"));

    // The same file chosen again: a regular file the save dialog confirmed
    // replacing is replaced.
    let one = json!([eve.to_public().to_string()]);
    h.ok("share_document", json!({"id": lease, "recipients": one}));
    assert_eq!(open_age(&written, &eve).unwrap(), data);
    assert!(open_age(&written, &alice).is_err());

    // A hidden name is suggested visible.
    let r = h.ok("share_document", json!({"id": env, "recipients": one}));
    let p = PathBuf::from(r["path"].as_str().unwrap());
    assert_eq!(p.file_name().unwrap(), "_.env.age");
    assert_eq!(open_age(&p, &eve).unwrap(), b"TOKEN=1");

    // A symlink chosen in the dialog is never written through.
    let target = h.dir.path().join("target.txt");
    std::fs::write(&target, b"keep").unwrap();
    let link = out.join("link.age");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    h.answers().save = Some(link);
    assert_eq!(
        h.code("share_document", json!({"id": lease, "recipients": one})),
        "bad_path"
    );
    assert_eq!(std::fs::read(&target).unwrap(), b"keep");
    assert_eq!(audited(&h, "share"), 3);

    // Locked: refused before any dialog.
    h.ok("lock", json!({}));
    let opened = h.answers().opened;
    assert_eq!(
        h.code("share_document", json!({"id": lease, "recipients": one})),
        "locked"
    );
    assert_eq!(h.answers().opened, opened);
}

/// Recipients are checked in Rust whatever the hook let through: first the
/// policy's shape (as in the hook), then in full by the core (checksum,
/// padding, small-order points, duplicates, count). A refusal opens no
/// dialog, writes nothing, is recorded, and never repeats a key.
#[test]
fn bad_recipients_are_refused_in_rust_even_without_the_hook() {
    let h = harness();
    h.created();
    let id = id_of(&h.import(&[h.file("a.txt", b"a")])["added"][0]);
    let out = h.dir.path().join("shares");
    std::fs::create_dir_all(&out).unwrap();
    h.answers().save_in = Some(out.clone());
    let ok = age::x25519::Identity::generate().to_public().to_string();
    let ok2 = age::x25519::Identity::generate().to_public().to_string();
    // Same shape, another checksum: the pattern passes it, Bech32 does not.
    let last = ok.chars().last().unwrap();
    let bad_sum = format!("{}{}", &ok[..61], if last == 'q' { 'p' } else { 'q' });
    // The point 0 (order 1): every share to it would be readable by anyone.
    let zero = "age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq5cu47z";
    let secret = "AGE-SECRET-KEY-1GQ9778VQXMMJVE8SK7J6VT8UJ4HDQAJUVSFCWCM02D8GEWQ72PVQ2Y5J33";
    let many: Vec<String> = (0..21)
        .map(|_| age::x25519::Identity::generate().to_public().to_string())
        .collect();
    let cases: Vec<(Value, &str)> = vec![
        // The policy's shape, enforced by Rust (as by the hook).
        (json!(many), "blocked"),
        (json!([secret]), "blocked"),
        (json!([ok.to_uppercase()]), "blocked"),
        (json!([format!("{ok} ")]), "blocked"),
        (json!([format!("{ok}\n{ok2}")]), "blocked"),
        (json!([&ok[..61]]), "blocked"),
        (
            json!(["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHsKLqeplhpW"]),
            "blocked",
        ),
        (json!(ok), "blocked"),
        (json!([[ok]]), "blocked"),
        // Right shape, wrong meaning: the core's parser, in Rust.
        (json!([]), "no_recipients"),
        (json!([ok, bad_sum]), "bad_recipient"),
        (json!([zero]), "recipient_small_order"),
        (json!([ok, ok2, ok]), "duplicate_recipient"),
    ];
    for (recipients, want) in cases {
        let e = h
            .call(
                "share_document",
                json!({"id": id, "recipients": recipients}),
            )
            .unwrap_err();
        assert_eq!(e["code"], want, "{recipients}: {e}");
        let msg = e["message"].as_str().unwrap();
        for key in [
            &ok[4..],
            &ok2[4..],
            &bad_sum[4..],
            &zero[4..],
            &secret[15..],
        ] {
            assert!(!msg.contains(&key[..12]), "a key repeated: {msg}");
        }
    }
    // Extra and missing arguments: a path never gets in.
    for args in [
        json!({"id": id, "recipients": [ok], "path": "/tmp/x.age"}),
        json!({"id": id}),
        json!({"recipients": [ok]}),
        json!({"id": "../../etc/passwd", "recipients": [ok]}),
    ] {
        assert_eq!(h.code("share_document", args.clone()), "blocked", "{args}");
    }
    assert_eq!(h.answers().opened, 1, "only the import's dialog opened");
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 0);
    assert_eq!(audited(&h, "share"), 0);
    let pol = h.ok("ipc_policy", json!({}));
    assert!(pol["refusedTotal"].as_u64().unwrap() >= 17, "{pol}");
    let counts = pol["refusedCounts"].as_array().unwrap();
    assert!(
        counts
            .iter()
            .any(|c| c["gate"] == "rust" && c["command"] == "share_document"),
        "{pol}"
    );
    // The same recipients pass once well formed.
    h.ok("share_document", json!({"id": id, "recipients": [ok, ok2]}));
    assert_eq!(audited(&h, "share"), 1);
}
