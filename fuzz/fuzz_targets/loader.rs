//! The snapshot loader on arbitrary bytes, as a file (JSON, YAML, envelopes), then the
//! rules on whatever it loaded: no panic, and the memory bounds hold (run with
//! `-rss_limit_mb=2048`, libFuzzer's default).
#![no_main]

use irsa_model::{ContextFlags, Loader};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut l = Loader::new(ContextFlags::default());
    l.add_text("fuzz.json", &text);
    let snap = l.finish();
    let _ = irsa_rules::check(&snap, &irsa_rules::Scope::default(), &irsa_rules::Options::default());
});
