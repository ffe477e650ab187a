//! Parse + evaluate a typical two-statement trust policy (one role, two clusters).

use criterion::{criterion_group, criterion_main, Criterion};
use irsa_policy::{diagnose, evaluate, PolicyDocument, WebIdentityRequest};
use std::hint::black_box;

const POLICY: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow",
     "Principal": {"Federated": "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/77A1B2C3D4E5F60718293A4B5C6D7E8F"},
     "Action": "sts:AssumeRoleWithWebIdentity",
     "Condition": {"StringEquals": {
       "oidc.eks.us-east-1.amazonaws.com/id/77A1B2C3D4E5F60718293A4B5C6D7E8F:sub": "system:serviceaccount:kube-system:aws-load-balancer-controller",
       "oidc.eks.us-east-1.amazonaws.com/id/77A1B2C3D4E5F60718293A4B5C6D7E8F:aud": "sts.amazonaws.com"}}},
    {"Effect": "Allow",
     "Principal": {"Federated": "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/5C5E2D1A0C1E4B2C8F6B0E7D9A3B1C2D"},
     "Action": "sts:AssumeRoleWithWebIdentity",
     "Condition": {"StringEquals": {
       "oidc.eks.us-east-1.amazonaws.com/id/5C5E2D1A0C1E4B2C8F6B0E7D9A3B1C2D:sub": "system:serviceaccount:kube-system:aws-load-balancer-controller",
       "oidc.eks.us-east-1.amazonaws.com/id/5C5E2D1A0C1E4B2C8F6B0E7D9A3B1C2D:aud": "sts.amazonaws.com"}}}
  ]
}"#;

fn request() -> WebIdentityRequest {
    WebIdentityRequest {
        provider_arn: "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/5C5E2D1A0C1E4B2C8F6B0E7D9A3B1C2D".into(),
        issuer_host_path: "oidc.eks.us-east-1.amazonaws.com/id/5C5E2D1A0C1E4B2C8F6B0E7D9A3B1C2D".into(),
        sub: "system:serviceaccount:kube-system:aws-load-balancer-controller".into(),
        aud: vec!["sts.amazonaws.com".into()],
        region: Some("us-east-1".into()),
    }
}

fn bench(c: &mut Criterion) {
    let doc = PolicyDocument::parse(POLICY).unwrap();
    let req = request();
    let ctx = req.context();
    c.bench_function("evaluate pre-parsed 2-statement policy", |b| {
        b.iter(|| irsa_policy::evaluate::evaluate_with(black_box(&doc), black_box(&req), &ctx))
    });
    c.bench_function("evaluate incl. context build", |b| {
        b.iter(|| evaluate(black_box(&doc), black_box(&req)))
    });
    c.bench_function("diagnose (evaluate + near misses)", |b| {
        b.iter(|| diagnose(black_box(&doc), black_box(&req)))
    });
    c.bench_function("parse + evaluate", |b| {
        b.iter(|| {
            let d = PolicyDocument::parse(black_box(POLICY)).unwrap();
            evaluate(&d, &req)
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
