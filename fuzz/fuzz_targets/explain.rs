//! `explain` on arbitrary bytes (as a pasted log or a piped file: UTF-8, UTF-16,
//! invalid bytes), rendered as text and JSON: no panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let e = irsa_rules::explain::explain_bytes(data, None, &irsa_rules::Scope::default());
    let _ = irsa_rules::explain::render_text(&e);
    let _ = serde_json::to_string(&e);
});
