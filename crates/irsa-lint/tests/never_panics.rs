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

/// 256 cases per property; PROPTEST_CASES=20000 for a long hunt.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(256)
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
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

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

/// Every value of every fixture document, as (document index, JSON pointer).
fn pointers(v: &serde_json::Value, at: String, out: &mut Vec<String>) {
    out.push(at.clone());
    match v {
        serde_json::Value::Object(o) => {
            for (k, x) in o {
                pointers(
                    x,
                    format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                    out,
                )
            }
        }
        serde_json::Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                pointers(x, format!("{at}/{i}"), out)
            }
        }
        _ => {}
    }
}

/// Values that mean something to a reader: intrinsics, ARNs, wildcards, Terraform's
/// unknown markers, wrong types.
fn hostile_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::json;
    let leaf = prop_oneof![
        Just(json!(null)),
        any::<bool>().prop_map(|b| json!(b)),
        any::<i64>().prop_map(|i| json!(i)),
        Just(json!(1e308)),
        Just(json!("*")),
        Just(json!("")),
        Just(json!("arn:aws:iam::111122223333:role/x")),
        Just(json!(
            "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/X"
        )),
        Just(json!("system:serviceaccount:*:*")),
        Just(json!("${AWS::AccountId}${Nope.Attr}${!x}${")),
        Just(json!("{\"Statement\": 5}")),
        Just(json!("serviceAccount:\n  name: [x\n")),
        "\\PC{0,20}".prop_map(|s| json!(s)),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            inner.clone().prop_map(|v| json!({"Ref": v})),
            inner.clone().prop_map(|v| json!({"Fn::GetAtt": v})),
            inner.clone().prop_map(|v| json!({"Fn::Sub": v})),
            inner.clone().prop_map(|v| json!({"Fn::Join": ["", [v]]})),
            inner
                .clone()
                .prop_map(|v| json!({"Fn::Select": [v, [1, 2]]})),
            inner.clone().prop_map(|v| json!({"Fn::Split": [v, v]})),
            inner
                .clone()
                .prop_map(|v| json!({"Fn::FindInMap": [v, "a", "b"]})),
            inner.clone().prop_map(|v| json!({"Fn::ToJsonString": v})),
            inner
                .clone()
                .prop_map(|v| json!({"StringLike": {"x:sub": v}})),
            prop::collection::btree_map("[a-zA-Z:/._-]{0,12}", inner, 0..4)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    /// Type confusion: any value of any fixture document replaced by a hostile one
    /// (wrong type, nested intrinsics, unknown markers), read by every reader and
    /// evaluated by the rules.
    #[test]
    fn any_value_of_a_fixture_replaced(pick in 0usize..64, at in any::<prop::sample::Index>(), value in hostile_value()) {
        let texts = fixture_texts();
        let (path, text) = &texts[pick % texts.len()];
        let docs = irsa_lint::node::parse(text).expect("fixtures parse");
        let mut doc = docs.into_iter().find(|d| !d.is_null()).expect("a document").to_json();
        let mut all = Vec::new();
        pointers(&doc, String::new(), &mut all);
        let pointer = at.get(&all).clone();
        match doc.pointer_mut(&pointer) {
            Some(slot) => *slot = value,
            None => doc = value,
        }
        let mangled = serde_json::to_string_pretty(&doc).unwrap();
        let r = lint(
            &[Source { path: path.clone(), text: mangled }],
            vec![],
            &LintOptions {
                flags: irsa_model::ContextFlags {
                    account: Some("111122223333".into()),
                    region: Some("us-west-2".into()),
                    ..Default::default()
                },
                ..LintOptions::default()
            },
        );
        prop_assert!(r.locations.iter().all(Option::is_some));
        // Rendering each output never panics either.
        let _ = irsa_lint::sarif::log(&r, "0");
        for f in &r.report.findings {
            let _ = f.message.render();
        }
    }
}
