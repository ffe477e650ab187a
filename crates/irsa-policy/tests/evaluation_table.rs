//! (policy, request) → (decision, reason) table, from the IAM documentation and the
//! seed articles. Every row states the expected decision and, where the engine must
//! name a near miss, the near miss's kind.

use irsa_policy::{diagnose, Decision, PolicyDocument, WebIdentityRequest};

const ISS: &str = "oidc.eks.us-east-1.amazonaws.com/id/5C5E2D1A0C1E4B2C8F6B0E7D9A3B1C2D";
const PROV: &str = "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/5C5E2D1A0C1E4B2C8F6B0E7D9A3B1C2D";
const ISS2: &str = "oidc.eks.us-east-1.amazonaws.com/id/77A1B2C3D4E5F60718293A4B5C6D7E8F";
const PROV2: &str = "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/77A1B2C3D4E5F60718293A4B5C6D7E8F";
const SA: &str = "system:serviceaccount:kube-system:aws-load-balancer-controller";

#[derive(Debug, Clone, Copy, PartialEq)]
enum Want {
    Allow,
    Implicit,
    Explicit,
    /// Denied, explicitly or implicitly: which is not known offline.
    DenyKind,
    Undet,
}

struct Case {
    name: String,
    policy: String,
    request: WebIdentityRequest,
    want: Want,
    /// A near-miss kind that must be reported (reasons or warnings).
    miss: Option<&'static str>,
}

fn request() -> WebIdentityRequest {
    WebIdentityRequest {
        provider_arn: PROV.into(),
        issuer_host_path: ISS.into(),
        sub: SA.into(),
        aud: vec!["sts.amazonaws.com".into()],
        region: Some("us-east-1".into()),
    }
}

fn request2() -> WebIdentityRequest {
    WebIdentityRequest {
        provider_arn: PROV2.into(),
        issuer_host_path: ISS2.into(),
        ..request()
    }
}

fn with_sub(sub: &str) -> WebIdentityRequest {
    WebIdentityRequest {
        sub: sub.into(),
        ..request()
    }
}

fn with_aud(aud: &[&str]) -> WebIdentityRequest {
    WebIdentityRequest {
        aud: aud.iter().map(|s| s.to_string()).collect(),
        ..request()
    }
}

/// An Allow statement for PROV with the given Condition object body.
fn allow(condition: &str) -> String {
    stmt(
        "Allow",
        &format!(r#"{{"Federated": "{PROV}"}}"#),
        r#""sts:AssumeRoleWithWebIdentity""#,
        condition,
    )
}

fn stmt(effect: &str, principal: &str, action: &str, condition: &str) -> String {
    let cond = if condition.is_empty() {
        String::new()
    } else {
        format!(r#", "Condition": {{{condition}}}"#)
    };
    format!(r#"{{"Effect": "{effect}", "Principal": {principal}, "Action": {action}{cond}}}"#)
}

fn policy(statements: &[String]) -> String {
    format!(
        r#"{{"Version": "2012-10-17", "Statement": [{}]}}"#,
        statements.join(",")
    )
}

fn standard() -> String {
    format!(r#""StringEquals": {{"{ISS}:sub": "{SA}", "{ISS}:aud": "sts.amazonaws.com"}}"#)
}

fn case(
    name: &str,
    policy: String,
    request: WebIdentityRequest,
    want: Want,
    miss: Option<&'static str>,
) -> Case {
    Case {
        name: name.into(),
        policy,
        request,
        want,
        miss,
    }
}

/// One condition entry `"op": {"key": value}` in a standard Allow statement.
fn cond(op: &str, key: &str, value: &str) -> String {
    policy(&[allow(&format!(r#""{op}": {{"{key}": {value}}}"#))])
}

fn seed_cases() -> Vec<Case> {
    use Want::*;
    let seed000_wrong = r#"{"Version": "2012-10-17", "Statement": [{
        "Sid": "", "Effect": "Allow", "Principal": {"Service": "xxxxx.amazonaws.com"}, "Action": "sts:AssumeRole"}]}"#;
    // Seed 000, multi-cluster example: note the space after `serviceaccount:`.
    let seed000_multi = |space: &str| {
        format!(
            r#"{{"Version": "2012-10-17", "Statement": [
            {{"Effect": "Allow", "Principal": {{"Federated": "{PROV}"}}, "Action": "sts:AssumeRoleWithWebIdentity",
              "Condition": {{"StringEquals": {{"{ISS}:sub": "system:serviceaccount:{space}kube-system:aws-load-balancer-controller", "{ISS}:aud": "sts.amazonaws.com"}}}}}},
            {{"Effect": "Allow", "Principal": {{"Federated": "{PROV2}"}}, "Action": "sts:AssumeRoleWithWebIdentity",
              "Condition": {{"StringEquals": {{"{ISS2}:sub": "system:serviceaccount:{space}kube-system:aws-load-balancer-controller", "{ISS2}:aud": "sts.amazonaws.com"}}}}}}]}}"#
        )
    };
    let seed001 = format!(
        r#"{{"Version": "2012-10-17", "Statement": [{{"Effect": "Allow", "Principal": {{"Federated": "{PROV}"}},
        "Action": "sts:AssumeRoleWithWebIdentity", "Condition": {{"StringEquals": {{"{ISS}:sub": "{SA}"}}}}}}]}}"#
    );
    let seed002 = format!(
        r#"{{"Version": "2012-10-17", "Statement": [{{"Effect": "Allow", "Principal": {{"Federated": "{PROV}"}},
        "Action": "sts:AssumeRoleWithWebIdentity", "Condition": {{"StringEquals": {{"{ISS}:aud": "sts.amazonaws.com", "{ISS}:sub": "{SA}"}}}}}}]}}"#
    );
    vec![
        case(
            "seed000 correct policy",
            policy(&[allow(&standard())]),
            request(),
            Allow,
            None,
        ),
        case(
            "seed000 service principal + AssumeRole",
            seed000_wrong.into(),
            request(),
            Implicit,
            Some("service-principal"),
        ),
        case(
            "seed000 AssumeRole named",
            seed000_wrong.into(),
            request(),
            Implicit,
            Some("action-is-assume-role"),
        ),
        case(
            "seed000 multi-cluster stray space, cluster 1",
            seed000_multi(" "),
            request(),
            Implicit,
            Some("sub-mismatch"),
        ),
        case(
            "seed000 multi-cluster stray space, cluster 2",
            seed000_multi(" "),
            request2(),
            Implicit,
            Some("sub-mismatch"),
        ),
        case(
            "seed000 multi-cluster fixed, cluster 1",
            seed000_multi(""),
            request(),
            Allow,
            None,
        ),
        case(
            "seed000 multi-cluster fixed, cluster 2",
            seed000_multi(""),
            request2(),
            Allow,
            None,
        ),
        case(
            "seed000 multi-cluster, a third cluster",
            seed000_multi(""),
            WebIdentityRequest {
                provider_arn: PROV.replace("5C5E2D1A", "99999999"),
                issuer_host_path: ISS.replace("5C5E2D1A", "99999999"),
                ..request()
            },
            Implicit,
            Some("federated-other-provider"),
        ),
        case(
            "seed001 sub only",
            seed001.clone(),
            request(),
            Allow,
            Some("no-aud-condition"),
        ),
        case(
            "seed001 sub only, other SA",
            seed001,
            with_sub("system:serviceaccount:default:app"),
            Implicit,
            Some("sub-mismatch"),
        ),
        case(
            "seed002 aud then sub",
            seed002.clone(),
            request(),
            Allow,
            None,
        ),
        case(
            "seed002 wrong audience in token",
            seed002,
            with_aud(&["sts.amazonaws.com.cn"]),
            Implicit,
            Some("aud-mismatch"),
        ),
    ]
}

fn principal_cases() -> Vec<Case> {
    use Want::*;
    let std = standard();
    let with_principal =
        |p: &str| policy(&[stmt("Allow", p, r#""sts:AssumeRoleWithWebIdentity""#, &std)]);
    let fed = |arn: &str| with_principal(&format!(r#"{{"Federated": "{arn}"}}"#));
    vec![
        case(
            "other account",
            fed(&PROV.replace("111122223333", "444455556666")),
            request(),
            Implicit,
            Some("federated-other-provider"),
        ),
        case(
            "other region",
            fed(&PROV.replace("us-east-1", "us-west-2")),
            request(),
            Implicit,
            Some("federated-other-provider"),
        ),
        case(
            "other cluster id",
            fed(PROV2),
            request(),
            Implicit,
            Some("federated-other-provider"),
        ),
        case(
            "other partition",
            fed(&PROV.replace("arn:aws:", "arn:aws-cn:")),
            request(),
            Implicit,
            Some("federated-other-provider"),
        ),
        case(
            "id in lower case",
            fed(&PROV.replace(
                "5C5E2D1A0C1E4B2C8F6B0E7D9A3B1C2D",
                "5c5e2d1a0c1e4b2c8f6b0e7d9a3b1c2d",
            )),
            request(),
            Implicit,
            Some("federated-other-provider"),
        ),
        case(
            "trailing slash",
            fed(&format!("{PROV}/")),
            request(),
            Implicit,
            Some("federated-other-provider"),
        ),
        case(
            "not an ARN",
            fed("oidc.eks.us-east-1.amazonaws.com"),
            request(),
            Implicit,
            Some("federated-malformed"),
        ),
        case(
            "federated array containing ours",
            with_principal(&format!(r#"{{"Federated": ["{PROV2}", "{PROV}"]}}"#)),
            request(),
            Allow,
            None,
        ),
        case(
            "federated array without ours",
            with_principal(&format!(r#"{{"Federated": ["{PROV2}"]}}"#)),
            request(),
            Implicit,
            Some("federated-other-provider"),
        ),
        case(
            "principal star",
            with_principal(r#""*""#),
            request(),
            Allow,
            Some("principal-wildcard"),
        ),
        // Principal, "All principals": `"Principal": "*"` and `{"AWS": "*"}` "are
        // equivalent".
        case(
            "AWS star is the same as star",
            with_principal(r#"{"AWS": "*"}"#),
            request(),
            Allow,
            Some("principal-wildcard"),
        ),
        case(
            "AWS account principal",
            with_principal(r#"{"AWS": "arn:aws:iam::111122223333:root"}"#),
            request(),
            Implicit,
            Some("aws-principal"),
        ),
        case(
            "pod identity service principal",
            with_principal(r#"{"Service": "pods.eks.amazonaws.com"}"#),
            request(),
            Implicit,
            Some("service-principal"),
        ),
        case(
            "federated + service map",
            with_principal(&format!(
                r#"{{"Federated": "{PROV}", "Service": "ec2.amazonaws.com"}}"#
            )),
            request(),
            Allow,
            None,
        ),
        // NotPrincipal: "You cannot use the NotPrincipal element in an IAM
        // identity-based policy or in an IAM role trust policy": never an allow.
        case(
            "NotPrincipal excluding another provider",
            policy(&[format!(
                r#"{{"Effect": "Allow", "NotPrincipal": {{"Federated": "{PROV2}"}}, "Action": "sts:AssumeRoleWithWebIdentity", "Condition": {{{std}}}}}"#
            )]),
            request(),
            Undet,
            Some("not-principal-in-trust-policy"),
        ),
        case(
            "NotPrincipal excluding ours",
            policy(&[format!(
                r#"{{"Effect": "Allow", "NotPrincipal": {{"Federated": "{PROV}"}}, "Action": "sts:AssumeRoleWithWebIdentity", "Condition": {{{std}}}}}"#
            )]),
            request(),
            Implicit,
            None,
        ),
        case(
            "no principal at all",
            policy(&[format!(
                r#"{{"Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity", "Condition": {{{std}}}}}"#
            )]),
            request(),
            Implicit,
            Some("no-principal"),
        ),
    ]
}

fn action_cases() -> Vec<Case> {
    use Want::*;
    let std = standard();
    let with_action = |a: &str| {
        policy(&[stmt(
            "Allow",
            &format!(r#"{{"Federated": "{PROV}"}}"#),
            a,
            &std,
        )])
    };
    let not_action = |a: &str| {
        policy(&[format!(
            r#"{{"Effect": "Allow", "Principal": {{"Federated": "{PROV}"}}, "NotAction": {a}, "Condition": {{{std}}}}}"#
        )])
    };
    vec![
        case(
            "AssumeRole",
            with_action(r#""sts:AssumeRole""#),
            request(),
            Implicit,
            Some("action-is-assume-role"),
        ),
        case(
            "AssumeRoleWithSAML",
            with_action(r#""sts:AssumeRoleWithSAML""#),
            request(),
            Implicit,
            Some("action-is-assume-role"),
        ),
        case(
            "AssumeRole + TagSession",
            with_action(r#"["sts:AssumeRole", "sts:TagSession"]"#),
            request(),
            Implicit,
            Some("action-is-assume-role"),
        ),
        case(
            "TagSession only",
            with_action(r#""sts:TagSession""#),
            request(),
            Implicit,
            Some("action-missing"),
        ),
        case(
            "iam action",
            with_action(r#""iam:PassRole""#),
            request(),
            Implicit,
            Some("action-missing"),
        ),
        case(
            "array with web identity",
            with_action(r#"["sts:AssumeRole", "sts:AssumeRoleWithWebIdentity"]"#),
            request(),
            Allow,
            None,
        ),
        case("sts:*", with_action(r#""sts:*""#), request(), Allow, None),
        case("*", with_action(r#""*""#), request(), Allow, None),
        case(
            "sts:AssumeRole*",
            with_action(r#""sts:AssumeRole*""#),
            request(),
            Allow,
            None,
        ),
        case(
            "sts:AssumeRoleWith?ebIdentity",
            with_action(r#""sts:AssumeRoleWith?ebIdentity""#),
            request(),
            Allow,
            None,
        ),
        case(
            "lower case action",
            with_action(r#""sts:assumerolewithwebidentity""#),
            request(),
            Allow,
            None,
        ),
        case(
            "upper case action",
            with_action(r#""STS:ASSUMEROLEWITHWEBIDENTITY""#),
            request(),
            Allow,
            None,
        ),
        case(
            "typo in action",
            with_action(r#""sts:AssumeRoleWithWebIdentify""#),
            request(),
            Implicit,
            Some("action-missing"),
        ),
        case(
            "NotAction AssumeRole",
            not_action(r#""sts:AssumeRole""#),
            request(),
            Allow,
            None,
        ),
        case(
            "NotAction sts:*",
            not_action(r#""sts:*""#),
            request(),
            Implicit,
            None,
        ),
        case(
            "NotAction web identity",
            not_action(r#""sts:AssumeRoleWithWebIdentity""#),
            request(),
            Implicit,
            None,
        ),
    ]
}

fn operator_cases() -> Vec<Case> {
    use Want::*;
    let sub = format!("{ISS}:sub");
    let aud = format!("{ISS}:aud");
    let foreign = format!("{ISS2}:sub");
    let q = |s: &str| format!("\"{s}\"");
    let mut v = vec![
        // String operators on the present sub.
        case(
            "StringEquals match",
            cond("StringEquals", &sub, &q(SA)),
            request(),
            Allow,
            None,
        ),
        case(
            "StringEquals mismatch",
            cond(
                "StringEquals",
                &sub,
                &q("system:serviceaccount:default:app"),
            ),
            request(),
            Implicit,
            Some("sub-mismatch"),
        ),
        case(
            "StringEquals array OR",
            cond(
                "StringEquals",
                &sub,
                &format!(r#"["system:serviceaccount:a:b", "{SA}"]"#),
            ),
            request(),
            Allow,
            None,
        ),
        case(
            "StringEquals array none",
            cond(
                "StringEquals",
                &sub,
                r#"["system:serviceaccount:a:b", "system:serviceaccount:c:d"]"#,
            ),
            request(),
            Implicit,
            Some("sub-mismatch"),
        ),
        case(
            "StringEquals is case-sensitive",
            cond("StringEquals", &sub, &q(&SA.to_uppercase())),
            request(),
            Implicit,
            Some("sub-mismatch"),
        ),
        case(
            "StringEquals literal star",
            cond(
                "StringEquals",
                &sub,
                &q("system:serviceaccount:kube-system:*"),
            ),
            request(),
            Implicit,
            Some("wildcard-under-string-equals"),
        ),
        case(
            "StringEquals literal star, value is literally star",
            cond(
                "StringEquals",
                &sub,
                &q("system:serviceaccount:kube-system:*"),
            ),
            with_sub("system:serviceaccount:kube-system:*"),
            Allow,
            None,
        ),
        case(
            "StringNotEquals other value",
            cond(
                "StringNotEquals",
                &sub,
                &q("system:serviceaccount:default:app"),
            ),
            request(),
            Allow,
            Some("no-sub-condition"),
        ),
        case(
            "StringNotEquals same value",
            cond("StringNotEquals", &sub, &q(SA)),
            request(),
            Implicit,
            Some("sub-excluded"),
        ),
        case(
            "StringNotEquals array, AND",
            cond(
                "StringNotEquals",
                &sub,
                &format!(r#"["system:serviceaccount:a:b", "{SA}"]"#),
            ),
            request(),
            Implicit,
            Some("sub-excluded"),
        ),
        case(
            "StringEqualsIgnoreCase upper",
            cond("StringEqualsIgnoreCase", &sub, &q(&SA.to_uppercase())),
            request(),
            Allow,
            None,
        ),
        case(
            "StringEqualsIgnoreCase other",
            cond(
                "StringEqualsIgnoreCase",
                &sub,
                &q("system:serviceaccount:x:y"),
            ),
            request(),
            Implicit,
            Some("sub-mismatch"),
        ),
        case(
            "StringNotEqualsIgnoreCase upper",
            cond("StringNotEqualsIgnoreCase", &sub, &q(&SA.to_uppercase())),
            request(),
            Implicit,
            None,
        ),
        case(
            "StringNotEqualsIgnoreCase other",
            cond(
                "StringNotEqualsIgnoreCase",
                &sub,
                &q("system:serviceaccount:x:y"),
            ),
            request(),
            Allow,
            None,
        ),
        case(
            "StringLike namespace wildcard",
            cond(
                "StringLike",
                &sub,
                &q("system:serviceaccount:kube-system:*"),
            ),
            request(),
            Allow,
            Some("sub-wildcard-namespace"),
        ),
        case(
            "StringLike other namespace",
            cond("StringLike", &sub, &q("system:serviceaccount:team-a:*")),
            request(),
            Implicit,
            Some("sub-mismatch"),
        ),
        case(
            "StringLike question mark",
            cond(
                "StringLike",
                &sub,
                &q("system:serviceaccount:kube-system:aws-load-balancer-controlle?"),
            ),
            request(),
            Allow,
            None,
        ),
        case(
            "StringLike question mark too short",
            cond(
                "StringLike",
                &sub,
                &q("system:serviceaccount:kube-system:aws-load-balancer-controlle??"),
            ),
            request(),
            Implicit,
            Some("sub-mismatch"),
        ),
        case(
            "StringLike star everything",
            cond("StringLike", &sub, &q("*")),
            request(),
            Allow,
            Some("sub-wildcard-all"),
        ),
        case(
            "StringLike any namespace",
            cond("StringLike", &sub, &q("system:serviceaccount:*")),
            request(),
            Allow,
            Some("sub-wildcard-all"),
        ),
        case(
            "StringLike exact value",
            cond("StringLike", &sub, &q(SA)),
            request(),
            Allow,
            None,
        ),
        case(
            "StringLike is case-sensitive",
            cond(
                "StringLike",
                &sub,
                &q("system:serviceaccount:KUBE-SYSTEM:*"),
            ),
            request(),
            Implicit,
            Some("sub-mismatch"),
        ),
        case(
            "StringNotLike other namespace",
            cond("StringNotLike", &sub, &q("system:serviceaccount:default:*")),
            request(),
            Allow,
            None,
        ),
        case(
            "StringNotLike own namespace",
            cond(
                "StringNotLike",
                &sub,
                &q("system:serviceaccount:kube-system:*"),
            ),
            request(),
            Implicit,
            Some("sub-excluded"),
        ),
        // Set qualifiers.
        case(
            "ForAnyValue:StringEquals match",
            cond("ForAnyValue:StringEquals", &aud, &q("sts.amazonaws.com")),
            request(),
            Allow,
            None,
        ),
        case(
            "ForAnyValue:StringEquals no match",
            cond("ForAnyValue:StringEquals", &aud, &q("other")),
            request(),
            Implicit,
            Some("aud-mismatch"),
        ),
        case(
            "ForAnyValue on missing key is false",
            cond("ForAnyValue:StringEquals", &foreign, &q(SA)),
            request(),
            Implicit,
            Some("key-foreign-issuer"),
        ),
        case(
            "ForAllValues:StringEquals match",
            cond("ForAllValues:StringEquals", &aud, &q("sts.amazonaws.com")),
            request(),
            Allow,
            Some("for-all-values-with-allow"),
        ),
        case(
            "ForAllValues:StringEquals partial",
            cond("ForAllValues:StringEquals", &aud, &q("sts.amazonaws.com")),
            with_aud(&["sts.amazonaws.com", "other"]),
            Implicit,
            None,
        ),
        case(
            "ForAllValues on missing key is true",
            cond("ForAllValues:StringEquals", &foreign, &q(SA)),
            request(),
            Allow,
            Some("for-all-values-with-allow"),
        ),
        case(
            "ForAnyValue:StringNotEquals",
            cond("ForAnyValue:StringNotEquals", &aud, &q("sts.amazonaws.com")),
            with_aud(&["sts.amazonaws.com", "x"]),
            Allow,
            None,
        ),
        case(
            "ForAllValues:StringNotEquals",
            cond(
                "ForAllValues:StringNotEquals",
                &aud,
                &q("sts.amazonaws.com"),
            ),
            with_aud(&["sts.amazonaws.com", "x"]),
            Implicit,
            None,
        ),
        case(
            "ForAnyValue:StringLike",
            cond(
                "ForAnyValue:StringLike",
                &sub,
                &q("system:serviceaccount:kube-system:*"),
            ),
            request(),
            Allow,
            None,
        ),
        // IfExists.
        case(
            "IfExists on missing key is true",
            cond("StringEqualsIfExists", &foreign, &q(SA)),
            request(),
            Allow,
            None,
        ),
        case(
            "IfExists on present key compares",
            cond(
                "StringEqualsIfExists",
                &sub,
                &q("system:serviceaccount:x:y"),
            ),
            request(),
            Implicit,
            Some("sub-mismatch"),
        ),
        case(
            "IfExists on present key matches",
            cond("StringEqualsIfExists", &sub, &q(SA)),
            request(),
            Allow,
            None,
        ),
        case(
            "StringLikeIfExists missing",
            cond(
                "StringLikeIfExists",
                "oidc.eks.us-east-1.amazonaws.com/id/5C5E2D1A0C1E4B2C8F6B0E7D9A3B1C2D:amr",
                &q("x"),
            ),
            request(),
            Allow,
            None,
        ),
        // Null.
        case(
            "Null true on missing key",
            cond("Null", &foreign, &q("true")),
            request(),
            Allow,
            None,
        ),
        case(
            "Null true on present key",
            cond("Null", &sub, &q("true")),
            request(),
            Implicit,
            None,
        ),
        case(
            "Null false on present key",
            cond("Null", &sub, &q("false")),
            request(),
            Allow,
            None,
        ),
        case(
            "Null false on missing key",
            cond("Null", &foreign, &q("false")),
            request(),
            Implicit,
            None,
        ),
        case(
            "Null boolean literal",
            cond("Null", &sub, "false"),
            request(),
            Allow,
            None,
        ),
        // aws:SourceIp is absent when the pod reaches STS through a VPC endpoint
        // (global condition keys, aws:SourceIp, Availability): presence unknown.
        case(
            "Null false on a key whose presence is unknown",
            cond("Null", "aws:SourceIp", &q("false")),
            request(),
            Undet,
            Some("undetermined"),
        ),
        // aws:CurrentTime is "always included": present, value unknown.
        case(
            "Null false on an always-present key of unknown value",
            cond("Null", "aws:CurrentTime", &q("false")),
            request(),
            Allow,
            None,
        ),
        // Bool.
        case(
            "Bool SecureTransport true",
            cond("Bool", "aws:SecureTransport", &q("true")),
            request(),
            Allow,
            None,
        ),
        case(
            "Bool SecureTransport literal true",
            cond("Bool", "aws:SecureTransport", "true"),
            request(),
            Allow,
            None,
        ),
        case(
            "Bool SecureTransport false",
            cond("Bool", "aws:SecureTransport", &q("false")),
            request(),
            Implicit,
            Some("condition-false"),
        ),
        // aws:MultiFactorAuthPresent is "included in the request context only when the
        // principal uses temporary credentials"; AssumeRoleWithWebIdentity is unsigned.
        case(
            "Bool on a key an unsigned call does not carry",
            cond("Bool", "aws:MultiFactorAuthPresent", &q("true")),
            request(),
            Implicit,
            Some("condition-false"),
        ),
        // Numeric, Date, IP, Binary, Arn.
        case(
            "NumericEquals on a string key is false",
            cond("NumericEquals", &sub, "1"),
            request(),
            Implicit,
            Some("sub-mismatch"),
        ),
        // Undocumented (condition operators page, "Numeric condition operators"):
        // a negated operator on a value of another type is undetermined.
        case(
            "NumericNotEquals on a string key is undetermined",
            cond("NumericNotEquals", &sub, "1"),
            request(),
            Undet,
            Some("undetermined"),
        ),
        case(
            "NumericLessThan on unknown key",
            cond("NumericLessThan", "aws:EpochTime", "2000000000"),
            request(),
            Undet,
            Some("undetermined"),
        ),
        case(
            "NumericGreaterThanEquals on missing key",
            cond("NumericGreaterThanEquals", &foreign, "1"),
            request(),
            Implicit,
            Some("key-foreign-issuer"),
        ),
        case(
            "DateLessThan CurrentTime",
            cond(
                "DateLessThan",
                "aws:CurrentTime",
                &q("2030-01-01T00:00:00Z"),
            ),
            request(),
            Undet,
            Some("undetermined"),
        ),
        case(
            "DateGreaterThan on missing key",
            cond("DateGreaterThan", &foreign, &q("2020-01-01T00:00:00Z")),
            request(),
            Implicit,
            None,
        ),
        case(
            "IpAddress SourceIp",
            cond("IpAddress", "aws:SourceIp", &q("203.0.113.0/24")),
            request(),
            Undet,
            Some("undetermined"),
        ),
        case(
            "NotIpAddress SourceIp",
            cond("NotIpAddress", "aws:SourceIp", &q("203.0.113.0/24")),
            request(),
            Undet,
            None,
        ),
        case(
            "IpAddress on missing key",
            cond("IpAddress", &foreign, &q("203.0.113.0/24")),
            request(),
            Implicit,
            None,
        ),
        // Condition operators, "Binary condition operators": the key is compared "byte
        // for byte against a base-64 encoded representation"; how a text key compares
        // is not documented: undetermined.
        case(
            "BinaryEquals on sub",
            cond("BinaryEquals", &sub, &q(SA)),
            request(),
            Undet,
            Some("undetermined"),
        ),
        // aws:FederatedProvider "is present when the principal is a role session
        // principal" issued by an IdP; the caller of AssumeRoleWithWebIdentity is none.
        case(
            "ArnLike on FederatedProvider, absent from this call",
            cond(
                "ArnLike",
                "aws:FederatedProvider",
                &q("arn:aws:iam::*:oidc-provider/*"),
            ),
            request(),
            Implicit,
            Some("condition-false"),
        ),
        case(
            "ArnEquals on missing key",
            cond(
                "ArnEquals",
                &foreign,
                &q("arn:aws:iam::111122223333:role/x"),
            ),
            request(),
            Implicit,
            None,
        ),
        case(
            "ArnNotLike on missing key",
            cond("ArnNotLike", &foreign, &q("arn:*")),
            request(),
            Allow,
            Some("negated-on-absent-key"),
        ),
        case(
            "RequestedRegion known",
            cond("StringEquals", "aws:RequestedRegion", &q("us-east-1")),
            request(),
            Allow,
            None,
        ),
        case(
            "RequestedRegion other",
            cond("StringEquals", "aws:RequestedRegion", &q("eu-west-1")),
            request(),
            Implicit,
            Some("condition-false"),
        ),
        case(
            "RoleSessionName unknown",
            cond("StringLike", "sts:RoleSessionName", &q("botocore-*")),
            request(),
            Undet,
            Some("undetermined"),
        ),
        case(
            "unknown sts key missing",
            cond("StringEquals", "sts:ExternalId", &q("x")),
            request(),
            Implicit,
            None,
        ),
        // Unknown operators.
        case(
            "operator in wrong case",
            cond("stringEquals", &sub, &q(SA)),
            request(),
            Implicit,
            Some("unknown-operator"),
        ),
        case(
            "misspelled operator",
            cond("StringEqual", &sub, &q(SA)),
            request(),
            Implicit,
            Some("unknown-operator"),
        ),
    ];
    // Key-name case-insensitivity: every casing of the key matches.
    for (i, key) in [
        sub.to_uppercase(),
        sub.to_lowercase(),
        format!("{ISS}:SUB"),
        format!("{}:Sub", ISS.replace("oidc.eks", "OIDC.EKS")),
    ]
    .into_iter()
    .enumerate()
    {
        v.push(case(
            &format!("key casing {i}"),
            cond("StringEquals", &key, &q(SA)),
            request(),
            Allow,
            None,
        ));
    }
    v
}

fn key_cases() -> Vec<Case> {
    use Want::*;
    let q = |s: &str| format!("\"{s}\"");
    vec![
        case(
            "key with https://",
            cond("StringEquals", &format!("https://{ISS}:sub"), &q(SA)),
            request(),
            Implicit,
            Some("key-has-scheme"),
        ),
        case(
            "key is a provider ARN",
            cond("StringEquals", &format!("{PROV}:sub"), &q(SA)),
            request(),
            Implicit,
            Some("key-is-arn"),
        ),
        case(
            "key of another cluster",
            cond("StringEquals", &format!("{ISS2}:sub"), &q(SA)),
            request(),
            Implicit,
            Some("key-foreign-issuer"),
        ),
        case(
            "key of another region",
            cond(
                "StringEquals",
                &format!("{}:sub", ISS.replace("us-east-1", "eu-west-1")),
                &q(SA),
            ),
            request(),
            Implicit,
            Some("key-foreign-issuer"),
        ),
        case(
            "key with trailing slash",
            cond("StringEquals", &format!("{ISS}/:sub"), &q(SA)),
            request(),
            Implicit,
            Some("key-foreign-issuer"),
        ),
        case(
            "claim misspelled subject",
            cond("StringEquals", &format!("{ISS}:subject"), &q(SA)),
            request(),
            Implicit,
            Some("key-misspelled-claim"),
        ),
        case(
            "claim with trailing space",
            cond("StringEquals", &format!("{ISS}:sub "), &q(SA)),
            request(),
            Implicit,
            Some("key-misspelled-claim"),
        ),
        case(
            "claim aud misspelled",
            cond(
                "StringEquals",
                &format!("{ISS}:aude"),
                &q("sts.amazonaws.com"),
            ),
            request(),
            Implicit,
            Some("key-misspelled-claim"),
        ),
        case(
            "key without claim",
            cond("StringEquals", "sub", &q(SA)),
            request(),
            Implicit,
            Some("key-absent"),
        ),
        case(
            "negated key of another cluster is true",
            cond("StringNotEquals", &format!("{ISS2}:sub"), &q(SA)),
            request(),
            Allow,
            Some("negated-on-absent-key"),
        ),
        case(
            "StringLike key of another cluster",
            cond("StringLike", &format!("{ISS2}:sub"), &q("*")),
            request(),
            Implicit,
            Some("key-foreign-issuer"),
        ),
        case(
            "both keys of another cluster (copied statement)",
            policy(&[allow(&format!(
                r#""StringEquals": {{"{ISS2}:sub": "{SA}", "{ISS2}:aud": "sts.amazonaws.com"}}"#
            ))]),
            request(),
            Implicit,
            Some("key-foreign-issuer"),
        ),
    ]
}

fn sub_cases() -> Vec<Case> {
    use Want::*;
    let q = |s: &str| format!("\"{s}\"");
    let sub = format!("{ISS}:sub");
    let c = |v: &str| cond("StringEquals", &sub, &q(v));
    vec![
        case(
            "namespace typo",
            c("system:serviceaccount:kube-sytem:aws-load-balancer-controller"),
            request(),
            Implicit,
            Some("sub-mismatch"),
        ),
        case(
            "name typo",
            c("system:serviceaccount:kube-system:aws-load-balancer-controler"),
            request(),
            Implicit,
            Some("sub-mismatch"),
        ),
        case(
            "swapped",
            c("system:serviceaccount:aws-load-balancer-controller:kube-system"),
            request(),
            Implicit,
            Some("sub-mismatch"),
        ),
        case(
            "missing prefix",
            c("kube-system:aws-load-balancer-controller"),
            request(),
            Implicit,
            Some("sub-mismatch"),
        ),
        case(
            "plural prefix",
            c("system:serviceaccounts:kube-system:aws-load-balancer-controller"),
            request(),
            Implicit,
            Some("sub-mismatch"),
        ),
        case(
            "leading space",
            c(" system:serviceaccount:kube-system:aws-load-balancer-controller"),
            request(),
            Implicit,
            Some("sub-mismatch"),
        ),
        case(
            "trailing space",
            c("system:serviceaccount:kube-system:aws-load-balancer-controller "),
            request(),
            Implicit,
            Some("sub-mismatch"),
        ),
        case(
            "other SA",
            c("system:serviceaccount:default:default"),
            request(),
            Implicit,
            Some("sub-mismatch"),
        ),
        case(
            "default SA token vs annotated",
            c(SA),
            with_sub("system:serviceaccount:kube-system:default"),
            Implicit,
            Some("sub-mismatch"),
        ),
        case(
            "sub value in aud key",
            cond("StringEquals", &format!("{ISS}:aud"), &q(SA)),
            request(),
            Implicit,
            Some("aud-carries-sub"),
        ),
        case(
            "aud typo",
            cond("StringEquals", &format!("{ISS}:aud"), &q("sts.amazon.com")),
            request(),
            Implicit,
            Some("aud-mismatch"),
        ),
        case(
            "aud china",
            cond(
                "StringEquals",
                &format!("{ISS}:aud"),
                &q("sts.amazonaws.com.cn"),
            ),
            request(),
            Implicit,
            Some("aud-mismatch"),
        ),
        case(
            "custom audience both sides",
            cond("StringEquals", &format!("{ISS}:aud"), &q("my-aud")),
            with_aud(&["my-aud"]),
            Allow,
            None,
        ),
        case(
            "aud array includes",
            cond(
                "StringEquals",
                &format!("{ISS}:aud"),
                r#"["x", "sts.amazonaws.com"]"#,
            ),
            request(),
            Allow,
            None,
        ),
        case(
            "aud with wildcard under StringEquals",
            cond("StringEquals", &format!("{ISS}:aud"), &q("sts.*")),
            request(),
            Implicit,
            Some("wildcard-under-string-equals"),
        ),
        case(
            "aud with StringLike wildcard",
            cond("StringLike", &format!("{ISS}:aud"), &q("sts.*")),
            request(),
            Allow,
            None,
        ),
        case(
            // Multivalued keys "require a condition set operator" (single-valued vs.
            // multivalued context keys); what a single-valued operator does with several
            // values is undocumented: undetermined, never a guess.
            "multi-aud request, plain StringEquals",
            cond(
                "StringEquals",
                &format!("{ISS}:aud"),
                &q("sts.amazonaws.com"),
            ),
            with_aud(&["x", "sts.amazonaws.com"]),
            Undet,
            Some("undetermined"),
        ),
    ]
}

fn deny_and_multi_cases() -> Vec<Case> {
    use Want::*;
    let fedp = format!(r#"{{"Federated": "{PROV}"}}"#);
    let act = r#""sts:AssumeRoleWithWebIdentity""#;
    let std = standard();
    let deny = |c: &str| stmt("Deny", &fedp, act, c);
    vec![
        case(
            "deny applies",
            policy(&[allow(&std), deny("")]),
            request(),
            Explicit,
            Some("deny-applies"),
        ),
        case(
            "deny before allow",
            policy(&[deny(""), allow(&std)]),
            request(),
            Explicit,
            Some("deny-applies"),
        ),
        case(
            "deny for other namespace",
            policy(&[
                allow(&std),
                deny(&format!(
                    r#""StringLike": {{"{ISS}:sub": "system:serviceaccount:default:*"}}"#
                )),
            ]),
            request(),
            Allow,
            None,
        ),
        case(
            "deny for own namespace",
            policy(&[
                allow(&std),
                deny(&format!(
                    r#""StringLike": {{"{ISS}:sub": "system:serviceaccount:kube-system:*"}}"#
                )),
            ]),
            request(),
            Explicit,
            Some("deny-applies"),
        ),
        case(
            "deny on unknown IP with allow",
            policy(&[
                allow(&std),
                deny(r#""NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}"#),
            ]),
            request(),
            Undet,
            None,
        ),
        // Policy evaluation logic: no Allow applies, so the request is denied; whether
        // the Deny also applies (explicitly) is unknown offline.
        case(
            "deny on unknown IP without allow",
            policy(&[deny(r#""NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}"#)]),
            request(),
            DenyKind,
            Some("deny-may-apply"),
        ),
        case(
            "deny AssumeRole only",
            policy(&[
                allow(&std),
                stmt("Deny", r#""*""#, r#""sts:AssumeRole""#, ""),
            ]),
            request(),
            Allow,
            None,
        ),
        case(
            "deny all principals",
            policy(&[allow(&std), stmt("Deny", r#""*""#, r#""*""#, "")]),
            request(),
            Explicit,
            Some("deny-applies"),
        ),
        case(
            "deny with negated foreign key",
            policy(&[
                allow(&std),
                deny(&format!(r#""StringNotEquals": {{"{ISS2}:sub": "{SA}"}}"#)),
            ]),
            request(),
            Explicit,
            Some("deny-applies"),
        ),
        case(
            "deny other provider",
            policy(&[
                allow(&std),
                stmt("Deny", &format!(r#"{{"Federated": "{PROV2}"}}"#), act, ""),
            ]),
            request(),
            Allow,
            None,
        ),
        case(
            "only deny statements",
            policy(&[deny(&format!(r#""StringEquals": {{"{ISS}:sub": "x"}}"#))]),
            request(),
            Implicit,
            Some("no-allow-statement"),
        ),
        case(
            "empty statement list",
            r#"{"Version": "2012-10-17", "Statement": []}"#.into(),
            request(),
            Implicit,
            Some("no-allow-statement"),
        ),
        case(
            "second statement allows",
            policy(&[
                stmt("Allow", &format!(r#"{{"Federated": "{PROV2}"}}"#), act, ""),
                allow(&std),
            ]),
            request(),
            Allow,
            None,
        ),
        case(
            "closest statement is the one trusting us",
            policy(&[
                stmt("Allow", &format!(r#"{{"Federated": "{PROV2}"}}"#), act, ""),
                allow(&format!(
                    r#""StringEquals": {{"{ISS}:sub": "system:serviceaccount:kube-system:other"}}"#
                )),
            ]),
            request(),
            Implicit,
            Some("sub-mismatch"),
        ),
        case(
            "allow undetermined, other allow true",
            policy(&[
                allow(&format!(
                    r#"{std}, "IpAddress": {{"aws:SourceIp": "1.2.3.4/32"}}"#
                )),
                allow(&std),
            ]),
            request(),
            Allow,
            None,
        ),
        case(
            "allow undetermined but also false condition",
            policy(&[allow(&format!(
                r#""StringEquals": {{"{ISS}:sub": "x"}}, "IpAddress": {{"aws:SourceIp": "1.2.3.4/32"}}"#
            ))]),
            request(),
            Implicit,
            Some("sub-mismatch"),
        ),
        case(
            "no conditions at all",
            policy(&[allow("")]),
            request(),
            Allow,
            Some("no-sub-condition"),
        ),
        case(
            "resource element is flagged",
            policy(&[format!(
                r#"{{"Effect": "Allow", "Principal": {fedp}, "Action": {act}, "Resource": "*", "Condition": {{{std}}}}}"#
            )]),
            request(),
            Allow,
            Some("resource-in-trust-policy"),
        ),
        case(
            "statement object instead of array",
            format!(
                r#"{{"Version": "2012-10-17", "Statement": {}}}"#,
                allow(&std)
            ),
            request(),
            Allow,
            None,
        ),
        case(
            "several operators AND, one false",
            policy(&[allow(&format!(
                r#"{std}, "StringLike": {{"{ISS}:sub": "system:serviceaccount:default:*"}}"#
            ))]),
            request(),
            Implicit,
            Some("sub-mismatch"),
        ),
        case(
            "several operators AND, all true",
            policy(&[allow(&format!(
                r#"{std}, "StringLike": {{"{ISS}:sub": "system:serviceaccount:kube-system:*"}}"#
            ))]),
            request(),
            Allow,
            None,
        ),
    ]
}

fn variable_cases() -> Vec<Case> {
    use Want::*;
    let sub = format!("{ISS}:sub");
    let q = |s: &str| format!("\"{s}\"");
    let v2008 = |c: String| c.replace("2012-10-17", "2008-10-17");
    vec![
        // Policy variables, "Policy variables with no value": aws:PrincipalTag/* is
        // absent from an anonymous call, the value is "effectively null", StringLike
        // does not match.
        case(
            "variable naming an absent key",
            cond(
                "StringLike",
                &sub,
                &q("system:serviceaccount:${aws:PrincipalTag/ns}:*"),
            ),
            request(),
            Implicit,
            Some("sub-mismatch"),
        ),
        case(
            "variable naming a key of unknown value",
            cond(
                "StringLike",
                &sub,
                &q("system:serviceaccount:${aws:UserAgent}:*"),
            ),
            request(),
            Undet,
            Some("undetermined"),
        ),
        case(
            "escaped star is literal",
            cond(
                "StringLike",
                &sub,
                &q("system:serviceaccount:kube-system:${*}"),
            ),
            request(),
            Implicit,
            Some("sub-mismatch"),
        ),
        case(
            "variable resolving to the aud",
            cond(
                "StringEquals",
                &format!("{ISS}:aud"),
                &q(&format!("${{{ISS}:aud}}")),
            ),
            request(),
            Allow,
            None,
        ),
        case(
            "default value for missing key",
            cond(
                "StringEquals",
                &sub,
                &q(&format!("${{{ISS2}:sub, '{SA}'}}")),
            ),
            request(),
            Allow,
            None,
        ),
        case(
            "2008 version: variables are literal",
            v2008(cond(
                "StringEquals",
                &format!("{ISS}:aud"),
                &q(&format!("${{{ISS}:aud}}")),
            )),
            request(),
            Implicit,
            Some("aud-mismatch"),
        ),
        case(
            "2008 version: plain match",
            v2008(cond("StringEquals", &sub, &q(SA))),
            request(),
            Allow,
            None,
        ),
        case(
            "no version: plain match",
            cond("StringEquals", &sub, &q(SA)).replace(r#""Version": "2012-10-17", "#, ""),
            request(),
            Allow,
            None,
        ),
    ]
}

/// The semantics settled by the IAM documentation for the nine groups found by the
/// differential test against an independent evaluator (each with its healthy twin).
/// Pages: IAM user guide (docs.aws.amazon.com/IAM/latest/UserGuide/…), read at
/// awsdocs/iam-user-guide e2b8637a doc_source/ and on the live site.
fn documented_semantics_cases() -> Vec<Case> {
    use Want::*;
    let q = |s: &str| format!("\"{s}\"");
    let sub = format!("{ISS}:sub");
    let aud = format!("{ISS}:aud");
    let fedp = format!(r#"{{"Federated": "{PROV}"}}"#);
    let act = r#""sts:AssumeRoleWithWebIdentity""#;
    let std = standard();
    let deny = |c: &str| stmt("Deny", &fedp, act, c);
    let with_deny = |c: &str| policy(&[allow(&std), deny(c)]);
    let mut v = vec![
        // 1. reference_policies_condition-keys.html, aws:PrincipalArn, Availability:
        //    "included in the request context for all signed requests. Anonymous
        //    requests do not include this key." AssumeRoleWithWebIdentity is unsigned.
        case(
            "1 Deny Null PrincipalArn true applies to an unsigned call",
            with_deny(r#""Null": {"aws:PrincipalArn": "true"}"#),
            request(),
            Explicit,
            Some("deny-applies"),
        ),
        case(
            "1 twin: Deny Null PrincipalArn false does not apply",
            with_deny(r#""Null": {"aws:PrincipalArn": "false"}"#),
            request(),
            Allow,
            None,
        ),
        // Same page, aws:PrincipalTag, aws:PrincipalOrgID, aws:username,
        // aws:MultiFactorAuthPresent: anonymous or credential-less calls lack them.
        case(
            "1 Deny Null PrincipalTag true applies",
            with_deny(r#""Null": {"aws:PrincipalTag/team": "true"}"#),
            request(),
            Explicit,
            Some("deny-applies"),
        ),
        case(
            "1 Deny Null PrincipalOrgID true applies",
            with_deny(r#""Null": {"aws:PrincipalOrgID": "true"}"#),
            request(),
            Explicit,
            Some("deny-applies"),
        ),
        case(
            "1 Deny Null username true applies",
            with_deny(r#""Null": {"aws:username": "true"}"#),
            request(),
            Explicit,
            Some("deny-applies"),
        ),
        case(
            "1 Deny Null MultiFactorAuthPresent true applies",
            with_deny(r#""Null": {"aws:MultiFactorAuthPresent": "true"}"#),
            request(),
            Explicit,
            Some("deny-applies"),
        ),
        // aws:PrincipalAccount / aws:userid: the 2023 page says "all requests,
        // including anonymous requests", the current one "signed requests": the
        // versions disagree, so presence is undetermined (never an allow).
        case(
            "1 Deny Null PrincipalAccount true is undetermined",
            with_deny(r#""Null": {"aws:PrincipalAccount": "true"}"#),
            request(),
            Undet,
            Some("undetermined"),
        ),
        case(
            "1 Deny Null userid true is undetermined",
            with_deny(r#""Null": {"aws:userid": "true"}"#),
            request(),
            Undet,
            Some("undetermined"),
        ),
        // A positive operator on an absent key is false: an Allow conditioned on
        // aws:PrincipalArn never applies to this call.
        case(
            "1 Allow on PrincipalArn is false",
            cond("ArnLike", "aws:PrincipalArn", &q("arn:aws:iam::*:role/*")),
            request(),
            Implicit,
            Some("condition-false"),
        ),
        // 2. reference_policies_condition-single-vs-multi-valued-context-keys.html,
        //    ForAnyValue: "For no matching context key or if the key does not exist, the
        //    condition returns false" — also with IfExists (re:Post
        //    QU9HFmDzP0QGuU-fd7rS6B7w: ForAnyValue:StringEqualsIfExists on a missing key
        //    denied the request).
        case(
            "2 ForAnyValue IfExists on a missing key is false (Allow)",
            cond(
                "ForAnyValue:StringEqualsIfExists",
                &format!("{ISS2}:sub"),
                &q(SA),
            ),
            request(),
            Implicit,
            None,
        ),
        case(
            "2 ForAnyValue IfExists on a missing key is false (Deny does not apply)",
            with_deny(&format!(
                r#""ForAnyValue:StringNotEqualsIfExists": {{"{ISS2}:sub": "{SA}"}}"#
            )),
            request(),
            Allow,
            None,
        ),
        case(
            "2 twin: ForAllValues IfExists on a missing key is true",
            cond(
                "ForAllValues:StringEqualsIfExists",
                &format!("{ISS2}:sub"),
                &q(SA),
            ),
            request(),
            Allow,
            Some("for-all-values-with-allow"),
        ),
        case(
            "2 twin: plain IfExists on a missing key is true",
            cond("StringEqualsIfExists", &format!("{ISS2}:sub"), &q(SA)),
            request(),
            Allow,
            None,
        ),
        case(
            "2 twin: ForAnyValue IfExists on a present key compares",
            cond("ForAnyValue:StringEqualsIfExists", &sub, &q(SA)),
            request(),
            Allow,
            None,
        ),
        // 3. reference_policies_variables.html, "Policy variables with no value":
        //    "StringEquals or StringLike do not match … Inverted condition operators
        //    like StringNotEquals or StringNotLike do match against a null value".
        case(
            "3 variable of an absent key, StringEquals: no match",
            cond("StringEquals", &sub, &q("${aws:PrincipalTag/sa}")),
            request(),
            Implicit,
            Some("sub-mismatch"),
        ),
        case(
            "3 variable of an absent key, StringNotEquals: match (Deny applies)",
            with_deny(&format!(
                r#""StringNotEquals": {{"{sub}": "${{aws:PrincipalTag/sa}}"}}"#
            )),
            request(),
            Explicit,
            Some("deny-applies"),
        ),
        case(
            "3 variable of an absent key among other values: the others still match",
            cond(
                "StringEquals",
                &sub,
                &format!(r#"["${{aws:PrincipalTag/sa}}", "{SA}"]"#),
            ),
            request(),
            Allow,
            None,
        ),
        case(
            "3 twin: the same variable with a default matches",
            cond(
                "StringEquals",
                &sub,
                &q(&format!("${{aws:PrincipalTag/sa, '{SA}'}}")),
            ),
            request(),
            Allow,
            None,
        ),
        // Same page, "Condition element": variables are substituted in String and ARN
        // operators only; elsewhere `${...}` is literal text.
        case(
            "3 no variables in Numeric operators: literal, not a number",
            cond("NumericEquals", &sub, &q("${aws:EpochTime}")),
            request(),
            Implicit,
            Some("sub-mismatch"),
        ),
        // 4. reference_policies_elements_principal.html, "All principals":
        //    `"Principal": "*"` and `"Principal": {"AWS": "*"}` are equivalent.
        case(
            "4 Deny with AWS star applies",
            policy(&[allow(&std), stmt("Deny", r#"{"AWS": "*"}"#, act, "")]),
            request(),
            Explicit,
            Some("deny-applies"),
        ),
        case(
            "4 twin: Deny with star applies",
            policy(&[allow(&std), stmt("Deny", r#""*""#, act, "")]),
            request(),
            Explicit,
            Some("deny-applies"),
        ),
        case(
            "4 AWS star in an array",
            policy(&[stmt(
                "Allow",
                r#"{"AWS": ["arn:aws:iam::111122223333:root", "*"]}"#,
                act,
                &std,
            )]),
            request(),
            Allow,
            None,
        ),
        // 5. reference_policies_elements_notprincipal.html: "You cannot use the
        //    NotPrincipal element in an IAM identity-based policy or in an IAM role
        //    trust policy": a document problem, never an allow, never a sure deny.
        case(
            "5 Deny NotPrincipal not naming us, with an Allow: undetermined",
            policy(&[
                allow(&std),
                format!(
                    r#"{{"Effect": "Deny", "NotPrincipal": {{"Federated": "{PROV2}"}}, "Action": {act}}}"#
                ),
            ]),
            request(),
            Undet,
            Some("not-principal-in-trust-policy"),
        ),
        case(
            "5 Deny NotPrincipal naming us cannot apply",
            policy(&[
                allow(&std),
                format!(
                    r#"{{"Effect": "Deny", "NotPrincipal": {{"Federated": "{PROV}"}}, "Action": {act}}}"#
                ),
            ]),
            request(),
            Allow,
            Some("not-principal-in-trust-policy"),
        ),
        // 6. reference_policies_grammar.html, `action_string`: "a service namespace,
        //    a colon, and the name of an action. Action names can include wildcards."
        case(
            "6 wildcard service prefix: never an allow",
            policy(&[stmt(
                "Allow",
                &fedp,
                r#""*:AssumeRoleWithWebIdentity""#,
                &std,
            )]),
            request(),
            Undet,
            Some("malformed-action"),
        ),
        case(
            "6 ? in the service prefix: never an allow",
            policy(&[stmt(
                "Allow",
                &fedp,
                r#""st?:AssumeRoleWithWebIdentity""#,
                &std,
            )]),
            request(),
            Undet,
            Some("malformed-action"),
        ),
        case(
            "6 malformed NotAction: never an allow",
            policy(&[format!(
                r#"{{"Effect": "Allow", "Principal": {fedp}, "NotAction": "*:TagSession", "Condition": {{{std}}}}}"#
            )]),
            request(),
            Undet,
            Some("malformed-action"),
        ),
        case(
            "6 malformed action that cannot match: denied",
            policy(&[stmt("Allow", &fedp, r#""*:AssumeRole""#, &std)]),
            request(),
            Implicit,
            Some("malformed-action"),
        ),
        case(
            "6 twin: wildcard in the action name",
            policy(&[stmt("Allow", &fedp, r#""sts:*WebIdentity""#, &std)]),
            request(),
            Allow,
            None,
        ),
        // 7. reference_policies_evaluation-logic.html: an explicit deny overrides, and
        //    without an applying Allow the request is implicitly denied. No Allow can
        //    apply and a Deny may: denied, which kind is unknown.
        case(
            "7 undetermined Deny, no Allow at all: denied, kind unknown",
            policy(&[deny(r#""IpAddress": {"aws:SourceIp": "10.0.0.0/8"}"#)]),
            request(),
            DenyKind,
            Some("deny-may-apply"),
        ),
        case(
            "7 undetermined Deny, Allow that does not apply: denied, kind unknown",
            policy(&[
                allow(&format!(
                    r#""StringEquals": {{"{sub}": "system:serviceaccount:x:y"}}"#
                )),
                deny(r#""IpAddress": {"aws:SourceIp": "10.0.0.0/8"}"#),
            ]),
            request(),
            DenyKind,
            Some("sub-mismatch"),
        ),
        case(
            "7 twin: undetermined Deny with an applying Allow: undetermined",
            with_deny(r#""IpAddress": {"aws:SourceIp": "10.0.0.0/8"}"#),
            request(),
            Undet,
            Some("undetermined"),
        ),
        case(
            "7 twin: undetermined Deny and undetermined Allow: undetermined",
            policy(&[
                allow(r#""IpAddress": {"aws:SourceIp": "10.0.0.0/8"}"#),
                deny(r#""IpAddress": {"aws:SourceIp": "192.0.2.0/24"}"#),
            ]),
            request(),
            Undet,
            Some("undetermined"),
        ),
        // 8. Undocumented; the safe reading (undetermined where the readings differ).
        //    Searched: condition operators page, "Conditions with multiple context keys
        //    or values", "Single-valued vs. multivalued context keys" ("Multivalued
        //    context keys require a condition set operator"), policy grammar.
        case(
            "8 several aud values, plain StringEquals: undetermined",
            cond("StringEquals", &aud, &q("sts.amazonaws.com")),
            with_aud(&["sts.amazonaws.com", "other"]),
            Undet,
            Some("undetermined"),
        ),
        case(
            "8 several aud values, StringNotEquals in a Deny: undetermined, never allow",
            with_deny(&format!(
                r#""StringNotEquals": {{"{aud}": "sts.amazonaws.com"}}"#
            )),
            with_aud(&["sts.amazonaws.com", "other"]),
            Undet,
            Some("undetermined"),
        ),
        case(
            "8 twin: several aud values, ForAnyValue",
            cond("ForAnyValue:StringEquals", &aud, &q("sts.amazonaws.com")),
            with_aud(&["sts.amazonaws.com", "other"]),
            Allow,
            None,
        ),
        case(
            "8 twin: several aud values, ForAllValues",
            cond("ForAllValues:StringEquals", &aud, &q("sts.amazonaws.com")),
            with_aud(&["sts.amazonaws.com", "other"]),
            Implicit,
            None,
        ),
        case(
            "8 ArnNotLike on a value that is not an ARN: undetermined",
            cond("ArnNotLike", &sub, &q("arn:aws:iam::*:role/x")),
            request(),
            Undet,
            Some("undetermined"),
        ),
        case(
            "8 ArnNotLike on a non-ARN in a Deny: undetermined, never allow",
            with_deny(&format!(
                r#""ArnNotLike": {{"{sub}": "arn:aws:iam::*:role/x"}}"#
            )),
            request(),
            Undet,
            Some("undetermined"),
        ),
        case(
            "8 NumericNotEquals on a non-number in a Deny: undetermined",
            with_deny(&format!(r#""NumericNotEquals": {{"{sub}": "5"}}"#)),
            request(),
            Undet,
            Some("undetermined"),
        ),
        case(
            "8 twin: ArnLike on a non-ARN is false under every reading",
            cond("ArnLike", &sub, &q("arn:aws:iam::*:role/x")),
            request(),
            Implicit,
            Some("sub-mismatch"),
        ),
        case(
            "8 twin: NumericEquals on a non-number is false under every reading",
            cond("NumericEquals", &sub, "5"),
            request(),
            Implicit,
            Some("sub-mismatch"),
        ),
        // 9. reference_policies_variables.html, "Specifying default values": "separate
        //    the variable text and the default value with a comma and space (`, `)".
        case(
            "9 default after comma and space",
            cond(
                "StringEquals",
                &sub,
                &q(&format!("${{{ISS2}:sub, '{SA}'}}")),
            ),
            request(),
            Allow,
            None,
        ),
        case(
            "9 default after a bare comma: not the documented form, undetermined",
            cond("StringEquals", &sub, &q(&format!("${{{ISS2}:sub,'{SA}'}}"))),
            request(),
            Undet,
            Some("undetermined"),
        ),
        case(
            "9 default not quoted: undetermined",
            cond("StringEquals", &sub, &q(&format!("${{{ISS2}:sub, {SA}}}"))),
            request(),
            Undet,
            Some("undetermined"),
        ),
        case(
            "9 issuer built by hand with https://: OIDC keys undetermined, never missing",
            policy(&[allow(&std)]),
            WebIdentityRequest {
                issuer_host_path: format!("https://{ISS}"),
                ..request()
            },
            Undet,
            Some("undetermined"),
        ),
    ];
    // Group 1 for every row of the global-key table: a Deny on `Null: true` applies
    // exactly when the documentation says the key is absent.
    for g in irsa_policy::context::GLOBAL_KEYS {
        use irsa_policy::context::Presence;
        let key = if g.key.ends_with('/') {
            format!("{}example", g.key)
        } else {
            g.key.to_string()
        };
        let want = match g.presence {
            Presence::Absent => Explicit,
            Presence::Uncertain(_) => Undet,
            Presence::Value(_) | Presence::Unknown(_) => Allow,
        };
        v.push(case(
            &format!("1 table: Deny Null {key} true"),
            with_deny(&format!(r#""Null": {{"{key}": "true"}}"#)),
            request(),
            want,
            None,
        ));
    }
    v
}

fn all_cases() -> Vec<Case> {
    let mut v = Vec::new();
    v.extend(seed_cases());
    v.extend(principal_cases());
    v.extend(action_cases());
    v.extend(operator_cases());
    v.extend(key_cases());
    v.extend(sub_cases());
    v.extend(deny_and_multi_cases());
    v.extend(variable_cases());
    v.extend(documented_semantics_cases());
    v
}

fn kinds(d: &irsa_policy::Diagnosis) -> Vec<String> {
    d.findings
        .iter()
        .map(|l| {
            serde_json::to_value(&l.miss).unwrap()["kind"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

#[test]
fn evaluation_table() {
    let cases = all_cases();
    assert!(cases.len() >= 150, "only {} cases", cases.len());
    let mut failures = Vec::new();
    for c in &cases {
        let doc = match PolicyDocument::parse(&c.policy) {
            Ok(d) => d,
            Err(e) => {
                failures.push(format!("{}: policy does not parse: {e}", c.name));
                continue;
            }
        };
        let d = diagnose(&doc, &c.request);
        let got = match d.evaluation.decision {
            Decision::Allow { .. } => Want::Allow,
            Decision::ImplicitDeny => Want::Implicit,
            Decision::ExplicitDeny { .. } => Want::Explicit,
            Decision::Undetermined { .. } => Want::Undet,
            Decision::DenyKindUnknown { .. } => Want::DenyKind,
        };
        if got != c.want {
            failures.push(format!(
                "{}: decision {got:?}, want {:?} ({:?})",
                c.name,
                c.want,
                kinds(&d)
            ));
            continue;
        }
        if let Some(kind) = c.miss {
            let k = kinds(&d);
            if !k.iter().any(|x| x == kind) {
                failures.push(format!(
                    "{}: near miss `{kind}` not reported, got {k:?}",
                    c.name
                ));
            }
        }
        // A denial always carries at least one reason.
        if matches!(got, Want::Implicit | Want::Explicit | Want::DenyKind)
            && d.reasons().next().is_none()
        {
            failures.push(format!("{}: denied without a reason", c.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn seed_000_stray_space_is_named_as_whitespace() {
    let p = policy(&[allow(&format!(
        r#""StringEquals": {{"{ISS}:sub": "system:serviceaccount: kube-system:aws-load-balancer-controller", "{ISS}:aud": "sts.amazonaws.com"}}"#
    ))]);
    let d = diagnose(&PolicyDocument::parse(&p).unwrap(), &request());
    let miss = d.reasons().next().unwrap();
    match &miss.miss {
        irsa_policy::NearMiss::SubMismatch { miss, closest, .. } => {
            assert_eq!(*miss, irsa_policy::SubjectMiss::Whitespace);
            assert!(closest.contains(": kube-system"));
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn sub_near_misses_are_classified() {
    use irsa_policy::SubjectMiss::*;
    let check = |value: &str| {
        let p = cond(
            "StringEquals",
            &format!("{ISS}:sub"),
            &format!("\"{value}\""),
        );
        let d = diagnose(&PolicyDocument::parse(&p).unwrap(), &request());
        let miss = d.reasons().next().unwrap().miss.clone();
        match miss {
            irsa_policy::NearMiss::SubMismatch { miss, .. } => miss,
            other => panic!("unexpected {other:?}"),
        }
    };
    assert_eq!(
        check("system:serviceaccount:aws-load-balancer-controller:kube-system"),
        Swapped
    );
    assert_eq!(
        check("system:serviceaccount:kube-sytem:aws-load-balancer-controller"),
        Namespace {
            found: "kube-sytem".into(),
            distance: 1
        }
    );
    assert_eq!(
        check("system:serviceaccount:kube-system:aws-load-balancer-controler"),
        Name {
            found: "aws-load-balancer-controler".into(),
            distance: 1
        }
    );
    assert_eq!(check("kube-system:aws-load-balancer-controller"), Prefix);
    assert_eq!(
        check("SYSTEM:SERVICEACCOUNT:KUBE-SYSTEM:AWS-LOAD-BALANCER-CONTROLLER"),
        Case
    );
    assert_eq!(check("system:serviceaccount:default:default"), Other);
}

#[test]
fn provider_differences_name_region_and_id() {
    let p = policy(&[stmt(
        "Allow",
        &format!(
            r#"{{"Federated": "{}"}}"#,
            PROV.replace("us-east-1", "us-west-2")
        ),
        r#""sts:AssumeRoleWithWebIdentity""#,
        &standard(),
    )]);
    let d = diagnose(&PolicyDocument::parse(&p).unwrap(), &request());
    let found = d.reasons().any(|l| {
        matches!(&l.miss, irsa_policy::NearMiss::FederatedOtherProvider { url, account_differs: false, .. }
            if url == &vec![irsa_policy::IssuerDifference::Region { found: "us-west-2".into(), expected: "us-east-1".into() }])
    });
    assert!(found, "{:?}", d.findings);
}
