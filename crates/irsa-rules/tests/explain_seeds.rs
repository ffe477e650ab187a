//! `explain` (on bytes, as the CLI reads them) on hostile seeds (`fuzz/seeds/explain`: huge strings, thousands of
//! nested causes, UTF-16, invalid UTF-8, real logs) and random mutations of them:
//! no panic. Run longer with `PROPTEST_CASES=5000 cargo test --release -p irsa-rules
//! --test explain_seeds` (or the cargo-fuzz target, see `fuzz/Cargo.toml`).

use irsa_rules::explain::{explain_bytes, render_text};
use irsa_rules::Scope;
use proptest::prelude::*;
use std::path::PathBuf;

fn seeds() -> &'static [Vec<u8>] {
    static SEEDS: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    SEEDS.get_or_init(read_seeds)
}

fn read_seeds() -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds/explain");
    let mut out: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .map(|p| {
            let b = std::fs::read(&p).unwrap();
            (p, b)
        })
        .collect();
    out.sort();
    assert!(out.len() >= 5, "the seed corpus is in fuzz/seeds/explain");
    out.into_iter().map(|(_, b)| b).collect()
}

fn run(bytes: &[u8]) {
    let e = explain_bytes(bytes, None, &Scope::default());
    let _ = render_text(&e);
}

#[test]
fn every_seed_is_explained_without_panic() {
    for s in seeds() {
        run(s);
    }
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(32)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]
    #[test]
    fn mutated_seeds_never_panic(
        pick in any::<prop::sample::Index>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..12),
    ) {
        let all = seeds();
        let mut bytes = all[pick.index(all.len())].clone();
        for (at, byte, op) in edits {
            if bytes.is_empty() {
                bytes.push(byte);
                continue;
            }
            let i = at.index(bytes.len());
            match op {
                0 => bytes[i] = byte,
                1 => bytes.insert(i, byte),
                _ => { bytes.remove(i); }
            }
        }
        run(&bytes);
    }
}
