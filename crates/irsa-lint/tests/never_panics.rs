//! Hostile or mangled input never panics the parser, the readers or the rules: it is
//! rejected with a position, or read for what it is.

use irsa_lint::{lint, LintOptions, Source};
use proptest::prelude::*;
use std::path::Path;

fn fixture_texts() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/lint");
    let mut out = Vec::new();
    for e in walkdir::WalkDir::new(&root).sort_by_file_name() {
        let e = e.unwrap();
        let p = e.path();
        if p.is_file()
            && matches!(
                p.extension().and_then(|x| x.to_str()),
                Some("yaml" | "json")
            )
        {
            out.push((p.display().to_string(), std::fs::read_to_string(p).unwrap()));
        }
    }
    out
}

fn run(text: &str) {
    let r = lint(
        &[Source {
            path: "input.yaml".into(),
            text: text.into(),
        }],
        vec![],
        &LintOptions::default(),
    );
    // Every finding has a place (the file at worst).
    assert!(r.locations.iter().all(Option::is_some));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text(s in "\\PC{0,400}") {
        run(&s);
    }

    #[test]
    fn yaml_like_text(s in "([ -~]{0,20}(\n|: |- |\\[|\\]|\\{|\\}|!Ref |!GetAtt |&a |\\*a |<<: |\"|'|#)){0,40}") {
        run(&s);
    }

    #[test]
    fn mangled_fixtures(pick in 0usize..64, cut in 0usize..20_000, insert in "[\\[\\]{}:\"'\n\\\\ ,*&!-]{0,3}") {
        let texts = fixture_texts();
        let (_, text) = &texts[pick % texts.len()];
        let mut at = cut.min(text.len());
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        let mangled = format!("{}{}{}", &text[..at], insert, &text[at..]);
        run(&mangled);
        run(&text[..at]);
    }
}
