//! Each input kind read for what the issue names, a broken and a healthy twin per
//! case, written inline in the tools' own shapes: eksctl's `iam.withOIDC`, Terraform's
//! Pod Identity associations, OIDC providers and clusters, CloudFormation's EKS
//! cluster and generated role names, trust-policy breadth and size.

use irsa_lint::{lint, LintOptions, LintReport, Source};
use irsa_model::ContextFlags;
use irsa_rules::{Cause, Severity};

fn run(files: &[(&str, &str)], flags: ContextFlags) -> LintReport {
    let sources: Vec<Source> = files
        .iter()
        .map(|(p, t)| Source {
            path: (*p).into(),
            text: (*t).into(),
        })
        .collect();
    lint(
        &sources,
        vec![],
        &LintOptions {
            flags,
            ..LintOptions::default()
        },
    )
}

/// (rule, message id, severity, path, line) of every finding that is not a gap.
fn problems(r: &LintReport) -> Vec<(String, String, Severity, String, usize)> {
    r.report
        .findings
        .iter()
        .zip(&r.locations)
        .filter(|(f, _)| f.cause != Cause::CollectionGap)
        .map(|(f, l)| {
            let l = l.as_ref().expect("located");
            (
                f.rule.to_string(),
                f.message.id.to_string(),
                f.severity,
                l.path.clone(),
                l.line,
            )
        })
        .collect()
}

fn has(r: &LintReport, id: &str) -> bool {
    r.report.findings.iter().any(|f| f.message.id == id)
}

const EKSCTL: &str = "apiVersion: eksctl.io/v1alpha5
kind: ClusterConfig
metadata:
  name: prod
  region: us-west-2
  version: \"1.31\"
iam:
WITH_OIDC  serviceAccounts:
  - metadata:
      name: s3-reader
      namespace: backend
    attachRoleARN: arn:aws:iam::111122223333:role/s3-reader
";

#[test]
fn eksctl_service_accounts_without_with_oidc_are_refused_by_eksctl() {
    // Unset: eksctl's default is disabled.
    let r = run(
        &[("cluster.yaml", &EKSCTL.replace("WITH_OIDC", ""))],
        ContextFlags::default(),
    );
    let p = problems(&r);
    assert!(
        p.contains(&(
            "IRSA002".into(),
            "eksctl-without-oidc".into(),
            Severity::Error,
            "cluster.yaml".into(),
            7
        )),
        "{p:#?}"
    );
    let f = r
        .report
        .findings
        .iter()
        .find(|f| f.message.id == "eksctl-without-oidc")
        .unwrap();
    assert!(f.message.render().contains("iam.withOIDC is not set"));
    assert_eq!(
        f.predicted_error.as_deref(),
        Some(
            "Error: iam.withOIDC must be enabled explicitly for iam.serviceAccounts to be created"
        )
    );
    assert!(f.fix[0].summary.contains("iam.withOIDC: true"));
    // Written false: at the value.
    let r = run(
        &[(
            "cluster.yaml",
            &EKSCTL.replace("WITH_OIDC", "  withOIDC: false\n"),
        )],
        ContextFlags::default(),
    );
    let i = r
        .report
        .findings
        .iter()
        .position(|f| f.message.id == "eksctl-without-oidc")
        .expect("reported");
    let l = r.locations[i].as_ref().unwrap();
    assert_eq!((l.line, l.column), (8, 13));
    assert!(r.report.findings[i]
        .message
        .render()
        .contains("iam.withOIDC is `false`"));
    // The healthy twin.
    let r = run(
        &[(
            "cluster.yaml",
            &EKSCTL.replace("WITH_OIDC", "  withOIDC: true\n"),
        )],
        ContextFlags::default(),
    );
    assert!(!has(&r, "eksctl-without-oidc"), "{:#?}", problems(&r));
}

#[test]
fn eksctl_without_a_provider_warns_only_when_irsa_is_used_and_no_input_creates_one() {
    let cluster = "apiVersion: eksctl.io/v1alpha5\nkind: ClusterConfig\nmetadata:\n  name: prod\n  region: us-west-2\n";
    let chart = "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: app\n  namespace: web\n  annotations:\n    eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/app\n";
    let r = run(
        &[("cluster.yaml", cluster), ("sa.yaml", chart)],
        ContextFlags::default(),
    );
    let p = problems(&r);
    assert!(
        p.contains(&(
            "IRSA002".into(),
            "eksctl-oidc-not-created".into(),
            Severity::Warning,
            "cluster.yaml".into(),
            4
        )),
        "{p:#?}"
    );
    assert!(r.report.findings.iter().any(|f| f
        .message
        .render()
        .contains("ServiceAccount(s) web/app use IRSA")));
    // withOIDC: true creates it.
    let enabled = format!("{cluster}iam:\n  withOIDC: true\n");
    let r = run(
        &[("cluster.yaml", &enabled), ("sa.yaml", chart)],
        ContextFlags::default(),
    );
    assert!(!has(&r, "eksctl-oidc-not-created"));
    // Nothing uses IRSA: nothing to say.
    let plain = chart.replace("eks.amazonaws.com/role-arn", "example.com/owner");
    let r = run(
        &[("cluster.yaml", cluster), ("sa.yaml", &plain)],
        ContextFlags::default(),
    );
    assert!(!has(&r, "eksctl-oidc-not-created"));
    // Another input creates the provider.
    let cfn = "Resources:\n  Provider:\n    Type: AWS::IAM::OIDCProvider\n    Properties:\n      Url: https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE\n      ClientIdList: [sts.amazonaws.com]\n";
    let r = run(
        &[
            ("cluster.yaml", cluster),
            ("sa.yaml", chart),
            ("oidc.yaml", cfn),
        ],
        ContextFlags::default(),
    );
    assert!(!has(&r, "eksctl-oidc-not-created"), "{:#?}", problems(&r));
}
