//! Declares the app's commands to Tauri's ACL from `policy/ipc.json`, so that
//! `tauri_build` generates `allow-<command>`/`deny-<command>` permissions for
//! exactly the commands the policy lists. With this manifest Tauri checks every
//! app command against the capability; without one it would check none.

use std::path::Path;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let policy_path = root.join("policy/ipc.json");
    println!("cargo:rerun-if-changed={}", policy_path.display());
    let text = std::fs::read_to_string(&policy_path).expect("policy/ipc.json is readable");
    let policy: serde_json::Value = serde_json::from_str(&text).expect("policy/ipc.json is JSON");
    let names: Vec<&'static str> = policy["commands"]
        .as_array()
        .expect("policy has a command list")
        .iter()
        .map(|c| {
            let name = c["name"].as_str().expect("each command has a name");
            &*Box::leak(name.to_owned().into_boxed_str())
        })
        .collect();
    let names: &'static [&'static str] = Box::leak(names.into_boxed_slice());
    let attrs = tauri_build::Attributes::new()
        .capabilities_path_pattern("capabilities/**/*")
        .app_manifest(tauri_build::AppManifest::new().commands(names));
    tauri_build::try_build(attrs).expect("tauri_build succeeds");
    pdf_js(root);
}

/// pdf.js (npm's `pdfjs-dist`, pinned in package.json) goes into the binary,
/// served by Rust to preview windows only (`src-tauri/src/preview.rs`).
fn pdf_js(root: &Path) {
    let out = std::path::PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let build = root.join("node_modules/pdfjs-dist/build");
    for file in ["pdf.min.mjs", "pdf.worker.min.mjs"] {
        let from = build.join(file);
        println!("cargo:rerun-if-changed={}", from.display());
        std::fs::copy(&from, out.join(file)).unwrap_or_else(|e| {
            panic!(
                "{} is missing ({e}): run `npm install` first (scripts/test.sh and scripts/install.sh do)",
                from.display()
            )
        });
    }
}
