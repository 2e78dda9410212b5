//! Unlock, catalog load, listing and search on a large vault, timed in process
//! so that each phase is measured on its own.
//!
//! `COFFER_BENCH_VAULT=DIR COFFER_BENCH_PASSFILE=FILE cargo bench -p coffer-core --bench catalog`
//! measures an existing vault (bench/run.sh seeds one with 100,000 documents
//! through the CLI). Without them, it builds a vault of `COFFER_BENCH_DOCS`
//! (default 10,000) small documents in a temporary folder first.

use coffer_core::header::{Header, SlotKind};
use coffer_core::kdf::{self, KdfParams};
use coffer_core::secret::Passphrase;
use coffer_core::Vault;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const RUNS: usize = 7;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time<T>(mut f: impl FnMut() -> T) -> Duration {
    median(
        (0..RUNS)
            .map(|_| {
                let t = Instant::now();
                black_box(f());
                t.elapsed()
            })
            .collect(),
    )
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn main() {
    // State records of the bench's vaults go to a temporary folder.
    let state = tempfile::tempdir().expect("temporary folder");
    std::env::set_var("XDG_STATE_HOME", state.path());
    // `cargo bench` passes `--bench`; nothing else is accepted.
    let (dir, pass, _keep) = match (
        std::env::var_os("COFFER_BENCH_VAULT"),
        std::env::var_os("COFFER_BENCH_PASSFILE"),
    ) {
        (Some(d), Some(p)) => {
            let text = std::fs::read_to_string(p).expect("readable passphrase file");
            (
                PathBuf::from(d),
                Passphrase::new(text.lines().next().unwrap_or("").to_owned()),
                None,
            )
        }
        _ => {
            let n: usize = std::env::var("COFFER_BENCH_DOCS")
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(10_000);
            let t = tempfile::tempdir().expect("temporary folder");
            let dir = t.path().join("v");
            let pass = Passphrase::new("benchmark passphrase".into());
            let params = KdfParams {
                memory_kib: 64 * 1024,
                iterations: 1,
                parallelism: 1,
            };
            let (v, _) = Vault::create(&dir, &pass, params).expect("vault");
            let start = Instant::now();
            for i in 0..n {
                let body = vec![(i % 251) as u8; 256 + (i * 7919) % 3840];
                v.add_reader(
                    &format!("doc-{i:06}.txt"),
                    &["bench".into()],
                    &body[..],
                    &mut |_| {},
                )
                .expect("add");
            }
            println!("seeded {n} documents in {}", ms(start.elapsed()));
            (dir, pass, Some(t))
        }
    };
    run(&dir, &pass);
}

fn run(dir: &Path, pass: &Passphrase) {
    let header =
        Header::parse(&std::fs::read(dir.join("coffer.header")).expect("header")).expect("parse");
    let (params, salt) = header
        .slots
        .iter()
        .find_map(|s| match s.kind {
            SlotKind::Passphrase(p) => Some((p, s.salt)),
            SlotKind::Recovery => None,
        })
        .expect("a passphrase slot");
    let argon = time(|| kdf::derive(pass, &salt, &params).expect("kdf"));
    let unlock = time(|| Vault::unlock(dir, pass).expect("unlock"));
    let v = Vault::unlock(dir, pass).expect("unlock");
    let load = time(|| v.catalog().expect("catalog"));
    let c = v.catalog().expect("catalog");
    let n = c.len();
    let list = time(|| {
        let mut out = String::new();
        coffer_core::catalog::write_listing(c.all(), &mut out);
        out
    });
    let probe = c
        .all()
        .get(n / 2)
        .map(|d| d.name[..d.name.len().min(8)].to_owned())
        .unwrap_or_default();
    let search = time(|| c.search(&probe).len());
    let search_none = time(|| c.search("no-such-document-name").len());
    let tag = time(|| c.search("tag:bench").len());
    println!("documents                     {n}");
    println!(
        "argon2id ({} MiB, t={})        {}",
        params.memory_kib / 1024,
        params.iterations,
        ms(argon)
    );
    println!(
        "unlock (Vault::unlock)        {}   beyond argon2id: {}",
        ms(unlock),
        ms(unlock.saturating_sub(argon))
    );
    println!("catalog load (decrypt all)    {}", ms(load));
    println!(
        "UNLOCK beyond argon2id, catalog included: {}   (target <= 300 ms)",
        ms((unlock + load).saturating_sub(argon))
    );
    println!(
        "LS all, after unlock          {}   (target < 50 ms)",
        ms(list)
    );
    println!(
        "SEARCH name {probe:?}, after unlock  {}   (target < 50 ms)",
        ms(search)
    );
    println!("SEARCH no match, after unlock {}", ms(search_none));
    println!("SEARCH tag:bench, after unlock {}", ms(tag));
}
