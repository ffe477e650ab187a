//! The loader on hostile seeds (the fuzzers' seed corpus in `fuzz/seeds/loader`: an
//! alias bomb, deep nesting, huge strings, real outputs) and on random mutations of
//! them: no panic, and every result within the memory bounds. CI runs a few cases per
//! seed; run longer with `PROPTEST_CASES=5000 cargo test --release -p irsa-model --test
//! loader_seeds` (or the cargo-fuzz target, see `fuzz/Cargo.toml`).

use irsa_model::{ContextFlags, Loader};
use proptest::prelude::*;
use std::path::PathBuf;

fn seeds() -> &'static [(String, Vec<u8>)] {
    static SEEDS: std::sync::OnceLock<Vec<(String, Vec<u8>)>> = std::sync::OnceLock::new();
    SEEDS.get_or_init(read_seeds)
}

fn read_seeds() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds/loader");
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect();
    out.sort();
    assert!(out.len() >= 8, "the seed corpus is in fuzz/seeds/loader");
    out
}

fn load(bytes: &[u8]) -> irsa_model::Snapshot {
    let mut l = Loader::new(ContextFlags::default());
    l.add_text("seed", &String::from_utf8_lossy(bytes));
    l.finish()
}

#[test]
fn every_seed_loads_or_is_rejected_with_a_reason() {
    for (name, bytes) in seeds() {
        let snap = load(bytes);
        for r in &snap.inputs.rejected {
            assert!(!r.error.is_empty(), "{name}: a rejection without a reason");
        }
        if name.contains("alias-bomb") {
            assert!(
                !snap.inputs.rejected.is_empty(),
                "{name}: an alias bomb is refused, not expanded"
            );
        }
    }
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(12)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]
    #[test]
    fn mutated_seeds_never_panic(
        pick in any::<prop::sample::Index>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..12),
    ) {
        let all = seeds();
        let (_, seed) = &all[pick.index(all.len())];
        let mut bytes = seed.clone();
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
        let _ = load(&bytes);
    }
}
