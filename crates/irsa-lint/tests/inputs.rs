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
        .contains("IRSA is used by ServiceAccount web/app: unless")));
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

/// The terraform/fixed plan (a real `terraform show -json` shape), changed by `edit`,
/// printed as Terraform prints it (one line of compact JSON).
fn terraform_plan(edit: impl FnOnce(&mut serde_json::Value)) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/lint/terraform/fixed/plan.json");
    let mut plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    edit(&mut plan);
    plan.to_string()
}

fn resource_change(address: &str, after: serde_json::Value) -> serde_json::Value {
    let (rtype, name) = address.split_once('.').unwrap();
    serde_json::json!({
        "address": address, "mode": "managed", "type": rtype, "name": name,
        "provider_name": "registry.terraform.io/hashicorp/aws",
        "change": {"actions": ["create"], "before": null, "after": after,
            "after_unknown": {"id": true, "arn": true, "association_arn": true, "association_id": true},
            "before_sensitive": false, "after_sensitive": {}}
    })
}

#[test]
fn terraform_pod_identity_association_beside_the_irsa_annotation() {
    let with = |sa: &str| {
        terraform_plan(|p| {
            p["resource_changes"]
                .as_array_mut()
                .unwrap()
                .push(resource_change(
                    "aws_eks_pod_identity_association.payments",
                    serde_json::json!({"cluster_name": "prod", "namespace": "payments",
                        "service_account": sa, "role_arn": "arn:aws:iam::111122223333:role/payments-pod-identity",
                        "tags": null}),
                ));
        })
    };
    let r = run(
        &[("plan.json", &with("payments-api"))],
        ContextFlags::default(),
    );
    let p = problems(&r);
    let hit: Vec<_> = p.iter().filter(|x| x.0 == "IRSA607").collect();
    assert_eq!(hit.len(), 1, "{p:#?}");
    assert!(r.report.findings.iter().any(|f| f.rule == "IRSA607"
        && f.subject.display() == "ServiceAccount payments/payments-api"
        && f.message.render().contains("payments-pod-identity")));
    // The association is for another ServiceAccount: no mechanism conflict.
    let r = run(
        &[("plan.json", &with("payments-batch"))],
        ContextFlags::default(),
    );
    assert!(
        !problems(&r).iter().any(|x| x.0 == "IRSA607"),
        "{:#?}",
        problems(&r)
    );
}

#[test]
fn terraform_managed_oidc_provider_audience() {
    let with = |client_id: &str| {
        terraform_plan(|p| {
            // The provider is created by this plan (not read as a data source).
            let prior = p["prior_state"]["values"]["root_module"]["resources"]
                .as_array_mut()
                .unwrap();
            prior.retain(|r| r["type"] != "aws_iam_openid_connect_provider");
            p["resource_changes"]
                .as_array_mut()
                .unwrap()
                .push(resource_change(
                    "aws_iam_openid_connect_provider.eks",
                    serde_json::json!({
                        "url": "https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE",
                        "client_id_list": [client_id],
                        "thumbprint_list": ["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"],
                        "tags": null}),
                ));
        })
    };
    let text = with("sts.amazon.com");
    let r = run(&[("plan.json", &text)], ContextFlags::default());
    let p = problems(&r);
    let hit: Vec<_> = p.iter().filter(|x| x.0 == "IRSA003").collect();
    assert!(!hit.is_empty(), "{p:#?}");
    // At the offending value in the one-line plan.
    let i = r
        .report
        .findings
        .iter()
        .position(|f| f.rule == "IRSA003")
        .unwrap();
    let l = r.locations[i].as_ref().unwrap();
    let at: String = text.chars().skip(l.column - 1).take(17).collect();
    assert_eq!(at, "\"sts.amazon.com\"]");
    let r = run(
        &[("plan.json", &with("sts.amazonaws.com"))],
        ContextFlags::default(),
    );
    assert!(
        !problems(&r).iter().any(|x| x.2 <= Severity::Warning),
        "{:#?}",
        problems(&r)
    );
    assert_eq!(r.checked.chains, 3);
}

fn cfn_role(sub_operator: &str, sub: &str, extra_statements: usize) -> String {
    let mut t = String::from("Resources:\n  Role:\n    Type: AWS::IAM::Role\n    Properties:\n      RoleName: app\n      AssumeRolePolicyDocument:\n        Version: \"2012-10-17\"\n        Statement:\n");
    let statement = |sub: &str, aud: &str| {
        format!("        - Effect: Allow\n          Principal:\n            Federated: arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE\n          Action: sts:AssumeRoleWithWebIdentity\n          Condition:\n            {sub_operator}:\n              oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE:sub: \"{sub}\"\n{aud}")
    };
    let aud = |op: &str| {
        let key = "              oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE:aud: sts.amazonaws.com\n";
        if op == "StringEquals" {
            key.to_string()
        } else {
            format!("            StringEquals:\n{key}")
        }
    };
    let aud = aud(sub_operator);
    t.push_str(&statement(sub, &aud));
    for i in 0..extra_statements {
        t.push_str(&statement(
            &format!("system:serviceaccount:team-{i}:app"),
            &aud,
        ));
    }
    t
}

const APP_SA: &str = "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: app\n  namespace: web\n  annotations:\n    eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/app\n";

#[test]
fn trust_breadth_and_size_in_templates() {
    let flags = || ContextFlags {
        account: Some("111122223333".into()),
        region: Some("us-west-2".into()),
        ..ContextFlags::default()
    };
    // Any ServiceAccount of the cluster may take the role.
    let broad = cfn_role("StringLike", "system:serviceaccount:*", 0);
    let r = run(&[("t.yaml", &broad), ("sa.yaml", APP_SA)], flags());
    let p = problems(&r);
    assert!(
        p.iter()
            .any(|x| x.0 == "IRSA208" && x.3 == "t.yaml" && x.4 == 15),
        "{p:#?}"
    );
    // Too large to add another cluster's statement under the 2,048-character quota.
    let big = cfn_role("StringEquals", "system:serviceaccount:web:app", 12);
    let r = run(&[("t.yaml", &big), ("sa.yaml", APP_SA)], flags());
    assert!(
        problems(&r).iter().any(|x| x.0 == "IRSA209"),
        "{:#?}",
        problems(&r)
    );
    // The healthy twin: one ServiceAccount, a small policy.
    let exact = cfn_role("StringEquals", "system:serviceaccount:web:app", 0);
    let r = run(&[("t.yaml", &exact), ("sa.yaml", APP_SA)], flags());
    assert_eq!(
        problems(&r)
            .iter()
            .filter(|x| x.2 <= Severity::Warning)
            .count(),
        0,
        "{:#?}",
        problems(&r)
    );
    assert_eq!(r.checked.chains, 1);
}

#[test]
fn cloudformation_cluster_version_decides_the_token_permission_check() {
    let template = |version: &str| {
        format!("Resources:\n  Cluster:\n    Type: AWS::EKS::Cluster\n    Properties:\n      Name: old\n      Version: \"{version}\"\n      RoleArn: arn:aws:iam::111122223333:role/eks\n      ResourcesVpcConfig: {{SubnetIds: [subnet-1, subnet-2]}}\n")
    };
    let workload = format!("{APP_SA}---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\n  namespace: web\nspec:\n  template:\n    spec:\n      serviceAccountName: app\n      securityContext:\n        runAsUser: 1000\n      containers:\n      - name: app\n        image: app:1\n");
    let r = run(
        &[("cluster.yaml", &template("1.18")), ("app.yaml", &workload)],
        ContextFlags::default(),
    );
    assert!(
        problems(&r)
            .iter()
            .any(|x| x.1 == "token-permission" && x.3 == "app.yaml" && x.4 == 19),
        "{:#?}",
        problems(&r)
    );
    let r = run(
        &[("cluster.yaml", &template("1.31")), ("app.yaml", &workload)],
        ContextFlags::default(),
    );
    assert!(!has(&r, "token-permission"), "{:#?}", problems(&r));
}

#[test]
fn what_a_repository_lacks_is_asked_of_a_repository_not_of_a_snapshot() {
    // Manifests alone: the cluster and the role are elsewhere.
    let r = run(&[("sa.yaml", APP_SA)], ContextFlags::default());
    let gaps: Vec<String> = r
        .report
        .findings
        .iter()
        .filter(|f| f.cause == Cause::CollectionGap)
        .map(|f| f.message.render())
        .collect();
    assert!(
        gaps.iter()
            .any(|g| g.starts_with("no input states the cluster's OIDC issuer")),
        "{gaps:#?}"
    );
    assert!(
        gaps.iter().any(|g| g
            .starts_with("role arn:aws:iam::111122223333:role/app is not declared by the inputs")),
        "{gaps:#?}"
    );
    for g in &gaps {
        assert!(
            !g.contains("snapshot")
                && !g.contains("aws iam get-role")
                && !g.contains("describe-cluster"),
            "{g}"
        );
    }
}

/// A trust policy written as JSON text in a `!Sub |` block, with pseudo parameters.
const SUB_POLICY: &str = r#"Resources:
  AppRole:
    Type: AWS::IAM::Role
    Properties:
      RoleName: app
      AssumeRolePolicyDocument: !Sub |
        {
          "Version": "2012-10-17",
          "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": "arn:${AWS::Partition}:iam::${AWS::AccountId}:oidc-provider/oidc.eks.${AWS::Region}.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {
              "oidc.eks.${AWS::Region}.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE:sub": "system:serviceaccount:web:SA_NAME",
              "oidc.eks.${AWS::Region}.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE:aud": "sts.amazonaws.com"
            }}
          }]
        }
"#;

#[test]
fn a_policy_written_as_sub_json_is_evaluated_and_located_inside_the_text() {
    let flags = || ContextFlags {
        account: Some("111122223333".into()),
        region: Some("us-west-2".into()),
        ..ContextFlags::default()
    };
    let broken = SUB_POLICY.replace("SA_NAME", "app-typo");
    let r = run(&[("t.yaml", &broken), ("sa.yaml", APP_SA)], flags());
    let i = r
        .report
        .findings
        .iter()
        .position(|f| f.rule == "IRSA203")
        .unwrap_or_else(|| panic!("{:#?}", problems(&r)));
    let l = r.locations[i].as_ref().unwrap();
    let line = broken.lines().nth(l.line - 1).unwrap();
    let at: String = line.chars().skip(l.column - 1).collect();
    assert!(
        at.starts_with("\"system:serviceaccount:web:app-typo\""),
        "{}:{} {at}",
        l.line,
        l.column
    );
    let healthy = SUB_POLICY.replace("SA_NAME", "app");
    let r = run(&[("t.yaml", &healthy), ("sa.yaml", APP_SA)], flags());
    assert!(
        !problems(&r).iter().any(|p| p.2 <= Severity::Warning),
        "{:#?}",
        problems(&r)
    );
    assert_eq!(r.checked.chains, 1);
    // Without the region the policy is not decided: not checked, never passed.
    let r = run(
        &[("t.yaml", &healthy), ("sa.yaml", APP_SA)],
        ContextFlags {
            account: Some("111122223333".into()),
            ..ContextFlags::default()
        },
    );
    assert_eq!(r.checked.chains, 0);
    assert!(r
        .report
        .findings
        .iter()
        .any(|f| f.message.render().contains("AWS::Partition")));
}

#[test]
fn terraform_helm_release_set_and_kubernetes_manifest() {
    // The chart's ServiceAccount given by `set` (escaped dots) instead of values, and
    // a ServiceAccount in a kubernetes_manifest resource.
    let with = |arn: &str| {
        terraform_plan(|p| {
            for rc in p["resource_changes"].as_array_mut().unwrap() {
                if rc["type"] == "helm_release" {
                    let after = &mut rc["change"]["after"];
                    after["values"] = serde_json::json!([]);
                    after["set"] = serde_json::json!([
                        {"name": "serviceAccount.name", "type": "", "value": "external-dns"},
                        {"name": "serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn", "type": "", "value": arn}
                    ]);
                }
            }
            let mut manifest = resource_change(
                "kubernetes_manifest.reports_sa",
                serde_json::json!({"manifest": {"apiVersion": "v1", "kind": "ServiceAccount",
                    "metadata": {"name": "reports-job", "namespace": "reports",
                        "annotations": {"eks.amazonaws.com/role-arn": arn.replace("external-dns", "reports-job")}}},
                    "object": null, "timeouts": null, "wait": [], "field_manager": [], "computed_fields": null}),
            );
            manifest["provider_name"] = "registry.terraform.io/hashicorp/kubernetes".into();
            manifest["change"]["after_unknown"] = serde_json::json!({"object": true});
            let rcs = p["resource_changes"].as_array_mut().unwrap();
            rcs.retain(|r| r["address"] != "kubernetes_service_account_v1.reports");
            rcs.push(manifest);
        })
    };
    let broken = with("arn:aws:iam:111122223333:role/external-dns");
    let r = run(&[("plan.json", &broken)], ContextFlags::default());
    let malformed: Vec<String> = r
        .report
        .findings
        .iter()
        .filter(|f| f.rule == "IRSA303")
        .map(|f| f.subject.display())
        .collect();
    assert_eq!(
        malformed,
        vec![
            "ServiceAccount external-dns/external-dns".to_string(),
            "ServiceAccount reports/reports-job".to_string()
        ],
        "{:#?}",
        problems(&r)
    );
    // At the `set` value in the plan's line.
    let i = r
        .report
        .findings
        .iter()
        .position(|f| f.rule == "IRSA303" && f.subject.name == "external-dns")
        .unwrap();
    let l = r.locations[i].as_ref().unwrap();
    let at: String = broken.chars().skip(l.column - 1).take(44).collect();
    assert_eq!(at, "\"arn:aws:iam:111122223333:role/external-dns\"");
    let healthy = with("arn:aws:iam::111122223333:role/external-dns");
    let r = run(&[("plan.json", &healthy)], ContextFlags::default());
    assert!(
        !problems(&r).iter().any(|p| p.2 <= Severity::Warning),
        "{:#?}",
        problems(&r)
    );
    assert_eq!(
        r.checked.chains, 3,
        "external-dns, payments-api, reports-job"
    );
}

/// An EKS Pod Identity association whose role is declared elsewhere is asked of the
/// repository (lint the code that creates the role), never of a snapshot; declaring the
/// role beside it closes the gap.
#[test]
fn a_pod_identity_role_declared_elsewhere_is_asked_of_the_repository() {
    const ROLE: &str = "arn:aws:iam::111122223333:role/payments-pod-identity";
    let plan = |with_role: bool| {
        terraform_plan(|p| {
            let changes = p["resource_changes"].as_array_mut().unwrap();
            changes.push(resource_change(
                "aws_eks_pod_identity_association.payments",
                serde_json::json!({"cluster_name": "prod", "namespace": "payments",
                    "service_account": "payments-batch", "role_arn": ROLE, "tags": null}),
            ));
            if with_role {
                changes.push(resource_change(
                    "aws_iam_role.payments_pod_identity",
                    serde_json::json!({"name": "payments-pod-identity", "path": "/",
                        "arn": ROLE,
                        "assume_role_policy": serde_json::json!({"Version": "2012-10-17", "Statement": [{
                            "Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"},
                            "Action": ["sts:AssumeRole", "sts:TagSession"]}]}).to_string(),
                        "tags": null}),
                ));
            }
        })
    };
    let gaps = |r: &LintReport| -> Vec<(String, String)> {
        r.report
            .findings
            .iter()
            .filter(|f| f.cause == Cause::CollectionGap)
            .map(|f| (f.message.id.to_string(), f.message.render()))
            .collect()
    };
    let r = run(&[("plan.json", &plan(false))], ContextFlags::default());
    let g = gaps(&r);
    assert!(
        g.iter().any(|(id, text)| id == "lint-gap-pi-role"
            && text.starts_with(&format!(
                "role {ROLE} of the EKS Pod Identity association of payments/payments-batch is not declared by the inputs"
            ))),
        "{g:#?}"
    );
    for (id, text) in &g {
        assert!(!id.starts_with("gap-pi-"), "untranslated {id}: {text}");
        assert!(
            !text.contains("snapshot") && !text.contains("aws iam get-role"),
            "{text}"
        );
    }
    let r = run(&[("plan.json", &plan(true))], ContextFlags::default());
    assert!(
        !gaps(&r).iter().any(|(id, _)| id == "lint-gap-pi-role"),
        "{:#?}",
        gaps(&r)
    );
}
