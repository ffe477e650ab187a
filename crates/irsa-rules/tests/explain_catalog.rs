//! The explain catalog: every data file parses, every row cites a source, every
//! example wording is recognised as its own family.

use irsa_rules::explain::catalog::{catalog, validate, Tier};
use irsa_rules::explain::explain;
use irsa_rules::Scope;

#[test]
fn catalog_parses() {
    let n = validate().expect("the explain catalog parses");
    assert!(n >= 40, "{n} families");
}

#[test]
fn every_row_cites_a_source_url() {
    for f in &catalog().families {
        for r in &f.rows {
            assert!(
                r.source.contains("https://"),
                "{}: a row's source is not a URL: {}",
                f.id,
                r.source
            );
        }
        assert!(!f.title.is_empty());
    }
}

#[test]
fn every_example_is_recognised_as_its_family() {
    let mut n = 0;
    for f in &catalog().families {
        for r in &f.rows {
            let Some(example) = &r.example else { continue };
            n += 1;
            let e = explain(example, None, &Scope::default());
            assert!(e.recognised, "{}: example not recognised: {example}", f.id);
            let got = e.family.as_ref().map(|x| x.id.as_str());
            assert_eq!(
                got,
                Some(f.id),
                "{}: example matched {got:?}: {example}",
                f.id
            );
        }
    }
    assert!(n >= 30, "{n} examples");
}

#[test]
fn keyword_families_never_claim_certainty() {
    for f in catalog()
        .families
        .iter()
        .filter(|f| f.tier == Tier::Keyword)
    {
        for r in &f.rows {
            assert!(
                r.confidence <= 0.5,
                "{}: a paraphrase row claims {}",
                f.id,
                r.confidence
            );
        }
    }
}
