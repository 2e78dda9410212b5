//! With every log level on, no log line holds a passphrase, a recovery key, a
//! document name, a tag or plaintext. The test also checks that logs were
//! written at all, so it cannot pass by capturing nothing.

mod common;
use common::*;

#[test]
fn trace_logs_hold_no_secret_and_no_name() {
    let e = Env::new();
    let name = "Zyx-Medical-Record-4471.pdf";
    let content = b"PLAINTEXT-SENTINEL-9f3a ".repeat(5000);
    let f = e.path(name);
    std::fs::write(&f, &content).unwrap();
    let bad = e.path("bad");
    std::fs::write(&bad, "wrong passphrase sentinel\n").unwrap();
    let mut stderr = String::new();
    let mut run = |args: &[&str], pass: &std::path::Path| {
        let o = coffer_at(&e.vault, pass)
            .args(args)
            .env("COFFER_LOG", "trace")
            .output()
            .unwrap();
        stderr.push_str(&String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let out = run(
        &["add", f.to_str().unwrap(), "--tag", "SentinelTag"],
        &e.pass_file,
    );
    let id = out.split('\t').next().unwrap().to_owned();
    run(&["ls", "Zyx"], &e.pass_file);
    run(
        &["get", &id, "--out", e.path("o.pdf").to_str().unwrap()],
        &e.pass_file,
    );
    run(
        &["export", "--all", e.path("exp").to_str().unwrap()],
        &e.pass_file,
    );
    run(&["ls"], &bad);
    run(&["verify"], &e.pass_file);
    run(&["log", "--verify"], &e.pass_file);
    let rk = e.path("rk");
    std::fs::write(&rk, &e.recovery_key).unwrap();
    let np = e.path("np");
    std::fs::write(&np, "new passphrase sentinel\n").unwrap();
    run(
        &["passwd", "--new-passphrase-file", np.to_str().unwrap()],
        &e.pass_file,
    );
    std::fs::remove_file(e.vault.join("index.sqlite")).unwrap();
    run(&["repair"], &np);
    run(&["rm", &id], &np);
    run(&["trash", "ls"], &np);
    run(&["trash", "restore", &id], &np);
    run(&["rm", &id], &np);
    run(&["trash", "empty", "--yes"], &np);

    assert!(
        stderr.contains("vault unlocked") && stderr.contains("documents added"),
        "no logs captured:\n{stderr}"
    );
    assert!(stderr.contains("unlock failed"));
    for secret in [
        PASS,
        "wrong passphrase sentinel",
        "new passphrase sentinel",
        e.recovery_key.as_str(),
        &e.recovery_key.replace('-', ""),
        "Zyx",
        "Medical-Record",
        "SentinelTag",
        "PLAINTEXT-SENTINEL",
    ] {
        assert!(!stderr.contains(secret), "log leaked {secret:?}:\n{stderr}");
    }
}
