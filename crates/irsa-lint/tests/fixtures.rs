//! The fixture repositories (examples/lint): each broken twin reports what is broken,
//! at the line and column of the offending value; each fixed twin is clean.

use irsa_lint::{lint, lint_paths, Config, LintOptions, LintReport, Outcome, Source};
use irsa_model::ContextFlags;
use irsa_rules::{Cause, Severity};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/lint")
        .join(name)
}

fn options(dir: &Path, flags: ContextFlags, namespace: Option<&str>) -> LintOptions {
    let config = std::fs::read_to_string(dir.join("irsa-doctor.toml"))
        .map(|t| Config::parse(&t).unwrap())
        .unwrap_or_default();
    LintOptions {
        flags,
        namespace: namespace.map(str::to_string),
        config,
    }
}

fn run(name: &str, flags: ContextFlags, namespace: Option<&str>) -> LintReport {
    let dir = fixture(name);
    lint_paths(std::slice::from_ref(&dir), &options(&dir, flags, namespace))
}

fn aws_env() -> ContextFlags {
    ContextFlags {
        account: Some("111122223333".into()),
        region: Some("us-west-2".into()),
        ..ContextFlags::default()
    }
}

/// (rule, file name, line) of every error and warning that is not a gap.
fn problems(r: &LintReport) -> Vec<(String, String, usize)> {
    r.report
        .findings
        .iter()
        .zip(&r.locations)
        .filter(|(f, _)| f.severity <= Severity::Warning && f.cause != Cause::CollectionGap)
        .map(|(f, l)| {
            let l = l.as_ref().expect("every finding is located");
            let file = Path::new(&l.path)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .to_string();
            (f.rule.to_string(), file, l.line)
        })
        .collect()
}

/// The text of a file at a finding's location.
fn text_at(r: &LintReport, rule: &str) -> String {
    let i = r
        .report
        .findings
        .iter()
        .position(|f| f.rule == rule)
        .unwrap_or_else(|| panic!("no {rule}"));
    let l = r.locations[i].as_ref().unwrap();
    let text = std::fs::read_to_string(&l.path).unwrap();
    let line = text.lines().nth(l.line - 1).unwrap();
    line.chars().skip(l.column - 1).take(90).collect()
}

fn assert_clean(r: &LintReport) {
    assert_eq!(problems(r), vec![], "{:#?}", r.report.findings);
    assert_eq!(r.outcome(Severity::Error), Outcome::Clean);
}

#[test]
fn helm_chart_and_terraform_role_are_linked_across_inputs() {
    let r = run(
        "helm-terraform/broken",
        ContextFlags::default(),
        Some("kube-system"),
    );
    assert_eq!(
        problems(&r),
        vec![("IRSA203".into(), "plan.json".into(), 1)]
    );
    let f = &r.report.findings[r
        .report
        .findings
        .iter()
        .position(|f| f.rule == "IRSA203")
        .unwrap()];
    assert!(f.message.render().contains(
        "it names ServiceAccount `aws-load-balancer-controller`, not `aws-lb-controller`"
    ));
    // At the condition value inside the plan's JSON string, relating the chart's annotation.
    assert!(
        text_at(&r, "IRSA203")
            .starts_with(r#"\"system:serviceaccount:kube-system:aws-load-balancer-controller\""#),
        "{}",
        text_at(&r, "IRSA203")
    );
    let i = r
        .report
        .findings
        .iter()
        .position(|f| f.rule == "IRSA203")
        .unwrap();
    let related = &r.related[i][0];
    assert!(related.path.ends_with("aws-load-balancer-controller.yaml"));
    assert_eq!((related.line, related.column), (14, 33));
    assert_eq!(r.outcome(Severity::Error), Outcome::Findings);
    assert_eq!(r.checked.chains, 1);

    let fixed = run(
        "helm-terraform/fixed",
        ContextFlags::default(),
        Some("kube-system"),
    );
    assert_clean(&fixed);
    assert_eq!(
        fixed.checked.chains, 1,
        "the link was evaluated, not skipped"
    );
}

#[test]
fn without_the_namespace_helm_leaves_out_the_trust_policy_names_another_subject() {
    // `helm template` prints the chart's ServiceAccount without a namespace: without
    // -n it lands in `default`, and the role (for kube-system) does not trust it.
    let r = run("helm-terraform/fixed", ContextFlags::default(), None);
    assert!(
        problems(&r).iter().any(|(rule, _, _)| rule == "IRSA203"),
        "{:#?}",
        r.report.findings
    );
}

#[test]
fn terraform_plan_roles_service_accounts_and_helm_values() {
    let r = run("terraform/broken", ContextFlags::default(), None);
    let rules: Vec<String> = problems(&r).into_iter().map(|p| p.0).collect();
    assert_eq!(
        rules,
        vec!["IRSA206", "IRSA205", "IRSA205", "IRSA204"],
        "{:#?}",
        r.report.findings
    );
    assert!(text_at(&r, "IRSA206").starts_with(r#"\"system:serviceaccount:external-dns:*\""#));
    assert!(text_at(&r, "IRSA205").starts_with(r#"\"https://oidc.eks.us-west-2.amazonaws.com"#));
    assert!(text_at(&r, "IRSA204").starts_with(r#"\"sts.amazon.com\""#));
    // The ServiceAccount of the Helm release (values) and of kubernetes_service_account_v1.
    let subjects: Vec<String> = r
        .report
        .findings
        .iter()
        .map(|f| f.subject.display())
        .collect();
    assert!(subjects.contains(&"ServiceAccount external-dns/external-dns".to_string()));
    assert!(subjects.contains(&"ServiceAccount payments/payments-api".to_string()));
    assert_eq!(r.checked.chains, 3);
    assert_clean(&run("terraform/fixed", ContextFlags::default(), None));
}

#[test]
fn values_known_only_after_apply_are_not_checked_never_passed() {
    let r = run("terraform-unknown", ContextFlags::default(), None);
    let gaps: Vec<String> = r
        .report
        .findings
        .iter()
        .filter(|f| f.cause == Cause::CollectionGap && f.severity == Severity::Warning)
        .map(|f| f.message.render())
        .collect();
    assert!(gaps.iter().any(|g| g.contains("trust policy of role app") && g.contains("known only after apply")), "{gaps:#?}");
    assert!(
        gaps.iter()
            .any(|g| g.contains("OIDC issuer of cluster prod")),
        "{gaps:#?}"
    );
    assert!(
        gaps.iter()
            .any(|g| g.contains("aws_iam_openid_connect_provider.this")),
        "{gaps:#?}"
    );
    assert_eq!(r.checked.chains, 0);
    assert!(matches!(
        r.outcome(Severity::Error),
        Outcome::NothingChecked(_)
    ));
}

#[test]
fn cloudformation_yaml_short_forms_and_pod_identity() {
    let r = run("cloudformation/broken", aws_env(), None);
    assert_eq!(
        problems(&r),
        vec![
            ("IRSA205".into(), "template.yaml".into(), 27),
            // The association beside the annotation: mechanism-conflict (the association
            // wins at the webhook), no longer credential-precedence.
            ("IRSA607".into(), "template.yaml".into(), 27),
            ("IRSA205".into(), "template.yaml".into(), 28),
        ],
        "{:#?}",
        r.report.findings
    );
    assert!(text_at(&r, "IRSA205").starts_with(
        "\"https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE:sub\""
    ));
    assert_clean(&run("cloudformation/fixed", aws_env(), None));
}

#[test]
fn cloudformation_values_chosen_at_deploy_are_named() {
    // Without --account the provider ARN (`!Ref` of the provider) is not decided.
    let r = run("cloudformation/fixed", ContextFlags::default(), None);
    let gap = r
        .report
        .findings
        .iter()
        .find(|f| f.message.id == "gap-not-decided" && f.severity == Severity::Warning)
        .expect("a gap");
    assert!(
        gap.message.render().contains("pass --account"),
        "{}",
        gap.message.render()
    );
    assert!(matches!(
        r.outcome(Severity::Error),
        Outcome::Incomplete(_) | Outcome::NothingChecked(_)
    ));
}

#[test]
fn cdk_out_federated_principal_default_action() {
    let r = run("cdk/broken", aws_env(), None);
    assert_eq!(
        problems(&r),
        vec![("IRSA201".into(), "IrsaAppStack.template.json".into(), 21)]
    );
    assert!(text_at(&r, "IRSA201").starts_with("\"sts:AssumeRole\""));
    // The ServiceAccount came from the cluster's manifest resource (Fn::Join + GetAtt).
    assert!(r
        .report
        .findings
        .iter()
        .any(|f| f.subject.display() == "ServiceAccount orders/orders-api"));
    assert_eq!(r.checked.serviceaccounts, 1);
    // The role has no RoleName (CDK's default): the annotation (`GetAtt Role.Arn`)
    // is linked to it by its logical id, and the fix edits the template, since no
    // command can name a role CloudFormation has not named yet.
    assert_eq!(r.checked.chains, 1);
    let f = r
        .report
        .findings
        .iter()
        .find(|f| f.rule == "IRSA201")
        .unwrap();
    assert!(f.fix.iter().all(|x| x.command.is_none()), "{:#?}", f.fix);
    assert!(
        f.fix[0].summary.contains("resource AppRole5A1B3F0B")
            && f.fix[0].summary.contains("IrsaAppStack.template.json")
            && f.fix[0]
                .summary
                .contains(r#""Action":"sts:AssumeRoleWithWebIdentity""#),
        "{}",
        f.fix[0].summary
    );
    assert!(r.report.findings.iter().any(|f| f
        .message
        .render()
        .contains("role AppRole5A1B3F0B has no RoleName")));
    let fixed = run("cdk/fixed", aws_env(), None);
    assert_clean(&fixed);
    assert_eq!(
        fixed.checked.chains, 1,
        "the link was evaluated, not skipped"
    );
}

#[test]
fn kustomize_output_manifests_only() {
    let r = run("kustomize/broken", ContextFlags::default(), None);
    assert_eq!(
        problems(&r),
        vec![
            ("IRSA303".into(), "rendered.yaml".into(), 12),
            ("IRSA302".into(), "rendered.yaml".into(), 32),
            ("IRSA405".into(), "rendered.yaml".into(), 72),
            ("IRSA401".into(), "rendered.yaml".into(), 88),
        ],
        "{:#?}",
        r.report.findings
    );
    assert!(text_at(&r, "IRSA303").starts_with("arn:aws:iam::111122223333:role/ orders-worker"));
    assert!(text_at(&r, "IRSA302").starts_with("eks.amazonaws.com/role_arn"));
    let fixed = run("kustomize/fixed", ContextFlags::default(), None);
    assert_clean(&fixed);
    // The roles are not in these inputs: that is said, and only allow-gaps lets it pass.
    assert!(fixed
        .report
        .findings
        .iter()
        .any(|f| f.rule == "IRSA101" && f.cause == Cause::CollectionGap));
    let mut strict = fixed.clone();
    strict.allow_gaps = false;
    assert!(matches!(
        strict.outcome(Severity::Error),
        Outcome::Incomplete(_)
    ));
}

#[test]
fn eksctl_cluster_config() {
    let r = run("eksctl/broken", ContextFlags::default(), None);
    assert_eq!(
        problems(&r),
        vec![
            ("IRSA304".into(), "cluster.yaml".into(), 19),
            ("IRSA303".into(), "cluster.yaml".into(), 20),
            ("IRSA607".into(), "cluster.yaml".into(), 24),
        ],
        "{:#?}",
        r.report.findings
    );
    assert!(text_at(&r, "IRSA303").starts_with("arn:aws:iam:111122223333:role/s3-reader"));
    assert_clean(&run("eksctl/fixed", ContextFlags::default(), None));
}

#[test]
fn inline_suppression_and_configured_levels() {
    let dir = fixture("kustomize/broken");
    let text = std::fs::read_to_string(dir.join("rendered.yaml")).unwrap();
    let marked = text.replacen(
        "    eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/ orders-worker",
        "    eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/ orders-worker # irsa-doctor: ignore IRSA303",
        1,
    );
    assert_ne!(marked, text);
    let src = |t: &str| {
        vec![Source {
            path: "rendered.yaml".into(),
            text: t.into(),
        }]
    };
    let base = options(&dir, ContextFlags::default(), None);
    let before = lint(&src(&text), vec![], &base);
    let after = lint(&src(&marked), vec![], &base);
    assert!(before.report.findings.iter().any(|f| f.rule == "IRSA303"));
    assert!(!after.report.findings.iter().any(|f| f.rule == "IRSA303"));
    assert_eq!(after.suppressed, 1);
    assert_eq!(
        after.report.findings.len() + 1,
        before.report.findings.len()
    );

    // A block comment above the Deployment silences what is inside it, and only that rule.
    let block = text.replacen(
        "apiVersion: apps/v1\nkind: Deployment",
        "# irsa-doctor: ignore env-preset-conflict\napiVersion: apps/v1\nkind: Deployment",
        1,
    );
    let r = lint(&src(&block), vec![], &base);
    assert!(
        r.report.findings.iter().any(|f| f.rule == "IRSA405"),
        "the comment covers the `apiVersion` line only"
    );
    let block = text.replacen(
        "spec:\n  replicas: 3",
        "# irsa-doctor: ignore env-preset-conflict\nspec:\n  replicas: 3",
        1,
    );
    let r = lint(&src(&block), vec![], &base);
    assert!(!r.report.findings.iter().any(|f| f.rule == "IRSA405"));
    assert!(r.report.findings.iter().any(|f| f.rule == "IRSA303"));

    let mut cfg = base.clone();
    cfg.config = Config::parse("[lint]\nallow-gaps = true\n[lint.rules]\nIRSA303 = \"warning\"\nIRSA405 = \"off\"\nIRSA302 = \"off\"\nIRSA401 = \"info\"\n").unwrap();
    let r = lint(&src(&text), vec![], &cfg);
    assert!(r.report.findings.iter().all(|f| f.rule != "IRSA405"));
    assert!(r
        .report
        .findings
        .iter()
        .any(|f| f.rule == "IRSA303" && f.severity == Severity::Warning));
    assert_eq!(r.outcome(Severity::Error), Outcome::Clean);
    assert_eq!(r.outcome(Severity::Warning), Outcome::Findings);
}

#[test]
fn a_run_that_checked_nothing_never_passes() {
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata: {a: b}\n";
    let r = lint(
        &[Source {
            path: "cm.yaml".into(),
            text: cm.into(),
        }],
        vec![],
        &LintOptions::default(),
    );
    assert!(matches!(
        r.outcome(Severity::Error),
        Outcome::NothingChecked(_)
    ));
    let r = lint(&[], vec![], &LintOptions::default());
    assert!(matches!(
        r.outcome(Severity::Error),
        Outcome::NothingChecked(_)
    ));
}

#[test]
fn a_syntax_error_is_rejected_with_its_position_and_the_rest_still_linted() {
    let good = std::fs::read_to_string(fixture("kustomize/broken/rendered.yaml")).unwrap();
    let bad = "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: x\n   namespace: y\n";
    let r = lint(
        &[
            Source {
                path: "bad.yaml".into(),
                text: bad.into(),
            },
            Source {
                path: "good.yaml".into(),
                text: good,
            },
        ],
        vec![],
        &LintOptions::default(),
    );
    assert_eq!(r.inputs.rejected.len(), 1);
    assert_eq!(r.inputs.rejected[0].path, "bad.yaml");
    assert_eq!(r.inputs.rejected[0].line, Some(5));
    assert!(
        r.report.findings.iter().any(|f| f.rule == "IRSA303"),
        "the other file is still linted"
    );
    assert_eq!(r.outcome(Severity::Error), Outcome::RejectedInputs(1));
}

#[test]
fn webhook_relevant_pod_spec_of_templates() {
    // A template with the webhook's skip label, and a non-root container without
    // fsGroup on a 1.18 cluster (eksctl's version), beside its annotated ServiceAccount.
    let manifests = "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: app\n  namespace: web\n  annotations:\n    eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/app\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\n  namespace: web\nspec:\n  template:\n    metadata:\n      labels:\n        eks.amazonaws.com/skip-pod-identity-webhook: \"true\"\n    spec:\n      serviceAccountName: app\n      containers:\n      - name: app\n        image: app:1\n---\napiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: db\n  namespace: web\nspec:\n  template:\n    spec:\n      serviceAccountName: app\n      securityContext:\n        runAsUser: 1000\n      containers:\n      - name: db\n        image: db:1\n";
    let eksctl = "apiVersion: eksctl.io/v1alpha5\nkind: ClusterConfig\nmetadata:\n  name: old\n  region: us-west-2\n  version: \"1.18\"\n";
    let r = lint(
        &[
            Source {
                path: "app.yaml".into(),
                text: manifests.into(),
            },
            Source {
                path: "cluster.yaml".into(),
                text: eksctl.into(),
            },
        ],
        vec![],
        &LintOptions::default(),
    );
    let got: Vec<(String, usize)> = r
        .report
        .findings
        .iter()
        .zip(&r.locations)
        .filter(|(f, _)| f.cause != Cause::CollectionGap)
        .map(|(f, l)| (f.message.id.to_string(), l.as_ref().unwrap().line))
        .collect();
    assert!(
        got.contains(&("webhook-skip-label".to_string(), 18)),
        "{got:?}"
    );
    assert!(
        got.contains(&("token-permission".to_string(), 35)),
        "{got:?}"
    );
    // The same on a current cluster: no token-permission finding.
    let r = lint(
        &[
            Source {
                path: "app.yaml".into(),
                text: manifests.into(),
            },
            Source {
                path: "cluster.yaml".into(),
                text: eksctl.replace("1.18", "1.31"),
            },
        ],
        vec![],
        &LintOptions::default(),
    );
    assert!(!r
        .report
        .findings
        .iter()
        .any(|f| f.message.id == "token-permission"));
}

#[test]
fn kubectl_lists_are_read_item_by_item() {
    let list = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ServiceAccount\n  metadata:\n    name: a\n    namespace: n\n    annotations:\n      eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/a:b\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: c, namespace: n}\nmetadata:\n  resourceVersion: \"\"\n";
    let r = lint(
        &[Source {
            path: "list.yaml".into(),
            text: list.into(),
        }],
        vec![],
        &LintOptions::default(),
    );
    assert_eq!(r.checked.serviceaccounts, 1);
    assert_eq!(r.recognised.kubernetes_other, 1);
    let i = r
        .report
        .findings
        .iter()
        .position(|f| f.rule == "IRSA303")
        .expect("the malformed ARN of the list item");
    assert_eq!(r.locations[i].as_ref().unwrap().line, 10);
}

#[test]
fn fixes_are_edits_of_the_inputs_not_live_commands() {
    // Every broken twin: each error's fixes name the place to edit (a command on the
    // cluster or account would be undone by the next deploy, or fail on a role a plan
    // has yet to create), and a trust-policy fix carries the corrected document.
    let mut trust_fixes = 0;
    for (name, flags, ns) in [
        (
            "helm-terraform/broken",
            ContextFlags::default(),
            Some("kube-system"),
        ),
        ("terraform/broken", ContextFlags::default(), None),
        ("cloudformation/broken", aws_env(), None),
        ("cdk/broken", aws_env(), None),
        ("kustomize/broken", ContextFlags::default(), None),
        ("eksctl/broken", ContextFlags::default(), None),
    ] {
        let r = run(name, flags, ns);
        let errors: Vec<_> = r
            .report
            .findings
            .iter()
            .zip(&r.locations)
            .filter(|(f, _)| f.severity == Severity::Error)
            .collect();
        assert!(!errors.is_empty(), "{name}");
        for (f, l) in errors {
            let at = l.as_ref().unwrap().display();
            assert!(!f.fix.is_empty(), "{name}: {} has no fix", f.rule);
            for fix in &f.fix {
                assert!(fix.command.is_none(), "{name}: {:?}", fix);
                if f.rule.starts_with("IRSA20") {
                    assert!(
                        fix.summary.contains(&format!("edit {at}")),
                        "{name}: {}",
                        fix.summary
                    );
                    assert!(
                        fix.summary.contains("the corrected policy: {"),
                        "{}",
                        fix.summary
                    );
                    trust_fixes += 1;
                }
            }
        }
    }
    assert!(trust_fixes >= 6, "{trust_fixes}");
}

#[test]
fn not_checked_notes_speak_of_inputs_not_of_a_live_cluster() {
    // The rules that read software and permission documents (sdk-too-old,
    // role-permissions) ask a snapshot for `kubectl exec` outputs and policy documents;
    // asked of a repository, each note names what the inputs lack instead.
    let mut sdk_notes = 0;
    for name in [
        "helm-terraform/broken",
        "helm-terraform/fixed",
        "terraform/broken",
        "terraform/fixed",
        "cloudformation/broken",
        "cloudformation/fixed",
        "cdk/broken",
        "cdk/fixed",
        "kustomize/broken",
        "kustomize/fixed",
        "eksctl/broken",
        "eksctl/fixed",
    ] {
        let flags = if name.starts_with("cloudformation") || name.starts_with("cdk") {
            aws_env()
        } else {
            ContextFlags::default()
        };
        let r = run(name, flags, None);
        for f in
            r.report.findings.iter().filter(|f| {
                f.cause == Cause::CollectionGap && ["IRSA102", "IRSA408"].contains(&f.rule)
            })
        {
            let m = f.message.render();
            for live in [
                "kubectl exec",
                "snapshot",
                "add the output of",
                "aws iam get-policy",
                "aws iam get-role-policy",
                "aws iam list-",
            ] {
                assert!(!m.contains(live), "{name}: {} says `{live}`: {m}", f.rule);
            }
            if m.contains("the inputs do not say which") {
                sdk_notes += 1;
            }
        }
    }
    assert!(sdk_notes > 0, "no SDK note was mapped");
}

#[test]
fn pod_identity_agent_gap_says_what_lint_can_and_cannot_see() {
    // The associations are in the repository; the agent (an EKS add-on's DaemonSet and
    // its pods on the nodes) exists only in the running cluster: lint says so, and sends
    // to `check`, never to a snapshot file or a kubectl listing it cannot read.
    for name in ["pod-identity-agent/eksctl/broken", "cloudformation/broken"] {
        let r = run(name, aws_env(), None);
        let notes: Vec<String> = r
            .report
            .findings
            .iter()
            .filter(|f| f.rule == "IRSA604")
            .map(|f| f.message.render())
            .collect();
        assert_eq!(notes.len(), 1, "{name}: {notes:?}");
        let m = &notes[0];
        assert!(
            m.contains("not checked") && m.contains("lint reads manifests"),
            "{m}"
        );
        assert!(m.contains("`irsa-doctor check`"), "{m}");
        for live in ["snapshot", "kubectl get", "describe-addon", "aws_eks_addon"] {
            assert!(!m.contains(live), "{name}: `{live}` in {m}");
        }
    }
}

#[test]
fn an_eksctl_cluster_config_with_the_agent_add_on_leaves_no_agent_gap() {
    // eksctl/{broken,fixed} declare `addons: - name: eks-pod-identity-agent`.
    for name in ["eksctl/broken", "eksctl/fixed"] {
        let r = run(name, ContextFlags::default(), None);
        assert!(
            !r.report.findings.iter().any(|f| f.rule == "IRSA604"),
            "{name}: {:#?}",
            r.report.findings
        );
        assert!(
            r.report.passes.iter().any(|p| p.rule == "IRSA604"),
            "{name}"
        );
    }
}
