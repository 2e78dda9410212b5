//! `coffer policy`: the desktop app's IPC policy as an auditor reads it, with
//! no vault and no passphrase.
#![allow(clippy::unwrap_used)]

mod common;
use common::Env;

#[test]
fn policy_prints_every_command_and_the_file_and_the_hooks_copy() {
    let env = Env::new();
    let table = env.ok(&["policy"]);
    let policy: serde_json::Value =
        serde_json::from_str(coffer_core::ipc_policy::POLICY_JSON).unwrap();
    for c in policy["commands"].as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        assert!(
            table.lines().any(|l| l.starts_with(name)),
            "{name} missing from:\n{table}"
        );
    }
    assert!(table.contains("Everything else is refused"));
    let json: serde_json::Value = serde_json::from_str(&env.ok(&["policy", "--json"])).unwrap();
    assert_eq!(json, policy);
    let js = env.ok(&["policy", "--js"]);
    let shipped = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../dist-isolation/policy.js"
    ))
    .unwrap();
    assert_eq!(js, shipped);
}
