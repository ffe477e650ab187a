//! explain's cost: parsing the catalog (paid once per process: the cold start)
//! and explaining a typical error, a JSON log line, and a 2,000-line log.

use criterion::{criterion_group, criterion_main, Criterion};
use irsa_rules::explain::{catalog::validate, explain};
use irsa_rules::Scope;
use std::hint::black_box;

const GO_V1: &str = "WebIdentityErr: failed to retrieve credentials\ncaused by: AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity\n\tstatus code: 403, request id: 4b7e5b5c-7d3e-4ef2-a1f3-0bd0c9bd8d2d";
const DENIED: &str = "api error AccessDenied: User: arn:aws:sts::111122223333:assumed-role/AmazonEKSLoadBalancerControllerRole/1714000000123456789 is not authorized to perform: elasticloadbalancing:DescribeListenerAttributes on resource: * because no identity-based policy allows the elasticloadbalancing:DescribeListenerAttributes action";
const JSON_LINE: &str = "{\"level\":\"error\",\"ts\":1714000000.1,\"logger\":\"controllers.ingress\",\"msg\":\"Reconciler error\",\"error\":\"WebIdentityErr: failed to retrieve credentials\\ncaused by: InvalidIdentityToken: No OpenIDConnect provider found in your account for https://oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E\\n\\tstatus code: 400, request id: 5c1d\"}";

fn bench(c: &mut Criterion) {
    c.bench_function("catalog parse (cold start)", |b| {
        b.iter(|| black_box(validate()))
    });
    let scope = Scope::default();
    c.bench_function("explain go-v1 error", |b| {
        b.iter(|| black_box(explain(GO_V1, None, &scope)))
    });
    c.bench_function("explain JSON log line", |b| {
        b.iter(|| black_box(explain(JSON_LINE, None, &scope)))
    });
    // A denied action: the controller knowledge (which release needs it), without and
    // with the load balancer example as the snapshot (that one also runs every rule).
    c.bench_function("explain denied action (knowledge)", |b| {
        b.iter(|| black_box(explain(DENIED, None, &scope)))
    });
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/lbc-webidentityerr");
    let snap = irsa_model::load_paths(&[dir], irsa_model::ContextFlags::default());
    c.bench_function("explain denied action with a snapshot", |b| {
        b.iter(|| black_box(explain(DENIED, Some(&snap), &scope)))
    });
    let log: String = (0..2000)
        .map(|i| {
            format!(
                "2024-05-01T10:00:{:02}Z INFO request {i} served in 12ms\n",
                i % 60
            )
        })
        .chain(std::iter::once(format!("{JSON_LINE}\n")))
        .collect();
    c.bench_function("explain 2,000-line log", |b| {
        b.iter(|| black_box(explain(&log, None, &scope)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
