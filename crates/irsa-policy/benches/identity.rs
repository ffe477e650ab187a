//! Identity-policy evaluation at the size of a controller check: a 24-statement policy
//! (actions, wildcards, resource ARNs, tag conditions, a Deny) and 80 required actions.

use criterion::{criterion_group, criterion_main, Criterion};
use irsa_policy::{
    evaluate_identity, Boundary, IdentityPolicies, IdentityRequest, NamedPolicy, PolicyDocument,
};
use std::hint::black_box;

fn policy() -> String {
    let mut statements = Vec::new();
    for i in 0..20 {
        statements.push(format!(
            r#"{{"Effect":"Allow","Action":["ec2:Describe{i}*","elasticloadbalancing:Create{i}*","elasticloadbalancing:Modify{i}Rule"],"Resource":["arn:aws:elasticloadbalancing:*:*:loadbalancer/app/*/*","arn:aws:ec2:*:*:security-group/*"],"Condition":{{"Null":{{"aws:RequestTag/elbv2.k8s.aws/cluster":"false"}}}}}}"#
        ));
    }
    statements.push(r#"{"Effect":"Allow","Action":["ec2:Describe*","elasticloadbalancing:Describe*"],"Resource":"*"}"#.into());
    statements.push(r#"{"Effect":"Allow","NotAction":["iam:*","organizations:*"],"Resource":"arn:aws:s3:::bucket/*"}"#.into());
    statements.push(r#"{"Effect":"Deny","Action":"ec2:DeleteSecurityGroup","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/other"}}}"#.into());
    statements.push(r#"{"Effect":"Allow","Action":"wafv2:*","Resource":"*"}"#.into());
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{}]}}"#,
        statements.join(",")
    )
}

fn bench(c: &mut Criterion) {
    let doc = PolicyDocument::parse(&policy()).unwrap();
    let policies = IdentityPolicies {
        policies: vec![NamedPolicy {
            name: "lbc",
            document: &doc,
        }],
        not_collected: vec![],
        boundary: Boundary::None,
    };
    let requests: Vec<IdentityRequest> = (0..80)
        .map(|i| {
            let (a, r) = match i % 4 {
                0 => (format!("ec2:Describe{}Things", i % 20), "*".to_string()),
                1 => (
                    format!("elasticloadbalancing:Create{}Rule", i % 20),
                    "arn:aws:elasticloadbalancing:*:*:loadbalancer/app/*/*".to_string(),
                ),
                2 => ("wafv2:AssociateWebACL".to_string(), "*".to_string()),
                _ => (format!("shield:Create{i}"), "*".to_string()),
            };
            IdentityRequest::new(a, r)
                .with_key("aws:PrincipalArn", &["arn:aws:iam::111122223333:role/app"])
        })
        .collect();
    c.bench_function(
        "identity: 80 required actions against a 24-statement policy",
        |b| {
            b.iter(|| {
                requests
                    .iter()
                    .filter(|r| evaluate_identity(black_box(&policies), r).is_allowed())
                    .count()
            })
        },
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
