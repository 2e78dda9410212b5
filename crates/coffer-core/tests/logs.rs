//! Core-level proof that no log event carries a secret, a name or plaintext:
//! every operation runs under a TRACE subscriber whose output is captured.

use coffer_core::header::Unlocker;
use coffer_core::kdf::{KdfParams, MIN_MEMORY_KIB};
use coffer_core::secret::Passphrase;
use coffer_core::Vault;
use std::io::Write;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);
impl Write for Capture {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("not poisoned").extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn no_log_line_holds_a_secret_name_or_plaintext() {
    // The state record goes to a folder of this test, not the user's home.
    let state = tempfile::tempdir().unwrap();
    std::env::set_var("XDG_STATE_HOME", state.path());
    let cap = Capture::default();
    let c2 = cap.clone();
    let sub = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || c2.clone())
        .with_ansi(false)
        .finish();
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("v");
    let pass = Passphrase::new("core passphrase sentinel".into());
    let fast = KdfParams {
        memory_kib: MIN_MEMORY_KIB,
        iterations: 1,
        parallelism: 1,
    };
    let mut rk_text = String::new();
    tracing::subscriber::with_default(sub, || {
        let (v, rk) = Vault::create(&dir, &pass, fast).unwrap();
        rk_text = rk.to_text().to_string();
        let d = v
            .add_reader(
                "Secret-Name-Q7.docx",
                &["TagSentinel".into()],
                &b"CONTENT-SENTINEL"[..],
                &mut |_| {},
            )
            .unwrap();
        let id = d.id;
        let _ = v.list(Some("Secret")).unwrap();
        v.export_to(&id, &t.path().join("out"), false, &mut |_| {})
            .unwrap();
        let _ = v
            .export_to(&id, &t.path().join("out"), false, &mut |_| {})
            .unwrap_err();
        assert!(v.verify(&mut |_| {}).unwrap().ok);
        v.lock().unwrap();
        assert!(Vault::unlock(&dir, &Passphrase::new("wrong sentinel pass".into())).is_err());
        let v = Vault::unlock(&dir, &pass).unwrap();
        v.remove(&id).unwrap();
        drop(v);
        Vault::repair(&dir, &Unlocker::Passphrase(&pass), &mut |_| {}).unwrap();
    });
    let logs = String::from_utf8(cap.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("vault created")
            && logs.contains("documents added")
            && logs.contains("unlock failed"),
        "{logs}"
    );
    for s in [
        "core passphrase sentinel",
        "wrong sentinel",
        "Secret-Name",
        "TagSentinel",
        "CONTENT-SENTINEL",
        &rk_text,
        &rk_text.replace('-', ""),
    ] {
        assert!(!logs.contains(s), "leaked {s:?}:\n{logs}");
    }
}
