//! Property tests: the parsers never panic, whatever the input. CI runs the
//! default 256 cases per property; run longer with
//! `PROPTEST_CASES=100000 cargo test -p irsa-policy --test parsers_never_panic --release`.

use irsa_policy::{
    diagnose, diagnose_role_arn, Issuer, OidcProviderArn, PolicyDocument, WebIdentityRequest,
};
use proptest::prelude::*;

fn request() -> WebIdentityRequest {
    WebIdentityRequest {
        provider_arn:
            "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/AB".into(),
        issuer_host_path: "oidc.eks.us-east-1.amazonaws.com/id/AB".into(),
        sub: "system:serviceaccount:a:b".into(),
        aud: vec!["sts.amazonaws.com".into()],
        region: None,
    }
}

/// JSON-ish text made of policy vocabulary, so the fuzzer reaches deep paths.
fn policy_like() -> impl Strategy<Value = String> {
    let tokens = prop::sample::select(vec![
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        "\"Version\"",
        "\"2012-10-17\"",
        "\"Statement\"",
        "\"Effect\"",
        "\"Allow\"",
        "\"Deny\"",
        "\"Principal\"",
        "\"*\"",
        "\"Federated\"",
        "\"Action\"",
        "\"NotAction\"",
        "\"sts:*\"",
        "\"Condition\"",
        "\"StringLike\"",
        "\"ForAllValues:StringEquals\"",
        "\"Null\"",
        "\"oidc.eks.us-east-1.amazonaws.com/id/AB:sub\"",
        "\"${aws:x}\"",
        "\"${\"",
        "true",
        "1",
        "null",
        "\"%7B\"",
        "\"NotPrincipal\"",
        "\"Resource\"",
        "\"StringEqualsIfExists\"",
        "\"?*\"",
    ]);
    prop::collection::vec(tokens, 0..60).prop_map(|v| v.concat())
}

proptest! {
    #[test]
    fn policy_parser_and_evaluator_never_panic(s in policy_like()) {
        if let Ok(doc) = PolicyDocument::parse(&s) {
            let _ = diagnose(&doc, &request());
        }
    }

    #[test]
    fn policy_parser_survives_arbitrary_text(s in ".*") {
        let _ = PolicyDocument::parse(&s);
    }

    #[test]
    fn arn_and_issuer_parsers_never_panic(s in ".*") {
        let _ = diagnose_role_arn(&s);
        let _ = OidcProviderArn::parse(&s);
        let _ = Issuer::parse(&s);
        let _ = irsa_policy::issuer::issuer_differences(&s, "oidc.eks.us-east-1.amazonaws.com/id/AB");
    }

    #[test]
    fn arn_like_strings_never_panic(s in "(arn|:|aws|iam|role|/|[0-9]{1,13}| |oidc-provider|sts|x)*") {
        if let Err(e) = diagnose_role_arn(&s) {
            prop_assert!(!e.problems.is_empty());
            if let Some(sugg) = e.suggestion {
                prop_assert!(diagnose_role_arn(&sugg).is_ok(), "suggestion {} is invalid", sugg);
            }
        }
    }

    #[test]
    fn wildcard_matcher_terminates(p in "[a*?]{0,30}", t in "[ab]{0,30}") {
        let _ = irsa_policy::glob::wildcard_match(&p, &t, false);
    }
}
