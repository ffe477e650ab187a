//! explain never panics and stays within its contract on any bytes: arbitrary
//! input, hostile shapes (deep JSON, huge lines, endless ellipses, lone
//! surrogates, NULs), and mutations of real error texts.

use irsa_rules::explain::explain_bytes;
use irsa_rules::Scope;
use proptest::prelude::*;

fn check(bytes: &[u8]) {
    let e = explain_bytes(bytes, None, &Scope::default());
    let sum: f64 = e.causes.iter().map(|c| c.likelihood).sum();
    assert!(sum <= 1.05, "likelihoods sum to {sum}");
    for c in &e.causes {
        assert!((0.0..=1.0).contains(&c.likelihood));
    }
    assert_eq!(e.recognised, !e.causes.is_empty() || e.family.is_some());
    if !e.recognised {
        assert!(e
            .next
            .iter()
            .any(|n| n.command.starts_with("irsa-doctor check")));
        assert!(e
            .next
            .iter()
            .any(|n| n.command.starts_with("irsa-doctor probe")));
    }
    let _ = irsa_rules::explain::render_text(&e);
    let _ = serde_json::to_string(&e).unwrap();
}

const SEEDS: &[&str] = &[
    "WebIdentityErr: failed to retrieve credentials\\ncaused by: AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity\\n\\tstatus code: 403",
    "{\"error\":\"An error occurred (InvalidIdentityToken) when calling the AssumeRoleWithWebIdentity operation: Incorrect token audience\"}",
    "User: arn:aws:sts::111122223333:assumed-role/r/i-0123456789abcdef0 is not authorized to perform: s3:GetObject on resource: x",
    "Traceback (most recent call last):\n  File \"a.py\", line 1\nbotocore.exceptions.NoCredentialsError: Unable to locate credentials",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes(b in proptest::collection::vec(any::<u8>(), 0..2048)) {
        check(&b);
    }

    #[test]
    fn mutated_real_errors(seed in 0..SEEDS.len(), cut in 0usize..400, insert in proptest::collection::vec(any::<u8>(), 0..16)) {
        let mut b = SEEDS[seed].as_bytes().to_vec();
        let at = cut.min(b.len());
        b.splice(at..at, insert);
        check(&b);
        check(&b[..at]);
    }
}

#[test]
fn hostile_shapes() {
    let deep = format!("{}\"x\"{}", "[".repeat(5000), "]".repeat(5000));
    check(deep.as_bytes());
    let deep_obj = format!("{}1{}", "{\"a\":".repeat(3000), "}".repeat(3000));
    check(deep_obj.as_bytes());
    check("….".repeat(50_000).as_bytes());
    check(&vec![0u8; 100_000]);
    check(&[0xFF, 0xFE, 0x00, 0xD8, 0x00, 0xD8]);
    let long = format!("AccessDenied: {}", "Not authorized ".repeat(40_000));
    check(long.as_bytes());
    let many = "E0501 10:00:00.123456 1 a.go:1] \"x\" err=\"NoCredentialProviders: no valid providers in chain\"\n".repeat(20_000);
    check(many.as_bytes());
}
