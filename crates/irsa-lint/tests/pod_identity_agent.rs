//! IRSA604 in a repository: the eks-pod-identity-agent add-on declared for the cluster
//! of the EKS Pod Identity associations (a pass), not declared ("not checked", exit 2
//! unless gaps are allowed), or declared for another cluster ("not checked" for the
//! associations' cluster), in each input kind that declares add-ons
//! (examples/lint/pod-identity-agent, written by examples/lint/make_fixtures.py); and
//! the agent's own DaemonSet in manifests, judged by the rule as `check` judges it.

use irsa_lint::{lint, lint_paths, LintOptions, LintReport, Outcome, Source};
use irsa_model::ContextFlags;
use irsa_rules::{Cause, Severity};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/lint/pod-identity-agent")
        .join(name)
}

fn options() -> LintOptions {
    LintOptions {
        flags: ContextFlags {
            account: Some("111122223333".into()),
            region: Some("us-west-2".into()),
            // A CloudFormation cluster's issuer is assigned at creation.
            issuer: Some(
                "https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
                    .into(),
            ),
            ..ContextFlags::default()
        },
        ..LintOptions::default()
    }
}

fn run(name: &str, allow_gaps: bool) -> LintReport {
    let mut options = options();
    options.config.allow_gaps = allow_gaps;
    lint_paths(&[fixture(name)], &options)
}

/// Lints files given inline, beside the fixture's ServiceAccount and Deployment.
fn run_inline(files: &[(&str, String)]) -> LintReport {
    let app = std::fs::read_to_string(fixture("eksctl/fixed/app.yaml")).unwrap();
    let mut sources: Vec<Source> = files
        .iter()
        .map(|(p, t)| Source {
            path: (*p).into(),
            text: t.clone(),
        })
        .collect();
    sources.push(Source {
        path: "app.yaml".into(),
        text: app,
    });
    lint(&sources, vec![], &options())
}

/// IRSA604 findings: (message id, subject, file name, line, column).
fn agent_findings(r: &LintReport) -> Vec<(String, String, String, usize, usize)> {
    r.report
        .findings
        .iter()
        .zip(&r.locations)
        .filter(|(f, _)| f.rule == "IRSA604")
        .map(|(f, l)| {
            let l = l.as_ref().expect("every finding is located");
            let file = Path::new(&l.path)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .to_string();
            (
                f.message.id.to_string(),
                f.subject.name.to_string(),
                file,
                l.line,
                l.column,
            )
        })
        .collect()
}

fn agent_passes(r: &LintReport) -> Vec<String> {
    r.report
        .passes
        .iter()
        .filter(|p| p.rule == "IRSA604")
        .map(|p| p.message.render())
        .collect()
}

const GAP: &str = "lint-gap-pi-agent";

#[test]
fn terraform_plan_addon_of_the_eks_module() {
    // module.eks.aws_eks_addon.this["eks-pod-identity-agent"] for cluster prod.
    let r = run("terraform/fixed", false);
    assert_eq!(agent_findings(&r), vec![], "{:#?}", r.report.findings);
    let passes = agent_passes(&r);
    assert_eq!(passes.len(), 1, "{passes:?}");
    assert!(
        passes[0].contains("declared for cluster prod"),
        "{passes:?}"
    );
    // The add-on's `addon_name` in the one-line plan.
    assert!(passes[0].contains("plan.json:1:"), "{passes:?}");
    assert_eq!(r.outcome(Severity::Error), Outcome::Clean);

    // No add-on: not checked, with lint's wording, at the cluster the plan reads.
    let r = run("terraform/broken", false);
    let f = agent_findings(&r);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(
        (f[0].0.as_str(), f[0].1.as_str(), f[0].2.as_str()),
        (GAP, "prod", "plan.json")
    );
    assert!(agent_passes(&r).is_empty());
    assert_eq!(r.outcome(Severity::Error), Outcome::Incomplete(1));
    assert_eq!(
        run("terraform/broken", true).outcome(Severity::Error),
        Outcome::Clean
    );

    // The add-on of cluster staging settles nothing for prod's associations.
    let r = run("terraform/other-cluster", false);
    let f = agent_findings(&r);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!((f[0].0.as_str(), f[0].1.as_str()), (GAP, "prod"));
    assert!(agent_passes(&r).is_empty());
    assert_eq!(r.outcome(Severity::Error), Outcome::Incomplete(1));
}

#[test]
fn cloudformation_addon_whose_cluster_name_is_a_ref() {
    let r = run("cloudformation/fixed", false);
    assert_eq!(agent_findings(&r), vec![], "{:#?}", r.report.findings);
    let passes = agent_passes(&r);
    assert_eq!(passes.len(), 1, "{passes:?}");
    // AddonName of PodIdentityAgent.
    assert!(
        passes[0].contains("cluster prod") && passes[0].contains("template.yaml:17:18"),
        "{passes:?}"
    );
    assert_eq!(r.outcome(Severity::Error), Outcome::Clean);

    let r = run("cloudformation/broken", false);
    let f = agent_findings(&r);
    assert_eq!(f.len(), 1, "{f:?}");
    // At the cluster resource (line 6: `Type: AWS::EKS::Cluster` of Cluster).
    assert_eq!(
        f[0],
        (GAP.into(), "prod".into(), "template.yaml".into(), 6, 5)
    );
    assert_eq!(r.outcome(Severity::Error), Outcome::Incomplete(1));

    // `ClusterName: !Ref StagingCluster` (Name: staging).
    let r = run("cloudformation/other-cluster", false);
    let f = agent_findings(&r);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!((f[0].0.as_str(), f[0].1.as_str()), (GAP, "prod"));
    assert!(agent_passes(&r).is_empty());
    assert_eq!(r.outcome(Severity::Error), Outcome::Incomplete(1));
}

#[test]
fn eksctl_addons_of_the_cluster_config() {
    // The role of the association is created outside these files: that gap stays; the
    // agent's does not.
    let r = run("eksctl/fixed", false);
    assert_eq!(agent_findings(&r), vec![], "{:#?}", r.report.findings);
    let passes = agent_passes(&r);
    assert!(
        passes.len() == 1 && passes[0].contains("prod.yaml:18:9"),
        "{passes:?}"
    );

    let gaps = |r: &LintReport| {
        r.report
            .findings
            .iter()
            .filter(|f| f.cause == Cause::CollectionGap && f.severity <= Severity::Warning)
            .count()
    };
    let broken = run("eksctl/broken", false);
    assert_eq!(
        agent_findings(&broken),
        vec![(GAP.into(), "prod".into(), "prod.yaml".into(), 7, 9)]
    );
    assert_eq!(gaps(&broken), gaps(&r) + 1);

    // staging.yaml declares the add-on for staging, prod.yaml the associations.
    let r = run("eksctl/other-cluster", false);
    let f = agent_findings(&r);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(
        (f[0].0.as_str(), f[0].1.as_str(), f[0].2.as_str()),
        (GAP, "prod", "prod.yaml")
    );
    assert!(agent_passes(&r).is_empty());
}

#[test]
fn the_agent_daemonset_in_manifests_is_judged_as_check_judges_it() {
    // kube-system/eks-pod-identity-agent on the host network: no gap, a pass.
    let r = run("manifests/fixed", false);
    assert_eq!(agent_findings(&r), vec![], "{:#?}", r.report.findings);
    let passes = agent_passes(&r);
    assert_eq!(passes.len(), 1);
    // A manifest carries no status: readiness is said to be unknown, never "? of ?".
    assert!(
        passes[0].contains("host network") && passes[0].contains("not in the inputs"),
        "{passes:?}"
    );
    assert!(!passes[0].contains('?'), "{passes:?}");
    assert_eq!(r.outcome(Severity::Error), Outcome::Clean);

    // Without hostNetwork: the rule's error, at the DaemonSet's pod spec.
    let r = run("manifests/broken", false);
    assert_eq!(
        agent_findings(&r),
        vec![(
            "pi-agent-not-host-network".into(),
            "prod".into(),
            "agent.yaml".into(),
            20,
            7
        )]
    );
    assert_eq!(r.outcome(Severity::Error), Outcome::Findings);
}

#[test]
fn an_auto_mode_cluster_has_the_agent_built_in() {
    // eksctl `autoModeConfig.enabled`, its default (false), and `true`.
    let prod = std::fs::read_to_string(fixture("eksctl/broken/prod.yaml")).unwrap();
    for (setting, auto) in [
        ("", false),
        ("autoModeConfig:\n  enabled: false\n", false),
        ("autoModeConfig:\n  enabled: true\n", true),
    ] {
        let r = run_inline(&[("prod.yaml", format!("{prod}{setting}"))]);
        let f = agent_findings(&r);
        let passes = agent_passes(&r);
        if auto {
            assert_eq!(f, vec![], "{setting}");
            assert!(
                passes.len() == 1 && passes[0].contains("runs EKS Auto Mode (prod.yaml:22:12)"),
                "{passes:?}"
            );
        } else {
            assert_eq!(f.len(), 1, "{setting}: {f:?}");
            assert!(passes.is_empty());
        }
    }

    // CloudFormation `ComputeConfig.Enabled` of the cluster.
    let template = std::fs::read_to_string(fixture("cloudformation/broken/template.yaml")).unwrap();
    for (enabled, auto) in [("false", false), ("true", true)] {
        let t = template.replace(
            "      Version: \"1.31\"\n",
            &format!("      Version: \"1.31\"\n      ComputeConfig:\n        Enabled: {enabled}\n"),
        );
        let r = run_inline(&[("template.yaml", t)]);
        assert_eq!(agent_findings(&r).is_empty(), auto, "{enabled}");
        assert_eq!(agent_passes(&r).len(), usize::from(auto), "{enabled}");
    }

    // Terraform `aws_eks_cluster` with `compute_config { enabled = true }`.
    let plan: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("terraform/broken/plan.json")).unwrap(),
    )
    .unwrap();
    for (enabled, auto) in [(false, false), (true, true)] {
        let mut p = plan.clone();
        p["resource_changes"].as_array_mut().unwrap().push(serde_json::json!({
            "address": "aws_eks_cluster.this", "mode": "managed", "type": "aws_eks_cluster",
            "name": "this", "provider_name": "registry.terraform.io/hashicorp/aws",
            "change": {"actions": ["update"], "before": null,
                "after": {"name": "prod", "version": "1.31",
                    "compute_config": [{"enabled": enabled, "node_pools": ["general-purpose"]}]},
                "after_unknown": {"identity": true}}
        }));
        let r = run_inline(&[("plan.json", p.to_string())]);
        assert_eq!(agent_findings(&r).is_empty(), auto, "{enabled}");
        assert_eq!(agent_passes(&r).len(), usize::from(auto), "{enabled}");
    }
}

#[test]
fn an_add_on_whose_cluster_is_decided_at_deploy_is_named_by_the_gap() {
    // Terraform: `cluster_name` known only after apply.
    let mut plan: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("terraform/fixed/plan.json")).unwrap(),
    )
    .unwrap();
    for rc in plan["resource_changes"].as_array_mut().unwrap() {
        if rc["type"] == "aws_eks_addon" {
            rc["change"]["after"]
                .as_object_mut()
                .unwrap()
                .remove("cluster_name");
            rc["change"]["after_unknown"]["cluster_name"] = true.into();
        }
    }
    let r = run_inline(&[("plan.json", plan.to_string())]);
    let f = agent_findings(&r);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(
        (f[0].0.as_str(), f[0].1.as_str(), f[0].2.as_str(), f[0].3),
        ("lint-gap-pi-agent-addon-cluster", "prod", "plan.json", 1)
    );
    let text = r
        .report
        .findings
        .iter()
        .find(|f| f.rule == "IRSA604")
        .unwrap()
        .message
        .render();
    // The position the gap names is the add-on's `addon_name`.
    let plan_text = plan.to_string();
    let column = f[0].4;
    assert!(
        plan_text[column - 1..].starts_with("\"eks-pod-identity-agent\""),
        "{}",
        &plan_text[column - 1..column + 40]
    );
    assert!(
        text.contains(&format!("plan.json:1:{column}")) && text.contains("not checked"),
        "{text}"
    );
    assert!(agent_passes(&r).is_empty());
    assert_eq!(r.outcome(Severity::Error), Outcome::Incomplete(1));

    // CloudFormation: ClusterName from a parameter.
    let t = std::fs::read_to_string(fixture("cloudformation/fixed/template.yaml"))
        .unwrap()
        .replace(
            "Resources:\n",
            "Parameters:\n  AddonCluster:\n    Type: String\n\nResources:\n",
        )
        .replace(
            "      AddonName: eks-pod-identity-agent\n      ClusterName: !Ref Cluster",
            "      AddonName: eks-pod-identity-agent\n      ClusterName: !Ref AddonCluster",
        );
    let r = run_inline(&[("template.yaml", t)]);
    let f = agent_findings(&r);
    assert_eq!(
        f,
        vec![(
            "lint-gap-pi-agent-addon-cluster".into(),
            "prod".into(),
            "template.yaml".into(),
            // `AddonName: eks-pod-identity-agent` (four lines of Parameters above).
            21,
            18
        )]
    );
}
