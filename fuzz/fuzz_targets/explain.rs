//! `explain` on arbitrary error text, rendered: no panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let e = irsa_rules::explain::explain(&text, None, &irsa_rules::Scope::default());
    let _ = irsa_rules::explain::render_text(&e);
});
