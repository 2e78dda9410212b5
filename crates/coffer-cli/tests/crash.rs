//! `coffer add` killed with SIGKILL at random moments, many times. Afterwards
//! `verify` passes and every document whose line `add` printed is present and
//! intact. Also: two processes writing at once.

mod common;
use common::*;
use std::io::Read;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// xorshift64*, seeded from the clock and printed so a failure can be replayed
/// with `COFFER_CRASH_SEED`.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

#[test]
fn sigkill_during_add_loses_nothing_reported() {
    let files: Vec<(String, Vec<u8>)> = (0..24)
        .map(|i| {
            let size = match i % 6 {
                0 => 3 * 1024 * 1024 + i,
                1 => CHUNK,
                2 => 0,
                _ => 1000 + i * 37,
            };
            (format!("doc{i:02}.bin"), pattern(size, i as u8))
        })
        .collect();
    kill_adds(files, 30, 7);
}

/// Group commit: 300 small files are made durable and committed in batches
/// (256 documents, 256 MiB or half a second each); a kill at any moment
/// loses no document the CLI printed and leaves nothing half-live.
#[test]
fn sigkill_during_a_batched_add_of_small_files_loses_nothing_reported() {
    let files = (0..300)
        .map(|i| (format!("small{i:03}.txt"), pattern(64 + i, i as u8)))
        .collect();
    kill_adds(files, 6, 41);
}

/// Adds `files` in one `add`, kills it at random moments `runs` times, and
/// checks every reported document is intact and nothing is half-live.
#[allow(clippy::unwrap_used)]
fn kill_adds(files: Vec<(String, Vec<u8>)>, default_runs: usize, spot_every: usize) {
    let e = Env::new();
    let seed = std::env::var("COFFER_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    eprintln!("crash seed: {seed}");
    let mut rng = Rng(seed);
    let runs: usize = std::env::var("COFFER_CRASH_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default_runs);

    // Time one uninterrupted add of the batch, to spread kills over it.
    let dir = e.path("src");
    std::fs::create_dir(&dir).unwrap();
    for (n, d) in &files {
        std::fs::write(dir.join(n), d).unwrap();
    }
    let args: Vec<String> = files
        .iter()
        .map(|(n, _)| dir.join(n).to_string_lossy().into_owned())
        .collect();
    // The sources' own dirty pages would be flushed by the first add's
    // `syncfs` and make it look slow.
    std::process::Command::new("sync").status().unwrap();
    let t = Instant::now();
    let mut c = e.cmd(&["add"]);
    let full = c.args(&args).output().unwrap();
    assert!(full.status.success());
    let mut span = t.elapsed().as_micros() as u64 + 1;
    let mut expected: Vec<(String, String)> = parse(&String::from_utf8_lossy(&full.stdout));
    assert_eq!(expected.len(), files.len());

    let mut kills_mid_run = 0;
    for _ in 0..runs {
        let mut c = e.cmd(&["add"]);
        let mut child = c.args(&args).stdout(Stdio::piped()).spawn().unwrap();
        std::thread::sleep(Duration::from_micros(rng.next() % span));
        let finished = child.try_wait().unwrap().is_some();
        let _ = child.kill(); // SIGKILL on Unix
        let _ = child.wait();
        if !finished {
            kills_mid_run += 1;
        } else {
            // The add got faster than the first one: aim earlier.
            span = (span * 3 / 4).max(1_000);
        }
        let mut out = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        // Only complete lines count as reported.
        let complete = match out.rfind('\n') {
            Some(i) => &out[..=i],
            None => "",
        };
        expected.extend(parse(complete));
        let v = e.run(&["verify"]);
        assert!(
            v.status.success(),
            "verify after a kill (seed {seed}): {}",
            String::from_utf8_lossy(&v.stdout)
        );
    }
    assert!(
        kills_mid_run >= runs / 3,
        "too few kills landed mid-run ({kills_mid_run}/{runs})"
    );

    let listed: serde_json::Value = serde_json::from_str(&e.ok(&["ls", "--json"])).unwrap();
    let ids: std::collections::HashSet<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    for (id, name) in &expected {
        assert!(
            ids.contains(id.as_str()),
            "reported document {id} ({name}) is missing (seed {seed})"
        );
    }
    // Spot-check contents of reported documents.
    for (id, name) in expected.iter().step_by(spot_every) {
        let want = &files.iter().find(|(n, _)| n == name).unwrap().1;
        assert_eq!(&e.get(id).unwrap(), want, "{name}");
    }
    // Nothing half-written is left in the vault.
    assert_eq!(std::fs::read_dir(e.vault.join("tmp")).unwrap().count(), 0);
    e.ok(&["log", "--verify"]);
}

fn parse(out: &str) -> Vec<(String, String)> {
    out.lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .collect()
}

#[test]
fn two_writers_at_once_do_not_corrupt_the_vault() {
    let e = Env::new();
    let mk = |tag: &str| -> Vec<String> {
        (0..20)
            .map(|i| {
                let p = e.path(&format!("{tag}{i}.txt"));
                std::fs::write(&p, pattern(5000 + i, i as u8)).unwrap();
                p.to_string_lossy().into_owned()
            })
            .collect()
    };
    let (a, b) = (mk("a"), mk("b"));
    let mut ca = e.cmd(&["add"]);
    ca.args(&a).stdout(Stdio::piped());
    let mut cb = e.cmd(&["add"]);
    cb.args(&b).stdout(Stdio::piped());
    let (pa, pb) = (ca.spawn().unwrap(), cb.spawn().unwrap());
    let (oa, ob) = (
        pa.wait_with_output().unwrap(),
        pb.wait_with_output().unwrap(),
    );
    assert!(oa.status.success() && ob.status.success());
    // One process adds one at a time while another removes and lists.
    let ls = e.ok(&["ls"]);
    assert_eq!(ls.lines().count(), 40);
    let first = ls
        .lines()
        .next()
        .unwrap()
        .split('\t')
        .next()
        .unwrap()
        .to_owned();
    let mut adder = e.cmd(&["add"]);
    let more = mk("c");
    adder.args(&more);
    let h = adder.spawn().unwrap();
    e.ok(&["rm", &first]);
    e.ok(&["ls"]);
    assert!(h.wait_with_output().unwrap().status.success());
    assert_eq!(e.ok(&["ls"]).lines().count(), 59);
    e.ok(&["verify"]);
    e.ok(&["log", "--verify"]);
}

#[test]
fn sigkill_during_get_leaves_no_plaintext_behind() {
    let e = Env::new();
    let id = e.add_bytes("big.bin", &pattern(24 << 20, 5));
    let dest = e.path("dest");
    std::fs::create_dir(&dest).unwrap();
    let out = dest.join("big.bin");
    let t = Instant::now();
    assert!(e
        .run(&["get", &id, "--out", out.to_str().unwrap()])
        .status
        .success());
    let span = t.elapsed().as_micros() as u64 + 1;
    std::fs::remove_file(&out).unwrap();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ span);
    let mut mid = 0;
    for _ in 0..12 {
        let mut c = e.cmd(&["get", &id, "--out", out.to_str().unwrap()]);
        let mut child = c.spawn().unwrap();
        std::thread::sleep(Duration::from_micros(rng.next() % span));
        let finished = child.try_wait().unwrap().is_some();
        let _ = child.kill();
        let _ = child.wait();
        let names: Vec<String> = std::fs::read_dir(&dest)
            .unwrap()
            .flatten()
            .map(|d| d.file_name().to_string_lossy().into_owned())
            .collect();
        match names.as_slice() {
            [] => mid += usize::from(!finished),
            [n] if n == "big.bin" => {
                // Only ever the whole document under its final name.
                assert_eq!(std::fs::metadata(&out).unwrap().len(), 24 << 20);
                std::fs::remove_file(&out).unwrap();
            }
            other => panic!("a killed get left {other:?}"),
        }
    }
    assert!(mid >= 3, "too few kills landed mid-export ({mid}/12)");
}

/// `coffer rekey` killed with SIGKILL at random moments, many times, each run
/// resuming the last: the vault opens after every kill, and once a run
/// finishes, every document is intact under the new key, `verify` and the
/// audit chain pass, and the old recovery key opens nothing.
#[test]
fn sigkill_during_rekey_loses_nothing_and_resumes() {
    let e = Env::new();
    let docs: Vec<(String, Vec<u8>)> = (0..8)
        .map(|i| {
            let data = pattern(if i % 3 == 0 { 2 << 20 } else { 5000 + i }, i as u8);
            (e.add_bytes(&format!("doc{i}.bin"), &data), data)
        })
        .collect();
    // Time one rotation, to spread kills over it.
    let t = Instant::now();
    e.ok(&["rekey"]);
    let span = t.elapsed().as_micros() as u64 + 1;
    let mut rng = Rng(0xD1B5_4A32_D192_ED03 ^ span);
    let mut mid = 0;
    for _ in 0..12 {
        let mut child = e.cmd(&["rekey"]).stdout(Stdio::null()).spawn().unwrap();
        std::thread::sleep(Duration::from_micros(rng.next() % span));
        let finished = child.try_wait().unwrap().is_some();
        let _ = child.kill();
        let _ = child.wait();
        mid += usize::from(!finished);
        // The vault opens after any kill (reads work mid-rotation).
        let listed = e.ok(&["ls"]);
        assert_eq!(listed.lines().count(), docs.len(), "{listed}");
    }
    assert!(mid >= 4, "too few kills landed mid-rotation ({mid}/12)");
    let out = e.ok(&["rekey"]);
    let rk = out.lines().last().unwrap().trim().to_owned();
    for (id, data) in &docs {
        assert_eq!(&e.get(id).unwrap(), data);
    }
    e.ok(&["verify"]);
    e.ok(&["log", "--verify"]);
    let rkf = e.path("old-rk");
    std::fs::write(&rkf, format!("{}\n", e.recovery_key)).unwrap();
    let np = e.path("np");
    std::fs::write(&np, "another passphrase\n").unwrap();
    let try_recover = |key: &std::path::Path| {
        e.cmd(&["recover", "--recovery-key-file", key.to_str().unwrap()])
            .args(["--new-passphrase-file", np.to_str().unwrap()])
            .output()
            .unwrap()
    };
    assert!(!try_recover(&rkf).status.success());
    std::fs::write(&rkf, format!("{rk}\n")).unwrap();
    assert!(try_recover(&rkf).status.success());
}
