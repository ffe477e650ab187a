//! STS answers predicted in AWS's exact words, in the order of facts §3.5.

use irsa_policy::sts::StsStep;
use irsa_policy::{
    predict, Decision, Known, ProviderFacts, StsPrediction, StsQuestion, TokenClaims,
};

const ISS: &str = "https://oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E";
const ROLE: &str = "arn:aws:iam::111122223333:role/EKS-IRSA";

fn token() -> TokenClaims {
    TokenClaims {
        iss: ISS.into(),
        sub: Some("system:serviceaccount:default:irsa".into()),
        aud: vec!["sts.amazonaws.com".into()],
    }
}

fn provider(aud: &[&str]) -> Vec<ProviderFacts> {
    vec![ProviderFacts {
        url: ISS.trim_start_matches("https://").into(),
        client_ids: Some(aud.iter().map(|s| s.to_string()).collect()),
    }]
}

fn error_text(p: StsPrediction) -> String {
    match p {
        StsPrediction::Error(e) => e.text(),
        other => panic!("expected an error, got {other:?}"),
    }
}

#[test]
fn seed_003_invalid_arn() {
    let t = token();
    let providers = provider(&["sts.amazonaws.com"]);
    let allow = Decision::Allow { statement: 0 };
    let q = StsQuestion {
        role_arn: "arn:aws:iam::::1234567890:role/example",
        token: &t,
        providers: Known::Known(&providers),
        trust: Known::Known(Some(&allow)),
    };
    assert_eq!(
        error_text(predict(&q)),
        "ValidationError: Request ARN is invalid"
    );
    let short = StsQuestion {
        role_arn: "arn:aws:iam::1:r",
        ..q.clone()
    };
    assert!(
        error_text(predict(&short)).contains("Member must have length greater than or equal to 20")
    );
}

#[test]
fn seed_002_no_provider_names_the_issuer() {
    let t = token();
    let allow = Decision::Allow { statement: 0 };
    let q = StsQuestion {
        role_arn: ROLE,
        token: &t,
        providers: Known::Known(&[]),
        trust: Known::Known(Some(&allow)),
    };
    assert_eq!(
        error_text(predict(&q)),
        "InvalidIdentityToken: No OpenIDConnect provider found in your account for https://oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E"
    );
    // The provider URL is case-sensitive.
    let lower = vec![ProviderFacts {
        url: ISS.trim_start_matches("https://").to_lowercase(),
        client_ids: Some(vec![]),
    }];
    let q2 = StsQuestion {
        providers: Known::Known(&lower),
        ..q
    };
    assert!(error_text(predict(&q2)).starts_with("InvalidIdentityToken: No OpenIDConnect provider"));
}

#[test]
fn audience_then_trust() {
    let t = token();
    let deny = Decision::ImplicitDeny;
    let wrong_aud = provider(&["sts.amazon.com"]);
    let q = StsQuestion {
        role_arn: ROLE,
        token: &t,
        providers: Known::Known(&wrong_aud),
        trust: Known::Known(Some(&deny)),
    };
    assert_eq!(
        error_text(predict(&q)),
        "InvalidIdentityToken: Incorrect token audience"
    );
    let ok_aud = provider(&["sts.amazonaws.com"]);
    let q = StsQuestion {
        providers: Known::Known(&ok_aud),
        ..q
    };
    assert_eq!(
        error_text(predict(&q)),
        "AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity"
    );
    let explicit = Decision::ExplicitDeny { statement: 1 };
    let q = StsQuestion {
        trust: Known::Known(Some(&explicit)),
        ..q
    };
    assert_eq!(
        error_text(predict(&q)),
        "AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity"
    );
    let missing_role = StsQuestion {
        trust: Known::Known(None),
        ..q.clone()
    };
    assert_eq!(
        error_text(predict(&missing_role)),
        "AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity"
    );
    let allow = Decision::Allow { statement: 0 };
    let q = StsQuestion {
        trust: Known::Known(Some(&allow)),
        ..q
    };
    assert_eq!(predict(&q), StsPrediction::Success { role: ROLE.into() });
}

#[test]
fn missing_claims() {
    let mut t = token();
    t.aud.clear();
    let p = provider(&["sts.amazonaws.com"]);
    let q = StsQuestion {
        role_arn: ROLE,
        token: &t,
        providers: Known::Known(&p),
        trust: Known::Unknown("x".into()),
    };
    assert_eq!(
        error_text(predict(&q)),
        "InvalidIdentityToken: Missing a required claim: aud"
    );
}

#[test]
fn gaps_are_undetermined_never_success() {
    let t = token();
    let allow = Decision::Allow { statement: 0 };
    let q = StsQuestion {
        role_arn: ROLE,
        token: &t,
        providers: Known::Unknown("providers of 111122223333 not listed".into()),
        trust: Known::Known(Some(&allow)),
    };
    assert!(matches!(
        predict(&q),
        StsPrediction::Undetermined {
            step: StsStep::Provider,
            ..
        }
    ));
    let unread = vec![ProviderFacts {
        url: ISS.trim_start_matches("https://").into(),
        client_ids: None,
    }];
    let q = StsQuestion {
        providers: Known::Known(&unread),
        ..q
    };
    assert!(matches!(
        predict(&q),
        StsPrediction::Undetermined {
            step: StsStep::Audience,
            ..
        }
    ));
    let p = provider(&["sts.amazonaws.com"]);
    let q = StsQuestion {
        providers: Known::Known(&p),
        trust: Known::Unknown("iam:GetRole denied".into()),
        ..q
    };
    assert!(matches!(
        predict(&q),
        StsPrediction::Undetermined {
            step: StsStep::TrustPolicy,
            ..
        }
    ));
    let und = Decision::Undetermined {
        statements: vec![0],
    };
    let q = StsQuestion {
        trust: Known::Known(Some(&und)),
        ..q
    };
    assert!(matches!(
        predict(&q),
        StsPrediction::Undetermined {
            step: StsStep::TrustPolicy,
            ..
        }
    ));
}

/// A Deny whose applicability is unknown and no Allow that can apply: denied for
/// sure, explicitly or implicitly. STS answers the same `AccessDenied` either way
/// (IAM user guide, "Policy evaluation logic"; facts §3.5 step 7), so the error is
/// predicted, while an allow that an undetermined Deny may override is not.
#[test]
fn a_deny_of_unknown_kind_predicts_access_denied_and_an_undetermined_allow_does_not() {
    use irsa_policy::{evaluate, PolicyDocument, WebIdentityRequest};
    let host = ISS.trim_start_matches("https://");
    let provider_arn = format!("arn:aws:iam::111122223333:oidc-provider/{host}");
    let request = WebIdentityRequest::new(
        provider_arn.clone(),
        host,
        "system:serviceaccount:default:irsa",
        vec!["sts.amazonaws.com".into()],
        None,
    )
    .unwrap();
    let deny_on_ip = format!(
        r#"{{"Effect": "Deny", "Principal": {{"Federated": "{provider_arn}"}}, "Action": "sts:AssumeRoleWithWebIdentity", "Condition": {{"NotIpAddress": {{"aws:SourceIp": "10.0.0.0/8"}}}}}}"#
    );
    let allow = format!(
        r#"{{"Effect": "Allow", "Principal": {{"Federated": "{provider_arn}"}}, "Action": "sts:AssumeRoleWithWebIdentity"}}"#
    );
    let t = token();
    let p = provider(&["sts.amazonaws.com"]);
    let ask = |statements: &[&str]| {
        let doc = PolicyDocument::parse(&format!(
            r#"{{"Version": "2012-10-17", "Statement": [{}]}}"#,
            statements.join(",")
        ))
        .unwrap();
        let decision = evaluate(&doc, &request).decision;
        let prediction = predict(&StsQuestion {
            role_arn: ROLE,
            token: &t,
            providers: Known::Known(&p),
            trust: Known::Known(Some(&decision)),
        });
        (decision, prediction)
    };
    let (decision, prediction) = ask(&[&deny_on_ip]);
    assert_eq!(
        decision,
        Decision::DenyKindUnknown {
            statements: vec![0]
        }
    );
    assert!(decision.is_deny());
    assert_eq!(
        error_text(prediction),
        "AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity"
    );
    // Twin: with an applying Allow, the same Deny makes the answer undetermined.
    let (decision, prediction) = ask(&[&allow, &deny_on_ip]);
    assert!(matches!(decision, Decision::Undetermined { .. }));
    assert!(matches!(
        prediction,
        StsPrediction::Undetermined {
            step: StsStep::TrustPolicy,
            ..
        }
    ));
}
