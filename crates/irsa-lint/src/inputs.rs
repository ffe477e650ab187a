//! Recognises each document by its content and hands it to the reader of its kind:
//! a Terraform plan (`terraform show -json`), an eksctl ClusterConfig, a
//! CloudFormation template (also `cdk synth` output), or Kubernetes objects (single,
//! multi-document, `List`; `helm template` and `kustomize build` print these).

use crate::model::{Anchor, Declared};
use crate::node::{self, Kind, Node};
use crate::{cloudformation, terraform};
use irsa_model::Rejected;
use serde_json::{json, Value};
use std::sync::Arc;

/// What a document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocKind {
    /// `terraform show -json` of a plan (or a state).
    Terraform,
    /// eksctl `ClusterConfig`.
    Eksctl,
    /// CloudFormation template (JSON or YAML; `cdk synth` output).
    CloudFormation,
    /// Kubernetes object(s).
    Kubernetes,
    /// None of these.
    Other,
}

/// Decides what a document is, from its content only.
pub fn classify(doc: &Node) -> DocKind {
    if doc.as_map().is_none() {
        return DocKind::Other;
    }
    if doc.get("format_version").is_some()
        && (doc.get("resource_changes").is_some()
            || doc.get("planned_values").is_some()
            || doc.get("values").is_some()
            || doc.get("prior_state").is_some())
    {
        return DocKind::Terraform;
    }
    let api = doc.str_at(&["apiVersion"]);
    let kind = doc.str_at(&["kind"]);
    if api.is_some_and(|a| a.starts_with("eksctl.io/")) && kind == Some("ClusterConfig") {
        return DocKind::Eksctl;
    }
    if let Some(resources) = doc.get("Resources").and_then(Node::as_map) {
        let typed = resources.iter().any(|(_, r)| {
            r.str_at(&["Type"])
                .is_some_and(|t| t.starts_with("AWS::") || t.starts_with("Custom::"))
        });
        if typed || doc.get("AWSTemplateFormatVersion").is_some() {
            return DocKind::CloudFormation;
        }
    }
    if (api.is_some() && kind.is_some()) || doc.get("items").and_then(Node::as_seq).is_some() {
        return DocKind::Kubernetes;
    }
    DocKind::Other
}

/// Reads one file's text.
pub fn read_text(d: &mut Declared, path: &Arc<str>, text: &str, rejected: &mut Vec<Rejected>) {
    let body = text.trim_start_matches('\u{feff}');
    let docs = match node::parse(body) {
        Ok(docs) => docs,
        Err(e) => {
            let what = if body.trim_start().starts_with(['{', '[']) {
                "invalid JSON"
            } else {
                "invalid YAML"
            };
            rejected.push(Rejected {
                path: path.to_string(),
                line: (e.line > 0).then_some(e.line),
                column: (e.line > 0).then_some(e.column),
                error: format!("{what}: {}", e.message),
            });
            return;
        }
    };
    for doc in &docs {
        match classify(doc) {
            DocKind::Terraform => terraform::read(d, path, body, doc),
            DocKind::Eksctl => eksctl(d, path, doc),
            DocKind::CloudFormation => cloudformation::read(d, path, doc),
            DocKind::Kubernetes => kubernetes(d, path, doc),
            DocKind::Other if doc.is_null() => {}
            DocKind::Other => d.recognised.other += 1,
        }
    }
}

/// Kubernetes objects: one, or the items of a `List` (`kind: List`, `*List`, or any
/// object with `items`), as `kubectl` prints them.
pub fn kubernetes(d: &mut Declared, path: &Arc<str>, doc: &Node) {
    if let Some(items) = doc.get("items").and_then(Node::as_seq) {
        let item_kind = doc
            .str_at(&["kind"])
            .and_then(|k| k.strip_suffix("List"))
            .filter(|k| !k.is_empty());
        for item in items {
            let mut json = item.to_json();
            if json.get("kind").is_none() {
                if let (Some(k), Some(o)) = (item_kind, json.as_object_mut()) {
                    o.insert("kind".into(), Value::String(k.to_string()));
                }
            }
            d.object(json, Anchor::new(path, item));
        }
        return;
    }
    d.object(doc.to_json(), Anchor::new(path, doc));
}

/// eksctl `ClusterConfig` (<https://eksctl.io/usage/schema/>): the cluster's region and
/// version, `iam.serviceAccounts` (eksctl creates each ServiceAccount, annotated with
/// `attachRoleARN` or the role it creates), and `iam.podIdentityAssociations`.
pub fn eksctl(d: &mut Declared, path: &Arc<str>, doc: &Node) {
    d.recognised.eksctl += 1;
    let cluster = doc
        .str_at(&["metadata", "name"])
        .unwrap_or_default()
        .to_string();
    // eksctl creates the cluster, so its issuer is assigned then.
    d.clusters.push(crate::model::DeclaredCluster {
        name: cluster.clone(),
        arn: None,
        region: doc.str_at(&["metadata", "region"]).map(str::to_string),
        version: doc
            .at(&["metadata", "version"])
            .and_then(Node::scalar_text)
            .map(|v| v.into_owned()),
        issuer: None,
        at: Anchor::new(path, doc.at(&["metadata", "name"]).unwrap_or(doc)),
    });
    if let Some(r) = doc.str_at(&["metadata", "region"]) {
        d.regions.insert(r.to_string());
    }
    if let Some(v) = doc.at(&["metadata", "version"]).and_then(Node::scalar_text) {
        d.versions.insert(v.into_owned());
    }
    let with_oidc = doc.at(&["iam", "withOIDC"]);
    d.eksctl_oidc.push(crate::model::EksctlOidc {
        cluster: cluster.clone(),
        enabled: with_oidc.and_then(Node::as_bool) == Some(true),
        written: with_oidc
            .and_then(Node::scalar_text)
            .map(|t| t.into_owned()),
        service_accounts: doc
            .at(&["iam", "serviceAccounts"])
            .and_then(Node::as_seq)
            .map_or(0, <[Node]>::len),
        at: Anchor::new(
            path,
            with_oidc
                .or_else(|| doc.entry("iam").map(|(k, _)| k))
                .or_else(|| doc.at(&["metadata", "name"]))
                .unwrap_or(doc),
        ),
    });
    let accounts: Vec<String> = d.accounts.iter().cloned().collect();
    for sa in doc
        .at(&["iam", "serviceAccounts"])
        .and_then(Node::as_seq)
        .unwrap_or_default()
    {
        let name = sa
            .str_at(&["metadata", "name"])
            .unwrap_or_default()
            .to_string();
        // eksctl's default namespace is `default` (see its example 13).
        let ns = sa
            .str_at(&["metadata", "namespace"])
            .unwrap_or("default")
            .to_string();
        let mut meta = sa.get("metadata").map(Node::to_json).unwrap_or(json!({}));
        if let Some(m) = meta.as_object_mut() {
            m.insert("namespace".into(), Value::String(ns.clone()));
        }
        let role = sa
            .str_at(&["attachRoleARN"])
            .map(str::to_string)
            .or_else(|| {
                let role_name = sa.str_at(&["roleName"])?;
                let account = (accounts.len() == 1).then(|| accounts[0].clone())?;
                Some(format!("arn:aws:iam::{account}:role/{role_name}"))
            });
        if sa.get("roleOnly").and_then(Node::as_bool) == Some(true) {
            continue; // eksctl creates the role only; the ServiceAccount is declared elsewhere
        }
        match role {
            Some(arn) => {
                let annotations = meta
                    .as_object_mut()
                    .map(|m| m.entry("annotations").or_insert_with(|| json!({})));
                if let Some(Value::Object(a)) = annotations {
                    a.insert("eks.amazonaws.com/role-arn".into(), Value::String(arn));
                }
                d.object(
                    json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta}),
                    Anchor::new(path, sa),
                );
            }
            None => d.gaps.push(crate::model::Gap {
                path: path.clone(),
                pos: sa.start,
                subject: irsa_rules::Subject::namespaced("ServiceAccount", &ns, &name),
                // eksctl v0.230.0 pkg/iam/oidc/api.go
                // (MakeAssumeRolePolicyDocumentWithServiceAccountConditions) writes
                // StringEquals on `<issuer>:sub` = system:serviceaccount:<ns>:<name> and
                // `<issuer>:aud` = sts.amazonaws.com for the role it creates.
                why: format!(
                    "eksctl creates the role of ServiceAccount {ns}/{name} and its trust policy for exactly this ServiceAccount and audience; the role's ARN is known after `eksctl create iamserviceaccount`"
                ),
                info: true,
            }),
        }
    }
    // `addons: - name: eks-pod-identity-agent`, which eksctl requires before it creates
    // `iam.podIdentityAssociations` (eksctl user guide, "EKS Pod Identity Associations",
    // Prerequisites: https://docs.aws.amazon.com/eks/latest/eksctl/pod-identity-associations.html;
    // eksctl examples/39-pod-identity-association.yaml). The add-on is for this cluster.
    for a in doc
        .at(&["addons"])
        .and_then(Node::as_seq)
        .unwrap_or_default()
    {
        if let Some(n) = a
            .get("name")
            .filter(|n| n.as_str() == Some(irsa_model::pod_identity::AGENT_NAME))
        {
            d.agent_addons.push(crate::model::DeclaredAddon {
                cluster: Some(cluster.clone()),
                auto_mode: false,
                at: Anchor::new(path, n),
            });
        }
    }
    // `autoModeConfig.enabled: true` (default false): eksctl creates the cluster with
    // `computeConfig.enabled: true`, EKS Auto Mode, whose nodes have the agent built in
    // (eksctl user guide, "EKS Auto Mode": https://docs.aws.amazon.com/eks/latest/eksctl/auto-mode.html).
    if let Some(n) = doc
        .at(&["autoModeConfig", "enabled"])
        .filter(|n| n.as_bool() == Some(true))
    {
        d.agent_addons.push(crate::model::DeclaredAddon {
            cluster: Some(cluster.clone()),
            auto_mode: true,
            at: Anchor::new(path, n),
        });
    }
    for a in doc
        .at(&["iam", "podIdentityAssociations"])
        .and_then(Node::as_seq)
        .unwrap_or_default()
    {
        let (Some(ns), Some(sa)) = (a.str_at(&["namespace"]), a.str_at(&["serviceAccountName"]))
        else {
            continue;
        };
        d.associations.push(crate::model::DeclaredAssociation {
            cluster: Some(cluster.clone()),
            namespace: ns.to_string(),
            service_account: sa.to_string(),
            role_arn: a.str_at(&["roleARN"]).map(str::to_string),
            at: Anchor::new(path, a),
        });
    }
}

/// Whether a node is a mapping with string keys only (for readers that need one).
pub fn is_plain_map(n: &Node) -> bool {
    matches!(&n.kind, Kind::Map(m) if m.iter().all(|(k, _)| k.as_str().is_some()))
}
